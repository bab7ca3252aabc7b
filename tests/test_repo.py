"""House-keeping: the README's commands and CI stay in step."""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_commands():
    text = (ROOT / "README.md").read_text()
    assert text.index("```bash") < 50, "the commands must open the README"
    commands = _readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("subsetml demo")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():  # pragma: no cover - installed package without the repo
        pytest.skip("no .ci/run")
    assert _readme_commands()[1] in ci.read_text().splitlines()


def test_no_import_cycle():
    """Issue 17: the package imports form layers, lazy imports included."""
    import subprocess
    import sys

    script = ROOT / ".ci" / "import_graph.py"
    if not script.exists():  # pragma: no cover - installed package without the repo
        pytest.skip("no .ci/import_graph.py")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, out.stdout
    assert out.stdout.strip() == "no import cycle"


def test_ci_checks_the_import_contracts():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():  # pragma: no cover
        pytest.skip("no .ci/run")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "[tool.importlinter]" in pyproject
    assert ".venv/bin/lint-imports" in ci.read_text().splitlines()


def test_ci_tests_the_lowest_versions_pyproject_admits():
    """Each runtime dependency's lower bound is pinned in
    .ci/lowest-versions.txt, whose test run .ci/run makes (torch aside: its
    CPU build of the lowest version is not on the machine; checked by hand)."""
    tomllib = pytest.importorskip("tomllib")
    version = pytest.importorskip("packaging.version").Version
    ci = ROOT / ".ci" / "run"
    pins_file = ROOT / ".ci" / "lowest-versions.txt"
    if not ci.exists():  # pragma: no cover - installed package without the repo
        pytest.skip("no .ci/run")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lowest = {}
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, _, low = spec.partition(">=")
        lowest[re.sub(r"\[.*\]", "", name)] = version(low) if low else None
    pins = {
        name: version(pin)
        for name, pin in (
            line.split("==")
            for line in pins_file.read_text().splitlines()
            if line and not line.startswith("#")
        )
    }
    for name in project["dependencies"]:
        name = name.partition(">=")[0]
        if name != "torch":
            assert pins.get(name) == lowest[name], name
    for name, pin in pins.items():
        assert lowest.get(name) == pin, name
    assert "-c .ci/lowest-versions.txt" in ci.read_text()


def _readme_python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("index", range(len(_readme_python_blocks())))
def test_readme_python_snippets_run_on_their_own(index, tmp_path, monkeypatch):
    # Issue 15: every snippet must run alone, in a fresh namespace, with
    # nothing defined by an earlier one.
    monkeypatch.chdir(tmp_path)
    code = _readme_python_blocks()[index]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, f"README.md python block {index}", "exec"), {})
