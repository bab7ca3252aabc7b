"""Non-negative orthogonal matching pursuit on a gradient operator.

Private numeric kernel of :class:`~subsetml.selection.GradMatchSelector`.  It
finds ``w >= 0`` on at most ``k`` rows ``g_i`` of an operator (see
:mod:`subsetml._gradops`) that minimises the ridge-regularised matching error

    F(w) = || sum_{i in S} w_i g_i - target ||^2 + lam * ||w||^2.

Each step costs one pass over the rows (``op.dot(residual)``, in float32),
which works on factored "full" gradients without building them.  Everything
else -- the support's Gram matrix, its Cholesky factor and the weights -- is
small and kept in float64, from float64 copies of the chosen rows (taken from
the operator as given, so the weights are exact for its rows).

Non-negativity is enforced exactly: the re-fit is the active-set (Lawson &
Hanson, "Solving Least Squares Problems", 1974, ch. 23) non-negative least
squares solution on the support, warm-started from the previous weights.
This is the NNOMP of Bruckstein, Elad & Zibulevsky, "On the uniqueness of
nonnegative sparse solutions to underdetermined systems of equations", IEEE
Trans. Inf. Theory 2008, in the active-set form analysed by Nguyen, Soussen,
Idier & Djermoune, "Non-negative orthogonal greedy algorithms", IEEE Trans.
Signal Process. 2019: rows whose weight reaches zero leave the support (they
may be picked again later), so the objective decreases at every step.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import blas

from subsetml._gradops import (
    DenseGradients,
    FactoredGradients,
    accelerator,
    power_of_two_scale,
)

__all__ = ["equal_weight_match", "nonneg_omp"]

# A correlation below this many rounding units of |g_j| |r| (times sqrt(dim))
# is numerically zero: picking that row could not lower the objective.
_NOISE_UNITS = 8.0

# A new row whose Cholesky pivot falls below this fraction of its own
# ``|g_j|^2 + lam`` lies (numerically) in the span of the support.
_PIVOT_RTOL = 1e-10


def nonneg_omp(op, target, k, *, lam=0.5, tol=1e-4, max_iter=None, pick=None):
    """Non-negative OMP: sparse ``w >= 0`` with ``sum_i w_i g_i ~ target``.

    Parameters
    ----------
    op : DenseGradients or FactoredGradients
        The rows ``g_i`` to choose from.
    target : ndarray of shape (op.dim,)
        Vector to match.
    k : int
        Largest support, ``1 <= k <= op.n``.
    lam : float, default=0.5
        Ridge penalty ``lam * ||w||^2``, ``>= 0``.
    tol : float, default=1e-4
        Stop once ``||residual|| <= tol * ||target||``.
    max_iter : int, default=None
        Most rows added (counting rows that later leave the support);
        ``2 * k`` when None.
    pick : callable or None, default=None
        ``pick(corr, threshold, support) -> j``: the row to add, given every
        row's correlation with the residual (``-inf`` on the support and on
        rows that cannot help), the correlation a row needs to lower ``F``
        (per row) and the current support (a list of rows: an earlier pick
        may have been refused or have left it since). None takes the most
        correlated row, plain OMP; a row ``j`` with ``corr[j] <=
        threshold[j]`` ends the pursuit.

    Returns
    -------
    positions : ndarray of int64, shape (m,)
        Chosen rows, ``m <= k``, in the order they were picked.
    weights : ndarray of float64, shape (m,)
        Their weights, all ``> 0``: the non-negative ridge least-squares fit
        of ``target`` on the chosen rows.

    Notes
    -----
    A step picks the row most positively correlated with the residual
    ``target - sum_i w_i g_i`` -- the steepest descent direction of ``F``
    among rows with zero weight -- and re-fits the weights on the support.
    The support's matrix ``G_S G_S^T + lam I`` is kept as a Cholesky factor,
    grown by one row per step (``O(s^2)``, not a new ``O(s^3)``
    factorisation).  If the unconstrained re-fit has negative weights, the
    Lawson-Hanson inner loop moves from the previous (feasible) weights
    towards it until the first weight hits zero, drops that row (a rank-one
    update of the factor), and repeats; the result is the exact
    non-negative least-squares solution on the support.

    The loop stops when the support has ``k`` rows, when no row has a
    positive correlation with the residual (nothing left lowers ``F``), when
    the relative residual reaches ``tol``, or after ``max_iter`` additions.
    """
    target, k = _check_target_and_k(op, target, k)
    lam = float(lam)
    if not lam >= 0.0:
        raise ValueError(f"lam must be >= 0, got {lam}.")
    max_iter = 2 * k if max_iter is None else int(max_iter)

    empty = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    t_norm = float(np.linalg.norm(target))
    if t_norm == 0.0:
        return empty
    stop_norm = float(tol) * t_norm
    # The pass over all rows runs in float32 (half the memory traffic, twice
    # the BLAS speed); it only ranks candidates, the fit itself is float64.
    fast, scale = _fast_rows(op)
    unit = _NOISE_UNITS * np.finfo(np.float32).eps * math.sqrt(op.dim)
    noise = unit * np.sqrt(np.maximum(fast.sq_norms().astype(np.float64), 0.0))

    capacity = min(k, 64)
    rows = _RowStore(op, capacity)
    system = _RidgeSystem(capacity)
    support = []  # row positions, aligned with ``rows`` and ``system``
    banned = []  # rows that cannot lower F any more
    weights = np.empty(0)
    residual = target
    r_norm = t_norm

    for _ in range(max_iter):
        s = len(support)
        if s >= k or r_norm <= stop_norm:
            break
        # Rows and residual both times ``scale``: correlations and their
        # noise floor times ``scale ** 2`` alike.
        corr = fast.dot(residual * scale).astype(np.float64)
        if s or banned:
            corr[support + banned] = -np.inf
        floor = noise * (r_norm * scale)
        if pick is None:
            j = int(np.argmax(corr))
        else:
            j = int(pick(corr, floor, support))
        if not corr[j] > floor[j]:
            break

        if s == capacity:
            capacity = min(2 * capacity, k)
            rows.grow(capacity)
            system.grow(capacity)
        rows.append(op, j)
        new = rows.op(s, s + 1)
        sq = float(new.sq_norms()[0])
        if s:
            u = system.solve_lower(rows.op(0, s + 1).gram([s], slice(0, s))[0])
            pivot = sq + lam - float(u @ u)
        else:
            u = np.empty(0)
            pivot = sq + lam
        if not pivot > _PIVOT_RTOL * (sq + lam):
            rows.pop()
            banned.append(j)
            continue
        system.append(u, math.sqrt(pivot), float(new.dot(target)[0]))
        support.append(j)

        # Lawson-Hanson inner loop, from the previous feasible weights.
        start = np.append(weights, 0.0)
        z = system.solve()
        while True:
            neg = np.flatnonzero(z <= 0.0)
            if neg.size == 0:
                break
            w_neg = start[neg]
            gap = w_neg - z[neg]
            ratio = np.divide(w_neg, gap, out=np.zeros_like(gap), where=gap > 0)
            a = int(np.argmin(ratio))
            start += ratio[a] * (z - start)
            start[neg[a]] = 0.0
            drop = np.flatnonzero(start <= 0.0)
            for p in drop[::-1]:
                if support[p] == j:
                    # No progress possible with j (only by rounding): never
                    # pick it again, or the loop could cycle on it.
                    banned.append(j)
                del support[p]
                rows.delete(p)
                system.delete(p)
            start = np.delete(start, drop)
            z = system.solve()
        weights = z

        if support:
            residual = target - rows.op(0, len(support)).weighted_sum(weights)
        else:
            residual = target
        r_norm = float(np.linalg.norm(residual))

    if not support:
        return empty
    return np.asarray(support, dtype=np.int64), np.asarray(weights, dtype=np.float64)


def equal_weight_match(op, target, k, *, pick=None):
    """Greedy ``k`` rows whose sum, each times ``n / k``, matches ``target``.

    The equal-weight counterpart of :func:`nonneg_omp`, for a subset whose
    weights will be dropped (an estimator without ``sample_weight``): every
    chosen row stands for ``a = n / k`` rows, and the rows are added one at
    a time, each the one that lowers ``|| a sum_{i in S} g_i - target ||^2``
    the most (greedy herding on the gradients).

    Parameters
    ----------
    op : DenseGradients or FactoredGradients
        The rows ``g_i`` to choose from.
    target : ndarray of shape (op.dim,)
        Vector to match.
    k : int
        Rows to choose, ``1 <= k <= op.n``.
    pick : callable or None, default=None
        ``pick(gain, threshold, chosen) -> j`` as in :func:`nonneg_omp`, with
        each unchosen row's gain ``<g_j, r> - a |g_j|^2 / 2`` (half the drop
        of the error divided by ``a``; ``-inf`` on chosen rows), a zero
        threshold and the rows chosen so far. None takes the largest gain.

    Returns
    -------
    positions : ndarray of int64, shape (k,)
        Chosen rows, in the order they were picked.
    weights : ndarray of float64, shape (k,)
        ``n / k`` each.

    Notes
    -----
    Adding row ``j`` changes the error by ``-2 a <g_j, r> + a^2 |g_j|^2``
    (``r`` the residual ``target - a sum_S g_i``), so the best row has the
    largest gain above. Unlike matching pursuit there is no early stop:
    when no row lowers the error any more, the one that raises it least is
    taken, since the budget must be spent and no weight can shrink. One
    pass over the rows per step (``op.dot``, in float32), as in
    :func:`nonneg_omp`.
    """
    n = op.n
    target, k = _check_target_and_k(op, target, k)
    a = n / k
    fast, scale = _fast_rows(op)
    # Rows and residual both times ``scale``: every gain times its square.
    half_cost = 0.5 * a * fast.sq_norms().astype(np.float64)
    zero = np.zeros(n)
    chosen = []
    residual = target.copy()
    for _ in range(k):
        gain = fast.dot(residual * scale).astype(np.float64) - half_cost
        if chosen:
            gain[chosen] = -np.inf
        j = int(np.argmax(gain)) if pick is None else int(pick(gain, zero, chosen))
        if not np.isfinite(gain[j]):
            # A pick hook may end the pursuit on a chosen row; here the budget
            # must be spent, so take the best unchosen row instead.
            j = int(np.argmax(gain))
        chosen.append(j)
        residual -= a * op.weighted_sum(rows=[j])
    return np.asarray(chosen, dtype=np.int64), np.full(k, a)


def _check_target_and_k(op, target, k):
    """``target`` as a flat float64 vector of the rows' width, and ``k`` as
    an int in ``[1, op.n]``; a ValueError otherwise."""
    target = np.asarray(target, dtype=np.float64).reshape(-1)
    if target.shape[0] != op.dim:
        raise ValueError(
            f"target has {target.shape[0]} entries but the rows have {op.dim}."
        )
    k = int(k)
    if not 1 <= k <= op.n:
        raise ValueError(f"k must lie in [1, {op.n}], got {k}.")
    return target, k


def _abs_max(a):
    """The largest magnitude in ``a`` (0 when empty), without a copy."""
    return max(float(a.max()), -float(a.min())) if a.size else 0.0


def _scaled32(a, scale):
    """``a * scale`` in float32, without a float64 copy of ``a``."""
    out = np.empty(a.shape, dtype=np.float32)
    np.multiply(a, scale, out=out, casting="unsafe")
    return out


def _fast_rows(op):
    """``op`` in float32 for the pass over all rows each step, on the rows'
    device (a CUDA net's) when it has kernels for it (large ground sets
    only: below that the host is faster), and the power of two ``s`` its
    rows were multiplied by.

    The rows are brought to a largest entry in [1, 2) first (each factor of
    factored rows on its own), so that float32 neither underflows nor
    overflows whatever the units: regression targets of about 1e-25 (SI
    masses) made every correlation 0, and GRAD-MATCH ended at once and
    filled its budget with random rows. A power of two changes no rounding,
    so rows of ordinary size give the same picks as unscaled ones. A vector
    multiplied by the rows must be multiplied by ``s`` too (see the
    callers): both sides of every comparison then carry ``s ** 2``.
    """
    if isinstance(op, FactoredGradients):
        s_r = power_of_two_scale(_abs_max(op.residuals))
        s_h = power_of_two_scale(_abs_max(op.features))
        fast = FactoredGradients(
            _scaled32(op.residuals, s_r), _scaled32(op.features, s_h), op.device
        )
        scale = s_r * s_h
    else:
        scale = power_of_two_scale(_abs_max(op.matrix))
        fast = DenseGradients(_scaled32(op.matrix, scale), op.device)
    kernels = accelerator(fast, matvec=True)
    return (fast if kernels is None else kernels.operator(fast)), scale


class _RowStore:
    """Float64 copies of the support's rows, in support order, kept as factors."""

    def __init__(self, op, capacity):
        if isinstance(op, FactoredGradients):
            self._make = FactoredGradients
            widths = (op.residuals.shape[1], op.features.shape[1])
        else:
            self._make = DenseGradients
            widths = (op.dim,)
        self._arrays = [np.empty((capacity, w)) for w in widths]
        self.size = 0

    def _factors(self, one):
        if self._make is FactoredGradients:
            return one.residuals[0], one.features[0]
        if isinstance(one, DenseGradients):
            return (one.matrix[0],)
        return (one.dense()[0],)

    def grow(self, capacity):
        self._arrays = [_grown(a, capacity) for a in self._arrays]

    def append(self, op, j):
        for buf, row in zip(self._arrays, self._factors(op.take([j]))):
            buf[self.size] = row
        self.size += 1

    def pop(self):
        self.size -= 1

    def delete(self, p):
        s = self.size
        for buf in self._arrays:
            buf[p : s - 1] = buf[p + 1 : s]
        self.size -= 1

    def op(self, start, stop):
        """Operator over stored rows ``start .. stop - 1`` (views, no copy)."""
        return self._make(*(buf[start:stop] for buf in self._arrays))


class _RidgeSystem:
    """``(G_S G_S^T + lam I) w = G_S target`` with a growing Cholesky factor.

    The lower factor ``L`` is packed by rows -- row ``i`` at offset
    ``i (i + 1) / 2`` -- so adding a support row appends to a flat buffer and
    the packed triangular BLAS solver (``dtpsv``) works on any leading block
    without a copy.  Row-packed lower ``L`` is column-packed upper ``L^T``,
    hence ``lower=0`` below.  ``y = L^{-1} b`` is kept so a re-fit is a single
    triangular solve.
    """

    def __init__(self, capacity):
        self._packed = np.zeros(capacity * (capacity + 1) // 2)
        self._b = np.zeros(capacity)
        self._y = np.zeros(capacity)
        self.size = 0

    def grow(self, capacity):
        self._packed = _grown(self._packed, capacity * (capacity + 1) // 2)
        self._b = _grown(self._b, capacity)
        self._y = _grown(self._y, capacity)

    def solve_lower(self, v):
        """``L^{-1} v`` for the current factor."""
        return blas.dtpsv(self.size, self._packed, v, lower=0, trans=1)

    def solve(self):
        """Unconstrained ridge weights on the support: ``L^{-T} y``."""
        s = self.size
        if s == 0:
            return np.empty(0)
        return blas.dtpsv(s, self._packed, self._y[:s].copy(), lower=0, trans=0)

    def append(self, u, diag, b_new):
        s = self.size
        off = s * (s + 1) // 2
        self._packed[off : off + s] = u
        self._packed[off + s] = diag
        self._b[s] = b_new
        self._y[s] = (b_new - float(u @ self._y[:s])) / diag
        self.size = s + 1

    def delete(self, p):
        """Drop support row ``p``: remove it from ``L``, restore ``L L^T = A``."""
        s = self.size
        tri = np.tril_indices(s)
        full = np.zeros((s, s))
        full[tri] = self._packed[: tri[0].shape[0]]
        col = full[p + 1 :, p].copy()
        full = np.delete(np.delete(full, p, axis=0), p, axis=1)
        # Removing row/column p of A = L L^T leaves the trailing block as
        # L33 L33^T + l32 l32^T: a rank-one update of that block's factor.
        _cholesky_update(full[p:, p:], col)
        m = s - 1
        self._packed[: m * (m + 1) // 2] = full[np.tril_indices(m)]
        self._b[p:m] = self._b[p + 1 : s].copy()
        self.size = m
        if m:
            self._y[:m] = self.solve_lower(self._b[:m].copy())


def _cholesky_update(factor, x):
    """In place: lower ``factor`` becomes the factor of ``F F^T + x x^T``."""
    x = x.copy()
    for i in range(factor.shape[0]):
        lii = factor[i, i]
        r = math.hypot(lii, x[i])
        c, s = r / lii, x[i] / lii
        factor[i, i] = r
        if i + 1 < factor.shape[0]:
            factor[i + 1 :, i] = (factor[i + 1 :, i] + s * x[i + 1 :]) / c
            x[i + 1 :] = c * x[i + 1 :] - s * factor[i + 1 :, i]


def _grown(a, size):
    out = np.zeros((size,) + a.shape[1:], dtype=a.dtype)
    out[: a.shape[0]] = a
    return out
