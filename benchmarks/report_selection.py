"""Print Markdown tables from benchmarks/results/selection*.json.

For BENCHMARKS.md and the docs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def quality(r):
    if "facility_cost" in r:
        return (
            f"facility cost {r['facility_cost']:.4g} "
            f"(random {r['random_facility_cost']:.4g})"
        )
    if "matching_error" in r:
        return (
            f"matching error {r['matching_error']:.3g} "
            f"(random {r['random_matching_error']:.3g})"
        )
    if "val_loss_after_step" in r:
        return (
            f"val. loss after step {r['val_loss_after_step']:.4g} "
            f"(random {r['random_val_loss_after_step']:.4g}, "
            f"before {r['val_loss_before']:.4g})"
        )
    return ""


def main(name="selection_targets"):
    data = json.loads((RESULTS / f"{name}.json").read_text())
    print(
        f"From `benchmarks/results/{name}.json` "
        f"({data['machine']['cpu_count']} cores, {data['machine']['date']}):\n"
    )
    print("| method | n | d (mode) | subset | time (s) | peak MB | quality |")
    print("|---|---|---|---|---|---|---|")
    for r in data["records"]:
        print(
            f"| {r['method']} | {r['n']:,} | {r['d']} ({r['mode']}) | "
            f"{r['fraction']:.0%} | {r['time_s']:.2f} | {r['peak_mb']:.0f} | "
            f"{quality(r)} |"
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
