"""GRAD-MATCH: weighted subsets whose gradient sum matches the full one."""

from __future__ import annotations

import numpy as np

from subsetml.selection._base import GradientSelector, check_real
from subsetml.selection._omp import nonneg_omp

__all__ = ["GradMatchSelector"]

#: Names accepted by ``GradMatchSelector(target=...)``.
TARGETS = ("train", "validation")


class GradMatchSelector(GradientSelector):
    """Rows whose weighted gradient sum matches the full gradient (GRAD-MATCH).

    Finds non-negative weights ``w`` on at most ``k`` rows so that
    ``sum_{i in S} w_i g_i`` is as close as possible to the sum of all the
    ground set's last-layer gradients ``g`` (or to the validation gradient),
    with a ridge penalty ``lam * ||w||^2``, by non-negative orthogonal
    matching pursuit. Training on the weighted subset then takes (nearly) the
    full-data gradient step.

    Parameters
    ----------
    gradients : {"full", "bias", "features"}, default="full"
        Which per-row vectors to match (see :class:`~subsetml.LastLayer`):
        the full last-layer gradient (GRAD-MATCH's default in CORDS; kept in
        factored form, never materialised), the output-bias gradient
        (``n_outputs`` numbers), or the penultimate features themselves.
    per_class : {"auto", True, False}, default="auto"
        Match each class's gradient sum within the class, with budgets
        proportional to class sizes (``ceil(k n_c / n)``, trimmed to sum to
        ``k``). ``"auto"`` does so for classification views.
    batch_size : int or None, default=None
        If set (> 1), the ground set is made of shuffled mini-batches of this
        many rows, each represented by its mean gradient (GRAD-MATCHPB); the
        sum of the batch means is matched and each row of a chosen batch
        carries its batch's weight.
    lam : float, default=0.5
        Ridge penalty on the weights, ``>= 0``. Larger values spread weight
        over more rows and keep single weights from growing large.
    tol : float, default=1e-4
        Matching pursuit stops once the residual
        ``||sum_S w_i g_i - target||`` falls to ``tol * ||target||``, in
        ``[0, 1)``.
    target : {"train", "validation"}, default="train"
        What the subset's gradient must match. ``"train"``: the sum of the
        ground set's gradients. ``"validation"``: the mean gradient of the
        validation rows passed to :meth:`select` (of the same class, per
        class) times the ground set's size, so that weights are on the same
        scale (see Notes); ``select`` then requires ``validation=``.
    random_state : int, RandomState instance or None, default=None
        Seeds the mini-batch shuffle and the random rows that complete the
        budget when matching pursuit stops early.

    Notes
    -----
    GRAD-MATCH (Killamsetty, Sivasubramanian, Ramakrishnan, De & Iyer,
    "GRAD-MATCH: Gradient Matching based Data Subset Selection for Efficient
    Deep Model Training", ICML 2021) bounds the distance between training on
    the weighted subset and on the full data by the gradient-matching error
    ``||sum_S w_i g_i - sum_all g_i||``, and minimises it (plus
    ``lam ||w||^2``) by orthogonal matching pursuit: pick the row most
    positively correlated with the residual, re-fit the weights on the
    chosen rows, repeat until ``k`` rows are chosen.

    Here the re-fit is the exact non-negative ridge least-squares solution on
    the chosen rows (an active-set solve warm-started from the previous
    weights, with an incrementally updated Cholesky factor); a row whose
    weight reaches zero leaves the support and may be chosen again later.
    Each step costs one pass over the ground set's gradients, so a ground
    set of ``m`` rows of width ``d`` costs ``O(k m d)``; the full last-layer
    gradients are only ever touched through their two factors.

    **Weights** are the matching coefficients: non-negative, and for
    ``target="train"`` on the scale of the number of rows (or batches) each
    chosen row stands for, so the weighted subset loss is on the scale of
    the full-data loss. The ridge penalty shrinks them: when ``lam`` is not
    small next to the squared gradient norms, they sum to noticeably less
    than the ground set's size. A ground set with no more rows than its
    budget is returned whole, with weights 1 (the training sum, exactly),
    whatever the target.

    **Early stop.** Matching pursuit stops before ``k`` rows when the
    residual is already within ``tol``, or when no row is positively
    correlated with it (no row with a positive weight would lower the
    error). As in the CORDS implementation of the paper, the rest of the
    budget is then filled with rows drawn uniformly at random from the
    unchosen ones, each with weight 1. Their gradients add to the matched
    sum, so an early stop trades some matching accuracy for a subset of the
    requested size.

    With ``target="validation"`` the target is the validation rows' gradient
    sum times ``m / n_val`` (``m`` the ground set's rows, or batches, and
    ``n_val`` the validation rows used). Per class, the validation rows of
    the same class are used; a class with no validation rows uses all of
    them.

    See Also
    --------
    RandomSelector, CraigSelector, GlisterSelector

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml import LastLayer
    >>> from subsetml.selection import GradMatchSelector
    >>> rng = np.random.RandomState(0)
    >>> p = rng.dirichlet(np.ones(3), size=200)
    >>> view = LastLayer(rng.rand(200, 4), p, rng.randint(3, size=200))
    >>> subset = GradMatchSelector(random_state=0).select(view, 0.1)
    >>> subset.size, bool(np.all(subset.weights > 0))
    (20, True)

    The weighted subset's gradient sum is far closer to the full one than
    that of a random subset of the same size, scaled by ``n / k``:

    >>> g = view.gradients("full")
    >>> def error(indices, weights):
    ...     return float(np.linalg.norm(weights @ g[indices] - g.sum(axis=0)))
    >>> rand = rng.choice(200, size=20, replace=False)
    >>> bool(error(*subset) < 0.25 * error(rand, np.full(20, 10.0)))
    True
    """

    def __init__(
        self,
        *,
        gradients="full",
        per_class="auto",
        batch_size=None,
        lam=0.5,
        tol=1e-4,
        target="train",
        random_state=None,
    ):
        self.gradients = gradients
        self.per_class = per_class
        self.batch_size = batch_size
        self.lam = lam
        self.tol = tol
        self.target = target
        self.random_state = random_state

    @property
    def _uses_validation(self):
        return self.target == "validation"

    def _validate_params_for(self, view):
        super()._validate_params_for(view)
        check_real(
            self.lam,
            "lam",
            "a finite non-negative float (ridge penalty)",
            low=0.0,
            closed_low=True,
        )
        check_real(
            self.tol,
            "tol",
            "a float in [0, 1) (relative residual at which matching pursuit stops)",
            low=0.0,
            high=1.0,
            closed_low=True,
        )
        if not isinstance(self.target, str) or self.target not in TARGETS:
            raise ValueError(
                f"Unknown target={self.target!r}; choose one of {TARGETS}."
            )

    def _prepare_validation(self, view, validation, rng):
        if self.target == "validation" and validation is None:
            raise ValueError(
                "GradMatchSelector(target='validation') matches the validation "
                "gradient: pass held-out rows with select(..., validation=...), "
                "or use target='train'."
            )
        return validation

    def _select_ground(self, gradients, k, rng, part):
        n = gradients.n
        if k >= n:
            # The whole ground set, weight 1 each: the training sum exactly.
            return np.arange(n, dtype=np.int64), np.ones(n)
        target = self._target(gradients, part)
        pos, w = nonneg_omp(
            gradients, target, k, lam=float(self.lam), tol=float(self.tol)
        )
        if pos.shape[0] < k:
            # Matching pursuit stopped early; complete the budget with random
            # unchosen rows of weight 1, as the paper's CORDS code does.
            free = np.ones(n, dtype=bool)
            free[pos] = False
            extra = rng.choice(
                np.flatnonzero(free), size=k - pos.shape[0], replace=False
            )
            pos = np.concatenate([pos, extra])
            w = np.concatenate([w, np.ones(extra.shape[0])])
        return pos, w

    def _target(self, gradients, part):
        """The vector this ground set's weighted gradient sum must match."""
        if self.target != "validation":
            return gradients.weighted_sum()
        val_rows = part.val_rows
        if val_rows is None or val_rows.shape[0] == 0:
            # A class absent from the validation rows: use all of them.
            val_rows = np.arange(part.validation.n_samples)
        val = part.validation._operator(part.mode, val_rows)
        # The validation mean gradient, on the scale of the ground set's sum
        # (its number of rows, or of batches in per-batch mode).
        return val.weighted_sum() * (gradients.n / val_rows.shape[0])
