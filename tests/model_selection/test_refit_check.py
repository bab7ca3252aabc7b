"""``refit_check``: a refit that collapses on all rows gives way to the next
best configuration (issue 14's "0 collapsed refits")."""

import math
import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.datasets import (
    load_digits,
    make_multilabel_classification,
    make_regression,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, get_scorer, make_scorer
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subsetml.model_selection import SubsetSearchCV
from subsetml.model_selection._refit import (
    CHECK_ROWS,
    RefitCheck,
    check_refit_check,
    fallback_order,
)


def collapse_verdict(estimator, scorer, X, y, cv_score, classifier, seed):
    return RefitCheck(scorer, X, y, classifier, seed).verdict(estimator, cv_score)


# Two-value lists are searched as choices, which is what these tests want.
pytestmark = pytest.mark.filterwarnings("ignore:search_spaces.*two choices")


class FragileClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that predicts one class when ``C >= 1`` and it is
    fitted on more than ``limit`` rows: fine on every CV fold, collapsed on
    all rows, as a net at the edge of stability can be."""

    def __init__(self, C=1.0, limit=None):
        self.C = C
        self.limit = limit

    def fit(self, X, y):
        self.model_ = LogisticRegression(C=self.C, max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        self.collapsed_ = self.limit is not None and self.C >= 1 and len(X) > self.limit
        return self

    def predict(self, X):
        if self.collapsed_:
            return np.full(len(X), self.classes_[0])
        return self.model_.predict(X)

    def predict_proba(self, X):
        if self.collapsed_:
            return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))
        return self.model_.predict_proba(X)


class BrittleClassifier(FragileClassifier):
    """Like ``FragileClassifier``, and with ``C == 0.3`` on more than
    ``limit`` rows its fit raises (``how="fit"``) or its predictions do
    (``how="predict"``)."""

    def __init__(self, C=1.0, limit=None, how="fit"):
        super().__init__(C=C, limit=limit)
        self.how = how

    def _breaks(self, n):
        return self.limit is not None and self.C == 0.3 and n > self.limit

    def fit(self, X, y):
        if self.how == "fit" and self._breaks(len(X)):
            raise MemoryError("out of memory on all rows")
        super().fit(X, y)
        self.n_fit_ = len(X)
        self.collapsed_ = self.collapsed_ and self.C != 0.3
        return self

    def predict(self, X):
        if self.how == "predict" and self._breaks(self.n_fit_):
            raise RuntimeError("cannot predict")
        return super().predict(X)


class FragileRegressor(RegressorMixin, BaseEstimator):
    """Ridge that predicts zeros when ``alpha < 1`` on more than ``limit`` rows."""

    def __init__(self, alpha=1.0, limit=None):
        self.alpha = alpha
        self.limit = limit

    def fit(self, X, y):
        self.model_ = Ridge(alpha=self.alpha).fit(X, y)
        self.collapsed_ = (
            self.limit is not None and self.alpha < 1 and len(X) > self.limit
        )
        return self

    def predict(self, X):
        return np.zeros(len(X)) if self.collapsed_ else self.model_.predict(X)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _search(estimator, space, **kwargs):
    options = dict(n_iter=6, cv=3, subset_size=1.0, optimizer="random", random_state=0)
    return SubsetSearchCV(estimator, space, **{**options, **kwargs})


def test_a_collapsed_refit_gives_way_to_the_next_configuration(digits):
    X, y = digits
    space = {"C": [1.0, 0.001]}  # C=1 wins on folds, collapses on all rows
    search = _search(FragileClassifier(limit=1500), space, refit_check=True)
    with pytest.warns(UserWarning, match="collapsed on all rows") as record:
        search.fit(X, y)
    (message,) = [str(w.message) for w in record if "collapsed" in str(w.message)]
    assert "next configuration whose refit did not collapse" in message
    assert search.best_params_ == {"C": 0.001}
    assert not search.best_estimator_.collapsed_
    assert search.best_index_ == search.cv_results_["params"].index({"C": 0.001})
    assert search.best_score_ == pytest.approx(
        search.cv_results_["mean_test_score"][search.best_index_]
    )
    # The collapsed one is reported, with what the check measured.
    (bad,) = search.collapsed_refits_
    assert bad["params"] == {"C": 1.0}
    assert search.cv_results_["params"][bad["index"]] == {"C": 1.0}
    assert bad["n_rows"] == min(CHECK_ROWS, len(y))
    assert bad["collapsed"]
    assert bad["chance_score"] == pytest.approx(np.bincount(y).max() / len(y), abs=0.01)
    assert bad["train_score"] < bad["chance_score"] + 0.5 * (
        bad["cv_score"] - bad["chance_score"]
    )
    assert bad["cv_score"] > 0.9
    assert search.compute_report_["n_collapsed_refits"] == 1
    # Without the check, the best configuration is kept as it is.
    plain = clone(search).set_params(refit_check=False).fit(X, y)
    assert plain.best_params_ == {"C": 1.0}
    assert plain.best_estimator_.collapsed_
    assert plain.collapsed_refits_ == []
    assert plain.compute_report_["n_collapsed_refits"] == 0


def test_the_test_estimator_collapses_only_on_all_rows(digits):
    # The premise of the test above: on the folds C=1 is the better one.
    X, y = digits
    search = _search(FragileClassifier(limit=1500), {"C": [1.0, 0.001]})
    search.set_params(refit=False).fit(X, y)
    scores = dict(
        zip(
            [p["C"] for p in search.cv_results_["params"]],
            search.cv_results_["mean_test_score"],
        )
    )
    assert scores[1.0] > scores[0.001] + 0.05


def test_when_every_refit_collapses_the_best_is_kept_and_the_warning_says_so(digits):
    X, y = digits
    space = {"C": [1.0, 3.0, 10.0, 0.001]}
    search = _search(FragileClassifier(limit=1500), space, n_iter=12, refit_check=True)
    with pytest.warns(UserWarning, match="collapsed refit of the best"):
        search.fit(X, y)
    # The best and at most two next ones were refit; none of them held.
    assert len(search.collapsed_refits_) == 3
    assert [c["index"] for c in search.collapsed_refits_][0] == search.best_index_
    assert search.best_params_["C"] >= 1
    assert search.best_estimator_.collapsed_
    assert search.compute_report_["n_collapsed_refits"] == 3


def test_regression_and_a_multimetric_refit_are_checked_with_their_metric():
    X, y = make_regression(n_samples=600, n_features=8, noise=5.0, random_state=0)
    space = {"alpha": [0.01, 100.0]}  # the small alpha wins, then collapses
    search = _search(
        FragileRegressor(limit=450),
        space,
        scoring={"r2": "r2", "mae": "neg_mean_absolute_error"},
        refit="mae",
        refit_check=True,
    )
    with pytest.warns(UserWarning, match="collapsed on all rows"):
        search.fit(X, y)
    assert search.best_params_ == {"alpha": 100.0}
    (bad,) = search.collapsed_refits_
    assert bad["params"] == {"alpha": 0.01}
    # Scored with the refit metric: the mean absolute error of zeros.
    assert bad["train_score"] == pytest.approx(-np.mean(np.abs(y)), rel=0.1)


def test_auto_checks_nets_only(digits):
    X, y = digits
    space = {"C": [1.0, 0.001]}
    search = _search(FragileClassifier(limit=1500), space)
    assert search.refit_check == "auto"
    search.fit(X, y)  # no warning: "auto" leaves a plain estimator alone
    assert search.best_estimator_.collapsed_
    assert search.collapsed_refits_ == []
    skorch = pytest.importorskip("skorch")
    torch = pytest.importorskip("torch")
    net = skorch.NeuralNetClassifier(torch.nn.Linear(4, 2), max_epochs=1)
    assert SubsetSearchCV(net, {"lr": [0.1]})._refit_check_on()
    pipe = make_pipeline(StandardScaler(), net)
    assert SubsetSearchCV(pipe, {"neuralnetclassifier__lr": [0.1]})._refit_check_on()
    assert not SubsetSearchCV(LogisticRegression(), {"C": [1.0]})._refit_check_on()


def test_a_callable_refit_is_not_checked(digits):
    X, y = digits
    space = {"C": [1.0, 0.001]}

    def best_c(results):
        return results["params"].index({"C": 1.0})

    search = _search(
        FragileClassifier(limit=1500), space, refit=best_c, refit_check=True
    ).fit(X, y)
    assert search.best_params_ == {"C": 1.0}
    assert search.collapsed_refits_ == []


def test_a_healthy_refit_is_fitted_once(digits):
    X, y = digits
    calls = []

    class Counting(FragileClassifier):
        def fit(self, X, y):
            calls.append(len(X))
            return super().fit(X, y)

    search = _search(Counting(), {"C": [1.0, 0.001]}, refit_check=True).fit(X, y)
    assert search.collapsed_refits_ == []
    assert calls.count(len(y)) == 1  # the refit, not repeated


class HalfBroken(ClassifierMixin, BaseEstimator):
    """``mode="good"``: logistic regression that loses most of its accuracy
    on more than 1,500 rows; ``mode="const"``: one class, always."""

    def __init__(self, mode="good"):
        self.mode = mode

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        self.degraded_ = len(X) > 1500
        return self

    def predict(self, X):
        if self.mode == "const":
            return np.full(len(X), self.classes_[0])
        pred = self.model_.predict(X)
        if self.degraded_:
            pred = pred.copy()
            pred[: int(0.55 * len(X))] = self.classes_[0]
        return pred


def test_a_configuration_no_better_than_chance_never_replaces_the_best(digits):
    # The best collapses; the only other one predicts a constant, which the
    # check cannot judge: it is not refit, and the best's refit is kept.
    X, y = digits
    fits = []

    class Counting(HalfBroken):
        def fit(self, X, y):
            fits.append((self.mode, len(X)))
            return super().fit(X, y)

    search = _search(Counting(), {"mode": ["good", "const"]}, refit_check=True)
    with pytest.warns(UserWarning, match="no other configuration's refit passed"):
        search.fit(X, y)
    assert search.best_params_ == {"mode": "good"}
    assert ("const", len(y)) not in fits
    assert [c["params"] for c in search.collapsed_refits_] == [{"mode": "good"}]


def test_multilabel_targets_are_checked_without_stratifying():
    X, Y = make_multilabel_classification(n_samples=2500, n_classes=3, random_state=0)
    search = _search(
        KNeighborsClassifier(), {"n_neighbors": [3, 15]}, refit_check=True
    ).fit(X, Y)
    assert search.collapsed_refits_ == []
    check = RefitCheck(get_scorer("accuracy"), X, Y, True, 0)
    assert check.n_rows == CHECK_ROWS and check.chance is not None


def test_routed_sample_weights_weigh_the_check_as_they_weighed_the_scores():
    # 80 % of the rows have coin-flip labels and weight 1; the clean rows
    # weigh 100. Unweighted, the healthy refit would look collapsed.
    rng = np.random.RandomState(0)
    n = 3000
    X = rng.randn(n, 2)
    y = (X[:, 0] > 0).astype(int)
    noisy = rng.rand(n) < 0.8
    y[noisy] = rng.randint(0, 2, noisy.sum())
    weight = np.where(noisy, 1.0, 100.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = LogisticRegression().set_fit_request(sample_weight=True)
        acc = make_scorer(accuracy_score).set_score_request(sample_weight=True)
        search = _search(
            est, {"C": [1.0, 0.1, 1e-3]}, scoring=acc, refit_check=True, n_iter=4
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            search.fit(X, y, sample_weight=weight)
        assert search.collapsed_refits_ == []
        check = RefitCheck(acc, X, y, True, 0, {"sample_weight": weight})
        verdict = check.verdict(search.best_estimator_, search.best_score_)
        assert verdict["train_score"] > 0.9 and not verdict["collapsed"]
        unweighted = RefitCheck(acc, X, y, True, 0).verdict(
            search.best_estimator_, search.best_score_
        )
        assert unweighted["collapsed"]  # what the weights are needed for


def test_the_report_is_reset_by_a_fit_without_refit(digits):
    X, y = digits
    search = _search(
        FragileClassifier(limit=1500), {"C": [1.0, 0.001]}, refit_check=True
    )
    with pytest.warns(UserWarning, match="collapsed"):
        search.fit(X, y)
    assert search.compute_report_["n_collapsed_refits"] == 1
    search.set_params(refit=False).fit(X, y)
    assert search.collapsed_refits_ == []
    assert search.compute_report_["n_collapsed_refits"] == 0


@pytest.mark.parametrize("value", ["yes", 1, 0, None, "Auto"])
def test_bad_refit_check_values_are_refused(digits, value):
    X, y = digits
    search = _search(LogisticRegression(), {"C": [1.0]}, refit_check=value)
    with pytest.raises(ValueError, match="refit_check must be 'auto', True or False"):
        search.fit(X, y)


def test_check_refit_check_accepts_numpy_bools():
    assert check_refit_check(np.bool_(True)) is True
    assert check_refit_check("auto") == "auto"


# ------------------------------------------------------------ the verdict
def _fitted(X, y, C=1.0, limit=None):
    return FragileClassifier(C=C, limit=limit).fit(X, y)


def test_verdict_of_a_healthy_and_a_collapsed_fit(digits):
    X, y = digits
    acc = get_scorer("accuracy")
    good = collapse_verdict(_fitted(X, y), acc, X, y, 0.95, True, 0)
    assert not good["collapsed"] and good["train_score"] > 0.95
    bad = collapse_verdict(_fitted(X, y, limit=10), acc, X, y, 0.95, True, 0)
    assert bad["collapsed"] and bad["train_score"] < 0.2


def test_verdict_reads_dataframes_and_probabilities(digits):
    X, y = digits
    frame = pd.DataFrame(X).add_prefix("px")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    model.fit(frame, y)
    verdict = collapse_verdict(
        model, get_scorer("neg_log_loss"), frame, y, -0.2, True, 0
    )
    assert verdict is not None and not verdict["collapsed"]
    assert verdict["chance_score"] == pytest.approx(-math.log(10), abs=0.01)


def test_verdict_skips_what_it_cannot_judge(digits):
    X, y = digits
    acc = get_scorer("accuracy")
    model = _fitted(X, y)
    # No target, no gain over a constant, a NaN score, a failing scorer.
    assert collapse_verdict(model, acc, X, None, 0.95, True, 0) is None
    assert collapse_verdict(model, acc, X, y, 0.05, True, 0) is None
    assert collapse_verdict(model, acc, X, y, float("nan"), True, 0) is None

    def broken(estimator, X, y):
        raise RuntimeError("no")

    assert collapse_verdict(model, broken, X, y, 0.95, True, 0) is None

    def several(estimator, X, y):
        return {"a": 1.0}

    assert collapse_verdict(model, several, X, y, 0.95, True, 0) is None


def test_verdict_counts_a_non_finite_score_as_collapsed(digits):
    X, y = digits

    def nan_for_the_model(estimator, X, y):
        return 0.1 if hasattr(estimator, "strategy") else float("nan")

    verdict = collapse_verdict(_fitted(X, y), nan_for_the_model, X, y, 0.9, True, 0)
    assert verdict["collapsed"]


def test_verdict_samples_rows_stratified(digits):
    X, y = digits
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y])  # 3,594 rows
    seen = []

    def spy(estimator, Xs, ys):
        seen.append(np.bincount(ys, minlength=10))
        return 0.5

    collapse_verdict(_fitted(X, y), spy, X2, y2, 0.9, True, 0)
    counts = seen[0]
    assert counts.sum() == CHECK_ROWS
    share = np.bincount(y2) / len(y2) * CHECK_ROWS
    assert np.all(np.abs(counts - share) <= 1)


# ------------------------------------------------------------ fallbacks
def test_fallback_order_skips_duplicates_and_nan():
    results = {
        "params": [{"a": 1}, {"a": 2}, {"a": 1}, {"a": 3}, {"a": 4}, {"a": 5}],
        "mean_test_score": np.array([0.9, 0.8, 0.85, np.nan, 0.7, 0.95]),
        "rank_test_score": np.array([1, 3, 2, 6, 4, 5]),
    }
    # After the best (0): not its duplicate (2), not NaN (3).
    assert fallback_order(results, "score", 0) == [1, 4]


def test_fallback_order_goes_down_the_rungs_when_the_best_is_alone():
    # Epochs as the resource: one trial reached the last rung (2); the next
    # ones come from rung 1 by rank (which orders rungs first), not by their
    # raw scores, and 0.95 on rung 0 does not jump the queue.
    results = {
        "params": [{"a": i} for i in range(5)],
        "mean_test_score": np.array([0.9, 0.6, 0.7, 0.95, 0.5]),
        "rank_test_score": np.array([1, 3, 2, 4, 5]),
        "rung": np.array([2, 1, 1, 0, 0]),
    }
    assert fallback_order(results, "score", 0) == [2, 1]


def test_fallback_order_skips_what_the_check_cannot_judge():
    # Found in the nets benchmark: the two other re-scored configurations
    # were at chance on whole folds; they used up both fallbacks, and the
    # rung below, which held judgeable ones, was never reached.
    results = {
        "params": [{"a": i} for i in range(5)],
        "mean_test_score": np.array([0.56, 0.1, 0.1, 0.32, 0.31]),
        "rank_test_score": np.array([1, 2, 2, 4, 5]),
        "rung": np.array([3, 3, 3, 2, 2]),
    }
    assert fallback_order(results, "score", 0) == [1, 2]
    scores = results["mean_test_score"]
    assert fallback_order(results, "score", 0, lambda i: scores[i] > 0.1) == [3, 4]


def _check_with_chance(chance):
    check = RefitCheck(None, None, None, True, 0)
    check.chance = chance
    return check


def test_steady_asks_every_fold_to_keep_half_the_gain_of_the_best_fold():
    # Chance 0.1. Row 0: folds 0.9 and 0.8, steady. Row 1: 0.95 and 0.3
    # (mean 0.625 beats the constant, but one fold kept 0.2 of a 0.85
    # gain). Row 2: 0.5 and 0.35 (a gain of 0.25, over half of 0.4).
    # Row 3: at chance on average. Row 4: a NaN fold.
    results = {
        "mean_test_score": np.array([0.85, 0.625, 0.425, 0.1, np.nan]),
        "split0_test_score": np.array([0.9, 0.95, 0.5, 0.1, 0.9]),
        "split1_test_score": np.array([0.8, 0.3, 0.35, 0.1, np.nan]),
    }
    check = _check_with_chance(0.1)
    assert [check.steady(results, "score", i) for i in range(5)] == [
        True,
        False,
        True,
        False,
        False,
    ]
    # Without per-fold scores, the mean decides (as judges does).
    means = {"mean_test_score": results["mean_test_score"]}
    assert [check.steady(means, "score", i) for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    # Without a constant's score nothing is steady.
    assert not _check_with_chance(None).steady(results, "score", 0)


def test_a_lone_collapsed_top_rung_gives_way_to_a_lower_rung(digits):
    # Halving over subset rungs: one trial (C >= 1) reaches the last rung and
    # collapses on all rows; the next configurations come from the rungs
    # below, as they were scored there.
    X, y = digits
    search = _search(
        FragileClassifier(limit=1500),
        {"C": (0.001, 10.0, "log-uniform")},
        refit_check=True,
        subset_size=(0.1, 0.3, 1.0),
        pruner="halving",
        random_state=14,
    )
    with pytest.warns(UserWarning, match="collapsed on all rows"):
        search.fit(X, y)
    # How many trials climb to the last rung depends on the subsets' picks
    # (one or two in runs of this seed; with seed 3 before the one-shot view
    # tamed extreme values, one): those that collapse give way, and so do
    # configurations of lower rungs that collapse in turn.
    rungs = np.asarray(search.cv_results_["rung"])
    top = set(np.flatnonzero(rungs == rungs.max()).tolist())
    assert search.collapsed_refits_
    assert all(bad["params"]["C"] >= 1 for bad in search.collapsed_refits_)
    assert {bad["index"] for bad in search.collapsed_refits_} & top
    assert search.best_params_["C"] < 1
    assert not search.best_estimator_.collapsed_
    assert search.best_index_ not in {bad["index"] for bad in search.collapsed_refits_}


class DialClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression whose predictions are right on a ``level`` share
    of the rows (a fixed hash of each row) and class 0 elsewhere: the share
    is that of ``config`` on CV folds, a lower one on more than ``limit``
    rows."""

    LEVELS = {"a": (0.95, 0.3), "b": (0.4, 0.25)}

    def __init__(self, config="a", limit=1500):
        self.config = config
        self.limit = limit

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        folds, all_rows = self.LEVELS[self.config]
        self.level_ = all_rows if len(X) > self.limit else folds
        return self

    def predict(self, X):
        keep = np.abs(np.sin(X.sum(axis=1) * 1e3)) < self.level_
        return np.where(keep, self.model_.predict(X), self.classes_[0])


def test_a_replacement_must_beat_the_collapsed_refit_on_the_check_rows(digits):
    """Found in review: a configuration that promised little (a lower rung,
    or a poor one) passes a lower bar, and could replace a collapsed refit
    that still scored better on the same rows."""
    X, y = digits
    search = _search(
        DialClassifier(), {"config": ["a", "b"]}, refit_check=True, n_iter=4
    )
    with pytest.warns(UserWarning, match="collapsed on all rows") as record:
        search.fit(X, y)
    collapsed, aside = search.collapsed_refits_
    assert collapsed["params"] == {"config": "a"} and collapsed["collapsed"]
    # b kept more than half its own (small) promise, yet scored below a
    assert aside["params"] == {"config": "b"} and aside["collapsed"] is None
    assert aside["train_score"] > aside["chance_score"] + 0.5 * (
        aside["cv_score"] - aside["chance_score"]
    )
    assert aside["train_score"] < collapsed["train_score"]
    assert "no better than a collapsed refit" in aside["error"]
    assert search.best_params_ == {"config": "a"}
    (message,) = [str(w.message) for w in record if "collapsed" in str(w.message)]
    assert "no better than a collapsed refit" in message


def test_fallback_order_keeps_at_most_two():
    results = {
        "params": [{"a": i} for i in range(6)],
        "mean_test_score": np.linspace(0.9, 0.4, 6),
        "rank_test_score": np.arange(1, 7),
    }
    assert fallback_order(results, "score", 0) == [1, 2]
    assert fallback_order(results, "score", 3) == [0, 1]


def test_each_refit_is_a_task_for_scikit_learns_callbacks(digits):
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")

    class Tasks:
        def __init__(self):
            self.begun, self.ended = [], []

        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context, **kwargs):
            self.begun.append(context.task_name)

        def on_fit_task_end(self, estimator, context, **kwargs):
            self.ended.append(context.task_name)

        def teardown(self, estimator, context):
            pass

    X, y = digits
    record = Tasks()
    search = _search(
        FragileClassifier(limit=1500), {"C": [1.0, 0.001]}, refit_check=True
    )
    with pytest.warns(UserWarning, match="collapsed"):
        search.set_callbacks(record).fit(X, y)
    for log in (record.begun, record.ended):
        assert log.count("refit-with-best-params") == 1
        assert log.count("refit-next-best") == 1


@pytest.mark.parametrize(
    "how, error", [("fit", "MemoryError: out of memory"), ("predict", "could not")]
)
def test_a_replacement_that_fails_is_set_aside(digits, how, error):
    # C=1 collapses on all rows, C=0.3 (next) fails there, C=0.001 holds.
    X, y = digits
    space = {"C": [1.0, 0.3, 0.001]}
    search = _search(
        BrittleClassifier(limit=1500, how=how), space, n_iter=9, refit_check=True
    )
    with pytest.warns(UserWarning, match="was set aside") as record:
        search.fit(X, y)
    scores = {
        p["C"]: v
        for p, v in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"]
        )
    }
    assert scores[1.0] > scores[0.3] > scores[0.001]  # the order tried
    assert search.best_params_ == {"C": 0.001}
    assert not search.best_estimator_.collapsed_
    bad, failed = search.collapsed_refits_
    assert bad["params"] == {"C": 1.0} and bad["collapsed"]
    assert failed["params"] == {"C": 0.3} and failed["collapsed"] is None
    assert error in failed["error"]
    assert search.compute_report_["n_collapsed_refits"] == 1
    (message,) = [str(w.message) for w in record if "set aside" in str(w.message)]
    assert "rank_test_* is above 1" in message


class ConstantOnFolds(ClassifierMixin, BaseEstimator):
    """``mode="fast"``: logistic regression, but one class always when fitted
    on more than 500 rows (a net that diverges on whole folds after doing
    well on its subsets); ``mode="slow"``: a weaker logistic regression,
    healthy on any rows."""

    def __init__(self, mode="fast"):
        self.mode = mode

    def fit(self, X, y):
        C = 1.0 if self.mode == "fast" else 0.01
        self.model_ = LogisticRegression(C=C, max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        self.constant_ = self.mode == "fast" and len(X) > 500
        return self

    def predict(self, X):
        if self.constant_:
            return np.full(len(X), self.classes_[0])
        return self.model_.predict(X)


@pytest.mark.filterwarnings("ignore:ConstantOnFolds.fit does not take sample_weight")
def test_a_best_at_chance_on_whole_folds_gives_way_to_the_rungs_below(digits):
    # Rungs (0.2, 1.0), the four trials in one round: only the best on 20 %
    # subsets, "fast", goes on. On whole folds it predicts one class, yet it
    # ranks first (ranks order the last rung first). Its refit could not be
    # judged and was kept at chance; now the best configuration that beat
    # the constant is refit instead.
    X, y = digits
    space = {"mode": ["fast", "slow"]}
    search = _search(
        ConstantOnFolds(),
        space,
        subset_size=(0.2, 1.0),
        refit_check=True,
        n_iter=4,
        n_points=4,
    )
    with pytest.warns(UserWarning, match="no better than a constant prediction"):
        search.fit(X, y)
    res = search.cv_results_
    top = int(np.argmin(res["rank_test_score"]))
    assert res["params"][top] == {"mode": "fast"} and res["rung"][top] == 1
    assert res["mean_test_score"][top] < 0.15
    assert search.best_params_ == {"mode": "slow"}
    assert not search.best_estimator_.constant_
    assert search.score(X, y) > 0.8
    assert search.collapsed_refits_ == []
    # Without the check, the best-ranked configuration is refit as it is.
    plain = clone(search).set_params(refit_check=False).fit(X, y)
    assert plain.best_params_ == {"mode": "fast"}
    assert plain.best_estimator_.constant_


class ShakyOnAFold(ClassifierMixin, BaseEstimator):
    """Logistic regression whose ``kind`` sets how it fails: "best" predicts
    one class on more than ``limit`` rows (all rows, not a fold); "shaky"
    does too, and on the training fold of 1,100 rows; "weak" answers class
    0 for every other row, everywhere."""

    def __init__(self, kind="best", limit=1300):
        self.kind = kind
        self.limit = limit

    def fit(self, X, y):
        self.model_ = LogisticRegression(max_iter=300).fit(X, y)
        self.classes_ = self.model_.classes_
        n = len(X)
        self.constant_ = self.kind != "weak" and (
            n > self.limit or (self.kind.startswith("shaky") and n == 1100)
        )
        return self

    def predict(self, X):
        if self.constant_:
            return np.full(len(X), self.classes_[0])
        pred = self.model_.predict(X)
        if self.kind == "weak":
            pred[::2] = self.classes_[0]
        return pred


@pytest.mark.filterwarnings("ignore:BruteForceSampler is experimental")
def test_a_configuration_that_fell_on_a_fold_does_not_replace_a_collapsed_refit(
    digits,
):
    # As in the 5 % CNN search at 50,000 rows: the best collapses on all
    # rows, and so do the next two by rank, which had fallen to a constant
    # on one fold each (mean 0.66 against 0.55 for "weak"). They used up the
    # refits and the collapsed best was kept; now they are passed over.
    X, y = digits
    rows = np.arange(len(y))
    # Three folds whose training parts have 1,000, 1,100 and 1,200 rows.
    cv = [(rows[:n], rows[n:]) for n in (1000, 1100, 1200)]
    space = {"kind": ["best", "shaky", "shaky too", "weak"]}
    search = _search(
        ShakyOnAFold(),
        space,
        cv=cv,
        n_iter=4,
        optimizer=optuna.samplers.BruteForceSampler(seed=0),  # each kind once
        refit_check=True,
    )
    with pytest.warns(UserWarning, match="collapsed on all rows"):
        search.fit(X, y)
    res = search.cv_results_
    mean = {p["kind"]: s for p, s in zip(res["params"], res["mean_test_score"])}
    assert set(mean) == set(space["kind"])
    assert mean["best"] > mean["shaky"] > mean["weak"] > 0.3
    assert mean["shaky too"] > mean["weak"]
    assert search.best_params_ == {"kind": "weak"}
    assert not search.best_estimator_.constant_
    assert [c["params"] for c in search.collapsed_refits_] == [{"kind": "best"}]


@pytest.mark.parametrize("passed_over", [False, True])
def test_the_collapse_warning_names_the_first_refit_as_it_was_chosen(passed_over):
    from subsetml.model_selection._refit import _warn_collapsed

    entry = {
        "params": {"C": 1.0},
        "n_rows": 100,
        "train_score": 0.1,
        "chance_score": 0.1,
        "cv_score": 0.9,
        "collapsed": True,
    }
    with pytest.warns(UserWarning) as record:
        _warn_collapsed([entry], None, net=True, passed_over=passed_over)
    (message,) = [str(w.message) for w in record]
    named = "the best configuration that beat the constant ({'C': 1.0})"
    assert (named in message) is passed_over
    assert message.startswith("The refit of the best configuration")
    assert "collapsed refit of the best configuration" in message
