"""Uniform random subsets: the baseline every other method must beat."""

from __future__ import annotations

import numpy as np

from subsetml._subset import Subset
from subsetml.selection._base import (
    BaseSelector,
    allocate_budget,
    check_per_class,
    per_class_value,
)

__all__ = ["RandomSelector"]


class RandomSelector(BaseSelector):
    """Rows drawn uniformly without replacement, all with weight 1.

    Re-drawn often (every few epochs, or once per CV split in a search), random
    subsets are a strong baseline: the CORDS and DeepCore studies find them hard
    to beat at equal wall time. Every benchmark of this library reports them.

    Parameters
    ----------
    per_class : {"auto", True, False}, default="auto"
        Draw class-proportional budgets (stratified sampling), so every class
        keeps its share and no class is missed by chance. ``"auto"``
        stratifies classification views; ``False`` draws from all rows
        uniformly.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    See Also
    --------
    CraigSelector, GradMatchSelector, GlisterSelector

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml import LastLayer
    >>> from subsetml.selection import RandomSelector
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(2, size=100)
    >>> view = LastLayer(rng.rand(100, 3), np.full((100, 2), 0.5), y)
    >>> subset = RandomSelector(random_state=0).select(view, 0.1)
    >>> subset.size, float(subset.weights.sum())
    (10, 10.0)
    """

    _equal_weights = True

    def __init__(self, *, per_class="auto", random_state=None):
        self.per_class = per_class
        self.random_state = random_state

    def _validate_params_for(self, view):
        check_per_class(self.per_class, view)

    def _select(self, view, k, *, validation, rng):
        per_class = per_class_value(self.per_class)
        stratify = per_class is True or (
            per_class == "auto" and view.task == "classification"
        )
        if not stratify:
            return Subset(rng.choice(view.n_samples, size=k, replace=False))
        return Subset(stratified_choice(view.y, k, rng))


def stratified_choice(y, k, rng):
    """``k`` row positions drawn without replacement, each class of ``y``
    given its share of ``k`` (:func:`~subsetml.allocate_budget`): what
    ``RandomSelector(per_class=True)`` draws with ``rng``, without building a
    view (a net draws its selection pool this way at every selection)."""
    _, codes = np.unique(y, return_inverse=True)
    counts = np.bincount(codes)
    budgets = allocate_budget(counts, k)
    chosen = [
        rng.choice(rows, size=int(k_c), replace=False)
        for rows, k_c in zip(_rows_by_class(codes, counts), budgets)
    ]
    return np.concatenate(chosen)


#: Classes above which :func:`_rows_by_class` sorts rather than scans.
MANY_CLASSES = 64


def _rows_by_class(codes, counts):
    """Each class's row positions, in order. A scan of all rows per class
    for a few classes, one sort for many: the scan was 8 times faster than
    the sort at 40,000 rows of 2 classes, and 8 times slower at 200,000 rows
    of 2,000 classes (``benchmarks/results/random_class_rows.json``)."""
    if counts.shape[0] <= MANY_CLASSES:
        return [np.flatnonzero(codes == c) for c in range(counts.shape[0])]
    return np.split(np.argsort(codes, kind="stable"), np.cumsum(counts)[:-1])
