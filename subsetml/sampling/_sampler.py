"""SubsetSampler: the selection step on its own, handing back the chosen rows."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    is_classifier,
    is_regressor,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    validate_data,
)

from subsetml._subset import cover_classes, resolve_budget
from subsetml._validation import (
    check_label_types,
    label_columns_error,
    one_or_more_targets,
)
from subsetml.lastlayer import MAX_GUESSED_CLASSES, infer_task
from subsetml.sampling._tags import sampler_tags
from subsetml.selection import RandomSelector, make_selector
from subsetml.selection._base import per_class_value
from subsetml.selection._registry import own_seed
from subsetml.selection._views import (
    check_lastlayer,
    frame_has_missing,
    is_frame,
    is_text,
    num_rows,
    select_rows,
    takes_nan,
    view_input,
)

__all__ = ["SubsetSampler", "select_subset"]

_TASKS = ("auto", "classification", "regression")

# Parameter descriptions shared by SubsetSampler and select_subset; each
# ``<name>`` line of a docstring is replaced by the text below.
_PARAMETER_DOCS = {
    "selector": """\
    selector : {"random", "craig", "glister", "gradmatch"} or selector, \
default="craig"
        How rows are chosen (see :mod:`subsetml.selection`). An instance is
        cloned; its own ``random_state`` wins over ``random_state`` below.
        GRAD-MATCH (``weighting="auto"``) chooses rows for equal weights
        in :class:`SubsetSampler`, whose rows go on without weights, and
        matches weights in :func:`select_subset`, which returns them; set
        ``GradMatchSelector(weighting=...)`` to choose.
""",
    "subset_size": """\
    subset_size : int or float, default=0.05
        Rows to keep: a count, or a fraction in (0, 1] of the rows of ``X``
        (rounded up).
""",
    "lastlayer": """\
    lastlayer : {"auto", "inputs", "proxy", "estimator"} or callable, \
default="auto"
        Where the per-row gradients of the gradient selectors come from.
        ``"inputs"`` (and ``"auto"``): the untrained view of a model about to
        be fitted from scratch (:meth:`~subsetml.LastLayer.from_inputs`).
        ``"proxy"``: a linear stand-in fitted on ``(X, y)``
        (:meth:`~subsetml.LastLayer.from_proxy`). ``"estimator"``: a clone of
        ``estimator`` fitted on a random subset of the budget's size and read
        on all rows (:meth:`~subsetml.LastLayer.from_estimator`). A callable
        ``f(X, y) -> LastLayer`` gets the validated data. The random selector
        reads no gradients and ignores this. The gradients of a fitted model
        (``"proxy"``, ``"estimator"``) single out the rows it gets wrong,
        the wrong signal for one fit from scratch: subsets built on them
        trained models below random subsets. Keep ``"auto"`` unless
        experimenting.
""",
    "estimator": """\
    estimator : estimator, default=None
        The model whose gradients ``lastlayer="estimator"`` reads, typically
        the model the subset is for. Cloned, never fitted itself. Also sets
        the task when ``task="auto"`` and it is a classifier or regressor.
""",
    "task": """\
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` takes the task of ``estimator`` when it has one, else reads
        it off ``y`` (:func:`~sklearn.utils.multiclass.type_of_target`):
        integer or string labels are classes, floats with a fractional part
        are regression targets. Pass ``"regression"`` for integer targets
        such as counts. Guessed classes are refused with a ``ValueError``
        that asks for ``task`` where they are likely a numeric target: more
        than 30 distinct whole numbers, or whole-number floats (``0.0``,
        ``1.0``, ...) with more distinct values than the budget has rows;
        ``task="classification"`` keeps them as classes (the budget then
        grows to a row per class, with a warning).
""",
    "random_state": """\
    random_state : int, RandomState instance or None, default=None
        Seeds the selection (and the cheap fit of ``lastlayer="estimator"``)
        when the selector has no seed of its own. An int gives the same rows
        on every call.
""",
}


def _fill_parameter_docs(obj):
    doc = obj.__doc__
    for name, text in _PARAMETER_DOCS.items():
        doc = doc.replace(f"    <{name}>\n", text)
    obj.__doc__ = doc
    return obj


@_fill_parameter_docs
class SubsetSampler(OneToOneFeatureMixin, BaseEstimator):
    """Keep a small, well-chosen subset of the rows: a sampler step.

    :meth:`fit_resample` selects rows of ``(X, y)`` with a subset selector and
    returns them, following imbalanced-learn's sampler API: it works as a step
    of :class:`imblearn.pipeline.Pipeline` (which applies it when fitting only,
    never when predicting), or on its own to reduce a data set ("the 5 % of
    rows that represent the data best"). imbalanced-learn is not needed to
    use it.

    Parameters
    ----------
    <selector>
    <subset_size>
    <lastlayer>
    <estimator>
    <task>
    <random_state>

    Attributes
    ----------
    sample_indices_ : ndarray of int64, shape (k,)
        Positions of the kept rows in the ``X`` of the last call, in
        increasing order (so the subset keeps the rows' original order).
    sample_weight_ : ndarray of float64, shape (k,)
        The selector's weight of each kept row, aligned with
        ``sample_indices_`` and rescaled to mean 1: proportional to how
        many rows each one stands for (times ``n / k`` for the count; CRAIG,
        GRAD-MATCH with ``weighting="matched"``); all ones for random and
        GLISTER. GRAD-MATCH's default here chooses rows
        for equal weights: each row of a class (or target bin) carries its
        share of it, equal within the class up to rounding of the budget.
    selection_time_ : float
        Seconds spent building the view and selecting.
    selector_ : selector
        The selector used.
    task_ : {"classification", "regression"}
        The task the gradients were computed for.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has string feature names.

    See Also
    --------
    select_subset : The same selection as a function.
    subsetml.model_selection.SubsetEstimator : Train a model on the subset,
        with the weights, inside any scikit-learn pipeline or search.

    Notes
    -----
    **SubsetSampler or SubsetEstimator?** Use ``SubsetSampler`` to get the
    reduced data itself -- to store it, inspect it, feed it to a tool outside
    scikit-learn -- or as a step of an imbalanced-learn ``Pipeline``. A
    pipeline hands the next step only ``X`` and ``y``, so the selector's
    weights are dropped there; pass ``sample_weight_`` on by hand when
    calling ``fit`` yourself. GRAD-MATCH here chooses rows for equal weights
    (its ``weighting="auto"``), which suits the pipeline; to fit with its
    matched weights by hand, pass ``GradMatchSelector(weighting="matched")``
    or call :func:`select_subset`. Use
    :class:`~subsetml.model_selection.SubsetEstimator` to train a model on the
    subset inside any scikit-learn pipeline, cross-validation or search: it
    selects inside ``fit`` and passes the weights as ``sample_weight``.

    **Classes.** The gradient selectors choose per class by default
    (class-proportional budgets, at least one row of every class), so a
    classifier after the sampler sees every class. ``"random"`` stratifies
    too (``per_class="auto"``); pass ``RandomSelector(per_class=False)`` for a
    uniform draw.

    **Input.** ``X`` may be a NumPy array, a list, a pandas DataFrame or a
    SciPy sparse matrix; ``y`` an array, list or pandas Series of class labels
    (numbers or strings) or regression targets. pandas objects and lists come
    back as the same type holding the selected rows of the input (pandas
    index, column names and dtypes kept); arrays and sparse matrices come back
    as the selected rows of the validated array. Sparse ``X`` is selected as
    is by the random selector; the gradient selectors read it unscaled,
    densified when it has at most 100 columns and reduced to 100 dimensions
    by a truncated SVD when wider (:meth:`~subsetml.LastLayer.from_inputs`;
    ``lastlayer="proxy"`` densifies it whole). The random selector also
    accepts NaN in ``X``.

    Examples
    --------
    Reduce a data set to 10 % of its rows:

    >>> from sklearn.datasets import load_digits
    >>> from subsetml.sampling import SubsetSampler
    >>> X, y = load_digits(return_X_y=True)
    >>> sampler = SubsetSampler("craig", subset_size=0.1, random_state=0)
    >>> X_small, y_small = sampler.fit_resample(X, y)
    >>> X_small.shape
    (180, 64)
    >>> sampler.sample_indices_.shape, round(float(sampler.sample_weight_.mean()), 6)
    ((180,), 1.0)

    Pass the weights on by hand:

    >>> from sklearn.linear_model import LogisticRegression
    >>> clf = LogisticRegression(max_iter=1000)
    >>> clf = clf.fit(X_small, y_small, sample_weight=sampler.sample_weight_)

    As a step of an imbalanced-learn pipeline, applied to the training rows
    of each fold only:

    >>> from imblearn.pipeline import make_pipeline
    >>> from sklearn.model_selection import cross_val_score
    >>> pipe = make_pipeline(
    ...     SubsetSampler("craig", subset_size=0.2, random_state=0),
    ...     LogisticRegression(max_iter=1000),
    ... )
    >>> bool(cross_val_score(pipe, X, y, cv=3).mean() > 0.8)
    True
    """

    def __init__(
        self,
        selector="craig",
        subset_size=0.05,
        *,
        lastlayer="auto",
        estimator=None,
        task="auto",
        random_state=None,
    ):
        self.selector = selector
        self.subset_size = subset_size
        self.lastlayer = lastlayer
        self.estimator = estimator
        self.task = task
        self.random_state = random_state

    def fit(self, X, y):
        """Select the rows of ``(X, y)`` to keep.

        Sets ``sample_indices_`` and ``sample_weight_``; :meth:`fit_resample`
        also returns the rows.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or one or more regression targets.

        Returns
        -------
        self : SubsetSampler
        """
        self._fit(X, y, weighted=False)
        return self

    def fit_resample(self, X, y):
        """Select rows of ``(X, y)`` and return them.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or one or more regression targets.

        Returns
        -------
        X_subset : {ndarray, DataFrame, sparse matrix, list} of shape \
(k, n_features)
            The kept rows of ``X``, in their original order.
        y_subset : {ndarray, Series, list} of shape (k,)
            The kept entries of ``y``.
        """
        Xv, yv = self._fit(X, y, weighted=False)
        idx = self.sample_indices_
        if isinstance(y, np.ndarray) and y.shape == np.shape(yv):
            # The user's own targets (integer counts stay integers; the
            # selector read them as floats).
            yv = y
        return _take_rows(X, Xv, idx), _take_rows(y, yv, idx)

    # ------------------------------------------------------------- helpers
    def _fit(self, X, y, *, weighted):
        """Validate, select, set the fitted attributes; return validated data.

        ``weighted``: whether the weights are what the caller is after
        (:func:`select_subset`) rather than the rows alone (see the
        ``selector`` parameter)."""
        self._validate_params()
        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        selector = make_selector(self.selector, random_state=seed, weighted=weighted)
        # The view's randomness (a wide sparse X's SVD, the cheap fit of
        # lastlayer="estimator") follows the selector's own seed too, so that
        # a seeded selector gives the same rows on every call.
        own = own_seed(self.selector)
        if own is not None:
            seed = own
        if is_frame(X) or is_text(X):
            # Kept as they are (columns, dtypes, text): the selector reads
            # them through view_input, and the kept rows come back as given.
            validate_data(self, X, skip_check_array=True)
            y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
            check_consistent_length(X, y)
            if (
                not _is_random(selector)
                and not takes_nan(self.estimator)
                and frame_has_missing(X)
            ):
                raise ValueError(
                    "Input X contains NaN or missing values, which "
                    f"{type(selector).__name__} cannot read; impute them "
                    "first (or pass estimator=make_pipeline(SimpleImputer(), "
                    "model), whose steps the selector reads through), or use "
                    "selector='random'."
                )
        else:
            X, y = _validated(
                self,
                selector,
                X,
                y,
                accept_sparse=["csr", "csc"],
                # The random selector never reads X: any values go through,
                # as with imbalanced-learn's RandomUnderSampler. A Pipeline's
                # steps encode X for the selector (view_input).
                dtype=(
                    None
                    if _is_random(selector) or isinstance(self.estimator, Pipeline)
                    else "numeric"
                ),
                # The random selector never reads X, and the view fills in
                # missing values for an estimator that takes them.
                ensure_all_finite=(
                    "allow-nan"
                    if _is_random(selector) or takes_nan(self.estimator)
                    else True
                ),
                # Several regression targets stay a matrix (one_or_more_targets).
                multi_output=True,
            )
        y = one_or_more_targets(y)
        task, guessed = self._resolve_task(y)
        if task == "classification" and y.ndim == 2:
            raise label_columns_error(
                type(self).__name__, y.shape, "Select for one column at a time."
            )
        if task == "classification":
            n_classes = self._check_classes(y)
        else:
            y = _as_targets(y)
        n = num_rows(X)
        k = resolve_budget(self.subset_size, n, name="subset_size")
        if task == "classification":
            if guessed:
                _check_guessed_classes(y, k, n_classes)
            k = self._check_class_budget(y, k, selector)
        t0 = time.perf_counter()
        Xs = X
        if not _is_random(selector) and (
            is_frame(X)
            or is_text(X)
            or isinstance(self.estimator, Pipeline)
            or takes_nan(self.estimator)  # the view fills in missing values
        ):
            Xs = view_input(
                X,
                y,
                estimator=self.estimator,
                lastlayer=self.lastlayer,
                who=type(selector).__name__,
            )
        subset = select_rows(
            selector,
            Xs,
            y,
            k,
            seed,
            lastlayer=self.lastlayer,
            estimator=self.estimator,
            task=task,
        )
        self.selection_time_ = time.perf_counter() - t0
        order = np.argsort(subset.indices, kind="stable")
        w = subset.weights[order]
        self.sample_indices_ = subset.indices[order]
        self.sample_weight_ = w / w.mean() if w.sum() > 0 else np.ones_like(w)
        self.selector_ = selector
        self.task_ = task
        return X, y

    def _validate_params(self):
        check_lastlayer(self.lastlayer)
        if not (isinstance(self.task, str) and self.task in _TASKS):
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}.")
        if self.estimator is not None and not hasattr(self.estimator, "fit"):
            raise TypeError(
                "estimator must be None or have a fit method, got "
                f"{type(self.estimator).__name__}."
            )

    def _resolve_task(self, y):
        """``(task, guessed)``: the task, and whether it was read off ``y``."""
        if self.task != "auto":
            return self.task, False
        if self.estimator is not None:
            if is_classifier(self.estimator):
                return "classification", False
            if is_regressor(self.estimator):
                return "regression", False
        check_label_types(y)  # its own advice: passing a task would not help
        try:
            return infer_task(y), True
        except ValueError as exc:
            if y.ndim == 2:
                raise ValueError(
                    f"{type(self).__name__} selects rows for one class label "
                    f"per row, or for one or more numeric targets; y has shape "
                    f"{y.shape} ({exc}). For numeric regression targets pass "
                    "task='regression'."
                ) from None
            # "Unknown label type" is what scikit-learn's classifiers say.
            raise ValueError(
                f"Unknown label type: {exc} Pass task='classification' or "
                "task='regression'."
            ) from None

    def _check_classes(self, y):
        check_label_types(y)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y holds only one class ({classes.tolist()[0]!r}); selecting for "
                "classification needs at least two classes. For regression "
                "targets pass task='regression'."
            )
        return classes.shape[0]

    def _check_class_budget(self, y, k, selector):
        # Per-class selectors keep at least one row of every class
        # (allocate_budget): a smaller budget is raised to that, with a
        # warning, rather than refused.
        per_class = per_class_value(getattr(selector, "per_class", False))
        if per_class is True or per_class == "auto":
            return cover_classes(k, y)
        return k

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = _is_random(self.selector)
        # Random rows never read X, and a Pipeline's steps encode it for the
        # other selectors: strings and other objects go through.
        tags.input_tags.string = _is_random(self.selector) or isinstance(
            self.estimator, Pipeline
        )
        return sampler_tags(tags, sample_indices=True)


@_fill_parameter_docs
def select_subset(
    X,
    y,
    subset_size=0.05,
    selector="craig",
    *,
    lastlayer="auto",
    estimator=None,
    task="auto",
    random_state=None,
):
    """Choose a subset of the rows of ``(X, y)``: positions and weights.

    The one-line form of :class:`SubsetSampler`, for when the positions are
    what you need (to index several aligned arrays, say).

    Parameters
    ----------
    X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Class labels, or one or more regression targets.
    <subset_size>
    <selector>
    <lastlayer>
    <estimator>
    <task>
    <random_state>

    Returns
    -------
    indices : ndarray of int64, shape (k,)
        Positions of the chosen rows, in increasing order.
    weights : ndarray of float64, shape (k,)
        The selector's weight of each chosen row, rescaled to mean 1.

    See Also
    --------
    SubsetSampler : The same selection as a sampler step.

    Examples
    --------
    >>> from sklearn.datasets import load_wine
    >>> from subsetml.sampling import select_subset
    >>> X, y = load_wine(return_X_y=True)
    >>> indices, weights = select_subset(X, y, subset_size=20, random_state=0)
    >>> indices.shape, weights.shape
    ((20,), (20,))
    >>> bool(abs(weights.mean() - 1.0) < 1e-12)
    True
    """
    sampler = SubsetSampler(
        selector,
        subset_size,
        lastlayer=lastlayer,
        estimator=estimator,
        task=task,
        random_state=random_state,
    )
    sampler._fit(X, y, weighted=True)
    return sampler.sample_indices_, sampler.sample_weight_


def _is_random(selector):
    if isinstance(selector, str):
        return selector == "random"
    return isinstance(selector, RandomSelector)


def _validated(sampler, selector, X, y, **kwargs):
    """``validate_data``, with a message that says what to do about values
    that are not numbers (the selectors read numeric features)."""
    try:
        return validate_data(sampler, X, y, **kwargs)
    except ValueError as exc:
        if not any(
            text in str(exc) for text in ("could not convert", "is not compatible")
        ):
            raise
        raise ValueError(
            f"{type(selector).__name__} reads numeric features, and X holds "
            f"values that are not numbers ({exc}). Pass X as a DataFrame (the "
            "selector then reads its non-numeric columns one-hot encoded), an "
            "estimator= Pipeline whose steps encode them, or use "
            "selector='random'."
        ) from None


def _as_targets(y):
    """Regression targets as floats, with a clear error for labels."""
    try:
        targets = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"Regression needs numeric targets, got y of dtype {y.dtype}; for "
            "class labels pass task='classification' or 'auto'."
        ) from None
    if not np.all(np.isfinite(targets)):
        raise ValueError("Regression targets y contain NaN or infinity.")
    return targets


def _take_rows(original, validated, idx):
    """Rows ``idx`` in the container the user passed, where that is kept."""
    if hasattr(original, "iloc"):  # pandas DataFrame or Series
        return original.iloc[idx]
    if isinstance(original, list):
        return [original[i] for i in idx]
    polars = type(original).__module__.startswith("polars")  # a Series too
    if polars or is_frame(original) or is_text(original):  # 1-D text arrays
        return _safe_indexing(original, idx)
    return validated[idx]


def _check_guessed_classes(y, k, n_classes):
    """Refuse whole numbers read off ``y`` as classes where they are likely
    a regression target.

    scikit-learn's ``type_of_target`` reads them as classes, yet they are
    often a regression target (load_diabetes' floats, Bike Sharing's int
    counts). More than 30 distinct ones are refused whatever the budget: a
    guess that changed with ``subset_size`` selected Bike Sharing's counts
    per value at 20 % and trained k-NN 10 points of R^2 x 100 below random
    subsets (a review). Fewer whole-number floats are refused only where
    they outnumber the budget, which would keep far more rows than asked;
    fewer integers are labels.
    """
    kind = np.asarray(y).dtype.kind
    many = kind in "fiu" and n_classes > MAX_GUESSED_CLASSES
    if many or (kind == "f" and n_classes > k):
        raise ValueError(
            f"y holds {n_classes} distinct whole numbers, read as "
            f"{n_classes} classes"
            + ("" if n_classes <= k else f": more than the budget of {k} rows")
            + ". Pass task='regression' for a numeric target, or "
            "task='classification' to keep them as classes."
        )
