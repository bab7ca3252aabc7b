"""Render the committed benchmark results into reStructuredText at build time.

``benchmarks/results/search*.json`` become ``_generated/search_tables.rst``
(included by ``benchmarks.rst``) through the same table code as
``benchmarks/report_search.py``, so the docs and the README quote one source.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _write_tables(app):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import report_search as rs
    finally:
        sys.path.pop(0)
    out = Path(app.srcdir) / "_generated"
    out.mkdir(exist_ok=True)
    parts = []
    ranking, src_r = rs.load("search_ranking", False)
    e2e, src_e = rs.load("search", False)
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
    if not (ranking or e2e):
        parts.append("No search results are committed yet.")
    text = "\n".join(parts) + "\n"
    path = out / "search_tables.rst"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def setup(app):
    app.connect("builder-inited", _write_tables)
    return {"version": "1.0", "parallel_read_safe": True}
