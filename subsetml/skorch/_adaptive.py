"""Adaptive subset training for skorch nets: re-select every R epochs.

The schedule follows the subset-selection papers (GRAD-MATCH, the subset-based
tuning of Visalpara et al.): with a budget of T epochs and a subset fraction
f, the net first trains ``w = round(warm_up * T * f)`` epochs on all rows (warm
start), then ``max(round((1 - warm_up) * T), round(T - w / f))`` epochs on
subsets, so the total work stays about T * f full epochs (the second term
gives the subset epochs the work a warm-up rounded down did not do). The
subset is re-selected every ``select_every`` subset epochs, counted from the
end of the warm-up (not from the absolute epoch, which would leave a stale
subset for up to R - 1 epochs after warm-up), from the net's own last layer;
each selected row's loss is multiplied by its selection weight, normalised
per batch.
"""

from __future__ import annotations

import math
import numbers
import time
from collections import deque

import numpy as np
import torch
from sklearn.base import clone, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier, NeuralNetRegressor
from skorch.utils import to_numpy

from subsetml._subset import Subset, cover_classes, resolve_budget
from subsetml._validation import check_number
from subsetml.selection import RandomSelector, make_selector
from subsetml.selection._random import stratified_choice
from subsetml.selection._views import label_view
from subsetml.skorch._lastlayer import class_positions, lastlayer_from_net
from subsetml.skorch._loading import ArrayLoader, valid_iterator
from subsetml.skorch._params import set_params_nested

__all__ = [
    "SubsetNeuralNetClassifier",
    "SubsetNeuralNetRegressor",
    "SubsetTrainingMixin",
]


class _SubsetBatchSampler(torch.utils.data.Sampler):
    """Batches of the net's current subset, reshuffled at every epoch.

    Each batch's row positions are queued on the net, which takes them in
    ``train_step``: the DataLoader delivers batches in the order this sampler
    yields them, with or without worker processes.
    """

    def __init__(self, net, batch_size, shuffle, drop_last):
        self.net = net
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self):
        return len(self._starts(len(self.net._subset_rows_)))

    def _starts(self, n):
        """Where the batches of ``n`` rows start (those drop_last keeps)."""
        starts = list(range(0, n, self.batch_size))
        if self.drop_last:
            return starts[: n // self.batch_size]
        if (
            len(starts) > 1
            and n - starts[-1] == 1
            and _has_batch_norm(self.net.module_)
        ):
            # A last batch of one row, which batch norm cannot normalise in
            # training mode (plain skorch's full epochs had dodged it; a
            # 129-row subset in batches of 128 failed, a review): it joins
            # the batch before it.
            starts.pop()
        return starts

    def __iter__(self):
        rows = np.asarray(self.net._subset_rows_)
        if self.shuffle:
            rows = self.net._subset_rng_.permutation(rows)
        self.net._pending_rows_.clear()
        starts = self._starts(len(rows))
        # The last batch runs to the end of the rows (a merged one-row
        # remainder included), or with drop_last to its full size.
        end = starts[-1] + self.batch_size if self.drop_last and starts else len(rows)
        for i, start in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else end
            batch = rows[start:stop]
            self.net._pending_rows_.append(batch)
            yield batch.tolist()


def _has_batch_norm(module):
    """Whether a torch module holds a batch-norm layer."""
    return isinstance(module, torch.nn.Module) and any(
        isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules()
    )


def _check_finite(data, name):
    """Refuse NaN/inf in array, tensor or DataFrame inputs: they would poison
    the selection's gradients and the training loss without an error."""
    data = _as_array(data)
    if isinstance(data, np.ndarray) and data.dtype.kind in "fc":
        if not np.isfinite(data).all():
            raise ValueError(
                f"{name} contains NaN or infinity; training on subsets (of the "
                "data or of each batch) needs finite inputs and targets."
            )


def _as_array(data):
    """numpy view of an array, tensor or pandas object; None for anything
    else (dicts, datasets), which the module alone understands."""
    if torch.is_tensor(data):
        return data.detach().cpu().numpy()
    if hasattr(data, "to_numpy") and hasattr(data, "dtypes"):
        numeric = data.select_dtypes("number") if hasattr(data, "columns") else data
        return numeric.to_numpy()
    return data if isinstance(data, np.ndarray) else None


def loss_mass(criterion, y_true, like):
    """Each row's weight in the criterion's ``"mean"``, shape (n,).

    torch's ``NLLLoss`` and ``CrossEntropyLoss`` with class indices divide a
    mean by the summed class weights of the elements (``weight[y]``, 0 where
    the label is ``ignore_index``), not by their number; every other
    criterion, and class probabilities as targets, by the number of
    elements. This is a row's mean over its elements of that weight (1 for
    plain criteria), so that ``sum(w * l) / sum(w * mass)``, with ``l`` each
    row's mean loss over its elements, is the criterion's own mean when
    every ``w`` is 1.

    Parameters
    ----------
    criterion : torch.nn.Module
    y_true : tensor or array-like
        The targets the criterion was given, rows first.
    like : tensor of shape (n,)
        Rows' losses: the result's length, dtype and device.
    """
    n = like.shape[0]
    ones = torch.ones(n, dtype=like.dtype, device=like.device)
    if not isinstance(criterion, (torch.nn.NLLLoss, torch.nn.CrossEntropyLoss)):
        return ones
    y = torch.as_tensor(y_true, device=like.device)
    if y.is_floating_point() or y.is_complex() or y.numel() == 0 or y.numel() % n:
        return ones  # class probabilities (or not a row per loss): no weights
    y = y.reshape(n, -1).long()
    valid = y != getattr(criterion, "ignore_index", -100)
    weight = getattr(criterion, "weight", None)
    if weight is None:
        mass = valid.to(like.dtype)
    else:
        w = weight.to(device=like.device, dtype=like.dtype)
        mass = w[torch.where(valid, y, torch.zeros_like(y))] * valid
    return mass.mean(dim=1)


def check_net_inputs(net, X, y, *, partial=False):
    """Refuse, before training, inputs a net would train on silently or fail
    on deep inside torch (issue 16): no rows or columns, complex values,
    NaN/inf, class labels that are not integers, a single class, and
    non-numeric regression targets. ``partial``: a ``partial_fit`` batch,
    which may hold a single class (as may the data of a net told its
    ``classes``).

    Returns ``y``, with integer class labels of another width (int32, bool,
    ...) as int64: torch's classification losses take nothing else, and
    their error ("expected scalar type Long") does not say so.
    """
    if isinstance(net, NeuralNetBinaryClassifier):
        # Its float 0/1 targets and single logit meet class-label checks,
        # per-class selection and integer targets everywhere here.
        raise TypeError(
            f"{type(net).__name__} builds on skorch's NeuralNetBinaryClassifier, "
            "which subsetml's nets do not support. For a binary task use "
            "NeuralNetClassifier's form: a module with 2 outputs, "
            "CrossEntropyLoss and integer labels 0/1."
        )
    _check_finite(X, "X")
    _check_finite(y, "y")
    classifier = is_classifier(net)
    partial = partial or getattr(net, "classes", None) is not None
    Xa = _as_array(X)
    if Xa is not None:
        if Xa.ndim == 0 or Xa.shape[0] == 0:
            raise ValueError("Cannot select from 0 rows: X has no rows to train on.")
        if Xa.ndim >= 2 and Xa.shape[1] == 0 and not hasattr(X, "columns"):
            raise ValueError("X has 0 feature columns: there is nothing to learn from.")
        if Xa.dtype.kind == "c":
            raise ValueError(
                "Complex data not supported: X is complex; torch modules take "
                "real tensors (split real and imaginary parts into columns)."
            )
    if y is None:
        return y  # skorch's own "No y-values are given" comes next
    ya = _as_array(y)
    if ya is None:
        ya = np.asarray(y)
    if classifier:
        if ya.ndim != 1:
            return y  # soft labels (probabilities) and the like: the loss's call
        if ya.dtype == object and all(
            isinstance(v, (int, np.integer)) for v in ya.tolist()
        ):
            # Integer labels in an object array or Series (after pd.concat,
            # say): plain skorch trains on them; scikit-learn called them
            # "unknown" (a review).
            ya = ya.astype(np.int64)
            y = y.astype(np.int64) if hasattr(y, "astype") else ya
        check_classification_targets(ya)
        if ya.dtype.kind not in "iub":
            raise ValueError(
                f"y holds {ya.dtype} class labels; a classifier net needs integer "
                "labels 0..K-1 (y.astype('int64'), or LabelEncoder for strings)."
            )
        if not partial and np.unique(ya).size < 2:
            raise ValueError(
                f"y holds one class ({ya.ravel()[:1].tolist()[0]!r}); a "
                "classifier needs at least two."
            )
        if ya.dtype != np.int64 and isinstance(y, np.ndarray):
            return y.astype(np.int64)
        if ya.dtype != np.int64 and torch.is_tensor(y):
            return y.long()
        if ya.dtype != np.int64 and hasattr(y, "to_numpy") and hasattr(y, "astype"):
            # A pandas Series of int8 codes (cat.codes): torch's losses take
            # int64 labels only (a review).
            return y.astype(np.int64)
        return y
    if ya.dtype.kind not in "iufb":
        try:
            ya.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"y must be numeric for a regressor net; it holds {ya.dtype} "
                f"values such as {ya.ravel()[0]!r}."
            ) from None
        raise ValueError(
            f"y must be numeric for a regressor net; it holds {ya.dtype} values "
            "(convert them with y.astype('float32'))."
        )
    return y


def check_net_output(net, X, y, *, needs_linear):
    """A forward on a few rows before training: the module must end in its
    last Linear layer (``needs_linear``), and a classifier's output needs a
    column per class of ``y``."""
    from subsetml.skorch._lastlayer import probe_output

    out = probe_output(net, X, needs_linear=needs_linear)
    if out is None or y is None:
        return
    if not is_classifier(net):
        ya = _as_array(y)
        # torch's own losses broadcast the two shapes; a criterion of the
        # user's may squeeze the output first (a review).
        builtin = type(net.criterion_).__module__.startswith("torch.nn")
        if (
            builtin
            and ya is not None
            and ya.ndim == 1
            and out.ndim == 2
            and out.shape[1] == 1
        ):
            # skorch's losses would broadcast (batch, 1) outputs against
            # (batch,) targets, every prediction against every target, and the
            # net learnt a constant (R^2 0.02, a review); plain skorch only
            # has torch's warning.
            raise ValueError(
                f"y has shape {ya.shape} but {type(net.module_).__name__} "
                f"outputs shape (batch, 1): the loss would compare every "
                "prediction with every target. Pass y.reshape(-1, 1), as "
                "skorch's NeuralNetRegressor expects, or squeeze the module's "
                "output."
            )
        return
    ya = _as_array(y)
    if ya is None or ya.ndim != 1 or ya.dtype.kind not in "iu" or not ya.size:
        return
    n_classes = int(ya.max()) + 1
    if out.ndim == 2 and 1 < out.shape[1] < n_classes:
        raise ValueError(
            f"y has labels up to {n_classes - 1} ({n_classes} classes), but "
            f"{type(net.module_).__name__} outputs {out.shape[1]} columns per "
            "row: the module needs one output per class."
        )


def _take_dataset_rows(dataset, rows):
    """``dataset`` restricted to ``rows``, one ``torch.utils.data.Subset`` deep.

    skorch's train split is already a ``Subset``; composing the indices keeps
    the fast last-layer pass over plain arrays (see ``_plain_inputs``).
    """
    if isinstance(dataset, torch.utils.data.Subset):
        return torch.utils.data.Subset(
            dataset.dataset, np.asarray(dataset.indices)[rows]
        )
    return torch.utils.data.Subset(dataset, rows)


_NO_REDUCTION = (
    "{} has no 'reduction' attribute: subset training needs per-sample losses "
    "to apply the selection weights."
)


def _targets_of(dataset):
    """The targets of a skorch dataset (or a Subset of one), as numpy."""
    if isinstance(dataset, torch.utils.data.Subset):
        inner = _targets_of(dataset.dataset)
        return None if inner is None else inner[np.asarray(dataset.indices)]
    y = getattr(dataset, "y", None)
    if y is None and isinstance(dataset, torch.utils.data.TensorDataset):
        # skorch trains on its (X, y) pairs: the second tensor (a review).
        tensors = dataset.tensors
        y = tensors[1] if len(tensors) == 2 else None
    return None if y is None else to_numpy(y) if torch.is_tensor(y) else np.asarray(y)


class SubsetTrainingMixin:
    """Train a skorch net on adaptively re-selected, weighted data subsets.

    Put it before ``NeuralNetClassifier`` or ``NeuralNetRegressor`` (or use
    :class:`SubsetNeuralNetClassifier` / :class:`SubsetNeuralNetRegressor`;
    ``NeuralNetBinaryClassifier`` is not supported: use a 2-output module).
    ``max_epochs`` is the budget T of a full-data run (``partial_fit``'s
    ``epochs``, when given, stands in for it): the net trains
    ``w = round(warm_up * T * f)`` epochs on all training rows, then
    ``max(round((1 - warm_up) * T), round(T - w / f))`` epochs on subsets of a
    fraction f of them, re-selected every ``select_every`` subset epochs from
    the net's last layer, so the whole fit costs about T * f full epochs plus
    the selections. At small fractions the warm-up rounds down, to no epoch
    at all once ``warm_up * T * f < 0.5`` (T = 27 at f = 2.5 %); the subset
    epochs then make up the work (27 of them there, not 14).

    Parameters
    ----------
    module, *args, **kwargs
        As for the skorch net.
    selector : {"random", "craig", "glister", "gradmatch"} or selector, \
            default="gradmatch"
        How subsets are chosen (see :mod:`subsetml.selection`). ``"random"``
        re-draws a class-stratified random subset at every selection:
        "adaptive random", the baseline to beat.
    subset_size : float or int, default=0.1
        Rows per subset epoch: a fraction in (0, 1] of the training rows (after
        ``train_split``) or a row count. For a classifier, at least one row
        per class of the training rows (a shorter budget is raised, with a
        warning). A ``partial_fit`` chunk of one class (allowed with
        ``classes``) is subset by a uniform random draw: selectors compare
        rows of two classes or more.
    select_every : int, default=5
        Re-select every R subset epochs, counted from the end of the warm-up.
    warm_up : float, default=0.5
        Share kappa of the budget spent on all rows first. ``0``: no warm-up;
        the first subset is random (an untrained net has no useful gradients).
    selection_unit : {"batch", "row"}, default="batch"
        What a gradient selector chooses. ``"batch"``: shuffled mini-batches,
        each represented by its mean gradient (CORDS' per-batch variants,
        ``CRAIGPB`` and ``GradMatchPB``), of the net's training batch size
        capped at ``k // 16`` rows so a subset holds at least 16 of them; the
        selector's own ``batch_size`` wins when it is set. ``"row"``: single
        rows. Random selection is per row either way.

        Per-class budgets (the classification default) split the units
        between the classes: a class with a budget of ``k_c`` rows gets
        ``ceil(k_c / b)`` of them, the last one cut, so with many classes
        and small budgets the choice within a class is coarse (a selector
        with a smaller ``batch_size``, or ``"row"``, is finer). Per batch, a
        selection costs little more than the last-layer pass (0.9-1.2 subset
        epochs on 32k MNIST-1D rows at 5 %, with the default pool); per row
        it cost 3-12 subset epochs there, and per-row CRAIG and GLISTER
        trained worse nets than random subsets
        (``benchmarks/results/selection_cost.json``).
    selection_pool : "auto", float in (0, 1] or None, default="auto"
        Let a gradient selector choose from a fresh random share of the
        training rows (class-stratified for classifiers; at least ``2 k``
        rows) instead of all of them, so the last-layer pass and the
        selection cover only that pool. ``"auto"``: a pool of ``10 k`` rows,
        so every row once the subset is a tenth of them or more. ``None``
        (or 1.0): every row. Random selection ignores it. On 32k MNIST-1D
        rows at 5 % (``benchmarks/results/selection_cost.json``), the
        default pool (half the rows) cut a per-batch selection on the CNN
        from 1.3 subset epochs to 0.9-1.1, at the same accuracy within the
        seeds' spread (on the MLP too); a quarter of the rows cost the MLP
        up to a point (``selection_cost_pool.json``).
    random_state : int, RandomState instance or None, default=None
        Seeds the selector, the first random subset, the pools and the subset
        shuffling.

    Attributes
    ----------
    subset_ : Subset
        The latest subset (positions among the training rows).
    n_selections_ : int
        Selections made in the last fit.
    selection_time_ : float
        Seconds spent selecting in the last fit.

    Notes
    -----
    Per epoch, ``history`` records ``subset_phase`` (``"warm"`` or
    ``"subset"``), ``subset_rows`` (rows trained on), ``subset_selected``
    (whether the epoch chose a new subset) and ``subset_selection_time``
    (seconds spent selecting, 0 when it did not). A GLISTER selector uses
    the net's validation split as its validation set when there is one.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from subsetml.skorch import SubsetNeuralNetClassifier
    >>> X = np.random.RandomState(0).randn(400, 10).astype(np.float32)
    >>> y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
    ... )
    >>> net = SubsetNeuralNetClassifier(
    ...     module, criterion=torch.nn.CrossEntropyLoss, max_epochs=20,
    ...     selector="craig", subset_size=0.1, select_every=2, warm_up=0.5,
    ...     train_split=None, random_state=0, verbose=0,
    ... ).fit(X, y)
    >>> net.history[:, "subset_phase"].count("warm"), len(net.history)
    (1, 11)
    >>> net.history[:, "subset_rows"][:3]
    [400, 40, 40]
    """

    def __init__(
        self,
        module,
        *args,
        selector="gradmatch",
        subset_size=0.1,
        select_every=5,
        warm_up=0.5,
        selection_unit="batch",
        selection_pool="auto",
        random_state=None,
        **kwargs,
    ):
        self.selector = selector
        self.subset_size = subset_size
        self.select_every = select_every
        self.warm_up = warm_up
        self.selection_unit = selection_unit
        self.selection_pool = selection_pool
        self.random_state = random_state
        super().__init__(module, *args, **kwargs)

    # ------------------------------------------------------------ parameters
    def set_params(self, **params):
        """Set parameters as skorch's ``set_params``; ``selector__<key>`` sets
        ``<key>`` on a selector object (``get_params(deep=True)`` lists them,
        so a search can tune ``selector__lam``)."""
        return set_params_nested(self, super().set_params, params, ("selector",))

    def _subset_validate_params(self):
        """Check the parameters; the selector and the stream it draws from."""
        self._subset_check_params()
        # A fresh generator for None, never numpy's global one.
        rng = (
            np.random.RandomState()
            if self.random_state is None
            else check_random_state(self.random_state)
        )
        seed = rng.randint(np.iinfo(np.int32).max)
        return make_selector(self.selector, random_state=seed), rng

    def _subset_check_params(self):
        check_number(
            self.select_every,
            "select_every",
            integer=True,
            low=1,
            description="an integer >= 1",
        )
        check_number(self.warm_up, "warm_up", low=0, high=1, include_high=False)
        if self.selection_unit not in ("batch", "row"):
            raise ValueError(
                f"selection_unit must be 'batch' or 'row', got {self.selection_unit!r}."
            )
        if self.selection_pool is not None and not (
            isinstance(self.selection_pool, str) and self.selection_pool == "auto"
        ):
            check_number(
                self.selection_pool,
                "selection_pool",
                low=0,
                high=1,
                include_low=False,
                description="'auto', None or a fraction in (0, 1]",
            )
        size = self.subset_size
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise ValueError(
                f"subset_size must be a fraction in (0, 1] or a row count, got "
                f"{size!r}."
            )

    def _schedule(self, n_rows, y=None):
        """``(warm epochs, subset epochs, rows per subset)`` for ``n_rows`` rows
        (of class labels ``y`` for a classifier: a budget short of one row per
        class is raised to it, with a warning).

        The warm-up is whole epochs on all rows, so at small fractions it
        rounds down (to none once ``warm_up * T * f < 0.5``); the work it
        loses goes to the subset epochs, so a fit never does much less than
        ``T * f`` full epochs of work. Without that, a 2.5 % trial of a
        27-epoch net trained 14 subset epochs, half the work of a plain fit
        on a fixed 2.5 % subset.
        """
        k = resolve_budget(self.subset_size, n_rows, name="subset_size")
        if y is not None and y.ndim == 1 and isinstance(self, NeuralNetClassifier):
            k = cover_classes(k, y)
        f = k / n_rows
        # partial_fit(..., epochs=E) and fit_loop(..., epochs=E) train E.
        T = getattr(self, "_subset_epochs_", None)
        T = self.max_epochs if T is None else T
        warm = int(round(self.warm_up * T * f))
        if f < 1:
            sub = max(int(round((1 - self.warm_up) * T)), int(round(T - warm / f)))
        else:
            sub = T - warm
        return warm, max(sub, 1), k

    # -------------------------------------------------------------- training
    def fit(self, X, y=None, **fit_params):
        """Fit with the warm-up and subset schedule (see the class docstring).

        Parameters
        ----------
        X, y, **fit_params
            As in skorch's ``fit``.

        Returns
        -------
        self
        """
        self._subset_selector_, self._subset_rng_ = self._subset_validate_params()
        self._subset_selector_spec_ = repr(self.selector)
        y = self._subset_check_inputs(X, y, fit_params)
        return super().fit(X, y, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Continue fitting with a fresh schedule on ``X``; see :meth:`fit`."""
        if not hasattr(self, "_subset_selector_"):
            self._subset_selector_, self._subset_rng_ = self._subset_validate_params()
            self._subset_selector_spec_ = repr(self.selector)
        elif getattr(self, "_subset_selector_spec_", None) != repr(self.selector):
            # set_params(selector=...) since the last fit: the new selector,
            # the same stream of random numbers.
            self._subset_selector_ = self._subset_validate_params()[0]
            self._subset_selector_spec_ = repr(self.selector)
        else:
            # Checked on every call, as fit checks them (select_every=0 set
            # since the last fit failed deep in skorch's notify, a review).
            self._subset_check_params()
        y = self._subset_check_inputs(X, y, fit_params, partial=True)
        return super().partial_fit(X, y, classes, **fit_params)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's ``fit_loop``; ``epochs`` (``partial_fit``'s too) stands in
        for ``max_epochs`` as the budget T of the schedule."""
        self._subset_epochs_ = epochs
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            self._subset_epochs_ = None

    def _subset_check_inputs(self, X, y, fit_params, partial=False):
        if "sample_weight" in fit_params:
            raise ValueError(
                f"{type(self).__name__} does not take sample_weight: each row's "
                "loss is weighted by its selection weight (skorch would pass "
                "sample_weight to the module's forward). Weight the loss in a "
                "criterion of your own, or train an AdaSelection net."
            )
        return check_net_inputs(self, X, y, partial=partial)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._subset_epoch_ = 0
        self._subset_plan_ = None
        self._pending_rows_ = deque()
        self._batch_rows_ = None
        self._subset_weights_ = None
        self.n_selections_ = 0
        self.selection_time_ = 0.0
        if not isinstance(self._subset_selector_, RandomSelector) and not any(
            isinstance(m, torch.nn.Linear) for m in self.module_.modules()
        ):
            # Fail before training rather than at the first selection.
            raise ValueError(
                f"{type(self.module_).__name__} has no torch.nn.Linear layer: "
                f"the {type(self._subset_selector_).__name__} reads the input and "
                "output of the module's final Linear layer; use a module that "
                "ends in one, or selector='random'."
            )
        check_net_output(
            self,
            X,
            y,
            needs_linear=not isinstance(self._subset_selector_, RandomSelector),
        )

    def get_iterator(self, dataset, training=False):
        if not training:
            loader = valid_iterator(self, dataset)
            if loader is None:
                loader = super().get_iterator(dataset, training=False)
            return loader
        kwargs = self.get_params_for("iterator_train")
        batch_size = kwargs.pop("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = len(dataset)
        shuffle = kwargs.pop("shuffle", False)
        drop_last = kwargs.pop("drop_last", False)
        for key in ("sampler", "batch_sampler"):
            if kwargs.pop(key, None) is not None:
                raise ValueError(
                    f"iterator_train__{key} cannot be combined with subset "
                    "training, which samples the training rows itself."
                )
        n = len(dataset)
        self._subset_rows_ = np.arange(n)
        targets = _targets_of(dataset)
        self._subset_plan_ = self._schedule(n, targets)
        _, n_subset_epochs, k = self._subset_plan_
        if n_subset_epochs:
            # Refused before the warm-up epochs rather than at the first
            # selection after them (a review).
            self._check_subset_targets(targets)
            if not hasattr(self.criterion_, "reduction"):
                raise TypeError(_NO_REDUCTION.format(type(self.criterion_).__name__))
            if self.criterion_.reduction == "none":
                # skorch itself fails on it in its backward pass; subset
                # epochs took it silently as a mean (a review). Other
                # reductions ("batchmean" of KLDivLoss) weigh rows as a mean.
                raise ValueError(
                    "criterion__reduction='none': a net trains on one loss "
                    "per batch, so the criterion must reduce ('mean', 'sum', "
                    "...); override get_loss to combine per-row losses "
                    "otherwise."
                )
        if drop_last and n_subset_epochs and k < batch_size:
            raise ValueError(
                f"iterator_train__drop_last=True drops every batch of the "
                f"{k}-row subsets (batch_size={batch_size}): no training step "
                "would run on them. Lower batch_size, raise subset_size, or "
                "leave drop_last off."
            )
        sampler = _SubsetBatchSampler(self, batch_size, shuffle, drop_last)
        self._subset_sampler_ = sampler
        iterator = self.iterator_train
        if iterator is torch.utils.data.DataLoader:
            # The same batches, each fetched in one index of plain arrays.
            iterator = ArrayLoader
        return iterator(dataset, batch_sampler=sampler, **kwargs)

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_epoch_begin":
            self._subset_progress_totals(cb_kwargs.get("dataset_train"))

    def _subset_progress_totals(self, dataset_train):
        """Count the epoch's subset batches in skorch's progress bars.

        ``ProgressBar(batches_per_epoch="auto")`` counts the batches of all
        training rows (``dataset_train``), which a subset epoch does not run
        through: its bar stopped at a small part of its total (a review).
        """
        sampler = getattr(self, "_subset_sampler_", None)
        if sampler is None or dataset_train is None:
            return
        from skorch.callbacks import ProgressBar

        for _, cb in getattr(self, "callbacks_", ()):
            bar = getattr(cb, "pbar_", None)
            if not (
                isinstance(cb, ProgressBar)
                and cb.batches_per_epoch == "auto"
                and bar is not None
                and bar.total is not None
                and bar.n == 0
            ):
                continue
            # The training batches the bar counted, as it counts them.
            size = self.get_params_for("iterator_train").get(
                "batch_size", self.batch_size
            )
            if size < 1:  # -1: one batch, which the bar counts otherwise
                continue
            full = math.ceil(len(dataset_train) / size)
            bar.reset(total=max(0, bar.total - full) + len(sampler))

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        warm, sub, k = self._subset_plan_
        e = self._subset_epoch_
        if e >= warm + sub:
            # The budget is spent: stop like skorch's EarlyStopping does,
            # before a new (empty) epoch enters the history.
            raise KeyboardInterrupt
        super().on_epoch_begin(
            net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs
        )
        n = len(dataset_train)
        # Recorded every epoch, so skorch's log prints them under their own
        # headers (a key missing from some rows shifted the columns).
        selected, elapsed = False, 0.0
        if e < warm:
            self._subset_rows_ = np.arange(n)
            self._subset_weights_ = None
            self.history.record("subset_phase", "warm")
        else:
            s = e - warm
            if s % self.select_every == 0:
                t0 = time.perf_counter()
                self.subset_ = self._select_subset(
                    dataset_train,
                    dataset_valid,
                    k,
                    # A net that trained before this fit (partial_fit,
                    # warm_start, a LoadInitState checkpoint: epochs in its
                    # history before this fit's) has gradients worth
                    # selecting by; only an untrained one draws its first
                    # subset at random (every partial_fit call did, a review).
                    first=(s == 0 and warm == 0 and len(self.history) == e + 1),
                )
                elapsed = time.perf_counter() - t0
                self.selection_time_ += elapsed
                self.n_selections_ += 1
                selected = True
            self._subset_rows_ = self.subset_.indices
            w = self.subset_.weights
            self._subset_weights_ = np.zeros(n)
            self._subset_weights_[self.subset_.indices] = (
                w / w.mean() if w.sum() > 0 else 1.0
            )
            self.history.record("subset_phase", "subset")
        self.history.record("subset_rows", int(len(self._subset_rows_)))
        self.history.record("subset_selected", selected)
        self.history.record("subset_selection_time", elapsed)
        self._subset_epoch_ = e + 1

    def _check_subset_targets(self, y):
        """Refuse targets a selection cannot read: none, or class labels that
        are not one per row (soft or multi-label targets)."""
        if y is None:
            raise ValueError(
                "Subset training needs the targets of the training rows; pass y "
                "to fit (a dataset with a ``y`` attribute, or a TensorDataset "
                "of (X, y), also works)."
            )
        if isinstance(self, NeuralNetClassifier) and y.ndim != 1:
            raise ValueError(
                f"Subset training selects rows by their class label, and y has "
                f"shape {y.shape} (soft or multi-label targets); pass one label "
                "per row, or train an AdaSelection net or a plain skorch net."
            )

    def _select_subset(self, dataset_train, dataset_valid, k, *, first):
        y = _targets_of(dataset_train)
        classification = isinstance(self, NeuralNetClassifier)
        self._check_subset_targets(y)
        if classification and y.ndim == 1 and np.unique(y).size < 2:
            # A partial_fit chunk (or the data of a net told its classes) of
            # one class: selectors compare rows within and across classes and
            # refuse one; a uniform draw of it.
            rng = np.random.RandomState(
                self._subset_rng_.randint(np.iinfo(np.int32).max)
            )
            return Subset(np.sort(rng.choice(len(y), k, replace=False)), np.ones(k))
        # A fresh seed per selection: adaptive random re-draws, and stochastic
        # selectors do not repeat themselves.
        selector = clone(self._subset_selector_)
        if "random_state" in selector.get_params():
            selector.set_params(
                random_state=self._subset_rng_.randint(np.iinfo(np.int32).max)
            )
        if first or isinstance(selector, RandomSelector):
            if classification and getattr(self, "classes_", None) is not None:
                y = class_positions(self.classes_, y)  # sorted or not
            view = label_view(np.zeros((len(y), 1)), y, classification)
            if not isinstance(selector, RandomSelector):
                selector = RandomSelector(
                    per_class=classification,
                    random_state=self._subset_rng_.randint(np.iinfo(np.int32).max),
                )
            return selector.select(view, k)
        params = selector.get_params()
        if (
            self.selection_unit == "batch"
            and "batch_size" in params
            and params["batch_size"] is None
        ):
            selector.set_params(batch_size=self._selection_batch_size(k))
        pool = self._selection_pool_rows(y, k, classification)
        if pool is not None:
            dataset_train, y = _take_dataset_rows(dataset_train, pool), y[pool]
        view = lastlayer_from_net(self, dataset_train, y)
        validation = None
        if getattr(selector, "_uses_validation", False) and (dataset_valid is not None):
            y_valid = _targets_of(dataset_valid)
            if y_valid is not None:
                validation = lastlayer_from_net(self, dataset_valid, y_valid)
        subset = selector.select(view, k, validation=validation)
        if pool is None:
            return subset
        return Subset(pool[subset.indices], subset.weights)

    def _selection_pool_rows(self, y, k, classification):
        """Sorted rows of a stratified random pool, or None for every row."""
        n = len(y)
        share = self.selection_pool
        if isinstance(share, str):  # "auto"
            size = min(n, 10 * k)
        elif share is None or share >= 1:
            return None
        else:
            # Less a hair, so that e.g. 0.07 * 100 gives 7, not 8.
            size = min(n, max(math.ceil(share * n - 1e-9), 2 * k))
        if size >= n:
            return None
        seed = self._subset_rng_.randint(np.iinfo(np.int32).max)
        rng = np.random.RandomState(seed)
        # The draw of RandomSelector(per_class=classification, random_state=
        # seed) on the labels, without a view's validation on every row.
        if classification:
            return np.sort(stratified_choice(y, size, rng))
        return np.sort(rng.choice(n, size=size, replace=False))

    def _selection_batch_size(self, k):
        """Rows per selection unit: the training batch size, at most ``k // 16``."""
        b = self.get_params_for("iterator_train").get("batch_size", self.batch_size)
        if b is None or b < 1:  # -1: one batch of everything
            b = k
        return int(max(1, min(b, k // 16)))

    def train_step(self, batch, **fit_params):
        rows = self._pending_rows_.popleft() if self._pending_rows_ else None
        self._batch_rows_ = rows
        try:
            return super().train_step(batch, **fit_params)
        finally:
            self._batch_rows_ = None

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weights = self._subset_weights_ if training else None
        rows = self._batch_rows_ if training else None
        if weights is None or rows is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        criterion = self.criterion_
        if not hasattr(criterion, "reduction"):
            raise TypeError(_NO_REDUCTION.format(type(criterion).__name__))
        previous = criterion.reduction
        criterion.reduction = "none"
        try:
            losses = super().get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = previous
        if losses.dim() == 0:
            # A criterion that has the attribute but reduces all the same
            # (an IndexError below, a review).
            raise TypeError(
                f"{type(criterion).__name__} ignored reduction='none' and "
                "returned one number: subset training needs a loss per row to "
                "apply the selection weights. Honour the criterion's reduction, "
                "or override get_loss to return per-row losses."
            )
        w = torch.as_tensor(weights[rows], dtype=losses.dtype, device=losses.device)
        losses = losses.reshape(losses.shape[0], -1)
        if previous == "sum":
            # The weights average 1 over the subset: a weighted sum in place
            # of the criterion's sum.
            return (losses.sum(dim=1) * w).sum()
        losses = losses.mean(dim=1)
        mass = loss_mass(criterion, y_true, losses)
        # The criterion's own mean when every weight is 1: divided by the
        # rows' mass (class weights, ignored labels), not by their number.
        return (losses * w).sum() / (mass * w).sum().clamp_min(
            torch.finfo(w.dtype).tiny
        )

    def __getstate__(self):
        state = super().__getstate__()
        # Transient per-fit state: the queue of pending batches and its rng
        # are rebuilt by the next fit.
        for key in ("_pending_rows_", "_batch_rows_", "_subset_sampler_"):
            state.pop(key, None)
        return state


class SubsetNeuralNetClassifier(SubsetTrainingMixin, NeuralNetClassifier):
    __doc__ = SubsetTrainingMixin.__doc__


class SubsetNeuralNetRegressor(SubsetTrainingMixin, NeuralNetRegressor):
    """skorch's ``NeuralNetRegressor`` trained on adaptive, weighted subsets.

    The parameters, attributes and schedule are those of
    :class:`SubsetTrainingMixin`; the selectors see squared-error gradients
    of the final Linear layer.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from subsetml.skorch import SubsetNeuralNetRegressor
    >>> X = np.random.RandomState(0).randn(300, 5).astype(np.float32)
    >>> y = X[:, :1] * 2.0
    >>> module = torch.nn.Sequential(
    ...     torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
    ... )
    >>> net = SubsetNeuralNetRegressor(
    ...     module, max_epochs=10, selector="gradmatch", subset_size=0.2,
    ...     train_split=None, random_state=0, verbose=0,
    ... ).fit(X, y)
    >>> net.n_selections_, net.history[-1, "subset_rows"]
    (1, 60)
    """
