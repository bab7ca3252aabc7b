"""CRAIG: weighted coresets by facility location on last-layer gradients."""

from __future__ import annotations

import numbers

import numpy as np

from subsetml._gradops import DenseGradients
from subsetml.selection._base import GradientSelector, check_real
from subsetml.selection._greedy import OPTIMIZERS, craig_ground

__all__ = ["CraigSelector"]


class CraigSelector(GradientSelector):
    """Rows whose gradients best cover all the others (CRAIG).

    Greedily maximises the facility-location function
    ``F(S) = sum_i max_{j in S} (D_max - ||g_i - g_j||^2)`` over per-row
    last-layer gradients ``g``, then weights each chosen row by the number of
    rows whose gradient is closest to its own. Training on the weighted subset
    follows gradient steps close to those of the full data.

    Parameters
    ----------
    gradients : {"auto", "bias", "full", "features"}, default="auto"
        Which per-row vectors to cover (see :class:`~subsetml.LastLayer`):
        the output-bias gradient (``n_outputs`` numbers, CRAIG's default in
        CORDS), the full last-layer gradient (kept in factored form, never
        materialised), or the penultimate features themselves. ``"auto"``:
        the features on an untrained classification view
        (:meth:`~subsetml.LastLayer.from_inputs`, where the bias gradients
        of a class are all equal and the full gradients are the features up
        to a constant), the bias gradients on any other view. On an
        untrained regression view those are the targets' deviations from
        their mean, so the subset covers the range of the target -- the
        regression counterpart of per-class budgets -- within ten quantile
        bins of the target, each given its share of the budget (see
        ``per_class``).
    per_class : {"auto", True, False}, default="auto"
        Select within each class, with budgets proportional to class sizes
        (``ceil(k n_c / n)``, trimmed to sum to ``k``). ``"auto"`` does so for
        classification views, and on an untrained regression view splits
        the rows into ten quantile bins of the target the same way. Per
        class, the similarity matrix is ``n_c x n_c`` instead of ``n x n``.
        On an untrained regression view, ``"auto"`` also first gives every
        target value held by ``2 n / k`` rows or more (the
        zeros of a zero-inflated target, a rating's levels) its share of
        the budget, drawn at random from its rows with equal weights: to
        the target's gradients those rows are one point, which one pick
        covered, and CRAIG fell below the constant prediction on such
        targets.
    batch_size : int or None, default=None
        If set (> 1), the ground set is made of shuffled mini-batches of this
        many rows, each represented by its mean gradient; chosen batches are
        expanded to their rows, which all carry the batch's weight.
    optimizer : {"lazy", "stochastic", "naive"}, default="lazy"
        Greedy solver. ``"lazy"`` returns the greedy solution (the same as
        ``"naive"``, up to ties) with far fewer gain evaluations;
        ``"stochastic"`` scores a random sample of
        ``ceil((n / k) ln(1 / epsilon))`` candidates per step -- faster for
        large budgets, with an objective typically within a fraction of a
        percent of lazy greedy's; ``"naive"`` scores every candidate at every
        step (a reference, slow).
    epsilon : float, default=0.01
        Accuracy of the ``"stochastic"`` optimizer, in (0, 1); smaller means
        larger samples. Ignored by the others.
    max_kernel_bytes : int, default=2**30
        Largest similarity matrix (float32, ``4 m^2`` bytes for a ground set
        of ``m`` rows) that may be built. Larger ground sets are shuffled and
        split into chunks that fit, each given a share of the budget
        proportional to its size; weights are still computed over the whole
        ground set. See Notes.
    random_state : int, RandomState instance or None, default=None
        Seeds the mini-batch shuffle, the chunking of the memory fallback,
        the stochastic optimizer's samples and the draws that replace copies
        of earlier picks (see Notes). Lazy and naive greedy on a ground set
        that fits in memory and has no duplicate rows are deterministic.

    Notes
    -----
    CRAIG (Mirzasoleiman, Bilmes & Leskovec, "Coresets for Data-efficient
    Training of Machine Learning Models", ICML 2020) bounds the error of the
    weighted subset's gradient by the facility-location cost, and maximises
    ``F`` greedily, which attains at least ``1 - 1/e`` of the optimum because
    ``F`` is monotone submodular. ``D_max`` is the largest pairwise squared
    distance in the ground set, so similarities are non-negative; the picks
    do not depend on it.

    Each ground set (a class, or the whole view) costs a float32 ``m x m``
    similarity matrix, built blockwise from gradient inner products. When it
    would exceed ``max_kernel_bytes`` the ground set is split at random into
    nearly equal chunks small enough, greedy runs on each chunk with a budget
    proportional to its size (one row each for a random ``k`` chunks if there
    are more chunks than rows to pick), and every row is then assigned to its
    nearest chosen row over all chunks to set the weights. This is an
    approximation of the whole-set greedy solution; selecting per class or per
    batch keeps ground sets small and avoids it.

    One-dimensional gradients -- the bias gradients of a single regression
    output, which ``"auto"`` covers on regression views -- need no matrix:
    on a line a candidate only takes rows from the two picks around it, so
    the lazy and naive optimizers run the same greedy exactly in float64
    from prefix sums of the sorted values, on the whole ground set whatever
    its size (0.04 s for 500 picks of 10,000 rows, against 1.1 s for the
    kernel).

    Stochastic greedy is from Mirzasoleiman, Badanidiyuru, Karbasi, Vondrak &
    Krause, "Lazier Than Lazy Greedy", AAAI 2015; lazy greedy from Minoux,
    "Accelerated greedy algorithms for maximizing submodular set functions",
    1978.

    Weights sum to the number of rows each ground set stands for: the class
    size per class, ``n`` for the whole view. In per-batch mode a batch's
    weight is the number of batches it represents and each of its rows
    carries it.

    On data with many duplicate rows (binary or one-hot features) greedy
    covers every distinct row with a few picks, and its further picks are
    copies that stand for no row. Those picks are spent instead as a random
    draw within the clusters, in proportion to their sizes, and every pick of
    a cluster carries an equal share of its size: each cluster keeps its
    total weight, and the rows keep the data's proportions for a model
    trained without the weights (a sampler in a pipeline). That needs greedy
    to have covered every distinct row: a row copied many times among rows
    that are all distinct is one pick, its copies counted in its weight, so
    only a weighted fit sees their share.

    See Also
    --------
    RandomSelector, GradMatchSelector, GlisterSelector

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml import LastLayer
    >>> from subsetml.selection import CraigSelector
    >>> rng = np.random.RandomState(0)
    >>> p = rng.dirichlet(np.ones(3), size=200)
    >>> view = LastLayer(rng.rand(200, 4), p, rng.randint(3, size=200))
    >>> subset = CraigSelector(random_state=0).select(view, 0.1)
    >>> subset.size, float(subset.weights.sum())
    (20, 200.0)
    """

    def __init__(
        self,
        *,
        gradients="auto",
        per_class="auto",
        batch_size=None,
        optimizer="lazy",
        epsilon=0.01,
        max_kernel_bytes=2**30,
        random_state=None,
    ):
        self.gradients = gradients
        self.per_class = per_class
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.epsilon = epsilon
        self.max_kernel_bytes = max_kernel_bytes
        self.random_state = random_state

    def _validate_params_for(self, view):
        super()._validate_params_for(view)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"Unknown optimizer={self.optimizer!r}; choose one of {OPTIMIZERS}."
            )
        check_real(
            self.epsilon,
            "epsilon",
            "a float in the open interval (0, 1)",
            low=0.0,
            high=1.0,
        )
        mkb = self.max_kernel_bytes
        if isinstance(mkb, bool) or not isinstance(mkb, numbers.Integral) or mkb < 1:
            raise ValueError(
                "max_kernel_bytes must be a positive int (bytes of the largest "
                f"similarity matrix allowed), got {mkb!r}."
            )

    # One-shot regression: cover the targets within ten quantile bins, each
    # given its share of the budget. Covering the whole range at once put
    # more picks in a long tail than its rows' share (facility location on
    # one dimension): weights correct a weighted fit's mean, but a model
    # without weights (k-NN) scored 49 points of R^2 below random subsets
    # on Bike Sharing at 5 %, and boosting 8 (bench_quality.py).
    _untrained_regression_strata = 10

    # One-shot regression: the bias gradients of the untrained layer are the
    # targets' deviations from their mean, so covering them stratifies the
    # subset by target, as per-class budgets do for classes. Covering the
    # inputs (with the target as one more column) drew the picks into the
    # interior of the input space: 3.5-5.9 points of R^2 below random for SVR
    # and trees at 5 % (benchmarks/bench_quality.py).
    _untrained_regression_gradients = "bias"

    def _counts_units(self, part):
        return True  # cluster sizes

    def _ground_operator(self, view, mode, rng):
        if not (
            mode == "bias"
            and view.untrained
            and view.task == "regression"
            and view.n_outputs > 1
        ):
            return super()._ground_operator(view, mode, rng)
        # Several targets: each deviation in units of its target's spread, or
        # the target of the largest scale alone decided the picks (k-NN on
        # three targets of scales 5, 1000 and 0.01 scored 2.1-2.5 points of
        # R^2 below random subsets, in a review's reproducer).
        spread = view._target_spread()

        def operator(rows, other=None):
            v = view if other is None else other
            res = np.asarray(v.residuals(rows), dtype=np.float64) / spread
            return DenseGradients(res.astype(v.features.dtype), v.device)

        return operator

    def _select_ground(self, gradients, k, rng, part):
        return craig_ground(
            gradients,
            k,
            optimizer=self.optimizer,
            epsilon=float(self.epsilon),
            max_kernel_bytes=int(self.max_kernel_bytes),
            rng=rng,
        )
