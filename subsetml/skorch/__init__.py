"""torch and skorch integration (imports torch; ``import subsetml`` does not).

- :class:`AdaSelectionClassifier`, :class:`AdaSelectionRegressor` and
  :class:`AdaSelectionMixin`: AdaSelection (Zhang et al., 2023), per-minibatch
  adaptive subsampling inside skorch's training step.
- The per-minibatch policies it mixes, usable alone as baselines:
  :class:`UniformPolicy`, :class:`BigLossPolicy`, :class:`SmallLossPolicy`,
  :class:`GradientNormPolicy`, :class:`AdaBoostPolicy`,
  :class:`LossExtremesPolicy` (the paper's Coreset 1) and
  :class:`TypicalLossPolicy` (Coreset 2), with :class:`BasePolicy` and
  :class:`ScoredBatch` for writing new ones. They are pure numpy and live in
  :mod:`subsetml.minibatch`; the names here are the same objects.
- :class:`SubsetNeuralNetClassifier`, :class:`SubsetNeuralNetRegressor` and
  :class:`SubsetTrainingMixin`: training on adaptively re-selected subsets
  (warm start, re-selection every R epochs, weighted losses).
- :func:`lastlayer_from_net`: a :class:`~subsetml.LastLayer` read off a
  skorch net's final Linear layer, for subset selection.
- :class:`ArrayLoader`: torch's ``DataLoader`` fetching a whole batch of
  in-memory arrays per index (the same batches, faster on small nets); the
  subset-training nets use it in place of the default ``DataLoader``.
- :class:`KeepLowestTrainLoss`: a callback that ends a fit at the weights of
  its epoch of lowest training loss (the refit check's last try for nets).
"""

from subsetml.minibatch import (
    AdaBoostPolicy,
    BasePolicy,
    BigLossPolicy,
    GradientNormPolicy,
    LossExtremesPolicy,
    ScoredBatch,
    SmallLossPolicy,
    TypicalLossPolicy,
    UniformPolicy,
    make_policy,
)
from subsetml.skorch._adapter import SkorchAdapter  # noqa: F401 (registers it)
from subsetml.skorch._adaptive import (
    SubsetNeuralNetClassifier,
    SubsetNeuralNetRegressor,
    SubsetTrainingMixin,
)
from subsetml.skorch._adaselection import (
    AdaSelectionClassifier,
    AdaSelectionMixin,
    AdaSelectionRegressor,
)
from subsetml.skorch._callbacks import KeepLowestTrainLoss
from subsetml.skorch._lastlayer import lastlayer_from_net
from subsetml.skorch._loading import ArrayLoader

__all__ = [
    "AdaBoostPolicy",
    "AdaSelectionClassifier",
    "AdaSelectionMixin",
    "AdaSelectionRegressor",
    "ArrayLoader",
    "BasePolicy",
    "BigLossPolicy",
    "GradientNormPolicy",
    "KeepLowestTrainLoss",
    "LossExtremesPolicy",
    "ScoredBatch",
    "SmallLossPolicy",
    "SubsetNeuralNetClassifier",
    "SubsetNeuralNetRegressor",
    "SubsetTrainingMixin",
    "TypicalLossPolicy",
    "UniformPolicy",
    "lastlayer_from_net",
    "make_policy",
]
