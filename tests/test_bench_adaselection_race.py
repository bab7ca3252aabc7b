"""benchmarks/bench_adaselection_race.py: ranks, picks and a tiny race."""

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if not (BENCH / "bench_adaselection_race.py").exists():  # pragma: no cover
    pytest.skip("benchmarks/ is not there", allow_module_level=True)
sys.path.insert(0, str(BENCH))

import bench_adaselection_race as race  # noqa: E402

POLICIES = race.POLICIES


def _records(metrics, seed=0, rate=0.3):
    return [
        {"method": m, "seed": seed, "sampling_rate": rate, "metric": v}
        for m, v in zip(POLICIES, metrics)
    ] + [{"method": "adaselection", "seed": seed, "sampling_rate": rate, "metric": 0}]


def test_final_ranks_share_ties_and_follow_the_metric_direction():
    metrics = [0.5, 0.9, 0.1, 0.9, 0.7, 0.3, 0.2]
    higher = race.final_ranks(_records(metrics), 0, 0.3, higher_is_better=True)
    assert higher["big_loss"] == higher["gradient_norm"] == 1
    assert higher["adaboost"] == 3
    assert higher["small_loss"] == 7
    lower = race.final_ranks(_records(metrics), 0, 0.3, higher_is_better=False)
    assert lower["small_loss"] == 1
    assert lower["big_loss"] == lower["gradient_norm"] == 6
    # the mix's record is not a single policy
    assert set(higher) == set(POLICIES)


def test_summary_compares_the_picks_with_the_best_single_policy():
    ranks_a = dict(zip(POLICIES, [2, 1, 7, 3, 4, 5, 6]))
    ranks_b = dict(zip(POLICIES, [1, 2, 7, 3, 4, 5, 6]))
    runs = [
        {"horizon": 1, "pick": "big_loss", "final_ranks": ranks_a},
        {"horizon": 1, "pick": "typical_loss", "final_ranks": ranks_b},
        {"horizon": 2, "pick": "big_loss", "final_ranks": ranks_a},
    ]
    summary = race.summarise(runs)
    one = summary["1"]
    assert one["picks"] == {"big_loss": 1, "typical_loss": 1}
    assert one["pick_mean_rank"] == pytest.approx(3.5)
    # uniform and big loss both average 1.5: the first in policy order wins
    assert one["best_single"] == "uniform"
    assert one["gap"] == pytest.approx(2.0)
    assert one["picked_the_best_single"] == 0
    # one run: its pick is that run's best single policy
    assert summary["2"]["gap"] == 0
    assert summary["2"]["picked_the_best_single"] == 1


def test_set_aside_loss_of_a_classifier_and_a_regressor():
    class Clf:
        def predict_proba(self, X):
            return np.array([[0.5, 0.5], [0.1, 0.9]])

    class Reg:
        def predict(self, X):
            return np.array([[1.0], [3.0]])

    y = np.array([0, 1])
    assert race.set_aside_loss(Clf(), None, y, "classification") == pytest.approx(
        -(np.log(0.5) + np.log(0.9)) / 2
    )
    target = np.array([[0.0], [3.0]])
    assert race.set_aside_loss(Reg(), None, target, "regression") == pytest.approx(0.5)
