"""SubsetSearchCV: model-based hyper-parameter search where trials train on subsets."""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
import numbers
import pickle
import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.stats import rankdata
from sklearn import get_config
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags, indexable
from sklearn.utils.metadata_routing import process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

# scikit-learn's Parallel and delayed carry its global configuration
# (transform_output, metadata routing, ...) into joblib's workers.
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
)

from subsetml._adapters import adapter_for
from subsetml._subset import Subset, cover_classes
from subsetml._validation import (
    check_label_types,
    check_number,
    check_numeric_y,
    external_stacklevel,
    label_columns_error,
)
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
    _check_method_params,
    _fit_and_score,
    _insert_error_scores,
    fit_and_score_takes_callbacks,
    with_callbacks,
)
from subsetml.model_selection._energy import check_carbon, energy_report, tracking
from subsetml.model_selection._fidelity import (
    check_pruner,
    check_rescore,
    check_resource,
    check_score_size,
    check_sizes,
    judging_order,
    make_pruner,
    report_steps,
    round_size,
    score_rows,
)
from subsetml.model_selection._refit import (
    MAX_REFITS,
    RefitCheck,
    check_refit_check,
    config_key,
    fallback_order,
)
from subsetml.model_selection._spaces import (
    _no_address,
    check_resource_name,
    check_search_spaces,
    check_space_names,
    task_estimator,
)
from subsetml.model_selection._subset_estimator import (
    SubsetEstimator,
    _adaptive_net,
    _sample_weight_key,
    _weightless_name,
    counted_budget,
    counted_rows,
    final_step,
    weights_cost_more,
)
from subsetml.model_selection._warm import fit_more, stopped_early, warm_param
from subsetml.model_selection._workers import (
    _SURPLUS_KEY,
    Heartbeat,
    check_journal_path,
    claim,
    resolve_storage,
    retry_on_race,
)
from subsetml.selection import RandomSelector
from subsetml.selection._base import per_class_value
from subsetml.selection._registry import make_selector
from subsetml.selection._views import (
    check_frame_finite,
    first_step,
    is_frame,
    is_raw_rows,
    is_sklearns,
    is_text,
    num_rows,
    takes_nan,
    takes_one_d,
)

__all__ = ["SubsetSearchCV"]

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
# Attributes a fit sets only with some refit settings or data: an earlier
# fit's are removed once a search has results.
_REFIT_ATTRIBUTES = (
    "best_index_",
    "best_score_",
    "best_params_",
    "best_estimator_",
    "refit_time_",
    "feature_names_in_",
)


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


class SubsetSearchCV(BaseSearchCV):
    """Bayesian hyper-parameter search whose trials train on data subsets.

    A drop-in for scikit-optimize's ``BayesSearchCV``, driven by Optuna's TPE:
    each trial fits the estimator on a small, well-chosen subset of every
    training fold (random, CRAIG, GLISTER or GRAD-MATCH) and is scored on the
    untouched test fold (on the same share of it, see ``score_size``); the
    best configuration is then refit on all rows. Training on 5 % of the rows
    makes a trial of a model whose cost grows with the data many times
    cheaper, at the price of noisier scores.

    The subset of each training fold does not depend on the trial's
    hyper-parameters, so it is selected once per split for the whole search
    (from ``lastlayer``, which reads the estimator as given or a linear proxy)
    and every candidate trains on the same rows: differences between
    candidates are not differences between subsets.

    A skorch ``NeuralNetClassifier`` / ``NeuralNetRegressor`` is the exception:
    each trial trains adaptively (:class:`~subsetml.skorch.SubsetNeuralNetClassifier`:
    warm start on all rows, then subsets re-selected from the trial's own
    last layer), as in the paper, and the refit trains the plain net on all
    rows. A subset trial takes ``1 / subset_size`` times fewer optimiser steps
    per epoch than that refit, so the search can favour learning rates and
    momenta that diverge on all rows; a ``UserWarning`` says so when the refit
    net ends with a higher training loss than its first epoch's.

    Parameters
    ----------
    estimator : estimator object
        The model to tune. Trials fit clones of it on subsets; the refit fits a
        clone on all rows (``best_estimator_`` is a plain clone, not a wrapper).
    search_spaces : dict, list of dict or list of (dict, int)
        Parameter names mapped to dimensions: ``(low, high)`` or
        ``(low, high, "log-uniform")`` tuples (integer bounds give an integer
        range), lists of choices, scikit-optimize ``Real``/``Integer``/
        ``Categorical``, Optuna distributions (a ``step`` included), or
        ``scipy.stats`` distributions (frozen, or frozen here with their
        defaults, as ``rv_discrete(values=...)`` returns them). A list of
        spaces is searched one after the other, each for ``n_iter`` trials
        or its own count in a ``(space, n_iter)`` pair.
    optimizer_kwargs : dict or None, default=None
        Arguments of the optimiser (named by ``optimizer``): Optuna's
        ``TPESampler`` for ``"tpe"`` (scikit-optimize's ``n_initial_points``
        is read as its ``n_startup_trials``), ``RandomSampler`` for
        ``"random"``, scikit-optimize's ``Optimizer`` for ``"gp"`` (so
        ``{"base_estimator": "RF"}`` works as in ``BayesSearchCV``). An
        unknown argument is a ``ValueError`` that lists the known ones.
    n_iter : int, default=50
        Trials per search space.
    fit_params : dict or None, default=None
        Passed to every ``fit`` (scikit-optimize's constructor argument);
        parameters given to :meth:`fit` take precedence.
    iid : "deprecated"
        Ignored, as in scikit-optimize (any other value warns).
    selector : {"random", "craig", "glister", "gradmatch"} or selector, \
            default="random"
        How each training fold's subset is chosen (see
        :mod:`subsetml.selection`). Random subsets (stratified for
        classification) are the default: a search needs subsets that rank
        configurations as the full data would, and no selector has ranked
        them better than random subsets in our benchmarks, while selecting
        costs seconds per split on large folds. Over 20 seeds of an RBF SVC
        on 16,000 MNIST-1D rows, random 5 % searches ended 0.51 +- 0.31
        points more accurate than CRAIG's (``benchmarks/results/
        fidelity_svc_more_seeds.json``). The selectors train better models
        on their subsets (:class:`SubsetEstimator`'s default is CRAIG). With
        an estimator without
        ``sample_weight`` (or ``use_weights=False``) GRAD-MATCH chooses
        rows for equal weights (its ``weighting="auto"``): its matched picks
        rely on their weights, and without them fell below random subsets on
        real regression data (the user guide's "Choosing a selector").
    subset_size : int, float or sequence of them, default=0.05
        Rows per trial: a count, or a fraction of each training fold. ``1.0``
        runs an ordinary full-data search. Several growing sizes, such as
        ``(0.05, 0.15, 0.45, 1.0)``, are *rungs*: every trial trains and is
        scored on the first size, reports its mean score to Optuna (at a step
        equal to the rows it trained on, or the pruner's check where rounding
        left it just under) and goes on to the next size unless
        ``pruner`` stops it. Each rung's subset is selected once per split,
        for its own size.
    optimizer : {"tpe", "gp", "random"} or optuna sampler, default="tpe"
        ``"tpe"``: Optuna's multivariate TPE with constant liar, seeded from
        ``random_state``, after a random start of a third of ``n_iter``
        trials (between 2 and 10; ``optimizer_kwargs={"n_initial_points":
        k}`` sets it), so that short searches use the model too. ``"gp"``:
        scikit-optimize's Gaussian-process optimiser, with the same random
        start. ``"random"``: random search. Any
        ``optuna.samplers.BaseSampler`` instance is used as given (copied);
        ``GridSampler`` and ``BruteForceSampler`` end the search when their
        grid is spent, as in ``Study.optimize``.
    n_points : int or "auto", default="auto"
        Candidates proposed per round and evaluated together (in parallel
        with ``n_jobs``); with rungs, a round's trials all report at a rung
        before the pruner judges them; successive halving judges them in an
        order that keeps the round's trials among the top ``1 / factor`` of
        the scores at that rung (other pruners, best first). ``"auto"``: rounds for
        rungs under a pruner, as large as the random start (a third of
        ``n_iter``, 2 to 10, or the ``n_initial_points`` that
        ``optimizer_kwargs`` gives ``"tpe"`` or ``"gp"``) and at most
        ``factor ** (rungs - 1)`` for rungs of ``subset_size``, at most 5
        for rungs of another ``resource`` of a scikit-learn estimator
        (boosting rounds); otherwise 1 (each proposal sees every result
        before it, as ``BayesSearchCV``'s default): without rungs, with
        ``pruner=None``, for skorch nets, and with ``timeout`` or
        ``trial_timeout``. Asynchronous halving that judges trials one at a
        time promotes the trials that come early; judged in rounds, fewer
        reach the costly last rungs (measured on two SVM tasks and a
        boosting task; see the user guide's rungs section for when that
        costs accuracy). Callbacks run after each round, so one that stops
        the search (skopt's ``DeadlineStopper``) stops it at the end of a
        round.

    The first 16 parameters take ``BayesSearchCV``'s positional order
    (``estimator, search_spaces, optimizer_kwargs, n_iter, scoring,
    fit_params, n_jobs, n_points, iid, refit, cv, verbose, pre_dispatch,
    random_state, error_score, return_train_score``); the subset options are
    keyword-only.
    scoring, refit, cv, n_jobs, pre_dispatch, error_score, return_train_score
        As in :class:`~sklearn.model_selection.GridSearchCV`. With several
        metrics, the optimiser maximises the one ``refit`` names, or with
        ``refit=False`` or a callable ``refit`` the first metric of
        ``scoring`` (sorted names for a set); a callable ``refit`` then
        picks ``best_index_`` as in scikit-learn. A trial whose
        fit fails gets ``error_score`` and the search goes on; it raises only
        when every trial failed (or at once with ``error_score="raise"``).
    timeout : float or None, default=None
        The search's time budget in seconds: no round starts after it, and
        fits still running when it ends are stopped. Their trial stops at
        the rung below, as if pruned there; one stopped on its first rung
        has no result, is left out of ``cv_results_`` (a warning says so)
        and, with a ``storage``, runs first in the study's next fit. The
        first round always runs to the end (bounded by ``trial_timeout``
        only), so that there is a result; the search ends within that first
        round's time of the budget even when a later fit hangs. Re-scoring
        and the refit come after it.
    trial_timeout : float or None, default=None
        Seconds a trial's fits may take, all its splits and rungs together
        (from the start of its round with ``n_points > 1``). Fits still
        running then are stopped: the trial fails (``error_score``, a
        ``FitFailedWarning`` at the end) and the search goes on.

        With ``timeout`` or ``trial_timeout`` the fits run in worker
        processes (loky, as joblib's; ``n_jobs`` of them, at least one), which
        can be stopped; the data go to each worker once.
    storage : str, path-like or optuna storage, default=None
        Where the Optuna study lives. A database URL
        (``"sqlite:///search.db"``, ``"postgresql://user@host/db"``) gets
        Optuna's ``RDBStorage`` with a heartbeat every 10 s; any other string
        or path is a file of Optuna's journal storage (no server needed); an
        Optuna storage object is used as given.

        With a storage the search is resumable: fitting again with the same
        storage, ``study_name`` and an int ``random_state`` (which draws the
        subsets; another, or None, is refused on subsets) continues where an
        interrupted run stopped
        and ends with ``n_iter`` trials in total; ``cv_results_`` holds them
        all. Several processes (or machines) may fit the same search on one
        storage at once: they share the trials, the study ends with exactly
        ``n_iter`` of them, and each process reports them all. A trial whose
        process died is found by its stale heartbeat (after 60 s; Optuna's
        ``grace_period`` for a storage object), failed, and its configuration
        run again once.
    study_name : str or None, default=None
        Name of the study in ``storage`` (default ``"subsetml"``). A list of
        spaces uses ``"<name>:<i>"`` for space ``i``.
    use_weights : {"auto", True, False}, default="auto"
        Pass the selector's weights to the estimator as ``sample_weight``
        (see :class:`SubsetEstimator`). For HistGradientBoosting, whose
        weighted fits bin every feature at weighted quantiles at a fixed cost
        per feature (its 5 % trials were slower than fits on all rows with
        them), ``"auto"`` leaves GRAD-MATCH's weights out and has it choose
        rows for equal weights; CRAIG's are kept, since its picks need them
        (``selector="gradmatch"`` or ``"random"`` make such searches fast).
    lastlayer : {"auto", "inputs", "proxy", "estimator"} or callable, \
            default="auto"
        Where the per-row gradients that guide selection come from (see
        :class:`SubsetEstimator`). Read from ``estimator`` as given, never
        from a trial's hyper-parameters.
    pruner : {"auto", "halving", "hyperband"}, optuna pruner or None, \
            default="auto"
        What stops trials between rungs. ``"halving"``: Optuna's
        asynchronous ``SuccessiveHalvingPruner``, first rung at the first
        size, reduction factor the ratio of the first two sizes (so geometric
        sizes check every rung; a warning names rungs that are never
        checked). ``"hyperband"``: Optuna's ``HyperbandPruner`` over the same
        rungs. Any Optuna pruner is used as given (copied); ``None`` runs
        every trial up all rungs. ``"auto"``: ``"halving"`` with several
        sizes, nothing with one. A pruner with a single size is an error.
    score_size : int, float, "proportional", "auto" or None, default="auto"
        Rows of each test fold that score a trial trained on a subset: a
        count or a fraction, drawn once per split (stratified by class for a
        classifier) and shared by all trials. Scoring a cheap model on a
        whole large fold can cost more than fitting it. ``"proportional"``:
        each rung scores on the same share of the test fold as it trains on
        of the training fold (at least 500 rows, or the whole fold when
        smaller), as ``HalvingRandomSearchCV`` and
        ``OptunaSearchCV(subsample=...)`` do by subsampling before the
        split. A rung that trains on whole training folds, and re-scoring,
        use whole test folds. ``None``: whole test folds everywhere.
        ``"auto"``: ``"proportional"``, but ``None`` for a skorch net or a
        Pipeline ending in one (its trials cost their training).
    rescore : int or "auto", default="auto"
        After the search, train the best ``rescore`` distinct configurations
        of the highest rung (then, if it holds fewer, the best of the rungs
        below, which keep ``pruned=True`` in ``cv_results_``; with
        ``timeout``, trials the budget stopped count as pruned) again on
        whole training folds and score them on whole test folds, after the
        search's time budget; ``best_index_`` is the best of them. Scores on
        subsets can favour configurations that fail on all rows (a learning
        rate that diverges with ``1 / subset_size`` times more steps per
        epoch): those then cannot win. ``"auto"``: 3 for a skorch net, else
        0. Nothing is re-scored when the last rung is whole folds (its
        trials already are).
    refit_check : {"auto", True, False}, default="auto"
        Check that the refit on all rows did not collapse, and if it did, refit
        the next best configuration instead (at most two more, by
        ``rank_test_*``: the best's ``rung`` first, with re-scoring the
        re-scored ones, then the rungs below, refit as scored; a replacement
        must have held on every fold -- none below half the gain over the
        constant of its best fold -- and score above the collapsed refits). A
        refit has collapsed when, scored with the search's metric on about 2,000
        of its training rows (stratified for a classifier, at least one row per
        class; with routed score parameters such as ``sample_weight``), it keeps
        less than half of the gain over a constant prediction
        (``DummyClassifier(strategy="prior")``, ``DummyRegressor()``) that its
        cross-validated score promised: a net whose learning rate is stable on
        folds can still diverge to a constant on all rows. ``best_*`` then
        describe the configuration kept (``cv_results_`` keeps its ranks, so its
        ``rank_test_*`` is then above 1), ``collapsed_refits_`` the others, and
        a warning says so. When no refit passes, the best configuration's is
        kept -- except for a skorch net, whose first configuration is then refit
        once more, ending at the weights of its epoch of lowest training loss
        (the callback ``"keep_lowest_train_loss"`` in its ``callbacks``), and
        kept if that refit passes. The check costs a prediction on those rows
        (no fit when nothing collapses). It judges nothing, and the first refit
        is kept as it is, with a callable ``refit``, without ``y``, when the
        scorer does not return one number or fails, and for a configuration
        whose score is no better than the constant's (such a configuration never
        replaces the best either). But when the best configuration itself scored
        no better than the constant and others beat it (with rungs, a re-scored
        net at chance on whole folds outranks every trial of the rungs below),
        the refit is that of the next configurations that beat it (at most
        three, checked as above), and a warning says so. ``"auto"``: on for a
        skorch net (or a Pipeline ending in one), off otherwise.
    resource : str, default="n_samples"
        What grows from rung to rung. ``"n_samples"``: the rows, given by
        ``subset_size``. Any other string names an estimator parameter
        that is not searched, such as ``"max_epochs"`` for a skorch net
        (``"net__max_epochs"`` in a Pipeline), ``"max_iter"`` or
        ``"n_estimators"``, as the ``resource`` of scikit-learn's
        ``HalvingRandomSearchCV``. ``resource_rungs`` gives its values:
        every rung trains on the same rows (one ``subset_size``), with the
        parameter set to the rung's value. A skorch net's ``max_epochs`` on
        whole folds goes on from the rung below: the nets fitted there train
        the difference in epochs (``partial_fit``: weights, optimiser state
        and history kept), as Optuna's pruning on epochs does -- unless a
        callback of the net starts over at each fit (an ``LRScheduler``,
        ``EarlyStopping``, a checkpoint: any but skorch's scoring, logging,
        timing, clipping and initialising ones), which would make the net
        scored at a rung differ from one fitted from the start; such nets
        fit afresh at every rung. Boosting rounds and ensemble members on
        whole folds go on from the rung below too, through
        ``warm_start``: ``max_iter`` of ``HistGradientBoosting*``,
        ``n_estimators`` of ``GradientBoosting*``, forests and bagging. Any
        other resource, and subset-training nets, fit afresh at every rung.
        ``params`` and ``param_<resource>`` of ``cv_results_`` hold the value
        of the last rung a trial ran, so ``best_params_`` refits (from the
        start) with the value the best trial was scored at.
    resource_rungs : sequence of int or None, default=None
        The growing values of ``resource`` at each rung, such as
        ``(2, 6, 18)`` epochs; required with a ``resource`` other than
        ``"n_samples"``, refused otherwise. ``pruner`` reports at these
        values (``"halving"``: first rung at the first value, reduction
        factor the ratio of the first two). Re-scoring (``rescore``, with a
        ``subset_size`` below 1) trains on whole folds at the last value.
    carbon : str, dict, callable or None, default=None
        Measure the energy and CO2 of ``fit`` with codecarbon (optional:
        ``pip install "subsetml[energy]"``): a three-letter ISO country
        code (its electricity mix converts kWh to CO2) for codecarbon's
        offline tracker, a dict of that tracker's arguments, or a callable
        returning a tracker (``start()``, ``stop()``). ``compute_report_``
        then holds ``energy_kwh``, ``co2_kg`` and the same scaled to the
        estimated full-data search. None: nothing is measured.
    random_state : int, RandomState instance or None, default=None
        Seeds the selection and the optimiser. The same seed with ``n_jobs=1``
        proposes the same sequence of candidates.
    verbose : int, default=0
        ``>= 1``: a progress bar (on stderr) with trials done and the best
        score so far; ``>= 2``: also scikit-learn's per-fit lines
        (``[CV] END ...`` on stdout, with scores from ``3``), at the same
        levels as ``GridSearchCV`` and ``BayesSearchCV``, and Optuna's log
        at its INFO level (the study's creation: trials are told to Optuna,
        not run by it, so it logs none of its per-trial lines).

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        scikit-learn's format (``params``, ``param_*``, ``split*_test_*``,
        ``mean/std/rank_test_*``, timings), one row per trial in trial order,
        plus ``subset_size`` (rows a trial trained on, mean over splits) and
        ``selection_time`` (seconds the selection of those subsets took, mean
        over splits; paid once for the whole search, not per trial -- except
        for skorch nets, which select while they train: there it is the
        trial's own selection time, part of its fit time), ``rung`` (index
        of the last rung the trial ran; the number of rungs once re-scored
        on whole folds) and ``pruned`` (whether the pruner stopped it there).
        Scores of different rungs do not compare, so ``rank_test_*`` ranks
        a higher rung above any lower one, then by score (as
        ``HalvingRandomSearchCV`` picks among its last iteration); timings
        add up all the rungs a trial ran.
    best_estimator_ : estimator
        ``estimator`` with ``best_params_``, fitted on all rows.
    best_score_, best_params_, best_index_, scorer_, n_splits_, refit_time_, \
multimetric_
        As in :class:`~sklearn.model_selection.GridSearchCV`.
    collapsed_refits_ : list of dict
        The refits that ``refit_check`` found collapsed, in the order they
        ran: ``index`` (row of ``cv_results_``), ``params``,
        ``train_score``, ``chance_score`` (a constant prediction's),
        ``cv_score``, ``n_rows`` (training rows scored) and ``collapsed``.
        A next configuration whose refit raised, or that the check could not
        score, is listed too, with ``collapsed=None`` and an ``error``.
        Empty when the first refit was kept as it is, and without a refit.
    subsets_ : list of Subset
        The subset of each CV split (positions in the ``X`` given to ``fit``,
        with the selector's weights); empty for a full-data search.
    rung_subsets_ : list of list of Subset
        The subsets of each rung (``subsets_`` is the first); empty lists for
        rungs on all rows and for skorch nets (which select while they
        train). With ``resource`` rungs every rung holds the same subsets.
    selection_time_ : float
        Seconds spent selecting subsets, for all rungs and splits together
        (for skorch nets: for all trials and splits together).
    compute_report_ : dict
        Where the time went: ``search_s``, ``selection_s``, ``trial_fit_s``,
        ``trial_score_s`` (the trials' rungs), ``rescore_s`` (their
        re-scoring on whole folds), ``refit_s`` (with the refits that
        collapsed, counted by ``n_collapsed_refits``); ``n_trials``,
        ``n_pruned``, ``fits`` (model fits of the search, rungs and splits
        counted), all of the trials this fit ran: a resumed study's stored
        trials are counted apart, by ``n_trials_stored``; and
        ``full_search_estimate_s``, the cost of the same number of trials on
        whole folds, estimated from the whole-fold fits the
        search ran (a full rung, re-scoring) or else from the refit scaled
        down to a fold's rows (in a search of one rung, along the growth of
        the chosen configuration's cost from its subset to all rows, and by
        the trials' mean fit time on their subsets over its; otherwise
        linearly) plus the refit model's predictions on a test fold (timed
        on up to 250 of its rows), with
        ``full_search_estimate_basis`` and ``speedup_estimate``. Without
        whole-fold fits it is rough, and it can be low: configurations whose
        costs differ only at scale (an RBF SVC's ``C`` and ``gamma``) fit in
        about the same time on small subsets. A review's 8-trial SVC searches
        on digits at 10 % estimated 1.4-3.1 times less than the same trials
        took on whole folds. A subset
        search whose selection, fits and scoring took more than 2 s and
        over 4/3 of that estimate warns that a full-data search would have
        cost less. With ``carbon``: ``energy_kwh``, ``co2_kg``,
        ``full_search_energy_estimate_kwh``, ``full_search_co2_estimate_kg``
        and ``energy_basis``.
    search_time_ : float
        Seconds of the whole search before the refit (selection included).
    studies_ : list of optuna.Study
        The Optuna study of each search space (``trials_dataframe()``,
        Optuna's visualisations).
    optimizer_results_ : list of scipy.optimize.OptimizeResult
        Per search space, what ``BayesSearchCV`` keeps there: ``x_iters``
        (each trial's values of the space's dimensions, in sorted name
        order), ``func_vals`` (minus its score; ``inf`` where the score is
        NaN, as for a failed trial under ``error_score=np.nan`` or a pruned
        one; a numeric ``error_score`` gives minus that value, as in
        ``BayesSearchCV``), ``x`` and ``fun`` (the best), and ``space`` (the
        search space as a ``skopt.space.Space``; None without
        scikit-optimize), so that ``skopt.plots.plot_convergence`` draws it,
        and ``plot_evaluations`` for spaces of two or more dimensions whose
        choices are not dicts (skopt's own limits). ``models`` is empty:
        there is no skopt optimiser (``plot_objective`` needs one; use
        Optuna's visualisations of ``studies_``).

    See Also
    --------
    SubsetEstimator : Subset training as a plain meta-estimator.

    Notes
    -----
    Follows "A Data Subset Selection Framework for Efficient Hyper-Parameter
    Tuning and Automatic Machine Learning" (Visalpara, Killamsetty & Iyer,
    SubSetML @ ICML 2021). A subset search only pays off when it ranks
    configurations like the full data does; ``benchmarks/bench_search.py``
    measures both speed and ranking quality against random subsets.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.svm import SVC
    >>> from subsetml.model_selection import SubsetSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> space = {"C": (1e-2, 1e3, "log-uniform"), "gamma": (1e-5, 1e-1, "log-uniform")}
    >>> search = SubsetSearchCV(
    ...     SVC(), space, n_iter=8, selector="craig", subset_size=0.2, cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> len(search.cv_results_["params"]), search.subsets_[0].size
    (8, 240)
    >>> bool(search.best_score_ > 0.8)
    True

    Rungs: trials start on 5 % of each fold, and successive halving lets the
    promising ones go on to 20 % and then to whole folds.

    >>> search = SubsetSearchCV(
    ...     SVC(), space, n_iter=12, subset_size=(0.05, 0.2, 1.0), cv=3,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> int(search.cv_results_["rung"][search.best_index_])
    2
    >>> int(search.compute_report_["n_pruned"]) > 0
    True
    """

    def __init__(
        self,
        estimator,
        search_spaces,
        # BayesSearchCV's positional order, so its positional calls carry over.
        optimizer_kwargs=None,
        n_iter=50,
        scoring=None,
        fit_params=None,
        n_jobs=None,
        n_points="auto",
        iid="deprecated",
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        *,
        selector="random",
        subset_size=0.05,
        optimizer="tpe",
        timeout=None,
        trial_timeout=None,
        storage=None,
        study_name=None,
        use_weights="auto",
        lastlayer="auto",
        pruner="auto",
        score_size="auto",
        rescore="auto",
        refit_check="auto",
        resource="n_samples",
        resource_rungs=None,
        carbon=None,
    ):
        super().__init__(
            estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.search_spaces = search_spaces
        self.optimizer_kwargs = optimizer_kwargs
        self.fit_params = fit_params
        self.iid = iid
        self.n_iter = n_iter
        self.selector = selector
        self.subset_size = subset_size
        self.optimizer = optimizer
        self.n_points = n_points
        self.timeout = timeout
        self.trial_timeout = trial_timeout
        self.storage = storage
        self.study_name = study_name
        self.use_weights = use_weights
        self.lastlayer = lastlayer
        self.pruner = pruner
        self.score_size = score_size
        self.rescore = rescore
        self.refit_check = refit_check
        self.resource = resource
        self.resource_rungs = resource_rungs
        self.carbon = carbon
        self.random_state = random_state

    # ----------------------------------------------------------------- fit
    @with_callbacks
    def fit(self, X, y=None, *, groups=None, callback=None, **fit_params):
        """Run the search, then refit the best configuration on all rows.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or one or more regression targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv``.
        callback : callable or list of callables, default=None
            Called after every round with a :class:`SearchResult`: the
            ``cv_results_`` so far (a dict in the same format) that also
            carries the ``OptimizeResult`` fields scikit-optimize's callbacks
            read (``func_vals``, ``x_iters``, ``x``, ``fun``, and ``space``,
            the current search space as a ``skopt.space.Space``), so
            ``DeadlineStopper``, ``DeltaXStopper``, ``DeltaYStopper``,
            ``VerboseCallback`` or ``CheckpointSaver`` work unchanged.
            A callback that returns ``True`` stops the
            current search space, as in ``BayesSearchCV``: with a list of
            spaces, the next one still runs, and the ``OptimizeResult``
            fields describe the current space's trials only.
        **fit_params : dict
            Passed to the estimator's ``fit`` (arrays of length
            ``n_samples``, such as ``sample_weight``, are split along ``X``).

        Returns
        -------
        self : SubsetSearchCV
        """
        check_carbon(self.carbon)
        with tracking(self.carbon) as measured:
            self._fit(X, y, groups, callback, fit_params)
        self.compute_report_.update(energy_report(measured, self.compute_report_))
        return self

    def _fit(self, X, y, groups, callback, fit_params):
        t_start = time.perf_counter()
        _import_optuna_quietly()
        if isinstance(self.estimator, type):
            # As GridSearchCV says it (the space's check below failed first,
            # with "get_params() missing 1 required positional argument").
            raise TypeError(
                f"Expected an estimator instance ({self.estimator.__name__}()), "
                "got estimator class instead."
            )
        callbacks = self._check_params(callback)
        sizes = check_sizes(self.subset_size)
        values = check_resource(self.resource, self.resource_rungs, sizes)
        spaces = check_search_spaces(self.search_spaces, self.n_iter)
        check_space_names(spaces, self.estimator)
        if values is not None:
            check_resource_name(self.resource, spaces, self.estimator)
        scorers, refit_metric = self._get_scorers()
        objective_metric = _objective_metric(self.scoring, self.refit, refit_metric)

        # A Pipeline ending in a None step the space fills takes its type
        # (classifier or regressor) from the choices.
        self._task_estimator = task_estimator(self.estimator, spaces)
        X, y = indexable(X, y)
        self._check_data(X, y)
        if (
            isinstance(y, np.ndarray)
            and y.dtype.kind in "iub"
            and y.dtype != np.int64
            and is_classifier(self._task_estimator)
            and self._is_net()
        ):
            # torch's classification losses take int64 labels only. Subset
            # trials cast them (the nets do); re-scoring and the refit fit the
            # net as given, and failed after the whole search (a review).
            y = y.astype(np.int64)
        if self.fit_params:
            # scikit-optimize's constructor fit_params; those given to fit win.
            fit_params = {**self.fit_params, **fit_params}
        if groups is not None:
            fit_params["groups"] = groups
        n_rows = num_rows(X)
        for key, value in fit_params.items():
            # A wrong-length per-row parameter would fail in every trial (and
            # only be reported after all of them): refuse it now.
            if key.endswith("sample_weight") and value is not None:
                if num_rows(value) != n_rows:
                    raise ValueError(
                        f"{key} has {num_rows(value)} entries for {n_rows} rows of X."
                    )
                # NaN or negative weights would fail (or silently skew) every
                # trial: refuse them before the first.
                _check_sample_weight(
                    value, np.empty((n_rows, 0)), ensure_non_negative=True
                )
        if (
            fit_params.get("sample_weight") is not None
            and isinstance(self.estimator, Pipeline)
            and self.refit
            and not get_config().get("enable_metadata_routing", False)
        ):
            # The subset trials pass it to the last step (SubsetEstimator
            # does), but the refit on all rows failed in Pipeline.fit after
            # the whole search (a review): refused now, in its words.
            last, step = self.estimator.steps[-1]
            raise ValueError(
                "Pipeline.fit does not accept the sample_weight parameter, "
                "which the refit on all rows would pass it. "
                + (
                    "Pass it to the step that takes it with the "
                    f"stepname__parameter format, e.g. fit(X, y, "
                    f"{last}__sample_weight=sample_weight)."
                    if _sample_weight_key(step) is not None
                    else f"Its last step {last!r} takes no sample_weight: fit "
                    "without it, or with refit=False (the subset trials use it "
                    "to choose rows)."
                )
            )
        _check_fit_keys(self.estimator, fit_params)
        fit_params = _check_method_params(X, params=fit_params)
        routed = self._get_routed_params_for_fit(fit_params)

        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        # The splits are fixed once: every candidate is scored on the same
        # folds, with the same subsets, even for a randomised splitter.
        # Boolean masks (a cv iterable may give them) become row positions:
        # subsets and budgets count rows.
        splits = [
            (_positions(train), _positions(test))
            for train, test in cv.split(X, y, **routed.splitter.split)
        ]
        self.n_splits_ = len(splits)
        if self.n_splits_ == 0:
            raise ValueError("The cv splitter yielded no splits.")
        whole = all(isinstance(s, float) and s == 1.0 for s in sizes)
        if is_classifier(self._task_estimator) and y is not None and np.ndim(y) == 1:
            # Subsets need two classes in every training fold; on whole folds
            # the estimator decides (some fit one class, as in GridSearchCV).
            present = np.unique(y)
            if not whole and present.shape[0] < 2:
                raise ValueError(
                    f"y holds one class ({present.tolist()[0]!r}); a classifier "
                    "needs at least two."
                )
            for i, (train, _) in enumerate([] if whole else splits):
                classes = np.unique(_safe_indexing(y, train))
                if classes.shape[0] < 2:
                    raise ValueError(
                        f"Training fold {i} of the {len(splits)} cv folds holds "
                        f"only one class ({classes.tolist()[0]!r}): the other classes "
                        "have too few rows for this cv. Use fewer folds, a "
                        "stratified splitter, or more rows of each class."
                    )
        announced = cv.get_n_splits(X, y, **routed.splitter.split)
        if announced != self.n_splits_:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results: "
                f"get_n_splits says {announced} splits, split yielded "
                f"{self.n_splits_}."
            )

        rng = check_random_state(self.random_state)
        selection_seed = rng.randint(np.iinfo(np.int32).max)
        sampler_seeds = [rng.randint(np.iinfo(np.int32).max) for _ in spaces]

        # scikit-learn's callbacks (set_callbacks, 1.9+): the fit's tasks are
        # selecting the subsets, the search (one subtask per fit of a
        # candidate on a split) and the refit.
        weights = routed.estimator.fit.get("sample_weight")
        metadata = None if weights is None else {"sample_weight": weights}
        # A checked refit may refit the next configurations too: the number
        # of refit tasks is not known in advance then.
        tasks = Tasks.root(
            self,
            max_subtasks=(
                None if self.refit and self._refit_check_on() else 2 + bool(self.refit)
            ),
            X=X,
            y=y,
            metadata=metadata,
        )

        parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        with parallel:
            selecting = tasks.sub(self, "select-subsets")
            adaptive, weighted, rungs = self._select_subsets(
                parallel,
                X,
                y,
                splits,
                selection_seed,
                sizes,
                weights,
                fit_params=routed.estimator.fit,
            )
            if values is not None:
                rungs = _resource_rungs(rungs[0], self.resource, values)
            selecting.end(self)
            classifier = is_classifier(self._task_estimator)
            score_size = self._score_size()
            for rung in rungs:
                # Subset rungs may score on a fixed part of each test fold; a
                # rung on all training rows is scored on all test rows.
                rung.tests = [
                    test
                    if rung.full
                    else score_rows(
                        test,
                        y,
                        score_size,
                        classifier,
                        selection_seed + si,
                        share=budget / len(train),
                    )
                    for si, ((train, test), budget) in enumerate(
                        zip(splits, rung.budgets)
                    )
                ]
            self.rung_subsets_ = [
                [
                    Subset(np.asarray(train)[s.indices], s.weights)
                    for s, (train, _) in zip(rung.subsets, splits)
                    if s is not None
                ]
                for rung in rungs
            ]
            self.subsets_ = self.rung_subsets_[0]
            self.selection_time_ = float(
                sum(np.nansum(r.times) for r in rungs if not r.repeat)
            )
            # Rounded rows can fall just under the pruner's checks: report
            # at the checks (issue 14; see report_steps).
            steps = report_steps([rung.step for rung in rungs])
            for rung, step in zip(rungs, steps):
                rung.reported_step = step
            if values is None:
                pruner = make_pruner(self.pruner, steps)
            else:
                pruner = make_pruner(
                    self.pruner, steps, what=f"{self.resource} rungs", unit="steps"
                )
            full = _Rung(
                size=1.0,
                budgets=[len(train) for train, _ in splits],
                full=True,
                subsets=[None] * len(splits),
                times=[0.0] * len(splits),
                tests=[test for _, test in splits],
                params={} if values is None else {self.resource: values[-1]},
            )
            # Every rung on whole folds: nothing is drawn (subsets, scoring rows).
            whole_folds = all(r.full for r in rungs)
            run = _Run(
                search=self,
                parallel=parallel,
                X=X,
                y=y,
                splits=splits,
                rungs=rungs,
                full_rung=full,
                pruner=pruner,
                n_rescore=self._n_rescore(rungs, adaptive),
                weighted=weighted,
                adaptive=adaptive,
                warm=(
                    values is not None
                    and all(rung.full for rung in rungs)
                    and _continues(self.estimator, self.resource)
                ),
                adaptive_seed=selection_seed,
                scorers=scorers,
                refit_metric=objective_metric,
                fit_params=routed.estimator.fit,
                score_params=routed.scorer.score,
                callbacks=callbacks,
                deadline=(
                    None if self.timeout is None else time.monotonic() + self.timeout
                ),
                fingerprint=(
                    {}
                    if self.storage is None
                    else self._fingerprint(
                        X,
                        y,
                        splits,
                        fit_params=routed.estimator.fit,
                        # The scoring rows in force: None when every rung
                        # scores on whole folds, so that studies stored
                        # before score_size="auto" resume where it changes
                        # nothing.
                        score_size=None if whole_folds else score_size,
                        # The subsets (and scoring rows) it draws.
                        seed=None if whole_folds else selection_seed,
                        # Of several metrics, the one the study's values are.
                        objective=(
                            objective_metric
                            if isinstance(self.scoring, (dict, list, tuple, set))
                            or isinstance(self.refit, str)
                            else None
                        ),
                    )
                ),
                runner=(
                    None
                    if self.timeout is None and self.trial_timeout is None
                    else BoundedRunner(X, y, self.n_jobs)
                ),
                tasks=tasks.sub(self, "search", max_subtasks=None, parallel=True),
            )
            try:
                self.studies_ = run.search_all(spaces, sampler_seeds)
                self.optimizer_results_ = run.optimizer_results()
                run.rescore()
            finally:
                if run.runner is not None:
                    run.runner.close()
            run.tasks.end(self)
        params, out, more = run.params, run.out, run.more
        if adaptive:
            self.selection_time_ = float(
                np.nansum([o.get("selection_time", np.nan) for o in out])
            )
        if callable(self.scoring):
            _insert_error_scores(out, self.error_score)
        _raise_or_warn_about_failures(out, self.error_score)
        if run.objective and not any(math.isfinite(v) for v in run.objective):
            # No trial has a score to compare: in every trial a fit or the
            # scoring failed (or gave NaN) on at least one split.
            failed = sum(o.get("fit_error") is not None for o in out)
            message = (
                f"Every one of the {len(run.objective)} trials has a NaN score "
                f"(metric {objective_metric!r}; {failed} of {len(out)} fits "
                "failed, the others' scoring may have failed or given NaN)"
            )
            if self.refit is False or callable(self.refit):
                # No best configuration to pick here: cv_results_ holds the
                # other metrics' scores, as in GridSearchCV (a review).
                warnings.warn(
                    message + "; the optimiser had nothing to learn from.",
                    UserWarning,
                    stacklevel=external_stacklevel(),
                )
            else:
                raise ValueError(
                    message + ", so there is no best configuration. Set "
                    "error_score='raise' to see the first error."
                )
        results = self._format_results(params, self.n_splits_, out, more)
        self.multimetric_ = isinstance(out[0]["test_scores"], dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(out[0]["test_scores"])
            refit_metric = self.refit
        if self.return_train_score:
            # BaseSearchCV ranks test scores only; BayesSearchCV also ranks
            # train scores, and its users read rank_train_*.
            for key in [k for k in results if k.startswith("mean_train_")]:
                name = key[len("mean_train_") :]
                vals = np.nan_to_num(np.asarray(results[key], float), nan=-np.inf)
                results[f"rank_train_{name}"] = rankdata(-vals, method="min").astype(
                    np.int32
                )
        if run.multi_fidelity:
            _rank_by_rung(results, run.failed_trials())
        self.cv_results_ = results
        self.search_time_ = time.perf_counter() - t_start

        # What an earlier fit set and this one may not (refit=False, a
        # callable refit, a NumPy X after a DataFrame): gone, not describing
        # another search's results.
        for name in _REFIT_ATTRIBUTES:
            self.__dict__.pop(name, None)
        if self.refit or not self.multimetric_:
            self.best_index_ = int(
                self._select_best_index(self.refit, refit_metric, results)
            )
            if not callable(self.refit):
                self.best_score_ = float(
                    results[f"mean_test_{refit_metric}"][self.best_index_]
                )
            self.best_params_ = results["params"][self.best_index_]
        refit_fit_s = None
        self.collapsed_refits_ = []
        if self.refit:
            t0 = time.perf_counter()
            refit_fit_s, restored = self._refit_best(
                X,
                y,
                scorers,
                refit_metric,
                results,
                routed,
                tasks,
                metadata,
                selection_seed,
            )
            self.refit_time_ = time.perf_counter() - t0
            if not rungs[-1].full and not restored:
                # A search whose last rung trains on full folds shows it in
                # its scores (re-scoring shows it too, but does not stop a
                # search that found nothing better). A net restored to its
                # epoch of lowest loss was warned about with its collapse.
                _warn_if_refit_net_diverged(
                    final_step(self.best_estimator_), self.best_params_
                )
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = getattr(scorers, "_scorers", scorers)
        score_s = None
        if self.refit and not run.seconds.get("full_fits"):
            # What predicting a whole test fold costs a model fitted on
            # (nearly) all rows: a k-NN's or a kernel SVM's predictions cost
            # more the more rows it was fitted on, so the subset trials' own
            # scoring says little about a full-data search's.
            score_s = _time_fold_predictions(self.best_estimator_, X, run.splits)
        self.compute_report_ = run.compute_report(
            self.search_time_,
            getattr(self, "refit_time_", None),
            self.selection_time_,
            refit_fit_s,
            sum(bool(c["collapsed"]) for c in self.collapsed_refits_),
            score_s=score_s,
            best=getattr(self, "best_index_", None) if self.refit else None,
        )
        if not rungs[0].full:
            slow = weights_cost_more(self._task_estimator)
            _warn_if_not_faster(
                self.compute_report_,
                # A net selects inside its fits: their seconds hold it.
                selection_in_fits=adaptive,
                random=isinstance(make_selector(self.selector), RandomSelector),
                slow_weights=slow
                and weighted
                and any(
                    np.ptp(s.weights) > 0
                    for s in self.subsets_
                    if s is not None and s.size
                ),
                user_weights=slow and _user_weighted(routed.estimator.fit),
                stopped=run.seconds.get("stopped_fits", (0, 0.0)),
            )
        tasks.end(self, X, y, metadata)

    def _refit_best(
        self, X, y, scorers, metric, results, routed, tasks, metadata, seed
    ):
        """Fit ``best_params_`` on all rows; with ``refit_check``, a refit
        that collapsed gives way to the next best configurations.

        Returns the seconds of the last fit (the one kept), and whether it
        is a net restored to its epoch of lowest training loss.
        """
        check = None
        if self._refit_check_on() and not callable(self.refit):
            inner = getattr(scorers, "_scorers", None)
            check = RefitCheck(
                scorers if inner is None else inner.get(metric),
                X,
                y,
                is_classifier(self._task_estimator),
                seed,
                routed.scorer.score,
            )
        scores = results[f"mean_test_{metric}"] if check is not None else None
        order = [self.best_index_]
        passed_over = restored = False
        # Only configurations the check can judge, and that held on every
        # fold, may replace the best.
        steady = check and functools.partial(check.steady, results, metric)
        if check is not None and check.judges(float(scores[self.best_index_])):
            order += fallback_order(results, metric, self.best_index_, steady)
        elif check is not None:
            # The best scored no better than a constant: with rungs, a
            # re-scored configuration at chance on whole folds still ranks
            # above every trial of the rungs below. Those that beat the
            # constant are refit (and checked) instead; the best's refit
            # would be at chance. (Without a constant's score the check
            # judges nothing, and none is listed.)
            beaten = fallback_order(
                results, metric, self.best_index_, steady, limit=MAX_REFITS
            )
            if beaten:
                passed_over = True
                _warn_passed_over(
                    results["params"][self.best_index_],
                    float(scores[self.best_index_]),
                    check.chance,
                )
                order = beaten
        first = None
        for attempt, index in enumerate(order):
            params = results["params"][index]
            # The bare estimator, not a subset wrapper, on all rows.
            estimator = clone(self.estimator).set_params(**clone(params, safe=False))
            t0 = time.perf_counter()
            name = "refit-with-best-params" if attempt == 0 else "refit-next-best"
            verdict, error = None, None
            try:
                with tasks.fitting(self, name, estimator, X, y, metadata):
                    _fit_all_rows(estimator, X, y, routed)
            except Exception as exc:
                if attempt == 0:
                    raise  # the refit of the best fails as in GridSearchCV
                # A replacement that fits on folds can still fail on all rows
                # (memory): it is set aside, not the search's end.
                error = f"{type(exc).__name__}: {exc}"
            else:
                fit_s = time.perf_counter() - t0
                if check is not None:
                    verdict = check.verdict(estimator, float(scores[index]))
                if attempt == 0 and verdict is None:
                    break  # nothing to judge: kept as it is
                if verdict is None:
                    # Judged before (its score beats the constant's), but its
                    # scoring failed on all rows: not a replacement either.
                    error = "the check could not score its refit"
            entry = {"index": index, "params": params}
            if error is None and attempt and not verdict["collapsed"]:
                # A replacement from a lower rung promised less, so passes a
                # lower bar: it must also beat the collapsed refits outright.
                bar = self._collapsed_bar()
                if verdict["train_score"] <= bar:
                    entry.update(verdict)
                    error = (
                        f"its refit scored {verdict['train_score']:.4g} on the "
                        f"check rows, no better than a collapsed refit's {bar:.4g}"
                    )
            if error is not None:
                entry.update(collapsed=None, error=error)
                self.collapsed_refits_.append(entry)
                continue
            if not verdict["collapsed"]:
                break
            self.collapsed_refits_.append({**entry, **verdict})
            if first is None:
                first = (index, estimator, fit_s)
        else:
            # No refit passed: keep the best configuration's, and say so --
            # unless a net, refit once more, ends well at the weights of its
            # epoch of lowest training loss.
            index, estimator, fit_s = first
            kept = self._refit_lowest_loss(
                index, X, y, check, float(scores[index]), routed, tasks, metadata
            )
            if kept is not None:
                estimator, fit_s = kept
                restored = True
        self._keep_refit(index, estimator, metric)
        if self.collapsed_refits_:
            _warn_collapsed(
                self.collapsed_refits_,
                None if index == order[0] else self.best_params_,
                net=self._is_net(),
                passed_over=passed_over,
                restored=restored,
            )
        return fit_s, restored

    def _refit_lowest_loss(self, index, X, y, check, cv_score, routed, tasks, metadata):
        """When every refit of a skorch net collapsed: configuration
        ``index`` refit once more, ending with the weights of its epoch of
        lowest training loss (the adapter's ``keep_lowest_loss``).

        A net at the edge of stability can train well for some epochs and
        then diverge; its refit on all rows takes more steps than a fold's.
        Returns ``(estimator, fit seconds)`` when that refit passes the check
        and beats the collapsed refits on its rows, else None.
        """
        estimator = clone(self.estimator).set_params(
            **clone(self.cv_results_["params"][index], safe=False)
        )
        estimator = _keep_lowest_loss(estimator)
        if estimator is None:
            return None
        t0 = time.perf_counter()
        try:
            with tasks.fitting(self, "refit-lowest-loss", estimator, X, y, metadata):
                _fit_all_rows(estimator, X, y, routed)
        except Exception:  # a last try, not the refit: the collapsed one stays
            return None
        fit_s = time.perf_counter() - t0
        verdict = check.verdict(estimator, cv_score)
        if verdict is None or verdict["collapsed"]:
            return None
        if verdict["train_score"] <= self._collapsed_bar():
            return None
        return estimator, fit_s

    def _collapsed_bar(self):
        """The best check-row score of the refits that collapsed: a
        replacement promised less than the best, so it must beat them
        outright."""
        return max(c["train_score"] for c in self.collapsed_refits_ if c["collapsed"])

    def _keep_refit(self, index, estimator, metric):
        self.best_index_ = int(index)
        self.best_params_ = self.cv_results_["params"][index]
        if not callable(self.refit):
            self.best_score_ = float(self.cv_results_[f"mean_test_{metric}"][index])
        self.best_estimator_ = estimator

    def _refit_check_on(self):
        """Whether the refit is checked (``refit_check``; "auto": nets)."""
        if isinstance(self.refit_check, str):
            return self._is_net()
        return bool(self.refit_check)

    def _is_net(self):
        """Whether ``estimator`` is a skorch net or a Pipeline ending in one."""
        return adapter_for(final_step(self.estimator)) is not None

    @property
    def total_iterations(self):
        """Trials the search runs over all its spaces (as in ``BayesSearchCV``)."""
        return sum(
            s.n_iter for s in check_search_spaces(self.search_spaces, self.n_iter)
        )

    # ----------------------------------------------------------- helpers
    # scikit-learn's checks of the parameters SubsetSearchCV shares with
    # GridSearchCV (InvalidParameterError, as there); a set of metric names
    # is accepted for scoring too.
    _parameter_constraints = {
        **BaseSearchCV._parameter_constraints,
        "scoring": [*BaseSearchCV._parameter_constraints["scoring"], set],
    }

    def _check_params(self, callback):
        self._validate_params()
        if isinstance(self.n_iter, bool) or not isinstance(
            self.n_iter, numbers.Integral
        ):
            raise TypeError(f"n_iter must be an integer, got {self.n_iter!r}.")
        if self.n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {self.n_iter}.")
        if not (isinstance(self.n_points, str) and self.n_points == "auto"):
            check_number(
                self.n_points,
                "n_points",
                integer=True,
                low=1,
                description="'auto' or an integer >= 1",
            )
        if self.timeout is not None:
            check_number(
                self.timeout,
                "timeout",
                low=0,
                include_low=False,
                finite=False,
                description="None or a positive number of seconds",
            )
        if self.trial_timeout is not None:
            check_number(
                self.trial_timeout,
                "trial_timeout",
                low=0,
                include_low=False,
                description="None or a positive number of seconds",
            )
        if not (
            self.optimizer in ("tpe", "gp", "random")
            or type(self.optimizer).__module__.startswith("optuna")
            or hasattr(self.optimizer, "sample_relative")
        ):
            raise ValueError(
                f"Unknown optimizer {self.optimizer!r}; choose one of "
                "['gp', 'random', 'tpe'] or pass an optuna sampler instance."
            )
        if self.study_name is not None and not isinstance(self.study_name, str):
            raise TypeError(f"study_name must be a string, got {self.study_name!r}.")
        if self.optimizer_kwargs is not None and not isinstance(
            self.optimizer_kwargs, dict
        ):
            raise TypeError(
                "optimizer_kwargs must be a dict or None, got "
                f"{self.optimizer_kwargs!r}."
            )
        if self.fit_params is not None and not isinstance(self.fit_params, dict):
            raise TypeError(
                f"fit_params must be a dict or None, got {self.fit_params!r}."
            )
        if not (isinstance(self.iid, str) and self.iid == "deprecated"):
            warnings.warn(
                "iid is ignored, as in scikit-optimize (scikit-learn removed it): "
                "scores are averaged over folds.",
                FutureWarning,
                stacklevel=external_stacklevel(),
            )
        if not isinstance(self.verbose, numbers.Integral):
            raise TypeError(f"verbose must be an integer, got {self.verbose!r}.")
        make_selector(self.selector)  # unknown names fail here, before any work
        check_pruner(self.pruner)
        check_score_size(self.score_size)
        check_rescore(self.rescore)
        check_refit_check(self.refit_check)
        check_journal_path(self.storage)  # before any work
        sizes = check_sizes(self.subset_size)
        check_resource(self.resource, self.resource_rungs, sizes)
        # The prototype validates use_weights and lastlayer.
        SubsetEstimator(
            self.estimator, use_weights=self.use_weights, lastlayer=self.lastlayer
        )._validate_params()
        if callback is None:
            return []
        callbacks = (
            list(callback) if isinstance(callback, (list, tuple)) else [callback]
        )
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(f"callback must be callable, got {cb!r}.")
        return callbacks

    def _use_weights(self, fit_params):
        """The ``use_weights`` the trials' subsets are chosen and fitted with.

        ``"auto"`` leaves the weights out where a weighted fit costs more
        than the subset saves (:func:`weights_cost_more`), the user's own
        weights (in ``fit_params``) do not make it weighted anyway, and the
        selector can choose rows for equal weights instead (GRAD-MATCH).
        CRAIG's weights are kept: without them its picks trained boosting 53
        points of R^2 x 100 below random subsets on a long-tailed target
        (``benchmarks/results/quality_hgb_weights.json``).
        """

        def equal(weighted):
            selector = make_selector(self.selector, weighted=weighted)
            return getattr(selector, "_equal_weights", False)

        if (
            isinstance(self.use_weights, str)
            and self.use_weights == "auto"
            and not _user_weighted(fit_params)
            and weights_cost_more(self._task_estimator)
            # Only a selector with weights to drop and a mode for equal ones
            # (random and GLISTER subsets carry none: nothing changes).
            and equal(weighted=False)
            and not equal(weighted=True)
        ):
            return False
        return self.use_weights

    def _score_size(self):
        """The ``score_size`` in force: ``"auto"`` scores proportionally,
        except for skorch nets and Pipelines ending in one (whole folds)."""
        if isinstance(self.score_size, str) and self.score_size == "auto":
            # A net's trials cost their training, not their scoring; the
            # proportional default was measured on scikit-learn estimators
            # only (benchmarks/results/fidelity_proportional*.json).
            return None if self._is_net() else "proportional"
        return self.score_size

    def _n_rescore(self, rungs, adaptive):
        """Configurations re-scored on full folds after the search."""
        if rungs[-1].full:
            # The last rung already trains and scores on whole folds: the
            # same fits again would give the same scores.
            return 0
        if not (isinstance(self.rescore, str) and self.rescore == "auto"):
            return self.rescore
        # skorch nets: subset trials take fewer optimiser steps per epoch than
        # a full fit, and configurations that diverge on all rows won 9 of 48
        # searches in benchmarks/results/nn_search_cpu*.json.
        return 3 if adaptive else 0

    def _fingerprint(
        self, X, y, splits, score_size, fit_params=None, seed=None, objective=None
    ):
        """Hashes of what a stored study's trials depend on, by component.

        Checked when a study is resumed: results computed on other data, with
        another estimator, selector, subset size, scoring, folds or fit
        parameters (``sample_weight``, ...) would otherwise come back as if
        they were this search's. The fit parameters are a component only when
        there are some, so that studies stored before it resume unchanged.
        """
        import joblib

        n = num_rows(X)
        rows = np.unique(np.linspace(0, n - 1, num=min(n, 1000)).astype(int))

        def digest(obj):
            try:
                return joblib.hash(obj)
            except Exception:
                # Something that does not pickle (a lambda in a pipeline):
                # its repr, without the memory addresses that change between
                # processes.
                return joblib.hash(_no_address(repr(obj)))

        try:
            estimator = clone(self.estimator)
        except Exception:
            estimator = self.estimator
        Xr = _safe_indexing(X, rows)
        yr = None if y is None else _safe_indexing(y, rows)
        # The rows' values: a pandas index (read_csv with or without
        # index_col) is not data the trials saw (a review).
        Xv, yv = _no_index(Xr), _no_index(yr)
        # The target's values: a list, a Series or an array of them, int32 or
        # int64, fit alike (they refused to resume, a review). X keeps its
        # type: the estimator may read a DataFrame otherwise than an array.
        yn = _target_values(yv)
        out = {
            "data": digest((_shape(X), _shape(y), Xv, yn)),
            "estimator": digest(estimator),
            "selector": digest(
                (
                    self.selector,
                    self.subset_size,
                    score_size,
                    self.lastlayer,
                    # "auto" as applied: GRAD-MATCH's subsets for boosting
                    # are chosen for equal weights (other digests unchanged).
                    self.use_weights
                    if self._use_weights(fit_params) == self.use_weights
                    else "auto: unweighted",
                )
                # Resource rungs change what a rung's score means; the
                # default leaves digests of earlier studies as they were.
                + (
                    ()
                    if self.resource == "n_samples"
                    else (
                        self.resource,
                        check_resource(
                            self.resource,
                            self.resource_rungs,
                            check_sizes(self.subset_size),
                        ),
                    )
                )
            ),
            "scoring": digest(self.scoring),
            "folds": digest([(np.asarray(a), np.asarray(b)) for a, b in splits]),
        }
        # None is no parameter; per-row values count by their contents, as a
        # list, an array or a Series alike.
        given = {
            key: _as_values(value)
            for key, value in (fit_params or {}).items()
            if value is not None
        }
        if given:
            out["fit_params"] = digest(sorted(given.items(), key=lambda kv: kv[0]))
        if seed is not None:
            # Another random_state draws other subsets: trials stored with
            # the first would silently mix with this fit's (a review).
            out["seed"] = digest(int(seed))
        if objective is not None:
            # With several metrics, the one the study's values hold: another
            # refit metric would mix its values with the stored ones and
            # part study.best_trial from best_index_ (a review).
            out["objective"] = digest(str(objective))
        earlier = []
        if yn is not yv:
            earlier.append(digest((_shape(X), _shape(y), Xv, yv)))
        if Xv is not Xr or yv is not yr:
            # Studies stored before hashed pandas rows with their index.
            earlier.append(digest((_shape(X), _shape(y), Xr, yr)))
        if earlier:
            out[_EARLIER_DATA] = earlier
        return out

    def _check_data(self, X, y):
        # Bad data fails here with scikit-learn's message, not as a failure of
        # every trial (which error_score would turn into a search of NaNs).
        tags = get_tags(self.estimator)
        one_d = is_text(X) or tags.input_tags.one_d_array or takes_one_d(self.estimator)
        if is_frame(X):
            # Columns reach the estimator as given (categorical, strings,
            # pandas' nullable dtypes): check_array would convert them, and
            # fails on a Categorical column beside a nullable Int64 one.
            check_frame_finite(X, self.estimator)
        elif not is_raw_rows(X, self.estimator):
            # (Dicts or token lists reach a DictVectorizer, FeatureHasher, ...
            # as given: it checks them, as in GridSearchCV.)
            self._check_array_like(X, one_d)
        self._check_target(X, y, tags)

    def _check_array_like(self, X, one_d):
        """scikit-learn's checks of a non-DataFrame ``X`` (see _check_data)."""
        check_array(
            X,
            # scikit-learn's own estimators say truly whether they take
            # sparse input; others (and skorch nets) are left to try.
            accept_sparse=not _dense_only(self.estimator),
            dtype=None,
            # A Pipeline may impute in any step (its tags are its first
            # step's); it raises its own error if nothing does, as does an
            # estimator whose tags say nothing (not scikit-learn's own).
            ensure_all_finite=not takes_nan(self.estimator),
            # 1-D input only for text (a text pipeline) or an estimator that
            # says it takes it; n-d input goes through as in GridSearchCV.
            ensure_2d=not one_d,
            allow_nd=True,
            # scikit-learn's message for NaN, which says to impute them.
            input_name="X",
            estimator=self.estimator,
        )

    def _check_target(self, X, y, tags):
        """``y`` checked against ``X`` and the task (see _check_data)."""
        if y is None:
            if tags.target_tags.required:
                raise ValueError(
                    f"{type(self.estimator).__name__} requires y to be passed, "
                    "but the target y is None."
                )
            return
        check_consistent_length(X, y)
        if not is_classifier(self._task_estimator) and tags.target_tags.required:
            check_numeric_y(y)  # NaN, inf or strings fail every trial otherwise
        if is_classifier(self._task_estimator) and np.ndim(y) <= 2:
            # An n-d y (n > 2) goes to the estimator untouched, as in
            # GridSearchCV: only the estimator knows what it means.
            check_label_types(y)
            check_classification_targets(y)

    def _select_subsets(
        self, parallel, X, y, splits, seed, sizes, weights=None, fit_params=None
    ):
        """One rung per subset size, each with a subset per split.

        Rows whose ``weights`` (``fit``'s ``sample_weight``) are 0 are never
        selected, and budgets are shares of the other rows.

        Returns ``(adaptive, weighted, rungs)``: a rung's subset is None where
        the split trains on all its rows, and for a skorch net
        (``adaptive``), which selects inside every trial. Every rung's subset
        is selected on its own, for its size: a selector's weights describe
        the whole fold, so the union of two selections would carry wrong ones.
        """
        budgets = []
        warned = False
        # Each training fold's rows that count (all without weights).
        counts = [
            np.asarray(train)[
                counted_rows(
                    None if weights is None else _safe_indexing(weights, train),
                    len(train),
                )
            ]
            for train, _ in splits
        ]
        for size in sizes:
            row = []
            for counted, (train, _) in zip(counts, splits):
                n_train = len(counted)
                k = counted_budget(size, n_train, len(train))
                if is_classifier(self._task_estimator) and k < n_train:
                    # Warn once for the whole search, not once per fold.
                    raised = cover_classes(
                        k, _safe_indexing(y, counted), warn=not warned
                    )
                    warned |= raised > k
                    k = raised
                row.append(k)
            budgets.append(row)
        for r in range(1, len(sizes)):
            for si, (k_prev, k) in enumerate(zip(budgets[r - 1], budgets[r])):
                if k <= k_prev:
                    raise ValueError(
                        f"subset_size rungs {sizes[r - 1]!r} and {sizes[r]!r} give "
                        f"{k_prev} and {k} rows of split {si}'s training fold; "
                        "each rung must train on more rows than the one before."
                    )
        rungs = [
            _Rung(
                size=size,
                budgets=row,
                # Every row that counts: the whole fold, its zero weights too.
                full=all(k == len(c) for k, c in zip(row, counts)),
            )
            for size, row in zip(sizes, budgets)
        ]
        for rung in rungs:
            rung.subsets = [None] * len(splits)
            rung.times = [0.0] * len(splits)
        if all(rung.full for rung in rungs):
            return False, False, rungs
        if _adaptive_net(self.estimator, self.selector, sizes[0], seed) is not None:
            # A skorch net re-selects from its own last layer while it trains:
            # the selection depends on the trial, so each trial makes its own
            # (its time is part of the trial's fit time).
            for rung in rungs:
                if not rung.full:
                    rung.times = [np.nan] * len(splits)
            return True, False, rungs
        if y is None:
            selector = make_selector(self.selector)
            if (
                not isinstance(selector, RandomSelector)
                or per_class_value(selector.per_class) is True
            ):
                raise ValueError(
                    f"selector={self.selector!r} selects training rows by "
                    f"their target, and {type(self.estimator).__name__} is "
                    "fitted without one (y is None). Draw random subsets "
                    "(selector='random'), or search on all rows: "
                    "subset_size=1.0."
                )
            # An unsupervised estimator (KMeans, PCA, a density): uniform
            # random rows of each fold, as the default selector draws for a
            # regressor (it was refused, a review).
            for r, rung in enumerate(rungs):
                if rung.full:
                    continue
                for si, counted in enumerate(counts):
                    t0 = time.perf_counter()
                    rng = np.random.default_rng([seed, r, si])
                    rows = np.flatnonzero(np.isin(splits[si][0], counted))
                    k = rung.budgets[si]
                    picked = np.sort(rng.choice(rows, size=k, replace=False))
                    rung.subsets[si] = Subset(picked, np.ones(k))
                    rung.times[si] = time.perf_counter() - t0
            return False, False, rungs
        if (
            np.ndim(y) == 2
            and np.shape(y)[1] > 1
            and is_classifier(self._task_estimator)
        ):
            raise label_columns_error(
                f"subset_size={self.subset_size!r}",
                np.shape(y),
                "Search it on all rows: subset_size=1.0.",
            )
        weighted = None
        tasks = []
        use_weights = self._use_weights(fit_params)
        for r, rung in enumerate(rungs):
            if rung.full:
                continue
            proto = SubsetEstimator(
                self._task_estimator,
                selector=self.selector,
                subset_size=rung.size,
                use_weights=use_weights,
                lastlayer=self.lastlayer,
                random_state=seed,
            )
            if weighted is None:
                weighted = proto._check_weighting()
            tasks += [(r, si, proto, train) for si, (train, _) in enumerate(splits)]
        picked = parallel(
            delayed(_select_split)(proto, X, y, train, weights)
            for _, _, proto, train in tasks
        )
        for (r, si, _, _), (subset, seconds) in zip(tasks, picked):
            rungs[r].subsets[si] = subset
            rungs[r].times[si] = seconds
        return False, bool(weighted), rungs


def _select_split(proto, X, y, train, weights=None):
    est = clone(proto)
    X_train = _safe_indexing(X, train)
    if est._pairwise():
        # A precomputed kernel or distance matrix: the training fold's square
        # block, as the trials fit on and SubsetEstimator checks.
        X_train = _safe_indexing(X_train, train, axis=1)
    y_train = _safe_indexing(y, train)
    w_train = None if weights is None else _safe_indexing(weights, train)
    t0 = time.perf_counter()
    # The search warned about a budget raised to cover the classes. Not a
    # warnings filter: catch_warnings is not thread-safe, and under joblib's
    # threading backend its filter was left in the user's (a review).
    est._warned_budget = True
    Xv, yv, wv, k = est._validate_fit_data(X_train, y_train, w_train)
    subset = est._select_counted(Xv, yv, k, wv)
    return subset, time.perf_counter() - t0


class _ReadsThrough:
    """A trial's wrapper read as the model it fitted: attributes it lacks
    (``coef_``, a Pipeline's ``named_steps``, ...) come from ``estimator_``,
    for code handed the trial itself (callbacks). Scorers get the fitted
    model (:class:`_ScoresFittedModel`)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            fitted = self.__dict__["estimator_"]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            ) from None
        return getattr(fitted, name)


class _SelectionTime:
    """What a fitted adaptive trial sends back from a worker process."""

    def __init__(self, selection_time_):
        self.selection_time_ = selection_time_


class _AdaptiveTrial(SubsetEstimator):
    """A trial of a net that selects while it trains (``SubsetEstimator``).

    Only its selection time is read after scoring, so once fitted it
    pickles as that alone: a worker process (``n_jobs``, ``timeout``,
    ``trial_timeout``) need not send the fitted net back, which fails for a
    module class defined in ``__main__`` (skorch pickles module classes by
    reference; a review), and costs a copy of the weights otherwise.
    """

    def __reduce_ex__(self, protocol):
        if "selection_time_" not in self.__dict__:
            return super().__reduce_ex__(protocol)
        return (_SelectionTime, (self.selection_time_,))


class _PresetSubsetEstimator(_ReadsThrough, SubsetEstimator):
    """A trial: the estimator fitted on a subset chosen before the search."""

    def __init__(self, estimator, *, subset=None, use_weights=True):
        # subset_size is unused (the subset is given): all rows, so that a
        # tiny fold raises no warning about a budget below the classes.
        # random_state is unused too, and fixed: None drew a seed from
        # numpy's global random state in every trial's fit (a review).
        super().__init__(
            estimator,
            selector="random",
            subset_size=1.0,
            use_weights=use_weights,
            random_state=0,
        )
        self.subset = subset

    def _check_weighting(self, *, warn=True):
        # The search chose whether the subsets carry weights, from its
        # estimator; a configuration that swaps in a step without
        # sample_weight (a grid over the final step) fits without them.
        if not self.use_weights:
            return False
        # The search warned once of a model without them (_warn_weightless).
        return _sample_weight_key(self.estimator) is not None

    def _select(self, X, y, k):
        if self.subset.size and self.subset.indices.max() >= num_rows(X):
            raise ValueError("The preset subset does not fit the training fold.")
        return self.subset

    @with_callbacks
    def fit(self, X, y=None, sample_weight=None, **fit_params):
        if y is None:
            # An unsupervised estimator (the search checked X and the
            # weights): fitted on the subset's rows of X alone.
            X = self._check_X(X, reset=True)
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight, dtype=np.float64)
        else:
            X, y, sample_weight, _ = self._validate_fit_data(X, y, sample_weight)
        tasks = Tasks.root(self, max_subtasks=1, X=X, y=y)
        self.subset_ = self._select(X, y, None)
        self.selection_time_ = 0.0
        weighted = self._check_weighting()
        self._fit_subset(X, y, sample_weight, weighted, fit_params, tasks)
        tasks.end(self, X, y)
        return self


def _fitted_has(attr):
    def check(self):
        return hasattr(self.fitted, attr)

    return check


class _TrainMore(_ReadsThrough, MetaEstimatorMixin, BaseEstimator):
    """A trial at a higher resource rung: the net fitted at the rung below,
    trained ``epochs`` more epochs on the same rows, or the scikit-learn
    ensemble fitted there, grown to the rung's value with ``warm_start`` (a
    Pipeline's earlier steps stay as fitted)."""

    def __init__(self, fitted, *, params, epochs):
        self.fitted = fitted
        self.params = params
        self.epochs = epochs

    def fit(self, X, y=None, **fit_params):
        est = self.fitted
        net = final_step(est)
        # Checked before the rung's value is set: a boosting fit that
        # stopped early has nothing to add (a fresh fit stops there too).
        done = stopped_early(net)
        est.set_params(**self.params)
        if net is not est:
            # The earlier steps stay as fitted at the first rung (their
            # transform, as at predict time).
            name = est.steps[-1][0]
            if fit_params and get_config()["enable_metadata_routing"]:
                fit_params = process_routing(est, "fit", **fit_params)[name].fit
            else:
                prefix = name + "__"
                fit_params = {
                    k[len(prefix) :]: v
                    for k, v in fit_params.items()
                    if k.startswith(prefix)
                }
            X = est[:-1].transform(X)
        adapter = adapter_for(net)
        if adapter is not None:
            adapter.train_more(net, X, y, self.epochs, **fit_params)
        elif not done:  # a scikit-learn ensemble: warm_start adds to it
            fit_more(net, X, y, **fit_params)
        self.estimator_ = est
        return self

    # Only the methods the net has: scorers pick their response method by
    # hasattr (binary roc_auc tries decision_function first).
    @property
    def classes_(self):
        return self.estimator_.classes_

    @available_if(_fitted_has("predict"))
    def predict(self, X):
        return self.estimator_.predict(X)

    @available_if(_fitted_has("predict_proba"))
    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    @available_if(_fitted_has("decision_function"))
    def decision_function(self, X):
        return self.estimator_.decision_function(X)

    def score(self, X, y, sample_weight=None):
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.estimator_.score(X, y, **kwargs)

    def __sklearn_tags__(self):
        return get_tags(self.fitted)


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


def _fitted_model(estimator, X):
    """The model a trial's wrapper fitted, and the ``X`` it predicts from.

    A subset trial (:class:`SubsetEstimator` and its preset form) gives its
    fitted clone, with only the columns of its training rows for a
    precomputed kernel or distance matrix (as its own predict methods take
    them); a warm rung's trial (``_TrainMore``) its net or ensemble.
    """
    if isinstance(estimator, SubsetEstimator):
        return estimator.estimator_, estimator._kernel_columns(X)
    if isinstance(estimator, _TrainMore):
        return estimator.estimator_, X
    return estimator, X


class _ScoresFittedModel:
    """A scorer called with the model a trial fitted, not the trial's wrapper.

    Custom scorers then get the estimator the user passed in, fitted, as
    ``GridSearchCV`` gives it to them (``est[-1]`` of a Pipeline,
    ``get_params()``, ``isinstance``); the rows they score are the trial's
    test rows (``score_size``) all the same.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y, **score_params)``.
    """

    def __init__(self, scorer):
        self.scorer = scorer

    def __call__(self, estimator, X, *args, **kwargs):
        estimator, X = _fitted_model(estimator, X)
        return self.scorer(estimator, X, *args, **kwargs)

    def __repr__(self):
        # scikit-learn's errors name the scorer: the user's, not this wrapper.
        return repr(self.scorer)


class _MultimetricScoresFittedModel(_MultimetricScorer):
    """:class:`_ScoresFittedModel` for several metrics: still a
    ``_MultimetricScorer`` (whose failures scikit-learn's ``_score`` handles
    as such), sharing one prediction among its metrics."""

    def __call__(self, estimator, X, *args, **kwargs):
        estimator, X = _fitted_model(estimator, X)
        return super().__call__(estimator, X, *args, **kwargs)


def _scoring_fitted_model(scorers):
    """``scorers`` (a search's scorer or ``_MultimetricScorer``) as called
    with the model a trial's wrapper fitted."""
    if isinstance(scorers, _MultimetricScorer):
        return _MultimetricScoresFittedModel(
            scorers=scorers._scorers, raise_exc=scorers._raise_exc
        )
    return _ScoresFittedModel(scorers)


def _load_faster(estimator):
    """Give a fresh clone's net (alone or a Pipeline's last step) the
    adapter's ``faster_loading`` parameters: a skorch net loads plain arrays
    a batch at a time (:class:`~subsetml.skorch.ArrayLoader`), with the same
    batches, so its fits and scores are those it would have had. The refit
    keeps the user's net as given."""
    net = final_step(estimator)
    adapter = adapter_for(net)
    if adapter is not None:
        params = adapter.faster_loading(net)
        if params:
            net.set_params(**params)


def _continues(estimator, resource):
    """Whether trials of ``estimator`` go up ``resource`` rungs by going on
    from the fit below rather than starting again: a skorch net's
    ``max_epochs`` (more epochs), or the rounds or members a scikit-learn
    ensemble's ``warm_start`` adds (:func:`warm_param`), of the estimator
    alone or a Pipeline's last step."""
    net = final_step(estimator)
    if net is not estimator and estimator.steps[-1][1] is not net:
        return False  # a Pipeline inside a Pipeline: start again
    adapter = adapter_for(net)
    param = warm_param(net) if adapter is None else adapter.epochs_param(net)
    if param is None:
        return False
    if net is not estimator:
        param = f"{estimator.steps[-1][0]}__{param}"
    return resource == param


@dataclass(eq=False)
class _Rung:
    """One subset size of the search: a subset per split and its test rows."""

    size: object  # the subset_size of this rung (a fraction or a count)
    budgets: list  # rows a trial trains on, per split
    full: bool  # every split trains on all its training rows
    subsets: list = None  # a Subset per split, or None (all rows / adaptive)
    times: list = None  # selection seconds per split
    tests: list = None  # test rows that score a trial at this rung, per split
    # Resource rungs (resource="max_epochs", ...): the estimator parameters a
    # trial gets at this rung; empty for rungs of rows.
    params: dict = field(default_factory=dict)
    value: int | None = None  # the resource's value at this rung
    repeat: bool = False  # the same subsets (and selection) as the rung before
    top: bool = True  # the resource at its highest value (or no resource)
    # The step trials report at when it differs from ``step`` (report_steps).
    reported_step: int | None = None

    @property
    def step(self):
        """The Optuna step a trial reports at: the rows it trains on (mean
        over splits) or the resource's value, moved up to the pruner's
        check where rounding left it just under it."""
        if self.reported_step is not None:
            return self.reported_step
        if self.value is not None:
            return self.value
        return int(round(float(np.mean(self.budgets))))


def _resource_rungs(base, name, values):
    """One rung per value of the resource ``name``, all on ``base``'s rows."""
    return [
        replace(
            base,
            params={name: value},
            value=value,
            repeat=i > 0,
            top=i == len(values) - 1,
        )
        for i, value in enumerate(values)
    ]


@dataclass(eq=False)
class _Run:
    """The ask/evaluate/tell loop of one ``fit`` (state that ``fit`` discards)."""

    search: SubsetSearchCV
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


def _fit_all_rows(estimator, X, y, routed):
    """A refit: ``estimator`` fitted on all rows with the routed fit params."""
    if y is not None:
        estimator.fit(X, y, **routed.estimator.fit)
    else:
        estimator.fit(X, **routed.estimator.fit)


def _keep_lowest_loss(estimator):
    """``estimator`` (a skorch net, or a Pipeline ending in one) whose net
    ends its fits at the weights of its epoch of lowest training loss; None
    when its adapter cannot do that."""
    net = final_step(estimator)
    adapter = adapter_for(net)
    if adapter is None:
        return None
    new = adapter.keep_lowest_loss(net)
    if new is None or net is estimator:
        return new
    name, last = estimator.steps[-1]
    if last is not net:
        return None  # a Pipeline inside a Pipeline
    return estimator.set_params(**{name: new})


def _warn_passed_over(params, cv_score, chance):
    """Say that the best-ranked configuration was passed over for the refit."""
    warnings.warn(
        f"The best-ranked configuration ({params}) scored {cv_score:.4g} in "
        f"cross-validation, no better than a constant prediction "
        f"({chance:.4g} on the check rows): a net that diverged on whole "
        "folds, say, after promising more on its subsets. The refit is that "
        "of the next configurations that beat the constant, checked as "
        "refit_check says; best_index_, best_params_ and best_score_ are "
        "those of the configuration kept, and cv_results_ keeps its ranks.",
        UserWarning,
        stacklevel=external_stacklevel(),
    )


def _warn_collapsed(set_aside, kept, net, passed_over=False, restored=False):
    """Say which refits collapsed (or failed), and what ``best_estimator_``
    holds; ``passed_over``: the best-ranked configuration was not refit
    (``_warn_passed_over``), the first refit is the best of those that beat
    the constant; ``restored``: no refit passed, and ``best_estimator_`` is
    the first configuration's net refit once more, ending at its epoch of
    lowest training loss."""
    collapsed = [c for c in set_aside if c["collapsed"]]
    failed = [c for c in set_aside if c["collapsed"] is None]
    first = collapsed[0]
    best = (
        "the best configuration that beat the constant"
        if passed_over
        else "the best configuration"
    )
    lines = [
        f"The refit of {best} ({first['params']}) collapsed on "
        f"all rows: on {first['n_rows']} of its training rows it scored "
        f"{first['train_score']:.4g}, a constant prediction "
        f"{first['chance_score']:.4g}, against {first['cv_score']:.4g} in "
        "cross-validation."
    ]
    if len(collapsed) > 1:
        lines.append(
            f"So did the next {len(collapsed) - 1} "
            f"({', '.join(str(c['params']) for c in collapsed[1:])})."
        )
    for c in failed:
        lines.append(f"The refit of {c['params']} was set aside: {c['error']}.")
    if kept is None and restored:
        lines.append(
            f"No other configuration's refit passed the check, so {best} was "
            "refit once more, keeping the weights of its epoch with the "
            "lowest training loss (the callback 'keep_lowest_train_loss'; "
            "its history shows the epochs after it): that refit passed, and "
            "best_estimator_ is it. Narrow the ranges of learning rates and "
            "momenta, or train for fewer epochs, to refit without it."
        )
    elif kept is None:
        lines.append(
            f"best_estimator_ is the collapsed refit of {best} "
            "(no other configuration's refit passed the check); "
            + (
                "narrow the ranges of learning rates and momenta, "
                if net
                else "check the search space, "
            )
            + "or refit by hand."
        )
    else:
        lines.append(
            f"best_estimator_, best_params_, best_index_ and best_score_ are "
            f"those of the next configuration whose refit did not collapse "
            f"({kept}); cv_results_ keeps its ranks, so its rank_test_* is "
            "above 1. collapsed_refits_ lists the others (refit_check=False "
            "keeps the best configuration whatever its refit does)."
        )
    warnings.warn(" ".join(lines), UserWarning, stacklevel=external_stacklevel())


def _warn_if_refit_net_diverged(estimator, params):
    """Warn when a refit skorch net ends with a higher training loss than its
    first epoch's, or a non-finite one.

    Subset trials take ``1 / subset_size`` times fewer optimiser steps per
    epoch than the refit, so a search can prefer learning rates and momenta
    that are stable on the subsets and blow up on all rows: in
    ``benchmarks/results/nn_search_cpu*.json`` several refits collapsed to
    chance accuracy that way, with nothing in ``best_score_`` to show it.
    """
    from subsetml._adapters import adapter_for

    adapter = adapter_for(estimator)
    losses = None if adapter is None else adapter.training_losses(estimator)
    if not losses or (math.isfinite(losses[-1]) and len(losses) < 2):
        return  # one finite epoch: nothing to compare
    if math.isfinite(losses[-1]) and losses[-1] < losses[0]:
        return
    warnings.warn(
        f"The refit net's training loss went from {losses[0]:.4g} (first epoch) "
        f"to {losses[-1]:.4g} (last): the best configuration found on subsets "
        f"({params}) does not train on all rows. Subset trials take fewer "
        "optimiser steps per epoch than the refit, which favours learning rates "
        "and momenta that diverge on the full data; narrow those ranges, or "
        "refit by hand with the next configuration of cv_results_.",
        UserWarning,
        stacklevel=external_stacklevel(),
    )


def _check_fit_keys(estimator, fit_params):
    """Refuse, before the trials, fit keywords that every trial's fit would
    refuse: a misspelled ``sample_weights`` ran all the fits (and their
    selection) before "All fits failed" (a review). A Pipeline's keys name
    one of its steps; another estimator's are parameters of its ``fit``,
    unless it takes ``**kwargs``. ``sample_weight`` (weightless estimators
    use it to choose rows) and ``groups`` (the splitter's) pass; so does
    everything under metadata routing, which checks its own."""
    if get_config().get("enable_metadata_routing", False):
        return
    keys = [k for k in fit_params if k not in ("sample_weight", "groups")]
    if not keys:
        return
    if isinstance(estimator, Pipeline):
        names = [name for name, _ in estimator.steps]
        for key in keys:
            step, sep, _ = key.partition("__")
            if not sep or step not in names:
                raise ValueError(
                    f"fit got {key!r}, which names no step of the Pipeline "
                    f"(steps {names}): pass step parameters as "
                    "<step>__<parameter>, e.g. "
                    f"{names[-1]}__sample_weight=sample_weight."
                )
        return
    try:
        parameters = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    for key in keys:
        if key not in parameters:
            takes = [p for p in parameters if p not in ("self", "X", "y")]
            raise TypeError(
                f"{type(estimator).__name__}.fit got an unexpected keyword "
                f"argument {key!r} (it takes {takes}); every trial would "
                "fail with it."
            )


def _import_optuna_quietly():
    """Import Optuna, which imports ``tqdm.auto``: in a notebook without
    ipywidgets tqdm then advises installing them, and a search at verbose=0
    printed that advice for a bar nobody asked for (a review). Later imports
    are cached, so this one is the only one to quiet."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import optuna  # noqa: F401


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


def _shape(a):
    return None if a is None else getattr(a, "shape", (len(a),))


def _target_values(y):
    """The target's values for a digest: an ndarray, integers as int64."""
    if y is None:
        return None
    try:
        values = np.asarray(y)
    except Exception:
        return y
    if values.dtype.kind in "iu":
        values = values.astype(np.int64, copy=False)
    return values


def _no_index(rows):
    """Pandas rows without their index (a range instead), for a digest of
    their values; anything else as it is."""
    if hasattr(rows, "reset_index") and hasattr(rows, "iloc"):
        return rows.reset_index(drop=True)
    return rows


def _as_values(value):
    """A fit parameter as what it holds: per-row values (a list, a Series) as
    an ndarray, anything else as it is."""
    if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
        try:
            return np.asarray(value)
        except Exception:
            return value
    return value


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


def _dense_only(estimator):
    """Whether a scikit-learn estimator (or a Pipeline's first step, or a
    subclass of either) says it takes no sparse input. Other estimators'
    default tags say nothing."""
    first = first_step(estimator)
    if first is None:
        return False
    return is_sklearns(first) and not get_tags(first).input_tags.sparse


def _positions(rows):
    """Row positions of a split's rows, given as positions or a boolean mask."""
    rows = np.asarray(rows)
    return np.flatnonzero(rows) if rows.dtype == bool else rows


def _objective_metric(scoring, refit, refit_metric):
    """The metric the optimiser maximises: the one ``refit`` names, or with
    several metrics and ``refit=False`` or a callable, the first of
    ``scoring`` (in its order; sorted names for a set)."""
    if isinstance(refit, str):
        # Also for a callable returning a dict (which may hold a "score").
        return refit
    if not isinstance(scoring, (dict, list, tuple, set)):
        return refit_metric
    names = sorted(scoring) if isinstance(scoring, set) else list(scoring)
    return names[0]


def _raise_or_warn_about_failures(out, error_score):
    errors = [o["fit_error"] for o in out if o.get("fit_error") is not None]
    if not errors:
        return
    if len(errors) == len(out) and all(map(stopped_at_limit, errors)):
        raise ValueError(
            f"All {len(out)} fits of the search were stopped at their time limit "
            "before any trial finished, so there is no result; give the search "
            "a larger trial_timeout (or timeout). The first one:\n"
            f"{errors[0]}"
        )
    if len(errors) == len(out):
        raise ValueError(
            f"All {len(out)} fits of the search failed (every trial on every "
            "split); the estimator or the search space is probably "
            "misconfigured. Set error_score='raise' to debug. The first "
            f"failure:\n{errors[0]}"
        )
    # Fits stopped at the search's time budget score NaN whatever
    # error_score says (it may be "raise").
    scored = error_score if not isinstance(error_score, str) else np.nan
    warnings.warn(
        f"{len(errors)} of {len(out)} fits failed and scored {scored}. "
        f"The first failure:\n{errors[0]}",
        FitFailedWarning,
        stacklevel=external_stacklevel(),
    )


#: A subset search whose selection, fits and scoring took more than this
#: many seconds, and less than ``_NOT_FASTER`` times the estimated fits and
#: scoring of the full-data search, warns (shorter ones do not: their
#: timings are mostly noise). Below 1, since the estimate is rough.
_NOT_FASTER = 0.75
_NOT_FASTER_MIN_S = 2.0


def _user_weighted(fit_params):
    """Whether ``fit``'s parameters carry the user's own per-row weights
    (``sample_weight``, or a Pipeline step's ``<step>__sample_weight``)."""
    return any(
        key.endswith("sample_weight") and value is not None
        for key, value in (fit_params or {}).items()
    )


def _warn_if_not_faster(
    report, *, selection_in_fits=False, random=False, slow_weights=False,
    user_weights=False, stopped=(0, 0.0),
):  # fmt: skip
    """Warn when a subset search's work cost clearly more than the full-data
    search's fits and scores would have (``compute_report_``'s estimate):
    the selection, or weighted fits, can cost more than quick fits save.
    What both searches pay alike (worker processes, the optimiser) is left
    out of the comparison, and so is a search that ran no trial (a finished
    study resumed). ``selection_in_fits``: the fits' seconds include the
    selection (skorch nets select inside every trial); ``random``: the
    selector is random; ``slow_weights``: the trials' fits took the
    selector's weights, which make them slow (:func:`weights_cost_more`);
    ``user_weights``: the user's own weights did (they reach every fit);
    ``stopped``: how many of the fits were stopped at a time limit
    (``trial_timeout``, ``timeout``) and the seconds they ran. Those are left
    out: the estimate is of fits that finish, and a full-data search would
    have spent at least as long on those configurations, so they say
    nothing of whether subsets pay."""
    estimate = report.get("full_search_estimate_s")
    n_stopped, stopped_s = stopped
    parts = {
        "selecting the subsets": report["selection_s"],
        "fitting the trials": report["trial_fit_s"] - stopped_s,
        "scoring the trials": report["trial_score_s"],
        "re-scoring the best on whole folds": report["rescore_s"],
    }
    work = sum(parts.values())
    if selection_in_fits:
        work -= parts["selecting the subsets"]
        parts["fitting the trials"] -= parts["selecting the subsets"]
    if (
        estimate is None
        or not report.get("n_trials")
        or work < _NOT_FASTER_MIN_S
        or estimate >= _NOT_FASTER * work
    ):
        return
    what = max(parts, key=parts.get)
    advice = (
        "Subsets pay where fits on all rows are slow: for an estimator this "
        "quick, a full-data search (subset_size=1.0) costs less"
    )
    if slow_weights and what == "fitting the trials":
        advice += (
            "; HistGradientBoosting fits slowly with per-row weights, and "
            "selector='gradmatch' or 'random' fit it without the selector's"
        )
    elif user_weights and what == "fitting the trials":
        advice += (
            "; HistGradientBoosting fits slowly with per-row weights, and "
            "fit's sample_weight weights every one of its fits"
        )
    elif not random and what == "selecting the subsets":
        advice += ", and selector='random' skips the selection"
    left_out = (
        f" (leaving out the {stopped_s:.3g} s of the {n_stopped} fits stopped "
        "at their time limit)"
        if n_stopped
        else ""
    )
    warnings.warn(
        f"This subset search spent {work:.3g} s selecting, fitting and "
        f"scoring{left_out}, where a full-data search's fits and scores would "
        f"take about {estimate:.3g} s (compute_report_); {what} took "
        f"{parts[what]:.3g} s. {advice}.",
        UserWarning,
        stacklevel=external_stacklevel(),
    )


#: Rows of a test fold on which the compute report times the refit model's
#: scoring (scaled up to the whole fold). Predicting costs about the same per
#: row whatever the number of rows; 1,000 rows took 0.41 s of a 5.6 s search
#: of an RBF SVC on 12,000 rows, for a report.
_SCORE_PROBE_ROWS = 250


def _time_fold_predictions(estimator, X, splits):
    """Seconds ``estimator.predict`` takes on the first split's whole test
    fold, timed on up to ``_SCORE_PROBE_ROWS`` of its rows and scaled to all
    of them (the scorers themselves are not called: a user's scorer may
    count or log its calls); None where the estimator cannot predict them."""
    test = np.asarray(splits[0][1])
    predict = getattr(estimator, "predict", None)
    if test.shape[0] == 0 or predict is None:
        return None
    part = test[:_SCORE_PROBE_ROWS]
    X_part = _safe_indexing(X, part)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            predict(X_part)
            spent = time.perf_counter() - t0
    except Exception:  # a report must not fail the fit
        return None
    return spent * test.shape[0] / part.shape[0]
