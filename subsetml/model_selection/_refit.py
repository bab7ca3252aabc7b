"""The refit check of :class:`SubsetSearchCV`: a refit that collapsed on all
rows gives way to the next best configuration.

A configuration can score well on cross-validation folds and still fail when
refit on all rows: a skorch net whose learning rate and momentum sit at the
edge of stability takes more optimiser steps per epoch on all rows than on a
fold, and may diverge to a constant prediction (one 5 % CNN search of
``benchmarks/results/fidelity_nets.json`` refit to chance that way, although
its best configurations had been re-scored on whole folds). Nothing in
``best_score_`` shows it.

The check costs one prediction on a sample of the training rows: the refit
estimator is scored there with the search's scorer, beside a constant
prediction (``DummyClassifier(strategy="prior")`` or ``DummyRegressor()``)
fitted on the same rows. A refit has *collapsed* when it keeps less than half
of the gain over that constant prediction that its cross-validated score
promised -- on rows it was trained on, where a healthy fit does at least as
well as on held-out rows.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.utils import _safe_indexing

from subsetml.model_selection._fidelity import score_rows

__all__ = [
    "CHECK_ROWS",
    "MAX_REFITS",
    "check_refit_check",
    "collapse_verdict",
    "fallback_order",
]

CHECK_ROWS = 2000  # training rows the check scores (stratified for classifiers)
MAX_REFITS = 3  # the best configuration and at most two next ones


def check_refit_check(value):
    """``"auto"``, True or False."""
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"refit_check must be 'auto', True or False, got {value!r}.")


def collapse_verdict(estimator, scorer, X, y, cv_score, classifier, seed):
    """Score a refit estimator on a sample of its training rows.

    Returns None when there is nothing to judge (no target, a scorer that
    does not give one number, a cross-validated score no better than a
    constant prediction, or a failure of the check itself, which must never
    cost the user a refit), else a dict with ``train_score``,
    ``chance_score``, ``cv_score``, ``n_rows`` and ``collapsed``.
    """
    if y is None or scorer is None or not math.isfinite(cv_score):
        return None
    n = len(y)
    rows = score_rows(np.arange(n), y, min(CHECK_ROWS, n), classifier, seed)
    Xs, ys = _safe_indexing(X, rows), _safe_indexing(y, rows)
    try:
        # Dummies take any X (text, DataFrames, sparse): they read its length.
        dummy = (
            DummyClassifier(strategy="prior") if classifier else DummyRegressor()
        ).fit(Xs, ys)
        chance = scorer(dummy, Xs, ys)
        train = scorer(estimator, Xs, ys)
    except Exception:  # a check, not a fit: never let it fail the search
        return None
    if not all(isinstance(v, numbers.Real) for v in (chance, train)):
        return None
    chance, train = float(chance), float(train)
    if not math.isfinite(chance) or cv_score <= chance:
        return None  # no gain to lose
    collapsed = not math.isfinite(train) or train < chance + 0.5 * (cv_score - chance)
    return {
        "train_score": train,
        "chance_score": chance,
        "cv_score": float(cv_score),
        "n_rows": len(rows),
        "collapsed": bool(collapsed),
    }


def fallback_order(results, metric, best_index):
    """Rows of ``cv_results_`` to refit after ``best_index``, best first.

    The next ones in ``rank_test_<metric>`` order (ties by trial order) that
    have a finite score, the same ``rung`` as the best (scores of other rungs
    do not compare, and with re-scoring these are the re-scored ones) and
    parameters distinct from those already listed; at most ``MAX_REFITS - 1``.
    """
    ranks = np.asarray(results[f"rank_test_{metric}"])
    scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)
    rungs = results.get("rung")
    params = results["params"]
    seen = {repr(sorted(params[best_index].items()))}
    out = []
    for i in np.lexsort((np.arange(len(ranks)), ranks)):
        i = int(i)
        key = repr(sorted(params[i].items()))
        if i == best_index or key in seen or not math.isfinite(scores[i]):
            continue
        if rungs is not None and rungs[i] != rungs[best_index]:
            continue
        seen.add(key)
        out.append(i)
        if len(out) == MAX_REFITS - 1:
            break
    return out
