"""The view a selector reads, built from validated training rows.

Shared by :class:`~subsetml.model_selection.SubsetEstimator` (which trains a
model on the subset), :class:`~subsetml.sampling.SubsetSampler` (which hands
the subset back) and the skorch integration (:func:`label_view`), so one
``lastlayer`` option means the same gradients everywhere. It sits with the
selectors, below every layer that builds a view.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone

from subsetml.lastlayer import LastLayer
from subsetml.selection._random import RandomSelector

__all__ = [
    "LASTLAYERS",
    "build_view",
    "check_lastlayer",
    "label_view",
    "select_rows",
]

#: String options of every ``lastlayer`` parameter (a callable is also allowed).
LASTLAYERS = ("auto", "inputs", "proxy", "estimator")


def check_lastlayer(lastlayer):
    """Raise ``ValueError`` unless ``lastlayer`` is an option or a callable."""
    if not (
        callable(lastlayer) or (isinstance(lastlayer, str) and lastlayer in LASTLAYERS)
    ):
        raise ValueError(
            f"lastlayer must be one of {LASTLAYERS} or a callable, got {lastlayer!r}."
        )


def select_rows(selector, X, y, k, seed, *, lastlayer, estimator, task):
    """Run ``selector`` on validated ``(X, y)`` for a budget of ``k`` rows.

    A :class:`~subsetml.selection.RandomSelector` only needs the labels (for
    stratification), so it skips the view and never reads or densifies ``X``.
    Every other selector gets :func:`build_view`.
    """
    if isinstance(selector, RandomSelector):
        view = label_view(X, y, task == "classification")
    else:
        view = build_view(
            X, y, k, seed, lastlayer=lastlayer, estimator=estimator, task=task
        )
    return selector.select(view, k)


def build_view(X, y, k, seed, *, lastlayer, estimator, task):
    """The :class:`~subsetml.LastLayer` of validated ``(X, y)``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    k : int
        The selection budget; sizes the cheap fit of ``lastlayer="estimator"``.
    seed : int
        Seeds the rows of the cheap fit.
    lastlayer : {"auto", "inputs", "proxy", "estimator"} or callable
        ``"inputs"`` (and ``"auto"``): :meth:`LastLayer.from_inputs`, the
        untrained view of a model about to be fitted from scratch.
        ``"proxy"``: :meth:`LastLayer.from_proxy`. ``"estimator"``: a clone of
        ``estimator`` fitted on ``k`` random rows, read on all rows with
        :meth:`LastLayer.from_estimator`. A callable ``f(X, y)`` must return a
        LastLayer.
    estimator : estimator or None
        The model behind ``"estimator"``; None allows only the other options.
    task : {"classification", "regression"}

    Returns
    -------
    view : LastLayer
    """
    if callable(lastlayer):
        view = lastlayer(X, y)
        if not isinstance(view, LastLayer):
            raise TypeError(
                "The lastlayer callable must return a subsetml.LastLayer, got "
                f"{type(view).__name__}."
            )
        return view
    mode = lastlayer
    if mode in ("auto", "inputs"):
        # The estimator is fitted once, from scratch, on the subset: select
        # for the start of that fit (see LastLayer.from_inputs for why the
        # gradients of a fitted proxy choose the wrong rows).
        return LastLayer.from_inputs(X, y, task=task, random_state=seed)
    # The proxy is a dense linear model: sparse rows are densified here.
    Xd = X.toarray() if hasattr(X, "toarray") else X
    if mode == "proxy":
        return LastLayer.from_proxy(Xd, y, task=task)
    if estimator is None:
        raise ValueError(
            "lastlayer='estimator' needs an estimator to read the gradients of; "
            "pass estimator=..., or use lastlayer='proxy' or a callable."
        )
    # A cheap fit: the estimator itself on a random subset of the budget's
    # size, so the view costs about as much as one subset trial.
    rng = np.random.RandomState(seed)
    rows = (
        stratified_sample(y, k, rng)
        if task == "classification"
        else (rng.choice(X.shape[0], size=k, replace=False))
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cheap = clone(estimator).fit(X[rows], y[rows])
    try:
        return LastLayer.from_estimator(cheap, X, y)
    except ValueError as exc:
        if task == "classification" and "not fitted on" in str(exc):
            # The cheap fit missed a class; fall back to the proxy.
            return LastLayer.from_proxy(Xd, y, task=task)
        raise


def stratified_sample(y, k, rng):
    """``k`` row positions holding at least one row of every class of ``y``."""
    classes, codes = np.unique(y, return_inverse=True)
    rows = [np.flatnonzero(codes == c)[:1] for c in range(classes.shape[0])]
    rows = np.concatenate(rows)
    rest = np.setdiff1d(np.arange(y.shape[0]), rows)
    extra = max(k - rows.shape[0], 0)
    return np.concatenate([rows, rng.choice(rest, size=extra, replace=False)])


def label_view(X, y, classification):
    """A view carrying only labels, for selectors that ignore gradients."""
    n = X.shape[0]
    if classification:
        classes, codes = np.unique(y, return_inverse=True)
        c = max(classes.shape[0], 2)
        return LastLayer(np.zeros((n, 1)), np.full((n, c), 1.0 / c), codes)
    return LastLayer(
        np.zeros((n, 1)), np.zeros(n), np.asarray(y, float), task="regression"
    )
