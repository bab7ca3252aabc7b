"""The selection API used directly: findings of a review."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from subsetml import LastLayer
from subsetml.selection import (
    CraigSelector,
    GlisterSelector,
    GradMatchSelector,
    RandomSelector,
)
from subsetml.utils.estimator_checks import check_selector_clone


def _view(n, seed, task="classification"):
    r = np.random.RandomState(seed)
    if task == "classification":
        y = (r.rand(n) < 0.05).astype(int)
        y[:2] = 1
        return LastLayer(r.randn(n, 3), r.dirichlet(np.ones(2), n), y), y
    return LastLayer.from_inputs(r.randn(n, 3), r.randn(n)), None


def test_numpy_bool_per_class_is_a_bool():
    # What ParameterGrid over np.array([True, False]) yields: it passed the
    # check and meant "no strata" for random subsets (the minority class
    # was missing from 122 of 200 subsets).
    view, y = _view(100, 0)
    for seed in range(30):
        subset = RandomSelector(per_class=np.True_, random_state=seed).select(view, 10)
        assert y[subset.indices].sum() >= 1
    regression, _ = _view(100, 0, task="regression")
    with pytest.raises(ValueError, match="needs a classification view"):
        CraigSelector(per_class=np.True_).select(regression, 10)


@pytest.mark.parametrize("selector", [RandomSelector, CraigSelector, GlisterSelector])
@pytest.mark.parametrize("value", [1, 0, "yes", None])
def test_per_class_other_values_are_refused(selector, value):
    view, _ = _view(60, 1)
    with pytest.raises(ValueError, match="per_class must be"):
        selector(per_class=value).select(view, 10)


def test_craig_batch_weights_sum_to_the_rows_they_stand_for():
    # A short final batch among the chosen ones: the rows topping up the
    # budget added weight on top of the n rows the batches stood for.
    for seed in range(60):
        r = np.random.RandomState(seed)
        n = 41  # 5 batches of 8 rows and one of 1
        view = LastLayer(
            r.randn(n, 3), r.dirichlet(np.ones(2), n), r.randint(2, size=n)
        )
        subset = CraigSelector(batch_size=8, per_class=False, random_state=seed)
        weights = subset.select(view, 30).weights
        assert weights.sum() == pytest.approx(n)
        y = r.randint(2, size=34)
        view = LastLayer(r.randn(34, 3), r.dirichlet(np.ones(2), 34), y)
        chosen = CraigSelector(batch_size=8, per_class=True, random_state=seed)
        chosen = chosen.select(view, 23)
        totals = [chosen.weights[y[chosen.indices] == c].sum() for c in (0, 1)]
        np.testing.assert_allclose(totals, np.bincount(y, minlength=2))


@pytest.mark.parametrize("optimizer", ["lazy", "naive", "stochastic"])
def test_craig_full_gradients_of_huge_features(optimizer):
    # float32 kernel of factored rows overflowed: an error (lazy) or
    # arbitrary picks of equal weights; the picks are those at 1e15, where
    # float32 held the kernel.
    r = np.random.RandomState(0)
    X = r.randn(60, 4)
    probs = r.dirichlet(np.ones(3), 60)
    y = r.randint(3, size=60)
    picks = []
    for scale in (1e15, 1e20):  # the bias column negligible in both
        view = LastLayer(X * scale, probs, y)
        subset = CraigSelector(
            gradients="full", per_class=False, optimizer=optimizer, random_state=0
        ).select(view, 10)
        assert np.isfinite(subset.weights).all()
        assert subset.weights.sum() == pytest.approx(60)
        picks.append(sorted(subset.indices.tolist()))
    assert picks[0] == picks[1]


def test_selector_checks_take_random_states_and_estimator_parameters():
    check_selector_clone(CraigSelector(random_state=np.random.RandomState(0)))
    check_selector_clone(GradMatchSelector(random_state=np.random.RandomState(3)))

    class WithModel(RandomSelector):
        def __init__(self, *, model=None, per_class="auto", random_state=None):
            super().__init__(per_class=per_class, random_state=random_state)
            self.model = model

    check_selector_clone(WithModel(model=LogisticRegression(C=0.5)))
