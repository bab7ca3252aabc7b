"""Adapters: what the layers below :mod:`subsetml.skorch` ask of a skorch net.

The core, :mod:`subsetml.selection`, :mod:`subsetml.sampling` and
:mod:`subsetml.model_selection` must not import torch, skorch or
:mod:`subsetml.skorch` (the import-linter contracts in ``pyproject.toml``
check it). Where they meet an estimator that needs that knowledge -- reading a
net's last layer, rebuilding it as an adaptive subset-training net, the
parameter prefixes it routes, its training losses -- they ask
:func:`adapter_for` for an :class:`EstimatorAdapter` and call it.

Adapters register themselves with :func:`register_adapter` when their module
is imported. A family's adapter module is imported on first need, and only
when the family's own package is already imported (an estimator of it can
exist only then), so ``import subsetml`` stays free of torch.
"""

from __future__ import annotations

import importlib
import sys
from typing import Protocol, runtime_checkable

__all__ = ["EstimatorAdapter", "adapter_for", "register_adapter"]


@runtime_checkable
class EstimatorAdapter(Protocol):
    """What subsetml needs to know about an estimator family it cannot import.

    An adapter is stateless; every method takes the estimator.
    """

    def accepts(self, estimator) -> bool:
        """Whether ``estimator`` belongs to this family."""

    def lastlayer(self, estimator, X, y):
        """The :class:`~subsetml.LastLayer` of fitted ``estimator`` on ``(X, y)``."""

    def adaptive(self, estimator, *, selector, subset_size, random_state):
        """An unfitted estimator that selects its own subsets while it trains."""

    def routed_prefixes(self, estimator) -> set:
        """Prefixes ``estimator.set_params`` routes to its parts (``module``...)."""

    def training_losses(self, estimator) -> list | None:
        """Per-epoch training losses of a fitted ``estimator``, or None."""

    def epochs_param(self, estimator) -> str | None:
        """The parameter that counts ``estimator``'s training epochs, if
        :meth:`train_more` can extend a fit by some more of them."""

    def train_more(self, estimator, X, y, epochs, **fit_params):
        """Train fitted ``estimator`` for ``epochs`` more epochs, in place."""

    def keep_lowest_loss(self, estimator):
        """An unfitted copy of ``estimator`` that ends its fits with the
        weights of its epoch of lowest training loss, or None if it cannot."""

    def faster_loading(self, estimator) -> dict:
        """Parameters with which unfitted ``estimator`` fits and predicts
        exactly as it does, only faster (empty when there are none)."""


_ADAPTERS: list[EstimatorAdapter] = []

# Family package -> the module that registers its adapter. The module is named
# by string, not imported: it belongs to a layer above this one.
_ADAPTER_MODULES = {"skorch": "subsetml.skorch._adapter"}


def register_adapter(adapter):
    """Add ``adapter`` (an :class:`EstimatorAdapter`); returns it."""
    if not isinstance(adapter, EstimatorAdapter):
        raise TypeError(
            f"{type(adapter).__name__} does not implement EstimatorAdapter."
        )
    if adapter not in _ADAPTERS:
        _ADAPTERS.append(adapter)
    return adapter


def adapter_for(estimator):
    """The adapter that accepts ``estimator``, or None for a plain estimator."""
    for package, module in _ADAPTER_MODULES.items():
        if package in sys.modules and module not in sys.modules:
            importlib.import_module(module)
    for adapter in _ADAPTERS:
        if adapter.accepts(estimator):
            return adapter
    return None
