"""Shared harness for the search benchmarks: paired candidates and end-to-end runs.

Two views of a subset search, for any scikit-learn-compatible estimator (a
skorch net included):

* :func:`ranking_view` -- *paired candidates*. A fixed set of M configurations
  is drawn once per seed (Optuna's ``RandomSampler`` with that seed, so every
  strategy proposes the very same candidates, which is checked). Each strategy
  scores all M on the same CV splits: the full data (``subset_size=1.0``) is the
  reference; every subset strategy is compared with it by Kendall's tau,
  Spearman's rho, top-5 overlap and top-1 regret (test accuracy of its first
  choice, refit on all training rows, against the best of the M). This isolates
  how well a subset *ranks* configurations from the luck of which
  configurations a sequential optimiser happens to draw.
* :func:`end_to_end_view` -- the paper's Figure 1: a TPE search with enough
  trials to leave its random start-up phase, on the full data and on subsets,
  next to scikit-optimize's ``BayesSearchCV``, scikit-learn's
  ``HalvingRandomSearchCV`` and Optuna's ``OptunaSearchCV(subsample=...)``,
  all timed end to end (search + refit on all rows) and scored on a held-out
  test set.

A *space* is given once in a neutral form and converted for each library::

    {"C": ("log", 1e-2, 1e3), "width": ("int-log", 16, 256), "act": ("cat", [...])}
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager

import numpy as np
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from subsetml.model_selection import SubsetSearchCV

# --------------------------------------------------------------------------
# Validation splits


def make_splitter(cv, seed):
    """``cv`` folds (an int), or one stratified hold-out of that fraction.

    A float ``cv`` in (0, 1) is the validation share of a single split, the
    way the papers tune (train on the rest, score on the hold-out); an int is
    ``StratifiedKFold(cv)``. Both are shuffled with ``seed`` and shared by
    every strategy of a seed.
    """
    if isinstance(cv, float):
        if not 0.0 < cv < 1.0:
            raise ValueError(f"a hold-out cv must lie in (0, 1), got {cv!r}")
        return StratifiedShuffleSplit(n_splits=1, test_size=cv, random_state=seed)
    return StratifiedKFold(cv, shuffle=True, random_state=seed)


# --------------------------------------------------------------------------
# Search spaces in one neutral form, converted per library


def _check_kind(name, dim):
    if dim[0] not in ("log", "float", "int", "int-log", "cat"):
        raise ValueError(f"Unknown dimension kind {dim[0]!r} for {name!r}.")


def space_for_subsetml(space):
    out = {}
    for name, dim in space.items():
        _check_kind(name, dim)
        kind = dim[0]
        if kind == "cat":
            out[name] = list(dim[1])
        elif kind in ("log", "int-log"):
            lo, hi = dim[1:]
            out[name] = (lo, hi, "log-uniform")
        else:
            out[name] = (dim[1], dim[2])
    return out


def space_for_skopt(space):
    from skopt.space import Categorical, Integer, Real

    out = {}
    for name, dim in space.items():
        kind = dim[0]
        if kind == "cat":
            out[name] = Categorical(list(dim[1]))
        elif kind == "log":
            out[name] = Real(dim[1], dim[2], prior="log-uniform")
        elif kind == "float":
            out[name] = Real(dim[1], dim[2])
        elif kind == "int-log":
            out[name] = Integer(dim[1], dim[2], prior="log-uniform")
        else:
            out[name] = Integer(dim[1], dim[2])
    return out


def space_for_optuna(space):
    import optuna

    d = optuna.distributions
    out = {}
    for name, dim in space.items():
        kind = dim[0]
        if kind == "cat":
            out[name] = d.CategoricalDistribution(list(dim[1]))
        elif kind in ("log", "float"):
            out[name] = d.FloatDistribution(dim[1], dim[2], log=kind == "log")
        else:
            out[name] = d.IntDistribution(dim[1], dim[2], log=kind == "int-log")
    return out


def space_for_scipy(space):
    """Distributions for ``HalvingRandomSearchCV`` / ``RandomizedSearchCV``."""
    out = {}
    for name, dim in space.items():
        kind = dim[0]
        if kind == "cat":
            out[name] = list(dim[1])
        elif kind == "log":
            out[name] = stats.loguniform(dim[1], dim[2])
        elif kind == "float":
            out[name] = stats.uniform(dim[1], dim[2] - dim[1])
        elif kind == "int":
            out[name] = stats.randint(dim[1], dim[2] + 1)
        else:  # int-log: sampled log-uniformly, rounded down
            out[name] = _IntLogUniform(dim[1], dim[2])
    return out


class _IntLogUniform:
    """An integer log-uniform distribution with ``rvs`` (for scikit-learn)."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def rvs(self, size=None, random_state=None):
        from sklearn.utils import check_random_state

        rs = check_random_state(random_state)
        u = rs.uniform(np.log(self.low), np.log(self.high + 1), size=size)
        v = np.clip(np.floor(np.exp(u)).astype(int), self.low, self.high)
        return v if size is not None else int(v)


# --------------------------------------------------------------------------
# Helpers


@contextmanager
def quiet():
    """Silence convergence and other warnings of the tuned models."""
    import optuna

    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            optuna.logging.set_verbosity(level)


def test_accuracy(estimator, params, X_tr, y_tr, X_te, y_te):
    """Fit ``estimator`` with ``params`` on all training rows; test score."""
    model = clone(estimator).set_params(**params)
    t0 = time.perf_counter()
    model.fit(X_tr, y_tr)
    fit_time = time.perf_counter() - t0
    return float(model.score(X_te, y_te)), fit_time


def _plain(params):
    """numpy scalars to Python scalars, for JSON and for comparisons."""
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}


def top_k_overlap(a, b, k):
    ta = set(np.argsort(-a, kind="stable")[:k])
    tb = set(np.argsort(-b, kind="stable")[:k])
    return len(ta & tb) / k


def rank_agreement(sub, full):
    """Kendall's tau-b and Spearman's rho over the candidates both scored."""
    ok = np.isfinite(sub) & np.isfinite(full)
    if ok.sum() < 3 or np.ptp(sub[ok]) == 0 or np.ptp(full[ok]) == 0:
        return float("nan"), float("nan")
    tau = stats.kendalltau(sub[ok], full[ok]).statistic
    rho = stats.spearmanr(sub[ok], full[ok]).statistic
    return float(tau), float(rho)


def min_rows_ok(subset_size, fold_rows, n_classes):
    """Whether a subset of ``subset_size`` can hold every class of a fold."""
    k = subset_size if isinstance(subset_size, int) else round(subset_size * fold_rows)
    return k >= n_classes


# --------------------------------------------------------------------------
# View 1: paired candidates


def ranking_view(
    estimator,
    space,
    data,
    *,
    selectors=("random", "craig", "glister", "gradmatch"),
    sizes=(0.01, 0.05, 0.1),
    n_candidates=30,
    cv=3,
    seed=0,
    halving=True,
    log=print,
):
    """Score the same ``n_candidates`` configurations with every strategy.

    Parameters
    ----------
    estimator : estimator
    space : dict
        A neutral space (see the module docstring).
    data : tuple
        ``(X_train, y_train, X_test, y_test)``.
    selectors, sizes : sequences
        Subset strategies: every selector at every size.
    n_candidates : int
        M, the configurations drawn once with ``seed``.
    cv : int or float
        Stratified folds, or the validation share of one stratified hold-out
        (see :func:`make_splitter`), the same for all strategies.
    seed : int
    halving : bool
        Also run ``HalvingGridSearchCV`` over the M candidates (single-point
        grids, ``n_samples`` as resource, first round at 5 % of a fold).

    Returns
    -------
    records : list of dict
        One per strategy (the full-data reference included).
    """
    import optuna

    X_tr, y_tr, X_te, y_te = data
    n_classes = len(np.unique(y_tr))
    splitter = make_splitter(cv, seed)
    fold_rows = int(np.mean([len(tr) for tr, _ in splitter.split(X_tr, y_tr)]))
    sub_space = space_for_subsetml(space)

    def search(selector, size):
        s = SubsetSearchCV(
            estimator,
            sub_space,
            n_iter=n_candidates,
            selector=selector,
            subset_size=size,
            optimizer=optuna.samplers.RandomSampler(seed=seed),
            cv=splitter,
            refit=False,
            random_state=seed,
            error_score=np.nan,
        )
        t0 = time.perf_counter()
        with quiet():
            s.fit(X_tr, y_tr)
        return s, time.perf_counter() - t0

    full, full_time = search("random", 1.0)
    params = [_plain(p) for p in full.cv_results_["params"]]
    full_scores = np.asarray(full.cv_results_["mean_test_score"], dtype=float)

    # Test accuracy of every candidate trained on all training rows: the
    # ground truth for regret.
    test_acc, test_fit_time = [], 0.0
    with quiet():
        for p in params:
            acc, t = test_accuracy(estimator, p, X_tr, y_tr, X_te, y_te)
            test_acc.append(acc)
            test_fit_time += t
    test_acc = np.asarray(test_acc)
    best_test = float(np.nanmax(test_acc))
    full_pick = int(np.nanargmax(full_scores))

    base = {
        "seed": seed,
        "n_candidates": n_candidates,
        "cv": cv,
        "fold_rows": fold_rows,
        "best_test_accuracy": best_test,
        "full_pick_test_accuracy": float(test_acc[full_pick]),
    }

    def record(strategy, selector, size, scores, elapsed, sel_time, rows):
        tau, rho = rank_agreement(scores, full_scores)
        pick = int(np.nanargmax(scores)) if np.isfinite(scores).any() else None
        pick_acc = float(test_acc[pick]) if pick is not None else float("nan")
        rec = {
            **base,
            "strategy": strategy,
            "selector": selector,
            "subset_size": size,
            "rows_per_trial": rows,
            "kendall_tau": tau,
            "spearman_rho": rho,
            "top5_overlap": top_k_overlap(
                np.nan_to_num(scores, nan=-np.inf), full_scores, min(5, len(scores))
            ),
            "top1_test_accuracy": pick_acc,
            "regret": best_test - pick_acc,
            "regret_vs_full_pick": float(test_acc[full_pick]) - pick_acc,
            "time_s": elapsed,
            "selection_time_s": sel_time,
            "time_ratio_vs_full": full_time / elapsed,
            "n_failed": int(np.sum(~np.isfinite(scores))),
        }
        log(
            f"  seed={seed} {strategy:<18} rows={rows:>7.0f} tau={tau:+.3f} "
            f"rho={rho:+.3f} top5={rec['top5_overlap']:.1f} "
            f"regret={rec['regret']:.4f} time={elapsed:7.2f}s "
            f"(x{rec['time_ratio_vs_full']:.1f} faster)"
        )
        return rec

    records = [
        {
            **record(
                "full",
                None,
                1.0,
                full_scores,
                full_time,
                0.0,
                float(full.cv_results_["subset_size"][0]),
            ),
            "candidates": params,
            "full_scores": full_scores.tolist(),
            "test_accuracy": test_acc.tolist(),
            "test_fit_time_s": test_fit_time,
        }
    ]
    for size in sizes:
        if not min_rows_ok(size, fold_rows, n_classes):
            log(f"  seed={seed} skip {size}: fewer rows than the {n_classes} classes")
            records.append(
                {
                    **base,
                    "strategy": f"skipped@{size}",
                    "subset_size": size,
                    "skipped": f"{size} of {fold_rows} rows < {n_classes} classes",
                }
            )
            continue
        for sel in selectors:
            s, elapsed = search(sel, size)
            got = [_plain(p) for p in s.cv_results_["params"]]
            if got != params:
                raise RuntimeError(
                    "paired candidates differ between strategies; the ranking "
                    "view would compare different configurations"
                )
            scores = np.asarray(s.cv_results_["mean_test_score"], dtype=float)
            rec = record(
                f"{sel}@{size:g}",
                sel,
                size,
                scores,
                elapsed,
                s.selection_time_,
                float(s.cv_results_["subset_size"][0]),
            )
            rec["scores"] = scores.tolist()
            records.append(rec)
    if halving:
        records.append(
            _halving_ranking(
                estimator,
                params,
                splitter,
                fold_rows,
                X_tr,
                y_tr,
                test_acc,
                record,
                base,
            )
        )
    return records


def _halving_ranking(
    estimator, params, splitter, fold_rows, X_tr, y_tr, test_acc, record, base
):
    """HalvingGridSearchCV over the same M candidates, as an anchor.

    Its first round scores every candidate on a random 5 % of each training
    fold (scikit-learn's own subsampling), so its tau against the full data is
    directly comparable with ``random@0.05``; its pick gives a regret.
    """
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    grid = [{k: [v] for k, v in p.items()} for p in params]
    min_res = max(int(round(0.05 * fold_rows)), 1)
    h = HalvingGridSearchCV(
        estimator,
        grid,
        factor=3,
        resource="n_samples",
        min_resources=min_res,
        cv=splitter,
        refit=False,
        random_state=base["seed"],
        error_score=np.nan,
    )
    t0 = time.perf_counter()
    with quiet():
        h.fit(X_tr, y_tr)
    elapsed = time.perf_counter() - t0
    res = h.cv_results_
    first = np.asarray(res["iter"]) == 0
    # Order the first-round scores like ``params`` (the grid keeps the order).
    first_params = [_plain(p) for p in np.asarray(res["params"], dtype=object)[first]]
    order = [first_params.index(p) for p in params]
    scores_first = np.asarray(res["mean_test_score"], dtype=float)[first][order]
    # Its pick: the best candidate of the last round.
    last = np.asarray(res["iter"]) == res["iter"].max()
    last_scores = np.asarray(res["mean_test_score"], dtype=float)[last]
    last_params = [_plain(p) for p in np.asarray(res["params"], dtype=object)[last]]
    pick = params.index(last_params[int(np.nanargmax(last_scores))])
    # Rank agreement from the first round; the pick-based fields from the last.
    rec = record(
        "halving-grid",
        "sklearn-halving",
        0.05,
        scores_first,
        elapsed,
        0.0,
        float(min_res),
    )
    pick_acc = float(test_acc[pick])
    rec["top1_test_accuracy"] = pick_acc
    rec["regret"] = base["best_test_accuracy"] - pick_acc
    rec["regret_vs_full_pick"] = base["full_pick_test_accuracy"] - pick_acc
    rec["halving_pick_index"] = pick
    rec["n_resources"] = [int(r) for r in h.n_resources_]
    rec["n_candidates_per_round"] = [int(c) for c in h.n_candidates_]
    rec["note"] = (
        "tau/rho/top5 from the first round (random 5 % of each fold); "
        "regret from the candidate its last round chose"
    )
    return rec


# --------------------------------------------------------------------------
# View 2: end-to-end searches


def halving_min_resources(fold_rows, n_classes):
    """``HalvingRandomSearchCV``'s ``min_resources``: 5 % of a fold's rows,
    at least two rows per class.

    scikit-learn counts it in rows of all the data the search is fitted on
    and trains each round on that fraction of each training fold (and scores
    it on that fraction of each test fold), so the first round trains on
    ``5 % * (k - 1) / k`` of each fold's training rows with ``k`` folds:
    2.5 % with 2 folds, 3.3 % with 3."""
    return max(int(round(0.05 * fold_rows)), 2 * n_classes)


def halving_random_search_cv():
    """scikit-learn's ``HalvingRandomSearchCV`` (still experimental)."""
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    return HalvingRandomSearchCV


def make_anchor(
    kind, estimator, space, *, n_iter, cv, seed, fold_rows, n_classes, size=0.05
):
    """The search a user would pick instead, unfitted: ``"bayes"``
    (scikit-optimize's ``BayesSearchCV`` on all rows), ``"halving"``
    (``HalvingRandomSearchCV``, factor 3, as many candidates as fit) or
    ``"optuna"`` (``OptunaSearchCV(subsample=size)`` with a seeded TPE)."""
    if kind == "bayes":
        from skopt import BayesSearchCV

        return BayesSearchCV(
            estimator, space_for_skopt(space), n_iter=n_iter, cv=cv, random_state=seed
        )
    if kind == "halving":
        return halving_random_search_cv()(
            estimator,
            space_for_scipy(space),
            n_candidates="exhaust",
            factor=3,
            min_resources=halving_min_resources(fold_rows, n_classes),
            cv=cv,
            random_state=seed,
        )
    if kind == "optuna":
        import optuna
        from optuna_integration import OptunaSearchCV

        return OptunaSearchCV(
            estimator,
            space_for_optuna(space),
            n_trials=n_iter,
            cv=cv,
            subsample=size,
            random_state=seed,
            study=optuna.create_study(
                direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
            ),
            verbose=0,
        )
    raise ValueError(f"unknown anchor {kind!r}")


def end_to_end_view(
    estimator,
    space,
    data,
    *,
    n_iter=30,
    selectors=("random", "craig", "glister", "gradmatch"),
    sizes=(0.05,),
    cv=3,
    seed=0,
    anchors=("bayes", "halving", "optuna"),
    log=print,
):
    """One end-to-end search per strategy; test accuracy against wall time."""
    X_tr, y_tr, X_te, y_te = data
    splitter = make_splitter(cv, seed)
    fold_rows = int(np.mean([len(tr) for tr, _ in splitter.split(X_tr, y_tr)]))
    n_classes = len(np.unique(y_tr))
    records = []

    def run(name, make, **info):
        with quiet():
            est = make()
            t0 = time.perf_counter()
            est.fit(X_tr, y_tr)
        elapsed = time.perf_counter() - t0
        acc = float(est.score(X_te, y_te))
        rec = {
            "seed": seed,
            "strategy": name,
            "n_iter": n_iter,
            "cv": cv,
            "fold_rows": fold_rows,
            "end_to_end_s": elapsed,
            "refit_s": float(getattr(est, "refit_time_", float("nan"))),
            "best_cv_score": float(getattr(est, "best_score_", float("nan"))),
            "selection_s": float(getattr(est, "selection_time_", float("nan"))),
            # search_time_ is SubsetSearchCV's own (trials without the refit).
            "search_s": float(getattr(est, "search_time_", float("nan"))),
            "test_accuracy": acc,
            "best_params": _plain(est.best_params_),
            **info,
        }
        rec["selection_share"] = rec["selection_s"] / rec["search_s"]
        records.append(rec)
        log(
            f"  seed={seed} {name:<22} test={acc:.4f} cv={rec['best_cv_score']:.4f} "
            f"time={elapsed:7.2f}s"
        )
        return rec

    sub_space = space_for_subsetml(space)

    def subset_search(selector, size):
        return lambda: SubsetSearchCV(
            estimator,
            sub_space,
            n_iter=n_iter,
            selector=selector,
            subset_size=size,
            optimizer="tpe",
            cv=splitter,
            random_state=seed,
        )

    full = run("full (tpe)", subset_search("random", 1.0), subset_size=1.0)
    for size in sizes:
        if not min_rows_ok(size, fold_rows, n_classes):
            continue
        for sel in selectors:
            run(f"{sel}@{size:g} (tpe)", subset_search(sel, size), subset_size=size)

    def anchor(kind, size=0.05):
        return lambda: make_anchor(
            kind,
            estimator,
            space,
            n_iter=n_iter,
            cv=splitter,
            seed=seed,
            fold_rows=fold_rows,
            n_classes=n_classes,
            size=size,
        )

    if "bayes" in anchors:
        run("BayesSearchCV (gp)", anchor("bayes"), subset_size=1.0)
    if "halving" in anchors:
        run(
            "HalvingRandomSearchCV",
            anchor("halving"),
            subset_size=halving_min_resources(fold_rows, n_classes) / fold_rows,
        )
    if "optuna" in anchors:
        try:
            import optuna_integration  # noqa: F401
        except ImportError:  # pragma: no cover - optional anchor
            log("  optuna-integration is not installed: OptunaSearchCV skipped")
        else:
            for size in sizes:
                name = f"OptunaSearchCV@{size:g}"
                run(name, anchor("optuna", size), subset_size=size)
    for rec in records:
        rec["speedup_vs_full"] = full["end_to_end_s"] / rec["end_to_end_s"]
    return records


# --------------------------------------------------------------------------
# Driving both views over tasks and seeds


def run_views(
    jobs,
    *,
    family,
    views,
    seeds,
    split,
    ranking_kwargs,
    e2e_kwargs,
    header,
    suffix="",
    before_view=None,
    log=print,
):
    """Run the requested views for every job and seed, saving after each view.

    Parameters
    ----------
    jobs : iterable of (task, X, y, estimator, space)
    family : str
        Results name: ``<family>_ranking<suffix>.json`` and
        ``<family><suffix>.json`` in ``benchmarks/results``.
    views : collection of {"ranking", "e2e"}
    seeds : int or iterable of int
        Seeds ``0 .. seeds - 1`` (or the seeds given); each gets its own
        train/test split. Giving the seeds lets one configuration be spread
        over several processes whose files the report then reads together.
    split : callable
        ``split(X, y, seed) -> (X_train, y_train, X_test, y_test)``.
    ranking_kwargs, e2e_kwargs : dict
        Passed to :func:`ranking_view` and :func:`end_to_end_view`.
    header : dict
        Written at the top of both files (description, machine, config).
    before_view : callable, default=None
        Called with the seed before each view (e.g. to seed torch).
    """
    from _common import write_results

    records = {"ranking": [], "e2e": []}
    names = {"ranking": f"{family}_ranking{suffix}", "e2e": f"{family}{suffix}"}
    runners = {"ranking": ranking_view, "e2e": end_to_end_view}
    kwargs = {"ranking": ranking_kwargs, "e2e": e2e_kwargs}
    for task, X, y, estimator, space in jobs:
        log(f"{task}: {X.shape[0]} rows x {X.shape[1]} features")
        info = {"task": task, "n_rows": int(X.shape[0]), "space": space}
        for seed in range(seeds) if isinstance(seeds, int) else seeds:
            data = split(X, y, seed)
            for view in ("ranking", "e2e"):
                if view not in views:
                    continue
                if before_view is not None:
                    before_view(seed)
                t0 = time.perf_counter()
                recs = runners[view](
                    estimator, space, data, seed=seed, log=log, **kwargs[view]
                )
                records[view] += [{**info, **r} for r in recs]
                log(f"  {view} view: {time.perf_counter() - t0:.0f} s")
                write_results(
                    names[view],
                    {"benchmark": names[view], **header, "records": records[view]},
                )
    return records
