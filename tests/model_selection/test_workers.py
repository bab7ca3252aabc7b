"""Many workers on one study (issue 16, item 2): real processes, real storages.

Each worker is a separate Python process that fits the same
``SubsetSearchCV`` against one storage, as a user runs a script several
times. Storages: a sqlite database URL, Optuna's journal file, and a
PostgreSQL server this module starts (Debian's ``postgresql``, which
``.ci/run`` installs); the PostgreSQL cases are skipped, saying why, only
where no server can be started.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

import optuna
import pytest
from optuna.trial import TrialState

from subsetml.model_selection import _workers
from subsetml.model_selection._workers import Heartbeat, claim, resolve_storage

_WORKER = textwrap.dedent(
    """
    import json, os, sys, time

    import numpy as np
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from subsetml.model_selection import SubsetSearchCV, _workers

    cfg = json.loads(sys.argv[1])
    _workers.HEARTBEAT_INTERVAL = cfg.get("interval", 10)
    _workers.GRACE_PERIOD = cfg.get("grace", 60)

    class Model(ClassifierMixin, BaseEstimator):
        def __init__(self, C=1.0):
            self.C = C

        def fit(self, X, y, sample_weight=None):
            if os.path.exists(cfg.get("hang_file", "")):
                open(cfg["hang_file"] + ".started", "w").close()
                time.sleep(600)  # until the test kills this worker
            time.sleep(cfg.get("fit_seconds", 0.0))
            self.clf_ = LogisticRegression(C=self.C, max_iter=200).fit(X, y)
            self.classes_ = self.clf_.classes_
            return self

        def predict(self, X):
            return self.clf_.predict(X)

    storage = cfg["storage"]
    if cfg.get("rdb_heartbeat"):
        import inspect

        import optuna
        from optuna.storages import RDBStorage, RetryFailedTrialCallback

        # The callback's argument is named so from Optuna 4.9 on.
        name = (
            "heartbeat_stale_trial_callback"
            if "heartbeat_stale_trial_callback"
            in inspect.signature(RDBStorage).parameters
            else "failed_trial_callback"
        )
        storage = RDBStorage(
            storage,
            heartbeat_interval=cfg["interval"],
            grace_period=cfg["grace"],
            **{name: RetryFailedTrialCallback(max_retry=1)},
        )
    X, y = make_classification(n_samples=160, n_features=6, random_state=0)
    search = SubsetSearchCV(
        Model(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=cfg["n_iter"],
        selector="random", subset_size=0.5, cv=2, random_state=0,
        storage=storage, study_name="shared", refit=False,
    ).fit(X, y)
    print(json.dumps([p["C"] for p in search.cv_results_["params"]]))
    """
)


def _start(tmp_path, **cfg):
    script = tmp_path / "worker.py"
    if not script.exists():
        script.write_text(_WORKER)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc, timeout=180):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _counted(study):
    return [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished() and "subsetml:splits" in t.user_attrs
    ]


# ------------------------------------------------------------ PostgreSQL
def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin(name):
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if isinstance(found, list):
        found = found[-1] if found else None
    return found


@pytest.fixture(scope="module")
def postgres_url():
    """A database URL on a PostgreSQL server started for this module."""
    if os.environ.get("SUBSETML_TEST_POSTGRES_URL"):
        yield os.environ["SUBSETML_TEST_POSTGRES_URL"]
        return
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed")
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip(
            "no PostgreSQL server here (initdb/pg_ctl not found): install "
            "Debian's postgresql (.ci/run does) or set SUBSETML_TEST_POSTGRES_URL"
        )
    # PostgreSQL refuses to run as root: run it as the postgres user then.
    as_user = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        as_user = ["runuser", "-u", "postgres", "--"]
    data = tempfile.mkdtemp(prefix="subsetml-pg-", dir="/tmp")
    port = _free_port()
    try:
        if as_user:
            shutil.chown(data, "postgres", "postgres")
        subprocess.run(
            [*as_user, initdb, "-D", data, "-U", "postgres", "--auth=trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [
                *as_user,
                pg_ctl,
                "-D",
                data,
                "-l",
                f"{data}/log",
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -k {data} -c listen_addresses=127.0.0.1",
                "start",
            ],  # fmt: skip
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError, KeyError, LookupError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(
            f"PostgreSQL could not start here: {exc} {detail.decode(errors='replace')}"
        )
    try:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres")
        conn.autocommit = True
        conn.cursor().execute("CREATE DATABASE subsetml")
        conn.close()
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/subsetml"
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(data, ignore_errors=True)


def _drop_study(url):
    try:
        optuna.delete_study(study_name="shared", storage=url)
    except KeyError:
        pass


@pytest.fixture(params=["sqlite", "journal", "postgresql"])
def storage(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    if request.param == "journal":
        return str(tmp_path / "shared.log")
    url = request.getfixturevalue("postgres_url")
    _drop_study(url)
    return url


# ------------------------------------------------------------ processes
def test_workers_started_together_share_one_study(storage, tmp_path):
    # Three processes on one fresh storage (a fresh sqlite file raced on
    # table creation): none crashes, the study ends with exactly n_iter
    # trials with results, all distinct, and every worker reports them all.
    workers = [
        _start(tmp_path, storage=storage, n_iter=9, fit_seconds=0.05) for _ in range(3)
    ]
    reports = [_finish(w) for w in workers]
    assert all(len(r) == 9 for r in reports)
    assert reports[0] == reports[1] == reports[2]  # trial-number order
    assert len(set(reports[0])) == 9  # no worker repeated another's draws
    study = optuna.load_study(study_name="shared", storage=resolve_storage(storage))
    counted = _counted(study)
    assert len(counted) == 9
    assert sorted(t.params["C"] for t in counted) == sorted(reports[0])
    # Anything else in the study is a surplus ask, closed without results.
    others = [t for t in study.trials if t not in counted]
    assert all(t.state == TrialState.FAIL for t in others)
    assert all(t.user_attrs.get("subsetml:surplus") for t in others)


@pytest.mark.parametrize("kind", ["sqlite", "journal", "postgresql"])
def test_a_killed_workers_trial_is_found_stale_and_run_again(kind, tmp_path, request):
    # Worker A hangs in a fit and is killed (SIGKILL: nothing is cleaned
    # up). Worker B, started meanwhile, waits for A's trial while A's
    # heartbeat is fresh, then fails it as stale and runs its configuration
    # again. Before issue 16 every RUNNING trial counted as dead at once.
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'kill.db'}"
    elif kind == "journal":
        url = str(tmp_path / "kill.log")
    else:
        url = request.getfixturevalue("postgres_url")
        _drop_study(url)
    beat = {"interval": 1, "grace": 3, "rdb_heartbeat": "://" in url}
    hang = tmp_path / "hang"
    hang.touch()
    a = _start(tmp_path, storage=url, n_iter=4, hang_file=str(hang), **beat)
    deadline = time.monotonic() + 60
    while not (tmp_path / "hang.started").exists():
        assert a.poll() is None, a.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "worker A never started a fit"
        time.sleep(0.1)
    hang.unlink()
    a.send_signal(signal.SIGKILL)
    a.wait()
    study = optuna.load_study(study_name="shared", storage=resolve_storage(url))
    (lost,) = study.get_trials(states=(TrialState.RUNNING,))
    b = _start(tmp_path, storage=url, n_iter=4, **beat)
    report = _finish(b)
    assert len(report) == 4 and len(set(report)) == 4
    assert lost.params["C"] in report  # the lost configuration, run again
    study = optuna.load_study(study_name="shared", storage=resolve_storage(url))
    assert study.trials[lost.number].state == TrialState.FAIL
    assert len(_counted(study)) == 4


# ------------------------------------------------------------ in process
def _journal_study(tmp_path):
    storage = resolve_storage(str(tmp_path / "study.log"))
    return optuna.create_study(storage=storage, study_name="s", direction="maximize")


def test_a_path_is_a_journal_file_and_a_url_a_database_with_heartbeat(tmp_path):
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalStorage

    assert isinstance(resolve_storage(str(tmp_path / "a.log")), JournalStorage)
    assert isinstance(resolve_storage(tmp_path / "b.log"), JournalStorage)
    rdb = resolve_storage(f"sqlite:///{tmp_path / 'c.db'}")
    assert isinstance(rdb, RDBStorage)
    assert rdb.heartbeat_interval == _workers.HEARTBEAT_INTERVAL
    assert rdb.grace_period == _workers.GRACE_PERIOD
    assert resolve_storage(None) is None
    assert resolve_storage(rdb) is rdb


def test_stale_trials_fail_once_and_are_queued_once(tmp_path, monkeypatch):
    monkeypatch.setattr(_workers, "GRACE_PERIOD", 5)
    study = _journal_study(tmp_path)
    heart = Heartbeat(study)
    assert not heart.native
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    fresh, old = study.ask(dist), study.ask(dist)
    heart.started(fresh)
    heart.started(old)
    study._storage.set_trial_system_attr(
        old._trial_id, _workers._BEAT_KEY, time.time() - 60
    )
    heart.fail_stale(force=True)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert states == [TrialState.RUNNING, TrialState.FAIL, TrialState.WAITING]
    retry = study.trials[2]
    assert retry.system_attrs["fixed_params"] == old.params
    assert retry.user_attrs[_workers._RETRY_KEY] == old.number
    # A second look (or another worker's) does not fail or queue anything more.
    heart.fail_stale(force=True)
    assert len(study.trials) == 3
    # A retried configuration whose worker dies too is not queued again.
    again = study.ask(dist)
    assert again.number == 2
    heart.started(again)
    study._storage.set_trial_system_attr(
        again._trial_id, _workers._BEAT_KEY, time.time() - 60
    )
    heart.fail_stale(force=True)
    assert [t.state for t in study.trials][2] == TrialState.FAIL
    assert len(study.trials) == 3


def test_a_running_trial_beats_while_it_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(_workers, "HEARTBEAT_INTERVAL", 0.05)
    study = _journal_study(tmp_path)
    heart = Heartbeat(study)
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    heart.started(trial)
    first = study.trials[0].system_attrs[_workers._BEAT_KEY]
    with heart.beating([trial]):
        time.sleep(0.4)
    assert study.trials[0].system_attrs[_workers._BEAT_KEY] > first + 0.2


def test_claim_keeps_the_first_n_iter_trials_in_number_order(tmp_path):
    study = _journal_study(tmp_path)
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    done = study.ask(dist)
    done.set_user_attr("subsetml:splits", [])
    study.tell(done, 1.0)
    ghost = study.ask(dist)
    study.tell(ghost, state=TrialState.FAIL)  # no results: never counts
    study.enqueue_trial({"x": 0.5})  # queued: counts
    mine = [study.ask(dist) for _ in range(3)]  # pops the queued one first
    assert mine[0].params == {"x": 0.5}

    def counted(t):
        return t.state.is_finished() and "subsetml:splits" in t.user_attrs

    keep, surplus = claim(study, mine, 3, counted)
    assert [t.number for t in keep] == [2, 3]
    assert [t.number for t in surplus] == [4]


class _FailsItsFirstTrialAsStale:
    """On its first fit, does what another worker would on finding this
    trial's heartbeat stale: fails it (and queues its configuration)."""

    def __init__(self, path):
        self.path, self.fits = path, 0

    def __call__(self):
        self.fits += 1
        if self.fits == 1:
            storage = resolve_storage(self.path)
            study = optuna.load_study(study_name="s", storage=storage)
            # The first trial of the round (rungs run trials in rounds).
            trial = min(
                study.get_trials(states=(TrialState.RUNNING,)),
                key=lambda t: t.number,
            )
            study._storage.set_trial_system_attr(
                trial._trial_id, _workers._BEAT_KEY, time.time() - 1000
            )
            Heartbeat(study).fail_stale(force=True)


@pytest.mark.parametrize("sizes", [0.5, (0.25, 0.5)])
def test_a_trial_failed_by_another_worker_mid_fit_is_dropped_not_fatal(tmp_path, sizes):
    # Review of issue 16: with rungs, reporting to a trial another worker had
    # failed crashed the whole fit.
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from subsetml.model_selection import SubsetSearchCV

    path = str(tmp_path / "s.log")
    hook = _FailsItsFirstTrialAsStale(path)

    class Model(ClassifierMixin, BaseEstimator):
        def __init__(self, C=1.0):
            self.C = C

        def fit(self, X, y, sample_weight=None):
            hook()
            self.clf_ = LogisticRegression(C=self.C).fit(X, y)
            self.classes_ = self.clf_.classes_
            return self

        def predict(self, X):
            return self.clf_.predict(X)

    X, y = make_classification(n_samples=200, random_state=0)
    search = SubsetSearchCV(
        Model(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=4, cv=2,
        selector="random", subset_size=sizes, random_state=0, storage=path,
        study_name="s", refit=False,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="failed by another worker"):
        search.fit(X, y)
    params = [p["C"] for p in search.cv_results_["params"]]
    assert len(params) == 4
    study = optuna.load_study(study_name="s", storage=resolve_storage(path))
    lost = study.trials[0]
    assert lost.state == TrialState.FAIL and "subsetml:splits" not in lost.user_attrs
    assert lost.params["C"] in params  # queued again and run by this worker
    assert len(_counted(study)) == 4


def test_a_trial_failed_by_another_worker_before_it_is_judged_is_dropped(
    tmp_path, monkeypatch
):
    # A round's trials all report before the pruner judges them; a trial that
    # another worker fails as stale in between must not crash the fit either.
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    from subsetml.model_selection import SubsetSearchCV

    path = str(tmp_path / "s.log")
    hook = _FailsItsFirstTrialAsStale(path)
    judge = optuna.trial.Trial.should_prune
    judged = []

    def should_prune(trial):
        judged.append(trial.number)
        hook()  # the first judgement: the round's first trial fails first
        return judge(trial)

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", should_prune)
    X, y = make_classification(n_samples=200, random_state=0)
    search = SubsetSearchCV(
        LogisticRegression(), {"C": (1e-3, 1e3, "log-uniform")}, n_iter=4,
        cv=2, selector="random", subset_size=(0.25, 0.5), random_state=0,
        storage=path, study_name="s", refit=False,
    )  # fmt: skip
    with pytest.warns(UserWarning, match="failed by another worker"):
        search.fit(X, y)
    assert judged  # the hook ran between report and judgement
    assert len(search.cv_results_["params"]) == 4
    study = optuna.load_study(study_name="s", storage=resolve_storage(path))
    assert study.trials[0].state == TrialState.FAIL
    assert len(_counted(study)) == 4


def test_a_lost_table_race_is_tried_again_and_other_errors_are_not():
    from sqlalchemy.exc import IntegrityError

    calls = []

    def racing():
        calls.append(1)
        if len(calls) < 3:
            raise IntegrityError("INSERT INTO version_info", {}, Exception("taken"))
        return "storage"

    assert _workers.retry_on_race(racing) == "storage"
    assert len(calls) == 3

    def broken():
        calls.append(1)
        raise ValueError("not a race")

    calls.clear()
    with pytest.raises(ValueError, match="not a race"):
        _workers.retry_on_race(broken)
    assert len(calls) == 1


def test_a_search_in_memory_does_not_import_sqlalchemy():
    code = textwrap.dedent(
        """
        import sys
        from sklearn.datasets import make_classification
        from sklearn.linear_model import LogisticRegression
        from subsetml.model_selection import SubsetSearchCV

        X, y = make_classification(200, random_state=0)
        SubsetSearchCV(
            LogisticRegression(), {"C": (0.1, 10.0, "log-uniform")}, n_iter=2, cv=2,
            subset_size=0.5, random_state=0,
        ).fit(X, y)
        print("sqlalchemy" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
