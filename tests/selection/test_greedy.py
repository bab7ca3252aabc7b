"""Facility-location kernels against brute force on small inputs."""

import itertools
import math
import tracemalloc
import warnings

import numpy as np
import pytest

import subsetml.selection._greedy as greedy
from subsetml._gradops import DenseGradients, FactoredGradients
from subsetml.selection._greedy import (
    assign_to_nearest,
    craig_ground,
    facility_location_objective,
    greedy_facility_location,
    line_facility_location,
    similarity_kernel,
)


def _points(n, d, seed):
    return np.random.RandomState(seed).randn(n, d)


def _coverage_matrix(n, seed):
    """A sparse non-negative similarity, where a poor pick really costs."""
    rng = np.random.RandomState(seed)
    S = rng.rand(n, n) * (rng.rand(n, n) < 0.3)
    return S.astype(np.float32)


def test_similarity_kernel_matches_brute_force():
    X = _points(40, 6, 0)
    S, d_max = similarity_kernel(DenseGradients(X))
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    assert S.dtype == np.float32
    assert d_max == pytest.approx(d2.max(), rel=1e-5)
    np.testing.assert_allclose(S, d2.max() - d2, atol=1e-3 * d2.max())
    assert S.min() >= 0
    np.testing.assert_array_equal(np.diag(S), np.float32(d_max))


def test_similarity_kernel_of_factored_rows_matches_dense():
    rng = np.random.RandomState(1)
    R, H = rng.randn(30, 3), rng.randn(30, 4)
    fact = FactoredGradients(R, H)
    S_f, _ = similarity_kernel(fact)
    S_d, _ = similarity_kernel(DenseGradients(fact.dense()))
    np.testing.assert_allclose(S_f, S_d, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("seed", range(5))
def test_lazy_equals_naive(seed):
    rng = np.random.RandomState(seed)
    n, d = rng.randint(30, 150), rng.randint(2, 9)
    k = rng.randint(1, n // 2)
    S, _ = similarity_kernel(DenseGradients(_points(n, d, seed)))
    naive = greedy_facility_location(S, k, optimizer="naive")
    lazy = greedy_facility_location(S, k, optimizer="lazy")
    # Continuous random data: gains are distinct, so the picks must agree.
    np.testing.assert_array_equal(lazy[0], naive[0])
    np.testing.assert_array_equal(lazy[1], naive[1])
    assert lazy[2] == naive[2]


@pytest.mark.parametrize("seed", range(3))
def test_lazy_equals_naive_on_sparse_similarities(seed):
    S = _coverage_matrix(80, seed)
    naive = greedy_facility_location(S, 25, optimizer="naive")
    lazy = greedy_facility_location(S, 25, optimizer="lazy")
    np.testing.assert_array_equal(lazy[0], naive[0])


def test_stochastic_with_a_full_sample_is_greedy():
    # ceil((n / k) ln(1 / eps)) >= n: every candidate is scored at every step.
    S, _ = similarity_kernel(DenseGradients(_points(60, 3, 7)))
    naive = greedy_facility_location(S, 4, optimizer="naive")
    rng = np.random.RandomState(0)
    stoch = greedy_facility_location(
        S, 4, optimizer="stochastic", epsilon=1e-3, rng=rng
    )
    np.testing.assert_array_equal(stoch[0], naive[0])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["points", "sparse"])
def test_greedy_against_exhaustive_optimum(seed, kind):
    rng = np.random.RandomState(seed)
    n = rng.randint(5, 11)
    if kind == "points":
        S, _ = similarity_kernel(DenseGradients(_points(n, 2, seed)))
    else:
        S = _coverage_matrix(n, seed)
    for k in (1, 2, 3):
        best = max(
            facility_location_objective(S, c)
            for c in itertools.combinations(range(n), k)
        )
        picks, _, value = greedy_facility_location(S, k, optimizer="lazy")
        assert value == pytest.approx(facility_location_objective(S, picks), rel=1e-6)
        assert value >= (1 - 1 / math.e) * best - 1e-6
        if k == 1:
            # The first greedy step is an exact argmax over singletons.
            assert value == pytest.approx(best, rel=1e-6)


def test_stochastic_is_close_to_lazy():
    X = _points(1500, 8, 3)
    S, d_max = similarity_kernel(DenseGradients(X))
    n, k = X.shape[0], 60
    lazy = greedy_facility_location(S, k, optimizer="lazy")[2]
    # Coverage cost sum_i min_j ||g_i - g_j||^2 = n D_max - F: what CRAIG bounds.
    cost_lazy = n * d_max - lazy
    rng = np.random.RandomState(0)
    for _ in range(2):
        stoch = greedy_facility_location(
            S, k, optimizer="stochastic", epsilon=0.01, rng=rng
        )[2]
        assert stoch >= 0.99 * lazy
        assert n * d_max - stoch <= 1.05 * cost_lazy
    # The margin means something: random picks cover much worse.
    rand = facility_location_objective(S, rng.choice(n, k, replace=False))
    assert n * d_max - rand > 1.05 * cost_lazy


def test_owner_is_most_similar_pick():
    S, _ = similarity_kernel(DenseGradients(_points(90, 4, 2)))
    picks, owner, _ = greedy_facility_location(S, 12)
    np.testing.assert_array_equal(owner, np.argmax(S[picks], axis=0))
    np.testing.assert_array_equal(owner[picks], np.arange(12))


def test_assign_to_nearest_brute_force():
    X = _points(70, 5, 4)
    picks = np.array([3, 50, 17, 9])
    d2 = ((X[:, None, :] - X[None, picks, :]) ** 2).sum(-1)
    got = assign_to_nearest(DenseGradients(X), picks, block_bytes=256)
    np.testing.assert_array_equal(got, np.argmin(d2, axis=1))


@pytest.mark.parametrize("optimizer", ["lazy", "stochastic", "naive"])
def test_craig_ground_weights_are_cluster_sizes(optimizer):
    X = _points(120, 3, 5)
    rng = np.random.RandomState(0)
    pos, w = craig_ground(DenseGradients(X), 15, optimizer=optimizer, rng=rng)
    assert np.unique(pos).size == 15
    assert w.sum() == 120 and np.all(w >= 1)
    d2 = ((X[:, None, :] - X[None, pos, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(w, np.bincount(d2.argmin(1), minlength=15))


def test_craig_ground_whole_set():
    pos, w = craig_ground(DenseGradients(_points(10, 2, 0)), 10)
    assert sorted(pos.tolist()) == list(range(10)) and np.all(w == 1)


@pytest.mark.parametrize("k", [3, 40])  # fewer picks than chunks, and more
def test_memory_fallback_keeps_every_array_small(monkeypatch, k):
    n, limit = 1500, 2**18  # dense kernel 9 MB; chunks of at most 256 rows
    X = _points(n, 8, 6)
    sizes = []
    kernel = greedy.similarity_kernel

    def spy(op):
        sizes.append(op.n)
        return kernel(op)

    monkeypatch.setattr(greedy, "similarity_kernel", spy)
    tracemalloc.start()
    try:
        pos, w = craig_ground(
            DenseGradients(X), k, max_kernel_bytes=limit, rng=np.random.RandomState(0)
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes and all(4 * m * m <= limit for m in sizes)
    assert max(sizes) - min(sizes) <= 1  # nearly equal random chunks
    # Chunks and every temporary stay a few times the limit, far below n x n.
    assert peak < 4 * limit < 4 * n * n / 8
    assert pos.shape == (k,) and np.unique(pos).size == k
    assert w.sum() == n and np.all(w >= 0)
    # Weights cover the whole ground set, not just each chunk.
    d2 = ((X[:, None, :] - X[None, pos, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(w, np.bincount(d2.argmin(1), minlength=k))


def test_memory_fallback_not_used_when_kernel_fits(monkeypatch):
    sizes = []
    kernel = greedy.similarity_kernel
    monkeypatch.setattr(
        greedy, "similarity_kernel", lambda op: (sizes.append(op.n), kernel(op))[1]
    )
    craig_ground(DenseGradients(_points(100, 3, 0)), 5, max_kernel_bytes=4 * 100 * 100)
    assert sizes == [100]


def test_unknown_optimizer():
    S, _ = similarity_kernel(DenseGradients(_points(10, 2, 0)))
    with pytest.raises(ValueError, match="optimizer"):
        greedy_facility_location(S, 2, optimizer="fast")
    with pytest.raises(ValueError, match="k must"):
        greedy_facility_location(S, 11)


def _naive_greedy_float64(x, k):
    """Greedy facility location on 1-D values by brute force, in float64."""
    d2 = (x[:, None] - x[None, :]) ** 2
    S = d2.max() - d2
    cur, picks = np.zeros(x.shape[0]), []
    for _ in range(k):
        gains = np.maximum(S - cur, 0.0).sum(axis=1)
        gains[picks] = -np.inf
        picks.append(int(np.argmax(gains)))  # lowest index on ties
        cur = np.maximum(cur, S[picks[-1]])
    return np.asarray(picks), float(cur.sum())


def _objective_1d(x, picks):
    d2 = (x[:, None] - x[None, picks]) ** 2
    return float((((x.max() - x.min()) ** 2) - d2).max(axis=1).sum())


@pytest.mark.parametrize("seed", range(40))
def test_line_facility_location_is_the_greedy(seed):
    rng = np.random.RandomState(seed)
    n = rng.randint(2, 90)
    k = rng.randint(1, n + 1)
    x = rng.randn(n) * [1.0, 300.0, 1e-3][seed % 3] + [0.0, 5e3][seed % 2]
    if seed % 4 == 0:
        x = np.round(x * 2) / 2  # copies of values: tied gains
    picks, owner = line_facility_location(x, k)
    expected, value = _naive_greedy_float64(x, k)
    assert picks.shape == (k,) and np.unique(picks).size == k
    if not np.array_equal(picks, expected):
        # Only a tie broken another way (rounding) may tell them apart.
        assert _objective_1d(x, picks) == pytest.approx(value, rel=1e-12, abs=1e-9)
    # Every row belongs to its nearest pick, the earliest one on ties.
    dist = np.abs(x[:, None] - x[picks][None, :])
    nearest = dist == dist.min(axis=1, keepdims=True)
    np.testing.assert_array_equal(owner, nearest.argmax(axis=1))


def test_line_facility_location_rejects_bad_k():
    with pytest.raises(ValueError, match="k must lie"):
        line_facility_location(np.arange(5.0), 0)
    with pytest.raises(ValueError, match="k must lie"):
        line_facility_location(np.arange(5.0), 6)


def test_craig_ground_on_a_line_needs_no_kernel(monkeypatch):
    # One-dimensional rows (one output's bias gradients): the exact greedy on
    # the whole ground set, with no similarity matrix and no memory fallback
    # even where a kernel would not fit.
    x = np.random.RandomState(3).standard_exponential(600)
    monkeypatch.setattr(
        greedy, "similarity_kernel", lambda op: pytest.fail("kernel built")
    )
    pos, w = craig_ground(
        DenseGradients(x[:, None]), 30, max_kernel_bytes=4 * 100 * 100
    )
    np.testing.assert_array_equal(pos, line_facility_location(x, 30)[0])
    _, value = _naive_greedy_float64(x, 30)
    assert _objective_1d(x, pos) == pytest.approx(value, rel=1e-12)
    d2 = (x[:, None] - x[None, pos]) ** 2
    np.testing.assert_array_equal(w, np.bincount(d2.argmin(1), minlength=30))


def test_craig_ground_on_a_line_keeps_stochastic_greedy(monkeypatch):
    sizes = []
    kernel = greedy.similarity_kernel
    monkeypatch.setattr(
        greedy, "similarity_kernel", lambda op: (sizes.append(op.n), kernel(op))[1]
    )
    x = np.random.RandomState(4).randn(200, 1)
    craig_ground(
        DenseGradients(x), 10, optimizer="stochastic", rng=np.random.RandomState(0)
    )
    assert sizes == [200]


@pytest.mark.parametrize("unit", [1e-25, 1e-40, 1e20])
def test_craig_ground_picks_do_not_depend_on_the_rows_unit(unit):
    # Float32 squared distances of rows of 1e-22 underflowed to 0 (every row
    # alike) and of 1e20 overflowed (a review): the rows are brought near 1
    # by a power of two first, which changes no rounding.
    X = _points(200, 4, 7)
    ref, w_ref = craig_ground(DenseGradients(X), 20, rng=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        pos, w = craig_ground(
            DenseGradients(X * unit), 20, rng=np.random.RandomState(0)
        )
    np.testing.assert_array_equal(pos, ref)
    np.testing.assert_array_equal(w, w_ref)


@pytest.mark.parametrize("unit", [2.0**-990, 2.0**660])  # exact: same picks
def test_line_facility_location_at_extreme_units(unit):
    # Squared spreads of values of 1e200 overflowed.
    x = np.random.RandomState(5).randn(300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        picks, owner = line_facility_location(x * unit, 25)
    np.testing.assert_array_equal(picks, line_facility_location(x, 25)[0])
