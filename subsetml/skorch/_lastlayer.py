"""A :class:`~subsetml.LastLayer` read off a skorch net with forward hooks."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.base import is_classifier

from subsetml.lastlayer import LastLayer
from subsetml.skorch._kernels import TorchKernels  # noqa: F401 (registers them)
from subsetml.skorch._loading import collate_rows

__all__ = ["lastlayer_from_net"]


def class_positions(classes, y):
    """Each label's position in ``classes``, sorted or not (an absent label
    gets a position whose class differs from it)."""
    classes = np.asarray(classes)
    order = np.argsort(classes, kind="stable")
    found = np.searchsorted(classes, y, sorter=order)
    return order[np.clip(found, 0, len(classes) - 1)]


@contextmanager
def _uncompiled(net):
    """``net.module_`` as the module ``torch.compile`` wrapped, for the
    block: the compiled graph is built without forward hooks and ignores
    those added later, so a compiled net's last layer was never seen (a
    review). The same weights, run eagerly."""
    module = net.module_
    inner = getattr(module, "_orig_mod", None)
    if not isinstance(inner, torch.nn.Module):
        yield module
        return
    net.module_ = inner
    try:
        yield inner
    finally:
        net.module_ = module


def _final_linear_calls(module):
    """Hooks on every ``nn.Linear``; the last one called in a forward wins."""
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    state = {"last": None}

    def hook(layer, inputs, output):
        state["last"] = (layer, inputs[0], output)

    handles = [m.register_forward_hook(hook) for m in linears]
    return linears, state, handles


#: Bytes of input one raw forward chunk may hold (rows: at least the net's
#: batch size, at most _CHUNK_ROWS, or _CPU_CHUNK_ROWS on the CPU).
_CHUNK_BYTES = 64 * 2**20
_CHUNK_ROWS = 65536
#: On the CPU, chunks beyond a few thousand rows spill the activations out of
#: cache: a 1-D CNN's pass over 32k MNIST-1D rows took 2-4x longer in one
#: chunk than in chunks of 2-4k rows (an MLP's 2-3x).
_CPU_CHUNK_ROWS = 4096


def _plain_inputs(net, X):
    """``(array, rows)`` when a forward over ``array[rows]`` in large chunks
    means exactly what skorch's loop over ``X`` would (rows None: all);
    None otherwise.

    That holds for a numpy array or tensor given directly, or held by a
    plain :class:`skorch.dataset.Dataset` (optionally inside the
    :class:`torch.utils.data.Subset` that skorch's train split returns),
    when the net uses skorch's own Dataset class and no custom
    ``iterator_valid__collate_fn``. A custom dataset or collate function
    may transform the rows, so it keeps the ordinary loop.
    """
    from skorch.dataset import Dataset

    factory = net.dataset
    if getattr(factory, "func", factory) is not Dataset:
        return None
    if getattr(net, "iterator_valid__collate_fn", None) is not None:
        return None
    rows = None
    if isinstance(X, torch.utils.data.Subset):
        rows = np.asarray(X.indices)
        X = X.dataset
    if isinstance(X, torch.utils.data.Dataset):
        if type(X) is not Dataset:
            return None
        X = X.X
    if not isinstance(X, (np.ndarray, torch.Tensor)) or X.ndim < 1:
        return None
    return X, rows


def _raw_outputs(net, X, rows):
    """The net's outputs on ``X[rows]`` through ``net.evaluation_step``, in
    chunks of up to ``_CHUNK_BYTES`` of input rather than batches of
    ``batch_size`` (at most ``_CPU_CHUNK_ROWS`` rows on the CPU, where larger
    chunks spill the activations out of cache): one Python-level step (and
    one device transfer) per chunk."""
    n = X.shape[0] if rows is None else rows.shape[0]
    row_bytes = max(1, int(np.prod(X.shape[1:], dtype=np.int64)) * X.itemsize)
    batch = net.batch_size if net.batch_size and net.batch_size > 0 else n
    # device=None: skorch places nothing; the CPU's cap is the safe one.
    on_cpu = net.device is None or torch.device(net.device).type == "cpu"
    cap = _CPU_CHUNK_ROWS if on_cpu else _CHUNK_ROWS
    chunk = int(min(max(_CHUNK_BYTES // row_bytes, batch, 1), max(cap, batch)))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        xb = X[start:stop] if rows is None else X[rows[start:stop]]
        yield net.evaluation_step((xb, None), training=False)


def _check_ends_in_linear(module, out, z):
    """Raise unless the module's output ``out`` is its last Linear's ``z``
    (or an element-wise function of it)."""
    if z.shape[0] != out.shape[0] or z.numel() != out.numel():
        raise ValueError(
            f"The output of {type(module).__name__} (shape "
            f"{tuple(out.shape)}) does not match its last Linear layer's "
            f"(shape {tuple(z.shape)}); the module must end in a "
            "torch.nn.Linear layer, optionally followed by an "
            "element-wise output function such as softmax."
        )


def probe_output(net, X, *, rows=8, needs_linear=True):
    """The module's output on the first ``rows`` rows of ``X``, checked.

    A forward in evaluation mode, before training, so that a module that
    does not end in a Linear layer (``needs_linear``), or whose output does
    not fit the targets, fails with a clear message rather than after an
    epoch or deep inside torch. Returns the output as a tensor, or None when
    ``X`` cannot be sliced by rows (a custom dataset).
    """
    from skorch.dataset import get_len, unpack_data
    from skorch.utils import multi_indexing

    if isinstance(X, torch.utils.data.Dataset):
        return None  # its items are (X, y) pairs, possibly transformed
    try:
        n = get_len(X)
        head = multi_indexing(X, slice(0, min(rows, n)))
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    # Through the net's own dataset and loader, as predict goes: that is
    # where a DataFrame becomes a dict of columns, sparse rows dense, and a
    # custom dataset's transform runs.
    # Its items and collate function, not an iterator over the loader: a
    # DataLoader's iterator draws a seed from torch's generator, which would
    # change the shuffling of the training that follows.
    dataset = net.get_dataset(head)
    loader = net.get_iterator(dataset, training=False)
    items = collate_rows(loader, dataset, range(len(dataset)))
    head = unpack_data(items)[0]
    with _uncompiled(net) as module:
        linears, state, handles = _final_linear_calls(module)
        try:
            with torch.no_grad():
                out = net.evaluation_step((head, None), training=False)
        finally:
            for handle in handles:
                handle.remove()
    if isinstance(out, (tuple, list)):
        out = out[0]
    if needs_linear and linears:
        if state["last"] is None:
            raise ValueError(
                f"{type(module).__name__} called none of its Linear layers "
                "in forward; the module must end in a torch.nn.Linear layer."
            )
        _check_ends_in_linear(module, out, state["last"][2])
    return out


def lastlayer_from_net(net, X, y, *, task="auto"):
    """Penultimate features and outputs of a fitted skorch net, as a LastLayer.

    One pass over ``X`` without gradients, in evaluation mode, on the net's
    ``device``. Arrays and tensors (given directly or in skorch's own
    ``Dataset``) go through ``net.evaluation_step`` in chunks of up to 64 MiB
    of input; anything else is batched by the net's validation iterator. A forward hook
    captures the input (the penultimate features) and the output (the logits)
    of the last ``torch.nn.Linear`` layer the module calls; classification
    outputs become probabilities by softmax (sigmoid for a single output
    unit). The module needs no particular structure beyond ending in a Linear
    layer.

    Parameters
    ----------
    net : fitted skorch.NeuralNet
        Usually a ``NeuralNetClassifier`` or ``NeuralNetRegressor``.
    X : array-like, tensor or dataset
        Anything ``net.forward`` takes.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Labels as the net knows them (``net.classes_``) or regression targets.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"``: classification for classifier nets.

    Returns
    -------
    view : LastLayer

    Raises
    ------
    ValueError
        When the module calls no ``torch.nn.Linear`` layer, or when the last
        Linear layer's output does not line up with the net's output (the
        module does not end in that layer).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from subsetml.skorch import lastlayer_from_net
    >>> X = np.random.RandomState(0).randn(60, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    ... )
    >>> net = NeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=2,
    ...     train_split=None, verbose=0,
    ... ).fit(X, y)
    >>> view = lastlayer_from_net(net, X, y)
    >>> view.features.shape, view.outputs.shape
    ((60, 8), (60, 2))
    """
    net.check_is_fitted()
    if task == "auto":
        task = "classification" if is_classifier(net) else "regression"
    if task not in ("classification", "regression"):
        raise ValueError(
            f"task must be 'auto', 'classification' or 'regression', got {task!r}."
        )
    with _uncompiled(net) as module:
        return _read_last_layer(net, module, X, y, task)


def _read_last_layer(net, module, X, y, task):
    """:func:`lastlayer_from_net`'s pass, with ``module`` run eagerly."""
    linears, state, handles = _final_linear_calls(module)
    if not linears:
        raise ValueError(
            f"{type(module).__name__} has no torch.nn.Linear layer: subset "
            "selection reads the input and output of the module's final Linear "
            "layer (its last layer)."
        )
    features, logits = [], []
    try:
        plain = _plain_inputs(net, X)
        outputs = (
            net.forward_iter(X, training=False)
            if plain is None
            else _raw_outputs(net, *plain)
        )
        for out in outputs:
            last = state["last"]
            state["last"] = None
            if last is None:
                raise ValueError(
                    f"{type(module).__name__} called none of its Linear layers "
                    "in forward; the module must end in a torch.nn.Linear layer."
                )
            _, h, z = last
            if isinstance(out, (tuple, list)):
                out = out[0]
            _check_ends_in_linear(module, out, z)
            features.append(h.detach().reshape(h.shape[0], -1).float().cpu().numpy())
            logits.append(z.detach().reshape(z.shape[0], -1).float().cpu().numpy())
    finally:
        for handle in handles:
            handle.remove()
    h = np.concatenate(features)
    z = np.concatenate(logits, dtype=np.float64)
    y = np.asarray(y)
    if task == "regression":
        return LastLayer(
            h,
            z if z.shape[1] > 1 else z[:, 0],
            y,
            task="regression",
            device=str(net.device),
        )

    classes = getattr(net, "classes_", None)
    n_columns = z.shape[1]
    if (
        n_columns > 1
        and y.dtype.kind in "iu"
        and y.size
        and y.min() >= 0
        and y.max() < n_columns
        and (classes is None or len(classes) != n_columns)
    ):
        # skorch reads integer labels as output columns (its loss takes them
        # as indices, its predict is the argmax column): a training fold
        # without some class, or labels such as {1, 3, 5} under six
        # outputs, still line up with the columns.
        codes = y.astype(np.int64)
        classes = np.arange(n_columns)
    elif classes is not None:
        classes = np.asarray(classes)
        if np.array_equal(np.sort(classes), np.arange(len(classes))):
            # 0..K-1 in another order (classes=y.unique()): skorch's loss
            # and predict read the labels as output columns whatever the
            # order (positions in it were searched as if sorted, a review).
            codes = np.clip(y.astype(np.int64), 0, len(classes) - 1)
            classes = np.arange(len(classes))
        else:
            codes = class_positions(classes, y)
        if not np.array_equal(classes[codes], y):
            raise ValueError(
                f"y holds labels the net was not fitted on; it knows "
                f"{classes.tolist()}."
            )
    else:
        codes = y.astype(np.int64)
    # Probabilities in place: z is this function's own float64 copy.
    if z.shape[1] == 1:
        p = z[:, 0]
        np.negative(p, out=p)
        np.exp(p, out=p)
        p += 1.0
        np.reciprocal(p, out=p)
    else:
        p = z
        p -= p.max(axis=1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
    return LastLayer(h, p, codes, classes=classes, device=str(net.device))
