"""Matching kernels: non-negative OMP (exact NNLS re-fits, factored
operators, stopping) and its equal-weight counterpart."""

import numpy as np
import pytest
from scipy.optimize import nnls

from subsetml._gradops import DenseGradients, FactoredGradients
from subsetml.selection._omp import equal_weight_match, nonneg_omp


def _brute_force_weights(dense, support, target, lam):
    """NNLS on ``[G_S^T; sqrt(lam) I] w ~ [target; 0]``."""
    g = dense[support].astype(np.float64)
    s = g.shape[0]
    a = np.vstack([g.T, np.sqrt(lam) * np.eye(s)])
    b = np.concatenate([target, np.zeros(s)])
    w, _ = nnls(a, b, maxiter=50 * s)
    return w


def _objective(dense, support, w, target, lam):
    return np.sum((w @ dense[support] - target) ** 2) + lam * np.sum(w**2)


def _factored(seed, n=300, c=4, e=6):
    rng = np.random.RandomState(seed)
    return FactoredGradients(rng.randn(n, c), rng.randn(n, e))


def _dense(seed, n=300, d=20):
    return DenseGradients(np.random.RandomState(seed).randn(n, d))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["dense", "factored"])
@pytest.mark.parametrize("lam", [0.5, 5.0])
def test_weights_are_exact_nnls_on_support(seed, kind, lam):
    op = _dense(seed) if kind == "dense" else _factored(seed)
    dense = op.dense()
    rng = np.random.RandomState(100 + seed)
    # A target with negative parts: the unconstrained re-fits go negative.
    target = dense.sum(axis=0) + 5 * rng.randn(op.dim)
    pos, w = nonneg_omp(op, target, 15, lam=lam, tol=1e-6)
    assert 1 <= pos.size <= 15 and np.unique(pos).size == pos.size
    assert np.all(w > 0)
    ref = _brute_force_weights(dense, pos, target, lam)
    np.testing.assert_allclose(w, ref, rtol=1e-6, atol=1e-8)
    # ...and no better non-negative fit exists on that support.
    assert _objective(dense, pos, w, target, lam) <= (
        _objective(dense, pos, ref, target, lam) * (1 + 1e-9)
    )


@pytest.mark.parametrize("seed", range(3))
def test_factored_full_mode_matches_dense(seed):
    op = _factored(seed, n=400)
    dense = DenseGradients(op.dense())
    target = op.weighted_sum()
    pos_f, w_f = nonneg_omp(op, target, 25)
    pos_d, w_d = nonneg_omp(dense, target, 25)
    np.testing.assert_array_equal(pos_f, pos_d)
    np.testing.assert_allclose(w_f, w_d, rtol=1e-6)


def test_matching_error_decreases_with_k():
    op = _dense(7, n=500, d=30)
    dense = op.dense()
    target = op.weighted_sum()
    errors = []
    for k in (5, 20, 60):
        pos, w = nonneg_omp(op, target, k, lam=0.0, tol=0.0)
        errors.append(np.linalg.norm(w @ dense[pos] - target))
    assert errors[0] > errors[1] > errors[2]


def test_stops_when_target_reached_with_one_row():
    rng = np.random.RandomState(0)
    v = 100 * rng.randn(8)
    scales = rng.uniform(0.5, 2.0, size=50)
    op = DenseGradients(scales[:, None] * v)
    pos, w = nonneg_omp(op, op.weighted_sum(), 10)
    assert pos.tolist() == [int(np.argmax(scales))]
    assert w[0] == pytest.approx(scales.sum() / scales.max(), rel=1e-4)


def test_stops_without_positive_correlation():
    # Every row points away from the target: nothing can lower the error.
    op = DenseGradients(-np.abs(np.random.RandomState(1).randn(40, 5)))
    pos, w = nonneg_omp(op, np.ones(5), 10)
    assert pos.size == 0 and w.size == 0


def test_zero_target_and_bad_arguments():
    op = _dense(0, n=20, d=4)
    pos, w = nonneg_omp(op, np.zeros(4), 5)
    assert pos.size == 0 and w.size == 0
    with pytest.raises(ValueError, match="target has 3 entries"):
        nonneg_omp(op, np.ones(3), 5)
    with pytest.raises(ValueError, match="k must lie"):
        nonneg_omp(op, np.ones(4), 0)
    with pytest.raises(ValueError, match="lam must be"):
        nonneg_omp(op, np.ones(4), 5, lam=-1.0)


def test_float32_operator_and_duplicate_rows():
    rng = np.random.RandomState(3)
    g = rng.randn(60, 6).astype(np.float32)
    g = np.vstack([g, g])  # every row twice: a duplicate is never re-picked
    op = DenseGradients(g)
    target = op.weighted_sum()
    pos, w = nonneg_omp(op, target, 30, lam=1e-3, tol=0.0)
    assert np.unique(pos).size == pos.size and np.all(w > 0)
    ref = _brute_force_weights(g, pos, target, 1e-3)
    np.testing.assert_allclose(w, ref, rtol=1e-5, atol=1e-7)


def test_pick_hook_chooses_the_rows_and_weights_stay_exact():
    op = _dense(3, n=200, d=12)
    dense = op.dense()
    target = op.weighted_sum()
    # The default pick is the most correlated row.
    plain = nonneg_omp(op, target, 15, lam=0.5)
    same = nonneg_omp(op, target, 15, lam=0.5, pick=lambda c, t, s: int(np.argmax(c)))
    np.testing.assert_array_equal(plain[0], same[0])
    np.testing.assert_allclose(plain[1], same[1])
    # Another rule: the eligible row of lowest index. The weights are still
    # the exact NNLS fit on whatever was picked.
    seen = []

    def first_eligible(corr, threshold, support):
        ok = np.flatnonzero(corr > threshold)
        seen.append(ok.size)
        return int(ok[0]) if ok.size else int(np.argmax(corr))

    pos, w = nonneg_omp(op, target, 15, lam=0.5, pick=first_eligible)
    assert seen and not np.array_equal(np.sort(pos), np.sort(plain[0]))
    want = _brute_force_weights(dense, pos, target, 0.5)
    np.testing.assert_allclose(w, want, rtol=1e-5, atol=1e-8)


def _equal_error(dense, rows, target):
    a = dense.shape[0] / len(rows)
    return float(np.linalg.norm(a * dense[rows].sum(axis=0) - target))


@pytest.mark.parametrize("kind", ["dense", "factored"])
def test_equal_weight_match_is_greedy_on_the_scaled_error(kind):
    op = _dense(1, n=120, d=8) if kind == "dense" else _factored(1, n=120)
    dense = op.dense().astype(np.float64)
    target = op.weighted_sum()
    k = 12
    pos, w = equal_weight_match(op, target, k)
    assert pos.shape == (k,) and np.unique(pos).size == k
    np.testing.assert_allclose(w, np.full(k, 120 / k))
    # Every step took the row that lowered || a sum_S g - target || most.
    for step in range(k):
        a = 120 / k
        head = a * dense[pos[:step]].sum(axis=0)
        gains = [
            np.inf if j in pos[:step] else np.linalg.norm(head + a * dense[j] - target)
            for j in range(120)
        ]
        assert int(np.argmin(gains)) == pos[step], step


def test_equal_weight_match_beats_random_equal_subsets():
    rng = np.random.RandomState(0)
    g = np.vstack([rng.randn(150, 5) + 3.0, rng.randn(50, 5) - 4.0])
    op = DenseGradients(g)
    target = op.weighted_sum()
    pos, _ = equal_weight_match(op, target, 10)
    rand = [
        _equal_error(g, rng.choice(200, size=10, replace=False), target)
        for _ in range(200)
    ]
    assert _equal_error(g, pos, target) < np.percentile(rand, 5)


def test_equal_weight_match_spends_the_budget_and_checks_arguments():
    op = _dense(2, n=30, d=4)
    # A zero target: nothing lowers the error, the whole budget is still spent.
    pos, w = equal_weight_match(op, np.zeros(4), 30)
    assert np.array_equal(np.sort(pos), np.arange(30)) and np.all(w == 1.0)
    # A hook that names a chosen row (as the coverage pick may when no row
    # helps) gets the best unchosen one instead.
    pos, _ = equal_weight_match(op, op.weighted_sum(), 5, pick=lambda g, t, s: 0)
    assert np.unique(pos).size == 5 and pos[0] == 0
    with pytest.raises(ValueError, match="target has 3 entries"):
        equal_weight_match(op, np.ones(3), 5)
    with pytest.raises(ValueError, match="k must lie"):
        equal_weight_match(op, np.ones(4), 31)
