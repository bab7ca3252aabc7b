"""Subset-accelerated training and search for scikit-learn estimators."""

from subsetml.model_selection._search import SubsetSearchCV
from subsetml.model_selection._subset_estimator import (
    SELECTOR_NAMES,
    SubsetEstimator,
    make_selector,
)

__all__ = ["SELECTOR_NAMES", "SubsetEstimator", "SubsetSearchCV", "make_selector"]
