"""MNIST-1D generated locally with the optional ``mnist1d`` package."""

from __future__ import annotations

import math
import numbers
import random

import numpy as np
from sklearn.utils import Bunch, check_random_state

from subsetml.datasets._base import check_bool, check_n_samples, import_optional

__all__ = ["make_mnist1d"]

_N_CLASSES = 10
_MAX_SEED = 2**32 - 1  # numpy.random.seed accepts 0 .. 2**32 - 1

DESCR = """\
.. _mnist1d_dataset:

MNIST-1D (generated)
--------------------

**Data Set Characteristics:**

:Number of Instances: as requested (``n_samples``)
:Number of Attributes: 40 (one signal of length 40 per row)
:Classes: 10 (digits 0-9, about equally many of each)
:Missing Attribute Values: None

Each row is one of ten fixed one-dimensional templates, padded, scaled,
translated, sheared and overlaid with correlated and independent noise, then
resampled to 40 points; the whole set is centred and scaled to unit standard
deviation. Linear models reach only about a third of the rows right while a
small convolutional net gets more than 90 % (Greydanus & Kobak), so the data
separate models the way MNIST no longer does, at a fraction of its size.

The rows come from ``mnist1d.data.make_dataset`` with the package's default
arguments, except the number of samples and the seed; nothing is downloaded.

.. topic:: References

   - Greydanus, S. and Kobak, D. (2024). Scaling Down Deep Learning with
     MNIST-1D. Proceedings of the 41st International Conference on Machine
     Learning (ICML). https://github.com/greydanus/mnist1d (Apache-2.0).
"""


def _seed(random_state):
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(2**31 - 1))
    if (
        isinstance(random_state, bool)
        or not isinstance(random_state, numbers.Integral)
        or not 0 <= random_state <= _MAX_SEED
    ):
        raise ValueError(
            "random_state must be None, a numpy RandomState or an integer in "
            f"[0, 2**32 - 1], got {random_state!r}."
        )
    return int(random_state)


def make_mnist1d(n_samples=5000, *, random_state=None, return_X_y=False):
    """Generate the MNIST-1D classification data (10 classes, 40 features).

    The rows are generated on the spot by the optional ``mnist1d`` package
    (``pip install mnist1d``); its download helper is never called. All
    ``n_samples`` rows are returned: mnist1d's own train/test split is not
    applied, so split them as you like.

    Parameters
    ----------
    n_samples : int, default=5000
        Rows to generate. mnist1d makes the same number of every class; for a
        count that is not a multiple of 10, the next multiple is generated and
        the first ``n_samples`` rows of its shuffled order are kept.
    random_state : int, RandomState instance or None, default=None
        Seed of the generator. An integer is mnist1d's ``seed`` as is, so
        ``make_mnist1d(5000, random_state=42)`` holds the rows of mnist1d's
        default ``make_dataset()`` (its train and test parts, in that order).
        The same integer gives the same data. mnist1d draws from the global
        ``random`` and ``numpy.random`` generators; their states are restored
        afterwards, so calling this function with a seed or a RandomState
        does not disturb other code. ``None`` draws the seed from
        ``numpy.random``, which advances it, as scikit-learn's generators
        do.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, 40), float32
            The signals.
        target : ndarray of shape (n_samples,), int64
            The digit, 0 to 9.
        feature_names : list of str
            ``"t0"`` to ``"t39"``, the positions along the signal.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        DESCR : str
            Description and reference.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If mnist1d is not installed.
    ValueError
        If ``n_samples`` is not a positive integer or ``random_state`` is not
        a valid seed.

    References
    ----------
    Greydanus, S. and Kobak, D. (2024). Scaling Down Deep Learning with
    MNIST-1D. ICML 2024.

    Examples
    --------
    >>> from subsetml.datasets import make_mnist1d
    >>> X, y = make_mnist1d(200, random_state=0, return_X_y=True)
    >>> X.shape, X.dtype, y.dtype
    ((200, 40), dtype('float32'), dtype('int64'))
    >>> sorted(set(y.tolist()))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    n_samples = check_n_samples(n_samples)
    check_bool(return_X_y, "return_X_y")
    seed = _seed(random_state)
    data_mod = import_optional(
        "mnist1d.data", package="mnist1d", purpose="make_mnist1d"
    )
    args = data_mod.get_dataset_args()
    args.num_samples = _N_CLASSES * math.ceil(n_samples / _N_CLASSES)
    args.seed = seed
    # make_dataset cuts its rows at int(n * train_split) into "x" and
    # "x_test"; with 1.0 every row lands in "x".
    args.train_split = 1.0
    # make_dataset seeds and draws from the global generators (random and
    # numpy.random); put them back so that the caller's streams do not change.
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        made = data_mod.make_dataset(args)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    X = np.concatenate([made["x"], made["x_test"]])[:n_samples]
    y = np.concatenate([made["y"], made["y_test"]])[:n_samples]
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=[f"t{i}" for i in range(X.shape[1])],
        target_names=np.arange(_N_CLASSES),
        DESCR=DESCR,
    )
