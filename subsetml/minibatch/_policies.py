"""Per-minibatch selection policies: the baselines that AdaSelection mixes.

Each policy maps a scored batch (:class:`ScoredBatch`: per-sample losses,
gradient-norm proxies, prediction errors, row ids) to a probability
distribution over the batch's rows. Used alone inside
:class:`~subsetml.skorch.AdaSelectionClassifier` it is the corresponding
baseline of Zhang et al. (2023): the ``k`` rows with the highest probability
are back-propagated. Mixed, the distributions are combined with adaptive
weights.

The module is pure numpy (no torch: the package :mod:`subsetml.minibatch`
never imports it), so the policies are easy to test on constructed batches;
:mod:`subsetml.skorch` re-exports them.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator

from subsetml._validation import check_number

__all__ = [
    "AdaBoostPolicy",
    "BasePolicy",
    "BigLossPolicy",
    "GradientNormPolicy",
    "LossExtremesPolicy",
    "ScoredBatch",
    "SmallLossPolicy",
    "TypicalLossPolicy",
    "UniformPolicy",
    "make_policy",
]


@dataclass(frozen=True)
class ScoredBatch:
    """What a policy sees of one minibatch.

    Parameters
    ----------
    losses : ndarray of shape (n_rows,)
        Per-sample loss of the current model (times the sample weight, when
        the data are weighted).
    grad_norms : ndarray of shape (n_rows,)
        A cheap proxy for the norm of each sample's gradient: ``||p - onehot(y)||``
        for classification (``p`` the predicted probabilities), ``||y_pred - y||``
        for regression.
    errors : ndarray of shape (n_rows,)
        Classification: 1.0 where the prediction is wrong, else 0.0.
        Regression: the absolute error ``||y_pred - y||``.
    row_ids : ndarray of shape (n_rows,) of int, default=None
        Position of each row in the training set, stable across epochs.
        Needed by policies with per-row state (:class:`AdaBoostPolicy`).
    n_classes : int, default=None
        Number of classes; ``None`` for regression.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import ScoredBatch
    >>> batch = ScoredBatch(losses=np.array([0.1, 2.0, 0.5]),
    ...                     grad_norms=np.array([0.1, 1.2, 0.6]),
    ...                     errors=np.array([0.0, 1.0, 0.0]), n_classes=3)
    >>> batch.size
    3
    """

    losses: np.ndarray
    grad_norms: np.ndarray
    errors: np.ndarray
    row_ids: np.ndarray | None = None
    n_classes: int | None = None

    def __post_init__(self):
        size = None
        for name in ("losses", "grad_norms", "errors", "row_ids"):
            value = getattr(self, name)
            if value is None:
                continue
            if name == "row_ids":
                value = _row_ids(value)
            else:
                value = np.asarray(value, dtype=np.float64)
            if value.ndim != 1:
                raise ValueError(f"ScoredBatch.{name} must be 1-d, got {value.shape}.")
            if size is None:
                size = value.shape[0]
            elif value.shape[0] != size:
                raise ValueError(
                    f"ScoredBatch.{name} has {value.shape[0]} rows, expected {size}."
                )
            object.__setattr__(self, name, value)
        if size == 0:
            raise ValueError("ScoredBatch needs at least one row.")

    @property
    def size(self):
        """Number of rows in the batch."""
        return self.losses.shape[0]

    @property
    def is_classification(self):
        """Whether the batch comes from a classifier (``n_classes`` is set)."""
        return self.n_classes is not None

    def take(self, mask):
        """The rows selected by a boolean mask or an index array."""
        return ScoredBatch(
            losses=self.losses[mask],
            grad_norms=self.grad_norms[mask],
            errors=self.errors[mask],
            row_ids=None if self.row_ids is None else self.row_ids[mask],
            n_classes=self.n_classes,
        )


def _row_ids(value):
    """Row ids as int64; floats only when whole (a cast would truncate
    0.5 to row 0, another row's state)."""
    value = np.asarray(value)
    if value.dtype.kind not in "iu":
        ids = np.asarray(value, dtype=np.float64)
        if ids.size and not (np.all(np.isfinite(ids)) and np.all(ids == np.floor(ids))):
            raise ValueError(
                "ScoredBatch.row_ids must be whole numbers (positions of rows "
                f"in the training set), got {value[:5]!r}."
            )
    value = np.asarray(value, dtype=np.int64)
    if value.size and value.min() < 0:
        raise ValueError(
            "ScoredBatch.row_ids must be positions of rows in the training set "
            f"(0 or more), got {value[value < 0][:5]!r}."
        )
    return value


class BasePolicy(BaseEstimator):
    """Base class of the per-minibatch policies.

    Subclasses write :meth:`_distribution`; :meth:`distribution` validates its
    input, calls the hook and normalises the result. Policies with per-row
    state also override :meth:`reset` (called once before training, with the
    number of training rows) and :meth:`observe` (called with the freshly
    scored rows of every batch, before :meth:`distribution`). Parameters are
    constructor arguments, so policies can be cloned and tuned like any
    scikit-learn estimator; state lives in attributes ending in ``_``.

    Attributes
    ----------
    curriculum : {"easy", "hard", "neutral"}
        Class attribute: whether the policy favours easy rows (raised early by
        the curriculum term), hard rows (raised late) or neither.
    paper_name : str
        Class attribute: the policy's name in Zhang et al. (2023).

    Examples
    --------
    A policy that favours misclassified rows:

    >>> import numpy as np
    >>> from subsetml.minibatch import BasePolicy, ScoredBatch
    >>> class WrongRows(BasePolicy):
    ...     curriculum = "hard"
    ...     def _distribution(self, batch, k):
    ...         return batch.errors + 1e-3
    >>> batch = ScoredBatch(losses=np.array([0.1, 2.0, 0.5]),
    ...                     grad_norms=np.array([0.1, 1.2, 0.6]),
    ...                     errors=np.array([0.0, 1.0, 0.0]), n_classes=3)
    >>> WrongRows().distribution(batch, k=1).round(3)
    array([0.001, 0.998, 0.001])
    """

    curriculum = "neutral"
    paper_name = ""

    def reset(self, n_rows):
        """Forget any per-row state before training on ``n_rows`` rows.

        Parameters
        ----------
        n_rows : int
            Number of training rows; row ids are ``0 .. n_rows - 1``.

        Returns
        -------
        self : BasePolicy
        """
        return self

    def observe(self, batch):
        """Update per-row state from freshly scored rows (default: nothing).

        Parameters
        ----------
        batch : ScoredBatch
            Rows scored by the current model in this step.

        Returns
        -------
        self : BasePolicy
        """
        return self

    def distribution(self, batch, k):
        """Probability of each row of ``batch`` being worth back-propagating.

        Parameters
        ----------
        batch : ScoredBatch
            The scored minibatch.
        k : int
            How many rows will be kept, ``1 <= k <= batch.size``.

        Returns
        -------
        p : ndarray of shape (batch.size,)
            Non-negative, sums to one.
        """
        if not isinstance(batch, ScoredBatch):
            raise TypeError(f"batch must be a ScoredBatch, got {type(batch).__name__}.")
        if type(k) is not int:
            if isinstance(k, bool) or not isinstance(k, numbers.Integral):
                raise TypeError(
                    f"k must be an integer (rows to keep), got {k!r} of type "
                    f"{type(k).__name__}."
                )
            k = int(k)
        if not 1 <= k <= batch.size:
            raise ValueError(f"k must be in [1, {batch.size}], got {k}.")
        p = np.asarray(self._distribution(batch, k), dtype=np.float64)
        if type(self) in _BUILT_IN:
            # Ours return non-negative weights by construction: one sum
            # (needed anyway) catches NaN, inf and all-zero; the full checks
            # below are for subclasses.
            total = p.sum()
            if np.isfinite(total) and total > 0:
                return p / total
        if p.shape != (batch.size,):
            raise ValueError(
                f"{type(self).__name__}._distribution returned shape {p.shape}, "
                f"expected ({batch.size},)."
            )
        if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ValueError(
                f"{type(self).__name__}._distribution returned invalid "
                "probabilities (negative, non-finite or all zero)."
            )
        return p / p.sum()

    def _distribution(self, batch, k):
        raise NotImplementedError


def _standardise(values):
    std = values.std()
    if not np.isfinite(std) or std <= 0:
        return np.zeros_like(values)
    return (values - values.mean()) / std


def _softmax(z):
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def _check_temperature(temperature):
    # Called at every step: a plain positive float takes the fast path.
    if type(temperature) is float and 0.0 < temperature < np.inf:
        return temperature
    check_number(
        temperature, "temperature", low=0, include_low=False, description="positive"
    )
    return float(temperature)


class UniformPolicy(BasePolicy):
    """Every row equally likely (the paper's *Uniform* baseline).

    Alone, top-k selection breaks the ties at random, so this is plain random
    subsampling of each minibatch.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import ScoredBatch, UniformPolicy
    >>> batch = ScoredBatch(np.array([1.0, 3.0]), np.ones(2), np.zeros(2))
    >>> UniformPolicy().distribution(batch, k=1)
    array([0.5, 0.5])
    """

    paper_name = "Uniform"

    def _distribution(self, batch, k):
        return np.full(batch.size, 1.0 / batch.size)


class BigLossPolicy(BasePolicy):
    """Favour the rows with the largest loss (the paper's *Big Loss*).

    ``p = softmax(z / temperature)`` with ``z`` the batch-standardised losses
    (a reconstruction: the paper's exact transform is lost).

    Parameters
    ----------
    temperature : float, default=1.0
        Softmax temperature; smaller is greedier.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import BigLossPolicy, ScoredBatch
    >>> batch = ScoredBatch(np.array([0.1, 3.0, 1.0]), np.ones(3), np.zeros(3))
    >>> int(np.argmax(BigLossPolicy().distribution(batch, k=1)))
    1
    """

    curriculum = "hard"
    paper_name = "Big Loss"

    def __init__(self, temperature=1.0):
        self.temperature = temperature

    def _distribution(self, batch, k):
        t = _check_temperature(self.temperature)
        return _softmax(_standardise(batch.losses) / t)


class SmallLossPolicy(BasePolicy):
    """Favour the rows with the smallest loss (the paper's *Small Loss*).

    ``p = softmax(-z / temperature)`` with ``z`` the batch-standardised losses
    (a reconstruction). Easy rows first: robust to label noise and outliers.

    Parameters
    ----------
    temperature : float, default=1.0
        Softmax temperature; smaller is greedier.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import ScoredBatch, SmallLossPolicy
    >>> batch = ScoredBatch(np.array([0.1, 3.0, 1.0]), np.ones(3), np.zeros(3))
    >>> int(np.argmax(SmallLossPolicy().distribution(batch, k=1)))
    0
    """

    curriculum = "easy"
    paper_name = "Small Loss"

    def __init__(self, temperature=1.0):
        self.temperature = temperature

    def _distribution(self, batch, k):
        t = _check_temperature(self.temperature)
        return _softmax(-_standardise(batch.losses) / t)


class GradientNormPolicy(BasePolicy):
    """Rows in proportion to their gradient-norm proxy (the paper's *Gradient Norm*).

    ``p = g / sum(g)``; uniform when every ``g`` is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import GradientNormPolicy, ScoredBatch
    >>> batch = ScoredBatch(np.ones(3), np.array([1.0, 0.0, 3.0]), np.zeros(3))
    >>> GradientNormPolicy().distribution(batch, k=1)
    array([0.25, 0.  , 0.75])
    """

    curriculum = "hard"
    paper_name = "Gradient Norm"

    def _distribution(self, batch, k):
        g = np.clip(batch.grad_norms, 0.0, None)
        if not np.isfinite(g.sum()) or g.sum() <= 0:
            return np.full(batch.size, 1.0 / batch.size)
        return g


class AdaBoostPolicy(BasePolicy):
    """Boosting-style persistent per-row weights (the paper's *AdaBoost*).

    Every training row carries a weight ``a`` (initially 1) that grows while
    the model gets the row wrong; a batch's distribution is ``a / sum(a)``
    over its rows. Reconstruction of the update, one boosting round per
    scored batch:

    - classification, SAMME (Zhu et al., 2009): weighted error
      ``eps = sum(a * wrong) / sum(a)``,
      ``alpha = log((1 - eps) / eps) + log(C - 1)``, and ``a *= exp(alpha)`` on
      the misclassified rows; no update when ``alpha <= 0`` (no better than
      chance);
    - regression, AdaBoost.R2 (Drucker, 1997) with the linear loss
      ``L = |error| / max |error|``: ``Lbar = sum(a * L) / sum(a)``,
      ``beta = Lbar / (1 - Lbar)`` and ``a *= beta ** (1 - L)``; no update when
      ``Lbar >= 0.5``.

    The updated weights are rescaled to keep the batch's total unchanged, so
    rows outside the batch are unaffected. Needs the rows' ids
    (:attr:`ScoredBatch.row_ids`).

    Parameters
    ----------
    variant : {"auto", "samme", "r2"}, default="auto"
        ``"auto"`` uses SAMME for classification and AdaBoost.R2 for
        regression.
    max_weight : float, default=1e6
        Cap on a row's weight relative to the smallest weight in its batch, so
        a row the model never learns (a mislabelled one) cannot absorb all the
        mass.

    Attributes
    ----------
    weights_ : ndarray of shape (n_rows,)
        The per-row weights, set by :meth:`reset`.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import AdaBoostPolicy, ScoredBatch
    >>> policy = AdaBoostPolicy().reset(4)
    >>> batch = ScoredBatch(np.ones(4), np.ones(4), np.array([0.0, 0.0, 0.0, 1.0]),
    ...                     row_ids=np.arange(4), n_classes=2)
    >>> p = policy.observe(batch).distribution(batch, k=1)
    >>> int(np.argmax(p))
    3
    """

    curriculum = "hard"
    paper_name = "AdaBoost"

    def __init__(self, variant="auto", max_weight=1e6):
        self.variant = variant
        self.max_weight = max_weight

    def reset(self, n_rows):
        if self.variant not in ("auto", "samme", "r2"):
            raise ValueError(
                f"variant must be 'auto', 'samme' or 'r2', got {self.variant!r}."
            )
        mw = self.max_weight
        if isinstance(mw, bool) or not isinstance(mw, numbers.Real) or not mw >= 1:
            raise ValueError(
                f"max_weight must be a float >= 1 (a cap relative to the "
                f"smallest weight), got {mw!r}."
            )
        self.weights_ = np.ones(int(n_rows))
        return self

    def _row_ids(self, batch):
        if batch.row_ids is None:
            raise ValueError(
                "AdaBoostPolicy needs the rows' ids (ScoredBatch.row_ids) to keep "
                "per-row weights."
            )
        if not hasattr(self, "weights_"):
            raise RuntimeError("AdaBoostPolicy: call reset(n_rows) before use.")
        ids = batch.row_ids
        if ids.size and (ids.min() < 0 or ids.max() >= self.weights_.shape[0]):
            raise ValueError(
                f"row ids must be in [0, {self.weights_.shape[0]}), got "
                f"[{ids.min()}, {ids.max()}]."
            )
        return ids

    def observe(self, batch):
        ids = self._row_ids(batch)
        if not np.all(np.isfinite(batch.errors)):
            # A diverged model's errors: reweighting by them would make every
            # weight of the batch NaN for the rest of training.
            return self
        a = self.weights_[ids]
        total = a.sum()
        variant = self.variant
        if variant == "auto":
            variant = "samme" if batch.is_classification else "r2"
        if variant == "samme":
            wrong = batch.errors > 0
            n_classes = max(int(batch.n_classes or 2), 2)
            eps = float(np.clip((a * wrong).sum() / total, 1e-10, 1 - 1e-10))
            alpha = np.log((1 - eps) / eps) + np.log(n_classes - 1)
            if alpha <= 0 or not wrong.any():
                return self
            a = a * np.exp(alpha * wrong)
        else:
            err = np.abs(batch.errors)
            if err.max() <= 0:
                return self
            loss = err / err.max()
            mean_loss = float((a * loss).sum() / total)
            if mean_loss >= 0.5:
                return self
            beta = max(mean_loss / (1 - mean_loss), 1e-10)
            a = a * beta ** (1 - loss)
        a = np.minimum(a, a.min() * float(self.max_weight))
        # Rescale to the batch's previous total: rows outside the batch keep
        # their weights, and the weights neither overflow nor underflow.
        self.weights_[ids] = a * (total / a.sum())
        return self

    def _distribution(self, batch, k):
        ids = self._row_ids(batch)
        return self.weights_[ids]


class LossExtremesPolicy(BasePolicy):
    """Half the largest and half the smallest losses (the paper's *Coreset 1*).

    Probability ``1 / k`` on the ``ceil(k / 2)`` rows with the largest loss and
    the ``floor(k / 2)`` rows with the smallest, zero elsewhere: the kept set
    spans the loss range (reconstruction of the lost definition).

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import LossExtremesPolicy, ScoredBatch
    >>> losses = np.array([0.5, 0.1, 0.9, 0.3, 0.7])
    >>> batch = ScoredBatch(losses, np.ones(5), np.zeros(5))
    >>> np.flatnonzero(LossExtremesPolicy().distribution(batch, k=3))
    array([1, 2, 4])
    """

    paper_name = "Coreset 1"

    def _distribution(self, batch, k):
        order = np.argsort(batch.losses, kind="stable")
        n_big = (k + 1) // 2
        p = np.zeros(batch.size)
        p[order[: k - n_big]] = 1.0 / k
        p[order[batch.size - n_big :]] = 1.0 / k
        return p


class TypicalLossPolicy(BasePolicy):
    """The rows whose loss is closest to the batch's mean (the paper's *Coreset 2*).

    Probability ``1 / k`` on the ``k`` rows nearest the mean loss, zero
    elsewhere: a representative, outlier-free kept set (reconstruction).

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import ScoredBatch, TypicalLossPolicy
    >>> losses = np.array([0.0, 0.9, 1.0, 1.1, 2.0])  # mean 1.0
    >>> batch = ScoredBatch(losses, np.ones(5), np.zeros(5))
    >>> np.flatnonzero(TypicalLossPolicy().distribution(batch, k=3))
    array([1, 2, 3])
    """

    curriculum = "easy"
    paper_name = "Coreset 2"

    def _distribution(self, batch, k):
        distance = np.abs(batch.losses - batch.losses.mean())
        p = np.zeros(batch.size)
        p[np.argsort(distance, kind="stable")[:k]] = 1.0 / k
        return p


POLICIES = {
    "uniform": UniformPolicy,
    "big_loss": BigLossPolicy,
    "small_loss": SmallLossPolicy,
    "gradient_norm": GradientNormPolicy,
    "adaboost": AdaBoostPolicy,
    "loss_extremes": LossExtremesPolicy,
    "typical_loss": TypicalLossPolicy,
}

_BUILT_IN = frozenset(POLICIES.values())

# The paper's names, accepted as aliases.
_ALIASES = {"coreset_1": "loss_extremes", "coreset_2": "typical_loss"}


def make_policy(policy):
    """A fresh, unfitted policy from a name or a policy instance.

    Parameters
    ----------
    policy : str or BasePolicy
        One of ``"uniform"``, ``"big_loss"``, ``"small_loss"``,
        ``"gradient_norm"``, ``"adaboost"``, ``"loss_extremes"`` (alias
        ``"coreset_1"``), ``"typical_loss"`` (alias ``"coreset_2"``), or a
        :class:`BasePolicy` instance, which is cloned.

    Returns
    -------
    policy : BasePolicy

    Examples
    --------
    >>> from subsetml.minibatch import make_policy
    >>> make_policy("coreset_2")
    TypicalLossPolicy()
    """
    from sklearn.base import clone

    if isinstance(policy, BasePolicy):
        return clone(policy)
    if isinstance(policy, str):
        name = _ALIASES.get(policy, policy)
        if name in POLICIES:
            return POLICIES[name]()
    raise ValueError(
        f"Unknown policy {policy!r}: use one of {sorted(POLICIES)} (or the aliases "
        f"{sorted(_ALIASES)}), or a BasePolicy instance."
    )


def policy_name(policy):
    """The descriptive name of a policy instance (its class, for custom ones)."""
    for name, cls in POLICIES.items():
        if type(policy) is cls:
            return name
    return type(policy).__name__
