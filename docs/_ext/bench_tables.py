"""Render the committed benchmark results into reStructuredText at build time.

``benchmarks/results/search*.json`` become ``_generated/search_tables.rst``
(included by ``benchmarks.rst``) through the same table code as
``benchmarks/report_search.py``, so the docs and BENCHMARKS.md quote one source;
``fidelity.json`` goes through ``benchmarks/bench_fidelity.py``'s ``rst``,
``gpu*.json`` through ``benchmarks/gpu_check.py``'s ``report``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _write(target, text):
    """Write a generated file (only when it changed, so Sphinx does not
    rebuild every page), with "@" escaped outside ``literals``: docutils
    reads strategy names such as "random@0.05" as e-mail addresses."""
    parts = text.split("``")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("@", "\\@")
    text = "``".join(parts)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def _write_tables(app):
    for prefix in ("search", "nn_search"):
        _write_family(app, prefix)


def _bench_module(name):
    """A module of ``benchmarks/`` (not a package), imported by name."""
    import importlib

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def _write_family(app, prefix):
    rs = _bench_module("report_search")
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    parts = []
    ranking, src_r = rs.load(f"{prefix}_ranking", False)
    e2e, src_e = rs.load(prefix, False)
    for name, machine in src_r + src_e:
        parts.append(
            f"* ``benchmarks/results/{name}``: {machine['cpu_count']} cores, "
            f"{machine['processor']}, Python {machine['python']}, "
            f"scikit-learn {machine['scikit-learn']}, run {machine['date']}"
        )
    parts.append("")
    if ranking:
        parts += [
            "Ranking view",
            "~~~~~~~~~~~~",
            "",
            rs.rst(rs.ranking_tables(ranking), rs.RANKING_HEADER),
        ]
    if e2e:
        parts += [
            "End-to-end view",
            "~~~~~~~~~~~~~~~",
            "",
            rs.rst(rs.e2e_tables(e2e), rs.E2E_HEADER),
        ]
        if prefix == "nn_search":
            parts += ["Targets", "~~~~~~~", ""]
            for caption, lines in rs.e2e_targets(e2e):
                parts += [f"**{caption}**", ""]
                parts += [f"* {line}" for line in lines] + [""]
    if not (ranking or e2e):
        parts.append("No search results are committed yet.")
    text = "\n".join(parts) + "\n"
    _write(out / f"{prefix}_tables.rst", text)


def _adaselection_tables(path):
    """Per-task tables and the targets of ``bench_adaselection.py``'s results,
    through ``benchmarks/report_adaselection.py``."""
    import json

    ra = _bench_module("report_adaselection")
    data = json.loads(path.read_text())
    rates = data["sampling_rates"]
    lines = [
        f"From ``benchmarks/results/{path.name}`` ({data.get('mode', '?')} mode, "
        f"{data.get('seeds', '?')} seed(s), sampling rates {rates}; "
        f"{data['machine']['cpu_count']} cores). Test metric per method and "
        "sampling rate (mean ± sd over seeds) and the average rank among all "
        "the subsampling methods (1 is best); then each mix ranked against "
        "the seven single policies alone, and each mix's time per step after "
        "the warm-up, next to the cost model.",
        "",
    ]
    for task, body in data["tasks"].items():
        summary, records = body["summary"], body["records"]
        caption = ra.task_caption(task, summary)
        header, rows = ra.metric_table(summary, records, rates)
        lines.append(ra.rst(header, rows, caption))
        header, rows = ra.mix_table(summary)
        if rows:
            lines.append(
                ra.rst(header, rows, f"{task}: the mixes against the single policies")
            )
        for mix in ra.MIX_STYLES:
            if any(r["method"] == mix for r in records):
                header, rows = ra.step_table(records, rates, mix)
                lines.append(ra.rst(header, rows, f"{task}: {mix}, time per step"))
    lines += ["The issue's targets, as the script evaluated them:", ""]
    lines += [f"* {line}" for line in ra.target_lines(data.get("targets", {}))]
    return "\n".join(lines) + "\n"


def _write_adaselection(app):
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    results = ROOT / "benchmarks" / "results"
    path = next(
        (
            results / name
            for name in ("adaselection.json", "adaselection_quick.json")
            if (results / name).exists()
        ),
        None,
    )
    text = (
        _adaselection_tables(path)
        if path is not None
        else "No AdaSelection results are committed yet.\n"
    )
    cnn6 = results / "adaselection_cnn6.json"
    if cnn6.exists():
        text += (
            "\nThe issue's short-training case, 6 epochs on 8,000 MNIST-1D "
            "training rows at r = 0.3:\n\n" + _adaselection_tables(cnn6)
        )
    _write(out / "adaselection_tables.rst", text)


def _write_fidelity(app):
    """``benchmarks/results/fidelity.json``, ``fidelity_proportional*.json``
    and ``fidelity_nets.json`` through ``bench_fidelity.rst``."""
    bf = _bench_module("bench_fidelity")
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    for name in (
        "fidelity",
        "fidelity_proportional",
        "fidelity_proportional_hgb",
        "fidelity_warm_hgb",
        "fidelity_rounds",
        "fidelity_rounds_nets",
        "fidelity_nets",
        "fidelity_nets_large_mlp",
        "fidelity_nets_large_mlp_rounds_rs",
        "fidelity_nets_large_cnn",
        "fidelity_nets_large_cnn_now",
        "fidelity_hgb_rounds",
        "fidelity_hgb_rounds_k",
        "fidelity_selectors_prop",
        "fidelity_nets_large_mlp_hshape",
        "fidelity_nets_large_mlp_judged",
        "fidelity_hgb_judged",
        "fidelity_svc_budgets",
        "fidelity_hgb_final",
        "fidelity_nets_large_mlp_warm",
        "fidelity_nets_large_mlp_rescore",
        "fidelity_nets_large_mlp_curve",
        "fidelity_nets_large_cnn_halving",
        "fidelity_nets_large_cnn_loader",
        "fidelity_nets_large_mlp_seeds",
        "fidelity_nets_large_cnn_seeds",
        "fidelity_hgb_same_run",
        "fidelity_nets_large_mlp_ten",
        "fidelity_nets_large_mlp_short",
        "fidelity_regression",
        "fidelity_regression_large",
        "fidelity_bike",
        "fidelity_bike_first",
    ):
        path = ROOT / "benchmarks" / "results" / f"{name}.json"
        text = bf.rst(path) if path.exists() else f"No {name}.json is committed yet.\n"
        _write(out / f"{name}_tables.rst", text)


def _write_selection_cost(app):
    """``selection_cost.json`` (and the run before it) through
    ``bench_selection_cost.report``."""
    bsc = _bench_module("bench_selection_cost")
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    text = bsc.report(fmt="rst")
    _write(out / "selection_cost_tables.rst", text)
    # The default selectors again once the pool draw skipped its label view;
    # "before" is then the run above.
    text = bsc.report("selection_cost_pool_draw", before="selection_cost", fmt="rst")
    _write(out / "selection_cost_pool_draw_tables.rst", text)


def _write_gpu(app):
    """``gpu.json`` and ``gpu_adaselection.json`` through ``gpu_check.report``."""
    gc = _bench_module("gpu_check")
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    parts = []
    for name in ("gpu", "gpu_adaselection"):
        path = ROOT / "benchmarks" / "results" / f"{name}.json"
        if path.exists():
            parts.append(gc.report(path, fmt="rst"))
    _write(out / "gpu_tables.rst", "\n".join(parts) or "No GPU run is committed.\n")


def setup(app):
    app.connect("builder-inited", _write_tables)
    app.connect("builder-inited", _write_selection_cost)
    app.connect("builder-inited", _write_fidelity)
    app.connect("builder-inited", _write_adaselection)
    app.connect("builder-inited", _write_gpu)
    return {"version": "1.0", "parallel_read_safe": True}
