"""The coverage term of the one-shot selectors.

CRAIG covers the data by facility location; GLISTER and GRAD-MATCH aim at
something else (a validation-loss step, a gradient sum), and at the
untrained layer of a one-shot selection their gains favour the most
extreme rows. :class:`Coverage` scores how much each candidate would add to
the facility-location coverage of a ground set, and :func:`regularised`
adds that to a selector's own gains, so a greedy pick is both useful to the
selector's objective and representative of the data.
"""

from __future__ import annotations

import numpy as np

from subsetml._validation import check_number

#: ``diversity="auto"`` on an untrained view (one-shot selection), for GLISTER
#: and GRAD-MATCH. Chosen on the quality panel (benchmarks/bench_quality.py,
#: 10 seeds): with GLISTER, 1 left cells 3-7 points below random subsets, 3
#: one (-2.3, binary trees at 20 %), 5 none, at a mean gain over random of
#: 2.7 points (3.0 with 3); GRAD-MATCH with 5 had no cell below -0.3.
UNTRAINED_DIVERSITY = 5.0


def resolve_diversity(diversity, view):
    """The weight of the coverage term on ``view``: ``"auto"`` means
    :data:`UNTRAINED_DIVERSITY` on an untrained view, 0 on a trained one."""
    if isinstance(diversity, str):
        return UNTRAINED_DIVERSITY if view.untrained else 0.0
    return float(diversity)


def check_diversity(diversity, n_cover):
    """Raise ``ValueError`` unless ``diversity`` is "auto" or a finite float
    ``>= 0`` and ``n_cover`` a positive int."""
    if not (isinstance(diversity, str) and diversity == "auto"):
        if isinstance(diversity, str):
            raise ValueError(
                f"diversity must be 'auto' or a finite float >= 0, got {diversity!r}."
            )
        check_number(
            diversity,
            "diversity",
            low=0.0,
            description="'auto' or a finite float >= 0",
        )
    check_number(
        n_cover,
        "n_cover",
        integer=True,
        low=1,
        description="a positive int (rows whose coverage is scored)",
    )


__all__ = [
    "Coverage",
    "check_diversity",
    "coverage_vectors",
    "regularised",
    "resolve_diversity",
]


class Coverage:
    """Facility-location gains of candidates, over a sample of the ground set.

    The coverage of a set ``S`` is ``sum_t max_{j in S} (D - ||f_t - f_j||^2)``
    over target rows ``t`` (a random sample of at most ``n_cover`` ground-set
    rows), with ``D`` an upper bound of the squared distances so every
    similarity starts non-negative. :meth:`gains` returns each candidate's
    marginal gain; :meth:`add` records a pick.
    """

    # Candidates x targets similarities computed at once, at most.
    _BLOCK = 4_000_000

    def __init__(self, features, n_cover, rng):
        self.features = np.asarray(features, dtype=np.float64)
        n = self.features.shape[0]
        rows = rng.choice(n, size=n_cover, replace=False) if n > n_cover else None
        self.targets = self.features if rows is None else self.features[rows]
        self.sq = np.einsum("ij,ij->i", self.targets, self.targets)
        centred = self.targets - self.targets.mean(axis=0)
        # Two points within radius r of the centroid are at most 2r apart.
        self.top = 4.0 * float(np.max(np.einsum("ij,ij->i", centred, centred)))
        self.cover = np.zeros(self.targets.shape[0])
        self.added = []  # the picks ``cover`` counts, in order
        self.owner = np.full(self.targets.shape[0], -1)  # the pick covering each

    def _similarities(self, cand, targets=slice(None)):
        f = self.features[cand]
        t = self.targets[targets]
        d2 = np.einsum("ij,ij->i", f, f)[:, None] + self.sq[targets] - 2.0 * (f @ t.T)
        return self.top - d2

    def gains(self, cand):
        out = np.empty(cand.shape[0])
        block = max(1, self._BLOCK // max(1, self.cover.shape[0]))
        for start in range(0, cand.shape[0], block):
            sims = self._similarities(cand[start : start + block])
            out[start : start + block] = np.maximum(sims - self.cover, 0.0).sum(axis=1)
        return out

    def add(self, j):
        sims = self._similarities(np.array([j]))[0]
        better = sims > self.cover
        self.cover[better] = sims[better]
        self.owner[better] = j
        self.added.append(int(j))

    def cover_exactly(self, rows):
        """Make the recorded picks ``rows``: picks no longer among them stop
        covering (the targets they covered best are re-scored against the
        rest), and new ones are added."""
        rows = list(rows)
        m = len(self.added)
        if rows[:m] == self.added:
            # The support only grew (matching pursuit's usual step): a list
            # comparison, not a set per pick, which cost seconds at 4,000.
            for j in rows[m:]:
                self.add(j)
            return
        rows = [int(j) for j in rows]
        keep = set(rows)
        gone = [j for j in self.added if j not in keep]
        if gone:
            kept = [j for j in self.added if j in keep]
            lost = np.flatnonzero(np.isin(self.owner, gone))
            self.cover[lost] = 0.0
            self.owner[lost] = -1
            if kept and lost.shape[0]:
                sims = self._similarities(np.asarray(kept), lost)
                best = sims.argmax(axis=0)
                value = sims[best, np.arange(lost.shape[0])]
                positive = value > 0.0
                self.cover[lost[positive]] = value[positive]
                self.owner[lost[positive]] = np.asarray(kept)[best[positive]]
            self.added = kept
        known = set(self.added)
        for j in rows:
            if j not in known:
                self.add(j)


def regularised(gains, coverage, cand, weight):
    """A selector's ``gains`` of candidates ``cand`` plus ``weight`` times
    their coverage gains, each divided by its largest magnitude among the
    candidates (they have different units)."""
    if coverage is None or weight == 0.0:
        return gains
    cov = coverage.gains(cand)
    g_top = float(np.max(np.abs(gains)))
    c_top = float(np.max(cov))
    g = gains / g_top if g_top > 0 else np.zeros_like(gains)
    c = cov / c_top if c_top > 0 else np.zeros_like(cov)
    return g + weight * c


def coverage_vectors(part, n, *, target_ranks=False):
    """What the coverage term covers, per element of a ground set (its rows,
    or the means of its mini-batches in per-batch mode): the vectors CRAIG's
    ``gradients="auto"`` covers on the same view -- the features of an
    untrained classification view, the bias gradients of any other (on an
    untrained regression view, the targets' deviations from their mean).

    With ``target_ranks``, an untrained regression view's targets are
    covered by their ranks among the view's rows (each target scaled to
    [0, 1]): picks spread over the rows' quantiles rather than over the
    targets' range, which on a long tail is mostly the tail."""
    view = part.view
    if view.untrained and view.task == "classification":
        feats = np.asarray(view.features[part.rows], dtype=np.float64)
    elif target_ranks and view.untrained:
        from scipy.stats import rankdata

        y = np.asarray(view.y, dtype=np.float64)
        ranks = rankdata(y, axis=0) / y.shape[0]
        feats = ranks[part.rows]
    else:
        feats = np.asarray(view.residuals(part.rows), dtype=np.float64)
    if part.batch_groups is None:
        return feats
    sums = np.zeros((n, feats.shape[1]))
    np.add.at(sums, part.batch_groups, feats)
    counts = np.bincount(part.batch_groups, minlength=n).astype(np.float64)
    return sums / np.maximum(counts, 1.0)[:, None]
