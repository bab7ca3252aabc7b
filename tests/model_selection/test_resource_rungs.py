"""SubsetSearchCV rungs of an estimator parameter (``resource="max_iter"``,
``"max_epochs"``, ...) instead of rows (issue 14, item 1)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subsetml.model_selection import SubsetSearchCV
from subsetml.model_selection._fidelity import check_resource

optuna = pytest.importorskip("optuna")

SPACE = {"alpha": (1e-6, 1e-1, "log-uniform")}
VALUES = (1, 3, 9)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=400, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def _sgd():
    # tol=None: every fit runs exactly max_iter epochs (no early stop).
    return SGDClassifier(tol=None, random_state=0)


def _search(space=SPACE, **kwargs):
    params = dict(
        n_iter=10,
        subset_size=1.0,
        cv=2,
        random_state=0,
        resource="max_iter",
        resource_rungs=VALUES,
    )
    params.update(kwargs)
    return SubsetSearchCV(_sgd(), space, **params)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_each_rung_sets_the_resource_and_scores_like_a_plain_fit(data):
    X, y = data
    search = _search(pruner=None, n_iter=4).fit(X, y)
    res = search.cv_results_
    # Without a pruner every trial climbs to the last rung.
    assert list(res["rung"]) == [2] * 4
    assert list(res["param_max_iter"]) == [9] * 4
    for params, score in zip(res["params"], res["mean_test_score"]):
        assert params["max_iter"] == 9
        # The score is the trial's configuration fitted with max_iter=9 on
        # the same folds, from scratch.
        plain = clone(_sgd()).set_params(**params)
        expected = cross_val_score(plain, X, y, cv=StratifiedKFold(2)).mean()
        assert score == pytest.approx(expected)
    # Optuna saw the lower rungs at steps equal to the resource's values.
    trial = search.studies_[0].get_trials()[0]
    assert set(trial.intermediate_values) == {1, 3}
    # The refit uses the value the best trial was scored at.
    assert search.best_params_["max_iter"] == 9
    assert search.best_estimator_.max_iter == 9
    assert search.best_estimator_.n_iter_ == 9
    assert search.compute_report_["fits"] == 4 * 3 * 2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pruned_trials_report_the_value_of_their_last_rung(data):
    X, y = data
    search = _search(n_iter=12).fit(X, y)
    res = search.cv_results_
    rung = np.asarray(res["rung"])
    pruned = np.asarray(res["pruned"])
    assert pruned.any()
    values = np.asarray(res["param_max_iter"], dtype=int)
    np.testing.assert_array_equal(values, np.asarray(VALUES)[rung])
    # Trials of the highest rung rank first; the best is one of them.
    assert rung[search.best_index_] == rung.max()
    assert res["rank_test_score"][search.best_index_] == 1
    # Every rung trains on all rows of the folds.
    assert set(np.asarray(res["subset_size"])) == {200}
    # Only the last rung's fits are full-data fits for the cost estimate:
    # lower rungs run fewer iterations.
    report = search.compute_report_
    assert report["full_search_estimate_basis"].startswith("mean")
    assert report["n_pruned"] == pruned.sum()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_resource_rungs_share_one_subset_and_rescore_at_the_top_value(data):
    X, y = data
    search = _search(
        subset_size=0.25, selector="random", rescore=2, pruner=None, n_iter=4
    ).fit(X, y)
    res = search.cv_results_
    # All rungs train on the same rows, selected once per split.
    first = search.rung_subsets_[0]
    assert len(search.rung_subsets_) == 3
    for rung in search.rung_subsets_[1:]:
        for a, b in zip(first, rung):
            np.testing.assert_array_equal(a.indices, b.indices)
    # Selection is counted once, not once per rung.
    sel = np.asarray(res["selection_time"], dtype=float)
    assert search.selection_time_ == pytest.approx(sel[0] * 2)
    # The two best are re-scored on whole folds, at the last value.
    rescored = np.flatnonzero(np.asarray(res["rung"]) == 3)
    assert len(rescored) == 2
    assert set(np.asarray(res["subset_size"])[rescored]) == {200}
    assert all(res["params"][i]["max_iter"] == 9 for i in rescored)
    assert search.best_index_ in rescored


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_pipeline_step_parameter_as_resource(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), _sgd())
    search = SubsetSearchCV(
        pipe,
        {"sgdclassifier__alpha": (1e-6, 1e-1, "log-uniform")},
        n_iter=6,
        subset_size=1.0,
        cv=2,
        random_state=0,
        resource="sgdclassifier__max_iter",
        resource_rungs=(2, 6),
    ).fit(X, y)
    assert search.best_params_["sgdclassifier__max_iter"] == 6
    assert search.best_estimator_[-1].n_iter_ == 6


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"resource": "epochs"}, ValueError, "not a parameter of SGDClassifier"),
        ({"resource": 3}, TypeError, "name of an estimator parameter"),
        ({"resource": ""}, TypeError, "name of an estimator parameter"),
        ({"resource_rungs": None}, ValueError, "needs resource_rungs"),
        ({"resource": "n_samples"}, ValueError, "rungs of rows are given by"),
        ({"resource_rungs": ()}, ValueError, "empty"),
        ({"resource_rungs": (3, 3)}, ValueError, "must grow"),
        ({"resource_rungs": (9, 3)}, ValueError, "must grow"),
        ({"resource_rungs": (0, 3)}, ValueError, ">= 1"),
        ({"resource_rungs": (1.5, 3)}, TypeError, "integers"),
        ({"resource_rungs": (True, 3)}, TypeError, "integers"),
        ({"resource_rungs": "1,3"}, TypeError, "integers"),
        ({"subset_size": (0.2, 1.0)}, ValueError, "must be one size"),
        ({"resource_rungs": 9, "pruner": "halving"}, ValueError, "needs rungs"),
    ],
)
def test_bad_resource_options_fail_before_any_trial(data, kwargs, error, match):
    X, y = data
    search = _search(**kwargs)
    with pytest.raises(error, match=match):
        search.fit(X, y)
    assert not hasattr(search, "cv_results_")


def test_a_searched_resource_is_refused(data):
    X, y = data
    search = _search({**SPACE, "max_iter": [5, 10]})
    with pytest.raises(ValueError, match="also a search space dimension"):
        search.fit(X, y)


def test_check_resource_and_the_pruner_warning():
    assert check_resource("n_samples", None, (0.05,)) is None
    assert check_resource("max_epochs", [2, np.int64(6)], (1.0,)) == (2, 6)
    assert check_resource("max_epochs", 4, (1.0,)) == (4,)
    assert check_resource("max_epochs", range(1, 4), (1.0,)) == (1, 2, 3)
    assert check_resource("max_epochs", np.array([3, 9]), (1.0,)) == (3, 9)
    from subsetml.model_selection._fidelity import make_pruner

    with pytest.warns(UserWarning, match=r"max_epochs rungs of \[2, 6, 10, 54\] steps"):
        make_pruner("halving", [2, 6, 10, 54], what="max_epochs rungs", unit="steps")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_resumed_study_accepts_the_same_rungs_in_any_sequence(data, tmp_path):
    X, y = data
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    _search(n_iter=3, storage=storage).fit(X, y)
    again = _search(n_iter=5, storage=storage, resource_rungs=list(VALUES)).fit(X, y)
    assert len(again.cv_results_["params"]) == 5
    with pytest.raises(ValueError, match="resource or resource_rungs"):
        _search(n_iter=6, storage=storage, resource_rungs=(1, 3, 27)).fit(X, y)


# --- scikit-learn ensembles go on from the rung below (warm_start) ---------


def _hgb(**kwargs):
    from sklearn.ensemble import HistGradientBoostingClassifier

    # No early stopping: every fit runs exactly max_iter rounds.
    return HistGradientBoostingClassifier(
        early_stopping=False, max_leaf_nodes=8, random_state=0, **kwargs
    )


HGB_SPACE = {"learning_rate": (0.01, 0.5, "log-uniform")}


@pytest.fixture
def fit_more_calls(monkeypatch):
    """Every call of the warm-start continuation, as (estimator, n_rows)."""
    from subsetml.model_selection import _trials

    calls = []
    original = _trials.fit_more

    def spy(estimator, X, y, **kwargs):
        calls.append((type(estimator).__name__, estimator.get_params(), len(y)))
        return original(estimator, X, y, **kwargs)

    monkeypatch.setattr(_trials, "fit_more", spy)
    return calls


def test_boosting_rounds_go_on_from_the_rung_below(data, fit_more_calls):
    X, y = data
    search = SubsetSearchCV(
        _hgb(), HGB_SPACE, n_iter=3, subset_size=1.0, cv=2, random_state=0,
        resource="max_iter", resource_rungs=(5, 15), pruner=None,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    # Every trial climbs (no pruner): one continuation per trial and split,
    # on the fold's rows, to the top value with warm_start on for that fit.
    assert len(fit_more_calls) == 3 * 2
    for name, params, rows in fit_more_calls:
        assert name == "HistGradientBoostingClassifier"
        assert params["max_iter"] == 15 and params["warm_start"] is False
        assert rows == 200
    # 5 + 10 rounds score what 15 rounds from the start score.
    for params, score in zip(res["params"], res["mean_test_score"]):
        plain = _hgb().set_params(**params)
        expected = cross_val_score(plain, X, y, cv=StratifiedKFold(2)).mean()
        assert score == pytest.approx(expected)
    assert search.best_estimator_.n_iter_ == 15
    assert search.best_estimator_.warm_start is False


def test_ensemble_members_in_a_pipeline_go_on_from_the_rung_below(data, fit_more_calls):
    from sklearn.ensemble import RandomForestClassifier

    X, y = data
    pipe = make_pipeline(
        StandardScaler(), RandomForestClassifier(max_depth=4, random_state=0)
    )
    search = SubsetSearchCV(
        pipe, {"randomforestclassifier__min_samples_leaf": (1, 20)}, n_iter=2,
        subset_size=1.0, cv=2, random_state=0, pruner=None,
        resource="randomforestclassifier__n_estimators", resource_rungs=(4, 12),
    ).fit(X, y)  # fmt: skip
    assert [name for name, _, _ in fit_more_calls] == ["RandomForestClassifier"] * 4
    assert {params["n_estimators"] for _, params, _ in fit_more_calls} == {12}
    assert len(search.best_estimator_[-1].estimators_) == 12


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_other_resources_and_subset_rungs_fit_afresh(data, fit_more_calls):
    X, y = data
    # SGD's warm_start only initialises the next fit: no continuation.
    _search(n_iter=3, pruner=None).fit(X, y)
    # A parameter warm_start does not grow.
    SubsetSearchCV(
        _hgb(max_iter=10), {"learning_rate": (0.01, 0.5, "log-uniform")},
        n_iter=2, subset_size=1.0, cv=2, random_state=0, pruner=None,
        resource="max_leaf_nodes", resource_rungs=(4, 8),
    ).fit(X, y)  # fmt: skip
    # Rungs on a subset of rows.
    SubsetSearchCV(
        _hgb(), HGB_SPACE, n_iter=2, subset_size=0.5, selector="random", cv=2,
        random_state=0, pruner=None, rescore=0, resource="max_iter",
        resource_rungs=(5, 15),
    ).fit(X, y)  # fmt: skip
    assert fit_more_calls == []


def test_warm_param_and_fit_more():
    from sklearn.ensemble import (
        BaggingClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    from sklearn.neural_network import MLPClassifier

    from subsetml.model_selection._warm import fit_more, warm_param

    assert warm_param(_hgb()) == "max_iter"
    assert warm_param(HistGradientBoostingRegressor()) == "max_iter"
    assert warm_param(GradientBoostingClassifier()) == "n_estimators"
    assert warm_param(ExtraTreesRegressor()) == "n_estimators"
    assert warm_param(MLPClassifier()) is None
    assert warm_param(_sgd()) is None
    # Continued fits that would not be fits from the start: fit afresh.
    assert warm_param(GradientBoostingClassifier(n_iter_no_change=3)) is None
    assert warm_param(BaggingClassifier(oob_score=True)) is None
    assert warm_param(BaggingClassifier()) == "n_estimators"
    X, y = make_classification(n_samples=120, random_state=0)
    est = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, y)
    fit_more(est.set_params(n_estimators=7), X, y)
    assert est.n_estimators_ == 7 and est.warm_start is False


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")
@pytest.mark.parametrize("kind", ["gradient_boosting", "bagging"])
def test_a_searched_parameter_that_rules_out_warm_start_fits_afresh(data, kind):
    # The search goes on from the rung below when the estimator as given
    # allows it; a trial's own n_iter_no_change (a continued fit starts its
    # validation history again) or oob_score (which scikit-learn refuses to
    # warm-start: every trial failed) must fit from the start.
    from sklearn.ensemble import BaggingClassifier, GradientBoostingClassifier

    X, y = data
    if kind == "gradient_boosting":
        est = GradientBoostingClassifier(max_depth=2, random_state=0, tol=0.1)
        space = {"n_iter_no_change": [2], "learning_rate": (0.1, 0.5, "log-uniform")}
        rungs = (4, 40)
    else:
        est = BaggingClassifier(random_state=0)
        space = {"oob_score": [True], "max_samples": (0.5, 1.0)}
        rungs = (3, 6)
    search = SubsetSearchCV(
        est, space, n_iter=2, subset_size=1.0, cv=2, random_state=0, pruner=None,
        resource="n_estimators", resource_rungs=rungs,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    for params, score in zip(res["params"], res["mean_test_score"]):
        plain = clone(est).set_params(**params)
        expected = cross_val_score(plain, X, y, cv=StratifiedKFold(2)).mean()
        assert score == pytest.approx(expected)


@pytest.mark.parametrize("stops_at_first_rung", [True, False])
def test_early_stopped_boosting_scores_what_a_fit_from_the_start_scores(
    data, fit_more_calls, stops_at_first_rung
):
    # With early stopping a continued fit keeps the validation history, and
    # a fit that stopped at the rung below adds nothing: the top rung scores
    # what a fresh fit at the top value scores either way.
    X, y = data
    hgb = _hgb().set_params(
        early_stopping=True, n_iter_no_change=2, validation_fraction=0.25
    )
    rungs = (40, 120) if stops_at_first_rung else (3, 120)
    search = SubsetSearchCV(
        hgb, {"learning_rate": (0.3, 0.9, "log-uniform")}, n_iter=3,
        subset_size=1.0, cv=2, random_state=0, pruner=None, resource="max_iter",
        resource_rungs=rungs,
    ).fit(X, y)  # fmt: skip
    res = search.cv_results_
    for params, score in zip(res["params"], res["mean_test_score"]):
        plain = clone(hgb).set_params(**params)
        expected = cross_val_score(plain, X, y, cv=StratifiedKFold(2)).mean()
        assert score == pytest.approx(expected)
    assert (len(fit_more_calls) == 0) == stops_at_first_rung
