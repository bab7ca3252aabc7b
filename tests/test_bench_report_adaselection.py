"""benchmarks/report_adaselection.py: tables and plots from a results payload."""

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if not (BENCH / "report_adaselection.py").exists():  # pragma: no cover
    pytest.skip("benchmarks/ is not there", allow_module_level=True)
sys.path.insert(0, str(BENCH))

import report_adaselection as ra  # noqa: E402


def _record(method, rate, seed, metric, step=1e-3, scoring=4e-4):
    rec = {
        "method": method,
        "sampling_rate": rate,
        "seed": seed,
        "metric": metric,
        "time_per_step": step,
        "scoring_time_per_step": scoring,
        "training_time_per_step": step - scoring,
    }
    if method == "adaselection":
        rec["method_weights"] = [None, {"big_loss": 0.6, "uniform": 0.4}] * 2
    return rec


# What bench_adaselection.summarise reads of a task.
_TOY_TASK = {
    "metric": "test accuracy",
    "higher_is_better": True,
    "epochs": 2,
    "data": ([0] * 10, None, None, None),
    "net": {"batch_size": 4},
}


@pytest.fixture
def payload():
    records = []
    for seed in (0, 1):
        records.append(_record("full", 1.0, seed, 0.9, step=3e-3, scoring=0.0))
        for rate in (0.2, 0.5):
            records.append(_record("adaselection", rate, seed, 0.8 + seed / 100))
            records.append(_record("uniform", rate, seed, 0.7))
    summary = {
        "metric": "test accuracy",
        "higher_is_better": True,
        "n_train": 100,
        "epochs": 4,
        "batch_size": 8,
        "average_rank": {"adaselection": 1.0, "uniform": 2.0},
        "mix_rank_against_singles": {
            "adaselection": {
                "rank": 1.0,
                "best_single": "uniform",
                "best_single_rank": 2.0,
                "gap": -1.0,
            }
        },
    }
    return {
        "mode": "full",
        "seeds": 2,
        "sampling_rates": [0.2, 0.5],
        "machine": {"cpu_count": 2, "date": "today"},
        "targets": {
            "adaselection": {
                "rank_gap_to_best_single": {"toy": -1.0, "other": 0.75},
                "rank_within_0.5_on_every_task": False,
                "accuracy_gap_pp@0.3": {"toy": -0.5},
                "accuracy_within_1pp": True,
                "cnn_step_over_full@0.2": 0.55,
                "cnn_step_at_most_0.6_of_full": True,
            }
        },
        "tasks": {"toy": {"summary": summary, "records": records}},
    }


def test_metric_table_means_and_ranks(payload):
    body = payload["tasks"]["toy"]
    header, rows = ra.metric_table(body["summary"], body["records"], [0.2, 0.5])
    assert header == ["method", "r = 0.2", "r = 0.5", "average rank"]
    full, ada, uniform = rows
    assert full[1] == "0.9000 ± 0.0000"
    assert ada[1] == "0.8050 ± 0.0071" and ada[-1] == "1.00"
    assert uniform[0] == "uniform" and uniform[-1] == "2.00"


def test_step_table_against_the_cost_model(payload):
    header, rows = ra.step_table(payload["tasks"]["toy"]["records"], [0.2, 0.5])
    assert header[-1].startswith("cost model")
    assert rows[0][4] == "1.00"
    r02 = rows[1]
    assert r02[0] == "0.2" and r02[1] == "1.00" and r02[2] == "0.40"
    assert r02[4] == "0.33"  # 1 ms against a 3 ms full step
    assert r02[5] == "0.53"  # (1 + 0.6) / 3


def test_mix_table(payload):
    header, rows = ra.mix_table(payload["tasks"]["toy"]["summary"])
    assert header[0] == "mix"
    assert rows == [["adaselection", "1.00", "uniform", "2.00", "-1.00"]]


def test_targets_and_rst(payload):
    rank, accuracy, step = ra.target_lines(payload["targets"])
    assert rank == (
        "adaselection: average rank within 0.5 of the best single policy on "
        "every task: not held (gap: toy -1.00, other +0.75)"
    )
    assert accuracy.endswith("full training: held (points: toy -0.50)")
    assert step.endswith("0.6 of a full step: held (0.55)")
    text = ra.rst(["a", "b"], [["1", "2"]], "caption")
    assert text.splitlines()[0] == ".. list-table:: caption"
    assert "   * - 1" in text and "     - 2" in text


def test_plots_are_written(payload, tmp_path):
    pytest.importorskip("matplotlib")
    ra.plot_metrics(payload, tmp_path / "m.png")
    ra.plot_weights(payload, tmp_path / "w.png", rate=0.2, seed=0)
    ra.plot_weights(payload, tmp_path / "p.png", method="adaselection_probe")
    assert (tmp_path / "m.png").stat().st_size > 0
    assert (tmp_path / "w.png").stat().st_size > 0
    assert (tmp_path / "p.png").stat().st_size > 0


def test_bench_ranks_each_mix_against_the_singles_and_merges(tmp_path, monkeypatch):
    import json

    import bench_adaselection as ba

    records = []
    for seed in (0, 1):
        records.append(dict(_record("full", 1.0, seed, 0.9, step=3e-3), wall_time=2))
        for rate in (0.2, 0.3):
            metrics = {"adaselection": 0.80, "adaselection_probe": 0.86}
            metrics.update({p: 0.70 for p in ba.POLICIES})
            metrics["big_loss"] = 0.85
            for method, metric in metrics.items():
                rec = _record(method, rate, seed, metric, step=1.5e-3)
                records.append(dict(rec, wall_time=1.0))
    task = _TOY_TASK
    summary = ba.summarise("mnist1d", task, records, [0.2, 0.3])
    mixes = summary["mix_rank_against_singles"]
    # each mix among the seven singles: big_loss is the best single (rank 1
    # or 2); the probe mix beats it, the advantage mix comes second
    assert mixes["adaselection_probe"]["rank"] == 1.0
    assert mixes["adaselection_probe"]["gap"] == -1.0
    assert mixes["adaselection"]["best_single"] == "big_loss"
    assert mixes["adaselection"]["gap"] == 1.0
    # the overall ranks count both mixes
    assert summary["average_rank"]["big_loss"] == 2.0
    target = ba.targets({"mnist1d": summary})["adaselection"]
    assert not target["rank_within_0.5_on_every_task"]
    assert target["accuracy_gap_pp@0.3"]["mnist1d"] == pytest.approx(-10.0)
    assert target["cnn_step_over_full@0.2"] == pytest.approx(0.5)

    monkeypatch.setattr(ba, "RESULTS", tmp_path)
    monkeypatch.setattr(
        ba,
        "write_results",
        lambda s, p: (tmp_path / f"{s}.json").write_text(json.dumps(p)),
    )
    for stem, name in (("a", "mnist1d"), ("b", "digits")):
        body = {"summary": summary, "records": records}
        payload = {"sampling_rates": [0.2, 0.3], "seeds": 2, "tasks": {name: body}}
        (tmp_path / f"{stem}.json").write_text(json.dumps(payload))
    ba.merge(["a", "b"], "joined")
    joined = json.loads((tmp_path / "joined.json").read_text())
    assert set(joined["tasks"]) == {"mnist1d", "digits"}
    assert joined["merged_from"] == ["a.json", "b.json"]
    assert joined["targets"]["adaselection_probe"]["rank_within_0.5_on_every_task"]
    with pytest.raises(SystemExit, match="repeats tasks"):
        ba.merge(["a", "a"], "again")


def test_bench_summary_without_single_policies():
    # A timing run of mixes alone has nothing to rank them against.
    import bench_adaselection as ba

    records = [dict(_record("full", 1.0, 0, 0.9, step=3e-3), wall_time=2.0)]
    for mix in ("adaselection", "adaselection_stale"):
        records.append(dict(_record(mix, 0.2, 0, 0.85, step=1.5e-3), wall_time=1.0))
    task = _TOY_TASK
    summary = ba.summarise("mnist1d", task, records, [0.2])
    assert summary["mix_rank_against_singles"] == {}
    target = ba.targets({"mnist1d": summary})["adaselection_stale"]
    assert "rank_gap_to_best_single" not in target
    assert target["cnn_step_over_full@0.2"] == pytest.approx(0.5)


def test_bench_extend_keeps_the_files_note(tmp_path, monkeypatch):
    """--extend rewrote the file without its note (how its rows came to be)."""
    import json

    import _common
    import bench_adaselection as ba

    monkeypatch.setattr(ba, "RESULTS", tmp_path)
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    argv = ["--tasks", "digits", "--epochs", "2", "--seeds", "1", "--rates", "0.3"]
    ba.main([*argv, "--methods", "full", "big_loss", "--output", "t"])
    path = tmp_path / "t.json"
    payload = json.loads(path.read_text())
    payload["note"] = "how the rows came to be"
    path.write_text(json.dumps(payload))
    ba.main([*argv, "--methods", "uniform", "--extend", "--output", "t"])
    extended = json.loads(path.read_text())
    assert extended["note"] == "how the rows came to be"
    methods = {r["method"] for r in extended["tasks"]["digits"]["records"]}
    assert methods == {"full", "big_loss", "uniform"}
