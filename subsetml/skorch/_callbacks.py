"""A skorch callback that ends a fit at its epoch of lowest training loss;
:class:`~subsetml.model_selection.SubsetSearchCV`'s refit check adds it to a
net whose refits all collapsed."""

from __future__ import annotations

import copy
import math

from skorch.callbacks import Callback

__all__ = ["KeepLowestTrainLoss"]


class KeepLowestTrainLoss(Callback):
    """Ends a fit with the weights of its epoch of lowest training loss.

    After each epoch whose ``train_loss`` is finite and the lowest so far,
    the state of every module and optimiser of the net (``module_``,
    ``optimizer_`` and any others it declares) is copied, on its device;
    when training ends, those states are loaded back, so ``partial_fit``
    goes on from that epoch. The history is left as it is: it still shows
    the epochs after the lowest loss.

    Where the training loss changes meaning partway through a fit -- an
    AdaSelection net after its warm-up reports the loss of the rows it kept,
    a subset-training net the loss of its subset -- only the epochs after
    the last change are compared.

    A net at the edge of stability can train well for a few epochs and then
    diverge to a constant prediction: on 37,500 MNIST-1D rows a 1-D CNN with
    learning rate 0.2 reached a training loss of 0.11 after 8 epochs and
    ended at 2.3 (chance) after 27, for every torch seed tried. This keeps
    the net of its eighth epoch.

    Attributes
    ----------
    best_loss_ : float
        The lowest training loss seen (``inf`` before the first epoch).
    best_epoch_ : int or None
        Its epoch, counted from 1 in the net's history.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> from subsetml.skorch import KeepLowestTrainLoss
    >>> X = np.random.RandomState(0).randn(64, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = NeuralNetClassifier(
    ...     torch.nn.Linear,
    ...     module__in_features=4,
    ...     module__out_features=2,
    ...     criterion=torch.nn.CrossEntropyLoss,
    ...     max_epochs=5,
    ...     train_split=None,
    ...     verbose=0,
    ...     callbacks=[("keep_lowest", KeepLowestTrainLoss())],
    ... ).fit(X, y)
    >>> keep = dict(net.callbacks_)["keep_lowest"]
    >>> bool(keep.best_loss_ == min(net.history[:, "train_loss"]))
    True
    """

    def initialize(self):
        self.best_loss_ = math.inf
        self.best_epoch_ = None
        self._states = None
        self._kind = None
        return self

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        loss = row.get("train_loss") if hasattr(row, "get") else None
        kind = _loss_kind(row)
        if kind != self._kind:
            # The loss changed meaning (an AdaSelection net's warm-up ended:
            # from then on it is the kept rows' loss, which big-loss
            # selection inflates): compare the epochs after the change only,
            # or the warm-up's last epoch always won (a review: 0.926
            # accuracy against 0.970 without the callback).
            self._kind = kind
            self.best_loss_ = math.inf
        if loss is None or not math.isfinite(float(loss)):
            return
        if float(loss) < self.best_loss_:
            self.best_loss_ = float(loss)
            self.best_epoch_ = len(net.history)
            self._states = {
                name: copy.deepcopy(getattr(net, name + "_").state_dict())
                for name in _stateful_names(net)
            }

    def on_train_end(self, net, **kwargs):
        if self._states is None:
            return
        for name, state in self._states.items():
            getattr(net, name + "_").load_state_dict(state)
        self._states = None  # the net holds them now; no second copy to pickle


def _stateful_names(net):
    """The modules and optimisers the net declares (``_modules``,
    ``_optimizers``; ``"module"`` and ``"optimizer"`` by default) that
    have a state."""
    names = list(getattr(net, "_modules", None) or ["module"])
    names += list(getattr(net, "_optimizers", None) or ["optimizer"])
    return [n for n in names if hasattr(getattr(net, n + "_", None), "state_dict")]


def _loss_kind(row):
    """What an epoch's ``train_loss`` is the loss of: every row, or (for the
    nets of this package) a subset of them, by the phase they record."""
    if not hasattr(row, "get"):
        return None
    seen, kept = row.get("rows_seen"), row.get("rows_kept")
    selecting = seen is not None and kept is not None and kept < seen
    return (row.get("subset_phase"), selecting)
