"""Tables (Markdown) and plots from ``benchmarks/results/adaselection*.json``.

Usage::

    python benchmarks/report_adaselection.py                # adaselection.json
    python benchmarks/report_adaselection.py --quick        # adaselection_quick.json
    python benchmarks/report_adaselection.py --no-plot      # tables only

Prints, per task, the test metric of every method at every sampling rate (mean
and standard deviation over seeds, full training as the reference), the time
per step split into scoring and training next to the cost model
``(1 + 3r) / 3`` of a full step, the average ranks, and the issue's targets.
Writes ``adaselection[_quick].png`` (metric against sampling rate, one panel
per task; the paper's Figures 2-5) and ``adaselection_weights[_quick].png``
(AdaSelection's method weights over the epochs, seed 0; Figures 6-9).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import report_search

RESULTS = Path(__file__).resolve().parent / "results"


_ms = report_search._ms  # mean ± sd over seeds, the search report's format


def _runs(records, method, rate=None):
    return [
        r
        for r in records
        if r["method"] == method and (rate is None or r["sampling_rate"] == rate)
    ]


def _methods(records):
    return list(dict.fromkeys(r["method"] for r in records if r["method"] != "full"))


def metric_table(summary, records, rates):
    """Rows: method; columns: sampling rates; cells: mean ± sd of the metric."""
    fmt = "{:.4f}"
    full = _ms((r["metric"] for r in _runs(records, "full")), fmt)
    header = ["method", *(f"r = {r:g}" for r in rates), "average rank"]
    rows = [["full (r = 1)", *([full] * len(rates)), "–"]]
    ranks = summary["average_rank"]
    for method in _methods(records):
        cells = [
            _ms((x["metric"] for x in _runs(records, method, r)), fmt) for r in rates
        ]
        rows.append([method, *cells, f"{ranks.get(method, float('nan')):.2f}"])
    return header, rows


def step_table(records, rates):
    """AdaSelection's time per step against the cost model, per rate."""
    full = [r["time_per_step"] for r in _runs(records, "full")]
    full_step = float(np.mean(full)) if full else float("nan")
    header = [
        "sampling rate",
        "step (ms)",
        "scoring (ms)",
        "training (ms)",
        "step / full step",
        "cost model (1+3r)/3",
    ]
    rows = [["1 (full)", f"{1e3 * full_step:.2f}", "0", f"{1e3 * full_step:.2f}"]]
    rows[0] += ["1.00", "1.00"]
    for rate in rates:
        runs = _runs(records, "adaselection", rate)
        if not runs:
            continue
        step = float(np.mean([r["time_per_step"] for r in runs]))
        rows.append(
            [
                f"{rate:g}",
                f"{1e3 * step:.2f}",
                f"{1e3 * np.mean([r['scoring_time_per_step'] for r in runs]):.2f}",
                f"{1e3 * np.mean([r['training_time_per_step'] for r in runs]):.2f}",
                f"{step / full_step:.2f}",
                f"{(1 + 3 * rate) / 3:.2f}",
            ]
        )
    return header, rows


def markdown(header, rows):
    """One Markdown table (``report_search``'s writer, without a caption)."""
    text = report_search.markdown([(None, "", rows)], header)
    return text[text.index("| ") :]


def rst(header, rows, caption=""):
    """A reStructuredText list-table (used by the docs)."""
    return report_search.rst([(None, caption, rows)], header)


def task_caption(name, summary):
    return (
        f"{name}: {summary['metric']} "
        f"({'higher' if summary['higher_is_better'] else 'lower'} is better), "
        f"{summary['n_train']} training rows, {summary['epochs']} epochs, "
        f"batch {summary['batch_size']}"
    )


def target_lines(targets):
    lines = []
    for name, target in targets.items():
        detail = ", ".join(
            f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}"
            for k, v in target.items()
            if k != "held"
        )
        lines.append(
            f"{name}: {'held' if target.get('held') else 'not held'} ({detail})"
        )
    return lines


def plot_metrics(data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = data["tasks"]
    rates = data["sampling_rates"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.6))
    axes = np.atleast_1d(axes)
    for ax, (name, body) in zip(axes, tasks.items()):
        records, summary = body["records"], body["summary"]
        for method in _methods(records):
            means = [
                np.mean([r["metric"] for r in _runs(records, method, rate)])
                for rate in rates
            ]
            style = {"lw": 2.5, "color": "k"} if method == "adaselection" else {}
            ax.plot(rates, means, marker="o", ms=3, label=method, **style)
        full = np.mean([r["metric"] for r in _runs(records, "full")])
        ax.axhline(full, color="grey", ls="--", lw=1, label="full")
        ax.set_title(name)
        ax.set_xlabel("sampling rate r")
        ax.set_ylabel(summary["metric"])
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_weights(data, path, rate=0.3, seed=0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = data["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4))
    axes = np.atleast_1d(axes)
    for ax, (name, body) in zip(axes, tasks.items()):
        runs = [
            r for r in _runs(body["records"], "adaselection", rate) if r["seed"] == seed
        ]
        if not runs or not runs[0].get("method_weights"):
            ax.set_title(f"{name}: no weights recorded")
            continue
        history = runs[0]["method_weights"]
        epochs = [i + 1 for i, w in enumerate(history) if isinstance(w, dict)]
        weights = [w for w in history if isinstance(w, dict)]
        for policy in weights[0]:
            ax.plot(epochs, [w[policy] for w in weights], label=policy)
        ax.set_title(f"{name} (r = {rate:g}, seed {seed})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("method weight")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    stem = "adaselection_quick" if args.quick else "adaselection"
    data = json.loads((RESULTS / f"{stem}.json").read_text())
    machine = data["machine"]
    print(
        f"`{stem}.json`: {data['mode']} mode, {data['seeds']} seed(s), "
        f"{machine['cpu_count']} cores, {machine['date']}"
    )
    for name, body in data["tasks"].items():
        summary, records = body["summary"], body["records"]
        print(f"\n### {task_caption(name, summary)}\n")
        print(markdown(*metric_table(summary, records, data["sampling_rates"])))
        print()
        print(markdown(*step_table(records, data["sampling_rates"])))
    print("\n### Targets\n")
    print("\n".join(f"- {line}" for line in target_lines(data["targets"])))
    if not args.no_plot:
        suffix = "_quick" if args.quick else ""
        plot_metrics(data, RESULTS / f"adaselection{suffix}.png")
        plot_weights(data, RESULTS / f"adaselection_weights{suffix}.png")


if __name__ == "__main__":
    main()
