"""Loading plain arrays a batch at a time: ``ArrayLoader`` against skorch's
default ``DataLoader``, on the nets of the search benchmarks.

For each model (``bench_nn_search``'s MLP and 1-D CNN on MNIST-1D) and batch
size, a seeded skorch ``NeuralNetClassifier`` is fitted for a few epochs and
then predicts every row, once with torch's ``DataLoader`` (skorch's default:
each row fetched and collated alone) and once with
:class:`subsetml.skorch.ArrayLoader` (one index per batch), interleaved, the
median of three runs kept (one with ``--quick``). Whether the two ended at
the same weights and predictions is recorded (``same_result``); the ratios
are the speed-up of the fetch alone. Then the same for
:class:`~subsetml.skorch.SubsetNeuralNetClassifier` trials as the search
runs them (27 epochs at 2.5 % and 22.5 % of the rows, a prediction on all
of them), against the same net forced back to the
row-by-row fetch.

Usage::

    python benchmarks/bench_loading.py           # 18,750 rows, both nets
    python benchmarks/bench_loading.py --quick   # a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results

BATCH_SIZES = (32, 64, 128, 256)


@contextlib.contextmanager
def _row_by_row(on):
    """With ``on``, subsetml's nets load row by row, as skorch's default."""
    from subsetml.skorch import _loading

    keep = _loading.plain_arrays
    if on:
        _loading.plain_arrays = lambda dataset: None
    try:
        yield
    finally:
        _loading.plain_arrays = keep


def _timed(fit, X, rows):
    with _row_by_row(rows):
        t0 = time.perf_counter()
        net = fit()
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        proba = net.predict_proba(X)
        predict_s = time.perf_counter() - t0
    return net, proba, fit_s, predict_s


def _same(a, b):
    import torch

    weights = zip(a[0].module_.parameters(), b[0].module_.parameters())
    return bool(
        all(torch.equal(p, q) for p, q in weights) and np.array_equal(a[1], b[1])
    )


def _compare(default, fast, X, repeats, rows=False):
    """``default`` (row by row, with ``rows``) and ``fast`` fitted and
    predicting, interleaved ``repeats`` times; medians and ratios."""
    times = {"default": [], "array_loader": []}
    same = True
    for _ in range(repeats):
        a = _timed(default, X, rows)
        b = _timed(fast, X, False)
        same &= _same(a, b)
        times["default"].append(a[2:])
        times["array_loader"].append(b[2:])
    out = {"same_result": same}
    for i, what in enumerate(("fit_s", "predict_s")):
        for name, runs in times.items():
            out[f"{name}_{what}"] = statistics.median(r[i] for r in runs)
        out[f"{what[:-2]}_speedup"] = (
            out[f"default_{what}"] / out[f"array_loader_{what}"]
        )
    return out


def _fit(X, y, cls, model, batch_size, epochs, **extra):
    """A seeded fit of ``bench_nn_search``'s ``model`` as net class ``cls``."""
    import torch
    from bench_nn_search import _modules

    torch.manual_seed(0)
    return cls(
        _modules()[model],
        module__hidden=128,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.05,
        optimizer__momentum=0.9,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
        **extra,
    ).fit(X, y)


def run(args):
    import torch
    from skorch import NeuralNetClassifier

    from subsetml.datasets import make_mnist1d
    from subsetml.skorch import ArrayLoader, SubsetNeuralNetClassifier

    torch.set_num_threads(1)
    X, y = make_mnist1d(args.rows, random_state=0, return_X_y=True)
    X, y = X.astype(np.float32), y.astype(np.int64)
    fast = {"iterator_train": ArrayLoader, "iterator_valid": ArrayLoader}
    records = []
    for model in args.models:
        # Untimed: torch's first calls of a model set up its kernels.
        _fit(X[:256], y[:256], NeuralNetClassifier, model, 64, 1).predict(X[:256])
        for batch_size in args.batch_sizes:
            plain = functools.partial(
                _fit, X, y, NeuralNetClassifier, model, batch_size, args.epochs
            )
            rec = _compare(plain, functools.partial(plain, **fast), X, args.repeats)
            rec.update(
                net="NeuralNetClassifier",
                model=model,
                batch_size=batch_size,
                epochs=args.epochs,
            )
            records.append(rec)
            print(_line(rec), flush=True)
        for share in args.shares:
            trial = functools.partial(
                _fit,
                X,
                y,
                SubsetNeuralNetClassifier,
                model,
                64,
                args.subset_epochs,
                subset_size=share,
                selector="random",
                random_state=0,
            )
            # The same net, forced back to skorch's row-by-row fetch.
            rec = _compare(trial, trial, X, args.repeats, rows=True)
            rec.update(
                net="SubsetNeuralNetClassifier",
                model=model,
                batch_size=64,
                epochs=args.subset_epochs,
                subset_size=share,
            )
            records.append(rec)
            print(_line(rec), flush=True)
    return records


def _line(rec):
    share = f" @{rec['subset_size']:g}" if "subset_size" in rec else ""
    return (
        f"{rec['net']:26s} {rec['model']:4s}{share:7s} batch {rec['batch_size']:4d}: "
        f"fit {rec['default_fit_s']:.2f} -> {rec['array_loader_fit_s']:.2f} s "
        f"({rec['fit_speedup']:.2f}x), predict {rec['default_predict_s']:.3f} -> "
        f"{rec['array_loader_predict_s']:.3f} s ({rec['predict_speedup']:.2f}x), "
        f"same result: {rec['same_result']}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--output", default="loading")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.models, args.batch_sizes = 1_000, ["mlp"], (64,)
        args.epochs, args.subset_epochs, args.shares, args.repeats = 1, 3, (0.1,), 1
    else:
        # A search's training fold at 50,000 rows and 2-fold CV (the issue's
        # nets benchmark): 37,500 rows to search on, 18,750 per fold.
        args.rows, args.models, args.batch_sizes = 18_750, ["mlp", "cnn"], BATCH_SIZES
        args.epochs, args.subset_epochs, args.shares, args.repeats = (
            3,
            27,
            (0.025, 0.225),
            3,
        )
    records = run(args)
    payload = {
        "benchmark": "loading",
        "description": __doc__.split("\n\n")[0],
        "machine": machine_info(),
        "config": {k: v for k, v in vars(args).items() if k != "output"},
        "records": records,
    }
    print("wrote", write_results(args.output, payload))


if __name__ == "__main__":
    main()
