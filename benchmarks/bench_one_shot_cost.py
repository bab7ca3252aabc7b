"""Cost of one-shot selection, two versions of the library side by side.

One-shot selection (``SubsetEstimator``, the search's subsets) reads the
untrained view of the rows (:meth:`~subsetml.LastLayer.from_inputs`), where
GRAD-MATCH and GLISTER add a coverage term to every pick and CRAIG's picks may
be copies of earlier ones on data with duplicate rows. This benchmark times
the selectors there, on generated classification and regression data and on
data with many duplicate rows (binary features), for each library version
given with ``--source`` (a folder holding a ``subsetml`` package, such as a
``git worktree`` of another commit), alternating the versions within every
repetition so that both see the same machine load. It reports the median
seconds per selection, the ratio of each version to the first, the picks of
weight 0 and, on the duplicate rows, the total variation distance between
the picks' mix of distinct rows and the data's (what a model fitted without
the weights sees; 0 is the data's own mix), and the median seconds spent
building the view (:meth:`~subsetml.LastLayer.from_inputs`), not counted in
the selection's.

Usage::

    python benchmarks/bench_one_shot_cost.py --source before=/tmp/old after=.
    python benchmarks/bench_one_shot_cost.py --rows 20000 --repeats 3
    # GRAD-MATCH's two weightings (the equal one, where weights are dropped):
    python benchmarks/bench_one_shot_cost.py --selectors gradmatch gradmatch-equal

``gradmatch-equal`` is ``GradMatchSelector(weighting="equal")``, which only
versions from December 2026 on have.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, write_results

SELECTORS = ("craig", "gradmatch", "glister")
DATASETS = ("classification", "regression", "duplicates")

# Run in a fresh interpreter with the version under test first on sys.path:
# prints the seconds of one selection as JSON.
_CHILD = r"""
import json, sys, time, warnings
import numpy as np
from sklearn.datasets import make_classification, make_regression
from subsetml import LastLayer
from subsetml.selection import CraigSelector, GlisterSelector, GradMatchSelector
selector, data, n, fraction, seed = sys.argv[1:6]
n, fraction, seed = int(n), float(fraction), int(seed)
if data == "classification":
    X, y = make_classification(n, 20, n_informative=8, n_classes=3, random_state=seed)
elif data == "regression":
    X, y = make_regression(n, 20, noise=10.0, random_state=seed)
else:
    rng = np.random.RandomState(seed)
    X = rng.binomial(1, [0.8, 0.3, 0.5], size=(n, 3)).astype(float)
    y = (X @ [1.5, -2.0, 1.0] + rng.logistic(size=n) > 0.5).astype(int)
cls, params = {"craig": (CraigSelector, {}), "gradmatch": (GradMatchSelector, {}),
               "gradmatch-equal": (GradMatchSelector, {"weighting": "equal"}),
               "glister": (GlisterSelector, {})}[selector]
t0 = time.perf_counter()
view = LastLayer.from_inputs(X, y)
view_seconds = time.perf_counter() - t0
k = max(1, int(round(fraction * n)))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    subset = cls(random_state=seed, **params).select(view, k)
    seconds = time.perf_counter() - t0
# How far the picks, unweighted, are from the data's mix of distinct rows
# (total variation distance): what a model that takes no weights sees.
tv = None
if data == "duplicates":
    _, codes = np.unique(X, axis=0, return_inverse=True)
    codes = codes.reshape(-1)
    data_share = np.bincount(codes) / n
    pick_share = np.bincount(codes[subset.indices], minlength=data_share.size) / k
    tv = float(0.5 * np.abs(pick_share - data_share).sum())
import subsetml
print(json.dumps({"seconds": seconds, "view_seconds": view_seconds,
                  "size": int(subset.size),
                  "package": subsetml.__file__,
                  "zero_weights": int((subset.weights == 0).sum()), "tv": tv}))
"""


def _time_once(source, selector, data, n, fraction, seed):
    env = dict(os.environ, PYTHONPATH=str(source), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, selector, data, *map(str, (n, fraction, seed))],
        env=env,
        # ``python -c`` puts the working folder first on sys.path: the
        # source's own, so that its package is the one imported.
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(result["package"]).resolve().is_relative_to(Path(source).resolve()):
        # An editable install, or a source folder without the package, would
        # time another version than the one named.
        raise RuntimeError(
            f"{source} did not provide subsetml: {result['package']} was imported."
        )
    return result


def run(sources, *, rows, fractions, repeats, selectors=SELECTORS, datasets=DATASETS):
    """Records, one per (selector, data, rows, fraction, version)."""
    records = []
    for selector in selectors:
        for data in datasets:
            for n in rows:
                for fraction in fractions:
                    runs = {label: [] for label, _ in sources}
                    for r in range(repeats):
                        # Alternate which version goes first.
                        order = sources if r % 2 == 0 else sources[::-1]
                        for label, source in order:
                            runs[label].append(
                                _time_once(source, selector, data, n, fraction, r)
                            )
                    base = np.median([x["seconds"] for x in runs[sources[0][0]]])
                    for label, _ in sources:
                        sec = [x["seconds"] for x in runs[label]]
                        rec = {
                            "selector": selector,
                            "data": data,
                            "rows": n,
                            "fraction": fraction,
                            "version": label,
                            "seconds": sec,
                            "median_s": float(np.median(sec)),
                            "view_median_s": float(
                                np.median(
                                    [x.get("view_seconds", np.nan) for x in runs[label]]
                                )
                            ),
                            "ratio_to_first": float(np.median(sec) / base),
                            "zero_weight_picks": [
                                x["zero_weights"] for x in runs[label]
                            ],
                            "distinct_rows_tv": [x["tv"] for x in runs[label]],
                        }
                        records.append(rec)
                        print(
                            f"{selector:9s} {data:14s} n={n:6d} f={fraction:<5} "
                            f"{label:8s} {rec['median_s']:7.3f} s  "
                            f"x{rec['ratio_to_first']:.2f}  zero-weight picks "
                            f"{rec['zero_weight_picks']}  TV "
                            f"{rec['distinct_rows_tv']}",
                            flush=True,
                        )
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        nargs="+",
        default=[f"current={Path(__file__).resolve().parents[1]}"],
        metavar="LABEL=DIR",
        help="versions to compare, the first is the reference",
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[20000])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.05])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--selectors",
        nargs="+",
        default=list(SELECTORS),
        choices=(*SELECTORS, "gradmatch-equal"),
    )
    parser.add_argument("--output", default="one_shot_cost")
    args = parser.parse_args(argv)
    sources = [tuple(s.split("=", 1)) for s in args.source]
    records = run(
        sources,
        rows=args.rows,
        fractions=args.fractions,
        repeats=args.repeats,
        selectors=args.selectors,
    )
    write_results(
        args.output,
        {
            "benchmark": "one_shot_cost",
            "description": __doc__.split("\n\n")[1],
            "command": " ".join(sys.argv),
            "machine": machine_info(),
            "sources": dict(sources),
            "records": records,
        },
    )


if __name__ == "__main__":
    main()
