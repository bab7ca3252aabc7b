"""Everything the layers below know of skorch nets, in one adapter.

:mod:`subsetml.lastlayer`, :mod:`subsetml.model_selection` and
:mod:`subsetml.sampling` never import skorch or this package: they call
:func:`subsetml._adapters.adapter_for`, which returns the adapter registered
here for any ``skorch.NeuralNet``. Reading a net's internals (``prefixes_``,
``_modules``, ``history``...) happens only in this module.
"""

from __future__ import annotations

import skorch
import torch
from sklearn.base import clone

from subsetml._adapters import register_adapter
from subsetml.skorch._adaptive import (
    SubsetNeuralNetClassifier,
    SubsetNeuralNetRegressor,
    SubsetTrainingMixin,
)
from subsetml.skorch._adaselection import AdaSelectionMixin
from subsetml.skorch._callbacks import KeepLowestTrainLoss
from subsetml.skorch._lastlayer import lastlayer_from_net
from subsetml.skorch._loading import ArrayLoader

__all__ = ["SkorchAdapter"]

KEEP_LOWEST = "keep_lowest_train_loss"  # the callback's name in a net

# Callbacks whose behaviour over a continued fit (partial_fit) is that of one
# fit from the start: scoring, logging, timing, clipping, initialising.
_CONTINUES_THROUGH = (
    skorch.callbacks.EpochScoring,
    skorch.callbacks.BatchScoring,
    skorch.callbacks.PassthroughScoring,
    skorch.callbacks.PrintLog,
    skorch.callbacks.EpochTimer,
    skorch.callbacks.ProgressBar,
    skorch.callbacks.GradientNormClipping,
    skorch.callbacks.Initializer,
)


class SkorchAdapter:
    """The :class:`~subsetml._adapters.EstimatorAdapter` of skorch nets."""

    def accepts(self, estimator):
        return isinstance(estimator, skorch.NeuralNet)

    def lastlayer(self, estimator, X, y):
        return lastlayer_from_net(estimator, X, y)

    def adaptive(self, estimator, *, selector, subset_size, random_state):
        """``estimator`` as an adaptive subset-training net.

        ``NeuralNetClassifier`` / ``NeuralNetRegressor`` become
        :class:`SubsetNeuralNetClassifier` / :class:`SubsetNeuralNetRegressor`
        with the same parameters; a net that already mixes in subset training
        keeps its schedule and takes ``selector``, ``subset_size`` and the
        seed.
        """
        settings = {
            "selector": selector,
            "subset_size": subset_size,
            "random_state": random_state,
        }
        if isinstance(estimator, AdaSelectionMixin):
            raise TypeError(
                f"{type(estimator).__name__} selects rows inside every minibatch "
                "(AdaSelection) and cannot also train on a subset chosen by a "
                "selector. Tune it on all rows (subset_size=1.0), or pass a plain "
                "skorch net to train on subsets."
            )
        if isinstance(estimator, skorch.NeuralNetBinaryClassifier):
            # Its float targets and single logit: check_net_inputs's refusal,
            # at once rather than after advice to mix subset training in.
            raise TypeError(
                f"{type(estimator).__name__} builds on skorch's "
                "NeuralNetBinaryClassifier, which subset training does not "
                "support. Use NeuralNetClassifier with a module of 2 outputs, "
                "CrossEntropyLoss and integer labels 0/1, or tune it on all "
                "rows (subset_size=1.0)."
            )
        if isinstance(estimator, SubsetTrainingMixin):
            return clone(estimator).set_params(**settings)
        for plain, adaptive in (
            (skorch.NeuralNetClassifier, SubsetNeuralNetClassifier),
            (skorch.NeuralNetRegressor, SubsetNeuralNetRegressor),
        ):
            if type(estimator) is plain:
                return adaptive(**clone(estimator).get_params(deep=False), **settings)
        raise TypeError(
            f"{type(estimator).__name__} is a skorch net of its own class; subset "
            "training cannot rebuild it. Mix subsetml.skorch.SubsetTrainingMixin "
            "into your class (class MyNet(SubsetTrainingMixin, MyBaseNet)) and "
            "pass an instance of it."
        )

    def routed_prefixes(self, estimator):
        """Prefixes a net routes to its parts (``module__hidden``...)."""
        names = {"module", "criterion", "optimizer", *estimator.prefixes_}
        for attr in ("_modules", "_criteria", "_optimizers"):
            names.update(getattr(estimator, attr, ()))
        return names

    def training_losses(self, estimator):
        """The ``train_loss`` of every epoch in the net's history, or None."""
        try:
            return [float(row["train_loss"]) for row in estimator.history]
        except (KeyError, TypeError, ValueError):
            return None

    def epochs_param(self, estimator):
        """``"max_epochs"``, for a plain net: ``partial_fit`` continues it
        (module, optimiser state and history kept). Subset-training nets
        plan a schedule per fit, so they have none; nor do nets with a
        callback that starts over at each fit (an ``LRScheduler`` is built
        anew and steps from the start, ``EarlyStopping``'s patience resets,
        a checkpoint restores), so that a net continued for its next rung
        is not the net ``best_params_`` refits (a review). Only callbacks
        known to carry no such state are continued through. AdaSelection
        nets have none either: their curriculum, probe horizon and stale
        scoring read ``max_epochs``, so a net continued from a lower rung
        trained otherwise than one fitted for the higher (a review)."""
        if isinstance(estimator, (SubsetTrainingMixin, AdaSelectionMixin)):
            return None
        callbacks = estimator.callbacks
        if callbacks is None or isinstance(callbacks, str):  # "disable"
            return "max_epochs"
        for cb in callbacks:
            if isinstance(cb, tuple):
                cb = cb[-1]
            kind = cb if isinstance(cb, type) else type(cb)
            if not issubclass(kind, _CONTINUES_THROUGH):
                return None
        return "max_epochs"

    def train_more(self, estimator, X, y, epochs, **fit_params):
        """``epochs`` more epochs of fitted ``estimator`` on ``(X, y)``."""
        return estimator.partial_fit(X, y, epochs=epochs, **fit_params)

    def keep_lowest_loss(self, estimator):
        """An unfitted copy of ``estimator`` that ends its fits with the
        weights of its epoch of lowest training loss
        (:class:`~subsetml.skorch.KeepLowestTrainLoss`), or None
        when its callbacks are disabled."""
        callbacks = estimator.callbacks
        if isinstance(callbacks, str):  # "disable"
            return None
        extra = [(KEEP_LOWEST, KeepLowestTrainLoss())]
        return clone(estimator).set_params(callbacks=list(callbacks or []) + extra)

    def faster_loading(self, estimator):
        """:class:`~subsetml.skorch.ArrayLoader` for the net's loaders left
        at torch's ``DataLoader``: the same batches, fetched a batch at a
        time from plain arrays. Not for AdaSelection nets, which batch plain
        arrays themselves behind a plain ``DataLoader``."""
        if isinstance(estimator, AdaSelectionMixin):
            return {}
        return {
            name: ArrayLoader
            for name in ("iterator_train", "iterator_valid")
            if getattr(estimator, name, None) is torch.utils.data.DataLoader
        }


SKORCH_ADAPTER = register_adapter(SkorchAdapter())
