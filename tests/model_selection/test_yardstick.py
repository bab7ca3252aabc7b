"""The yardstick of issue 15: equivalents of scikit-optimize's BayesSearchCV
tests (``skopt/tests/test_searchcv.py``) and of scikit-learn's generic search
tests (``sklearn/model_selection/tests/test_search.py``) for SubsetSearchCV.

What those tests check of a ``BaseSearchCV`` should hold here too, except for
scikit-optimize's own objects (``optimizer_results_``). The tests are written
anew; a comment in each names the upstream test it mirrors. What
test_search.py and test_bayes_compat.py already check is not repeated. Where
SubsetSearchCV deliberately differs (docs/user_guide/coming_from.rst), the
documented behaviour is checked. Trials train on whole folds
(``subset_size=1.0``) unless a test is about subsets, on small data.
"""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    TransformerMixin,
    clone,
    is_classifier,
)
from sklearn.cluster import KMeans
from sklearn.datasets import (
    load_iris,
    make_blobs,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import FitFailedWarning, UndefinedMetricWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
)
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    euclidean_distances,
    f1_score,
    make_scorer,
    r2_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    LeaveOneGroupOut,
    LeavePGroupsOut,
    StratifiedKFold,
    StratifiedShuffleSplit,
    train_test_split,
)
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import KernelDensity, KNeighborsClassifier, LocalOutlierFactor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags
from sklearn.utils.validation import check_array, check_is_fitted
from skopt.space import Categorical, Integer, Real

from subsetml.model_selection import SubsetSearchCV

SVC_SPACE = {
    "C": Real(1e-3, 1e3, prior="log-uniform"),
    "gamma": Real(1e-4, 1e1, prior="log-uniform"),
    "degree": Integer(1, 3),
    "kernel": Categorical(["linear", "poly", "rbf"]),
}


def _full(estimator, space, **kwargs):
    """A search whose trials train on whole folds."""
    params = dict(n_iter=4, cv=3, subset_size=1.0, random_state=0)
    params.update(kwargs)
    return SubsetSearchCV(estimator, space, **params)


def _without_times(results):
    return {k: v for k, v in results.items() if not k.endswith("_time")}


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, train_size=0.75, random_state=0)


@pytest.fixture(scope="module")
def binary():
    return make_classification(n_samples=100, n_features=4, random_state=42)


# ---------------------------------------------------------------- helpers
class _Level(ClassifierMixin, BaseEstimator):
    """Scores by its ``level`` alone, so that ties are exact."""

    SCORES = {"low": 0.25, "high": 0.75, "also_high": 0.75}

    def __init__(self, level="low"):
        self.level = level

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y=None):
        return self.SCORES[self.level]


class _Shift(TransformerMixin, BaseEstimator):
    """Adds ``shift``; scores best at ``shift == 1``."""

    def __init__(self, shift=0.0):
        self.shift = shift

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        return np.asarray(X) + self.shift

    def inverse_transform(self, X):
        return np.asarray(X) - self.shift

    def score(self, X, y=None):
        return -abs(self.shift - 1.0)


class _NoScoreSVC(LinearSVC):
    """A LinearSVC without a ``score`` method."""

    @property
    def score(self):
        raise AttributeError("no score here")


class _FitsOnce(ClassifierMixin, BaseEstimator):
    """Refuses to be fitted a second time."""

    def __init__(self, parameter=None):
        self.parameter = parameter

    def fit(self, X, y):
        if hasattr(self, "fitted_"):
            raise AssertionError("fitted twice")
        self.fitted_ = True
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


class _FailsOnTwo(ClassifierMixin, BaseEstimator):
    """Its fit fails for ``parameter == 2``."""

    def __init__(self, parameter=None):
        self.parameter = parameter

    def fit(self, X, y=None):
        if self.parameter == 2:
            raise ValueError("Failing classifier failed as required")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


class _NeedsSpamAndEggs(ClassifierMixin, BaseEstimator):
    """Checks that ``spam`` and ``eggs`` come with one value per row."""

    def __init__(self, foo_param=0):
        self.foo_param = foo_param

    def fit(self, X, y, **fit_params):
        missing = sorted({"spam", "eggs"} - set(fit_params))
        if missing:
            raise AssertionError(f"Expected fit parameter(s) {missing} not seen.")
        for name, value in fit_params.items():
            if len(value) != len(X):
                raise AssertionError(
                    f"Fit parameter {name} has length {len(value)}; expected {len(X)}."
                )
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y=None):
        return 1.0 if self.foo_param > 1 else 0.0


class _SeenTypes(ClassifierMixin, BaseEstimator):
    """Records the types of X and y every fit receives (n_jobs=1)."""

    seen = []

    def __init__(self, foo_param=0):
        self.foo_param = foo_param

    def fit(self, X, y):
        type(self).seen.append((type(X), type(y)))
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y=None):
        return float(self.foo_param)


class _SeenShapes(ClassifierMixin, BaseEstimator):
    """Records the shapes of X and y every fit receives (n_jobs=1)."""

    seen = []

    def __init__(self, foo_param=0):
        self.foo_param = foo_param

    def fit(self, X, y):
        type(self).seen.append((X.shape[1:], y.shape[1:]))
        return self

    def score(self, X, y=None):
        return float(self.foo_param)


class _NativeTypes(ClassifierMixin, BaseEstimator):
    """Fails unless every parameter arrives as a plain Python value."""

    EXPECTED = {
        "float_range": float,
        "int_range": int,
        "float_choice": float,
        "int_choice": int,
        "two_ints": int,
        "str_choice": str,
    }

    def __init__(
        self,
        float_range=0.0,
        int_range=0,
        float_choice=0.0,
        int_choice=0,
        two_ints=0,
        str_choice="",
    ):
        self.float_range = float_range
        self.int_range = int_range
        self.float_choice = float_choice
        self.int_choice = int_choice
        self.two_ints = two_ints
        self.str_choice = str_choice

    def fit(self, X, y):
        for name, kind in self.EXPECTED.items():
            value = getattr(self, name)
            if type(value) is not kind:
                raise TypeError(f"{name}={value!r} is a {type(value).__name__}")
        self.classes_ = np.unique(y)
        return self

    def score(self, X, y=None):
        return self.float_range


class _OddFitParams(ClassifierMixin, BaseEstimator):
    """Takes a scalar, a tuple of arrays and a callable as fit parameters."""

    def __init__(self, a=None):
        self.a = a

    def fit(self, X, y, r=None, pair=None, hook=None):
        if r != 42 or not callable(hook) or not isinstance(pair, tuple):
            raise AssertionError(f"got r={r!r}, pair={type(pair)}, hook={hook!r}")
        if pair[0].ndim != 2 or pair[1].ndim != 1:
            raise AssertionError("the tuple's arrays were changed")
        self.r_, self.pair_, self.hook_ = r, pair, hook
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class _Holder(ClassifierMixin, BaseEstimator):
    """Holds parameters of any type; scores by ``label``."""

    def __init__(
        self,
        option=None,
        values=None,
        settings=None,
        label="a",
        encoder=None,
        knots=None,
    ):
        self.option = option
        self.values = values
        self.settings = settings
        self.label = label
        self.encoder = encoder
        self.knots = knots

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def score(self, X, y=None):
        return 1.0 if self.label == "b" else 0.5


class _MinimalTransformer:
    """A transformer that does not inherit from BaseEstimator."""

    def __init__(self, param=None):
        self.param = param

    def get_params(self, deep=True):
        return {"param": self.param}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X, y=None):
        check_array(X)
        self.is_fitted_ = True
        return self

    def transform(self, X, y=None):
        check_is_fitted(self)
        return check_array(X)

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        return Tags(estimator_type=None, target_tags=TargetTags(required=False))


class _Minimal:
    """The estimator API by hand: does not inherit from BaseEstimator."""

    def __init__(self, param=None):
        self.param = param

    def get_params(self, deep=True):
        return {"param": self.param}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self


class _MinimalClassifier(_Minimal):
    """Predicts the majority class."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[counts.argmax()]
        return self

    def predict(self, X):
        check_is_fitted(self)
        return np.full(len(X), self.majority_)

    def score(self, X, y):
        return accuracy_score(y, self.predict(X))

    def __sklearn_tags__(self):
        return Tags(
            estimator_type="classifier",
            classifier_tags=ClassifierTags(),
            target_tags=TargetTags(required=True),
        )


class _MinimalRegressor(_Minimal):
    """Predicts the mean."""

    def fit(self, X, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        check_is_fitted(self)
        return np.full(len(X), self.mean_)

    def score(self, X, y):
        return r2_score(y, self.predict(X))

    def __sklearn_tags__(self):
        return Tags(
            estimator_type="regressor",
            regressor_tags=RegressorTags(),
            target_tags=TargetTags(required=True),
        )


# ============================================== scikit-optimize's test_searchcv
@pytest.mark.parametrize(
    "space, error",
    [
        ({"C": "1 ... 100.0"}, ValueError),  # BayesSearchCV's type
        ({"C": "1 ... 100.0"}, TypeError),  # and scikit-learn's
        (["C", (1.0, 1)], TypeError),
    ],
)
def test_malformed_spaces_are_refused_at_fit(iris, space, error):
    # skopt test_raise_errors (checked at fit, scikit-learn's rule, not at
    # construction as in BayesSearchCV)
    X, _, y, _ = iris
    search = SubsetSearchCV(SVC(), space, n_iter=2)
    with pytest.raises(error):
        search.fit(X, y)


@pytest.mark.parametrize(
    "optimizer, n_jobs, n_points",
    [("tpe", 1, 1), ("tpe", 1, 3), ("gp", 1, 1), ("tpe", 2, 3)],
)
def test_a_mixed_space_search_generalises(iris, optimizer, n_jobs, n_points):
    # skopt test_searchcv_runs (surrogates, n_jobs, n_points)
    X_train, X_test, y_train, y_test = iris
    kwargs = {"optimizer_kwargs": {"base_estimator": "GP"}} if optimizer == "gp" else {}
    search = _full(
        SVC(), SVC_SPACE, n_iter=8, optimizer=optimizer, n_jobs=n_jobs,
        n_points=n_points, **kwargs,
    ).fit(X_train, y_train)  # fmt: skip
    assert len(search.cv_results_["params"]) == 8
    assert search.score(X_test, y_test) > 0.9


def test_parallel_rounds_are_reproducible(iris):
    # skopt test_parallel_cv (_fit_svc: n_jobs=2, cv=5, two runs agree)
    X_train, X_test, y_train, y_test = iris
    space = {k: SVC_SPACE[k] for k in ("C", "gamma", "degree")}

    def run():
        return _full(
            SVC(), space, n_iter=6, n_jobs=2, n_points=2, cv=5, random_state=42
        ).fit(X_train, y_train)

    a, b = run(), run()
    assert a.cv_results_["params"] == b.cv_results_["params"]
    assert a.score(X_test, y_test) == b.score(X_test, y_test) > 0.9


def test_subspaces_that_swap_the_model_step(iris):
    # skopt test_searchcv_runs_multiple_subspaces (studies_ in place of
    # optimizer_results_)
    X_train, _, y_train, _ = iris
    pipe = Pipeline([("model", SVC())])
    linear = {
        "model": Categorical([LinearSVC()]),
        "model__C": Real(1e-3, 1e1, prior="log-uniform"),
    }
    tree = {
        "model": Categorical([DecisionTreeClassifier(random_state=0)]),
        "model__max_depth": Integer(1, 8),
        "model__min_samples_split": Real(1e-3, 1.0, prior="log-uniform"),
    }
    kernel = {
        "model": Categorical([SVC()]),
        "model__C": Real(1e-3, 1e1, prior="log-uniform"),
        "model__kernel": Categorical(["linear", "rbf"]),
    }
    search = _full(pipe, [(linear, 1), (tree, 1), kernel], n_iter=2).fit(
        X_train, y_train
    )
    kinds = [type(m).__name__ for m in search.cv_results_["param_model"]]
    assert kinds == ["LinearSVC", "DecisionTreeClassifier", "SVC", "SVC"]
    assert len(search.studies_) == 3
    best = search.cv_results_["param_model"][search.best_index_]
    assert type(search.best_estimator_.named_steps["model"]) is type(best)


def test_clone_get_params_and_set_params(iris):
    # skopt test_searchcv_sklearn_compatibility
    X_train, _, y_train, _ = iris
    first = {"C": Real(1e-3, 1e1, prior="log-uniform")}
    second = {"C": Real(1e-3, 1e1, prior="log-uniform"), "kernel": ["linear", "rbf"]}
    search = _full(SVC(), [(first, 1), second], n_iter=2)
    twin = clone(search)
    params, twin_params = search.get_params(), twin.get_params()
    assert list(params) == list(twin_params)
    for name, value in params.items():
        assert isinstance(value, type(twin_params[name])), name
    search.set_params(search_spaces=[({"gamma": Real(1e-3, 1.0)}, 1)])
    search.fit(X_train, y_train)
    twin.fit(X_train, y_train)
    assert len(search.cv_results_["mean_test_score"]) == 1
    assert set(search.best_params_) == {"gamma"}
    assert len(twin.cv_results_["mean_test_score"]) == 1 + 2


def test_a_clone_finds_the_same_best_estimator(iris):
    # skopt test_searchcv_reproducibility (best_params_ in place of
    # optimizer_results_[0].x)
    X_train, _, y_train, _ = iris
    search = _full(SVC(random_state=42), SVC_SPACE, n_iter=8, random_state=42)
    search.fit(X_train, y_train)
    again = clone(search).fit(X_train, y_train)
    for name in ("C", "gamma", "degree", "kernel"):
        value = getattr(search.best_estimator_, name)
        assert getattr(again.best_estimator_, name) == value
        assert search.best_params_[name] == value


def test_test_and_train_ranks_are_min_ranks(iris):
    # skopt test_searchcv_rank
    X_train, _, y_train, _ = iris
    search = _full(
        SVC(random_state=42), SVC_SPACE, n_iter=10, random_state=42,
        return_train_score=True,
    ).fit(X_train, y_train)  # fmt: skip
    res = search.cv_results_
    for kind in ("test", "train"):
        ranks = res[f"rank_{kind}_score"]
        assert ranks.dtype == np.int32
        expected = rankdata(-np.asarray(res[f"mean_{kind}_score"]), method="min")
        np.testing.assert_array_equal(ranks, expected)


def test_fit_replaces_a_stale_best_estimator(iris):
    # skopt test_searchcv_refit
    X_train, X_test, y_train, y_test = iris
    other = _full(SVC(), SVC_SPACE, n_iter=3, random_state=1).fit(X_train, y_train)
    search = _full(SVC(random_state=42), SVC_SPACE, n_iter=8, random_state=42)
    search.best_estimator_ = other.best_estimator_
    search.fit(X_train, y_train)
    assert search.best_estimator_ is not other.best_estimator_
    for name, value in search.best_params_.items():
        assert getattr(search.best_estimator_, name) == value
    assert search.score(X_test, y_test) > 0.9


def test_a_search_stopped_by_a_callback_is_refit():
    # skopt test_searchcv_callback (with a one-value dimension)
    X, y = load_iris(return_X_y=True)
    calls = []

    def stop_on_third(result):
        calls.append(len(result["params"]))
        return len(calls) > 2

    search = _full(
        DecisionTreeClassifier(random_state=0),
        {"max_depth": [3], "min_samples_split": Real(0.1, 0.9)},
        n_iter=5,
    ).fit(X, y, callback=stop_on_third)
    assert calls == [1, 2, 3]
    assert [p["max_depth"] for p in search.cv_results_["params"]] == [3, 3, 3]
    check_is_fitted(search.best_estimator_)
    assert search.best_estimator_.max_depth == 3
    assert search.score(X, y) > 0.5


def test_total_iterations_before_fit():
    # skopt test_searchcv_total_iterations
    search = SubsetSearchCV(
        DecisionTreeClassifier(),
        [({"max_depth": (1, 32)}, 10), {"min_samples_split": Real(0.1, 0.9)}],
        n_iter=5,
    )
    assert search.total_iterations == 10 + 5
    assert search.set_params(n_iter=7).total_iterations == 10 + 7


def test_trials_and_refit_receive_plain_python_values():
    # skopt test_search_cv_internal_parameter_types ([0, 10] is two choices,
    # with a warning, as coming_from.rst documents)
    X, y = make_classification(30, 4, random_state=0)
    space = {
        "float_range": Real(0.0, 1.0),
        "int_range": Integer(0, 10),
        "float_choice": np.array([0.0, 0.5, 1.0]),
        "int_choice": np.arange(3),
        "two_ints": [0, 10],
        "str_choice": ["one", "two", "three"],
    }
    search = _full(_NativeTypes(), space, n_iter=6, error_score="raise")
    with pytest.warns(UserWarning, match="two choices"):
        search.fit(X, y)
    for params in search.cv_results_["params"] + [search.best_estimator_.get_params()]:
        for name, kind in _NativeTypes.EXPECTED.items():
            assert type(params[name]) is kind, (name, params[name])
    assert {p["two_ints"] for p in search.cv_results_["params"]} <= {0, 10}


def test_list_and_dict_scoring_run_the_same_search():
    # skopt test_searchcv_multimetric_scoring
    X, y = make_classification(n_classes=2, random_state=42)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    runs = [
        _full(
            SVC(random_state=42), SVC_SPACE, scoring=scoring, refit="f1", n_iter=8,
            random_state=42,
        ).fit(X_train, y_train)
        for scoring in (["accuracy", "f1"], {"f1": "f1", "accuracy": "accuracy"})
    ]  # fmt: skip
    for search in runs:
        res = search.cv_results_
        assert len(res["mean_test_accuracy"]) == len(res["mean_test_f1"]) == 8
        assert search.best_index_ == int(np.argmax(res["mean_test_f1"]))
        assert f1_score(y_test, search.predict(X_test)) > 0.9
    assert runs[0].cv_results_["params"] == runs[1].cv_results_["params"]
    np.testing.assert_array_equal(
        runs[0].cv_results_["mean_test_f1"], runs[1].cv_results_["mean_test_f1"]
    )


def _confusion(estimator, X, y):
    cm = confusion_matrix(y, estimator.predict(X))
    return {"tn": cm[0, 0], "fp": cm[0, 1], "fn": cm[1, 0], "tp": cm[1, 1]}


@pytest.mark.parametrize("refit", ["tp", "fp"])
def test_a_callable_returning_confusion_counts(binary, refit):
    # skopt test_searchcv_multimetric_callable_scoring; sklearn
    # test_callable_multimetric_confusion_matrix
    X, y = binary
    search = _full(
        LinearSVC(random_state=42), {"C": (1e-3, 1e1, "log-uniform")},
        scoring=_confusion, refit=refit, n_iter=5,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    assert search.multimetric_
    for name in ("tn", "fp", "fn", "tp"):
        assert res[f"mean_test_{name}"].shape == (5,)
    assert search.best_index_ == int(np.argmax(res[f"mean_test_{refit}"]))
    assert search.score(X, y) == pytest.approx(_confusion(search, X, y)[refit])


# ================================ scikit-learn's model_selection/test_search
def test_ties_share_the_min_rank_and_the_first_wins(binary):
    # sklearn test_grid_search (first of tied candidates wins),
    # test_search_cv_results_rank_tie_breaking
    X, y = binary
    search = _full(
        _Level(), {"level": ["low", "high", "also_high"]}, optimizer="random",
        n_iter=6, return_train_score=True, random_state=4,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    assert set(res["param_level"]) == {"low", "high", "also_high"}
    means = np.asarray(res["mean_test_score"])
    np.testing.assert_array_equal(res["rank_test_score"], rankdata(-means, "min"))
    top = np.flatnonzero(means == means.max())
    assert len(top) >= 2 and np.all(res["rank_test_score"][top] == 1)
    assert top[0] > 0 and search.best_index_ == top[0]
    np.testing.assert_array_equal(res["rank_train_score"], res["rank_test_score"])


def test_prediction_methods_delegate_to_the_best_estimator(binary):
    # sklearn test_grid_search (score, predict_proba, decision_function)
    X, y = binary
    search = _full(LogisticRegression(), {"C": (1e-2, 1e2, "log-uniform")}).fit(X, y)
    best = search.best_estimator_
    for name in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        np.testing.assert_allclose(getattr(search, name)(X), getattr(best, name)(X))
    assert search.score(X, y) == best.score(X, y)


def test_transform_and_inverse_transform_round_trip(binary):
    # sklearn test_transform_inverse_transform_round_trip
    X, _ = binary
    search = _full(
        _Shift(), {"shift": [0.0, 1.0, 2.0]}, optimizer="random", n_iter=6
    ).fit(X)
    assert search.best_params_ == {"shift": 1.0}
    np.testing.assert_allclose(search.transform(X), X + 1.0)
    np.testing.assert_allclose(search.inverse_transform(search.transform(X)), X)


def test_an_unknown_scoring_name_is_a_value_error(binary):
    # sklearn test_grid_search (scoring="sklearn")
    X, y = binary
    with pytest.raises(ValueError):
        _full(LogisticRegression(), {"C": (0.1, 10.0)}, scoring="sklearn").fit(X, y)


def test_estimator_choices_are_cloned_before_fitting():
    # sklearn test_grid_search_pipeline_steps
    X, y = make_regression(n_samples=60, n_features=4, random_state=0)
    choices = [LinearRegression(), Ridge()]
    pipe = Pipeline([("regressor", LinearRegression())])
    search = _full(
        pipe, {"regressor": choices}, optimizer="random", n_iter=6, cv=2
    ).fit(X, y)
    column = search.cv_results_["param_regressor"]
    assert {type(e) for e in column} == {LinearRegression, Ridge}
    refit = search.best_estimator_.named_steps["regressor"]
    assert hasattr(refit, "coef_")
    for est in column:
        assert not hasattr(est, "coef_") and est is not refit
    assert not any(hasattr(c, "coef_") for c in choices)


def test_a_step_set_by_the_search_takes_its_parameters(binary):
    # sklearn test_search_estimator_param
    X, y = binary
    choice = LinearSVC()
    pipe = Pipeline([("scale", StandardScaler()), ("clf", None)])
    search = _full(
        pipe, {"clf": [choice], "clf__C": [0.01]}, n_iter=2, cv=2, scoring="accuracy"
    ).fit(X, y)
    assert choice.C == 1.0  # the object in the space is not changed
    assert search.best_estimator_.named_steps["clf"].C == 0.01


# On 5-row folds a trial once warned that SubsetEstimator's default 5 % budget
# keeps one row, though it trains on the search's own subset: an error now.
@pytest.mark.filterwarnings("error:subset_size keeps")
@pytest.mark.parametrize(
    "subset", [{"subset_size": 1.0}, {"subset_size": 0.5, "selector": "random"}]
)
def test_fit_params_are_checked_and_split_along_x(subset):
    # sklearn test_SearchCV_with_fit_params
    X = np.arange(100, dtype=float).reshape(10, 10)
    y = np.array([0] * 5 + [1] * 5)
    search = SubsetSearchCV(
        _NeedsSpamAndEggs(), {"foo_param": [1, 2, 3]}, n_iter=3, cv=2,
        error_score="raise", random_state=0, **subset,
    )  # fmt: skip
    with pytest.raises(AssertionError, match=r"\['eggs'\] not seen"):
        search.fit(X, y, spam=np.ones(10))
    with pytest.raises(AssertionError, match="Fit parameter spam has length 1;"):
        search.fit(X, y, spam=np.ones(1), eggs=np.zeros(10))
    search.fit(X, y, spam=np.ones(10), eggs=np.zeros(10))
    assert search.best_params_ in ({"foo_param": 2}, {"foo_param": 3})


def test_an_estimator_without_score_needs_scoring():
    # sklearn test_grid_search_no_score
    X, y = make_blobs(random_state=0, centers=2)
    space = {"C": [0.1, 1, 10]}
    kw = dict(optimizer="random", n_iter=5)
    plain = _full(LinearSVC(random_state=0), space, scoring="accuracy", **kw)
    no_score = _full(_NoScoreSVC(random_state=0), space, scoring="accuracy", **kw)
    plain.fit(X, y)
    no_score.fit(X, y)
    assert no_score.best_params_ == plain.best_params_
    assert no_score.score(X, y) == plain.score(X, y)
    with pytest.raises(TypeError, match="score"):
        _full(_NoScoreSVC(random_state=0), space, **kw).fit(X, y)


def test_score_uses_the_search_s_scoring():
    # sklearn test_grid_search_score_method
    X, y = make_classification(n_samples=100, n_classes=2, flip_y=0.2, random_state=0)
    space = {"C": [0.1]}

    def score(estimator, scoring):
        return _full(estimator, space, n_iter=1, scoring=scoring).fit(X, y).score(X, y)

    default = score(LinearSVC(random_state=0), None)
    accuracy = score(LinearSVC(random_state=0), "accuracy")
    auc = score(LinearSVC(random_state=0), "roc_auc")
    auc_no_score = score(_NoScoreSVC(random_state=0), "roc_auc")
    assert auc < 1.0 and accuracy < 1.0 and auc != accuracy
    assert default == pytest.approx(accuracy)
    assert auc == pytest.approx(auc_no_score)
    ref = LinearSVC(C=0.1, random_state=0).fit(X, y)
    assert auc == pytest.approx(roc_auc_score(y, ref.decision_function(X)))


def test_group_splitters_need_groups():
    # sklearn test_grid_search_groups
    X, y = make_classification(n_samples=15, n_classes=2, random_state=0)
    groups = np.random.RandomState(0).randint(0, 3, 15)
    for cv in (
        LeaveOneGroupOut(),
        LeavePGroupsOut(2),
        GroupKFold(n_splits=3),
        GroupShuffleSplit(random_state=0),
    ):
        search = _full(LinearSVC(random_state=0), {"C": [1.0]}, n_iter=1, cv=cv)
        with pytest.raises(ValueError, match="The 'groups' parameter should not"):
            search.fit(X, y)
        search.fit(X, y, groups=groups)
        assert search.n_splits_ == cv.get_n_splits(X, y, groups)
    for cv in (StratifiedKFold(), StratifiedShuffleSplit(random_state=0)):
        _full(LinearSVC(random_state=0), {"C": [1.0]}, n_iter=1, cv=cv).fit(X, y)


def test_classes_are_the_best_estimator_s(binary):
    # sklearn test_classes__property
    X, y = binary
    labels = np.array(["no", "yes"])[y]
    space = {"C": [0.1, 1.0, 10.0]}
    search = _full(LogisticRegression(), space, n_iter=2)
    assert not hasattr(search, "classes_")
    search.fit(X, labels)
    np.testing.assert_array_equal(search.classes_, ["no", "yes"])
    np.testing.assert_array_equal(search.classes_, search.best_estimator_.classes_)
    ridge = _full(Ridge(), {"alpha": [1.0, 2.0, 3.0]}, n_iter=2).fit(X, y)
    assert not hasattr(ridge, "classes_")
    no_refit = _full(LogisticRegression(), space, n_iter=2, refit=False).fit(X, y)
    assert not hasattr(no_refit, "classes_")


def test_a_space_of_one_point(binary):
    # sklearn test_trivial_cv_results_attr, test_search_train_scores_set_to_false
    X, y = binary
    search = _full(LogisticRegression(), {"C": [1.0]}, n_iter=3).fit(X, y)
    assert search.cv_results_["params"] == [{"C": 1.0}] * 3
    assert search.best_params_ == {"C": 1.0}
    assert not [k for k in search.cv_results_ if "train" in k]


def test_refit_false_keeps_best_params_but_no_predictions(binary):
    # sklearn test_no_refit
    X, y = binary
    search = _full(LogisticRegression(), {"C": (0.1, 10.0)}, refit=False).fit(X, y)
    assert hasattr(search, "best_index_") and hasattr(search, "best_params_")
    assert not hasattr(search, "best_estimator_")
    for name in (
        "predict",
        "predict_proba",
        "predict_log_proba",
        "transform",
        "inverse_transform",
    ):
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'") as info:
            getattr(search, name)(X)
        cause = info.value.__cause__
        assert isinstance(cause, AttributeError)
        assert f"`refit=False`. {name} is available only after refitting" in str(cause)


@pytest.mark.parametrize("refit", [True, "recall"])
def test_several_metrics_need_refit_to_name_one(binary, refit):
    # sklearn test_no_refit (invalid refit with multi-metric scoring)
    X, y = binary
    search = _full(
        LogisticRegression(), {"C": (0.1, 10.0)},
        scoring={"acc": "accuracy", "prec": "precision"}, refit=refit,
    )  # fmt: skip
    with pytest.raises(ValueError, match="the parameter refit must be set to a scorer"):
        search.fit(X, y)


def test_sparse_input_searches_like_dense():
    # sklearn test_grid_search_sparse, test_grid_search_sparse_scoring
    X, y = make_classification(n_samples=200, n_features=100, random_state=0)
    X_csr = sp.csr_matrix(X)
    space = {"C": [0.1, 1.0, 10.0]}
    kw = dict(optimizer="random", n_iter=4, scoring="f1")
    dense = _full(LinearSVC(random_state=0), space, **kw).fit(X[:180], y[:180])
    sparse = _full(LinearSVC(random_state=0), space, **kw)
    sparse.fit(X_csr[:180].tocoo(), y[:180])
    assert sparse.cv_results_["params"] == dense.cv_results_["params"]
    np.testing.assert_allclose(
        sparse.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"]
    )
    assert sparse.best_params_ == dense.best_params_
    np.testing.assert_array_equal(sparse.predict(X_csr[180:]), dense.predict(X[180:]))

    def f1_loss(y_true, y_pred):
        return -f1_score(y_true, y_pred)

    loss = make_scorer(f1_loss, greater_is_better=False)
    by_loss = _full(LinearSVC(random_state=0), space, **{**kw, "scoring": loss})
    by_loss.fit(X_csr[:180], y[:180])
    np.testing.assert_allclose(
        by_loss.cv_results_["mean_test_score"], dense.cv_results_["mean_test_score"]
    )
    assert by_loss.best_params_ == dense.best_params_
    # Trials on random subsets take sparse rows too.
    subset = _full(LinearSVC(random_state=0), space, selector="random", **kw)
    subset.set_params(subset_size=0.5).fit(X_csr[:180], y[:180])
    assert np.isfinite(subset.best_score_)


def test_precomputed_kernels_and_distances():
    # sklearn test_grid_search_precomputed_kernel,
    # test_grid_search_precomputed_kernel_error_nonsquare,
    # test_search_cv_pairwise_property_equivalence_of_precomputed
    X, y = make_classification(n_samples=200, n_features=100, random_state=0)
    K_train, K_test = X[:180] @ X[:180].T, X[180:] @ X[:180].T
    space = {"C": [0.1, 1.0, 10.0]}
    kw = dict(optimizer="random", n_iter=3)
    kernel = _full(SVC(kernel="precomputed"), space, **kw).fit(K_train, y[:180])
    linear = _full(SVC(kernel="linear"), space, **kw).fit(X[:180], y[:180])
    np.testing.assert_allclose(
        kernel.cv_results_["mean_test_score"], linear.cv_results_["mean_test_score"]
    )
    np.testing.assert_array_equal(kernel.predict(K_test), linear.predict(X[180:]))
    with pytest.raises(ValueError):
        kernel.fit(K_train.tolist(), y[:180])
    with pytest.raises(ValueError):
        _full(SVC(kernel="precomputed"), space, **kw).fit(
            np.zeros((10, 20)), np.ones(10)
        )
    knn_space = {"n_neighbors": [10]}
    plain = _full(KNeighborsClassifier(), knn_space, n_iter=1, cv=2).fit(X, y)
    distances = euclidean_distances(X)
    pre = _full(KNeighborsClassifier(metric="precomputed"), knn_space, n_iter=1, cv=2)
    pre.fit(distances, y)
    np.testing.assert_array_equal(pre.predict(distances), plain.predict(X))


def test_the_refit_fits_a_fresh_clone():
    # sklearn test_refit
    X = np.arange(100, dtype=float).reshape(10, 10)
    y = np.array([0] * 5 + [1] * 5)
    search = _full(
        _FitsOnce(), [{"parameter": [0, 1, 2]}], scoring="precision", refit=True,
        n_iter=3, cv=2, error_score="raise",
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        search.fit(X, y)
    assert search.best_estimator_.fitted_


@pytest.mark.parametrize(
    "scoring, key",
    [
        ("precision", "mean_test_score"),
        (
            {"Accuracy": make_scorer(accuracy_score), "prec": "precision"},
            "mean_test_prec",
        ),
    ],
)
def test_a_refit_callable_picks_the_index_and_hides_best_score(binary, scoring, key):
    # sklearn test_refit_callable, test_refit_callable_multi_metric
    X, y = binary
    given = {}

    def lowest(results):
        given.update(results)
        return int(np.argmin(results[key]))

    search = _full(
        LinearSVC(random_state=42), {"C": [0.001, 0.1, 1.0]}, optimizer="random",
        n_iter=5, scoring=scoring, refit=lowest,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    assert search.best_index_ == int(np.argmin(res[key]))
    assert search.best_index_ != int(np.argmax(res[key]))
    assert not hasattr(search, "best_score_")
    assert search.best_params_ == res["params"][search.best_index_]
    assert search.best_estimator_.C == search.best_params_["C"]
    assert set(res) <= set(given)


@pytest.mark.parametrize(
    "value, error, match",
    [
        (None, TypeError, "best_index_ returned is not an integer"),
        (-1, IndexError, "best_index_ index out of range"),
        (3, IndexError, "best_index_ index out of range"),
    ],
)
def test_a_refit_callable_returning_a_bad_index(binary, value, error, match):
    # sklearn test_refit_callable_invalid_type, test_refit_callable_out_bound
    X, y = binary
    search = _full(
        LinearSVC(random_state=42), {"C": [0.1, 1.0, 10.0]}, n_iter=3,
        scoring="precision", refit=lambda results: value,
    )  # fmt: skip
    with pytest.raises(error, match=match):
        search.fit(X, y)


def test_n_dimensional_inputs_reach_the_estimator():
    # sklearn test_gridsearch_nd
    X = np.arange(10 * 5 * 3 * 2, dtype=float).reshape(10, 5, 3, 2)
    y = np.arange(10 * 7 * 11).reshape(10, 7, 11)
    _SeenShapes.seen = []
    _full(_SeenShapes(), {"foo_param": [1, 2, 3]}, n_iter=2, cv=KFold(2)).fit(X, y)
    assert _SeenShapes.seen and set(_SeenShapes.seen) == {((5, 3, 2), (7, 11))}


@pytest.mark.parametrize("container", ["X list", "y list", "pandas"])
def test_containers_reach_the_estimator_unchanged(container):
    # sklearn test_X_as_list, test_y_as_list, test_pandas_input
    X = np.arange(100, dtype=float).reshape(10, 10)
    y = np.array([0] * 5 + [1] * 5)
    if container == "X list":
        X, expected = X.tolist(), (list, np.ndarray)
    elif container == "y list":
        y, expected = y.tolist(), (np.ndarray, list)
    else:
        pd = pytest.importorskip("pandas")
        X, y = pd.DataFrame(X), pd.Series(y)
        expected = (pd.DataFrame, pd.Series)
    _SeenTypes.seen = []
    search = _full(_SeenTypes(), {"foo_param": [1, 2, 3]}, n_iter=3, cv=KFold(3))
    search.fit(X, y)
    assert len(_SeenTypes.seen) == 3 * 3 + 1
    assert set(_SeenTypes.seen) == {expected}
    assert search.predict(X).shape == (10,)


def test_clustering_searches_with_and_without_labels():
    # sklearn test_unsupervised_grid_search
    X, y = make_blobs(n_samples=50, random_state=0)
    km = KMeans(random_state=0, init="random", n_init=1)
    space = {"n_clusters": [2, 3, 4]}
    kw = dict(optimizer="random", n_iter=6, random_state=2)
    metrics = ["adjusted_rand_score", "fowlkes_mallows_score"]
    for refit in metrics:
        search = _full(km, space, scoring=metrics, refit=refit, **kw).fit(X, y)
        assert {p["n_clusters"] for p in search.cv_results_["params"]} == {2, 3, 4}
        assert search.best_params_["n_clusters"] == 3
    search = _full(km, space, scoring="fowlkes_mallows_score", **kw).fit(X, y)
    assert search.best_params_["n_clusters"] == 3
    search = _full(km, space, **kw).fit(X)
    assert search.best_params_["n_clusters"] == 4


def test_a_density_search_without_predict():
    # sklearn test_gridsearch_no_predict
    X, _ = make_blobs(cluster_std=0.1, random_state=1, centers=[[0, 1], [1, 0], [0, 0]])

    def scorer(estimator, X):
        return 42 if estimator.bandwidth == 0.1 else 0

    search = _full(
        KernelDensity(), {"bandwidth": [0.01, 0.1, 1]}, scoring=scorer,
        optimizer="random", n_iter=6, cv=None,
    ).fit(X)  # fmt: skip
    assert search.best_params_["bandwidth"] == 0.1
    assert search.best_score_ == 42


def test_cv_results_keys_kinds_and_masks():
    # sklearn test_grid_search_cv_results, test_random_search_cv_results
    # (plus SubsetSearchCV's documented rank_train_score and extra columns)
    X, y = make_classification(n_samples=50, n_features=4, random_state=42)
    spaces = [
        ({"kernel": ["rbf"], "C": (1, 10), "gamma": (0.01, 1.0)}, 4),
        ({"kernel": ["poly"], "degree": [1, 2, 3]}, 3),
    ]
    search = _full(SVC(), spaces, return_train_score=True).fit(X, y)
    res, n = search.cv_results_, 7
    param_keys = ("param_C", "param_degree", "param_gamma", "param_kernel")
    score_keys = tuple(
        f"{stat}_{kind}_score"
        for kind in ("test", "train")
        for stat in ("mean", "std", "rank", "split0", "split1", "split2")
    )
    time_keys = ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time")
    extra_keys = ("subset_size", "selection_time", "rung", "pruned")
    expected = param_keys + score_keys + time_keys + extra_keys + ("params",)
    assert sorted(res) == sorted(expected)
    for key in param_keys + score_keys + time_keys + extra_keys:
        assert np.shape(res[key]) == (n,), key
    kinds = {"param_C": "i", "param_degree": "i", "param_gamma": "f"}
    kinds["param_kernel"] = "O"
    for key, kind in kinds.items():
        assert isinstance(res[key], np.ma.MaskedArray) and res[key].dtype.kind == kind
    for key in score_keys + time_keys:
        want = np.int32 if key.startswith("rank") else np.float64
        assert res[key].dtype == want, key
    for i in range(n):
        poly = res["param_kernel"][i] == "poly"
        assert res["param_C"].mask[i] == res["param_gamma"].mask[i] == poly
        assert res["param_degree"].mask[i] == (not poly)
    assert list(res["param_kernel"]) == ["rbf"] * 4 + ["poly"] * 3


def test_fold_scores_are_averaged_without_weights():
    # sklearn test_search_default_iid
    X, y = make_blobs(
        centers=[[0, 0], [1, 0], [0, 1], [1, 1]], random_state=0, cluster_std=0.1,
        shuffle=False, n_samples=80,
    )  # fmt: skip
    mask = np.ones(len(y), dtype=bool)
    mask[np.flatnonzero(y == 1)[::2]] = False
    mask[np.flatnonzero(y == 2)[::2]] = False
    search = _full(
        SVC(), {"C": [1]}, n_iter=1, cv=[(mask, ~mask), (~mask, mask)],
        return_train_score=True,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    test = [res[f"split{s}_test_score"][0] for s in range(2)]
    train = [res[f"split{s}_train_score"][0] for s in range(2)]
    np.testing.assert_allclose(test, [1.0, 1.0 / 3.0])
    np.testing.assert_allclose(train, [1.0, 1.0])
    assert res["mean_test_score"][0] == pytest.approx(np.mean(test))
    assert res["std_test_score"][0] == pytest.approx(np.std(test))
    assert res["mean_train_score"][0] == pytest.approx(1.0)
    assert res["std_train_score"][0] == pytest.approx(0.0)


@pytest.mark.parametrize("refit", [False, True])
def test_multimetric_results_are_the_single_metric_results(refit):
    # sklearn test_grid_search_cv_results_multimetric,
    # test_random_search_cv_results_multimetric
    # (a random optimiser, so that every search proposes the same candidates)
    X, y = make_classification(n_samples=50, n_features=4, random_state=42)
    space = {"C": (1e-4, 10.0, "log-uniform")}
    kw = dict(optimizer="random", n_iter=4)

    def search(scoring, refit):
        return _full(
            LogisticRegression(random_state=42), space, scoring=scoring, refit=refit,
            **kw,
        ).fit(X, y)  # fmt: skip

    multi = search(("accuracy", "recall"), "accuracy" if refit else False)
    acc, rec = search("accuracy", refit), search("recall", refit)
    assert multi.multimetric_ and sorted(multi.scorer_) == ["accuracy", "recall"]
    merged = {re.sub("_score$", "_accuracy", k): v for k, v in acc.cv_results_.items()}
    merged.update(
        {re.sub("_score$", "_recall", k): v for k, v in rec.cv_results_.items()}
    )
    np.testing.assert_equal(_without_times(multi.cv_results_), _without_times(merged))
    if not refit:
        return
    X2, y2 = make_blobs(n_samples=100, n_features=4, random_state=42)
    for name in ("predict", "predict_proba", "predict_log_proba"):
        np.testing.assert_allclose(getattr(multi, name)(X2), getattr(acc, name)(X2))
    assert multi.score(X2, y2) == pytest.approx(acc.score(X2, y2))
    for key in ("best_index_", "best_score_", "best_params_"):
        assert getattr(multi, key) == getattr(acc, key)


def test_score_samples_missing_is_an_attribute_error():
    # sklearn test_search_cv_score_samples_error
    X, y = make_blobs(n_samples=100, n_features=4, random_state=42)
    search = _full(
        DecisionTreeClassifier(random_state=0), {"max_depth": [5, 10, 20]}, n_iter=2
    ).fit(X, y)
    with pytest.raises(
        AttributeError, match="'SubsetSearchCV' has no attribute 'score_samples'"
    ) as info:
        search.score_samples(X)
    assert isinstance(info.value.__cause__, AttributeError)
    assert str(info.value.__cause__) == (
        "'DecisionTreeClassifier' object has no attribute 'score_samples'"
    )


def test_score_samples_delegates_to_the_best_estimator():
    # sklearn test_search_cv_score_samples_method
    rng = np.random.RandomState(42)
    inliers = make_blobs(
        n_samples=255, n_features=2, centers=[[0, 0], [0, 0]], cluster_std=0.5,
        random_state=0,
    )[0]  # fmt: skip
    X = np.concatenate([inliers, rng.uniform(low=-6, high=6, size=(45, 2))])
    y = np.array([1] * 255 + [-1] * 45)
    search = _full(
        LocalOutlierFactor(novelty=True), {"n_neighbors": [5, 10, 20]},
        scoring="precision", n_iter=3, cv=KFold(3, shuffle=True, random_state=0),
    ).fit(X, y)  # fmt: skip
    np.testing.assert_allclose(
        search.score_samples(X), search.best_estimator_.score_samples(X)
    )


def test_a_scorer_without_sample_weight_warns():
    # sklearn test_unsupported_sample_weight_scorer (not its plain-function
    # case: a scoring that fails in every trial is an error here, as
    # coming_from.rst documents)
    X, y = make_classification(n_samples=10, n_features=4, random_state=42)
    weights = np.ones_like(y)

    def constant(y_true, y_pred):
        return 0.5

    space = {"C": [1, 10, 100]}
    fake = make_scorer(constant)
    search = _full(LogisticRegression(), space, n_iter=2, cv=2, scoring=fake)
    with pytest.warns(UserWarning, match="does not support sample_weight"):
        search.fit(X, y, sample_weight=weights)
    multi = _full(
        LogisticRegression(), space, n_iter=2, cv=2, refit=False,
        scoring={"fake": fake, "accuracy": "accuracy"},
    )  # fmt: skip
    with pytest.warns(
        UserWarning, match=r"The scoring fake=.* does not support sample_weight"
    ):
        multi.fit(X, y, sample_weight=weights)


@pytest.mark.parametrize(
    "estimator, space",
    [
        (LogisticRegression(), {"C": [1, 10, 100]}),
        (Ridge(), {"alpha": [1, 0.1, 0.01]}),
    ],
)
def test_weights_act_like_repeated_rows(estimator, space):
    # sklearn test_search_cv_sample_weight_equivalence
    rng = np.random.RandomState(42)
    n = 120
    X = rng.rand(n, 2 * n)
    y = rng.randint(0, 3, size=n)
    sw = rng.randint(0, 5, size=n)
    groups = np.tile(np.arange(4), n // 4)
    kw = dict(optimizer="random", n_iter=3)
    cv = list(LeaveOneGroupOut().split(X, groups=groups))
    weighted = _full(clone(estimator), space, cv=cv, **kw)
    weighted.fit(X, y, sample_weight=sw)
    X_rep, y_rep, groups_rep = X.repeat(sw, 0), y.repeat(sw), groups.repeat(sw)
    cv_rep = list(LeaveOneGroupOut().split(X_rep, groups=groups_rep))
    repeated = _full(clone(estimator), space, cv=cv_rep, **kw).fit(X_rep, y_rep)
    for key in [k for k in repeated.cv_results_ if k.endswith("score")]:
        np.testing.assert_allclose(
            weighted.cv_results_[key], repeated.cv_results_[key], rtol=1e-5, err_msg=key
        )
    assert weighted.best_index_ == repeated.best_index_
    assert weighted.best_score_ == pytest.approx(repeated.best_score_)
    for name in ("predict_proba", "decision_function", "predict"):
        if hasattr(weighted, name):
            np.testing.assert_allclose(
                getattr(weighted, name)(X), getattr(repeated, name)(X), rtol=1e-4,
                atol=1e-6, err_msg=name,
            )  # fmt: skip


@pytest.mark.parametrize(
    "estimator, scoring",
    [
        (DecisionTreeRegressor(), "neg_mean_squared_error"),
        (DecisionTreeClassifier(), None),
    ],
)
def test_none_is_a_choice_like_any_other(estimator, scoring):
    # sklearn test_search_cv_results_none_param (the regressor with an error
    # metric: R^2 of one-row test folds is NaN in every trial, which is an
    # error here, as coming_from.rst documents)
    X, y = [[1], [2], [3], [4], [5]], [0, 0, 0, 0, 1]
    space = {"random_state": [0, None]}
    kw = dict(optimizer="random", n_iter=4, cv=KFold())
    search = _full(estimator, space, scoring=scoring, **kw).fit(X, y)
    values = [p["random_state"] for p in search.cv_results_["params"]]
    assert set(values) == {0, None}
    column = search.cv_results_["param_random_state"]
    assert list(column) == values and not column.mask.any()
    if not is_classifier(estimator):
        with pytest.warns(UserWarning), pytest.raises(ValueError, match="Every one"):
            _full(estimator, space, **kw).fit(X, y)


def test_timing_keys_and_failed_fits_score_in_no_time():
    # sklearn test_search_cv_timing (no duration bounds: only what a failed
    # fit must report)
    X, y = [[1], [2], [3], [4]], [0, 1, 1, 0]
    search = _full(
        LinearSVC(random_state=0), {"C": Categorical([0, 1])}, optimizer="random",
        n_iter=4, cv=2, error_score=0,
    )  # fmt: skip
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    res = search.cv_results_
    failed = np.array([p["C"] == 0 for p in res["params"]])
    assert failed.any() and (~failed).any()
    for key in ("mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"):
        assert np.all(res[key] >= 0), key
    assert np.all(res["mean_score_time"][failed] == 0.0)
    assert np.all(res["std_score_time"][failed] == 0.0)
    assert isinstance(search.refit_time_, float) and search.refit_time_ >= 0


@pytest.mark.parametrize("scoring", ["f1", "roc_auc"])
def test_split_scores_are_the_scores_of_each_fold(scoring):
    # sklearn test_grid_search_correct_score_results
    X, y = make_blobs(random_state=0, centers=2)
    search = _full(
        LinearSVC(random_state=0), {"C": [0.1, 1, 10]}, optimizer="random",
        n_iter=3, scoring=scoring,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    folds = list(StratifiedKFold(n_splits=3).split(X, y))
    for i, params in enumerate(res["params"]):
        for s, (train, test) in enumerate(folds):
            clf = LinearSVC(random_state=0, **params).fit(X[train], y[train])
            if scoring == "f1":
                expected = f1_score(y[test], clf.predict(X[test]))
            else:
                expected = roc_auc_score(y[test], clf.decision_function(X[test]))
            assert res[f"split{s}_test_score"][i] == pytest.approx(expected)


@pytest.mark.parametrize(
    "estimator",
    [DecisionTreeRegressor(random_state=0), DecisionTreeClassifier(random_state=0)],
)
def test_multioutput_targets_score_per_fold(estimator):
    # sklearn test_grid_search_with_multioutput_data
    X, y = make_multilabel_classification(return_indicator=True, random_state=0)
    cv = KFold()
    search = _full(
        estimator, {"max_depth": [1, 2, 3, 4]}, optimizer="random", n_iter=3, cv=cv
    ).fit(X, y)
    for i, params in enumerate(search.cv_results_["params"]):
        for s, (train, test) in enumerate(cv.split(X, y)):
            est = clone(estimator).set_params(**params).fit(X[train], y[train])
            assert search.cv_results_[f"split{s}_test_score"][i] == pytest.approx(
                est.score(X[test], y[test])
            )


def test_predict_proba_only_when_the_best_estimator_has_it(binary):
    # sklearn test_predict_proba_disabled, test_stochastic_gradient_loss_param
    X, y = binary
    svc = _full(SVC(), {"C": [0.1, 1.0, 10.0]}, n_iter=2).fit(X, y)
    assert not hasattr(svc, "predict_proba")
    X = np.arange(24, dtype=float).reshape(6, -1)
    y = [0, 0, 0, 1, 1, 1]
    sgd = SGDClassifier(loss="hinge", random_state=0)
    log = _full(sgd, {"loss": ["log_loss"]}, n_iter=1)
    assert not hasattr(log, "predict_proba")
    log.fit(X, y)
    assert log.predict_proba(X).shape == (6, 2)
    with np.errstate(divide="ignore"):  # probabilities of 0 and 1 on this data
        assert log.predict_log_proba(X).shape == (6, 2)
    hinge = _full(sgd, {"loss": ["hinge"]}, n_iter=1).fit(X, y)
    assert not hasattr(hinge, "predict_proba")


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
@pytest.mark.parametrize("error_score", [0.0, np.nan])
def test_failed_fits_get_error_score_and_rank_last(error_score):
    # sklearn test_grid_search_failing_classifier
    X, y = make_classification(n_samples=20, n_features=10, random_state=0)
    search = _full(
        _FailsOnTwo(), {"parameter": [0, 1, 2]}, scoring="accuracy", refit=False,
        error_score=error_score, optimizer="random", n_iter=6, cv=5,
    )  # fmt: skip
    with pytest.warns(FitFailedWarning, match="Failing classifier failed as required"):
        search.fit(X, y)
    res = search.cv_results_
    failed = np.array([p["parameter"] == 2 for p in res["params"]])
    assert failed.any() and (~failed).any()
    splits = np.array([res[f"split{s}_test_score"] for s in range(5)])
    if np.isnan(error_score):
        assert np.isnan(splits[:, failed]).all()
    else:
        assert (splits[:, failed] == 0.0).all()
    ranks = res["rank_test_score"]
    assert np.all(ranks[failed] == ranks.max())
    assert np.all(ranks[~failed] < ranks[failed].min())
    assert not failed[search.best_index_]


class _OneShotKFold:
    """A splitter whose ``split`` yields its folds the first time only."""

    def __init__(self, n_splits, n_samples):
        self.n_splits = n_splits
        self._folds = iter(list(KFold(n_splits).split(np.zeros(n_samples))))

    def split(self, X=None, y=None, groups=None):
        yield from self._folds

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits


def test_splits_are_drawn_once_and_shared_by_all_candidates():
    # sklearn test_grid_search_cv_splits_consistency
    X, y = make_classification(n_samples=100, random_state=0)
    space = {"C": [0.1, 0.2, 0.3]}
    kw = dict(optimizer="random", n_iter=6, return_train_score=True)

    def run(cv):
        return _full(LinearSVC(random_state=0), space, cv=cv, **kw).fit(X, y)

    one_shot, kfold = run(_OneShotKFold(5, 100)), run(KFold(5))
    np.testing.assert_equal(
        _without_times(one_shot.cv_results_), _without_times(kfold.cv_results_)
    )
    seeded = KFold(5, shuffle=True, random_state=0)
    generator, splitter = run(seeded.split(X, y)), run(seeded)
    np.testing.assert_equal(
        _without_times(generator.cv_results_), _without_times(splitter.cv_results_)
    )
    # An unseeded shuffle still scores every candidate on the same folds: six
    # trials over three values repeat some, with equal split scores.
    res = run(KFold(5, shuffle=True)).cv_results_
    by_value = {}
    for i, params in enumerate(res["params"]):
        scores = [
            res[f"split{s}_{kind}_score"][i]
            for kind in ("test", "train")
            for s in range(5)
        ]
        by_value.setdefault(params["C"], []).append(scores)
    assert any(len(v) > 1 for v in by_value.values())
    for repeats in by_value.values():
        for scores in repeats[1:]:
            np.testing.assert_allclose(scores, repeats[0])


def test_an_exhausted_cv_iterator_is_an_error(binary):
    # sklearn test_empty_cv_iterator_error
    X, y = binary
    cv = KFold(n_splits=3).split(X)
    list(cv)
    search = _full(Ridge(), {"alpha": [1e-3, 1e-2, 1e-1]}, cv=cv)
    with pytest.raises(ValueError, match=r"(?i)no (fits|splits)"):
        search.fit(X, y)


class _MiscountingKFold(KFold):
    def get_n_splits(self, X=None, y=None, groups=None):
        return 1


def test_a_splitter_that_miscounts_its_folds_is_an_error(binary):
    # sklearn test_random_search_bad_cv
    X, y = binary
    search = _full(Ridge(), {"alpha": [1e-3, 1e-2, 1e-1]}, cv=_MiscountingKFold(3))
    with pytest.raises(ValueError, match="inconsistent results"):
        search.fit(X, y)


class _EveryFifthNaN:
    """A scorer that returns NaN on every fifth call."""

    def __init__(self):
        self.calls = 0

    def __call__(self, estimator, X, y):
        self.calls += 1
        return np.nan if self.calls % 5 == 0 else 1.0


@pytest.mark.parametrize("return_train_score", [False, True])
def test_non_finite_scores_warn_and_rank_last(return_train_score):
    # sklearn test_searchcv_raise_warning_with_non_finite_score
    X, y = make_classification(n_classes=2, random_state=0)
    search = _full(
        DecisionTreeClassifier(random_state=0), {"max_depth": [2, 3, 5, 8]},
        scoring=_EveryFifthNaN(), n_iter=4, optimizer="random",
        return_train_score=return_train_score,
    )  # fmt: skip
    with pytest.warns(UserWarning) as record:
        search.fit(X, y)
    kinds = ["test", "train"] if return_train_score else ["test"]
    messages = [str(w.message) for w in record if issubclass(w.category, UserWarning)]
    assert len(messages) == len(kinds), messages
    for message, kind in zip(messages, kinds):
        assert f"One or more of the {kind} scores are non-finite" in message
    ranks = search.cv_results_["rank_test_score"]
    nan = np.isnan(search.cv_results_["mean_test_score"])
    assert nan.any() and (~nan).any()
    assert np.all(ranks[nan] == ranks.max())
    assert np.all(ranks[~nan] < ranks.max())


def test_a_callable_of_metrics_searches_like_their_names(binary):
    # sklearn test_callable_multimetric_same_as_list_of_strings
    X, y = binary

    def both(estimator, X, y):
        pred = estimator.predict(X)
        return {"recall": recall_score(y, pred), "accuracy": accuracy_score(y, pred)}

    space = {"C": (1e-3, 1.0, "log-uniform")}
    kw = dict(n_iter=5, refit="recall")
    by_callable = _full(LinearSVC(random_state=42), space, scoring=both, **kw)
    by_names = _full(
        LinearSVC(random_state=42), space, scoring=["recall", "accuracy"], **kw
    )
    by_callable.fit(X, y)
    by_names.fit(X, y)
    assert by_callable.cv_results_["params"] == by_names.cv_results_["params"]
    assert by_callable.best_score_ == pytest.approx(by_names.best_score_)
    assert by_callable.best_index_ == by_names.best_index_
    assert by_callable.score(X, y) == pytest.approx(by_names.score(X, y))


def test_a_callable_metric_searches_like_its_name(binary):
    # sklearn test_callable_single_metric_same_as_single_string
    X, y = binary

    def recall(estimator, X, y):
        return recall_score(y, estimator.predict(X))

    space = {"C": (1e-3, 1.0, "log-uniform")}
    searches = [
        _full(LinearSVC(random_state=42), space, n_iter=5, scoring=s, refit=r).fit(X, y)
        for s, r in ((recall, True), ("recall", "recall"), (["recall"], "recall"))
    ]
    first = searches[0]
    for other in searches[1:]:
        assert other.cv_results_["params"] == first.cv_results_["params"]
        assert other.best_score_ == pytest.approx(first.best_score_)
        assert other.best_index_ == first.best_index_
        assert other.score(X, y) == pytest.approx(first.score(X, y))


def test_a_callable_of_metrics_without_the_refit_key(binary):
    # sklearn test_callable_multimetric_error_on_invalid_key
    X, y = binary
    search = _full(
        LinearSVC(random_state=42), {"C": [0.1, 1.0, 10.0]},
        scoring=lambda estimator, X, y: {"bad_name": 1}, refit="good_name",
    )  # fmt: skip
    with pytest.raises(ValueError, match="the parameter refit must be set to a scorer"):
        search.fit(X, y)


def test_a_callable_of_metrics_with_failing_fits_gets_error_score():
    # sklearn test_callable_multimetric_error_failing_clf
    X, y = make_classification(n_samples=20, n_features=10, random_state=0)
    search = _full(
        _FailsOnTwo(), {"parameter": [0, 1, 2]},
        scoring=lambda estimator, X, y: {"acc": 1}, refit=False, error_score=0.1,
        optimizer="random", n_iter=6, cv=5,
    )  # fmt: skip
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    res = search.cv_results_
    expected = [0.1 if p["parameter"] == 2 else 1.0 for p in res["params"]]
    assert 0.1 in expected and 1.0 in expected
    np.testing.assert_allclose(res["mean_test_acc"], expected)


def test_n_features_in_comes_with_the_fit():
    # sklearn test_n_features_in
    X, y = make_classification(n_features=4, random_state=0)
    search = _full(LogisticRegression(), {"C": [0.1, 1.0, 10.0]}, n_iter=2)
    assert not hasattr(search, "n_features_in_")
    assert search.fit(X, y).n_features_in_ == 4


@pytest.mark.parametrize("pairwise", [True, False])
def test_the_pairwise_tag_is_the_estimator_s(pairwise):
    # sklearn test_search_cv_pairwise_property_delegated_to_base_estimator,
    # test_search_cv__pairwise_property_delegated_to_base_estimator
    metric = "precomputed" if pairwise else "minkowski"
    search = SubsetSearchCV(KNeighborsClassifier(metric=metric), {"n_neighbors": [3]})
    assert search.__sklearn_tags__().input_tags.pairwise is pairwise


@pytest.mark.parametrize(
    "subset", [{"subset_size": 1.0}, {"subset_size": 0.5, "selector": "random"}]
)
def test_scalar_tuple_and_callable_fit_params_pass_through(subset):
    # sklearn test_scalar_fit_param, test_scalar_fit_param_compat
    X, y = make_classification(random_state=42)

    def hook():
        pass

    search = SubsetSearchCV(
        _OddFitParams(), {"a": (0.1, 1.0)}, n_iter=2, cv=3, error_score="raise",
        random_state=0, **subset,
    )  # fmt: skip
    search.fit(X, y, r=42, pair=(X[:10], y[:10]), hook=hook)
    best = search.best_estimator_
    assert best.r_ == 42 and best.hook_ is hook
    assert isinstance(best.pair_, tuple) and best.pair_[0].shape == (10, 20)


@pytest.mark.parametrize("Predictor", [_MinimalClassifier, _MinimalRegressor])
def test_minimal_estimators_outside_base_estimator(Predictor):
    # sklearn test_search_cv_using_minimal_compatible_estimator
    rng = np.random.RandomState(0)
    X, y = rng.randn(25, 2), np.array([0] * 5 + [1] * 20)
    model = Pipeline(
        [("transformer", _MinimalTransformer()), ("predictor", Predictor())]
    )
    space = {"transformer__param": [1, 5, 10], "predictor__param": [1, 5, 10]}
    search = _full(model, space, error_score="raise").fit(X, y)
    assert search.best_params_.keys() == space.keys()
    y_pred = search.predict(X)
    if is_classifier(search):
        np.testing.assert_array_equal(y_pred, 1)
        assert search.score(X, y) == pytest.approx(accuracy_score(y, y_pred))
    else:
        np.testing.assert_allclose(y_pred, y.mean())
        assert search.score(X, y) == pytest.approx(r2_score(y, y_pred))


@pytest.mark.parametrize("return_train_score", [False, True])
def test_verbose_3_prints_one_score_per_fold(capsys, return_train_score):
    # sklearn test_search_cv_verbose_3
    X, y = make_classification(n_samples=100, n_classes=2, flip_y=0.2, random_state=0)
    _full(
        LinearSVC(random_state=0), {"C": [0.1]}, n_iter=1, scoring="accuracy",
        verbose=3, return_train_score=return_train_score,
    ).fit(X, y)  # fmt: skip
    out = capsys.readouterr().out
    if return_train_score:
        pattern = r"score=\(train=[\d.]+, test=[\d.]+\)"
    else:
        pattern = r"score=[\d.]+"
    assert len(re.findall(pattern, out)) == 3


def test_tuple_choices_stay_tuples():
    # sklearn test_search_with_2d_array
    texts = ["one", "two", "three", "four", "five"]
    target = [0, 0, 1, 0, 1]
    pipe = Pipeline([("vect", TfidfVectorizer()), ("clf", ComplementNB())])
    space = {"vect__ngram_range": ((1, 1), (1, 2)), "vect__norm": ("l1", "l2")}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The least populated class")
        search = _full(pipe, space, n_iter=3).fit(texts, target)
    column = search.cv_results_["param_vect__ngram_range"]
    assert column.dtype == object
    values = [p["vect__ngram_range"] for p in search.cv_results_["params"]]
    assert list(column.data) == values
    assert all(isinstance(v, tuple) and v in ((1, 1), (1, 2)) for v in values)


def test_html_repr_shows_the_best_estimator_once_refit(binary):
    # sklearn test_search_html_repr
    X, y = binary
    pipe = Pipeline([("scale", StandardScaler()), ("clf", DummyClassifier())])
    space = {"clf": [DummyClassifier(), LogisticRegression()]}
    search = _full(pipe, space, refit=False, optimizer="random", n_iter=4)
    with config_context(display="diagram"):
        assert "<div>DummyClassifier</div>" in search._repr_html_()
        search.fit(X, y)
        assert "<div>DummyClassifier</div>" in search._repr_html_()
        refit = clone(search).set_params(refit=True).fit(X, y)
        assert isinstance(refit.best_params_["clf"], LogisticRegression)
        html = refit._repr_html_()
    assert "<div>DummyClassifier</div>" not in html
    assert "<div>LogisticRegression</div>" in html


def test_scorer_metadata_reaches_every_test_fold(binary):
    # sklearn test_multi_metric_search_forwards_metadata
    X, y = binary
    weights = np.random.RandomState(0).rand(len(y))
    received = []

    def weighted_accuracy(y_true, y_pred, sample_weight=None):
        received.append(sample_weight)
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    with config_context(enable_metadata_routing=True):
        scorer = make_scorer(weighted_accuracy).set_score_request(
            sample_weight="score_weights"
        )
        search = _full(
            LinearSVC(random_state=0), {"C": [1.0]}, n_iter=1, cv=KFold(2),
            scoring={"mine": scorer, "accuracy": "accuracy"}, refit="accuracy",
        )  # fmt: skip
        search.fit(X, y, score_weights=weights)
    tests = [test for _, test in KFold(2).split(X)]
    assert len(received) == len(tests)
    for got, test in zip(received, tests):
        np.testing.assert_array_equal(got, weights[test])


def test_score_refuses_metadata_without_routing(binary):
    # sklearn test_score_rejects_params_with_no_routing_enabled
    X, y = binary
    search = _full(LinearSVC(random_state=0), {"C": [1.0]}, n_iter=1, cv=2)
    search.fit(X, y)
    with pytest.raises(ValueError, match="is only supported if"):
        search.score(X, y, metadata=1)


def test_object_valued_choices_give_object_columns(binary):
    # sklearn test_cv_results_dtype_issue_29074,
    # test_search_with_estimators_issue_29157, test_cv_results_multi_size_array
    X, y = binary
    space = {
        "option": [None, {"option": "A"}, {"option": "B"}],
        "values": [None, [1, 2]],
        "settings": [{"a": 1}],
        "label": ["a", "b"],
        "encoder": [OneHotEncoder(sparse_output=False), OrdinalEncoder()],
        "knots": [np.linspace(0, 1, 20).reshape(-1, 2), np.linspace(0, 1, 24)],
    }
    search = _full(_Holder(), space, optimizer="random", n_iter=6).fit(X, y)
    res = search.cv_results_
    for name in space:
        column = res[f"param_{name}"]
        assert column.dtype == object, name
        for value, params in zip(column, res["params"]):
            assert value is params[name], name
    assert search.best_params_["label"] == "b"


def test_a_range_of_choices(binary):
    # sklearn test_grid_search_when_param_grid_includes_range
    X, y = binary
    search = _full(
        DecisionTreeClassifier(random_state=0), {"max_depth": range(1, 5)}
    ).fit(X, y)
    assert {p["max_depth"] for p in search.cv_results_["params"]} <= {1, 2, 3, 4}
    assert search.best_estimator_.max_depth in range(1, 5)
