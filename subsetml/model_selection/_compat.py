"""The one module that reaches into scikit-learn's private API.

Everything the search needs from scikit-learn internals is imported here, so a
change in scikit-learn breaks one file, not the package (scikit-optimize broke
for every user when scikit-learn removed a private argument it relied on).

* ``_fit_and_score``: fit one candidate on one split and score it, exactly as
  ``GridSearchCV`` does (error_score, timings, multi-metric scoring).
* ``_insert_error_scores``: fill in error scores once a callable scorer's
  return type is known.
* ``_check_method_params``: make ``fit`` parameters indexable along ``X``.

The search also relies on three methods it inherits from ``BaseSearchCV``:
``_get_scorers``, ``_format_results`` and ``_select_best_index``.
"""

from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
)
from sklearn.utils.validation import _check_method_params

__all__ = ["_check_method_params", "_fit_and_score", "_insert_error_scores"]
