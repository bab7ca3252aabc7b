"""AdaSelection: back-propagate only the most informative rows of each minibatch.

Zhang et al. (2023), "AdaSelection: Accelerating Deep Learning Training
through Data Subsampling". The paper's equations are lost and no code was
published, so the method here is a reconstruction (``ALGORITHMS.md``); every
guessed part is a constructor parameter and says so in its documentation.

Per training step, after ``warmup_epochs`` ordinary epochs:

1. ``k = max(1, ceil(sampling_rate * B))`` for a batch of ``B`` rows (at
   least 2 when the module has batch norm, which cannot normalise one row).
2. A no-grad forward pass scores the whole batch: per-sample loss,
   gradient-norm proxy, prediction error (rows scored at most
   ``stale_epochs`` epochs ago reuse their cached scores and skip it).
3. Each policy turns the scores into a distribution over the batch.
4. The method weights ``w`` take a multiplicative step rewarding the policies
   that voted for the last kept rows if the (smoothed) batch loss dropped;
   a floor keeps every policy alive.
5. A curriculum term tilts ``w`` to easy-first policies early in training
   and hard-first ones late.
6. The policies share the ``k`` slots in proportion to their weights, each
   filling its share with its most probable rows; those rows go through
   skorch's ordinary training step (``train_step`` of the parent class), so
   optimisers with closures, gradient callbacks and mixins that override
   ``train_step_single`` (skorch's ``AccelerateMixin``) keep working.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections import namedtuple
from contextlib import contextmanager

import joblib
import numpy as np
import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import BatchScoring, EpochScoring, PrintLog
from skorch.dataset import get_len, unpack_data
from skorch.utils import multi_indexing, to_tensor

from subsetml._validation import check_number, external_stacklevel
from subsetml.minibatch import (
    POLICIES,
    BasePolicy,
    MethodWeights,
    ScoreCache,
    ScoredBatch,
    make_policy,
    policy_name,
)
from subsetml.skorch._adaptive import (
    SubsetTrainingMixin,
    _has_batch_norm,
    check_net_inputs,
    check_net_output,
    loss_mass,
)
from subsetml.skorch._loading import (
    collate_rows,
    plain_arrays,
    take_rows,
    valid_iterator,
)
from subsetml.skorch._params import set_params_nested

__all__ = ["AdaSelectionClassifier", "AdaSelectionMixin", "AdaSelectionRegressor"]

# History keys written once per epoch; dict-valued ones are kept out of
# PrintLog's table.
_DICT_KEYS = ("method_weights", "mixing_weights")
_ADA_HIDDEN_KEYS = (*_DICT_KEYS, "stale_epochs", "step_cost_ratio")

# stale_epochs="auto" caches scores when the fit's first scoring forward
# (a whole batch) costs at least this many floating-point operations on the
# CPU. Measured on one CPU thread (benchmarks/results/ada_step.json): a 1-D
# CNN at 3.0 MFLOP per row, 3.9e8 per batch of 128, was compute-bound (a
# selecting step 0.53-0.89 of a plain one) and cached scores cut its step
# further; at 32 channels (0.2 MFLOP per row) and on small MLPs the per-step
# overhead dominated and caching only cost accuracy.
_AUTO_STALE_FLOPS = 1e8
# ... and for fits of at least this many epochs: a cached score is an epoch
# old, a large share of a short fit (on the benchmark's 6-epoch CNN case the
# default mix lost 1.3 points with it, on the 20-epoch grid none).
_AUTO_STALE_MIN_EPOCHS = 10

_BatchWithRowIds = namedtuple("_BatchWithRowIds", ["batch", "row_ids"])

# The rows a probe step scores before and after the step: ``positions`` in
# the batch (held out of selection) or None for rows from the reward pool;
# ``ids`` index the training rows' sample weights, ``weight`` the pool's.
_HeldOut = namedtuple("_HeldOut", ["positions", "X", "y", "ids", "weight", "before"])


_NO_REDUCTION = (
    "AdaSelection needs per-sample losses, but the criterion {} has no "
    "'reduction' attribute; override get_sample_losses."
)


class _RowIndexedDataset(torch.utils.data.Dataset):
    """Yield ``(item, i)``: the wrapped dataset's item and its position."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i], int(i)


class _CollateWithRowIds:
    """Collate the items as the loader would, and the row ids separately."""

    def __init__(self, collate_fn):
        self.collate_fn = collate_fn

    def __call__(self, items):
        ids = torch.as_tensor([item[1] for item in items], dtype=torch.int64)
        return _BatchWithRowIds(self.collate_fn([item[0] for item in items]), ids)


class _RowIdIterator:
    """Hand the plain batch to skorch and the row ids to the net, in step.

    skorch pulls one batch, runs ``train_step`` on it, then pulls the next, so
    the ids stored on the net just before a batch is yielded are that batch's.
    Callbacks see the user's batch unchanged.
    """

    def __init__(self, loader, net):
        self.loader = loader
        self.net = net

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            inner, ids = batch
            self.net._ada_row_ids_ = np.asarray(torch.as_tensor(ids).cpu())
            yield inner
        self.net._ada_row_ids_ = None


class _ArrayBatches:
    """Batches of a plain array dataset by fancy indexing, one call a batch.

    skorch's loader fetches a batch row by row (``Dataset.__getitem__`` and
    the collate function: several microseconds a row). Where that loop adds
    nothing (:func:`_array_data`, :func:`_plain_loader`) this iterator draws
    the same batches from the loader's own batch sampler, so shuffling and
    ``drop_last`` are the loader's, and takes each as ``X[rows], y[rows]``.
    On a GPU a small net's plain epoch is mostly that row-by-row loading
    (``benchmarks/results/gpu.json`` against ``gpu_adaselection.json``).
    """

    def __init__(self, loader, X, y, positions, net):
        self.loader = loader
        self.X, self.y = X, y
        self.positions = positions
        self.net = net

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        loader = self.loader
        # The draw DataLoader.__iter__ makes for its workers' base seed, so
        # that the torch random stream after an epoch is the loader's.
        torch.empty((), dtype=torch.int64).random_(generator=loader.generator)
        for rows in loader.batch_sampler:
            rows = np.asarray(rows, dtype=np.int64)
            self.net._ada_row_ids_ = rows
            data = rows if self.positions is None else self.positions[rows]
            yield [_as_batch(self.X, data), _as_batch(self.y, data)]
        self.net._ada_row_ids_ = None


def _as_batch(data, rows):
    """``data[rows]`` as the default collate function would give it (which
    stacks rows into a new, contiguous tensor)."""
    return torch.as_tensor(take_rows(data, rows))


def _plain_loader(loader):
    """Whether fancy indexing over ``loader``'s batch sampler gives exactly
    the batches of its per-row loop (for :func:`_array_data`'s datasets):
    a ``DataLoader`` itself (a subclass may do more in ``__iter__``) that
    loads in the main process with the default collate function, without
    pinned memory."""
    return (
        type(loader) is torch.utils.data.DataLoader
        and loader.batch_sampler is not None
        and loader.num_workers == 0
        and not loader.pin_memory
        and loader.collate_fn is torch.utils.data.default_collate
    )


def _array_data(dataset):
    """``(X, y, positions)`` of skorch's own ``Dataset`` of a numpy array or
    tensor ``X`` and ``y`` (``positions``: the rows of the ``Subset`` of a
    train split, or None), else None."""
    data = plain_arrays(dataset)
    return None if data is None or data[1] is None else data


def _take_rows(data, idx):
    """``data[idx]`` for the rows ``idx`` (int array) of a batch.

    Tensors and arrays are indexed directly (skorch's ``multi_indexing``
    goes through scikit-learn's key-type inspection, a tenth of a
    millisecond per call at every step); anything else goes through it.
    """
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(idx, device=data.device)]
    if isinstance(data, np.ndarray):
        return data[idx]
    return multi_indexing(data, idx)


def _switch_mode(module, training):
    """``module.train(training)``, by flag when no submodule overrides ``train``.

    ``Module.train`` sets each submodule's flag through ``Module.__setattr__``
    (about three times the cost of setting it directly, twice per selecting
    step). The module tree is walked afresh every time, so modules replaced
    during a fit, or a net unpickled mid-fit, are switched like any other;
    a module with its own ``train`` gets it called.
    """
    subs = list(module.modules())
    if all(type(sub).train is _MODULE_TRAIN for sub in subs):
        for sub in subs:
            object.__setattr__(sub, "training", training)
    else:
        module.train(training)


_MODULE_TRAIN = torch.nn.Module.train


def _check_number(
    name, value, *, low, high=None, low_open=False, integer=False, description=None
):
    return check_number(
        value,
        name,
        integer=integer,
        low=low,
        high=high,
        include_low=not low_open,
        description=description,
    )


def _is_given_rows(dataset, X):
    """Whether ``dataset`` is ``X`` itself, or skorch's Dataset of it (what
    a train_split that sets no training rows apart returns)."""
    return dataset is X or getattr(dataset, "X", None) is X


def _split_key(dataset):
    """The row indices of the subsets ``dataset`` is made of (a validation
    split, the reserve of ``reward_rows``), hashed; None for a dataset that
    is not a ``Subset``."""
    parts = []
    while isinstance(dataset, torch.utils.data.Subset):
        parts.append(joblib.hash(np.asarray(dataset.indices)))
        dataset = dataset.dataset
    return tuple(parts) or None


def _data_key(X, y):
    """A cheap fingerprint of the rows of ``X`` and ``y``: their number and
    up to 64 evenly spaced rows of each. None when they are not arrays,
    tensors or frames (a Dataset, a dict of arrays), which are not checked."""
    parts = []
    for data in (X, y):
        if data is None:
            parts.append(None)
            continue
        try:
            n = data.shape[0] if hasattr(data, "shape") else len(data)
        except TypeError:
            return None
        rows = np.unique(np.linspace(0, max(n - 1, 0), num=min(n, 64)).astype(int))
        if isinstance(data, torch.Tensor):
            sample = data[torch.as_tensor(rows)].detach().cpu().numpy()
        elif isinstance(data, np.ndarray):
            sample = data[rows]
        elif hasattr(data, "iloc"):
            sample = data.iloc[rows].to_numpy()
        elif hasattr(data, "tocsr"):
            sample = data.tocsr()[rows].toarray()
        else:
            return None
        parts.append((n, joblib.hash(sample)))
    return tuple(parts)


class _AdaPrintLog(PrintLog):
    """skorch's ``PrintLog`` that leaves AdaSelection's own history keys out
    of the table whatever ``keys_ignored`` is set to: the dicts of method
    weights print badly, and ``step_cost_ratio`` appears after the warm-up
    only (``PrintLog`` takes its columns from the first epoch, so it would
    shift every column after it). Set as ``keys_ignored``, they were
    replaced by a user's ``callbacks__print_log__keys_ignored`` (a review)."""

    def initialize(self):
        super().initialize()
        self.keys_ignored_.update(_ADA_HIDDEN_KEYS)
        return self


def _massless(criterion, y):
    """Per label of ``y``, whether ``criterion`` gives it no weight
    (``ignore_index``, a class weight of 0), as a boolean array; None when
    that cannot be told."""
    try:
        return (loss_mass(criterion, y, torch.ones(get_len(y))) <= 0).numpy()
    except (TypeError, ValueError, RuntimeError):
        return None


def _massless_labels(criterion, y):
    """Whether any of the labels ``y`` gets no weight from ``criterion``;
    True when that cannot be told."""
    if not isinstance(criterion, (torch.nn.NLLLoss, torch.nn.CrossEntropyLoss)):
        return False
    dead = _massless(criterion, y)
    return dead is None or bool(dead.any())


def _avoid_rows(dists, dead):
    """Policies' distributions (one row per policy) with no mass on the
    ``dead`` columns, each renormalised; a policy left with none spreads
    evenly over the live columns. Where every column is dead they are kept
    as they are (the step trains on nothing, as the parent's would)."""
    if dead.all():
        return dists
    out = np.where(dead[None, :], 0.0, dists)
    total = out.sum(axis=1, keepdims=True)
    even = (~dead).astype(np.float64) / float(np.count_nonzero(~dead))
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), even[None, :])


#: The (net, module, sampling_rate, reward) whose step cost was warned of.
_COST_WARNED = set()


class AdaSelectionMixin:
    """Per-minibatch adaptive subsampling for skorch nets (AdaSelection).

    Put this mixin before ``NeuralNetClassifier`` or ``NeuralNetRegressor``
    (or a class of yours built on them; ``NeuralNetBinaryClassifier`` is not
    supported: use a 2-output module). It overrides ``train_step``:
    each batch is scored with a no-grad forward pass, a mixture of selection
    policies with adaptive weights picks ``k = max(1, ceil(sampling_rate * B))``
    rows (at least 2 for a module with batch norm layers), and only those go
    through the parent's ordinary training step.
    :class:`AdaSelectionClassifier` and :class:`AdaSelectionRegressor` are the
    ready-made combinations.

    Extension points: :meth:`get_sample_losses` (per-sample losses; default:
    the criterion with ``reduction="none"``) and ``_gradient_proxy`` (the
    gradient-norm proxy and errors; defined by the classifier and regressor).

    Overriding ``train_step``: in a subclass of an AdaSelection net, pass
    the whole batch to ``super().train_step(batch, **fit_params)``, which
    selects its rows; an override that does not call it trains on whole
    batches, unweighted, and nothing is selected. A class placed after this
    mixin in the bases (between it and skorch's net) gets only the kept rows
    -- and, with ``method_reward="paired"``, one try per policy on a probe
    step, all but one undone afterwards -- so it must keep no state of its
    own from step to step (gradient accumulation). To change how the kept
    rows train, override ``train_step_single``, or ``get_loss`` calling
    ``super().get_loss``, which applies the rows' weights.

    Parameters
    ----------
    module : torch module (class or instance)
        As in skorch.
    sampling_rate : float in (0, 1], default=0.3
        Fraction ``r`` of each minibatch that is back-propagated,
        ``k = max(1, ceil(r * B))`` rows. At 1.0 (or whenever ``k = B``) no
        scoring pass is made and the step is exactly the parent's.
    policies : "all", str, BasePolicy or list of them, default="all"
        The policies to mix: names from ``"uniform"``, ``"big_loss"``,
        ``"small_loss"``, ``"gradient_norm"``, ``"adaboost"``,
        ``"loss_extremes"`` (the paper's Coreset 1), ``"typical_loss"``
        (Coreset 2), or policy instances (cloned before use). ``"all"`` mixes
        the seven; a single policy gives that baseline.
    method_lr : float, default=1.0
        Learning rate ``eta`` of the multiplicative method-weight update
        ``w_m <- w_m * exp(eta * rho_m)``; 0 keeps the weights uniform.
    method_reward : {"advantage", "drop", "probe", "paired"}, default="advantage"
        The reward ``rho_m`` (reconstruction). Both start from the relative
        drop ``d`` of the mean batch loss against its moving average (clipped
        to [-1, 1]) and the vote ``v_m``: the probability mass policy ``m``
        gave the rows kept at the previous step. ``"drop"`` is the literal
        reading ``rho_m = d * v_m``; since the loss falls during most of
        training, it always favours policies that concentrate their mass (the
        two coreset policies reach ``v_m = 1``), whatever their merit.
        ``"advantage"`` subtracts baselines, ``rho_m = (d - dbar) * (v_m - k /
        B)`` with ``dbar`` a moving average of ``d`` and ``k / B`` the vote of
        a random choice, so a policy gains only when the steps it shaped
        lowered the loss more than usual.

        Both compare losses of different batches, whose spread dwarfs what
        one step changes. ``"probe"`` measures the step itself: on every
        ``probe_every``-th step, a random quarter of the batch (at most
        ``B - k - 1`` rows) is held out of selection (or ``B / 4`` rows are
        taken from outside the batch: ``reward_rows``), one policy drawn at
        random (probability ``1 / (2M)`` plus half its mixing weight) picks
        all ``k`` rows from the rest, and after the step the held-out rows
        are scored again. The relative drop of their mean loss, against its
        moving average and divided by the moving average of its deviation,
        moves that policy's log-weight by ``0.1 * method_lr`` times this
        advantage (clipped to [-2, 2]) over ``M q_m``, so that rarely drawn
        policies are not under-credited. It costs one no-grad forward of
        ``B / 4`` rows per ``probe_every`` steps (two with rows from outside
        the batch, scored before the step too). See
        :meth:`~subsetml.minibatch.MethodWeights.update_probe`.

        ``"paired"`` compares the policies on the same step instead of on
        different ones: on a probe step (the same held-out rows), the
        ``k`` rows of each policy are trained on in turn from the same state
        (weights, optimiser state, BatchNorm statistics: put back after each
        try), and each try's drop of the held-out rows' mean loss is measured.
        Batch and state are common to all tries, so the differences between
        policies carry none of the batch-to-batch noise; every tried policy's
        log-weight moves by ``0.1 * method_lr`` times its drop's deviation
        from the tries' mean, over the moving average of that deviation
        (clipped to [-2, 2]). Training keeps the try of a policy drawn by its
        mixing weight. Policies whose weight would not earn half a row of the
        ``k`` are dormant and skipped, except the two heaviest and one drawn
        at random per probe; policies that keep the same rows share a try.
        It costs, per probe step, one step on ``k`` rows and one no-grad
        forward of ``B / 4`` rows per distinct try (and one before the
        tries with rows from outside the batch), and a copy of the
        module's and optimiser's state. See
        :meth:`~subsetml.minibatch.MethodWeights.update_paired`.
    method_floor : float in [0, 1), default=0.01
        Floor on each method weight, as a fraction of the uniform weight
        ``1 / M`` (reconstruction: "≈ 0.01 / M"), so no policy dies.
    loss_smoothing : float in [0, 1), default=0.9
        Factor of the exponential moving average of the mean batch loss that
        the reward compares against (reconstruction).
    curriculum_strength : float, default=1.0
        ``gamma`` in ``w_hat ∝ w * exp(gamma * u)``: ``u = 1 - lambda`` for
        easy-first policies (small loss, typical loss), ``lambda`` for
        hard-first ones (big loss, gradient norm, AdaBoost), 1/2 otherwise.
        0 disables the curriculum (reconstruction).
    curriculum_horizon : float, default=1.0
        ``kappa`` in the progress ``lambda = min(1, epoch / (kappa *
        max_epochs))``, with ``epoch`` counted from 0 (reconstruction).
    warmup_epochs : int, default=1
        Ordinary full-batch epochs before selection starts (reconstruction:
        the scores of an untrained net carry little information). ``fit``
        warns when they cover all ``max_epochs``.
    scoring_mode : {"eval", "train"}, default="eval"
        Module mode during the scoring pass. ``"eval"`` keeps BatchNorm
        running statistics from being updated twice and disables dropout.
    stale_epochs : int or "auto", default="auto"
        Reuse a row's scores from up to this many epochs ago instead of
        re-scoring it; only the rows with older (or no) scores go through the
        scoring forward. Rows kept for training are scored afresh the next
        time they come: the step on them made their scores out of date (kept
        as they were, big-loss policies picked the same rows again). 0
        scores every batch afresh. On the compute-bound 1-D CNN of
        ``benchmarks/bench_adaselection.py``, 1 made a step at rate 0.2 cost
        0.46 plain steps, at no loss of accuracy; on small MLPs it saved
        nothing and ranked lower on two of three tasks
        (``benchmarks/results/adaselection.json``). ``"auto"`` counts the floating-point
        operations of the fit's first scoring forward (a whole batch; torch's
        ``FlopCounterMode``) and uses 1 from then on when they reach 1e8 on
        the CPU, the size where that benchmark's models stopped being
        dominated by per-step overhead, and 0 otherwise. Even then it uses
        0 while fewer than 10 epochs are planned or trained (the larger of
        ``max_epochs`` and the history's length), where a score an epoch old
        is a large share of the fit out of date (on that benchmark's 6-epoch
        CNN case caching cost the default mix 1.3 points of accuracy,
        ``adaselection_cnn6.json``; on its 20-epoch grid nothing); while the
        ``"probe"`` and ``"paired"`` rewards make probe steps, which need
        freshly scored rows (with ``probe_horizon < 1`` caching can start
        after the horizon); and beside a scoring callback that caches the
        training predictions. On other devices it uses 0 (not measured).
        The count depends on the module and the batch size only, so the
        choice is the same on every run; the other conditions are read at
        every epoch, so they follow ``set_params`` between ``partial_fit``
        calls.
        ``history[:, "stale_epochs"]`` has the value in force at each
        epoch's end.
    probe_every : int, default=4
        With ``method_reward="probe"`` or ``"paired"``, every how many
        selecting steps one is a probe step; ignored otherwise, and when
        ``method_lr=0``. With ``reward_rows="batch"``, a probe step is
        skipped when fewer than ``k + 2`` rows of the batch would leave a
        choice, and the held-out rows need a fresh loss, so with
        ``stale_epochs`` they are drawn only from the rows the step
        re-scored: rows whose cached scores had expired or were dropped
        after a step on them, a biased sample; when every row's scores are
        cached, no probe.
    probe_horizon : float in (0, 1], default=1.0
        With ``method_reward="probe"`` or ``"paired"``, probe steps happen
        only in the epochs before ``probe_horizon * max_epochs`` (counted
        from 0 over the whole history, warm-up included, as the curriculum's
        progress: ``partial_fit`` and ``warm_start`` continue the count);
        after them the method weights stay as the probes left them and every
        step is an ordinary selecting step, so a paired mix pays for its
        tries early only. 1 probes throughout, however long the history. A
        horizon that ends within the warm-up is an error. On
        ``benchmarks/bench_adaselection.py``, 0.25 made the paired mix's CNN
        step at rate 0.2 cost 0.72 plain steps instead of 0.97 (scores cached
        after the horizon), but the mix ranked lower than with probes
        throughout on three of four tasks
        (``benchmarks/results/adaselection.json`` and
        ``adaselection_step_timing.json``).
    reward_rows : {"batch", "valid"} or float in (0, 0.5], default="batch"
        Where the ``"probe"`` and ``"paired"`` rewards find the rows they
        score before and after a step (ignored by the other rewards, with
        ``method_lr=0`` and with a single policy). ``"batch"``: a random
        quarter of the probe step's batch, held out of its selection. These
        are training rows, which the net has fit in earlier epochs, so late
        in training the reward favours the steps that disturb them least.
        The other two score rows the net never trains on, ``B / 4`` of them
        per probe step, taken in turn from a shuffled pool, with one more
        no-grad forward before the step; every row of the batch stays
        eligible. ``"valid"``: skorch's validation rows (``train_split``
        must make some); they then inform training, so the validation
        scores are no longer a clean estimate. A fraction: that share of the
        training rows is set aside once per fit (by ``random_state``) and
        not trained on.
    reward_statistic : {"mean", "median"}, default="mean"
        How the ``"probe"`` and ``"paired"`` rewards sum up the held-out
        rows' losses before and after a step. ``"median"`` keeps a few rows
        with corrupted targets from deciding the reward; in
        ``benchmarks/results/adaselection.json`` it ranked the paired mix
        lower than the mean did on both tasks it ran on, the linear task
        with 5 % corrupted targets (+3.00 against +2.60 behind the best
        single policy) and Bike Sharing (+2.63 against +0.90, where it drove
        the weights to typical loss).
    selection : {"allocate", "top_k", "sample"}, default="allocate"
        How the policies' distributions become the kept rows
        (reconstruction). ``"top_k"`` keeps the ``k`` largest mixed scores
        ``sum_m w_m p_m`` (ties at random), the literal reading; but a policy
        that puts ``1 / k`` on ``k`` rows (the two coreset policies) then
        outranks every softmax-spread one, and the mixture degenerates into
        the heaviest coreset policy. ``"allocate"`` gives policy ``m``
        ``round(w_m * k)`` of the slots and lets it fill them with its most
        probable rows not yet taken, so a weight is a share of the kept set.
        ``"sample"`` draws ``k`` rows without replacement with probability
        proportional to the mixed score. A single policy whose scores have no
        ties selects the same rows under all three except ``"sample"``; where
        its distribution ties rows (``"uniform"``, ``"adaboost"``), ties break
        differently, as ``"allocate"`` draws more random numbers.
    random_state : int, RandomState instance or None, default=None
        Seeds the tie-breaking (and sampling). Weight initialisation and
        batch shuffling stay with torch's seed, as in skorch.
    *args, **kwargs
        Everything else goes to the skorch net (``criterion``, ``optimizer``,
        ``lr``, ``max_epochs``, ``batch_size``, ``device``, ...).

    Attributes
    ----------
    policies_ : list of BasePolicy
        The fitted policies (AdaBoost's per-row weights live here).
    policy_names_ : list of str
        Their names, the keys of the history's weight dicts.
    method_weights_ : ndarray of shape (n_policies,)
        The adaptive method weights ``w`` after the last step.
    weighting_ : subsetml.minibatch.MethodWeights
        The method weights with their state (moving averages, last votes,
        last mixing weights); pure numpy.
    history : skorch History
        Besides skorch's entries, every epoch records ``rows_seen``,
        ``steps`` (training steps), ``rows_kept`` (rows back-propagated),
        ``rows_scored`` (rows through
        the scoring forward), ``scoring_time`` and ``training_time``
        (seconds), ``stale_epochs`` (the value in force), ``step_cost_ratio``
        (after the warm-up), ``method_weights`` (``w``, a dict by policy
        name) and ``mixing_weights`` (``w`` after the curriculum term, as
        used by the epoch's last selection step; ``None`` before any
        selection).

    Notes
    -----
    The per-step cost is about ``forward(B) + forward_backward(k)``, so the
    expected speed-up is ``3 / (1 + 3 r)``: nothing above ``r ≈ 0.67``.

    ``train_loss`` in the history is the loss of the kept rows (what is
    back-propagated), which big-loss selection inflates; the batch's
    ``y_pred`` handed to callbacks covers every row when the whole batch was
    scored, the kept rows otherwise.

    ``fit(X, y, sample_weight=w)`` multiplies each row's loss by its weight,
    in scoring and training (the training loss is ``sum(w * loss)`` over the
    kept rows divided as the criterion divides its mean -- by their number,
    or by their summed class weights for a class-weighted
    ``CrossEntropyLoss`` or ``NLLLoss`` -- and ``sum(w * loss)`` with
    ``criterion__reduction="sum"``), so weights of 1 change nothing; the
    validation loss stays unweighted.

    Row ids are positions in the training set (after skorch's validation
    split and the rows ``reward_rows`` sets aside); per-row state (AdaBoost
    weights, cached scores) carries over ``partial_fit`` calls on the same
    rows and is reset by ``fit`` and when the rows change: their number, the
    training rows of skorch's split (a validation split without a seed
    draws others on every call), or, for arrays, tensors, sparse matrices
    and DataFrames, a fingerprint of up to 64 evenly spaced rows of ``X``
    and ``y`` (a stream of equal-sized chunks). Other inputs (a Dataset, a
    dict of arrays) are not fingerprinted. The method weights go on.

    The ``"advantage"`` and ``"drop"`` rewards are measured on the next
    batch, whose mean loss varies from batch to batch far more than one step
    changes it: the method weights drift slowly and noisily
    (``benchmarks/bench_adaselection.py`` records them per epoch), and a
    larger ``method_lr`` mostly amplifies the noise. ``"probe"`` compares the
    same rows before and after a step, and credits the one policy that chose
    that step's rows.

    References
    ----------
    Zhang et al. (2023), "AdaSelection: Accelerating Deep Learning Training
    through Data Subsampling". The equations are not available; this
    implementation follows the reconstruction in the project's
    ``ALGORITHMS.md``, with the deviations documented above (``method_reward``
    and ``selection`` defaults).

    Examples
    --------
    The ready-made classifier is this mixin before ``NeuralNetClassifier``
    (a class of your own also defines ``_gradient_proxy``, the per-row
    gradient-norm proxy):

    >>> import numpy as np
    >>> import torch
    >>> from subsetml.skorch import AdaSelectionClassifier, AdaSelectionMixin
    >>> issubclass(AdaSelectionClassifier, AdaSelectionMixin)
    True
    >>> X = np.random.RandomState(0).randn(200, 4).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> net = AdaSelectionClassifier(
    ...     torch.nn.Linear(4, 2), criterion=torch.nn.CrossEntropyLoss,
    ...     sampling_rate=0.25, policies=["big_loss", "uniform"], max_epochs=3,
    ...     batch_size=40, train_split=None, random_state=0, verbose=0,
    ... ).fit(X, y)
    >>> net.history[-1, "rows_kept"]
    50
    """

    def __init__(
        self,
        module,
        *args,
        sampling_rate=0.3,
        policies="all",
        method_lr=1.0,
        method_reward="advantage",
        method_floor=0.01,
        loss_smoothing=0.9,
        curriculum_strength=1.0,
        curriculum_horizon=1.0,
        warmup_epochs=1,
        scoring_mode="eval",
        stale_epochs="auto",
        probe_every=4,
        probe_horizon=1.0,
        reward_rows="batch",
        reward_statistic="mean",
        selection="allocate",
        random_state=None,
        **kwargs,
    ):
        self.sampling_rate = sampling_rate
        self.policies = policies
        self.method_lr = method_lr
        self.method_reward = method_reward
        self.method_floor = method_floor
        self.loss_smoothing = loss_smoothing
        self.curriculum_strength = curriculum_strength
        self.curriculum_horizon = curriculum_horizon
        self.warmup_epochs = warmup_epochs
        self.scoring_mode = scoring_mode
        self.stale_epochs = stale_epochs
        self.probe_every = probe_every
        self.probe_horizon = probe_horizon
        self.reward_rows = reward_rows
        self.reward_statistic = reward_statistic
        self.selection = selection
        self.random_state = random_state
        super().__init__(module, *args, **kwargs)

    # ------------------------------------------------------------------
    # Parameters and state

    def set_params(self, **params):
        """Set parameters as skorch's ``set_params``; ``policies__<key>``
        sets ``<key>`` on a single policy object (``get_params(deep=True)``
        lists them, so a search can tune ``policies__temperature``)."""
        return set_params_nested(self, super().set_params, params, ("policies",))

    def _ada_validate_params(self):
        _check_number("sampling_rate", self.sampling_rate, low=0, high=1, low_open=True)
        _check_number("method_lr", self.method_lr, low=0)
        _check_number("method_floor", self.method_floor, low=0, high=1)
        if self.method_floor == 1:
            raise ValueError("method_floor must be below 1, got 1.")
        _check_number("loss_smoothing", self.loss_smoothing, low=0, high=1)
        if self.loss_smoothing == 1:
            raise ValueError("loss_smoothing must be below 1, got 1.")
        _check_number("curriculum_strength", self.curriculum_strength, low=0)
        _check_number("curriculum_horizon", self.curriculum_horizon, low=0)
        _check_number("warmup_epochs", self.warmup_epochs, low=0, integer=True)
        if not (isinstance(self.stale_epochs, str) and self.stale_epochs == "auto"):
            _check_number(
                "stale_epochs",
                self.stale_epochs,
                low=0,
                integer=True,
                description="a non-negative integer or 'auto'",
            )
        if self.scoring_mode not in ("eval", "train"):
            raise ValueError(
                f"scoring_mode must be 'eval' or 'train', got {self.scoring_mode!r}."
            )
        _check_number("probe_every", self.probe_every, low=1, integer=True)
        _check_number("probe_horizon", self.probe_horizon, low=0, high=1, low_open=True)
        if (
            self.method_reward in ("probe", "paired")
            and self.method_lr
            and self.probe_horizon < 1
            and self._ada_probe_end() <= self.warmup_epochs
        ):
            raise ValueError(
                f"probe_horizon={self.probe_horizon} ends the probes before "
                f"epoch {self.probe_horizon * self.max_epochs:g} of "
                f"max_epochs={self.max_epochs}, within the {self.warmup_epochs} "
                "warm-up epoch(s): no probe would run and the method weights "
                "would never move. Raise probe_horizon, or lower warmup_epochs."
            )
        if self.method_reward not in ("advantage", "drop", "probe", "paired"):
            raise ValueError(
                "method_reward must be 'advantage', 'drop', 'probe' or 'paired', got "
                f"{self.method_reward!r}."
            )
        if self.method_reward in ("probe", "paired") and self.scoring_mode == "train":
            raise ValueError(
                f"method_reward={self.method_reward!r} needs scoring_mode='eval': "
                "in training mode, BatchNorm normalises the whole batch before "
                "the step and the held-out quarter alone after it, so the two "
                "losses do not compare (and dropout adds noise to both)."
            )
        if self.reward_statistic not in ("mean", "median"):
            raise ValueError(
                "reward_statistic must be 'mean' or 'median', got "
                f"{self.reward_statistic!r}."
            )
        if self.selection not in ("allocate", "top_k", "sample"):
            raise ValueError(
                "selection must be 'allocate', 'top_k' or 'sample', got "
                f"{self.selection!r}."
            )
        if isinstance(self.reward_rows, str):
            if self.reward_rows not in ("batch", "valid"):
                raise ValueError(
                    "reward_rows must be 'batch', 'valid' or a fraction in "
                    f"(0, 0.5], got {self.reward_rows!r}."
                )
        else:
            _check_number(
                "reward_rows",
                self.reward_rows,
                low=0,
                high=0.5,
                low_open=True,
                description="'batch', 'valid' or a fraction in (0, 0.5]",
            )
        return self._ada_build_policies()

    def _ada_build_policies(self):
        spec = self.policies
        if isinstance(spec, str) and spec == "all":
            spec = list(POLICIES)
        elif isinstance(spec, (str, BasePolicy)):
            spec = [spec]
        else:
            try:
                spec = list(spec)
            except TypeError:
                raise TypeError(
                    "policies must be 'all', a policy name, a BasePolicy or a list "
                    f"of them, got {type(self.policies).__name__}."
                ) from None
        if not spec:
            raise ValueError(
                "policies is empty: give at least one policy, e.g. "
                f"policies='big_loss', or 'all' for the mixture of {sorted(POLICIES)}."
            )
        built = [make_policy(p) for p in spec]
        names, seen = [], {}
        for p in built:
            name = policy_name(p)
            seen[name] = seen.get(name, 0) + 1
            names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
        return built, names

    def initialize(self):
        super().initialize()
        self._ada_reset()
        return self

    def _ada_reset(self):
        self.policies_ = None
        self.policy_names_ = None
        self.weighting_ = None
        self._ada_n_rows_ = None
        self._ada_reserve_ = None

    @property
    def method_weights_(self):
        """The adaptive method weights ``w`` (``weighting_.weights``)."""
        weighting = getattr(self, "weighting_", None)
        return None if weighting is None else weighting.weights

    def _ada_start(self, n_rows, split=None):
        """Set up per-fit state for ``n_rows`` training rows (kept when unchanged).

        Between ``partial_fit`` calls (or warm-started fits) the state goes
        on, with the method-weight settings (``method_lr``, ``method_floor``,
        ``loss_smoothing``, the curriculum) as they are now; other
        ``policies`` start it afresh. The reward stays the fit's.
        """
        pool = getattr(self, "_ada_pool_in_use_", False)
        key = repr(self.policies)
        settings = {
            "lr": self.method_lr,
            "floor": self.method_floor,
            "smoothing": self.loss_smoothing,
            "curriculum_strength": self.curriculum_strength,
            "curriculum_horizon": self.curriculum_horizon,
        }
        # The rows behind the training positions: the data given (a
        # fingerprint) and the split skorch made of it (a random
        # validation split draws other training rows on every call).
        data = (getattr(self, "_ada_data_key_", None), split)
        if (
            getattr(self, "policies_", None) is not None
            and getattr(self, "_ada_state_pool_", False) == pool
            and getattr(self, "_ada_state_key_", None) == key
        ):
            if data != getattr(self, "_ada_state_data_", None) or (
                self._ada_n_rows_ != n_rows
            ):
                # Other rows (a stream of chunks, a shorter last one
                # included): their per-row state -- cached scores, AdaBoost
                # weights -- starts afresh; the method weights go on. Kept,
                # 637 of 800 new rows were ranked by the previous chunk's
                # losses (a review); another count reset the method weights
                # too (a later review).
                for policy in self.policies_:
                    policy.reset(n_rows)
                self._ada_cache_ = ScoreCache(n_rows)
                self._ada_state_data_ = data
                self._ada_n_rows_ = n_rows
            weighting = self.weighting_
            if any(getattr(weighting, k) != v for k, v in settings.items()):
                # set_params since the last fit: checked, then in force.
                self._ada_validate_params()
                for name, value in settings.items():
                    setattr(weighting, name, value)
            return
        policies, names = self._ada_validate_params()
        self._ada_state_key_ = key
        for policy in policies:
            policy.reset(n_rows)
        self.policies_ = policies
        self.policy_names_ = names
        self.weighting_ = MethodWeights(
            [p.curriculum for p in policies], reward=self.method_reward, **settings
        )
        self._ada_n_rows_ = n_rows
        self._ada_state_data_ = data
        # set_params(method_reward=...) between partial_fit calls that turns
        # the reward pool on or off starts a new state, so that a reserve is
        # never held out for a reward that does not use it.
        self._ada_state_pool_ = pool
        if self.random_state is None:
            # A fresh generator, never numpy's global one.
            self._ada_rng_ = np.random.RandomState()
        elif isinstance(self.random_state, np.random.RandomState):
            self._ada_rng_ = self.random_state
        else:
            self._ada_rng_ = np.random.RandomState(self.random_state)
        self._ada_cache_ = ScoreCache(n_rows)
        self._ada_auto_stale_ = None  # "auto" decides at the first scoring
        self._ada_n_classes_ = None
        self._ada_probe_count_ = 0

    @property
    def _default_callbacks(self):
        callbacks = []
        for name, cb in super()._default_callbacks:
            if name == "print_log" and isinstance(cb, PrintLog):
                cb = _AdaPrintLog()  # the table leaves the nets' keys out
            callbacks.append((name, cb))
        return callbacks

    # ------------------------------------------------------------------
    # Data plumbing: sample weights and row ids

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        """Initialise and fit the net, back-propagating a subset of each batch.

        Parameters
        ----------
        X, y
            As in skorch's ``fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights multiplying each row's loss.
        **fit_params
            Passed on to skorch's ``fit``.

        Returns
        -------
        self
        """
        self._ada_refuse_subset_training()
        self._ada_validate_params()
        self._ada_norm_rows_ = None
        if (
            not self.warm_start
            and self.sampling_rate < 1
            and self.max_epochs <= self.warmup_epochs
        ):
            warnings.warn(
                f"warmup_epochs={self.warmup_epochs} covers all max_epochs="
                f"{self.max_epochs}: every epoch trains on whole batches and no "
                "row is selected. Lower warmup_epochs or raise max_epochs.",
                UserWarning,
                stacklevel=external_stacklevel(),
            )
        # NaN/inf would reach every policy's scores and the loss silently
        # (a net trained on NaN X predicted NaN; NaN y failed deep inside a
        # policy): refuse them here, as the subset-training nets do.
        y = check_net_inputs(self, X, y)
        self._ada_plain_step_ = None
        with self._ada_weight_scope(X, sample_weight):
            return super().fit(X, y, **fit_params)

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Continue fitting, keeping the net and the selection state.

        Parameters
        ----------
        X, y, classes
            As in skorch's ``partial_fit``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights multiplying each row's loss.
        **fit_params
            Passed on to skorch's ``partial_fit``.

        Returns
        -------
        self
        """
        self._ada_refuse_subset_training()
        self._ada_validate_params()
        self._ada_norm_rows_ = None
        self._ada_data_key_ = _data_key(X, y)
        y = check_net_inputs(self, X, y, partial=True)
        with self._ada_weight_scope(X, sample_weight):
            return super().partial_fit(X, y, classes, **fit_params)

    def _ada_min_rows(self, n):
        """Fewest rows a step keeps: 2 for a module with batch norm (it cannot
        normalise one row in training mode, so a batch of 3 rows at
        ``sampling_rate=0.3`` failed deep inside torch), else 1. Looked up
        once per ``fit`` or ``partial_fit``."""
        rows = getattr(self, "_ada_norm_rows_", None)
        if rows is None:
            norms = _has_batch_norm(getattr(self, "module_", None))
            rows = self._ada_norm_rows_ = 2 if norms else 1
        return min(n, rows)

    def _ada_refuse_subset_training(self):
        # SubsetTrainingMixin's iterator bypasses this class's: mixed in
        # together, every step silently trained on the whole batch.
        if isinstance(self, SubsetTrainingMixin):
            raise TypeError(
                f"{type(self).__name__} mixes SubsetTrainingMixin into an "
                "AdaSelection net; the two cannot be combined (subset training "
                "would switch AdaSelection off). Use one of them."
            )

    @contextmanager
    def _ada_weight_scope(self, X, sample_weight):
        # fit calls partial_fit: an inner call without weights keeps the outer's.
        if sample_weight is None:
            yield
            return
        sw = np.asarray(sample_weight, dtype=np.float64)
        n = get_len(X)
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(f"sample_weight must have shape ({n},), got {sw.shape}.")
        if not np.all(np.isfinite(sw)) or np.any(sw < 0):
            raise ValueError("sample_weight must be finite and non-negative.")
        outer = getattr(self, "_ada_fit_weight_", None)
        self._ada_fit_weight_ = sw
        try:
            yield
        finally:
            self._ada_fit_weight_ = outer

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        sw = getattr(self, "_ada_fit_weight_", None)
        self._ada_train_weight_ = None
        if sw is not None:
            if isinstance(dataset_train, torch.utils.data.Subset) and len(
                dataset_train.dataset
            ) == len(sw):
                self._ada_train_weight_ = sw[np.asarray(dataset_train.indices)]
            elif len(dataset_train) == len(sw) and (
                dataset_valid is None or _is_given_rows(dataset_train, X)
            ):
                # All the rows given, in order: no split, or a validation
                # set of its own (skorch's predefined_split).
                self._ada_train_weight_ = sw
            else:
                raise ValueError(
                    "Cannot align sample_weight with the training rows produced by "
                    "train_split; use skorch's ValidSplit or train_split=False."
                )
        dataset_train = self._ada_set_reward_pool(dataset_train, dataset_valid, sw)
        return dataset_train, dataset_valid

    def _ada_uses_reward_pool(self):
        """Whether this fit scores its probe rewards on rows outside the batch.

        Not where no step can select (``sampling_rate=1``, or a fit that is
        all warm-up): there no probe runs, and the step is the parent's on
        every training row, none set aside (a review found a fifth of them
        reserved for nothing)."""
        selects = self.sampling_rate < 1 and (
            len(self.history) + self.max_epochs > self.warmup_epochs
        )
        return (
            selects
            and not (isinstance(self.reward_rows, str) and self.reward_rows == "batch")
            and self.method_reward in ("probe", "paired")
            and self.method_lr > 0
            and len(self._ada_build_policies()[0]) > 1
        )

    def _ada_set_reward_pool(self, dataset_train, dataset_valid, sw):
        """Set the rows the probe rewards score; return the rows to train on.

        ``reward_rows="valid"`` takes skorch's validation rows; a fraction
        reserves that share of the training rows, drawn once and kept by
        ``partial_fit`` calls on as many rows, and trains on the rest.
        """
        self._ada_reward_pool_ = None
        self._ada_pool_weight_ = None
        self._ada_pool_order_ = None
        self._ada_pool_loader_ = None
        self._ada_pool_in_use_ = self._ada_uses_reward_pool()
        if not self._ada_pool_in_use_:
            return dataset_train
        if isinstance(self.reward_rows, str):  # "valid"
            if dataset_valid is None or not len(dataset_valid):
                raise ValueError(
                    "reward_rows='valid' scores the method-weight reward on the "
                    "validation rows, but train_split made none: give a "
                    "train_split (e.g. skorch.dataset.ValidSplit(5)), or reserve "
                    "a fraction of the training rows, e.g. reward_rows=0.1."
                )
            self._ada_reward_pool_ = dataset_valid
            if sw is not None and isinstance(dataset_valid, torch.utils.data.Subset):
                if len(dataset_valid.dataset) == len(sw):
                    self._ada_pool_weight_ = sw[np.asarray(dataset_valid.indices)]
            return dataset_train
        n = len(dataset_train)
        size = int(round(self.reward_rows * n))
        if size < 1 or n - size < 2:
            raise ValueError(
                f"reward_rows={self.reward_rows} reserves {size} of the {n} training "
                "rows for the method-weight reward; it needs at least 1 reserved "
                "and 2 left to train on. Use a larger fraction or more rows."
            )
        reserve = getattr(self, "_ada_reserve_", None)
        if reserve is None or reserve[0] != n or len(reserve[1]) != size:
            rs = self.random_state
            rng = (
                rs
                if isinstance(rs, np.random.RandomState)
                else np.random.RandomState(rs)
            )
            reserve = (n, np.sort(rng.permutation(n)[:size]))
            self._ada_reserve_ = reserve
        pool_pos = reserve[1]
        train_pos = np.setdiff1d(np.arange(n), pool_pos, assume_unique=True)
        self._ada_reward_pool_ = torch.utils.data.Subset(dataset_train, pool_pos)
        weight = self._ada_train_weight_
        if weight is not None:
            self._ada_pool_weight_ = weight[pool_pos]
            self._ada_train_weight_ = weight[train_pos]
        return torch.utils.data.Subset(dataset_train, train_pos)

    def __getstate__(self):
        state = super().__getstate__()
        # The reward pool is the fit's data (a net pickled by a checkpoint
        # mid-fit would carry it, or fail on a dataset that cannot be
        # pickled); the next fit or partial_fit sets it again.
        for key in ("_ada_reward_pool_", "_ada_pool_weight_", "_ada_pool_order_"):
            state.pop(key, None)
        state.pop("_ada_pool_loader_", None)
        # Looked up again from the module by the next fit.
        state.pop("_ada_norm_rows_", None)
        # The fit's sample_weight is that fit's alone (a net pickled or
        # copied mid-fit applied it to later fits, a review).
        state.pop("_ada_fit_weight_", None)
        state.pop("_ada_train_weight_", None)
        return state

    def _ada_pool_rows(self, size):
        """The next ``size`` rows of the reward pool (cycling a shuffled order)."""
        pool = self._ada_reward_pool_
        size = min(size, len(pool))
        order = self._ada_pool_order_
        if order is None or order[1] + size > len(order[0]):
            order = [self._ada_rng_.permutation(len(pool)), 0]
        idx = order[0][order[1] : order[1] + size]
        order[1] += size
        self._ada_pool_order_ = order
        loader = getattr(self, "_ada_pool_loader_", None)
        if loader is None:
            # The loader the pool's rows would come from (training or
            # validation), as its class and parameters set it, for its way
            # of fetching and collating rows; building it reads no data.
            loader = super().get_iterator(pool, training=self.reward_rows != "valid")
            self._ada_pool_loader_ = loader
        Xp, yp = unpack_data(collate_rows(loader, pool, idx))
        weight = self._ada_pool_weight_
        return Xp, yp, None if weight is None else weight[idx]

    def get_iterator(self, dataset, training=False):
        if not training:
            # Validation and prediction fetch plain arrays a batch at a time,
            # as the training batches below are (the same batches).
            loader = valid_iterator(self, dataset)
            if loader is None:
                loader = super().get_iterator(dataset, training=False)
            return loader
        self._ada_start(len(dataset), split=_split_key(dataset))
        if (
            self.sampling_rate < 1
            and type(self).get_sample_losses is AdaSelectionMixin.get_sample_losses
            and getattr(self.criterion_, "reduction", None) is None
        ):
            # Before the warm-up epochs, not at the first selecting step after
            # them (a review).
            raise TypeError(_NO_REDUCTION.format(type(self.criterion_).__name__))
        data = _array_data(dataset)
        # Whether a batch can hold labels the loss gives no weight: looked up
        # once over the training rows where they are plain arrays, so that a
        # step need not (the common case: none).
        self._ada_dead_labels_ = data is None or _massless_labels(
            self.criterion_, data[1] if data[2] is None else data[1][data[2]]
        )
        if data is not None:
            loader = super().get_iterator(dataset, training=True)
            if _plain_loader(loader):
                return _ArrayBatches(loader, *data, self)
        loader = super().get_iterator(_RowIndexedDataset(dataset), training=True)
        collate_fn = getattr(loader, "collate_fn", None)
        if collate_fn is not None:
            loader.collate_fn = _CollateWithRowIds(collate_fn)
        return _RowIdIterator(loader, self)

    # ------------------------------------------------------------------
    # Losses and scores

    def get_sample_losses(self, y_pred, y_true, X=None):
        """Per-sample losses, shape ``(n_rows,)``, differentiable.

        The default evaluates ``get_loss`` (``training=False``, so a
        subclass's override, e.g. one that unpacks a module's tuple output,
        applies) with the criterion's ``reduction`` temporarily set to
        ``"none"`` and averages any trailing dimensions. Override it for a
        criterion without a ``reduction`` attribute, or when ``get_loss``
        adds terms that are not per sample.

        Parameters
        ----------
        y_pred : torch.Tensor
            Module output for the rows.
        y_true : torch.Tensor or array-like
            Their targets.
        X : optional
            Their inputs, passed on to ``get_loss``.

        Returns
        -------
        losses : torch.Tensor of shape (n_rows,)
        """
        criterion = self.criterion_
        reduction = getattr(criterion, "reduction", None)
        if reduction is None:
            raise TypeError(_NO_REDUCTION.format(type(criterion).__name__))
        criterion.reduction = "none"
        try:
            if getattr(self, "_ada_in_weighted_loss_", False):
                # Called from this class's weighted get_loss, which a
                # subclass's override has already gone through: the parent's.
                losses = super().get_loss(y_pred, y_true, X=X, training=False)
            else:
                losses = self.get_loss(y_pred, y_true, X=X, training=False)
        finally:
            criterion.reduction = reduction
        if losses.dim() == 0:
            raise TypeError(
                f"The criterion {type(criterion).__name__} ignored reduction='none'; "
                "override get_sample_losses."
            )
        return losses.reshape(losses.shape[0], -1).mean(dim=1)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weight = getattr(self, "_ada_step_weight_", None) if training else None
        if weight is None:
            loss = super().get_loss(y_pred, y_true, X=X, training=training)
        else:
            self._ada_in_weighted_loss_ = True
            try:
                losses = self.get_sample_losses(y_pred, y_true, X=X)
            finally:
                self._ada_in_weighted_loss_ = False
            weight = torch.as_tensor(weight, dtype=losses.dtype, device=losses.device)
            loss = losses * weight
            # The criterion's own reduction over the rows: a sum stays a sum,
            # and a mean is divided by the rows' mass (class weights, ignored
            # labels) as the criterion divides it, so weights of 1 change
            # nothing. ``losses`` are means over each row's elements.
            sums = getattr(self.criterion_, "reduction", "mean") == "sum"
            if sums:
                loss = loss.sum()
            else:
                mass = loss_mass(self.criterion_, y_true, losses).sum()
                loss = loss.sum() / mass.clamp_min(torch.finfo(mass.dtype).tiny)
        return loss

    def _gradient_proxy(self, y_pred, y_true):
        """Return ``(grad_norms, errors, n_classes)`` tensors for a scored batch."""
        raise NotImplementedError(
            "AdaSelectionMixin needs a gradient-norm proxy: use "
            "AdaSelectionClassifier or AdaSelectionRegressor, or define "
            "_gradient_proxy."
        )

    def _ada_score(self, y_pred, y_true, X, row_ids):
        """numpy (losses, grad_norms, errors) of scored rows; weighted losses."""
        with torch.no_grad():
            losses = self.get_sample_losses(y_pred, y_true, X=X)
            out = y_pred[0] if isinstance(y_pred, (tuple, list)) else y_pred
            grads, errors, n_classes = self._gradient_proxy(out, y_true)
        self._ada_n_classes_ = n_classes
        # One device-to-host copy for the three scores.
        scores = torch.stack(
            [t.detach().reshape(-1).to(torch.float64) for t in (losses, grads, errors)]
        )
        losses, grads, errors = scores.cpu().numpy()
        weight = getattr(self, "_ada_train_weight_", None)
        if weight is not None and row_ids is not None:
            losses = losses * weight[row_ids]
        return losses, grads, errors

    def _ada_forward_scores(self, X, y, row_ids, fit_params):
        """``(y_pred, (losses, grad_norms, errors))`` of a no-grad forward in
        the scoring mode; the module is left in that mode."""
        self._set_training(self.scoring_mode == "train")
        with torch.no_grad():
            y_pred = self.infer(X, **fit_params)
        return y_pred, self._ada_score(y_pred, y, X, row_ids)

    def _ada_sync(self):
        # Honest timings on CUDA; a sync happens right after the step anyway
        # (skorch reads the loss with .item()).
        device = str(self.device) if self.device is not None else ""
        if device.startswith("cuda") and torch.cuda.is_available():
            torch.cuda.synchronize()

    # ------------------------------------------------------------------
    # The step

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(
            net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs
        )
        self._ada_stats_ = {
            "rows_seen": 0,
            "rows_kept": 0,
            "rows_scored": 0,
            "scoring_time": 0.0,
            "training_time": 0.0,
            "steps": 0,
        }

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        stats = getattr(self, "_ada_stats_", None)
        if stats is not None and getattr(self, "policies_", None) is not None:
            self.history.record("stale_epochs", self._ada_stale_epochs() or 0)
            self._ada_check_step_cost(stats)
            for key, value in stats.items():
                self.history.record(key, value)
            names = self.policy_names_
            self.history.record(
                "method_weights",
                {n: float(w) for n, w in zip(names, self.method_weights_)},
            )
            mixing = self.weighting_.mixing
            if mixing is not None:
                mixing = {n: float(w) for n, w in zip(names, mixing)}
            self.history.record("mixing_weights", mixing)
        super().on_epoch_end(
            net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs
        )

    def _ada_stale_epochs(self):
        """The ``stale_epochs`` in force: the parameter, or auto's choice
        (None until the first scoring forward has counted the model).

        The count is kept; the other conditions are read at every call, so
        they follow ``set_params`` between ``partial_fit`` calls.
        """
        if not isinstance(self.stale_epochs, str):
            return self.stale_epochs
        costly = getattr(self, "_ada_auto_stale_", 0)  # "auto"
        if not costly:
            return costly
        if (
            # probes need freshly scored rows: no cache before the horizon
            self._ada_probing(len(self.history) - 1)
            # an epoch-old score is a large share of a short fit out of date
            or max(self.max_epochs, len(self.history)) < _AUTO_STALE_MIN_EPOCHS
            # a caching training scorer needs every row's predictions
            or getattr(self, "_ada_full_predictions_", False)
        ):
            return 0
        return costly

    def _ada_probe_end(self):
        """The epoch before which ``probe_horizon`` lets probes run (less a
        hair, so that e.g. 0.28 * 25 gives 7, not 7.000...1)."""
        return self.probe_horizon * self.max_epochs - 1e-9

    def _ada_probing(self, epoch):
        """Whether the fit's reward makes probe steps at this epoch."""
        weighting = getattr(self, "weighting_", None)
        if weighting is None or weighting.reward not in ("probe", "paired"):
            return False
        if not weighting.lr:
            return False
        return self.probe_horizon >= 1 or epoch < self._ada_probe_end()

    def _ada_auto_stale_forward(self, X, y, row_ids, fit_params):
        """The scoring forward, counting its operations to decide "auto"."""
        # Where the module's parameters are: with device=None skorch leaves
        # the module where it was, which may be a GPU.
        param = next(self.module_.parameters(), None)
        if param is not None:
            device = param.device.type
        else:
            device = torch.device(self.device or "cpu").type
        if device != "cpu":
            self._ada_auto_stale_ = 0
            return self._ada_forward_scores(X, y, row_ids, fit_params)
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            out = self._ada_forward_scores(X, y, row_ids, fit_params)
        flops = counter.get_total_flops()
        self._ada_auto_stale_ = 1 if flops >= _AUTO_STALE_FLOPS else 0
        return out

    def _ada_check_step_cost(self, stats):
        """Compare selecting steps with the warm-up's plain steps.

        Records ``step_cost_ratio`` (seconds per selecting step over seconds
        per plain full-batch step of the last warm-up epoch) and warns once
        per fit when selecting costs more than the plain step it replaces:
        on a small model the scoring pass and the per-step overhead outweigh
        the back-propagation they save.
        """
        if not stats["steps"]:
            return
        per_step = (stats["scoring_time"] + stats["training_time"]) / stats["steps"]
        epoch = len(self.history) - 1
        if epoch < self.warmup_epochs or self.sampling_rate >= 1:
            self._ada_plain_step_ = per_step
            return
        plain = getattr(self, "_ada_plain_step_", None)
        if not plain:
            return
        ratio = per_step / plain
        self.history.record("step_cost_ratio", ratio)
        key = (
            type(self).__name__,
            type(self.module_).__name__,
            self.sampling_rate,
            self.weighting_.reward,
        )
        if ratio > 1 and key not in _COST_WARNED:
            # Once per process for the same net, module, rate and reward (so
            # once per fit too): a search's fits, each a clone, printed it
            # once each, with its timings, since scikit-learn's and our
            # warning filters reset Python's record of warnings shown (13
            # copies, a review).
            _COST_WARNED.add(key)
            warnings.warn(
                f"AdaSelection steps at sampling_rate={self.sampling_rate} took "
                "longer than a plain full-batch step of this model (the "
                "warm-up epoch): "
                + (
                    "with method_reward='paired', every probe step trains once "
                    "per policy it tries; raise probe_every, or use another "
                    "reward. "
                    if self.weighting_.reward == "paired"
                    else "the model is too small for selecting rows to save "
                    "time, as the scoring pass and the per-step overhead cost "
                    "more than the back-propagation they save. Train the plain "
                    "net, or use larger batches or a larger model. "
                )
                + "history[:, 'step_cost_ratio'] has the ratio per epoch.",
                UserWarning,
                stacklevel=external_stacklevel(),
            )

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        check_net_output(self, X, y, needs_linear=False)
        # Cached scores skip the forward of some rows, so a step's y_pred
        # then covers the kept rows only: a scoring callback that caches the
        # training predictions would compare them with every row's target.
        scorers = [
            name
            for name, cb in getattr(self, "callbacks_", [])
            if isinstance(cb, (EpochScoring, BatchScoring))
            and cb.on_train
            and cb.use_caching
        ]
        self._ada_full_predictions_ = bool(scorers)
        if scorers and not isinstance(self.stale_epochs, str) and self.stale_epochs:
            raise ValueError(
                f"stale_epochs={self.stale_epochs} skips the scoring forward of "
                "rows whose scores are cached, so the training predictions "
                f"that the callback(s) {scorers} (on_train=True) cache do not "
                "cover every row. Give them use_caching=False, or set "
                "stale_epochs=0."
            )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self._ada_train_weight_ = None
        self._ada_row_ids_ = None
        # The pool is the fit's data: not kept in (or pickled with) the net.
        self._ada_reward_pool_ = None
        self._ada_pool_weight_ = None
        self._ada_pool_order_ = None
        self._ada_pool_loader_ = None
        super().on_train_end(net, X=X, y=y, **kwargs)

    def _set_training(self, training=True):
        # A step switches to evaluation mode for scoring and back; see
        # _switch_mode for why not Module.train.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_", None)
            if isinstance(module, torch.nn.Module):
                _switch_mode(module, training)

    def train_step(self, batch, **fit_params):
        """One optimisation step on the selected ``k`` rows of ``batch``.

        Scores the batch, selects ``k = max(1, ceil(sampling_rate * B))`` rows
        and runs the parent's ``train_step`` on them. During warm-up, when
        ``k = B``, or when called outside ``fit`` (no row ids, no state), it is
        the parent's step on the whole batch.

        Parameters
        ----------
        batch
            A batch from the training iterator.
        **fit_params
            Passed to the module's ``forward``.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": y_pred}`` as in skorch.
        """
        row_ids = getattr(self, "_ada_row_ids_", None)
        self._ada_row_ids_ = None
        if getattr(self, "policies_", None) is None or row_ids is None:
            # Outside fit (a fitted net's train_step in a loop of the user's):
            # fit's training batches always come with their row ids. The
            # fit's state is left as it is (a review found it selecting, or
            # failing for AdaBoost's per-row weights).
            return super().train_step(batch, **fit_params)
        stats = self._ada_stats_
        Xi, yi = unpack_data(batch)
        n = get_len(Xi)
        stats["rows_seen"] += n
        stats["steps"] += 1
        # Subtract a hair so that e.g. 0.3 * 10 gives 3, not 4.
        k = max(self._ada_min_rows(n), math.ceil(self.sampling_rate * n - 1e-9))
        epoch = len(self.history) - 1
        if k >= n or epoch < self.warmup_epochs:
            return self._ada_train_on(batch, row_ids, epoch, fit_params)

        # 1. Score the batch (or the part of it whose cached scores are too old).
        start = time.perf_counter()
        in_force = self._ada_stale_epochs()  # None: "auto" not decided yet
        stale = in_force or 0
        if stale > 0 and row_ids is not None:
            need = self._ada_cache_.stale(row_ids, epoch, stale)
            if (
                self.scoring_mode == "train"
                and need.sum() == 1
                and self._ada_min_rows(n) > 1
            ):
                # Batch norm in training mode cannot normalise one row (a
                # review: torch's "Expected more than 1 value per channel"):
                # a second row is scored afresh with it.
                need[np.flatnonzero(~need)[0]] = True
        else:
            need = np.ones(n, dtype=bool)
        y_pred_all = None
        if need.any():
            idx = None if need.all() else np.flatnonzero(need)
            Xs = Xi if idx is None else _take_rows(Xi, idx)
            ys = yi if idx is None else _take_rows(yi, idx)
            ids = None if row_ids is None else row_ids[need]
            if in_force is None:
                y_pred, scored = self._ada_auto_stale_forward(Xs, ys, ids, fit_params)
                # "auto" has decided now: its first batch is cached too, so
                # that "auto" resolved to 1 runs exactly as stale_epochs=1.
                stale = self._ada_stale_epochs() or 0
            else:
                y_pred, scored = self._ada_forward_scores(Xs, ys, ids, fit_params)
            if idx is None:
                y_pred_all = y_pred
            if ids is not None and stale > 0:
                self._ada_cache_.store(ids, epoch, *scored)
            stats["rows_scored"] += int(need.sum())
        if need.all():
            losses, grads, errors = scored
        else:
            losses, grads, errors = self._ada_cache_.scores(row_ids)
            if need.any():
                losses[need], grads[need], errors[need] = scored
        full = ScoredBatch(losses, grads, errors, row_ids, self._ada_n_classes_)
        self._ada_sync()

        # 2. Policies, method weights, curriculum, selection.
        if need.any():
            fresh = full if need.all() else full.take(need)
            for policy in self.policies_:
                policy.observe(fresh)
            self._ada_update_weights(float(fresh.losses.mean()), k / n)
        probe = self._ada_probe_rows(Xi, yi, row_ids, full, k, need, epoch, fit_params)
        if probe is None:
            eligible, choose = None, self.weighting_.choose
        else:
            # A probe step: one policy drawn at random picks the kept rows,
            # from the batch less its held-out quarter (or all of it when the
            # reward is scored on the pool).
            eligible = (
                None
                if probe.positions is None
                else np.setdiff1d(np.arange(n), probe.positions, assume_unique=True)
            )
            choose = self.weighting_.choose_probe
        part = full if eligible is None else full.take(eligible)
        dists = np.stack([p.distribution(part, k) for p in self.policies_])
        dead = self._ada_massless_rows(yi, row_ids)
        if dead is not None:
            dists = _avoid_rows(dists, dead if eligible is None else dead[eligible])
        if probe is not None and self.weighting_.reward == "paired":
            return self._ada_paired_step(
                (Xi, yi, row_ids, fit_params),
                probe,
                eligible,
                dists,
                k,
                epoch,
                start,
                y_pred_all,
            )
        kept = choose(
            dists,
            k,
            self._ada_rng_,
            epoch=epoch,
            max_epochs=self.max_epochs,
            selection=self.selection,
        )
        if eligible is not None:
            kept = eligible[kept]
        stats["scoring_time"] += time.perf_counter() - start

        # 3. The ordinary training step on the kept rows.
        sub_batch = (_take_rows(Xi, kept), _take_rows(yi, kept))
        sub_ids = None if row_ids is None else row_ids[kept]
        step = self._ada_train_on(sub_batch, sub_ids, epoch, fit_params)
        if probe is not None:
            self._ada_measure_probe(probe, fit_params)
        if y_pred_all is not None:
            step = dict(step, y_pred=y_pred_all)
        return step

    def _ada_massless_rows(self, y, row_ids):
        """Rows of the batch the loss gives no weight (a label equal to the
        criterion's ``ignore_index``, a class weight of 0, a
        ``sample_weight`` of 0) as a boolean array, or None when every row
        counts. A policy must not keep them: their loss of 0 ranks them first
        for small-loss policies, and a step on them alone trains nothing (a
        review found every selecting step of such fits on ignored rows)."""
        dead = None
        if getattr(self, "_ada_dead_labels_", True):
            dead = _massless(self.criterion_, y)
        weight = getattr(self, "_ada_train_weight_", None)
        if weight is not None and row_ids is not None:
            zero = weight[row_ids] <= 0
            dead = zero if dead is None else dead | zero
        if dead is None or not dead.any():
            return None
        return dead

    def _ada_probe_rows(self, Xi, yi, row_ids, full, k, fresh, epoch, fit_params):
        """The rows a probe step scores before and after it (``_HeldOut``), or None."""
        # The fit's MethodWeights decides (set_params between partial_fit
        # calls does not half-switch the reward); with lr 0 nothing can move,
        # and past the horizon the weights stay as the probes left them.
        if not self._ada_probing(epoch):
            return None
        self._ada_probe_count_ += 1
        if self._ada_probe_count_ % self.probe_every:
            return None
        n = fresh.size
        if getattr(self, "_ada_reward_pool_", None) is not None:
            # Rows the net never trains on: their loss before the step is one
            # more no-grad forward.
            Xp, yp, weight = self._ada_pool_rows(max(1, n // 4))
            before = self._ada_held_out_loss(Xp, yp, None, fit_params, weight)
            return _HeldOut(None, Xp, yp, None, weight, before)
        # Only freshly scored rows: their loss before the step is exact. At
        # least k + 1 rows stay eligible, or every policy would keep the same
        # rows and the probe would credit a choice nobody made.
        candidates = np.flatnonzero(fresh)
        size = min(n - k - 1, max(1, n // 4), candidates.size)
        if size < 1:
            return None
        probe = np.sort(self._ada_rng_.choice(candidates, size, replace=False))
        return _HeldOut(
            probe,
            _take_rows(Xi, probe),
            _take_rows(yi, probe),
            None if row_ids is None else row_ids[probe],
            None,
            self._ada_summarise(full.losses[probe]),
        )

    def _ada_measure_probe(self, probe, fit_params):
        """Re-score the held-out rows after the step; reward the drawn policy."""
        stats = self._ada_stats_
        start = time.perf_counter()
        after = self._ada_held_out_loss(
            probe.X, probe.y, probe.ids, fit_params, probe.weight
        )
        self.weighting_.update_probe(probe.before, after)
        self._ada_sync()
        stats["scoring_time"] += time.perf_counter() - start

    def _ada_held_out_loss(self, Xp, yp, ids, fit_params, weight=None):
        """Mean loss of the held-out rows as the module stands now.

        ``ids`` weight the losses by the training rows' sample weights,
        ``weight`` (the pool's) directly.
        """
        try:
            losses = self._ada_forward_scores(Xp, yp, ids, fit_params)[1][0]
        finally:
            # The step's own switch has already run: restore training mode.
            self._set_training(True)
        self._ada_stats_["rows_scored"] += get_len(Xp)
        if weight is not None:
            losses = losses * weight
        return self._ada_summarise(losses)

    def _ada_summarise(self, losses):
        """The held-out rows' losses as one number (``reward_statistic``)."""
        losses = np.asarray(losses, dtype=np.float64)
        if self.reward_statistic == "median":
            return float(np.median(losses))
        return float(losses.mean())

    def _ada_paired_step(
        self, batch, probe, eligible, dists, k, epoch, start, y_pred_all
    ):
        """A paired probe step: every policy's step tried from the same state.

        Each distinct kept set (policies that keep the same rows share one
        try) is trained on from the state before the step, the held-out rows
        are scored after it, and the state is put back; the step of the
        policy :meth:`~subsetml.minibatch.MethodWeights.choose_paired` drew
        is tried last and kept. The other tries count as scoring time.
        """
        stats = self._ada_stats_
        Xi, yi, row_ids, fit_params = batch
        kept_sets, chosen = self.weighting_.choose_paired(
            dists,
            k,
            self._ada_rng_,
            epoch=epoch,
            max_epochs=self.max_epochs,
            selection=self.selection,
        )
        groups = {}
        for m, kept in enumerate(kept_sets):
            if kept is not None:
                pos = kept if eligible is None else eligible[kept]
                groups.setdefault(tuple(pos), []).append(m)
        chosen = kept_sets[chosen]
        chosen_key = tuple(chosen if eligible is None else eligible[chosen])
        order = [key for key in groups if key != chosen_key] + [chosen_key]
        after = np.full(len(kept_sets), np.nan)
        snapshot = self._ada_snapshot()
        stats["scoring_time"] += time.perf_counter() - start
        step = None
        for i, key in enumerate(order):
            kept = np.asarray(key, dtype=np.int64)
            sub_batch = (_take_rows(Xi, kept), _take_rows(yi, kept))
            sub_ids = None if row_ids is None else row_ids[kept]
            if key == chosen_key:
                step = self._ada_train_on(sub_batch, sub_ids, epoch, fit_params)
                tick = time.perf_counter()
            else:
                tick = time.perf_counter()
                self._ada_try_step(sub_batch, sub_ids, fit_params)
            after[groups[key]] = self._ada_held_out_loss(
                probe.X, probe.y, probe.ids, fit_params, probe.weight
            )
            if i < len(order) - 1:
                self._ada_restore(snapshot)
            self._ada_sync()
            stats["scoring_time"] += time.perf_counter() - tick
        self.weighting_.update_paired(probe.before, after)
        if y_pred_all is not None:
            step = dict(step, y_pred=y_pred_all)
        return step

    def _ada_try_step(self, batch, row_ids, fit_params):
        """The parent's step on ``batch``, outside the fit's bookkeeping."""
        with self._ada_row_weights(row_ids):
            super().train_step(batch, **fit_params)

    @contextmanager
    def _ada_row_weights(self, row_ids):
        """The sample weights of ``row_ids`` for the loss, during a step."""
        weight = getattr(self, "_ada_train_weight_", None)
        self._ada_step_weight_ = (
            None if weight is None or row_ids is None else weight[row_ids]
        )
        try:
            yield
        finally:
            self._ada_step_weight_ = None

    def _ada_stateful(self):
        """The modules, criteria and optimisers a step can change."""
        for name in self._modules + self._criteria + self._optimizers:
            obj = getattr(self, name + "_", None)
            if obj is not None and hasattr(obj, "state_dict"):
                yield name, obj

    def _ada_snapshot(self):
        return {
            name: copy.deepcopy(obj.state_dict()) for name, obj in self._ada_stateful()
        }

    def _ada_restore(self, snapshot):
        # load_state_dict may keep the given tensors as the live state (an
        # optimiser's does): hand it a copy so the snapshot stays intact.
        for name, obj in self._ada_stateful():
            obj.load_state_dict(copy.deepcopy(snapshot[name]))

    def _ada_update_weights(self, batch_loss, keep_fraction):
        """Multiplicative method-weight step (:meth:`MethodWeights.update`)."""
        self.weighting_.update(batch_loss, keep_fraction)

    def _ada_train_on(self, batch, row_ids, epoch, fit_params):
        stats = self._ada_stats_
        start = time.perf_counter()
        with self._ada_row_weights(row_ids):
            step = super().train_step(batch, **fit_params)
        if row_ids is not None and self._ada_stale_epochs():
            # The step on these rows made their cached scores out of date
            # (kept as they were, big-loss policies picked the same rows
            # again: -2.3 points at r = 0.1 on the MNIST-1D CNN): score them
            # afresh next time.
            self._ada_cache_.forget(row_ids)
        self._ada_sync()
        stats["training_time"] += time.perf_counter() - start
        stats["rows_kept"] += get_len(unpack_data(batch)[0])
        return step


class AdaSelectionClassifier(AdaSelectionMixin, NeuralNetClassifier):
    """skorch classifier trained with AdaSelection (Zhang et al., 2023).

    :class:`skorch.NeuralNetClassifier` whose every training step
    back-propagates only a ``sampling_rate`` fraction of the minibatch, chosen
    by an adaptive mixture of selection policies. The gradient-norm proxy is
    ``||p - onehot(y)||`` with ``p`` the predicted probabilities (skorch's
    ``predict_nonlinearity`` applied to the module output); a row's error is 1
    when it is misclassified.

    See :class:`AdaSelectionMixin` for the parameters, attributes and which
    parts are reconstructions.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from subsetml.skorch import AdaSelectionClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 5).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> _ = torch.manual_seed(0)
    >>> net = AdaSelectionClassifier(
    ...     torch.nn.Linear(5, 2), criterion=torch.nn.CrossEntropyLoss,
    ...     sampling_rate=0.25, max_epochs=3, batch_size=40, lr=0.5,
    ...     train_split=False, verbose=0, random_state=0)
    >>> net = net.fit(X, y)
    >>> net.history[-1, "rows_kept"], net.history[-1, "rows_seen"]
    (50, 200)
    >>> sorted(net.history[-1, "method_weights"])[:3]
    ['adaboost', 'big_loss', 'gradient_norm']
    >>> float(net.score(X, y)) > 0.8
    True
    """

    def _gradient_proxy(self, y_pred, y_true):
        proba = self._get_predict_nonlinearity()(y_pred)
        if proba.dim() != 2:
            raise ValueError(
                "AdaSelectionClassifier expects module outputs of shape "
                f"(n_rows, n_classes), got {tuple(proba.shape)}."
            )
        n_classes = int(proba.shape[1])
        target = to_tensor(y_true, device=proba.device)
        if target.is_floating_point() and tuple(target.shape) == tuple(proba.shape):
            # Soft labels (class probabilities), which CrossEntropyLoss takes.
            target = target.to(proba.dtype)
            grads = (proba - target).norm(dim=1)
            errors = (proba.argmax(dim=1) != target.argmax(dim=1)).to(proba.dtype)
            return grads, errors, n_classes
        y = target.long().reshape(-1)
        # Rows whose label the loss ignores (CrossEntropyLoss's ignore_index,
        # -100 by default, or one inside the class range) carry no gradient
        # and no error.
        valid = (y >= 0) & (y < n_classes)
        ignore = getattr(self.criterion_, "ignore_index", None)
        if isinstance(ignore, int):
            valid = valid & (y != ignore)
        onehot = torch.nn.functional.one_hot(torch.where(valid, y, 0), n_classes)
        grads = (proba - onehot.to(proba.dtype)).norm(dim=1) * valid
        errors = ((proba.argmax(dim=1) != y) & valid).to(proba.dtype)
        return grads, errors, n_classes


class AdaSelectionRegressor(AdaSelectionMixin, NeuralNetRegressor):
    """skorch regressor trained with AdaSelection (Zhang et al., 2023).

    :class:`skorch.NeuralNetRegressor` whose every training step
    back-propagates only a ``sampling_rate`` fraction of the minibatch. The
    gradient-norm proxy and the error of a row are both ``||y_pred - y||``
    (for squared loss the gradient's norm is proportional to it).

    See :class:`AdaSelectionMixin` for the parameters, attributes and which
    parts are reconstructions.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from subsetml.skorch import AdaSelectionRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(200, 3).astype(np.float32)
    >>> y = (X @ np.array([1.0, -2.0, 0.5], dtype=np.float32))[:, None]
    >>> _ = torch.manual_seed(0)
    >>> net = AdaSelectionRegressor(
    ...     torch.nn.Linear(3, 1), policies="big_loss", sampling_rate=0.5,
    ...     max_epochs=5, batch_size=20, lr=0.1, train_split=False, verbose=0,
    ...     random_state=0)
    >>> net = net.fit(X, y)
    >>> net.history[-1, "rows_kept"]
    100
    >>> float(net.score(X, y)) > 0.9
    True
    """

    def _gradient_proxy(self, y_pred, y_true):
        y = to_tensor(y_true, device=y_pred.device).to(y_pred.dtype)
        n = y_pred.shape[0]
        diff = y_pred.reshape(n, -1) - y.reshape(n, -1)
        grads = diff.norm(dim=1)
        return grads, grads, None
