"""Quality panel: does a selected subset ever train a worse model than random?

Every selector, through :class:`~subsetml.model_selection.SubsetEstimator`
with its default parameters (what a user gets), on five kinds of task --
binary (also one-hot inputs with few distinct rows, 1 % of rows in other
units, heavy-tailed features, and 500 features), multiclass,
imbalanced binary, regression (tied and long-tailed targets too) and
sparse text, generated and real (diabetes, Bike Sharing, digits, breast
cancer; MNIST-1D generated locally) -- and with the
estimators people use on them, at 5, 10 and 20 % subsets, over several
seeds. Next to each cell: stratified random subsets of the same size (the
baseline a selector must not lose to), the model trained on all rows,
and the constant baseline (a ``Dummy`` estimator).

Scores are test accuracy (binary, multiclass, text), balanced accuracy
(imbalanced) and R^2 (regression), in points (x100), mean over seeds. The
file keeps every seed's score, the gap of each selector to random per cell
(paired by seed: same data, split and test rows) with its standard error,
and the cells where a selector fails: more than ``--tolerance`` points below
random, significantly so (the gap plus two standard errors is still below
zero), or below the constant baseline.

Why the significance test: at 5 % of 2,000 rows a random subset's score
moves by about 4 points from seed to seed, so the paired gap of a selector
that is exactly as good as random has a standard error near 3 points over
3 seeds. A bare "more than 2 points below" rule then fails about half the
cells of a selector that is random in disguise. The summary reports both
counts: ``cells_more_than_2_below`` (mean gap only) and
``cells_significantly_more_than_2_below`` (what fails).

Usage::

    python benchmarks/bench_quality.py                # the whole panel
    python benchmarks/bench_quality.py --quick        # 1 seed, 10 % only
    python benchmarks/bench_quality.py --seeds 3      # fewer seeds
    # GRAD-MATCH's two weightings where the weights are dropped (k-NN):
    python benchmarks/bench_quality.py --estimators "knn (no weights)" \
        --selectors random gradmatch "gradmatch matched" "gradmatch equal" \
        --output benchmarks/results/quality_unweighted.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.datasets import make_classification, make_friedman1
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, balanced_accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine_info

from subsetml.model_selection import SubsetEstimator
from subsetml.selection import CraigSelector, GradMatchSelector

SELECTORS = ("random", "craig", "glister", "gradmatch")

#: Selectors with non-default parameters, by name (``--selectors``).
VARIANTS = {
    "gradmatch matched": lambda: GradMatchSelector(weighting="matched"),
    "gradmatch equal": lambda: GradMatchSelector(weighting="equal"),
    # CRAIG's similarity matrices capped at 1 GiB, 256 MiB and 64 MiB: ground
    # sets of more than 16,384, 8,192 and 4,096 rows are split into chunks.
    "craig 1GiB": lambda: CraigSelector(max_kernel_bytes=2**30),
    "craig 256MiB": lambda: CraigSelector(max_kernel_bytes=2**28),
    "craig 64MiB": lambda: CraigSelector(max_kernel_bytes=2**26),
}


def _selector(name):
    """What ``SubsetEstimator(selector=...)`` gets for a selector's name."""
    return VARIANTS[name]() if name in VARIANTS else name


SIZES = (0.05, 0.1, 0.2)


# ------------------------------------------------------------------ data
def make_text(n, *, n_topics=4, vocabulary=1500, length=60, random_state=0):
    """A bag-of-words corpus: each topic mixes a shared Zipf background with
    its own words; TF-IDF weighted, CSR. Stands in for real text offline."""
    rng = np.random.RandomState(random_state)
    background = 1.0 / np.arange(1, vocabulary + 1)
    background /= background.sum()
    topics = []
    for _ in range(n_topics):
        own = np.zeros(vocabulary)
        words = rng.choice(vocabulary, size=vocabulary // 20, replace=False)
        own[words] = rng.dirichlet(np.ones(words.shape[0]))
        topics.append(0.97 * background + 0.03 * own)
    y = rng.randint(n_topics, size=n)
    lengths = rng.poisson(length, size=n) + 5
    counts = np.vstack([rng.multinomial(m, topics[c]) for m, c in zip(lengths, y)])
    X = TfidfTransformer().fit_transform(sparse.csr_matrix(counts))
    return X.tocsr(), y


def make_task(name, n, seed):
    """``(X, y, kind)`` of one panel task."""
    if name == "binary":
        X, y = make_classification(n, 20, n_informative=6, flip_y=0, random_state=seed)
        return X, y, "classification"
    if name == "multiclass":
        X, y = make_classification(
            n, 20, n_informative=8, n_classes=3, n_clusters_per_class=2,
            random_state=seed,
        )  # fmt: skip
        return X, y, "classification"
    if name == "imbalanced":
        X, y = make_classification(
            n, 20, n_informative=6, weights=[0.93], flip_y=0.01, random_state=seed
        )
        return X, y, "imbalanced"
    if name == "regression":
        X, y = make_friedman1(n, 10, noise=1.0, random_state=seed)
        return X, y, "regression"
    if name == "regression levels":
        # A rating-like target: seven ordered levels, many ties.
        X, y = make_friedman1(n, 10, noise=1.0, random_state=seed)
        edges = np.quantile(y, np.linspace(0, 1, 8)[1:-1])
        return X, np.searchsorted(edges, y).astype(np.float64) + 1.0, "regression"
    if name == "regression zeros":
        # A zero-inflated target (claim amounts, counts of rare events): 60 %
        # of the rows exactly 0, the rest continuous.
        X, y = make_friedman1(n, 10, noise=1.0, random_state=seed)
        return X, np.where(y > np.quantile(y, 0.6), y, 0.0), "regression"
    if name == "long tail":
        # A long-tailed (log-normal) target of six inputs: a few rows hold
        # most of its variance.
        rng = np.random.RandomState(seed)
        X = rng.randn(n, 6)
        y = np.exp(1.6 * X @ rng.randn(6) / np.sqrt(6)) + 0.1 * rng.randn(n)
        return X, y, "regression"
    if name == "diabetes":
        # Real data: scikit-learn's 442 diabetes patients (n is ignored).
        from sklearn.datasets import load_diabetes

        X, y = load_diabetes(return_X_y=True)
        return X, y, "regression"
    if name == "bike sharing":
        # Real data: hourly rentals (UCI Bike Sharing, bundled), n of its
        # 8,645 rows drawn per seed; a long-tailed count target.
        from subsetml.datasets import load_bikeshare

        X, y = load_bikeshare(return_X_y=True)
        rows = np.random.RandomState(seed).choice(len(y), min(n, len(y)), replace=False)
        return X[rows].astype(np.float64), y[rows].astype(np.float64), "regression"
    if name == "digits":
        # Real data: scikit-learn's 1,797 8x8 digits, 10 classes (n ignored).
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X, y, "classification"
    if name == "breast cancer":
        # Real data: scikit-learn's 569 tumours, binary (n ignored).
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        return X, y, "classification"
    if name == "mnist1d":
        # MNIST-1D, generated locally: 10 classes, 40 features, n rows.
        from subsetml.datasets import make_mnist1d

        X, y = make_mnist1d(n, random_state=seed, return_X_y=True)
        return X, y, "classification"
    if name == "outliers":
        # The binary task with 1 % of its rows in other units (x100).
        X, y = make_classification(n, 20, n_informative=6, flip_y=0, random_state=seed)
        far = np.random.RandomState(seed + 100).choice(
            n, max(1, n // 100), replace=False
        )
        X[far] *= 100.0
        return X, y, "classification"
    if name == "heavy tails":
        # Student-t features (1.5 degrees of freedom: no variance) and a
        # binary label of their bounded transforms.
        rng = np.random.RandomState(seed)
        X = rng.standard_t(1.5, size=(n, 10))
        y = (np.tanh(X[:, :4]) @ rng.randn(4) + 0.3 * rng.randn(n) > 0).astype(int)
        return X, y, "classification"
    if name == "wide":
        # 500 features, 20 of them informative: distances concentrate.
        X, y = make_classification(
            n, 500, n_informative=20, flip_y=0.01, random_state=seed
        )
        return X, y, "classification"
    if name == "one-hot":
        # Three categorical inputs (5, 4 and 3 levels of skewed frequencies),
        # one-hot: at most 60 distinct rows, each copied many times, and a
        # noisy logistic label of them.
        rng = np.random.RandomState(seed)
        levels = (5, 4, 3)
        X = np.hstack(
            [
                np.eye(m)[rng.choice(m, size=n, p=rng.dirichlet(np.full(m, 0.5)))]
                for m in levels
            ]
        )
        logit = 1.5 * X @ rng.randn(X.shape[1])
        y = (rng.rand(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
        return X, y, "classification"
    if name == "text":
        X, y = make_text(n, random_state=seed)
        return X, y, "text"
    raise ValueError(f"Unknown task {name!r}.")


TASKS = (
    "binary",
    "multiclass",
    "imbalanced",
    "regression",
    "regression levels",
    "regression zeros",
    "long tail",
    "diabetes",
    "bike sharing",
    "digits",
    "breast cancer",
    "mnist1d",
    "one-hot",
    "outliers",
    "heavy tails",
    "wide",
    "text",
)


def _scaled(model):
    return make_pipeline(StandardScaler(), model)


def estimators(kind):
    """Name -> unfitted estimator, for one kind of task."""
    if kind == "regression":
        return {
            "ridge": _scaled(Ridge()),
            "svr": _scaled(SVR(C=10.0)),
            "hgb": HistGradientBoostingRegressor(max_iter=50, random_state=0),
            "hgb (unweighted)": HistGradientBoostingRegressor(
                max_iter=50, random_state=0
            ),
            "knn (no weights)": _scaled(KNeighborsRegressor()),
        }
    if kind == "text":
        return {
            "lr": LogisticRegression(C=10.0, max_iter=1000),
            "svc": SVC(),
            "nb": ComplementNB(),
            "knn (no weights)": KNeighborsClassifier(metric="cosine"),
        }
    return {
        "lr scaled": _scaled(LogisticRegression(max_iter=1000)),
        "lr unscaled": LogisticRegression(max_iter=1000),
        "svc": _scaled(SVC()),
        "hgb": HistGradientBoostingClassifier(max_iter=50, random_state=0),
        "hgb (unweighted)": HistGradientBoostingClassifier(max_iter=50, random_state=0),
        "knn (no weights)": _scaled(KNeighborsClassifier()),
    }


def metric(kind):
    if kind == "regression":
        return r2_score
    if kind == "imbalanced":
        return balanced_accuracy_score
    return accuracy_score


def constant(kind):
    return DummyRegressor() if kind == "regression" else DummyClassifier()


# ------------------------------------------------------------------- run
def _cell(task, n, seed, est_name, size, selectors):
    """Scores of one (task, seed, estimator, size) for every method."""
    X, y, kind = make_task(task, n, seed)
    stratify = None if kind == "regression" else y
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=1 / 3, stratify=stratify, random_state=seed
    )
    score = metric(kind)
    est = estimators(kind)[est_name]
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if size is None:
            out["all rows"] = score(y_te, est.fit(X_tr, y_tr).predict(X_te))
            out["constant"] = score(y_te, constant(kind).fit(X_tr, y_tr).predict(X_te))
            return out
        for sel in selectors:
            model = SubsetEstimator(
                est,
                selector=_selector(sel),
                subset_size=size,
                random_state=seed,
                # "(unweighted)": the same estimator fitted without the
                # selector's weights, as use_weights=False fits it.
                use_weights=False if est_name.endswith("(unweighted)") else "auto",
            )
            t0 = time.perf_counter()
            model.fit(X_tr, y_tr)
            out[sel] = score(y_te, model.predict(X_te))
            out[sel + " seconds"] = time.perf_counter() - t0
    return out


def run(
    *,
    tasks=TASKS,
    n=3000,
    seeds=(0, 1, 2),
    sizes=SIZES,
    selectors=SELECTORS,
    n_jobs=2,
    estimators_=None,
):
    """The panel as a list of cells (dicts), one per task, estimator and size
    (``estimators_``: the estimator names to keep, all when None)."""
    jobs = []
    for task in tasks:
        kind = make_task(task, 60, 0)[2]
        for est_name in estimators(kind):
            if estimators_ is not None and est_name not in estimators_:
                continue
            if estimators_ is None and est_name.endswith("(unweighted)"):
                continue  # on request only
            for size in (None, *sizes):
                for seed in seeds:
                    jobs.append((task, kind, est_name, size, seed))
    scores = Parallel(n_jobs=n_jobs)(
        delayed(_cell)(task, n, seed, est_name, size, selectors)
        for task, _, est_name, size, seed in jobs
    )
    by = {}
    for (task, kind, est_name, size, _), s in zip(jobs, scores):
        by.setdefault((task, kind, est_name), {}).setdefault(size, []).append(s)
    cells = []
    for (task, kind, est_name), per_size in by.items():
        ref = per_size[None]
        full = 100 * float(np.mean([r["all rows"] for r in ref]))
        const = 100 * float(np.mean([r["constant"] for r in ref]))
        for size in sizes:
            runs = per_size[size]
            cell = {
                "task": task,
                "metric": metric(kind).__name__,
                "estimator": est_name,
                "subset_size": size,
                "all_rows": full,
                "constant": const,
                "methods": {},
            }
            for sel in selectors:
                vals = [100 * r[sel] for r in runs]
                cell["methods"][sel] = {
                    "mean": float(np.mean(vals)),
                    "sd": float(np.std(vals)),
                    "seeds": vals,
                    "seconds": float(np.mean([r[sel + " seconds"] for r in runs])),
                }
            base = np.array(cell["methods"]["random"]["seeds"])
            for sel in selectors:
                # Paired by seed: the same data, split and test rows.
                diff = np.array(cell["methods"][sel]["seeds"]) - base
                cell["methods"][sel]["gap_to_random"] = float(diff.mean())
                cell["methods"][sel]["gap_se"] = (
                    float(diff.std(ddof=1) / np.sqrt(diff.shape[0]))
                    if diff.shape[0] > 1
                    else 0.0
                )
            cells.append(cell)
    return cells


def below_random(m, tolerance=2.0, *, significant=True):
    """Whether a method's cell entry is more than ``tolerance`` points below
    random: its mean paired gap, and (``significant``) the gap plus two
    standard errors too, so that seed noise alone does not fail a cell."""
    gap = m["gap_to_random"]
    if gap >= -tolerance:
        return False
    return not significant or gap + 2.0 * m.get("gap_se", 0.0) < 0.0


def failures(cells, *, tolerance=2.0, selectors=None, significant=True):
    """Cells where a selector is more than ``tolerance`` points below random
    (see :func:`below_random`), or below the constant baseline:
    ``[(selector, why, cell), ...]``."""
    out = []
    for cell in cells:
        for sel, m in cell["methods"].items():
            if selectors is not None and sel not in selectors:
                continue
            if sel != "random" and below_random(m, tolerance, significant=significant):
                why = (
                    f"{m['gap_to_random']:+.1f} ± {m.get('gap_se', 0.0):.1f} vs random"
                )
                out.append((sel, why, cell))
            # Below the constant prediction when random subsets are not: a
            # subset of 15 diabetes rows leaves boosting below it whatever
            # picks them.
            random_ok = cell["methods"]["random"]["mean"] >= cell["constant"]
            if m["mean"] < cell["constant"] and (sel == "random" or random_ok):
                why = "below the constant baseline"
                if sel == "random":
                    why += " (random subsets too: not counted against a selector)"
                out.append((sel, why, cell))
    return out


def summary(cells, selectors=SELECTORS):
    """Per selector: worst gap to random, mean gap, cells below -2 and wins."""
    out = {}
    for sel in selectors:
        gaps = [c["methods"][sel]["gap_to_random"] for c in cells]
        worst = int(np.argmin(gaps))
        out[sel] = {
            "worst_gap": float(gaps[worst]),
            "worst_cell": [
                cells[worst]["task"],
                cells[worst]["estimator"],
                cells[worst]["subset_size"],
            ],
            "mean_gap": float(np.mean(gaps)),
            "cells_more_than_2_below": int(np.sum(np.array(gaps) < -2.0)),
            "cells_significantly_more_than_2_below": int(
                sum(below_random(c["methods"][sel]) for c in cells)
            ),
            "cells_above_random": int(np.sum(np.array(gaps) > 0.0)),
            "cells": len(gaps),
            "mean_seconds": float(
                np.mean([c["methods"][sel]["seconds"] for c in cells])
            ),
        }
    return out


def task_table(cells, selectors=SELECTORS[1:]):
    """Markdown table of mean / worst gap to random per task and selector,
    the form BENCHMARKS.md and the docs quote."""
    names = {"craig": "CRAIG", "glister": "GLISTER", "gradmatch": "GRAD-MATCH"}
    names.update({v: v.replace("gradmatch", "GRAD-MATCH") for v in VARIANTS})
    lines = [
        "| task | " + " | ".join(names.get(s, s) for s in selectors) + " |",
        "|---|" + "---|" * len(selectors),
    ]
    for task in dict.fromkeys(c["task"] for c in cells):
        row = []
        for sel in selectors:
            gaps = [
                c["methods"][sel]["gap_to_random"] for c in cells if c["task"] == task
            ]
            row.append(f"{np.mean(gaps):+.1f} / {np.min(gaps):+.1f}")
        lines.append(f"| {task} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def print_table(cells, selectors=SELECTORS):
    head = f"{'task':17} {'estimator':17} {'size':>5} {'all':>6} {'const':>6} "
    print(head + " ".join(f"{s:>9}" for s in selectors))
    for c in cells:
        vals = " ".join(f"{c['methods'][s]['mean']:9.1f}" for s in selectors)
        print(
            f"{c['task']:17} {c['estimator']:17} {c['subset_size']:5} "
            f"{c['all_rows']:6.1f} {c['constant']:6.1f} {vals}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 10 %% only")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=2.0)
    parser.add_argument(
        "--tasks", nargs="+", choices=TASKS, default=None, help="default: all"
    )
    parser.add_argument(
        "--selectors",
        nargs="+",
        choices=(*SELECTORS, *VARIANTS),
        default=None,
        help="default: random, craig, glister, gradmatch (random is always run)",
    )
    parser.add_argument(
        "--estimators",
        nargs="+",
        default=None,
        help="estimator names to keep, as in the results (default: all)",
    )
    parser.add_argument(
        "--table",
        type=Path,
        default=None,
        metavar="RESULTS",
        help="print the task table of a results file and exit",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results file (default: results/quality.json, quality_quick.json)",
    )
    args = parser.parse_args(argv)
    if args.table is not None:
        cells = json.loads(args.table.read_text())["cells"]
        print(task_table(cells, [m for m in cells[0]["methods"] if m != "random"]))
        return
    seeds = (0,) if args.quick else tuple(range(args.seeds))
    sizes = (0.1,) if args.quick else SIZES
    t0 = time.perf_counter()
    selectors = tuple(dict.fromkeys(("random", *(args.selectors or SELECTORS))))
    cells = run(
        tasks=tuple(args.tasks or TASKS),
        n=args.rows,
        seeds=seeds,
        sizes=sizes,
        selectors=selectors,
        n_jobs=args.n_jobs,
        estimators_=args.estimators,
    )
    if not cells:
        parser.error(f"no estimator of these tasks is named {args.estimators}")
    print_table(cells, selectors)
    fails = failures(cells, tolerance=args.tolerance)
    for sel, why, c in fails:
        print(f"FAIL {sel}: {c['task']} / {c['estimator']} / {c['subset_size']}: {why}")
    summ = summary(cells, selectors)
    print(json.dumps(summ, indent=1))
    print(task_table(cells, selectors[1:]))
    out = args.output or RESULTS / (
        "quality_quick.json" if args.quick else "quality.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "command": "python benchmarks/bench_quality.py "
        + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "rows": args.rows,
        "test_fraction": 1 / 3,
        "seeds": list(seeds),
        "sizes": list(sizes),
        "tolerance": args.tolerance,
        "seconds": time.perf_counter() - t0,
        "summary": summ,
        "failures": [
            {
                "selector": s,
                "why": w,
                "task": c["task"],
                "estimator": c["estimator"],
                "subset_size": c["subset_size"],
            }
            for s, w, c in fails
        ],  # fmt: skip
        "cells": cells,
    }
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
