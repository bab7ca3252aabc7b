"""Alias of :mod:`subsetml.selection._views`, where the views moved (issue 17)."""

from subsetml.selection._views import (  # noqa: F401
    LASTLAYERS,
    build_view,
    check_lastlayer,
    label_view,
    select_rows,
    stratified_sample,
)
