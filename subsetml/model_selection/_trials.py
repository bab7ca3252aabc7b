"""The estimators a :class:`SubsetSearchCV` trial fits and scores.

A trial fits its configuration on a subset of each training fold through one
of these wrappers (the subset chosen in advance, per split and rung, or by a
skorch net while it trains), and is scored through them on the test fold.
They read through to the model they fitted, so callbacks and scorers see
that model. Also here: the rungs of growing subsets (or other resources,
such as epochs) that a multi-fidelity search climbs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.metaestimators import available_if

from subsetml._adapters import adapter_for
from subsetml.model_selection._compat import (
    Tasks,
    with_callbacks,
)
from subsetml.model_selection._subset_estimator import (
    SubsetEstimator,
    _sample_weight_key,
    final_step,
)
from subsetml.model_selection._warm import fit_more, stopped_early, warm_param
from subsetml.selection._views import num_rows


def _select_split(proto, X, y, train, weights=None):
    est = clone(proto)
    X_train = _safe_indexing(X, train)
    if est._pairwise():
        # A precomputed kernel or distance matrix: the training fold's square
        # block, as the trials fit on and SubsetEstimator checks.
        X_train = _safe_indexing(X_train, train, axis=1)
    y_train = _safe_indexing(y, train)
    w_train = None if weights is None else _safe_indexing(weights, train)
    t0 = time.perf_counter()
    # The search warned about a budget raised to cover the classes. Not a
    # warnings filter: catch_warnings is not thread-safe, and under joblib's
    # threading backend its filter was left in the user's (a review).
    est._warned_budget = True
    Xv, yv, wv, k = est._validate_fit_data(X_train, y_train, w_train)
    subset = est._select_counted(Xv, yv, k, wv)
    return subset, time.perf_counter() - t0


class _ReadsThrough:
    """A trial's wrapper read as the model it fitted: attributes it lacks
    (``coef_``, a Pipeline's ``named_steps``, ...) come from ``estimator_``,
    for code handed the trial itself (callbacks). Scorers get the fitted
    model (:class:`_ScoresFittedModel`)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            fitted = self.__dict__["estimator_"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            ) from None
        return getattr(fitted, name)


class _SelectionTime:
    """What a fitted adaptive trial sends back from a worker process."""

    def __init__(self, selection_time_):
        self.selection_time_ = selection_time_


class _AdaptiveTrial(SubsetEstimator):
    """A trial of a net that selects while it trains (``SubsetEstimator``).

    Only its selection time is read after scoring, so once fitted it
    pickles as that alone: a worker process (``n_jobs``, ``timeout``,
    ``trial_timeout``) need not send the fitted net back, which fails for a
    module class defined in ``__main__`` (skorch pickles module classes by
    reference; a review), and costs a copy of the weights otherwise.
    """

    def __reduce_ex__(self, protocol):
        if "selection_time_" not in self.__dict__:
            return super().__reduce_ex__(protocol)
        return (_SelectionTime, (self.selection_time_,))


class _PresetSubsetEstimator(_ReadsThrough, SubsetEstimator):
    """A trial: the estimator fitted on a subset chosen before the search."""

    def __init__(self, estimator, *, subset=None, use_weights=True):
        # subset_size is unused (the subset is given): all rows, so that a
        # tiny fold raises no warning about a budget below the classes.
        # random_state is unused too, and fixed: None drew a seed from
        # numpy's global random state in every trial's fit (a review).
        super().__init__(
            estimator,
            selector="random",
            subset_size=1.0,
            use_weights=use_weights,
            random_state=0,
        )
        self.subset = subset

    def _check_weighting(self, *, warn=True):
        # The search chose whether the subsets carry weights, from its
        # estimator; a configuration that swaps in a step without
        # sample_weight (a grid over the final step) fits without them.
        if not self.use_weights:
            return False
        # The search warned once of a model without them (_warn_weightless).
        return _sample_weight_key(self.estimator) is not None

    def _select(self, X, y, k):
        if self.subset.size and self.subset.indices.max() >= num_rows(X):
            raise ValueError("The preset subset does not fit the training fold.")
        return self.subset

    @with_callbacks
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        if y is None:
            # An unsupervised estimator (the search checked X and the
            # weights): fitted on the subset's rows of X alone.
            X = self._check_X(X, reset=True)
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight, dtype=np.float64)
        else:
            X, y, sample_weight, _ = self._validate_fit_data(X, y, sample_weight)
        tasks = Tasks.root(self, max_subtasks=1, X=X, y=y)
        self.subset_ = self._select(X, y, None)
        self.selection_time_ = 0.0
        weighted = self._check_weighting()
        self._fit_subset(X, y, sample_weight, weighted, fit_params, tasks)
        tasks.end(self, X, y)
        return self


def _fitted_has(attr):
    def check(self):
        return hasattr(self.fitted, attr)

    return check


class _TrainMore(_ReadsThrough, MetaEstimatorMixin, BaseEstimator):
    """A trial at a higher resource rung: the net fitted at the rung below,
    trained ``epochs`` more epochs on the same rows, or the scikit-learn
    ensemble fitted there, grown to the rung's value with ``warm_start`` (a
    Pipeline's earlier steps stay as fitted)."""

    def __init__(self, fitted, *, params, epochs):
        self.fitted = fitted
        self.params = params
        self.epochs = epochs

    def fit(self, X, y=None, **fit_params):
        est = self.fitted
        net = final_step(est)
        # Checked before the rung's value is set: a boosting fit that
        # stopped early has nothing to add (a fresh fit stops there too).
        done = stopped_early(net)
        est.set_params(**self.params)
        if net is not est:
            # The earlier steps stay as fitted at the first rung (their
            # transform, as at predict time).
            name = est.steps[-1][0]
            if fit_params and get_config()["enable_metadata_routing"]:
                fit_params = process_routing(est, "fit", **fit_params)[name].fit
            else:
                prefix = name + "__"
                fit_params = {
                    k[len(prefix) :]: v
                    for k, v in fit_params.items()
                    if k.startswith(prefix)
                }
            X = est[:-1].transform(X)
        adapter = adapter_for(net)
        if adapter is not None:
            adapter.train_more(net, X, y, self.epochs, **fit_params)
        elif not done:  # a scikit-learn ensemble: warm_start adds to it
            fit_more(net, X, y, **fit_params)
        self.estimator_ = est
        return self

    # Only the methods the net has: scorers pick their response method by
    # hasattr (binary roc_auc tries decision_function first).
    @property
    def classes_(self):
        return self.estimator_.classes_

    @available_if(_fitted_has("predict"))
    def predict(self, X):
        return self.estimator_.predict(X)

    @available_if(_fitted_has("predict_proba"))
    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    @available_if(_fitted_has("decision_function"))
    def decision_function(self, X):
        return self.estimator_.decision_function(X)

    def score(self, X, y, sample_weight=None):
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.estimator_.score(X, y, **kwargs)

    def __sklearn_tags__(self):
        return get_tags(self.fitted)


def _fitted_model(estimator, X):
    """The model a trial's wrapper fitted, and the ``X`` it predicts from.

    A subset trial (:class:`SubsetEstimator` and its preset form) gives its
    fitted clone, with only the columns of its training rows for a
    precomputed kernel or distance matrix (as its own predict methods take
    them); a warm rung's trial (``_TrainMore``) its net or ensemble.
    """
    if isinstance(estimator, SubsetEstimator):
        return estimator.estimator_, estimator._kernel_columns(X)
    if isinstance(estimator, _TrainMore):
        return estimator.estimator_, X
    return estimator, X


class _ScoresFittedModel:
    """A scorer called with the model a trial fitted, not the trial's wrapper.

    Custom scorers then get the estimator the user passed in, fitted, as
    ``GridSearchCV`` gives it to them (``est[-1]`` of a Pipeline,
    ``get_params()``, ``isinstance``); the rows they score are the trial's
    test rows (``score_size``) all the same.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y, **score_params)``.
    """

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, X, *args, **kwargs):
        estimator, X = _fitted_model(estimator, X)
        return self.scorer(estimator, X, *args, **kwargs)

    def __repr__(self):
        # scikit-learn's errors name the scorer: the user's, not this wrapper.
        return repr(self.scorer)


class _MultimetricScoresFittedModel(_MultimetricScorer):
    """:class:`_ScoresFittedModel` for several metrics: still a
    ``_MultimetricScorer`` (whose failures scikit-learn's ``_score`` handles
    as such), sharing one prediction among its metrics."""

    def __call__(self, estimator, X, *args, **kwargs):
        estimator, X = _fitted_model(estimator, X)
        return super().__call__(estimator, X, *args, **kwargs)


def _scoring_fitted_model(scorers):
    """``scorers`` (a search's scorer or ``_MultimetricScorer``) as called
    with the model a trial's wrapper fitted."""
    if isinstance(scorers, _MultimetricScorer):
        return _MultimetricScoresFittedModel(
            scorers=scorers._scorers, raise_exc=scorers._raise_exc
        )
    return _ScoresFittedModel(scorers)


def _load_faster(estimator):
    """Give a fresh clone's net (alone or a Pipeline's last step) the
    adapter's ``faster_loading`` parameters: a skorch net loads plain arrays
    a batch at a time (:class:`~subsetml.skorch.ArrayLoader`), with the same
    batches, so its fits and scores are those it would have had. The refit
    keeps the user's net as given."""
    net = final_step(estimator)
    adapter = adapter_for(net)
    if adapter is not None:
        params = adapter.faster_loading(net)
        if params:
            net.set_params(**params)


def _continues(estimator, resource):
    """Whether trials of ``estimator`` go up ``resource`` rungs by going on
    from the fit below rather than starting again: a skorch net's
    ``max_epochs`` (more epochs), or the rounds or members a scikit-learn
    ensemble's ``warm_start`` adds (:func:`warm_param`), of the estimator
    alone or a Pipeline's last step."""
    net = final_step(estimator)
    if net is not estimator and estimator.steps[-1][1] is not net:
        return False  # a Pipeline inside a Pipeline: start again
    adapter = adapter_for(net)
    param = warm_param(net) if adapter is None else adapter.epochs_param(net)
    if param is None:
        return False
    if net is not estimator:
        param = f"{estimator.steps[-1][0]}__{param}"
    return resource == param


@dataclass(eq=False)
class _Rung:
    """One subset size of the search: a subset per split and its test rows."""

    size: object  # the subset_size of this rung (a fraction or a count)
    budgets: list  # rows a trial trains on, per split
    full: bool  # every split trains on all its training rows
    subsets: list = None  # a Subset per split, or None (all rows / adaptive)
    times: list = None  # selection seconds per split
    tests: list = None  # test rows that score a trial at this rung, per split
    # Resource rungs (resource="max_epochs", ...): the estimator parameters a
    # trial gets at this rung; empty for rungs of rows.
    params: dict = field(default_factory=dict)
    value: int | None = None  # the resource's value at this rung
    repeat: bool = False  # the same subsets (and selection) as the rung before
    top: bool = True  # the resource at its highest value (or no resource)
    # The step trials report at when it differs from ``step`` (report_steps).
    reported_step: int | None = None

    @property
    def step(self):
        """The Optuna step a trial reports at: the rows it trains on (mean
        over splits) or the resource's value, moved up to the pruner's
        check where rounding left it just under it."""
        if self.reported_step is not None:
            return self.reported_step
        if self.value is not None:
            return self.value
        return int(round(float(np.mean(self.budgets))))


def _resource_rungs(base, name, values):
    """One rung per value of the resource ``name``, all on ``base``'s rows."""
    return [
        replace(
            base,
            params={name: value},
            value=value,
            repeat=i > 0,
            top=i == len(values) - 1,
        )
        for i, value in enumerate(values)
    ]
