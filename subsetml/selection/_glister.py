"""GLISTER: rows whose gradient step most lowers the validation loss.

Private kernels and the public :class:`GlisterSelector`.  Everything happens in
the last layer, in closed form: the validation logits at the virtually updated
layer are tracked directly, so no network pass is needed after the first.

Notation.  The last layer ``theta`` is the output bias (``"bias"`` mode, C
numbers) or weights and bias (``"full"`` mode, ``C x (E + 1)`` numbers,
flattened output-major like :meth:`~subsetml.LastLayer.gradients`).  After
``t`` picks ``s_1 .. s_t`` of a ``k``-row subset the virtual layer is

    theta' = theta - (eta / k) * (g_{s_1} + ... + g_{s_t}),

one step of size ``eta`` on the mean gradient of the subset once it is full.
Because the layer is linear, a validation row's logits move by
``-(eta / k) * G_s @ [h_v, 1]`` (``G_s`` the pick's gradient as a ``(C, E + 1)``
matrix; ``-(eta / k) * r_s * ([h_s, 1] . [h_v, 1])`` when ``G_s = r_s (x)
[h_s, 1]``) or by ``-(eta / k) * g_s`` (bias).  The gain of a candidate ``e`` is
the first-order decrease of the validation loss, ``<g_e, grad L_val(theta')>``.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import clone

from subsetml._gradops import FactoredGradients
from subsetml._subset import Subset
from subsetml.selection._base import GradientSelector, check_real
from subsetml.selection._coverage import (
    Coverage,
    check_diversity,
    coverage_vectors,
    regularised,
    resolve_diversity,
)

__all__ = ["GlisterSelector"]

#: Names accepted by ``GlisterSelector(greedy=...)``.
GREEDY = ("stochastic", "naive")

# Probabilities are clipped here before taking logs, as in LastLayer.losses.
_P_MIN = 1e-12


class _ValidationLayer:
    """Validation outputs at the virtual layer ``theta'`` and their loss gradient.

    Parameters
    ----------
    features : ndarray of shape (n_val, E + 1) or None
        Augmented validation features ``[h_v, 1]``; None in "bias" mode.
    outputs : ndarray of shape (n_val, C)
        Probabilities (classification) or predictions (regression) at
        ``theta``.
    y : ndarray
        Class codes (n_val,) or targets (n_val, C).
    task : {"classification", "regression"}

    Notes
    -----
    Outputs are kept transposed, ``(C, n_val)``: the softmax then reduces
    over contiguous rows, several times faster than over short columns, and
    it runs once per pick over every validation row.
    """

    def __init__(self, features, outputs, y, task):
        self.features = None if features is None else np.asarray(features, float)
        self.task = task
        outputs = np.asarray(outputs, dtype=np.float64)
        if task == "classification":
            # Softmax is shift-invariant, so log p stands for the logits.
            self._zt = np.log(np.clip(outputs, _P_MIN, None)).T.copy()
            c = outputs.shape[1]
            onehot = np.zeros((c, outputs.shape[0]))
            onehot[y, np.arange(outputs.shape[0])] = 1.0
            # sum_v onehot(y_v) (x) [h_v, 1]: the constant part of the gradient.
            self._target = (
                onehot.sum(axis=1) if self.features is None else onehot @ self.features
            )
        else:
            self._zt = outputs.T.copy()
            self._yt = np.asarray(y, dtype=np.float64).reshape(outputs.shape).T.copy()
        self._buf = np.empty_like(self._zt)

    @classmethod
    def from_view(cls, validation, rows, mode):
        features = validation.augmented_features(rows) if mode == "full" else None
        return cls(
            features, validation.outputs[rows], validation.y[rows], validation.task
        )

    @property
    def logits(self):
        """Validation logits (predictions for regression), shape (n_val, C)."""
        return self._zt.T

    def gradient(self):
        """``grad L_val(theta')``, summed over validation rows, in the ground layout."""
        buf = self._buf
        if self.task == "classification":
            np.subtract(self._zt, self._zt.max(axis=0), out=buf)
            np.exp(buf, out=buf)
            buf *= 1.0 / buf.sum(axis=0)  # probabilities p_v, one per column
            # sum_v (p_v - onehot(y_v)) (x) [h_v, 1]
            if self.features is None:
                return buf.sum(axis=1) - self._target
            return (buf @ self.features - self._target).ravel()
        np.subtract(self._zt, self._yt, out=buf)
        if self.features is None:
            return buf.sum(axis=1)
        return (buf @ self.features).ravel()

    def move(self, gradients, j, step):
        """Apply ``theta' <- theta' - step * g_j`` to the validation logits."""
        if self.features is None:
            g = np.asarray(gradients.matrix[j], dtype=np.float64)
            self._zt -= (step * g)[:, None]
        elif isinstance(gradients, FactoredGradients):
            r = np.asarray(gradients.residuals[j], dtype=np.float64)
            h = np.asarray(gradients.features[j], dtype=np.float64)
            self._zt -= np.outer(step * r, self.features @ h)
        else:
            # A dense full-mode row (a batch mean): reshape to (C, E + 1).
            c = self._zt.shape[0]
            G = np.asarray(gradients.matrix[j], dtype=np.float64).reshape(c, -1)
            self._zt -= step * (G @ self.features.T)


class _Pool:
    """Unchosen candidates, with O(1) removal and fast uniform samples."""

    def __init__(self, n):
        self.items = np.arange(n)
        self.where = np.arange(n)  # position of each candidate in ``items``
        self.size = n

    def sample(self, s, rng):
        """``s`` distinct candidates, uniformly at random (all when ``s >= size``)."""
        m = self.size
        if s >= m:
            return self.items[:m].copy()
        if 4 * s >= m:
            return self.items[rng.choice(m, size=s, replace=False)]
        # Few out of many: sequential draws with duplicates rejected are a
        # uniform sample without replacement, and cost O(s) instead of the
        # O(m) permutation behind RandomState.choice(replace=False).
        picked = np.empty(0, dtype=np.int64)
        while picked.shape[0] < s:
            draw = np.concatenate([picked, rng.randint(0, m, size=2 * s)])
            _, first = np.unique(draw, return_index=True)
            picked = draw[np.sort(first)][:s]
        return self.items[picked]

    def remove(self, j):
        p, last = self.where[j], self.size - 1
        moved = self.items[last]
        self.items[p], self.items[last] = moved, j
        self.where[moved], self.where[j] = p, last
        self.size -= 1


def glister_greedy(
    gradients,
    k,
    layer,
    *,
    eta,
    greedy="stochastic",
    epsilon=0.01,
    rng=None,
    coverage=None,
    diversity=0.0,
):
    """Greedy GLISTER on one ground set, re-linearising after every pick.

    Parameters
    ----------
    gradients : DenseGradients or FactoredGradients
        Ground-set gradients, in the layout of ``layer.gradient()``.
    k : int
        Number of picks, ``1 <= k <= gradients.n``.
    layer : _ValidationLayer
        Validation outputs at ``theta``; moved in place to ``theta'`` of the
        chosen subset.
    eta : float
        Step size of the virtual step on the subset's mean gradient.
    greedy : {"stochastic", "naive"}, default="stochastic"
    epsilon : float, default=0.01
    rng : numpy.random.RandomState, default=None
    coverage : Coverage or None, default=None
        Coverage of the ground set's rows; with ``diversity > 0`` each pick
        maximises the GLISTER gain plus ``diversity`` times the coverage
        gain (both scaled to at most 1 among the candidates).
    diversity : float, default=0.0

    Returns
    -------
    picks : ndarray of int64, shape (k,)
        Ground-set positions in the order they were picked.
    """
    n = gradients.n
    if not 1 <= k <= n:
        raise ValueError(f"k must lie in [1, {n}], got {k}.")
    if rng is None:
        rng = np.random.RandomState()
    step = eta / k
    picks = np.empty(k, dtype=np.int64)
    if greedy == "naive":
        chosen = np.zeros(n, dtype=bool)
        for t in range(k):
            cand = np.flatnonzero(~chosen)
            gains = np.asarray(gradients.take(cand).dot(layer.gradient()), float)
            gains = regularised(gains, coverage, cand, diversity)
            j = int(cand[np.argmax(gains)])
            chosen[j] = True
            picks[t] = j
            layer.move(gradients, j, step)
            if coverage is not None:
                coverage.add(j)
        return picks
    if greedy != "stochastic":
        raise ValueError(f"Unknown greedy={greedy!r}; choose one of {GREEDY}.")
    # Stochastic greedy (Mirzasoleiman et al., "Lazier Than Lazy Greedy",
    # AAAI 2015), the sample size used by the GLISTER paper.
    s = max(1, math.ceil((n / k) * math.log(1.0 / epsilon)))
    pool = _Pool(n)
    for t in range(k):
        cand = pool.sample(s, rng)
        gains = np.asarray(gradients.take(cand).dot(layer.gradient()), float)
        gains = regularised(gains, coverage, cand, diversity)
        j = int(cand[np.argmax(gains)])
        pool.remove(j)
        picks[t] = j
        layer.move(gradients, j, step)
        if coverage is not None:
            coverage.add(j)
    return picks


def _hold_out(view, fraction, rng):
    """Random (stratified for classification) validation rows of ``view``.

    Every class of at least two rows gives ``round(fraction * n_c)`` rows,
    at least one and at most ``n_c - 1``; a one-row class stays in training.
    Returns ``(train_rows, val_rows)``, both sorted.
    """
    n = view.n_samples
    if view.task == "classification":
        val = []
        for c in np.unique(view.y):
            rows = np.flatnonzero(view.y == c)
            n_c = rows.shape[0]
            if n_c < 2:
                continue
            m = min(n_c - 1, max(1, round(fraction * n_c)))
            val.append(rng.permutation(rows)[:m])
        val = np.concatenate(val) if val else np.empty(0, dtype=np.int64)
    else:
        if n < 2:
            raise ValueError(
                "GlisterSelector needs at least 2 rows to hold out validation "
                f"rows, got {n}; pass validation=."
            )
        m = min(n - 1, max(1, round(fraction * n)))
        val = rng.permutation(n)[:m]
    if val.shape[0] == 0:
        raise ValueError(
            "No class has two rows, so no validation rows can be held out; "
            "pass validation=."
        )
    is_val = np.zeros(n, dtype=bool)
    is_val[val] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


class GlisterSelector(GradientSelector):
    """Rows whose gradient step most lowers the validation loss (GLISTER).

    Greedily builds the subset ``S`` that minimises the validation loss after
    one gradient step on ``S`` of the model's last layer, re-linearising the
    validation loss after every pick. All rows get weight 1.

    Parameters
    ----------
    gradients : {"auto", "bias", "full"}, default="auto"
        Last-layer parameters the virtual step moves (see
        :class:`~subsetml.LastLayer`): the output bias (``n_outputs`` numbers
        per row, GLISTER's default in CORDS), or weights and bias (kept in
        factored form per row, never materialised). ``"auto"``: "full" on an
        untrained classification view (:meth:`~subsetml.LastLayer.from_inputs`,
        whose bias gradients are equal within a class), "bias" on any other
        (an untrained regression view's bias gradients are the targets'
        residuals; see Notes).
        ``"features"`` has no loss, hence no step, and is refused.
    per_class : {"auto", True, False}, default="auto"
        Select within each class, with budgets proportional to class sizes.
        ``"auto"`` does so for classification views; on an untrained
        regression view it gives every target value held by ``2 n / k`` rows
        or more its share of the budget, drawn at random (as
        :class:`CraigSelector` does).
    batch_size : int or None, default=None
        If set (> 1), the ground set is made of shuffled mini-batches of this
        many rows, each represented by its mean gradient; chosen batches are
        expanded to their rows.
    eta : float, default=1.0
        Step size of the virtual step ``theta' = theta - eta * mean_{s in S}
        g_s``. Use the learning rate of the last layer when it is known; see
        Notes for the default.
    greedy : {"stochastic", "naive"}, default="stochastic"
        ``"stochastic"`` scores a random sample of
        ``ceil((n / k) ln(1 / epsilon))`` unchosen candidates per pick;
        ``"naive"`` scores every candidate at every pick (exact greedy,
        ``n / ln(1 / epsilon)`` times the work).
    epsilon : float, default=0.01
        Accuracy of stochastic greedy, in (0, 1); smaller means larger samples.
    class_validation : bool, default=False
        In per-class mode, score a class's candidates against that class's
        validation rows only (all of them when the class has none), each
        class being its own step of size ``eta``, as CORDS does. By default
        every class is scored against the whole validation loss, its picks
        being its share of one step on the whole subset; see Notes.
    validation_fraction : float, default=0.1
        Fraction of ``view``'s rows held out as validation data when
        ``select`` gets no ``validation``, in (0, 1). Held-out rows are
        chosen only when the budget exceeds the other rows, and then all of
        them (see Notes, "Validation rows").
    diversity : "auto" or float, default="auto"
        Weight, ``>= 0``, of a coverage term added to every pick's gain: the
        facility-location gain of the candidate (how much closer it brings
        the ground set's rows to their nearest pick), over the features of
        an untrained classification view (what :class:`CraigSelector`
        covers there), the targets' ranks on an untrained regression view
        (their quantiles; see Notes), the bias gradients otherwise. The two
        gains are each divided by their
        largest value among the candidates. ``0`` is plain GLISTER.
        ``"auto"``: 5 on an untrained view (one-shot selection, see Notes),
        0 on any other.
    n_cover : int, default=2000
        Rows of each ground set, drawn at random, whose coverage the term
        scores (all when fewer); bounds its cost per pick.
    random_state : int, RandomState instance or None, default=None
        Seeds the hold-out, the mini-batch shuffle, stochastic greedy's
        samples and the rows the coverage term scores.

    Notes
    -----
    GLISTER (Killamsetty, Sivasubramanian, Ramakrishnan & Iyer, "GLISTER:
    Generalization based Data Subset Selection for Efficient and Robust
    Learning", AAAI 2021) maximises ``-L_val(theta - eta * grad L_S(theta))``
    greedily, using a Taylor expansion: the gain of adding row ``e`` is
    ``<g_e, grad L_val(theta')>``, ``g_e`` being ``e``'s last-layer gradient
    and ``theta'`` the layer after the virtual step on the rows chosen so far.

    Virtual step. With budget ``k`` (the number of batches in per-batch
    mode), each pick moves ``theta'`` by ``-(eta / k) g_s``, so the finished
    subset stands for one step of size ``eta`` on its mean gradient. In
    per-class mode each class is a separate greedy problem (that is how the
    budget is split); class ``c``, ``n_c`` of the ``n`` rows and ``k_c``
    picks, moves ``theta'`` by ``-(eta n_c / (n k_c)) g_s`` per pick -- about
    ``eta / k``, its share of the whole step -- and is scored on the whole
    validation loss. With ``class_validation=True`` it is instead scored on
    its own validation rows with steps ``eta / k_c``, as in CORDS; we found
    that this ignores how a class's picks move the other classes' logits, and
    in "full" mode with ``eta`` of order one it chose subsets whose step
    lowered the validation loss less than random subsets did.

    Re-linearisation in closed form. The last layer is linear, so after each
    pick the validation logits are updated exactly, ``z_v <- z_v - (eta / k)
    G_s [h_v, 1]`` (full; ``r_s ([h_s, 1] . [h_v, 1])`` for a single row with
    residual ``r_s``) or ``z_v <- z_v - (eta / k) g_s`` (bias), starting from
    ``z_v = log p_v``, and ``grad L_val(theta')`` is recomputed from them --
    no network pass. For regression the predictions move the same way under
    squared error. (DeepCore's implementation never re-linearises, which
    reduces it to top-k gradient alignment.)

    Default ``eta``. On standardised features the mean softmax cross-entropy
    has curvature at most ``1/2`` along the bias and at most ``1/2 *
    lambda_max(E[[h, 1][h, 1]^T])`` -- of order one for weakly correlated
    standardised features -- along the weights, so ``eta = 1`` is a stable
    step (below ``2 / L``) that still moves the validation logits enough for
    re-linearisation to matter; much smaller values make GLISTER a one-shot
    top-k by gradient alignment. On briefly trained multinomial logistic
    layers (4 and 10 classes), ``eta`` in [0.3, 1] gave subsets whose step
    lowered the validation loss more than random subsets for every seed tried,
    in both modes; at ``eta = 3`` per-class "full" subsets sometimes
    overshot.

    One-shot selection and ``diversity``. At the untrained layer of a
    model about to be fitted from scratch
    (:meth:`~subsetml.LastLayer.from_inputs`) every row of a class has the
    same residual, so a row's gain is linear in its features: the greedy
    takes the rows furthest along the direction that separates the classes
    -- the most typical rows, none near a class boundary -- and
    re-linearising after each pick barely changes that (a larger ``eta`` or
    exact greedy did not help). A linear model copes; kernel machines,
    trees and nearest neighbours trained on such a subset learnt the
    boundaries poorly, 3-10 points below random subsets in the quality
    panel (``benchmarks/bench_quality.py``). The coverage term makes the
    greedy also spread its picks over the data, as CRAIG's facility
    location does: GLISTER's objective with a submodular regulariser. On
    trained views (adaptive training, the paper's setting) ``"auto"`` leaves
    it off.

    One-shot regression. On an untrained regression view the gain favours
    rows with extreme targets, so the coverage term covers the targets'
    quantiles (covering the inputs left an RBF SVR 3.5 points below random
    at 5 %; covering the targets' range put the picks of a long-tailed
    target in its tail, which GLISTER's equal weights cannot even out: ridge
    fell below the constant prediction), and ``per_class="auto"`` selects
    within quantile bins of the target. ``gradients="auto"`` steps on the
    bias there, whose gradients are the residuals: with weights and bias, a
    row's gain within a bin grows with its features' projection on the
    direction that predicts the target, so the greedy kept the rows of each
    bin furthest along it. Ridge and k-NN trained on those subsets fell 9.4
    and 12.7 points of R^2 below random subsets on Bike Sharing at 5 %
    (``quality_glister_before.json`` in ``benchmarks/results``).

    Copied rows. Copies of one row (equal features and class or target)
    are one point to the gains and the coverage term, however many there
    are, and GLISTER's equal weights cannot say how many rows a pick stands
    for. On one-hot features with 60 distinct rows, its picks' mix of
    distinct rows was far from the data's, and logistic regression, an RBF
    SVC and boosting trained on them fell up to 9.3 points below random
    subsets, and below the constant prediction
    (``quality_copies_before.json`` in ``benchmarks/results``). So within
    each class (or target bin) of ``n`` rows and ``k`` picks, every row
    copied ``2 n / k`` times or more gets its share of the budget, drawn at
    random among its copies, and the greedy chooses among the other rows
    with the rest, as for tied regression targets (``quality_copies.json``).

    Validation rows. Pass held-out rows as ``validation``. Without them, a
    random ``validation_fraction`` of ``view``'s rows -- stratified by class
    for classification, at least one row of every class with two or more --
    is held out, removed from the candidates, and selection runs on the
    remaining rows (a one-row class stays a candidate, scored on all
    validation rows); returned indices still refer to ``view``. The budget
    counts rows of ``view``. A budget larger than the rows left after the
    hold-out (above about ``1 - validation_fraction`` of them) takes every
    held-out row into the subset, and GLISTER chooses the rest of the budget
    among the other rows, still scored on the held-out ones (whose own step
    the gains leave out): it chooses which rows to leave out. A budget of
    every row returns every row, weight 1, as for all selectors. (With
    ``validation_fraction`` of 0.5 or more, a budget above the rows left but
    not above the held-out ones raises a ``ValueError``.)

    Cost per pick: one validation gradient over the validation rows a ground
    set is scored on (``O(n_val C)`` bias, ``O(n_val C E)`` full) and the
    gains of the sampled candidates. Per class, every class is scored on all
    validation rows, so "full" mode on large problems costs about
    ``k n_val C E`` operations in all; ``class_validation=True`` divides that
    by the number of classes.

    See Also
    --------
    RandomSelector, CraigSelector, GradMatchSelector

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml import LastLayer
    >>> from subsetml.selection import GlisterSelector
    >>> rng = np.random.RandomState(0)
    >>> p = rng.dirichlet(np.ones(3), size=200)
    >>> view = LastLayer(rng.rand(200, 4), p, rng.randint(3, size=200))
    >>> subset = GlisterSelector(random_state=0).select(view, 0.1)
    >>> subset.size, float(subset.weights.sum())
    (20, 20.0)
    >>> val = LastLayer(rng.rand(50, 4), rng.dirichlet(np.ones(3), size=50),
    ...                 rng.randint(3, size=50))
    >>> GlisterSelector(gradients="full", random_state=0).select(
    ...     view, 20, validation=val).size
    20
    """

    _uses_validation = True
    _untrained_gradients = "full"
    _weights_count_rows = False  # weight 1 each: the step is over the subset
    _equal_weights = True

    # Its equal weights cannot say how many rows a copied row stands for
    # (see Notes, "Copied rows").
    _draws_copied_rows = True
    # One-shot regression: select within ten quantile bins of the target, each
    # given its share of the budget. The gain favours rows of extreme targets
    # and GLISTER's picks carry no weights to correct that: on Bike Sharing
    # at 5 %, k-NN scored 44 points of R^2 below random subsets, ridge 20;
    # within bins, 13 and 9 (with "full" gradients, now "bias" there: see
    # _untrained_regression_gradients). Without bins, the bias step fell 44
    # points below.
    _untrained_regression_strata = 10
    # "full" on an untrained view is for classification, where the bias
    # gradients of a class are all equal. An untrained regression view's bias
    # gradients are the targets' residuals, which do differ; its "full"
    # gradients add ``residual x features``, whose gain picks, in every target
    # bin, the rows furthest along the features' direction of the target.
    # Such subsets fell up to 12 points of R^2 below random ones on Bike
    # Sharing and diabetes (quality_glister_before.json).
    _untrained_regression_gradients = "bias"

    def __init__(
        self,
        *,
        gradients="auto",
        per_class="auto",
        batch_size=None,
        # A step on the subset's mean gradient: for standardised features the
        # cross-entropy curvature is <= 1/2 (bias) and about 1/2 lambda_max of
        # the feature correlation (weights), so 1.0 is stable yet large enough
        # for re-linearisation to matter (Notes, "Default eta").
        eta=1.0,
        greedy="stochastic",
        epsilon=0.01,
        class_validation=False,
        validation_fraction=0.1,
        diversity="auto",
        n_cover=2000,
        random_state=None,
    ):
        self.gradients = gradients
        self.per_class = per_class
        self.batch_size = batch_size
        self.eta = eta
        self.greedy = greedy
        self.epsilon = epsilon
        self.class_validation = class_validation
        self.validation_fraction = validation_fraction
        self.diversity = diversity
        self.n_cover = n_cover
        self.random_state = random_state

    def _validate_params_for(self, view):
        super()._validate_params_for(view)
        if self.gradients == "features":
            raise ValueError(
                "GlisterSelector needs last-layer gradients: gradients='features' "
                "has no loss to step on. Use gradients='bias' or 'full'."
            )
        check_real(self.eta, "eta", "a positive finite float", low=0.0)
        if self.greedy not in GREEDY:
            raise ValueError(f"Unknown greedy={self.greedy!r}; choose one of {GREEDY}.")
        if not isinstance(self.class_validation, (bool, np.bool_)):
            raise ValueError(
                "class_validation must be True or False, got "
                f"{self.class_validation!r}."
            )
        check_diversity(self.diversity, self.n_cover)
        for name in ("epsilon", "validation_fraction"):
            check_real(
                getattr(self, name),
                name,
                "a float in the open interval (0, 1)",
                low=0.0,
                high=1.0,
            )

    def _hold_out(self, view, rng):
        """``(train_rows, val_rows)`` that ``select`` uses when given no validation."""
        return _hold_out(view, float(self.validation_fraction), rng)

    def _select(self, view, k, *, validation, rng):
        if validation is not None:
            return super()._select(view, k, validation=validation, rng=rng)
        train_rows, val_rows = self._hold_out(view, rng)
        n_train, n_val = train_rows.shape[0], val_rows.shape[0]
        train, held_out = view.take(train_rows), view.take(val_rows)
        if k <= n_train:
            subset = super()._select(train, k, validation=held_out, rng=rng)
            return Subset(train_rows[subset.indices], subset.weights)
        # A budget above the rows the hold-out leaves: the held-out rows join
        # the subset, and GLISTER chooses the rest of it among the others,
        # scored on them (see Notes, "Validation rows").
        rest = k - n_val
        if rest < 1:
            raise ValueError(
                f"GlisterSelector held out {n_val} of the {view.n_samples} "
                f"rows as validation data (validation_fraction="
                f"{self.validation_fraction}), which leaves {n_train} rows to "
                f"choose from: fewer than the budget of {k}, which is too "
                "small to hold every held-out row and a pick besides. Use a "
                f"budget of at most {n_train} or more than {n_val} rows, lower "
                "validation_fraction, or pass held-out rows with validation=."
            )
        selector = self
        if train.task == "classification" and rest < np.unique(train.labels).shape[0]:
            # The held-out rows already cover every class: the rest need not
            # (per class, a rest smaller than the classes was refused, for a
            # budget the user never asked for -- a review).
            selector = clone(self).set_params(per_class=False)
        subset = super(GlisterSelector, selector)._select(
            train, rest, validation=held_out, rng=rng
        )
        indices = np.concatenate([val_rows, train_rows[subset.indices]])
        return Subset(indices, np.ones(k))

    def _select_ground(self, gradients, k, rng, part):
        validation = part.validation
        share = 1.0
        rows = None
        if part.label is not None:
            if self.class_validation:
                # CORDS' per-class GLISTER: the class is its own problem.
                rows = part.val_rows
            else:
                # The class's picks are its share of one step on the whole
                # subset (class-proportional budgets: about eta / k per pick),
                # judged on the whole validation loss.
                share = part.rows.shape[0] / part.view.n_samples
        if rows is None or rows.shape[0] == 0:
            rows = np.arange(validation.n_samples)
        if k == gradients.n:
            return np.arange(k, dtype=np.int64), np.ones(k)
        layer = _ValidationLayer.from_view(validation, rows, part.mode)
        diversity = self._diversity(part.view)
        coverage = None
        if diversity > 0:
            # No weights even out GLISTER's picks: on a regression view they
            # cover the targets' quantiles (see Notes, "One-shot regression").
            coverage = Coverage(
                coverage_vectors(part, gradients.n, target_ranks=True),
                int(self.n_cover),
                rng,
            )
        picks = glister_greedy(
            gradients,
            k,
            layer,
            eta=float(self.eta) * share,
            greedy=self.greedy,
            epsilon=float(self.epsilon),
            rng=rng,
            coverage=coverage,
            diversity=diversity,
        )
        return picks, np.ones(k)

    def _diversity(self, view):
        """The weight of the coverage term on ``view`` (``"auto"`` resolved)."""
        return resolve_diversity(self.diversity, view)
