"""SubsetSearchCV: model-based hyper-parameter search where trials train on subsets."""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import time
import warnings

import numpy as np
from scipy.stats import rankdata
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, get_tags, indexable
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
    BoundedRunner,
    stopped_at_limit,
)
from subsetml.model_selection._compat import (
    Tasks,
    _check_method_params,
    _insert_error_scores,
    with_callbacks,
)
from subsetml.model_selection._energy import check_carbon, energy_report, tracking
from subsetml.model_selection._fidelity import (
    check_pruner,
    check_rescore,
    check_resource,
    check_score_size,
    check_sizes,
    make_pruner,
    report_steps,
    score_rows,
)
from subsetml.model_selection._refit import (
    MAX_REFITS,
    RefitCheck,
    _fit_all_rows,
    _keep_lowest_loss,
    _warn_collapsed,
    _warn_if_refit_net_diverged,
    _warn_passed_over,
    check_refit_check,
    fallback_order,
)
from subsetml.model_selection._run import (
    _EARLIER_DATA,
    _SCORE_PROBE_ROWS,
    _rank_by_rung,
    _Run,
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
    counted_budget,
    counted_rows,
    final_step,
    weights_cost_more,
)
from subsetml.model_selection._trials import (
    _continues,
    _resource_rungs,
    _Rung,
    _select_split,
)
from subsetml.model_selection._workers import check_journal_path
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
                    else BoundedRunner(
                        X, y, self.n_jobs, warm_up=(self.estimator, scorers)
                    )
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
