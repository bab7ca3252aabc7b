"""Resource rungs that continue a scikit-learn fit instead of starting again.

For some estimators, ``warm_start=True`` makes a second ``fit`` on the same
rows go on from the first one, so long as a parameter only grows: boosting
rounds (``max_iter`` of the histogram gradient boosting estimators,
``n_estimators`` of ``GradientBoosting*``) and ensemble members
(``n_estimators`` of forests and bagging). With that parameter as the
resource of :class:`~subsetml.model_selection.SubsetSearchCV`, a trial at a
higher rung adds the difference to the model it fitted at the rung below, so
reaching the top costs one fit at the top value, not the sum of the rungs.

Left out, so that their rungs fit afresh:

* estimators whose ``warm_start`` only initialises the next fit (linear
  models, ``MLPClassifier``: ``max_iter`` more iterations from the last
  solution);
* ``GradientBoosting*`` with early stopping (``n_iter_no_change``): a
  continued fit starts its validation history again, so it would not stop
  where a fresh fit stops;
* bagging with ``oob_score=True``, which scikit-learn refuses to warm-start.

Judged for each trial's own parameters too: a trial whose searched
``n_iter_no_change`` or ``oob_score`` rules the continuation out fits afresh.
"""

from __future__ import annotations

import warnings


def warm_param(estimator):
    """The parameter ``estimator``'s ``warm_start`` grows a fit along (e.g.
    ``"max_iter"`` for a ``HistGradientBoostingClassifier``), or None where
    a continued fit would not be the fit from the start."""
    from sklearn import ensemble as ens

    if isinstance(
        estimator,
        (ens.HistGradientBoostingClassifier, ens.HistGradientBoostingRegressor),
    ):
        return "max_iter"
    if isinstance(estimator, (ens.BaggingClassifier, ens.BaggingRegressor)):
        return None if estimator.oob_score else "n_estimators"
    if isinstance(
        estimator, (ens.GradientBoostingClassifier, ens.GradientBoostingRegressor)
    ):
        return None if estimator.n_iter_no_change else "n_estimators"
    if isinstance(
        estimator,
        (
            ens.RandomForestClassifier,
            ens.RandomForestRegressor,
            ens.ExtraTreesClassifier,
            ens.ExtraTreesRegressor,
        ),
    ):
        return "n_estimators"
    return None


def stopped_early(estimator):
    """Whether a fit from the start to a larger value would stop where
    fitted ``estimator`` stands (histogram gradient boosting with early
    stopping), so that there is nothing to add.

    That is when it stopped before its ``max_iter``, or when its last scores
    already meet the stopping rule: its own fit ended at ``max_iter`` before
    checking it, and a continued fit checks it only after one more round.
    The rule is scikit-learn's: none of the last ``n_iter_no_change`` scores
    beats the one before them by more than ``tol``.
    """
    if warm_param(estimator) != "max_iter" or not hasattr(estimator, "n_iter_"):
        return False
    if estimator.n_iter_ < estimator.max_iter:
        return True
    if not getattr(estimator, "do_early_stopping_", False):
        return False
    scores = estimator.validation_score_
    if len(scores) == 0:  # scored on the training rows
        scores = estimator.train_score_
    n = estimator.n_iter_no_change
    if len(scores) < n + 1:
        return False
    reference = scores[-n - 1] + estimator.tol
    return not any(score > reference for score in scores[-n:])


def fit_more(estimator, X, y, **fit_params):
    """Fit ``estimator`` on the rows it was fitted on, going on from that
    fit (``warm_start`` on for this call, then restored), in place."""
    previous = estimator.get_params()["warm_start"]
    estimator.set_params(warm_start=True)
    try:
        with warnings.catch_warnings():
            # Forests warn that "balanced" class weights suit warm starts on
            # other rows badly; these are the same rows.
            warnings.filterwarnings(
                "ignore", message="class_weight presets", category=UserWarning
            )
            estimator.fit(X, y, **fit_params)
    finally:
        estimator.set_params(warm_start=previous)
    return estimator
