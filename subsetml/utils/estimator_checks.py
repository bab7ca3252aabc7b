"""Conformance checks for selectors, ours and third parties'.

A selector is anything with scikit-learn-style parameters and a
``select(view, budget, *, validation=None)`` method returning a
:class:`~subsetml.Subset`.  These checks state the contract as executable
tests, in the spirit of :func:`sklearn.utils.estimator_checks.check_estimator`.

Use them in a test suite with :func:`parametrize_with_selector_checks`::

    from subsetml.utils.estimator_checks import parametrize_with_selector_checks

    @parametrize_with_selector_checks([MySelector(random_state=0)])
    def test_my_selector(selector, check):
        check(selector)

or run them all at once with :func:`check_selector`.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
from sklearn.base import clone

from subsetml._subset import Subset
from subsetml.lastlayer import LastLayer

__all__ = [
    "check_selector",
    "check_selector_budget_forms",
    "check_selector_clone",
    "check_selector_does_not_mutate",
    "check_selector_pickle",
    "check_selector_rejects_bad_budget",
    "check_selector_rejects_non_view",
    "check_selector_regression",
    "check_selector_reproducible",
    "check_selector_single_class",
    "check_selector_subset_contract",
    "parametrize_with_selector_checks",
    "make_view",
]


# The parameter, error and example sections every single check shares,
# written once and appended to each check's one-line summary.
_CHECK_SECTIONS = """

    Parameters
    ----------
    selector : selector
        The selector to check; it is cloned, never modified.

    Raises
    ------
    AssertionError
        When the selector breaks the contract.

    Examples
    --------
    >>> from subsetml.selection import RandomSelector
    >>> from subsetml.utils.estimator_checks import {name}
    >>> {name}(RandomSelector(random_state=0))
    """


def _check_doc(check):
    check.__doc__ = check.__doc__ + _CHECK_SECTIONS.format(name=check.__name__)
    return check


def make_view(
    n_samples=120, n_features=5, n_classes=3, *, task="classification", seed=0
):
    """A small random :class:`~subsetml.LastLayer` for checks and tests.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        Size of the view. ``n_classes`` is the number of targets for regression.
    task : {"classification", "regression"}
    seed : int
        Seed of the data.

    Returns
    -------
    view : LastLayer

    Examples
    --------
    >>> from subsetml.utils.estimator_checks import make_view
    >>> make_view(50, 4, 2)
    LastLayer(task='classification', n_samples=50, n_features=4, n_outputs=2)
    """
    rng = np.random.RandomState(seed)
    centers = rng.randn(max(n_classes, 1), n_features) * 2.0
    y = np.arange(n_samples) % n_classes
    rng.shuffle(y)
    h = centers[y] + rng.randn(n_samples, n_features)
    W = rng.randn(n_classes, n_features) * 0.5
    z = h @ W.T
    if task == "classification":
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return LastLayer(h, p, y)
    target = z + rng.randn(n_samples, n_classes)
    return LastLayer(h, z, target, task="regression")


def _select(selector, view, budget, **kw):
    """Call ``select`` and turn a crash into a check failure with context."""
    try:
        result = selector.select(view, budget, **kw)
    except Exception as exc:
        raise AssertionError(
            f"{type(selector).__name__}.select({view!r}, {budget!r}) raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return result


def _assert_valid_subset(name, result, n, k):
    assert isinstance(result, Subset), (
        f"{name}.select must return a subsetml.Subset, got {type(result).__name__}."
    )
    idx, w = result
    assert idx.ndim == 1 and w.shape == idx.shape, (
        f"{name}: indices and weights must be aligned 1-D arrays, got shapes "
        f"{idx.shape} and {w.shape}."
    )
    assert idx.shape[0] == k, f"{name}: {idx.shape[0]} rows returned for budget {k}."
    assert np.unique(idx).shape[0] == k, f"{name}: duplicate indices returned."
    assert idx.min() >= 0 and idx.max() < n, f"{name}: indices outside [0, {n})."
    assert np.all(np.isfinite(w)), f"{name}: non-finite weights returned."
    assert np.all(w >= 0), f"{name}: negative weights returned."


def _with_seed(selector, seed):
    params = selector.get_params(deep=False)
    if "random_state" in params:
        return clone(selector).set_params(random_state=seed)
    return clone(selector)


def _same(a, b):
    """Equal parameters, arrays included (``==`` of arrays is an array), as
    ``clone`` copies them: a RandomState by its state, an estimator by its
    parameters (``clone`` copies both)."""
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    if isinstance(a, np.random.RandomState) and isinstance(b, np.random.RandomState):
        sa, sb = a.get_state(), b.get_state()
        return sa[0] == sb[0] and np.array_equal(sa[1], sb[1]) and sa[2:] == sb[2:]
    if type(a) is type(b) and not isinstance(a, type) and hasattr(a, "get_params"):
        pa, pb = a.get_params(deep=False), b.get_params(deep=False)
        return pa.keys() == pb.keys() and all(_same(pa[k], pb[k]) for k in pa)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _unexpected(name, what, exc):
    return AssertionError(
        f"{name}: {what} raised {type(exc).__name__} ({exc}) instead of the "
        "expected outcome."
    )


@_check_doc
def check_selector_clone(selector):
    """``clone`` works and ``__init__`` stores every parameter unchanged."""
    name = type(selector).__name__
    params = selector.get_params(deep=False)
    cloned = clone(selector)
    for key, value in cloned.get_params(deep=False).items():
        assert _same(value, params[key]), (
            f"{name}: parameter {key!r} changed through clone: "
            f"{params[key]!r} -> {value!r}."
        )
    fresh = type(selector)(**params)
    assert fresh.get_params(deep=False).keys() == params.keys(), (
        f"{name}: get_params keys differ between instances."
    )


@_check_doc
def check_selector_subset_contract(selector):
    """Exact size, unique in-range indices, finite non-negative weights."""
    name = type(selector).__name__
    view = make_view(120, 5, 3, seed=1)
    sel = _with_seed(selector, 0)
    # Budgets start at the number of classes: per-class selectors may refuse
    # fewer rows than classes.
    for budget in (3, 17, 60):
        _assert_valid_subset(name, _select(sel, view, budget), view.n_samples, budget)


@_check_doc
def check_selector_budget_forms(selector):
    """A fraction and the equivalent row count give the same subset size."""
    name = type(selector).__name__
    view = make_view(100, 4, 2, seed=2)
    sel = _with_seed(selector, 0)
    a = _select(sel, view, 0.25)
    b = _select(sel, view, 25)
    assert a.size == b.size == 25, f"{name}: fraction 0.25 of 100 rows is not 25."
    _assert_valid_subset(name, a, 100, 25)


@_check_doc
def check_selector_reproducible(selector):
    """The same ``random_state`` gives the same subset, call after call."""
    name = type(selector).__name__
    view = make_view(150, 5, 3, seed=3)
    if "random_state" not in selector.get_params(deep=False):
        raise AssertionError(f"{name} has no random_state parameter.")
    for seed in (0, 7):
        a = _select(_with_seed(selector, seed), view, 20)
        b = _select(_with_seed(selector, seed), view, 20)
        assert a == b, f"{name}: random_state={seed} gave two different subsets."
    rng = np.random.RandomState(5)
    a = _select(_with_seed(selector, rng), view, 20)
    _assert_valid_subset(name, a, 150, 20)


@_check_doc
def check_selector_does_not_mutate(selector):
    """``select`` changes neither the selector's parameters nor the view."""
    name = type(selector).__name__
    view = make_view(80, 3, 2, seed=4)
    sel = _with_seed(selector, 0)
    before = pickle.dumps(sel.get_params(deep=False))
    arrays = [a.copy() for a in (view.features, view.outputs, view.y)]
    state = set(vars(sel))
    _select(sel, view, 10)
    assert pickle.dumps(sel.get_params(deep=False)) == before, (
        f"{name}.select changed the selector's parameters."
    )
    assert set(vars(sel)) == state, (
        f"{name}.select set attributes on the selector: "
        f"{sorted(set(vars(sel)) - state)}."
    )
    for old, new in zip(arrays, (view.features, view.outputs, view.y)):
        assert np.array_equal(old, new), f"{name}.select modified the view."


@_check_doc
def check_selector_pickle(selector):
    """A pickled and restored selector makes the same selection."""
    name = type(selector).__name__
    view = make_view(90, 4, 3, seed=5)
    sel = _with_seed(selector, 0)
    restored = pickle.loads(pickle.dumps(sel))
    assert _select(sel, view, 12) == _select(restored, view, 12), (
        f"{name}: the unpickled selector chose differently."
    )


@_check_doc
def check_selector_regression(selector):
    """Regression views are accepted (or refused with a clear ValueError)."""
    name = type(selector).__name__
    view = make_view(100, 4, 1, task="regression", seed=6)
    sel = _with_seed(selector, 0)
    try:
        result = sel.select(view, 15)
    except ValueError:
        return  # an explicit refusal is allowed
    except Exception as exc:
        raise _unexpected(name, "selecting on a regression view", exc) from exc
    _assert_valid_subset(name, result, 100, 15)


@_check_doc
def check_selector_rejects_bad_budget(selector):
    """Budget 0, above n, or a fraction outside (0, 1] raise, never select."""
    name = type(selector).__name__
    view = make_view(40, 3, 2, seed=7)
    sel = _with_seed(selector, 0)
    for budget in (0, -1, 41, 1.5, 0.0):
        try:
            sel.select(view, budget)
        except (ValueError, TypeError):
            continue
        except Exception as exc:
            raise _unexpected(name, f"budget {budget!r}", exc) from exc
        raise AssertionError(f"{name}: budget {budget!r} of 40 rows was accepted.")


@_check_doc
def check_selector_single_class(selector):
    """A classification view holding a single class raises ValueError."""
    name = type(selector).__name__
    rng = np.random.RandomState(8)
    p = np.full((30, 2), 0.5)
    view = LastLayer(rng.randn(30, 3), p, np.zeros(30, dtype=int))
    sel = _with_seed(selector, 0)
    try:
        sel.select(view, 5)
    except ValueError:
        return
    except Exception as exc:
        raise _unexpected(name, "a single-class view", exc) from exc
    raise AssertionError(f"{name}: a single-class view was accepted.")


@_check_doc
def check_selector_rejects_non_view(selector):
    """Raw arrays instead of a LastLayer raise TypeError or ValueError."""
    name = type(selector).__name__
    sel = _with_seed(selector, 0)
    try:
        sel.select(np.ones((10, 2)), 3)
    except (TypeError, ValueError):
        return
    raise AssertionError(f"{name}: select accepted a raw array as the view.")


_CHECKS = (
    check_selector_clone,
    check_selector_subset_contract,
    check_selector_budget_forms,
    check_selector_reproducible,
    check_selector_does_not_mutate,
    check_selector_pickle,
    check_selector_regression,
    check_selector_rejects_bad_budget,
    check_selector_single_class,
    check_selector_rejects_non_view,
)


def _yield_checks():
    yield from _CHECKS


def check_selector(selector):
    """Run every conformance check on ``selector``; raise on the first failure.

    Parameters
    ----------
    selector : selector instance
        Anything with ``get_params`` and ``select(view, budget, *, validation)``.

    Raises
    ------
    AssertionError
        Naming the check and what is wrong.

    Examples
    --------
    >>> from subsetml.selection import RandomSelector
    >>> from subsetml.utils.estimator_checks import check_selector
    >>> check_selector(RandomSelector(random_state=0))
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for check in _yield_checks():
            check(selector)


def parametrize_with_selector_checks(selectors):
    """``pytest.mark.parametrize`` over every (selector, check) pair.

    Parameters
    ----------
    selectors : list of selector instances

    Returns
    -------
    decorator
        Parametrises the arguments ``selector`` and ``check``; call
        ``check(selector)`` in the test body.

    Examples
    --------
    >>> from subsetml.selection import RandomSelector
    >>> from subsetml.utils.estimator_checks import parametrize_with_selector_checks
    >>> @parametrize_with_selector_checks([RandomSelector(random_state=0)])
    ... def test_conformance(selector, check):
    ...     check(selector)
    """
    import pytest

    pairs, ids = [], []
    for sel in selectors:
        for check in _yield_checks():
            pairs.append((sel, check))
            ids.append(f"{type(sel).__name__}-{check.__name__}")
    return pytest.mark.parametrize("selector, check", pairs, ids=ids)
