"""Could an early choice of one policy match the best single policy?

Issue 18 asks the AdaSelection mix to rank within 0.5 of the best single
policy on every task of ``bench_adaselection.py``. Every reward tried for the
method weights judges a policy by the effect of one step. This benchmark asks
a more generous question: if the mix could afford to train every policy alone
for ``h`` epochs after the warm-up, from the same start, and pick the one
whose net has the lowest loss on rows set aside, how would that pick rank at
the end of the grid's 20-epoch runs?

For each task, seed and sampling rate of the committed grid
(``results/adaselection.json``), each of the seven single policies trains
the grid's net for ``warmup_epochs + h`` epochs on all training rows but a
share set aside (``--holdout``, drawn per seed), the set-aside rows are
scored (cross-entropy or squared error), and the policy with the lowest loss
is the pick. The pick's rank among the seven single policies is read off the
grid's final test metrics for the same seed and rate. The race costs seven
policies' ``h`` epochs for ``h`` epochs of progress; it is not a method of
the library, only an upper bound on what an early choice can find.

Writes ``results/adaselection_race.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_info, write_results
from bench_adaselection import POLICIES, TASKS, make_net


def set_aside_loss(net, X, y, kind):
    """Mean cross-entropy or squared error of ``net`` on ``(X, y)``."""
    if kind == "classification":
        proba = net.predict_proba(X)
        picked = proba[np.arange(len(y)), np.asarray(y)]
        return float(-np.mean(np.log(np.clip(picked, 1e-12, None))))
    return float(np.mean((net.predict(X) - y) ** 2))


def final_ranks(records, seed, rate, higher_is_better):
    """Rank (1 = best) of each single policy's final metric on the grid."""
    finals = {
        r["method"]: r["metric"]
        for r in records
        if r["seed"] == seed and r["sampling_rate"] == rate and r["method"] in POLICIES
    }
    order = sorted(finals, key=lambda m: -finals[m] if higher_is_better else finals[m])
    # Policies with the same final metric (big loss and gradient norm on the
    # linear model) share the better rank.
    ranks = {}
    for m in order:
        ranks[m] = 1 + sum(
            (finals[o] > finals[m]) if higher_is_better else (finals[o] < finals[m])
            for o in order
        )
    return ranks


def race(task, rate, seed, horizon, holdout):
    """Train every single policy for the warm-up plus ``horizon`` epochs."""
    X_tr, _, y_tr, _ = task["data"]
    n_out = int(round(holdout * len(y_tr)))
    order = np.random.RandomState(1000 + seed).permutation(len(y_tr))
    out, keep = order[:n_out], order[n_out:]
    losses, seconds = {}, {}
    for policy in POLICIES:
        net = make_net(task, policy, rate, seed)
        net.set_params(max_epochs=net.warmup_epochs + horizon)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # the step-cost warning of the small models
            warnings.simplefilter("ignore", UserWarning)
            net.fit(X_tr[keep], y_tr[keep])
        seconds[policy] = time.perf_counter() - start
        losses[policy] = set_aside_loss(net, X_tr[out], y_tr[out], task["kind"])
    return losses, seconds


def summarise(runs):
    """Per horizon: the picks, their mean rank and the best single's."""
    summary = {}
    for horizon in sorted({r["horizon"] for r in runs}):
        rows = [r for r in runs if r["horizon"] == horizon]
        mean_rank = {
            p: float(np.mean([r["final_ranks"][p] for r in rows])) for p in POLICIES
        }
        best = min(mean_rank, key=mean_rank.get)
        picks = {}
        for r in rows:
            picks[r["pick"]] = picks.get(r["pick"], 0) + 1
        pick_rank = float(np.mean([r["final_ranks"][r["pick"]] for r in rows]))
        summary[str(horizon)] = {
            "picks": picks,
            "pick_mean_rank": pick_rank,
            "best_single": best,
            "best_single_mean_rank": mean_rank[best],
            "gap": pick_rank - mean_rank[best],
            "picked_the_best_single": sum(r["pick"] == best for r in rows),
            "runs": len(rows),
        }
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--horizons", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--holdout", type=float, default=0.1)
    parser.add_argument("--grid", default="adaselection", help="grid results stem")
    parser.add_argument("--seeds", type=int, default=None, help="first seeds only")
    parser.add_argument("--rates", type=float, nargs="+", default=None)
    parser.add_argument("--output", default="adaselection_race")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    grid = json.loads((RESULTS / f"{args.grid}.json").read_text())
    rates = args.rates or grid["sampling_rates"]
    seeds = range(args.seeds or grid["seeds"])
    results = {}
    for name in args.tasks:
        body = grid["tasks"][name]
        summary = body["summary"]
        # The grid's MNIST-1D run drew 6,000 rows (4,000 to train on).
        task = TASKS[name]("full", 6000) if name == "mnist1d" else TASKS[name]("full")
        task["epochs"] = summary["epochs"]
        if len(task["data"][0]) != summary["n_train"]:
            parser.error(f"{name}: not the grid's training rows")
        runs = []
        for seed in seeds:
            for rate in rates:
                ranks = final_ranks(
                    body["records"], seed, rate, summary["higher_is_better"]
                )
                for horizon in args.horizons:
                    losses, seconds = race(task, rate, seed, horizon, args.holdout)
                    pick = min(losses, key=losses.get)
                    runs.append(
                        {
                            "seed": seed,
                            "sampling_rate": rate,
                            "horizon": horizon,
                            "set_aside_loss": losses,
                            "seconds": seconds,
                            "pick": pick,
                            "final_ranks": ranks,
                        }
                    )
                    print(
                        f"[{name}] seed {seed} r={rate} h={horizon}: pick {pick} "
                        f"(final rank {ranks[pick]})",
                        flush=True,
                    )
        results[name] = {"summary": summarise(runs), "runs": runs}
        for horizon, s in results[name]["summary"].items():
            print(
                f"[{name}] h={horizon}: picks {s['picks']}, mean rank "
                f"{s['pick_mean_rank']:.2f} against {s['best_single']} "
                f"{s['best_single_mean_rank']:.2f} (gap {s['gap']:+.2f})",
                flush=True,
            )
    path = write_results(
        args.output,
        {
            "benchmark": "adaselection_race",
            "description": __doc__,
            "machine": machine_info(),
            "grid": f"{args.grid}.json",
            "holdout": args.holdout,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "tasks": results,
        },
    )
    print(f"wrote {path}", flush=True)
    return path


if __name__ == "__main__":
    main()
