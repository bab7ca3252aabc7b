"""What one subset selection costs inside adaptive net training (issue 17).

Trains :class:`~subsetml.skorch.SubsetNeuralNetClassifier` on MNIST-1D
(generated locally) with a 5 % subset re-selected every ``R`` subset epochs,
for each selector, and records per fit:

* the median seconds of one selection (the last-layer pass included) and of
  one subset epoch (skorch's ``dur``, which starts after the selection);
* their ratio -- "selections cost this many subset epochs" -- and the share
  of the whole fit spent selecting;
* the test accuracy, next to adaptive random subsets (re-drawn at every
  selection) and to training on all rows for the same number of epochs.

Beside the fits it times, on the fitted net, a raw ``torch.no_grad`` forward
pass over the training rows and :func:`~subsetml.skorch.lastlayer_from_net`
(the view every gradient selector starts from), so the selector's own kernel
can be told apart from the pass.

Selectors: ``random``; ``craig`` (lazy greedy), ``craig-stochastic``;
``gradmatch``; ``glister`` -- all selecting rows (``selection_unit="row"``) --
and the per-batch variants (``*-pb``, the nets' default
``selection_unit="batch"``: the ground set is the mean gradients of shuffled
mini-batches of the net's batch size, as CORDS' ``CRAIGPB``/``GradMatchPB``).
Every gradient selector runs with the net's default candidate pool
(``selection_pool="auto"``: a fresh stratified random draw of ten budgets'
worth of rows, half the rows at 5 %). Experiments, run only when named:
``*-pb10`` (units of 10 rows), ``*-pb-pool50`` / ``*-pb-pool25``
(``selection_pool=0.5`` / ``0.25``) and ``*-pb-all`` (``selection_pool=None``:
every row, the default before ``"auto"``).

Usage::

    python benchmarks/bench_selection_cost.py --quick   # MLP, 1 seed, ~2 min
    python benchmarks/bench_selection_cost.py           # MLP and CNN, 3 seeds
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results
from bench_nn_search import make_net as make_nn_net

#: name -> (selector, its parameters, the net's selection_unit)
SELECTORS = {
    "random": ("random", {}, "row"),
    "craig": ("craig", {}, "row"),
    "craig-stochastic": ("craig", {"optimizer": "stochastic"}, "row"),
    "craig-pb": ("craig", {}, "batch"),
    "gradmatch": ("gradmatch", {}, "row"),
    "gradmatch-pb": ("gradmatch", {}, "batch"),
    "glister": ("glister", {}, "row"),
    "glister-pb": ("glister", {}, "batch"),
    # Units of 10 rows: at least 16 per class budget on the 32k benchmark
    # (k_c = 160), where the default gives each class three units of 64.
    "craig-pb10": ("craig", {"batch_size": 10}, "batch"),
    "gradmatch-pb10": ("gradmatch", {"batch_size": 10}, "batch"),
    "glister-pb10": ("glister", {"batch_size": 10}, "batch"),
}
#: Candidate pools: per batch, choosing from a random share of the rows
#: (``selection_pool``), so the last-layer pass covers only that share. The
#: default selectors run with the net's default (``"auto"``: ten budgets'
#: worth of rows, half of them at 5 %); ``-all`` chooses from every row.
POOLS = {}
for _name in ("craig-pb", "gradmatch-pb", "glister-pb"):
    for _share in (50, 25):
        SELECTORS[f"{_name}-pool{_share}"] = SELECTORS[_name]
        POOLS[f"{_name}-pool{_share}"] = _share / 100
    SELECTORS[f"{_name}-all"] = SELECTORS[_name]
    POOLS[f"{_name}-all"] = None
#: What a run without --selectors measures (units of 10 and pools are
#: experiments).
DEFAULT_SELECTORS = [
    name for name in SELECTORS if not name.endswith("-pb10") and name not in POOLS
]


def make_selector(name, seed):
    from subsetml.selection import make_selector as make

    kind, params, _ = SELECTORS[name]
    return make(kind, random_state=seed).set_params(**params)


def plain_net(model, *, epochs, device):
    """The nets benchmark's skorch net (SGD with momentum, batches of 64)."""
    return make_nn_net(model, device).set_params(max_epochs=epochs)


def make_net(model, name, *, seed, epochs, select_every, fraction, device):
    from subsetml.skorch import SubsetNeuralNetClassifier

    base = plain_net(model, epochs=epochs, device=device)
    return SubsetNeuralNetClassifier(
        **base.get_params(deep=False),
        selector=make_selector(name, seed),
        selection_unit=SELECTORS[name][2],
        selection_pool=POOLS.get(name, "auto"),
        subset_size=fraction,
        select_every=select_every,
        warm_up=0.5,
        random_state=seed,
    )


def time_passes(net, X, y, repeats=3):
    """Best-of-``repeats`` seconds of a raw forward pass and of lastlayer_from_net."""
    import torch

    from subsetml.skorch import lastlayer_from_net

    module = net.module_
    module.eval()
    Xt = torch.as_tensor(X, device=net.device)

    def raw():
        with torch.no_grad():
            for start in range(0, Xt.shape[0], 8192):
                module(Xt[start : start + 8192])
        if Xt.is_cuda:
            torch.cuda.synchronize()

    def best(fn):
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return min(out)

    return best(raw), best(lambda: lastlayer_from_net(net, X, y))


def run_one(model, name, seed, data, args):
    import torch

    X, y, X_test, y_test = data
    torch.manual_seed(seed)
    net = make_net(
        model,
        name,
        seed=seed,
        epochs=args.epochs,
        select_every=args.select_every,
        fraction=args.fraction,
        device=args.device,
    )
    t0 = time.perf_counter()
    net.fit(X, y)
    fit_s = time.perf_counter() - t0
    h = net.history
    phase = h[:, "subset_phase"]
    selected = h[:, "subset_selected"]
    dur = np.asarray(h[:, "dur"], dtype=float)
    sel_t = np.asarray(h[:, "subset_selection_time"], dtype=float)
    subset_epochs = [d for p, d in zip(phase, dur) if p == "subset"]
    # The first selection without warm-up is a random draw (the untrained net
    # has no useful gradients): keep only selections made from the net.
    first_random = phase[0] == "subset"
    times = [
        t
        for i, (s, t) in enumerate(zip(selected, sel_t))
        if s and not (first_random and i == 0)
    ]
    epoch_s = float(np.median(subset_epochs))
    sel_s = float(np.median(times)) if times else float("nan")
    return {
        "model": model,
        "selector": name,
        "seed": seed,
        "fit_s": fit_s,
        "subset_epoch_s": epoch_s,
        "selection_s": sel_s,
        "n_selections": len(times),
        "selection_in_epochs": sel_s / epoch_s,
        "selection_share": float(sel_t.sum()) / fit_s,
        "test_accuracy": float(net.score(X_test, y_test)),
        "net": net,
    }


def run_full(model, seed, data, args):
    """All rows for the same ``T = epochs``: the accuracy a subset trades away."""
    import torch

    X, y, X_test, y_test = data
    torch.manual_seed(seed)
    net = plain_net(model, epochs=args.epochs, device=args.device)
    t0 = time.perf_counter()
    net.fit(X, y)
    return {
        "model": model,
        "selector": "all rows",
        "seed": seed,
        "fit_s": time.perf_counter() - t0,
        "epoch_s": float(np.median(net.history[:, "dur"])),
        "test_accuracy": float(net.score(X_test, y_test)),
    }


def summarise(records, selectors, models):
    rows = []
    for model in models:
        for name in selectors + ["all rows"]:
            rs = [r for r in records if r["model"] == model and r["selector"] == name]
            if not rs:
                continue
            acc = np.array([r["test_accuracy"] for r in rs])
            row = {
                "model": model,
                "selector": name,
                "seeds": len(rs),
                "test_accuracy_mean": float(acc.mean()),
                "test_accuracy_se": float(acc.std(ddof=1) / np.sqrt(len(rs)))
                if len(rs) > 1
                else None,
                "fit_s_mean": float(np.mean([r["fit_s"] for r in rs])),
            }
            if name != "all rows":
                for key in ("selection_s", "selection_in_epochs", "selection_share"):
                    row[key + "_median"] = float(np.median([r[key] for r in rs]))
            rows.append(row)
    return rows


def print_table(summary):
    print(
        f"{'model':5} {'selector':17} {'acc':>7} {'fit s':>7} {'sel s':>7} "
        f"{'sel/epoch':>9} {'share':>6}"
    )
    for r in summary:
        sel = r.get("selection_s_median")
        print(
            f"{r['model']:5} {r['selector']:17} {r['test_accuracy_mean']:7.4f} "
            f"{r['fit_s_mean']:7.1f} "
            + (
                f"{sel:7.3f} {r['selection_in_epochs_median']:9.1f} "
                f"{r['selection_share_median']:6.1%}"
                if sel is not None
                else ""
            )
        )


def _load(name):
    import json

    from _common import RESULTS

    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def report(name="selection_cost", before="selection_cost_before", fmt="md"):
    """Table of a committed run, with the earlier run's ratios beside it.

    Returns the text (markdown for BENCHMARKS.md, ``fmt="rst"`` for the docs).
    """
    now = _load(name)
    if now is None:
        return f"(no benchmarks/results/{name}.json yet)"
    old = _load(before) or {"summary": [], "passes": []}
    old_rows = {(r["model"], r["selector"]): r for r in old["summary"]}
    header = [
        "model",
        "selector",
        "test accuracy",
        "selection (s)",
        "selection / subset epoch",
        "before",
        "share of fit",
    ]
    rows = []
    for r in now["summary"]:
        acc = f"{r['test_accuracy_mean']:.3f}"
        if r.get("test_accuracy_se") is not None:
            acc += f" ± {r['test_accuracy_se']:.3f}"
        if r["selector"] == "all rows":
            rows.append([r["model"], "all rows", acc, "", "", "", ""])
            continue
        prev = old_rows.get((r["model"], r["selector"]))
        rows.append(
            [
                r["model"],
                r["selector"],
                acc,
                f"{r['selection_s_median']:.3f}",
                f"{r['selection_in_epochs_median']:.1f}",
                f"{prev['selection_in_epochs_median']:.1f}" if prev else "",
                f"{r['selection_share_median']:.0%}",
            ]
        )
    passes = []
    for label, run in (("now", now), ("before", old)):
        for model in now["config"]["models"]:
            ps = [p for p in run["passes"] if p["model"] == model]
            if ps:
                passes.append(
                    f"{model} ({label}): raw forward "
                    f"{np.median([p['raw_forward_s'] for p in ps]):.3f} s, "
                    "last-layer pass "
                    f"{np.median([p['lastlayer_pass_s'] for p in ps]):.3f} s, "
                    "subset epoch "
                    f"{np.median([p['subset_epoch_s'] for p in ps]):.3f} s"
                )
    if fmt == "rst":
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        rule = "  ".join("=" * w for w in widths)

        def line(cells):
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

        table = [rule, line(header), rule] + [line(r) for r in rows] + [rule]
        return "\n".join(table + [""] + [f"* {p}" for p in passes]) + "\n"
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(table + [""] + [f"- {p}" for p in passes]) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--models", nargs="+", choices=["mlp", "cnn"])
    parser.add_argument("--selectors", nargs="+", choices=list(SELECTORS))
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--rows", type=int, default=None, help="training rows")
    parser.add_argument("--test-rows", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--select-every", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-full", action="store_true", help="skip all-rows runs")
    parser.add_argument("--output", default=None)
    parser.add_argument(
        "--report",
        action="store_true",
        help="print the committed results as a markdown table and exit",
    )
    args = parser.parse_args(argv)
    if args.report:
        print(report())
        return

    import torch

    from subsetml.datasets import make_mnist1d

    models = args.models or (["mlp"] if args.quick else ["mlp", "cnn"])
    selectors = args.selectors or DEFAULT_SELECTORS
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    n_train = args.rows or (8000 if args.quick else 32000)
    X_all, y_all = make_mnist1d(
        n_train + args.test_rows, random_state=12345, return_X_y=True
    )
    X_all = X_all.astype(np.float32)
    y_all = y_all.astype(np.int64)
    data = (X_all[:n_train], y_all[:n_train], X_all[n_train:], y_all[n_train:])
    print(f"threads: {torch.get_num_threads()}; rows {n_train}/{args.test_rows}")

    records, passes = [], []
    for model in models:
        for seed in seeds:
            for name in selectors:
                r = run_one(model, name, seed, data, args)
                net = r.pop("net")
                if name == selectors[0]:
                    raw_s, view_s = time_passes(net, data[0], data[1])
                    passes.append(
                        {
                            "model": model,
                            "seed": seed,
                            "raw_forward_s": raw_s,
                            "lastlayer_pass_s": view_s,
                            "subset_epoch_s": r["subset_epoch_s"],
                        }
                    )
                    print(
                        f"[{model} seed {seed}] raw forward {raw_s:.3f}s, "
                        f"lastlayer {view_s:.3f}s, subset epoch "
                        f"{r['subset_epoch_s']:.3f}s"
                    )
                records.append(r)
                print(
                    f"[{model} seed {seed}] {name:17} acc {r['test_accuracy']:.4f} "
                    f"fit {r['fit_s']:.1f}s selection {r['selection_s']:.3f}s "
                    f"= {r['selection_in_epochs']:.1f} subset epochs, "
                    f"share {r['selection_share']:.1%}"
                )
            if not args.no_full:
                r = run_full(model, seed, data, args)
                records.append(r)
                print(
                    f"[{model} seed {seed}] all rows          acc "
                    f"{r['test_accuracy']:.4f} fit {r['fit_s']:.1f}s"
                )

    summary = summarise(records, selectors, models)
    print_table(summary)
    payload = {
        "benchmark": "selection_cost",
        "description": __doc__,
        "machine": machine_info(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "config": {
            "rows": n_train,
            "test_rows": args.test_rows,
            "epochs": args.epochs,
            "select_every": args.select_every,
            "fraction": args.fraction,
            "batch_size": 64,
            "warm_up": 0.5,
            "device": args.device,
            "models": models,
            "seeds": seeds,
        },
        "passes": passes,
        "summary": summary,
        "records": records,
    }
    name = args.output or ("selection_cost_quick" if args.quick else "selection_cost")
    print("wrote", write_results(name, payload))


if __name__ == "__main__":
    main()
