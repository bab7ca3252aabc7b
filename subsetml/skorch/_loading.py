"""Loading in-memory arrays a batch at a time.

skorch's :class:`~skorch.dataset.Dataset` is indexed row by row by torch's
``DataLoader``, which then collates the rows into a batch. For a small net on
numpy arrays that costs as much as the training step itself: on an MLP over
18,750 MNIST-1D rows, skorch's ``predict_proba`` took 2.5-5.9 times as long
as with :class:`ArrayLoader`, which indexes the arrays once per batch and
gives the same batches (``benchmarks/results/loading.json``).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["ArrayLoader", "collate_rows"]


def plain_arrays(dataset):
    """``(X, y, rows)`` of a plain skorch Dataset over a numeric numpy array
    or tensor ``X`` (and ``y``, or None), alone or under the
    ``torch.utils.data.Subset`` of skorch's train split (or Subsets of
    Subsets): ``rows`` are the Dataset's positions of ``dataset``'s rows
    (None: all, in order). None for any other dataset."""
    from skorch.dataset import Dataset

    rows = None
    while isinstance(dataset, torch.utils.data.Subset):
        outer = np.asarray(dataset.indices, dtype=np.intp)
        rows = outer if rows is None else outer[rows]
        dataset = dataset.dataset
    if type(dataset) is not Dataset:
        return None
    for data in (dataset.X,) if dataset.y is None else (dataset.X, dataset.y):
        if torch.is_tensor(data):
            if data.ndim < 1:
                return None
        elif not isinstance(data, np.ndarray) or data.ndim < 1:
            return None
        elif data.dtype.kind not in "biufc":
            return None
    return dataset.X, dataset.y, rows


def take_rows(data, index):
    """``data[index]`` (a numpy array or tensor; positions or a slice) in new,
    C-contiguous memory, as ``torch.stack`` of the single rows gives it: a
    module's ``.view`` needs it, and a module that changes its input in place
    must not change the caller's data. Positions copy once (the fancy index
    itself); a slice, a view, is copied."""
    if torch.is_tensor(data):
        if isinstance(index, slice):
            return data[index].clone(memory_format=torch.contiguous_format)
        return data[torch.as_tensor(index, device=data.device)].contiguous()
    if isinstance(index, slice):
        return np.array(data[index], order="C", copy=True)
    return np.ascontiguousarray(data[index])


class _ArrayRows(torch.utils.data.Dataset):
    """The arrays of a plain skorch Dataset (see :func:`plain_arrays`),
    fetched a whole batch per index: a list or array of positions, or a
    slice.

    A batch is what the default collation of the same rows, fetched one by
    one, gives: the same values, dtypes and shapes, in new memory (a slice
    is copied, so a module that changes its input in place cannot change
    the caller's data), and without ``y`` skorch's placeholder, a zero per
    row, shape ``(n, 1)``.
    """

    def __init__(self, X, y, rows):
        self.X, self.y, self.rows = X, y, rows
        self.n = len(X) if rows is None else len(rows)

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if not isinstance(index, slice):
            index = np.asarray(index, dtype=np.intp)
        if self.rows is not None:
            index = self.rows[index]
        X = take_rows(self.X, index)
        if self.y is None:
            return X, torch.zeros((len(X), 1))
        return X, take_rows(self.y, index)


class _SliceBatches(torch.utils.data.Sampler):
    """Consecutive batches of ``n`` rows as slices, in order."""

    def __init__(self, n, batch_size, drop_last):
        self.n, self.batch_size, self.drop_last = n, batch_size, drop_last

    def __len__(self):
        full, rest = divmod(self.n, self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield slice(start, min(start + self.batch_size, self.n))


class ArrayLoader(torch.utils.data.DataLoader):
    """torch's ``DataLoader`` that fetches whole batches of in-memory arrays.

    A drop-in for skorch's ``iterator_train`` and ``iterator_valid``
    (``NeuralNetClassifier(..., iterator_train=ArrayLoader,
    iterator_valid=ArrayLoader)``). Over a plain skorch
    :class:`~skorch.dataset.Dataset` of a numeric numpy array or tensor ``X``
    (and ``y``, or none), or the ``torch.utils.data.Subset`` of one that
    skorch's train split returns, it indexes the arrays once per batch
    instead of once per row and converts the result to tensors, skipping
    the collation of single rows. The batches are the same as
    ``DataLoader``'s: the same rows in the same order (a shuffle draws the
    same permutation from the same random state), values, dtypes and
    shapes, so a seeded fit ends at the same weights. Any other dataset
    (DataFrames, dicts, sparse rows, a dataset class of one's own), a
    ``sampler``, a ``collate_fn`` other than torch's default one, or
    ``batch_size=None`` leaves it an ordinary ``DataLoader``.

    Parameters
    ----------
    dataset : torch.utils.data.Dataset
    batch_size, shuffle, sampler, batch_sampler, collate_fn, drop_last, \
generator, **kwargs
        As ``torch.utils.data.DataLoader``'s. A ``batch_sampler`` is kept
        (its lists of positions become the batches). A numpy integer
        ``batch_size`` is taken as the Python int it holds, shuffled or not
        (torch's ``DataLoader`` rejects it).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from subsetml.skorch import ArrayLoader
    >>> X = np.random.default_rng(0).normal(size=(200, 5)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> net = NeuralNetClassifier(
    ...     torch.nn.Sequential(torch.nn.Linear(5, 2)),
    ...     criterion=torch.nn.CrossEntropyLoss,
    ...     max_epochs=2, train_split=None, verbose=0,
    ...     iterator_train=ArrayLoader, iterator_train__shuffle=True,
    ...     iterator_valid=ArrayLoader,
    ... ).fit(X, y)
    >>> net.predict(X).shape
    (200,)
    """

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        collate_fn=None,
        drop_last=False,
        generator=None,
        **kwargs,
    ):
        if isinstance(batch_size, numbers.Integral) and not isinstance(
            batch_size, bool
        ):
            # A numpy integer (a search space's draw, len() of an array's
            # shape) is a batch size on every path; torch's samplers take
            # Python ints only.
            batch_size = int(batch_size)
        batched = (
            sampler is None
            and collate_fn in (None, torch.utils.data.default_collate)
            and (batch_sampler is not None or batch_size is not None)
        )
        # Looked up once: over a train split it composes the Subsets' rows.
        arrays = plain_arrays(dataset) if batched else None
        if arrays is None:
            super().__init__(
                dataset,
                batch_size=batch_size,
                shuffle=shuffle,
                sampler=sampler,
                batch_sampler=batch_sampler,
                collate_fn=collate_fn,
                drop_last=drop_last,
                generator=generator,
                **kwargs,
            )
            return
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or drop_last:
                # DataLoader's own error for these combinations.
                raise ValueError(
                    "batch_sampler option is mutually exclusive with "
                    "batch_size, shuffle, sampler, and drop_last"
                )
            batches = batch_sampler
        elif shuffle:
            # As DataLoader(shuffle=True) builds its sampler: the same draws.
            batches = torch.utils.data.BatchSampler(
                torch.utils.data.RandomSampler(dataset, generator=generator),
                batch_size,
                drop_last,
            )
        else:
            # torch's BatchSampler checks, with its messages.
            if (
                not isinstance(batch_size, int)
                or isinstance(batch_size, bool)
                or batch_size <= 0
            ):
                raise ValueError(
                    "batch_size should be a positive integer value, but got "
                    f"batch_size={batch_size}"
                )
            if not isinstance(drop_last, bool):
                raise ValueError(
                    "drop_last should be a boolean value, but got "
                    f"drop_last={drop_last}"
                )
            batches = _SliceBatches(len(dataset), int(batch_size), drop_last)
        super().__init__(
            _ArrayRows(*arrays),
            batch_size=None,
            sampler=batches,
            collate_fn=torch.utils.data.default_convert,
            generator=generator,
            **kwargs,
        )


def valid_iterator(net, dataset):
    """``net``'s loader of ``dataset`` for validation and prediction (skorch's
    ``get_iterator(dataset, training=False)``) as :class:`ArrayLoader` where
    the net leaves ``iterator_valid`` at torch's own ``DataLoader``: the same
    batches, fetched one index a batch. None for any other ``iterator_valid``
    (skorch's ``get_iterator`` then builds it)."""
    if net.iterator_valid is not torch.utils.data.DataLoader:
        return None
    kwargs = net.get_params_for("iterator_valid")
    # skorch's rule for the batch size of its loaders.
    kwargs.setdefault("batch_size", net.batch_size)
    if kwargs["batch_size"] == -1:
        kwargs["batch_size"] = len(dataset)
    return ArrayLoader(dataset, **kwargs)


def collate_rows(loader, dataset, positions):
    """The batch of ``dataset``'s rows at ``positions`` as ``loader`` (an
    iterator made for ``dataset``) would give it, without iterating the
    loader (which would draw from torch's random state)."""
    if loader.batch_size is None and isinstance(loader.dataset, _ArrayRows):
        return loader.collate_fn(loader.dataset[list(positions)])
    collate = getattr(loader, "collate_fn", None) or torch.utils.data.default_collate
    return collate([dataset[int(i)] for i in positions])
