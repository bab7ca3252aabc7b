"""The selection step on its own: reduced data, or a sampler in a pipeline.

:class:`SubsetSampler` follows imbalanced-learn's sampler API
(``fit_resample``), so it is a step of :class:`imblearn.pipeline.Pipeline`;
:func:`select_subset` returns the chosen positions and weights directly.
Neither needs imbalanced-learn.
"""

from subsetml.sampling._sampler import SubsetSampler, select_subset

__all__ = ["SubsetSampler", "select_subset"]
