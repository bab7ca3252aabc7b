"""Fixtures shared by the test folders."""

import inspect
import os

# One BLAS / OpenMP thread per test process: the suite runs in two xdist
# workers (pyproject.toml), which would otherwise each start a thread per
# core and contend. Set before the tests import numpy or torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

# The test files whose tests run longest (seconds each, from
# ``pytest --durations``), collected first: xdist hands out tests in
# collection order, and with these at the end of the alphabet one worker
# ran them alone while the other had finished. Longest first, the two
# workers end together. Only the order changes; every test still runs.
LONG_FIRST = (
    "test_quality.py",
    "test_gpu_check.py",
    "test_notebooks.py",
    "test_cli.py",
    "skorch/test_user_paths.py",
    "test_bench_fidelity.py",
    "model_selection/test_timeouts.py",
    "model_selection/test_workers.py",
    "model_selection/test_user_paths.py",
)


def _rank(item):
    path = item.path.as_posix()
    for rank, name in enumerate(LONG_FIRST):
        if path.endswith("tests/" + name):
            return rank
    return len(LONG_FIRST)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_rank)  # stable: each file keeps its own order


@pytest.fixture
def binning_takes_weights(monkeypatch):
    """HistGradientBoosting's binning with a ``sample_weight`` argument, as
    in scikit-learn 1.9, on the older versions whose binning has none (it
    then ignores the weights): the tests of how a search treats boosting's
    costly weighted binning run the same on every supported version."""
    from sklearn.ensemble._hist_gradient_boosting import binning

    real = binning._BinMapper.fit
    if "sample_weight" not in inspect.signature(real).parameters:

        def fit(self, X, y=None, sample_weight=None):
            return real(self, X, y)

        monkeypatch.setattr(binning._BinMapper, "fit", fit)
