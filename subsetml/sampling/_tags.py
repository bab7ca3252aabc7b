"""Estimator tags that mark a sampler the way imbalanced-learn does, without it.

imbalanced-learn's ``Pipeline`` only needs ``fit_resample`` (duck typing), but
its ``is_sampler`` and its conformance suite
(``imblearn.utils.estimator_checks``) read two fields that scikit-learn's
:class:`~sklearn.utils.Tags` lacks: ``tags.sampler_tags.sample_indices`` and
``tags.input_tags.dataframe``. These dataclasses extend scikit-learn's with
fields of the same names and defaults as imbalanced-learn's (0.13 on), so
a subsetml sampler is recognised as one while imbalanced-learn stays a
test-only dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sklearn.utils import InputTags, Tags

__all__ = ["sampler_tags"]


@dataclass(slots=True)
class SamplerTags:
    """Tags of a sampler.

    Parameters
    ----------
    sample_indices : bool, default=False
        Whether ``fit_resample`` sets ``sample_indices_``.
    """

    sample_indices: bool = False


@dataclass(slots=True)
class SamplerInputTags(InputTags):
    """scikit-learn's input tags plus ``dataframe`` (accepts pandas input)."""

    dataframe: bool = False


@dataclass(slots=True)
class SamplerEstimatorTags(Tags):
    """scikit-learn's tags plus ``sampler_tags``."""

    sampler_tags: SamplerTags | None = None


def sampler_tags(tags, *, sample_indices, dataframe=True):
    """Copy scikit-learn ``tags`` into sampler tags (``estimator_type="sampler"``)."""
    inputs = SamplerInputTags(
        **{f.name: getattr(tags.input_tags, f.name) for f in fields(InputTags)},
        dataframe=dataframe,
    )
    values = {f.name: getattr(tags, f.name) for f in fields(Tags)}
    values.update(estimator_type="sampler", input_tags=inputs)
    return SamplerEstimatorTags(
        **values, sampler_tags=SamplerTags(sample_indices=sample_indices)
    )
