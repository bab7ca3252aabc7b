"""How noisy is a net's score after its last epoch, and do early epochs rank
configurations as the last does?

Issue 14's nets (``bench_fidelity``'s ``mnist1d-mlp-net`` and
``mnist1d-cnn-net``: ``bench_nn_search``'s MLP and 1-D CNN, SGD with a fixed
learning rate for 27 epochs) at the size of a search's whole-fold fits:
50,000 MNIST-1D rows, the benchmark's split of seed 0 (75 % to search on),
its first 2-fold CV split (18,750 rows to train, 18,750 to score). For
``--configs`` configurations -- with ``--source picks`` (the default),
drawn among the distinct configurations that the committed searches of
that net picked (``best_params_`` in
``results/fidelity_nets_large_<model>*.json``: close to one another, as
the few a search re-scores are; that set grows as results are committed,
and each record holds its ``params``); with ``--source space``, drawn from the
search space (without ``max_epochs``) -- a seeded net trains one epoch at a
time (``partial_fit``) and is scored on the held-out fold after every
epoch. The best 3 by their last epoch train again from other torch seeds
(initial weights and shuffles), ``--seeds`` in all.

Reported (``summary`` per model):

* ``kendall_tau``: Kendall's tau between each epoch's accuracy and the
  last epoch's, over all configurations;
* ``pick_regret_pp``: for every 3 of the top ``--top`` configurations (by
  the last epoch), the last-epoch accuracy lost by keeping the best of the
  3 at an earlier epoch instead of the best at the last (mean, points),
  beside the same for a pick at random among the 3 (``random_pick_regret_pp``)
  -- what re-scoring the best 3 of a search for fewer epochs would lose;
* ``epoch_wobble_pp``: the standard deviation of the change in accuracy
  from one epoch to the next over the last 5 epochs, over all
  configurations -- how far a score moves with where training stops;
* ``seed_std_pp``: the standard deviation of the last epoch's accuracy of
  the same configuration over torch seeds (mean over the best 3) -- the
  noise of a single refit's test accuracy, which a comparison of search
  tools over ``n`` seeds divides by about ``sqrt(n)`` at best.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_epoch_rank.py --models mlp
    OMP_NUM_THREADS=1 python benchmarks/bench_epoch_rank.py --quick
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import write_run

EPOCHS = 27


def _data(n_rows):
    from _search_harness import make_splitter
    from bench_fidelity import _mnist1d
    from sklearn.model_selection import train_test_split

    X, y = _mnist1d(n_rows)
    X, y = X.astype("float32"), y.astype("int64")
    X_tr, _, y_tr, _ = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    train, test = next(make_splitter(2, 0).split(X_tr, y_tr))
    return X_tr[train], y_tr[train], X_tr[test], y_tr[test]


def _curve(model, params, data, epochs, seed):
    """Held-out accuracy after each of ``epochs`` epochs, and the seconds."""
    import torch
    from bench_nn_search import make_net

    from subsetml.skorch import ArrayLoader

    X, y, X_val, y_val = data
    torch.manual_seed(seed)
    net = make_net(model, "cpu").set_params(
        iterator_train=ArrayLoader, iterator_valid=ArrayLoader, **params
    )
    net.initialize()
    acc, t0 = [], time.perf_counter()
    for _ in range(epochs):
        net.partial_fit(X, y, epochs=1)
        acc.append(float((net.predict(X_val) == y_val).mean()))
    return acc, time.perf_counter() - t0


def _configs(model, source, n, seed):
    """``n`` configurations: drawn from the space, or among the distinct
    ``best_params_`` of the committed searches of ``model``."""
    from _search_harness import _plain, space_for_scipy
    from bench_nn_search import SPACE
    from sklearn.model_selection import ParameterSampler

    if source == "space":
        space = {k: v for k, v in SPACE.items() if k != "max_epochs"}
        return [
            _plain(p)
            for p in ParameterSampler(space_for_scipy(space), n, random_state=seed)
        ]
    picks = {}
    results = Path(_common.RESULTS)
    for path in sorted(results.glob(f"fidelity_nets_large_{model}*.json")):
        for record in json.loads(path.read_text())["records"]:
            # Epochs are not searched here: every fit trains EPOCHS.
            params = {
                k: v for k, v in record["best_params"].items() if k != "max_epochs"
            }
            picks.setdefault(json.dumps(params, sort_keys=True), params)
    keys = sorted(picks)
    order = np.random.RandomState(seed).permutation(len(keys))[:n]
    return [picks[keys[i]] for i in order]


def summarise(curves, repeats, top):
    """The ``summary`` of the module docstring from ``curves`` (configs by
    epochs, accuracies) and ``repeats`` (the best configurations' last-epoch
    accuracies, a list per configuration over seeds)."""
    from scipy.stats import kendalltau

    A = np.asarray(curves) * 100
    last = A[:, -1]
    best = np.argsort(-last)[:top]
    triples = [list(t) for t in itertools.combinations(best, 3)]
    rng = np.random.RandomState(0)
    out = {"epochs": list(range(1, A.shape[1] + 1))}
    out["kendall_tau"] = [
        float(kendalltau(A[:, e], last)[0]) if len(A) > 1 else float("nan")
        for e in range(A.shape[1])
    ]

    def regret(pick):
        # The last-epoch accuracy lost by ``pick`` (a position in the 3).
        if not triples:
            return float("nan")
        return float(np.mean([last[t].max() - last[t[pick(t)]] for t in triples]))

    out["pick_regret_pp"] = [
        regret(lambda t, e=e: int(np.argmax(A[t, e]))) for e in range(A.shape[1])
    ]
    out["random_pick_regret_pp"] = regret(lambda t: rng.randint(3))
    tail = np.diff(A[:, -min(5, A.shape[1]) :], axis=1)
    out["epoch_wobble_pp"] = float(tail.std()) if tail.size else float("nan")
    out["seed_std_pp"] = float(
        np.mean([np.std(np.asarray(r) * 100, ddof=1) for r in repeats])
    )
    return out


def run(args):
    import torch

    torch.set_num_threads(1)
    data = _data(args.rows)
    records = []
    for model in args.models:
        configs = _configs(model, args.source, args.configs, 0)
        curves = []
        for i, params in enumerate(configs):
            acc, seconds = _curve(model, params, data, args.epochs, seed=0)
            curves.append(acc)
            records.append(
                {"model": model, "config": i, "params": params, "seed": 0}
                | {"accuracy": acc, "seconds": seconds}
            )
            print(
                f"{model} {i:2d} {seconds:5.1f}s {params} "
                f"epoch 9 {acc[min(8, len(acc) - 1)]:.4f} last {acc[-1]:.4f}",
                flush=True,
            )
        best = np.argsort([-c[-1] for c in curves])[:3]
        repeats = []
        for i in best:
            finals = [curves[i][-1]]
            for seed in range(1, args.seeds):
                acc, seconds = _curve(model, configs[i], data, args.epochs, seed)
                finals.append(acc[-1])
                records.append(
                    {"model": model, "config": int(i), "params": configs[i]}
                    | {"seed": seed, "accuracy": acc, "seconds": seconds}
                )
            repeats.append(finals)
            print(f"{model} {i:2d} over seeds: {np.round(finals, 4)}", flush=True)
        summary = summarise(curves, repeats, args.top)
        records.append({"model": model, "summary": summary})
        e = min(9, args.epochs) - 1
        print(
            f"{model}: tau at epoch {e + 1} {summary['kendall_tau'][e]:.2f}, "
            f"pick regret there {summary['pick_regret_pp'][e]:.2f} pp "
            f"(random {summary['random_pick_regret_pp']:.2f}), "
            f"wobble {summary['epoch_wobble_pp']:.2f} pp, "
            f"seed std {summary['seed_std_pp']:.2f} pp",
            flush=True,
        )
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--models", nargs="+", default=["mlp"])
    parser.add_argument("--configs", type=int, default=24)
    parser.add_argument(
        "--source",
        choices=("picks", "space"),
        default="picks",
        help="configurations picked by the committed net searches "
        "(fidelity_nets_large_<model>*.json), or drawn from the space",
    )
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--output", default="epoch_rank")
    args = parser.parse_args(argv)
    args.rows, args.epochs = 50_000, EPOCHS
    if args.quick:
        args.rows, args.epochs, args.configs, args.top, args.seeds = 2_000, 3, 4, 4, 2
    records = run(args)
    print("wrote", write_run("epoch_rank", __doc__, args, records))


if __name__ == "__main__":
    main()
