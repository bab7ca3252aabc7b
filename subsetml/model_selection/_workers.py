"""Many workers on one Optuna study: storages, heartbeats and stale trials.

Several processes (on one machine or many) may fit the same search against
one storage, as Optuna's distributed optimisation does. Three things make
that safe:

* every running trial shows it is alive: Optuna's heartbeat where the storage
  has one (a database URL given as a string gets one), otherwise a time stamp
  in the trial's system attributes, renewed by a thread of the same period;
* a running trial whose heartbeat is older than the grace period is stale:
  its worker died. It is failed (Optuna's ``fail_stale_trials``) and its
  configuration is queued again once;
* the trials that count are taken in trial-number order: a worker that asked
  for a trial beyond the requested total closes it as a surplus failure that
  is never reported (see :func:`claim`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from contextlib import contextmanager

__all__ = [
    "GRACE_PERIOD",
    "HEARTBEAT_INTERVAL",
    "Heartbeat",
    "claim",
    "check_journal_path",
    "resolve_storage",
]

#: Seconds between two heartbeats of a running trial, for storages this
#: module builds or that have no heartbeat of their own.
HEARTBEAT_INTERVAL = 10
#: Seconds without a heartbeat after which a running trial counts as dead.
GRACE_PERIOD = 60

_BEAT_KEY = "subsetml:heartbeat"  # system attr: time.time() of the last beat
_WORKER_KEY = "subsetml:worker"  # system attr: set on every trial we ask
_RETRY_KEY = "subsetml:retry_of"  # user attr of a re-queued configuration
_SURPLUS_KEY = "subsetml:surplus"  # user attr of a trial closed as surplus


def resolve_storage(storage):
    """The Optuna storage a search uses.

    ``None`` and storage objects are used as given. A string with ``://`` is a
    database URL (``sqlite:///search.db``, ``postgresql://...``): an
    ``RDBStorage`` with a heartbeat every :data:`HEARTBEAT_INTERVAL` seconds,
    a grace period of :data:`GRACE_PERIOD` seconds, and stale trials retried
    once. Any other string or path is the file of Optuna's journal storage,
    which needs no server.
    """
    if storage is None or not isinstance(storage, (str, os.PathLike)):
        return storage
    import optuna
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    check_journal_path(storage)
    path = os.fspath(storage)
    if "://" not in path:
        return JournalStorage(JournalFileBackend(path))
    engine_kwargs = None
    if path.startswith("sqlite"):
        # Several writers wait for sqlite's lock rather than fail at once.
        engine_kwargs = {"connect_args": {"timeout": 60}}

    def build():
        with warnings.catch_warnings():
            # Heartbeats and their retry callback are flagged experimental.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = _retry_once()
            return RDBStorage(
                path,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_INTERVAL,
                grace_period=GRACE_PERIOD,
                **retry,
            )

    return retry_on_race(build)


def check_journal_path(storage):
    """Refuse an SQLite database given as a plain path (a slip after
    ``"sqlite:///search.db"``): Optuna's journal reader failed on it with a
    ``UnicodeDecodeError`` (a review). URLs, storage objects and None pass."""
    if not isinstance(storage, (str, os.PathLike)) or "://" in os.fspath(storage):
        return
    path = os.fspath(storage)
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return  # not there yet (or unreadable: the journal says so)
    if head == b"SQLite format 3\x00":
        raise ValueError(
            f"storage={path!r} is an SQLite database, and a path without "
            "'://' names a file of Optuna's journal storage; pass "
            f"storage='sqlite:///{path}'."
        )


def _retry_once():
    """RDBStorage's argument that queues a stale trial's configuration again
    (once), under the name of the installed Optuna."""
    try:
        from optuna.storages import RetryHeartbeatStaleTrialCallback
    except ImportError:  # Optuna < 4.9
        from optuna.storages import RetryFailedTrialCallback

        return {"failed_trial_callback": RetryFailedTrialCallback(max_retry=1)}
    return {"heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback(1)}


def retry_on_race(make, attempts=5):
    """``make()``, tried again when workers race to create the same tables.

    Two processes opening one fresh database both create Optuna's tables and
    write its version row; the loser gets an integrity or operational error.
    SQLAlchemy is looked up only once something failed, so that a search on
    Optuna's in-memory or journal storage does not import it (a fifth of a
    second on a small search).
    """
    for attempt in range(attempts):
        try:
            return make()
        except Exception as exc:
            if attempt == attempts - 1 or not _lost_race(exc):
                raise
            time.sleep(0.2 * (attempt + 1))
    return None  # pragma: no cover (the loop returns or raises)


def _lost_race(exc):
    """Whether ``exc`` is SQLAlchemy's error for a table another worker made."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(
        exc, (errors.IntegrityError, errors.OperationalError)
    )


class Heartbeat:
    """Liveness of one study's running trials.

    Parameters
    ----------
    study : optuna.Study
        The study the workers share.
    """

    def __init__(self, study):
        from optuna.storages._heartbeat import is_heartbeat_enabled

        self.study = study
        self.storage = study._storage
        self.native = is_heartbeat_enabled(self.storage)
        self.interval = (
            self.storage.get_heartbeat_interval() if self.native else HEARTBEAT_INTERVAL
        )
        self._last_check = -float("inf")

    def started(self, trial):
        """Mark a trial this worker just asked for."""
        self.storage.set_trial_system_attr(trial._trial_id, _WORKER_KEY, os.getpid())
        self._beat(trial._trial_id)

    def _beat(self, trial_id):
        if self.native:
            self.storage.record_heartbeat(trial_id)
        else:
            self.storage.set_trial_system_attr(trial_id, _BEAT_KEY, time.time())

    @contextmanager
    def beating(self, trials):
        """Renew the heartbeat of ``trials`` while the block runs."""
        stop = threading.Event()
        ids = [t._trial_id for t in trials]

        def loop():
            from optuna.exceptions import UpdateFinishedTrialError

            while not stop.wait(self.interval):
                for trial_id in ids:
                    try:
                        self._beat(trial_id)
                    except UpdateFinishedTrialError:
                        pass  # failed as stale by another worker meanwhile
                    except Exception:  # a lost beat is not fatal: the next one comes
                        pass

        thread = threading.Thread(target=loop, name="subsetml-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def fail_stale(self, force=False):
        """Fail the running trials whose workers are gone; queue them again.

        Checks at most once per heartbeat interval unless ``force``.
        """
        import optuna
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.storages import fail_stale_trials
        from optuna.trial import TrialState

        now = time.monotonic()
        if not force and now - self._last_check < min(self.interval, 1.0):
            return
        self._last_check = now
        if self.native:
            with warnings.catch_warnings():
                # fail_stale_trials is flagged experimental.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                fail_stale_trials(self.study)
        grace = self._grace()
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            beat = t.system_attrs.get(_BEAT_KEY)
            if self.native and _WORKER_KEY in t.system_attrs:
                continue  # Optuna's heartbeat judges these
            if beat is None:
                # A trial from a worker without heartbeat (an older version,
                # or a plain Optuna process): judged by its start.
                if t.datetime_start is None:
                    continue
                beat = t.datetime_start.timestamp()
            if time.time() - beat <= grace:
                continue
            try:
                if not self.storage.set_trial_state_values(
                    t._trial_id, state=TrialState.FAIL
                ):
                    continue
            except UpdateFinishedTrialError:
                continue  # another worker failed it first
            if _RETRY_KEY not in t.user_attrs:
                self.study.enqueue_trial(
                    t.params, user_attrs={_RETRY_KEY: t.number}, skip_if_exists=False
                )

    def _grace(self):
        if self.native:
            backend = getattr(self.storage, "_backend", self.storage)
            grace = getattr(backend, "grace_period", None)
            return grace if grace is not None else 2 * self.interval
        return GRACE_PERIOD


def claim(study, trials, n_iter, counted):
    """Split freshly asked trials into those that count and the surplus.

    The trials that count are, in trial-number order, the first ``n_iter``
    of those finished with results (``counted(trial)``), running or waiting
    in the queue. Two workers asking at once can overshoot the total; the
    asked trials past it are surplus.
    """
    from optuna.trial import TrialState

    live = (TrialState.RUNNING, TrialState.WAITING)
    ahead = sorted(
        t.number
        for t in study.get_trials(deepcopy=False)
        if t.state in live or counted(t)
    )
    keep, surplus = [], []
    for trial in trials:
        before = sum(n < trial.number for n in ahead)
        (keep if before < n_iter else surplus).append(trial)
    return keep, surplus
