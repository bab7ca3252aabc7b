"""Tables (Markdown) and plots from benchmarks/results/search*.json.

Usage::

    python benchmarks/report_search.py            # search_ranking*.json, search*.json
    python benchmarks/report_search.py --quick    # the --quick results only
    python benchmarks/report_search.py --no-plot  # tables only
    python benchmarks/report_search.py --prefix nn_search   # the skorch nets

Prints, per task, the ranking view (Kendall tau, Spearman rho, top-5 overlap,
top-1 regret, time ratio; mean and standard deviation over seeds) and the
end-to-end view (test accuracy, end-to-end time, speed-up), and writes
``search_ranking.png`` and ``search.png`` next to the results.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def load(prefix, quick):
    """Records of every ``<prefix>*.json`` (quick or not), with their file."""
    records, sources = [], []
    for path in sorted(RESULTS.glob(f"{prefix}*.json")):
        stem = path.stem
        if not prefix.endswith("_ranking") and stem.startswith(f"{prefix}_ranking"):
            continue
        if stem.endswith("_quick") != quick:
            continue
        data = json.loads(path.read_text())
        date = data["machine"].get("date", "")
        records += [{**r, "_file": path.name, "_date": date} for r in data["records"]]
        sources.append((path.name, data["machine"]))
    records = _latest_runs(records)
    used = {r["_file"] for r in records}
    sources = [(name, machine) for name, machine in sources if name in used]
    # One configuration may be spread over several files (seeds run in
    # separate processes): records are grouped by what was run, and "_file"
    # names every file that holds that configuration.
    files = defaultdict(set)
    for r in records:
        files[_run_key(r)].add(r["_file"])
    for r in records:
        r["_file"] = ", ".join(sorted(files[_run_key(r)]))
    return records, sources


def _latest_runs(records):
    """The records of the latest run of each (configuration, strategy,
    seed): a file re-running seeds of an earlier one replaces its records
    (they were averaged together, and counted as seeds twice)."""
    latest = {}
    for r in records:
        key = (_run_key(r), r.get("strategy"), r.get("seed"))
        latest[key] = max(latest.get(key, ""), r["_date"])
    return [
        r
        for r in records
        if r["_date"] == latest[(_run_key(r), r.get("strategy"), r.get("seed"))]
    ]


def _run_key(record):
    """What makes two records comparable: task, data size, trials, validation."""
    keys = ("task", "n_rows", "n_iter", "n_candidates", "cv", "space")
    return json.dumps([record.get(k) for k in keys], sort_keys=True, default=str)


def _ms(values, fmt="{:.3f}"):
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "n/a"
    if v.size == 1:
        return fmt.format(v[0])
    return f"{fmt.format(v.mean())} ± {fmt.format(v.std(ddof=1))}"


def _cv_text(cv):
    """How a run validated: ``3-fold CV`` or ``one 20 % hold-out``."""
    if isinstance(cv, float):
        return f"one {100 * cv:g} % hold-out"
    return f"{cv}-fold CV"


def _group(records, keys):
    groups = defaultdict(list)
    for r in records:
        groups[tuple(r.get(k) for k in keys)].append(r)
    return groups


RANKING_HEADER = [
    "strategy",
    "rows/trial",
    "Kendall τ",
    "Spearman ρ",
    "top-5 overlap",
    "top-1 regret (pp)",
    "time (s)",
    "faster than full",
]
E2E_HEADER = [
    "strategy",
    "test accuracy",
    "median",
    "end-to-end (s)",
    "speed-up vs full",
    "selection share",
    "best CV score",
]


def _selection_share(r):
    """Selection time as a share of the search (trials without the refit)."""
    if "selection_share" in r:
        return r["selection_share"]
    search = r["end_to_end_s"] - r.get("refit_s", float("nan"))
    return r.get("selection_s", float("nan")) / search


def ranking_tables(records):
    """``(task, caption, rows)`` per task of the ranking view."""
    tables = []
    for (task, _), recs in _group(records, ["task", "_file"]).items():
        recs = [r for r in recs if "skipped" not in r]
        seeds = sorted({r["seed"] for r in recs})
        caption = (
            f"{task}: {recs[0]['n_candidates']} paired candidates, "
            f"{len(seeds)} seed(s), {_cv_text(recs[0]['cv'])}, "
            f"{recs[0]['fold_rows']} rows per training fold "
            f"(from {recs[0]['_file']})"
        )
        rows = []
        for (strategy,), rs in _group(recs, ["strategy"]).items():
            rows.append(
                [
                    strategy,
                    f"{np.mean([r['rows_per_trial'] for r in rs]):.0f}",
                    _ms(r["kendall_tau"] for r in rs),
                    _ms(r["spearman_rho"] for r in rs),
                    _ms((r["top5_overlap"] for r in rs), "{:.2f}"),
                    _ms((100 * r["regret"] for r in rs), "{:.2f}"),
                    _ms((r["time_s"] for r in rs), "{:.2f}"),
                    _ms((r["time_ratio_vs_full"] for r in rs), "{:.1f}") + "×",
                ]
            )
        tables.append((task, caption, rows))
    return tables


def e2e_tables(records):
    """``(task, caption, rows)`` per task of the end-to-end view."""
    tables = []
    for (task, _), recs in _group(records, ["task", "_file"]).items():
        seeds = sorted({r["seed"] for r in recs})
        caption = (
            f"{task}: {recs[0]['n_iter']} trials, {len(seeds)} seed(s), "
            f"{_cv_text(recs[0]['cv'])}, {recs[0].get('n_rows', '?')} rows "
            f"(from {recs[0]['_file']})"
        )
        rows = []
        for (strategy,), rs in _group(recs, ["strategy"]).items():
            rows.append(
                [
                    strategy,
                    _ms(r["test_accuracy"] for r in rs),
                    # robust to one diverged refit among the seeds
                    f"{np.median([r['test_accuracy'] for r in rs]):.3f}",
                    _ms((r["end_to_end_s"] for r in rs), "{:.1f}"),
                    _ms((r["speedup_vs_full"] for r in rs), "{:.1f}") + "×",
                    _pct(_selection_share(r) for r in rs),
                    _ms(r["best_cv_score"] for r in rs),
                ]
            )
        tables.append((task, caption, rows))
    return tables


def _pct(shares):
    text = _ms((100 * x for x in shares), "{:.0f}")
    return text if text == "n/a" else text + " %"


def _mean_by_strategy(recs, key):
    return {
        strategy: float(np.mean([r[key] for r in rs]))
        for (strategy,), rs in _group(recs, ["strategy"]).items()
    }


def e2e_targets(records, size=0.05, min_speedup=8.0, max_gap_pp=0.5):
    """The nets issue's two targets, per task and results file.

    * speed-up: every subset strategy at ``size`` against the full-data
      search -- mean end-to-end speed-up at least ``min_speedup`` and mean test
      accuracy at most ``max_gap_pp`` points below it;
    * equal wall time: each of CRAIG, GLISTER and GRAD-MATCH against the
      slowest adaptive-random search that was not slower than it (random at
      the same size when every random search was slower), by mean test
      accuracy -- the selector must be ahead.

    Returns ``(caption, lines)`` pairs; each line says ``held`` or ``not held``.
    """
    out = []
    for (task, file), recs in _group(records, ["task", "_file"]).items():
        acc = _mean_by_strategy(recs, "test_accuracy")
        time_ = _mean_by_strategy(recs, "end_to_end_s")
        speed = _mean_by_strategy(recs, "speedup_vs_full")
        full = acc.get("full (tpe)")
        if full is None:
            continue
        lines = []
        for strategy in acc:
            if not strategy.endswith(f"@{size:g} (tpe)"):
                continue
            gap = 100 * (acc[strategy] - full)
            held = speed[strategy] >= min_speedup and gap >= -max_gap_pp
            lines.append(
                f"{strategy}: {speed[strategy]:.1f}× at {gap:+.1f} pp vs full "
                f"-- {'held' if held else 'not held'}"
            )
        randoms = {s: t for s, t in time_.items() if s.startswith("random@")}
        for strategy in acc:
            name = strategy.split("@")[0]
            if name not in ("craig", "glister", "gradmatch") or not randoms:
                continue
            same = strategy.replace(name, "random", 1)
            cheaper = [s for s, t in randoms.items() if t <= time_[strategy]]
            ref = max(cheaper, key=randoms.get) if cheaper else same
            if ref not in acc:
                continue
            gap = 100 * (acc[strategy] - acc[ref])
            lines.append(
                f"{strategy} ({time_[strategy]:.0f} s) vs {ref} "
                f"({time_[ref]:.0f} s): {gap:+.1f} pp -- "
                f"{'held' if gap > 0 else 'not held'}"
            )
        out.append((f"{task} (from {file})", lines))
    return out


def markdown(tables, header):
    lines = []
    for _, caption, rows in tables:
        lines += [f"\n**{caption}**\n", "| " + " | ".join(header) + " |"]
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rst(tables, header):
    """reStructuredText list-tables (used by the docs)."""
    lines = []
    for _, caption, rows in tables:
        lines += [f".. list-table:: {caption}", "   :header-rows: 1", ""]
        for row in [header, *rows]:
            lines.append(f"   * - {row[0]}")
            lines += [f"     - {cell}" for cell in row[1:]]
        lines.append("")
    return "\n".join(lines)


def _panel_title(task, file, panels):
    """The task, and its results file where several files hold that task."""
    if sum(t == task for t, _ in panels) > 1:
        return f"{task}\n({file})"
    return task


def plot_ranking(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in records if "skipped" not in r and r["strategy"] != "full"]
    tasks = list(dict.fromkeys(r["task"] for r in recs))
    fig, axes = plt.subplots(
        1, len(tasks), figsize=(4.2 * len(tasks), 3.6), squeeze=False
    )
    methods = ["random", "craig", "glister", "gradmatch"]
    for ax, task in zip(axes[0], tasks):
        rs = [r for r in recs if r["task"] == task]
        sizes = sorted({r["subset_size"] for r in rs if r["selector"] in methods})
        width = 0.8 / len(methods)
        for j, meth in enumerate(methods):
            means, sds = [], []
            for size in sizes:
                v = [
                    r["kendall_tau"]
                    for r in rs
                    if r["selector"] == meth and r["subset_size"] == size
                ]
                means.append(np.nanmean(v) if v else np.nan)
                sds.append(np.nanstd(v) if len(v) > 1 else 0.0)
            x = np.arange(len(sizes)) + (j - 1.5) * width
            ax.bar(x, means, width, yerr=sds, label=meth, capsize=2)
        halving = [r["kendall_tau"] for r in rs if r["strategy"] == "halving-grid"]
        if halving and 0.05 in sizes:
            ax.axhline(
                np.nanmean(halving),
                color="k",
                ls="--",
                lw=1,
                label="Halving 1st round (5 %)",
            )
        ax.set_xticks(np.arange(len(sizes)), [f"{s:.0%}" for s in sizes])
        ax.set_xlabel("subset of each training fold")
        ax.set_title(task)
        ax.set_ylim(min(0, ax.get_ylim()[0]), 1)
    axes[0][0].set_ylabel("Kendall τ with full-data scores")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_e2e(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _group(records, ["task", "_file"])
    strategies = list(dict.fromkeys(r["strategy"] for r in records))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))[: len(strategies)]
    colour = dict(zip(strategies, colours))
    width = 4.2 * len(panels) + 2.6
    fig, axes = plt.subplots(1, len(panels), figsize=(width, 3.8), squeeze=False)
    for ax, ((task, file), rs) in zip(axes[0], panels.items()):
        for (strategy,), g in _group(rs, ["strategy"]).items():
            t = np.array([r["end_to_end_s"] for r in g])
            a = 100 * np.array([r["test_accuracy"] for r in g])
            marker = "s" if "tpe" in strategy else "^"
            ax.errorbar(
                t.mean(),
                a.mean(),
                xerr=t.std() if len(g) > 1 else None,
                yerr=a.std() if len(g) > 1 else None,
                fmt=marker,
                color=colour[strategy],
                capsize=2,
                label=strategy,
            )
        ax.set_xscale("log")
        ax.set_xlabel("end-to-end time (s, search + refit)")
        ax.set_title(_panel_title(task, file, panels), fontsize=9)
    axes[0][0].set_ylabel("test accuracy (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 1 - 2.5 / width, 1))
    fig.legend(handles, labels, fontsize=7, loc="center right")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_speedups(records, path):
    """The paper's Figure 2: end-to-end speed-up over the full-data search,
    one panel per task and results file (``subsetml.plotting.plot_speedup``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from subsetml.plotting import plot_speedup

    groups = _group(records, ["task", "_file"])
    fig, axes = plt.subplots(
        1, len(groups), figsize=(4.6 * len(groups), 3.8), squeeze=False
    )
    for ax, ((task, file), recs) in zip(axes[0], groups.items()):
        plot_speedup(recs, reference="full (tpe)", ax=ax)
        ax.set_title(_panel_title(task, file, groups), fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--prefix",
        default="search",
        help="results family: search (sklearn models) or nn_search (skorch nets)",
    )
    args = parser.parse_args(argv)
    suffix = "_quick" if args.quick else ""
    prefix = args.prefix

    ranking, src_r = load(f"{prefix}_ranking", args.quick)
    e2e, src_e = load(prefix, args.quick)
    for name, machine in src_r + src_e:
        print(
            f"- `{name}`: {machine['cpu_count']} cores, {machine['processor']}, "
            f"{machine['date']}"
        )
    if ranking:
        print("\n### Ranking view (paired candidates)")
        print(markdown(ranking_tables(ranking), RANKING_HEADER))
    if e2e:
        print("\n### End-to-end view")
        print(markdown(e2e_tables(e2e), E2E_HEADER))
        print("\n### Targets (mean over seeds)")
        for caption, lines in e2e_targets(e2e):
            print(f"\n**{caption}**\n")
            print("\n".join(f"- {line}" for line in lines))
    if not args.no_plot:
        if ranking:
            plot_ranking(ranking, RESULTS / f"{prefix}_ranking{suffix}.png")
        if e2e:
            plot_e2e(e2e, RESULTS / f"{prefix}{suffix}.png")
            plot_speedups(e2e, RESULTS / f"{prefix}_speedup{suffix}.png")


if __name__ == "__main__":
    main()
