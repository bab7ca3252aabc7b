"""The selection-cost, AdaSelection step and loading benchmarks run end to end, tiny."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mnist1d")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_selection_cost_benchmark_writes_its_table(tmp_path):
    import bench_selection_cost

    out = tmp_path / "cost"
    bench_selection_cost.main(
        [
            "--rows", "640", "--test-rows", "200", "--epochs", "12",
            "--select-every", "2", "--fraction", "0.25", "--seeds", "0",
            "--models", "mlp", "--selectors", "random", "gradmatch-pb",
            "--output", str(out),
        ]
    )  # fmt: skip
    payload = json.loads(out.with_suffix(".json").read_text())
    assert [p["model"] for p in payload["passes"]] == ["mlp"]
    rows = {r["selector"]: r for r in payload["summary"]}
    assert set(rows) == {"random", "gradmatch-pb", "all rows"}
    pb = rows["gradmatch-pb"]
    # 12 epochs at 25 %: 6 subset epochs, re-selected every 2 from the net.
    fits = [r for r in payload["records"] if r["selector"] == "gradmatch-pb"]
    assert fits[0]["n_selections"] >= 2
    assert pb["selection_s_median"] > 0
    assert 0 < pb["selection_share_median"] < 1


def test_ada_step_benchmark_writes_its_table(tmp_path):
    import bench_ada_step

    out = tmp_path / "step"
    bench_ada_step.main(
        ["--channels", "4", "--rounds", "1", "--steps", "12", "--output", str(out)]
    )
    payload = json.loads(out.with_suffix(".json").read_text())
    rates = [s["rate"] for s in payload["summary"]]
    assert rates == list(bench_ada_step.RATES)
    for s in payload["summary"]:
        assert s["cost_model"] == pytest.approx((1 + 3 * s["rate"]) / 3)
        assert s["overhead_median"] == pytest.approx(
            s["ratio_median"] / s["cost_model"]
        )
        assert s["ratio_mean"] > 0
        assert 0 < s["passes_ratio_median"] and 0 < s["over_passes_median"]


def test_ada_step_benchmark_times_the_paired_reward(tmp_path):
    import bench_ada_step

    out = tmp_path / "paired"
    bench_ada_step.main(
        ["--channels", "4", "--rounds", "1", "--steps", "12", "--output", str(out)]
        + ["--reward", "paired", "--fit-epochs", "3"]
    )
    payload = json.loads(out.with_suffix(".json").read_text())
    assert payload["config"]["reward"] == "paired"
    assert payload["config"]["fit_epochs"] == 3
    assert all(r["ratio_mean"] > 0 for r in payload["records"])


def test_loading_benchmark_writes_its_records(tmp_path, monkeypatch):
    import _common
    import bench_loading

    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    bench_loading.main(["--quick", "--output", "loading_quick"])
    payload = json.loads((tmp_path / "loading_quick.json").read_text())
    nets = [r["net"] for r in payload["records"]]
    assert nets == [
        "NeuralNetClassifier",
        "SubsetNeuralNetClassifier",
        "AdaSelectionClassifier",
    ]
    for rec in payload["records"]:
        # ArrayLoader and the row-by-row fetch end at the same weights.
        assert rec["same_result"] is True
        assert rec["fit_speedup"] > 0 and rec["predict_speedup"] > 0
    # --nets picks sections.
    bench_loading.main(["--quick", "--nets", "adaselection", "--output", "ada"])
    payload = json.loads((tmp_path / "ada.json").read_text())
    assert [r["net"] for r in payload["records"]] == ["AdaSelectionClassifier"]
    assert payload["records"][0]["valid_split"] == 0.2


def test_epoch_rank_benchmark_summarises_its_curves(tmp_path, monkeypatch):
    import _common
    import bench_epoch_rank

    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    # Configurations as the committed net searches picked them: 5 records,
    # 4 distinct (max_epochs is not searched here).
    picks = [
        {"lr": lr, "optimizer__momentum": 0.9, "batch_size": 64, "module__hidden": 32}
        for lr in (0.01, 0.05, 0.1, 0.2)
    ]
    records = [{"best_params": p} for p in picks]
    records.append({"best_params": {**picks[0], "max_epochs": 27}})
    (tmp_path / "fidelity_nets_large_mlp_x.json").write_text(
        json.dumps({"records": records})
    )
    bench_epoch_rank.main(["--quick", "--output", "epoch_rank_quick"])
    payload = json.loads((tmp_path / "epoch_rank_quick.json").read_text())
    assert sorted(
        r["params"]["lr"] for r in payload["records"] if r.get("seed") == 0
    ) == [0.01, 0.05, 0.1, 0.2]
    curves = [r for r in payload["records"] if "accuracy" in r]
    # 4 configurations at seed 0, then the best 3 at one more seed.
    assert [r["seed"] for r in curves] == [0, 0, 0, 0, 1, 1, 1]
    assert all(len(r["accuracy"]) == 3 for r in curves)
    summary = payload["records"][-1]["summary"]
    assert len(summary["kendall_tau"]) == len(summary["pick_regret_pp"]) == 3
    # Picking the best of 3 at the last epoch loses nothing.
    assert summary["pick_regret_pp"][-1] == 0.0
    assert summary["seed_std_pp"] >= 0


def test_epoch_rank_summary_on_known_curves():
    import bench_epoch_rank

    # The top 3 by the last epoch are configs 0-2; config 2 leads at epoch
    # 1 and ends third: a pick at epoch 1 loses 20 - 5 = 15 points.
    curves = [[0.1, 0.2], [0.0, 0.1], [0.3, 0.05], [0.0, 0.0]]
    out = bench_epoch_rank.summarise(curves, [[0.2, 0.2], [0.1, 0.3]], top=3)
    assert out["pick_regret_pp"] == pytest.approx([15.0, 0.0])
    assert out["epoch_wobble_pp"] == pytest.approx(
        float(np.std(np.diff(np.asarray(curves) * 100, axis=1)))
    )
    assert out["seed_std_pp"] == pytest.approx(np.mean([0.0, np.std([10, 30], ddof=1)]))
