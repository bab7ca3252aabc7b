"""AdaSelection's policies and numpy kernels on constructed batches."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subsetml.skorch import (
    AdaBoostPolicy,
    BasePolicy,
    BigLossPolicy,
    GradientNormPolicy,
    LossExtremesPolicy,
    ScoredBatch,
    SmallLossPolicy,
    TypicalLossPolicy,
    UniformPolicy,
    make_policy,
)
from subsetml.skorch._mixing import (
    allocate_rows,
    curriculum_progress,
    curriculum_utilities,
    mixing_weights,
    project_to_floor,
    select_rows,
    update_method_weights,
)

LOSSES = np.array([0.7, 0.1, 2.5, 0.4, 1.3, 0.05, 0.9, 3.1])


def batch(losses=LOSSES, grad_norms=None, errors=None, row_ids=None, n_classes=3):
    n = len(losses)
    return ScoredBatch(
        losses=np.asarray(losses, dtype=float),
        grad_norms=np.ones(n) if grad_norms is None else grad_norms,
        errors=np.zeros(n) if errors is None else errors,
        row_ids=row_ids,
        n_classes=n_classes,
    )


def top(p, k):
    return set(np.argsort(-p, kind="stable")[:k].tolist())


ALL = [
    UniformPolicy,
    BigLossPolicy,
    SmallLossPolicy,
    GradientNormPolicy,
    AdaBoostPolicy,
    LossExtremesPolicy,
    TypicalLossPolicy,
]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("k", [1, 3, 8])
def test_every_policy_returns_a_distribution(cls, k):
    policy = cls().reset(20)
    b = batch(row_ids=np.arange(8) + 5)
    p = policy.observe(b).distribution(b, k)
    assert p.shape == (8,)
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0)
    assert cls.paper_name
    assert cls.curriculum in ("easy", "hard", "neutral")


def test_uniform_is_flat():
    assert np.allclose(UniformPolicy().distribution(batch(), 3), 1 / 8)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_big_loss_prefers_the_largest_losses(k):
    p = BigLossPolicy().distribution(batch(), k)
    assert top(p, k) == top(LOSSES, k)
    # monotone in the loss
    order = np.argsort(LOSSES)
    assert np.all(np.diff(p[order]) > 0)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_small_loss_prefers_the_smallest_losses(k):
    p = SmallLossPolicy().distribution(batch(), k)
    assert top(p, k) == top(-LOSSES, k)
    order = np.argsort(LOSSES)
    assert np.all(np.diff(p[order]) < 0)


def test_temperature_sharpens_and_is_validated():
    sharp = BigLossPolicy(temperature=0.1).distribution(batch(), 1)
    soft = BigLossPolicy(temperature=10.0).distribution(batch(), 1)
    assert sharp.max() > soft.max()
    with pytest.raises(ValueError, match="temperature"):
        SmallLossPolicy(temperature=0).distribution(batch(), 1)


def test_loss_policies_flat_on_equal_losses():
    assert np.allclose(BigLossPolicy().distribution(batch(np.ones(4)), 2), 0.25)


def test_gradient_norm_is_proportional():
    g = np.array([1.0, 0.0, 2.0, 5.0])
    p = GradientNormPolicy().distribution(batch(np.ones(4), grad_norms=g), 1)
    assert np.allclose(p, g / g.sum())
    zero = GradientNormPolicy().distribution(batch(np.ones(4), grad_norms=g * 0), 1)
    assert np.allclose(zero, 0.25)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8])
def test_loss_extremes_takes_both_ends(k):
    p = LossExtremesPolicy().distribution(batch(), k)
    chosen = set(np.flatnonzero(p).tolist())
    order = np.argsort(LOSSES)
    n_big = (k + 1) // 2
    expected = set(order[len(LOSSES) - n_big :].tolist()) | set(
        order[: k - n_big].tolist()
    )
    assert chosen == expected
    assert np.allclose(p[p > 0], 1 / k)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_typical_loss_takes_the_rows_nearest_the_mean(k):
    p = TypicalLossPolicy().distribution(batch(), k)
    distance = np.abs(LOSSES - LOSSES.mean())
    assert set(np.flatnonzero(p).tolist()) == top(-distance, k)
    assert np.allclose(p[p > 0], 1 / k)


def test_adaboost_samme_raises_misclassified_rows_persistently():
    policy = AdaBoostPolicy().reset(10)
    wrong = np.array([0, 1, 0, 0], dtype=float)
    b = batch(np.ones(4), errors=wrong, row_ids=np.array([2, 3, 4, 5]), n_classes=3)
    policy.observe(b)
    w = policy.weights_
    # row 3 was misclassified: its weight grew; the batch's total is unchanged
    assert w[3] > w[2] == w[4] == w[5]
    assert w[[2, 3, 4, 5]].sum() == pytest.approx(4.0)
    # rows outside the batch untouched
    assert np.all(w[[0, 1, 6, 7, 8, 9]] == 1.0)
    # the weight persists: a later batch containing row 3 still favours it
    later = batch(np.ones(3), row_ids=np.array([3, 8, 9]))
    p = policy.distribution(later, 1)
    assert int(np.argmax(p)) == 0
    # SAMME's alpha: eps = 1/4, C = 3 -> alpha = log(3) + log(2)
    assert w[3] / w[2] == pytest.approx(np.exp(np.log(3) + np.log(2)))


def test_adaboost_samme_skips_when_worse_than_chance():
    policy = AdaBoostPolicy().reset(4)
    b = batch(np.ones(4), errors=np.array([1, 1, 1, 0.0]), row_ids=np.arange(4))
    policy.observe(b)  # eps = 3/4 >= 1 - 1/3: alpha < 0, no update
    assert np.all(policy.weights_ == 1.0)


def test_adaboost_r2_raises_large_errors():
    policy = AdaBoostPolicy().reset(5)
    err = np.array([0.1, 0.2, 0.1, 2.0, 0.1])
    b = batch(np.ones(5), errors=err, row_ids=np.arange(5), n_classes=None)
    p = policy.observe(b).distribution(b, 1)
    assert int(np.argmax(p)) == 3
    assert np.all(np.diff(policy.weights_[[0, 1, 3]]) > 0)
    # explicit R2 on a classification batch as well
    r2 = AdaBoostPolicy(variant="r2").reset(5)
    r2.observe(batch(np.ones(5), errors=err, row_ids=np.arange(5)))
    assert int(np.argmax(r2.weights_)) == 3


def test_adaboost_needs_row_ids_and_reset():
    with pytest.raises(ValueError, match="row ids|row_ids"):
        AdaBoostPolicy().reset(8).distribution(batch(), 1)
    with pytest.raises(RuntimeError, match="reset"):
        AdaBoostPolicy().distribution(batch(row_ids=np.arange(8)), 1)
    with pytest.raises(ValueError, match="row ids must be in"):
        AdaBoostPolicy().reset(4).distribution(batch(row_ids=np.arange(8)), 1)
    with pytest.raises(ValueError, match="variant"):
        AdaBoostPolicy(variant="m1").reset(4)


def test_distribution_validates_input_and_output():
    with pytest.raises(ValueError, match="k must be"):
        UniformPolicy().distribution(batch(), 0)
    with pytest.raises(ValueError, match="k must be"):
        UniformPolicy().distribution(batch(), 9)
    with pytest.raises(TypeError, match="ScoredBatch"):
        UniformPolicy().distribution(LOSSES, 1)

    class Negative(BasePolicy):
        def _distribution(self, batch, k):
            return -np.ones(batch.size)

    with pytest.raises(ValueError, match="invalid"):
        Negative().distribution(batch(), 1)


def test_scored_batch_checks_shapes():
    with pytest.raises(ValueError, match="rows"):
        ScoredBatch(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="1-d"):
        ScoredBatch(np.ones((3, 1)), np.ones(3), np.ones(3))
    b = batch(row_ids=np.arange(8))
    assert b.take(np.array([1, 2])).row_ids.tolist() == [1, 2]


def test_fractional_row_ids_and_k_are_refused_not_truncated():
    # int(2.7) kept 2 rows and 0.5 became row 0 (another row's AdaBoost weight)
    with pytest.raises(TypeError, match="k must be an integer"):
        LossExtremesPolicy().distribution(batch(), 2.7)
    with pytest.raises(ValueError, match="whole numbers"):
        batch(losses=[1.0, 2.0], row_ids=np.array([0.5, 1.7]))
    for bad in ([0.0, np.inf], [0.0, np.nan], [-1, 2]):
        with pytest.raises(ValueError, match="row_ids must be"):
            batch(losses=[1.0, 2.0], row_ids=np.array(bad))
    whole = batch(losses=[1.0, 2.0], row_ids=np.array([3.0, 1.0]))
    assert whole.row_ids.tolist() == [3, 1]
    assert UniformPolicy().distribution(batch(), np.int64(2)).shape == (8,)


def test_make_policy_names_aliases_and_errors():
    assert isinstance(make_policy("big_loss"), BigLossPolicy)
    assert isinstance(make_policy("coreset_1"), LossExtremesPolicy)
    assert isinstance(make_policy("coreset_2"), TypicalLossPolicy)
    template = BigLossPolicy(temperature=0.5)
    made = make_policy(template)
    assert made is not template and made.temperature == 0.5
    with pytest.raises(ValueError, match="Unknown policy 'biggest_loss'"):
        make_policy("biggest_loss")


# --- kernels ---------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=8),
    st.floats(0.0, 1.0),
)
def test_project_to_floor_is_a_distribution_above_the_floor(raw, fraction):
    m = len(raw)
    floor = fraction / m
    w = project_to_floor(np.array(raw), floor)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w >= floor - 1e-12)
    # order is preserved (weakly)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(w[order]) >= -1e-12)


def test_method_weights_move_to_the_winner_and_stop_at_the_floor():
    m, floor = 4, 0.01 / 4
    w = np.full(m, 1 / m)
    history = [w]
    for _ in range(200):
        # policy 2 always voted for the kept rows, and it paid off
        w = update_method_weights(
            w, np.array([0.0, 0.1, 1.0, 0.2]), lr=1.0, floor=floor
        )
        history.append(w)
    history = np.array(history)
    assert np.all(np.diff(history[:, 2]) >= -1e-12)
    assert history[-1, 2] == pytest.approx(1 - 3 * floor)
    assert history.min() >= floor - 1e-12


def test_method_weights_without_floor_collapse_quietly():
    # method_floor=0: a losing policy's weight underflows to exactly 0 and
    # must stay there without a "divide by zero in log" warning every step.
    w = np.full(3, 1 / 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            w = update_method_weights(w, np.array([1.0, -1.0, 0.0]), lr=300.0, floor=0)
    assert w.tolist() == [1.0, 0.0, 0.0]


def test_curriculum_schedule():
    assert curriculum_progress(0, 10, 0.5) == 0
    assert curriculum_progress(2, 10, 0.5) == pytest.approx(0.4)
    assert curriculum_progress(7, 10, 0.5) == 1
    assert curriculum_progress(3, 10, 0) == 1
    u = curriculum_utilities(["easy", "hard", "neutral"], 0.25)
    assert np.allclose(u, [0.75, 0.25, 0.5])
    w = mixing_weights(np.full(3, 1 / 3), u, 2.0)
    assert np.allclose(w, np.exp(2 * u) / np.exp(2 * u).sum())


def test_select_rows_top_k_and_random_ties():
    rng = np.random.RandomState(0)
    scores = np.array([0.1, 0.5, 0.2, 0.9, 0.5])
    assert select_rows(scores, 2, rng).tolist() == [1, 3] or select_rows(
        scores, 2, rng
    ).tolist() == [3, 4]
    assert select_rows(scores, 1, rng).tolist() == [3]
    picks = {tuple(select_rows(np.ones(6), 2, rng)) for _ in range(50)}
    assert len(picks) > 5  # ties broken at random
    sampled = select_rows(np.array([0, 1, 1, 0, 1.0]), 3, rng, method="sample")
    assert sampled.tolist() == [1, 2, 4]


def test_allocate_rows_shares_slots_by_weight():
    rng = np.random.RandomState(0)
    b = batch()
    big = BigLossPolicy().distribution(b, 4)
    small = SmallLossPolicy().distribution(b, 4)
    kept = allocate_rows(np.stack([big, small]), np.array([0.75, 0.25]), 4, rng)
    assert set(kept.tolist()) == top(LOSSES, 3) | top(-LOSSES, 1)
    # a single policy keeps its own top k
    only = allocate_rows(big[None], np.array([1.0]), 3, rng)
    assert set(only.tolist()) == top(LOSSES, 3)
    # overlapping preferences still give exactly k rows
    kept = allocate_rows(np.stack([big, big]), np.array([0.5, 0.5]), 5, rng)
    assert set(kept.tolist()) == top(LOSSES, 5)


@pytest.mark.parametrize(
    "returned, match",
    [
        (np.array([0.5, -0.1, 0.6]), "invalid probabilities"),
        (np.array([np.nan, 0.5, 0.5]), "invalid probabilities"),
        (np.zeros(3), "invalid probabilities"),
        (np.ones(2), "returned shape"),
    ],
)
def test_a_policy_of_ones_own_is_checked(returned, match):
    class Custom(BasePolicy):
        def _distribution(self, batch, k):
            return returned

    batch = ScoredBatch(np.ones(3), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match=match):
        Custom().distribution(batch, k=1)


def test_a_subclass_of_a_built_in_policy_is_checked_too():
    class Negative(BigLossPolicy):
        def _distribution(self, batch, k):
            return -super()._distribution(batch, k)

    batch = ScoredBatch(np.array([0.1, 3.0, 1.0]), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="invalid probabilities"):
        Negative().distribution(batch, k=1)


def test_a_built_in_policy_with_degenerate_weights_is_refused():
    """Found in review: skipping the checks for built-in policies let NaN
    distributions through to the row allocation."""
    policy = AdaBoostPolicy().reset(4)
    policy.weights_[:] = 0.0
    batch = ScoredBatch(np.ones(4), np.ones(4), np.zeros(4), row_ids=np.arange(4))
    with pytest.raises(ValueError, match="invalid probabilities"):
        policy.distribution(batch, k=2)


def test_probe_reward_credits_only_the_drawn_policy():
    from subsetml.minibatch import MethodWeights

    mw = MethodWeights(["hard", "easy", "neutral"], lr=1.0, reward="probe", floor=0.01)
    dists = np.array([[0.7, 0.3, 0.0, 0.0], [0.0, 0.0, 0.4, 0.6], [0.25] * 4])
    rng = np.random.RandomState(0)
    mw.update(1.0, 0.5)  # the batch-loss reward is off under "probe"
    assert mw.loss_ema is None and mw.votes is None
    mw.update_probe(1.0, 0.5)  # no probe step drawn: nothing to credit
    assert mw.n_probes == 0
    drops = {0: 0.3, 1: -0.1, 2: 0.1}
    counts = np.zeros(3, dtype=int)
    for _ in range(300):
        kept = mw.choose_probe(dists, 2, rng, epoch=0, max_epochs=1)
        m, q = mw.probe
        counts[m] += 1
        # the drawn policy alone picks the rows, and is drawn with
        # probability 1 / (2 M) + mixing / 2
        assert dists[m][kept].min() >= np.sort(dists[m])[-2]
        assert q == pytest.approx(1 / 6 + mw.mixing[m] / 2)
        before = 2.0
        mw.update_probe(before, before * (1 - drops[m] + rng.normal(0, 0.02)))
    assert mw.n_probes == 300
    # every policy is explored, the best drop wins, the worst sits lowest
    assert counts.min() > 30
    assert np.argmax(mw.weights) == 0 and np.argmin(mw.weights) == 1
    assert mw.weights.sum() == pytest.approx(1.0)
    assert mw.weights.min() >= 0.01 / 3 - 1e-12


def test_probe_reward_first_probe_only_sets_the_baseline():
    from subsetml.minibatch import MethodWeights

    mw = MethodWeights(["hard", "easy"], lr=1.0, reward="probe", floor=0.0)
    rng = np.random.RandomState(0)
    dists = np.array([[1.0, 0.0], [0.0, 1.0]])
    mw.choose_probe(dists, 1, rng, epoch=0, max_epochs=1)
    mw.update_probe(1.0, 0.0)
    assert np.allclose(mw.weights, 0.5) and mw.drop_ema == 1.0
    mw.choose_probe(dists, 1, rng, epoch=0, max_epochs=1, selection="sample")
    drawn = mw.probe[0]
    mw.update_probe(1.0, 1.0)  # a drop of 0 against a baseline of 1
    assert mw.weights[drawn] < 0.5


def test_probe_update_is_importance_weighted():
    from subsetml.minibatch import MethodWeights

    mw = MethodWeights(["neutral", "neutral"], lr=1.0, reward="probe", floor=0.0)
    mw.probe = (0, 0.25)
    mw.update_probe(1.0, 0.5)  # the baseline: a drop of 0.5
    mw.probe = (1, 0.25)
    mw.update_probe(1.0, 0.0)  # a drop of 1.0: advantage (1 - 0.5) / 0.5 = 1
    # log w_1 moves by 0.1 * lr * 1 / (M q) = 0.1 / 0.5
    expected = np.exp(0.2) / (1 + np.exp(0.2))
    assert mw.weights[1] == pytest.approx(expected)
    # the baseline is the plain mean of the first drops
    assert mw.drop_ema == pytest.approx(0.75) and mw.scale_ema == 0.5


def test_paired_reward_credits_every_tried_policy_at_once():
    from subsetml.minibatch import MethodWeights

    mw = MethodWeights(["hard", "easy", "neutral"], lr=1.0, reward="paired", floor=0.0)
    mw.update(1.0, 0.5)  # the batch-loss reward is off under "paired"
    assert mw.loss_ema is None
    # drops of 0.3, 0.1 and 0.2: deviations +0.1, -0.1, 0, spread 0.2 / 3
    mw.update_paired(1.0, [0.7, 0.9, 0.8])
    advantage = np.clip(np.array([0.1, -0.1, 0.0]) / (0.2 / 3), -2, 2)
    expected = np.exp(0.1 * advantage) / np.exp(0.1 * advantage).sum()
    assert np.allclose(mw.weights, expected)
    assert mw.n_probes == 1 and mw.scale_ema == pytest.approx(0.2 / 3)
    # an untried policy (NaN) keeps its log-weight; with one try, no update
    before = mw.weights.copy()
    mw.update_paired(1.0, [0.5, np.nan, 0.9])
    ratio = mw.weights / before
    assert ratio[0] > ratio[1] > ratio[2]
    assert mw.n_probes == 2
    mw.update_paired(1.0, [0.5, np.nan, np.nan])
    assert mw.n_probes == 2


def test_paired_reward_finds_the_best_policy_through_noise():
    from subsetml.minibatch import MethodWeights

    rng = np.random.RandomState(0)
    mw = MethodWeights(["neutral"] * 4, lr=1.0, reward="paired", floor=0.01)
    means = np.array([0.10, 0.12, 0.11, 0.15])
    for _ in range(200):
        # A common shift (the batch) far larger than the policies' differences
        shift = rng.normal(0, 0.2)
        mw.update_paired(1.0, 1.0 - means - shift - rng.normal(0, 0.01, 4))
    assert np.argmax(mw.weights) == 3
    assert mw.weights[3] > 0.9


def test_choose_paired_skips_dormant_policies_but_one():
    from subsetml.minibatch import MethodWeights

    mw = MethodWeights(["neutral"] * 5, lr=1.0, reward="paired", floor=0.0)
    mw.weights = np.array([0.6, 0.37, 0.01, 0.01, 0.01])
    dists = np.array(
        [
            [0.4, 0.3, 0.2, 0.1],
            [0.1, 0.2, 0.3, 0.4],
            [0.25] * 4,
            [0.0, 0.0, 0.5, 0.5],
            [0.5, 0.0, 0.5, 0.0],
        ]
    )
    rng = np.random.RandomState(0)
    woken = set()
    for _ in range(40):
        kept, chosen = mw.choose_paired(dists, 2, rng, epoch=0, max_epochs=1)
        tried = [m for m, rows in enumerate(kept) if rows is not None]
        # 0.01 * 2 rows is below half a row: dormant, one of them tried
        assert len(tried) == 3 and tried[:2] == [0, 1]
        woken.add(tried[2])
        assert chosen in tried
        assert list(kept[0]) == [0, 1] and list(kept[1]) == [2, 3]
    assert woken == {2, 3, 4}
    # nobody dormant: every policy tried, the kept step drawn by weight
    mw.weights = np.full(5, 0.2)
    kept, chosen = mw.choose_paired(dists, 5, rng, epoch=0, max_epochs=1)
    assert all(rows is not None for rows in kept)


def test_choose_paired_compares_two_even_when_k_is_small():
    """Found in review: with k = 2 and seven policies every one was dormant,
    one was tried, and the weights never moved."""
    from subsetml.minibatch import MethodWeights

    rng = np.random.RandomState(0)
    mw = MethodWeights(["neutral"] * 7, lr=1.0, reward="paired", floor=0.0)
    dists = rng.dirichlet(np.ones(16), size=7)
    kept, _ = mw.choose_paired(dists, 1, rng, epoch=0, max_epochs=1)
    assert sum(rows is not None for rows in kept) == 3
    # a weight that underflowed to 0 is never woken (nor drawn)
    mw.weights = np.array([0.5, 0.5, 0, 0, 0, 0, 0])
    for _ in range(20):
        kept, chosen = mw.choose_paired(dists, 1, rng, epoch=0, max_epochs=1)
        assert [m for m, rows in enumerate(kept) if rows is not None] == [0, 1]
        assert chosen in (0, 1)


def test_update_paired_learns_nothing_from_identical_tries():
    from subsetml.minibatch import MethodWeights

    mw = MethodWeights(["neutral"] * 3, lr=1.0, reward="paired", floor=0.0)
    mw.update_paired(1.0, [0.8, 0.8, np.nan])
    assert mw.n_probes == 0 and mw.scale_ema is None
    assert np.allclose(mw.weights, 1 / 3)


def test_a_diverged_batch_leaves_the_policies_and_weights_usable():
    """A NaN batch loss made the method weights NaN, and then no row was
    kept for the rest of training; NaN errors made AdaBoost's weights NaN."""
    from subsetml.minibatch._weights import MethodWeights

    for reward in ("drop", "advantage"):
        mw = MethodWeights(["big_loss", "uniform"], reward=reward, lr=1.0, floor=0.1)
        mw.votes = np.array([0.7, 0.3])
        mw.update(1.0, 0.3)
        mw.update(float("nan"), 0.3)
        mw.update(0.8, 0.3)
        assert np.all(np.isfinite(mw.weights)) and np.isfinite(mw.loss_ema)
    mw = MethodWeights(["big_loss", "uniform"], reward="probe", lr=1.0, floor=0.1)
    mw.probe = (0, 0.5)
    mw.update_probe(1.0, float("nan"))
    mw.update_paired(float("nan"), [0.5, 0.6])
    assert np.all(np.isfinite(mw.weights))
    # Kept rows stay k even if a caller passes broken weights.
    rng = np.random.RandomState(0)
    dists = np.tile(LOSSES / LOSSES.sum(), (2, 1))
    assert allocate_rows(dists, np.array([np.nan, np.nan]), 3, rng).shape == (3,)

    policy = AdaBoostPolicy(variant="r2").reset(8)
    errors = np.array([0.1, np.nan, 0.3, 0.2, 0.5, 0.1, 0.4, 0.2])
    b = batch(errors=errors, row_ids=np.arange(8))
    p = policy.observe(b).distribution(b, k=3)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(policy.weights_))


def test_adaboost_max_weight_below_one_is_refused():
    with pytest.raises(ValueError, match="max_weight"):
        AdaBoostPolicy(max_weight=0).reset(4)
