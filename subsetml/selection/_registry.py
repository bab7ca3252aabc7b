"""The selector registry: selector names and :func:`make_selector`.

It lives with the selectors so every layer above them (model selection,
sampling, the skorch integration) resolves a ``selector`` argument the same
way without importing one another.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state

from subsetml.selection._craig import CraigSelector
from subsetml.selection._glister import GlisterSelector
from subsetml.selection._gradmatch import GradMatchSelector
from subsetml.selection._random import RandomSelector

__all__ = ["SELECTOR_NAMES", "make_selector", "own_seed"]

#: Selector names accepted wherever a selector is expected.
SELECTOR_NAMES = {
    "random": RandomSelector,
    "craig": CraigSelector,
    "glister": GlisterSelector,
    "gradmatch": GradMatchSelector,
}


def make_selector(selector, random_state=None, *, weighted=True):
    """A selector instance from a name or an instance (cloned, seeded).

    Parameters
    ----------
    selector : str or selector instance
        One of ``"random"``, ``"craig"``, ``"glister"``, ``"gradmatch"``, or an
        object with a ``select(view, budget, *, validation=None)`` method.
    random_state : int, RandomState instance or None
        Seeds the selector when its own ``random_state`` is None.
    weighted : bool, default=True
        False where the subset's weights will be dropped (an estimator
        without ``sample_weight``): a selector with a mode for that uses it
        (GRAD-MATCH's ``weighting="auto"`` becomes ``"equal"``).

    Returns
    -------
    selector : selector instance

    Examples
    --------
    >>> from subsetml.selection import make_selector
    >>> make_selector("craig", random_state=0)
    CraigSelector(random_state=0)
    >>> make_selector("gradmatch", weighted=False)
    GradMatchSelector(weighting='equal')
    """
    if isinstance(selector, str):
        if selector not in SELECTOR_NAMES:
            raise ValueError(
                f"Unknown selector {selector!r}; choose one of "
                f"{sorted(SELECTOR_NAMES)} or pass a selector instance."
            )
        selector = SELECTOR_NAMES[selector]()
    elif isinstance(selector, type):
        raise TypeError(
            f"selector must be a name or a selector instance, got the class "
            f"{selector.__name__}; pass an instance, {selector.__name__}()."
        )
    elif not callable(getattr(selector, "select", None)):
        raise TypeError(
            "selector must be a name or an object with a select(view, budget) "
            f"method, got {type(selector).__name__}."
        )
    elif isinstance(selector, BaseEstimator):
        selector = clone(selector)
    elif hasattr(selector, "get_params"):
        # A third party's selector with parameters: seeding it below must not
        # change the caller's object, nor the next call's seed (a review).
        try:
            selector = clone(selector)
        except Exception:  # a constructor that clone cannot call
            selector = copy.deepcopy(selector)
    params = selector.get_params(deep=False) if hasattr(selector, "get_params") else {}
    if "random_state" in params and params["random_state"] is None:
        selector.set_params(random_state=random_state)
    if not weighted and hasattr(selector, "_unweighted"):
        selector = selector._unweighted()
    return selector


def own_seed(selector):
    """A seed drawn from a selector instance's own ``random_state`` (from a
    copy: the caller's RandomState is not advanced), or None."""
    if isinstance(selector, str) or not hasattr(selector, "get_params"):
        return None
    own = selector.get_params(deep=False).get("random_state")
    if own is None:
        return None
    own = copy.deepcopy(own)
    if isinstance(own, np.random.Generator):
        # A third party's selector may keep a new-style generator.
        return int(own.integers(np.iinfo(np.int32).max))
    try:
        rng = check_random_state(own)
    except (TypeError, ValueError):
        return None  # no seed we can read: the caller's seed builds the view
    return rng.randint(np.iinfo(np.int32).max)
