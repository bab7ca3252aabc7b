"""GRAD-MATCH: weighted subsets whose gradient sum matches the full one."""

from __future__ import annotations

import math
import numbers

import numpy as np

from subsetml._gradops import FactoredGradients
from subsetml.selection._base import GradientSelector, check_real
from subsetml.selection._coverage import (
    Coverage,
    check_diversity,
    coverage_vectors,
    regularised,
    resolve_diversity,
)
from subsetml.selection._omp import equal_weight_match, nonneg_omp

__all__ = ["GradMatchSelector"]

#: Names accepted by ``GradMatchSelector(target=...)``.
TARGETS = ("train", "validation")

#: Names accepted by ``GradMatchSelector(weighting=...)``.
WEIGHTINGS = ("auto", "matched", "equal")

#: ``probes="auto"`` on an untrained view: as many probes as keep the stacked
#: residuals within this many columns, between the two bounds below.
_PROBE_COLUMNS = 64
_PROBES_MIN, _PROBES_MAX = 4, 32


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
        ``k``). ``"auto"`` does so for classification views, and splits an
        untrained regression view (one-shot selection,
        :meth:`~subsetml.LastLayer.from_inputs`) into three quantile bins of
        the target (five with ``weighting="equal"``) the same way: matching
        the whole view's gradient sum there favoured rows of high leverage,
        and an RBF SVR trained on them scored 2.7-4.0 points of R^2 below
        random subsets; matching within the bins keeps the target's whole
        range. A target value held by
        ``2 n / k`` rows or more gets its share of the budget drawn at
        random first (as :class:`CraigSelector` does), and the other rows'
        weights then sum to their number.
    batch_size : int or None, default=None
        If set (> 1), the ground set is made of shuffled mini-batches of this
        many rows, each represented by its mean gradient (GRAD-MATCHPB); the
        sum of the batch means is matched and each row of a chosen batch
        carries its batch's weight.
    lam : float, default=0.5
        Ridge penalty on the weights, ``>= 0``, relative to the mean squared
        norm of the ground set's gradient rows (the penalty is ``lam *
        mean_i ||g_i||^2 * ||w||^2``), so that it means the same whatever
        the loss scale or the class. Larger values spread weight over more
        rows and keep single weights from growing large.
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
    probes : "auto" or int, default="auto"
        Match the gradient sums not only at the view's last layer but also
        at this many random perturbations of it (see Notes, "Probes"), in
        "full" mode. ``"auto"``: none on a trained view (the paper's
        setting); on an untrained view (:meth:`~subsetml.LastLayer.from_inputs`,
        one-shot selection) as many as keep ``(probes + 1) * n_outputs``
        within 64, between 4 and 32.
    probe_scale : float, default=2.0
        Spread of the perturbations, ``> 0``: the standard deviation they add
        to each output (logits; for regression, in units of the target's
        standard deviation).
    diversity : "auto" or float, default="auto"
        Weight, ``>= 0``, of a coverage term in matching pursuit's pick:
        each step scores a random sample of ``ceil((n / k) ln 100)`` rows
        among those that would lower the matching error, and takes the best
        by correlation with the residual plus ``diversity`` times the
        facility-location gain of the row (the vectors
        :class:`CraigSelector` covers by default on the same view), both
        scaled to at most 1 among the sample. ``0`` is plain OMP.
        ``"auto"``: 5 on an untrained view (one-shot selection, see Notes),
        0 on any other.
    n_cover : int, default=2000
        Rows of each ground set, drawn at random, whose coverage the term
        scores (all when fewer).
    weighting : {"auto", "matched", "equal"}, default="auto"
        ``"matched"``: the weights are the matching coefficients (the
        paper's method). ``"equal"``: every chosen row stands for the same
        number of rows (``n / k`` of its ground set), and the rows are
        chosen so that their sum, so scaled, matches (see Notes, "Equal
        weights"), for an estimator that cannot take weights. ``"auto"``:
        ``"matched"``, except where the subset's weights are known to be
        dropped -- :class:`~subsetml.model_selection.SubsetEstimator` and
        :class:`~subsetml.model_selection.SubsetSearchCV` with an estimator
        whose ``fit`` takes no ``sample_weight`` (or ``use_weights=False``),
        and :class:`~subsetml.sampling.SubsetSampler`, whose rows go on
        without weights -- where it means ``"equal"``.
    random_state : int, RandomState instance or None, default=None
        Seeds the probes, the mini-batch shuffle, the random rows that
        complete the budget when matching pursuit stops early, and the
        coverage term's samples.

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
    set of ``m`` rows of width ``d`` costs ``O(k m d)``, plus ``O(s^2)`` per
    step to refit the weights of a support of ``s`` rows, ``O(k^3)`` in all:
    that term dominates at large budgets (8-14 s at 30 % of 20,000 rows
    against 1.1-1.4 s at 5 %, ``benchmarks/results/one_shot_cost_budgets.json``).
    The full last-layer gradients are only ever touched through their two
    factors.

    **Weights** are the matching coefficients: non-negative, and for
    ``target="train"`` on the scale of the number of rows (or batches) each
    chosen row stands for, so the weighted subset loss is on the scale of
    the full-data loss. The ridge penalty shrinks them: when ``lam`` is not
    small next to the squared gradient norms, they sum to noticeably less
    than the ground set's size. Where the gradients to match sum to about
    zero -- the bias gradients of a fitted proxy with an intercept, whose
    residuals sum to zero, or standardised features -- the match is about
    zero and so are the weights (1e-14 in a review's case): scale-free
    users (``SubsetEstimator`` divides them by their mean) are unaffected,
    but such weights say nothing about how many rows a pick stands for.
    On an untrained view (one-shot selection,
    :meth:`~subsetml.LastLayer.from_inputs`), per class and with
    ``target="train"``, each class's weights are rescaled to sum to
    the class's size, so every class keeps its share of the total weight.
    There a class's residual is the same on all its rows, the bias
    coordinate of the match is the weight total itself, and the shrinkage
    differs between classes (a rare class has larger residuals at the
    prior): without the rescaling it tilted the class balance the estimator
    saw -- on a binary task with 7 % positives, balanced accuracy fell
    2.5-3.7 points below random subsets. On a trained view the coefficients
    are left as matched: there the class sums can nearly cancel, and a
    rescaled match is far worse. A ground set with no more rows than its
    budget is
    returned whole, with weights 1 (the training sum, exactly), whatever the
    target.

    **Early stop.** Matching pursuit stops before ``k`` rows when the
    residual is already within ``tol``, or when no row is positively
    correlated with it (no row with a positive weight would lower the
    error). As in the CORDS implementation of the paper, the rest of the
    budget is then filled with rows drawn uniformly at random from the
    unchosen ones, each with weight 1. Their gradients add to the matched
    sum, so an early stop trades some matching accuracy for a subset of the
    requested size.

    **Probes.** A gradient sum at one point of parameter space is a first
    moment of the data: at the untrained layer of a one-shot selection (class
    prior outputs), the per-class sum of ``r (x) [x, 1]`` is the class mean,
    and matching it alone chose subsets that trained worse models than
    random rows (regression R^2 down 15 points, skewed classes). With
    probes, the rows matched are the concatenation of the gradients at the
    view's layer and at ``probes`` layers whose outputs are shifted by
    ``features @ W``, ``W`` Gaussian with entries scaled so that the shift
    has standard deviation ``probe_scale`` (the target's standard deviation
    times ``probe_scale`` for regression). Matching the gradient at many
    nearby parameters matches the loss around the starting point, not its
    slope at one point; for a squared loss it matches ``X^T X W`` for every
    ``W`` drawn, i.e. (a sketch of) the second moments a linear model is fit
    on. In the quality panel (``benchmarks/bench_quality.py``) this moved
    GRAD-MATCH's mean gap to random subsets from about -1 to about +1
    points. The residual factor grows to ``(probes + 1) * n_outputs``
    columns, and with it the cost of a matching-pursuit step.

    **Coverage.** Matching pursuit picks the row most correlated with the
    residual; at an untrained layer, where a class's rows share one
    residual, that is the row furthest along the class's mean direction --
    the most typical rows of each class, few near a boundary. Even with
    probes and class totals kept, logistic regression on the imbalanced
    task of the quality panel stayed 2-3 points of balanced accuracy below
    random subsets (20 seeds). With ``diversity`` the pick also weighs how
    much of the class a row covers (as CRAIG does), among a random sample
    of the rows that still lower the matching error: no cell of the panel
    is then more than a point below random. Weights are still the
    non-negative least-squares fit on the chosen rows.

    With ``target="validation"`` the target is the validation rows' gradient
    sum times ``m / n_val`` (``m`` the ground set's rows, or batches, and
    ``n_val`` the validation rows used). Per class, the validation rows of
    the same class are used; a class with no validation rows uses all of
    them.

    **Equal weights.** Matched weights are what make a GRAD-MATCH subset
    stand for the data: the rows matching pursuit picks first lie furthest
    along the residual, and weights shrink them back. An estimator that
    cannot take the weights (k-NN, or any step after an imbalanced-learn
    sampler) sees those rows as they are: on Bike Sharing's long-tailed
    counts, k-NN trained on matched picks without their weights scored 8-17
    points of R^2 x 100 below random subsets. With ``weighting="equal"``
    each chosen row counts ``a = n / k`` times, and rows are added greedily,
    each the one that lowers ``||a sum_S g_i - target||`` the most (herding
    on the same gradients, probes and coverage term). The target and the
    classes' budgets are as above; an untrained regression view is split
    into five quantile bins of the target rather than three, since a bin's
    picks count as they are and finer bins keep more of the target's shape.
    ``lam`` and ``tol`` do not apply, and the whole budget is always chosen.
    ``benchmarks/results/quality_unweighted.json`` compares the two
    weightings on the quality panel's k-NN cells.

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
        probes="auto",
        probe_scale=2.0,
        diversity="auto",
        n_cover=2000,
        weighting="auto",
        random_state=None,
    ):
        self.gradients = gradients
        self.per_class = per_class
        self.batch_size = batch_size
        self.lam = lam
        self.tol = tol
        self.target = target
        self.probes = probes
        self.probe_scale = probe_scale
        self.diversity = diversity
        self.n_cover = n_cover
        self.weighting = weighting
        self.random_state = random_state

    # Copies of one row are one point to matching pursuit, whose weights
    # then do not count them (a review: weights 155 and 63 for copies of one
    # record 601 and 1,399 times). They are drawn in proportion instead (see
    # _split_copies).
    _draws_copied_rows = True

    # One-shot regression: match within three quantile bins of the target, as
    # per class for classes (see the per_class parameter). Ten bins left a
    # few picks per bin at small budgets: 8.6 points of R^2 below random for
    # boosting at 5 % of a zero-inflated target in a trial run, against 0.6
    # above with three (benchmarks/results/quality.json, "regression zeros").
    # With equal weights, which cannot even out a bin's picks, five: three
    # left k-NN 2.5-3.3 points of R^2 below random subsets on Bike Sharing at
    # 5-10 %; five and ten did not, five with the better mean over the
    # panel's regression tasks (benchmarks/results/quality_unweighted.json).
    @property
    def _untrained_regression_strata(self):
        return 5 if self.weighting == "equal" else 3

    @property
    def _uses_validation(self):
        return self.target == "validation"

    @property
    def _equal_weights(self):
        return self.weighting == "equal"

    def _unweighted(self):
        """The selector to use where its weights will be dropped."""
        if self.weighting == "auto":
            # An attribute, not set_params: a subclass's __init__ may not
            # list weighting. make_selector made this copy.
            self.weighting = "equal"
        return self

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
        p = self.probes
        if not (
            (isinstance(p, str) and p == "auto")
            or (isinstance(p, numbers.Integral) and not isinstance(p, bool) and p >= 0)
        ):
            raise ValueError(f"probes must be 'auto' or an int >= 0, got {p!r}.")
        check_real(self.probe_scale, "probe_scale", "a positive finite float", low=0.0)
        check_diversity(self.diversity, self.n_cover)
        if not isinstance(self.weighting, str) or self.weighting not in WEIGHTINGS:
            raise ValueError(
                f"Unknown weighting={self.weighting!r}; choose one of {WEIGHTINGS}."
            )

    def _n_probes(self, view, mode):
        """The number of probes used on ``view`` (``"auto"`` resolved)."""
        if mode != "full":
            return 0
        if self.probes != "auto":
            return int(self.probes)
        if not view.untrained:
            return 0
        fit = _PROBE_COLUMNS // view.n_outputs - 1
        return min(max(fit, _PROBES_MIN), _PROBES_MAX)

    def _ground_operator(self, view, mode, rng):
        m = self._n_probes(view, mode)
        if m == 0:
            return super()._ground_operator(view, mode, rng)
        feats = view.features.astype(np.float64)
        rms = math.sqrt(float(np.mean(np.einsum("ij,ij->i", feats, feats))))
        shifts = [
            rng.normal(scale=float(self.probe_scale) / (rms or 1.0), size=(
                view.n_features, view.n_outputs))
            for _ in range(m)
        ]  # fmt: skip

        def operator(rows, other=None):
            v = view if other is None else other
            res = _probe_residuals(v, rows, shifts).astype(v.features.dtype)
            return FactoredGradients(res, v.augmented_features(rows), v.device)

        return operator

    def _prepare_validation(self, view, validation, rng):
        if self.target == "validation" and validation is None:
            raise ValueError(
                "GradMatchSelector(target='validation') matches the validation "
                "gradient: pass held-out rows with select(..., validation=...), "
                "or use target='train' (SubsetEstimator, SubsetSampler and "
                "SubsetSearchCV pass no validation rows; skorch nets pass "
                "their validation split)."
            )
        return validation

    def _select_ground(self, gradients, k, rng, part):
        n = gradients.n
        if k >= n:
            # The whole ground set, weight 1 each: the training sum exactly.
            return np.arange(n, dtype=np.int64), np.ones(n)
        target = self._target(gradients, part)
        if self.weighting == "equal":
            return equal_weight_match(
                gradients, target, k, pick=self._coverage_pick(n, k, rng, part)
            )
        # The ridge penalty is relative to the rows' squared norms: an absolute
        # one spread the weights of a frequent class (small residuals at the
        # prior) evenly over rows picked for their alignment with its mean.
        lam = float(self.lam) * float(np.mean(gradients.sq_norms()))
        pos, w = nonneg_omp(
            gradients,
            target,
            k,
            lam=lam,
            tol=float(self.tol),
            pick=self._coverage_pick(gradients.n, k, rng, part),
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
        total = float(np.sum(w))
        if self._counts_units(part) and total > 0:
            # One-shot selection, per class: every class keeps the total
            # weight of the rows it stands for, so the ridge shrinkage cannot
            # tilt the class balance the estimator sees (Notes, "Weights").
            w = np.asarray(w, dtype=np.float64) * (n / total)
        return pos, w

    def _counts_units(self, part):
        # One-shot, per class: the weights are rescaled to the class's size.
        return bool(
            part.view.untrained and part.label is not None and self.target == "train"
        )

    def _diversity(self, view):
        """The weight of the coverage term on ``view`` (``"auto"`` resolved)."""
        return resolve_diversity(self.diversity, view)

    def _coverage_pick(self, n, k, rng, part):
        """Matching pursuit's pick with the coverage term, or None (plain OMP).

        Each step scores a random sample of the rows that would lower the
        matching error -- as many as stochastic greedy samples,
        ``ceil((n / k) ln 100)`` -- and takes the best by correlation plus
        ``diversity`` times coverage gain, each scaled to at most 1.
        """
        diversity = self._diversity(part.view)
        if diversity == 0.0:
            return None
        coverage = Coverage(coverage_vectors(part, n), int(self.n_cover), rng)
        sample = max(1, math.ceil((n / k) * math.log(100.0)))

        def pick(corr, threshold, support):
            # What is covered is the support as it stands: a pick the pursuit
            # refused, or that its non-negative fit dropped, covers nothing.
            coverage.cover_exactly(support)
            ok = np.flatnonzero(corr > threshold)
            if ok.shape[0] == 0:
                return int(np.argmax(corr))  # ends the pursuit
            if ok.shape[0] > sample:
                ok = ok[rng.choice(ok.shape[0], size=sample, replace=False)]
            return int(ok[np.argmax(regularised(corr[ok], coverage, ok, diversity))])

        pick.coverage = coverage
        return pick

    def _target(self, gradients, part):
        """The vector this ground set's weighted gradient sum must match."""
        if self.target != "validation":
            return gradients.weighted_sum()
        val_rows = part.val_rows
        if val_rows is None or val_rows.shape[0] == 0:
            # A class absent from the validation rows: use all of them.
            val_rows = np.arange(part.validation.n_samples)
        val = part.operator(val_rows, part.validation)
        # The validation mean gradient, on the scale of the ground set's sum
        # (its number of rows, or of batches in per-batch mode).
        return val.weighted_sum() * (gradients.n / val_rows.shape[0])


def _probe_residuals(view, rows, shifts):
    """The view's residuals next to those of its layer with outputs shifted
    by ``features @ W`` for each ``W`` in ``shifts``: (n_rows, (1 + m) C)."""
    h = view.features[rows].astype(np.float64)
    y = view.y[rows]
    out = view.outputs[rows].astype(np.float64)
    blocks = [view.residuals(rows).astype(np.float64)]
    if view.task == "classification":
        logits = np.log(np.clip(out, 1e-12, None))
        onehot = np.zeros_like(out)
        onehot[np.arange(out.shape[0]), y] = 1.0
        for w in shifts:
            z = logits + h @ w
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            blocks.append(p - onehot)
    else:
        spread = view._target_spread()
        for w in shifts:
            blocks.append(out + (h @ w) * spread - y)
    return np.hstack(blocks)
