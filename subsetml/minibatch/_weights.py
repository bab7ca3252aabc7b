"""The adaptive method weights of AdaSelection, as one object with its state.

Pure numpy: :class:`~subsetml.skorch.AdaSelectionMixin` creates one
:class:`MethodWeights` per fit and calls it at every selection step; the
object can be driven and tested without torch.
"""

from __future__ import annotations

import numpy as np

from subsetml.minibatch._mixing import (
    allocate_rows,
    curriculum_progress,
    curriculum_utilities,
    mixing_weights,
    select_rows,
    update_method_weights,
)

__all__ = ["MethodWeights"]


class MethodWeights:
    """Weights of the policies mixed by AdaSelection, and how they adapt.

    A reconstruction of Zhang et al. (2023); see
    :class:`~subsetml.skorch.AdaSelectionMixin` for each parameter. Per
    selection step: :meth:`update` rewards the policies that voted for the
    previous step's kept rows, then :meth:`choose` tilts the weights by the
    curriculum, turns the policies' distributions into kept rows and
    remembers each policy's vote for the next :meth:`update`.

    Parameters
    ----------
    kinds : sequence of {"easy", "hard", "neutral"}
        The curriculum kind of each policy.
    lr : float
        ``eta`` of the multiplicative step; 0 keeps the weights uniform.
    reward : {"advantage", "drop", "probe", "paired"}
        ``"probe"`` ignores :meth:`update`: the weights move only through
        :meth:`choose_probe` and :meth:`update_probe`. ``"paired"`` ignores it
        too: they move through :meth:`choose_paired` and
        :meth:`update_paired`.
    floor : float
        Floor of each weight as a fraction of the uniform weight ``1 / M``.
    smoothing : float
        Factor of the moving averages of the batch loss and of its drop.
    curriculum_strength, curriculum_horizon : float

    Attributes
    ----------
    weights : ndarray of shape (n_policies,)
        The method weights ``w``, uniform at first.
    mixing : ndarray of shape (n_policies,) or None
        ``w`` after the curriculum term, as used by the last :meth:`choose`.
    votes : ndarray of shape (n_policies,) or None
        Probability mass each policy gave the rows of the last :meth:`choose`.
    loss_ema : float or None
        Moving average of the mean batch loss.
    drop_ema : float
        Moving average of the relative loss drop (``"advantage"`` and
        ``"probe"``).
    scale_ema : float or None
        Moving average of ``|d - dbar|``, the probe drop's distance from its
        moving average (``"probe"``), or of the tried policies' mean absolute
        deviation from their mean drop (``"paired"``); dividing by it puts
        the advantages on a unit scale.
    probe : tuple (int, float) or None
        The policy drawn by the last :meth:`choose_probe` and its probability.
    n_probes : int
        Probe steps measured so far.

    Examples
    --------
    >>> import numpy as np
    >>> from subsetml.minibatch import MethodWeights
    >>> mw = MethodWeights(["hard", "neutral"], lr=1.0, reward="drop", floor=0.01)
    >>> mw.weights
    array([0.5, 0.5])
    >>> dists = np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    >>> rng = np.random.RandomState(0)
    >>> mw.update(2.0, 0.5)  # first loss: nothing to compare yet
    >>> mw.choose(dists, 2, rng, epoch=0, max_epochs=10, selection="top_k")
    array([0, 1])
    >>> mw.update(1.0, 0.5)  # the loss dropped: the first policy voted more
    >>> bool(mw.weights[0] > mw.weights[1])
    True
    """

    def __init__(
        self,
        kinds,
        *,
        lr,
        reward,
        floor,
        smoothing=0.9,
        curriculum_strength=0.0,
        curriculum_horizon=1.0,
    ):
        self.kinds = list(kinds)
        self.lr = lr
        self.reward = reward
        self.floor = floor
        self.smoothing = smoothing
        self.curriculum_strength = curriculum_strength
        self.curriculum_horizon = curriculum_horizon
        n = len(self.kinds)
        self.weights = np.full(n, 1.0 / n)
        self.mixing = None
        self.votes = None
        self.loss_ema = None
        self.drop_ema = 0.0
        self.scale_ema = None
        self.probe = None
        self.n_probes = 0

    def update(self, batch_loss, keep_fraction):
        """One multiplicative step from the mean loss of a freshly scored batch.

        The reward compares ``batch_loss`` with the moving average of earlier
        ones; ``keep_fraction`` (``k / B``) is the vote of a random choice,
        the baseline of the ``"advantage"`` reward.
        """
        if self.reward in ("probe", "paired"):
            return
        if not np.isfinite(batch_loss):
            # A diverged step (NaN or inf loss) says nothing about the
            # policies, and would turn the weights and the average into NaN.
            return
        ema = self.loss_ema
        beta = self.smoothing
        if ema is not None and self.votes is not None:
            drop = float(np.clip((ema - batch_loss) / max(abs(ema), 1e-12), -1, 1))
            if self.reward == "drop":
                reward = drop * self.votes
            else:
                advantage = drop - self.drop_ema
                reward = advantage * (self.votes - keep_fraction)
                self.drop_ema = beta * self.drop_ema + (1 - beta) * drop
            if self.lr:
                floor = self.floor / len(self.weights)
                self.weights = update_method_weights(
                    self.weights, reward, lr=self.lr, floor=floor
                )
        self.loss_ema = (
            batch_loss if ema is None else beta * ema + (1 - beta) * batch_loss
        )

    def choose(self, dists, k, rng, *, epoch, max_epochs, selection="allocate"):
        """Positions of the ``k`` rows kept from the policies' distributions.

        Parameters
        ----------
        dists : ndarray of shape (n_policies, n_rows)
            Each policy's distribution over the batch.
        k : int
        rng : RandomState
            Breaks ties (and draws, for ``"sample"``).
        epoch, max_epochs : int
            The curriculum's progress, ``epoch`` counted from 0.
        selection : {"allocate", "top_k", "sample"}

        Returns
        -------
        kept : ndarray of int, sorted
        """
        mixing = self._mixing(epoch, max_epochs)
        if selection == "allocate":
            kept = allocate_rows(dists, mixing, k, rng)
        else:
            kept = select_rows(mixing @ dists, k, rng, method=selection)
        self.votes = dists[:, kept].sum(axis=1)
        self.mixing = mixing
        return kept

    def _mixing(self, epoch, max_epochs):
        progress = curriculum_progress(epoch, max_epochs, self.curriculum_horizon)
        return mixing_weights(
            self.weights,
            curriculum_utilities(self.kinds, progress),
            self.curriculum_strength,
        )

    def choose_probe(self, dists, k, rng, *, epoch, max_epochs, selection="allocate"):
        """Rows of a probe step, all chosen by one policy drawn at random.

        The policy is drawn with probability ``q_m = 1 / (2 M) + mixing_m / 2``
        (half uniform exploration, half the current mixing weights) and keeps
        its ``k`` most probable rows (drawn in proportion under ``"sample"``).
        :meth:`update_probe` then credits that policy alone.

        Parameters
        ----------
        dists : ndarray of shape (n_policies, n_rows)
            The policies' distributions over the rows eligible for selection.
        k : int
        rng : RandomState
        epoch, max_epochs : int
        selection : {"allocate", "top_k", "sample"}

        Returns
        -------
        kept : ndarray of int, sorted
        """
        mixing = self._mixing(epoch, max_epochs)
        n = len(self.weights)
        q = 0.5 / n + 0.5 * mixing
        m = int(rng.choice(n, p=q / q.sum()))
        method = "sample" if selection == "sample" else "top_k"
        kept = select_rows(dists[m], k, rng, method=method)
        self.probe = (m, float(q[m]))
        self.mixing = mixing
        return kept

    def update_probe(self, loss_before, loss_after):
        """Credit the probe step's policy with the loss drop of held-out rows.

        ``d = (loss_before - loss_after) / |loss_before|`` (clipped to
        [-1, 1]) is the relative drop of the mean loss of rows that the step
        did not train on, measured on the same rows before and after it. The
        advantage ``a = (d - dbar) / s`` compares it with the moving average
        ``dbar`` of earlier probe drops and divides by the moving average
        ``s`` of ``|d - dbar|``; clipped to [-2, 2], it moves the drawn
        policy's log-weight by ``0.1 * lr * a / (M * q_m)``, the importance
        weight ``1 / (M q_m)`` (at most 2) keeping the update unbiased over
        the draws.
        """
        if self.probe is None:
            return
        m, q = self.probe
        self.probe = None
        if not (np.isfinite(loss_before) and np.isfinite(loss_after)):
            return  # a diverged step: no credit either way
        drop = (loss_before - loss_after) / max(abs(loss_before), 1e-12)
        drop = float(np.clip(drop, -1.0, 1.0))
        self.n_probes += 1
        if self.n_probes == 1:
            # First probe: the baseline starts here, nothing to credit yet.
            self.drop_ema = drop
            return
        # Plain means over the first 1 / (1 - smoothing) probes, then moving
        # averages, so the first advantages are not divided by a tiny scale.
        alpha = max(1.0 - self.smoothing, 1.0 / (self.n_probes - 1))
        deviation = drop - self.drop_ema
        scale = abs(deviation) if self.scale_ema is None else self.scale_ema
        scale += alpha * (abs(deviation) - scale)
        advantage = float(np.clip(deviation / max(scale, 1e-12), -2.0, 2.0))
        self.drop_ema += max(1.0 - self.smoothing, 1.0 / self.n_probes) * deviation
        self.scale_ema = scale
        if self.lr:
            n = len(self.weights)
            reward = np.zeros(n)
            reward[m] = 0.1 * advantage / (n * q)
            floor = self.floor / n
            self.weights = update_method_weights(
                self.weights, reward, lr=self.lr, floor=floor
            )

    def choose_paired(self, dists, k, rng, *, epoch, max_epochs, selection="allocate"):
        """Each policy's own ``k`` rows, which policies to try, and which to keep.

        A paired probe step tries policies' choices from the same state on
        the same batch; :meth:`update_paired` then credits all the tried ones
        at once. A policy whose mixing weight would not give it half a row of
        the ``k`` (``mixing_m * k < 1/2``) is dormant: it is not tried, except
        the two heaviest policies always (so a small ``k`` still compares
        two) and one other dormant policy drawn at random per probe, so that
        a policy can come back. The step that training keeps is that of a
        policy drawn with probability equal to its mixing weight, among the
        tried ones.

        Parameters
        ----------
        dists : ndarray of shape (n_policies, n_rows)
        k : int
        rng : RandomState
        epoch, max_epochs : int
        selection : {"allocate", "top_k", "sample"}
            ``"sample"`` draws each policy's rows in proportion to its
            distribution; otherwise each keeps its ``k`` most probable rows.

        Returns
        -------
        kept : list of (ndarray of int or None)
            The sorted positions each tried policy keeps; None for the others.
        chosen : int
            The policy whose step training keeps.
        """
        mixing = self._mixing(epoch, max_epochs)
        tried = mixing * k >= 0.5
        # At least the two heaviest policies, so that a small k (every policy
        # dormant) still compares two; ties broken at random.
        heaviest = np.lexsort((rng.random_sample(len(mixing)), -mixing))[:2]
        tried[heaviest] = True
        dormant = np.flatnonzero(~tried & (mixing > 0))
        if dormant.size:
            tried[rng.choice(dormant)] = True
        p = np.where(tried, mixing, 0.0)
        chosen = int(rng.choice(len(mixing), p=p / p.sum()))
        method = "sample" if selection == "sample" else "top_k"
        kept = [
            select_rows(d, k, rng, method=method) if t else None
            for d, t in zip(dists, tried)
        ]
        self.mixing = mixing
        return kept, chosen

    def update_paired(self, loss_before, losses_after):
        """Credit the tried policies with their own step's drop of the held-out loss.

        ``losses_after[m]`` is the held-out rows' loss after the step of
        policy ``m`` (NaN for a policy not tried), all steps taken from the
        same state on the same batch, so the differences between policies
        carry no batch-to-batch noise. The relative drops ``d_m =
        (loss_before - losses_after[m]) / |loss_before|`` (clipped to [-1,
        1]) are centred on their mean over the tried policies (policies that
        kept the same rows count once each) and divided by the moving average
        ``s`` of their mean absolute deviation; the
        advantages, clipped to [-2, 2], move each tried policy's log-weight
        by ``0.1 * lr`` times its advantage. Untried policies keep theirs
        (up to the renormalisation).
        """
        if not np.isfinite(loss_before):
            return  # a diverged model: no credit either way
        after = np.asarray(losses_after, dtype=np.float64)
        tried = np.isfinite(after)
        if tried.sum() < 2:
            return
        drops = (loss_before - after[tried]) / max(abs(loss_before), 1e-12)
        drops = np.clip(drops, -1.0, 1.0)
        deviation = drops - drops.mean()
        spread = float(np.abs(deviation).mean())
        if spread == 0:
            return  # the tries did not differ: nothing to learn
        self.n_probes += 1
        alpha = max(1.0 - self.smoothing, 1.0 / self.n_probes)
        scale = spread if self.scale_ema is None else self.scale_ema
        scale += alpha * (spread - scale)
        self.scale_ema = scale
        if not self.lr:
            return
        reward = np.zeros(len(self.weights))
        reward[tried] = 0.1 * np.clip(deviation / scale, -2.0, 2.0)
        floor = self.floor / len(self.weights)
        self.weights = update_method_weights(
            self.weights, reward, lr=self.lr, floor=floor
        )
