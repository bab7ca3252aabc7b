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
from scipy import sparse
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_array

from subsetml._subset import Subset
from subsetml._validation import is_resampler
from subsetml.lastlayer import LastLayer
from subsetml.selection._base import _check_subset
from subsetml.selection._random import RandomSelector

__all__ = [
    "LASTLAYERS",
    "build_view",
    "check_lastlayer",
    "encoded_frame",
    "frame_has_missing",
    "is_frame",
    "is_raw_rows",
    "is_text",
    "num_rows",
    "takes_one_d",
    "takes_raw_rows",
    "label_view",
    "select_rows",
    "view_input",
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
    subset = selector.select(view, k)
    # Ours check their own result; a third party's is checked here, before
    # its indices pick rows (a -1 would take the last row, silently).
    who = type(selector).__name__
    if not isinstance(subset, Subset):
        raise TypeError(
            f"{who}.select must return a subsetml.Subset, got {type(subset).__name__}."
        )
    _check_subset(subset, view.n_samples, k, who)
    return subset


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
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if view.n_samples != n:
            raise ValueError(
                f"The lastlayer callable returned a LastLayer of {view.n_samples} "
                f"rows for {n} rows of X; it must describe every row it is given."
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
    # size, so the view costs about as much as one subset trial. X of a
    # Pipeline is its steps' output (view_input): its final step is the model.
    if (
        isinstance(estimator, Pipeline)
        and len(estimator.steps) > 1
        and estimator.steps[-1][1] not in (None, "passthrough")
    ):
        estimator = estimator.steps[-1][1]
    if task == "classification" and not hasattr(estimator, "predict_proba"):
        # Refused before the cheap fit, naming the option to change (the
        # fitted model's error named LastLayer.from_proxy, a review).
        raise ValueError(
            f"lastlayer='estimator' reads the class probabilities of "
            f"{type(estimator).__name__}, which has no predict_proba (as set: "
            "SVC needs probability=True); use lastlayer='proxy' or 'inputs'."
        )
    rng = np.random.RandomState(seed)
    rows = (
        stratified_sample(y, k, rng)
        if task == "classification"
        else (rng.choice(X.shape[0], size=k, replace=False))
    )
    cheap = clone(estimator)
    # An unseeded estimator (a forest's random_state=None) is seeded from the
    # same stream, as scikit-learn's ensembles seed their members: an int
    # seed then gives the same view, and the same rows, every time.
    cheap.set_params(
        **{
            key: rng.randint(np.iinfo(np.int32).max)
            for key, value in cheap.get_params(deep=True).items()
            if value is None
            and (key == "random_state" or key.endswith("__random_state"))
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cheap.fit(X[rows], y[rows])
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
    n = np.asarray(y).shape[0]
    if classification:
        classes, codes = np.unique(y, return_inverse=True)
        c = max(classes.shape[0], 2)
        # The uniform outputs as one broadcast value, not n x c floats: a
        # random draw reads the labels only (3.1 GB for 200,000 rows of
        # 2,000 classes, a review).
        uniform = np.broadcast_to(np.float64(1.0 / c), (n, c))
        return LastLayer(np.zeros((n, 1)), uniform, codes)
    y = np.asarray(y, float)
    # One dummy output per target: multi-output targets keep their shape.
    outputs = np.zeros(n) if y.ndim == 1 else np.zeros((n, y.reshape(n, -1).shape[1]))
    return LastLayer(
        np.zeros((n, 1)),
        outputs,
        y if y.ndim == 1 else y.reshape(n, -1),
        task="regression",
    )


def view_input(X, y, *, estimator, lastlayer, who="selector"):
    """The numeric rows a selector's view is built from.

    For a Pipeline (``lastlayer="auto"``), the output of its steps before
    the last, fitted on ``(X, y)``: what the final model will see, so string
    and categorical columns, text, missing values and any ``set_output``
    container go through the user's own preprocessing. Otherwise ``X``
    itself: a DataFrame with its non-numeric columns one-hot encoded
    (:func:`encoded_frame`), anything else as it is (it must then be
    numeric). Missing values that ``estimator`` accepts count as the column
    mean; others are refused with scikit-learn's message.

    Parameters
    ----------
    X : array-like, DataFrame, sparse matrix or sequence of str
    y : ndarray of shape (n_samples,)
    estimator : estimator or None
    lastlayer : str or callable
        Every option reads through a Pipeline's steps; a callable gets ``X``
        itself.
    who : str
        Named in the error for non-numeric rows.

    Returns
    -------
    X_view : ndarray or sparse matrix of float
    """
    if callable(lastlayer):
        # The user's own view of the rows: X as given (text, a DataFrame).
        return X
    source = "X"
    if (
        isinstance(lastlayer, str)
        and isinstance(estimator, Pipeline)
        and len(estimator.steps) > 1
        and estimator.steps[-1][1] not in (None, "passthrough")
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            X = _preprocessed(clone(estimator[:-1]), X, y)
        source = "the output of the pipeline's steps before the last"
        if is_frame(X):
            # set_output(transform="pandas") that passes categories through
            # to a model that reads them itself: one-hot them, as for X.
            X = encoded_frame(X)
    elif is_frame(X):
        # An estimator that reads DataFrames itself (say, gradient boosting
        # with categorical columns): a one-hot view of them.
        X = encoded_frame(X)
    elif is_raw_rows(X, estimator):
        first = type(first_step(estimator)).__name__
        raise ValueError(
            f"{who} reads numeric features, and X is a sequence of "
            f"{type(X[0]).__name__ if len(X) else 'row'} rows, which {first} "
            "reads itself. Use selector='random' (it reads only the labels), "
            "put the model after a step that makes numeric features "
            "(make_pipeline(DictVectorizer(), model), FeatureHasher, a text "
            "vectorizer; the selector then reads their output), or pass "
            "lastlayer= a callable returning a LastLayer."
        )
    elif isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "biuf":
        # One feature given as a 1-D array (IsotonicRegression's X).
        X = X[:, None]
    allow_nan = takes_nan(estimator)
    try:
        X = check_array(
            X,
            accept_sparse=["csr", "csc"],
            dtype=(np.float64, np.float32),
            ensure_all_finite="allow-nan" if allow_nan else True,
        )
    except ValueError as exc:
        if "NaN" in str(exc) or "infinity" in str(exc):
            raise
        raise ValueError(
            f"{who} reads numeric features, and {source} is not numeric "
            f"({exc}). Put the preprocessing in a Pipeline with the model as "
            "its last step (the selector then reads the preprocessed rows), "
            "pass lastlayer= a callable returning a LastLayer, or use "
            "selector='random'."
        ) from exc
    if allow_nan and not sparse.issparse(X) and np.isnan(X).any():
        # The estimator copes with missing values; the view needs numbers
        # (a column with no value at all counts as zeros).
        missing = np.isnan(X)
        counts = (~missing).sum(axis=0)
        sums = np.where(missing, 0.0, X).sum(axis=0)
        means = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
        X = np.where(missing, means[None, :], X)
    return X


def first_step(estimator):
    """A Pipeline's first real step (through nested Pipelines), else the
    estimator itself; None for a Pipeline of placeholders only."""
    first = estimator
    while isinstance(first, Pipeline):
        steps = [s for _, s in first.steps if s not in (None, "passthrough")]
        if not steps:
            return None
        first = steps[0]
    return first


def is_sklearns(estimator):
    """Whether ``estimator`` is one of scikit-learn's own (or a subclass of
    one), whose tags say truly what input it takes; other estimators'
    default tags say nothing."""
    return any(
        (c.__module__ or "").startswith("sklearn.")
        and not (c.__module__ or "").startswith(("sklearn.base", "sklearn.utils"))
        for c in type(estimator).__mro__
    )


def takes_nan(estimator):
    """Whether missing values may reach ``estimator``: a Pipeline (any step
    may impute), an estimator whose tags say so, or one whose tags say
    nothing (not scikit-learn's own: it raises its own error if it cannot,
    as in ``GridSearchCV``)."""
    if estimator is None:
        return False
    if isinstance(estimator, Pipeline):
        return True
    return get_tags(estimator).input_tags.allow_nan or not is_sklearns(estimator)


def encoded_frame(X):
    """A numeric array of a DataFrame for the view: the non-numeric columns
    one-hot encoded (at most 20 categories a column, the rarest grouped),
    then the numeric columns as they are (missing values kept as NaN).

    The columns are taken apart here rather than by a ``ColumnTransformer``
    passing the numeric ones through: scikit-learn before 1.9 reads a polars
    2 frame's column names through the interchange protocol polars dropped,
    and its passthrough then refuses the frame.
    """
    from sklearn.preprocessing import OneHotEncoder

    numeric = _numeric_columns(X)
    if hasattr(X, "select_dtypes"):
        # pandas' nullable numbers (Int64, Float64, with pd.NA) as floats
        # with NaN.
        names = X.select_dtypes("number").columns
        if len(names):
            X = X.astype(dict.fromkeys(names, "float64"))
    parts = []
    if not numeric.all():
        encode = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=20,
            sparse_output=False,
        )
        parts.append(encode.fit_transform(_frame_columns(X, ~numeric)))
    if numeric.any():
        parts.append(np.asarray(_frame_columns(X, numeric), dtype=np.float64))
    if not parts:
        return np.empty((num_rows(X), 0), dtype=np.float64)
    return np.hstack([np.asarray(p, dtype=np.float64) for p in parts])


def _frame_columns(X, mask):
    """The columns of a pandas or polars DataFrame where ``mask`` is true,
    by position (pandas' labels may be integers)."""
    positions = np.flatnonzero(mask)
    if hasattr(X, "iloc"):
        return X.iloc[:, positions]
    return X.select([X.columns[i] for i in positions])


def num_rows(X):
    """Rows of an array, sparse matrix, DataFrame or sequence."""
    return X.shape[0] if hasattr(X, "shape") else len(X)


def is_frame(X):
    """A pandas or polars DataFrame (anything with columns and dtypes)."""
    return hasattr(X, "columns") and hasattr(X, "dtypes")


def _numeric_columns(X):
    """A boolean mask of a pandas or polars DataFrame's numeric columns
    (booleans are not numbers here, as in pandas' ``select_dtypes``)."""
    if hasattr(X, "select_dtypes"):
        numeric = set(X.select_dtypes("number").columns)
        return np.array([c in numeric for c in X.columns], dtype=bool)
    # polars: its data types say whether they are numeric.
    return np.array(
        [bool(getattr(dt, "is_numeric", lambda: False)()) for dt in X.dtypes],
        dtype=bool,
    )


def _polars_float_columns(X):
    """A polars DataFrame's float columns (as Series); none for pandas."""
    if hasattr(X, "select_dtypes") or not hasattr(X, "get_columns"):
        return []
    return [
        col
        for col in X.get_columns()
        if bool(getattr(col.dtype, "is_float", lambda: False)())
    ]


def frame_has_missing(X):
    """Whether a pandas or polars DataFrame holds missing values: pandas'
    NaN, None and pd.NA, polars' nulls and its float NaN (which polars keeps
    apart from nulls)."""
    isna = getattr(X, "isna", None)
    if isna is not None:
        return bool(np.asarray(isna()).any())
    null = getattr(X, "null_count", None)  # polars
    if null is not None and np.asarray(null()).sum() > 0:
        return True
    return any(bool(col.is_nan().any()) for col in _polars_float_columns(X))


def frame_has_infinity(X):
    """Whether a pandas or polars DataFrame's numeric columns hold infinity."""
    if hasattr(X, "select_dtypes"):
        numbers = X.select_dtypes("number")
        if not numbers.shape[1]:
            return False
        values = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
        return bool(np.isinf(values).any())
    return any(bool(col.is_infinite().any()) for col in _polars_float_columns(X))


def _preprocessed(steps, X, y):
    """``X`` through a Pipeline's steps, each fitted on what it receives, as
    ``Pipeline.fit_transform`` does, except for resamplers (imbalanced-learn's
    samplers, anything with ``fit_resample``): they only act while the model
    fits, change the rows, and a view needs every row of ``X``."""
    for _, step in steps.steps:
        if step is None or step == "passthrough" or is_resampler(step):
            continue
        if hasattr(step, "fit_transform"):
            X = step.fit_transform(X, y)
        else:
            X = step.fit(X, y).transform(X)
    return X


def check_frame_finite(X, estimator):
    """Refuse a DataFrame with missing or infinite values that ``estimator``
    (see :func:`takes_nan`) does not take, as ``check_array`` refuses them in
    an array, with a message that says to impute missing ones."""
    if takes_nan(estimator):
        return
    if frame_has_missing(X):
        raise ValueError(
            "Input X contains NaN or missing values, which "
            f"{type(estimator).__name__} does not accept; impute them first, "
            "e.g. make_pipeline(SimpleImputer(), model)."
        )
    if frame_has_infinity(X):
        raise ValueError(
            "Input X contains infinity, which "
            f"{type(estimator).__name__} does not accept."
        )


def takes_raw_rows(estimator):
    """Whether ``estimator`` (a Pipeline: its first step) reads rows that are
    not arrays of numbers, by its input tags: mappings of feature names to
    values (``dict``: DictVectorizer, FeatureHasher) or strings and sequences
    of them (``string`` without ``two_d_array``: text vectorizers,
    ``FeatureHasher(input_type="string")``)."""
    first = first_step(estimator)
    if first is None:
        return False
    tags = get_tags(first).input_tags
    return bool((tags.dict or tags.string) and not tags.two_d_array)


def takes_one_d(estimator):
    """Whether ``estimator`` (a Pipeline: its first step) takes a 1-D array
    of numbers for ``X`` (its ``one_d_array`` input tag: IsotonicRegression)."""
    first = first_step(estimator)
    return first is not None and bool(get_tags(first).input_tags.one_d_array)


def is_raw_rows(X, estimator):
    """A sequence of rows (list, tuple or 1-D object array: dicts, token
    lists) for an estimator that reads such rows itself
    (:func:`takes_raw_rows`), or skorch's ``SliceDict``: they reach it as
    given, as in ``GridSearchCV``, which takes them by position."""
    if is_slice_dict(X):
        return True
    if isinstance(X, np.ndarray):
        sequence = X.ndim == 1 and X.dtype.kind == "O"
    else:
        sequence = isinstance(X, (list, tuple))
    return sequence and takes_raw_rows(estimator)


def is_slice_dict(X):
    """skorch's ``SliceDict``: a dict of arrays that a row index cuts alike
    (several inputs of a net), with a ``shape`` for scikit-learn's row
    count (scipy's DOK matrices are dicts with a shape too). A net reads it
    itself, as in ``GridSearchCV``."""
    return isinstance(X, dict) and hasattr(X, "shape") and not sparse.issparse(X)


def is_text(X):
    """A one-dimensional sequence of strings: documents for a vectorizer."""
    if isinstance(X, np.ndarray):
        return X.ndim == 1 and X.dtype.kind in "OUS"
    if isinstance(X, (list, tuple)) or (
        hasattr(X, "dtype") and getattr(X, "ndim", 0) == 1
    ):
        return len(X) > 0 and isinstance(next(iter(X)), (str, bytes))
    return False
