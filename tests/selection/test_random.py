import numpy as np
import pytest

from subsetml.selection import RandomSelector, allocate_budget
from subsetml.utils.estimator_checks import make_view


def test_random_is_uniform_without_replacement():
    view = make_view(50, 2, 2, seed=0)
    counts = np.zeros(50)
    for seed in range(400):
        idx, w = RandomSelector(random_state=seed).select(view, 10)
        assert np.unique(idx).size == 10 and np.all(w == 1)
        counts[idx] += 1
    # Each row is chosen with probability 10/50: expect 80 +- a few sigma (8).
    assert np.all(np.abs(counts - 80) < 40)


def test_random_per_class_is_stratified():
    view = make_view(100, 2, 4, seed=1)
    idx, _ = RandomSelector(per_class=True, random_state=0).select(view, 20)
    assert np.bincount(view.y[idx]).tolist() == [5, 5, 5, 5]


def test_random_per_class_needs_classification():
    view = make_view(40, 2, 1, task="regression")
    with pytest.raises(ValueError, match="classification"):
        RandomSelector(per_class=True).select(view, 5)
    with pytest.raises(ValueError, match="per_class"):
        RandomSelector(per_class="yes").select(make_view(), 5)


@pytest.mark.parametrize(
    "counts, k, expected",
    [
        ([50, 30, 20], 10, [5, 3, 2]),
        ([900, 90, 10], 10, [8, 1, 1]),
        ([3, 3, 3], 9, [3, 3, 3]),
        ([1, 1, 98], 3, [1, 1, 1]),
        ([7, 5], 4, [2, 2]),
    ],
)
def test_allocate_budget(counts, k, expected):
    out = allocate_budget(counts, k)
    assert out.tolist() == expected
    assert out.sum() == k and np.all(out >= 1) and np.all(out <= counts)


def test_allocate_budget_properties():
    rng = np.random.RandomState(0)
    for _ in range(200):
        counts = rng.randint(1, 50, size=rng.randint(1, 8))
        k = rng.randint(len(counts), counts.sum() + 1)
        out = allocate_budget(counts, k)
        assert out.sum() == k and np.all(out >= 1) and np.all(out <= counts)
        # Never further than one row from the exact proportional share,
        # except where the floor of one row per class forces it.
        exact = counts * k / counts.sum()
        assert np.all((np.abs(out - exact) < 1 + 1e-9) | (out == 1))


def test_allocate_budget_too_small_for_classes():
    with pytest.raises(ValueError, match="cannot cover 3 classes"):
        allocate_budget([5, 5, 5], 2)


@pytest.mark.parametrize(
    "counts, k, match",
    [
        # Negative counts came back as negative budgets, fractional counts
        # were truncated and a fractional k gave budgets summing to less,
        # all silently; an empty list divided by zero (a review).
        ([5, -1, 5], 4, "counts must be whole numbers >= 0"),
        ([5.5, 4.5], 5, "counts must be whole numbers >= 0"),
        ([], 0, "counts must be a non-empty 1-D array"),
        ([[3, 3]], 4, "counts must be a non-empty 1-D array"),
        (["3", "3"], 4, "counts must be a non-empty 1-D array"),
        ([3, 3], 2.5, r"k must be an int \(a row count\), got 2.5"),
        ([3, 3], "4", "k must be an int"),
        ([3, 3], True, "k must be an int"),
        # A review: "a budget of -1 rows cannot cover 2 classes".
        ([10, 10], -1, "k must be at least 1 row, got -1"),
        ([10, 10], 0, "k must be at least 1 row, got 0"),
    ],
)
def test_allocate_budget_refuses_bad_input(counts, k, match):
    with pytest.raises(ValueError, match=match):
        allocate_budget(counts, k)


@pytest.mark.parametrize(
    "counts, k, expected",
    [([5, 0, 5], 4, [2, 0, 2]), ([5, 0, 5], 2, [1, 0, 1]), ([0, 5], 1, [0, 1])],
)
def test_allocate_budget_gives_empty_groups_nothing_and_needs_nothing_for_them(
    counts, k, expected
):
    # A review: empty groups got 0 rows but counted as classes to cover, so
    # [5, 0, 5] with k=2 was refused although [1, 0, 1] is a valid answer.
    assert allocate_budget(counts, k).tolist() == expected


def test_allocate_budget_takes_numpy_integers_and_whole_float_counts():
    assert allocate_budget(np.array([6.0, 4.0]), np.int64(5)).tolist() == [3, 2]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_stratified_choice_draws_what_the_selector_draws(seed):
    # A net draws its selection pool with stratified_choice (no view): the
    # same rows, in the same order, as RandomSelector(per_class=True).
    from subsetml.selection._random import stratified_choice
    from subsetml.selection._views import label_view

    rng = np.random.RandomState(seed)
    y = np.array(["b", "a", "c"])[rng.randint(3, size=500)]
    y[:3] = ["a", "b", "c"]
    view = label_view(np.zeros((500, 1)), y, True)
    for k in (3, 50, 333):
        want = RandomSelector(per_class=True, random_state=seed).select(view, k)
        got = stratified_choice(y, k, np.random.RandomState(seed))
        np.testing.assert_array_equal(got, want.indices)
