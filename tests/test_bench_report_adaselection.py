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
    }
    return {
        "mode": "full",
        "seeds": 2,
        "sampling_rates": [0.2, 0.5],
        "machine": {"cpu_count": 2, "date": "today"},
        "targets": {"some_target": {"tasks_where_best": 1, "held": False}},
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


def test_targets_and_rst(payload):
    (line,) = ra.target_lines(payload["targets"])
    assert line == "some_target: not held (tasks_where_best = 1)"
    text = ra.rst(["a", "b"], [["1", "2"]], "caption")
    assert text.splitlines()[0] == ".. list-table:: caption"
    assert "   * - 1" in text and "     - 2" in text


def test_plots_are_written(payload, tmp_path):
    pytest.importorskip("matplotlib")
    ra.plot_metrics(payload, tmp_path / "m.png")
    ra.plot_weights(payload, tmp_path / "w.png", rate=0.2, seed=0)
    assert (tmp_path / "m.png").stat().st_size > 0
    assert (tmp_path / "w.png").stat().st_size > 0
