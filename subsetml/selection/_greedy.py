"""Greedy maximisation of the facility-location function (the CRAIG solver).

Private, pure-numpy kernels.  The objective on a ground set of ``n`` gradient
rows is

    F(S) = sum_i max_{j in S} sim(j, i),   sim(j, i) = D_max - ||g_i - g_j||^2,

with ``D_max`` the largest pairwise squared distance of the ground set (exact,
read off the distance matrix once it is built), so every similarity is >= 0
and ``F(empty) = 0``.  F is monotone submodular, so greedy gets at least
``(1 - 1/e)`` of the optimum (Nemhauser, Wolsey & Fisher, 1978).

After the first pick the marginal gains, ``sum_i max(0, sim(j, i) - cur_i)``,
do not depend on ``D_max`` at all, so any ``D_max`` >= the true maximum gives
the same picks; using the exact one only makes ``F`` values comparable.

Conventions: the similarity matrix ``S`` is float32 and row ``S[j]`` holds the
similarity of every ground row to candidate ``j``.  Rows are what the solvers
read (contiguous), and all of them read the same rows through the same
:func:`_gains`, so naive, lazy and stochastic greedy agree bit for bit on the
gains they compute.  Floating-point addition is monotone, so the computed
gains never grow as the chosen set grows, which is all lazy evaluation needs.

Memory: the only ``n x n`` array is ``S`` itself, and only when ``4 n^2`` bytes
fit ``max_kernel_bytes``; one-dimensional ground sets need none
(:func:`line_facility_location`).  Otherwise :func:`craig_ground` splits the ground set
into random, nearly equal chunks that fit and runs greedy on each (see its
docstring).  Every temporary is a block of at most ``_BLOCK_BYTES`` or one
block of rows of ``S``.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from subsetml._gradops import (
    DenseGradients,
    FactoredGradients,
    accelerator,
    power_of_two_scale,
)
from subsetml.selection._base import allocate_budget

__all__ = [
    "OPTIMIZERS",
    "assign_to_nearest",
    "craig_ground",
    "facility_location_objective",
    "greedy_facility_location",
    "line_facility_location",
    "similarity_kernel",
]

#: Names accepted by :func:`greedy_facility_location`.
OPTIMIZERS = ("lazy", "stochastic", "naive")

# Temporaries (gram blocks, gain evaluations, assignment blocks) stay below this.
_BLOCK_BYTES = 32 * 2**20
# Candidates re-evaluated together by lazy greedy.  One numpy call on a
# (batch, n) block costs about as much as a handful of single rows, and the
# top few stale bounds are usually all needed before one is accepted.
_LAZY_BATCH = 8


def _rows_per_block(n_cols, itemsize=4, budget=_BLOCK_BYTES):
    return max(1, budget // (itemsize * max(1, n_cols)))


def similarity_kernel(gradients):
    """Dense float32 facility-location similarities of a ground set.

    Built block of rows by block of rows: for dense rows, one GEMM of the
    rows augmented with their squared norms gives minus the distances; for
    "full" last-layer gradients given as factors, the operator's ``gram`` and
    ``sq_norms``, so those are never materialised.

    Parameters
    ----------
    gradients : DenseGradients or FactoredGradients
        The ground set, ``n`` rows.

    Returns
    -------
    S : ndarray of shape (n, n), float32
        ``S[j, i] = D_max - ||g_i - g_j||^2 >= 0``; the diagonal is ``D_max``.
    d_max : float
        The largest pairwise squared distance (of the float32 computation).
    """
    op = gradients.astype(np.float32)  # halves memory, doubles BLAS speed
    n = op.n
    sq = np.asarray(op.sq_norms(), dtype=np.float32)
    S = np.empty((n, n), dtype=np.float32)
    step = min(n, _rows_per_block(n))
    if isinstance(op, DenseGradients):
        # -||g_i - g_j||^2 = [g_i, |g_i|^2, 1] . [2 g_j, -1, -|g_j|^2]: one GEMM
        # writes minus the distances, with no pass per term: four passes over
        # the n x n matrix in all, where adding the norms afterwards took seven.
        ones = np.ones((n, 1), dtype=np.float32)
        left = np.hstack([op.matrix, sq[:, None], ones])
        right = np.hstack([2.0 * op.matrix, -ones, -sq[:, None]])
        for start in range(0, n, step):
            stop = min(start + step, n)
            np.matmul(left[start:stop], right.T, out=S[start:stop])
    else:
        everything = slice(None)  # a view, not a copy, of the operator's rows
        for start in range(0, n, step):
            stop = min(start + step, n)
            block = S[start:stop]
            np.multiply(op.gram(slice(start, stop), everything), 2.0, out=block)
            block -= sq[start:stop, None]
            block -= sq[None, :]
    # A row is at distance exactly 0 from itself.
    S[np.arange(n), np.arange(n)] = 0.0
    d_max = -float(S.min()) if n else 0.0
    S += np.float32(d_max)
    # Rounding can put near-duplicates slightly below distance 0.
    np.minimum(S, np.float32(d_max), out=S)
    return S, d_max


def facility_location_objective(S, picks):
    """``F(picks) = sum_i max_{j in picks} S[j, i]`` (0 for no picks), in float64."""
    picks = np.asarray(picks, dtype=np.int64)
    if picks.size == 0:
        return 0.0
    best = np.zeros(S.shape[1], dtype=np.float64)
    for start in range(0, picks.size, _rows_per_block(S.shape[1])):
        rows = S[picks[start : start + _rows_per_block(S.shape[1])]]
        np.maximum(best, rows.max(axis=0), out=best)
    return float(best.sum())


def _gains(S, candidates, cur):
    """Marginal gains ``sum_i max(0, S[j, i] - cur_i)`` of each candidate ``j``."""
    out = np.empty(candidates.shape[0], dtype=S.dtype)
    step = _rows_per_block(S.shape[1], S.itemsize)
    for start in range(0, candidates.shape[0], step):
        rows = S[candidates[start : start + step]]  # a copy we may overwrite
        rows -= cur
        np.maximum(rows, 0.0, out=rows)
        # Row-wise reduction of a C-contiguous block: the same pairwise sum for
        # a row whatever the block, so every solver gets identical gains.
        rows.sum(axis=1, out=out[start : start + step])
    return out


class _State:
    """Coverage ``cur_i = max_{j in S} S[j, i]`` and each row's nearest pick."""

    def __init__(self, S):
        self.S = S
        n = S.shape[0]
        self.cur = np.zeros(n, dtype=S.dtype)
        self.owner = np.zeros(n, dtype=np.int64)
        self.chosen = np.zeros(n, dtype=bool)
        self.picks = []

    def add(self, j):
        row = self.S[j]
        # Strictly better only: ties stay with the earlier pick.  With no pick
        # yet every row belongs to the first one (owner starts at 0).
        better = row > self.cur
        self.owner[better] = len(self.picks)
        np.maximum(self.cur, row, out=self.cur)
        self.chosen[j] = True
        self.picks.append(int(j))


def _naive(S, k, state):
    """Evaluate every remaining candidate at every step (reference solver)."""
    n = S.shape[0]
    for _ in range(k):
        gains = _gains(S, np.arange(n), state.cur)
        gains[state.chosen] = -np.inf
        state.add(int(np.argmax(gains)))


def _lazy(S, k, state, batch=_LAZY_BATCH):
    """Lazy greedy (Minoux, 1978), re-evaluating stale bounds a batch at a time.

    ``bounds[j]`` is the gain of ``j`` when it was last evaluated; by
    submodularity it bounds the current gain from above.  Each round takes the
    ``b`` largest bounds, refreshes the stale ones in one numpy call, and
    accepts the best fresh candidate if its gain is at least the ``b``-th
    largest bound before refreshing -- an upper bound on every candidate left
    out of the round.  The accepted candidate is thus a true argmax, the same
    pick as naive greedy up to ties.
    """
    n = S.shape[0]
    # Exact gains at step 0 (nothing covered): the row sums, as _gains would
    # compute them (max(S - 0, 0) is S itself).
    bounds = S.sum(axis=1)
    fresh_at = np.zeros(n, dtype=np.int64)  # step at which bounds[j] was exact
    for t in range(k):
        b = min(batch, n - t)
        while True:
            if b < n:
                cand = np.argpartition(bounds, n - b)[n - b :]
            else:
                cand = np.arange(n)
            # Chosen rows sit at -inf and there are n - t >= b others, so
            # every candidate here is unchosen.
            threshold = bounds[cand].min()
            stale = cand[fresh_at[cand] != t]
            if stale.size:
                bounds[stale] = _gains(S, stale, state.cur)
                fresh_at[stale] = t
            vals = bounds[cand]
            best = vals.max()
            if best >= threshold or b >= n - t:
                # Lowest index among equal gains, as np.argmax in naive greedy.
                j = int(cand[vals == best].min())
                break
            # Rejected: many candidates are close; look at more of them at once.
            b = min(2 * b, n - t)
        state.add(j)
        bounds[j] = -np.inf


def _stochastic(S, k, state, epsilon, rng, batch=_LAZY_BATCH):
    """Stochastic greedy (Mirzasoleiman et al., AAAI 2015, "Lazier than lazy greedy").

    Each step draws ``s = ceil((n / k) ln(1 / epsilon))`` of the remaining
    candidates and takes the best of them, which gives ``1 - 1/e - epsilon``
    of the optimum in expectation with ``O(n ln(1/epsilon))`` evaluations in
    all.  Inside the sample, stale upper bounds are used lazily (sample
    sorted by bound, evaluated a batch at a time until the best fresh gain
    beats every remaining bound), which returns the sample's true best.
    """
    n = S.shape[0]
    s = min(n, math.ceil((n / k) * math.log(1.0 / epsilon)))
    bounds = np.full(n, np.inf, dtype=S.dtype)
    fresh_at = np.full(n, -1, dtype=np.int64)
    for t in range(k):
        remaining = np.flatnonzero(~state.chosen)
        sample = remaining
        if s < remaining.shape[0]:
            sample = rng.choice(remaining, size=s, replace=False)
        sample = sample[np.argsort(-bounds[sample], kind="stable")]
        best, j = -np.inf, -1
        for start in range(0, sample.shape[0], batch):
            cand = sample[start : start + batch]
            if bounds[cand[0]] < best:
                break  # every bound left is below the best fresh gain
            stale = cand[fresh_at[cand] != t]
            if stale.size:
                bounds[stale] = _gains(S, stale, state.cur)
                fresh_at[stale] = t
            vals = bounds[cand]
            i = int(np.argmax(vals))
            if vals[i] > best:
                best, j = vals[i], int(cand[i])
        state.add(j)
        bounds[j] = -np.inf


def greedy_facility_location(S, k, *, optimizer="lazy", epsilon=0.01, rng=None):
    """Greedily choose ``k`` rows maximising the facility-location function.

    Parameters
    ----------
    S : ndarray of shape (n, n)
        Non-negative similarities, ``S[j, i]`` = similarity of row ``i`` to
        candidate ``j`` (see :func:`similarity_kernel`).
    k : int
        Number of picks, ``1 <= k <= n``.
    optimizer : {"lazy", "stochastic", "naive"}, default="lazy"
        "naive" evaluates every candidate at every step; "lazy" gives the same
        picks (up to ties) with far fewer evaluations; "stochastic" scores a
        random sample per step.
    epsilon : float, default=0.01
        Stochastic greedy's accuracy parameter, in (0, 1).
    rng : numpy.random.RandomState, default=None
        Used by "stochastic" only.

    Returns
    -------
    picks : ndarray of int64, shape (k,)
        Chosen rows, in the order they were picked.
    owner : ndarray of int64, shape (n,)
        Position in ``picks`` of each row's most similar pick (earliest on
        ties).
    value : float
        ``F(picks)``.
    """
    n = S.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, {n}], got {k}.")
    state = _State(S)
    if optimizer == "naive":
        _naive(S, k, state)
    elif optimizer == "lazy":
        _lazy(S, k, state)
    elif optimizer == "stochastic":
        if rng is None:
            rng = np.random.RandomState()
        _stochastic(S, k, state, epsilon, rng)
    else:
        raise ValueError(
            f"Unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}."
        )
    value = float(state.cur.sum(dtype=np.float64))
    return np.asarray(state.picks, dtype=np.int64), state.owner, value


#: Candidates per block whose best gain the line greedy keeps.
_LINE_BLOCK = 512


def line_facility_location(x, k):
    """Greedy facility location on the real line, exact, without a kernel.

    The same greedy as :func:`greedy_facility_location` with ``"naive"`` or
    ``"lazy"`` on one-dimensional rows (a single output's bias gradients:
    regression residuals, or the target's deviations from its mean), where
    the ``n x n`` similarity matrix is not needed.  On a line a row is
    covered by the nearer of the two picks around it, so a candidate ``c``
    between picks ``a < c < b`` gains only on the rows between the midpoints
    ``(a + c) / 2`` and ``(c + b) / 2``, and over a run of rows that moves
    from pick ``p`` to ``c`` the gain is a difference of squares,
    ``sum_i (z_i - p)^2 - (z_i - c)^2 = (c - p) (2 sum_i z_i - m (p + c))``:
    one prefix sum of the sorted values and two binary searches per
    candidate.  A new pick changes the gains of the candidates between its
    two neighbouring picks only.  The first pick's gain is ``n D_max -
    sum_i (z_i - z_j)^2`` with ``D_max = (max z - min z)^2``, as in
    :func:`similarity_kernel`.

    Gains are computed in float64 on values centred at their mean, where the
    kernel rounds in float32, so near-ties may be broken differently; equal
    gains go to the lowest index, as in the kernel solvers.

    Parameters
    ----------
    x : array-like of shape (n,) or (n, 1)
        The ground set's values.
    k : int
        Number of picks, ``1 <= k <= n``.

    Returns
    -------
    picks : ndarray of int64, shape (k,)
        Chosen rows, in the order they were picked.
    owner : ndarray of int64, shape (n,)
        Position in ``picks`` of each row's nearest pick (earliest on ties).
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, {n}], got {k}.")
    order = np.argsort(x, kind="stable")
    z = x[order] - x.mean()  # sorted, centred: sums of nearby values stay exact
    # Brought to a largest value near 1 by a power of two (no rounding
    # changes): squared spreads of values of 1e200 overflowed.
    z *= power_of_two_scale(max(-float(z[0]), float(z[-1])))  # z is sorted
    prefix = np.concatenate(([0.0], np.cumsum(z)))

    def moved(c, p, lo, hi):
        """Gain of candidates ``c`` on the rows ``lo < z <= hi`` that leave
        pick ``p`` for them (``lo``/``hi`` arrays, +-inf at the ends)."""
        i0 = np.searchsorted(z, lo, side="right")
        i1 = np.searchsorted(z, hi, side="right")
        m = np.maximum(i1 - i0, 0)
        s1 = np.where(m > 0, prefix[np.maximum(i1, i0)] - prefix[i0], 0.0)
        return np.maximum((c - p) * (2.0 * s1 - m * (p + c)), 0.0)

    def between(c, a, b):
        """Gains of candidates ``c`` between picks ``a`` and ``b`` (None: no
        pick on that side)."""
        gain = np.zeros(c.shape[0])
        if a is not None:
            hi = np.inf if b is None else 0.5 * (a + b)
            gain += moved(c, a, 0.5 * (a + c), np.full(c.shape[0], hi))
        if b is not None:
            lo = -np.inf if a is None else 0.5 * (a + b)
            gain += moved(c, b, np.full(c.shape[0], lo), 0.5 * (c + b))
        return gain

    d_max = float(z[-1] - z[0]) ** 2
    # Nothing covered yet: every similarity counts, D_max - (z_i - z_j)^2.
    gains = n * d_max - (float(z @ z) - 2.0 * z * prefix[-1] + n * z * z)
    # The best gain is found through the maxima of blocks of candidates, so a
    # step scans n / block maxima and the blocks a new pick changed, not all
    # n gains; the picks' sorted values are a list searched by bisection.
    # Together: 200,000 rows and 20,000 picks in 1.4 s, where scanning every
    # gain and converting the list to an array at each step took 5.5 s.
    block = _LINE_BLOCK
    n_blocks = -(-n // block)
    padded = np.full(n_blocks * block, -np.inf)
    padded[:n] = gains
    gains = padded[:n]  # a view: writes reach the blocks
    blocks = padded.reshape(n_blocks, block)
    block_max = blocks.max(axis=1)
    pick_values = []  # sorted values of the picks
    picks = []  # sorted positions, in pick order
    for _ in range(k):
        best = block_max.max()
        tied = np.concatenate(
            [
                b * block + np.flatnonzero(blocks[b] == best)
                for b in np.flatnonzero(block_max == best)
            ]
        )
        j = int(tied[np.argmin(order[tied])]) if tied.shape[0] > 1 else int(tied[0])
        picks.append(j)
        gains[j] = -np.inf
        v = float(z[j])
        at = bisect.bisect_left(pick_values, v)
        a = pick_values[at - 1] if at > 0 else None
        b = pick_values[at] if at < len(pick_values) else None
        pick_values.insert(at, v)
        # Candidates whose neighbouring picks changed: those between a and b.
        start = 0 if a is None else int(np.searchsorted(z, a, side="left"))
        stop = n if b is None else int(np.searchsorted(z, b, side="right"))
        seg = np.arange(start, stop)
        seg = seg[np.isfinite(gains[seg])]
        c = z[seg]
        left, right = c < v, c > v
        gains[seg[c == v]] = 0.0  # copies of the pick cover nothing more
        gains[seg[left]] = between(c[left], a, v)
        gains[seg[right]] = between(c[right], v, b)
        # The pick (now -inf) lies in [start, stop): those blocks changed.
        low, high = start // block, (max(stop, j + 1) - 1) // block + 1
        block_max[low:high] = blocks[low:high].max(axis=1)

    picks = np.asarray(picks, dtype=np.int64)
    # Each row's nearest pick; ties (equidistant, or copies of one value) go
    # to the earliest pick.
    # The given values, not the centred ones: equal distances stay equal.
    xs = x[order]
    values, inverse = np.unique(xs[picks], return_inverse=True)
    first = np.full(values.shape[0], k, dtype=np.int64)
    np.minimum.at(first, inverse.reshape(-1), np.arange(k))
    at = np.searchsorted(values, xs)
    left = np.clip(at - 1, 0, values.shape[0] - 1)
    right = np.clip(at, 0, values.shape[0] - 1)
    d_left, d_right = np.abs(xs - values[left]), np.abs(xs - values[right])
    take_right = (d_right < d_left) | (
        (d_right == d_left) & (first[right] < first[left])
    )
    owner_sorted = np.where(take_right, first[right], first[left])
    owner = np.empty(n, dtype=np.int64)
    owner[order] = owner_sorted
    return order[picks], owner


def assign_to_nearest(gradients, picks, *, block_bytes=_BLOCK_BYTES):
    """Position in ``picks`` of each row's nearest (squared Euclidean) pick.

    Blockwise over rows: memory ``O(block * len(picks))``, never ``n x n``.
    Ties go to the earliest pick.
    """
    op = gradients.astype(np.float32)  # halves memory, doubles BLAS speed
    picks = np.asarray(picks, dtype=np.int64)
    sq_all = np.asarray(op.sq_norms(), dtype=np.float32)
    sq_picks = sq_all[picks]
    out = np.empty(op.n, dtype=np.int64)
    # The factored gram holds two (block, k) products at once.
    step = _rows_per_block(picks.shape[0], 8, block_bytes)
    for start in range(0, op.n, step):
        stop = min(start + step, op.n)
        d2 = op.gram(slice(start, stop), picks)
        d2 *= -2.0
        d2 += sq_picks[None, :]
        # sq_i is constant along a row: it does not change the argmin.
        out[start:stop] = np.argmin(d2, axis=1)
    # A chosen row is nearest to itself, whatever float32 rounding says.
    out[picks] = np.arange(picks.shape[0])
    return out


def _facility_location(gradients, k, optimizer, epsilon, rng):
    """Greedy picks and owners on one kernel: on the rows' device when it has
    kernels (:func:`subsetml._gradops.accelerator`), else in numpy."""
    kernels = accelerator(gradients)
    if kernels is not None:
        out = kernels.facility_location(
            gradients, k, optimizer=optimizer, epsilon=epsilon, rng=rng
        )
        if out is not None:  # None: the device had no room for the kernel
            return out
    S, _ = similarity_kernel(gradients)
    picks, owner, _ = greedy_facility_location(
        S, k, optimizer=optimizer, epsilon=epsilon, rng=rng
    )
    return picks, owner


def craig_ground(
    gradients,
    k,
    *,
    optimizer="lazy",
    epsilon=0.01,
    max_kernel_bytes=2**30,
    rng=None,
):
    """CRAIG on one ground set: greedy facility location plus cluster-size weights.

    Parameters
    ----------
    gradients : DenseGradients or FactoredGradients
        The ground set, ``n`` rows.
    k : int
        Rows to choose, ``1 <= k <= n``.
    optimizer : {"lazy", "stochastic", "naive"}, default="lazy"
    epsilon : float, default=0.01
    max_kernel_bytes : int, default=2**30
        Largest similarity matrix (float32, ``4 n^2`` bytes) allowed.
    rng : numpy.random.RandomState, default=None
        Draws the chunks of the fallback and stochastic greedy's samples.

    Returns
    -------
    positions : ndarray of int64, shape (k,)
        Chosen rows of the ground set, in pick order (then the draws below).
    weights : ndarray of float64, shape (k,)
        Number of ground rows whose most similar chosen row is this one
        (sums to ``n``).  Picks that would stand for no row (copies of an
        earlier pick) are spent instead as a random draw within the clusters,
        in proportion to their sizes; every pick of a cluster then carries an
        equal share of its size (see :func:`_spread_tied_picks`).

    Notes
    -----
    Memory fallback.  When ``4 n^2 > max_kernel_bytes`` the ground set is
    shuffled and cut into ``m = ceil(n / c)`` nearly equal chunks, ``c`` being
    the largest size whose kernel fits (``4 c^2 <= max_kernel_bytes``).  Chunk
    budgets are proportional to chunk sizes (:func:`allocate_budget`; when
    ``k < m`` a random ``k`` chunks get one row each) and greedy runs on each
    chunk's own kernel.  The random split keeps each chunk a fair sample of the
    ground set, so each covers roughly the same distribution (CORDS' fixed,
    unshuffled partition depends on the dataset order).  Weights are then
    computed over the whole ground set -- every row goes to its nearest chosen
    row across all chunks -- blockwise, so they still sum to ``n``.  The
    result is no longer the greedy solution of the whole ground set; raise
    ``max_kernel_bytes`` or select per class or per batch to avoid it.

    One-dimensional rows (a single output's bias gradients) need neither the
    kernel nor the fallback: lazy and naive greedy run exactly on the line
    (:func:`line_facility_location`).
    """
    if rng is None:
        rng = np.random.RandomState()
    n = gradients.n
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, {n}], got {k}.")
    if k == n:
        return np.arange(n, dtype=np.int64), np.ones(n, dtype=np.float64)
    if (
        isinstance(gradients, DenseGradients)
        and gradients.dim == 1
        and optimizer != "stochastic"
    ):
        # One output's bias gradients: the exact greedy on the line, with no
        # kernel and no chunks (30x faster than the kernel at 10,000 rows).
        picks, owner = line_facility_location(gradients.matrix[:, 0], k)
        return _spread_tied_picks(gradients, picks, owner, k, rng)
    if isinstance(gradients, DenseGradients):
        # Distances do not change under a shift, but the float32 kernel's
        # |g|^2 + |g'|^2 - 2 g.g' loses them all when every row shares a large
        # offset (raw features such as a year): centre on the float64 mean,
        # straight into the float32 rows the kernel reads (no float64 copy).
        m = gradients.matrix
        mean = m.mean(axis=0, dtype=np.float64)
        # Times a power of two bringing the largest centred entry near 1:
        # float32 squared distances of rows of about 1e-22 underflowed to 0
        # (every row alike) and of 1e20 overflowed (a review). A power of
        # two changes no rounding, so the picks are those of the rows as
        # given wherever float32 holds them.
        scale = power_of_two_scale(
            max(
                float(np.max(m.max(axis=0) - mean, initial=0.0)),
                float(np.max(mean - m.min(axis=0), initial=0.0)),
            )
            if m.size
            else 0.0
        )
        centred = np.empty(m.shape, dtype=np.float32)
        step = _rows_per_block(m.shape[1], 8)
        for start in range(0, m.shape[0], step):
            centred[start : start + step] = (m[start : start + step] - mean) * scale
        gradients = DenseGradients(centred, gradients.device)
    elif isinstance(gradients, FactoredGradients):
        # Each factor times a power of two bringing its largest entry near 1:
        # every distance scales alike (the picks are those of the rows as
        # given), and the float32 kernel no longer overflows on features of
        # 1e20 (a review: an error, or arbitrary picks with equal weights).
        r, h = gradients.residuals, gradients.features
        r_scale = power_of_two_scale(float(np.max(np.abs(r), initial=0.0)))
        h_scale = power_of_two_scale(float(np.max(np.abs(h), initial=0.0)))
        if r_scale != 1.0 or h_scale != 1.0:
            gradients = FactoredGradients(
                r * np.asarray(r_scale, dtype=r.dtype),
                h * np.asarray(h_scale, dtype=h.dtype),
                gradients.device,
            )
    if 4 * n * n <= max_kernel_bytes:
        picks, owner = _facility_location(gradients, k, optimizer, epsilon, rng)
        return _spread_tied_picks(gradients, picks, owner, k, rng)

    chunk_cap = max(1, math.isqrt(max_kernel_bytes // 4))
    n_chunks = math.ceil(n / chunk_cap)
    chunks = np.array_split(rng.permutation(n), n_chunks)
    sizes = np.array([c.shape[0] for c in chunks], dtype=np.int64)
    if k >= n_chunks:
        budgets = allocate_budget(sizes, k)
    else:
        budgets = np.zeros(n_chunks, dtype=np.int64)
        budgets[rng.choice(n_chunks, size=k, replace=False)] = 1
    picks = []
    for rows, k_c in zip(chunks, budgets):
        if k_c == 0:
            continue
        if k_c == rows.shape[0]:
            picks.append(rows)
            continue
        local, _ = _facility_location(
            gradients.take(rows), int(k_c), optimizer, epsilon, rng
        )
        picks.append(rows[local])
    picks = np.concatenate(picks)
    owner = assign_to_nearest(
        gradients, picks, block_bytes=min(_BLOCK_BYTES, max_kernel_bytes)
    )
    return _spread_tied_picks(gradients, picks, owner, k, rng)


def _first_copies(gradients, picks):
    """Position in ``picks`` of the first pick whose gradient row equals (element
    for element) each pick's own."""
    if isinstance(gradients, DenseGradients):
        keys = gradients.matrix[picks]
    else:
        # Equal factors: enough for equal rows, and what copies of one input
        # row (with equal predictions and labels) have.
        keys = np.hstack(
            [
                gradients.residuals[picks].astype(np.float64),
                gradients.features[picks].astype(np.float64),
            ]
        )
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)]


def _spread_tied_picks(gradients, picks, owner, k, rng):
    """Cluster-size weights of ``picks``, with the picks that add nothing to the
    others spent as a random draw within the clusters.

    Such picks are copies of an earlier pick: picks that stand for no row
    (weight 0, a tie in the float32 kernel), and exact copies that stand for
    themselves alone, which the kernel's rounding (a distance of 1e-7 where
    0 is due) and the memory fallback (where every pick is given its own
    row) leave.  Greedy takes them once every distinct row is picked
    -- data with many duplicate rows, such as binary or one-hot features --
    and stochastic greedy when its sample holds nothing better.  Kept as
    they were, 174 of 200 picks on 3 binary features stood for no row, the
    rows of rare values were all picked, each for itself, and a model
    trained on the rows without their weights (a sampler in a pipeline) saw
    a sample far from the data: CV accuracy 0.68, against 0.74 for random
    rows.

    Instead each copy's rows join the cluster of its first copy, and the
    budget is split over the clusters in proportion to their sizes, at least
    one pick each, as per-class budgets are (:func:`allocate_budget`, which
    never gives a cluster more picks than rows).  Each cluster keeps its
    greedy pick and draws the rest at random from its other rows, and every
    pick of a cluster carries an equal share of its size: weights still sum
    to ``n`` and each cluster keeps its total.  A cluster's rows are then
    copies of one row (up to rounding), so any of them serve, as for the tied
    target values of one-shot regression (``GradientSelector._target_atoms``).
    With no such pick nothing changes and ``rng`` is not used.

    Parameters
    ----------
    gradients : DenseGradients or FactoredGradients
        The ground set, ``n`` rows.
    picks : ndarray of int64, shape (k,)
        Chosen rows of the ground set, in pick order.
    owner : ndarray of int64, shape (n,)
        Position in ``picks`` of each row's nearest pick.
    k : int
        Number of picks.
    rng : numpy.random.RandomState

    Returns
    -------
    positions : ndarray of int64, shape (k,)
        The picks kept, in pick order, then the draws, cluster by cluster.
    weights : ndarray of float64, shape (k,)
    """
    owner = _first_copies(gradients, picks)[owner]
    sizes = np.bincount(owner, minlength=k)
    if sizes.min() > 0:
        return picks, sizes.astype(np.float64)
    kept = np.flatnonzero(sizes)
    # Each pick kept is a member of its own cluster (it already is unless the
    # kernel tied it with an earlier pick), so a cluster has size - 1 rows
    # left to draw from, enough for its budget.
    owner[picks[kept]] = kept
    sizes = np.bincount(owner, minlength=k)[kept]
    budgets = allocate_budget(sizes, k)
    share = sizes / budgets
    cluster = np.full(k, -1, dtype=np.int64)
    cluster[kept] = np.arange(kept.shape[0])
    members = np.split(np.argsort(cluster[owner], kind="stable"), np.cumsum(sizes)[:-1])
    positions, weights = [picks[kept]], [share]
    for c in np.flatnonzero(budgets > 1):
        others = members[c][members[c] != picks[kept[c]]]
        positions.append(rng.choice(others, size=int(budgets[c]) - 1, replace=False))
        weights.append(np.full(int(budgets[c]) - 1, share[c]))
    return np.concatenate(positions).astype(np.int64), np.concatenate(weights)
