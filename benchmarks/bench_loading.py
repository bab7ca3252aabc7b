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
row-by-row fetch. Then :class:`~subsetml.skorch.AdaSelectionClassifier`
with skorch's default validation split (a fifth of the rows, scored every
epoch) at sampling rates 0.1 and 0.3, predicting every row, against the
same net with validation and prediction forced back to the row-by-row fetch
(its training batches are fancy-indexed either way). ``--nets`` picks the
sections.

Usage::

    python benchmarks/bench_loading.py           # 18,750 rows, both nets
    python benchmarks/bench_loading.py --quick   # a smoke run
    python benchmarks/bench_loading.py --nets adaselection --output loading_ada
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_run

BATCH_SIZES = (32, 64, 128, 256)
# plain NeuralNetClassifier with and without ArrayLoader; subset trials and
# AdaSelection nets (validation split and prediction) against row by row.
NETS = ("plain", "subset", "adaselection")


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

    params = dict(
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
    )
    torch.manual_seed(0)
    return cls(_modules()[model], **{**params, **extra}).fit(X, y)


def run(args):
    import torch
    from skorch import NeuralNetClassifier
    from skorch.dataset import ValidSplit

    from subsetml.datasets import make_mnist1d
    from subsetml.skorch import (
        AdaSelectionClassifier,
        ArrayLoader,
        SubsetNeuralNetClassifier,
    )

    torch.set_num_threads(1)
    X, y = make_mnist1d(args.rows, random_state=0, return_X_y=True)
    X, y = X.astype(np.float32), y.astype(np.int64)
    fast = {"iterator_train": ArrayLoader, "iterator_valid": ArrayLoader}
    records = []
    for model in args.models:
        # Untimed: torch's first calls of a model set up its kernels.
        _fit(X[:256], y[:256], NeuralNetClassifier, model, 64, 1).predict(X[:256])
        for batch_size in args.batch_sizes if "plain" in args.nets else ():
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
        for share in args.shares if "subset" in args.nets else ():
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
        for rate in args.rates if "adaselection" in args.nets else ():
            # skorch's default validation split (a fifth of the rows, scored
            # every epoch) and a prediction on all rows: the loaders
            # ArrayLoader replaces there. AdaSelection batches its training
            # arrays itself, with and without it (the row-by-row switch
            # reaches validation and prediction only).
            net = functools.partial(
                _fit,
                X,
                y,
                AdaSelectionClassifier,
                model,
                64,
                # Past the warm-up epoch, so that rows are selected.
                max(args.epochs, 2),
                train_split=ValidSplit(5, stratified=True),
                sampling_rate=rate,
                random_state=0,
            )
            with warnings.catch_warnings():
                # Its advice that these small nets step faster unselected
                # (bench_adaselection measures that); timed here is loading.
                warnings.filterwarnings("ignore", message="AdaSelection steps at")
                rec = _compare(net, net, X, args.repeats, rows=True)
            rec.update(
                net="AdaSelectionClassifier",
                model=model,
                batch_size=64,
                epochs=max(args.epochs, 2),
                sampling_rate=rate,
                valid_split=0.2,
            )
            records.append(rec)
            print(_line(rec), flush=True)
    return records


def _line(rec):
    share = f" @{rec['subset_size']:g}" if "subset_size" in rec else ""
    if "sampling_rate" in rec:
        share = f" r={rec['sampling_rate']:g}"
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
    parser.add_argument(
        "--nets",
        nargs="+",
        choices=NETS,
        default=list(NETS),
        help="which nets to time (default: all)",
    )
    args = parser.parse_args(argv)
    args.rates = (0.1, 0.3)
    if args.quick:
        args.rows, args.models, args.batch_sizes = 1_000, ["mlp"], (64,)
        args.epochs, args.subset_epochs, args.shares, args.repeats = 1, 3, (0.1,), 1
        args.rates = (0.3,)
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
    print("wrote", write_run("loading", __doc__, args, records))


if __name__ == "__main__":
    main()
