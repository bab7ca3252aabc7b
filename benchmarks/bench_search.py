"""Does a subset search rank and pick configurations like the full data does?

Runs the two views of ``_search_harness`` (paired candidates; end-to-end
searches) on scikit-learn models:

* tasks: ``digits-svc`` (scaled RBF SVC on scikit-learn's digits, C and gamma),
  ``digits-mlp`` and ``mnist1d-mlp`` (MLPClassifier: width, L2 penalty, learning
  rate, batch size; 40 epochs), ``mnist1d-svc`` -- MNIST-1D is generated
  locally (``mnist1d.data.make_dataset``), never downloaded;
* strategies: the full data, random / CRAIG / GLISTER / GRAD-MATCH subsets at
  1, 5 and 10 % of each training fold; anchors: ``HalvingGridSearchCV`` over
  the same candidates (ranking view), ``BayesSearchCV``,
  ``HalvingRandomSearchCV`` and ``OptunaSearchCV(subsample=...)`` (end-to-end).

Results go to ``benchmarks/results/search_ranking[_quick].json`` and
``benchmarks/results/search[_quick].json``, rewritten after every seed, so an
interrupted run keeps what it measured. ``report_search.py`` prints the tables
and draws the plots.

Usage::

    python benchmarks/bench_search.py --quick             # a few minutes
    python benchmarks/bench_search.py --tasks digits-svc  # one task, full size
    python benchmarks/bench_search.py                     # all tasks (hours)

Every model is fitted with ``n_jobs=1``; set ``OMP_NUM_THREADS=1`` to keep BLAS
from competing with a second benchmark process.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info
from _search_harness import run_views


def _digits(n_samples, seed):
    from sklearn.datasets import load_digits

    return load_digits(return_X_y=True)


def _mnist1d(n_samples, seed):
    from subsetml.datasets import make_mnist1d

    return make_mnist1d(n_samples, random_state=0, return_X_y=True)


def _svc():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    est = make_pipeline(StandardScaler(), SVC())
    space = {"svc__C": ("log", 1e-2, 1e3), "svc__gamma": ("log", 1e-4, 1.0)}
    return est, space


def _mlp():
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = make_pipeline(StandardScaler(), MLPClassifier(max_iter=40, random_state=0))
    space = {
        "mlpclassifier__hidden_layer_sizes": ("int-log", 16, 256),
        "mlpclassifier__alpha": ("log", 1e-6, 1e-1),
        "mlpclassifier__learning_rate_init": ("log", 1e-4, 1e-1),
        "mlpclassifier__batch_size": ("int-log", 16, 256),
    }
    return est, space


TASKS = {
    # name: (data loader, model, rows)
    "digits-svc": (_digits, _svc, 1797),
    "digits-mlp": (_digits, _mlp, 1797),
    "mnist1d-svc": (_mnist1d, _svc, 10_000),
    "mnist1d-mlp": (_mnist1d, _mlp, 10_000),
}

SIZES = {
    "quick": {
        "tasks": ["digits-svc"],
        "seeds": 1,
        "n_candidates": 12,
        "n_iter": 12,
        "sizes": (0.05,),
        "e2e_sizes": (0.05,),
    },
    "full": {
        "tasks": list(TASKS),
        "seeds": 3,
        "n_candidates": 30,
        "n_iter": 30,
        "sizes": (0.01, 0.05, 0.1),
        "e2e_sizes": (0.05, 0.1),
    },
}


def _split(X, y, seed):
    from sklearn.model_selection import train_test_split

    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    return X_tr, y_tr, X_te, y_te


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small task")
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS))
    parser.add_argument("--seeds", type=int, help="seeds 0..N-1")
    parser.add_argument("--n-candidates", type=int, help="M, ranking view")
    parser.add_argument("--n-iter", type=int, help="trials, end-to-end view")
    parser.add_argument("--rows", type=int, help="rows of MNIST-1D")
    parser.add_argument(
        "--views",
        nargs="+",
        default=["ranking", "e2e"],
        choices=["ranking", "e2e"],
    )
    parser.add_argument("--output", default=None, help="suffix of the results files")
    args = parser.parse_args(argv)

    cfg = dict(SIZES["quick" if args.quick else "full"])
    if args.tasks:
        cfg["tasks"] = args.tasks
    for key in ("seeds", "n_candidates", "n_iter"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    suffix = (
        args.output if args.output is not None else ("_quick" if args.quick else "")
    )

    common = {
        "machine": machine_info(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",)},
        "config": {**cfg, "rows": args.rows, "argv": sys.argv[1:]},
    }

    def jobs():
        for task in cfg["tasks"]:
            load, model, rows = TASKS[task]
            rows = args.rows if (args.rows and task.startswith("mnist1d")) else rows
            X, y = load(rows, 0)
            estimator, space = model()
            yield task, X, y, estimator, space

    run_views(
        jobs(),
        family="search",
        views=args.views,
        seeds=cfg["seeds"],
        split=_split,
        ranking_kwargs={
            "sizes": cfg["sizes"],
            "n_candidates": cfg["n_candidates"],
        },
        e2e_kwargs={"n_iter": cfg["n_iter"], "sizes": cfg["e2e_sizes"]},
        header={"description": __doc__, **common},
        suffix=suffix,
        log=lambda text: print(text, flush=True),
    )
    print("done", flush=True)


if __name__ == "__main__":
    main()
