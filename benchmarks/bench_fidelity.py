"""Multi-fidelity subset search against the tools a user would pick instead.

One run per task and seed, every strategy on the same training rows, the same
CV folds and the same held-out test rows (issue 14):

* ``full (tpe)`` -- ``SubsetSearchCV(subset_size=1.0)``: Optuna TPE on all rows;
* ``<sel>@0.05`` -- every trial on a 5 % subset, ``sel`` random or CRAIG
  (with ``+prop``, below, also GLISTER and GRAD-MATCH);
* ``<sel> rungs`` -- rungs of ``(0.05, 0.15, 0.45, 1.0)`` of each training fold
  with Optuna's successive-halving pruner (``pruner="halving"``);
* ``<sel> rungs<1`` -- rungs ``(0.05, 0.15, 0.45)`` and the 3 best
  configurations re-scored on full folds (``rescore=3``);
* ``... +score`` -- the same with subset rungs scored on 2,000 rows of each
  test fold (``score_size=2000``), for ``rungs<1``, ``@0.05`` and ``rungs``;
* ``... +prop`` -- the same with each subset rung scored on its own share of
  each test fold (``score_size="proportional"``, at least 500 rows), as the
  two subsampling anchors score; not in the default set (``--strategies``),
  and a modifier of any strategy of ours (``random halving rungs r0 +prop``);
  ``random rungs<1 r0 +prop`` drops the re-scoring too (``rescore=0``), so
  that, like ``HalvingRandomSearchCV`` here, no trial trains on whole folds;
* ``full max_iter rungs`` -- boosting rounds as the resource on all rows
  (``resource="max_iter"``, rungs ``(22, 66, 198)``, successive halving),
  beside ``HalvingRandomSearchCV max_iter`` (22 to 198 rounds, factor 3,
  ``n_iter`` candidates); for ``synth-hgb``, on request;
* ``... rounds`` -- a rungs strategy with trials asked in rounds, each
  rung's trials judged together (for the round's top third since commit
  363fb71, best first before it, which promoted only each round's best;
  a results file's commit says which): ``n_points`` as ``"auto"``
  sizes rounds for rungs of rows (a third of ``n_iter``, 2 to 10, at most
  ``3 ** (rungs - 1)``), for every resource; every other strategy of ours
  runs with ``n_points=1`` (one trial at a time, as before), so that
  strategy names keep their meaning across results files; on request;
  ``... rounds=K`` asks rounds of ``K`` trials;
* ``... +rs`` -- the same search with ``optimizer="random"`` (Optuna's
  random sampler) instead of TPE, on request;
* ``... unweighted`` -- the same search with ``use_weights=False``: trials
  fit on the subset without the selector's weights (GRAD-MATCH then picks
  rows for equal weights), on request;
* ``random halving rungs`` -- rungs of rows shaped as
  ``HalvingRandomSearchCV``'s rounds here (its first round's rows times
  ``3 ** i``, as shares of each fold: 2.5, 7.5, 22.5 and 67.5 % at 50,000
  rows), successive halving; ``... r0`` without re-scoring (``rescore=0``);
  ``random halving rungs<1`` without the last share, the re-scoring on
  whole folds (3 for nets) following the rung below it;
  ``... rescore=K`` (any strategy of ours) re-scores the best K;
  ``... from=F`` (rungs of rows) starts the rungs at a share ``F`` of each
  fold, ``F * 3 ** i`` below 1 and then whole folds (``from=0.15``:
  ``(0.15, 0.45, 1.0)``), placed before ``rounds`` so that the rounds are
  sized for these rungs; ``HalvingRandomSearchCV from=F`` trains its first
  round on that share of each fold (``min_resources`` of ``F`` times the rows
  it is fitted on, which it takes as that fraction of each fold);
  ``... w0`` (nets) trains every epoch of a subset trial on subsets, with
  no warm start on all rows (``warm_up=0``), and ``... fixed`` (nets) on
  one random subset per rung that the rung's trials share, selected once
  (``select_every`` of the whole budget), as ``HalvingRandomSearchCV``
  trains its rounds; on request;
* ``... +loader`` (nets, any strategy, anchors included) -- the net loads
  plain arrays with :class:`subsetml.skorch.ArrayLoader` in every fit and
  the refit (the same batches, fetched a batch at a time), as a user of any
  search tool may give it; ``SubsetSearchCV``'s own fits load so anyway, on
  request;
* ``HalvingRandomSearchCV n_iter`` -- that anchor with ``n_iter``
  candidates rather than as many as fit; on request;
* any strategy ``... n_iter=K`` -- the same with ``K`` trials;
* anchors: ``OptunaSearchCV(subsample=0.05)``, ``HalvingRandomSearchCV``
  (factor 3, ``min_resources`` of 5 % of a fold's rows, which it trains
  on as 2.5 % of each of the 2 folds, as many candidates as fit) and
  scikit-optimize's ``BayesSearchCV`` on all rows.

For the skorch net tasks (``mnist1d-mlp-net``, ``mnist1d-cnn-net``: 12,000
MNIST-1D rows, ``bench_nn_search``'s MLP and 1-D CNN, SGD for 27 epochs over
learning rate, momentum, batch size and width) epochs are a resource too:

* ``full epochs rungs`` -- ``resource="max_epochs"``, rungs ``(3, 9, 27)``
  on all rows, successive halving;
* ``random@0.05 epochs rungs`` -- the same rungs on adaptive 5 % subsets,
  the 3 best re-scored on full folds at 27 epochs (``rescore="auto"``);
* ``random@0.05 rescore0`` and ``random@0.05 rescore0 nocheck`` -- 5 %
  subsets without re-scoring, with and without ``refit_check`` (on for nets
  by default): with torch seeded per run the two searches are the same and
  only the refit differs, an A/B of the check (not in the default set);
* anchors: ``OptunaSearchCV`` pruning on epochs (``enable_pruning=True``,
  one ``partial_fit`` epoch per step up to 27, ``SuccessiveHalvingPruner``
  with ``min_resource=3`` and factor 3 -- its steps count from 0, so its
  checks fall after 4 and 10 epochs where ours fall after 3 and 9 --
  ``refit=False`` and the best net refitted for 27 epochs here, as its own
  refit would train one epoch) and
  ``HalvingRandomSearchCV(resource="max_epochs")`` (3 to 27 epochs, factor
  3, ``n_iter`` candidates), beside the anchors above at 27 epochs.

Tasks: ``mnist1d-svc`` (scaled RBF SVC, C and gamma, 16,000 MNIST-1D rows,
generated locally), ``synth-hgb`` (HistGradientBoostingClassifier, 5
parameters, 48,000 rows of ``make_classification``) and ``digits-svc``; on
request, ``friedman-hgb`` (HistGradientBoostingRegressor over the same
space, 48,000 rows of ``make_friedman1`` with noise, scored by R^2, which
the records' ``test_accuracy`` field then holds beside ``"metric": "r2"``;
unstratified folds) and ``bike-svr`` (the demo's RBF SVR on the bundled UCI
Bike Sharing hours, 8,645 rows, R^2). Each search gets ``n_iter`` trials and
2-fold CV on 75 % of the rows; the rest is the test set. Times are end to
end (search and refit), one process, ``n_jobs=1``. ``ours default`` (on
request) is ``SubsetSearchCV`` with only the estimator, space, ``n_iter``,
folds and seed set: what a user gets without reading further.

Results go to ``benchmarks/results/fidelity[_quick].json``, rewritten after
every search. ``--table`` prints mean test accuracy, its paired difference to
the full search and the speed-up per strategy.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_fidelity.py --quick
    OMP_NUM_THREADS=1 python benchmarks/bench_fidelity.py --tasks mnist1d-svc
    python benchmarks/bench_fidelity.py --table
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_info, write_results
from _search_harness import (
    _plain,
    halving_min_resources,
    halving_random_search_cv,
    make_anchor,
    make_splitter,
    quiet,
    space_for_optuna,
    space_for_scipy,
    space_for_subsetml,
)

RUNGS = (0.05, 0.15, 0.45, 1.0)


def _svc_task(loader):
    def make(n_rows):
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        X, y = loader(n_rows)
        est = make_pipeline(StandardScaler(), SVC())
        space = {"svc__C": ("log", 1e-2, 1e3), "svc__gamma": ("log", 1e-4, 1.0)}
        return X, y, est, space

    return make


def _mnist1d(n_rows):
    from subsetml.datasets import make_mnist1d

    return make_mnist1d(n_rows, random_state=0, return_X_y=True)


def _digits(n_rows):
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


# The boosting tasks' space.
HGB_SPACE = {
    "learning_rate": ("log", 1e-3, 1.0),
    "max_leaf_nodes": ("int-log", 4, 128),
    "min_samples_leaf": ("int-log", 1, 200),
    "l2_regularization": ("log", 1e-6, 10.0),
    "max_features": ("float", 0.2, 1.0),
}


def _hgb(n_rows):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = make_classification(
        n_rows,
        n_features=30,
        n_informative=12,
        n_redundant=6,
        n_classes=4,
        n_clusters_per_class=3,
        class_sep=0.8,
        flip_y=0.03,
        random_state=0,
    )
    est = HistGradientBoostingClassifier(max_iter=200, early_stopping=False)
    return X, y, est, dict(HGB_SPACE)


def _hgb_regression(n_rows):
    """Friedman's first regression problem (``make_friedman1``: five
    informative features, fifteen of noise, a non-linear target with
    Gaussian noise of standard deviation 3, so that the best test R^2 is
    about 0.72) for a ``HistGradientBoostingRegressor`` of 200 rounds, over the
    boosting task's space."""
    from sklearn.datasets import make_friedman1
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = make_friedman1(n_rows, n_features=20, noise=3.0, random_state=0)
    est = HistGradientBoostingRegressor(max_iter=200, early_stopping=False)
    return X, y, est, dict(HGB_SPACE)


def _bike_svr(n_rows):
    """The bundled UCI Bike Sharing hours (8,645 rows, ``n_rows`` ignored):
    ``subsetml demo --dataset bikeshare``'s RBF SVR and space, the features
    scaled in a pipeline, the target standardised (R^2 is the same)."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from subsetml.datasets import load_bikeshare

    X, y = load_bikeshare(return_X_y=True)
    y = (y - y.mean()) / y.std()
    est = make_pipeline(StandardScaler(), SVR())
    space = {
        "svr__C": ("log", 1e-2, 1e1),
        "svr__gamma": ("log", 1e-4, 1.0),
        "svr__epsilon": ("log", 1e-2, 1.0),
    }
    return X, y, est, space


TASKS = {
    "mnist1d-svc": (_svc_task(_mnist1d), 16_000),
    "synth-hgb": (_hgb, 48_000),
    "digits-svc": (_svc_task(_digits), 1797),
    "friedman-hgb": (_hgb_regression, 48_000),
    "bike-svr": (_bike_svr, 8645),
}
# Regression tasks: scored by R^2 (``score``'s default for a regressor), in
# the records' "test_accuracy" field with "metric": "r2"; KFold instead of
# StratifiedKFold, an unstratified test split. Run on request (--tasks).
REGRESSION_TASKS = {"friedman-hgb", "bike-svr"}

# The skorch net task: an MNIST-1D MLP trained with SGD for a fixed
# EPOCHS[-1] epochs (epochs are the resource of the rungs, not searched).
EPOCHS = (3, 9, 27)
NET_TASKS = {"mnist1d-mlp-net": 12_000, "mnist1d-cnn-net": 12_000}


def _net_task(model):
    """An MNIST-1D skorch net (``bench_nn_search``'s MLP or 1-D CNN) trained
    with SGD for ``EPOCHS[-1]`` epochs, and its space."""

    def make(n_rows):
        from bench_nn_search import SPACE, make_net

        X, y = _mnist1d(n_rows)
        net = make_net(model, "cpu").set_params(max_epochs=EPOCHS[-1])
        # Epochs are the rungs' resource, not a dimension.
        space = {k: v for k, v in SPACE.items() if k != "max_epochs"}
        return X.astype("float32"), y.astype("int64"), net, space

    return make


TASKS["mnist1d-mlp-net"] = (_net_task("mlp"), NET_TASKS["mnist1d-mlp-net"])
TASKS["mnist1d-cnn-net"] = (_net_task("cnn"), NET_TASKS["mnist1d-cnn-net"])

STRATEGIES = (
    "full (tpe)",
    "random@0.05",
    "craig@0.05",
    "random rungs",
    "craig rungs",
    "random rungs<1",
    "craig rungs<1",
    "random rungs<1 +score",
    "random@0.05 +score",
    "random rungs +score",
    "OptunaSearchCV@0.05",
    "HalvingRandomSearchCV",
    "BayesSearchCV",
)

NET_STRATEGIES = (
    "full (tpe)",
    "full epochs rungs",
    "random@0.05",
    "random@0.05 epochs rungs",
    "random rungs",
    "OptunaSearchCV@0.05",
    "OptunaSearchCV epochs",
    "HalvingRandomSearchCV",
    "HalvingRandomSearchCV epochs",
    "BayesSearchCV",
)
# Proportional scoring (score_size="proportional"), run on request.
PROP_STRATEGIES = (
    "random@0.05 +prop",
    "random rungs +prop",
    "random rungs<1 +prop",
    "random rungs<1 r0 +prop",
    "craig rungs +prop",
    "craig@0.05 +prop",
    "glister@0.05 +prop",
    "gradmatch@0.05 +prop",
)
# Boosting rounds as the resource (synth-hgb's max_iter=200), on request.
# 22 * 3**2: HalvingRandomSearchCV's last round, so both refit with 198.
ITERS = (22, 66, 198)
ITER_STRATEGIES = ("full max_iter rungs", "HalvingRandomSearchCV max_iter")
# SubsetSearchCV with nothing but the estimator, space, n_iter, cv and seed
# set, on request.
DEFAULT_STRATEGIES = ("ours default",)
# Rounds of trials judged together (explicit n_points), run on request.
ROUND_STRATEGIES = (
    "full max_iter rungs rounds",
    "random rungs +prop rounds",
    "random rungs rounds",
    "random rungs<1 rounds",
    "random rungs<1 r0 +prop rounds",
    "full epochs rungs rounds",
    "full max_iter rungs rounds=3",
    "full max_iter rungs rounds=5",
)
# Optuna's random sampler instead of TPE (" +rs"), run on request.
RANDOM_SAMPLER_STRATEGIES = ("random rungs<1 rounds +rs", "random@0.05 +rs")
# The selectors' weights left out of the trials' fits, run on request.
UNWEIGHTED_STRATEGIES = (
    "craig@0.05 +prop unweighted",
    "gradmatch@0.05 +prop unweighted",
)
# The refit check's A/B, run on request (--strategies).
CHECK_STRATEGIES = ("random@0.05 rescore0", "random@0.05 rescore0 nocheck")
# Rungs of rows shaped as HalvingRandomSearchCV's rounds here, and that
# anchor with n_iter candidates instead of as many as fit, run on request.
HALVING_SHAPE_STRATEGIES = (
    "random halving rungs",
    "random halving rungs rounds",
    "random halving rungs r0",
    "random halving rungs r0 rounds",
    "HalvingRandomSearchCV n_iter",
    "random halving rungs r0 w0",
    "random halving rungs r0 w0 rounds",
    "random halving rungs<1",
    "random halving rungs<1 rounds",
)
ALL_STRATEGIES = tuple(
    dict.fromkeys(
        STRATEGIES
        + NET_STRATEGIES
        + PROP_STRATEGIES
        + ITER_STRATEGIES
        + DEFAULT_STRATEGIES
        + ROUND_STRATEGIES
        + RANDOM_SAMPLER_STRATEGIES
        + UNWEIGHTED_STRATEGIES
        + CHECK_STRATEGIES
        + HALVING_SHAPE_STRATEGIES
    )
)


class _OptunaEpochs:
    """``OptunaSearchCV`` pruning on epochs, then the best net refitted.

    Each trial trains a net of one epoch per ``partial_fit`` for up to
    ``EPOCHS[-1]`` steps, scored on every fold after each; Optuna's
    successive halving (first rung ``EPOCHS[0]``, the same factor as ours)
    stops trials between them. OptunaSearchCV's refit would call ``fit`` on
    a one-epoch net, so the search runs with ``refit=False`` and the best
    configuration is refitted here for ``EPOCHS[-1]`` epochs (timed with it).
    """

    def __init__(self, estimator, space, n_iter, cv, seed):
        self.estimator, self.space = estimator, space
        self.n_iter, self.cv, self.seed = n_iter, cv, seed

    def fit(self, X, y):
        import optuna
        from optuna_integration import OptunaSearchCV
        from sklearn.base import clone

        pruner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=EPOCHS[0], reduction_factor=EPOCHS[1] // EPOCHS[0]
        )
        self.search_ = OptunaSearchCV(
            clone(self.estimator).set_params(max_epochs=1),
            space_for_optuna(self.space),
            n_trials=self.n_iter,
            cv=self.cv,
            enable_pruning=True,
            max_iter=EPOCHS[-1],
            refit=False,
            random_state=self.seed,
            study=optuna.create_study(
                direction="maximize",
                sampler=optuna.samplers.TPESampler(seed=self.seed),
                pruner=pruner,
            ),
            verbose=0,
        )
        self.search_.fit(X, y)
        self.best_params_ = self.search_.best_params_
        self.best_score_ = self.search_.best_score_
        self.trials_ = self.search_.trials_
        t0 = time.perf_counter()
        self.best_estimator_ = clone(self.estimator).set_params(**self.best_params_)
        self.best_estimator_.fit(X, y)
        self.refit_time_ = time.perf_counter() - t0
        return self

    def score(self, X, y):
        return self.best_estimator_.score(X, y)


def make_search(strategy, estimator, space, n_iter, splitter, seed, fold_rows, y):
    from subsetml.model_selection import SubsetSearchCV

    def subset(*, defaults=False, **kw):
        if not defaults:
            # Whole test folds unless a strategy says otherwise ("+score",
            # "+prop"), as before score_size="auto" became the default, so
            # that strategy names keep their meaning across results files.
            kw.setdefault("score_size", None)
            # One trial per round, as before n_points="auto" became the
            # default; the " rounds" strategies set their rounds below.
            kw.setdefault("n_points", 1)
        return SubsetSearchCV(
            estimator,
            space_for_subsetml(space),
            n_iter=n_iter,
            cv=splitter,
            random_state=seed,
            **kw,
        )

    def without(suffix):
        # The strategy named without ``suffix``, which then adjusts it.
        return make_search(
            strategy[: -len(suffix)],
            estimator,
            space,
            n_iter,
            splitter,
            seed,
            fold_rows,
            y,
        )

    if strategy.endswith(" +rs"):
        # The same search with Optuna's random sampler instead of TPE: does
        # the optimiser or the fidelity lose to HalvingRandomSearchCV?
        return without(" +rs").set_params(optimizer="random")
    if strategy.endswith(" +prop") and strategy not in ALL_STRATEGIES:
        # Any strategy of ours with each subset rung scored on its own share
        # of the test folds, as HalvingRandomSearchCV scores its rounds (the
        # named "+prop" strategies above are the same searches).
        return without(" +prop").set_params(score_size="proportional")
    if strategy.endswith(" unweighted"):
        return without(" unweighted").set_params(use_weights=False)
    if strategy.endswith(" +loader"):
        # The net loading plain arrays a batch at a time in every fit, the
        # refit included (subsetml's ArrayLoader, the same batches): what it
        # gives any search tool. SubsetSearchCV's own fits load so anyway.
        from sklearn.base import clone

        from subsetml.skorch import ArrayLoader

        net = clone(estimator).set_params(
            iterator_train=ArrayLoader, iterator_valid=ArrayLoader
        )
        suffix = " +loader"
        return make_search(
            strategy[: -len(suffix)], net, space, n_iter, splitter, seed, fold_rows, y
        )
    # A net's subset trials with another schedule, the net given as a
    # SubsetNeuralNetClassifier of subset_size=1.0, which the search keeps
    # (its trials take the rung's share) and refits as a plain net:
    # " w0", every epoch of the budget on subsets (no warm start on all
    # rows); " fixed", one random subset per rung as HalvingRandomSearchCV
    # trains its rounds (no warm start, a single selection kept for every
    # epoch, and the search's one seed for every trial's net, so all trials
    # at a rung draw the same rows).
    for suffix in (" w0", " fixed"):
        if strategy.endswith(suffix):
            from subsetml.skorch import SubsetNeuralNetClassifier

            schedule = {"warm_up": 0.0}
            if suffix == " fixed":
                schedule["select_every"] = estimator.max_epochs

            net = SubsetNeuralNetClassifier(
                **estimator.get_params(deep=False), subset_size=1.0, **schedule
            )
            return make_search(
                strategy[: -len(suffix)],
                net,
                space,
                n_iter,
                splitter,
                seed,
                fold_rows,
                y,
            )
    first = re.search(r" from=(0\.\d+)$", strategy)
    if first:
        # Rungs of rows from a larger first share (" from=F"): F * 3 ** i
        # below 1, then whole folds, e.g. (0.15, 0.45, 1.0) for F = 0.15;
        # HalvingRandomSearchCV's first round on F of each fold, as a user
        # of it would raise its min_resources. Its resource counts rows of
        # the data it is fitted on, and each round trains on that fraction
        # of each training fold: F of every row is F of each fold.
        search = without(first.group(0))
        if "min_resources" in search.get_params():
            rows = max(int(round(float(first[1]) * len(y))), 2 * _n_classes(y))
            return search.set_params(min_resources=rows)
        return search.set_params(subset_size=_rungs_from(first[1]))
    rescored = re.search(r" rescore=(\d+)$", strategy)
    if rescored:
        # The best K configurations re-scored on whole folds (" rescore=K").
        return without(rescored.group(0)).set_params(rescore=int(rescored[1]))
    if " rounds=" in strategy:
        # Rounds of an explicit size K (" rounds=K"), for every resource.
        head, _, k = strategy.rpartition(" rounds=")
        return without(" rounds=" + k).set_params(n_points=int(k))
    if strategy.endswith(" rounds"):
        search = without(" rounds")
        # Rounds as n_points="auto" sizes them for rungs of rows, given
        # explicitly so that rungs of epochs and boosting rounds (one at a
        # time under "auto") run in rounds too.
        from subsetml.model_selection._samplers import startup_trials

        n_rungs = len(_rungs(search))
        return search.set_params(
            n_points=min(startup_trials(n_iter), 3 ** (n_rungs - 1))
        )
    if strategy == "full (tpe)":
        return subset(selector="random", subset_size=1.0)
    if strategy == "ours default":
        # What a user gets from SubsetSearchCV's defaults (5 % random
        # subsets, score_size="auto", n_points="auto"), nothing set here.
        return subset(defaults=True)
    epochs = {"resource": "max_epochs", "resource_rungs": EPOCHS}
    if strategy == "full epochs rungs":
        return subset(selector="random", subset_size=1.0, **epochs)
    if strategy == "random@0.05 epochs rungs":
        return subset(selector="random", subset_size=0.05, **epochs)
    if strategy == "OptunaSearchCV epochs":
        return _OptunaEpochs(estimator, space, n_iter, splitter, seed)

    def halving_on(resource, rungs):
        # scikit-learn's halving over an estimator parameter, n_iter
        # candidates, the factor of the first two rungs.
        return halving_random_search_cv()(
            estimator,
            space_for_scipy(space),
            n_candidates=n_iter,
            resource=resource,
            min_resources=rungs[0],
            max_resources=rungs[-1],
            factor=rungs[1] // rungs[0],
            cv=splitter,
            random_state=seed,
        )

    if strategy == "HalvingRandomSearchCV epochs":
        return halving_on("max_epochs", EPOCHS)
    if strategy == "full max_iter rungs":
        return subset(
            selector="random",
            subset_size=1.0,
            resource="max_iter",
            resource_rungs=ITERS,
        )
    if strategy == "HalvingRandomSearchCV max_iter":
        return halving_on("max_iter", ITERS)
    if strategy in (
        "random halving rungs",
        "random halving rungs r0",
        "random halving rungs<1",
    ):
        # HalvingRandomSearchCV's rounds as shares of each training fold:
        # its min_resources (rows of the data it is fitted on) times 3 ** i.
        n_total, first = len(y), halving_min_resources(fold_rows, _n_classes(y))
        shares = []
        while first * 3 ** len(shares) <= n_total:
            shares.append(first * 3 ** len(shares) / n_total)
        extra = {"rescore": 0} if strategy.endswith(" r0") else {}
        if strategy.endswith("<1"):
            # Without the last round's share: the re-scoring on whole folds
            # (the nets' default, 3) follows the rung below it instead.
            shares = shares[:-1]
        return subset(
            selector="random", subset_size=tuple(shares), pruner="halving", **extra
        )
    if strategy == "random@0.05 rescore0":
        return subset(selector="random", subset_size=0.05, rescore=0)
    if strategy == "random@0.05 rescore0 nocheck":
        return subset(selector="random", subset_size=0.05, rescore=0, refit_check=False)
    sel = strategy.split("@")[0].split(" ")[0]
    if strategy.endswith("@0.05") and sel in ("random", "craig"):
        return subset(selector=sel, subset_size=0.05)
    if strategy.endswith(" rungs"):
        return subset(selector=sel, subset_size=RUNGS, pruner="halving")
    if strategy.endswith(" rungs<1"):
        return subset(selector=sel, subset_size=RUNGS[:-1], rescore=3)
    if strategy.endswith(" rungs<1 +score"):
        return subset(selector=sel, subset_size=RUNGS[:-1], rescore=3, score_size=2000)
    if strategy.endswith("@0.05 +score"):
        return subset(selector=sel, subset_size=0.05, score_size=2000)
    if strategy.endswith(" rungs +score"):
        return subset(selector=sel, subset_size=RUNGS, score_size=2000)
    prop = {"score_size": "proportional"}
    if strategy.endswith("@0.05 +prop"):
        return subset(selector=sel, subset_size=0.05, **prop)
    if strategy.endswith(" rungs +prop"):
        return subset(selector=sel, subset_size=RUNGS, pruner="halving", **prop)
    if strategy.endswith(" rungs<1 r0 +prop"):
        return subset(selector=sel, subset_size=RUNGS[:-1], rescore=0, **prop)
    if strategy.endswith(" rungs<1 +prop"):
        return subset(selector=sel, subset_size=RUNGS[:-1], rescore=3, **prop)
    anchors = {
        "OptunaSearchCV@0.05": "optuna",
        "HalvingRandomSearchCV": "halving",
        "HalvingRandomSearchCV n_iter": "halving",
        "BayesSearchCV": "bayes",
    }
    if strategy in anchors:
        search = make_anchor(
            anchors[strategy],
            estimator,
            space,
            n_iter=n_iter,
            cv=splitter,
            seed=seed,
            fold_rows=fold_rows,
            n_classes=_n_classes(y),
            size=0.05,
        )
        if strategy.endswith(" n_iter"):
            # n_iter candidates rather than as many as fit.
            search.set_params(n_candidates=n_iter)
        return search
    raise ValueError(f"unknown strategy {strategy!r}")


def _n_classes(y):
    """Classes of a classification target; 1 for a regression target (so
    that ``HalvingRandomSearchCV``'s first round is 5 % of a fold)."""
    return 1 if np.asarray(y).dtype.kind == "f" else len(np.unique(y))


def run_one(strategy, task, seed, n_iter, n_rows):
    from sklearn.model_selection import KFold, train_test_split

    # "<strategy> n_iter=K": that strategy at a budget of K trials, beside
    # the run's own --n-iter (an accuracy-against-time curve per strategy).
    name = strategy
    strategy, n_iter = _budget_of(strategy, n_iter)

    make, _ = TASKS[task]
    X, y, estimator, space = make(n_rows)
    if task in NET_TASKS:
        import torch

        # The nets' initial weights come from torch's global generator: seed
        # it, so that a run of one (task, seed, strategy) repeats.
        torch.manual_seed(seed)
    regression = task in REGRESSION_TASKS
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, stratify=None if regression else y, random_state=seed
    )
    if regression:
        splitter = KFold(2, shuffle=True, random_state=seed)
    else:
        splitter = make_splitter(2, seed)
    fold_rows = int(np.mean([len(tr) for tr, _ in splitter.split(X_tr, y_tr)]))
    search = make_search(
        strategy, estimator, space, n_iter, splitter, seed, fold_rows, y_tr
    )
    with quiet():
        t0 = time.perf_counter()
        search.fit(X_tr, y_tr)
        elapsed = time.perf_counter() - t0
    report = getattr(search, "compute_report_", None)
    results = getattr(search, "cv_results_", None) or {}
    return {
        "task": task,
        "seed": seed,
        "strategy": name,
        "metric": "r2" if regression else "accuracy",
        "n_rows": int(len(y)),
        "n_iter": n_iter,
        "fold_rows": fold_rows,
        "end_to_end_s": elapsed,
        "refit_s": float(getattr(search, "refit_time_", float("nan"))),
        "best_cv_score": float(getattr(search, "best_score_", float("nan"))),
        "test_accuracy": float(search.score(X_te, y_te)),
        "best_params": _plain(search.best_params_),
        "n_candidates": int(
            len(results["params"]) if "params" in results else len(search.trials_)
        ),
        "n_collapsed": _collapsed(search, X_te, y_te),
        "refit_max_epochs": getattr(
            getattr(search, "best_estimator_", None), "max_epochs", None
        ),
        "n_pruned": _n_pruned(search, results),
        "n_last_rung": _n_last_rung(search, results),
        "collapsed_refits": [
            {
                "params": _plain(c["params"]),
                **{k: c[k] for k in ("train_score", "chance_score", "cv_score")},
            }
            for c in getattr(search, "collapsed_refits_", [])
        ],
        "compute_report": report,
    }


def _n_pruned(search, results):
    """Trials stopped by a pruner (ours, or OptunaSearchCV's), else None."""
    if "pruned" in results:
        return int(sum(results["pruned"]))
    trials = getattr(search, "trials_", None)
    if trials and hasattr(trials[0], "state"):
        return int(sum(t.state.name == "PRUNED" for t in trials))
    return None


def _rungs_from(first):
    """Rungs of rows from a first share ``first`` (a string or float):
    ``first * 3 ** i`` while below 1, then 1.0 (whole folds)."""
    first, shares = float(first), []
    while first * 3 ** len(shares) < 1:
        shares.append(round(first * 3 ** len(shares), 6))
    return (*shares, 1.0)


def _rungs(search):
    """Our search's rungs: its ``resource_rungs``, else its ``subset_size``
    (a float for one size); None for the other tools."""
    rungs = getattr(search, "resource_rungs", None)
    return getattr(search, "subset_size", None) if rungs is None else rungs


def _n_last_rung(search, results):
    """Our trials that reached the last rung without being pruned, else None.

    Re-scored trials sit one rung higher (whole folds) for resource rungs on
    subsets. ``n_candidates - n_pruned`` also counts a trial that failed
    below the last rung; for the other tools it is the only count there is.
    """
    rungs = _rungs(search)
    if "rung" not in results or not isinstance(rungs, (list, tuple)):
        return None
    top = len(rungs) - 1
    return int(
        sum(r >= top and not p for r, p in zip(results["rung"], results["pruned"]))
    )


def _collapsed(search, X_te, y_te):
    """1 when the refitted model is at chance level on the test rows (a net
    whose refit diverged; for a regressor, R^2 of a constant or less), else
    0."""
    if np.asarray(y_te).dtype.kind == "f":
        return int(search.score(X_te, y_te) <= 0.0)
    n_classes = len(np.unique(y_te))
    return int(search.score(X_te, y_te) <= 1.5 / n_classes)


def _load(path):
    if path.exists():
        return json.loads(path.read_text())["records"]
    return []


ANCHORS = (
    "OptunaSearchCV@0.05",
    "HalvingRandomSearchCV",
    "OptunaSearchCV epochs",
    "HalvingRandomSearchCV epochs",
    "HalvingRandomSearchCV max_iter",
)
OURS_PREFIX = ("random", "craig", "full epochs", "full max_iter", "ours")


def summary(records):
    """Per task: one row per strategy (mean test accuracy, paired difference
    to the full search in points with its standard error, mean end-to-end
    seconds, mean speed-up), in the order the strategies ran."""
    out = {}
    for task in dict.fromkeys(r["task"] for r in records):
        rows = [r for r in records if r["task"] == task]
        full = {r["seed"]: r for r in rows if r["strategy"] == "full (tpe)"}
        table = []
        for strategy in dict.fromkeys(r["strategy"] for r in rows):
            mine = [r for r in rows if r["strategy"] == strategy]
            paired = [
                (r["test_accuracy"] - full[r["seed"]]["test_accuracy"]) * 100
                for r in mine
                if r["seed"] in full
            ]
            speed = [
                full[r["seed"]]["end_to_end_s"] / r["end_to_end_s"]
                for r in mine
                if r["seed"] in full
            ]
            n = len(paired)
            table.append(
                {
                    "strategy": strategy,
                    "seeds": len(mine),
                    "test_accuracy": float(np.mean([r["test_accuracy"] for r in mine])),
                    "gap_pp": float(np.mean(paired)) if n else None,
                    "gap_se": float(np.std(paired, ddof=1) / np.sqrt(n))
                    if n > 1
                    else None,
                    "seconds": float(np.mean([r["end_to_end_s"] for r in mine])),
                    "speedup": float(np.mean(speed)) if speed else None,
                    "collapsed": int(sum(r.get("n_collapsed", 0) for r in mine)),
                    # Trials that reached the last rung (not pruned), per
                    # seed: what a rungs search's time goes to. Records
                    # older than n_last_rung: trials less those pruned.
                    "last_rung": [
                        r["n_last_rung"]
                        if r.get("n_last_rung") is not None
                        else r["n_candidates"] - r["n_pruned"]
                        for r in mine
                        if r.get("n_pruned") is not None
                    ],
                }
            )
        out[task] = table
    return out


def targets(summ):
    """The issue's targets per task and subset strategy: within 0.3 points of
    the full search, and ahead of each anchor on the accuracy-time plane
    (at least as accurate and no slower)."""
    lines = []
    for task, table in summ.items():
        by = {row["strategy"]: row for row in table}
        for row in table:
            if not row["strategy"].startswith(OURS_PREFIX) or row["gap_pp"] is None:
                continue
            ok_acc = row["gap_pp"] >= -0.3
            ahead = []
            for anchor in ANCHORS:
                if anchor in by:
                    a = by[anchor]
                    win = (
                        row["test_accuracy"] >= a["test_accuracy"]
                        and row["seconds"] <= a["seconds"]
                    )
                    ahead.append(f"{'ahead of' if win else 'not ahead of'} {anchor}")
            lines.append(
                f"{task}, {row['strategy']}: {row['gap_pp']:+.2f} pp vs full "
                f"({'meets' if ok_acc else 'misses'} -0.3 pp); " + ", ".join(ahead)
            )
    return lines


def _fmt(row):
    gap = "-" if row["gap_pp"] is None else f"{row['gap_pp']:+.2f}"
    if row["gap_se"] is not None:
        gap += f" ± {row['gap_se']:.2f}"
    speed = "-" if row["speedup"] is None else f"{row['speedup']:.1f}x"
    return [
        row["strategy"],
        str(row["seeds"]),
        f"{row['test_accuracy']:.4f}",
        gap,
        f"{row['seconds']:.1f}",
        speed,
        str(row.get("collapsed", 0)),
        _span(row.get("last_rung")),
    ]


def _span(values):
    """``"a-b"`` over seeds (``"a"`` when they agree), ``"-"`` for none."""
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi}"


HEADER = [
    "strategy",
    "seeds",
    "test acc",
    "vs full (pp)",
    "seconds",
    "speed-up",
    "collapsed",
    "last rung",
]


def _header(records, task):
    """``HEADER``, its score column named for the task's metric."""
    r2 = any(r.get("metric") == "r2" for r in records if r["task"] == task)
    return [HEADER[0], HEADER[1], "test R^2" if r2 else HEADER[2], *HEADER[3:]]


def table(path):
    records = _load(path)
    summ = summary(records)
    for task, rows in summ.items():
        print(f"\n{task}")
        lines = [_header(records, task)] + [_fmt(row) for row in rows]
        # The first column as wide as its longest name (modifiers make long
        # ones), so that the numbers stay under their headers.
        width = max(32, *(len(cells[0]) + 2 for cells in lines))
        for cells in lines:
            print(f"{cells[0]:<{width}}" + "".join(f"{c:>15}" for c in cells[1:]))
    print()
    for line in targets(summ):
        print(line)


def rst(path):
    """The tables and targets as reStructuredText (for the docs)."""
    data = json.loads(path.read_text())
    m = data["machine"]
    parts = [
        f"From ``benchmarks/results/{path.name}`` ({m['cpu_count']} cores, "
        f"scikit-learn {m['scikit-learn']}, run {m['date']}). "
        + _score_words(data["records"])
        + " of the refit model on held-out rows, mean over seeds; its paired "
        "difference to the full-data TPE search (points, ± standard error); "
        "end-to-end seconds (search and refit) and speed-up over the full "
        "search; trials that reached the last rung (range over seeds).",
        "",
    ]
    summ = summary(data["records"])
    for task, rows in summ.items():
        parts += [f".. list-table:: {task}", "   :header-rows: 1", ""]
        for cells in [_header(data["records"], task)] + [_fmt(r) for r in rows]:
            parts.append(f"   * - {cells[0]}")
            parts += [f"     - {c}" for c in cells[1:]]
        parts.append("")
    parts += ["Targets (issue 14), as computed from the file:", ""]
    parts += [f"* {line}" for line in targets(summ)]
    return "\n".join(parts) + "\n"


FAR = 0.1  # accuracy below the best by which a plot leaves a point out


def plot(path, out):
    """Test accuracy against end-to-end seconds, one panel per task."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    records = _load(path)
    summ = summary(records)
    metric = {r["task"]: _metric_label(r) for r in records}
    fig = Figure(figsize=(5 * len(summ), 4), layout="constrained")
    axes = fig.subplots(1, len(summ), squeeze=False)[0]
    for ax, (task, rows) in zip(axes, summ.items()):
        # A strategy far below the best (a refit at chance) would squash the
        # others into one line: it is drawn at the bottom edge, pointing
        # down, with its accuracy in its label.
        top = max(row["test_accuracy"] for row in rows)
        near = [a for row in rows if (a := row["test_accuracy"]) >= top - FAR]
        pad = max((top - min(near)) * 0.15, 0.002)
        bottom = min(near) - pad
        for row in rows:
            name, acc = row["strategy"], row["test_accuracy"]
            marker = "o" if name.startswith(OURS_PREFIX) else "s"
            if acc < bottom:
                marker, name, acc = "v", f"{name} ({acc:.1%})", bottom + pad / 3
            ax.scatter(row["seconds"], acc, marker=marker)
            ax.annotate(name, (row["seconds"], acc), fontsize=7)
        ax.set_ylim(bottom, top + pad)
        ax.set_xscale("log")
        low, high = ax.get_xlim()
        if high / low < 10:
            # Within one decade a log axis has no labelled (major) tick:
            # label 1, 2, 3 and 5 times the powers of ten instead.
            ax.xaxis.set_minor_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        else:
            ax.xaxis.set_minor_formatter(NullFormatter())  # not crowded
        ax.set_xlabel("end-to-end seconds (log)")
        ax.set_ylabel(metric[task])
        ax.set_title(task)
    fig.savefig(out, dpi=110)
    return out


def _score_words(records):
    """What the records' "test_accuracy" fields hold, for a sentence."""
    metrics = dict.fromkeys(r.get("metric", "accuracy") for r in records)
    words = {"accuracy": "Test accuracy", "r2": "Test R^2 (its points: x 100)"}
    return " or ".join(
        words[m] if i == 0 else words[m].lower() for i, m in enumerate(metrics)
    )


def _metric_label(record):
    """What a record's "test_accuracy" field holds."""
    return "test R^2" if record.get("metric") == "r2" else "test accuracy"


def _budget_of(strategy, n_iter):
    """``(strategy without " n_iter=K", K)``: the same search at other budgets."""
    head, sep, k = strategy.rpartition(" n_iter=")
    return (head, int(k)) if sep else (strategy, n_iter)


def _strategy_name(text):
    """``--strategies`` entries: a known strategy, optionally with a budget."""
    head, k = _budget_of(text, 0) if " n_iter=" in text else (text, 1)
    # Modifiers make_search reads off the end of a name, in any combination.
    while head not in ALL_STRATEGIES:
        stem = re.sub(
            r" (\+rs|\+prop|\+loader|unweighted|w0|fixed|rescore=\d+|from=0\.\d+"
            r"|rounds(=\d+)?)$",
            "",
            head,
        )
        if stem == head:
            break
        head = stem
    if head not in ALL_STRATEGIES or k < 1:
        raise argparse.ArgumentTypeError(
            f"unknown strategy {text!r}; choose from {', '.join(ALL_STRATEGIES)}, "
            "optionally followed by ' n_iter=K'"
        )
    return text


def plot_budgets(path, out):
    """Test accuracy against end-to-end seconds, one curve per strategy run
    at several ``n_iter`` (strategies named ``"... n_iter=K"`` beside the
    default budget), means over seeds with the standard error of accuracy."""
    from matplotlib.figure import Figure

    records = _load(path)
    groups = {}
    for r in records:
        name, n_iter = _budget_of(r["strategy"], r["n_iter"])
        groups.setdefault(name, {}).setdefault(n_iter, []).append(r)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, budgets in groups.items():
        points = []
        for n_iter, runs in sorted(budgets.items()):
            acc = np.array([r["test_accuracy"] for r in runs]) * 100
            se = acc.std(ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else 0.0
            secs = float(np.mean([r["end_to_end_s"] for r in runs]))
            points.append((secs, acc.mean(), se, n_iter))
        secs, acc, se, n_iters = map(np.array, zip(*points))
        ours = name.startswith(OURS_PREFIX)
        line = ax.errorbar(
            secs,
            acc,
            yerr=se,
            marker="o" if ours else "s",
            linestyle="-" if len(points) > 1 else "none",
            capsize=3,
            label=name,
        )
        if len(points) > 1:
            for x, y, k in zip(secs, acc, n_iters):
                ax.annotate(
                    f"{k}", (x, y), textcoords="offset points", xytext=(4, -10),
                    fontsize=7, color=line[0].get_color(),
                )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("end-to-end seconds (log; numbers: n_iter)")
    label = " / ".join(dict.fromkeys(_metric_label(r) for r in records))
    unit = "x 100" if label == "test R^2" else "%"
    ax.set_ylabel(f"{label} ({unit}, mean ± s.e. over seeds)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(", ".join(dict.fromkeys(r["task"] for r in records)))
    fig.savefig(out, dpi=110)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="digits-svc, 1 seed")
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds to run")
    parser.add_argument("--n-iter", type=int, default=None)
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="rows of every task (75 %% to search and refit on, 25 %% to test); "
        "default: each task's own",
    )
    parser.add_argument(
        "--strategies",
        nargs="+",
        type=_strategy_name,
        metavar="STRATEGY",
        help="strategies to run (default: the task's set); a name may end in "
        "' n_iter=K' to run that strategy with K trials",
    )
    parser.add_argument("--output", default=None, help="results file name")
    parser.add_argument("--table", action="store_true", help="print, run nothing")
    parser.add_argument(
        "--plot", action="store_true", help="draw the plot, run nothing"
    )
    parser.add_argument(
        "--plot-budgets",
        action="store_true",
        help="draw accuracy against time with a curve per strategy run at "
        "several n_iter (' n_iter=K' in its name), run nothing",
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="NAME",
        help="join these results files (runs of other seeds) into --output",
    )
    args = parser.parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = args.output or ("fidelity_quick" if args.quick else "fidelity")
    path = RESULTS / f"{name}.json"
    if args.merge:
        if args.output is None:
            raise SystemExit("--merge needs --output (the file it writes)")
        parts = [json.loads((RESULTS / f"{m}.json").read_text()) for m in args.merge]
        records = [r for part in parts for r in part["records"]]
        keys = [(r["task"], r["seed"], r["strategy"]) for r in records]
        if len(set(keys)) != len(keys):
            raise SystemExit("the files to merge share (task, seed, strategy) records")
        merged = {**parts[0], "merged_from": list(args.merge), "records": records}
        write_results(name, merged)
        table(path)
        return
    if args.table or args.plot or args.plot_budgets:
        if args.table:
            table(path)
        if args.plot:
            print(plot(path, path.with_suffix(".png")))
        if args.plot_budgets:
            print(plot_budgets(path, path.with_suffix(".png")))
        return
    tasks = args.tasks or (
        ["digits-svc"]
        if args.quick
        else [t for t in TASKS if t not in NET_TASKS and t not in REGRESSION_TASKS]
    )
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    n_iter = args.n_iter or (12 if args.quick else 30)
    records = _load(path)
    header = {
        "benchmark": "fidelity",
        "description": __doc__,
        "machine": machine_info(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",)},
        "config": {
            "argv": sys.argv[1:],
            "rungs": list(RUNGS),
            "epoch_rungs": list(EPOCHS),
        },
    }
    for task in tasks:
        n_rows = args.rows or TASKS[task][1]
        task_strategies = args.strategies or (
            NET_STRATEGIES if task in NET_TASKS else STRATEGIES
        )
        for seed in seeds:
            for strategy in task_strategies:
                rec = run_one(strategy, task, seed, n_iter, n_rows)
                records = [
                    r
                    for r in records
                    if (r["task"], r["seed"], r["strategy"]) != (task, seed, strategy)
                ] + [rec]
                write_results(name, {**header, "records": records})
                print(
                    f"{task} seed={seed} {strategy:<24} "
                    f"test={rec['test_accuracy']:.4f} "
                    f"cv={rec['best_cv_score']:.4f} time={rec['end_to_end_s']:7.1f}s",
                    flush=True,
                )
    table(path)


if __name__ == "__main__":
    main()
