"""Fits that can be stopped: SubsetSearchCV's trials under a time limit.

A Python thread cannot be interrupted, so a search with ``trial_timeout`` or
``timeout`` runs its fits in worker processes (loky, as joblib does) and, when
a round of fits overruns its limit, kills the workers still busy with it. The
data go to each worker once, when it starts, not with every fit.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import pickle
import time
import warnings

import numpy as np
from joblib import effective_n_jobs

from subsetml.model_selection._compat import _fit_and_score

__all__ = ["BoundedRunner", "timed_out"]

# Per worker process: the data of each runner that started it.
_DATA = {}
_KEYS = itertools.count()


def _set_data(key, X, y, warm_up=None):
    """A worker's start: it keeps the data. ``warm_up`` (the search's
    estimator and scorers, pickled by ``_pickled``) is loaded here, which
    imports their modules (torch for a skorch net) before any fit's limit
    counts. Only a head start: where it fails to load, the worker still
    starts, and each fit then fails to load it with its own error, as a fit
    in joblib's workers would (an initializer's error breaks the whole pool
    with a message that does not say why)."""
    _DATA.clear()  # a worker serves one runner
    _DATA[key] = (X, y)
    if warm_up is not None:
        try:
            pickle.loads(warm_up)
        except Exception:  # the fits report it (above)
            pass


def _pickled(warm_up):
    """``warm_up`` pickled as loky pickles a task (cloudpickle where it is
    installed, so lambdas travel), or None where it does not pickle: the fits
    then fail on it themselves."""
    if warm_up is None:
        return None
    from joblib.externals.loky.backend.reduction import dumps

    try:
        return bytes(dumps(warm_up))
    except Exception:
        return None


def _ready(key):
    return key in _DATA


def _fit_in_worker(key, estimator, train, test, kwargs, config, filters):
    from sklearn import config_context

    X, y = _DATA[key]
    # The parent's scikit-learn configuration (transform_output, metadata
    # routing, ...) and warnings filters, which a worker process does not
    # inherit (scikit-learn's Parallel sends both; the filters were lost
    # here, a review).
    with config_context(**config), warnings.catch_warnings():
        warnings.filters[:] = filters
        return _fit_and_score(estimator, X, y, train=train, test=test, **kwargs)


def _workers(n_jobs):
    """The pool's worker count and their environment, as joblib's loky
    backend makes them whatever backend is active: ``n_jobs`` as joblib
    reads it (None: the configured default), and thread limits of the cores
    over the workers (OpenMP, BLAS), or ``parallel_config``'s
    ``inner_max_num_threads``. Under dask, joblib's count is the cluster's
    cores, and the pool started one local process for each; without the
    limits each worker ran as many threads as the machine has cores (a
    review)."""
    try:
        from joblib._parallel_backends import LokyBackend
        from joblib.parallel import get_active_backend

        active, default = get_active_backend()
        backend = active if isinstance(active, LokyBackend) else LokyBackend()
        n = max(1, backend.effective_n_jobs(default if n_jobs is None else n_jobs))
        return n, backend._prepare_worker_env(n)
    except (ImportError, AttributeError, TypeError):  # another joblib
        return max(1, effective_n_jobs(n_jobs)), None


class BoundedRunner:
    """Runs ``_fit_and_score`` tasks in worker processes, each round within a
    time limit.

    Parameters
    ----------
    X, y : the search's data, sent to every worker once.
    n_jobs : int or None
        Worker processes (joblib's meaning: None is 1, -1 all cores).
    warm_up : object, optional
        Loaded by each worker as it starts, before any limit counts: the
        estimator and scorers the tasks will use, so that importing their
        modules is the workers' start-up, not a fit's time.
    """

    def __init__(self, X, y, n_jobs, warm_up=None):
        self.X = X
        self.y = y
        self._warm_up = _pickled(warm_up)
        self.n_workers, self._env = _workers(n_jobs)
        self.key = next(_KEYS)
        self._executor = None
        # Per task of the last run, the seconds a task not finished in time
        # ran before it was stopped (0 for one never started); None for the
        # tasks that finished.
        self.stopped_after = []
        # Seconds the last run spent starting workers (0 with a live pool):
        # a trial's limit over several rungs leaves them out too.
        self.startup_s = 0.0

    def _pool(self):
        from joblib.externals.loky.process_executor import ProcessPoolExecutor

        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.n_workers,
                initializer=_set_data,
                initargs=(self.key, self.X, self.y, self._warm_up),
                env=self._env,
            )
            # Start every worker (imports, data) before any limit counts: a
            # limit is the fits' time, not the workers' start-up.
            ready = [
                self._executor.submit(_ready, self.key) for _ in range(self.n_workers)
            ]
            for f in ready:
                f.result()
        return self._executor

    def run(self, tasks, limit):
        """Run ``(estimator, train, test, kwargs)`` tasks; None for each task
        not finished within ``limit`` seconds (None: no limit).

        Workers still busy at the limit are killed; the next round starts
        new ones. ``stopped_after`` then holds, per task, the seconds that a
        task left unfinished ran (0 for one that never started). An
        exception raised by a fit (``error_score="raise"``) propagates.
        """
        from sklearn import get_config

        if limit is not None and limit <= 0:
            # Nothing left of the limit (a trial's later rung): no fit is
            # started, rather than started and killed at once.
            self.startup_s = 0.0
            self.stopped_after = [0.0] * len(tasks)
            return [None] * len(tasks)
        t0 = time.monotonic()
        pool = self._pool()
        self.startup_s = time.monotonic() - t0
        config = get_config()
        filters = list(warnings.filters)
        deadline = None if limit is None else time.monotonic() + max(limit, 0.0)
        results = [None] * len(tasks)
        self.stopped_after = [None] * len(tasks)
        waiting = list(range(len(tasks)))
        running = {}
        started = {}
        try:
            while waiting or running:
                # Never more tasks submitted than workers: a task queued but
                # not started when the time runs out races loky's shutdown
                # (its queue thread then fails with a KeyError, and a
                # cancelled future made the shutdown fail before it killed
                # the workers, leaving a hung fit running).
                while waiting and len(running) < self.n_workers:
                    i = waiting.pop(0)
                    est, train, test, kwargs = tasks[i]
                    future = pool.submit(
                        _fit_in_worker,
                        self.key,
                        est,
                        train,
                        test,
                        kwargs,
                        config,
                        filters,
                    )
                    running[future] = i
                    started[i] = time.monotonic()
                left = None if deadline is None else max(deadline - time.monotonic(), 0)
                done, _ = concurrent.futures.wait(
                    running,
                    timeout=left,
                    return_when=concurrent.futures.FIRST_COMPLETED,
                )
                if not done:
                    break  # out of time: the rest stay None
                for future in done:
                    results[running.pop(future)] = future.result()
        except BaseException:
            self.close(kill=True)
            raise
        if running:
            now = time.monotonic()
            self.close(kill=True)
            for i in running.values():
                self.stopped_after[i] = now - started[i]
        for i in waiting:
            self.stopped_after[i] = 0.0
        return results

    def close(self, kill=False):
        if self._executor is not None:
            self._executor.shutdown(wait=not kill, kill_workers=kill)
            self._executor = None


#: How :func:`timed_out` results begin their ``fit_error``.
_STOPPED = "TimeoutError"


#: How a fit stopped by the search's ``timeout`` says so (its ``why``).
BUDGET_END = "end of the search's time budget"


def stopped_by_budget(error):
    """Whether a ``fit_error`` is that of a fit the search's ``timeout``
    stopped: not the configuration's doing, unlike ``trial_timeout``."""
    return stopped_at_limit(error) and BUDGET_END in str(error)


def stopped_at_limit(error):
    """Whether a ``fit_error`` is :func:`timed_out`'s (a fit stopped at its
    time limit), not the fit's own failure."""
    return str(error or "").startswith(_STOPPED)


def timed_out(scorers, error_score, n_test, seconds, why, train_scores=False):
    """A ``_fit_and_score`` result for a fit stopped at its time limit, after
    running ``seconds`` (its ``fit_time``)."""
    score = np.nan if isinstance(error_score, str) else error_score
    names = getattr(scorers, "_scorers", None)
    if isinstance(scorers, dict):
        names = scorers
    scores = {name: score for name in names} if names is not None else score
    out = {
        "fit_error": f"{_STOPPED}: {why}",
        "test_scores": scores,
        "n_test_samples": n_test,
        "fit_time": float(seconds),
        "score_time": 0.0,
    }
    if train_scores:
        out["train_scores"] = scores
    return out
