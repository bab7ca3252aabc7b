"""Selection kernels in torch, on the device a net's last layer was read on.

:func:`subsetml.skorch.lastlayer_from_net` marks its view with the net's
``device``; for a CUDA device the selection kernels of
:mod:`subsetml.selection` then ask :func:`subsetml._gradops.accelerator` for
the :class:`TorchKernels` registered here and run their heavy parts on it:

* CRAIG's facility location: the ``n x n`` similarity matrix (one GEMM, or the
  two factor grams of "full" gradients) and greedy maximisation, where each
  step scores every candidate (or stochastic greedy's sample) in one
  reduction. A GPU evaluates all ``n`` gains of a step at once, so the lazy
  bounds of the host solver buy nothing there; the picks are those of naive
  greedy, which lazy greedy reproduces up to ties.
* GRAD-MATCH's orthogonal matching pursuit: the correlation of every row with
  the residual, once per step (the small float64 least-squares fit stays on
  the host), for ground sets of at least
  :data:`subsetml._gradops.MIN_ACCELERATED_MATVEC_ENTRIES` entries. Smaller
  ones stay on the host, which was faster on an H200 at every size measured.

Results come back as numpy arrays. Ground sets of fewer than
:data:`subsetml._gradops.MIN_ACCELERATED_ROWS` rows (the per-batch ground
sets of mini-batch means, for instance) stay on the host, and so does every
view on a CPU: there numpy's kernels are as fast. GLISTER's greedy steps stay
on the host too.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from subsetml._gradops import DenseGradients, register_accelerator

# torch.OutOfMemoryError from torch 2.5 on (any device); CUDA's before.
_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)

__all__ = ["TorchKernels"]

# Temporaries of a greedy step (candidate rows minus the coverage) stay below
# this many bytes.
_BLOCK_BYTES = 256 * 2**20


class TorchKernels:
    """Facility location and gradient correlations on one torch device.

    Parameters
    ----------
    device : str or torch.device
        Where the kernels run (``"cuda:0"``; ``"cpu"`` works, for tests).
    """

    def __init__(self, device):
        self.device = torch.device(device)

    def _tensor(self, array):
        array = np.ascontiguousarray(array, dtype=np.float32)
        return torch.from_numpy(array).to(self.device)

    def similarity(self, op):
        """``S = d_max - ||g_i - g_j||^2`` on the device, as
        :func:`subsetml.selection._greedy.similarity_kernel` builds it.

        The products run in full float32 whatever
        ``torch.set_float32_matmul_precision`` says: TF32's 10-bit mantissa
        would swamp the small distances of near neighbours, which the
        expansion ``|a|^2 + |b|^2 - 2 a.b`` computes by cancellation. The
        only ``n x n`` array is the result (the factors' grams are built a
        block of rows at a time).
        """
        previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("highest")
        try:
            return self._similarity(op)
        finally:
            torch.set_float32_matmul_precision(previous)

    def _similarity(self, op):
        if isinstance(op, DenseGradients):
            m = self._tensor(op.matrix)
            sq = torch.einsum("ij,ij->i", m, m)
            gram = m @ m.T
        else:
            r, h = self._tensor(op.residuals), self._tensor(op.features)
            sq = torch.einsum("ij,ij->i", r, r) * torch.einsum("ij,ij->i", h, h)
            n = r.shape[0]
            gram = torch.empty((n, n), dtype=r.dtype, device=self.device)
            step = max(1, _BLOCK_BYTES // (4 * max(n, 1)))
            for start in range(0, n, step):
                stop = min(start + step, n)
                torch.mm(r[start:stop], r.T, out=gram[start:stop])
                gram[start:stop].mul_(h[start:stop] @ h.T)
        # gram becomes the squared distances in place: 2 g_i.g_j - |g_i|^2 -
        # |g_j|^2 negated, floored at 0 (rounding), 0 on the diagonal.
        dist = gram.mul_(-2.0).add_(sq[:, None]).add_(sq[None, :]).clamp_(min=0.0)
        dist.fill_diagonal_(0.0)
        d_max = dist.max() if dist.numel() else torch.zeros((), device=self.device)
        return dist.neg_().add_(d_max), float(d_max)

    def facility_location(self, op, k, *, optimizer="lazy", epsilon=0.01, rng=None):
        """Greedy facility location of ``k`` rows of ``op`` on the device.

        Returns ``picks`` (pick order) and ``owner`` (each row's most similar
        pick, the earliest on ties) as numpy int64 arrays, as
        :func:`~subsetml.selection._greedy.greedy_facility_location` does,
        or None when the device is out of memory for the ``n x n`` matrix.
        ``"lazy"`` and ``"naive"`` score every candidate at every step (the
        same picks, up to ties); ``"stochastic"`` draws each step's sample
        from ``rng`` as the host solver does, so both score the same rows.
        """
        n = op.n
        if not 1 <= k <= n:
            raise ValueError(f"k must lie in [1, {n}], got {k}.")
        try:
            S, _ = self.similarity(op)
        except _OUT_OF_MEMORY:
            # The net training on this GPU leaves too little room for the
            # n x n matrix: the caller falls back to the host kernels.
            return None
        cur = torch.zeros(n, dtype=S.dtype, device=self.device)
        owner = torch.zeros(n, dtype=torch.int64, device=self.device)
        chosen = np.zeros(n, dtype=bool)
        picks = []
        sample_size = None
        if optimizer == "stochastic":
            if rng is None:
                rng = np.random.RandomState()
            sample_size = min(n, math.ceil((n / k) * math.log(1.0 / epsilon)))
        step = max(1, _BLOCK_BYTES // (4 * n))
        for t in range(k):
            cand = np.flatnonzero(~chosen)
            if sample_size is not None:
                if sample_size < cand.shape[0]:
                    cand = rng.choice(cand, size=sample_size, replace=False)
                # Sorted, so that equal gains go to the lowest row (the host
                # solver breaks such ties by its scan order; with real-valued
                # gradients they are rare).
                cand = np.sort(cand)
            index = torch.from_numpy(cand).to(self.device)
            gains = torch.empty(cand.shape[0], dtype=S.dtype, device=self.device)
            for start in range(0, cand.shape[0], step):
                rows = S.index_select(0, index[start : start + step])
                gains[start : start + step] = rows.sub_(cur).clamp_(min=0.0).sum(1)
            j = int(cand[int(torch.argmax(gains))])
            row = S[j]
            owner[row > cur] = t
            torch.maximum(cur, row, out=cur)
            chosen[j] = True
            picks.append(j)
        return np.asarray(picks, dtype=np.int64), owner.cpu().numpy()

    def operator(self, op):
        """``op`` with its per-step products (``dot``, ``sq_norms``) on the
        device; everything else as ``op`` has it."""
        return _DeviceOperator(op, self)


class _DeviceOperator:
    """An operator whose ``dot`` and ``sq_norms`` run on a device."""

    def __init__(self, op, kernels):
        self._op = op
        self._kernels = kernels
        if isinstance(op, DenseGradients):
            self._factors = (kernels._tensor(op.matrix),)
        else:
            self._factors = (
                kernels._tensor(op.residuals),
                kernels._tensor(op.features),
            )

    def __getattr__(self, name):
        return getattr(self._op, name)

    def dot(self, vector):
        v = self._kernels._tensor(vector)
        if len(self._factors) == 1:
            out = self._factors[0] @ v
        else:
            r, h = self._factors
            out = torch.einsum("nc,nc->n", h @ v.reshape(r.shape[1], -1).T, r)
        return out.cpu().numpy()

    def sq_norms(self):
        if len(self._factors) == 1:
            m = self._factors[0]
            out = torch.einsum("ij,ij->i", m, m)
        else:
            r, h = self._factors
            out = torch.einsum("ij,ij->i", r, r) * torch.einsum("ij,ij->i", h, h)
        return out.cpu().numpy()


#: Set to True to run the torch kernels for CPU views too (tests compare them
#: with the numpy kernels this way).
ON_CPU = False


def _torch_kernels(device):
    """The :class:`TorchKernels` of ``device``, or None where numpy is as
    fast (a CPU) or torch does not know the device."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        return None
    if device.type == "cpu":
        return TorchKernels(device) if ON_CPU else None
    # CUDA only: other backends (MPS, XPU) are untested, and a view pickled
    # on a GPU machine may be loaded where its device does not exist.
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    index = 0 if device.index is None else device.index
    if index >= torch.cuda.device_count():
        return None
    return TorchKernels(device)


register_accelerator(_torch_kernels)
