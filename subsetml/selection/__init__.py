"""Subset selection algorithms.

Every selector takes a :class:`~subsetml.LastLayer` and a budget and returns a
:class:`~subsetml.Subset`. :func:`make_selector` turns a selector name
(:data:`SELECTOR_NAMES`) or instance into a seeded selector.
"""

from subsetml.selection._base import BaseSelector, GradientSelector, allocate_budget
from subsetml.selection._craig import CraigSelector
from subsetml.selection._glister import GlisterSelector
from subsetml.selection._gradmatch import GradMatchSelector
from subsetml.selection._random import RandomSelector
from subsetml.selection._registry import SELECTOR_NAMES, make_selector

__all__ = [
    "SELECTOR_NAMES",
    "BaseSelector",
    "CraigSelector",
    "GlisterSelector",
    "GradMatchSelector",
    "GradientSelector",
    "RandomSelector",
    "allocate_budget",
    "make_selector",
]
