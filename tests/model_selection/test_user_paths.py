"""Search and subset-estimator paths that GridSearchCV handles and we must too.

Each case was found by a review run beside ``GridSearchCV``.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from subsetml.model_selection import SubsetEstimator, SubsetSearchCV


@pytest.fixture
def data():
    return make_classification(300, 6, weights=[0.8], random_state=0)


@pytest.mark.parametrize(
    "before, after",
    [
        (
            {"class_weight": [None, {0: 1, 1: 2}]},
            {"class_weight": [None, {0: 1, 1: 100}]},
        ),
        ({"C": st.expon(scale=1e-3)}, {"C": st.expon(scale=100)}),
        # Distributions whose data are no argument (all were "Distribution()").
        (
            {"C": st.rv_discrete(values=([1, 2, 4], [0.5, 0.3, 0.2]))()},
            {"C": st.rv_discrete(values=([10, 20, 40], [0.5, 0.3, 0.2]))()},
        ),
        (
            {"C": st.rv_histogram(np.histogram([1.0, 2.0, 2.0, 3.0], bins=3))()},
            {"C": st.rv_histogram(np.histogram([10.0, 20.0, 30.0], bins=3))()},
        ),
    ],
)
def test_a_stored_study_of_other_choices_is_refused(data, tmp_path, before, after):
    """Choices travel to Optuna as positions and scipy dimensions as
    quantiles: a changed space resumed the old scores under new values."""
    X, y = data
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def search(space, n_iter):
        return SubsetSearchCV(
            LogisticRegression(),
            space,
            n_iter=n_iter,
            cv=2,
            subset_size=0.5,
            random_state=0,
            storage=storage,
        ).fit(X, y)

    search(before, 2)
    with pytest.raises(ValueError, match="different search space"):
        search(after, 3)
    # the same space resumes
    assert len(search(before, 3).cv_results_["params"]) == 3


class WeightSpy(ClassifierMixin, BaseEstimator):
    """Logistic regression that keeps the sample weights it was given."""

    def fit(self, X, y, sample_weight=None):
        self.seen_weight_ = sample_weight
        self.model_ = LogisticRegression().fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


def test_a_steps_own_weights_multiply_the_selectors(data):
    X, y = data
    user = np.where(y == 1, 1e-3, 1.0)
    pipe = Pipeline([("sc", StandardScaler()), ("clf", WeightSpy())])
    est = SubsetEstimator(pipe, selector="craig", subset_size=0.3, random_state=0)
    est.fit(X, y, clf__sample_weight=user)
    seen = est.estimator_[-1].seen_weight_
    idx = est.subset_.indices
    selector = est.subset_.weights / est.subset_.weights.mean()
    assert np.allclose(seen, selector * user[idx])
    assert (est.predict(X) == 1).mean() < 0.05


def test_per_row_fit_params_in_a_series_go_by_position(data):
    X, y = data
    order = np.random.RandomState(0).permutation(len(y))
    frame = pd.DataFrame(X, index=order)
    target = pd.Series(y, index=order)
    user = np.where(y == 1, 1e-3, 1.0)
    pipe = Pipeline([("sc", StandardScaler()), ("clf", WeightSpy())])
    est = SubsetEstimator(pipe, selector="random", subset_size=0.5, random_state=0)
    est.fit(frame, target, clf__sample_weight=pd.Series(user, index=order))
    idx = est.subset_.indices
    assert np.allclose(est.estimator_[-1].seen_weight_, user[idx])
    search = SubsetSearchCV(
        pipe,
        {"sc__with_mean": [True, False]},
        n_iter=1,
        cv=2,
        subset_size=0.5,
        selector="random",
        random_state=0,
        error_score="raise",
    ).fit(X, y, clf__sample_weight=pd.Series(user))
    assert np.isfinite(search.best_score_)


def test_metadata_routing_pipelines_take_weights_only_when_requested(data):
    X, y = data
    with sklearn.config_context(enable_metadata_routing=True):
        plain = make_pipeline(StandardScaler(), LogisticRegression())
        with pytest.warns(UserWarning, match="routing does not pass sample_weight"):
            SubsetEstimator(plain, random_state=0).fit(X, y)
        # The last step asks for the weights; the scaler has not said: the
        # warning names the scaler (it blamed "no step" before, a review).
        half = make_pipeline(
            StandardScaler(), LogisticRegression().set_fit_request(sample_weight=True)
        )
        with pytest.warns(UserWarning, match=r"StandardScaler\.fit_transform"):
            SubsetEstimator(half, random_state=0).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            search = SubsetSearchCV(
                plain, {"logisticregression__C": (0.01, 100.0, "log-uniform")}
            )
            search.set_params(n_iter=2, cv=2, random_state=0, error_score="raise")
            assert np.isfinite(search.fit(X, y).best_score_)
        asked = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            WeightSpy().set_fit_request(sample_weight=True),
        )
        est = SubsetEstimator(asked, random_state=0).fit(X, y)
        assert est.estimator_[-1].seen_weight_ is not None


@pytest.mark.parametrize("params", [{"n_jobs": 2}, {"trial_timeout": 60}])
def test_workers_get_scikit_learns_configuration(params):
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(200, 3), columns=["a", "b", "c"])
    y = (X["a"] > 0).astype(int)
    pipe = Pipeline(
        [
            (
                "scale",
                ColumnTransformer(
                    [("s", StandardScaler(), ["a", "b", "c"])],
                    verbose_feature_names_out=False,
                ),
            ),
            ("pick", ColumnTransformer([("keep", "passthrough", ["a", "b"])])),
            ("clf", LogisticRegression()),
        ]
    )
    with sklearn.config_context(transform_output="pandas"):
        search = SubsetSearchCV(
            pipe,
            {"clf__C": (0.01, 100.0, "log-uniform")},
            n_iter=2,
            cv=2,
            subset_size=0.3,
            random_state=0,
            error_score="raise",
            **params,
        ).fit(X, y)
    assert search.best_score_ > 0.8


@pytest.mark.parametrize("lastlayer", ["inputs", "proxy", "estimator"])
def test_every_view_reads_through_the_pipeline(lastlayer):
    rng = np.random.RandomState(0)
    words = np.array(["good", "bad", "fine", "awful", "great", "meh"])
    docs = [" ".join(rng.choice(words, 6)) for _ in range(200)]
    y = np.array(
        [sum(w in ("good", "great", "fine") for w in d.split()) >= 3 for d in docs]
    )
    text = make_pipeline(TfidfVectorizer(), LogisticRegression())
    est = SubsetEstimator(text, subset_size=0.3, lastlayer=lastlayer, random_state=0)
    assert est.fit(docs, y).score(docs, y) > 0.7
    a = rng.randn(300)
    frame = pd.DataFrame({"a": a, "c": rng.choice(["x", "y"], 300)})
    columns = Pipeline(
        [
            (
                "pre",
                ColumnTransformer(
                    [("num", StandardScaler(), ["a"]), ("cat", OneHotEncoder(), ["c"])]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    est = SubsetEstimator(columns, subset_size=0.3, lastlayer=lastlayer, random_state=0)
    assert est.fit(frame, a > 0).score(frame, a > 0) > 0.8


def test_nullable_integer_columns_with_missing_values():
    rng = np.random.RandomState(0)
    a = rng.randn(300)
    X = pd.DataFrame({"a": a, "i": pd.array(rng.randint(0, 5, 300), dtype="Int64")})
    X.loc[rng.rand(300) < 0.1, "i"] = pd.NA
    y = (a > 0).astype(int)
    hgb = HistGradientBoostingClassifier(max_iter=10, min_samples_leaf=5)
    est = SubsetEstimator(hgb, subset_size=0.3, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.8


def test_selected_subsets_need_a_target_and_one_label_per_row():
    X, y = make_classification(150, 4, random_state=0)
    with pytest.raises(ValueError, match="y is None"):
        SubsetSearchCV(
            KMeans(n_init=2), {"n_clusters": (2, 6)}, n_iter=2, cv=2,
            subset_size=0.3, selector="craig",
        ).fit(X)  # fmt: skip
    labels = np.column_stack([y, 1 - y])
    with pytest.raises(ValueError, match=r"y has shape \(150, 2\)"):
        SubsetSearchCV(
            LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=2, cv=2, subset_size=0.3
        ).fit(X, labels)
    # Several regression targets are subset together (on all rows as well,
    # as in GridSearchCV).
    Y = np.column_stack([X[:, 0], X[:, 1]])
    for size in (0.3, 1.0):
        SubsetSearchCV(
            Ridge(), {"alpha": (0.1, 10.0)}, n_iter=2, cv=2, subset_size=size
        ).fit(X, Y)


def test_the_compute_report_counts_this_fits_trials_once(tmp_path):
    """A resumed study's stored trials cost this fit nothing, and re-scoring
    is rescore_s, not the trials' time as well."""
    X, y = make_classification(300, 6, random_state=0)
    space = {"C": (0.01, 10.0, "log-uniform")}
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def report(n_iter, **params):
        search = SubsetSearchCV(
            LogisticRegression(), space, n_iter=n_iter, cv=2, random_state=0, **params
        )
        return search.fit(X, y).compute_report_

    first = report(4, storage=storage, subset_size=1.0)
    assert (first["n_trials"], first["n_trials_stored"]) == (4, 0)
    again = report(4, storage=storage, subset_size=1.0)
    assert (again["n_trials"], again["n_trials_stored"], again["fits"]) == (0, 4, 0)
    assert again["trial_fit_s"] == 0 and again["speedup_estimate"] is None
    more = report(6, storage=storage, subset_size=1.0)
    assert (more["n_trials"], more["n_trials_stored"], more["fits"]) == (2, 4, 4)
    # one process, one job: the parts are measured inside the whole
    r = report(6, subset_size=0.2, rescore=3)
    assert r["rescore_s"] > 0
    parts = r["trial_fit_s"] + r["trial_score_s"] + r["rescore_s"]
    assert parts <= r["search_s"]


def test_a_lastlayer_callable_gets_x_as_given():
    from sklearn.feature_extraction.text import TfidfVectorizer

    from subsetml import LastLayer
    from subsetml.sampling import SubsetSampler

    docs = ["good great fine", "bad awful poor", "nice good", "ugly bad"] * 25
    y = np.array([1, 0, 1, 0] * 25)
    seen = []

    def embed(X, y):
        seen.append(type(X))
        return LastLayer.from_inputs(TfidfVectorizer().fit_transform(X).toarray(), y)

    text = make_pipeline(TfidfVectorizer(), LogisticRegression())
    est = SubsetEstimator(text, subset_size=0.2, lastlayer=embed, random_state=0)
    assert est.fit(docs, y).score(docs, y) == 1.0
    assert seen == [list]
    frame = pd.DataFrame({"a": np.arange(100.0), "city": ["x", "y"] * 50})
    target = (frame["a"] > 50).astype(int).to_numpy()

    def numeric(X, y):
        return LastLayer.from_inputs(X[["a"]].to_numpy(), y)

    X_out, _ = SubsetSampler(
        "craig", 0.2, lastlayer=numeric, random_state=0
    ).fit_resample(frame, target)
    assert list(X_out.columns) == ["a", "city"] and len(X_out) == 20


# --- found by a review of the drop-in semantics (beside BayesSearchCV) ------


class Sleepy(ClassifierMixin, BaseEstimator):
    """Logistic regression whose fit sleeps ``pause`` seconds first when it
    gets at least ``slow_rows`` rows."""

    def __init__(self, C=1.0, pause=0.0, slow_rows=0):
        self.C = C
        self.pause = pause
        self.slow_rows = slow_rows

    def fit(self, X, y, sample_weight=None):
        import time

        if len(X) >= self.slow_rows:
            time.sleep(self.pause)
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(
            X, y, sample_weight=sample_weight
        )
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


HUNG = """
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from subsetml.model_selection import SubsetSearchCV

class Spin(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0):
        self.C = C
    def fit(self, X, y):
        while self.C > 3:  # a fit that never ends
            pass
        self.m_ = LogisticRegression(C=self.C, max_iter=5000).fit(X, y)
        self.classes_ = self.m_.classes_
        return self
    def predict(self, X):
        return self.m_.predict(X)

X, y = load_breast_cancer(return_X_y=True)
search = SubsetSearchCV(Spin(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=4,
                        random_state=1, trial_timeout=3)
search.fit(X, y)
print("scores", search.cv_results_["mean_test_score"])
"""


def test_a_hung_fit_is_killed_and_python_exits(tmp_path):
    """loky's shutdown failed on futures cancelled first, before it killed
    the workers: the hung fit ran on after fit returned, and Python could
    not exit."""
    import subprocess
    import sys

    script = tmp_path / "hung.py"
    script.write_text(HUNG)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "scores" in done.stdout
    assert "InvalidStateError" not in done.stderr
    assert "KeyError" not in done.stderr


def test_a_timed_out_fit_raises_with_error_score_raise(data):
    X, y = data
    search = SubsetSearchCV(
        Sleepy(pause=5.0),
        {"C": (0.5, 2.0)},
        n_iter=1,
        cv=2,
        trial_timeout=0.5,
        error_score="raise",
        random_state=0,
    )
    with pytest.raises(TimeoutError, match="trial_timeout=0.5"):
        search.fit(X, y)


def test_re_scoring_gives_each_configuration_its_own_time_limit(data):
    X, y = data
    # 1 s a fit on a whole fold (150 rows; subsets are 45 and 90), 2 splits
    # one after the other: 2 s a configuration, within the 5 s limit (slack
    # for a loaded machine), but not three of them together
    search = SubsetSearchCV(
        Sleepy(pause=1.0, slow_rows=150),
        {"C": (0.01, 10.0, "log-uniform")},
        n_iter=4,
        cv=2,
        subset_size=(0.3, 0.6),
        rescore=3,
        trial_timeout=5.0,
        random_state=0,
    ).fit(X, y)
    rescored = search.cv_results_["rung"] == 2
    assert rescored.sum() == 3
    assert np.isfinite(search.cv_results_["mean_test_score"][rescored]).all()


class FailsOnManyRows(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        if len(X) > 100 and self.C > 1:
            raise MemoryError("too many rows for a large C")
        return super().fit(X, y, sample_weight=sample_weight)


def test_a_failed_trial_never_ranks_first_with_a_numeric_error_score(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = SubsetSearchCV(
            FailsOnManyRows(max_iter=2000),
            {"C": (0.01, 100.0, "log-uniform")},
            n_iter=8,
            cv=2,
            subset_size=(0.3, 1.0),
            error_score=0.0,
            refit=False,
            random_state=0,
        ).fit(X, y)
    failed = search.cv_results_["mean_test_score"] == 0.0
    assert failed.any()  # the space reaches C > 1 on all rows
    assert search.best_score_ > 0.5
    assert (search.cv_results_["rank_test_score"][failed] > (~failed).sum()).all()


def test_train_scores_are_of_the_rows_a_trial_trained_on():
    from sklearn.datasets import load_digits
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_digits(return_X_y=True)
    space = {"max_depth": (20, 30)}
    params = dict(n_iter=2, cv=2, subset_size=0.1, selector="random", random_state=0)
    tree = DecisionTreeClassifier(random_state=0)
    with_train = SubsetSearchCV(tree, space, return_train_score=True, **params)
    with_train.fit(X, y)
    # a deep tree fits its training rows exactly; the rest of the fold it
    # never saw
    assert (with_train.cv_results_["split0_train_score"] == 1.0).all()
    without = SubsetSearchCV(tree, space, **params).fit(X, y)
    assert np.array_equal(
        with_train.cv_results_["mean_test_score"],
        without.cv_results_["mean_test_score"],
    )


def test_custom_scorers_read_the_fitted_model(data):
    from sklearn.metrics import accuracy_score

    X, y = data

    def sparse_accuracy(est, X, y):
        return accuracy_score(y, est.predict(X)) - 0.001 * np.count_nonzero(est.coef_)

    search = SubsetSearchCV(
        LogisticRegression(penalty="l1", solver="liblinear"),
        {"C": (0.01, 10.0, "log-uniform")},
        n_iter=3,
        cv=2,
        scoring=sparse_accuracy,
        subset_size=0.3,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    assert np.isfinite(search.best_score_)


def test_the_first_round_climbs_every_rung_within_a_tiny_timeout(data):
    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(max_iter=2000),
        {"C": (0.01, 10.0, "log-uniform")},
        n_iter=6,
        cv=2,
        subset_size=(0.3, 1.0),
        timeout=1e-3,
        random_state=0,
    ).fit(X, y)
    assert search.cv_results_["rung"].max() == 1


def test_a_callback_stops_one_space_as_in_bayes_search_cv(data):
    X, y = data
    seen = []

    def stop_at_two(result):
        seen.append(len(result.func_vals))
        return len(result.func_vals) >= 2

    spaces = [({"C": (0.01, 1.0)}, 4), ({"C": (1.0, 10.0)}, 4)]
    search = SubsetSearchCV(
        LogisticRegression(max_iter=2000), spaces, cv=2, n_points=1, random_state=0
    ).fit(X, y, callback=stop_at_two)
    assert len(search.cv_results_["params"]) == 4
    assert seen == [1, 2, 1, 2]  # each space's own trials


def test_skopt_real_with_int_bounds_is_continuous():
    """``Real(0, 1)`` keeps int bounds in scikit-optimize yet is a float
    range; it was searched as the integers 0 and 1. ``Integer(1.0, 10.0)``
    handed floats to integer parameters."""
    skopt_space = pytest.importorskip("skopt.space")
    from subsetml.model_selection._spaces import check_search_spaces

    [space] = check_search_spaces(
        {"a": skopt_space.Real(0, 1), "b": skopt_space.Integer(1.0, 10.0)}, 3
    )
    a, b = space.dimensions
    assert (a.kind, a.low, a.high) == ("float", 0.0, 1.0)
    assert (b.kind, b.low, b.high) == ("int", 1, 10)
    X, y = make_classification(120, 4, random_state=0)
    search = SubsetSearchCV(
        LogisticRegression(penalty="elasticnet", solver="saga", max_iter=200),
        {"l1_ratio": skopt_space.Real(0, 1)},
        n_iter=4,
        cv=2,
        subset_size=0.5,
        random_state=0,
    ).fit(X, y)
    values = [p["l1_ratio"] for p in search.cv_results_["params"]]
    assert all(isinstance(v, float) for v in values)
    assert len(set(values)) == 4


def test_a_pipeline_whose_model_step_the_space_fills_is_a_classifier():
    """The user guide's ``("model", None)`` Pipeline is no classifier to
    ``is_classifier``: string labels failed, and subsets were picked as for
    a regression."""
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    X, y = make_classification(160, 5, weights=[0.85], random_state=0)
    labels = np.array(["neg", "pos"])[y]
    pipe = Pipeline([("scale", StandardScaler()), ("model", None)])
    spaces = [
        {"model": [SVC()], "model__C": (1e-2, 1e2, "log-uniform")},
        {"model": [DecisionTreeClassifier()], "model__max_depth": (2, 6)},
    ]
    search = SubsetSearchCV(
        pipe,
        spaces,
        n_iter=2,
        cv=2,
        scoring="accuracy",
        selector="craig",
        subset_size=0.1,
        random_state=0,
    ).fit(X, labels)
    for subset in search.subsets_:
        # Both classes in every subset, as for a plain classifier.
        assert set(labels[subset.indices]) == {"neg", "pos"}
    assert set(search.predict(X)) <= {"neg", "pos"}


def test_a_callable_scorer_dict_optimises_the_metric_refit_names():
    """A callable returning ``{"score": ..., "auc": ...}`` with
    ``refit="auc"`` optimised ``"score"``."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    X, y = make_classification(200, 6, flip_y=0.2, random_state=0)

    def multi(est, X, y):
        return {
            "score": accuracy_score(y, est.predict(X)),
            "auc": roc_auc_score(y, est.decision_function(X)),
        }

    search = SubsetSearchCV(
        LogisticRegression(),
        {"C": (1e-3, 100.0, "log-uniform")},
        n_iter=4,
        cv=3,
        scoring=multi,
        refit="auc",
        selector="random",
        subset_size=0.5,
        random_state=0,
    ).fit(X, y)
    values = [t.value for t in search.studies_[0].trials]
    np.testing.assert_allclose(values, search.cv_results_["mean_test_auc"])


def test_train_ranks_put_the_last_rung_first_as_test_ranks_do():
    """A trial pruned after 20 rows fits them best: it ranked first by
    train score."""
    X, y = make_classification(300, 5, random_state=1)
    search = SubsetSearchCV(
        LogisticRegression(),
        {"C": (1e-3, 10.0, "log-uniform")},
        n_iter=6,
        cv=3,
        subset_size=(20, 60, 1.0),
        scoring={"acc": "accuracy", "auc": "roc_auc"},
        refit="auc",
        return_train_score=True,
        selector="random",
        random_state=0,
    ).fit(X, y)
    r = search.cv_results_
    top = max(r["rung"])
    for name in ("acc", "auc"):
        for i in np.flatnonzero(r[f"rank_train_{name}"] == 1):
            assert r["rung"][i] == top
        assert r[f"rank_train_{name}"].dtype == r[f"rank_test_{name}"].dtype


class _ImputesItself(ClassifierMixin, BaseEstimator):
    """A third-party classifier that fills in missing values itself and
    declares no tags (as most outside scikit-learn do)."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, float)
        self.fill_ = np.nanmedian(X, axis=0)
        self.model_ = LogisticRegression(C=self.C).fit(
            np.where(np.isnan(X), self.fill_, X), y, sample_weight=sample_weight
        )
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        X = np.asarray(X, float)
        return self.model_.predict(np.where(np.isnan(X), self.fill_, X))


@pytest.mark.parametrize("selector", ["random", "craig"])
def test_missing_values_reach_an_estimator_whose_tags_say_nothing(selector):
    """GridSearchCV lets them through; we refused them for every estimator
    without the allow_nan tag, even on all rows."""
    X, y = make_classification(150, 5, random_state=0)
    X[::7, 1] = np.nan
    for size in (1.0, 0.5):
        SubsetSearchCV(
            _ImputesItself(),
            {"C": (0.1, 1.0)},
            n_iter=2,
            cv=3,
            selector=selector,
            subset_size=size,
            random_state=0,
        ).fit(X, y)
    SubsetEstimator(_ImputesItself(), selector=selector, subset_size=0.5).fit(X, y)
    # scikit-learn's own say truly that they do not take them.
    with pytest.raises(ValueError, match="NaN"):
        SubsetEstimator(LogisticRegression(), selector=selector, subset_size=0.5).fit(
            X, y
        )


@pytest.mark.parametrize(
    "params",
    [{"return_train_score": "yes"}, {"pre_dispatch": [1]}, {"error_score": "skip"}],
)
def test_shared_parameters_are_validated_as_in_gridsearchcv(params):
    """They were accepted silently; GridSearchCV raises InvalidParameterError."""
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = make_classification(60, 4, random_state=0)
    search = SubsetSearchCV(
        LogisticRegression(), {"C": (0.1, 1.0)}, n_iter=1, cv=2, **params
    )
    with pytest.raises(InvalidParameterError):
        search.fit(X, y)
    # A set of metric names stays accepted (an extension).
    SubsetSearchCV(
        LogisticRegression(),
        {"C": (0.1, 1.0)},
        n_iter=1,
        cv=2,
        scoring={"accuracy", "f1"},
        refit="f1",
        subset_size=0.5,
    ).fit(X, y)


def test_search_with_several_regression_targets():
    """A multi-target regressor is searched on subsets, rungs included, as
    GridSearchCV searches it on all rows."""
    from sklearn.datasets import make_regression
    from sklearn.neighbors import KNeighborsRegressor

    from subsetml.model_selection import SubsetSearchCV

    X, Y = make_regression(400, 5, n_targets=3, random_state=0)
    search = SubsetSearchCV(
        KNeighborsRegressor(),
        {"n_neighbors": (1, 20)},
        n_iter=4,
        cv=2,
        subset_size=(0.2, 1.0),
        random_state=0,
    ).fit(X, Y)
    assert search.predict(X[:5]).shape == (5, 3)
    assert np.isfinite(search.best_score_)


def test_search_never_selects_rows_weighted_zero():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import KFold

    from subsetml.model_selection import SubsetSearchCV

    X, y = make_classification(900, 6, random_state=0)
    w = np.where(np.random.RandomState(1).rand(900) < 0.5, 0.0, 1.0)
    cv = KFold(3, shuffle=True, random_state=0)
    search = SubsetSearchCV(
        LogisticRegression(), {"C": (0.01, 10.0, "log-uniform")}, n_iter=2, cv=cv,
        subset_size=(0.1, 1.0), selector="craig", random_state=0,
    ).fit(X, y, sample_weight=w)  # fmt: skip
    for subset, (train, _) in zip(search.subsets_, cv.split(X, y)):
        counted = int((w[train] > 0).sum())
        assert subset.size == int(np.ceil(0.1 * counted))
        assert (w[subset.indices] > 0).all()
    # The rung on every row that counts trains on the whole folds.
    assert search.rung_subsets_[1] == []


def test_a_study_stored_before_equal_choices_were_positions_says_so(data, tmp_path):
    # Choices that compare equal (1 and 1.0) travel as positions since they
    # were read back as the first equal one: a study stored before holds
    # their values, and the refusal says why the same space differs.
    import optuna

    from subsetml.model_selection._run import _SPACE_KEY

    X, y = data
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    def search():
        return SubsetSearchCV(
            LogisticRegression(),
            {"C": [0.5, 1, 1.0]},
            n_iter=2,
            cv=2,
            subset_size=0.5,
            random_state=0,
            storage=storage,
        ).fit(X, y)

    search()
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    old = '{"C": "CategoricalDistribution(choices=(0.5, 1, 1.0))"}'
    study.set_user_attr(_SPACE_KEY, old)
    with pytest.raises(ValueError, match=r"\['C'\] hold choices that compare equal"):
        search()


@pytest.mark.parametrize("optimizer", ["tpe", "random", "gp"])
def test_discrete_scipy_values_that_are_not_whole_numbers(data, optimizer):
    # rv_discrete(values=...) over 0.1, 0.5, 0.9 was rounded to 0 and 1 (a
    # review): the values pass as RandomizedSearchCV draws them.
    if optimizer == "gp":
        pytest.importorskip("skopt")
    values = st.rv_discrete(values=([0.1, 0.5, 0.9], [0.3, 0.3, 0.4]))()
    counts = st.poisson(3)
    params = _drawn(
        data,
        LogisticRegression(solver="saga", penalty="elasticnet", max_iter=50),
        {"l1_ratio": values, "max_iter": counts},
        optimizer,
        n_iter=6,
    )
    drawn = [p["l1_ratio"] for p in params]
    assert set(drawn) <= {0.1, 0.5, 0.9} and all(type(v) is float for v in drawn)
    assert all(type(p["max_iter"]) is int for p in params)


def _drawn(data, estimator, space, optimizer, n_iter):
    """The parameters a small search of ``space`` tried."""
    search = SubsetSearchCV(
        estimator,
        space,
        n_iter=n_iter,
        cv=2,
        subset_size=0.5,
        optimizer=optimizer,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(*data)
    return search.cv_results_["params"]


def test_scipy_distribution_objects_that_are_not_frozen(data):
    # What rv_discrete(values=...) and rv_histogram return, unfrozen, as
    # RandomizedSearchCV draws from them; one that needs parameters says so.
    X, y = data
    space = {
        "C": st.rv_discrete(values=([1, 2, 4], [0.5, 0.3, 0.2])),
        "tol": st.rv_histogram(np.histogram([1e-4, 2e-4, 3e-4], bins=3)),
    }
    search = SubsetSearchCV(
        LogisticRegression(), space, n_iter=3, cv=2, subset_size=0.5, random_state=0
    ).fit(X, y)
    assert {p["C"] for p in search.cv_results_["params"]} <= {1, 2, 4}
    with pytest.raises(TypeError, match="needs parameters.*freeze it"):
        SubsetSearchCV(LogisticRegression(), {"C": st.gamma}, n_iter=2).fit(X, y)


@pytest.mark.parametrize("optimizer", ["tpe", "random", "gp"])
def test_optuna_distributions_with_a_step(data, optimizer):
    # Refused before (a review), where OptunaSearchCV takes them.
    if optimizer == "gp":
        pytest.importorskip("skopt")
    from optuna.distributions import FloatDistribution, IntDistribution

    space = {
        "max_iter": IntDistribution(10, 50, step=10),
        "tol": FloatDistribution(0.1, 0.5, step=0.1),
    }
    params = _drawn(data, LogisticRegression(), space, optimizer, n_iter=8)
    assert {p["max_iter"] for p in params} <= {10, 20, 30, 40, 50}
    assert all(type(p["max_iter"]) is int for p in params)
    assert {p["tol"] for p in params} <= {0.1, 0.2, 0.3, 0.4, 0.5}
    assert len({(p["max_iter"], p["tol"]) for p in params}) > 1


def test_unsupervised_estimators_search_on_random_subsets():
    # The default selector draws without a target, yet y=None was refused
    # as if every selector read it (a review).
    from sklearn.datasets import make_blobs
    from sklearn.decomposition import PCA

    X, _ = make_blobs(400, 4, centers=4, random_state=0)
    search = SubsetSearchCV(
        KMeans(n_init=2, random_state=0),
        {"n_clusters": (2, 6)},
        n_iter=4,
        subset_size=0.25,
        cv=2,
        random_state=0,
    ).fit(X)
    assert search.best_estimator_.n_clusters == search.best_params_["n_clusters"]
    from sklearn.model_selection import KFold

    # One subset per split, of the rows of X in its training fold.
    for subset, (train, _) in zip(search.subsets_, KFold(2).split(X)):
        assert len(np.unique(subset.indices)) == 50
        assert np.isin(subset.indices, train).all()
        assert np.all(subset.weights == 1)
    again = SubsetSearchCV(
        KMeans(n_init=2, random_state=0), {"n_clusters": (2, 6)}, n_iter=4,
        subset_size=0.25, cv=2, random_state=0,
    ).fit(X)  # fmt: skip
    np.testing.assert_array_equal(
        again.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )
    SubsetSearchCV(PCA(), {"n_components": [1, 2, 3]}, n_iter=3, subset_size=0.5).fit(X)
    with pytest.raises(ValueError, match="selector='craig' selects training rows by"):
        SubsetSearchCV(KMeans(), {"n_clusters": (2, 6)}, selector="craig").fit(X)


@pytest.mark.parametrize("optimizer", ["tpe", "gp"])
def test_a_nan_choice(data, optimizer):
    # SimpleImputer's missing_values=NaN among the choices: the GP's
    # scikit-optimize space could not place NaN (a review).
    if optimizer == "gp":
        pytest.importorskip("skopt")
    from sklearn.impute import SimpleImputer

    X, y = data
    X = X.copy()
    X[::7, 0] = -1.0
    pipe = make_pipeline(SimpleImputer(), LogisticRegression())
    space = {"simpleimputer__missing_values": [np.nan, -1.0]}
    search = SubsetSearchCV(
        pipe, space, n_iter=4, cv=2, subset_size=0.5, optimizer=optimizer,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    drawn = [p["simpleimputer__missing_values"] for p in search.cv_results_["params"]]
    assert all(v == -1.0 or np.isnan(v) for v in drawn)


# ------------------------------------------ search-contract review findings
def _nan_metric(y_true, y_pred):
    return np.nan


@pytest.mark.parametrize("refit", [False, "callable"])
def test_a_nan_first_metric_keeps_the_others_without_a_best(refit):
    # refit=False or a callable: no best configuration is needed, so a first
    # metric that is NaN everywhere warns and leaves the others' scores, as
    # in RandomizedSearchCV (it raised and kept no cv_results_).
    from sklearn.datasets import load_iris
    from sklearn.metrics import make_scorer
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    if refit == "callable":

        def refit(results):
            return int(np.argmax(results["mean_test_accuracy"]))

    search = SubsetSearchCV(
        SVC(),
        {"C": (0.1, 10.0, "log-uniform")},
        n_iter=3,
        cv=3,
        subset_size=0.5,
        scoring={"nan": make_scorer(_nan_metric), "accuracy": "accuracy"},
        refit=refit,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="NaN score"):
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_accuracy"]).all()
    assert np.isnan(search.cv_results_["mean_test_nan"]).all()


def test_verbose_lines_of_rescored_trials_keep_their_numbers(capsys):
    from sklearn.datasets import load_iris
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_iris(return_X_y=True)
    SubsetSearchCV(
        KNeighborsClassifier(),
        {"n_neighbors": (3, 15)},
        n_iter=3,
        cv=2,
        subset_size=0.5,
        rescore=2,
        verbose=10,
        random_state=0,
    ).fit(X, y)
    out = capsys.readouterr().out
    numbers = re.findall(r"; (\d+)/3\] END", out)
    assert numbers and all(1 <= int(n) <= 3 for n in numbers)
