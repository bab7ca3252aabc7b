"""Search spaces: every accepted spelling becomes one internal form.

Accepted per dimension (the dictionary value):

* scikit-optimize ``Real``, ``Integer`` and ``Categorical`` objects;
* tuples ``(low, high)``, ``(low, high, prior)`` and ``(low, high, prior, base)``
  with ``prior`` in ``{"uniform", "log-uniform"}``: an ``int`` range when both
  bounds are integers, a ``float`` range otherwise (scikit-optimize's rule);
* lists (and other tuples): a categorical choice, as in ``GridSearchCV``. This
  is what scikit-optimize announces as its own future rule; today it still reads
  a list of two numbers as a range, so such a list draws a ``UserWarning``
  naming both spellings (a tuple for a range, ``Categorical`` for choices);
* Optuna distributions (``FloatDistribution``, ``IntDistribution``,
  ``CategoricalDistribution``);
* frozen ``scipy.stats`` distributions: ``uniform``, ``loguniform`` and
  ``randint`` become native ranges; any other is searched in quantile space
  (the optimiser proposes ``u`` in (0, 1), the estimator receives
  ``dist.ppf(u)``), which is exact for random sampling and lets TPE model any
  shape.

Neither Optuna nor scikit-optimize is imported here until a space is built
(``import subsetml.model_selection`` stays light).
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from subsetml._validation import external_stacklevel

__all__ = ["Dimension", "SearchSpace", "check_search_spaces"]

_PRIORS = ("uniform", "log-uniform")
# Optuna categorical choices must be one of these; anything else is encoded by
# position and decoded back to the original object.
_OPTUNA_SCALARS = (type(None), bool, int, float, str)
# Quantile-space dimensions never touch the infinite tails.
_EPS = 1e-6


class SpaceTypeError(TypeError, ValueError):
    """A search-space entry of a type that is no dimension.

    A ``TypeError`` by scikit-learn's convention, and a ``ValueError`` as
    ``BayesSearchCV`` raises it, so code written for either catches it.
    """


@dataclass
class Dimension:
    """One searched hyper-parameter in the internal form.

    Parameters
    ----------
    name : str
        The estimator parameter (``"C"``, ``"clf__alpha"``).
    kind : {"float", "int", "categorical", "quantile"}
    low, high : float or int
        Bounds (inclusive) of ``"float"`` and ``"int"`` ranges.
    log : bool
        Log-uniform prior on a range.
    choices : tuple
        Options of a categorical dimension.
    dist : frozen scipy.stats distribution
        For ``"quantile"`` dimensions.

    Examples
    --------
    >>> from subsetml.model_selection._spaces import Dimension
    >>> Dimension("C", "float", low=1e-3, high=1e3, log=True).decode(0.5)
    0.5
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple = field(default_factory=tuple)
    dist: object = None
    step: float | int | None = None

    @property
    def n_steps(self):
        """Values of a stepped range (``low``, ``low + step``, ... ``high``)."""
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1

    @property
    def encoded(self):
        """Whether categorical choices travel to Optuna as positions: choices
        other than Optuna's scalars, and choices of which two compare equal
        (``1`` and ``1.0``, ``0`` and ``False``, a repeated choice). Optuna
        reads those back by value, as the first equal one (a trial that
        chose ``1.0`` was modelled, and queued again, as ``1``), and
        scikit-optimize's GP cannot encode them."""
        if self.kind != "categorical":
            return False
        if not all(type(c) in _OPTUNA_SCALARS for c in self.choices):
            return True
        if any(isinstance(c, float) and c != c for c in self.choices):
            # NaN (SimpleImputer's missing_values): equal to nothing, not
            # even itself, so the GP's space could not place it (a review).
            return True
        return len(set(self.choices)) < len(self.choices)

    def to_optuna(self):
        """The Optuna distribution the optimiser samples from."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.step is not None:
            # Positions on the grid: the same for every optimiser (the GP's
            # scikit-optimize has no steps), decoded to low + i * step.
            return IntDistribution(0, self.n_steps - 1)
        if self.kind == "float":
            return FloatDistribution(self.low, self.high, log=self.log)
        if self.kind == "int":
            return IntDistribution(self.low, self.high, log=self.log)
        if self.kind == "quantile":
            return FloatDistribution(_EPS, 1.0 - _EPS)
        if self.encoded:
            return CategoricalDistribution(tuple(range(len(self.choices))))
        return CategoricalDistribution(self.choices)

    def describe(self):
        """What the optimiser's values stand for, as text: the choices behind
        positions and a quantile dimension's distribution, which
        :meth:`to_optuna` leaves out (a resumed study must not read stored
        positions or quantiles as other values)."""
        if self.kind == "quantile":
            return _no_address(_describe_scipy(self.dist))
        if self.step is not None:
            return f"{self.kind} from {self.low!r} to {self.high!r} by {self.step!r}"
        if self.encoded:
            return _no_address(repr(self.choices))
        return repr(self.to_optuna())

    def to_skopt(self):
        """The scikit-optimize dimension of the estimator's values, named.

        It holds what a trial's parameters hold (``x_iters``), not what the
        optimiser samples: the choices themselves rather than their positions,
        and for a ``"quantile"`` dimension the range of values its quantiles
        reach, with a uniform prior (which only matters to draw points from
        it). Imports scikit-optimize.
        """
        from skopt.space import Categorical, Integer, Real

        from subsetml.model_selection._samplers import _skopt_dimension

        if self.kind == "quantile":
            low, high = self.decode(_EPS), self.decode(1.0 - _EPS)
            dim = (Integer if _whole_numbers(self.dist) else Real)(low, high)
        elif self.step is not None:
            dim = (Integer if self.kind == "int" else Real)(self.low, self.high)
        elif self.encoded:
            try:
                dim = Categorical(self.choices)
            except TypeError:
                # Unhashable choices (lists, dicts): skopt's default one-hot
                # encoding keys a dict by them; this one compares them as
                # they are, which is all its distance needs.
                dim = Categorical(self.choices, transform="identity")
        else:
            dim = _skopt_dimension(self.to_optuna())
        dim.name = self.name
        return dim

    def decode(self, value):
        """The estimator's parameter value for the optimiser's ``value``."""
        if self.kind == "categorical" and self.encoded:
            return self.choices[int(value)]
        if self.step is not None:
            if self.kind == "int":
                return int(self.low + int(value) * self.step)
            # Rounded as Optuna rounds its stepped values (0.1 + 2 * 0.1 is
            # 0.30000000000000004).
            return float(round(self.low + int(value) * self.step, 12))
        if self.kind == "quantile":
            x = self.dist.ppf(value)
            x = x.item() if hasattr(x, "item") else x
            if _is_discrete(self.dist) and float(x).is_integer():
                # A count (randint, poisson) as an int; rv_discrete(values=...)
                # may hold other numbers, which pass as they are (they were
                # rounded to ints: 0.5 became 0, a review).
                return int(x)
            return float(x)
        return value


@dataclass
class SearchSpace:
    """An ordered collection of :class:`Dimension` and its trial budget.

    Examples
    --------
    >>> from subsetml.model_selection._spaces import check_search_spaces
    >>> [space] = check_search_spaces({"C": (1e-3, 1e3, "log-uniform")}, 10)
    >>> space.names, space.n_iter
    (['C'], 10)
    """

    dimensions: list
    n_iter: int

    @property
    def names(self):
        return [d.name for d in self.dimensions]

    def to_optuna(self):
        """``{name: optuna distribution}`` in the user's order."""
        return {d.name: d.to_optuna() for d in self.dimensions}

    def describe(self):
        """``{name: what its values stand for}`` (see :meth:`Dimension.describe`)."""
        return {d.name: d.describe() for d in self.dimensions}

    def decode(self, params):
        """Estimator parameters from an Optuna trial's ``params``."""
        return {d.name: d.decode(params[d.name]) for d in self.dimensions}

    def point(self, params):
        """A trial's ``params`` as a point of :meth:`to_skopt`: the values of
        the dimensions in sorted name order, as ``BayesSearchCV`` lists them
        (other keys, such as a resource rung's, are left out)."""
        return [params[name] for name in sorted(self.names)]

    def to_skopt(self):
        """The ``skopt.space.Space`` of :meth:`point`: each dimension's
        :meth:`Dimension.to_skopt`, in sorted name order. Imports
        scikit-optimize."""
        from skopt.space import Space

        return Space(
            [d.to_skopt() for d in sorted(self.dimensions, key=lambda d: d.name)]
        )


def check_search_spaces(search_spaces, n_iter):
    """Validate ``search_spaces`` and convert it to a list of :class:`SearchSpace`.

    Parameters
    ----------
    search_spaces : dict, list of dict, or list of (dict, int)
        As ``BayesSearchCV`` takes it. Each dictionary maps parameter names to
        dimensions; a ``(dict, n)`` pair gives that space its own trial count.
    n_iter : int
        Trials for every space without its own count.

    Returns
    -------
    spaces : list of SearchSpace

    Examples
    --------
    >>> from subsetml.model_selection._spaces import check_search_spaces
    >>> spaces = check_search_spaces(
    ...     [({"C": (0.1, 10.0)}, 5), {"kernel": ["rbf", "linear"]}], n_iter=3
    ... )
    >>> [(s.names, s.n_iter) for s in spaces]
    [(['C'], 5), (['kernel'], 3)]
    >>> spaces[0].dimensions[0].kind, spaces[1].dimensions[0].choices
    ('float', ('rbf', 'linear'))
    """
    if isinstance(search_spaces, dict):
        entries = [(search_spaces, n_iter)]
    elif isinstance(search_spaces, (list, tuple)):
        if len(search_spaces) == 0:
            raise ValueError("search_spaces is an empty list; give at least one space.")
        entries = []
        for i, entry in enumerate(search_spaces):
            if isinstance(entry, dict):
                entries.append((entry, n_iter))
            elif (
                isinstance(entry, tuple)
                and len(entry) == 2
                and isinstance(entry[0], dict)
            ):
                entries.append(entry)
            else:
                raise TypeError(
                    f"search_spaces[{i}] must be a dict or a (dict, n_iter) pair, "
                    f"got {type(entry).__name__}: {entry!r}."
                )
    else:
        raise TypeError(
            "search_spaces must be a dict, a list of dicts or a list of "
            f"(dict, n_iter) pairs, got {type(search_spaces).__name__}."
        )
    spaces = []
    for i, (space, count) in enumerate(entries):
        where = "search_spaces" if len(entries) == 1 else f"search_spaces[{i}]"
        if (
            isinstance(count, bool)
            or not isinstance(count, numbers.Integral)
            or count < 1
        ):
            raise ValueError(
                f"The number of trials for {where} must be an integer >= 1, got "
                f"{count!r}."
            )
        if not space:
            raise ValueError(f"{where} is empty; give at least one dimension.")
        dims = []
        for name, value in space.items():
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"Parameter names in {where} must be non-empty strings, got "
                    f"{name!r}."
                )
            dims.append(_to_dimension(name, value, where))
        spaces.append(SearchSpace(dims, int(count)))
    return spaces


def _routed_prefixes(estimator):
    """Prefixes a skorch net routes to its parts (``module__hidden``...)."""
    from subsetml._adapters import adapter_for

    adapter = adapter_for(estimator)
    return () if adapter is None else adapter.routed_prefixes(estimator)


def _accepts(estimator, params, name):
    """Whether ``estimator.set_params(name=...)`` names a parameter."""
    if name in params:
        return True
    # skorch nets take any ``<prefix>__<argument>`` for their module,
    # criterion, optimizer, iterators and callbacks, set or not.
    parts = name.split("__")
    for i in range(len(parts) - 2, -1, -1):
        owner = estimator if i == 0 else params.get("__".join(parts[:i]))
        if owner is not None and parts[i] in _routed_prefixes(owner):
            return True
    return False


def check_resource_name(resource, spaces, estimator):
    """Raise unless ``resource`` is a parameter of ``estimator`` that no space
    searches (the rungs set it)."""
    if not _accepts(estimator, estimator.get_params(deep=True), resource):
        raise ValueError(
            f"resource={resource!r} is not a parameter of "
            f"{type(estimator).__name__}; name one it takes, such as "
            "'max_epochs' for a skorch net ('net__max_epochs' in a Pipeline)."
        )
    for space in spaces:
        if resource in space.names:
            raise ValueError(
                f"resource={resource!r} is also a search space dimension: the "
                "rungs set it (resource_rungs), so it cannot be searched too. "
                "Remove it from search_spaces."
            )


def check_space_names(spaces, estimator):
    """Raise when a dimension is not a parameter of ``estimator``.

    A space may set a step (``"model": [SVC(), LogisticRegression()]``, or a
    ``None`` placeholder in the pipeline) and search that step's parameters
    (``"model__C"``): those are checked against every estimator the space
    can put there, since each trial sets them on the one it chose.
    """
    valid = estimator.get_params(deep=True)
    for space in spaces:
        steps = {
            d.name: d.choices
            for d in space.dimensions
            if d.kind == "categorical"
            and any(hasattr(c, "get_params") for c in d.choices)
        }
        unknown, partial = [], {}
        for name in space.names:
            owner = _set_step(name, steps)
            if owner is None:
                if not _accepts(estimator, valid, name):
                    unknown.append(name)
                continue
            rest = name[len(owner) + 2 :]
            refuse = [
                type(c).__name__
                for c in steps[owner]
                if not (
                    hasattr(c, "get_params")
                    and _accepts(c, c.get_params(deep=True), rest)
                )
            ]
            if len(refuse) == len(steps[owner]):
                unknown.append(name)
            elif refuse:
                partial[name] = refuse
        if unknown:
            raise ValueError(
                f"Search space dimension(s) {unknown} are not parameters of "
                f"{type(estimator).__name__} (nor of the estimators the space "
                f"sets for {sorted(steps) or 'no step'}). Valid parameters: "
                f"{sorted(valid)}."
            )
        if partial:
            detail = "; ".join(
                f"{n} (not of {', '.join(r)})" for n, r in partial.items()
            )
            raise ValueError(
                f"Search space dimension(s) {detail} belong to some of the "
                "estimators a step can take, not all: a trial that chose "
                "another would fail. Give each estimator its own space, as a "
                "list of spaces: [{'model': [SVC()], 'model__C': ...}, "
                "{'model': [DecisionTreeClassifier()], 'model__max_depth': ...}]."
            )


def _set_step(name, steps):
    """The longest dimension in ``steps`` that ``name`` is a parameter of."""
    owners = [s for s in steps if name.startswith(s + "__")]
    return max(owners, key=len) if owners else None


# --------------------------------------------------------------- conversion
def _two_numbers(value):
    """A plain list (or array) of exactly two real numbers, not bools."""
    if isinstance(value, tuple) or len(value) != 2:
        return False
    return all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
        for v in value
    )


#: Words a range's prior is written with, put first by mistake.
_PRIOR_WORDS = frozenset(
    {"log", "log-uniform", "loguniform", "uniform", "int", "float", "int-log"}
)


def _prior_first(value):
    """``(prior, low, high)``: a prior's name, then two numbers."""
    return (
        len(value) == 3
        and isinstance(value[0], str)
        and value[0].lower() in _PRIOR_WORDS
        and _is_number(value[1])
        and _is_number(value[2])
    )


def _range_spelling(word, low, high):
    """``(low, high, prior)`` for a range written ``(word, low, high)``:
    whole-number bounds for ``"int"`` words, float bounds otherwise (a range
    of ints is searched over integers)."""
    word = word.lower()
    prior = "log-uniform" if "log" in word else "uniform"
    if word.startswith("int"):
        whole = float(low).is_integer() and float(high).is_integer()
        return (int(low), int(high), prior) if whole else (low, high, prior)
    return float(low), float(high), prior


def _to_dimension(name, value, where):
    label = f"{where}[{name!r}]"
    module = type(value).__module__ or ""
    if module.startswith("skopt"):
        return _from_skopt(name, value, label)
    if module.startswith("optuna"):
        return _from_optuna(name, value, label)
    if _is_frozen_scipy(value):
        return _from_scipy(name, value, label)
    if _is_scipy_distribution(value):
        return _from_scipy(name, _freeze(value, label), label)
    if isinstance(value, tuple) and _is_range_tuple(value):
        low, high = value[0], value[1]
        prior = value[2] if len(value) >= 3 else "uniform"
        return _range(name, low, high, prior, label)
    if isinstance(value, range):
        # A range of choices, as GridSearchCV takes it (never ambiguous).
        return _categorical(name, list(value), label)
    if isinstance(value, (list, tuple)) or (
        isinstance(value, np.ndarray) and value.ndim >= 1
    ):
        if _two_numbers(value):
            # scikit-optimize 0.10 still reads this as a range (warning that
            # it will change): say which reading we take, and how to get
            # the other.
            low, high = value[0], value[1]
            warnings.warn(
                f"{label} = {list(value)!r} is searched as two choices, as in "
                "GridSearchCV and as scikit-optimize announces for its next "
                "versions (its current one reads a range). For a range pass "
                f"the tuple ({low!r}, {high!r}); pass Categorical({list(value)!r}) "
                "to silence this warning.",
                UserWarning,
                stacklevel=external_stacklevel(),
            )
        nested = [v for v in value if _is_dimension(v)]
        if nested and not isinstance(value, np.ndarray):
            # {"C": (Real(...), 10)}: a (space, n_iter) pair one level too
            # deep, searched as the choices Real(...) and 10 before (a
            # review); scikit-optimize refuses it too.
            raise SpaceTypeError(
                f"{label} = {value!r} holds a dimension among its choices. A "
                "dimension is the parameter's value itself "
                f"({{{name!r}: {nested[0]!r}}}); a number of trials for a space "
                "goes with the whole space: search_spaces=[(space, n_iter)]."
            )
        if _prior_first(value):
            # ("log", 1e-2, 1e3) reads as three choices, one of them the
            # string: most likely a range written prior first.
            low, high, prior = _range_spelling(*value)
            warnings.warn(
                f"{label} = {value!r} is searched as three choices, the "
                f"string {value[0]!r} among them. For a range pass "
                f"({low!r}, {high!r}, {prior!r}): low, high, then the prior; "
                f"pass Categorical({list(value)!r}) to silence this warning.",
                UserWarning,
                stacklevel=external_stacklevel(),
            )
        return _categorical(name, list(value), label)
    raise SpaceTypeError(
        f"{label} must be a (low, high[, prior]) tuple, a list of choices, a "
        "scikit-optimize dimension, an Optuna distribution or a frozen "
        f"scipy.stats distribution; got {type(value).__name__}: {value!r}."
    )


def _is_dimension(value):
    """A scikit-optimize dimension, an Optuna distribution or a scipy.stats
    distribution (frozen or not): a parameter's whole range, not a choice
    (a model of scikit-optimize's, say, is a choice)."""
    if _is_scipy_distribution(value) or _is_frozen_scipy(value):
        return True
    module = type(value).__module__
    if module.startswith("skopt"):
        from skopt.space import Dimension

        return isinstance(value, Dimension)
    if module.startswith("optuna"):
        from optuna.distributions import BaseDistribution

        return isinstance(value, BaseDistribution)
    return False


def _is_frozen_scipy(value):
    """A frozen scipy.stats distribution (or one shaped like it)."""
    return hasattr(value, "dist") and hasattr(value, "ppf") and hasattr(value, "rvs")


def _is_scipy_distribution(value):
    """A scipy.stats distribution object that is not frozen."""
    from scipy.stats import rv_continuous, rv_discrete

    return isinstance(value, (rv_continuous, rv_discrete))


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_range_tuple(value):
    if len(value) == 2:
        return _is_number(value[0]) and _is_number(value[1])
    if len(value) in (3, 4):
        # (low, high, prior[, base]) as scikit-optimize spells it.
        return (
            _is_number(value[0])
            and _is_number(value[1])
            and isinstance(value[2], str)
            and (len(value) == 3 or _is_number(value[3]))
        )
    return False


def _range(name, low, high, prior, label, kind=None):
    # kind: "int" or "float" as a typed dimension says (scikit-optimize's
    # Real(0, 1) keeps int bounds yet is continuous); None: by the bounds' types.
    if prior not in _PRIORS:
        raise ValueError(f"{label}: prior must be one of {_PRIORS}, got {prior!r}.")
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{label}: bounds must be finite, got ({low}, {high}).")
    if not low < high:
        raise ValueError(f"{label}: low must be below high, got ({low}, {high}).")
    log = prior == "log-uniform"
    if log and low <= 0:
        raise ValueError(f"{label}: a log-uniform range needs low > 0, got {low}.")
    if kind is None:
        ints = isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral)
        kind = "int" if ints else "float"
    if kind == "int":
        return Dimension(name, "int", low=int(low), high=int(high), log=log)
    return Dimension(name, "float", low=float(low), high=float(high), log=log)


def _categorical(name, choices, label):
    if len(choices) == 0:
        raise ValueError(f"{label} has no choices.")
    choices = tuple(c.item() if isinstance(c, np.generic) else c for c in choices)
    return Dimension(name, "categorical", choices=choices)


def _from_skopt(name, dim, label):
    kind = type(dim).__name__
    if kind in ("Real", "Integer"):
        return _range(
            name,
            dim.low,
            dim.high,
            dim.prior,
            label,
            kind="float" if kind == "Real" else "int",
        )
    if kind == "Categorical":
        if getattr(dim, "prior", None) is not None:
            probs = np.asarray(dim.prior, dtype=float)
            if not np.allclose(probs, probs[0]):
                raise ValueError(
                    f"{label}: categorical priors other than uniform are not "
                    "supported; drop the prior or repeat choices."
                )
        return _categorical(name, list(dim.categories), label)
    raise TypeError(f"{label}: unsupported scikit-optimize dimension {kind}.")


def _from_optuna(name, dist, label):
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    # By class, so that the deprecated spellings still in Optuna
    # (LogUniformDistribution, IntUniformDistribution...) are read as the
    # distributions they are.
    kind = type(dist).__name__
    if isinstance(dist, FloatDistribution):
        kind = "FloatDistribution"
    elif isinstance(dist, IntDistribution):
        kind = "IntDistribution"
    elif isinstance(dist, CategoricalDistribution):
        kind = "CategoricalDistribution"
    if kind == "FloatDistribution":
        if dist.step is not None:
            return _stepped(name, "float", dist)
        return Dimension(name, "float", low=dist.low, high=dist.high, log=dist.log)
    if kind == "IntDistribution":
        if dist.step != 1:
            return _stepped(name, "int", dist)
        return Dimension(name, "int", low=dist.low, high=dist.high, log=dist.log)
    if kind == "CategoricalDistribution":
        return _categorical(name, list(dist.choices), label)
    raise TypeError(f"{label}: unsupported Optuna distribution {kind}.")


def _stepped(name, kind, dist):
    """A range with a step (Optuna's ``step=``; its ``high`` is already on the
    grid: Optuna moves it there). Optuna takes no ``log`` with a step."""
    cast = int if kind == "int" else float
    return Dimension(
        name, kind, low=cast(dist.low), high=cast(dist.high), step=cast(dist.step)
    )


def _no_address(text):
    """``text`` without the memory addresses of default reprs (they change
    between processes)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)


def _describe_scipy(frozen):
    """A frozen distribution as text: its name and arguments, and where the
    name does not say which distribution it is (``rv_discrete(values=...)``,
    ``rv_histogram``, a subclass of one's own: their data are no argument)
    a hash of its quantile function too, so that two with other data differ."""
    import hashlib

    import scipy.stats

    dist = frozen.dist
    name = getattr(dist, "name", None) or type(dist).__name__
    text = f"{name}{frozen.args!r}{sorted(frozen.kwds.items())!r}"
    if type(getattr(scipy.stats, name, None)) is not type(dist):
        qs = np.clip(np.linspace(0.0, 1.0, 1001), _EPS, 1.0 - _EPS)
        ppf = ",".join(f"{x:.12g}" for x in np.asarray(frozen.ppf(qs), dtype=float))
        text += f" ppf {hashlib.sha256(ppf.encode()).hexdigest()[:16]}"
    return text


def _is_discrete(frozen):
    from scipy.stats import rv_discrete

    return isinstance(frozen.dist, rv_discrete)


def _whole_numbers(frozen):
    """Whether a frozen distribution draws only whole numbers: a discrete
    one whose quantiles are all integers."""
    if not _is_discrete(frozen):
        return False
    qs = np.clip(np.linspace(0.0, 1.0, 1001), _EPS, 1.0 - _EPS)
    values = np.asarray(frozen.ppf(qs), dtype=float)
    return bool(np.all(values == np.round(values)))


def _freeze(value, label):
    """A scipy.stats distribution object (``rv_discrete(values=...)``,
    ``rv_histogram(...)``, ``scipy.stats.uniform``) frozen with its default
    parameters, as ``RandomizedSearchCV`` draws from it with ``rvs()``."""
    try:
        frozen = value()
        frozen.ppf(0.5)
    except Exception as exc:
        raise SpaceTypeError(
            f"{label} is the scipy.stats distribution "
            f"{getattr(value, 'name', type(value).__name__)!r}, which needs "
            f"parameters ({exc}); freeze it with them, e.g. scipy.stats.gamma(2)."
        ) from None
    return frozen


def _from_scipy(name, frozen, label):
    dist_name = getattr(frozen.dist, "name", "")
    low, high = (float(b) for b in frozen.support())
    if dist_name == "uniform":
        return _range(name, low, high, "uniform", label)
    if (
        dist_name in ("loguniform", "reciprocal")
        and low > 0
        and np.isclose(frozen.ppf(0.5), np.sqrt(low * high))
    ):
        # Log-uniform on [low, high] unless a loc shifted it (then the median
        # is no longer the geometric mean and the quantile path is exact).
        return _range(name, low, high, "log-uniform", label)
    if dist_name == "randint":
        # support() is inclusive: [low, high - 1] of randint(low, high).
        return _range(name, int(low), int(high), "uniform", label)
    return Dimension(name, "quantile", dist=frozen)


def task_estimator(estimator, spaces):
    """The estimator whose type (classifier or regressor) the search acts on.

    A Pipeline ending in a ``None`` placeholder that the space fills
    (``{"model": [SVC(), LogisticRegression()]}``) is neither to
    ``is_classifier`` nor ``is_regressor``. When every estimator the spaces
    can put in its steps makes it a classifier (or every one a regressor),
    that filled Pipeline is returned: subsets then cover the classes and
    string labels are accepted, as for a plain classifier. Otherwise, or
    when the type is already known, ``estimator`` itself.

    Examples
    --------
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.svm import SVC
    >>> from sklearn.base import is_classifier
    >>> pipe = Pipeline([("scale", StandardScaler()), ("model", None)])
    >>> spaces = check_search_spaces({"model": [SVC()]}, 5)
    >>> is_classifier(task_estimator(pipe, spaces))
    True
    """
    from sklearn.base import clone, is_classifier, is_regressor

    if is_classifier(estimator) or is_regressor(estimator):
        return estimator
    filled = []
    for space in spaces:
        for d in space.dimensions:
            if d.kind != "categorical" or not d.choices:
                continue
            if not all(hasattr(c, "get_params") for c in d.choices):
                continue
            for choice in d.choices:
                try:
                    filled.append(clone(estimator).set_params(**{d.name: choice}))
                except (ValueError, TypeError, AttributeError):
                    return estimator  # a step nested in another choice
    for kind in (is_classifier, is_regressor):
        if filled and all(kind(f) for f in filled):
            return filled[0]
    return estimator
