"""Every selector: conformance suite, properties, and clear errors on bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from subsetml import LastLayer
from subsetml.selection import (
    CraigSelector,
    GlisterSelector,
    GradMatchSelector,
    RandomSelector,
)
from subsetml.utils.estimator_checks import make_view, parametrize_with_selector_checks

SELECTORS = [
    RandomSelector(random_state=0),
    RandomSelector(per_class=True, random_state=0),
    CraigSelector(random_state=0),
    CraigSelector(gradients="full", optimizer="stochastic", random_state=0),
    CraigSelector(batch_size=4, random_state=0),
    GradMatchSelector(random_state=0),
    GradMatchSelector(gradients="bias", batch_size=4, random_state=0),
    GlisterSelector(random_state=0),
    GlisterSelector(gradients="full", greedy="naive", random_state=0),
]
GRADIENT_SELECTORS = [CraigSelector, GradMatchSelector, GlisterSelector]


def _id(sel):
    params = {k: v for k, v in sel.get_params().items() if k != "random_state"}
    changed = {k: v for k, v in params.items() if v != type(sel)().get_params().get(k)}
    return type(sel).__name__ + "".join(f"-{k}={v}" for k, v in changed.items())


@parametrize_with_selector_checks(SELECTORS)
def test_conformance(selector, check):
    check(selector)


@st.composite
def views(draw):
    n_classes = draw(st.integers(2, 4))
    n = draw(st.integers(4 * n_classes, 60))
    n_features = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    view = make_view(n, n_features, n_classes, seed=seed)
    k = draw(st.integers(n_classes, n // 2))
    return view, k, seed


@pytest.mark.parametrize("selector", SELECTORS, ids=_id)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=views())
def test_subset_properties(selector, case):
    view, k, seed = case
    validation = make_view(30, view.n_features, view.n_outputs, seed=seed + 1)
    sel = clone(selector).set_params(random_state=seed)
    a = sel.select(view, k, validation=validation)
    idx, w = a
    assert idx.shape == (k,) and np.unique(idx).size == k
    assert idx.min() >= 0 and idx.max() < view.n_samples
    assert np.all(np.isfinite(w)) and np.all(w >= 0)
    assert a == sel.select(view, k, validation=validation)


@pytest.mark.parametrize("selector", SELECTORS, ids=_id)
@pytest.mark.parametrize("budget", [0, -2, 101, 1.01, 0.0, -0.5, float("inf")])
def test_bad_budget(selector, budget):
    with pytest.raises(ValueError):
        selector.select(make_view(100, 3, 2), budget)


@pytest.mark.parametrize("selector", SELECTORS, ids=_id)
def test_single_class_is_rejected(selector):
    view = LastLayer(np.random.rand(20, 2), np.full((20, 3), 1 / 3), np.zeros(20, int))
    with pytest.raises(ValueError, match="one class"):
        selector.select(view, 5)


@pytest.mark.parametrize("cls", GRADIENT_SELECTORS)
def test_fewer_rows_than_classes_per_class(cls):
    view = make_view(60, 3, 4)
    with pytest.raises(ValueError, match="cannot cover 4 classes"):
        cls(random_state=0).select(view, 3)


@pytest.mark.parametrize("cls", GRADIENT_SELECTORS)
@pytest.mark.parametrize(
    "params, match",
    [
        ({"gradients": "weights"}, "gradients"),
        ({"per_class": "sometimes"}, "per_class"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
    ],
)
def test_unknown_option_names(cls, params, match):
    with pytest.raises(ValueError, match=match):
        cls(**params).select(make_view(50, 3, 2), 10)


@pytest.mark.parametrize("cls", GRADIENT_SELECTORS)
def test_per_class_on_regression_is_rejected(cls):
    view = make_view(50, 3, 1, task="regression")
    with pytest.raises(ValueError, match="classification"):
        cls(per_class=True).select(view, 10)


@pytest.mark.parametrize("selector", SELECTORS, ids=_id)
def test_raw_arrays_are_rejected(selector):
    with pytest.raises(TypeError, match="LastLayer"):
        selector.select(np.ones((10, 3)), 3)


@pytest.mark.parametrize("cls", GRADIENT_SELECTORS)
def test_validation_must_match_view(cls):
    view = make_view(60, 3, 2)
    with pytest.raises(ValueError, match="same number"):
        cls().select(view, 10, validation=make_view(20, 4, 2))
    with pytest.raises(ValueError, match="regression"):
        cls().select(view, 10, validation=make_view(20, 3, 2, task="regression"))
    with pytest.raises(TypeError, match="validation"):
        cls().select(view, 10, validation=np.ones((3, 3)))


@pytest.mark.parametrize("cls", GRADIENT_SELECTORS)
def test_per_class_budgets_are_proportional(cls):
    view = make_view(200, 3, 4, seed=3)
    idx, _ = cls(random_state=0).select(view, 40)
    counts = np.bincount(view.y[idx], minlength=4)
    expected = np.bincount(view.y, minlength=4) * 40 / 200
    assert np.all(np.abs(counts - expected) < 1 + 1e-9)
