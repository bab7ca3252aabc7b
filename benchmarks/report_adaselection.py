"""Tables (Markdown) and plots from ``benchmarks/results/adaselection*.json``.

Usage::

    python benchmarks/report_adaselection.py                # adaselection.json
    python benchmarks/report_adaselection.py --quick        # adaselection_quick.json
    python benchmarks/report_adaselection.py --stem adaselection_cnn6
    python benchmarks/report_adaselection.py --no-plot      # tables only

Prints, per task, the test metric of every method at every sampling rate (mean
and standard deviation over seeds, full training as the reference), the
average ranks, each mix's rank against the seven single policies alone, each
mix's time per step split into scoring and training next to the cost model
``(1 + 3r) / 3`` of a full step, and the issue's targets. Writes
``STEM.png`` (metric against sampling rate, one panel per task; the paper's
Figures 2-5) and ``STEM_weights[_MIX].png`` (a mix's method weights over the
epochs, seed 0; Figures 6-9).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import report_search

RESULTS = Path(__file__).resolve().parent / "results"


_ms = report_search._ms  # mean ± sd over seeds, the search report's format

MIX_STYLES = {
    "adaselection": {"lw": 2.5, "color": "k"},
    "adaselection_probe": {"lw": 2.5, "color": "k", "ls": ":"},
    "adaselection_probe_lr3": {"lw": 1.5, "color": "k", "ls": "-."},
    "adaselection_stale": {"lw": 1.5, "color": "grey"},
    "adaselection_fresh": {"lw": 1.5, "color": "k", "ls": "--"},
    "adaselection_probe_stale": {"lw": 1.5, "color": "grey", "ls": ":"},
    "adaselection_paired": {"lw": 2.5, "color": "tab:red"},
    "adaselection_paired_early": {"lw": 1.5, "color": "tab:red", "ls": "--"},
    "adaselection_paired_reserve": {"lw": 2.5, "color": "tab:red", "ls": ":"},
    "adaselection_probe_reserve": {"lw": 1.5, "color": "tab:blue", "ls": ":"},
    "adaselection_paired_median": {"lw": 1.5, "color": "tab:olive"},
    "adaselection_probe_median": {"lw": 1.5, "color": "tab:olive", "ls": ":"},
}
#: The mixes whose method weights are plotted (one figure each).
WEIGHT_PLOTS = ("adaselection", "adaselection_probe", "adaselection_paired")


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


def mix_table(summary):
    """Each mix's average rank against the seven single policies alone."""
    header = ["mix", "rank (of 8)", "best single policy", "its rank", "gap"]
    rows = [
        [
            mix,
            f"{m['rank']:.2f}",
            m["best_single"],
            f"{m['best_single_rank']:.2f}",
            f"{m['gap']:+.2f}",
        ]
        for mix, m in summary.get("mix_rank_against_singles", {}).items()
    ]
    return header, rows


def step_table(records, rates, method="adaselection"):
    """A mix's time per step against the cost model, per rate."""
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
        runs = _runs(records, method, rate)
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


def _values(d, fmt):
    return ", ".join(f"{k} {fmt.format(v)}" for k, v in d.items())


def target_lines(targets):
    """One line per mix and target: held or not, with the figures."""
    lines = []
    for mix, t in targets.items():
        if "rank_gap_to_best_single" in t:
            ok = t["rank_within_0.5_on_every_task"]
            lines.append(
                f"{mix}: average rank within 0.5 of the best single policy on "
                f"every task: {'held' if ok else 'not held'} (gap: "
                f"{_values(t['rank_gap_to_best_single'], '{:+.2f}')})"
            )
        if "accuracy_gap_pp@0.3" in t:
            ok = t["accuracy_within_1pp"]
            lines.append(
                f"{mix}: accuracy at r = 0.3 at most 1 point below full training: "
                f"{'held' if ok else 'not held'} (points: "
                f"{_values(t['accuracy_gap_pp@0.3'], '{:+.2f}')})"
            )
        if "cnn_step_over_full@0.2" in t:
            ok = t["cnn_step_at_most_0.6_of_full"]
            lines.append(
                f"{mix}: CNN step at r = 0.2 at most 0.6 of a full step: "
                f"{'held' if ok else 'not held'} "
                f"({t['cnn_step_over_full@0.2']:.2f})"
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
            style = MIX_STYLES.get(method, {})
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


def plot_weights(data, path, rate=0.3, seed=0, method="adaselection"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = data["tasks"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.4))
    axes = np.atleast_1d(axes)
    for ax, (name, body) in zip(axes, tasks.items()):
        runs = [r for r in _runs(body["records"], method, rate) if r["seed"] == seed]
        if not runs or not runs[0].get("method_weights"):
            ax.set_title(f"{name}: no weights recorded")
            continue
        history = runs[0]["method_weights"]
        epochs = [i + 1 for i, w in enumerate(history) if isinstance(w, dict)]
        weights = [w for w in history if isinstance(w, dict)]
        for policy in weights[0]:
            ax.plot(epochs, [w[policy] for w in weights], label=policy)
        ax.set_title(f"{name}: {method} (r = {rate:g}, seed {seed})", fontsize=9)
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
    parser.add_argument("--stem", default=None, help="results file stem")
    args = parser.parse_args(argv)
    stem = args.stem or ("adaselection_quick" if args.quick else "adaselection")
    data = json.loads((RESULTS / f"{stem}.json").read_text())
    machine = data["machine"]
    print(
        f"`{stem}.json`: {data['mode']} mode, {data['seeds']} seed(s), "
        f"{machine['cpu_count']} cores, {machine['date']}"
    )
    for name, body in data["tasks"].items():
        summary, records = body["summary"], body["records"]
        rates = sorted({r["sampling_rate"] for r in records} - {1.0})
        print(f"\n### {task_caption(name, summary)}\n")
        print(markdown(*metric_table(summary, records, rates)))
        print()
        print(markdown(*mix_table(summary)))
        for mix in MIX_STYLES:
            if _runs(records, mix):
                print(f"\n{mix}, time per step:\n")
                print(markdown(*step_table(records, rates, mix)))
    print("\n### Targets\n")
    print("\n".join(f"- {line}" for line in target_lines(data["targets"])))
    if not args.no_plot:
        plot_metrics(data, RESULTS / f"{stem}.png")
        for mix in WEIGHT_PLOTS:
            suffix = "" if mix == "adaselection" else mix[len("adaselection") :]
            plot_weights(data, RESULTS / f"{stem}_weights{suffix}.png", method=mix)


if __name__ == "__main__":
    main()
