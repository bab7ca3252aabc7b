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
import warnings

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _check_method_params

from subsetml.model_selection._fidelity import score_rows

__all__ = [
    "CHECK_ROWS",
    "MAX_REFITS",
    "RefitCheck",
    "check_refit_check",
    "config_key",
    "fallback_order",
]

# Training rows the check scores: stratified for a classifier, at least one of
# each class, so a target with many rare classes can take a few more.
CHECK_ROWS = 2000
MAX_REFITS = 3  # the best configuration and at most two next ones


def check_refit_check(value):
    """``"auto"``, True or False."""
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"refit_check must be 'auto', True or False, got {value!r}.")


class RefitCheck:
    """Judges refits on a fixed sample of the training rows.

    The sample and the constant prediction's score are computed once, at
    construction; ``chance`` is None when that failed or cannot be judged
    (no target, a scorer that does not give one number), and then every
    verdict is None. Per-row score parameters (a routed ``sample_weight``)
    are taken at the sampled rows, for the scorer and the dummy alike, so the
    check weighs rows as the cross-validated score did.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y, **score_params)``, greater is better.
    X, y : indexable
        The rows the refit trained on.
    classifier : bool
        Stratify the sample by class, and use ``DummyClassifier``.
    seed : int
        Seeds the sample.
    score_params : dict, default=None
        Routed scoring parameters; arrays of ``len(y)`` are indexed.
    """

    def __init__(self, scorer, X, y, classifier, seed, score_params=None):
        self.scorer = scorer
        self.chance = None
        self.n_rows = 0
        if y is None or scorer is None:
            return
        try:
            n = len(y)
            # Multilabel and multi-output targets: a plain random sample.
            stratify = classifier and np.ndim(y) == 1
            rows = score_rows(np.arange(n), y, min(CHECK_ROWS, n), stratify, seed)
            self.X = _safe_indexing(X, rows)
            self.y = _safe_indexing(y, rows)
            self.params = _check_method_params(X, score_params or {}, indices=rows)
            weight = self.params.get("sample_weight")
            # Dummies take any X (text, DataFrames, sparse): they read its length.
            dummy = (
                DummyClassifier(strategy="prior") if classifier else DummyRegressor()
            )
            dummy.fit(self.X, self.y, sample_weight=weight)
            chance = self._score(dummy)
        except Exception:  # a check, not a fit: never let it fail the search
            return
        if chance is not None and math.isfinite(chance):
            self.chance = chance
            self.n_rows = len(rows)

    def _score(self, estimator):
        with warnings.catch_warnings():
            # A constant prediction makes precision and the like warn.
            warnings.simplefilter("ignore")
            value = self.scorer(estimator, self.X, self.y, **self.params)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            return None
        return float(value)

    def judges(self, cv_score):
        """Whether a configuration with this CV score can be judged: a
        finite score above the constant prediction's (a gain to lose)."""
        return (
            self.chance is not None
            and math.isfinite(cv_score)
            and cv_score > self.chance
        )

    def verdict(self, estimator, cv_score):
        """None when there is nothing to judge (see ``judges``) or the
        scoring failed; else a dict with ``train_score``, ``chance_score``,
        ``cv_score``, ``n_rows`` and ``collapsed``: whether the refit kept
        less than half of its cross-validated gain over the constant."""
        if not self.judges(cv_score):
            return None
        try:
            train = self._score(estimator)
        except Exception:  # a check, not a fit: never let it fail the search
            return None
        if train is None:
            return None
        gain = cv_score - self.chance
        collapsed = not math.isfinite(train) or train < self.chance + 0.5 * gain
        return {
            "train_score": train,
            "chance_score": self.chance,
            "cv_score": float(cv_score),
            "n_rows": self.n_rows,
            "collapsed": bool(collapsed),
        }

    def steady(self, results, metric, index):
        """Whether row ``index`` of ``cv_results_`` may stand in for a refit
        that collapsed: the check judges its mean score (see ``judges``),
        and none of its folds kept less than half of the gain over the
        constant that its best fold showed -- the rule ``verdict`` applies to
        a refit, applied across folds. A configuration that fell towards a
        constant on one fold is likely to fall on all rows, where a net
        takes more optimiser steps: in the 5 % CNN search at 50,000 rows of
        ``benchmarks/results/fidelity_nets_large_cnn.json`` (seed 0) the two
        replacements averaged 0.44 and 0.78 on whole folds against the
        best's 0.95, and both refits fell to chance.
        """
        scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)
        if not self.judges(float(scores[index])):
            return False
        folds = [float(results[key][index]) for key in split_keys(results, metric)]
        if not folds:
            return True
        gains = np.asarray(folds) - self.chance
        if not np.all(np.isfinite(gains)):
            return False
        return bool(gains.min() >= 0.5 * gains.max())


def split_keys(results, metric):
    """The ``split<k>_test_<metric>`` keys of ``cv_results_``, in fold order."""
    keys = []
    while f"split{len(keys)}_test_{metric}" in results:
        keys.append(f"split{len(keys)}_test_{metric}")
    return keys


def config_key(params):
    """A hashable key of one configuration: a categorical space can propose
    the same one twice, and re-scoring or refitting both copies would leave
    no alternative to compare."""
    return repr(sorted(params.items()))


def fallback_order(results, metric, best_index, usable=None, limit=MAX_REFITS - 1):
    """Rows of ``cv_results_`` to refit after ``best_index``, best first.

    The next ones in ``rank_test_<metric>`` order (ties by trial order) that
    have a finite score, pass ``usable(index)`` when given (the check can
    judge them, and they held on every fold: ``RefitCheck.steady``), and
    have parameters distinct from those already listed; at
    most ``limit``, so that unusable rows do not use up the refits.
    With rungs the ranks order trials by rung first, so the best's own rung
    comes first (with re-scoring, the re-scored configurations), then the
    best of the rungs below: when epochs are the resource, often a single
    trial reaches the last rung (or the other re-scored ones are at chance
    on whole folds), and the next best configuration is one stopped
    earlier, refit as it was scored.
    """
    ranks = np.asarray(results[f"rank_test_{metric}"])
    scores = np.asarray(results[f"mean_test_{metric}"], dtype=float)
    params = results["params"]
    seen = {config_key(params[best_index])}
    out = []
    for i in np.lexsort((np.arange(len(ranks)), ranks)):
        i = int(i)
        key = config_key(params[i])
        if i == best_index or key in seen or not math.isfinite(scores[i]):
            continue
        if usable is not None and not usable(i):
            continue
        seen.add(key)
        out.append(i)
        if len(out) == limit:
            break
    return out
