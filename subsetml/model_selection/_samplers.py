"""Optimisers for :class:`SubsetSearchCV`, all as Optuna samplers.

Every optimiser runs behind the same Optuna study, so storage, resuming,
constant-liar parallel proposals and ``cv_results_`` work the same whatever
proposes the candidates. This module imports Optuna (and scikit-optimize for
``"gp"``); the search imports it only inside ``fit``.
"""

from __future__ import annotations

import copy
import math
import numbers
import threading
import warnings

import numpy as np
import optuna
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import TrialState

__all__ = ["SkoptGPSampler", "TrialSeededSampler", "make_sampler", "OPTIMIZERS"]

#: Names accepted by ``SubsetSearchCV(optimizer=...)``.
OPTIMIZERS = ("tpe", "gp", "random")


def startup_trials(n_iter):
    """Random trials before a model-based optimiser takes over, for a search
    of ``n_iter`` trials: a third of them, between 2 and 10.

    Optuna's and scikit-optimize's fixed 10 meant that a search of 10 trials
    or fewer never left its random start (issue 14).
    """
    return int(min(10, max(2, n_iter // 3)))


def random_start(optimizer, kwargs, n_iter):
    """Trials of the random start that ``make_sampler`` gives the optimiser.

    The start ``optimizer_kwargs`` sets (``n_initial_points``, or TPE's own
    ``n_startup_trials``) for ``"tpe"`` and ``"gp"``, else
    :func:`startup_trials` of ``n_iter`` (also for ``"random"`` and sampler
    instances, whose start is their own).
    """
    kwargs = kwargs or {}
    if isinstance(optimizer, str) and optimizer in ("tpe", "gp"):
        for key in ("n_initial_points", "n_startup_trials"):
            value = kwargs.get(key)
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                return int(value)
    return startup_trials(n_iter)


def make_sampler(optimizer, seed, kwargs=None, n_iter=None):
    """The Optuna sampler for an optimizer name or a sampler instance.

    Instances are deep-copied so that fitting twice starts from the same state.
    ``kwargs`` (``optimizer_kwargs``) go to the sampler's constructor: Optuna's
    ``TPESampler`` or ``RandomSampler``, or for ``"gp"`` scikit-optimize's
    ``Optimizer``. scikit-optimize's ``n_initial_points`` means TPE's
    ``n_startup_trials``. Unless given there, the random start of TPE and GP
    is :func:`startup_trials` of ``n_iter`` (10 when ``n_iter`` is None).
    """
    kwargs = dict(kwargs or {})
    start = 10 if n_iter is None else startup_trials(n_iter)
    if isinstance(optimizer, BaseSampler):
        if kwargs:
            raise ValueError(
                "optimizer_kwargs configure a named optimizer; a sampler instance "
                "is used as given (pass its arguments to its constructor)."
            )
        return _copy_sampler(optimizer)
    if optimizer == "tpe":
        if "n_initial_points" in kwargs:
            kwargs["n_startup_trials"] = kwargs.pop("n_initial_points")
        kwargs.setdefault("n_startup_trials", start)
        # Explicit rather than Optuna's defaults, which have changed between
        # releases: multivariate TPE models interactions between
        # hyper-parameters, and constant liar keeps n_points > 1 proposals of
        # one round apart from each other.
        options = {"multivariate": True, "constant_liar": True, **kwargs}
        with warnings.catch_warnings():
            # multivariate is flagged experimental in some Optuna releases.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _construct(TPESampler, seed, options, "optuna's TPESampler")
    if optimizer == "random":
        return _construct(RandomSampler, seed, kwargs, "optuna's RandomSampler")
    if optimizer == "gp":
        kwargs.setdefault("n_initial_points", start)
        return SkoptGPSampler(seed=seed, **_gp_kwargs(kwargs))
    raise ValueError(
        f"Unknown optimizer {optimizer!r}; choose one of {list(OPTIMIZERS)} or "
        "pass an optuna.samplers.BaseSampler instance."
    )


def trial_seed(seed, number):
    """The sampler seed for trial ``number`` of a search seeded ``seed``."""
    state = np.random.SeedSequence([int(seed), int(number)]).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)


class TrialSeededSampler(BaseSampler):
    """A named optimiser whose random draws for a trial depend on its number.

    A sampler seeded once per fit replays its draws whenever it starts
    again: a resumed search proposed its first trials again, and workers
    started together on one study proposed the same candidates (issue 16).
    Here each trial is proposed by a fresh :func:`make_sampler` seeded from
    ``(seed, trial number)``. Optuna's samplers read everything else from the
    study's trials, so nothing is lost, and a single worker stays
    reproducible.

    Parameters
    ----------
    optimizer : {"tpe", "gp", "random"}
    seed : int
    kwargs : dict or None
        ``optimizer_kwargs``.
    n_iter : int or None
        The search's trials (sets the random start).
    """

    def __init__(self, optimizer, seed, kwargs=None, n_iter=None):
        self._args = (optimizer, kwargs, n_iter)
        self._seed = int(seed)
        self._number = None
        self._inner = make_sampler(optimizer, seed, kwargs, n_iter)  # checks

    def _for(self, trial):
        if trial.number != self._number:
            optimizer, kwargs, n_iter = self._args
            self._inner = make_sampler(
                optimizer, trial_seed(self._seed, trial.number), kwargs, n_iter
            )
            self._number = trial.number
        return self._inner

    def reseed_rng(self):
        self._inner.reseed_rng()

    def before_trial(self, study, trial):
        self._for(trial).before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._for(trial).sample_independent(
            study, trial, param_name, param_distribution
        )

    def after_trial(self, study, trial, state, values):
        self._for(trial).after_trial(study, trial, state, values)


def _construct(cls, seed, kwargs, what):
    """``cls(seed=seed, **kwargs)``, with unknown arguments named clearly."""
    import inspect

    known = set(inspect.signature(cls).parameters) - {"seed"}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(
            f"optimizer_kwargs {unknown} are not arguments of {what}; it takes "
            f"{sorted(known)}. scikit-optimize's Optimizer arguments "
            "(base_estimator, acq_func, ...) go with optimizer='gp'."
        )
    return cls(seed=seed, **kwargs)


def _gp_kwargs(kwargs):
    """Split ``optimizer_kwargs`` for ``"gp"`` into SkoptGPSampler's own
    arguments and those passed on to ``skopt.Optimizer``."""
    import inspect

    from skopt import Optimizer

    own = {k: kwargs.pop(k) for k in ("n_initial_points", "acq_func") if k in kwargs}
    reserved = {"dimensions", "random_state", "n_initial_points", "acq_func"}
    known = set(inspect.signature(Optimizer).parameters) - reserved
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ValueError(
            f"optimizer_kwargs {unknown} are not arguments of scikit-optimize's "
            f"Optimizer; it takes {sorted(known | {'n_initial_points', 'acq_func'})}."
        )
    return {**own, "optimizer_kwargs": kwargs}


class SkoptGPSampler(BaseSampler):
    """scikit-optimize's Gaussian-process optimiser as an Optuna sampler.

    The first ``n_initial_points`` trials are drawn at random; afterwards each
    proposal refits ``skopt.Optimizer`` on the finished trials and asks it for
    one point. Trials still running are told with the best value seen so far
    (scikit-optimize's ``"cl_min"`` constant liar), so a round of ``n_points``
    proposals spreads out.

    Parameters
    ----------
    n_initial_points : int, default=10
        Random trials before the Gaussian process takes over.
    acq_func : str, default="gp_hedge"
        scikit-optimize's acquisition function.
    seed : int or None, default=None
    optimizer_kwargs : dict or None, default=None
        More arguments of ``skopt.Optimizer`` (``base_estimator``,
        ``acq_optimizer``, ``acq_func_kwargs``, ...).

    Examples
    --------
    >>> import optuna
    >>> from subsetml.model_selection._samplers import SkoptGPSampler
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> sampler = SkoptGPSampler(n_initial_points=3, seed=0)
    >>> study = optuna.create_study(sampler=sampler, direction="maximize")
    >>> study.optimize(lambda t: -((t.suggest_float("x", -2, 2) - 1) ** 2), n_trials=8)
    >>> bool(abs(study.best_params["x"] - 1) < 0.2)
    True
    """

    def __init__(
        self,
        *,
        n_initial_points=10,
        acq_func="gp_hedge",
        seed=None,
        optimizer_kwargs=None,
    ):
        self.n_initial_points = n_initial_points
        self.acq_func = acq_func
        self.optimizer_kwargs = dict(optimizer_kwargs or {})
        self._seed = seed
        self._rng = np.random.RandomState(seed)
        self._random = RandomSampler(seed=seed)
        self._space = IntersectionSearchSpace()

    def reseed_rng(self):
        self._rng = np.random.RandomState()
        self._random.reseed_rng()

    def infer_relative_search_space(self, study, trial):
        return {
            name: dist
            for name, dist in self._space.calculate(study).items()
            if not dist.single()
        }

    def sample_relative(self, study, trial, search_space):
        if not search_space:
            return {}
        names = list(search_space)
        done = _observed_at_highest_level(
            study, names, self.n_initial_points, exclude=trial.number
        )
        if done is None:
            return {}
        from skopt import Optimizer

        dims = [_skopt_dimension(search_space[n]) for n in names]
        sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
        xs = [[t.params[n] for n in names] for t, _ in done]
        ys = [sign * value for _, value in done]
        running = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.number != trial.number and all(n in t.params for n in names)
        ]
        lie = min(ys)
        xs += [[t.params[n] for n in names] for t in running]
        ys += [lie] * len(running)
        opt = Optimizer(
            dims,
            **{"base_estimator": "GP", **self.optimizer_kwargs},
            n_initial_points=1,
            acq_func=self.acq_func,
            random_state=self._rng.randint(np.iinfo(np.int32).max),
        )
        with warnings.catch_warnings():
            # The GP warns when a proposal repeats an earlier point.
            warnings.simplefilter("ignore", UserWarning)
            opt.tell(xs, ys)
            x = opt.ask()
        return {n: _python(v, search_space[n]) for n, v in zip(names, x)}

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._random.sample_independent(
            study, trial, param_name, param_distribution
        )


def _observed_at_highest_level(study, names, n_min, exclude=None):
    """``(trial, value)`` pairs at the highest fidelity that holds ``n_min``
    of them, or None when none does (the random start goes on).

    Without rungs that is every finished trial and its value. With rungs, a
    pruned trial's scores are its intermediate values, one per rung it
    reported at, and a finished trial's value is its last rung's: the GP
    learns from the trials at the highest rung reached by enough of them,
    as BOHB models the largest budget with enough observations (Falkner,
    Klein & Hutter, ICML 2018). Learning only from finished trials, under a
    pruner that stops most of them, it never left its random start (a
    review: 0 of 26 proposals in a search of 30).
    """
    levels = {}
    for t in study.get_trials(
        deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)
    ):
        if t.number == exclude or not all(n in t.params for n in names):
            continue
        if t.state == TrialState.COMPLETE and t.value is not None:
            levels.setdefault(math.inf, []).append((t, t.value))
        for step, value in t.intermediate_values.items():
            if value is not None and math.isfinite(value):
                levels.setdefault(step, []).append((t, value))
    for level in sorted(levels, reverse=True):
        if len(levels[level]) >= n_min:
            return levels[level]
    return None


def _skopt_dimension(dist):
    from skopt.space import Categorical, Integer, Real

    if isinstance(dist, FloatDistribution):
        return Real(dist.low, dist.high, prior="log-uniform" if dist.log else "uniform")
    if isinstance(dist, IntDistribution):
        return Integer(
            dist.low, dist.high, prior="log-uniform" if dist.log else "uniform"
        )
    if isinstance(dist, CategoricalDistribution):
        return Categorical(list(dist.choices))
    raise TypeError(f"Unsupported distribution for the GP optimiser: {dist!r}.")


def _python(value, dist):
    if isinstance(dist, FloatDistribution):
        return float(np.clip(value, dist.low, dist.high))
    if isinstance(dist, IntDistribution):
        return int(np.clip(value, dist.low, dist.high))
    value = value.item() if isinstance(value, np.generic) else value
    return value


def _copy_sampler(sampler):
    """A deep copy of an Optuna sampler, with fresh locks for the thread
    locks some hold (NSGA-II and NSGA-III keep one), which ``deepcopy``
    cannot copy (a review: such samplers failed at ``fit``)."""
    try:
        return copy.deepcopy(sampler)
    except TypeError:
        pass
    memo = {}
    for lock in _thread_locks(sampler):
        memo[id(lock)] = (
            threading.RLock() if "RLock" in type(lock).__name__ else threading.Lock()
        )
    return copy.deepcopy(sampler, memo)


def _thread_locks(obj, seen=None, depth=0):
    """The thread locks reachable from ``obj`` through attributes and
    containers (a few levels deep)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    if isinstance(obj, _LOCK_TYPES):
        return [obj]
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        children = list(vars(obj).values())
    else:
        return []
    return [lock for c in children for lock in _thread_locks(c, seen, depth + 1)]


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))
