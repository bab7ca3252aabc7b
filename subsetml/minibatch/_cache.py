"""Per-row scores kept between epochs (AdaSelection's ``stale_epochs``)."""

from __future__ import annotations

import numpy as np

__all__ = ["ScoreCache"]


class ScoreCache:
    """Last loss, gradient-norm proxy and error of every training row.

    Parameters
    ----------
    n_rows : int
        Rows of the training set; row ids are positions in it.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import ScoreCache
    >>> cache = ScoreCache(4)
    >>> cache.store(np.array([0, 2]), 3, [1.0, 2.0], [0.1, 0.2], [0.0, 1.0])
    >>> cache.stale(np.array([0, 1, 2]), epoch=4, max_age=1)
    array([False,  True, False])
    >>> cache.scores(np.array([2, 0]))[0]
    array([2., 1.])
    """

    def __init__(self, n_rows):
        self.loss = np.zeros(n_rows)
        self.grad = np.zeros(n_rows)
        self.error = np.zeros(n_rows)
        # Epoch of the last scoring; far in the past means "never".
        self.epoch = np.full(n_rows, -(10**9), dtype=np.int64)

    def stale(self, row_ids, epoch, max_age):
        """Mask of the rows last scored more than ``max_age`` epochs ago."""
        return epoch - self.epoch[row_ids] > max_age

    def store(self, row_ids, epoch, losses, grads, errors):
        """Record the scores of ``row_ids`` measured at ``epoch``."""
        self.loss[row_ids] = losses
        self.grad[row_ids] = grads
        self.error[row_ids] = errors
        self.epoch[row_ids] = epoch

    def forget(self, row_ids):
        """Mark the scores of ``row_ids`` as out of date (never scored)."""
        self.epoch[row_ids] = -(10**9)

    def scores(self, row_ids):
        """Copies of the cached ``(losses, grads, errors)`` of ``row_ids``."""
        return (
            self.loss[row_ids].copy(),
            self.grad[row_ids].copy(),
            self.error[row_ids].copy(),
        )
