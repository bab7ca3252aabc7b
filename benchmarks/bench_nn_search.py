"""The paper's search on neural networks: skorch nets tuned on adaptive subsets.

Tunes skorch nets on MNIST-1D (generated locally, never downloaded) with the
two views of ``_search_harness`` (paired candidates; end-to-end TPE searches):

* models: an MLP (``mlp``) and a small 1-D CNN (``cnn``), trained with SGD;
* space (after the paper's): learning rate, momentum, batch size, number of
  epochs, and the hidden width;
* strategies: full-data training and subsets at 5 and 10 % of each training
  fold -- random (re-drawn at every selection: adaptive random, the strong
  baseline), CRAIG, GLISTER and GRAD-MATCH -- all re-selected every
  ``select_every`` epochs from the trial's own last layer, after a warm start
  on all rows (``SubsetNeuralNetClassifier``); the anchors of the harness.

Results: ``benchmarks/results/nn_search_ranking[_quick].json`` and
``nn_search[_quick].json``; ``report_search.py --prefix nn_search`` prints
them.

Usage::

    python benchmarks/bench_nn_search.py --quick            # minutes on a CPU
    python benchmarks/bench_nn_search.py --device cuda      # the full size
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info
from _search_harness import run_views


def _modules():
    import torch

    class MLP(torch.nn.Module):
        def __init__(self, hidden=128, n_in=40, n_out=10):
            super().__init__()
            self.body = torch.nn.Sequential(
                torch.nn.Linear(n_in, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, hidden),
                torch.nn.ReLU(),
            )
            self.head = torch.nn.Linear(hidden, n_out)

        def forward(self, X):
            return self.head(self.body(X))

    class CNN(torch.nn.Module):
        def __init__(self, hidden=64, n_out=10):
            super().__init__()
            c = 32
            self.features = torch.nn.Sequential(
                torch.nn.Conv1d(1, c, 5, stride=2, padding=2),
                torch.nn.ReLU(),
                torch.nn.Conv1d(c, c, 3, stride=2, padding=1),
                torch.nn.ReLU(),
                torch.nn.Conv1d(c, c, 3, stride=2, padding=1),
                torch.nn.ReLU(),
                torch.nn.Flatten(),
                torch.nn.Linear(c * 5, hidden),
                torch.nn.ReLU(),
            )
            self.head = torch.nn.Linear(hidden, n_out)

        def forward(self, X):
            return self.head(self.features(X[:, None, :]))

    return {"mlp": MLP, "cnn": CNN}


def make_net(model, device):
    import torch
    from skorch import NeuralNetClassifier

    return NeuralNetClassifier(
        _modules()[model],
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        lr=0.05,
        optimizer__momentum=0.9,
        batch_size=64,
        max_epochs=20,
        train_split=None,
        iterator_train__shuffle=True,
        device=device,
        verbose=0,
    )


SPACE = {
    "lr": ("log", 1e-3, 0.3),
    "optimizer__momentum": ("float", 0.5, 0.99),
    "batch_size": ("cat", [32, 64, 128, 256]),
    "max_epochs": ("int", 10, 40),
    "module__hidden": ("int-log", 32, 256),
}

SIZES = {
    "quick": {
        "models": ["mlp"],
        "rows": 3000,
        "seeds": 1,
        "n_candidates": 6,
        "n_iter": 6,
        "sizes": (0.1,),
        "selectors": ("random", "gradmatch"),
        "cv": 2,
        "anchors": ("halving",),
    },
    "full": {
        "models": ["mlp", "cnn"],
        "rows": 50_000,
        "seeds": 3,
        "n_candidates": 30,
        "n_iter": 30,
        "sizes": (0.05, 0.1),
        "selectors": ("random", "craig", "glister", "gradmatch"),
        "cv": 3,
        "anchors": ("bayes", "halving", "optuna"),
    },
    # What fits a 2-core CPU in about an hour and a half: the 40k/10k
    # split, both nets, 3 seeds, 10 TPE trials scored on one 20 % hold-out
    # (as the papers tune) and 5-20 epochs per trial.
    "cpu": {
        "models": ["mlp", "cnn"],
        "rows": 50_000,
        "seeds": 3,
        "n_candidates": 12,
        "n_iter": 10,
        "sizes": (0.05, 0.1),
        "selectors": ("random", "craig", "glister", "gradmatch"),
        "cv": 0.2,
        "epochs": (5, 20),
        "anchors": (),
    },
}


def _cv(text):
    """``--cv 3`` (folds) or ``--cv 0.2`` (one hold-out of that share)."""
    return float(text) if "." in text else int(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--size", choices=sorted(SIZES), default=None, help="a preset (default full)"
    )
    parser.add_argument("--cv", type=_cv, help="folds (int) or hold-out share")
    parser.add_argument(
        "--epochs", type=int, nargs=2, metavar=("LOW", "HIGH"), help="max_epochs range"
    )
    parser.add_argument("--anchors", nargs="*", choices=["bayes", "halving", "optuna"])
    parser.add_argument("--models", nargs="+", choices=["mlp", "cnn"])
    parser.add_argument("--rows", type=int)
    parser.add_argument("--seeds", type=int)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="run seeds FIRST .. FIRST+SEEDS-1"
    )
    parser.add_argument("--n-candidates", type=int)
    parser.add_argument("--n-iter", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--views", nargs="+", default=["ranking", "e2e"], choices=["ranking", "e2e"]
    )
    parser.add_argument("--output", default=None, help="suffix of the results files")
    args = parser.parse_args(argv)

    import torch
    from sklearn.model_selection import train_test_split

    from subsetml.datasets import make_mnist1d

    size = args.size or ("quick" if args.quick else "full")
    cfg = dict(SIZES[size])
    for key in ("models", "rows", "seeds", "n_candidates", "n_iter", "cv", "epochs"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.anchors is not None:
        cfg["anchors"] = tuple(args.anchors)
    space = dict(SPACE)
    if cfg.get("epochs"):
        space["max_epochs"] = ("int", *cfg["epochs"])
    suffix = (
        args.output if args.output is not None else {"full": ""}.get(size, f"_{size}")
    )
    X, y = make_mnist1d(cfg["rows"], random_state=0, return_X_y=True)
    common = {
        "machine": {**machine_info(), "torch": torch.__version__},
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS",)},
        "config": {**cfg, "device": args.device, "argv": sys.argv[1:]},
    }

    def split(X, y, seed):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.2, stratify=y, random_state=seed
        )
        return X_tr, y_tr, X_te, y_te

    common_kwargs = {"selectors": cfg["selectors"], "cv": cfg["cv"]}
    run_views(
        (
            (f"mnist1d-{model}-net", X, y, make_net(model, args.device), space)
            for model in cfg["models"]
        ),
        family="nn_search",
        views=args.views,
        seeds=range(args.first_seed, args.first_seed + cfg["seeds"]),
        split=split,
        ranking_kwargs={
            **common_kwargs,
            "sizes": cfg["sizes"],
            "n_candidates": cfg["n_candidates"],
        },
        e2e_kwargs={
            **common_kwargs,
            "n_iter": cfg["n_iter"],
            "sizes": cfg["sizes"],
            "anchors": cfg["anchors"],
        },
        header={"description": __doc__, **common},
        suffix=suffix,
        before_view=torch.manual_seed,
        log=lambda text: print(text, flush=True),
    )
    print("done", flush=True)


if __name__ == "__main__":
    main()
