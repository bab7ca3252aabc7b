"""The selection demo behind ``subsetml select-demo``.

Trains one model on a small subset chosen by each selector (through
:class:`~subsetml.model_selection.SubsetEstimator` with its defaults) and on
all rows, over a few seeds, and prints a table of selection time, training
time and test accuracy.  Everything runs offline on a bundled scikit-learn
dataset.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

__all__ = ["run_selection_demo"]


def _load(dataset):
    from sklearn import datasets

    loaders = {
        "digits": datasets.load_digits,
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
    }
    if dataset not in loaders:
        raise ValueError(
            f"Unknown dataset {dataset!r}; choose one of {sorted(loaders)}."
        )
    return loaders[dataset](return_X_y=True)


def run_selection_demo(
    dataset="digits", subset_size=0.1, n_seeds=3, *, file=None, selectors=None
):
    """Compare selectors on one dataset and print a table.

    Parameters
    ----------
    dataset : {"digits", "breast_cancer", "wine"}, default="digits"
    subset_size : int or float, default=0.1
        Rows (int) or fraction of the training rows (float) each selector keeps.
    n_seeds : int, default=3
        Train/test splits and selector seeds to average over.
    file : file-like, default=None
        Where to print; standard output when None.
    selectors : dict of str -> selector, default=None
        Selectors to compare; random, CRAIG, GLISTER and GRAD-MATCH when None.

    Returns
    -------
    rows : list of dict
        One record per method: name, rows used, mean/std selection time,
        training time and test accuracy.
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from subsetml import resolve_budget
    from subsetml import selection as sel
    from subsetml.model_selection import SubsetEstimator

    if selectors is None:
        selectors = {
            "random": sel.RandomSelector(per_class=True),
            "craig": sel.CraigSelector(),
            "glister": sel.GlisterSelector(),
            "gradmatch": sel.GradMatchSelector(),
        }
    X, y = _load(dataset)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    results = {name: [] for name in ["all rows", *selectors]}
    for seed in range(n_seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        k = resolve_budget(subset_size, X_tr.shape[0], name="subset_size")
        t0 = time.perf_counter()
        full = clone(model).fit(X_tr, y_tr)
        results["all rows"].append(
            (X_tr.shape[0], 0.0, time.perf_counter() - t0, full.score(X_te, y_te))
        )
        for name, selector in selectors.items():
            # As a user runs it: SubsetEstimator's defaults choose the view the
            # selector reads (the untrained one, for a model fitted from
            # scratch) and pass the weights to the model.
            estimator = SubsetEstimator(
                model,
                selector=clone(selector).set_params(random_state=seed),
                subset_size=k,
                random_state=seed,
            )
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimator.fit(X_tr, y_tr)
            total = time.perf_counter() - t0
            results[name].append(
                (
                    estimator.subset_.size,
                    estimator.selection_time_,
                    total - estimator.selection_time_,
                    estimator.score(X_te, y_te),
                )
            )

    records = []
    for name, runs in results.items():
        arr = np.asarray(runs, dtype=float)
        records.append(
            {
                "method": name,
                "rows": int(arr[0, 0]),
                "selection_s": float(arr[:, 1].mean()),
                "train_s": float(arr[:, 2].mean()),
                "accuracy_mean": float(arr[:, 3].mean()),
                "accuracy_std": float(arr[:, 3].std()),
            }
        )
    _print_table(records, dataset, subset_size, n_seeds, file)
    return records


def _print_table(records, dataset, subset_size, n_seeds, file):
    out = []
    out.append(
        f"subsetml selection demo: {dataset}, subset_size={subset_size}, "
        f"logistic regression, {n_seeds} seed(s)"
    )
    header = (
        f"{'method':<10} {'rows':>6} {'select s':>9} {'train s':>8} "
        f"{'test accuracy':>16}"
    )
    out.append(header)
    out.append("-" * len(header))
    for r in records:
        acc = f"{r['accuracy_mean']:.3f} ± {r['accuracy_std']:.3f}"
        out.append(
            f"{r['method']:<10} {r['rows']:>6} {r['selection_s']:>9.3f} "
            f"{r['train_s']:>8.3f} {acc:>16}"
        )
    out.append(
        "Each subset is chosen and weighted as SubsetEstimator does by default\n"
        "(lastlayer='auto'); selection time includes building the view the\n"
        "selector reads."
    )
    print("\n".join(out), file=file)
