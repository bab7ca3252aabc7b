"""Per-minibatch selection without torch: the numpy half of AdaSelection.

- The baseline policies, each mapping a :class:`ScoredBatch` to a
  distribution over its rows: :class:`UniformPolicy`, :class:`BigLossPolicy`,
  :class:`SmallLossPolicy`, :class:`GradientNormPolicy`,
  :class:`AdaBoostPolicy`, :class:`LossExtremesPolicy` (the paper's
  Coreset 1) and :class:`TypicalLossPolicy` (Coreset 2), with
  :class:`BasePolicy` for writing new ones and :func:`make_policy`.
- :class:`MethodWeights`: the adaptive weights that mix the policies, with
  their state, and the curriculum and row selection built on them.
- :class:`ScoreCache`: per-row scores reused between epochs.

:mod:`subsetml.skorch` runs these inside a net's training step
(:class:`~subsetml.skorch.AdaSelectionClassifier`); this package imports
neither torch nor skorch.
"""

from subsetml.minibatch._cache import ScoreCache
from subsetml.minibatch._policies import (
    POLICIES,
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
    policy_name,
)
from subsetml.minibatch._weights import MethodWeights

__all__ = [
    "POLICIES",
    "AdaBoostPolicy",
    "BasePolicy",
    "BigLossPolicy",
    "GradientNormPolicy",
    "LossExtremesPolicy",
    "MethodWeights",
    "ScoreCache",
    "ScoredBatch",
    "SmallLossPolicy",
    "TypicalLossPolicy",
    "UniformPolicy",
    "make_policy",
    "policy_name",
]
