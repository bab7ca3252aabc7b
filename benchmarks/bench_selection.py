"""Speed, memory and quality of the selectors on synthetic last layers.

For every selector, number of rows n, vector width d and subset fraction f,
measure wall time, peak traced memory (numpy allocations, via tracemalloc) and
the quality each method optimises, next to uniform random subsets of the same
size:

* CRAIG: facility-location cost -- mean squared distance from each row to the
  nearest chosen row of its class (lower is better);
* GRAD-MATCH: relative error of the weighted subset gradient sum against the
  full sum, per class (random subsets are scaled by n_c / k_c);
* GLISTER: validation cross-entropy after one step of the selector's ``eta`` on
  the subset's mean bias gradient (lower is better).

Vector widths: d=10 is the "bias" gradient of a 10-class last layer; d=64 and
d=513 are "features" vectors of that width (the kernels see dense d-wide rows,
as they would for full gradients of a narrow layer).  GLISTER needs gradients,
so it runs in "bias" mode (d=10) and in "full" mode with 50 features
(d = 10 * 51 = 510) in place of 513.

Usage::

    python benchmarks/bench_selection.py --quick      # ~1 minute
    python benchmarks/bench_selection.py --targets    # the issue's three targets
    python benchmarks/bench_selection.py              # n up to 50k (~15 min)
    python benchmarks/bench_selection.py --large      # n up to 200k (hours)
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, write_results

from subsetml import LastLayer
from subsetml.selection import (
    CraigSelector,
    GlisterSelector,
    GradMatchSelector,
    RandomSelector,
)

N_CLASSES = 10


def make_view(n, width, seed, *, mode, sample_seed=None):
    """A clustered synthetic 10-class last layer, float32.

    ``seed`` fixes the distribution and the model (cluster centres, last-layer
    weights); ``sample_seed`` (default: ``seed``) the rows drawn from it, so a
    validation view comes from the same distribution and model.
    """
    rng = np.random.RandomState(seed)
    e = {"bias": 32, "features": width, "full": 50}[mode]
    # Each class is a mixture of 5 clusters of unequal size.
    centers = rng.randn(N_CLASSES, 5, e) * 1.5
    W = rng.randn(N_CLASSES, e) * (1.5 / np.sqrt(e))
    rng = np.random.RandomState(seed if sample_seed is None else sample_seed)
    y = np.arange(n) % N_CLASSES
    rng.shuffle(y)
    sub = rng.choice(5, size=n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    h = centers[y, sub] + rng.randn(n, e)
    z = h @ W.T
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return LastLayer(h.astype(np.float32), p.astype(np.float32), y)


def _per_class_parts(view, idx):
    for c in range(N_CLASSES):
        rows = np.flatnonzero(view.y == c)
        mask = view.y[idx] == c
        yield rows, idx[mask], mask


def facility_cost(view, mode, idx):
    """Mean over rows of the squared distance to the nearest chosen row (per class)."""
    total, n = 0.0, 0
    for rows, chosen, _ in _per_class_parts(view, idx):
        g = view.gradients(mode, rows).astype(np.float32)
        s = view.gradients(mode, chosen).astype(np.float32)
        s_sq = np.einsum("ij,ij->i", s, s)
        for start in range(0, g.shape[0], 4096):
            b = g[start : start + 4096]
            d2 = np.einsum("ij,ij->i", b, b)[:, None] + s_sq[None] - 2 * (b @ s.T)
            total += float(np.maximum(d2.min(axis=1), 0).sum())
        n += rows.shape[0]
    return total / n


def matching_error(view, mode, idx, w, *, random_scaling=False):
    """Relative error of the weighted per-class gradient sums."""
    num = den = 0.0
    for rows, chosen, mask in _per_class_parts(view, idx):
        full = view._operator(mode, rows).weighted_sum()
        if random_scaling:
            weights = np.full(chosen.shape[0], rows.shape[0] / max(chosen.shape[0], 1))
        else:
            weights = w[mask]
        sub = view._operator(mode, chosen).weighted_sum(weights)
        num += float(np.sum((sub - full) ** 2))
        den += float(np.sum(full**2))
    return float(np.sqrt(num / den))


def step_loss(view, val, idx, eta):
    """Validation cross-entropy after one bias step on the subset's mean gradient."""
    g = view.residuals(idx).mean(axis=0)
    logits = np.log(np.clip(val.outputs, 1e-12, None)) - eta * g
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(val.n_samples), val.y].mean())


def measure(selector, view, k, validation=None):
    """Wall time of one call, then peak traced memory of a second, traced call.

    Timing and tracing are separate runs: tracemalloc slows down code that
    makes many small allocations (OMP's growing support, greedy steps).
    """
    gc.collect()
    t0 = time.perf_counter()
    subset = selector.select(view, k, validation=validation)
    elapsed = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    again = selector.select(view, k, validation=validation)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert again == subset, "selection is not deterministic under a fixed seed"
    return subset, elapsed, peak


def run_config(n, d, fraction, seed, methods):
    records = []
    mode = "bias" if d == 10 else "features"
    view = make_view(n, d, seed, mode=mode)
    k = max(int(round(fraction * n)), N_CLASSES)
    rand, t_rand, m_rand = measure(
        RandomSelector(per_class=True, random_state=seed), view, k
    )
    ridx = np.sort(rand.indices)
    base = {"n": n, "d": d, "mode": mode, "fraction": fraction, "k": k, "seed": seed}

    def add(method, subset, t, mem, **quality):
        records.append(
            {**base, "method": method, "time_s": t, "peak_mb": mem / 2**20, **quality}
        )
        q = ", ".join(f"{a}={b:.4g}" for a, b in quality.items())
        print(
            f"  {method:<18} n={n:>6} d={d:>3} f={fraction:<5} "
            f"{t:8.3f} s {mem / 2**20:8.1f} MB  {q}",
            flush=True,
        )

    if "craig" in methods or "craig-stochastic" in methods:
        rand_cost = facility_cost(view, mode, ridx)
        for name, opt in (("craig", "lazy"), ("craig-stochastic", "stochastic")):
            if name not in methods:
                continue
            sel = CraigSelector(gradients=mode, optimizer=opt, random_state=seed)
            sub, t, mem = measure(sel, view, k)
            add(
                name,
                sub,
                t,
                mem,
                facility_cost=facility_cost(view, mode, sub.indices),
                random_facility_cost=rand_cost,
            )
    if "gradmatch" in methods:
        gm_mode = mode  # dense d-wide vectors
        sel = GradMatchSelector(gradients=gm_mode, random_state=seed)
        sub, t, mem = measure(sel, view, k)
        add(
            "gradmatch",
            sub,
            t,
            mem,
            matching_error=matching_error(view, gm_mode, sub.indices, sub.weights),
            random_matching_error=matching_error(
                view, gm_mode, ridx, None, random_scaling=True
            ),
        )
    if "glister" in methods and d in (10, 513):
        gl_mode = "bias" if d == 10 else "full"
        gview = view if gl_mode == "bias" else make_view(n, d, seed, mode="full")
        val = make_view(
            max(n // 10, 100), d, seed, mode=gl_mode, sample_seed=seed + 1000
        )
        sel = GlisterSelector(gradients=gl_mode, random_state=seed)
        sub, t, mem = measure(sel, gview, k, validation=val)
        eta = sel.eta
        r2 = np.sort(
            RandomSelector(per_class=True, random_state=seed).select(gview, k).indices
        )
        add(
            "glister" if gl_mode == "bias" else "glister-full",
            sub,
            t,
            mem,
            val_loss_after_step=step_loss(gview, val, sub.indices, eta),
            random_val_loss_after_step=step_loss(gview, val, r2, eta),
            val_loss_before=step_loss(gview, val, r2, 0.0),
        )
    add("random", rand, t_rand, m_rand)
    return records


GRIDS = {
    "quick": {"n": [10_000], "d": [10, 64], "fraction": [0.05]},
    "full": {
        "n": [10_000, 50_000],
        "d": [10, 64, 513],
        "fraction": [0.01, 0.05, 0.1],
    },
    "large": {
        "n": [10_000, 50_000, 200_000],
        "d": [10, 64, 513],
        "fraction": [0.01, 0.05, 0.1],
    },
}

TARGETS = [
    # (n, d, fraction, methods, what)
    (50_000, 64, 0.05, ["craig", "craig-stochastic"], "CRAIG <= 5 s"),
    (50_000, 513, 0.05, ["gradmatch"], "GRAD-MATCH <= 1.5 s"),
    (
        200_000,
        10,
        0.05,
        ["craig", "craig-stochastic", "gradmatch", "glister"],
        "200k rows: peak memory <= 4 GB",
    ),
    (
        200_000,
        513,
        0.05,
        ["craig-stochastic", "gradmatch", "glister"],
        "200k rows: peak memory <= 4 GB",
    ),
]

ALL = ["craig", "craig-stochastic", "gradmatch", "glister"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="small grid, ~1 min")
    group.add_argument("--targets", action="store_true", help="the issue's targets")
    group.add_argument("--large", action="store_true", help="grid up to 200k rows")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--output", default=None, help="results file stem")
    args = parser.parse_args(argv)

    records = []
    if args.targets:
        name = args.output or "selection_targets"
        for n, d, f, methods, what in TARGETS:
            print(f"target: {what}", flush=True)
            for seed in range(args.seeds):
                records += run_config(n, d, f, seed, methods)
    else:
        size = "quick" if args.quick else "large" if args.large else "full"
        grid = GRIDS[size]
        name = (
            args.output
            or {
                "quick": "selection_quick",
                "full": "selection",
                "large": "selection_large",
            }[size]
        )
        for n in grid["n"]:
            for d in grid["d"]:
                for f in grid["fraction"]:
                    for seed in range(args.seeds):
                        records += run_config(n, d, f, seed, ALL)
    path = write_results(
        name,
        {
            "benchmark": "selection",
            "description": __doc__,
            "machine": machine_info(),
            "records": records,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
