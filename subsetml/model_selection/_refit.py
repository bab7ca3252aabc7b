"""The refit of :class:`SubsetSearchCV`'s best configuration on all rows, and
its check: a refit that collapsed on all rows gives way to the next best
configuration (the warnings that say so are here too).

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

from subsetml._adapters import adapter_for
from subsetml._validation import external_stacklevel
from subsetml.model_selection._fidelity import score_rows
from subsetml.model_selection._subset_estimator import final_step

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


def _fit_all_rows(estimator, X, y, routed):
    """A refit: ``estimator`` fitted on all rows with the routed fit params."""
    if y is not None:
        estimator.fit(X, y, **routed.estimator.fit)
    else:
        estimator.fit(X, **routed.estimator.fit)


def _keep_lowest_loss(estimator):
    """``estimator`` (a skorch net, or a Pipeline ending in one) whose net
    ends its fits at the weights of its epoch of lowest training loss; None
    when its adapter cannot do that."""
    net = final_step(estimator)
    adapter = adapter_for(net)
    if adapter is None:
        return None
    new = adapter.keep_lowest_loss(net)
    if new is None or net is estimator:
        return new
    name, last = estimator.steps[-1]
    if last is not net:
        return None  # a Pipeline inside a Pipeline
    return estimator.set_params(**{name: new})


def _warn_passed_over(params, cv_score, chance):
    """Say that the best-ranked configuration was passed over for the refit."""
    warnings.warn(
        f"The best-ranked configuration ({params}) scored {cv_score:.4g} in "
        f"cross-validation, no better than a constant prediction "
        f"({chance:.4g} on the check rows): a net that diverged on whole "
        "folds, say, after promising more on its subsets. The refit is that "
        "of the next configurations that beat the constant, checked as "
        "refit_check says; best_index_, best_params_ and best_score_ are "
        "those of the configuration kept, and cv_results_ keeps its ranks.",
        UserWarning,
        stacklevel=external_stacklevel(),
    )


def _warn_collapsed(set_aside, kept, net, passed_over=False, restored=False):
    """Say which refits collapsed (or failed), and what ``best_estimator_``
    holds; ``passed_over``: the best-ranked configuration was not refit
    (``_warn_passed_over``), the first refit is the best of those that beat
    the constant; ``restored``: no refit passed, and ``best_estimator_`` is
    the first configuration's net refit once more, ending at its epoch of
    lowest training loss."""
    collapsed = [c for c in set_aside if c["collapsed"]]
    failed = [c for c in set_aside if c["collapsed"] is None]
    first = collapsed[0]
    best = (
        "the best configuration that beat the constant"
        if passed_over
        else "the best configuration"
    )
    lines = [
        f"The refit of {best} ({first['params']}) collapsed on "
        f"all rows: on {first['n_rows']} of its training rows it scored "
        f"{first['train_score']:.4g}, a constant prediction "
        f"{first['chance_score']:.4g}, against {first['cv_score']:.4g} in "
        "cross-validation."
    ]
    if len(collapsed) > 1:
        lines.append(
            f"So did the next {len(collapsed) - 1} "
            f"({', '.join(str(c['params']) for c in collapsed[1:])})."
        )
    for c in failed:
        lines.append(f"The refit of {c['params']} was set aside: {c['error']}.")
    if kept is None and restored:
        lines.append(
            f"No other configuration's refit passed the check, so {best} was "
            "refit once more, keeping the weights of its epoch with the "
            "lowest training loss (the callback 'keep_lowest_train_loss'; "
            "its history shows the epochs after it): that refit passed, and "
            "best_estimator_ is it. Narrow the ranges of learning rates and "
            "momenta, or train for fewer epochs, to refit without it."
        )
    elif kept is None:
        lines.append(
            f"best_estimator_ is the collapsed refit of {best} "
            "(no other configuration's refit passed the check); "
            + (
                "narrow the ranges of learning rates and momenta, "
                if net
                else "check the search space, "
            )
            + "or refit by hand."
        )
    else:
        lines.append(
            f"best_estimator_, best_params_, best_index_ and best_score_ are "
            f"those of the next configuration whose refit did not collapse "
            f"({kept}); cv_results_ keeps its ranks, so its rank_test_* is "
            "above 1. collapsed_refits_ lists the others (refit_check=False "
            "keeps the best configuration whatever its refit does)."
        )
    warnings.warn(" ".join(lines), UserWarning, stacklevel=external_stacklevel())


def _warn_if_refit_net_diverged(estimator, params):
    """Warn when a refit skorch net ends with a higher training loss than its
    first epoch's, or a non-finite one.

    Subset trials take ``1 / subset_size`` times fewer optimiser steps per
    epoch than the refit, so a search can prefer learning rates and momenta
    that are stable on the subsets and blow up on all rows: in
    ``benchmarks/results/nn_search_cpu*.json`` several refits collapsed to
    chance accuracy that way, with nothing in ``best_score_`` to show it.
    """
    from subsetml._adapters import adapter_for

    adapter = adapter_for(estimator)
    losses = None if adapter is None else adapter.training_losses(estimator)
    if not losses or (math.isfinite(losses[-1]) and len(losses) < 2):
        return  # one finite epoch: nothing to compare
    if math.isfinite(losses[-1]) and losses[-1] < losses[0]:
        return
    warnings.warn(
        f"The refit net's training loss went from {losses[0]:.4g} (first epoch) "
        f"to {losses[-1]:.4g} (last): the best configuration found on subsets "
        f"({params}) does not train on all rows. Subset trials take fewer "
        "optimiser steps per epoch than the refit, which favours learning rates "
        "and momenta that diverge on the full data; narrow those ranges, or "
        "refit by hand with the next configuration of cv_results_.",
        UserWarning,
        stacklevel=external_stacklevel(),
    )
