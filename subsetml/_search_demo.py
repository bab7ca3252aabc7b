"""The search demo behind ``subsetml demo``.

A full-data TPE search and subset searches (5 % of each training fold, one per
selector) tune the same model on the same split with the same seed; the demo
prints a table of time, speed-up and test accuracy (R^2 for the regression
data), and writes ``results.json``, ``table.txt`` and, with matplotlib,
``tradeoff.png``.
Everything runs offline on generated or bundled data.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["DATASETS", "ESTIMATORS", "SELECTORS", "run_search_demo"]

SELECTORS = ("random", "craig", "glister", "gradmatch")
DATASETS = ("mnist1d", "digits", "breast_cancer", "bikeshare")
ESTIMATORS = ("svc", "logreg", "svr")
#: The datasets with a continuous target, and the estimators for them.
REGRESSION_DATASETS = ("bikeshare",)
REGRESSORS = ("svr",)
FULL = "full data"


def mnist1d_available():
    """Whether the optional mnist1d package can be imported."""
    import importlib.util

    return importlib.util.find_spec("mnist1d") is not None


def _load(dataset, n_samples, seed):
    """``(X, y, description)`` of a dataset."""
    if dataset == "bikeshare":
        from subsetml.datasets import load_bikeshare

        X, y = load_bikeshare(return_X_y=True)
        return (
            X,
            y.astype(np.float64),
            f"UCI Bike Sharing, hourly rentals of 2011 ({X.shape[0]} rows, "
            "bundled; CC BY 4.0)",
        )
    if dataset == "mnist1d":
        from subsetml.datasets import make_mnist1d

        X, y = make_mnist1d(n_samples, random_state=seed, return_X_y=True)
        return X, y, f"MNIST-1D, {n_samples} rows generated with seed {seed}"
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
    }
    if dataset not in loaders:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {DATASETS}.")
    X, y = loaders[dataset](return_X_y=True)
    return X, y, f"scikit-learn's bundled {dataset} data ({X.shape[0]} rows)"


def _estimator(name, seed):
    """``(estimator, search space, description)``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC, SVR

    if name == "svr":
        return (
            # C up to 10: on the Bike Sharing hours larger C gained no R^2
            # and took up to 90 s a fit (C=1000) where C=10 takes 2 s.
            SVR(kernel="rbf"),
            {
                "C": (1e-2, 1e1, "log-uniform"),
                "gamma": (1e-4, 1e0, "log-uniform"),
                "epsilon": (1e-2, 1e0, "log-uniform"),
            },
            "RBF support vector regressor, C in [1e-2, 10], gamma in "
            "[1e-4, 1] and epsilon in [1e-2, 1] (log-uniform; the target "
            "standardised on the training rows)",
        )
    if name == "svc":
        return (
            SVC(kernel="rbf"),
            {"C": (1e-2, 1e3, "log-uniform"), "gamma": (1e-4, 1e0, "log-uniform")},
            "RBF support vector classifier, C in [1e-2, 1e3] and gamma in "
            "[1e-4, 1] (log-uniform)",
        )
    if name == "logreg":
        return (
            LogisticRegression(max_iter=500, random_state=seed),
            {"C": (1e-4, 1e2, "log-uniform")},
            "logistic regression, C in [1e-4, 1e2] (log-uniform)",
        )
    raise ValueError(f"Unknown estimator {name!r}; choose one of {ESTIMATORS}.")


def _default_estimator(dataset):
    """The estimator a dataset's demo tunes unless told otherwise."""
    return "svr" if dataset in REGRESSION_DATASETS else "svc"


def _check_settings(dataset, estimator, n_iter, selectors, cv, n_samples, n_jobs):
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {DATASETS}.")
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"Unknown estimator {estimator!r}; choose one of {ESTIMATORS}."
        )
    regression = dataset in REGRESSION_DATASETS
    if regression != (estimator in REGRESSORS):
        fits = [e for e in ESTIMATORS if (e in REGRESSORS) == regression]
        raise ValueError(
            f"{dataset} has a {'continuous' if regression else 'class'} target "
            f"and {estimator} is a {'classifier' if regression else 'regressor'}; "
            f"choose {' or '.join(fits)} for it."
        )
    for name, value, low in (("n_iter", n_iter, 1), ("cv", cv, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if dataset == "mnist1d" and (
        isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 50
    ):
        raise ValueError(f"n_samples must be an integer >= 50, got {n_samples!r}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer, got {n_jobs!r}.")
    unknown = [s for s in selectors if s not in SELECTORS]
    if unknown:
        raise ValueError(
            f"Unknown selector(s) {unknown}; choose among {list(SELECTORS)}."
        )
    if len(set(selectors)) != len(selectors):
        raise ValueError(f"Each selector may be named once, got {list(selectors)}.")


def run_search_demo(
    dataset=None,
    *,
    estimator=None,
    subset_size=0.05,
    n_iter=25,
    selectors=SELECTORS,
    cv=3,
    n_samples=5000,
    seed=0,
    n_jobs=1,
    output="subsetml-demo",
    quiet=False,
    file=None,
    carbon=None,
):
    """Tune one model with a full-data search and with subset searches.

    Parameters
    ----------
    dataset : {"mnist1d", "digits", "breast_cancer", "bikeshare"} or None, \
            default=None
        None: MNIST-1D when the mnist1d package is installed, else digits.
        ``"bikeshare"`` is the bundled UCI Bike Sharing data, a regression
        (:func:`subsetml.datasets.load_bikeshare`), scored by R^2.
    estimator : {"svc", "logreg", "svr"} or None, default=None
        ``"svc"`` and ``"logreg"`` for the classification datasets, ``"svr"``
        for ``"bikeshare"``; None: ``"svr"`` for ``"bikeshare"``, else
        ``"svc"``.
    subset_size : int or float, default=0.05
        Rows per trial of the subset searches (count, or fraction of a fold).
    n_iter : int, default=25
        Trials of every search.
    selectors : sequence of str, default=all four
        Selectors of the subset searches.
    cv : int, default=3
        Folds of every search.
    n_samples : int, default=5000
        Rows generated for MNIST-1D (ignored for the bundled datasets).
    seed : int, default=0
        Seed of the data, the train/test split and every search.
    n_jobs : int, default=1
        Parallel fits within a search.
    output : str or path, default="subsetml-demo"
        Folder for ``results.json``, ``table.txt`` and ``tradeoff.png``.
    quiet : bool, default=False
        No progress bars or progress lines (the table is still printed).
    file : file-like, default=None
        Where to print; standard output when None.
    carbon : str or None, default=None
        Measure each search's energy and CO2 with codecarbon, for this ISO
        country code's electricity mix (``SubsetSearchCV(carbon=...)``).

    Returns
    -------
    results : dict
        Settings, one record per method and the paths written.
    """
    out = sys.stdout if file is None else file
    notes = []
    if dataset is None:
        if mnist1d_available():
            dataset = "mnist1d"
        else:
            dataset = "digits"
            notes.append(
                "mnist1d is not installed (pip install mnist1d), so the demo ran "
                "on scikit-learn's digits instead of MNIST-1D."
            )
    if estimator is None:
        estimator = _default_estimator(dataset)
    selectors = list(selectors)
    _check_settings(dataset, estimator, n_iter, selectors, cv, n_samples, n_jobs)
    if carbon is not None:
        from subsetml.model_selection._energy import check_carbon

        check_carbon(carbon)
    if not str(output).strip():
        raise ValueError(
            "output is empty; name a folder (use '.' for the current one)."
        )
    output = Path(output)
    if output.exists() and not output.is_dir():
        raise ValueError(f"output {str(output)!r} exists and is not a folder.")
    # The folders this run creates (the output and any missing parents).
    created = [p for p in (output, *output.parents) if not p.exists()]
    try:
        try:  # before the searches, so that a bad folder fails in a second
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot create the output folder: {exc}") from None
        try:  # and one that exists but cannot be written to (read-only)
            with tempfile.TemporaryFile(dir=output):
                pass
        except OSError as exc:
            raise ValueError(f"cannot write to the output folder: {exc}") from None
        return _run_demo(
            dataset, estimator, subset_size, n_iter, selectors, cv, n_samples,
            seed, n_jobs, output, quiet, carbon, out, notes,
        )  # fmt: skip
    except BaseException:
        # A run that stops before writing (settings that do not fit the
        # data, an interrupt) leaves no empty folder of its own behind.
        for folder in created:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        raise


def _run_demo(
    dataset, estimator, subset_size, n_iter, selectors, cv, n_samples,
    seed, n_jobs, output, quiet, carbon, out, notes,
):  # fmt: skip
    """:func:`run_search_demo` once its settings and folder are checked."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    _check_output_files(output)

    def say(text):
        if not quiet:
            print(text, file=out, flush=True)

    t_start = time.perf_counter()
    regression = dataset in REGRESSION_DATASETS
    X, y, data_text = _load(dataset, n_samples, seed)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=None if regression else y, random_state=seed
    )
    # Scaled once on the training rows rather than in a Pipeline: a Pipeline's
    # fit does not declare sample_weight, and CRAIG's and GRAD-MATCH's weights
    # must reach the estimator.
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if regression:
        # The target too, so that one range of SVR's epsilon fits any data;
        # R^2 is the same in either unit.
        mean, scale = y_train.mean(), y_train.std() or 1.0
        y_train, y_test = (y_train - mean) / scale, (y_test - mean) / scale
    if selectors:
        _check_budget(subset_size, y_train, cv, regression)
    model, space, model_text = _estimator(estimator, seed)
    methods = [(FULL, "random", 1.0)] + [(s, s, subset_size) for s in selectors]
    say(
        f"subsetml demo: {data_text}; {X_train.shape[0]} training and "
        f"{X_test.shape[0]} test rows.\nTuning a {model_text} with Optuna TPE, "
        f"{n_iter} trials x {cv} folds per method, seed {seed}."
    )

    # One BLAS/OpenMP thread: the matrices here are small, and on a busy
    # machine multi-threaded BLAS can make the linear proxy of the gradient
    # selectors many times slower, which would time contention, not methods.
    with threadpool_limits(limits=1):
        records = _run_methods(
            methods,
            model,
            space,
            X_train,
            y_train,
            X_test,
            y_test,
            n_iter=n_iter,
            cv=cv,
            n_jobs=n_jobs,
            seed=seed,
            quiet=quiet,
            carbon=carbon,
            say=say,
        )
    full = records[0]["end_to_end_s"]
    for r in records:
        r["speedup"] = full / r["end_to_end_s"]
    total = time.perf_counter() - t_start

    notes += _honest_notes(records, X_test.shape[0], n_jobs, total)
    table = _format_table(records) + "\n\n" + _format_compute(records)
    print(table, file=out)
    for note in notes:
        print(f"- {note}", file=out)

    results = {
        "settings": {
            "dataset": dataset,
            "data": data_text,
            "n_train": int(X_train.shape[0]),
            "n_test": int(X_test.shape[0]),
            "estimator": estimator,
            "model": model_text,
            "metric": "r2" if regression else "accuracy",
            "search_space": {k: list(v) for k, v in space.items()},
            "optimizer": "tpe",
            "n_iter": n_iter,
            "cv": cv,
            "subset_size": subset_size,
            "selectors": selectors,
            "seed": seed,
            "n_jobs": n_jobs,
        },
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "methods": records,
        "total_s": total,
        "notes": notes,
    }
    paths = {"json": output / "results.json", "table": output / "table.txt"}
    (paths["table"]).write_text(table + "\n" + "".join(f"- {n}\n" for n in notes))
    plot = output / "tradeoff.png"
    if _plot(records, plot, f"{dataset}, {estimator}, {n_iter} trials"):
        paths["plot"] = plot
    else:
        print(
            "- matplotlib is not installed (pip install matplotlib): no "
            "trade-off plot written.",
            file=out,
        )
    results["files"] = {k: str(v) for k, v in paths.items()}
    paths["json"].write_text(json.dumps(results, indent=2) + "\n")
    print(f"Wrote {', '.join(str(p) for p in paths.values())}.", file=out)
    return results


#: What the demo writes into its output folder.
OUTPUT_FILES = ("results.json", "table.txt", "tradeoff.png")


def _check_output_files(output):
    """Refuse, before any search, to write through a symbolic link or over
    files that an earlier ``subsetml demo`` did not write (its own earlier
    results are replaced)."""
    for name in OUTPUT_FILES:
        path = output / name
        if path.is_symlink():
            raise ValueError(
                f"{str(path)!r} is a symbolic link; the demo does not write "
                "through links. Choose another --output folder."
            )
    present = [name for name in OUTPUT_FILES if (output / name).exists()]
    if not present:
        return
    try:
        previous = json.loads((output / "results.json").read_text())
        ours = isinstance(previous, dict) and {"methods", "files"} <= set(previous)
    except (OSError, ValueError):
        ours = False
    if not ours:
        raise ValueError(
            f"{str(output)!r} already holds {', '.join(present)}, not written by "
            "an earlier `subsetml demo`; choose another --output folder rather "
            "than overwrite them."
        )


def _check_budget(subset_size, y_train, cv, regression=False):
    """Fail before any search if the subsets cannot hold every class (two
    rows for a regression target)."""
    from sklearn.model_selection import check_cv

    from subsetml import resolve_budget

    n_classes = 2 if regression else np.unique(y_train).shape[0]
    splitter = check_cv(cv, y_train, classifier=not regression)
    for train, _ in splitter.split(np.zeros((y_train.shape[0], 1)), y_train):
        k = resolve_budget(subset_size, train.shape[0], name="subset_size")
        if k < n_classes:
            what = "two rows" if regression else f"the {n_classes} classes"
            raise ValueError(
                f"subset_size={subset_size} keeps {k} of the {train.shape[0]} "
                f"rows of a training fold, fewer than {what}; "
                f"use at least {n_classes} rows."
            )


def _warm_worker():
    """Import in a worker what the searches' fits need."""
    import importlib

    for name in ("sklearn.svm", "sklearn.linear_model", "subsetml.model_selection"):
        importlib.import_module(name)


def _run_methods(
    methods,
    model,
    space,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    n_iter,
    cv,
    n_jobs,
    seed,
    carbon=None,
    quiet,
    say,
):
    """One SubsetSearchCV per method; a record of times and scores for each."""
    from sklearn.exceptions import ConvergenceWarning

    from subsetml.model_selection import SubsetSearchCV

    if n_jobs != 1:
        # Start joblib's worker processes and their imports now: the first
        # search would pay that start-up alone, and the later ones reuse them.
        from joblib import Parallel, delayed

        Parallel(n_jobs=n_jobs)(delayed(_warm_worker)() for _ in range(8))
    # An untimed search on a few rows first: one-off costs (imports, Optuna's
    # first study, caches) would otherwise land on the full search, timed
    # first, and inflate every speed-up against it.
    warm_rows = min(len(y_train), 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # With carbon=, codecarbon's own start-up is one of those costs.
        SubsetSearchCV(
            model,
            space,
            n_iter=2,
            cv=2,
            optimizer="tpe",
            random_state=seed,
            carbon=carbon,
        ).fit(X_train[:warm_rows], y_train[:warm_rows])
    records = []
    for i, (name, selector, size) in enumerate(methods, 1):
        what = "all rows of each fold" if size == 1.0 else f"subset_size={size}"
        say(f"[{i}/{len(methods)}] {name}: {what}")
        search = SubsetSearchCV(
            model,
            space,
            n_iter=n_iter,
            selector=selector,
            subset_size=size,
            optimizer="tpe",
            cv=cv,
            n_jobs=n_jobs,
            random_state=seed,
            verbose=0 if quiet else 1,
            carbon=carbon,
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            # Extreme C values converge slowly; exploring them is the search's
            # job, and a screenful of warnings would hide the table.
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            search.fit(X_train, y_train)
        end_to_end = time.perf_counter() - t0
        records.append(
            {
                "method": name,
                "selector": None if name == FULL else selector,
                "rows_per_trial": float(search.cv_results_["subset_size"][0]),
                "selection_s": search.selection_time_,
                "search_s": search.search_time_,
                "refit_s": search.refit_time_,
                "end_to_end_s": end_to_end,
                "best_cv_score": search.best_score_,
                **_test_scores(search.best_estimator_, X_test, y_test),
                "best_params": {k: float(v) for k, v in search.best_params_.items()},
                "compute_report": search.compute_report_,
            }
        )
    return records


def _test_scores(model, X_test, y_test):
    """The refit model's test score: ``test_accuracy`` for a classifier;
    ``test_r2`` and its standard error ``test_r2_se`` for a regressor (from
    the spread of the squared errors, the delta method at a fixed target
    variance)."""
    from sklearn.base import is_regressor

    if not is_regressor(model):
        return {"test_accuracy": float(model.score(X_test, y_test))}
    sq = (np.asarray(y_test) - model.predict(X_test)) ** 2
    var = float(np.var(y_test))
    return {
        "test_r2": float(1.0 - sq.mean() / var),
        "test_r2_se": float(sq.std() / math.sqrt(sq.shape[0]) / var),
    }


def _score_names(records):
    """The record key, table heading, short and long name of the test score
    that ``records`` hold: R^2 for a regression's records, else accuracy."""
    if "test_r2" in records[0]:
        return "test_r2", "test R2", "R^2", "R^2"
    return "test_accuracy", "test acc", "acc", "accuracy"


def _honest_notes(records, n_test, n_jobs, total):
    key, _, _, name = _score_names(records)
    score = f"test {name}"
    if key == "test_r2":
        se = records[0]["test_r2_se"]
    else:
        # Binomial standard error at the full search's accuracy.
        acc = records[0][key]
        se = math.sqrt(max(acc * (1 - acc), 1e-12) / n_test)
    cores = os.cpu_count()
    notes = [
        f"Timings are wall-clock seconds of this run on this machine ({cores} "
        f"CPU cores, n_jobs={n_jobs}, one BLAS thread); they change between runs "
        "and with the machine's load. "
        f"The whole demo took {total:.0f} s.",
        "End-to-end = search (subset selection included) + refit of the best "
        "configuration on all training rows; speed-up is the full-data "
        "search's end-to-end time divided by the method's.",
        "The best CV score of a subset search comes from models trained on the "
        "subsets, so it is usually lower than and not comparable with the full "
        f"search's; {score} is of the refit model on held-out rows that no "
        "search saw.",
        f"One split and one seed: {score} on {n_test} rows has a standard "
        f"error of about {se:.3f}, so smaller differences are noise.",
    ]
    return notes


def _format_table(records):
    key, heading, _, _ = _score_names(records)
    header = (
        f"{'method':<10} {'rows/trial':>10} {'search s':>9} {'refit s':>8} "
        f"{'end-to-end s':>12} {'speed-up':>8} {'best CV':>8} "
        f"{heading:>8}"
    )
    lines = [header, "-" * len(header)]
    for r in records:
        lines.append(
            f"{r['method']:<10} {r['rows_per_trial']:>10.0f} {r['search_s']:>9.1f} "
            f"{r['refit_s']:>8.2f} {r['end_to_end_s']:>12.1f} "
            f"{r['speedup']:>7.1f}x {r['best_cv_score']:>8.3f} "
            f"{r[key]:>8.3f}"
        )
    return "\n".join(lines)


def _format_compute(records):
    """Where each search's seconds went (``SubsetSearchCV.compute_report_``)."""
    header = (
        f"{'method':<10} {'selection s':>11} {'trial fits s':>12} "
        f"{'trial scoring s':>15} {'refit s':>8}   (compute report)"
    )
    energy = any(r["compute_report"].get("energy_kwh") is not None for r in records)
    if energy:
        header += f"  {'energy Wh':>9} {'CO2 g':>7}"
    lines = [header, "-" * len(header)]
    for r in records:
        c = r["compute_report"]
        line = (
            f"{r['method']:<10} {c['selection_s']:>11.2f} {c['trial_fit_s']:>12.2f} "
            f"{c['trial_score_s']:>15.2f} {c['refit_s']:>8.2f}"
        )
        if energy:
            kwh, kg = c.get("energy_kwh"), c.get("co2_kg")
            line += "  " + (f"{kwh * 1e3:>9.3g}" if kwh is not None else f"{'-':>9}")
            line += " " + (f"{kg * 1e3:>7.3g}" if kg is not None else f"{'-':>7}")
        lines.append(line)
    if energy:
        lines.append(
            "energy and CO2: codecarbon, from the start of each fit to the end "
            "of its refit (an estimate from CPU and RAM power)"
        )
    return "\n".join(lines)


def _plot(records, path, title):
    """Test accuracy against end-to-end time, and where each search's seconds
    went (its compute report); False when matplotlib is missing."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    except ImportError:
        return False
    # A Figure without pyplot: no backend or global state is touched.
    fig = Figure(figsize=(12, 4.2), layout="constrained")
    ax, bars = fig.subplots(1, 2, width_ratios=(7, 5))
    _plot_compute(bars, records)
    full = records[0]
    key, _, short, name = _score_names(records)
    ax.axhline(full[key], color="0.6", linestyle="--", linewidth=1)
    for r in records:
        is_full = r["method"] == FULL
        # A legend rather than labels at the points: methods with equal
        # accuracy and time would print over each other.
        ax.scatter(
            r["end_to_end_s"],
            r[key],
            marker="s" if is_full else "o",
            s=70,
            color="black" if is_full else None,
            alpha=0.85,
            zorder=3,
            label=(
                f"{r['method']}: {r['end_to_end_s']:.1f} s, "
                f"{r['speedup']:.1f}x, {short} {r[key]:.3f}"
            ),
        )
    ax.set_xscale("log")
    ax.margins(x=0.15, y=0.15)
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("end-to-end time: search + refit on all rows (s, log scale)")
    ax.set_ylabel(f"test {name} of the refit model")
    ax.set_title(f"subsetml demo: {title}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.savefig(path, dpi=120)
    return True


#: The compute report's parts, in the order of the stacked bars.
_COMPUTE_PARTS = (
    ("selection_s", "subset selection"),
    ("trial_fit_s", "trial fits"),
    ("trial_score_s", "trial scoring"),
    ("rescore_s", "re-scoring"),
    ("refit_s", "refit"),
)


def _plot_compute(ax, records):
    """Stacked bars: each search's seconds by part of its compute report;
    what the parts leave of search + refit is the optimiser and bookkeeping.
    Fits run in parallel (n_jobs) add up their own seconds, so a bar can be
    longer than the wall time."""
    names = [r["method"] for r in records]
    left = np.zeros(len(records))
    for key, label in _COMPUTE_PARTS:
        values = np.array([r["compute_report"].get(key) or 0.0 for r in records])
        ax.barh(names, values, left=left, label=label)
        left += values
    wall = np.array([r["search_s"] + (r["refit_s"] or 0.0) for r in records])
    ax.barh(names, np.clip(wall - left, 0, None), left=left, label="other", color="0.8")
    ax.invert_yaxis()
    ax.set_xlabel("seconds (compute report; parallel fits add up)")
    ax.set_title("where each search's time went", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(True, axis="x", alpha=0.3)
