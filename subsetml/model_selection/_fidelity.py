"""Multi-fidelity pieces of SubsetSearchCV: rungs of subset sizes, pruners,
the rows of a test fold that score a subset trial, and re-scoring.

A search with several subset sizes (``subset_size=(0.05, 0.15, 0.45, 1.0)``)
runs each trial rung by rung: it trains on the first size, reports its mean
score to Optuna at a step equal to the rows it trained on (or the pruner's
check just above, where rounding left it under; :func:`report_steps`), and
goes on to the next size only when the study's pruner does not stop it. The
decisions are Optuna's own (``SuccessiveHalvingPruner``, ``HyperbandPruner``
or any pruner the user gives); this module builds them to fit the rungs and
orders a round of trials for successive halving (:func:`judging_order`).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable

import numpy as np
from sklearn.utils import _safe_indexing, check_random_state

from subsetml._subset import resolve_budget
from subsetml._validation import check_number, external_stacklevel

__all__ = [
    "check_pruner",
    "check_resource",
    "check_rescore",
    "check_score_size",
    "check_sizes",
    "make_pruner",
    "reduction_factor",
    "round_size",
    "score_rows",
]


def check_pruner(pruner):
    """``"auto"``, ``"halving"``, ``"hyperband"``, None, or an object with a
    ``prune`` method (an Optuna pruner); else a ``ValueError``."""
    if isinstance(pruner, type) and callable(getattr(pruner, "prune", None)):
        # A class, not an instance: it failed inside Optuna after the first
        # round of fits (a review).
        raise ValueError(
            f"pruner={pruner.__name__} is a class; pass an instance: "
            f"pruner={pruner.__name__}()."
        )
    if (
        pruner is None
        or (isinstance(pruner, str) and pruner in ("auto", "halving", "hyperband"))
        or callable(getattr(pruner, "prune", None))
    ):
        return pruner
    raise ValueError(
        f"Unknown pruner {pruner!r}; choose one of 'auto', 'halving', "
        "'hyperband', None, or pass an optuna pruner."
    )


def check_sizes(subset_size):
    """The rung sizes of ``subset_size``: a tuple of one or more budgets.

    Types and order of fractions are checked here; counts are checked against
    each training fold once the folds are known.
    """
    if isinstance(subset_size, (list, tuple, np.ndarray)):
        sizes = tuple(subset_size)
        if not sizes:
            raise ValueError("subset_size is an empty sequence; give one size or more.")
    else:
        sizes = (subset_size,)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Real):
            raise TypeError(
                "subset_size must be an int (a row count), a float in (0, 1] (a "
                "fraction of each training fold) or a sequence of them (rungs), "
                f"got {subset_size!r}."
            )
    for a, b in zip(sizes, sizes[1:]):
        same_kind = isinstance(a, numbers.Integral) == isinstance(b, numbers.Integral)
        if same_kind and not a < b:
            raise ValueError(
                f"subset_size rungs must grow, got {subset_size!r} ({a!r} then {b!r})."
            )
    return tuple(s.item() if isinstance(s, np.generic) else s for s in sizes)


def check_resource(resource, resource_rungs, sizes):
    """The values of ``resource`` at each rung, or None for subset-size rungs.

    ``resource="n_samples"`` (the default) makes rungs of the subset sizes and
    takes no ``resource_rungs``. Any other string names an estimator
    parameter; ``resource_rungs`` then gives its growing positive integer
    values and ``subset_size`` must be a single size (every rung trains on
    the same rows).
    """
    if not isinstance(resource, str) or not resource:
        raise TypeError(
            "resource must be 'n_samples' or the name of an estimator parameter "
            f"(such as 'max_epochs'), got {resource!r}."
        )
    if resource == "n_samples":
        if resource_rungs is not None:
            raise ValueError(
                "resource_rungs goes with a resource other than 'n_samples' "
                "(for instance resource='max_epochs'); rungs of rows are given "
                f"by subset_size. Got resource_rungs={resource_rungs!r}."
            )
        return None
    if resource_rungs is None:
        raise ValueError(
            f"resource={resource!r} needs resource_rungs, the values it takes at "
            "each rung, growing: for instance resource_rungs=(2, 6, 18)."
        )
    if isinstance(resource_rungs, (str, bytes)) or not isinstance(
        resource_rungs, Iterable
    ):
        values = (resource_rungs,)
    else:
        values = tuple(resource_rungs)  # a list, tuple, array or range
    if not values:
        raise ValueError("resource_rungs is an empty sequence; give one value or more.")
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise TypeError(
                "resource_rungs must hold integers (epochs, iterations, "
                f"estimators), got {resource_rungs!r}."
            )
        if v < 1:
            raise ValueError(f"resource_rungs must be >= 1, got {resource_rungs!r}.")
    values = tuple(int(v) for v in values)
    for a, b in zip(values, values[1:]):
        if not a < b:
            raise ValueError(
                f"resource_rungs must grow, got {resource_rungs!r} ({a} then {b})."
            )
    if len(sizes) > 1:
        raise ValueError(
            f"resource={resource!r} makes the rungs, so subset_size must be one "
            f"size (every rung trains on the same rows), got {sizes!r}."
        )
    return values


def make_pruner(pruner, steps, *, what="subset_size rungs", unit="rows"):
    """The Optuna pruner for rungs whose trials report at ``steps``.

    ``steps`` are the rows a trial trains on at each rung (mean over splits),
    or the values of another resource (``what`` and ``unit`` name them in
    messages), increasing. ``"halving"`` is Optuna's asynchronous successive halving
    with its first rung at ``steps[0]`` and the reduction factor the ratio of
    the first two rungs, so geometric sizes put one promotion check at each
    rung; ``"hyperband"`` runs several such brackets. ``None`` (or one rung)
    prunes nothing. Any object with a ``prune`` method is used as given.
    """
    import optuna

    check_pruner(pruner)
    if isinstance(pruner, str) and pruner == "auto":
        pruner = "halving" if len(steps) > 1 else None
    if pruner is None:
        return optuna.pruners.NopPruner()
    if len(steps) < 2:
        raise ValueError(
            f"pruner={pruner!r} needs rungs to stop trials at: give subset_size "
            "several growing sizes, e.g. subset_size=(0.05, 0.15, 0.45, 1.0), "
            "or resource_rungs several growing values."
        )
    if not isinstance(pruner, str):
        return pruner
    factor = reduction_factor(steps)
    checks = promotion_checks(steps)
    unchecked = [
        i for i in range(1, len(steps) - 1) if steps[i] < checks[i] * (1 - 1e-9)
    ]
    if unchecked:
        warnings.warn(
            f"With {what} of {list(steps)} {unit}, pruner={pruner!r} "
            f"(reduction factor {factor}, from the first two rungs) never stops "
            f"a trial at rung(s) {unchecked}: its promotion checks fall at "
            f"{checks[:-1]} {unit}. "
            "Geometric rungs, such as (0.05, 0.15, 0.45, 1.0) or (2, 6, 18), "
            "check every rung.",
            UserWarning,
            stacklevel=external_stacklevel(),
        )
    if pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=int(steps[0]), reduction_factor=factor
        )
    return optuna.pruners.HyperbandPruner(
        min_resource=int(steps[0]),
        max_resource=int(steps[-1]),
        reduction_factor=factor,
    )


#: How far below a promotion check (relative) a rung may fall and still be
#: reported at it: the rows of fractional rungs are rounded up per rung, so
#: ``(0.05, 0.15, 0.45)`` of 18,750 rows is 938, 2,813 and 8,438 rows, just
#: under the checks at 938 * 3 = 2,814 and 938 * 9 = 8,442.
STEP_TOLERANCE = 0.05


def report_steps(steps):
    """The steps trials report their rungs at, so that successive halving
    checks every rung.

    ``make_pruner`` places its promotion checks at ``steps[0] * factor ** i``.
    A rung up to :data:`STEP_TOLERANCE` below its check (rounding) reports at
    the check instead; otherwise the pruner would judge it only at the next
    rung, with that rung's score, after training it. Other steps are kept, and
    ``make_pruner`` warns about them.

    Examples
    --------
    >>> report_steps([938, 2813, 8438, 18750])
    [938, 2814, 8442, 18750]
    >>> report_steps([3, 10, 27])
    [3, 10, 27]
    """
    steps = [int(s) for s in steps]
    if len(steps) < 2:
        return steps
    checks = promotion_checks(steps)
    out = steps[:1]
    for i in range(1, len(steps)):
        below_next = i + 1 == len(steps) or checks[i] < steps[i + 1]
        near = checks[i] * (1 - STEP_TOLERANCE) <= steps[i] < checks[i]
        out.append(checks[i] if near and below_next else steps[i])
    return out


def judging_order(values, factor, earlier=()):
    """The order in which successive halving judges a round's trials at a rung.

    Optuna's ``SuccessiveHalvingPruner`` judges a trial against the trials
    judged before it at that rung (``earlier``, then this round's) and
    promotes it when it is in their top ``len // factor`` (the first one
    judged always goes on). Judged best first, a round would promote only
    its best trial; judged in the order asked, any weak trial that came
    first. The aim here is what a synchronous round would keep: the round's
    trials among the top ``len // factor`` (at least one) of ``earlier`` and
    the round together. The order is built by following the pruner's rule:
    the best of those still to judge goes next if the rule promotes it now,
    else the worst of the others if the rule stops it now. Where the rule
    cannot give exactly that set, it keeps the round's ranking as best it
    can (ties all go on, as the rule's ``>=`` makes them).

    Parameters
    ----------
    values : sequence of float
        The round's scores at the rung, higher is better.
    factor : int
        The pruner's reduction factor (at least 2).
    earlier : sequence of float, default=()
        Scores already judged at the rung (earlier rounds' trials).

    Returns
    -------
    list of int
        Positions in ``values``.

    Examples
    --------
    >>> judging_order([0.5, 0.9, 0.1, 0.7, 0.3, 0.2], 3)
    [1, 2, 5, 4, 0, 3]
    """
    values = [float(v) for v in values]
    judged = [float(v) for v in earlier]
    if not values:
        return []

    def goes_on(value):
        competing = sorted([*judged, value], reverse=True)
        return value >= competing[max(len(competing) // factor - 1, 0)]

    pool = sorted([*judged, *values], reverse=True)
    threshold = pool[max(1, len(pool) // factor) - 1]
    best = sorted(range(len(values)), key=lambda i: -values[i])
    keep = [i for i in best if values[i] >= threshold]
    drop = [i for i in reversed(best) if values[i] < threshold]  # worst first
    order = []
    while keep or drop:
        if keep and goes_on(values[keep[0]]):
            i = keep.pop(0)
        elif drop and not goes_on(values[drop[0]]):
            i = drop.pop(0)
        else:
            # The rule cannot keep to the set now: judge the best left.
            i = keep.pop(0) if keep else drop.pop()
        order.append(i)
        judged.append(values[i])
    return order


def promotion_checks(steps):
    """Where ``make_pruner``'s successive halving checks each rung:
    ``steps[0] * factor ** i``, one per step."""
    factor = reduction_factor(steps)
    return [steps[0] * factor**i for i in range(len(steps))]


def reduction_factor(steps):
    """The halving factor of rungs at ``steps``: the ratio of the first two
    (at least 2)."""
    return max(2, int(round(steps[1] / steps[0])))


#: Most trials of a round that ``n_points="auto"`` asks for rungs of a
#: resource other than rows (boosting rounds).
RESOURCE_ROUND = 5


def round_size(
    n_points, n_iter, steps, pruner, *, rows=True, net=False, timed=False, start=None
):
    """Trials asked, fitted and judged together in a round of a search.

    An integer ``n_points`` is used as given. ``"auto"``, for a
    scikit-learn estimator (not a skorch ``net``) under a pruner: rounds as
    large as the optimiser's random start (``start``; by default a third of
    ``n_iter``, 2 to 10) and at most ``factor ** (rungs - 1)``, for rungs of
    rows (``rows``); for rungs of another resource (boosting rounds), the
    same and at most :data:`RESOURCE_ROUND`. A round's trials all report at
    a rung before the pruner judges them (:func:`judging_order`). Otherwise one trial
    per round, so that each proposal uses every result before it
    (``BayesSearchCV``'s ``n_points=1``): without pruning, under a time
    limit (``timed``, which counts per round), and for nets, where in
    ``benchmarks/results/fidelity_rounds*.json`` rounds did not gain
    accuracy beyond the seeds' spread. On boosting rounds
    (``fidelity_hgb_rounds_k.json``, ``fidelity_rounds.json``) rounds of 9
    lost accuracy (22 rounds favour fast learners); rounds of 5 kept the
    full search's, at 1.4 times the speed of one trial at a time.
    """
    import optuna

    from subsetml.model_selection._samplers import startup_trials

    if not isinstance(n_points, str):
        return int(n_points)
    if timed or net or len(steps) < 2 or isinstance(pruner, optuna.pruners.NopPruner):
        return 1
    cap = reduction_factor(steps) ** (len(steps) - 1)
    if not rows:
        cap = min(cap, RESOURCE_ROUND)
    if start is None:
        start = startup_trials(n_iter)
    return int(max(1, min(start, cap)))


# Fewest test rows a rung scores on with ``score_size="proportional"``
# (all of a smaller fold): below a few hundred rows, a score's sampling noise
# (about 2 points of accuracy at 500 rows) outgrows the differences between
# good configurations.
MIN_PROPORTIONAL_ROWS = 500


def check_score_size(score_size):
    """``None``, ``"auto"``, ``"proportional"`` or a budget (int count or
    float fraction in (0, 1])."""
    if score_size is None:
        return None
    if isinstance(score_size, str):
        if score_size in ("auto", "proportional"):
            return score_size
        raise ValueError(
            "score_size must be None, 'auto', 'proportional', an int (rows) or "
            f"a float in (0, 1], got {score_size!r}."
        )
    if isinstance(score_size, bool) or not isinstance(score_size, numbers.Real):
        raise TypeError(
            "score_size must be None, 'auto', 'proportional', an int (rows) or a float "
            f"in (0, 1] (a fraction of each test fold), got {score_size!r}."
        )
    if isinstance(score_size, numbers.Integral):
        if score_size < 1:
            raise ValueError(f"score_size must be at least 1 row, got {score_size}.")
    elif not 0 < score_size <= 1:
        raise ValueError(
            f"score_size must be a fraction in (0, 1] of each test fold, got "
            f"{score_size!r}."
        )
    return score_size


def score_rows(test, y, score_size, classifier, seed, share=1.0):
    """The rows of a test fold that score subset trials.

    A fixed, seeded sample of ``score_size`` rows of ``test`` (all of them
    when ``score_size`` is None or not smaller than the fold), stratified by
    class for a classifier so every class keeps its share. The same rows
    score every trial of the search. ``"proportional"`` takes ``share`` (the
    rung's share of its training fold) of the fold, at least
    ``MIN_PROPORTIONAL_ROWS`` rows.
    """
    test = np.asarray(test)
    if score_size is None:
        return test
    n = len(test)
    if isinstance(score_size, str):  # "proportional"
        score_size = max(int(np.ceil(share * n)), MIN_PROPORTIONAL_ROWS)
    if isinstance(score_size, numbers.Integral) and score_size >= n:
        return test
    m = resolve_budget(score_size, n, name="score_size")
    if m == n:
        return test
    rng = check_random_state(seed)
    if classifier and y is not None:
        labels = np.asarray(_safe_indexing(y, test))
        classes, codes = np.unique(labels, return_inverse=True)
        counts = np.bincount(codes, minlength=len(classes))
        # Largest remainders, at least one row per class that has rows.
        quota = counts * m / n
        take = np.minimum(np.maximum(np.floor(quota).astype(int), 1), counts)
        short = m - take.sum()
        if short > 0:
            order = np.argsort(-(quota - np.floor(quota)), kind="stable")
            for c in order:
                if short == 0:
                    break
                if take[c] < counts[c]:
                    take[c] += 1
                    short -= 1
        picked = [
            rng.choice(np.flatnonzero(codes == c), size=take[c], replace=False)
            for c in range(len(classes))
        ]
        rows = np.sort(np.concatenate(picked))
    else:
        rows = np.sort(rng.choice(n, size=m, replace=False))
    return test[rows]


def check_rescore(rescore):
    """``"auto"`` or an integer >= 0."""
    if isinstance(rescore, str) and rescore == "auto":
        return rescore
    return int(
        check_number(
            rescore,
            "rescore",
            integer=True,
            low=0,
            description="'auto' or an integer >= 0 (configurations to re-score "
            "on full folds)",
        )
    )
