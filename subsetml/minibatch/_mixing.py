"""Numpy kernels of AdaSelection: method-weight updates, curriculum, top-k.

All of this is a reconstruction of Zhang et al. (2023), whose equations are
lost (see ``ALGORITHMS.md``); every constant is a parameter of
:class:`~subsetml.skorch.AdaSelectionClassifier`. :class:`MethodWeights`
(``_weights.py``) drives them.
"""

from __future__ import annotations

import numpy as np

_CURRICULUM_SIGN = {"easy": 0, "hard": 1, "neutral": 2}


def project_to_floor(weights, floor):
    """Normalise ``weights`` to sum 1 with every entry at least ``floor``.

    Entries below the floor are raised to it and the others scaled down in
    proportion, repeatedly, until none is below (at most ``len(weights)``
    rounds). Requires ``0 <= floor <= 1 / len(weights)``.
    """
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    m = w.shape[0]
    if floor <= 0:
        return w
    pinned = np.zeros(m, dtype=bool)
    for _ in range(m):
        low = (w < floor) & ~pinned
        if not low.any():
            break
        pinned |= low
        free = ~pinned
        w[pinned] = floor
        if free.any():
            w[free] *= (1.0 - floor * pinned.sum()) / w[free].sum()
    return w


def update_method_weights(weights, rewards, *, lr, floor):
    """One multiplicative-weights step ``w_m <- w_m * exp(lr * reward_m)``.

    The result is renormalised and projected onto ``w >= floor``.
    """
    # Without a floor a weight can underflow to 0: it stays 0 (log -inf),
    # without a RuntimeWarning at every later step.
    with np.errstate(divide="ignore"):
        logw = np.log(weights) + lr * np.asarray(rewards, dtype=np.float64)
    w = np.exp(logw - logw.max())
    return project_to_floor(w, floor)


def curriculum_progress(epoch, max_epochs, horizon):
    """``lambda = min(1, epoch / (horizon * max_epochs))``; 1 when horizon is 0."""
    span = horizon * max_epochs
    if span <= 0:
        return 1.0
    return float(min(1.0, max(epoch, 0) / span))


def curriculum_utilities(kinds, progress):
    """Per-policy curriculum utility: ``1 - lambda`` easy, ``lambda`` hard, 1/2."""
    table = np.array([1.0 - progress, progress, 0.5])
    return table[[_CURRICULUM_SIGN[kind] for kind in kinds]]


def mixing_weights(weights, utilities, strength):
    """Curriculum-adjusted weights ``w * exp(strength * u)``, normalised."""
    with np.errstate(divide="ignore"):  # a weight of 0 stays 0
        logw = np.log(weights) + strength * np.asarray(utilities, dtype=np.float64)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def allocate_rows(dists, weights, k, rng):
    """Split the ``k`` slots between the policies, each filling its own.

    Policy ``m`` gets ``round(weights[m] * k)`` slots (largest remainders,
    ties at random) and fills them with its most probable rows not already
    taken, policies with more slots first; ties within a policy are broken at
    random. A policy's weight is thus its share of the kept rows.
    """
    dists = np.asarray(dists, dtype=np.float64)
    n_policies, n_rows = dists.shape
    weights = np.asarray(weights, dtype=np.float64)
    if not (np.all(np.isfinite(weights)) and weights.sum() > 0):
        weights = np.full(n_policies, 1.0 / n_policies)  # keep k rows whatever
    exact = weights * k
    quota = np.floor(exact).astype(np.int64)
    short = k - quota.sum()
    if short > 0:
        remainder = exact - quota
        order = np.lexsort((rng.random_sample(n_policies), -remainder))
        quota[order[:short]] += 1
    taken = np.zeros(n_rows, dtype=bool)
    for m in np.lexsort((rng.random_sample(n_policies), -quota)):
        if quota[m] == 0:
            break
        ranking = np.lexsort((rng.random_sample(n_rows), -dists[m]))
        free = ranking[~taken[ranking]]
        taken[free[: quota[m]]] = True
    return np.flatnonzero(taken)


def select_rows(scores, k, rng, *, method="top_k"):
    """Indices of the ``k`` rows to keep, given mixed scores ``s >= 0``.

    ``"top_k"``: the ``k`` largest scores, ties broken at random.
    ``"sample"``: ``k`` rows drawn without replacement with probability
    proportional to ``s`` (Gumbel top-k); rows with ``s = 0`` come last.
    """
    scores = np.asarray(scores, dtype=np.float64)
    tie_break = rng.random_sample(scores.shape[0])
    if method == "sample":
        with np.errstate(divide="ignore"):
            keys = np.log(scores) + rng.gumbel(size=scores.shape[0])
    else:
        keys = scores
    # lexsort: last key is primary. Sort by -key, then by the random tie-break.
    order = np.lexsort((tie_break, -keys))
    return np.sort(order[:k])
