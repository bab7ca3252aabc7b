"""Habits of BayesSearchCV users (issue 15): positional arguments,
optimizer_kwargs, fit_params, rank_train_score, scikit-optimize callbacks."""

import inspect

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from subsetml.model_selection import SubsetSearchCV
from subsetml.model_selection._run import SearchResult

SPACE = {"C": (1e-3, 1e2, "log-uniform")}

# A categorical and a real dimension, and the same in a list of two spaces
# with their own trial counts.
_MIXED = {"C": (1e-3, 1e2, "log-uniform"), "solver": ["lbfgs", "liblinear"]}
_OTHER = {"tol": (1e-5, 1e-2), "fit_intercept": [True, False]}
_LAYOUTS = {"one space": (_MIXED, 5), "two spaces": ([(_MIXED, 4), (_OTHER, 3)], None)}


@pytest.fixture(scope="module")
def data():
    return make_classification(300, 8, n_informative=4, random_state=0)


def test_positional_order_is_bayes_search_cv_s():
    from skopt import BayesSearchCV

    ours = list(inspect.signature(SubsetSearchCV).parameters)
    theirs = list(inspect.signature(BayesSearchCV).parameters)
    assert ours[: len(theirs)] == theirs
    search = SubsetSearchCV(LogisticRegression(), SPACE, None, 7, "accuracy")
    assert (search.n_iter, search.scoring, search.optimizer_kwargs) == (
        7,
        "accuracy",
        None,
    )


def test_optimizer_kwargs_reach_the_optimiser(data):
    X, y = data
    kw = dict(n_iter=4, cv=2, subset_size=0.3, random_state=0)
    # scikit-optimize's n_initial_points is TPE's n_startup_trials.
    search = SubsetSearchCV(
        LogisticRegression(), SPACE, optimizer_kwargs={"n_initial_points": 2}, **kw
    ).fit(X, y)
    assert search.studies_[0].sampler._n_startup_trials == 2
    # With optimizer="gp", BayesSearchCV's {"base_estimator": "RF"} works.
    rf = SubsetSearchCV(
        LogisticRegression(),
        SPACE,
        optimizer="gp",
        optimizer_kwargs={"base_estimator": "RF", "n_initial_points": 2},
        **kw,
    ).fit(X, y)
    sampler = rf.studies_[0].sampler
    assert sampler.optimizer_kwargs == {"base_estimator": "RF"}
    assert sampler.n_initial_points == 2
    assert len(rf.cv_results_["params"]) == 4


@pytest.mark.parametrize(
    "optimizer, kwargs, match",
    [
        ("tpe", {"base_estimator": "RF"}, "not arguments of optuna's TPESampler"),
        ("random", {"n_startup_trials": 3}, "RandomSampler"),
        ("gp", {"warp": True}, "Optimizer"),
    ],
)
def test_unknown_optimizer_kwargs_are_named(data, optimizer, kwargs, match):
    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(),
        SPACE,
        optimizer=optimizer,
        optimizer_kwargs=kwargs,
        n_iter=2,
        cv=2,
    )
    with pytest.raises(ValueError, match=match):
        search.fit(X, y)


def test_bad_optimizer_kwargs_fit_params_and_iid(data):
    X, y = data
    with pytest.raises(TypeError, match="optimizer_kwargs must be a dict"):
        SubsetSearchCV(LogisticRegression(), SPACE, "RF", n_iter=2).fit(X, y)
    with pytest.raises(TypeError, match="fit_params must be a dict"):
        SubsetSearchCV(LogisticRegression(), SPACE, fit_params=[1], n_iter=2).fit(X, y)
    with pytest.warns(FutureWarning, match="iid is ignored"):
        SubsetSearchCV(
            LogisticRegression(), SPACE, iid=True, n_iter=2, cv=2, subset_size=0.3
        ).fit(X, y)


def test_constructor_fit_params_reach_every_fit(data):
    X, y = data
    seen = []

    class Recording(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            seen.append(None if sample_weight is None else len(sample_weight))
            return super().fit(X, y, sample_weight=sample_weight)

    w = np.ones(len(y))
    SubsetSearchCV(
        Recording(),
        SPACE,
        fit_params={"sample_weight": w},
        n_iter=2,
        cv=2,
        subset_size=0.2,
        selector="random",
        random_state=0,
    ).fit(X, y)
    # 2 trials x 2 folds on 20 % of 150 rows, then the refit on all 300.
    assert seen == [30] * 4 + [300]


def test_rank_train_score(data):
    X, y = data
    res = (
        SubsetSearchCV(
            LogisticRegression(),
            SPACE,
            n_iter=5,
            cv=2,
            subset_size=0.3,
            return_train_score=True,
            random_state=0,
        )
        .fit(X, y)
        .cv_results_
    )
    ranks = res["rank_train_score"]
    order = np.argsort(-res["mean_train_score"], kind="stable")
    assert ranks[order[0]] == 1 and ranks.dtype.kind == "i"
    assert sorted(ranks) == sorted(
        np.searchsorted(np.sort(-res["mean_train_score"]), -res["mean_train_score"]) + 1
    )


def test_skopt_callbacks_work_unchanged(data):
    from skopt.callbacks import DeadlineStopper, DeltaYStopper, VerboseCallback

    X, y = data
    kw = dict(n_iter=20, cv=2, subset_size=0.3, random_state=0)
    got = []

    def spy(res):
        got.append(res)

    stopped = SubsetSearchCV(
        LogisticRegression(), {"C": [1.0, 1.0 + 1e-9, 1.0 + 2e-9]}, **kw
    ).fit(X, y, callback=[DeltaYStopper(delta=1.0, n_best=3), spy])
    assert len(stopped.cv_results_["params"]) == 3  # stopped after 3 trials
    res = got[-1]
    assert isinstance(res, SearchResult) and "mean_test_score" in res
    np.testing.assert_allclose(res.func_vals, -res["mean_test_score"])
    assert res.x_iters[0] == [res["params"][0]["C"]] and res.fun == min(res.func_vals)
    # A deadline already passed stops after the first round; VerboseCallback
    # prints without failing.
    quick = SubsetSearchCV(LogisticRegression(), SPACE, **kw).fit(
        X, y, callback=[VerboseCallback(n_total=20), DeadlineStopper(0.0)]
    )
    assert len(quick.cv_results_["params"]) == 1


def test_several_metrics_with_refit_false_or_a_callable(data):
    X, y = data
    kw = dict(n_iter=4, cv=2, subset_size=0.3, random_state=0)
    scoring = {"acc": "accuracy", "bal": "balanced_accuracy"}
    no_refit = SubsetSearchCV(
        LogisticRegression(), SPACE, scoring=scoring, refit=False, **kw
    ).fit(X, y)
    assert not hasattr(no_refit, "best_estimator_")
    assert {"mean_test_acc", "rank_test_bal"} <= set(no_refit.cv_results_)
    # The optimiser maximised the first metric: same proposals as refit="acc".
    named = SubsetSearchCV(
        LogisticRegression(), SPACE, scoring=scoring, refit="acc", **kw
    ).fit(X, y)
    assert no_refit.cv_results_["params"] == named.cv_results_["params"]

    def lowest_c(results):
        return int(np.argmin([p["C"] for p in results["params"]]))

    picked = SubsetSearchCV(
        LogisticRegression(), SPACE, scoring=scoring, refit=lowest_c, **kw
    ).fit(X, y)
    assert picked.best_index_ == lowest_c(picked.cv_results_)
    assert picked.best_params_ == picked.cv_results_["params"][picked.best_index_]
    assert hasattr(picked, "best_estimator_")


def test_scoring_that_fails_on_every_trial_is_an_error(data):
    X, y = data

    def broken(estimator, X, y):
        raise RuntimeError("no score today")

    search = SubsetSearchCV(
        LogisticRegression(), SPACE, scoring=broken, n_iter=3, cv=2, subset_size=0.3
    )
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="Every one of"):
        search.fit(X, y)


def test_boolean_mask_folds(data):
    X, y = data
    mask = np.arange(len(y)) % 2 == 0
    folds = [(mask, ~mask), (~mask, mask)]
    by_mask = SubsetSearchCV(
        LogisticRegression(), SPACE, n_iter=3, cv=folds, subset_size=0.2,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    by_index = SubsetSearchCV(
        LogisticRegression(), SPACE, n_iter=3, subset_size=0.2, random_state=0,
        cv=[(np.flatnonzero(a), np.flatnonzero(b)) for a, b in folds],
    ).fit(X, y)  # fmt: skip
    assert [s.size for s in by_mask.subsets_] == [30, 30]
    assert all(np.all(mask[s.indices]) for s in by_mask.subsets_[:1])
    np.testing.assert_allclose(
        by_mask.cv_results_["mean_test_score"], by_index.cv_results_["mean_test_score"]
    )


def test_fits_failing_on_some_split_of_every_trial_are_an_error(data):
    # Issue 16: a fit failing on 2 of 3 splits in every trial ended with
    # best_score_ = NaN and no error.
    from sklearn.base import BaseEstimator, ClassifierMixin

    class FailsOnSmallLabels(ClassifierMixin, BaseEstimator):
        def __init__(self, C=1.0):
            self.C = C

        def fit(self, X, y):
            if X[0, 0] < 0.5:  # the training folds without the first rows
                raise RuntimeError("broken on this split")
            self.clf_ = LogisticRegression(C=self.C).fit(X, y)
            self.classes_ = self.clf_.classes_
            return self

        def predict(self, X):
            return self.clf_.predict(X)

    X, y = data
    X = X.copy()
    X[:, 0] = np.where(np.arange(len(y)) < 100, 1.0, 0.0)  # one fold fails
    search = SubsetSearchCV(
        FailsOnSmallLabels(), SPACE, n_iter=2, cv=3, subset_size=0.5,
        selector="random", random_state=0,
    )  # fmt: skip
    from sklearn.exceptions import FitFailedWarning

    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="NaN score"):
        search.fit(X, y)


def test_wrong_length_sample_weight_fails_before_any_trial(data):
    X, y = data
    fits = []

    class Counting(LogisticRegression):
        def fit(self, X, y, sample_weight=None):
            fits.append(1)
            return super().fit(X, y, sample_weight=sample_weight)

    search = SubsetSearchCV(Counting(), SPACE, n_iter=3, cv=2, subset_size=0.3)
    with pytest.raises(ValueError, match="sample_weight has 10 entries for 300"):
        search.fit(X, y, sample_weight=np.ones(10))
    assert fits == []


def test_verbose_levels_match_scikit_learn(data, capsys):
    # Issue 15: per-fit lines appeared one level later than in GridSearchCV.
    X, y = data
    kw = dict(n_iter=2, cv=2, subset_size=0.3, random_state=0)
    SubsetSearchCV(LogisticRegression(), SPACE, verbose=1, **kw).fit(X, y)
    assert "[CV] END" not in capsys.readouterr().out
    SubsetSearchCV(LogisticRegression(), SPACE, verbose=2, **kw).fit(X, y)
    out = capsys.readouterr().out
    assert out.count("[CV] END") == 4 and "score=" not in out
    SubsetSearchCV(LogisticRegression(), SPACE, verbose=3, **kw).fit(X, y)
    assert "score=" in capsys.readouterr().out


def test_verbose_lines_name_the_candidate(data, capsys):
    # Review: the per-fit lines read "[CV 1/2] END ......" without the
    # candidate's parameters, which GridSearchCV and BayesSearchCV print.
    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(),
        SPACE,
        n_iter=2,
        cv=2,
        subset_size=0.3,
        random_state=0,
        verbose=3,
    ).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if "END" in line]
    assert len(lines) == 4
    for params in search.cv_results_["params"]:
        shown = f"C={params['C']};"
        assert sum(shown in line for line in lines) == 2


@pytest.mark.parametrize("n_iter, start", [(3, 2), (6, 2), (12, 4), (30, 10), (90, 10)])
def test_random_start_scales_with_n_iter(data, n_iter, start):
    # Issue 14: with n_iter <= 10, TPE never left its 10 random start-up trials.
    from subsetml.model_selection._samplers import make_sampler, startup_trials

    assert startup_trials(n_iter) == start
    assert make_sampler("tpe", 0, None, n_iter)._n_startup_trials == start
    assert make_sampler("gp", 0, None, n_iter).n_initial_points == start
    # optimizer_kwargs still decide.
    tpe = make_sampler("tpe", 0, {"n_initial_points": 7}, n_iter)
    assert tpe._n_startup_trials == 7


def test_a_short_search_leaves_its_random_start(data):
    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(), SPACE, n_iter=6, cv=2, subset_size=0.3, random_state=0
    ).fit(X, y)
    assert search.studies_[0].sampler._n_startup_trials == 2


def test_optimizer_results_draw_a_convergence_plot(data):
    """BayesSearchCV keeps one OptimizeResult per space; skopt's
    plot_convergence reads it. The attribute was missing."""
    import matplotlib

    matplotlib.use("Agg")
    from scipy.optimize import OptimizeResult
    from skopt.plots import plot_convergence, plot_evaluations

    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(),
        [({"C": (1e-3, 10.0, "log-uniform")}, 3), (_OTHER, 2)],
        cv=2,
        subset_size=0.5,
        random_state=0,
    ).fit(X, y)
    results = search.optimizer_results_
    assert [len(r.x_iters) for r in results] == [3, 2]
    for r, start in zip(results, (0, 3)):
        assert isinstance(r, OptimizeResult)
        scores = search.cv_results_["mean_test_score"][start : start + len(r.x_iters)]
        np.testing.assert_allclose(r.func_vals, -scores)
        assert r.fun == min(r.func_vals)
    plot_convergence(*results)
    # It reads the space (skopt's own plot fails on a space of one dimension).
    plot_evaluations(results[1])


@pytest.mark.parametrize("layout", list(_LAYOUTS))
@pytest.mark.parametrize(
    "stopper",
    [
        ("DeltaXStopper", {"delta": 1e9}),
        ("DeltaYStopper", {"delta": 1e9, "n_best": 2}),
        ("HollowIterationsStopper", {"n_iterations": 1, "threshold": 1e9}),
    ],
    ids=lambda s: s[0],
)
def test_skopt_stoppers_stop_as_in_bayes_search_cv(data, layout, stopper):
    # DeltaXStopper read res.space, which was None: an AttributeError. Scores
    # can tie, so the thresholds are above any distance or score difference:
    # each space stops after its second trial.
    skopt = pytest.importorskip("skopt")
    callbacks = pytest.importorskip("skopt.callbacks")

    X, y = data
    spaces, n_iter = _LAYOUTS[layout]
    name, kwargs = stopper
    kw = dict(cv=2, random_state=0, **({} if n_iter is None else {"n_iter": n_iter}))
    counts = []
    for search in (
        skopt.BayesSearchCV(LogisticRegression(), spaces, **kw),
        SubsetSearchCV(LogisticRegression(), spaces, subset_size=0.5, **kw),
    ):
        search.fit(X, y, callback=getattr(callbacks, name)(**kwargs))
        counts.append(len(search.cv_results_["params"]))
    # Two trials, then a stop, in each space.
    assert counts == [2 * (1 if n_iter else 2)] * 2


@pytest.mark.parametrize("layout", list(_LAYOUTS))
def test_delta_x_stopper_with_a_small_delta_runs_every_trial(data, layout):
    DeltaXStopper = pytest.importorskip("skopt.callbacks").DeltaXStopper

    X, y = data
    spaces, n_iter = _LAYOUTS[layout]
    kw = {} if n_iter is None else {"n_iter": n_iter}
    search = SubsetSearchCV(
        LogisticRegression(), spaces, cv=2, subset_size=0.5, random_state=0, **kw
    ).fit(X, y, callback=DeltaXStopper(1e-9))
    assert len(search.cv_results_["params"]) == (n_iter or 4 + 3)


def test_search_result_space_holds_x_iters(data):
    """``res.space`` is the current space as a skopt Space whose dimensions
    hold ``x_iters``' values in order: choices of estimators and strings,
    integers, unhashable choices, and the next space's after the first."""
    pytest.importorskip("skopt")
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from skopt.space import Categorical, Integer, Real, Space

    X, y = data
    models = [LogisticRegression(), RidgeClassifier()]
    first = {
        "clf": models,
        "clf__tol": Real(1e-5, 1e-2, "log-uniform"),
        "scale__with_mean": Categorical([True, False]),
    }
    second = {
        "clf__max_iter": (50, 200),
        "clf": models,
        "clf__class_weight": [None, {0: 1, 1: 2}],
    }
    seen = []

    def spy(res):
        seen.append((res.space, list(res.x_iters), res.x))

    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    search = SubsetSearchCV(
        pipe, [(first, 3), (second, 2)], cv=2, subset_size=0.5, random_state=0
    ).fit(X, y, callback=spy)
    assert len(seen) == 5
    for i, (space, x_iters, x) in enumerate(seen):
        names = sorted(first if i < 3 else second)
        assert isinstance(space, Space) and space.dimension_names == names
        params = search.cv_results_["params"][(0 if i < 3 else 3) : i + 1]
        assert x_iters == [[p[n] for n in names] for p in params]
        assert all(point in space for point in x_iters) and x in x_iters
        assert space.distance(x, x_iters[-1]) >= 0
        assert space.distance(x_iters[-1], x_iters[-1]) == 0
    kinds = [[type(d) for d in space.dimensions] for space, _, _ in seen]
    assert kinds[0] == [Categorical, Real, Categorical]
    assert kinds[-1] == [Categorical, Categorical, Integer]
    # The estimators themselves, as BayesSearchCV gives them.
    assert seen[-1][0].dimensions[0].categories == tuple(models)
    assert all(isinstance(p[0], (LogisticRegression, RidgeClassifier)) for p in x_iters)
    assert all(isinstance(p[2], int) for p in seen[-1][1])
    # optimizer_results_ carries the same spaces.
    assert [r.space for r in search.optimizer_results_] == [seen[2][0], seen[-1][0]]


def test_x_iters_leave_out_the_resource(data):
    # A resource rung's value is in cv_results_["params"], not in the space.
    pytest.importorskip("skopt")
    X, y = data
    seen = []

    def spy(res):
        seen.append((res.space.n_dims, res.x_iters))

    SubsetSearchCV(
        LogisticRegression(), SPACE, n_iter=3, cv=2, random_state=0,
        resource="max_iter", resource_rungs=(20, 100),
    ).fit(X, y, callback=spy)  # fmt: skip
    assert all(n == 1 and all(len(p) == 1 for p in xs) for n, xs in seen)


def test_other_skopt_callbacks_with_a_space(data, tmp_path, capsys):
    skopt = pytest.importorskip("skopt")
    from skopt.callbacks import (
        CheckpointSaver,
        DeadlineStopper,
        DeltaXStopper,
        DeltaYStopper,
        HollowIterationsStopper,
        VerboseCallback,
    )

    X, y = data
    path = tmp_path / "result.pkl"
    spaces, _ = _LAYOUTS["two spaces"]
    callbacks = [
        VerboseCallback(n_total=7),
        DeadlineStopper(total_time=600),
        DeltaXStopper(1e-9),
        DeltaYStopper(delta=1.0, n_best=100),
        HollowIterationsStopper(n_iterations=100, threshold=0.0),
        CheckpointSaver(str(path)),
    ]
    search = SubsetSearchCV(
        LogisticRegression(), spaces, cv=2, subset_size=0.5, random_state=0
    ).fit(X, y, callback=callbacks)
    assert len(search.cv_results_["params"]) == 7
    assert capsys.readouterr().out.count("Current minimum") == 7
    # The checkpoint holds the last space's result, space included.
    saved = skopt.load(path)
    assert saved.space == search.optimizer_results_[1].space
    assert saved.x_iters == search.optimizer_results_[1].x_iters
    assert CheckpointSaver(str(path)).load()["base_estimator"] is None


def test_checkpoint_without_the_objective(data, tmp_path):
    # Review: CheckpointSaver(store_objective=False) and skopt.dump(...,
    # store_objective=False) read specs["args"], which was None: TypeError.
    skopt = pytest.importorskip("skopt")
    from skopt.callbacks import CheckpointSaver

    X, y = data
    path = tmp_path / "result.pkl"
    search = SubsetSearchCV(
        LogisticRegression(), SPACE, n_iter=2, cv=2, subset_size=0.5, random_state=0
    ).fit(X, y, callback=CheckpointSaver(str(path), store_objective=False))
    assert skopt.load(path).x_iters == search.optimizer_results_[0].x_iters
    skopt.dump(search.optimizer_results_[0], tmp_path / "r.pkl", store_objective=False)
    assert skopt.load(tmp_path / "r.pkl").x == search.optimizer_results_[0].x


def test_search_result_space_is_none_without_skopt(data, monkeypatch):
    # scikit-optimize is imported only where a space is built or "gp" runs.
    import sys

    for name in [m for m in sys.modules if m.split(".")[0] == "skopt"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "skopt", None)
    X, y = data
    seen = []
    search = SubsetSearchCV(
        LogisticRegression(), _MIXED, n_iter=2, cv=2, subset_size=0.5, random_state=0
    ).fit(X, y, callback=lambda res: seen.append(res))
    assert [res.space for res in seen] == [None, None]
    assert seen[-1].x_iters == search.optimizer_results_[0].x_iters
    assert search.optimizer_results_[0].space is None
