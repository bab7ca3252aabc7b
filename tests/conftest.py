"""Fixtures shared by the test folders."""

import inspect
import os

# One BLAS / OpenMP thread per test process: the suite runs in two xdist
# workers (pyproject.toml), which would otherwise each start a thread per
# core and contend. Set before the tests import numpy or torch.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest


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
