"""benchmarks/gpu_check.py: its plumbing, on the CPU (issue 17, item 3)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    not (ROOT / "benchmarks" / "gpu_check.py").exists(), reason="no benchmarks/"
)
def test_gpu_check_runs_and_writes_its_record(tmp_path):
    # One thread, as the suite's own processes (tests/conftest.py): the
    # other xdist worker runs beside it.
    env = {
        "SUBSETML_RESULTS": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--quick", "--device", "cpu"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = json.loads((tmp_path / "gpu_quick_cpu.json").read_text())
    assert record["device"] == "cpu" and record["tests"] == {
        "skipped": "no CUDA device"
    }
    assert record["lastlayer_pass"]["ratio"] > 0
    assert set(record["selection"]) == {"random", "craig", "gradmatch", "glister"}
    assert record["adaptive_fit"]["n_selections"] >= 1
    assert record["adaselection_step"]["cost_model"] == pytest.approx(1.6 / 3)
    rates = record["adaselection_rates"]
    assert set(rates) == {"32", "128"}
    assert [row["sampling_rate"] for row in rates["32"]] == [0.1, 0.2, 0.3, 0.5]
    assert all(row["ratio"] > 0 for rows in rates.values() for row in rows)
    assert not any(
        "error" in value for value in record.values() if isinstance(value, dict)
    )
    assert not (ROOT / "benchmarks" / "results" / "gpu_quick_cpu.json").exists()


def _gpu_check():
    """benchmarks/gpu_check.py as a module (benchmarks/ is no package)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_check
    finally:
        sys.path.pop(0)
    return gpu_check


def test_gpu_check_report_renders_the_committed_records():
    # The docs build renders these; a record from an older gpu_check (fewer
    # sections) must still render.
    gpu_check = _gpu_check()
    results = ROOT / "benchmarks" / "results"
    full = gpu_check.report(results / "gpu.json", fmt="rst")
    assert "CRAIG device" in full and "GRAD-MATCH inside a fit" in full
    assert full.count(".. list-table::") == 3
    ada = gpu_check.report(results / "gpu_adaselection.json")
    assert "CRAIG" not in ada and "| 1024 | 128 | 0.3 |" in ada


def test_gpu_check_report_skips_failed_sections(tmp_path):
    import json

    gpu_check = _gpu_check()
    record = json.loads((ROOT / "benchmarks" / "results" / "gpu.json").read_text())
    record["adaselection_rates"] = {"error": "RuntimeError: CUDA out of memory"}
    record["adaptive_fit_cnn"] = {"error": "RuntimeError: CUDA out of memory"}
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(record))
    text = gpu_check.report(path)
    assert "| 128 | 32 |" not in text and "| 1024 | 32 | 0.1 |" in text
    assert "| CNN |" not in text and "| MLP |" in text


def test_gpu_check_refuses_an_unknown_section(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _gpu_check().main(["--sections", "selektion"])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and "invalid choice: 'selektion'" in stderr
