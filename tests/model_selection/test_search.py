"""SubsetSearchCV: results format, selection caching, optimisers, faults, resume."""

import pickle
import re
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from subsetml.model_selection import SubsetSearchCV
from subsetml.selection import RandomSelector

optuna = pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return X, y


SPACE = {"C": (1e-3, 1e2, "log-uniform")}


def _search(**kwargs):
    params = dict(n_iter=6, subset_size=0.2, cv=3, random_state=0)
    params.update(kwargs)
    return SubsetSearchCV(LogisticRegression(max_iter=500), SPACE, **params)


# ------------------------------------------------------------ results format
def test_cv_results_format_and_refit(data):
    X, y = data
    search = _search(selector="craig").fit(X, y)
    res = search.cv_results_
    n = 6
    for key in (
        "params",
        "param_C",
        "split0_test_score",
        "split2_test_score",
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "mean_fit_time",
        "std_score_time",
        "subset_size",
        "selection_time",
    ):
        assert len(res[key]) == n, key
    assert res["rank_test_score"].min() == 1
    assert np.all(res["subset_size"] == 40)  # 20 % of 200 training rows
    assert np.all(res["selection_time"] > 0)
    # The refit is the bare estimator with the best parameters on all rows.
    assert type(search.best_estimator_) is LogisticRegression
    assert search.best_params_ == res["params"][search.best_index_]
    assert search.best_score_ == res["mean_test_score"][search.best_index_]
    ref = clone(LogisticRegression(max_iter=500)).set_params(**search.best_params_)
    np.testing.assert_allclose(
        search.predict_proba(X), ref.fit(X, y).predict_proba(X), rtol=1e-6
    )
    assert len(search.subsets_) == 3 and all(s.size == 40 for s in search.subsets_)
    assert search.selection_time_ > 0 and search.search_time_ > 0
    assert search.refit_time_ > 0 and search.n_splits_ == 3
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(res)
    assert frame.shape[0] == n and "param_C" in frame


def test_full_data_search_scores_like_cross_val_score(data):
    X, y = data
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    search = _search(subset_size=1.0, cv=cv, n_iter=3).fit(X, y)
    assert search.subsets_ == [] and search.selection_time_ == 0
    for i, params in enumerate(search.cv_results_["params"]):
        expected = cross_val_score(
            LogisticRegression(max_iter=500, **params), X, y, cv=cv
        ).mean()
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(expected)


class _Recorder(ClassifierMixin, BaseEstimator):
    """Records the number of rows every fit sees (n_jobs=1 only)."""

    seen = []

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y, sample_weight=None):
        type(self).seen.append(len(X))
        self.classes_ = np.unique(y)
        self._majority = self.classes_[0]
        return self

    def predict(self, X):
        return np.full(len(X), self._majority)


def test_trials_train_on_the_subset_and_refit_on_all_rows(data):
    X, y = data
    _Recorder.seen = []
    SubsetSearchCV(
        _Recorder(), {"C": (0.1, 1.0)}, n_iter=4, selector="random",
        subset_size=0.1, cv=3, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert _Recorder.seen[:-1] == [20] * 12  # 4 trials x 3 splits, 10 % of 200
    assert _Recorder.seen[-1] == 300


class _WeightRecorder(ClassifierMixin, BaseEstimator):
    """Records the labels and sample_weight of every fit (n_jobs=1 only)."""

    received = []

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y, sample_weight=None):
        sw = None if sample_weight is None else np.asarray(sample_weight)
        type(self).received.append((np.asarray(y), sw))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


class _CountingSelector(RandomSelector):
    calls = 0

    def _select(self, view, k, *, validation, rng):
        type(self).calls += 1
        return super()._select(view, k, validation=validation, rng=rng)


def test_default_subsets_are_stratified_random_rows(data):
    # Searches draw random subsets by default (no selector ranked
    # configurations better; fidelity_svc_more_seeds.json): unit weights,
    # each class in its share, the same rows as RandomSelector's.
    X, y = data
    search = _search().fit(X, y)
    explicit = _search(selector="random").fit(X, y)
    for subset, other, (train, _) in zip(
        search.subsets_, explicit.subsets_, StratifiedKFold(3).split(X, y)
    ):
        np.testing.assert_array_equal(subset.indices, other.indices)
        np.testing.assert_array_equal(subset.weights, 1.0)
        picked = np.bincount(y[subset.indices], minlength=3)
        share = np.bincount(y[train], minlength=3) * subset.size / train.size
        assert np.all(np.abs(picked - share) <= 1)
    assert search.best_params_ == explicit.best_params_


def test_selection_runs_once_per_split_not_per_trial(data):
    X, y = data
    _CountingSelector.calls = 0
    search = _search(selector=_CountingSelector(), n_iter=7).fit(X, y)
    assert len(search.cv_results_["params"]) == 7
    assert _CountingSelector.calls == 3


def test_same_seed_same_candidates_other_seed_other(data):
    X, y = data
    a = _search(random_state=3).fit(X, y).cv_results_["params"]
    b = _search(random_state=3).fit(X, y).cv_results_["params"]
    c = _search(random_state=4).fit(X, y).cv_results_["params"]
    assert a == b
    assert a != c


def test_parallel_trials_match_sequential(data):
    X, y = data
    a = _search(n_jobs=1).fit(X, y).cv_results_
    b = _search(n_jobs=2).fit(X, y).cv_results_
    assert a["params"] == b["params"]
    np.testing.assert_allclose(a["mean_test_score"], b["mean_test_score"])


# ---------------------------------------------------------------- spaces
def test_every_space_spelling_is_accepted(data):
    from skopt.space import Categorical, Integer, Real

    X, y = data
    space = {
        "svc__C": Real(1e-2, 1e2, prior="log-uniform"),
        "svc__gamma": stats.loguniform(1e-3, 1e0),
        "svc__degree": Integer(2, 3),
        "svc__coef0": stats.norm(0.0, 1.0),  # searched in quantile space
        "svc__kernel": Categorical(["rbf", "poly"]),
        "svc__tol": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True),
        "svc__class_weight": [None, "balanced", {0: 1.0, 1: 2.0, 2: 1.0}],
        "svc__max_iter": (1000, 2000),
        "svc__shrinking": [True, False],
    }
    model = make_pipeline(StandardScaler(), SVC())
    search = SubsetSearchCV(
        model, space, n_iter=6, selector="random", subset_size=0.3, cv=2,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    for p in search.cv_results_["params"]:
        assert 1e-2 <= p["svc__C"] <= 1e2 and 1e-3 <= p["svc__gamma"] <= 1.0
        assert p["svc__degree"] in (2, 3) and isinstance(p["svc__degree"], int)
        assert isinstance(p["svc__coef0"], float) and np.isfinite(p["svc__coef0"])
        assert p["svc__class_weight"] in (None, "balanced", {0: 1.0, 1: 2.0, 2: 1.0})
        assert isinstance(p["svc__max_iter"], int)
    assert type(search.best_estimator_[-1]) is SVC


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(
    "name, args, expected",
    [
        ("LogUniformDistribution", (1e-3, 1e2), ("float", 1e-3, 1e2, True)),
        ("UniformDistribution", (0.0, 1.0), ("float", 0.0, 1.0, False)),
        ("IntUniformDistribution", (1, 10), ("int", 1, 10, False)),
        ("IntLogUniformDistribution", (1, 100), ("int", 1, 100, True)),
    ],
)
def test_optunas_deprecated_distributions_are_read_as_what_they_are(
    name, args, expected
):
    # OptunaSearchCV code of Optuna 2 spells them so; they are subclasses of
    # FloatDistribution and IntDistribution, and were refused by class name.
    from subsetml.model_selection._spaces import check_search_spaces

    cls = getattr(optuna.distributions, name, None)
    if cls is None:
        pytest.skip(f"this Optuna has no {name}")
    [space] = check_search_spaces({"C": cls(*args)}, 2)
    [d] = space.dimensions
    assert (d.kind, d.low, d.high, d.log) == expected


def test_list_of_spaces_and_pairs(data):
    X, y = data
    spaces = [({"C": (0.1, 10.0)}, 2), {"C": [0.5, 1.0, 2.0], "fit_intercept": [False]}]
    search = SubsetSearchCV(
        LogisticRegression(max_iter=300), spaces, n_iter=3, selector="random",
        subset_size=0.3, cv=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    params = search.cv_results_["params"]
    assert len(params) == 5 and search.total_iterations == 5
    assert all(set(p) == {"C"} for p in params[:2])
    assert all(set(p) == {"C", "fit_intercept"} for p in params[2:])
    assert len(search.studies_) == 2
    # Parameters missing from a space are masked in param_* columns.
    assert (
        search.cv_results_["param_fit_intercept"].mask.tolist()
        == [True] * 2 + [False] * 3
    )


def test_two_numbers_in_a_list_are_two_choices_with_a_warning(data):
    # Issue 15: scikit-optimize 0.10 reads [0.5, 10.0] as a range (and warns
    # it will change); GridSearchCV reads two choices. We take the choices
    # and say so, with both ways out.
    from skopt.space import Categorical

    X, y = data
    kw = dict(n_iter=4, selector="random", subset_size=0.3, cv=2, random_state=0)
    with pytest.warns(UserWarning, match=r"two choices.*tuple \(0.5, 10.0\)"):
        search = SubsetSearchCV(LogisticRegression(), {"C": [0.5, 10.0]}, **kw)
        search.fit(X, y)
    assert {p["C"] for p in search.cv_results_["params"]} <= {0.5, 10.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for space in (
            {"C": Categorical([0.5, 10.0])},
            {"C": (0.5, 10.0)},
            {"C": [0.5, 1.0, 10.0]},
            {"fit_intercept": [True, False]},
        ):
            SubsetSearchCV(LogisticRegression(), space, **kw).fit(X, y)


def test_a_range_written_prior_first_is_three_choices_with_a_warning():
    # ("log", 1e-2, 1e3) reads as three choices, the string among them: say
    # so, and how to write the range; other tuples of words stay quiet.
    from skopt.space import Categorical

    from subsetml.model_selection._spaces import check_search_spaces

    with pytest.warns(UserWarning, match=r"three choices.*\(0.01, 1000.0, 'log-un"):
        [space] = check_search_spaces({"C": ("log", 1e-2, 1e3)}, 2)
    [d] = space.dimensions
    assert d.kind == "categorical"
    # The spelling shown searches the kind of numbers the word names.
    for spec, shown in (
        (("float", 1, 10), "(1.0, 10.0, 'uniform')"),
        (("int", 1.0, 10.0), "(1, 10, 'uniform')"),
        (("int-log", 1, 100), "(1, 100, 'log-uniform')"),
    ):
        with pytest.warns(UserWarning, match=re.escape(shown)):
            check_search_spaces({"p": spec}, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for spec in (
            ("uniform", "distance"),
            Categorical(["log", 1e-2, 1e3]),
            (1e-2, 1e3, "log-uniform"),
            ["auto", 1, 2, 3],
        ):
            check_search_spaces({"p": spec}, 2)


def test_choices_that_compare_equal_keep_their_own_value():
    # max_features=1 is one feature and 1.0 all of them, yet 1 == 1.0: Optuna
    # stores a choice by value, as the first equal one, so a trial queued
    # again with 1.0 (after an interruption) was recorded, and modelled, as 1.
    from subsetml.model_selection._spaces import check_search_spaces

    [space] = check_search_spaces({"m": [1, 1.0, "sqrt"]}, 3)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    dists = space.to_optuna()
    for _ in range(50):
        trial = study.ask(dists)
        value = space.decode(trial.params)["m"]
        study.tell(trial, 0.0)
        if type(value) is float:
            break
    assert type(value) is float
    study.enqueue_trial(trial.params, skip_if_exists=False)
    study.ask(dists)
    # As the storage holds it (what cv_results_ and the optimisers read).
    again = space.decode(study.get_trials()[-1].params)["m"]
    assert again == 1.0 and type(again) is float


def test_repeated_choices_weight_them_with_the_gp_optimizer(data):
    # Repeating a choice is the way to weight it (the advice for a skopt
    # Categorical prior); the GP optimiser failed once it left its random
    # start, on a one-hot encoding sized for the distinct choices.
    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(max_iter=200),
        {"C": (0.1, 10.0), "fit_intercept": [True, True, False]},
        optimizer="gp", n_iter=4, n_points=1, selector="random", subset_size=0.3,
        cv=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert len(search.cv_results_["params"]) == 4
    assert {p["fit_intercept"] for p in search.cv_results_["params"]} <= {True, False}


@pytest.mark.parametrize(
    "space, match",
    [
        ({}, "empty"),
        ([], "empty list"),
        ({"C": (10.0, 1.0)}, "low must be below high"),
        ({"C": (0.0, 1.0, "log-uniform")}, "needs low > 0"),
        ({"C": (0.1, 1.0, "normal")}, "prior must be one of"),
        ({"C": []}, "no choices"),
        ({"C": 3.0}, "must be a"),
        ({"C": np.array(3.0)}, "must be a"),  # was len() of unsized object
        ({"C": (0.1, float("inf"))}, "finite"),
        ({"nope": (0.1, 1.0)}, r"not parameters of LogisticRegression"),
        ([({"C": (0.1, 1.0)}, 0)], "integer >= 1"),
        ("C", "must be a dict"),
    ],
)
def test_bad_search_spaces_fail_clearly(data, space, match):
    X, y = data
    search = SubsetSearchCV(LogisticRegression(), space, n_iter=2, cv=2)
    with pytest.raises((ValueError, TypeError), match=match):
        search.fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_iter": 0}, "n_iter must be >= 1"),
        ({"n_iter": 2.5}, "n_iter must be an integer"),
        ({"n_points": 0}, "n_points"),
        ({"n_points": "many"}, "n_points must be 'auto' or an integer"),
        ({"timeout": -1}, "timeout"),
        ({"optimizer": "bayes"}, "Unknown optimizer"),
        ({"selector": "kmeans"}, "Unknown selector"),
        ({"use_weights": "yes"}, "use_weights"),
        ({"lastlayer": "deep"}, "lastlayer"),
        ({"subset_size": 0}, "subset_size"),
        ({"subset_size": 1000}, "subset_size"),
        ({"scoring": ["accuracy", "f1_macro"]}, "refit"),
    ],
)
def test_bad_parameters_fail_clearly(data, params, match):
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        _search(**params).fit(X, y)


def test_bad_data_fails_clearly(data):
    X, y = data
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _search(error_score="raise").fit(X_nan, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _search().fit(X, y[:-1])


# ------------------------------------------------------------ optimisers
@pytest.mark.parametrize("optimizer", ["tpe", "gp", "random"])
def test_optimizers(data, optimizer):
    X, y = data
    search = _search(optimizer=optimizer, n_iter=12, selector="random").fit(X, y)
    assert len(search.cv_results_["params"]) == 12
    assert len(search.studies_[0].trials) == 12


def test_optuna_sampler_instance_is_copied(data):
    X, y = data
    sampler = optuna.samplers.RandomSampler(seed=5)
    a = _search(optimizer=sampler, selector="random").fit(X, y).cv_results_["params"]
    b = _search(optimizer=sampler, selector="random").fit(X, y).cv_results_["params"]
    assert a == b  # the instance itself was not consumed by the first fit


@pytest.mark.parametrize("name", ["NSGAIISampler", "NSGAIIISampler"])
def test_a_sampler_holding_a_thread_lock_is_copied(data, name):
    # A review: NSGA-II and NSGA-III keep a thread lock, which deepcopy
    # cannot copy, and fit failed ("cannot pickle '_thread.lock' object").
    X, y = data
    sampler = getattr(optuna.samplers, name)(seed=3)
    a = _search(optimizer=sampler, selector="random").fit(X, y).cv_results_["params"]
    b = _search(optimizer=sampler, selector="random").fit(X, y).cv_results_["params"]
    assert a == b


@pytest.mark.filterwarnings("ignore:BruteForceSampler is experimental")
@pytest.mark.parametrize("sampler", ["grid", "brute force"])
@pytest.mark.parametrize("n_points", [1, 2, 5])
def test_a_sampler_whose_grid_is_spent_ends_the_search(
    data, sampler, n_points, tmp_path
):
    # Both stop the study once every point was tried; outside
    # Study.optimize Optuna raises that from study.tell.
    X, y = data
    choices = [0.01, 1.0, 10.0]
    sampler = (
        optuna.samplers.GridSampler({"C": choices}, seed=0)
        if sampler == "grid"
        else optuna.samplers.BruteForceSampler(seed=0)
    )
    search = SubsetSearchCV(
        LogisticRegression(max_iter=500),
        {"C": choices},
        n_iter=10,
        n_points=n_points,
        optimizer=sampler,
        subset_size=0.2,
        cv=3,
        random_state=0,
        storage=str(tmp_path / "grid.log"),
    )
    search.fit(X, y)
    tried = [p["C"] for p in search.cv_results_["params"]]
    # Each point once: a round past the grid's end ran repeats (a review).
    assert sorted(tried) == sorted(choices)
    assert search.best_params_["C"] in choices
    # Fitted again, the spent grid adds no trial (it added a repeat a fit).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = search.fit(X, y)
    assert sorted(p["C"] for p in again.cv_results_["params"]) == sorted(choices)


def test_only_a_stop_request_from_tell_ends_the_search():
    from subsetml.model_selection._run import _tell

    class Study:
        def __init__(self, message):
            self.message = message

        def tell(self, trial, **kwargs):
            if self.message:
                raise RuntimeError(self.message)

    assert _tell(Study(None), 0) is False
    stop = "`Study.stop` is supposed to be invoked inside an objective function"
    assert _tell(Study(stop), 0) is True
    with pytest.raises(RuntimeError, match="storage is gone"):
        _tell(Study("storage is gone"), 0)


def test_random_sampler_gives_paired_candidates_across_strategies(data):
    # The benchmark harness relies on this: a seeded random sampler proposes
    # the same candidates whatever the scores, so strategies can be paired.
    X, y = data
    runs = [
        _search(optimizer=optuna.samplers.RandomSampler(seed=1), **kw)
        .fit(X, y)
        .cv_results_["params"]
        for kw in ({"subset_size": 1.0}, {"selector": "craig"}, {"selector": "random"})
    ]
    assert runs[0] == runs[1] == runs[2]


def test_n_points_rounds_keep_the_trial_count(data):
    X, y = data
    search = _search(n_points=3, n_iter=7, selector="random").fit(X, y)
    assert len(search.cv_results_["params"]) == 7


# ------------------------------------------------------------ faults
class _Fragile(ClassifierMixin, BaseEstimator):
    def __init__(self, C=1.0, fail=False):
        self.C = C
        self.fail = fail

    def fit(self, X, y, sample_weight=None):
        if self.fail:
            raise RuntimeError("boom: this configuration cannot be fitted")
        self.clf_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict(self, X):
        return self.clf_.predict(X)


def _fragile_search(**kwargs):
    params = dict(
        n_iter=8, selector="random", subset_size=0.3, cv=2, random_state=0,
        optimizer="random",
    )  # fmt: skip
    params.update(kwargs)
    return SubsetSearchCV(
        _Fragile(), {"C": (0.1, 10.0), "fail": [True, False]}, **params
    )


def test_failing_trials_get_error_score_and_the_search_goes_on(data):
    X, y = data
    with pytest.warns(FitFailedWarning, match="boom"):
        search = _fragile_search().fit(X, y)
    res = search.cv_results_
    failed = np.array([p["fail"] for p in res["params"]])
    assert failed.any() and (~failed).any()
    assert np.all(np.isnan(res["mean_test_score"][failed]))
    assert np.all(np.isfinite(res["mean_test_score"][~failed]))
    assert search.best_params_["fail"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        zero = _fragile_search(error_score=0.0).fit(X, y)
    assert np.all(zero.cv_results_["mean_test_score"][failed] == 0.0)


def test_error_score_raise_reraises(data):
    X, y = data
    with pytest.raises(RuntimeError, match="boom"):
        _fragile_search(error_score="raise").fit(X, y)


def test_all_trials_failing_says_so_with_the_traceback(data):
    X, y = data
    search = SubsetSearchCV(
        _Fragile(fail=True), {"C": (0.1, 10.0)}, n_iter=3, subset_size=0.3, cv=2,
        selector="random",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"All 6 fits of the search failed(.|\n)*boom"):
        search.fit(X, y)


def test_callback_stops_the_search(data):
    X, y = data
    seen = []

    def stop_after_three(results):
        seen.append(len(results["params"]))
        return len(results["params"]) >= 3

    search = _search(n_iter=10).fit(X, y, callback=stop_after_three)
    assert seen == [1, 2, 3]
    assert len(search.cv_results_["params"]) == 3
    with pytest.raises(TypeError, match="callable"):
        _search().fit(X, y, callback=[stop_after_three, 3])


def test_timeout_stops_after_the_first_round(data):
    X, y = data
    search = _search(n_iter=20, timeout=1e-9, n_points=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 2


def test_verbose_shows_a_progress_bar(data, capsys):
    X, y = data
    _search(n_iter=3, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "SubsetSearchCV" in err and "3/3" in err and "best=" in err


# ------------------------------------------------------------ resume
class _Interrupt(ClassifierMixin, BaseEstimator):
    """Raises KeyboardInterrupt on the fit number ``stop_at`` (n_jobs=1)."""

    fits = 0
    stop_at = None

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y, sample_weight=None):
        type(self).fits += 1
        if type(self).fits == type(self).stop_at:
            raise KeyboardInterrupt
        self.clf_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        self.classes_ = self.clf_.classes_
        return self

    def predict(self, X):
        return self.clf_.predict(X)


def test_interrupted_search_resumes_with_exactly_n_iter_trials(data, tmp_path):
    X, y = data
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    kwargs = dict(
        n_iter=6, selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=storage, study_name="resume",
    )  # fmt: skip
    _Interrupt.fits, _Interrupt.stop_at = 0, 8  # during the 4th trial's 2nd split
    with pytest.raises(KeyboardInterrupt):
        SubsetSearchCV(_Interrupt(), {"C": (0.01, 10.0)}, **kwargs).fit(X, y)
    study = optuna.load_study(study_name="resume", storage=storage)
    states = [t.state.name for t in study.trials]
    # The interrupted trial is closed, and its candidate queued for the resume.
    assert states == ["COMPLETE"] * 3 + ["FAIL", "WAITING"]
    orphan = study.trials[3].params
    first = [t.params for t in study.trials[:3]]

    _Interrupt.fits, _Interrupt.stop_at = 0, None
    search = SubsetSearchCV(_Interrupt(), {"C": (0.01, 10.0)}, **kwargs).fit(X, y)
    params = search.cv_results_["params"]
    assert len(params) == 6
    assert params[:3] == first  # earlier trials kept, not repeated
    assert params[3] == orphan  # the interrupted candidate evaluated again
    assert _Interrupt.fits == 3 * 2 + 1  # only the 3 new trials, plus the refit
    # Fitting once more with the same storage finds the search complete.
    _Interrupt.fits = 0
    again = SubsetSearchCV(_Interrupt(), {"C": (0.01, 10.0)}, **kwargs).fit(X, y)
    assert again.cv_results_["params"] == params and _Interrupt.fits == 1
    # A different space in the same study is refused.
    with pytest.raises(ValueError, match="different search space"):
        SubsetSearchCV(_Interrupt(), {"C": (0.5, 2.0)}, **kwargs).fit(X, y)


@pytest.mark.parametrize("optimizer", ["tpe", "random", "gp"])
def test_resumes_never_repeat_a_configuration(data, tmp_path, optimizer):
    # Issue 16: the sampler was seeded from random_state on every fit, so a
    # resumed search replayed its random draws and repeated earlier trials.
    # Killed after 1, 3 and 5 fits, resumed each time: 8 distinct trials.
    X, y = data
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    kwargs = dict(
        n_iter=8, selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=storage, study_name="kills", optimizer=optimizer,
        optimizer_kwargs={"n_initial_points": 10} if optimizer != "random" else None,
    )  # fmt: skip
    space = {"C": (0.01, 10.0, "log-uniform")}
    for stop_at in (3, 5, 7):  # the 2nd, 3rd and 4th trials' first split
        _Interrupt.fits, _Interrupt.stop_at = 0, stop_at
        with pytest.raises(KeyboardInterrupt):
            SubsetSearchCV(_Interrupt(), space, **kwargs).fit(X, y)
    _Interrupt.fits, _Interrupt.stop_at = 0, None
    search = SubsetSearchCV(_Interrupt(), space, **kwargs).fit(X, y)
    values = [p["C"] for p in search.cv_results_["params"]]
    assert len(values) == 8 and len(set(values)) == 8
    # Reproducible: the same kills give the same trials.
    storage2 = f"sqlite:///{tmp_path / 'again.db'}"
    for stop_at in (3, 5, 7):
        _Interrupt.fits, _Interrupt.stop_at = 0, stop_at
        with pytest.raises(KeyboardInterrupt):
            SubsetSearchCV(_Interrupt(), space, **{**kwargs, "storage": storage2}).fit(
                X, y
            )
    _Interrupt.fits, _Interrupt.stop_at = 0, None
    again = SubsetSearchCV(_Interrupt(), space, **{**kwargs, "storage": storage2})
    assert [p["C"] for p in again.fit(X, y).cv_results_["params"]] == values


@pytest.mark.parametrize(
    "change, what",
    [
        ({"X": "other"}, "data"),
        ({"estimator": LogisticRegression(C=2.0)}, "estimator"),
        ({"selector": "craig"}, "selector"),
        ({"subset_size": 0.5}, "selector"),
        ({"scoring": "f1_macro"}, "scoring"),
        ({"cv": 3}, "folds"),
    ],
)
def test_a_stored_study_run_on_something_else_is_refused(data, tmp_path, change, what):
    # Issue 16: a storage reused with other data, estimator, selector or
    # subset_size silently returned the old results.
    X, y = data
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    kw = dict(
        n_iter=2, selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=storage, study_name="fp",
    )  # fmt: skip
    est = LogisticRegression(max_iter=300)
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)
    # The same search again is a resume, not an error.
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)
    change = dict(change)
    X2 = X + 1.0 if change.pop("X", None) else X
    est2 = change.pop("estimator", est)
    with pytest.raises(ValueError, match=f"was run with other {what}"):
        SubsetSearchCV(est2, {"C": (0.1, 10.0)}, **{**kw, **change}).fit(X2, y)


def test_refusal_to_resume_names_what_changed_and_unseeded_folds(data, tmp_path):
    # The refusal listed a legend of every component (data, selector, folds,
    # fit_params) as if all had changed, none for scoring or the estimator,
    # and a shuffling KFold without random_state got no hint.
    X, y = data
    kw = dict(
        n_iter=1, selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=f"sqlite:///{tmp_path / 'search.db'}",
    )  # fmt: skip
    est = LogisticRegression(max_iter=300)
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)
    with pytest.raises(ValueError) as info:
        SubsetSearchCV(est, {"C": (0.1, 10.0)}, scoring="f1_macro", **kw).fit(X, y)
    message = str(info.value)
    assert "other scoring (the scoring parameter). Its results" in message
    for other in ("data", "selector", "folds", "fit_params", "subset_size"):
        assert other not in message
    with pytest.raises(ValueError, match=r"other estimator \(its type or param"):
        SubsetSearchCV(LogisticRegression(C=2.0), {"C": (0.1, 10.0)}, **kw).fit(X, y)
    kw.update(cv=KFold(2, shuffle=True), study_name="shuffled")
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)
    with pytest.raises(ValueError, match=r"other folds .*KFold\(\.\.\., random_st"):
        SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)
    kw.update(cv=KFold(2, shuffle=True, random_state=0), study_name="seeded")
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, **kw).fit(X, y)  # resumes


def test_a_stored_study_run_with_other_fit_params_is_refused(data, tmp_path):
    """Weights given to fit change every trial's score: a study stored
    without them (or with others) is not this search's, both ways."""
    X, y = data
    w = np.where(y == 1, 4.0, 1.0)
    kw = dict(
        n_iter=2, selector="random", subset_size=0.3, cv=2, random_state=0,
        study_name="fp",
    )  # fmt: skip
    est = LogisticRegression(max_iter=300)
    for first, then in [(None, w), (w, None), (w, 2.0 * w)]:
        storage = f"sqlite:///{tmp_path / f'{len(list(tmp_path.iterdir()))}.db'}"
        search = SubsetSearchCV(est, {"C": (0.1, 10.0)}, storage=storage, **kw)
        search.fit(X, y, sample_weight=first)
        search.fit(X, y, sample_weight=first)  # the same: a resume
        with pytest.raises(ValueError, match="was run with other fit_params"):
            search.fit(X, y, sample_weight=then)
    # None is no weights, and a list holds what the array holds.
    storage = f"sqlite:///{tmp_path / 'same.db'}"
    search = SubsetSearchCV(est, {"C": (0.1, 10.0)}, storage=storage, **kw)
    search.fit(X, y)
    search.fit(X, y, sample_weight=None)
    search.set_params(study_name="listed").fit(X, y, sample_weight=w)
    search.fit(X, y, sample_weight=list(w))


def test_resuming_with_train_scores_reports_the_stored_trials_as_nan(data, tmp_path):
    X, y = data
    kw = dict(
        selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=f"sqlite:///{tmp_path / 'search.db'}", study_name="train",
    )  # fmt: skip
    est = LogisticRegression(max_iter=300)
    SubsetSearchCV(est, {"C": (0.1, 10.0)}, n_iter=2, **kw).fit(X, y)
    search = SubsetSearchCV(
        est, {"C": (0.1, 10.0)}, n_iter=4, return_train_score=True, **kw
    ).fit(X, y)
    train = search.cv_results_["mean_train_score"]
    assert np.isnan(train[:2]).all() and np.isfinite(train[2:]).all()
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_resuming_with_a_smaller_n_iter_reports_n_iter_trials(data, tmp_path):
    X, y = data
    kw = dict(
        selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=f"sqlite:///{tmp_path / 'search.db'}", study_name="fewer",
    )  # fmt: skip
    space = {"C": (0.1, 10.0)}
    ten = SubsetSearchCV(LogisticRegression(), space, n_iter=10, **kw).fit(X, y)
    with pytest.warns(UserWarning, match="holds 10 finished trials.*first n_iter=5"):
        five = SubsetSearchCV(LogisticRegression(), space, n_iter=5, **kw).fit(X, y)
    assert five.cv_results_["params"] == ten.cv_results_["params"][:5]


# ------------------------------------------------------------ integration
def test_multimetric_and_callable_scoring(data):
    X, y = data
    search = _search(scoring=["accuracy", "f1_macro"], refit="f1_macro").fit(X, y)
    res = search.cv_results_
    assert "mean_test_accuracy" in res and "rank_test_f1_macro" in res
    assert search.best_index_ == int(np.argmax(res["mean_test_f1_macro"]))
    assert search.multimetric_

    def scorer(est, X_, y_):
        return float(np.mean(est.predict(X_) == y_))

    single = _search(scoring=scorer).fit(X, y)
    assert not single.multimetric_ and np.isfinite(single.best_score_)


def test_scorers_get_the_fitted_estimator_not_the_trial_wrapper(data):
    # As in GridSearchCV, a custom scorer gets the estimator it was given,
    # fitted (a Pipeline it can index, get_params of), on subset trials too,
    # and on the score_size share of the test fold.
    X, y = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    seen = []

    def scorer(est, X_, y_):
        assert isinstance(est, Pipeline)
        assert est.get_params()["logisticregression__C"] == est[-1].C
        seen.append(len(X_))
        return float(np.mean(est[-1].predict(est[:-1].transform(X_)) == y_))

    space = {"logisticregression__C": (0.1, 10.0, "log-uniform")}
    kw = dict(n_iter=2, subset_size=0.3, cv=3, score_size=0.5, random_state=0)
    single = SubsetSearchCV(pipe, space, scoring=scorer, error_score="raise", **kw)
    single.fit(X, y)
    assert np.isfinite(single.cv_results_["mean_test_score"]).all()
    assert set(seen) == {50}  # half of each 100-row test fold
    multi = SubsetSearchCV(
        pipe, space, scoring={"acc": "accuracy", "mine": scorer},
        refit="mine", error_score="raise", **kw,
    ).fit(X, y)  # fmt: skip
    assert np.isfinite(multi.cv_results_["mean_test_mine"]).all()
    np.testing.assert_allclose(
        multi.cv_results_["mean_test_mine"], multi.cv_results_["mean_test_acc"]
    )


def test_groups_and_sample_weight_are_routed(data):
    X, y = data
    groups = np.arange(len(y)) % 5
    search = _search(cv=GroupKFold(5)).fit(X, y, groups=groups)
    assert search.n_splits_ == 5
    # The weights reach every trial's fit, on its subset rows, and the refit.
    weights = np.where(y == 0, 3.0, 1.0)
    _WeightRecorder.received = []
    SubsetSearchCV(
        _WeightRecorder(), {"C": (0.1, 1.0)}, n_iter=2, selector="random",
        subset_size=0.2, cv=3, random_state=0,
    ).fit(X, y, sample_weight=weights)  # fmt: skip
    received = _WeightRecorder.received
    assert len(received) == 2 * 3 + 1  # 2 trials x 3 splits, then the refit
    for y_fit, sw in received:
        assert sw is not None, "a fit got no sample_weight"
        np.testing.assert_array_equal(sw, np.where(y_fit == 0, 3.0, 1.0))
    assert [len(r[0]) for r in received] == [40] * 6 + [300]


def test_selector_weights_reach_a_voting_ensemble(data):
    # VotingClassifier takes sample_weight through **fit_params: the trials
    # get the selector's weights, and nothing warns that it takes none.
    from sklearn.ensemble import VotingClassifier

    X, y = data
    _WeightRecorder.received = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubsetSearchCV(
            VotingClassifier([("rec", _WeightRecorder())]), {"rec__C": (0.1, 1.0)},
            n_iter=2, selector="craig", subset_size=0.2, cv=3, random_state=0,
        ).fit(X, y)  # fmt: skip
    received = _WeightRecorder.received
    assert len(received) == 2 * 3 + 1
    assert all(sw is not None and np.ptp(sw) > 0 for _, sw in received[:-1])


def test_rows_of_dicts_and_one_d_x_are_searched_on_subsets():
    # What the estimator's input tags accept (dicts for DictVectorizer, a
    # 1-D X for IsotonicRegression) was refused with "Expected 2D array".
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    X = [{"a": float(v), "c": str(v > 1)} for v in rng.normal(size=300)]
    y = np.array([d["a"] > 0 for d in X])
    pipe = make_pipeline(DictVectorizer(), LogisticRegression())
    space = {"logisticregression__C": (0.1, 10.0, "log-uniform")}
    for size in (0.3, 1.0):
        search = SubsetSearchCV(
            pipe, space, n_iter=2, selector="random", subset_size=size, cv=3,
            error_score="raise", random_state=0,
        ).fit(X, y)  # fmt: skip
        assert search.best_score_ > 0.8
    x = rng.uniform(0, 10, 300)
    search = SubsetSearchCV(
        IsotonicRegression(out_of_bounds="clip"), {"increasing": [True, "auto"]},
        n_iter=2, subset_size=0.3, cv=3, error_score="raise", random_state=0,
    ).fit(x, np.log1p(x))  # fmt: skip
    assert search.best_score_ > 0.9


def test_glister_rungs_up_to_every_row(data):
    # A GLISTER rung above 0.9 of the rows failed (its 10 % hold-out).
    X, y = data
    search = _search(
        selector="glister", subset_size=(0.3, 0.95), n_iter=2, error_score="raise"
    ).fit(X, y)
    assert max(search.cv_results_["subset_size"]) == 190  # 0.95 of 200 rows


def test_regression_search():
    X, y = make_regression(n_samples=200, n_features=6, noise=5.0, random_state=0)
    search = SubsetSearchCV(
        Ridge(), {"alpha": (1e-3, 1e3, "log-uniform")}, n_iter=5,
        selector="gradmatch", subset_size=0.25, cv=KFold(3), random_state=0,
    ).fit(X, y)  # fmt: skip
    assert search.best_score_ > 0.9
    assert type(search.best_estimator_) is Ridge


def test_gradmatch_trials_choose_for_equal_weights_without_sample_weight(
    monkeypatch,
):
    # The trials' subsets of a model that cannot take weights are chosen for
    # equal weights (GRAD-MATCH's weighting="auto"), and nothing warns.
    from sklearn.neighbors import KNeighborsRegressor

    from subsetml.selection import GradMatchSelector

    seen = []
    real = GradMatchSelector._select_ground

    def spy(self, *args, **kwargs):
        seen.append(self.weighting)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GradMatchSelector, "_select_ground", spy)
    X, y = make_regression(300, 5, noise=5.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubsetSearchCV(
            KNeighborsRegressor(), {"n_neighbors": (1, 9)}, n_iter=2,
            selector="gradmatch", subset_size=0.2, cv=2, random_state=0,
        ).fit(X, y)  # fmt: skip
    assert seen and set(seen) == {"equal"}
    seen.clear()
    SubsetSearchCV(
        Ridge(), {"alpha": (0.1, 10.0)}, n_iter=2,
        selector="gradmatch", subset_size=0.2, cv=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert seen and set(seen) == {"auto"}


@pytest.mark.usefixtures("binning_takes_weights")
def test_boosting_trials_fit_without_the_selectors_weights(monkeypatch):
    # Weighted binning made HistGradientBoosting's 5 % trials slower than
    # fits on all rows (a review): "auto" leaves GRAD-MATCH's weights out
    # (it then chooses rows for equal weights) and keeps CRAIG's, which its
    # picks need (quality_hgb_weights.json).
    from sklearn.ensemble import HistGradientBoostingRegressor

    got = []
    real = HistGradientBoostingRegressor.fit

    def spy(self, X, y, sample_weight=None):
        got.append(sample_weight)
        return real(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(HistGradientBoostingRegressor, "fit", spy)
    X, y = make_regression(300, 5, noise=5.0, random_state=0)
    space = {"learning_rate": (0.05, 0.3)}
    for selector, kw, weighted in (
        ("gradmatch", {}, False),
        ("gradmatch", {"use_weights": True}, True),
        ("craig", {}, True),
    ):
        got.clear()
        search = SubsetSearchCV(
            HistGradientBoostingRegressor(max_iter=5), space, n_iter=2,
            selector=selector, subset_size=0.2, cv=2, random_state=0, **kw,
        ).fit(X, y)  # fmt: skip
        trials, refit = got[:-1], got[-1]
        assert len(trials) == 4 and refit is None
        assert all((w is not None) == weighted for w in trials)
        assert all((np.ptp(s.weights) > 0) == weighted for s in search.subsets_)
    # With the user's own weights the fits are weighted anyway: GRAD-MATCH
    # keeps its matched weights (a review).
    search = SubsetSearchCV(
        HistGradientBoostingRegressor(max_iter=5), space, n_iter=2,
        selector="gradmatch", subset_size=0.2, cv=2, random_state=0,
    ).fit(X, y, sample_weight=np.linspace(1, 2, 300))  # fmt: skip
    assert all(np.ptp(s.weights) > 0 for s in search.subsets_)


def test_a_selector_without_the_private_attributes_searches_boosting():
    # make_selector takes any object with select(view, budget) (a review:
    # boosting searches read a private attribute it lacks).
    from sklearn.ensemble import HistGradientBoostingRegressor

    from subsetml import Subset

    class FirstRows:
        def select(self, view, budget):
            k = int(budget) if budget >= 1 else int(budget * view.n_samples)
            return Subset(np.arange(k), np.ones(k))

    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    search = SubsetSearchCV(
        HistGradientBoostingRegressor(max_iter=5), {"learning_rate": (0.05, 0.3)},
        n_iter=2, selector=FirstRows(), subset_size=0.2, cv=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert len(search.cv_results_["params"]) == 2


@pytest.mark.usefixtures("binning_takes_weights")
def test_boosting_searches_stored_before_equal_gradmatch_do_not_resume(monkeypatch):
    # A study stored when GRAD-MATCH's boosting subsets were weighted must not
    # resume on equal-weight ones (a review); other studies' digests stay.
    from sklearn.ensemble import HistGradientBoostingRegressor

    import subsetml.model_selection._search as search_module

    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    splits = [(np.arange(100), np.arange(100, 200))]

    def digest(selector):
        search = SubsetSearchCV(
            HistGradientBoostingRegressor(max_iter=5), {"learning_rate": (0.05, 0.3)},
            selector=selector, subset_size=0.2,
        )  # fmt: skip
        search._task_estimator = search.estimator  # as fit sets it
        return search._fingerprint(X, y, splits, None, fit_params={})["selector"]

    from subsetml.selection import GradMatchSelector

    selectors = {
        "gradmatch": "gradmatch",
        "craig": "craig",
        # Random, GLISTER and equal GRAD-MATCH subsets carry no weights to
        # drop: their stored studies still resume (a second review).
        "random": "random",
        "glister": "glister",
        "equal": GradMatchSelector(weighting="equal"),
    }
    now = {key: digest(sel) for key, sel in selectors.items()}
    monkeypatch.setattr(search_module, "weights_cost_more", lambda est: False)
    before = {key: digest(sel) for key, sel in selectors.items()}
    assert now["gradmatch"] != before["gradmatch"]
    for key in ("craig", "random", "glister", "equal"):
        assert now[key] == before[key], key


def test_a_final_step_without_sample_weight_in_the_space_fits_unweighted():
    # The search's estimator takes weights, so the subsets carry them; a
    # configuration that swaps in k-NN fits without them, with a warning,
    # instead of failing (a review's reproducer).
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import Pipeline

    X, y = make_regression(300, 5, noise=5.0, random_state=0)
    pipe = Pipeline([("sc", StandardScaler()), ("m", Ridge())])
    search = SubsetSearchCV(
        pipe, {"m": [Ridge(), KNeighborsRegressor()]}, n_iter=4,
        selector="craig", subset_size=60, cv=2, random_state=0,
        error_score="raise",
    )  # fmt: skip
    with pytest.warns(UserWarning, match=r"KNeighborsRegressor \(the Pipeline") as got:
        search.fit(X, y)
    # Once for the search, not once per trial and split (a review).
    assert sum("KNeighborsRegressor" in str(w.message) for w in got) == 1
    names = {type(p["m"]).__name__ for p in search.cv_results_["params"]}
    assert names == {"Ridge", "KNeighborsRegressor"}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_estimator_without_sample_weight_warns_once(data):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = data
    with pytest.warns(UserWarning, match="does not take sample_weight") as record:
        SubsetSearchCV(
            KNeighborsClassifier(), {"n_neighbors": (1, 5)}, n_iter=3,
            selector="craig", subset_size=0.3, cv=2, random_state=0,
        ).fit(X, y)  # fmt: skip
    assert sum("sample_weight" in str(w.message) for w in record) == 1
    with pytest.raises(ValueError, match="does not take sample_weight"):
        SubsetSearchCV(
            KNeighborsClassifier(), {"n_neighbors": (1, 5)}, n_iter=2,
            selector="craig", use_weights=True, cv=2,
        ).fit(X, y)  # fmt: skip


def test_pickle_round_trip(data):
    X, y = data
    search = _search(n_iter=3).fit(X, y)
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(again.predict(X), search.predict(X))


def test_fitting_again_leaves_nothing_of_the_earlier_refit(data):
    # Review: attributes the first fit set and the second does not (refit
    # settings, column names) stayed, describing the other search.
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    search = _search(n_iter=2).fit(frame, y)
    assert list(search.feature_names_in_) == list(frame.columns)
    search.fit(X, y)  # NumPy rows: no column names any more
    assert not hasattr(search, "feature_names_in_")
    search.set_params(refit=lambda results: 0).fit(X, y)
    assert not hasattr(search, "best_score_") and search.best_index_ == 0
    search.set_params(scoring=["accuracy", "f1_macro"], refit=False).fit(X, y)
    for name in ("best_index_", "best_params_", "best_estimator_", "refit_time_"):
        assert not hasattr(search, name), name


def test_dask_backend_distributes_trials(data):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend

    X, y = data
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        with parallel_backend("dask"), distributed.get_task_stream(client) as ts:
            search = _search(n_jobs=-1, n_iter=4).fit(X, y)
        addresses = set(client.scheduler_info()["workers"])
    # The fits ran as tasks on the cluster's workers, not in this process.
    ran_on = {task["worker"] for task in ts.data}
    assert ts.data and ran_on <= addresses
    local = _search(n_iter=4).fit(X, y)
    assert search.cv_results_["params"] == local.cv_results_["params"]
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


# ------------------------------------------------------ scikit-learn checks
@parametrize_with_checks(
    [
        SubsetSearchCV(
            LogisticRegression(),
            {"C": (0.1, 10.0, "log-uniform")},
            n_iter=2,
            subset_size=0.6,
            cv=2,
            random_state=0,
        ),
        SubsetSearchCV(
            Ridge(),
            {"alpha": (0.1, 10.0)},
            n_iter=2,
            selector="random",
            subset_size=0.6,
            cv=2,
            random_state=0,
        ),
    ]  # fmt: skip
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        check(estimator)


def test_iris_end_to_end():
    X, y = load_iris(return_X_y=True)
    search = SubsetSearchCV(
        SVC(), {"C": (1e-2, 1e2, "log-uniform"), "gamma": (1e-3, 1e1, "log-uniform")},
        n_iter=10, selector="gradmatch", subset_size=0.5, cv=3, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert search.best_score_ > 0.85 and search.score(X, y) > 0.9


def test_budget_below_one_row_per_class_warns_once_and_covers_the_classes():
    X, y = load_iris(return_X_y=True)
    search = SubsetSearchCV(
        LogisticRegression(max_iter=200),
        {"C": (0.1, 10.0, "log-uniform")},
        n_iter=2,
        subset_size=2,
        cv=3,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    raised = [w for w in caught if "fewer than the 3 classes" in str(w.message)]
    assert len(raised) == 1
    assert raised[0].filename == __file__
    np.testing.assert_array_equal(search.cv_results_["subset_size"], [3, 3])
    for subset in search.subsets_:
        assert subset.size == 3


def test_a_pipeline_with_a_lambda_resumes(data, tmp_path):
    # The fingerprint of an estimator that does not pickle comes from its
    # repr, without memory addresses, so a later fit matches it.
    from sklearn.preprocessing import FunctionTransformer

    X, y = data
    kw = dict(
        n_iter=2, selector="random", subset_size=0.3, cv=2, random_state=0,
        storage=f"sqlite:///{tmp_path / 'search.db'}", study_name="lambda",
    )  # fmt: skip

    def pipe():
        return make_pipeline(
            FunctionTransformer(lambda a: a * 1.0), LogisticRegression(max_iter=300)
        )

    space = {"logisticregression__C": (0.1, 10.0)}
    first = SubsetSearchCV(pipe(), space, **kw).fit(X, y)
    again = SubsetSearchCV(pipe(), space, **kw).fit(X, y)
    assert again.cv_results_["params"] == first.cv_results_["params"]


def test_a_step_parameter_only_some_choices_take_is_refused_early(data):
    # Issue 15: a space may set a step and search that step's parameters; a
    # parameter that only some of the step's choices take would fail every
    # trial that chose another, so it is refused, naming the way out.
    from sklearn.pipeline import Pipeline
    from sklearn.tree import DecisionTreeClassifier

    X, y = data
    pipe = Pipeline([("model", LogisticRegression())])
    space = {
        "model": [LogisticRegression(), DecisionTreeClassifier()],
        "model__max_depth": [2, 4],
    }
    search = SubsetSearchCV(pipe, space, n_iter=2, subset_size=0.5, random_state=0)
    with pytest.raises(ValueError, match=r"max_depth \(not of LogisticRegression\)"):
        search.fit(X, y)
    # Taken by every choice (and not by the step as given): searched.
    space["model"] = [DecisionTreeClassifier(random_state=0)]
    search = SubsetSearchCV(pipe, space, n_iter=2, subset_size=0.5, random_state=0)
    search.fit(X, y)
    assert search.best_estimator_.named_steps["model"].max_depth in (2, 4)
    # Taken by none of them: the usual error.
    space["model__nope"] = [1]
    with pytest.raises(ValueError, match="not parameters of Pipeline"):
        SubsetSearchCV(pipe, space, n_iter=2, subset_size=0.5).fit(X, y)


def test_precomputed_kernels_search_on_subsets():
    # A precomputed kernel's subset takes the chosen rows *and* columns, and
    # predictions read the columns of the rows the model was fitted on (it
    # failed with "Precomputed matrix must be a square matrix").
    from sklearn.datasets import load_iris
    from sklearn.svm import SVC

    from subsetml.model_selection import SubsetEstimator

    X, y = load_iris(return_X_y=True)
    K = X @ X.T
    search = SubsetSearchCV(
        SVC(kernel="precomputed"), {"C": (0.1, 10.0, "log-uniform")}, n_iter=3,
        subset_size=0.5, selector="random", cv=3, random_state=0,
        error_score="raise",
    )  # fmt: skip
    search.fit(K, y)
    assert search.best_score_ > 0.8
    model = SubsetEstimator(
        SVC(kernel="precomputed"), subset_size=0.5, selector="random", random_state=0
    ).fit(K, y)
    idx = model.subset_.indices
    assert model.estimator_.shape_fit_ == (len(idx), len(idx))
    assert model.score(K, y) > 0.8
    expected = SVC(kernel="precomputed").fit(K[np.ix_(idx, idx)], y[idx])
    np.testing.assert_array_equal(model.predict(K), expected.predict(K[:, idx]))


def test_an_error_a_fit_raises_is_not_queued_for_the_next_fit(data, tmp_path):
    # Review of issue 16: with error_score="raise" the failing configuration
    # was queued again, so every later fit of the study (and every worker)
    # raised on it first.
    X, y = data

    class Fails(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            if self.C > 1e-2:
                raise RuntimeError(f"bad C={self.C}")
            return super().fit(X, y, sample_weight=sample_weight)

    storage = f"sqlite:///{tmp_path / 's.db'}"
    raised = []
    for seed in range(3):
        # A resumed study reseeds the sampler: its draws are random, and
        # 20 trials all below C=1e-2 have a chance of (1/3)**20 (with 6
        # below C=1, 1/64: the test failed once).
        search = SubsetSearchCV(
            Fails(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=20, cv=2,
            subset_size=0.5, selector="random", random_state=0,
            # Another sampler seed per fit: new configurations, the same
            # subsets (another random_state would draw others: refused).
            optimizer=optuna.samplers.RandomSampler(seed=seed),
            storage=storage, study_name="s", error_score="raise",
        )  # fmt: skip
        with pytest.raises(RuntimeError, match="bad C=") as error:
            search.fit(X, y)
        raised.append(str(error.value))
    assert len(set(raised)) == 3  # a new configuration each time
    study = optuna.load_study(study_name="s", storage=storage)
    assert not study.get_trials(states=(optuna.trial.TrialState.WAITING,))


def test_a_sampler_instance_on_a_resumed_study_does_not_replay_its_draws(
    data, tmp_path
):
    X, y = data
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def search(n_iter):
        return SubsetSearchCV(
            LogisticRegression(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=n_iter,
            cv=2, subset_size=0.5, selector="random", random_state=0,
            optimizer=optuna.samplers.RandomSampler(seed=1), storage=storage,
            study_name="s",
        )  # fmt: skip

    search(3).fit(X, y)
    values = [p["C"] for p in search(6).fit(X, y).cv_results_["params"]]
    assert len(values) == 6 and len(set(values)) == 6


def test_a_stored_study_resumes_only_with_the_subsets_it_was_run_on(data, tmp_path):
    # A review: resuming (or sharing) a study with another random_state, the
    # default None included, drew other subsets and mixed their trials with
    # the stored ones, silently.
    from subsetml.model_selection._run import _PRINT_KEY

    X, y = data
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def search(random_state, n_iter=4, subset_size=0.3, name="s"):
        return SubsetSearchCV(
            LogisticRegression(), {"C": (1e-3, 1e2, "log-uniform")}, cv=2,
            n_iter=n_iter, subset_size=subset_size, random_state=random_state,
            storage=storage, study_name=name,
        )  # fmt: skip

    search(0).fit(X, y)
    assert len(search(0, n_iter=6).fit(X, y).cv_results_["params"]) == 6
    with pytest.raises(ValueError, match="other seed .random_state") as error:
        search(1, n_iter=8).fit(X, y)
    assert "give it an int" not in str(error.value)
    with pytest.raises(ValueError, match="random_state=None .* give it an int"):
        search(None, n_iter=8).fit(X, y)
    # Whole folds draw nothing: any random_state resumes.
    search(0, subset_size=1.0, name="w").fit(X, y)
    search(None, n_iter=6, subset_size=1.0, name="w").fit(X, y)
    # A study stored before the seed was checked resumes as before.
    study = optuna.load_study(study_name="s", storage=storage)
    stored = dict(study.user_attrs[_PRINT_KEY])
    del stored["seed"]
    study.set_user_attr(_PRINT_KEY, stored)
    assert len(search(1, n_iter=8).fit(X, y).cv_results_["params"]) == 8


def test_a_stored_multi_metric_study_resumes_only_for_its_metric(data, tmp_path):
    # A review: resumed with refit="f1" after refit="accuracy", the study's
    # values mixed both metrics and study.best_trial parted from best_index_.
    X, y = data
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def search(refit, n_iter):
        return SubsetSearchCV(
            LogisticRegression(), {"C": (1e-3, 1e2, "log-uniform")}, cv=2,
            n_iter=n_iter, subset_size=0.3, random_state=0, refit=refit,
            scoring=["accuracy", "f1"], storage=storage, study_name="s",
        )  # fmt: skip

    search("accuracy", 3).fit(X, y)
    assert len(search("accuracy", 5).fit(X, y).cv_results_["params"]) == 5
    with pytest.raises(ValueError, match="other objective .refit"):
        search("f1", 7).fit(X, y)


def test_a_stored_study_that_minimises_is_refused(data, tmp_path):
    # `optuna create-study` minimises unless told: loaded as it was, TPE
    # chased the worst scores (a review).
    X, y = data
    storage = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(study_name="svc", storage=storage)
    search = SubsetSearchCV(
        LogisticRegression(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=2, cv=2,
        subset_size=0.5, random_state=0, storage=storage, study_name="svc",
    )  # fmt: skip
    with pytest.raises(ValueError, match="created to minimize.*--direction maximize"):
        search.fit(X, y)
    optuna.create_study(study_name="up", storage=storage, direction="maximize")
    assert len(search.set_params(study_name="up").fit(X, y).cv_results_["params"]) == 2


def test_workers_with_one_seeded_sampler_instance_draw_apart(data, tmp_path):
    # Two workers started at once on an empty stored study, each with
    # TPESampler(seed=0) (a copy each), drew the same candidates: half the
    # budget went to repeats (a review). Two studies in one storage stand
    # for them: each fit starts on an empty study, as such workers do.
    X, y = data
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def draws(name):
        search = SubsetSearchCV(
            LogisticRegression(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=3,
            cv=2, subset_size=0.5, random_state=0, storage=storage,
            optimizer=optuna.samplers.RandomSampler(seed=0), study_name=name,
        )  # fmt: skip
        return [p["C"] for p in search.fit(X, y).cv_results_["params"]]

    assert draws("a") != draws("b")  # each on an empty study


def test_an_sqlite_file_given_as_a_path_says_to_use_a_url(data, tmp_path):
    # A path without "://" is a journal file: Optuna's journal reader failed
    # on an SQLite database with a UnicodeDecodeError (a review).
    import sqlite3

    X, y = data
    path = tmp_path / "search.db"
    with sqlite3.connect(path) as db:
        db.execute("create table t (a)")
    search = SubsetSearchCV(
        LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=2, storage=str(path)
    )
    with pytest.raises(ValueError, match="is an SQLite database.*sqlite:///"):
        search.fit(X, y)


def test_a_resumed_study_scores_stored_failures_with_this_error_score(data, tmp_path):
    # Stored failures kept NaN while new ones scored 0.0 (a review).
    X, y = data

    class Fails(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            if self.C > 1.0:
                raise ValueError("C > 1")
            return super().fit(X, y, sample_weight=sample_weight)

    def search(n_iter, **kw):
        return SubsetSearchCV(
            Fails(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=n_iter, cv=2,
            subset_size=0.5, random_state=0, storage=f"sqlite:///{tmp_path / 's.db'}",
            study_name="s", **kw,
        )  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = search(6).fit(X, y)
        failed = np.isnan(first.cv_results_["mean_test_score"])
        assert failed.any()
        again = search(8, error_score=0.0).fit(X, y)
    scores = again.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    np.testing.assert_array_equal(scores[:6][failed], 0.0)


def test_an_error_about_a_custom_scorer_names_it(data):
    # It named the search's internal wrapper (a review).
    X, y = data

    def my_scorer(estimator, X, y):
        return "not a number"

    search = SubsetSearchCV(
        LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=2, cv=2, subset_size=0.5,
        scoring=my_scorer,
    )  # fmt: skip
    with pytest.raises(ValueError, match="scorer=<function .*my_scorer"):
        search.fit(X, y)


def test_the_selection_silences_its_budget_warning_without_a_filter(data, monkeypatch):
    # It did with catch_warnings and a filter, which is not thread-safe:
    # under the threading backend the filter could stay in the user's
    # warnings filters (a review, after 2 to 36 threaded searches).
    X, y = data
    added = []
    real = warnings.filterwarnings

    def recording(action, message="", *args, **kwargs):
        added.append(message)
        return real(action, message, *args, **kwargs)

    monkeypatch.setattr(warnings, "filterwarnings", recording)
    with pytest.warns(UserWarning, match="subset_size keeps") as seen:
        SubsetSearchCV(
            LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=2, cv=3,
            subset_size=2, selector="craig", random_state=0,
        ).fit(X, y)  # fmt: skip
    assert not [m for m in added if "subset_size keeps" in m]
    # Warned once for the search, not once per fold.
    assert sum("subset_size keeps" in str(w.message) for w in seen) == 1


# ------------------------------------------------ determinism (a review)
def test_hyperband_rungs_follow_random_state():
    # Optuna's HyperbandPruner draws each trial's bracket from the study's
    # name, which was random without a storage: the same seed gave other
    # rungs, scores and best_params_ from one fit to the next.
    rng = np.random.RandomState(1)
    X = rng.randn(600, 6)
    y = (X[:, 0] + 0.7 * rng.randn(600) > 0).astype(int) + (X[:, 1] > 0.8)
    space = {"C": (1e-2, 1e2, "log-uniform"), "gamma": (1e-3, 1e0, "log-uniform")}
    runs = [
        SubsetSearchCV(
            SVC(),
            space,
            n_iter=8,
            subset_size=(0.1, 0.3, 1.0),
            pruner="hyperband",
            random_state=0,
            cv=2,
        )
        .fit(X, y)
        .cv_results_  # fmt: skip
        for _ in range(3)
    ]
    for other in runs[1:]:
        np.testing.assert_array_equal(other["subset_size"], runs[0]["subset_size"])
        np.testing.assert_array_equal(
            other["mean_test_score"], runs[0]["mean_test_score"]
        )


def test_a_seeded_search_leaves_numpys_global_random_state_alone():
    # Every trial's fit drew an unused seed from numpy's global stream, as
    # GridSearchCV over the same estimator does not.
    X, y = make_classification(300, 6, random_state=1)
    np.random.seed(0)
    expected = np.random.rand()
    np.random.seed(0)
    SubsetSearchCV(
        LogisticRegression(), {"C": (1e-2, 1e2, "log-uniform")}, n_iter=3,
        subset_size=0.2, random_state=0, cv=2,
    ).fit(X, y)  # fmt: skip
    assert np.random.rand() == expected


def test_an_estimator_class_is_refused_in_scikit_learns_words():
    X, y = make_classification(100, 4, random_state=0)
    with pytest.raises(TypeError, match=r"Expected an estimator instance \(SVC\(\)\)"):
        SubsetSearchCV(SVC, {"C": (0.1, 10.0)}, n_iter=2).fit(X, y)


def test_sample_weight_for_a_pipeline_is_refused_before_the_trials():
    # The subset trials passed it to the last step, then the refit on all
    # rows failed in Pipeline.fit, and the whole search with it (a review).
    X, y = make_classification(120, 4, random_state=0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    search = SubsetSearchCV(
        pipe, {"logisticregression__C": (0.1, 10.0)}, n_iter=2, cv=2,
        subset_size=0.5, random_state=0,
    )  # fmt: skip
    with pytest.raises(ValueError, match="logisticregression__sample_weight="):
        search.fit(X, y, sample_weight=np.ones(120))
    assert not hasattr(search, "cv_results_")
    # The step's own key works, as in GridSearchCV.
    search.fit(X, y, logisticregression__sample_weight=np.ones(120))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_a_dimension_among_choices_is_refused():
    # {"C": (Real(...), 10)}: a (space, n_iter) pair one level too deep was
    # searched as the choices Real(...) and 10 (a review).
    from skopt.space import Real

    X, y = make_classification(100, 4, random_state=0)
    search = SubsetSearchCV(
        SVC(), {"C": (Real(1e-2, 1e3, "log-uniform"), 10)}, n_iter=2
    )
    with pytest.raises(ValueError, match="holds a dimension among its choices"):
        search.fit(X, y)


def test_a_misspelled_fit_keyword_is_refused_before_the_trials():
    # sample_weights= ran every trial's selection and fit before "All fits
    # of the search failed" (a review).
    X, y = make_classification(100, 4, random_state=0)
    space = {"C": (0.1, 10.0)}
    with pytest.raises(TypeError, match="unexpected keyword argument 'sample_weights'"):
        SubsetSearchCV(SVC(), space, n_iter=2).fit(X, y, sample_weights=np.ones(100))
    pipe = make_pipeline(StandardScaler(), SVC())
    with pytest.raises(ValueError, match="'svm__sample_weight', which names no step"):
        SubsetSearchCV(pipe, {"svc__C": (0.1, 10.0)}, n_iter=2).fit(
            X, y, svm__sample_weight=np.ones(100)
        )


def test_sample_weight_for_a_pipeline_without_refit_or_weights():
    # refit=False has no refit to fail: the trials take the weights, as
    # before. A last step without sample_weight gets other advice than its
    # key (a review of the day's diff).
    from sklearn.neighbors import KNeighborsClassifier

    X, y = make_classification(120, 4, random_state=0)
    w = np.ones(120)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    SubsetSearchCV(
        pipe, {"logisticregression__C": (0.1, 10.0)}, n_iter=2, cv=2,
        subset_size=0.5, random_state=0, refit=False,
    ).fit(X, y, sample_weight=w)  # fmt: skip
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier())
    with pytest.raises(ValueError, match="takes no sample_weight: fit without it"):
        SubsetSearchCV(
            knn, {"kneighborsclassifier__n_neighbors": [1, 3]}, n_iter=2
        ).fit(X, y, sample_weight=w)


def test_a_model_of_scikit_optimize_is_a_choice_not_a_dimension():
    from skopt.learning import ExtraTreesRegressor

    X, y = make_regression(100, 4, random_state=0)
    pipe = Pipeline([("m", Ridge())])
    choices = [ExtraTreesRegressor(n_estimators=3, random_state=0), Ridge()]
    search = SubsetSearchCV(
        pipe, {"m": choices}, n_iter=2, cv=2, subset_size=0.5, random_state=0
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2
