"""The selector contract: ``select`` validates, ``_select`` chooses, ``select`` checks.

New algorithms subclass :class:`BaseSelector` and write only ``_select``
(or, for gradient methods, :class:`GradientSelector` and ``_select_ground``).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_random_state

from subsetml._subset import Subset, resolve_budget
from subsetml._validation import check_number
from subsetml.lastlayer import GRADIENT_MODES, LastLayer

__all__ = ["BaseSelector", "GradientSelector", "allocate_budget"]


def check_real(
    value, name, description, *, low, high=math.inf, closed_low=False, closed_high=False
):
    """Raise ``ValueError("<name> must be <description>, got <value>.")`` unless
    ``value`` is a finite real number (not a bool) within the given bounds."""
    check_number(
        value,
        name,
        low=low,
        high=None if high == math.inf else high,
        include_low=closed_low,
        include_high=closed_high,
        description=description,
    )


def per_class_value(per_class):
    """``per_class`` as ``"auto"``, True or False: a numpy bool (what
    ``ParameterGrid`` over an array yields) is a bool; anything else, the
    integers 0 and 1 included, is refused."""
    if isinstance(per_class, str) and per_class == "auto":
        return "auto"
    if isinstance(per_class, (bool, np.bool_)):
        return bool(per_class)
    raise ValueError(f"per_class must be 'auto', True or False, got {per_class!r}.")


def check_per_class(per_class, view):
    """Validate a ``per_class`` parameter against the view's task."""
    if per_class_value(per_class) is True and view.task != "classification":
        raise ValueError("per_class=True needs a classification view.")


class BaseSelector(BaseEstimator):
    """Base class of all selectors.

    A selector is a stateless scikit-learn-style object: ``__init__`` stores
    parameters, :meth:`select` does the work.  It never modifies itself, so one
    instance can be reused and cloned, and its parameters tuned
    (``selector__lam`` in a search).

    Contract for subclasses -- override :meth:`_select` only:

    * it receives a validated :class:`~subsetml.LastLayer`, the budget as a row
      count ``k`` (``1 <= k <= n``), the validation view (or None) and a
      :class:`numpy.random.RandomState` resolved from ``random_state``;
    * it returns a :class:`~subsetml.Subset` (or an ``(indices, weights)`` pair)
      of exactly ``k`` unique row positions and finite non-negative weights;
    * it must draw every random number from the ``rng`` it is given.

    :meth:`select` checks the result and raises ``RuntimeError`` naming the
    selector if the contract is broken.

    Examples
    --------
    A selector that keeps the rows with the largest bias gradients:

    >>> import numpy as np
    >>> from subsetml import LastLayer
    >>> from subsetml.selection import BaseSelector
    >>> class LargestGradients(BaseSelector):
    ...     def __init__(self, random_state=None):
    ...         self.random_state = random_state
    ...     def _select(self, view, k, *, validation, rng):
    ...         norms = np.linalg.norm(view.gradients("bias"), axis=1)
    ...         return np.argsort(-norms)[:k], np.ones(k)
    >>> p = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.6, 0.4]])
    >>> view = LastLayer(np.eye(4), p, [0, 0, 0, 1])
    >>> LargestGradients().select(view, 2).indices
    array([2, 3])
    """

    #: Whether ``_select`` uses a validation view when one is given.
    _uses_validation = False

    #: Whether every pick gets the same weight (random, GLISTER, GRAD-MATCH
    #: with ``weighting="equal"``), so that an estimator without
    #: ``sample_weight`` loses nothing by dropping them.
    _equal_weights = False

    def _counts_units(self, part):
        """Whether a pick's weight counts the ground units it stands for
        (CRAIG's cluster sizes; GRAD-MATCH's one-shot class totals), so that
        in per-batch selection a kept row stands for its share of the
        batch's rows. Matching coefficients are not counts: their rows keep
        the batch's weight each."""
        return False

    def _unweighted(self):
        """This selector as it should run where its weights will be dropped
        (an estimator without ``sample_weight``): itself, unless it has a
        mode for that (GRAD-MATCH's ``weighting="auto"``). Called on a copy
        of the user's selector (:func:`~subsetml.selection.make_selector`)."""
        return self

    def select(self, view, budget, *, validation=None):
        """Choose ``budget`` rows of ``view``.

        Parameters
        ----------
        view : LastLayer
            The rows to choose from.
        budget : int or float
            Row count, or fraction of ``view``'s rows in (0, 1].
        validation : LastLayer, default=None
            Held-out rows, for selectors that aim at validation loss (GLISTER).
            Others ignore it.

        Returns
        -------
        subset : Subset
            ``indices`` into ``view``'s rows and their ``weights``. A budget
            of every row gives every row, in order, weight 1, whatever the
            selector.
        """
        if not isinstance(view, LastLayer):
            raise TypeError(
                f"{type(self).__name__}.select expects a subsetml.LastLayer, got "
                f"{type(view).__name__}. Build one with LastLayer(...), "
                "LastLayer.from_inputs (rows to fit a model on from scratch), "
                "LastLayer.from_estimator or LastLayer.from_proxy."
            )
        if validation is not None:
            if not isinstance(validation, LastLayer):
                raise TypeError(
                    "validation must be a subsetml.LastLayer or None, got "
                    f"{type(validation).__name__}."
                )
            if validation.task != view.task:
                raise ValueError(
                    f"validation is a {validation.task} view but view is a "
                    f"{view.task} view."
                )
            if (
                validation.n_outputs != view.n_outputs
                or validation.n_features != view.n_features
            ):
                raise ValueError(
                    "validation must have the same number of features and outputs "
                    f"as view: got ({validation.n_features}, {validation.n_outputs})"
                    f" vs ({view.n_features}, {view.n_outputs})."
                )
            if (
                view.task == "classification"
                and view.classes is not None
                and validation.classes is not None
                and not _same_labels(view.classes, validation.classes)
            ):
                # Class codes of different labels were matched code for
                # code, silently (a review).
                raise ValueError(
                    "validation's classes differ from view's: "
                    f"{validation.classes[:10].tolist()} vs "
                    f"{view.classes[:10].tolist()}; class code i must mean the "
                    "same label in both."
                )
        if view.task == "classification":
            present = np.unique(view.y)
            if present.shape[0] < 2:
                raise ValueError(
                    "Only one class is present in the rows to select from "
                    f"(class code {present[0]}); selection needs at least two."
                )
        k = resolve_budget(budget, view.n_samples)
        self._validate_params_for(view)
        if k == view.n_samples:
            # Every row, weight 1 (the training sum exactly), in order: there
            # is nothing to choose.
            return Subset(np.arange(k), np.ones(k))
        rng = check_random_state(self.random_state)
        result = self._select(view, k, validation=validation, rng=rng)
        subset = result if isinstance(result, Subset) else Subset(*result)
        _check_subset(subset, view.n_samples, k, type(self).__name__)
        return subset

    def _validate_params_for(self, view):
        """Check parameters against the view; subclasses extend."""

    def _select(self, view, k, *, validation, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = getattr(self, "random_state", 0) is None
        return tags


def _same_labels(a, b):
    """Whether two arrays of class labels hold the same labels in order."""
    if a.shape != b.shape:
        return False
    try:
        return bool(np.all(a == b))
    except (TypeError, ValueError):
        return False


def _check_subset(subset, n, k, who):
    idx, w = subset.indices, subset.weights
    problems = []
    if idx.shape[0] != k:
        problems.append(f"returned {idx.shape[0]} rows for a budget of {k}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        problems.append(f"returned indices outside [0, {n})")
    if np.unique(idx).shape[0] != idx.shape[0]:
        problems.append("returned duplicate indices")
    if not np.all(np.isfinite(w)):
        problems.append("returned non-finite weights")
    elif np.any(w < 0):
        problems.append("returned negative weights")
    if problems:
        raise RuntimeError(
            f"{who} broke the selector contract: " + "; ".join(problems) + "."
        )


def allocate_budget(counts, k):
    """Split ``k`` over groups in proportion to ``counts``, at least 1 each.

    Each group gets ``ceil(k * n_c / N)``; the excess is then taken back one
    row at a time from the groups whose ceiling rounded up the most (largest
    fractional excess first), never below one row per group.

    Parameters
    ----------
    counts : array-like of int
        Rows in each group (an empty group gets no row).
    k : int
        Total budget, at least one row per non-empty group and at most
        ``sum(counts)``.

    Returns
    -------
    budgets : ndarray of int64
        ``budgets.sum() == k`` and ``1 <= budgets <= counts`` (0 for an
        empty group).

    Examples
    --------
    >>> from subsetml.selection import allocate_budget
    >>> allocate_budget([50, 30, 20], 10).tolist()
    [5, 3, 2]
    >>> allocate_budget([900, 90, 10], 10).tolist()
    [8, 1, 1]
    """
    given = np.asarray(counts)
    if given.ndim != 1 or given.shape[0] == 0 or given.dtype.kind not in "iuf":
        raise ValueError(
            "counts must be a non-empty 1-D array of row counts, got "
            f"{given.dtype} of shape {given.shape}."
        )
    counts = given.astype(np.int64)
    if not np.all(counts == given) or counts.min() < 0:
        # Fractions were truncated and negative counts came back as
        # negative budgets, silently (a review).
        raise ValueError(
            f"counts must be whole numbers >= 0, got {given[:10].tolist()}."
        )
    check_number(k, "k", integer=True, description="an int (a row count)")
    total = int(counts.sum())
    if k < 1:
        raise ValueError(f"k must be at least 1 row, got {k}.")
    groups = int(np.count_nonzero(counts))
    if k < groups:
        # Empty groups take no row, so they need none (a review).
        raise ValueError(
            f"A budget of {k} rows cannot cover {groups} classes with at "
            "least one row each; raise the budget or set per_class=False."
        )
    if k > total:
        raise ValueError(f"A budget of {k} rows exceeds the {total} rows available.")
    exact = counts * (k / total)
    budgets = np.minimum(np.maximum(np.ceil(exact - 1e-9).astype(np.int64), 1), counts)
    excess = int(budgets.sum()) - k
    if excess > 0:
        # Take back from the groups rounded up the most, keeping >= 1 each.
        order = np.argsort(-(budgets - exact), kind="stable")
        while excess > 0:
            for g in order:
                if excess == 0:
                    break
                if budgets[g] > 1:
                    budgets[g] -= 1
                    excess -= 1
    return budgets


def _target_summary(view):
    """One number per row of a regression view's targets: the target itself,
    or for several targets their first principal component (standardised),
    so that bins and tied values stratify by target as for one. Rows of one
    target vector get one value."""
    y = np.asarray(view.y, dtype=np.float64)
    if y.shape[1] == 1:
        return y[:, 0]
    z = (y - y.mean(axis=0)) / view._target_spread()
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    return z @ vt[0]


#: The label of a ground set that is one tied target value (see
#: ``GradientSelector._target_atoms``).
ATOM = object()


class GradientSelector(BaseSelector):
    """Shared machinery of the gradient-based selectors (CRAIG, GRAD-MATCH, GLISTER).

    Handles the ground set: per-class budgets, shuffled mini-batches, and the
    expansion of chosen batches back to rows.  Subclasses implement
    ``_select_ground(gradients, k, rng, part)`` which chooses ``k`` elements of
    one ground set given as a gradient operator and returns ``(positions,
    weights)`` local to that ground set.  ``part`` carries what else a method
    may need (the view's row ids of the part, its class, the validation rows).

    Examples
    --------
    Per-class mode splits the budget in proportion to the class sizes:

    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from subsetml import LastLayer
    >>> from subsetml.selection import CraigSelector, GradientSelector
    >>> X, y = load_iris(return_X_y=True)
    >>> selector = CraigSelector(per_class=True, random_state=0)
    >>> isinstance(selector, GradientSelector)
    True
    >>> subset = selector.select(LastLayer.from_proxy(X, y), 30)
    >>> np.bincount(y[subset.indices]).tolist()
    [10, 10, 10]
    """

    #: Whether the weights of a ground set's picks stand for its rows (sum
    #: to about its size: CRAIG's cluster sizes, GRAD-MATCH's class totals)
    #: rather than being 1 each (GLISTER).
    _weights_count_rows = True

    #: What ``gradients="auto"`` means on an untrained view
    #: (:meth:`~subsetml.LastLayer.from_inputs`); elsewhere it means "bias".
    _untrained_gradients = "features"

    def _validate_params_for(self, view):
        if self.gradients != "auto" and self.gradients not in GRADIENT_MODES:
            raise ValueError(
                f"Unknown gradients={self.gradients!r}; choose 'auto' or one of "
                f"{GRADIENT_MODES}."
            )
        check_per_class(self.per_class, view)
        if self.batch_size is not None:
            check_number(
                self.batch_size,
                "batch_size",
                integer=True,
                low=1,
                description="a positive int or None",
            )

    def _is_per_class(self, view):
        if self.per_class == "auto":
            return view.task == "classification"
        return bool(self.per_class)

    #: Quantile bins of the target that ``per_class="auto"`` splits an
    #: untrained regression view into, as classes split a classification
    #: view (0: the whole view is one ground set).
    _untrained_regression_strata = 0

    def _target_strata(self, view, k):
        """Row groups of an untrained regression view (quantile bins of the
        target, at most one per three rows of budget, so that a bin's picks
        can spread over it), or None when not stratified."""
        n_bins = min(int(self._untrained_regression_strata), max(1, k // 3))
        if not (
            n_bins > 1
            and self.per_class == "auto"
            and view.task == "regression"
            and view.untrained
        ):
            return None
        y = _target_summary(view)
        edges = np.quantile(y, np.linspace(0.0, 1.0, n_bins + 1)[1:-1])
        codes = np.searchsorted(edges, y, side="right")
        groups = [np.flatnonzero(codes == b) for b in range(n_bins)]
        return [g for g in groups if g.shape[0] > 0]

    def _target_atoms(self, view, k):
        """Rows of each target value that holds at least two rows' worth of
        the budget (``2 n / k`` rows or more), on an untrained one-output
        regression view with ``per_class="auto"``; ``[]`` otherwise.

        Such a value (the zeros of a zero-inflated target, the levels of a
        rating) is one point to the target-based vectors that one-shot
        regression covers or matches: one pick covered it exactly, and the
        rest of its rows were left out (CRAIG and GLISTER fell below the
        constant prediction on such targets; ``benchmarks/bench_quality.py``).
        """
        if not (
            self.per_class == "auto" and view.task == "regression" and view.untrained
        ):
            return []
        y = _target_summary(view)
        _, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
        big = np.flatnonzero(counts * k >= 2 * y.shape[0])
        return [np.flatnonzero(codes == v) for v in big]

    #: Whether rows copied many times (equal features and target) get
    #: their share of the budget drawn at random (:meth:`_split_copies`).
    _draws_copied_rows = False

    def _parts(self, view, k, validation):
        """Yield ``(rows, k_part, label, val_rows)`` for each independent
        ground set; ``label`` is :data:`ATOM` for the rows of one tied target
        value (:meth:`_target_atoms`) or of one row copied many times
        (:meth:`_split_copies`), drawn at random by :meth:`_select`."""
        for part in self._tied_parts(view, k, validation):
            if part[2] is ATOM or not self._draws_copied_rows:
                yield part
            else:
                yield from self._split_copies(view, *part)

    def _tied_parts(self, view, k, validation):
        """:meth:`_parts` with tied target values split off, copies not."""
        atoms = self._target_atoms(view, k)
        if not atoms:
            yield from self._parts_of(view, np.arange(view.n_samples), k, validation)
            return
        in_atom = np.zeros(view.n_samples, dtype=bool)
        for rows in atoms:
            in_atom[rows] = True
        rest = np.flatnonzero(~in_atom)
        groups = atoms + ([rest] if rest.size else [])
        budgets = allocate_budget([g.shape[0] for g in groups], k)
        for rows, k_a in zip(atoms, budgets):
            yield rows, int(k_a), ATOM, None
        if rest.size:
            yield from self._parts_of(view, rest, int(budgets[-1]), validation)

    def _split_copies(self, view, rows, k_part, label, val_rows):
        """One ground set (a class, a target bin) with each group of its
        rows equal in features and target, of at least ``2 n / k`` of its
        ``n`` rows and ``k`` picks, split off as an :data:`ATOM` part; the
        other rows keep the part's class and validation rows.

        Copies of one row are one point to the selector's vectors, however
        many there are: on data with few distinct rows (one-hot or binary
        features) a selector with equal weights (GLISTER) picked each
        distinct row's copies in numbers unrelated to their count, and
        models trained on its subsets fell up to 9.3 points below random
        ones (``benchmarks/results/quality_copies_before.json``). Such a
        group gets its share of the part's budget, drawn at random, as a tied
        target value does (:meth:`_target_atoms`).
        """
        min_count = math.ceil(2 * rows.shape[0] / k_part)
        groups = row_copies(view.features[rows], view.y[rows], min_count=min_count)
        if not groups:
            yield rows, k_part, label, val_rows
            return
        copied = np.zeros(rows.shape[0], dtype=bool)
        for g in groups:
            copied[g] = True
        rest = np.flatnonzero(~copied)
        sizes = [g.shape[0] for g in groups] + ([rest.shape[0]] if rest.size else [])
        budgets = allocate_budget(sizes, k_part)
        for g, k_g in zip(groups, budgets):
            yield rows[g], int(k_g), ATOM, None
        if rest.size:
            yield rows[rest], int(budgets[-1]), label, val_rows

    def _parts_of(self, view, among, k, validation):
        """:meth:`_parts` within the rows ``among`` of ``view``."""
        sub = view if among.shape[0] == view.n_samples else view.take(among)
        strata = self._target_strata(sub, k)
        if strata is not None:
            budgets = allocate_budget([g.shape[0] for g in strata], k)
            all_val = None if validation is None else np.arange(validation.n_samples)
            for rows, k_b in zip(strata, budgets):
                yield among[rows], int(k_b), None, all_val
        elif among.shape[0] < view.n_samples:
            val_rows = None if validation is None else np.arange(validation.n_samples)
            yield among, k, None, val_rows
        elif self._is_per_class(view):
            classes, codes = np.unique(view.y, return_inverse=True)
            counts = np.bincount(codes)
            budgets = allocate_budget(counts, k)
            for c, k_c in zip(classes, budgets):
                rows = np.flatnonzero(view.y == c)
                val_rows = None
                if validation is not None:
                    val_rows = np.flatnonzero(validation.y == c)
                yield rows, int(k_c), c, val_rows
        else:
            val_rows = None if validation is None else np.arange(validation.n_samples)
            yield np.arange(view.n_samples), k, None, val_rows

    #: What ``gradients="auto"`` means on an untrained regression view, when
    #: not :attr:`_untrained_gradients` (None).
    _untrained_regression_gradients = None

    def _gradient_mode(self, view):
        """The gradient mode used on ``view`` (``"auto"`` resolved)."""
        if (
            self.gradients == "auto"
            and view.untrained
            and view.task == "regression"
            and self._untrained_regression_gradients is not None
        ):
            return self._untrained_regression_gradients
        return view.resolve_gradients(
            self.gradients, untrained=self._untrained_gradients
        )

    def _select(self, view, k, *, validation, rng):
        validation = self._prepare_validation(view, validation, rng)
        mode = self._gradient_mode(view)
        chosen, weights = [], []
        operator = self._ground_operator(view, mode, rng)
        atoms = False
        for rows, k_part, label, val_rows in self._parts(view, k, validation):
            if label is ATOM:
                # One target value: the gradient vectors of its rows are all
                # alike, so any of them serve; drawn at random, each standing
                # for an equal share of the value's rows.
                chosen.append(rng.choice(rows, size=k_part, replace=False))
                share = rows.shape[0] / k_part if self._weights_count_rows else 1.0
                weights.append(np.full(k_part, share))
                atoms = True
                continue
            op = operator(rows)
            part = _Part(view, rows, label, validation, val_rows, mode)
            part.operator = operator
            if self.batch_size is None or self.batch_size == 1:
                pos, w = self._select_ground(op, k_part, rng, part)
                pos = np.asarray(pos, dtype=np.int64)
                chosen.append(rows[pos])
                weights.append(np.asarray(w, dtype=np.float64))
            else:
                idx, w = self._select_batches(op, rows, k_part, rng, part)
                chosen.append(idx)
                weights.append(w)
            if atoms and self._weights_count_rows and label is not ATOM:
                # Beside tied values whose draws stand for all their rows, the
                # other rows' picks must stand for all theirs too.
                total = float(weights[-1].sum())
                if total > 0:
                    weights[-1] = weights[-1] * (rows.shape[0] / total)
        return Subset(np.concatenate(chosen), np.concatenate(weights))

    def _select_batches(self, op, rows, k_part, rng, part):
        """Per-batch mode: mean gradients of shuffled batches form the ground set."""
        n = rows.shape[0]
        b = int(self.batch_size)
        n_batches = math.ceil(n / b)
        perm = rng.permutation(n)
        groups = np.empty(n, dtype=np.int64)
        groups[perm] = np.arange(n) // b
        means = op.group_means(groups, n_batches)
        n_pick = min(n_batches, math.ceil(k_part / b))
        part.batch_groups = groups
        pos, w = self._select_ground(means, n_pick, rng, part)
        pos = np.asarray(pos, dtype=np.int64)
        w = np.asarray(w, dtype=np.float64)
        # Expand batches to rows in the order they were chosen; the last one
        # is cut so the part gets exactly k_part rows.
        members = [perm[g * b : (g + 1) * b] for g in pos]
        need = k_part - sum(m.shape[0] for m in members)
        if need > 0:
            # Chosen batches were short (a small final batch): top up from
            # the unchosen rows at random.
            taken = np.zeros(n, dtype=bool)
            for m in members:
                taken[m] = True
            rest = np.flatnonzero(~taken)
            extra = rng.choice(rest, size=need, replace=False)
            members.append(extra)
            # Weight 1 (as matching pursuit's fill-up), or the others' equal
            # weight where all picks stand for as many rows.
            w = np.append(w, w[0] if self._equal_weights and w.size else 1.0)
        sizes = [m.shape[0] for m in members]
        over = sum(sizes) - k_part
        if over > 0:
            # Fewer than a batch's rows fit in the budget: the last is cut.
            members[-1] = members[-1][: sizes[-1] - over]
            sizes[-1] -= over
        local = np.concatenate(members)
        row_w = np.repeat(w, sizes)
        if self._counts_units(part):
            # A chosen batch stands for w batches of n / n_batches rows (the
            # weights count batches), however many of its rows are kept: the
            # cut one and a part's short final batch included. Its rows had
            # carried w each, so a cut batch stood for a share of its rows
            # and a class whose budget fills no whole batch lost most of its
            # weight (20 rows weighed 6, a review). Matching coefficients
            # keep w per row: scaled so, GRAD-MATCH's subset-trained MLPs
            # lost 0.45 +- 0.23 points over 20 seeds
            # (benchmarks/results/selection_cost_batch_weights.json).
            chosen = np.asarray(sizes[: pos.shape[0]], dtype=np.float64)
            scale = np.repeat((n / n_batches) / chosen, chosen.astype(np.int64))
            row_w[: scale.shape[0]] *= scale
            if need > 0 and row_w.sum() > 0:
                # The chosen batches already stand for every row of the part:
                # the top-up rows take a share of that, not weight on top of
                # it (the part's weights summed to more than its rows, a
                # review).
                row_w *= n / row_w.sum()
        return rows[local], row_w

    def _prepare_validation(self, view, validation, rng):
        return validation

    def _ground_operator(self, view, mode, rng):
        """``f(rows, view=view) -> gradient operator`` for each ground set.

        Subclasses may widen the rows (GRAD-MATCH's probes do); ``f`` must
        give rows of any view of the same layer (the validation view) the
        same meaning.
        """

        def operator(rows, other=None):
            return (view if other is None else other)._operator(mode, rows)

        return operator

    def _select_ground(self, gradients, k, rng, part):  # pragma: no cover
        raise NotImplementedError


def row_copies(features, y, *, min_count):
    """Groups of at least ``min_count`` rows equal in ``features`` and ``y``
    (bit for bit), as arrays of row positions.

    Exact: rows are compared by their bytes (a sort of the rows, then of
    the pairs of a row's code and its target), with ``-0.0`` read as
    ``0.0``, so rounding cannot merge two rows or split copies.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [0.0, 1.0]])
    >>> [g.tolist() for g in row_copies(X, np.array([0, 0, 0, 1]), min_count=2)]
    [[0, 1]]
    """
    features = np.ascontiguousarray(features)
    n = features.shape[0]
    if n < min_count:
        return []
    flat = features.reshape(n, -1)
    if flat.dtype.kind == "f":
        negative_zero = (flat == 0) & np.signbit(flat)
        if negative_zero.any():
            # -0.0 equals 0.0, but not byte for byte.
            flat = np.where(negative_zero, 0, flat)
    if flat.shape[1] == 0:
        codes = np.zeros(n, dtype=np.int64)
    else:
        keys = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1])))
        codes = np.unique(keys.reshape(-1), return_inverse=True)[1].reshape(-1)
    y = np.asarray(y).reshape(n, -1)
    if y.dtype.kind in "biuf":
        target = np.ascontiguousarray(y.astype(np.float64)).view(np.int64)
    else:
        target = np.unique(y, axis=0, return_inverse=True)[1].reshape(n, -1)
    _, group, counts = np.unique(
        np.column_stack([codes, target]),
        axis=0,
        return_inverse=True,
        return_counts=True,
    )
    group = group.reshape(-1)
    big = np.flatnonzero(counts >= min_count)
    if big.size == 0:
        return []
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    return [order[starts[b] : starts[b + 1]] for b in big]


class _Part:
    """What a ground-set solver may need beyond the gradient operator."""

    def __init__(self, view, rows, label, validation, val_rows, mode):
        self.view = view
        self.rows = rows
        self.label = label
        self.validation = validation
        self.val_rows = val_rows
        self.mode = mode
        self.batch_groups = None
        self.operator = None
