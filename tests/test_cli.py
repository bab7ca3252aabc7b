import subprocess
import sys

import pytest

from subsetml.__main__ import main


def test_demo_prints_a_table(capsys):
    assert main(["demo", "--dataset", "wine", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    for method in ("all rows", "random", "craig", "glister", "gradmatch"):
        assert method in out
    assert "test accuracy" in out


def test_demo_row_count(capsys):
    assert (
        main(
            [
                "demo",
                "--dataset",
                "breast_cancer",
                "--subset-size",
                "40",
                "--seeds",
                "1",
            ]
        )
        == 0
    )
    assert " 40 " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--subset-size", "0"],
        ["demo", "--subset-size", "1.5"],
        ["demo", "--subset-size", "many"],
        ["demo", "--dataset", "cifar"],
        ["demo", "--seeds", "0"],
        ["frobnicate"],
    ],
)
def test_bad_options_exit_with_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_demo_budget_too_large_is_a_clean_error(capsys):
    assert main(["demo", "--dataset", "wine", "--subset-size", "100000"]) == 1
    assert "more than" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "subsetml", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in out.stdout
