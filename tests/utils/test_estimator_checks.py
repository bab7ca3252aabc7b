"""The conformance suite passes a good selector and catches broken ones."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from subsetml import LastLayer, Subset, resolve_budget
from subsetml.selection import BaseSelector, RandomSelector
from subsetml.utils.estimator_checks import (
    check_selector,
    check_selector_clone,
    check_selector_does_not_mutate,
    check_selector_regression,
    check_selector_rejects_bad_budget,
    check_selector_reproducible,
    check_selector_subset_contract,
    parametrize_with_selector_checks,
)


class _DuckSelector(BaseEstimator):
    """A third-party selector that does not inherit BaseSelector."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _k(self, view, budget):
        return resolve_budget(budget, view.n_samples)

    def select(self, view, budget, *, validation=None):
        if not isinstance(view, LastLayer):
            raise TypeError("a LastLayer please")
        if view.task == "classification" and np.unique(view.y).size < 2:
            raise ValueError("one class")
        k = self._k(view, budget)
        rng = check_random_state(self.random_state)
        return Subset(rng.choice(view.n_samples, k, replace=False))


class DuplicateIndices(_DuckSelector):
    def select(self, view, budget, *, validation=None):
        k = self._k(view, budget)
        return Subset(np.zeros(k, dtype=int))


class WrongSize(_DuckSelector):
    def select(self, view, budget, *, validation=None):
        k = self._k(view, budget)
        return Subset(np.arange(max(k - 1, 1)))


class NegativeWeights(_DuckSelector):
    def select(self, view, budget, *, validation=None):
        idx, _ = super().select(view, budget)
        return Subset(idx, -np.ones(idx.shape[0]))


class IgnoresRandomState(_DuckSelector):
    def select(self, view, budget, *, validation=None):
        k = self._k(view, budget)
        return Subset(np.random.choice(view.n_samples, k, replace=False))


class AcceptsAnyBudget(_DuckSelector):
    def select(self, view, budget, *, validation=None):
        k = max(1, min(int(budget) if budget >= 1 else 1, view.n_samples))
        return Subset(np.arange(k))


class MutatesItself(BaseSelector):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def _select(self, view, k, *, validation, rng):
        self.last_size_ = k
        return Subset(rng.choice(view.n_samples, k, replace=False))


class BrokenThroughBase(BaseSelector):
    """Subclasses get the contract enforced by select() itself."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def _select(self, view, k, *, validation, rng):
        return Subset(np.zeros(k, dtype=int))


def test_good_selectors_pass():
    check_selector(RandomSelector(random_state=0))
    check_selector(_DuckSelector(random_state=0))


@pytest.mark.parametrize(
    "selector, check, match",
    [
        (DuplicateIndices(), check_selector_subset_contract, "duplicate"),
        (WrongSize(), check_selector_subset_contract, "rows returned"),
        (NegativeWeights(), check_selector_subset_contract, "negative"),
        (IgnoresRandomState(), check_selector_reproducible, "different subsets"),
        (AcceptsAnyBudget(), check_selector_rejects_bad_budget, "was accepted"),
        (MutatesItself(), check_selector_does_not_mutate, "set attributes"),
        (BrokenThroughBase(), check_selector_subset_contract, "duplicate"),
    ],
)
def test_broken_selectors_are_caught(selector, check, match):
    with pytest.raises(AssertionError, match=match):
        check(selector)
    with pytest.raises(AssertionError):
        check_selector(selector)


@parametrize_with_selector_checks([RandomSelector(random_state=0)])
def test_parametrize_helper(selector, check):
    check(selector)


class WithArrayParameter(_DuckSelector):
    def __init__(self, class_weights=None, random_state=None):
        self.class_weights = class_weights
        self.random_state = random_state


class CrashesOnRegression(_DuckSelector):
    def select(self, view, budget, *, validation=None):
        if view.task == "regression":
            return view.missing_attribute
        return super().select(view, budget, validation=validation)


def test_array_parameters_and_crashes_are_judged_not_raised():
    """An array-valued parameter crashed check_selector_clone (the truth
    value of an array), and a selector's own crash escaped the checks
    instead of failing them with AssertionError."""
    check_selector_clone(WithArrayParameter(np.array([1.0, 2.0]), random_state=0))
    check_selector(WithArrayParameter(np.array([1.0, 2.0]), random_state=0))
    with pytest.raises(AssertionError, match="AttributeError"):
        check_selector_regression(CrashesOnRegression(random_state=0))
