"""Alias of :mod:`subsetml.minibatch._mixing`, where the numpy kernels moved."""

from subsetml.minibatch._mixing import (  # noqa: F401
    allocate_rows,
    curriculum_progress,
    curriculum_utilities,
    mixing_weights,
    project_to_floor,
    select_rows,
    update_method_weights,
)
