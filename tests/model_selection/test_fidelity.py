"""Multi-fidelity SubsetSearchCV: rungs, pruners, test-fold sampling, re-scoring,
the compute report (issue 14)."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subsetml.model_selection import SubsetSearchCV
from subsetml.model_selection._fidelity import (
    check_sizes,
    judging_order,
    make_pruner,
    report_steps,
    round_size,
    score_rows,
)

optuna = pytest.importorskip("optuna")

SPACE = {"C": (1e-4, 1e2, "log-uniform")}
RUNGS = (0.1, 0.3, 0.9)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return X, y


def _search(**kwargs):
    params = dict(n_iter=12, subset_size=RUNGS, cv=2, random_state=0)
    params.update(kwargs)
    return SubsetSearchCV(LogisticRegression(max_iter=300), SPACE, **params)


# ------------------------------------------------------------------- rungs
def test_rungs_prune_trials_and_report_each_trials_last_rung(data):
    X, y = data
    search = _search().fit(X, y)
    res = search.cv_results_
    rung = np.asarray(res["rung"])
    pruned = np.asarray(res["pruned"])
    # Successive halving stops some trials before the last rung, not all.
    assert pruned.any() and (rung == 2).any()
    assert not pruned[rung == 2].any()
    # Rows per trial follow its last rung: 10, 30 and 90 % of a 300-row fold.
    assert set(np.asarray(res["subset_size"])[rung == 0]) == {30}
    assert set(np.asarray(res["subset_size"])[rung == 2]) == {270}
    # The best is chosen among the trials of the last rung, and ranks first.
    assert rung[search.best_index_] == 2
    assert res["rank_test_score"][search.best_index_] == 1
    last = np.flatnonzero(rung == 2)
    below = np.flatnonzero(rung < 2)
    assert res["rank_test_score"][last].max() < res["rank_test_score"][below].min()
    assert search.best_score_ == pytest.approx(res["mean_test_score"][last].max())
    # Optuna sees the rungs: pruned trials, and intermediate values at steps
    # equal to the rows trained on.
    trials = search.studies_[0].get_trials()
    states = [t.state.name for t in trials]
    assert states.count("PRUNED") == pruned.sum()
    assert set(trials[0].intermediate_values) <= {30, 90}
    assert len(search.rung_subsets_) == 3
    assert [s.size for s in search.rung_subsets_[1]] == [90, 90]


def test_a_trial_that_goes_on_is_fitted_again_on_every_rung(data):
    X, y = data
    search = _search(pruner=None).fit(X, y)
    res = search.cv_results_
    assert (np.asarray(res["rung"]) == 2).all() and not any(res["pruned"])
    report = search.compute_report_
    assert report["fits"] == 12 * 3 * 2 and report["n_pruned"] == 0
    # Fit times add up the trial's rungs.
    fit = np.asarray(res["mean_fit_time"]) * 2
    assert report["trial_fit_s"] == pytest.approx(fit.sum())


def test_no_pruning_gives_the_scores_of_a_single_size_search(data):
    X, y = data
    rungs = _search(pruner=None, n_iter=5).fit(X, y)
    single = _search(subset_size=0.9, n_iter=5).fit(X, y)
    assert [p["C"] for p in rungs.cv_results_["params"]] == pytest.approx(
        [p["C"] for p in single.cv_results_["params"]]
    )
    np.testing.assert_allclose(
        rungs.cv_results_["mean_test_score"], single.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize(
    "pruner", ["hyperband", "halving", optuna.pruners.MedianPruner(n_startup_trials=2)]
)
def test_pruners(data, pruner):
    X, y = data
    search = _search(pruner=pruner).fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 12
    assert np.asarray(res["rung"])[search.best_index_] == 2


def test_a_full_last_rung_scores_on_full_folds(data):
    X, y = data
    search = _search(subset_size=(0.1, 1.0), score_size=50).fit(X, y)
    res = search.cv_results_
    full = np.asarray(res["rung"]) == 1
    assert set(np.asarray(res["subset_size"])[full]) == {300}
    # Re-scoring has nothing to add: the last rung is the full folds.
    assert search.compute_report_["rescore_s"] == 0
    again = _search(subset_size=(0.1, 1.0), rescore=3).fit(X, y)
    assert again.compute_report_["rescore_s"] == 0
    assert max(again.cv_results_["rung"]) == 1
    assert search.compute_report_["full_search_estimate_basis"].startswith("mean")


def test_rungs_for_a_regressor_and_a_count():
    X, y = make_regression(n_samples=300, n_features=5, noise=5, random_state=0)
    search = SubsetSearchCV(
        Ridge(),
        {"alpha": (1e-3, 1e3, "log-uniform")},
        n_iter=8,
        subset_size=(20, 60, 1.0),
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert set(np.asarray(search.cv_results_["subset_size"])) <= {20, 60, 200}


# ------------------------------------------------------------------ rounds
def test_round_size():
    halving = make_pruner("halving", [30, 90, 270])
    nop = make_pruner(None, [30, 90, 270])
    # An integer is used as given.
    assert round_size(5, 30, [30, 90, 270], halving) == 5
    # "auto": the random start (a third of n_iter, 2 to 10), at most
    # factor ** (rungs - 1).
    assert round_size("auto", 12, [30, 90, 270], halving) == 4
    assert round_size("auto", 30, [30, 90, 270], halving) == 9
    assert round_size("auto", 60, [1, 3, 9, 27], halving) == 10
    assert round_size("auto", 3, [30, 90, 270], halving) == 2
    # One trial at a time without pruning, with one rung, or under a time
    # limit.
    assert round_size("auto", 30, [30, 90, 270], nop) == 1
    assert round_size("auto", 30, [270], nop) == 1
    assert round_size("auto", 30, [30, 90, 270], halving, timed=True) == 1
    # Rungs of boosting rounds (another resource): rounds of at most 5.
    assert round_size("auto", 30, [22, 66, 198], halving, rows=False) == 5
    assert round_size("auto", 12, [22, 66, 198], halving, rows=False) == 4
    assert round_size("auto", 30, [22, 66], halving, rows=False) == 3
    assert round_size(4, 30, [3, 9, 27], halving, rows=False) == 4
    assert round_size("auto", 30, [3, 9, 27], nop, rows=False) == 1
    # skorch nets: one at a time, rungs of rows or of epochs.
    assert round_size("auto", 30, [30, 90, 270], halving, net=True) == 1
    assert round_size("auto", 30, [3, 9, 27], halving, rows=False, net=True) == 1
    # A random start the user set, still at most factor ** (rungs - 1) and
    # at least 1.
    assert round_size("auto", 30, [30, 90, 270], halving, start=4) == 4
    assert round_size("auto", 30, [30, 90, 270], halving, start=20) == 9
    assert round_size("auto", 30, [30, 90, 270], halving, start=0) == 1


def test_random_start_reads_the_users_start():
    from subsetml.model_selection._samplers import random_start

    assert random_start("tpe", None, 30) == 10
    assert random_start("tpe", {"n_initial_points": 4}, 30) == 4
    assert random_start("tpe", {"n_startup_trials": 6}, 30) == 6
    assert random_start("gp", {"n_initial_points": 3}, 12) == 3
    # Random search and sampler instances: the default start.
    assert random_start("random", {"n_initial_points": 3}, 12) == 4
    assert random_start(optuna.samplers.TPESampler(), None, 12) == 4


@pytest.mark.parametrize(
    "kwargs, rounds",
    [
        ({}, 3),  # rounds of 4 with rungs and a pruner
        ({"n_points": 1}, 12),
        ({"pruner": None}, 12),
        ({"subset_size": 0.3}, 12),
        # Rounds as large as the random start the user set (2 trials).
        ({"optimizer_kwargs": {"n_initial_points": 2}}, 6),
        ({"trial_timeout": 60}, 12),
        # Rungs of another resource: rounds of at most 5 (here the random
        # start's 4).
        (
            {"subset_size": 1.0, "resource": "max_iter", "resource_rungs": (5, 15, 45)},
            3,
        ),
    ],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_auto_n_points_runs_rung_searches_in_rounds(data, kwargs, rounds):
    X, y = data
    calls = []
    search = _search(**kwargs)
    search.fit(X, y, callback=lambda res: calls.append(len(res.x_iters)))
    assert len(calls) == rounds
    assert calls[-1] == 12
    assert len(search.cv_results_["params"]) == 12


def _net_data(n_samples):
    """Three classes in 8 float32 features, and a seeded linear skorch net."""
    torch = pytest.importorskip("torch")
    skorch = pytest.importorskip("skorch")
    X, y = make_classification(
        n_samples=n_samples,
        n_features=8,
        n_informative=5,
        n_classes=3,
        random_state=0,
    )
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(8, 3)),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
    )
    return X.astype(np.float32), y, net


def test_auto_n_points_judges_a_nets_rungs_one_at_a_time():
    X, y, net = _net_data(400)
    calls = []
    SubsetSearchCV(
        make_pipeline(StandardScaler(), net),
        {"neuralnetclassifier__lr": (0.01, 0.1, "log-uniform")},
        n_iter=6,
        subset_size=(0.1, 0.3, 0.9),
        selector="random",
        cv=2,
        rescore=0,
        refit=False,
        random_state=0,
    ).fit(X, y, callback=lambda res: calls.append(len(res.x_iters)))
    assert calls == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "pruner",
    ["hyperband", optuna.pruners.MedianPruner(n_startup_trials=1)],
    ids=["hyperband", "median"],
)
def test_other_pruners_judge_rounds_too(data, pruner):
    X, y = data
    calls = []
    search = _search(pruner=pruner)
    search.fit(X, y, callback=lambda res: calls.append(len(res.x_iters)))
    assert calls == [4, 8, 12]
    pruned = np.asarray(search.cv_results_["pruned"])
    assert pruned.any() and not pruned.all()


def test_a_round_promotes_its_top_third(data, tmp_path):
    # One round of 9 trials and no earlier ones: Optuna's successive halving
    # (factor 3) judges each against those judged before it. Judged best
    # first, only the round's best went on (the rungs above held one trial);
    # judged in the order asked, the first trial would always go on. As in a
    # synchronous round of HalvingRandomSearchCV, its best 3 go on.
    X, y = data
    storage = f"sqlite:///{tmp_path / 'round.db'}"
    search = _search(n_iter=9, n_points=9, storage=storage, study_name="r")
    search.fit(X, y)
    study = optuna.load_study(study_name="r", storage=storage)
    trials = sorted(study.trials, key=lambda t: t.number)
    step = min(min(t.intermediate_values) for t in trials)
    first = [t.intermediate_values[step] for t in trials]
    went_on = [i for i, t in enumerate(trials) if len(t.intermediate_values) > 1]
    assert sorted(went_on) == sorted(np.argsort(first)[::-1][:3].tolist())
    # The data and seed make this a real check: the first trial asked is not
    # among them.
    assert 0 not in went_on
    rung = np.asarray(search.cv_results_["rung"])
    assert (rung >= 1).sum() == 3
    assert (rung == 2).sum() == 1  # the best of those 3 at the second rung


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 10, 30])
def test_judging_order_makes_optunas_halving_promote_a_rounds_top_share(factor, n):
    values = np.random.default_rng(n).random(n).tolist()
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=factor
        ),
    )
    trials = [study.ask() for _ in values]
    for trial, value in zip(trials, values):
        trial.report(value, 1)
    order = judging_order(values, factor)
    assert sorted(order) == list(range(n))
    went_on = {i for i in order if not trials[i].should_prune()}
    assert went_on == set(np.argsort(values)[::-1][: max(1, n // factor)].tolist())
    assert judging_order([], factor) == []


# ---------------------------------------------------------------- rescore
def test_rescore_puts_the_best_configurations_on_full_folds(data, tmp_path):
    X, y = data
    storage = f"sqlite:///{tmp_path / 'rungs.db'}"
    search = _search(rescore=2, storage=storage, study_name="r").fit(X, y)
    res = search.cv_results_
    rung = np.asarray(res["rung"])
    rescored = np.flatnonzero(rung == 3)
    assert len(rescored) == 2
    assert set(np.asarray(res["subset_size"])[rescored]) == {300}
    assert search.best_index_ in rescored
    # They rank first and second (or tie first: two configurations can score
    # the same on 300 rows).
    ranks = sorted(res["rank_test_score"][rescored])
    assert ranks[0] == 1 and ranks[1] <= 2
    assert search.compute_report_["rescore_s"] > 0
    # The re-scored results live in the study: a second fit reads them.
    again = _search(rescore=2, storage=storage, study_name="r").fit(X, y)
    assert again.compute_report_["rescore_s"] == 0
    np.testing.assert_allclose(
        again.cv_results_["mean_test_score"], res["mean_test_score"]
    )
    assert again.best_params_ == search.best_params_


def test_rescore_fills_up_from_the_rungs_below(data):
    # One round of 9: 3 go on to the second rung and one of them to the
    # last, so the next two re-scored configurations are the best of the
    # other two at the second rung.
    X, y = data
    search = _search(n_iter=9, n_points=9, rescore=3).fit(X, y)
    res = search.cv_results_
    rescored = np.flatnonzero(np.asarray(res["rung"]) == 3)
    assert len(rescored) == 3
    assert len({repr(res["params"][i]) for i in rescored}) == 3
    assert set(np.asarray(res["subset_size"])[rescored]) == {300}
    assert search.best_index_ in rescored
    # Two of them were pruned at the second rung, and say so.
    assert np.asarray(res["pruned"])[rescored].sum() == 2
    # Fits per split: 9, 3 and 1 on the rungs, 3 re-scored.
    assert search.compute_report_["fits"] == (9 + 3 + 1 + 3) * 2


def test_a_configuration_that_fails_on_full_folds_cannot_win():
    X, y = make_classification(n_samples=400, n_features=6, random_state=0)

    class BreaksOnManyRows(ClassifierMixin, BaseEstimator):
        """Good on small subsets; predicts one class once fitted on > 100 rows
        with a large ``c``."""

        def __init__(self, c=1.0):
            self.c = c

        def fit(self, X, y, sample_weight=None):
            self.classes_ = np.unique(y)
            self.model_ = LogisticRegression().fit(X, y)
            self.broken_ = self.c > 1 and len(X) > 100
            return self

        def predict(self, X):
            if self.broken_:
                return np.full(len(X), self.classes_[0])
            return self.model_.predict(X)

    search = SubsetSearchCV(
        BreaksOnManyRows(),
        {"c": [0.5, 0.8, 2.0]},
        n_iter=6,
        subset_size=0.2,
        cv=2,
        random_state=0,
        rescore=2,
        use_weights=False,
    ).fit(X, y)
    assert search.best_params_["c"] < 1


# -------------------------------------------------------------- score_size
def test_score_size_scores_subset_rungs_on_part_of_each_test_fold(data):
    X, y = data
    seen = []

    def scorer(est, X_test, y_test):
        seen.append(len(X_test))
        return float(np.mean(est.predict(X_test) == y_test))

    _search(subset_size=(0.1, 1.0), score_size=40, scoring=scorer, n_iter=6).fit(X, y)
    # 40 rows for the 10 % rung, the whole 300-row test fold for the full one.
    assert set(seen) == {40, 300} and seen.count(40) == 12


def test_proportional_score_size_scores_each_rung_on_its_share_of_the_fold():
    X, y = make_classification(
        n_samples=4000, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    seen = []

    def scorer(est, X_test, y_test):
        seen.append(len(X_test))
        return float(np.mean(est.predict(X_test) == y_test))

    _search(
        subset_size=(0.05, 0.5, 1.0),
        score_size="proportional",
        scoring=scorer,
        n_iter=6,
        pruner=None,
    ).fit(X, y)
    # 2,000-row folds: the 5 % rung scores on the 500-row floor (not 100),
    # the half rung on half the test fold, the full rung on all of it.
    assert sorted(set(seen)) == [500, 1000, 2000]
    assert seen.count(500) == seen.count(1000) == seen.count(2000) == 12


def test_auto_score_size_is_proportional_but_whole_folds_for_nets():
    X, y, net = _net_data(1400)

    def counting(seen):
        def scorer(est, X_test, y_test):
            seen.append(len(X_test))
            return float(np.mean(est.predict(X_test) == y_test))

        return scorer

    # A scikit-learn estimator: the default scores a 10 % trial on the
    # 500-row floor of each 700-row test fold.
    seen = []
    _search(subset_size=0.1, scoring=counting(seen), n_iter=2).fit(X, y)
    assert set(seen) == {500}

    # A net, bare or at the end of a Pipeline (nested too), scores on whole
    # 700-row folds under "auto".
    lr = (0.01, 0.1, "log-uniform")
    cases = [
        (net, {"lr": lr}, "auto", 700),
        (net, {"lr": lr}, "proportional", 500),
        (
            make_pipeline(StandardScaler(), net),
            {"neuralnetclassifier__lr": lr},
            "auto",
            700,
        ),
        (
            make_pipeline(make_pipeline(StandardScaler(), net)),
            {"pipeline__neuralnetclassifier__lr": lr},
            "auto",
            700,
        ),
    ]
    for estimator, space, score_size, rows in cases:
        seen = []
        SubsetSearchCV(
            estimator,
            space,
            n_iter=2,
            subset_size=0.1,
            selector="random",
            cv=2,
            scoring=counting(seen),
            score_size=score_size,
            rescore=0,
            refit=False,
            random_state=0,
        ).fit(X, y)
        assert set(seen) == {rows}


def test_proportional_share_follows_each_splits_own_budget():
    # Integer sizes on uneven folds: the share is each split's rows over its
    # own training fold, not the size as a fraction.
    X, y = make_regression(n_samples=4500, n_features=5, random_state=0)
    seen = []

    def scorer(est, X_test, y_test):
        seen.append(len(X_test))
        return -float(np.mean((est.predict(X_test) - y_test) ** 2))

    SubsetSearchCV(
        Ridge(),
        {"alpha": (1e-3, 1e3, "log-uniform")},
        n_iter=2,
        subset_size=(400, 1500, 1.0),
        selector="random",
        cv=KFold(2),
        scoring=scorer,
        pruner=None,
        random_state=0,
    ).fit(X[:4001], y[:4001])
    # Folds of 2,000 / 2,001 training and 2,001 / 2,000 test rows: 400 rows
    # is a fifth of a training fold (under the floor); 1,500 rows are 75.0 %
    # of one (1,501 of 2,001 test rows) and 74.96 % of the other (1,500 of
    # 2,000); whole folds score on whole folds.
    assert sorted(set(seen)) == [500, 1500, 1501, 2000, 2001]
    assert seen.count(500) == 4


def test_auto_score_size_keeps_stored_studies_that_it_does_not_change(tmp_path):
    X, y = make_classification(n_samples=1400, n_features=8, random_state=0)
    storage = f"sqlite:///{tmp_path / 'auto.db'}"
    space = {"C": (1e-2, 1e2, "log-uniform")}

    def search(score_size, n_iter, **kwargs):
        return SubsetSearchCV(
            LogisticRegression(max_iter=200),
            space,
            n_iter=n_iter,
            cv=2,
            storage=storage,
            score_size=score_size,
            random_state=0,
            **kwargs,
        )

    # Rungs on whole folds: score_size changes nothing, so a study stored
    # with None (the former default) goes on under "auto".
    rungs = {"subset_size": 1.0, "resource": "max_iter", "resource_rungs": (20, 60)}
    search(None, 2, study_name="full", **rungs).fit(X, y)
    again = search("auto", 3, study_name="full", **rungs).fit(X, y)
    assert len(again.cv_results_["params"]) == 3
    # Subset rungs: "auto" scores on fewer rows, so the study is refused.
    search(None, 2, study_name="sub", subset_size=0.1).fit(X, y)
    with pytest.raises(ValueError, match="selector"):
        search("auto", 3, study_name="sub", subset_size=0.1).fit(X, y)


def test_score_rows_proportional_takes_the_share_with_a_floor():
    test = np.arange(10_000)
    y = np.arange(10_000) % 4
    rows = score_rows(test, y, "proportional", True, 0, share=0.15)
    assert len(rows) == 1500 and set(rows) <= set(test)
    assert np.bincount(y[rows]).tolist() == [375] * 4
    assert len(score_rows(test, y, "proportional", True, 0, share=0.01)) == 500
    assert len(score_rows(test[:300], y, "proportional", False, 0, share=0.1)) == 300


def test_score_rows_is_stratified_fixed_and_within_the_fold():
    y = np.array([0] * 90 + [1] * 9 + [2] * 1)
    test = np.arange(100, 200)
    yy = np.concatenate([np.zeros(100), y])
    rows = score_rows(test, yy, 20, True, 0)
    assert len(rows) == 20 and set(rows) <= set(test)
    counts = np.bincount(yy[rows].astype(int), minlength=3)
    # Each class keeps its share (largest remainders), and at least one row.
    assert counts.tolist() == [18, 1, 1]
    np.testing.assert_array_equal(rows, score_rows(test, yy, 20, True, 0))
    assert len(score_rows(test, yy, 0.5, False, 0)) == 50
    np.testing.assert_array_equal(score_rows(test, yy, None, True, 0), test)
    np.testing.assert_array_equal(score_rows(test, yy, 500, True, 0), test)


# ---------------------------------------------------------- compute report
def test_compute_report_accounts_for_the_search(data):
    X, y = data
    search = _search(subset_size=0.2, n_iter=4).fit(X, y)
    report = search.compute_report_
    for key in ("selection_s", "trial_fit_s", "trial_score_s", "refit_s"):
        assert report[key] >= 0
    assert report["search_s"] == pytest.approx(search.search_time_)
    assert report["refit_s"] == pytest.approx(search.refit_time_)
    assert report["n_trials"] == 4 and report["fits"] == 8
    assert report["search_s"] >= report["trial_fit_s"] + report["trial_score_s"]
    assert report["full_search_estimate_basis"].startswith("refit time")
    assert report["full_search_estimate_s"] > 0 and report["speedup_estimate"] > 0
    no_refit = _search(subset_size=0.2, n_iter=2, refit=False).fit(X, y)
    assert no_refit.compute_report_["full_search_estimate_s"] is None


def test_the_full_search_estimate_counts_scoring_whole_test_folds(data, monkeypatch):
    # A k-NN scores slowly once fitted on all rows: the estimate adds what the
    # refit model takes to score a whole test fold (found by a review: a
    # k-NN search 11x faster than the full one was reported at 0.16x).
    import subsetml.model_selection._search as search_module

    X, y = data
    monkeypatch.setattr(search_module, "_time_fold_predictions", lambda *a: 5.0)
    report = _search(subset_size=0.2, n_iter=3).fit(X, y).compute_report_
    assert "predictions on a whole test fold" in report["full_search_estimate_basis"]
    # 3 trials x 2 splits, each at least the 5 s of predictions x the
    # training folds' half of the rows.
    assert report["full_search_estimate_s"] >= 5.0 * 0.5 * 3 * 2
    # Where predictions cannot be timed, they are left out.
    monkeypatch.setattr(search_module, "_time_fold_predictions", lambda *a: None)
    report = _search(subset_size=0.2, n_iter=3).fit(X, y).compute_report_
    assert "predictions" not in report["full_search_estimate_basis"]
    assert report["full_search_estimate_s"] < 5.0


def test_the_estimate_scales_the_refit_by_the_trials_costs():
    # The refit stands for the configuration chosen: a boosting search that
    # chose a configuration cheaper than most read 0.84x when 2.5x faster.
    from types import SimpleNamespace

    from subsetml.model_selection._run import _Run

    def outs(*times, error=None):
        return [{"fit_time": t, "fit_error": error} for t in times]

    run = SimpleNamespace(
        splits=[0, 1],
        more={"rung": [0, 0, 0]},
        out=outs(1.0, 1.0) + outs(2.0, 4.0) + outs(6.0, 6.0),
    )
    # Trials' mean fit 10/3 s, the chosen one's 1 s.
    assert _Run._cost_scale(run, [0, 1, 2], 0) == pytest.approx(10 / 3)
    assert _Run._cost_scale(run, [0, 1, 2], None) is None
    # Rungs (their fits differ by rung) and failed fits: no scaling.
    run.more["rung"] = [0, 1, 0]
    assert _Run._cost_scale(run, [0, 1, 2], 0) is None
    run.more["rung"] = [0, 0, 0]
    run.out[2:4] = outs(0.1, 0.1, error="ValueError")
    assert _Run._cost_scale(run, [0, 1, 2], 0) is None


def test_the_estimate_scales_the_refit_along_the_costs_growth():
    # A kernel SVM's cost grows faster than its rows, boosting's slower: the
    # refit is scaled to a fold's rows along the line (on log-log axes)
    # through the chosen configuration's fit on its subset and its refit.
    from types import SimpleNamespace

    from subsetml.model_selection._run import _Run

    run = SimpleNamespace(
        splits=[0, 1],
        X=np.zeros((10_000, 2)),
        more={"rung": [0, 0], "subset_size": [100.0, 100.0]},
        out=[{"fit_time": 0.01}] * 2 + [{"fit_time": 0.02, "fit_error": "x"}] * 2,
    )
    assert _Run._cost_power(run, 0, 1.0) == pytest.approx(1.0)  # 100x rows
    assert _Run._cost_power(run, 0, 10.0) == pytest.approx(1.5)
    assert _Run._cost_power(run, 0, 1e9) == 3.0  # kept within [0, 3]
    assert _Run._cost_power(run, 0, 0.001) == 0.0
    assert _Run._cost_power(run, 1, 1.0) is None  # a failed fit
    assert _Run._cost_power(run, None, 1.0) is None
    run.more["rung"] = [1, 0]
    assert _Run._cost_power(run, 0, 1.0) is None  # its time spans rungs


def _report(**kw):
    report = dict(
        full_search_estimate_s=2.0, selection_s=8.0, trial_fit_s=1.0,
        trial_score_s=0.5, rescore_s=0.5, n_trials=10,
    )  # fmt: skip
    report.update(kw)
    return report


def test_a_subset_search_slower_than_the_full_one_says_so():
    from subsetml.model_selection._search import _warn_if_not_faster

    # A review's case: a quick logistic regression on 20,000 rows whose
    # CRAIG selection took 9 s, against 1.6 s for the full-data search.
    with pytest.warns(UserWarning, match=r"spent 10 s.*about 2 s.*selecting the"):
        _warn_if_not_faster(_report())
    with pytest.warns(UserWarning, match="selector='random' skips the selection"):
        _warn_if_not_faster(_report())
    # Slow fits: the advice names the weights only where they are the cause.
    with pytest.warns(UserWarning, match="fitting the trials took 8") as caught:
        _warn_if_not_faster(_report(selection_s=0.1, trial_fit_s=8.0))
    assert "HistGradientBoosting" not in str(caught[0].message)
    assert "selector='random'" not in str(caught[0].message)
    with pytest.warns(UserWarning, match="HistGradientBoosting fits slowly"):
        _warn_if_not_faster(
            _report(selection_s=0.1, trial_fit_s=8.0), slow_weights=True
        )
    with pytest.warns(UserWarning) as caught:
        _warn_if_not_faster(_report(), random=True)
    assert "selector='random'" not in str(caught[0].message)
    # The user's own weights made the fits slow: no selector fits without
    # them (a second review).
    with pytest.warns(UserWarning) as caught:
        _warn_if_not_faster(
            _report(selection_s=0.1, trial_fit_s=8.0), random=True, user_weights=True
        )
    message = str(caught[0].message)
    assert "fit's sample_weight weights every one of its fits" in message
    assert "selector=" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_not_faster(_report(full_search_estimate_s=8.0))  # not clearly
        _warn_if_not_faster(_report(selection_s=0.0))  # 2 s: too short to tell
        _warn_if_not_faster(_report(full_search_estimate_s=None))  # no estimate
        # A finished study resumed: no trial ran, the estimate is 0 s.
        _warn_if_not_faster(_report(n_trials=0, full_search_estimate_s=0.0))
        # A net selects inside its fits, whose seconds already hold it: 4 s
        # of fits with 3 of selection in them, against an estimate of 3.5 s.
        net = _report(selection_s=3.0, trial_fit_s=4.0, trial_score_s=0.0,
                      rescore_s=0.0, full_search_estimate_s=3.5)  # fmt: skip
        _warn_if_not_faster(net, selection_in_fits=True)
    with pytest.warns(UserWarning, match="spent 7 s"):
        _warn_if_not_faster(net)  # counted twice, it would warn


def test_only_subset_searches_warn_that_they_were_not_faster(data, monkeypatch):
    import subsetml.model_selection._search as search_module

    monkeypatch.setattr(search_module, "_NOT_FASTER", np.inf)
    monkeypatch.setattr(search_module, "_NOT_FASTER_MIN_S", 0.0)
    with pytest.warns(UserWarning, match="This subset search spent"):
        _search(subset_size=0.2, n_iter=2).fit(*data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _search(subset_size=1.0, n_iter=2).fit(*data)


def test_fold_scoring_is_timed_on_part_of_the_first_test_fold(monkeypatch):
    from subsetml.model_selection._search import _time_fold_predictions

    X = np.arange(6000.0).reshape(3000, 2)
    seen = []

    class Model:
        def predict(self, X_part):
            seen.append((X_part.shape[0], X_part[0, 0]))
            ticks.append(ticks[-1] + 2.0)  # two seconds "spent" predicting

    ticks = [10.0]
    monkeypatch.setattr(
        "subsetml.model_selection._search.time.perf_counter", lambda: ticks[-1]
    )
    splits = [(np.arange(500), np.arange(500, 3000)), (np.arange(1), np.arange(2))]
    # 250 of the fold's 2,500 rows took 2 s: the fold takes 20 s.
    assert _time_fold_predictions(Model(), X, splits) == pytest.approx(20.0)
    assert seen == [(250, 1000.0)]
    monkeypatch.undo()

    class Failing:
        def predict(self, X_part):
            raise ValueError("cannot predict")

    assert _time_fold_predictions(Failing(), X, splits) is None
    assert _time_fold_predictions(object(), X, splits) is None  # no predict


# ------------------------------------------------------------ bad options
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"subset_size": ()}, ValueError, "empty"),
        ({"subset_size": (0.3, 0.1)}, ValueError, "must grow"),
        ({"subset_size": (0.3, 0.3)}, ValueError, "must grow"),
        ({"subset_size": (0.1, "0.5")}, TypeError, "sequence of them"),
        ({"subset_size": (100, 0.1)}, ValueError, "more rows than the one before"),
        ({"subset_size": (0.1, 400)}, ValueError, "more than the 300 rows"),
        ({"subset_size": 0.2, "pruner": "halving"}, ValueError, "needs rungs"),
        (
            {"subset_size": 0.2, "pruner": optuna.pruners.MedianPruner()},
            ValueError,
            "needs rungs",
        ),
        ({"pruner": "asha"}, ValueError, "Unknown pruner"),
        ({"pruner": 3}, ValueError, "Unknown pruner"),
        ({"score_size": 0}, ValueError, "at least 1 row"),
        ({"score_size": 1.5}, ValueError, r"\(0, 1\]"),
        ({"score_size": "half"}, ValueError, "proportional"),
        ({"score_size": b"half"}, TypeError, "score_size"),
        ({"rescore": -1}, ValueError, "rescore"),
        ({"rescore": True}, ValueError, "rescore"),
        ({"rescore": "all"}, ValueError, "rescore"),
    ],
)
def test_bad_fidelity_options_fail_before_any_trial(data, kwargs, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        _search(**kwargs).fit(X, y)


def test_rows_rounded_just_under_a_check_are_still_judged_at_their_rung():
    # (0.05, 0.15, 0.45) of a 250-row fold round up to 13, 38 and 113 rows,
    # just under successive halving's checks at 13 * 3 = 39 and 13 * 9 = 117:
    # trials went on to the next rung unjudged (and the pruner warned).
    X, y = make_classification(n_samples=500, n_features=8, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        search = _search(
            subset_size=(0.05, 0.15, 0.45, 1.0), n_iter=20, n_points=1
        ).fit(X, y)
    res = search.cv_results_
    rung, pruned = np.asarray(res["rung"]), np.asarray(res["pruned"])
    assert set(np.asarray(res["subset_size"])[rung == 1]) == {38}
    assert (pruned & (rung == 1)).any()  # judged at the rung they trained on
    steps = set()
    for t in search.studies_[0].get_trials():
        steps |= set(t.intermediate_values)
    assert steps <= {13, 39, 117}


@pytest.mark.parametrize("factor", [2, 3])
@pytest.mark.parametrize("seed", range(6))
def test_later_rounds_keep_the_rounds_ranking_against_earlier_scores(factor, seed):
    # Three rounds of 7 at one rung of Optuna's own pruner, each ordered with
    # the scores earlier rounds left there: a round's trials that go on are
    # always its best ones (never a worse trial on and a better one stopped).
    rng = np.random.default_rng(seed)
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=factor
        ),
    )
    earlier = []
    for _ in range(3):
        values = rng.random(7).round(3).tolist()
        trials = [study.ask() for _ in values]
        for trial, value in zip(trials, values):
            trial.report(value, 1)
        order = judging_order(values, factor, earlier)
        went_on = {i for i in order if not trials[i].should_prune()}
        ranked = np.argsort(values)[::-1].tolist()
        assert went_on == set(ranked[: len(went_on)])
        if not earlier:  # the first round: exactly its top share
            assert len(went_on) == max(1, len(values) // factor)
        earlier += values
        for trial in trials:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)


def test_judging_order_follows_a_worked_example_with_earlier_scores():
    # Round 1 left .95, .94, .93 and six .1 at the rung; round 2's .90, .89
    # and .88 are in the top 6 of the 18, so all three go on.
    values = [0.90, 0.89, 0.88] + [0.5] * 6
    order = judging_order(values, 3, earlier=[0.95, 0.94, 0.93] + [0.1] * 6)
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=3
        ),
    )
    for v in [0.95, 0.94, 0.93] + [0.1] * 6:
        t = study.ask()
        t.report(v, 1)
        t.should_prune()
        study.tell(t, state=optuna.trial.TrialState.PRUNED)
    trials = [study.ask() for _ in values]
    for trial, value in zip(trials, values):
        trial.report(value, 1)
    went_on = {i for i in order if not trials[i].should_prune()}
    assert went_on == {0, 1, 2}


def test_report_steps_moves_only_rounding_gaps():
    assert report_steps([938, 2813, 8438, 18750]) == [938, 2814, 8442, 18750]
    assert report_steps([10, 30, 90]) == [10, 30, 90]
    assert report_steps([10, 25, 90]) == [10, 25, 90]  # a real gap: warned
    assert report_steps([10, 31, 95]) == [10, 31, 95]  # past the check
    assert report_steps([7]) == [7]
    # Never onto or past the next rung's step.
    assert report_steps([10, 29, 30]) == [10, 29, 30]
    assert report_steps([100, 290, 295, 900]) == [100, 290, 295, 900]


def test_check_sizes_and_misaligned_halving_warns():
    assert check_sizes(0.05) == (0.05,)
    assert check_sizes([0.05, np.float64(0.2)]) == (0.05, 0.2)
    assert check_sizes((10, 0.5)) == (10, 0.5)  # a count then a fraction
    with pytest.warns(UserWarning, match="never stops a trial at rung"):
        make_pruner("halving", [10, 30, 40, 100])
    pruner = make_pruner("halving", [10, 30, 90, 200])
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(make_pruner("auto", [10]), optuna.pruners.NopPruner)


class FailsOnManyRows(ClassifierMixin, BaseEstimator):
    """Logistic regression that fails on more than ``limit`` rows when
    ``C > 1``."""

    def __init__(self, C=1.0, limit=200):
        self.C = C
        self.limit = limit

    def fit(self, X, y, sample_weight=None):
        if len(X) > self.limit and self.C > 1:
            raise RuntimeError("too many rows")
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


@pytest.mark.parametrize("error_score", [np.nan, 0.0])
def test_a_trial_whose_fits_fail_at_a_rung_stops_there(error_score):
    # With a numeric error_score the failure's score was reported to the
    # pruner as a result, and the trial climbed on to fail on more rows.
    X, y = make_classification(n_samples=900, n_features=6, random_state=0)
    search = SubsetSearchCV(
        FailsOnManyRows(limit=100), {"C": (0.01, 100.0, "log-uniform")}, n_iter=8,
        subset_size=(0.1, 0.3, 0.9), pruner=None, cv=3, random_state=0,
        error_score=error_score,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    # 600-row training folds: rung 0 fits 60 rows, rung 1 fails on 180 for
    # C > 1; the others climb to rung 2.
    big = np.array([p["C"] > 1 for p in search.cv_results_["params"]])
    assert big.any() and not big.all()
    rungs = np.asarray(search.cv_results_["rung"])
    assert np.all(rungs[big] == 1) and np.all(rungs[~big] == 2)
    steps = [sorted(t.intermediate_values) for t in search.studies_[0].trials]
    assert all(len(s) == 1 for s, b in zip(steps, big) if b)


def test_a_pruner_class_is_refused_for_its_instance():
    import optuna

    from subsetml.model_selection._fidelity import check_pruner

    with pytest.raises(ValueError, match=r"pass an instance: pruner=MedianPruner\(\)"):
        check_pruner(optuna.pruners.MedianPruner)


def test_the_gp_learns_from_pruned_trials_at_the_highest_rung_with_enough():
    # It learnt from finished trials only: under a pruner that stops most
    # of them it never left its random start (a review).
    import optuna

    from subsetml.model_selection._samplers import _observed_at_highest_level

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    for i in range(6):
        trial = study.ask({"x": dist})
        trial.report(0.1 * i, 10)
        if i < 2:
            trial.report(0.2 * i, 30)
            study.tell(trial, 0.3 * i)
        else:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    # Two finished (too few for 3), six at the first rung, two at the second.
    picked = _observed_at_highest_level(study, ["x"], 3)
    assert sorted(v for _, v in picked) == pytest.approx([0.1 * i for i in range(6)])
    assert _observed_at_highest_level(study, ["x"], 2) == [
        (t, 0.3 * t.number) for t in study.trials[:2]
    ]
    assert _observed_at_highest_level(study, ["x"], 7) is None


def test_the_gp_proposes_in_a_search_with_rungs():
    pytest.importorskip("skopt")
    import skopt

    X, y = make_classification(n_samples=600, n_features=8, random_state=0)
    asked = []
    ask = skopt.Optimizer.ask

    def counting_ask(self, *args, **kwargs):
        asked.append(1)
        return ask(self, *args, **kwargs)

    skopt.Optimizer.ask = counting_ask
    try:
        SubsetSearchCV(
            LogisticRegression(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=16,
            subset_size=(0.1, 0.3, 0.9), optimizer="gp", cv=2, random_state=0,
            optimizer_kwargs={"n_initial_points": 4},
        ).fit(X, y)  # fmt: skip
    finally:
        skopt.Optimizer.ask = ask
    assert len(asked) >= 6
