"""Per-sample gradient matrices that are never built unless they must be.

A selector works on one vector per row (a last-layer gradient, or plain
features).  For the "full" last-layer gradient, row i is the flattened outer
product ``r_i (x) h_i`` of the output residual ``r_i`` (C numbers) and the
augmented penultimate features ``h_i = [features_i, 1]`` (E + 1 numbers).  The
row is C * (E + 1) wide -- 5,130 floats for C = 10, E = 512 -- but everything a
selector needs has a closed form in the two factors:

* ``<g_i, g_j> = (r_i . r_j) * (h_i . h_j)``
* ``<g_i, V>  = r_i . (V h_i)`` for V of shape (C, E + 1)
* ``sum_i w_i g_i = R^T diag(w) H``

so the kernels below cost O(n (C + E)) memory instead of O(n C E).  The dense
operator wraps an explicit matrix for the "bias" and "features" modes, and for
batch means, which are no longer rank one.

These classes are private: kernels in :mod:`subsetml.selection` take an
operator, so the same greedy / OMP code serves every gradient mode.

An operator may name the ``device`` its rows came from (a CUDA net's
last-layer pass). This layer knows no devices: a layer that does (the torch
kernels of :mod:`subsetml.skorch`) registers a factory with
:func:`register_accelerator`, and the selection kernels ask :func:`accelerator`
for it, so a ground set from a GPU is selected on that GPU.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "DenseGradients",
    "FactoredGradients",
    "accelerator",
    "power_of_two_scale",
    "register_accelerator",
]

#: Ground sets of fewer rows stay on the host: there a device's launch and
#: copy latency costs more than the numpy kernels (per-batch ground sets of a
#: few hundred mini-batch means, for instance).
MIN_ACCELERATED_ROWS = 1024

#: Matrix-vector kernels (GRAD-MATCH's matching pursuit: one product with
#: the residual per step, then a round trip to the host for the small
#: least-squares fit) use a device only for ground sets of at least this
#: many entries (rows x gradient width). On an H200 the device path was
#: slower than numpy at every size ``benchmarks/gpu_check.py`` measured, up
#: to 3,200 rows x 1,290 = 4.1M entries
#: (``benchmarks/results/gpu_omp_on_device.json``,
#: ``selection_by_rows``); larger ground sets (dense "full" gradients of
#: wide layers) are unmeasured, and this bound, 16x the largest measured,
#: is a guess.
MIN_ACCELERATED_MATVEC_ENTRIES = 2**26

_ACCELERATORS = []


def register_accelerator(factory):
    """Add ``factory(device) -> kernels or None``; returns it.

    The kernels object offers ``facility_location(op, k, *, optimizer,
    epsilon, rng) -> (picks, owner)`` (or None when the device cannot hold
    the kernel: the numpy kernels then run) and ``operator(op)`` (an operator whose
    ``dot`` and ``sq_norms`` run on the device), both returning numpy arrays.
    """
    if factory not in _ACCELERATORS:
        _ACCELERATORS.append(factory)
    return factory


def power_of_two_scale(top):
    """A power of two ``s`` with ``top * s`` in [1, 2) (1 when ``top`` is 0
    or not finite). Multiplying by it is exact in binary floating point, so
    rows brought near 1 by it round as the rows given do, wherever float32
    holds both: the selectors' float32 kernels use it against underflow and
    overflow."""
    if not (top > 0.0 and math.isfinite(top)):
        return 1.0
    # A subnormal top (below 2.2e-308) would need a scale past the largest
    # float (an OverflowError, a review): the largest power of two instead
    # brings it as near 1 as one factor can.
    return math.ldexp(1.0, min(-math.frexp(top)[1] + 1, 1023))


def accelerator(op, *, matvec=False):
    """Device kernels for ``op``'s rows, or None to use the numpy kernels.

    ``matvec=True`` asks for kernels whose work per device call is one
    matrix-vector product, which need :data:`MIN_ACCELERATED_MATVEC_ENTRIES`
    entries to pay for the call.
    """
    device = getattr(op, "device", None)
    if device is None or op.n < MIN_ACCELERATED_ROWS:
        return None
    if matvec and op.n * op.dim < MIN_ACCELERATED_MATVEC_ENTRIES:
        return None
    for factory in _ACCELERATORS:
        kernels = factory(device)
        if kernels is not None:
            return kernels
    return None


class DenseGradients:
    """Rows of an explicit (n, d) matrix (from ``device``, when a net's)."""

    def __init__(self, matrix, device=None):
        self.matrix = np.ascontiguousarray(matrix)
        self.device = device

    @property
    def n(self):
        return self.matrix.shape[0]

    @property
    def dim(self):
        return self.matrix.shape[1]

    @property
    def dtype(self):
        return self.matrix.dtype

    def take(self, rows):
        return DenseGradients(self.matrix[rows], self.device)

    def astype(self, dtype):
        """The same rows in ``dtype`` (no copy when already so)."""
        return DenseGradients(self.matrix.astype(dtype, copy=False), self.device)

    def dense(self):
        return self.matrix

    def sq_norms(self):
        m = self.matrix
        return np.einsum("ij,ij->i", m, m)

    def gram(self, rows_a, rows_b=None):
        a = self.matrix[rows_a]
        b = a if rows_b is None else self.matrix[rows_b]
        return a @ b.T

    def dot(self, vector):
        """Inner product of every row with ``vector`` (shape (d,))."""
        return self.matrix @ vector.astype(self.matrix.dtype, copy=False)

    def weighted_sum(self, weights=None, rows=None):
        m = self.matrix if rows is None else self.matrix[rows]
        if weights is None:
            return m.sum(axis=0, dtype=np.float64)
        return np.asarray(weights, dtype=np.float64) @ m

    def group_means(self, groups, n_groups):
        """Mean row of each group (``groups[i]`` is row i's group id)."""
        counts = np.bincount(groups, minlength=n_groups).astype(np.float64)
        sums = np.zeros((n_groups, self.dim), dtype=np.float64)
        # Sorted by group, each group's rows are one run: reduceat sums every
        # run in one call (np.add.at, one row at a time, was 10x slower).
        order = np.argsort(groups, kind="stable")
        present = np.flatnonzero(counts)
        starts = np.searchsorted(groups[order], present)
        if present.size:
            sums[present] = np.add.reduceat(
                self.matrix[order].astype(np.float64), starts, axis=0
            )
        return DenseGradients(
            (sums / counts[:, None]).astype(self.matrix.dtype), self.device
        )


class FactoredGradients:
    """Rows ``vec(r_i (x) h_i)`` kept as the two factors ``R`` (n, C), ``H`` (n, E)."""

    def __init__(self, residuals, features, device=None):
        self.residuals = np.ascontiguousarray(residuals)
        self.features = np.ascontiguousarray(features)
        self.device = device

    @property
    def n(self):
        return self.residuals.shape[0]

    @property
    def dim(self):
        return self.residuals.shape[1] * self.features.shape[1]

    @property
    def dtype(self):
        return np.result_type(self.residuals.dtype, self.features.dtype)

    def take(self, rows):
        return FactoredGradients(self.residuals[rows], self.features[rows], self.device)

    def astype(self, dtype):
        """The same rows with both factors in ``dtype`` (no copy when already so)."""
        return FactoredGradients(
            self.residuals.astype(dtype, copy=False),
            self.features.astype(dtype, copy=False),
            self.device,
        )

    def dense(self):
        r, h = self.residuals, self.features
        return np.einsum("nc,ne->nce", r, h).reshape(r.shape[0], -1)

    def sq_norms(self):
        r, h = self.residuals, self.features
        return np.einsum("ij,ij->i", r, r) * np.einsum("ij,ij->i", h, h)

    def gram(self, rows_a, rows_b=None):
        ra, ha = self.residuals[rows_a], self.features[rows_a]
        if rows_b is None:
            rb, hb = ra, ha
        else:
            rb, hb = self.residuals[rows_b], self.features[rows_b]
        out = ra @ rb.T
        out *= ha @ hb.T
        return out

    def dot(self, vector):
        c, e = self.residuals.shape[1], self.features.shape[1]
        v = vector.reshape(c, e).astype(self.dtype, copy=False)
        return np.einsum("nc,nc->n", self.features @ v.T, self.residuals)

    def weighted_sum(self, weights=None, rows=None):
        r = self.residuals if rows is None else self.residuals[rows]
        h = self.features if rows is None else self.features[rows]
        r = r.astype(np.float64)
        if weights is not None:
            r = r * np.asarray(weights, dtype=np.float64)[:, None]
        return (r.T @ h.astype(np.float64)).ravel()

    def group_means(self, groups, n_groups):
        counts = np.bincount(groups, minlength=n_groups)
        c, e = self.residuals.shape[1], self.features.shape[1]
        order = np.argsort(groups, kind="stable")
        bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
        width = int(counts.max()) if n_groups else 0
        if n_groups * width <= 2 * self.n:
            # Groups of (nearly) equal size, as mini-batches are: pad each to
            # the largest with zero rows and take every R_g^T H_g in one
            # batched product (zero rows add nothing to a sum).
            slot = np.arange(self.n) - bounds[groups[order]]
            r = np.zeros((n_groups, width, c))
            h = np.zeros((n_groups, width, e))
            r[groups[order], slot] = self.residuals[order]
            h[groups[order], slot] = self.features[order]
            sums = np.matmul(r.transpose(0, 2, 1), h).reshape(n_groups, c * e)
        else:
            # One group at a time keeps memory at (group size) x C x E.
            sums = np.zeros((n_groups, c * e), dtype=np.float64)
            for g in range(n_groups):
                rows = order[bounds[g] : bounds[g + 1]]
                sums[g] = self.weighted_sum(rows=rows)
        means = sums / counts.astype(np.float64)[:, None]
        return DenseGradients(means.astype(self.dtype), self.device)
