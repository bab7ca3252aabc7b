"""Issue 14's 50,000-row MLP: our rungs and HalvingRandomSearchCV's rounds
judging the same 30 configurations, and each configuration's own test
accuracy.

Per seed (``bench_fidelity``'s split, data and net): our search
``--strategy`` (by default ``random halving rungs r0 rounds +rs``: Optuna's
random sampler, rungs of rows shaped as HalvingRandomSearchCV's rounds,
rounds of 10, no re-scoring) runs first; its 30 configurations are then
given to scikit-learn's ``HalvingGridSearchCV`` (factor 3, the same first
round's rows, the same CV splits), so the two differ only in how they judge
and promote, not in what they draw; finally every configuration is refit on
all training rows and scored on the test rows (``oracle``, torch seeded as
the refits are). Each record keeps the rungs our trials reached, the
Halving rounds' scores and both picks.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_same_candidates.py --seeds 4 3 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import write_run


def run_seed(seed, strategy, n_rows=50_000, n_iter=30):
    import bench_fidelity as bf
    import torch
    from _search_harness import halving_min_resources, make_splitter, quiet
    from sklearn.base import clone
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, train_test_split

    make, _ = bf.TASKS["mnist1d-mlp-net"]
    X, y, est, space = make(n_rows)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    splitter = make_splitter(2, seed)
    fold_rows = int(np.mean([len(tr) for tr, _ in splitter.split(X_tr, y_tr)]))
    torch.manual_seed(seed)
    ours = bf.make_search(strategy, est, space, n_iter, splitter, seed, fold_rows, y_tr)
    t0 = time.perf_counter()
    with quiet():
        ours.fit(X_tr, y_tr)
    record = {
        "seed": seed,
        "strategy": strategy,
        "ours_s": time.perf_counter() - t0,
        "ours_acc": float(ours.score(X_te, y_te)),
    }
    cr = ours.cv_results_
    params = [dict(p) for p in cr["params"]]
    record["ours"] = {
        "rung": [int(r) for r in cr["rung"]],
        "pruned": [bool(p) for p in cr["pruned"]],
        "score": [float(v) for v in cr["mean_test_score"]],
        "best_index": int(ours.best_index_),
    }
    record["params"] = [
        {k: (float(v) if isinstance(v, float) else int(v)) for k, v in p.items()}
        for p in params
    ]
    grid = [{k: [v] for k, v in p.items()} for p in params]
    torch.manual_seed(seed)
    halving = HalvingGridSearchCV(
        clone(est),
        grid,
        factor=3,
        min_resources=halving_min_resources(fold_rows, len(np.unique(y_tr))),
        cv=splitter,
    )
    t0 = time.perf_counter()
    with quiet():
        halving.fit(X_tr, y_tr)
    record["halving_s"] = time.perf_counter() - t0
    record["halving_acc"] = float(halving.score(X_te, y_te))
    hc = halving.cv_results_
    record["halving"] = {
        "iter": [int(i) for i in hc["iter"]],
        "params": [str(p) for p in hc["params"]],
        "score": [float(v) for v in hc["mean_test_score"]],
        "best_index": int(halving.best_index_),
        "best_params": str(halving.best_params_),
    }
    oracle = []
    for p in params:
        torch.manual_seed(seed)
        model = clone(est).set_params(**p)
        with quiet():
            model.fit(X_tr, y_tr)
        oracle.append(float(model.score(X_te, y_te)))
    record["oracle"] = oracle
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[4, 3, 0])
    parser.add_argument("--strategy", default="random halving rungs r0 rounds +rs")
    parser.add_argument("--output", default="fidelity_nets_same_candidates")
    args = parser.parse_args(argv)
    records = []
    for seed in args.seeds:
        records.append(run_seed(seed, args.strategy))
        print(
            {k: records[-1][k] for k in ("seed", "ours_acc", "halving_acc")},
            flush=True,
        )
    print(write_run("bench_same_candidates", __doc__, args, records))


if __name__ == "__main__":
    main()
