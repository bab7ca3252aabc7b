"""GradMatchSelector: gradient matching, fill-up, targets, modes, parameters."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from subsetml import LastLayer
from subsetml.selection._gradmatch import GradMatchSelector
from subsetml.utils.estimator_checks import make_view, parametrize_with_selector_checks


@parametrize_with_selector_checks(
    [
        GradMatchSelector(random_state=0),
        GradMatchSelector(gradients="bias", batch_size=4, random_state=0),
        GradMatchSelector(weighting="equal", random_state=0),
    ]
)
def test_conformance(selector, check):
    check(selector)


def _feature_view(features, seed=0, n_classes=2, n_outputs=None):
    """A view whose "features" gradients are exactly ``features``."""
    rng = np.random.RandomState(seed)
    n = features.shape[0]
    p = rng.dirichlet(np.ones(n_outputs or n_classes), size=n)
    y = np.arange(n) % n_classes
    return LastLayer(features, p, y)


def _clusters(seed, sizes=(800, 150, 40, 10), d=10):
    rng = np.random.RandomState(seed)
    centers = 5.0 * rng.randn(len(sizes), d)
    return np.vstack(
        [c + 0.3 * rng.randn(m, d) for c, m in zip(centers, sizes)]
    ).astype(np.float64)


def test_matches_gradient_sum_far_better_than_random():
    k = 20
    gm_err, rand_err = [], []
    for seed in range(5):
        g = _clusters(seed)
        n = g.shape[0]
        full = g.sum(axis=0)
        view = _feature_view(g, seed)
        sel = GradMatchSelector(
            gradients="features", per_class=False, random_state=seed
        )
        idx, w = sel.select(view, k)
        assert idx.size == k and np.all(w >= 0)
        gm_err.append(np.linalg.norm(w @ g[idx] - full))
        rows = np.random.RandomState(seed).choice(n, size=k, replace=False)
        rand_err.append(np.linalg.norm((n / k) * g[rows].sum(axis=0) - full))
    assert np.mean(gm_err) <= 0.5 * np.mean(rand_err)


@pytest.mark.parametrize("gradients", ["bias", "full", "features"])
def test_per_class_budgets_and_matching(gradients):
    view = make_view(300, 5, 3, seed=1)
    idx, w = GradMatchSelector(gradients=gradients, random_state=0).select(view, 30)
    assert idx.shape == (30,) and np.unique(idx).size == 30 and np.all(w >= 0)
    g = view.gradients(gradients)
    for c in range(3):
        in_c = view.y[idx] == c
        assert in_c.sum() == 10  # budgets proportional to class sizes
        full = g[view.y == c].sum(axis=0)
        err = np.linalg.norm(w[in_c] @ g[idx[in_c]] - full)
        assert err < 0.25 * np.linalg.norm(full)


def test_early_stop_is_filled_with_weight_one_rows():
    rng = np.random.RandomState(0)
    # All rows are positive multiples of one vector: one row matches the sum.
    scales = rng.uniform(0.5, 2.0, size=100)
    g = scales[:, None] * rng.randn(6)
    view = _feature_view(g)
    sel = GradMatchSelector(
        gradients="features", per_class=False, lam=0.0, random_state=0
    )
    idx, w = sel.select(view, 10)
    assert idx.size == 10 and np.unique(idx).size == 10
    assert idx[0] == np.argmax(scales)
    assert w[0] == pytest.approx(scales.sum() / scales.max(), rel=1e-4)
    np.testing.assert_array_equal(w[1:], np.ones(9))
    # The fill is drawn from random_state.
    other = clone(sel).set_params(random_state=1).select(view, 10).indices
    assert set(other[1:]) != set(idx[1:])


def test_ridge_penalty_is_relative_to_the_gradient_scale():
    # lam multiplies the mean squared row norm: scaling every gradient by 100
    # changes neither the rows chosen nor their weights.
    rng = np.random.RandomState(3)
    g = rng.randn(80, 5) + 0.5
    sel = GradMatchSelector(gradients="features", per_class=False, random_state=0)
    a = sel.select(_feature_view(g), 12)
    b = sel.select(_feature_view(100 * g), 12)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.weights, b.weights, rtol=1e-6)
    # ... and it still shrinks: the weights sum to less than lam=0's.
    exact = clone(sel).set_params(lam=0.0).select(_feature_view(g), 12)
    assert a.weights.sum() < exact.weights.sum()


def test_whole_ground_set_gets_weight_one():
    view = make_view(60, 4, 3, seed=5)
    idx, w = GradMatchSelector(random_state=0).select(view, 1.0)
    assert np.array_equal(np.sort(idx), np.arange(60))
    np.testing.assert_array_equal(w, np.ones(60))


def test_validation_target():
    rng = np.random.RandomState(0)
    g = _clusters(1, sizes=(300, 300))
    view = _feature_view(g)
    # Validation rows come from the second cluster only.
    val_g = g[300:][rng.choice(300, size=50, replace=False)] + 0.1
    val = _feature_view(val_g, seed=1)
    kw = dict(gradients="features", per_class=False, random_state=0)
    train_idx, train_w = GradMatchSelector(**kw).select(view, 10)
    val_idx, val_w = GradMatchSelector(target="validation", **kw).select(
        view, 10, validation=val
    )
    assert not np.array_equal(np.sort(train_idx), np.sort(val_idx))
    goal = val_g.mean(axis=0) * g.shape[0]
    err_val = np.linalg.norm(val_w @ g[val_idx] - goal)
    err_train = np.linalg.norm(train_w @ g[train_idx] - goal)
    assert err_val < 0.2 * err_train
    # Nearly all the weight is on the second cluster.
    assert val_w[val_idx >= 300].sum() > 0.95 * val_w.sum()
    # The "train" target ignores validation rows.
    again = GradMatchSelector(**kw).select(view, 10, validation=val)
    np.testing.assert_array_equal(again.indices, train_idx)


def test_validation_target_per_class_and_missing_class():
    rng = np.random.RandomState(2)
    g = rng.exponential(size=(300, 5))  # spans the positive orthant
    view = _feature_view(g, n_classes=3)
    # Validation rows of classes 0 and 1 only, from another distribution.
    val_g = 1.0 + rng.rand(60, 5) * [3.0, 0.2, 1.0, 0.2, 3.0]
    val = _feature_view(val_g, seed=1, n_classes=2, n_outputs=3)
    sel = GradMatchSelector(gradients="features", target="validation", random_state=0)
    idx, w = sel.select(view, 30, validation=val)
    assert idx.size == 30 and np.unique(idx).size == 30 and np.all(w >= 0)
    for c, val_c in ((0, val_g[val.y == 0]), (1, val_g[val.y == 1]), (2, val_g)):
        # Class 2 has no validation rows: all of them make its target.
        in_c = view.y[idx] == c
        assert in_c.sum() == 10
        goal = val_c.mean(axis=0) * np.sum(view.y == c)
        own = g[view.y == c].sum(axis=0)
        got = w[in_c] @ g[idx[in_c]]
        assert np.linalg.norm(got - goal) < 0.2 * np.linalg.norm(got - own)


@pytest.mark.parametrize("per_class", [False, True])
@pytest.mark.parametrize("gradients", ["bias", "full"])
def test_per_batch_mode(per_class, gradients):
    view = make_view(400, 4, 3, seed=4)
    sel = GradMatchSelector(
        gradients=gradients, per_class=per_class, batch_size=7, random_state=0
    )
    idx, w = sel.select(view, 45)
    assert idx.size == 45 and np.unique(idx).size == 45
    assert np.all(w >= 0) and np.all(np.isfinite(w))


def test_regression_view():
    view = make_view(150, 4, 2, task="regression", seed=3)
    idx, w = GradMatchSelector(random_state=0).select(view, 15)
    assert np.unique(idx).size == 15 and np.all(w >= 0)


def test_reproducible_and_stateless():
    view = make_view(200, 4, 3, seed=6)
    sel = GradMatchSelector(batch_size=5, random_state=3)
    a, b = sel.select(view, 20), sel.select(view, 20)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.weights, b.weights)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lam": -1.0}, "lam must be"),
        ({"lam": np.inf}, "lam must be"),
        ({"lam": "0.5"}, "lam must be"),
        ({"lam": True}, "lam must be"),
        ({"tol": 1.0}, "tol must be"),
        ({"tol": -1e-3}, "tol must be"),
        ({"tol": None}, "tol must be"),
        ({"target": "test"}, "Unknown target"),
        ({"target": None}, "Unknown target"),
        ({"gradients": "weights"}, "Unknown gradients"),
        ({"batch_size": 0}, "batch_size"),
        ({"per_class": "yes"}, "per_class"),
        ({"probes": -1}, "probes must be"),
        ({"probes": "many"}, "probes must be"),
        ({"probes": True}, "probes must be"),
        ({"probes": 2.5}, "probes must be"),
        ({"probe_scale": 0.0}, "probe_scale must be"),
        ({"probe_scale": np.nan}, "probe_scale must be"),
        ({"weighting": "equals"}, "Unknown weighting"),
        ({"weighting": None}, "Unknown weighting"),
    ],
)
def test_bad_params(params, match):
    view = make_view(60, 4, 3)
    with pytest.raises(ValueError, match=match):
        GradMatchSelector(**params).select(view, 10)


def test_validation_target_needs_validation_rows():
    view = make_view(60, 4, 3)
    with pytest.raises(ValueError, match="validation="):
        GradMatchSelector(target="validation").select(view, 10)


def _untrained(n=300, task="classification", seed=0, n_classes=3):
    from sklearn.datasets import make_classification, make_regression

    if task == "regression":
        X, y = make_regression(n, 6, noise=5.0, random_state=seed)
    else:
        X, y = make_classification(
            n, 6, n_informative=4, n_classes=n_classes, random_state=seed
        )
    return LastLayer.from_inputs(X, y, task=task)


def test_probes_auto_only_on_untrained_full_gradients():
    sel = GradMatchSelector()
    untrained = _untrained(n_classes=3)
    assert sel._n_probes(untrained, "full") == 64 // 3 - 1
    assert sel._n_probes(_untrained(n_classes=2), "full") == 31
    assert sel._n_probes(_untrained(task="regression"), "full") == 32
    assert sel._n_probes(untrained, "bias") == 0
    assert sel._n_probes(make_view(100, 4, 3), "full") == 0
    assert GradMatchSelector(probes=3)._n_probes(make_view(100, 4, 3), "full") == 3
    ten = LastLayer(np.ones((20, 2)), np.full((20, 10), 0.1), np.arange(20) % 10)
    ten.untrained = True
    assert sel._n_probes(ten, "full") == 5


def test_probes_widen_the_residuals_and_keep_the_first_block():
    view = _untrained(200)
    sel = GradMatchSelector(probes=4, random_state=0)
    op = sel._ground_operator(view, "full", np.random.RandomState(0))(np.arange(200))
    assert op.residuals.shape == (200, 5 * view.n_outputs)
    np.testing.assert_allclose(
        op.residuals[:, : view.n_outputs], view.residuals(), rtol=1e-5, atol=1e-6
    )
    # Probed layers are softmax outputs: each block's residuals sum to zero.
    blocks = op.residuals.reshape(200, 5, view.n_outputs).sum(axis=2)
    np.testing.assert_allclose(blocks, 0.0, atol=1e-5)


def test_probes_do_not_change_a_trained_view():
    view = make_view(200, 4, 3, seed=2)
    a = GradMatchSelector(random_state=0).select(view, 20)
    b = GradMatchSelector(probes=0, random_state=0).select(view, 20)
    np.testing.assert_array_equal(a.indices, b.indices)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_probes_with_validation_target_and_batches(task):
    view, val = _untrained(300, task), _untrained(90, task, seed=1)
    sel = GradMatchSelector(target="validation", random_state=0)
    idx, w = sel.select(view, 30, validation=val)
    assert np.unique(idx).size == 30 and np.all(w >= 0)
    idx, w = GradMatchSelector(batch_size=5, random_state=0).select(view, 30)
    assert np.unique(idx).size == 30 and np.all(w >= 0)


def test_probes_match_second_moments_for_a_squared_loss():
    # For regression the probed gradients carry X^T X W: the weighted subset's
    # second-moment matrix is closer to the full one's than without probes.
    view = _untrained(600, "regression", seed=4)
    h = view.augmented_features()
    full = h.T @ h

    def error(sel):
        idx, w = sel.select(view, 30)
        return np.linalg.norm((h[idx] * w[:, None]).T @ h[idx] - full)

    # per_class=False: the whole view as one ground set (no target strata).
    assert error(GradMatchSelector(per_class=False, random_state=0)) < 0.7 * error(
        GradMatchSelector(per_class=False, probes=0, random_state=0)
    )


def test_untrained_regression_is_matched_within_target_strata():
    # Issue 13: one-shot regression matches within quantile bins of the
    # target (three), with budgets proportional to the bins, like classes.
    view = _untrained(600, "regression", seed=2)
    y = view.y[:, 0]
    idx, w = GradMatchSelector(random_state=0).select(view, 42)
    assert idx.size == 42 and np.unique(idx).size == 42
    edges = np.quantile(y, np.linspace(0, 1, 4)[1:-1])
    bins = np.searchsorted(edges, y[idx], side="right")
    np.testing.assert_array_equal(np.bincount(bins, minlength=3), np.full(3, 14))
    # A small budget: one bin per three rows of it.
    idx, _ = GradMatchSelector(random_state=0).select(view, 6)
    assert np.bincount(np.searchsorted(np.quantile(y, [0.5]), y[idx])).tolist() == [
        3,
        3,
    ]
    # Trained views and per_class=False keep one ground set.
    sel = GradMatchSelector(per_class=False, random_state=0)
    assert sel._target_strata(view, 40) is None
    trained = LastLayer.from_proxy(view.features, y, task="regression")
    assert GradMatchSelector()._target_strata(trained, 40) is None


def test_untrained_per_class_weights_keep_the_class_totals():
    # Issue 13: the ridge shrinks a rare class's coefficients differently,
    # tilting the class balance; on untrained views each class's weights
    # sum to its size. Trained views keep the matched coefficients.
    from sklearn.datasets import make_classification

    X, y = make_classification(
        1000, 10, n_informative=5, weights=[0.9], flip_y=0, random_state=0
    )
    sel = GradMatchSelector(random_state=0)
    idx, w = sel.select(LastLayer.from_inputs(X, y), 100)
    for c in (0, 1):
        assert w[y[idx] == c].sum() == pytest.approx(np.sum(y == c))
    trained = sel.select(LastLayer.from_proxy(X, y), 100)
    totals = [trained.weights[y[trained.indices] == c].sum() for c in (0, 1)]
    assert not np.allclose(totals, [np.sum(y == 0), np.sum(y == 1)])


def test_diversity_auto_is_on_for_untrained_views_only():
    from sklearn.datasets import make_classification

    X, y = make_classification(400, 6, random_state=0)
    sel = GradMatchSelector(random_state=0)
    assert sel._diversity(LastLayer.from_inputs(X, y)) == 5.0
    trained = LastLayer.from_proxy(X, y)
    assert sel._diversity(trained) == 0.0
    a = sel.select(trained, 40)
    b = GradMatchSelector(diversity=0.0, random_state=0).select(trained, 40)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.weights, b.weights)


def test_one_shot_picks_cover_the_class():
    # Issue 13: plain OMP on an untrained view takes the rows furthest along
    # each class's mean direction; the coverage term spreads them out.
    from sklearn.datasets import make_classification

    X, y = make_classification(
        800, 6, n_informative=4, n_redundant=0, flip_y=0, random_state=3
    )
    view = LastLayer.from_inputs(X, y)
    h = view.features

    def cost(rows):
        d2 = ((h[:, None, :] - h[None, rows, :]) ** 2).sum(axis=2)
        return d2.min(axis=1).mean()

    plain = GradMatchSelector(diversity=0.0, random_state=0).select(view, 40)
    spread = GradMatchSelector(random_state=0).select(view, 40)
    assert cost(spread.indices) < 0.85 * cost(plain.indices)
    assert np.all(spread.weights > 0)
    for c in (0, 1):  # class totals kept
        in_c = y[spread.indices] == c
        assert spread.weights[in_c].sum() == pytest.approx(np.sum(y == c))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"diversity": -1.0}, "diversity"),
        ({"diversity": "lots"}, "diversity"),
        ({"diversity": float("inf")}, "diversity"),
        ({"n_cover": 0}, "n_cover"),
        ({"n_cover": 1.5}, "n_cover"),
    ],
)
def test_bad_diversity_parameters_are_refused(params, match):
    with pytest.raises(ValueError, match=match):
        GradMatchSelector(**params).select(make_view(), 10)


def test_coverage_counts_only_the_rows_the_pursuit_kept():
    """A row matching pursuit refuses (no pivot) or its non-negative fit
    drops covers nothing: the coverage term follows the support as it is."""
    from types import SimpleNamespace

    from subsetml.selection._coverage import Coverage

    X, y = np.random.RandomState(0).randn(120, 4), np.arange(120) % 2
    view = LastLayer.from_inputs(X, y)
    part = SimpleNamespace(view=view, rows=np.arange(120), batch_groups=None)
    pick = GradMatchSelector(random_state=0)._coverage_pick(
        120, 10, np.random.RandomState(0), part
    )
    coverage = pick.coverage
    corr = np.linspace(1.0, 2.0, 120)
    first = pick(corr, np.zeros(120), [])
    # ``first`` was refused: the next pick sees a support without it.
    pick(corr, np.zeros(120), [5])
    assert coverage.added == [5] and first != 5
    fresh = Coverage(coverage.features, 2000, np.random.RandomState(0))
    fresh.add(5)
    np.testing.assert_allclose(coverage.cover, fresh.cover)
    # Growing the support adds to what is covered without starting over.
    pick(corr, np.zeros(120), [5, 7])
    assert coverage.added == [5, 7]


def test_coverage_follows_any_support_exactly():
    """Dropping picks re-scores only the targets they covered best; the
    result equals the coverage of the remaining picks built from scratch."""
    from subsetml.selection._coverage import Coverage

    rng = np.random.RandomState(1)
    feats = rng.randn(300, 3)
    cov = Coverage(feats, 100, np.random.RandomState(0))
    support = []
    for _ in range(40):
        if support and rng.rand() < 0.3:
            support = [j for j in support if rng.rand() < 0.7]
        support = support + [int(rng.randint(300))]
        support = list(dict.fromkeys(support))
        cov.cover_exactly(support)
        fresh = Coverage(feats, 100, np.random.RandomState(0))
        for j in support:
            fresh.add(j)
        np.testing.assert_allclose(cov.cover, fresh.cover, rtol=1e-12, atol=1e-9)
        assert sorted(cov.added) == sorted(support)


def test_equal_weighting_gives_each_ground_set_equal_weights():
    from sklearn.datasets import make_classification

    X, y = make_classification(600, 8, weights=[0.8], random_state=0)
    view = LastLayer.from_inputs(X, y)
    sel = GradMatchSelector(weighting="equal", random_state=0)
    assert sel._equal_weights and not GradMatchSelector()._equal_weights
    idx, w = sel.select(view, 60)
    assert idx.size == 60 and np.unique(idx).size == 60
    for c in (0, 1):
        mine = y[idx] == c
        # Each class's rows stand for an equal share of it.
        np.testing.assert_allclose(w[mine], np.sum(y == c) / mine.sum())
    # "auto" is "matched" when the selector is used on its own.
    auto = GradMatchSelector(random_state=0).select(view, 60)
    matched = GradMatchSelector(weighting="matched", random_state=0).select(view, 60)
    np.testing.assert_array_equal(auto.indices, matched.indices)
    np.testing.assert_array_equal(auto.weights, matched.weights)
    assert np.ptp(matched.weights) > 0


def test_equal_weighting_keeps_unweighted_picks_representative():
    # Matched picks lean towards extreme rows and rely on their weights to
    # even that out; without the weights (k-NN, a sampler step) the picks'
    # targets and features were far more spread than the data's. Equal
    # weighting chooses rows that stand for the data as they are.
    rng = np.random.RandomState(1)
    X = rng.randn(2000, 5)
    y = np.exp(X[:, 0] + 0.5 * rng.randn(2000))  # a long-tailed target
    view = LastLayer.from_inputs(X, y, task="regression")
    errors = {}
    for weighting in ("matched", "equal"):
        mean_gap, spread_gap = [], []
        for seed in range(4):
            idx, _ = GradMatchSelector(weighting=weighting, random_state=seed).select(
                view, 100
            )
            mean_gap.append(abs(y[idx].mean() - y.mean()))
            spread_gap.append(abs(X[idx].std(axis=0) - X.std(axis=0)).mean())
        errors[weighting] = np.mean(mean_gap), np.mean(spread_gap)
    assert errors["equal"][0] < 0.6 * errors["matched"][0]
    assert errors["equal"][1] < 0.6 * errors["matched"][1]


def test_equal_weighting_per_batch_tops_up_with_the_same_weight():
    # A short final batch is topped up with random rows: they carry the
    # batches' equal weight, not matching pursuit's fill-up weight of 1.
    view = make_view(203, 4, 2, seed=3)
    for seed in range(6):
        sel = GradMatchSelector(
            weighting="equal", batch_size=8, per_class=False, random_state=seed
        )
        idx, w = sel.select(view, 30)
        assert idx.size == 30 and np.unique(idx).size == 30
        np.testing.assert_allclose(w, w[0])


def test_equal_weighting_in_a_subclass_that_does_not_list_it():
    from subsetml.selection import make_selector

    class Mine(GradMatchSelector):
        def __init__(self, lam=0.1, random_state=None):
            super().__init__(lam=lam, random_state=random_state)

    mine = Mine()
    used = make_selector(mine, weighted=False)
    assert used.weighting == "equal" and mine.weighting == "auto"
    idx, w = used.select(make_view(100, 4, 2), 10)
    assert idx.size == 10


@pytest.mark.parametrize("unit", [1e-26, 1e-30, 1e17])
def test_regression_picks_do_not_depend_on_the_targets_unit(unit):
    # The float32 pass over the rows underflowed (1e-26: SI masses) or
    # overflowed: every correlation 0 or inf, the pursuit ended at once and
    # the budget was filled with random rows of weight 1 (a review).
    from subsetml import LastLayer

    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    y = X @ rng.randn(4) + 0.1 * rng.randn(300)
    ref = GradMatchSelector(random_state=0).select(LastLayer.from_inputs(X, y), 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = GradMatchSelector(random_state=0).select(
            LastLayer.from_inputs(X, y * unit), 30
        )
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_allclose(got.weights, ref.weights, rtol=1e-6)
