"""SubsetEstimator: train any estimator on a well-chosen subset of its data."""

from __future__ import annotations

import copy
import functools
import inspect
import time
import warnings

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.compose import TransformedTargetRegressor
from sklearn.linear_model import LinearRegression
from sklearn.multioutput import (
    ClassifierChain,
    MultiOutputClassifier,
    MultiOutputRegressor,
    RegressorChain,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags, metadata_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from subsetml._adapters import adapter_for
from subsetml._subset import Subset, cover_classes, resolve_budget
from subsetml._validation import (
    check_label_types,
    check_numeric_y,
    external_stacklevel,
    is_resampler,
    label_columns_error,
    one_or_more_targets,
)
from subsetml.model_selection._compat import (
    CallbackSupportMixin,
    Tasks,
    with_callbacks,
)
from subsetml.selection import GradMatchSelector, RandomSelector
from subsetml.selection._base import per_class_value
from subsetml.selection._registry import SELECTOR_NAMES, make_selector, own_seed
from subsetml.selection._views import (
    check_frame_finite,
    check_lastlayer,
    is_frame,
    is_raw_rows,
    is_sklearns,
    is_text,
    num_rows,
    select_rows,
    takes_nan,
    takes_one_d,
    view_input,
)

__all__ = ["SubsetEstimator", "SELECTOR_NAMES", "make_selector"]


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


# Multi-output chains: fit(X, Y, **fit_params) passes them to each link.
_CHAINS = (ClassifierChain, RegressorChain)


class SubsetEstimator(CallbackSupportMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on a small, well-chosen subset of the training rows.

    The selection happens inside :meth:`fit`, on the rows ``fit`` receives, so
    the estimator is correct in any cross-validation fold, pipeline or search:
    nothing outside the training fold is ever looked at. Prediction methods
    are delegated to the fitted clone ``estimator_``.

    Parameters
    ----------
    estimator : estimator object
        The model to train on the subset. Cloned, never modified.
    selector : {"random", "craig", "glister", "gradmatch"} or selector, \
            default="craig"
        How rows are chosen (see :mod:`subsetml.selection`). CRAIG is the
        default because it is the only selector never more than 2 points
        below random subsets in the quality panel
        (``benchmarks/results/quality.json``, 234 cells, real data
        included) even on average, significant or not (see the user
        guide).
    subset_size : int or float, default=0.05
        Rows to keep: a count, or a fraction in (0, 1] of the rows ``fit``
        receives.
    use_weights : {"auto", True, False}, default="auto"
        Pass the selector's weights (rescaled to mean 1, multiplied into any
        ``sample_weight`` given to ``fit``) to the estimator. ``"auto"`` does so
        when the estimator's ``fit`` takes ``sample_weight`` (for a Pipeline:
        when its final step does, passed as ``<step>__sample_weight``) and
        otherwise fits
        on the unweighted subset with a warning; ``True`` raises instead.
    lastlayer : {"auto", "inputs", "proxy", "estimator"} or callable, \
            default="auto"
        Where the per-row gradients come from. ``"inputs"`` (and ``"auto"``):
        the untrained view of a model about to be fitted from scratch --
        standardised inputs, class-prior outputs
        (:meth:`LastLayer.from_inputs`). ``"proxy"``: a linear stand-in
        fitted on the training rows (:meth:`LastLayer.from_proxy`).
        ``"estimator"``: a clone of ``estimator`` fitted on a random subset of
        the same size (a cheap fit), read with :meth:`LastLayer.from_estimator`
        on all training rows; it reads the model's inputs as a dense array,
        so wide sparse input (TF-IDF) costs its dense size in memory there
        (a review: 3.9 GB for 5,000 rows of 50,000 columns). The gradients of
        a fitted model single out the rows it gets wrong, which is the wrong
        signal for one fit from scratch (see :meth:`LastLayer.from_inputs`);
        use those two for experiments. A callable ``f(X, y) -> LastLayer`` is
        used as is.
        Random selection needs no view.
    random_state : int, RandomState instance or None, default=None
        Seeds the selection (and the cheap fit) when the selector has no seed
        of its own.

    Attributes
    ----------
    estimator_ : estimator
        The clone fitted on the subset.
    subset_ : Subset
        Chosen rows (positions in the ``X`` given to ``fit``) and their
        selector weights.
    selection_time_ : float
        Seconds spent building the view and selecting.
    selector_ : selector
        The selector used.
    classes_ : ndarray
        Class labels (classifiers only).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string feature names.

    See Also
    --------
    subsetml.selection : The selectors.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from subsetml.model_selection import SubsetEstimator
    >>> X, y = load_digits(return_X_y=True)
    >>> model = SubsetEstimator(
    ...     LogisticRegression(max_iter=1000), selector="craig", subset_size=0.2,
    ...     random_state=0,
    ... )
    >>> scores = cross_val_score(model, X, y, cv=3)
    >>> bool(scores.mean() > 0.8)
    True
    >>> model.fit(X, y).subset_.size
    360
    """

    # score passes sample_weight on to the estimator as its request says
    # (get_metadata_routing); it does not use them itself.
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}

    def __init__(
        self,
        estimator,
        *,
        selector="craig",
        subset_size=0.05,
        use_weights="auto",
        lastlayer="auto",
        random_state=None,
    ):
        self.estimator = estimator
        self.selector = selector
        self.subset_size = subset_size
        self.use_weights = use_weights
        self.lastlayer = lastlayer
        self.random_state = random_state

    # ----------------------------------------------------------------- fit
    @with_callbacks
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Select a subset of ``(X, y)`` and fit a clone of the estimator on it.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape \
(n_samples, n_features), or sequence of str of length n_samples
            Passed to the estimator as given (rows taken with
            :func:`sklearn.utils._safe_indexing`): DataFrames keep their
            columns and dtypes, text stays text. The selector reads the
            output of a Pipeline's steps before the last (fitted on these
            rows), a one-hot view of a DataFrame, or ``X`` itself.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
default=None
            Class labels, or one or more regression targets (several are
            selected for together; the estimator must take them). None only
            for an estimator fitted without a target (KMeans, PCA, a
            density) and random subsets (``selector="random"``), which then
            draw rows uniformly, as :class:`SubsetSearchCV` does.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplied into the selector's weights on the chosen rows. Rows
            of weight 0, which count for nothing in a fit, are never chosen:
            a fractional ``subset_size`` is a share of the other rows.
        **fit_params : dict
            Passed to the estimator's ``fit``; arrays and pandas objects of
            length ``n_samples`` are subset along with ``X``, by position. A
            Pipeline step's own weights (``<step>__sample_weight``) multiply
            the selector's, as ``sample_weight`` does. With scikit-learn's
            metadata routing on, they go where the estimator's requests
            (``set_fit_request``) route them, as in its meta-estimators.

        Returns
        -------
        self : SubsetEstimator
        """
        if fit_params and get_config().get("enable_metadata_routing", False):
            from sklearn.utils.metadata_routing import process_routing

            fit_params = process_routing(self, "fit", **fit_params).estimator.fit
        X, y, sample_weight, k = self._validate_fit_data(X, y, sample_weight)
        net = _adaptive_net(self.estimator, self.selector, self.subset_size, self._seed)
        if net is not None:
            # A skorch net selects during its own training (re-selecting from
            # its last layer as it learns), so it gets all the rows.
            if sample_weight is not None:
                raise ValueError(
                    "sample_weight is not supported for skorch nets, which "
                    "train on adaptively selected subsets."
                )
            tasks = Tasks.root(self, max_subtasks=1, X=X, y=y)
            with tasks.fitting(self, "fit-selecting-while-training", net, X, y):
                self.estimator_ = net.fit(X, y, **fit_params)
            self.subset_ = final_step(net).subset_
            self.selection_time_ = final_step(net).selection_time_
            tasks.end(self, X, y)
            return self
        weighted = self._check_weighting()
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        # scikit-learn's callbacks (set_callbacks, 1.9+): selecting the
        # subset, then fitting the estimator on it.
        tasks = Tasks.root(self, max_subtasks=2, X=X, y=y, metadata=metadata)
        selecting = tasks.sub(self, "select-subset")
        t0 = time.perf_counter()
        self.subset_ = self._select_counted(X, y, k, sample_weight)
        self.selection_time_ = time.perf_counter() - t0
        selecting.end(self)
        self._fit_subset(X, y, sample_weight, weighted, fit_params, tasks)
        tasks.end(self, X, y, metadata)
        return self

    def _validate_params(self):
        if self.use_weights not in ("auto", True, False):
            raise ValueError(
                f"use_weights must be 'auto', True or False, got {self.use_weights!r}."
            )
        check_lastlayer(self.lastlayer)
        if not hasattr(self.estimator, "fit"):
            raise TypeError(
                f"estimator must have a fit method, got {type(self.estimator)!r}."
            )

    def _validate_fit_data(self, X, y, sample_weight):
        """Check parameters and data; set ``classes_``; resolve the budget.

        ``X`` is returned as given (a DataFrame keeps its columns and dtypes,
        text stays text): it reaches the estimator untouched, which checks
        it as it would without us. What the selector reads is built from it
        by :meth:`_view_input`.
        """
        self._validate_params()
        needs_y = self._needs_y()
        if y is None and needs_y:
            unsupervised = not get_tags(model_step(self.estimator)).target_tags.required
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None"
                + (
                    f": selector={self.selector!r} selects training rows by "
                    "their target. Draw random subsets (selector='random') "
                    f"for {type(self.estimator).__name__}, which is fitted "
                    "without one."
                    if unsupervised
                    else "."
                )
            )
        X = self._check_X(X, reset=True)
        if self._pairwise():
            rows, cols = X.shape
            if rows != cols:
                # The subset's rows and columns are cut from it, so the
                # estimator's own check would see a square matrix.
                raise ValueError(
                    "Precomputed matrix must be a square matrix (a kernel or "
                    "distance between every pair of training rows). Input is "
                    f"a {rows}x{cols} matrix."
                )
        # A skorch net (alone, a Pipeline's last step, or the regressor of a
        # TransformedTargetRegressor) weights its own losses.
        net = adapter_for(model_step(self.estimator)) is not None
        if y is None:
            pass  # an unsupervised estimator's random rows (_needs_y)
        elif not needs_y:
            # The same, given a y it ignores (a Pipeline passes its labels
            # to every step): taken along with the rows, never read.
            y = np.asarray(y)
        elif is_classifier(self.estimator):
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            if y.ndim == 2 and y.shape[1] > 1:
                raise label_columns_error(
                    type(self).__name__,
                    y.shape,
                    "Fit one SubsetEstimator per output, or the estimator on all rows.",
                )
            y = column_or_1d(y, warn=True)
        else:
            y = check_numeric_y(y)
            # A skorch regressor takes y of shape (n, 1) (its loss compares
            # it with an (n, 1) output); flattened, MSELoss broadcast the
            # batch against itself and subset trials scored near 0 (a
            # review). Other estimators get scikit-learn's 1-D column.
            if not (y.ndim == 2 and net):
                y = one_or_more_targets(y)
        if y is not None:
            check_consistent_length(X, y)
        # An earlier fit's classes (a classifier swapped for a regressor by
        # set_params) must not outlive it, as in a Pipeline (a review).
        self.__dict__.pop("classes_", None)
        if is_classifier(self.estimator):
            check_label_types(y)
            check_classification_targets(y)
            self.classes_ = np.unique(y)
            if self.classes_.shape[0] < 2:
                raise ValueError(
                    "The training data has only one class "
                    f"({self.classes_[0]!r}); a classifier needs at least two."
                )
        n = num_rows(X)
        resampler = None if sample_weight is None else _resampler(self.estimator)
        if resampler is not None:
            raise ValueError(
                f"The Pipeline's step {resampler!r} resamples "
                "the rows, so no per-row sample_weight can follow them to its "
                "last step; fit without it."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, np.empty((n, 0)), ensure_non_negative=True
            )
            if has_fit_parameter(self.estimator, "sample_weight"):
                # Under metadata routing, an estimator that has not said
                # whether it takes them refuses them, as in scikit-learn's
                # meta-estimators.
                _fit_request(self.estimator, sample_weight)
            if (
                # A net that selects while it trains refuses them in fit.
                adapter_for(final_step(self.estimator)) is None
                and _user_weight_key(self.estimator) is None
                and not _unrequested(self.estimator)
            ):
                _check_row_choosing_weights(self.estimator, sample_weight)
        counted = counted_rows(sample_weight, n)
        k = counted_budget(self.subset_size, counted.shape[0], n)
        if is_classifier(self.estimator):
            # A search's selection (_warned_budget: it warned once for all
            # folds) raises the budget without a warning of its own.
            k = cover_classes(
                k,
                _check_counted_classes(y, counted, n),
                warn=not getattr(self, "_warned_budget", False),
            )
        rng = check_random_state(self.random_state)
        self._seed = rng.randint(np.iinfo(np.int32).max)
        # Where the weights will be dropped, a selector with a mode for that
        # uses it (GRAD-MATCH's equal weights). Nets weight their own losses.
        weighted = net or self._check_weighting(warn=False)
        self.selector_ = make_selector(
            self.selector, random_state=self._seed, weighted=weighted
        )
        # The view's randomness (a wide sparse X's SVD, the cheap fit of
        # lastlayer="estimator") follows a seeded selector's own seed, so that
        # it picks the same rows whatever this estimator's random_state.
        own = own_seed(self.selector)
        self._view_seed = self._seed if own is None else own
        return X, y, sample_weight, k

    def _needs_y(self):
        """Whether ``fit`` needs a target: unless the estimator is fitted
        without one and the subsets are random rows (not per class)."""
        if get_tags(model_step(self.estimator)).target_tags.required:
            return True
        selector = make_selector(self.selector)
        return (
            not isinstance(selector, RandomSelector)
            or per_class_value(selector.per_class) is True
        )

    def _check_weighting(self, *, warn=True):
        """Whether the selector's weights reach ``fit`` (warns or raises if not)."""
        if self.use_weights is False:
            return False
        if _sample_weight_key(self.estimator) is not None:
            return True
        if self.use_weights is True:
            resampler = _resampler(self.estimator)
            raise ValueError(
                (
                    f"The Pipeline's step {resampler!r} resamples the rows, so "
                    "no per-row weights can follow them"
                    if resampler is not None
                    else f"{type(self.estimator).__name__} does not request "
                    "sample_weight under metadata routing (set_fit_request("
                    "sample_weight=True) on it to take the selector's weights)"
                    if _unrequested(self.estimator)
                    else f"{_weightless_name(self.estimator, pipeline=False)}"
                    ".fit does not take sample_weight"
                )
                + "; set use_weights='auto' or False to fit on the unweighted "
                "subset."
            )
        if warn and not getattr(
            make_selector(self.selector, weighted=False), "_equal_weights", False
        ):
            routed = (
                getattr(self.estimator, "steps", None)
                or _routes_metadata(self.estimator)
            ) and get_config().get("enable_metadata_routing", False)
            resampler = _resampler(self.estimator)
            warnings.warn(
                (
                    f"The Pipeline's step {resampler!r} resamples the rows, so "
                    "no per-row weights can follow them to its last step"
                    if resampler is not None
                    else f"The {type(self.estimator).__name__}'s metadata "
                    "routing does not pass sample_weight on ("
                    f"{_routing_refusal(self.estimator)}; set_fit_request("
                    "sample_weight=True) on the steps that should take the "
                    "selector's weights, False on the others)"
                    if routed
                    else f"{type(self.estimator).__name__} does not request "
                    "sample_weight under metadata routing "
                    "(set_fit_request(sample_weight=True) on it to take the "
                    "selector's weights)"
                    if _unrequested(self.estimator)
                    else f"{_weightless_name(self.estimator)}.fit does not take "
                    "sample_weight"
                )
                + ": fitting on the subset without the selector's weights."
                + _unweighted_regression_note(self.estimator, self.selector),
                UserWarning,
                stacklevel=external_stacklevel(),
            )
        return False

    def _select_counted(self, X, y, k, sample_weight):
        """:meth:`_select` among the rows whose ``sample_weight`` is not 0:
        rows that count for nothing in the fit are never picked (the budget
        ``k`` is a share of the others), as they drop out of GridSearchCV's
        fits. Other weights multiply the selector's afterwards."""
        counted = counted_rows(sample_weight, num_rows(X))
        if k == counted.shape[0]:
            # Every row that counts, weight 1: the estimator's own fit on
            # them, as a search's rung of all rows; no view to build.
            return Subset(counted, np.ones(k))
        if counted.shape[0] == num_rows(X):
            return self._select(X, y, k)
        subset = self._select(
            _safe_indexing(X, counted), None if y is None else y[counted], k
        )
        return Subset(counted[subset.indices], subset.weights)

    def _select(self, X, y, k):
        """The subset of validated ``(X, y)``; ``selector_`` is set."""
        task = "classification" if is_classifier(self.estimator) else "regression"
        if y is None or not self._needs_y():
            # An unsupervised estimator (_needs_y): rows drawn uniformly, as
            # for a regressor's random subsets (its y, if given, unread).
            y = np.zeros(num_rows(X))
        if not isinstance(self.selector_, RandomSelector):
            X = self._view_input(X, y)
        return select_rows(
            self.selector_,
            X,
            y,
            k,
            self._view_seed,
            lastlayer=self.lastlayer,
            estimator=self.estimator,
            task=task,
        )

    def _view_input(self, X, y):
        """The numeric rows the selector's view is built from (see
        :func:`~subsetml.selection._views.view_input`)."""
        return view_input(
            X,
            y,
            estimator=self.estimator,
            lastlayer=self.lastlayer,
            who=type(self.selector_).__name__,
        )

    def _fit_subset(self, X, y, sample_weight, weighted, fit_params, tasks=None):
        """Fit a clone of the estimator on ``subset_`` of validated data."""
        n = num_rows(X)
        idx = self.subset_.indices
        w = self.subset_.weights
        weights = None
        # Equal selector weights (random, GLISTER) say nothing: passing them
        # would only slow estimators down (HistGradientBoosting took 15x as
        # long with all-ones sample_weight) or change their defaults.
        if weighted and w.sum() > 0 and np.ptp(w) > 0:
            weights = w / w.mean()
            if sample_weight is not None:
                weights = weights * sample_weight[idx]
        elif sample_weight is not None:
            weights = sample_weight[idx]
        params = {key: _take(value, idx, n) for key, value in fit_params.items()}
        if weights is not None and _unrequested(self.estimator):
            # Metadata routing on, and the estimator said it takes no
            # sample_weight: the user's weights chose the rows that count
            # (this estimator consumes them) and reach it no further, as a
            # scikit-learn meta-estimator leaves them out (an unset request
            # raised its error in _validate_fit_data).
            weights = None
        key = _user_weight_key(self.estimator)
        if key is None:
            # Nothing takes weights: the user's (equal, checked in
            # _validate_fit_data) only chose the rows that count.
            weights = None
        if weights is not None:
            if params.get(key) is not None:
                # The user's own weights for that step (e.g. clf__sample_weight)
                # multiply the selector's, as sample_weight= does.
                weights = weights * np.asarray(params[key], dtype=np.float64)
            params[key] = weights
        y_sub = None if y is None else y[idx]  # None: a search's unsupervised trial
        if (
            y is not None
            and is_classifier(self.estimator)
            and len(np.unique(y_sub)) < 2
        ):
            raise ValueError(
                f"The subset of {idx.shape[0]} rows holds a single class; raise "
                "subset_size or use a per-class selector."
            )
        estimator = clone(self.estimator)
        X_sub = _safe_indexing(X, idx)
        if self._pairwise():
            # A precomputed kernel or distance matrix: rows and columns.
            X_sub = _safe_indexing(X_sub, idx, axis=1)
        with (tasks or Tasks()).fitting(self, "fit-on-subset", estimator, X_sub, y_sub):
            self.estimator_ = estimator.fit(X_sub, y_sub, **params)

    # ----------------------------------------------------------- delegation
    @available_if(_estimator_has("predict"))
    def predict(self, X, **params):
        """Predict with the estimator fitted on the subset.

        ``params`` go to the estimator's ``predict`` as given, as
        ``Pipeline.predict`` passes them (a Gaussian process's
        ``return_std``).
        """
        check_is_fitted(self)
        return self.estimator_.predict(self._kernel_columns(self._check_X(X)), **params)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X, **params):
        """Class probabilities from the estimator fitted on the subset
        (``params`` go to its ``predict_proba``)."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(
            self._kernel_columns(self._check_X(X)), **params
        )

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X, **params):
        """Log class probabilities from the estimator fitted on the subset
        (``params`` go to its ``predict_log_proba``)."""
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(
            self._kernel_columns(self._check_X(X)), **params
        )

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the estimator fitted on the subset."""
        check_is_fitted(self)
        return self.estimator_.decision_function(self._kernel_columns(self._check_X(X)))

    @available_if(_estimator_has("score_samples"))
    def score_samples(self, X):
        """Per-row scores of the estimator fitted on the subset (e.g. a
        density's log-likelihood)."""
        check_is_fitted(self)
        return self.estimator_.score_samples(self._kernel_columns(self._check_X(X)))

    @available_if(_estimator_has("transform"))
    def transform(self, X, **params):
        """Transform with the estimator fitted on the subset, so that a
        fitted-on-a-subset transformer can be a Pipeline's middle step
        (``params`` go to its ``transform``)."""
        check_is_fitted(self)
        return self.estimator_.transform(
            self._kernel_columns(self._check_X(X)), **params
        )

    @available_if(_estimator_has("transform"))
    def fit_transform(self, X, y=None, sample_weight=None, **fit_params):
        """Fit on a subset of ``(X, y)``, then transform all of ``X``: the
        transformer learns from the subset and applies to every row, as
        :meth:`fit` then :meth:`transform` would.

        Returns
        -------
        X_new : array-like of shape (n_samples, n_components)
        """
        return self.fit(X, y, sample_weight=sample_weight, **fit_params).transform(X)

    @available_if(_estimator_has("transform"))
    def set_output(self, *, transform=None):
        """Set the output container of :meth:`transform` (``"default"``,
        ``"pandas"``, ``"polars"``), as scikit-learn's ``set_output``: on the
        wrapped transformer, which each fit clones, and on the fitted one.
        A Pipeline's ``set_output`` calls it.

        Returns
        -------
        self : SubsetEstimator
        """
        if transform is None:
            return self
        for est in (self.estimator, getattr(self, "estimator_", None)):
            if est is None:
                continue
            if not hasattr(est, "set_output"):
                raise ValueError(
                    f"{type(est).__name__} has no set_output: its transform "
                    "output cannot be configured."
                )
            est.set_output(transform=transform)
        return self

    @available_if(_estimator_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features=None):
        """Output feature names of the transformer fitted on the subset, so
        that a Pipeline with it as a step can name its output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Passed to the fitted transformer's ``get_feature_names_out``.

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        return self.estimator_.get_feature_names_out(input_features)

    @available_if(_estimator_has("inverse_transform"))
    def inverse_transform(self, X):
        """The fitted estimator's ``inverse_transform`` (``X`` in its output
        space, passed as given)."""
        check_is_fitted(self)
        return self.estimator_.inverse_transform(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y=None, sample_weight=None):
        """The fitted estimator's own ``score`` on ``(X, y)`` (``y`` None for
        a model fitted without a target, as KMeans scores)."""
        check_is_fitted(self)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        if kwargs and get_config().get("enable_metadata_routing", False):
            # The estimator's score request decides, as Pipeline.score's
            # routing does (an unset request raises scikit-learn's error).
            from sklearn.utils.metadata_routing import process_routing

            kwargs = process_routing(self, "score", **kwargs).estimator.score
        X = self._kernel_columns(self._check_X(X))
        return self.estimator_.score(X, y, **kwargs)

    def get_metadata_routing(self):
        """How metadata reach the estimator under scikit-learn's metadata
        routing: ``fit``'s and ``score``'s go to the estimator's, as its own
        requests say (as in ``BaggingClassifier``), so a request set on the
        estimator (``set_fit_request(sample_weight=True)``) is all a Pipeline
        or ``cross_validate`` needs. ``sample_weight`` also chooses the rows
        that count (those of weight 0 are never selected), so ``fit`` asks
        for it itself once the estimator has said whether it takes it (True
        or False), unless set otherwise with this estimator's
        ``set_fit_request``.

        Returns
        -------
        routing : sklearn.utils.metadata_routing.MetadataRouter
        """
        from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

        # fit uses sample_weight itself (rows of weight 0 are never chosen),
        # so it asks for them: as set with this estimator's own
        # set_fit_request, else wherever the estimator has said whether it
        # takes them (True or False). With the estimator's request False, a
        # router still brings them here to choose the rows that count.
        request = copy.deepcopy(self._get_metadata_request())
        if request.fit.requests.get("sample_weight") is None and _fit_request(
            self.estimator
        ) in (True, False):
            request.fit.add_request(param="sample_weight", alias=True)
        return (
            MetadataRouter(owner=self)
            .add_self_request(request)
            .add(
                estimator=self.estimator,
                method_mapping=MethodMapping()
                .add(caller="fit", callee="fit")
                .add(caller="score", callee="score"),
            )
        )

    def _pairwise(self):
        return bool(get_tags(self.estimator).input_tags.pairwise)

    def _kernel_columns(self, X):
        """For a precomputed kernel or distance matrix, the columns of the
        training rows the estimator was fitted on."""
        if not self._pairwise():
            return X
        return _safe_indexing(X, self.subset_.indices, axis=1)

    def _check_X(self, X, reset=False):
        """``X`` as the estimator will get it.

        A DataFrame and a one-dimensional sequence of strings (documents for
        a text pipeline) pass untouched: column names, dtypes and text reach
        the estimator as given, as do rows that the estimator's input tags
        say it reads itself (dicts for a DictVectorizer or FeatureHasher,
        token lists; :func:`is_raw_rows`). A 1-D array is taken where the
        tags say ``one_d_array`` (IsotonicRegression). Other input is
        checked as scikit-learn estimators check it (2-D, sparse as CSR or
        CSC; numeric and finite unless the estimator takes missing values),
        except that a Pipeline gets strings and missing values through: its
        own steps may encode and impute them.
        """
        tags = get_tags(self.estimator)
        pipeline = isinstance(self.estimator, Pipeline)
        # A Pipeline's tags are its first step's, but an imputer anywhere in
        # it (inside a ColumnTransformer, say) may handle missing values:
        # it raises its own error if none does, as does an estimator whose
        # tags say nothing.
        allow_nan = takes_nan(self.estimator)
        if is_frame(X):
            check_frame_finite(X, self.estimator)
        elif is_raw_rows(X, self.estimator):
            # Dicts or token lists for a DictVectorizer, FeatureHasher, ...:
            # the estimator reads and checks them itself. They have no
            # feature count to keep (token lists differ in length).
            return X
        elif not is_text(X):
            # scikit-learn's own estimators say truly what they take; a
            # Pipeline (whose tags are its first step's) and other models
            # (skorch nets, CatBoost) may take strings and n-d arrays (a
            # CNN's channels, images), as in GridSearchCV (a review).
            # (A scikit-learn wrapper, TransformedTargetRegressor, is read
            # through to the model it wraps.)
            trusted = not pipeline and is_sklearns(model_step(self.estimator))
            check = functools.partial(
                check_array,
                accept_sparse=["csr", "csc"],
                ensure_all_finite=not allow_nan,
                # A 1-D X for an estimator whose tags say it takes one.
                ensure_2d=not takes_one_d(self.estimator),
                allow_nd=not trusted or tags.input_tags.three_d_array,
                # scikit-learn's message for NaN, which says to impute them
                # (without these, a bare "Input contains NaN.", a review).
                input_name="X",
                estimator=self.estimator,
            )
            reads_strings = tags.input_tags.string or tags.input_tags.categorical
            if pipeline or (trusted and reads_strings):
                X = check(X, dtype=None)
            elif trusted:
                X = check(X, dtype="numeric")
            else:
                # Numbers in an object array become numbers, as before;
                # strings stay strings for a model that reads them (any
                # other error comes again from the second check).
                try:
                    X = check(X, dtype="numeric")
                except ValueError:
                    X = check(X, dtype=None)
        if (
            not reset
            and not self._pairwise()
            and (is_frame(X) or hasattr(self.estimator_, "feature_names_in_"))
        ):
            # The estimator checks columns itself. A frame: a Pipeline whose
            # ColumnTransformer picks them by name takes them reordered, or
            # with one it does not use dropped or added, as it does in
            # GridSearchCV (a review); others raise their own error. An
            # array, for a model fitted on a frame: it checks the feature
            # count and warns of the missing names, which the wrapper
            # repeated in its own name. Not a precomputed kernel: its
            # columns are cut here to the subset's before the estimator
            # sees them.
            return X
        # Feature count and names (set by fit, checked afterwards).
        return validate_data(self, X, reset=reset, skip_check_array=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        # Forward the estimator's type so is_classifier, stratified CV and
        # scoring treat the wrapper like the model it wraps.
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        # A target unless random rows are drawn for a model fitted without
        # one (KMeans, PCA).
        try:
            tags.target_tags.required = self._needs_y()
        except (TypeError, ValueError):  # an unknown selector: fit says so
            tags.target_tags.required = True
        tags.target_tags.multi_output = (
            inner.target_tags.multi_output and not is_classifier(self.estimator)
        )
        tags.input_tags = copy.deepcopy(inner.input_tags)
        if tags.classifier_tags is not None:
            # fit refuses label columns (one output per SubsetEstimator).
            tags.classifier_tags.multi_label = False
        # A transformer's tags (its output), as its transform is delegated.
        tags.transformer_tags = copy.deepcopy(inner.transformer_tags)
        return tags


def _adaptive_net(estimator, selector, subset_size, seed):
    """``estimator`` as a net that selects while it trains, or None.

    Only estimators with an adapter (skorch nets, through
    :mod:`subsetml.skorch`) train adaptively, alone or as a Pipeline's last
    step (the pipeline is returned with that step replaced: its other steps
    fit on all rows and the net selects from their output); anything else
    returns None.
    """
    adapter = adapter_for(estimator)
    if adapter is not None:
        return adapter.adaptive(
            estimator, selector=selector, subset_size=subset_size, random_state=seed
        )
    if isinstance(estimator, Pipeline) and estimator.steps:
        name, final = estimator.steps[-1]
        if final is None or isinstance(final, str) or adapter_for(final) is None:
            return None
        net = _adaptive_net(final, selector, subset_size, seed)
        return clone(estimator).set_params(**{name: net})
    return None


def final_step(estimator):
    """A Pipeline's last step (recursively), or the estimator itself."""
    while isinstance(estimator, Pipeline) and estimator.steps:
        estimator = estimator.steps[-1][1]
    return estimator


def model_step(estimator):
    """The model that fits the target: :func:`final_step`, looking through
    ``TransformedTargetRegressor`` (its regressor) as well as Pipelines."""
    last = final_step(estimator)
    while isinstance(last, TransformedTargetRegressor):
        last = final_step(
            LinearRegression() if last.regressor is None else last.regressor
        )
    return last


def weights_cost_more(estimator):
    """Whether ``estimator`` (a Pipeline's last step) fits much more slowly
    with per-row weights than without, whatever the rows.

    scikit-learn's HistGradientBoosting bins every feature at weighted
    quantiles once given ``sample_weight``, one quantile at a time: in
    scikit-learn 1.9 about 0.03 s a feature, so a fit on 500 rows of 10
    features took 0.29 s weighted and 0.06 s unweighted, more than its fit
    on 10,000 rows without weights (0.16 s). Versions whose binning ignores
    the weights are not affected.
    """
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    last = model_step(estimator)
    if not isinstance(
        last, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
    ):
        return False
    try:
        from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    except ImportError:  # pragma: no cover - a private module moved
        return True
    return "sample_weight" in inspect.signature(_BinMapper.fit).parameters


def _check_row_choosing_weights(estimator, sample_weight):
    """Refuse user weights that ``estimator`` (whose ``fit`` takes none)
    would need: weights of 0 leave rows out and one value for all the others
    keeps them, which a subset honours exactly; other weights would be lost.

    ``BaggingClassifier`` passes its bootstrap counts as weights, and
    ``AdaBoostClassifier`` its boosting weights, to an estimator whose
    ``fit`` names ``sample_weight``, as ``SubsetEstimator.fit`` does.
    """
    kept = sample_weight[sample_weight > 0]
    if kept.size and np.ptp(kept) > 0:
        raise ValueError(
            f"{_weightless_name(estimator)}.fit does not take sample_weight, so "
            "SubsetEstimator can only use weights that leave rows out (0) and "
            "keep the others alike (one value for all of them); got weights "
            f"from {kept.min():.3g} to {kept.max():.3g}. Wrap an estimator "
            "that takes sample_weight, or fit without the weights (a "
            "BaggingClassifier passes its bootstrap counts as weights: "
            "bootstrap=False passes 0 and 1)."
        )


def _unweighted_regression_note(estimator, selector):
    """What dropping the weights costs a regression subset of GRAD-MATCH
    whose weighting the user set to ``"matched"`` (``"auto"`` chooses for
    equal weights there, and CRAIG's bins keep its picks representative)."""
    if is_classifier(estimator) or not isinstance(
        make_selector(selector), GradMatchSelector
    ):
        return ""
    return (
        " For a regression target GRAD-MATCH's matched picks lean towards "
        "extreme targets and rely on their weights to even that out: k-NN on "
        "Bike Sharing scored 8-17 points of R^2 x 100 below random subsets "
        "at 5-10 % (benchmarks/results/quality_unweighted.json); "
        "GradMatchSelector(weighting='equal') chooses rows for equal weights."
    )


def _weightless_name(estimator, pipeline=True):
    """The estimator a missing ``sample_weight`` is about: a Stacking or
    Voting ensemble's member that does not take it, or (with ``pipeline``) a
    Pipeline's last step (``Pipeline.fit`` takes prefixed weights only),
    named as such."""
    last = final_step(estimator) if pipeline else estimator
    inner = _forwards_weights_to(last)
    if inner is not None:
        return f"{type(inner).__name__} (the {type(last).__name__}'s estimator)"
    members = _ensemble_members(last) or []
    for member in members:
        if member is not None and _sample_weight_key(member) != "sample_weight":
            # A Stacking or Voting ensemble takes weights if its members do.
            return (
                f"{type(member).__name__} (a member of the "
                f"{type(last).__name__}, which passes sample_weight to each)"
            )
    if last is estimator or last is None:
        return type(estimator).__name__
    return f"{type(last).__name__} (the {type(estimator).__name__}'s last step)"


def _sample_weight_key(estimator):
    """The ``fit`` keyword that carries per-row weights to ``estimator``.

    ``"sample_weight"`` when its ``fit`` takes it (named, or through
    ``**fit_params`` for scikit-learn's Stacking and Voting ensembles whose
    members take it, see :func:`_members_take_sample_weight`); for a
    Pipeline, the final step's ``"<step>__sample_weight"`` (nested pipelines
    included), since ``Pipeline.fit`` only forwards prefixed parameters;
    with metadata routing on, ``"sample_weight"`` for a meta-estimator that
    routes it to a step or member requesting it, and for an estimator whose
    ``fit`` takes it only when it requests it (``set_fit_request``), as
    scikit-learn's meta-estimators route it; None when nothing takes
    weights.
    """
    routing = get_config().get("enable_metadata_routing", False)
    inner = _forwards_weights_to(estimator)
    if inner is not None and not routing:
        # MultiOutput* name sample_weight but pass it to their estimator
        # (refusing it when that does not take it); the chains pass
        # **fit_params on to theirs.
        if isinstance(estimator, _CHAINS):
            return (
                "sample_weight"
                if _sample_weight_key(inner) == "sample_weight"
                else None
            )
        return "sample_weight" if has_fit_parameter(inner, "sample_weight") else None
    if has_fit_parameter(estimator, "sample_weight"):
        if _fit_request(estimator) in (False, None):
            # Metadata routing on, and the estimator said it does not take
            # sample_weight, or has not said.
            return None
        return "sample_weight"
    if isinstance(estimator, TransformedTargetRegressor):
        # Its fit passes **fit_params to the regressor as they are.
        return _sample_weight_key(estimator.regressor or LinearRegression())
    steps = getattr(estimator, "steps", None)
    if _resampler(estimator) is not None:
        # The rows the last step fits on are not the ones given: no weights
        # can follow them.
        return None
    if routing and (steps or _routes_metadata(estimator)):
        # With metadata routing on, a Pipeline (or another meta-estimator:
        # Stacking, Voting, ...) routes ``sample_weight`` to the steps that
        # request it (``set_fit_request``) and refuses prefixes; it refuses
        # weights that no step requests, or that a step has not said whether
        # it takes. A dry run of the routing tells.
        return None if _routing_error(estimator) else "sample_weight"
    if steps:
        name, final = steps[-1]
        if final is not None and final != "passthrough":
            inner = _sample_weight_key(final)
            if inner is not None:
                return f"{name}__{inner}"
        return None
    if not routing and _members_take_sample_weight(estimator):
        return "sample_weight"
    return None


def _routing_error(estimator):
    """What a dry run of ``estimator``'s metadata routing of ``sample_weight``
    to ``fit`` raises (routing on), or None where it routes them."""
    from sklearn.utils.metadata_routing import process_routing

    try:
        process_routing(estimator, "fit", sample_weight=np.ones(1))
    except Exception as exc:  # whatever scikit-learn refuses them with
        return exc
    return None


def _routing_refusal(estimator):
    """Why ``estimator``'s metadata routing refuses ``sample_weight``:
    scikit-learn's message, first sentence (it names the step whose request
    is not set), or that no step requests it."""
    text = " ".join(str(_routing_error(estimator) or "").split())
    first = text.split(". ")[0].rstrip(".")
    return f"scikit-learn: {first[:300]}" if first else "no step requests it"


class _RoutesToEstimator:
    """A router of ``fit``'s metadata to ``estimator``, as a meta-estimator
    wrapping it routes them (for a dry run of :func:`process_routing`)."""

    def __init__(self, estimator):
        self.estimator = estimator

    def get_metadata_routing(self):
        from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping

        return MetadataRouter(owner="SubsetEstimator").add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )


def _fit_request(estimator, sample_weight=None):
    """Under metadata routing, whether ``estimator``'s ``fit`` requests
    ``sample_weight``: True, False (``set_fit_request(sample_weight=False)``)
    or None (not said, which scikit-learn's routers refuse weights for).
    ``"off"`` with routing off, or for an object without metadata requests.

    With ``sample_weight`` given (the user's weights), an unset request
    raises scikit-learn's ``UnsetMetadataPassedError``, as a meta-estimator
    given them does.
    """
    if not get_config().get("enable_metadata_routing", False) or not hasattr(
        estimator, "get_metadata_routing"
    ):
        return "off"
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.utils.metadata_routing import process_routing

    router = _RoutesToEstimator(estimator)
    try:
        routed = process_routing(
            router,
            "fit",
            sample_weight=np.ones(1) if sample_weight is None else sample_weight,
        )
    except UnsetMetadataPassedError:
        if sample_weight is not None:
            raise
        return None
    except TypeError:  # requested by nothing: sample_weight=False
        return False
    return "sample_weight" in routed.estimator.fit


def _unrequested(estimator):
    """Whether metadata routing is on and ``estimator``'s ``fit`` takes
    ``sample_weight`` but does not request it."""
    return has_fit_parameter(estimator, "sample_weight") and _fit_request(
        estimator
    ) in (False, None)


def _routes_metadata(estimator):
    """Whether ``estimator`` is a meta-estimator that routes metadata to the
    estimators inside it (it has a ``MetadataRouter``)."""
    from sklearn.utils.metadata_routing import MetadataRouter, get_routing_for_object

    try:
        return isinstance(get_routing_for_object(estimator), MetadataRouter)
    except Exception:
        return False


def _ensemble_members(estimator):
    """The estimators a scikit-learn Stacking or Voting ensemble's ``fit``
    passes ``sample_weight`` to (its members, and a stacking's final
    estimator, None for its default), or None for any other estimator."""
    from sklearn.ensemble import (
        StackingClassifier,
        StackingRegressor,
        VotingClassifier,
        VotingRegressor,
    )

    stacking = isinstance(estimator, (StackingClassifier, StackingRegressor))
    if not (stacking or isinstance(estimator, (VotingClassifier, VotingRegressor))):
        return None
    members = []
    if not (stacking and estimator.cv == "prefit"):  # prefit members: no fit
        members = [
            est
            for _, est in (estimator.estimators or [])
            if est is not None and not isinstance(est, str)  # "drop"
        ]
    if stacking:
        # The default final estimator (LogisticRegression, RidgeCV) takes
        # weights.
        members.append(estimator.final_estimator)
    return members


def _user_weight_key(estimator):
    """The ``fit`` keyword for the user's ``sample_weight``:
    :func:`_sample_weight_key`, else ``"sample_weight"`` for a
    ``fit(X, y, **kwargs)`` that may pass them on (GridSearchCV, a wrapper
    of the user's), as before the weightless check. The selector's weights
    go only where :func:`_sample_weight_key` says (nothing says such a fit
    uses them)."""
    key = _sample_weight_key(estimator)
    if key is None and _passes_kwargs(estimator):
        return "sample_weight"
    return key


def _passes_kwargs(estimator):
    """Whether ``estimator.fit`` takes ``**kwargs`` that may carry
    ``sample_weight`` on (a search object, a user's wrapper), other than the
    meta-estimators whose handling of them :func:`_sample_weight_key` knows
    (Pipelines, target transformers, Stacking and Voting ensembles, the
    multi-output wrappers, skorch nets)."""
    if (
        isinstance(estimator, (Pipeline, TransformedTargetRegressor))
        or _ensemble_members(estimator)
        or _forwards_weights_to(estimator) is not None
        or adapter_for(estimator) is not None
    ):
        return False
    try:
        parameters = inspect.signature(estimator.fit).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is p.VAR_KEYWORD for p in parameters)


def _forwards_weights_to(estimator):
    """The estimator that a scikit-learn ``MultiOutputClassifier``,
    ``MultiOutputRegressor``, ``ClassifierChain`` or ``RegressorChain`` fits
    with ``fit``'s ``sample_weight`` (metadata routing off), else None."""
    if isinstance(estimator, (MultiOutputClassifier, MultiOutputRegressor, *_CHAINS)):
        return getattr(estimator, "estimator", None)
    return None


def _members_take_sample_weight(estimator):
    """Whether ``estimator`` is a scikit-learn Stacking or Voting ensemble
    that fits with ``sample_weight`` without metadata routing.

    Their ``fit(X, y, **fit_params)`` (scikit-learn 1.6 and later) takes
    ``sample_weight`` alone among keyword arguments when routing is off, and
    passes it, unprefixed, to every member's ``fit`` (a stacking's
    cross-validated fits and final estimator too), failing if one does not
    take it: so all must. No general rule tells this from the signature:
    other meta-estimators with ``**fit_params`` (OneVsRestClassifier,
    SelfTrainingClassifier) refuse ``sample_weight`` when routing is off.
    """
    members = _ensemble_members(estimator)
    return bool(members) and all(
        member is None or _sample_weight_key(member) == "sample_weight"
        for member in members
    )


def counted_rows(sample_weight, n):
    """Positions of the rows whose weight is not 0 (all when None)."""
    if sample_weight is None:
        return np.arange(n)
    return np.flatnonzero(np.asarray(sample_weight) > 0)


def counted_budget(subset_size, n_counted, n):
    """``resolve_budget`` over the ``n_counted`` of ``n`` rows whose
    sample_weight is not 0, with errors that say so."""
    if n_counted == 0:
        raise ValueError(
            f"Every one of the {n} rows has sample_weight 0: there is no row "
            "to select a subset from."
        )
    try:
        return resolve_budget(subset_size, n_counted, name="subset_size")
    except ValueError as exc:
        if n_counted == n:
            raise
        raise ValueError(
            f"{exc} (the rows whose sample_weight is not 0: {n_counted} of {n})"
        ) from None


def _check_counted_classes(y, counted, n):
    """``y`` of the rows that count, with at least two classes among them,
    and every class of ``y``: the subset model's ``classes_`` (and its
    ``predict_proba`` columns) must be those of the whole ``y``."""
    if counted.shape[0] == n:
        return y
    kept = y[counted]
    classes = np.unique(kept)
    if classes.shape[0] < 2:
        raise ValueError(
            "The rows whose sample_weight is not 0 hold only one class "
            f"({kept[0]!r}); a subset for a classifier needs at least two."
        )
    missing = np.setdiff1d(np.unique(y), classes)
    if missing.size:
        label = missing[0]
        label = label.item() if isinstance(label, np.generic) else label
        raise ValueError(
            f"Every row of class {label!r} has sample_weight 0, so no "
            "subset can hold it and the model would not know the class "
            "(its predict_proba would lack that column). Drop those rows, "
            "or give them a weight."
        )
    return kept


def _resampler(estimator):
    """The name of a Pipeline step that resamples the rows before the model
    fits (:func:`is_resampler`; in a nested Pipeline too), or None."""
    steps = getattr(estimator, "steps", None) or []
    for i, (name, step) in enumerate(steps):
        if i < len(steps) - 1 and is_resampler(step):
            return name
        inner = _resampler(step)
        if inner is not None:
            return inner
    return None


def _take(value, idx, n):
    if hasattr(value, "shape") and getattr(value, "shape", (0,))[0] == n:
        # By position: a pandas Series or DataFrame is indexed by label.
        return _safe_indexing(value, idx)
    if isinstance(value, (list, tuple)) and len(value) == n:
        return [value[i] for i in idx]
    return value
