"""Subset-accelerated training and search for scikit-learn estimators."""

from subsetml.model_selection._search import SubsetSearchCV
from subsetml.model_selection._subset_estimator import SubsetEstimator

# The selector registry moved to subsetml.selection (issue 17); these names
# stay importable from here.
from subsetml.selection._registry import SELECTOR_NAMES, make_selector

__all__ = ["SELECTOR_NAMES", "SubsetEstimator", "SubsetSearchCV", "make_selector"]
