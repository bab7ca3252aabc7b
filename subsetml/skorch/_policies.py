"""Alias of :mod:`subsetml.minibatch._policies`, where the policies moved.

The policies are pure numpy; issue 17 moved them out of the torch package.
"""

from subsetml.minibatch._policies import (  # noqa: F401
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
