"""The result of a selection, and how a budget becomes a row count."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from subsetml._validation import external_stacklevel

__all__ = ["Subset", "cover_classes", "resolve_budget"]


_INT64_MAX = np.iinfo(np.int64).max


class Subset:
    """Rows chosen by a selector, with the weight each row carries.

    A ``Subset`` unpacks as a pair, so ``indices, weights = subset`` works.
    The constructor checks shapes and types only: that the indices are
    unique and within the data and the weights non-negative is what
    :meth:`BaseSelector.select <subsetml.selection.BaseSelector.select>`
    checks of every selector's result.

    Parameters
    ----------
    indices : array-like of int, shape (k,)
        Positions of the chosen rows in the data the selector saw. Unique.
    weights : array-like of float, shape (k,), default=None
        Non-negative weight of each chosen row, aligned with ``indices``.
        ``None`` means all ones.

    Attributes
    ----------
    indices : ndarray of int64, shape (k,)
    weights : ndarray of float64, shape (k,)

    Examples
    --------
    >>> from subsetml import Subset
    >>> subset = Subset([4, 0, 7], [2.0, 1.0, 1.0])
    >>> indices, weights = subset
    >>> indices.tolist(), weights.tolist()
    ([4, 0, 7], [2.0, 1.0, 1.0])
    >>> subset.size
    3
    """

    __slots__ = ("indices", "weights")

    def __init__(self, indices, weights=None):
        indices = np.asarray(indices)
        if indices.ndim != 1:
            raise ValueError(
                f"Subset indices must be one-dimensional, got shape {indices.shape}."
            )
        if indices.size and not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(
                f"Subset indices must be integers, got dtype {indices.dtype}."
            )
        if (
            indices.dtype == np.uint64
            and indices.size
            # uint64 against uint64: numpy before 2 compared a Python int
            # through float64, where 2**63 equals the maximum.
            and indices.max() > np.uint64(_INT64_MAX)
        ):
            # astype would wrap them to negative positions (a review).
            raise ValueError("Subset indices must fit in int64.")
        indices = indices.astype(np.int64, copy=False)
        if weights is None:
            weights = np.ones(indices.shape[0], dtype=np.float64)
        else:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != indices.shape:
                raise ValueError(
                    f"Subset weights have shape {weights.shape}, indices have "
                    f"shape {indices.shape}; they must match."
                )
        self.indices = indices
        self.weights = weights

    @property
    def size(self):
        """Number of chosen rows."""
        return self.indices.shape[0]

    def __iter__(self):
        yield self.indices
        yield self.weights

    def __eq__(self, other):
        if not isinstance(other, Subset):
            return NotImplemented
        return np.array_equal(self.indices, other.indices) and np.array_equal(
            self.weights, other.weights
        )

    __hash__ = None

    def __getstate__(self):
        return {"indices": self.indices, "weights": self.weights}

    def __setstate__(self, state):
        self.indices = state["indices"]
        self.weights = state["weights"]

    def __repr__(self):
        return (
            f"Subset(size={self.size}, weights sum={self.weights.sum():.6g}, "
            f"indices={np.array2string(self.indices, threshold=8)})"
        )


def resolve_budget(budget, n_rows, *, name="budget"):
    """Turn a budget into a number of rows.

    Parameters
    ----------
    budget : int or float
        A row count (int, ``1 <= budget <= n_rows``) or a fraction of the rows
        (float in ``(0, 1]``; rounded up, so any positive fraction keeps at
        least one row).
    n_rows : int
        Number of rows to choose from.
    name : str, default="budget"
        Name used in error messages.

    Returns
    -------
    k : int
        Number of rows to choose.

    Examples
    --------
    >>> from subsetml import resolve_budget
    >>> resolve_budget(0.05, 1000), resolve_budget(30, 1000)
    (50, 30)
    """
    n_rows = int(n_rows)
    if n_rows < 1:
        raise ValueError(f"Cannot select from {n_rows} rows.")
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real):
        raise TypeError(
            f"{name} must be an int (a row count) or a float in (0, 1] (a fraction "
            f"of the rows), got {budget!r} of type {type(budget).__name__}."
        )
    if isinstance(budget, numbers.Integral):
        k = int(budget)
        if k < 1:
            raise ValueError(f"{name} must be at least 1 row, got {k}.")
        if k > n_rows:
            raise ValueError(
                f"{name}={k} rows is more than the {n_rows} rows available."
            )
        return k
    fraction = float(budget)
    if isinstance(budget, np.floating) and np.finfo(budget.dtype).bits < 64:
        # A narrow float stands for the decimal it prints as: np.float32(0.1)
        # is 0.10000000149, which rounded 500 rows up to 51.
        fraction = float(str(budget))
    if not math.isfinite(fraction) or not 0.0 < fraction <= 1.0:
        raise ValueError(
            f"{name} given as a float is a fraction of the rows and must lie in "
            f"(0, 1], got {budget!r}. Pass an int for a row count."
        )
    # Round up, with a little slack so that 0.05 * 1000 is 50 and not 51. The
    # slack is a few units in the last place of the product: the float error
    # of 0.07 * 300_000_000 is 4e-9, past a fixed 1e-9 (one row more than
    # asked), and never a whole row.
    exact = fraction * n_rows
    k = math.ceil(exact - max(1e-9, 4 * math.ulp(exact)))
    return min(max(k, 1), n_rows)


def cover_classes(k, y, *, name="subset_size", warn=True, stacklevel=None):
    """Raise a budget to one row per class, with a warning, when it is short.

    A subset that misses a class trains a model that cannot predict it (and
    whose ``classes_`` and ``predict_proba`` columns differ from the data's),
    so a budget below the number of classes is raised to that number rather
    than refused: 5 % of a 30-row, 3-class training set is 2 rows, 3 after
    this.

    Parameters
    ----------
    k : int
        Resolved budget (:func:`resolve_budget`).
    y : array-like of shape (n_samples,)
        Class labels.
    name : str, default="subset_size"
        Parameter named in the warning.
    warn : bool, default=True
        Whether to warn when the budget is raised.
    stacklevel : int or None, default=None
        Passed to :func:`warnings.warn`; None names the first caller outside
        subsetml.

    Returns
    -------
    k : int
        ``max(k, n_classes)``.

    Examples
    --------
    >>> import warnings
    >>> from subsetml._subset import cover_classes
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     cover_classes(2, [0, 0, 1, 1, 2, 2])
    3
    """
    n_classes = np.unique(np.asarray(y)).shape[0]
    if k >= n_classes or not warn:
        return max(k, n_classes)
    warnings.warn(
        f"{name} keeps {k} row(s), fewer than the {n_classes} classes; raised "
        f"to {n_classes} so that the subset holds one row of every class.",
        UserWarning,
        stacklevel=stacklevel or external_stacklevel(),
    )
    return n_classes
