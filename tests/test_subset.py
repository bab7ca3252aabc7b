import pickle

import numpy as np
import pytest

from subsetml import Subset, resolve_budget


def test_subset_unpacks_as_pair():
    idx, w = Subset([3, 1], [0.5, 2.0])
    assert idx.dtype == np.int64 and idx.tolist() == [3, 1]
    assert w.tolist() == [0.5, 2.0]


def test_subset_default_weights_are_ones():
    s = Subset(np.array([0, 2, 5]))
    assert s.weights.tolist() == [1.0, 1.0, 1.0]
    assert s.size == 3


def test_subset_pickles_and_compares():
    s = Subset([1, 2], [1.0, 3.0])
    assert pickle.loads(pickle.dumps(s)) == s
    assert s != Subset([1, 2])


@pytest.mark.parametrize(
    "indices, weights, match",
    [
        ([[1, 2]], None, "one-dimensional"),
        ([0.5, 1.0], None, "integers"),
        ([1, 2], [1.0], "must match"),
        # A review: a uint64 index past int64 wrapped to a negative position.
        (np.array([2**63], dtype=np.uint64), None, "fit in int64"),
    ],
)
def test_subset_rejects_malformed(indices, weights, match):
    with pytest.raises(ValueError, match=match):
        Subset(indices, weights)


@pytest.mark.parametrize(
    "budget, n, expected",
    [
        (1, 10, 1),
        (10, 10, 10),
        (np.int32(4), 10, 4),
        (0.05, 1000, 50),
        (0.1, 25, 3),
        (1.0, 7, 7),
        (1e-6, 10, 1),
        # float32 fractions are a little above the decimal they stand for
        (np.float32(0.1), 500, 50),
        (np.float32(0.05), 100_000, 5000),
        (0.1000001, 500, 51),
        (np.float16(0.1), 500, 50),
        # whole rows at any size
        (1.0, 50_000_000, 50_000_000),
        (0.5, 20_000_000, 10_000_000),
        # the float product's error outgrows a fixed slack past 10**8 rows
        (0.07, 300_000_000, 21_000_000),
        (0.28, 70_000_000, 19_600_000),
        (0.1 + 0.2, 1_000_000_000, 300_000_000),
        # ... and a slack relative to the product once dropped whole rows
        (0.1, 10**15, 10**14),
        (0.1, 3 * 10**13, 3 * 10**12),
    ],
)
def test_resolve_budget(budget, n, expected):
    assert resolve_budget(budget, n) == expected


@pytest.mark.parametrize(
    "budget, err, match",
    [
        (0, ValueError, "at least 1"),
        (-3, ValueError, "at least 1"),
        (11, ValueError, "more than the 10 rows"),
        (0.0, ValueError, r"\(0, 1\]"),
        (1.5, ValueError, r"\(0, 1\]"),
        (float("nan"), ValueError, r"\(0, 1\]"),
        (True, TypeError, "int"),
        ("5%", TypeError, "int"),
        (None, TypeError, "int"),
    ],
)
def test_resolve_budget_rejects(budget, err, match):
    with pytest.raises(err, match=match):
        resolve_budget(budget, 10)


def test_resolve_budget_needs_rows():
    with pytest.raises(ValueError, match="0 rows"):
        resolve_budget(1, 0)
