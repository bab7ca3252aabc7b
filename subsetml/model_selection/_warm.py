"""Resource rungs that continue a scikit-learn fit instead of starting again.

For some estimators, ``warm_start=True`` makes a second ``fit`` on the same
rows go on from the first one, so long as a parameter only grows: boosting
rounds (``max_iter`` of the histogram gradient boosting estimators,
``n_estimators`` of ``GradientBoosting*``) and ensemble members
(``n_estimators`` of forests and bagging). With that parameter as the
resource of :class:`~subsetml.model_selection.SubsetSearchCV`, a trial at a
higher rung adds the difference to the model it fitted at the rung below, so
reaching the top costs one fit at the top value, not the sum of the rungs.

Estimators whose ``warm_start`` only initialises the next fit (linear models,
``MLPClassifier``: ``max_iter`` more iterations from the last solution) are
left out: their rungs still fit afresh.
"""

from __future__ import annotations

from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

# Estimator families whose warm_start extends the fit to this parameter's
# new (larger) value, counted from the start.
_GROWS = (
    ((HistGradientBoostingClassifier, HistGradientBoostingRegressor), "max_iter"),
    (
        (
            GradientBoostingClassifier,
            GradientBoostingRegressor,
            RandomForestClassifier,
            RandomForestRegressor,
            ExtraTreesClassifier,
            ExtraTreesRegressor,
            BaggingClassifier,
            BaggingRegressor,
        ),
        "n_estimators",
    ),
)


def warm_param(estimator):
    """The parameter ``estimator``'s ``warm_start`` grows a fit along (e.g.
    ``"max_iter"`` for a ``HistGradientBoostingClassifier``), or None."""
    for families, param in _GROWS:
        if isinstance(estimator, families):
            return param
    return None


def fit_more(estimator, X, y, **fit_params):
    """Fit ``estimator`` on the rows it was fitted on, going on from that
    fit (``warm_start`` on for this call, then restored), in place."""
    previous = estimator.get_params()["warm_start"]
    estimator.set_params(warm_start=True)
    try:
        estimator.fit(X, y, **fit_params)
    finally:
        estimator.set_params(warm_start=previous)
    return estimator
