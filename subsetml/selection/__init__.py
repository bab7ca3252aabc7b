"""Subset selection algorithms.

Every selector takes a :class:`~subsetml.LastLayer` and a budget and returns a
:class:`~subsetml.Subset`.
"""

from subsetml.selection._base import BaseSelector, GradientSelector, allocate_budget
from subsetml.selection._craig import CraigSelector
from subsetml.selection._glister import GlisterSelector
from subsetml.selection._gradmatch import GradMatchSelector
from subsetml.selection._random import RandomSelector

__all__ = [
    "BaseSelector",
    "CraigSelector",
    "GlisterSelector",
    "GradMatchSelector",
    "GradientSelector",
    "RandomSelector",
    "allocate_budget",
]
