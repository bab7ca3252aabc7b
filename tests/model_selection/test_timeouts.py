"""Time limits of SubsetSearchCV: ``trial_timeout`` and ``timeout`` stop fits
that run too long, in worker processes, and the search goes on (issue 16)."""

import os
import time
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression

from subsetml.model_selection import SubsetSearchCV
from subsetml.model_selection._bounded import BoundedRunner, timed_out

pytest.importorskip("optuna")

HANG = 600.0  # seconds: a fit that would outlast any test run


class Sleepy(ClassifierMixin, BaseEstimator):
    """Logistic regression that first sleeps ``delay`` seconds."""

    def __init__(self, delay=0.0):
        self.delay = delay

    def fit(self, X, y, sample_weight=None):
        time.sleep(self.delay)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=200, n_features=6, random_state=0)


def test_trial_timeout_fails_the_hanging_trials_and_goes_on(data):
    X, y = data
    search = SubsetSearchCV(
        Sleepy(),
        {"delay": [0.0, HANG]},
        n_iter=4,
        subset_size=0.5,
        cv=2,
        random_state=0,
        trial_timeout=3,
        optimizer="random",
    )
    t0 = time.monotonic()
    with pytest.warns(FitFailedWarning, match="trial_timeout=3"):
        search.fit(X, y)
    elapsed = time.monotonic() - t0
    res = search.cv_results_
    delays = np.array([p["delay"] for p in res["params"]])
    assert len(delays) == 4 and (delays == HANG).any() and (delays == 0).any()
    scores = np.asarray(res["mean_test_score"])
    assert np.isnan(scores[delays == HANG]).all()
    assert np.isfinite(scores[delays == 0]).all()
    assert search.best_params_ == {"delay": 0.0}
    assert elapsed < 4 * 3 + 60  # never the hanging fit's 600 s
    states = {t.state.name for t in search.studies_[0].get_trials()}
    assert "FAIL" in states and "COMPLETE" in states


class HangsFromItsThirdFit(Sleepy):
    """Fits quickly twice, then hangs on subsets (counted in a file: fits run
    in worker processes); the refit on all 200 rows does not hang."""

    def __init__(self, delay=0.0, log=None):
        self.delay = delay
        self.log = log

    def _hangs(self, n, X):
        """Whether the ``n``-th fit, on ``X``, hangs."""
        return n > 2 and len(X) < 200

    def fit(self, X, y, sample_weight=None):
        with open(self.log, "a") as f:
            f.write("x")
        with open(self.log) as f:
            n = len(f.read())
        if self._hangs(n, X):
            time.sleep(HANG)
        return super().fit(X, y)


def test_timeout_stops_a_hanging_fit_and_returns_what_finished(data, tmp_path):
    X, y = data
    search = SubsetSearchCV(
        HangsFromItsThirdFit(log=str(tmp_path / "fits")),
        {"delay": (0.0, 0.01)},
        n_iter=50,
        subset_size=0.5,
        cv=2,
        random_state=0,
        timeout=10,  # room for the worker to start on a loaded machine
    )
    t0 = time.monotonic()
    with pytest.warns(UserWarning, match="time budget .* stopped 1 trial"):
        search.fit(X, y)
    assert time.monotonic() - t0 < 10 + 30  # not the hanging fit's 600 s
    # The stopped trial has no result: it is left out, not scored NaN.
    scores = np.asarray(search.cv_results_["mean_test_score"])
    assert len(scores) == 1 and np.isfinite(scores[0])
    assert search.best_index_ == 0


class HangsWhileFlagged(HangsFromItsThirdFit):
    """Hangs from its third fit on while the file ``log + ".hang"`` exists."""

    def _hangs(self, n, X):
        return super()._hangs(n, X) and os.path.exists(self.log + ".hang")


def test_a_trial_the_budget_stopped_runs_first_when_the_study_resumes(data, tmp_path):
    # A review: stored as failed with a NaN score, it was never run again,
    # and a search run in budgeted pieces lost a trial each time.
    import optuna

    X, y = data
    storage = f"sqlite:///{tmp_path / 's.db'}"

    def search(**kw):
        return SubsetSearchCV(
            HangsWhileFlagged(log=str(tmp_path / "fits")),
            {"delay": (0.0, 0.01)},
            n_iter=3,
            subset_size=0.5,
            cv=2,
            random_state=0,
            storage=storage,
            study_name="s",
            **kw,
        )

    open(tmp_path / "fits.hang", "w").close()
    with pytest.warns(UserWarning, match="next fit of this study runs them first"):
        first = search(timeout=10).fit(X, y)  # room for the worker to start
    (tmp_path / "fits.hang").unlink()
    assert len(first.cv_results_["params"]) == 1
    study = optuna.load_study(study_name="s", storage=storage)
    [stopped] = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == 1
    resumed = search().fit(X, y)
    scores = np.asarray(resumed.cv_results_["mean_test_score"])
    assert len(scores) == 3 and np.all(np.isfinite(scores))
    assert resumed.cv_results_["params"][1]["delay"] == stopped.params["delay"]


def test_timeout_with_no_trial_finished_is_a_clear_error(data):
    X, y = data
    search = SubsetSearchCV(
        Sleepy(),
        {"delay": [HANG]},
        n_iter=3,
        subset_size=0.5,
        cv=2,
        timeout=1,
        trial_timeout=2,
    )
    t0 = time.monotonic()
    with pytest.raises(ValueError, match="larger trial_timeout"):
        search.fit(X, y)
    assert time.monotonic() - t0 < 2 + 30


def test_bounded_runner_returns_results_and_none_for_what_overran(data):
    from sklearn.metrics import check_scoring

    X, y = data
    runner = BoundedRunner(X, y, 2)
    kwargs = dict(
        scorer=check_scoring(Sleepy()),
        verbose=0,
        parameters=None,
        fit_params=None,
        score_params=None,
        return_times=True,
        error_score=np.nan,
    )
    train, test = np.arange(100), np.arange(100, 200)
    try:
        outs = runner.run(
            [(Sleepy(0.0), train, test, kwargs), (Sleepy(HANG), train, test, kwargs)],
            3,
        )
        assert outs[0]["test_scores"] > 0.5 and outs[1] is None
        # The stopped worker is replaced: the next round works.
        again = runner.run([(Sleepy(0.0), train, test, kwargs)], 30)
        assert again[0]["test_scores"] == outs[0]["test_scores"]
    finally:
        runner.close()
    out = timed_out({"a": 1, "b": 2}, np.nan, 10, 3.0, "why")
    assert set(out["test_scores"]) == {"a", "b"} and out["fit_error"].endswith("why")
    assert np.isnan(timed_out(None, "raise", 10, 3.0, "x")["test_scores"])


def test_a_fit_that_never_started_says_so(data, monkeypatch):
    # One worker: a hanging trial's split ran to the limit and the split
    # after it never started; its error said "stopped after 2 s" too.
    import subsetml.model_selection._search as search_module

    seen = []
    report = search_module._raise_or_warn_about_failures

    def spy(out, error_score):
        seen.extend(o["fit_error"] for o in out if o.get("fit_error"))
        return report(out, error_score)

    monkeypatch.setattr(search_module, "_raise_or_warn_about_failures", spy)
    X, y = data
    search = SubsetSearchCV(
        Sleepy(), {"delay": [0.0, HANG]}, n_iter=4, subset_size=0.5, cv=2,
        random_state=0, trial_timeout=2, n_jobs=1, optimizer="random",
    )  # fmt: skip
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    assert any("the fit was stopped after 2 s" in e for e in seen)
    assert any("the fit had not started after 2 s" in e for e in seen)


def test_stopped_fits_book_the_seconds_they_ran(data):
    # A round's fits share its limit: one worker ran the first split until
    # the limit and never started the others, which were each booked at the
    # whole limit (compute_report_'s trial_fit_s claimed 3 x the time).
    from sklearn.metrics import check_scoring

    X, y = data
    runner = BoundedRunner(X, y, 1)
    kwargs = dict(
        scorer=check_scoring(Sleepy()), verbose=0, parameters=None,
        fit_params=None, score_params=None, return_times=True, error_score=np.nan,
    )  # fmt: skip
    train, test = np.arange(100), np.arange(100, 200)
    try:
        outs = runner.run([(Sleepy(HANG), train, test, kwargs)] * 3, 0.2)
    finally:
        runner.close()
    assert outs == [None, None, None]
    ran, *never = runner.stopped_after
    assert ran > 0 and never == [0.0, 0.0]


def test_not_faster_warning_leaves_out_fits_stopped_at_the_limit():
    # Fits stopped at trial_timeout made the warning blame a quick estimator.
    from subsetml.model_selection._search import _warn_if_not_faster

    report = dict(
        full_search_estimate_s=0.3, n_trials=4, selection_s=0.01,
        trial_fit_s=6.1, trial_score_s=0.01, rescore_s=0.0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_not_faster(report, stopped=(3, 6.0))
    with pytest.warns(UserWarning, match=r"leaving out the 6 s of the 3 fits"):
        _warn_if_not_faster({**report, "trial_fit_s": 16.0}, stopped=(3, 6.0))
    with pytest.warns(UserWarning, match="for an estimator this quick"):
        _warn_if_not_faster(report)


@pytest.mark.parametrize("bad", [0, -1, "10", float("nan")])
def test_bad_trial_timeout(data, bad):
    X, y = data
    search = SubsetSearchCV(LogisticRegression(), {"C": [1.0]}, trial_timeout=bad)
    with pytest.raises(ValueError, match="trial_timeout"):
        search.fit(X, y)


def test_worker_start_up_is_not_a_trials_time_on_later_rungs(data, monkeypatch):
    # A review: a trial's limit over its rungs counted from before the
    # workers started (imports, data: seconds), so a later rung's limit was
    # spent before it began and every trial of a search of millisecond fits
    # failed. Here starting the workers takes 2 s, longer than the limit.
    real_pool = BoundedRunner._pool

    def slow_pool(self):
        if self._executor is None:
            time.sleep(2.0)
        return real_pool(self)

    monkeypatch.setattr(BoundedRunner, "_pool", slow_pool)
    X, y = data
    search = SubsetSearchCV(
        LogisticRegression(),
        {"C": (1e-2, 1e2, "log-uniform")},
        n_iter=3,
        cv=2,
        subset_size=(0.3, 1.0),
        pruner=None,
        trial_timeout=1.5,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    assert list(search.cv_results_["rung"]) == [1, 1, 1]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


class SlowToLoad(Sleepy):
    """Takes 2 s to load in each new process, as a skorch net's first load
    imports torch there."""

    def __setstate__(self, state):
        if os.environ.get("SUBSETML_TEST_LOADED") != str(os.getpid()):
            os.environ["SUBSETML_TEST_LOADED"] = str(os.getpid())
            time.sleep(2.0)
        self.__dict__.update(state)


def test_loading_the_estimator_in_a_new_worker_is_not_a_trials_time(data):
    # The first fit in each new worker process loaded the estimator within
    # the trial's limit: for a skorch net, importing torch took seconds of
    # it. The workers now load the estimator as they start.
    X, y = data
    search = SubsetSearchCV(
        SlowToLoad(), {"delay": (0.0, 0.001)}, n_iter=2, cv=2, subset_size=0.5,
        trial_timeout=1.5, random_state=0, error_score="raise",
    ).fit(X, y)  # fmt: skip
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


class LoadsOnlyWhereItWasMade(Sleepy):
    """Fails to load in any process but the test's."""

    def __setstate__(self, state):
        if os.environ.get("SUBSETML_TEST_PARENT") != str(os.getpid()):
            raise RuntimeError("this estimator cannot load in another process")
        self.__dict__.update(state)


def test_an_estimator_that_fails_to_load_in_a_worker_says_why(data, monkeypatch):
    # The workers' warm-up loaded the estimator in loky's initializer, whose
    # error killed each worker: the search raised TerminatedWorkerError,
    # which blames a segmentation fault or memory. The warm-up is now only a
    # head start, and the fit's own load fails with the reason attached, as
    # in joblib's workers.
    from joblib.externals.loky.process_executor import BrokenProcessPool

    monkeypatch.setenv("SUBSETML_TEST_PARENT", str(os.getpid()))
    X, y = data
    search = SubsetSearchCV(
        LoadsOnlyWhereItWasMade(), {"delay": (0.0, 0.001)}, n_iter=2, cv=2,
        subset_size=0.5, trial_timeout=30, random_state=0,
    )  # fmt: skip
    with pytest.raises(BrokenProcessPool, match="un-serialize") as exc:
        search.fit(X, y)
    assert "cannot load in another process" in str(exc.value.__cause__)


def test_a_spent_limit_starts_no_fit(data):
    X, y = data
    runner = BoundedRunner(X, y, 1)
    train, test = np.arange(100), np.arange(100, 200)
    task = (Sleepy(0.0), train, test, {})
    outs = runner.run([task, task], 0)
    assert outs == [None, None] and runner.stopped_after == [0.0, 0.0]
    assert runner._executor is None  # no worker started only to be killed


class HangsOnItsSecondRung(HangsFromItsThirdFit):
    """Hangs on the second rung's 50 rows from its fifth fit on (the first
    trial's four fits, both rungs, run; counted in a file)."""

    def _hangs(self, n, X):
        return n > 4 and 40 < len(X) < 200


def test_a_trial_the_budget_stops_on_a_higher_rung_keeps_the_rung_below(data, tmp_path):
    # A review: its fits stopped during rung 1, the trial scored NaN there and
    # lost the score of rung 0, where the docs say it counts as pruned.
    X, y = data
    search = SubsetSearchCV(
        HangsOnItsSecondRung(log=str(tmp_path / "fits")),
        {"delay": (0.0, 0.01)},
        n_iter=2,
        subset_size=(0.25, 0.5),
        pruner=None,
        n_points=1,
        cv=2,
        random_state=0,
        timeout=15,  # room for the worker to start on a loaded machine
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    res = search.cv_results_
    assert list(res["rung"]) == [1, 0]
    assert list(res["pruned"]) == [False, True]
    assert np.all(np.isfinite(res["mean_test_score"]))


class ReportsItsWorker(HangsFromItsThirdFit):
    """Records its worker's OMP_NUM_THREADS in a file, and warns."""

    def fit(self, X, y, sample_weight=None):
        with open(self.log, "a") as f:
            f.write(os.environ.get("OMP_NUM_THREADS", "unset") + "\n")
        warnings.warn("a fit's own warning", RuntimeWarning, stacklevel=2)
        return Sleepy.fit(self, X, y)


def test_workers_of_a_time_limit_follow_joblibs_settings(data, tmp_path):
    # The pool ignored parallel_config's thread limits (each worker ran as
    # many threads as the machine has cores) and the user's warnings filters
    # (a review).
    import joblib

    X, y = data
    log = tmp_path / "threads"

    def search():
        return SubsetSearchCV(
            ReportsItsWorker(log=str(log)), {"delay": (0.0, 0.01)}, n_iter=2,
            subset_size=0.5, cv=2, random_state=0, trial_timeout=60,
        )  # fmt: skip

    with joblib.parallel_config(backend="loky", inner_max_num_threads=3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search().fit(X, y)
    workers = set(log.read_text().split()[:-1])  # the refit runs here
    assert workers == {"3"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", FitFailedWarning)
        with pytest.raises(ValueError, match="fits of the search failed"):
            search().fit(X, y)


def test_the_time_limits_pool_has_n_jobs_workers_under_dask():
    # joblib counts the cluster's cores under dask: the pool started one
    # local process for each (a review).
    distributed = pytest.importorskip("distributed")
    import joblib

    from subsetml.model_selection._bounded import _workers

    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=8, dashboard_address=None
    ):
        with joblib.parallel_backend("dask"):
            assert _workers(2)[0] == 2
            # The context's default (-1 here): this machine's cores.
            assert _workers(None)[0] <= joblib.cpu_count()
