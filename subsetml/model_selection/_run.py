"""The ask, evaluate and tell loop behind :meth:`SubsetSearchCV.fit`.

:class:`_Run` holds the state of one ``fit``: the Optuna studies (one per
search space), the trials it asks for, their per-split results on each rung,
re-scoring of the best configurations on whole folds, the checks that a
stored study may be resumed, and the compute report. ``fit`` discards it once
its results are copied into the search's attributes.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import numbers
import pickle
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import rankdata
from sklearn.base import clone

# scikit-learn's Parallel and delayed carry its global configuration
# (transform_output, metadata routing, ...) into joblib's workers.
from sklearn.utils.parallel import Parallel, delayed

from subsetml._subset import Subset
from subsetml._validation import external_stacklevel
from subsetml.model_selection._bounded import (
    BUDGET_END,
    BoundedRunner,
    stopped_at_limit,
    stopped_by_budget,
    timed_out,
)
from subsetml.model_selection._compat import (
    ShownParams,
    Tasks,
    _fit_and_score,
    _insert_error_scores,
    fit_and_score_takes_callbacks,
)
from subsetml.model_selection._fidelity import (
    judging_order,
    round_size,
)
from subsetml.model_selection._refit import config_key
from subsetml.model_selection._subset_estimator import (
    _sample_weight_key,
    _weightless_name,
)
from subsetml.model_selection._trials import (
    _AdaptiveTrial,
    _continues,
    _load_faster,
    _PresetSubsetEstimator,
    _Rung,
    _scoring_fitted_model,
    _TrainMore,
)
from subsetml.model_selection._workers import (
    _SURPLUS_KEY,
    Heartbeat,
    claim,
    resolve_storage,
    retry_on_race,
)
from subsetml.selection._views import num_rows

# Keys under which a trial keeps its per-split results in the Optuna study, so
# a resumed search rebuilds ``cv_results_`` for trials of an earlier run.
_OUT_KEY = "subsetml:splits"
_SPACE_KEY = "subsetml:space"
_PRINT_KEY = "subsetml:fingerprint"
# The data's digests as earlier versions computed them (with a pandas
# index; with the target's container and integer width): a fingerprint's,
# never stored, so that studies stored then still resume.
_EARLIER_DATA = "data (as digested before)"
# What stored positions and quantiles stand for (choices, distributions):
# apart from _SPACE_KEY, so that studies stored before it still resume.
_VALUES_KEY = "subsetml:space_values"
_RUNG_KEY = "subsetml:rung"  # [last rung reached, pruned there]
_RESCORE_KEY = "subsetml:rescored"  # + ":<trial number>", in study attrs
_POLL_SECONDS = 0.5  # how often a worker waiting for others looks again


def _equal_choices_hint(space):
    """Why a study stored before choices that compare equal were encoded as
    positions (``[1, 1.0]``, ``[0, False]``, a repeat) no longer matches."""
    from subsetml.model_selection._spaces import _OPTUNA_SCALARS

    names = [
        d.name
        for d in space.dimensions
        if d.kind == "categorical"
        and d.encoded
        and all(type(c) in _OPTUNA_SCALARS for c in d.choices)
    ]
    if not names:
        return ""
    return (
        f" (or this one as an earlier subsetml stored it: {names} hold choices "
        "that compare equal, which are now stored as positions)"
    )


#: What each component of a stored study's fingerprint stands for
#: (``SubsetSearchCV._fingerprint``), for the refusal to resume it.
_FINGERPRINT_PARTS = {
    "data": "the rows' shape or contents, or X's type: an array and a "
    "DataFrame of the same numbers differ, as the estimator may read them "
    "otherwise",
    "estimator": "its type or parameters",
    "selector": "selector, subset_size, score_size, lastlayer, use_weights, "
    "resource or resource_rungs",
    "scoring": "the scoring parameter",
    "folds": "the train and test rows of cv's splits",
    "fit_params": "fit's keyword arguments such as sample_weight",
    "seed": "random_state, which draws the subsets",
    "objective": "refit, the metric of several that the study maximises",
}


def _and(items):
    """``"a"``, ``"a and b"``, ``"a, b and c"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _unseeded_splitter(cv):
    """Whether ``cv`` is a splitter that draws other folds on each call: it
    shuffles (or always does, as ShuffleSplit) with a ``random_state`` that
    is not an int."""
    if not hasattr(cv, "split") or not hasattr(cv, "random_state"):
        return False
    if getattr(cv, "shuffle", True) is False:
        return False
    return not isinstance(cv.random_state, numbers.Integral)


@dataclass(eq=False)
class _Run:
    """The ask/evaluate/tell loop of one ``fit`` (state that ``fit`` discards)."""

    search: object  # the SubsetSearchCV being fitted
    parallel: Parallel
    X: object
    y: object
    splits: list  # (train, test) index pairs
    rungs: list  # _Rung per subset size, smallest first
    full_rung: _Rung  # all rows of every fold, for re-scoring
    pruner: object  # the optuna pruner that stops trials between rungs
    n_rescore: int  # best configurations re-scored on full folds at the end
    weighted: bool  # whether the subsets' weights reach the estimator
    adaptive: bool  # skorch nets: every trial selects while it trains
    warm: bool  # epoch rungs continue the nets fitted at the rung below
    adaptive_seed: int
    scorers: object
    refit_metric: object
    fit_params: dict
    score_params: dict
    callbacks: list
    deadline: float | None  # time.monotonic() after which no round starts
    fingerprint: dict  # what a stored study must have been run on
    runner: BoundedRunner | None  # worker processes for time-limited fits
    tasks: Tasks  # scikit-learn callbacks' "search" task
    # Filled by the loop.
    params: list = field(default_factory=list, init=False)
    out: list = field(default_factory=list, init=False)
    more: dict = field(default_factory=dict, init=False)
    objective: list = field(default_factory=list, init=False)  # score per trial
    refs: list = field(default_factory=list, init=False)  # (study, number)
    # (id(study), number) of the trials this fit evaluated (the others come
    # from a storage or another worker): the compute report counts these.
    ran: set = field(default_factory=set, init=False)
    stopped: bool = field(default=False, init=False)
    space_start: int = field(default=0, init=False)  # first trial of its space
    # The space being searched (a SearchSpace), and its skopt.space.Space for
    # the callbacks (None without scikit-optimize).
    space: object = field(default=None, init=False)
    skopt_space: object = field(default=None, init=False)
    # (first, end, space, skopt space) of each space searched, for
    # optimizer_results_.
    space_bounds: list = field(default_factory=list, init=False)
    rescored: bool = field(default=False, init=False)
    total: int = field(default=0, init=False)
    seconds: dict = field(default_factory=dict, init=False)  # compute report
    n_fits: int = field(default=0, init=False)  # callback task ids
    # Weightless configurations already warned of (once per search: inside
    # scikit-learn's fit helper the warning came once per trial and split).
    weightless: set = field(default_factory=set, init=False)
    # Re-scored trials: the rung each had reached in the search.
    reached: dict = field(default_factory=dict, init=False)

    @functools.cached_property
    def _wrapped_scorers(self):
        """The scorers as called with the model a trial's wrapper fitted."""
        return _scoring_fitted_model(self.scorers)

    @property
    def multi_fidelity(self):
        return len(self.rungs) > 1 or self.rescored

    def _judging(self, reported, trials):
        """``reported`` ((score, position) of a round's trials at a rung) in
        the order the pruner judges them.

        Optuna's successive halving judges each trial against those judged
        before it at the rung: :func:`judging_order` orders the round so that
        it keeps what a synchronous round would, given the scores earlier
        rounds left at that rung (read from the study). Any other pruner
        (Hyperband's brackets, median, ...) judges the round best first.
        """
        import optuna

        by_score = sorted(reported, key=lambda vj: -vj[0])
        if not reported or type(self.pruner) is not (
            optuna.pruners.SuccessiveHalvingPruner
        ):
            return by_score
        study = trials[reported[0][1]].study
        numbers_ = {trials[j].number for _, j in reported}
        frozen = study.get_trials(deepcopy=False)
        attrs = next(t.system_attrs for t in frozen if t.number in numbers_)
        # The pruner's own key for the rung these trials are judged at: the
        # rungs they have completed so far (optuna's _completed_rung_key).
        key = "completed_rung_{}".format(
            sum(k.startswith("completed_rung_") for k in attrs)
        )
        earlier = [
            t.system_attrs[key]
            for t in frozen
            if key in t.system_attrs and t.number not in numbers_
        ]
        factor = self.pruner._reduction_factor
        order = judging_order([v for v, _ in reported], factor, earlier)
        return [reported[i] for i in order]

    # ------------------------------------------------------------ loop
    def search_all(self, spaces, seeds):
        import optuna

        from subsetml.model_selection._samplers import (
            TrialSeededSampler,
            make_sampler,
        )

        s = self.search
        level = optuna.logging.get_verbosity()
        if s.verbose < 2:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            storage = resolve_storage(s.storage)
            studies = []
            for i, (space, seed) in enumerate(zip(spaces, seeds)):
                name = s.study_name or "subsetml"
                if len(spaces) > 1:
                    name = f"{name}:{i}"
                study = retry_on_race(
                    functools.partial(
                        optuna.create_study,
                        storage=storage,
                        # Named in memory too: Optuna's HyperbandPruner
                        # draws each trial's bracket from the study's name
                        # (a random one by default; a review).
                        study_name=name,
                        sampler=(
                            # With a storage, resumes and other workers must
                            # not replay this fit's draws: each trial's come
                            # from its number.
                            TrialSeededSampler
                            if storage is not None and isinstance(s.optimizer, str)
                            else make_sampler
                        )(s.optimizer, seed, s.optimizer_kwargs, space.n_iter),
                        pruner=copy.deepcopy(self.pruner),
                        direction="maximize",
                        load_if_exists=True,
                    )
                )
                if not isinstance(s.optimizer, str) and (
                    storage is not None or study.get_trials(deepcopy=False)
                ):
                    # A sampler instance (copied as given) on a study that
                    # has trials, from an earlier fit or another worker,
                    # would replay their draws, and workers started at once
                    # on a stored study would draw the same ones (a review):
                    # reseed its copy.
                    study.sampler.reseed_rng()
                studies.append((study, space))
            self.total = sum(sp.n_iter for _, sp in studies)
            bar = _progress(s.verbose, self.total)
            try:
                for study, space in studies:
                    # A callback stops one space, as skopt's do in
                    # BayesSearchCV; its results describe that space.
                    self.stopped = False
                    self.space_start = len(self.params)
                    self.space = space
                    self.skopt_space = _skopt_space(space)
                    self._search_space(study, space, bar, shared=storage is not None)
                    self.space_bounds.append(
                        (self.space_start, len(self.params), space, self.skopt_space)
                    )
            finally:
                bar.close()
        finally:
            optuna.logging.set_verbosity(level)
        return [study for study, _ in studies]

    def _check_study(self, study, space):
        """Refuse a stored study run on another space, data or selection, or
        one that minimises."""
        import optuna

        directions = study.directions
        if directions != [optuna.study.StudyDirection.MAXIMIZE]:
            # `optuna create-study` minimises unless told: loaded as it is,
            # TPE and the pruners would chase the worst scores (a review).
            names = ", ".join(d.name.lower() for d in directions)
            raise ValueError(
                f"The Optuna study {study.study_name!r} in this storage was "
                f"created to {names} (optuna create-study minimises unless "
                "given --direction maximize); a search maximises its scores. "
                "Create it with --direction maximize, or let the search "
                "create it."
            )
        dists = space.to_optuna()
        signature = json.dumps({n: repr(d) for n, d in dists.items()}, sort_keys=True)
        values = json.dumps(space.describe(), sort_keys=True)
        for key, mine in ((_SPACE_KEY, signature), (_VALUES_KEY, values)):
            known = study.user_attrs.get(key)
            if known is None:
                study.set_user_attr(key, mine)
            elif known != mine:
                raise ValueError(
                    f"The Optuna study {study.study_name!r} in this storage holds "
                    f"a different search space{_equal_choices_hint(space)}; use "
                    "another study_name or storage."
                )
        if self.fingerprint:
            stored = study.user_attrs.get(_PRINT_KEY)
            mine = dict(self.fingerprint)
            earlier = mine.pop(_EARLIER_DATA, [])
            if stored is None:
                study.set_user_attr(_PRINT_KEY, mine)
            else:
                # Both ways: a component only one side has (fit parameters)
                # changed too.
                changed = [
                    k
                    for k in sorted(set(mine) | set(stored))
                    if stored.get(k) != mine.get(k)
                    # Studies stored before these were components.
                    and not (k in ("seed", "objective") and k not in stored)
                    # Stored by an earlier version, of the same data.
                    and not (k == "data" and stored.get(k) in earlier)
                ]
                if changed:
                    what = [f"{k} ({_FINGERPRINT_PARTS.get(k, k)})" for k in changed]
                    hint = ""
                    if "seed" in changed and not isinstance(
                        self.search.random_state, numbers.Integral
                    ):
                        hint += (
                            " With random_state=None (or a RandomState "
                            "instance) every fit draws other subsets: give it "
                            "an int to resume a study or share it between "
                            "workers."
                        )
                    if "folds" in changed and _unseeded_splitter(self.search.cv):
                        cv = type(self.search.cv).__name__
                        hint += (
                            f" The cv, a {cv} without an int random_state, "
                            "draws other folds on every fit: give it one (e.g. "
                            f"{cv}(..., random_state=0)) to resume a study."
                        )
                    raise ValueError(
                        f"The Optuna study {study.study_name!r} in this storage "
                        f"was run with other {_and(what)}.{hint} Its results "
                        "would not be this search's: use another study_name or "
                        "storage, or delete the study."
                    )
        return dists

    def _search_space(self, study, space, bar, shared):
        """Run one space's trials until the study holds ``n_iter`` of them.

        With a storage (``shared``), other workers may fit the same study at
        the same time: their finished trials are reported here too, running
        ones take their place in the count, and dead workers' trials are
        failed and queued again (:mod:`._workers`).
        """
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        from subsetml.model_selection._samplers import random_start

        dists = self._check_study(study, space)
        heart = Heartbeat(study) if shared else None
        finished = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)

        def counted(t):
            return t.state in finished and _OUT_KEY in t.user_attrs

        per_round = round_size(
            self.search.n_points,
            space.n_iter,
            [rung.step for rung in self.rungs],
            self.pruner,
            rows=self.search.resource == "n_samples",
            net=self.search._is_net(),
            timed=self.runner is not None,
            start=random_start(
                self.search.optimizer, self.search.optimizer_kwargs, space.n_iter
            ),
        )
        first = len(self.params)
        seen = set()  # trial numbers recorded (or left out as extra)
        done = extra = 0
        after_round = spent = False
        while True:
            if heart is not None:
                heart.fail_stale()
            trials_now = study.get_trials(deepcopy=False)
            new = 0
            for t in trials_now:
                if t.number in seen or not counted(t):
                    continue
                seen.add(t.number)
                if done == space.n_iter:
                    extra += 1  # beyond this fit's n_iter: not reported
                    continue
                rung, pruned = t.user_attrs.get(_RUNG_KEY, (0, False))
                self._record(
                    space.decode(t.params),
                    t.user_attrs[_OUT_KEY],
                    rung,
                    pruned,
                    (study, t.number),
                )
                done += 1
                new += 1
            if new:
                bar.update(new)
                self._show_best(bar)
            if after_round:
                self._run_callbacks()
                after_round = False
            if done >= space.n_iter or self.stopped or spent:
                break
            if (
                self.deadline is not None
                and self.params  # at least one round, so there is a result
                and time.monotonic() >= self.deadline
            ):
                break
            running = sum(t.state == TrialState.RUNNING for t in trials_now)
            free = space.n_iter - done - running
            if free <= 0:
                # The rest is running in other workers: wait for them (or for
                # their heartbeats to stop), within this fit's time budget.
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    break
                time.sleep(_POLL_SECONDS)
                continue
            n_ask = min(per_round, free)
            with warnings.catch_warnings():
                # Optuna expects heartbeats with Study.optimize only; this
                # loop records them itself (Heartbeat.beating).
                warnings.filterwarnings("ignore", "Heartbeat of storage")
                trials = [study.ask(dists) for _ in range(n_ask)]
            if heart is not None:
                for trial in trials:
                    heart.started(trial)
                trials, surplus = claim(study, trials, space.n_iter, counted)
                for trial in surplus:
                    # Another worker took the last places meanwhile.
                    trial.set_user_attr(_SURPLUS_KEY, True)
                    _tell(study, trial, state=TrialState.FAIL)
                if not trials:
                    continue
            if _grid_sampler(study.sampler):
                # A grid spent within a round (or before it: a finished
                # study fitted again) gives repeats, which Study.optimize
                # would not run: close them unrun, and end after the round
                # (a review: rounds of n_points re-ran grid points).
                trials, repeats = _without_repeats(study, trials)
                for trial in repeats:
                    trial.set_user_attr(_SURPLUS_KEY, True)
                    _tell(study, trial, state=TrialState.FAIL)
                spent |= bool(repeats)
                if not trials:
                    continue
            candidates = [space.decode(t.params) for t in trials]
            try:
                with heart.beating(trials) if heart is not None else nullcontext():
                    results = self._climb(trials, candidates)
            except BaseException as exc:
                # Close this round's trials (closed trials without results
                # never count). Interrupted (KeyboardInterrupt, SystemExit),
                # their candidates go first in the next fit of this study; an
                # error a fit raised (error_score="raise") is not queued
                # again, or every later fit, and every worker, would raise it.
                interrupted = not isinstance(exc, Exception)
                for trial in trials:
                    try:
                        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                        if interrupted:
                            study.enqueue_trial(trial.params, skip_if_exists=False)
                    except Exception:  # the first error wins
                        pass
                raise
            unfinished = [t for t, res in zip(trials, results) if res is None]
            for trial in unfinished:
                # Stopped by the search's time budget before its first rung
                # ended: closed without results, and its candidate goes
                # first in the next fit, as an interrupted trial's (it was
                # stored as failed for good, a review).
                study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
                study.enqueue_trial(trial.params, skip_if_exists=False)
            if unfinished:
                warnings.warn(
                    f"The search's time budget (timeout={self.search.timeout!r}) "
                    f"stopped {len(unfinished)} trial(s) before their first "
                    "results; they are left out of cv_results_"
                    + (
                        ", and the next fit of this study runs them first."
                        if shared
                        else "."
                    ),
                    UserWarning,
                    stacklevel=external_stacklevel(),
                )
            trials, results = (
                [t for t, res in zip(trials, results) if res is not None],
                [res for res in results if res is not None],
            )
            lost = self._lost(study, trials)  # failed as stale meanwhile
            for trial, (splits_out, rung, pruned) in zip(trials, results):
                splits_out = [_jsonable(o) for o in splits_out]
                value = self._value(splits_out)
                if pruned:
                    told = {"state": TrialState.PRUNED}
                elif math.isfinite(value):
                    told = {"values": value}
                else:
                    told = {"state": TrialState.FAIL}
                try:
                    if trial.number in lost:
                        raise UpdateFinishedTrialError
                    trial.set_user_attr(_OUT_KEY, splits_out)
                    trial.set_user_attr(_RUNG_KEY, [rung, pruned])
                    self.ran.add((id(study), trial.number))
                    # Already finished here means failed as stale in the
                    # moment since the check above: the results then count
                    # once more, as its queued copy will (a rare repeat, not
                    # a crash).
                    spent |= _tell(study, trial, skip_if_finished=True, **told)
                except UpdateFinishedTrialError:
                    # Failed as stale by another worker (this one's heartbeat
                    # stalled): its candidate was queued again there.
                    warnings.warn(
                        f"Trial {trial.number} of study {study.study_name!r} "
                        "was failed by another worker, which found its "
                        "heartbeat stale; its results are dropped.",
                        UserWarning,
                        stacklevel=external_stacklevel(),
                    )
            after_round = True
        if extra:
            warnings.warn(
                f"The Optuna study {study.study_name!r} holds {done + extra} "
                f"finished trials; this search reports its first n_iter={done}.",
                UserWarning,
                stacklevel=external_stacklevel(),
            )
        self._order_records(first)

    @staticmethod
    def _lost(study, trials):
        """Numbers of ``trials`` another worker has failed (found stale)."""
        from optuna.trial import TrialState

        mine = {t.number for t in trials}
        return {
            t.number
            for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            if t.number in mine
        }

    def _order_records(self, first):
        """Records from ``first`` on in trial-number order (workers finish
        trials out of order)."""
        numbers = [number for _, number in self.refs[first:]]
        order = np.argsort(numbers, kind="stable")
        if np.all(order[1:] > order[:-1]):
            return
        n_splits = len(self.splits)
        idx = [first + int(i) for i in order]
        self.params[first:] = [self.params[i] for i in idx]
        self.refs[first:] = [self.refs[i] for i in idx]
        self.objective[first:] = [self.objective[i] for i in idx]
        self.out[first * n_splits :] = [
            o for i in idx for o in self.out[i * n_splits : (i + 1) * n_splits]
        ]
        for values in self.more.values():
            values[first:] = [values[i] for i in idx]

    def _climb(self, trials, candidates):
        """Run candidates up the rungs until the pruner stops them.

        Returns, per candidate, ``(splits_out, rung, pruned)``: the results of
        the last rung it ran (fit and score times summed over its rungs), that
        rung's index, and whether the pruner stopped it there.
        """
        from optuna.exceptions import UpdateFinishedTrialError

        n_splits = len(self.splits)
        last = len(self.rungs) - 1
        results = [None] * len(candidates)
        spent = [None] * len(candidates)
        fitted = [None] * len(candidates)  # per split, with warm rungs
        alive = list(range(len(candidates)))
        start = time.monotonic()
        for r, rung in enumerate(self.rungs):
            if not alive:
                break
            if (
                r
                and self.deadline is not None
                and self.params  # the first round runs to the end
                and time.monotonic() >= self.deadline
            ):
                # Out of time: trials still climbing stop at the rung they
                # reached, as if pruned there.
                for j in alive:
                    results[j] = (results[j][0], r - 1, True)
                break
            more = None
            if self.warm and r:
                more = (
                    [fitted[j] for j in alive],
                    rung.value - self.rungs[r - 1].value,
                )
            outs = self._evaluate(
                [candidates[j] for j in alive], rung, *self._limit(start), more=more
            )
            if self.runner is not None:
                # Starting worker processes is not the trial's time (a
                # review: counted, a later rung's limit was spent before
                # it began, and every trial of a fast search failed).
                start += self.runner.startup_s
            reported = []
            for i, j in enumerate(alive):
                splits_out = outs[i * n_splits : (i + 1) * n_splits]
                if self.warm:
                    fitted[j] = [o.pop("estimator", None) for o in splits_out]
                spent[j] = _add_times(spent[j], splits_out)
                if any(stopped_by_budget(o.get("fit_error")) for o in splits_out):
                    # The search's time budget ended this rung's fits, not
                    # the configuration: it stops at the rung below, as if
                    # pruned there (its score was lost, a review), or, at
                    # the first rung, has no result (None: queued again).
                    results[j] = (results[j][0], r - 1, True) if r else None
                    continue
                results[j] = (splits_out, r, False)
                if r == last:
                    continue
                value = self._value(splits_out)
                if not math.isfinite(value) or any(
                    o.get("fit_error") is not None for o in splits_out
                ):
                    # Failed (a numeric error_score too, whose score is no
                    # result: it was reported and the trial climbed on, to
                    # fail on more rows, a review): it stops here, and is
                    # told so.
                    continue
                try:
                    trials[j].report(value, rung.step)
                except UpdateFinishedTrialError:
                    # Failed as stale by another worker meanwhile (this one's
                    # heartbeat stalled): it stops here; its tell is skipped.
                    continue
                reported.append((value, j))
            # The round's trials all report, then the pruner judges them.
            still = []
            for _, j in self._judging(reported, trials):
                try:
                    prune = trials[j].should_prune()
                except UpdateFinishedTrialError:
                    continue
                if prune:
                    results[j] = (results[j][0], r, True)
                    continue
                still.append(j)
            if self.warm:
                # Only trials going on up need their fitted models (a
                # forest's can be large).
                for j in set(alive) - set(still):
                    fitted[j] = None
            alive = sorted(still)
        for j, result in enumerate(results):
            if result is None:
                continue
            splits_out, r, pruned = result
            results[j] = (_with_times(splits_out, spent[j]), r, pruned)
            if self.warm and r == last and not pruned:
                # Its rungs together are one fit at the last value: what a
                # full-data search's fit costs (the compute report's basis).
                self.seconds.setdefault("full_fits", []).extend(
                    o["fit_time"] + o["score_time"]
                    for o in results[j][0]
                    if o.get("fit_error") is None
                )
        return results

    def rescore(self):
        """Re-score the best configurations on full folds (``rescore``).

        Their rows of ``cv_results_`` then hold full-fold scores and the
        rung ``len(subset_size)``, which ranks above every subset rung: a
        configuration that does well on subsets and fails on all rows cannot
        be the best. Results are kept in the study, so a resumed search does
        not fit them again.
        """
        n = min(self.n_rescore, len(self.params))
        if n == 0:
            return
        # The best distinct configurations (see config_key): those of the
        # highest rung, then, when it holds fewer, the best of the rungs
        # below (pruned there), so that k configurations compete on all rows.
        top, seen = [], set()
        failed = self.failed_trials()
        for i in _order_by_rung(self.objective, self.more["rung"], failed):
            key = config_key(self.params[i])
            if not math.isfinite(self.objective[i]) or failed[i]:
                continue
            if key not in seen:
                seen.add(key)
                top.append(i)
            if len(top) == n:
                break
        todo = []
        for i in top:
            study, number = self.refs[i]
            stored = study.user_attrs.get(f"{_RESCORE_KEY}:{number}")
            if stored is None:
                todo.append(i)
            else:
                self._replace(i, stored)
        if todo:
            t0 = time.perf_counter()
            trial_timeout = self.search.trial_timeout
            if trial_timeout is None:
                outs = self._evaluate(
                    [self.params[i] for i in todo], self.full_rung, positions=todo
                )
            else:
                # trial_timeout is per configuration: each is re-scored
                # within its own limit (its splits in parallel).
                outs = []
                for i in todo:
                    outs += self._evaluate(
                        [self.params[i]], self.full_rung, trial_timeout, positions=[i]
                    )
            self.seconds["rescore"] = time.perf_counter() - t0
            n_splits = len(self.splits)
            for k, i in enumerate(todo):
                splits_out = [
                    _jsonable(o) for o in outs[k * n_splits : (k + 1) * n_splits]
                ]
                study, number = self.refs[i]
                study.set_user_attr(f"{_RESCORE_KEY}:{number}", splits_out)
                self._replace(i, splits_out)
        self.rescored = True

    def _replace(self, i, splits_out):
        """Trial ``i``'s row becomes its full-fold results."""
        n_splits = len(self.splits)
        old = self.out[i * n_splits : (i + 1) * n_splits]
        self.out[i * n_splits : (i + 1) * n_splits] = _with_times(
            splits_out, _add_times(_add_times(None, old), splits_out)
        )
        # Counted in the compute report's rescore_s, not in its trials' time.
        self.seconds.setdefault("rescore_per_trial", {})[i] = [
            float(np.nansum([o.get(key, np.nan) for o in splits_out]))
            for key in ("fit_time", "score_time")
        ]
        self.objective[i] = self._value(splits_out)
        self.params[i] = {**self.params[i], **self.full_rung.params}
        self.reached[i] = self.more["rung"][i]
        self.more["rung"][i] = len(self.rungs)
        self.more["subset_size"][i] = float(np.mean(self.full_rung.budgets))

    def _warn_weightless(self, est):
        """Warn, once per search and model, that a configuration's model
        takes no sample_weight and fits its subsets without the weights."""
        if _sample_weight_key(est) is not None:
            return
        name = _weightless_name(est)
        if name in self.weightless:
            return
        self.weightless.add(name)
        warnings.warn(
            f"{name}.fit does not take sample_weight: the configurations with "
            "it fit on their subsets without the selector's weights, which the "
            "search's estimator takes.",
            UserWarning,
            stacklevel=external_stacklevel(),
        )

    def _evaluate(
        self,
        candidates,
        rung,
        limit=None,
        reason="trial_timeout",
        more=None,
        positions=None,
    ):
        """Fit and score candidates on every split of a rung.

        With a ``runner`` (``trial_timeout`` or ``timeout`` set) the fits run
        in worker processes, and those not done within ``limit`` seconds are
        stopped and count as failed fits. ``more`` is ``(fitted, epochs)``
        for warm epoch rungs: each candidate's nets fitted at the rung below
        (per split; None where that fit failed), trained ``epochs`` more.
        With ``warm``, every out keeps its fitted estimator (``"estimator"``).
        ``positions``: the candidates' trial numbers for the verbose lines
        (re-scored trials keep theirs); by default the next ones.
        """
        s = self.search
        jobs = []
        for ci, params in enumerate(candidates):
            for si, (train, _) in enumerate(self.splits):
                rows = train  # the rows the fit gets (and train scores use)
                est = clone(s.estimator).set_params(**clone(params, safe=False))
                if rung.params:
                    est.set_params(**rung.params)
                _load_faster(est)
                plain = est
                below = None if more is None else more[0][ci]
                if (
                    below is not None
                    and below[si] is not None
                    # The trial's own parameters may rule a continued fit
                    # out (a searched n_iter_no_change or oob_score, another
                    # model step): then it fits from the start.
                    and _continues(plain, s.resource)
                ):
                    est = _TrainMore(below[si], params=rung.params, epochs=more[1])
                elif self.adaptive and not rung.full:
                    est = _AdaptiveTrial(
                        est,
                        selector=s.selector,
                        subset_size=rung.size,
                        random_state=self.adaptive_seed,
                    )
                elif rung.subsets[si] is not None:
                    subset = rung.subsets[si]
                    if s.return_train_score:
                        # The subset's rows themselves, so that train scores
                        # are of the rows the trial trained on, as in
                        # GridSearchCV (the same fit).
                        rows = np.asarray(train)[subset.indices]
                        subset = Subset(np.arange(subset.size), subset.weights)
                    if self.weighted:
                        self._warn_weightless(est)
                    est = _PresetSubsetEstimator(
                        est, subset=subset, use_weights=self.weighted
                    )
                kwargs = dict(
                    # Scorers get the fitted model, not the trial's wrapper.
                    scorer=self.scorers if est is plain else self._wrapped_scorers,
                    # scikit-learn's own levels: per-fit lines from 2 on, with
                    # scores from 3 (as GridSearchCV and BayesSearchCV print
                    # them).
                    verbose=s.verbose,
                    # Shown in those lines, as GridSearchCV and BayesSearchCV
                    # show them; already set on est (or inside its wrapper).
                    parameters=ShownParams({**params, **rung.params}),
                    fit_params=self.fit_params,
                    score_params=self.score_params,
                    return_train_score=s.return_train_score,
                    return_n_test_samples=True,
                    return_times=True,
                    # An adaptive trial's selection time, a warm rung's net;
                    # nothing else travels back from a worker.
                    return_estimator=self.warm or isinstance(est, _AdaptiveTrial),
                    split_progress=(si, len(self.splits)),
                    candidate_progress=(
                        len(self.params) + ci if positions is None else positions[ci],
                        self.total,
                    ),
                    error_score=s.error_score,
                )
                if fit_and_score_takes_callbacks:
                    kwargs["caller"] = s
                    kwargs["callback_ctx"] = self.tasks.leaf(
                        "candidate-split-evaluation", self.n_fits
                    )
                self.n_fits += 1
                jobs.append((est, rows, rung.tests[si], kwargs))
        try:
            if self.runner is None:
                outs = self.parallel(
                    delayed(_fit_and_score)(
                        est, self.X, self.y, train=train, test=test, **kwargs
                    )
                    for est, train, test, kwargs in jobs
                )
            else:
                outs = self.runner.run(jobs, limit)
        except pickle.PicklingError as exc:
            if not self.warm:
                raise
            # Warm rungs go on from the nets fitted at the rung below, which
            # travel back from the worker processes (a review).
            raise TypeError(
                f"Rungs of {s.resource!r} continue the models fitted at the "
                "rung below, so with n_jobs > 1, timeout or trial_timeout the "
                "fitted models come back from worker processes, and pickling "
                f"one failed ({exc}). skorch pickles a net's module class by "
                "reference: define it in an importable module rather than in "
                "a script's or notebook's __main__, or run with n_jobs=1 and "
                "no timeout."
            ) from exc
        if self.runner is not None:
            why = (
                f"the fit was stopped after {max(limit, 0):.3g} s, at the "
                + (
                    f"trial's limit (trial_timeout={s.trial_timeout!r})"
                    if reason == "trial_timeout"
                    else f"{BUDGET_END} (timeout={s.timeout!r})"
                )
                if limit is not None
                else ""
            )
            if (
                s.error_score == "raise"
                and reason == "trial_timeout"
                and any(o is None for o in outs)
            ):
                # A fit over its limit is a failed fit: error_score="raise"
                # raises, as for any other failure.
                raise TimeoutError(f"A fit of the search failed: {why}.")
            outs = [
                o
                if o is not None
                else timed_out(
                    self.scorers,
                    s.error_score,
                    len(t[2]),
                    # The seconds it ran (0 if it never started), not the
                    # limit: the splits of a round share it.
                    spent,
                    why
                    if spent > 0 or not why
                    else why.replace(
                        "the fit was stopped after", "the fit had not started after"
                    ),
                    train_scores=s.return_train_score,
                )
                for o, t, spent in zip(outs, jobs, self.runner.stopped_after)
            ]
        if rung.full and rung.top and not self.warm:
            # (Warm rungs' last fits are the last epochs only: _climb records
            # the sums of their rungs.)
            self.seconds.setdefault("full_fits", []).extend(
                o["fit_time"] + o["score_time"] for o in outs
            )
        for o in outs:
            if self.warm:
                # Kept for the next rung: the net itself, not the wrapper.
                est = o.get("estimator")
                if isinstance(est, _TrainMore):
                    o["estimator"] = getattr(est, "estimator_", None)
                if o.get("fit_error") is not None:
                    o["estimator"] = None
                continue
            # An adaptive trial selected while it trained: keep its selection
            # time, not the fitted net.
            est = o.pop("estimator", None)
            if est is not None:
                o["selection_time"] = float(getattr(est, "selection_time_", 0.0))
        return outs

    def _limit(self, start):
        """Seconds left for a round of fits that started at ``start``, and
        which limit that is (``"trial_timeout"``, ``"timeout"``)."""
        s = self.search
        now = time.monotonic()
        limits = []
        if s.trial_timeout is not None:
            limits.append((s.trial_timeout - (now - start), "trial_timeout"))
        if self.deadline is not None and self.params:
            # The search's budget, once a trial has finished: the first round
            # always runs (bounded by trial_timeout only), so a search has a
            # result to return.
            limits.append((self.deadline - now, "timeout"))
        return min(limits) if limits else (None, None)

    def failed_trials(self):
        """Per trial, whether any of its fits failed (or timed out)."""
        n = len(self.splits)
        return [
            any(o.get("fit_error") is not None for o in self.out[i * n : (i + 1) * n])
            for i in range(len(self.params))
        ]

    def _value(self, splits_out):
        """The score the optimiser maximises: the mean over splits."""
        scores = []
        for o in splits_out:
            score = o["test_scores"]
            if isinstance(score, dict):
                metric = self.refit_metric
                if metric not in score:
                    metric = self.search.refit
                if not (isinstance(metric, str) and metric in score) and score:
                    # A callable scoring's dict, refit not naming a key: its
                    # first metric, as for a list of metrics.
                    metric = next(iter(score))
                score = score.get(metric, np.nan)
            scores.append(np.nan if score is None else float(score))
        return float(np.mean(scores)) if scores else np.nan

    def _record(self, params, splits_out, rung, pruned, ref):
        """Append one trial; return the score the optimiser maximises."""
        if self.search.return_train_score:
            # A stored trial run without train scores (a study resumed with
            # return_train_score=True) has none to report: NaN, not a
            # KeyError inside scikit-learn's formatting.
            splits_out = [
                o if "train_scores" in o else {**o, "train_scores": _nan_like(o)}
                for o in splits_out
            ]
        # Failed fits score this fit's error_score, as scikit-learn scores
        # every failure: a study resumed with another one mixed NaN and 0.0
        # (a review). New trials' outputs already hold it.
        splits_out = [_rescored_failure(o, self.search.error_score) for o in splits_out]
        level = self.rungs[min(rung, len(self.rungs) - 1)]
        # A resource rung's value is part of what the trial's score means.
        self.params.append({**params, **level.params})
        self.out.extend(splits_out)
        self.refs.append(ref)
        extra = {
            "subset_size": float(np.mean(level.budgets)),
            "selection_time": float(np.mean(level.times)),
        }
        if "selection_time" in splits_out[0]:
            extra["selection_time"] = float(
                np.mean([o.get("selection_time", np.nan) for o in splits_out])
            )
        extra["rung"] = int(rung)
        extra["pruned"] = bool(pruned)
        for key, value in extra.items():
            self.more.setdefault(key, []).append(value)
        value = self._value(splits_out)
        self.objective.append(value)
        return value

    def compute_report(
        self,
        search_time,
        refit_time,
        selection_time,
        refit_fit_s=None,
        n_collapsed=0,
        *,
        score_s=None,
        best=None,
    ):
        """Where the search's seconds went, and the full-data search's cost.

        ``refit_fit_s`` is the kept refit's own fit (``refit_time`` also
        counts refits that collapsed, ``n_collapsed`` of them); ``score_s``
        what the refit model takes to predict one whole test fold, when
        timed; ``best`` the trial refit (``best_index_``).
        """
        n_splits = len(self.splits)
        # Only the trials this fit evaluated: a resumed study's stored trials
        # (and another worker's) cost this fit nothing.
        own = [
            i
            for i, (study, number) in enumerate(self.refs)
            if (id(study), number) in self.ran
        ]
        out = [o for i in own for o in self.out[i * n_splits : (i + 1) * n_splits]]
        in_fits = [o["selection_time"] for o in out if "selection_time" in o]
        if in_fits:
            # A net selects inside its fits: this fit's trials' selections
            # (as their fit_time holds them), not the stored trials'.
            selection_time = float(np.nansum(in_fits))
        # Re-scored trials' rows hold their re-scoring too: it is rescore_s.
        again = self.seconds.get("rescore_per_trial", {})
        fit = float(np.nansum([o.get("fit_time", np.nan) for o in out])) - sum(
            again[i][0] for i in own if i in again
        )
        score = float(np.nansum([o.get("score_time", np.nan) for o in out])) - sum(
            again[i][1] for i in own if i in again
        )
        # Fits stopped at a time limit (trial_timeout, timeout), with the
        # seconds they ran: for the not-faster warning only.
        stopped = [
            o.get("fit_time", 0.0) for o in out if stopped_at_limit(o.get("fit_error"))
        ]
        self.seconds["stopped_fits"] = (len(stopped), float(np.nansum(stopped)))
        n_trials = len(own)
        pruned = self.more.get("pruned", [])
        rungs = self.more.get("rung", [])
        report = {
            "search_s": float(search_time),
            "selection_s": float(selection_time),
            "trial_fit_s": fit,
            "trial_score_s": score,
            "rescore_s": float(self.seconds.get("rescore", 0.0)),
            "refit_s": None if refit_time is None else float(refit_time),
            "n_collapsed_refits": int(n_collapsed),
            "n_trials": n_trials,
            "n_trials_stored": len(self.params) - n_trials,
            "n_pruned": int(sum(pruned[i] for i in own)),
            # Per split, a trial fitted once per rung it ran, and once more
            # when re-scored (from whichever rung it had reached).
            "fits": int(
                sum(
                    self.reached[i] + 2 if i in self.reached else rungs[i] + 1
                    for i in own
                )
            )
            * n_splits,
        }
        # What one full-fold fit and score costs, from the fits that ran on
        # full folds if any (a full rung or re-scoring), else from the refit
        # scaled down to a training fold's rows and the refit model's
        # predictions on a test fold.
        full = self.seconds.get("full_fits", [])
        if full:
            per_fit = float(np.mean(full))
            basis = "mean of the full-fold fits this search ran"
        elif refit_time is not None:
            n = num_rows(self.X)
            frac = float(np.mean([len(t) for t, _ in self.splits])) / n
            one_fit = refit_time if refit_fit_s is None else refit_fit_s
            power = self._cost_power(best, float(one_fit))
            if power is None:
                per_fit = float(one_fit) * frac
                basis = (
                    "refit time x training-fold share of the rows (assumes "
                    "cost linear in rows: too high for models whose cost "
                    "grows faster, such as kernel SVMs, too low for those "
                    "with a fixed cost per fit)"
                )
            else:
                # Costs do not grow linearly with rows: a kernel SVM's grow
                # faster, boosting's fixed cost per round slower. A line on
                # log-log axes through the chosen configuration's fit on its
                # subset and its refit on all rows gives a fold's rows.
                per_fit = float(one_fit) * frac**power
                basis = (
                    f"refit time x (training-fold share of the rows) ** "
                    f"{power:.2g}, the growth of the chosen configuration's "
                    "cost from its subset to all rows"
                )
            scale = self._cost_scale(own, best)
            if scale is not None:
                # The refit stands for the configuration chosen; others cost
                # more or less (boosting rounds, tree sizes, C).
                per_fit *= scale
                basis += (
                    f", x {scale:.3g}: the trials' mean fit time on their "
                    "subsets over the chosen configuration's"
                )
            if score_s is not None:
                # A k-NN's and a kernel SVM's predictions cost in proportion
                # to the rows they were fitted on (others' cost little).
                per_fit += float(score_s) * frac
                basis += (
                    ", plus the refit model's predictions on a whole test fold "
                    f"(timed on up to {_SCORE_PROBE_ROWS:,} of its rows) x the "
                    "training-fold share of the rows"
                )
        else:
            per_fit = None
            basis = "unknown (no full-fold fit and no refit)"
        est = None if per_fit is None else per_fit * n_trials * n_splits
        report["full_search_estimate_s"] = est
        report["full_search_estimate_basis"] = basis
        report["speedup_estimate"] = (
            None
            if est is None or search_time <= 0 or not n_trials
            else est / float(search_time)
        )
        return report

    def _cost_power(self, best, refit_s):
        """``p`` in ``cost ~ rows ** p`` for trial ``best``: from its mean fit
        on its subsets (one rung, no failure) to its refit on all rows, kept
        within [0, 3]; None where either is unknown."""
        rungs = self.more.get("rung", [])
        sizes = self.more.get("subset_size", [])
        if best is None or not refit_s > 0 or rungs[best] or best >= len(sizes):
            return None
        t = _mean_fit_time(self.out, best, len(self.splits))
        k, rows = float(sizes[best]), num_rows(self.X)
        if not (t > 0 and 0 < k < rows):
            return None
        return float(np.clip(np.log(refit_s / t) / np.log(rows / k), 0.0, 3.0))

    def _cost_scale(self, own, best):
        """The trials' mean fit time over that of trial ``best``, all on
        their subsets, when every one ran the same single rung and none
        failed; None otherwise."""
        n = len(self.splits)
        rungs = self.more.get("rung", [])
        if best is None or not own or any(rungs[i] for i in (*own, best)):
            return None
        mine = [_mean_fit_time(self.out, i, n) for i in own]
        chosen = _mean_fit_time(self.out, best, n)
        if not (np.all(np.isfinite(mine)) and np.isfinite(chosen) and chosen > 0):
            return None
        return float(np.mean(mine)) / chosen

    def _show_best(self, bar):
        finite = [
            v
            for v, p in zip(self.objective, self.more.get("pruned", []))
            if math.isfinite(v) and not p
        ]
        if finite:
            bar.set_postfix(best=f"{max(finite):.4g}", refresh=False)

    def _run_callbacks(self):
        if not self.callbacks:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = list(self.out)
            if callable(self.search.scoring):
                _insert_error_scores(out, self.search.error_score)
            results = self.search._format_results(
                list(self.params), len(self.splits), out, dict(self.more)
            )
        if self.multi_fidelity:
            _rank_by_rung(results, self.failed_trials())
        start = self.space_start
        results = SearchResult.from_run(
            results,
            self.params[start:],
            self._seen_objective(start, None),
            self.space,
            self.skopt_space,
        )
        for cb in self.callbacks:
            if cb(results):
                self.stopped = True

    def _seen_objective(self, first, end):
        """The trials' objective values from ``first`` to ``end``, as skopt's
        callbacks and results see them: a pruned trial has no score at the
        last rung, so it is a failed point (NaN), never the best."""
        pruned = self.more["pruned"][first:end]
        return [np.nan if p else v for v, p in zip(self.objective[first:end], pruned)]

    def optimizer_results(self):
        """Per space searched, scikit-optimize's ``OptimizeResult`` fields
        (``x_iters``, ``func_vals``, ``x``, ``fun``, ``space``) as the
        optimiser saw the trials: minus their score, ``inf`` for a failed or
        pruned one."""
        from scipy.optimize import OptimizeResult

        out = []
        for first, end, space, skopt_space in self.space_bounds:
            seen = SearchResult.from_run(
                {},
                self.params[first:end],
                self._seen_objective(first, end),
                space,
                skopt_space,
            )
            out.append(
                OptimizeResult(
                    x=seen.x,
                    fun=seen.fun,
                    x_iters=seen.x_iters,
                    func_vals=seen.func_vals,
                    space=seen.space,
                    models=seen.models,
                    specs=seen.specs,
                )
            )
        return out


def _skopt_space(space):
    """``space`` as a ``skopt.space.Space`` (``SearchSpace.to_skopt``),
    or None when scikit-optimize is not installed: the callbacks and plots
    that read the Space are scikit-optimize's, which cannot run then."""
    try:
        import skopt  # noqa: F401
    except ImportError:
        return None
    return space.to_skopt()


def _grid_sampler(sampler):
    """Whether ``sampler`` walks a finite grid (Optuna's ``GridSampler``,
    ``BruteForceSampler``), whose points a search evaluates once each."""
    from optuna.samplers import BruteForceSampler, GridSampler

    return isinstance(sampler, (GridSampler, BruteForceSampler))


def _without_repeats(study, trials):
    """``trials`` split into those whose parameters no other trial of the
    study (finished, running, or earlier in ``trials``) holds, and repeats."""
    from optuna.trial import TrialState

    mine = {t.number for t in trials}
    seen = {
        tuple(sorted(t.params.items()))
        for t in study.get_trials(deepcopy=False)
        if t.number not in mine
        and t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    }
    new, repeats = [], []
    for trial in trials:
        key = tuple(sorted(trial.params.items()))
        (repeats if key in seen else new).append(trial)
        seen.add(key)
    return new, repeats


def _tell(study, trial, **kwargs):
    """``study.tell``, and whether the sampler asked the study to stop.

    ``GridSampler`` and ``BruteForceSampler`` stop a study once their grid
    is spent; outside ``Study.optimize``, as here, Optuna raises that as a
    ``RuntimeError`` after the trial is recorded. The search then ends with
    the trials it has, as ``Study.optimize`` would.
    """
    try:
        study.tell(trial, **kwargs)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise
        return True
    return False


def _add_times(total, splits_out):
    """Per-split fit/score/selection seconds, summed with ``total``."""
    keys = ("fit_time", "score_time", "selection_time")
    now = [{k: o[k] for k in keys if k in o} for o in splits_out]
    if total is None:
        return now
    return [
        {k: t.get(k, 0.0) + n.get(k, 0.0) for k in set(t) | set(n)}
        for t, n in zip(total, now)
    ]


def _mean_fit_time(out, i, n_splits):
    """Trial ``i``'s mean fit seconds over its splits' rows of ``out``; NaN
    where a fit failed."""
    outs = out[i * n_splits : (i + 1) * n_splits]
    if any(o.get("fit_error") is not None for o in outs):
        return np.nan
    return float(np.mean([o.get("fit_time", np.nan) for o in outs]))


def _with_times(splits_out, times):
    """``splits_out`` with the times summed over a trial's rungs."""
    return [{**o, **t} for o, t in zip(splits_out, times)]


def _rung_key(scores, rungs, failed=None):
    """(level, score) per trial: its rung, or -1 without a score or with a
    failed fit (a numeric ``error_score`` is a score, but not one that may
    rank a failed trial above the trials of a lower rung), and its score
    with NaN as -inf."""
    scores = np.asarray(scores, dtype=float)
    out = np.isnan(scores)
    if failed is not None:
        out |= np.asarray(failed, dtype=bool)
    level = np.where(out, -1.0, np.asarray(rungs, dtype=float))
    return level, np.nan_to_num(scores, nan=-np.inf)


def _order_by_rung(objective, rungs, failed=None):
    """Trial positions, best first: higher level, then higher score."""
    level, scores = _rung_key(objective, rungs, failed)
    return list(np.lexsort((-scores, -level)))


def _rank_by_rung(results, failed=None):
    """Re-rank ``rank_test_*`` by rung first, then score.

    Scores from different rungs do not compare: a trial pruned after 5 % of
    the rows may score above the full-fold scores of the trials that went on.
    So, as ``HalvingRandomSearchCV`` picks its best among the last iteration,
    every trial of a higher rung ranks above those of lower rungs (ties share
    the lowest rank, as in scikit-learn). ``rank_train_*`` too: a trial
    pruned on a few rows fits them best.
    """
    ranks = [k for k in results if k.startswith(("rank_test_", "rank_train_"))]
    for key in ranks:
        part, name = key[len("rank_") :].split("_", 1)
        level, scores = _rung_key(
            results[f"mean_{part}_{name}"], results["rung"], failed
        )
        # Both dense ranks are integers below n + 1: one exact sort key.
        order = rankdata(level, method="dense") * (len(scores) + 1) + rankdata(
            scores, method="dense"
        )
        results[key] = rankdata(-order, method="min").astype(np.int32)


class SearchResult(dict):
    """What a ``callback`` receives: the results so far, two ways.

    As a dict, the ``cv_results_`` of the trials so far. As attributes, the
    fields of scikit-optimize's ``OptimizeResult`` that its callbacks
    (``DeadlineStopper``, ``DeltaXStopper``, ``DeltaYStopper``,
    ``HollowIterationsStopper``, ``VerboseCallback``, ``CheckpointSaver``,
    ...) read, for a minimisation as skopt sees it, over the trials of the
    space being searched:

    - ``x_iters``: each trial's values of the space's dimensions, in sorted
      name order as in ``BayesSearchCV`` (the choices themselves, such as
      estimators; a ``resource`` rung's value is not one of them);
    - ``func_vals``: minus the score being maximised (``inf`` where it is
      NaN: a failed trial under ``error_score=np.nan``, a pruned one; a
      numeric ``error_score`` gives minus that value); ``x`` and ``fun``:
      the best of them;
    - ``space``: the space as a ``skopt.space.Space`` whose dimensions hold
      ``x_iters``' values in the same order (``space.distance(x, x_iters[-1])``
      works), or None when scikit-optimize is not installed (the callbacks
      that read it come from scikit-optimize and cannot be imported then);
    - ``models``: empty, as no skopt optimiser ran, and ``specs``:
      ``{"args": {}, "function": "SubsetSearchCV"}``, with no
      objective function in its arguments (``skopt.dump(...,
      store_objective=False)`` and ``CheckpointSaver`` read them).
    """

    space = None

    @classmethod
    def from_run(cls, results, params, objective, space, skopt_space=None):
        """The result for the trials ``params`` (dicts of estimator
        parameters) of the ``SearchSpace`` ``space``, with their
        ``objective`` values (the score being maximised, NaN when failed) and
        ``skopt_space``, ``space`` as a ``skopt.space.Space`` or None."""
        out = cls(results)
        out.space = skopt_space
        out.models = []
        out.specs = {"args": {}, "function": "SubsetSearchCV"}
        out.x_iters = [space.point(p) for p in params]
        vals = np.asarray(objective, dtype=float)
        out.func_vals = np.where(np.isfinite(vals), -vals, np.inf)
        best = int(np.argmin(out.func_vals)) if len(vals) else None
        out.x = None if best is None else out.x_iters[best]
        out.fun = None if best is None else float(out.func_vals[best])
        return out


def _progress(verbose, total):
    """The trials' progress bar: a notebook's widget where one is available
    and verbose >= 1; a disabled plain bar otherwise (importing tqdm.auto
    in a notebook without ipywidgets warned at verbose=0, a review)."""
    if verbose < 1:
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(total=total, disable=verbose < 1, desc="SubsetSearchCV", unit="trial")


def _jsonable(out):
    """A ``_fit_and_score`` result as plain JSON types (for Optuna storage)."""

    def conv(v):
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, (np.floating, np.integer)):
            return v.item()
        return v

    return {k: conv(v) for k, v in out.items() if k != "parameters"}


def _rescored_failure(out, error_score):
    """A failed fit's output (``fit_error`` set) with its scores set to
    ``error_score`` (NaN for ``"raise"``); any other output as it is."""
    if out.get("fit_error") is None:
        return out
    score = np.nan if isinstance(error_score, str) else error_score
    out = dict(out)
    for key in ("test_scores", "train_scores"):
        if key in out:
            old = out[key]
            out[key] = dict.fromkeys(old, score) if isinstance(old, dict) else score
    return out


def _nan_like(out):
    """NaN train scores shaped like a split's test scores (one per metric)."""
    scores = out.get("test_scores")
    if isinstance(scores, dict):
        return {name: np.nan for name in scores}
    return np.nan


#: Rows of a test fold on which the compute report times the refit model's
#: scoring (scaled up to the whole fold). Predicting costs about the same per
#: row whatever the number of rows; 1,000 rows took 0.41 s of a 5.6 s search
#: of an RBF SVC on 12,000 rows, for a report.
_SCORE_PROBE_ROWS = 250
