"""Random per-class draws: grouping rows by class with a scan per class, one
stable sort, or the hybrid ``_rows_by_class`` uses, side by side.

``RandomSelector(per_class=True)`` (the search's default for classifiers)
and the subset nets' selection pools group the rows of each class before
drawing. For each ``(rows, classes)`` the three ways run on the same codes;
the best of 5 repeats of 3 calls is kept (milliseconds per call). All three
give the same groups, so the draws are the same.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_class_rows.py
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np
from _common import write_run

SIZES = [(5_000, 2), (5_000, 10), (40_000, 2), (40_000, 10), (40_000, 100)]
SIZES += [(200_000, 10), (200_000, 2_000)]


def main(argv=None):
    from subsetml.selection._random import _rows_by_class

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default="random_class_rows")
    args = parser.parse_args(argv)
    records = []
    for n, c in SIZES:
        codes = np.random.RandomState(0).randint(c, size=n)
        counts = np.bincount(codes, minlength=c)

        ways = {
            "scan": lambda codes=codes, c=c: [
                np.flatnonzero(codes == k) for k in range(c)
            ],
            "sort": lambda codes=codes, counts=counts: np.split(
                np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1]
            ),
            "hybrid": lambda codes=codes, counts=counts: _rows_by_class(codes, counts),
        }
        row = {"rows": n, "classes": c}
        for name, f in ways.items():
            row[f"{name}_ms"] = 1e3 * min(timeit.repeat(f, number=3, repeat=5)) / 3
        row["hybrid_over_best"] = row["hybrid_ms"] / min(row["scan_ms"], row["sort_ms"])
        records.append(row)
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    print(write_run("bench_class_rows", __doc__, args, records))


if __name__ == "__main__":
    main()
