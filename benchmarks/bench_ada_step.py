"""AdaSelection's step cost against a plain step and the cost model (issue 18).

A step of :class:`~subsetml.skorch.AdaSelectionClassifier` at sampling rate r
is a no-grad forward over the batch (B rows) plus skorch's training step on
the ``k = ceil(r B)`` kept rows, so it should cost about ``(1 + 3 r) / 3``
plain steps (forward ~ 1/3 of forward + backward). This script trains the net
through its warm-up, then times, on the same random batches, skorch's plain
``train_step`` on all B rows and AdaSelection's ``train_step``, interleaved
(plain, then AdaSelection, batch after batch), so both see the same machine
state. Data loading is left out: it is the same for both.

Reported per model and rate: the median milliseconds of each, their ratio,
the cost model and the ratio over the model ("overhead": 1.0 means the step
costs what the model says). The model assumes a forward is a third of a
plain step and a step on ``k`` rows costs ``k / B`` of one; the two passes
are also timed alone, interleaved with the others (``passes_ratio``: their
cost in plain steps), so ``over_passes`` (the selecting step over the two
passes) is the cost of selection itself: scores, policies, bookkeeping.
``--reward probe`` or ``paired`` makes every ``probe_every``-th step a
probe step, which the median skips: the mean ratio (``ratio_mean``) counts
them. ``--fit-epochs`` trains longer before timing, so that the method
weights have settled as they do late in a fit (the paired reward tries
fewer policies then).

Usage::

    python benchmarks/bench_ada_step.py            # 1-D CNN, 32 and 128 channels
    python benchmarks/bench_ada_step.py --quick    # 32 channels, fewer steps
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results
from bench_adaselection import CNN1D

RATES = (0.1, 0.2, 0.3, 0.5)


def measure(
    channels, rate, X, y, *, steps, batch_size, seed, reward="advantage", epochs=2
):
    import torch
    from skorch import NeuralNetClassifier

    from subsetml.skorch import AdaSelectionClassifier

    torch.manual_seed(seed)
    net = AdaSelectionClassifier(
        CNN1D,
        module__channels=channels,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.01,
        batch_size=batch_size,
        train_split=None,
        verbose=0,
        sampling_rate=rate,
        method_reward=reward,
        max_epochs=epochs,
        warmup_epochs=1,
        # every step scores its whole batch (the cost model's step): with
        # cached scores, steps timed outside the fit would find every row
        # scored "this epoch" and skip the forward
        stale_epochs=0,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X, y)
    # Steps outside fit: no callbacks, but the state a fit's steps have.
    net.notify = lambda *args, **kwargs: None
    net.on_epoch_begin(net)
    rng = np.random.RandomState(seed)
    k = max(1, int(np.ceil(rate * batch_size - 1e-9)))
    plain, ada, passes = [], [], []
    for _ in range(steps):
        rows = rng.choice(X.shape[0], batch_size, replace=False)
        batch = (torch.from_numpy(X[rows]), torch.from_numpy(y[rows]))
        t0 = time.perf_counter()
        NeuralNetClassifier.train_step(net, batch)
        plain.append(time.perf_counter() - t0)
        net._ada_row_ids_ = rows
        t0 = time.perf_counter()
        net.train_step(batch)
        ada.append(time.perf_counter() - t0)
        # The two passes a selecting step cannot avoid, timed alone: the
        # no-grad forward of the batch in evaluation mode and skorch's step
        # on k of its rows.
        t0 = time.perf_counter()
        net._set_training(False)
        with torch.no_grad():
            net.infer(batch[0])
        net._set_training(True)
        NeuralNetClassifier.train_step(net, (batch[0][:k], batch[1][:k]))
        passes.append(time.perf_counter() - t0)
    skip = steps // 10  # the first steps warm caches and allocators
    plain, ada = np.array(plain[skip:]), np.array(ada[skip:])
    passes = np.array(passes[skip:])
    return (
        float(np.median(plain)),
        float(np.median(ada)),
        float(plain.mean()),
        float(ada.mean()),
        float(np.median(passes)),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--channels", type=int, nargs="+")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--output", default=None)
    parser.add_argument(
        "--reward", default="advantage", choices=["advantage", "probe", "paired"]
    )
    parser.add_argument(
        "--fit-epochs", type=int, default=2, help="epochs fitted before timing"
    )
    args = parser.parse_args(argv)

    import torch

    from subsetml.datasets import make_mnist1d

    torch.set_num_threads(args.threads)
    channels = args.channels or ([32] if args.quick else [32, 128])
    rounds = args.rounds or (1 if args.quick else 3)
    steps = args.steps or (60 if args.quick else 150)
    X, y = make_mnist1d(4000, random_state=0, return_X_y=True)
    X, y = X.astype(np.float32), y.astype(np.int64)

    records = []
    for ch in channels:
        for rate in RATES:
            for r in range(rounds):
                plain, ada, plain_mean, ada_mean, passes = measure(
                    ch,
                    rate,
                    X,
                    y,
                    steps=steps,
                    batch_size=args.batch_size,
                    seed=r,
                    reward=args.reward,
                    epochs=args.fit_epochs,
                )
                model = (1 + 3 * rate) / 3
                rec = {
                    "channels": ch,
                    "rate": rate,
                    "round": r,
                    "plain_ms": plain * 1e3,
                    "ada_ms": ada * 1e3,
                    "ratio": ada / plain,
                    "plain_ms_mean": plain_mean * 1e3,
                    "ada_ms_mean": ada_mean * 1e3,
                    "ratio_mean": ada_mean / plain_mean,
                    "cost_model": model,
                    "overhead": ada / plain / model,
                    "passes_ms": passes * 1e3,
                    "passes_ratio": passes / plain,
                    "over_passes": ada / passes,
                }
                records.append(rec)
                print(
                    f"{ch:4d} ch r={rate}: ada {rec['ada_ms']:.2f} ms, plain "
                    f"{rec['plain_ms']:.2f} ms, ratio {rec['ratio']:.2f} "
                    f"(model {model:.2f}, overhead {rec['overhead']:.2f}; the "
                    f"two passes alone {rec['passes_ratio']:.2f}, step over "
                    f"them {rec['over_passes']:.2f})"
                )
    summary = []
    for ch in channels:
        for rate in RATES:
            rs = [r for r in records if r["channels"] == ch and r["rate"] == rate]
            summary.append(
                {
                    "channels": ch,
                    "rate": rate,
                    "ratio_median": float(np.median([r["ratio"] for r in rs])),
                    "ratio_mean": float(np.median([r["ratio_mean"] for r in rs])),
                    "cost_model": (1 + 3 * rate) / 3,
                    "overhead_median": float(np.median([r["overhead"] for r in rs])),
                    "passes_ratio_median": float(
                        np.median([r["passes_ratio"] for r in rs])
                    ),
                    "over_passes_median": float(
                        np.median([r["over_passes"] for r in rs])
                    ),
                    "ada_ms_median": float(np.median([r["ada_ms"] for r in rs])),
                    "plain_ms_median": float(np.median([r["plain_ms"] for r in rs])),
                }
            )
    print("channels rate  ratio  (mean)  model  overhead  passes  over passes")
    for s in summary:
        print(
            f"{s['channels']:8d} {s['rate']:4} {s['ratio_median']:6.2f} "
            f"{s['ratio_mean']:7.2f} {s['cost_model']:6.2f} "
            f"{s['overhead_median']:9.2f} {s['passes_ratio_median']:7.2f} "
            f"{s['over_passes_median']:12.2f}"
        )
    payload = {
        "benchmark": "ada_step",
        "description": __doc__,
        "machine": machine_info(),
        "torch": torch.__version__,
        "config": {
            "channels": channels,
            "rates": list(RATES),
            "rounds": rounds,
            "steps": steps,
            "batch_size": args.batch_size,
            "threads": args.threads,
            "reward": args.reward,
            "fit_epochs": args.fit_epochs,
            "rows": 4000,
        },
        "summary": summary,
        "records": records,
    }
    name = args.output or ("ada_step_quick" if args.quick else "ada_step")
    print("wrote", write_results(name, payload))


if __name__ == "__main__":
    main()
