import io
import json
import subprocess
import sys

import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from subsetml.__main__ import build_parser, main

TINY = ["--dataset", "digits", "--n-iter", "2", "--selectors", "random", "--quiet"]


# ------------------------------------------------------------ subsetml demo
def test_demo_defaults_need_no_arguments():
    args = build_parser().parse_args(["demo"])
    assert args.dataset is None  # MNIST-1D when installed, else digits
    assert args.n_iter == 25 and args.cv == 3 and args.subset_size == 0.05
    assert args.selectors == ["random", "craig", "glister", "gradmatch"]
    # svc, or svr for the regression data (run_search_demo decides).
    assert args.estimator is None and args.output == "subsetml-demo"


def test_demo_tiny_run_writes_table_json_and_plot(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert main(["demo", *TINY, "--output", str(out_dir)]) == 0
    out = capsys.readouterr().out
    for word in ("full data", "random", "speed-up", "test acc", "rows/trial"):
        assert word in out
    assert "this machine" in out  # the honest note about timings
    results = json.loads((out_dir / "results.json").read_text())
    assert [m["method"] for m in results["methods"]] == ["full data", "random"]
    full, rnd = results["methods"]
    assert full["speedup"] == pytest.approx(1.0)
    assert rnd["rows_per_trial"] < full["rows_per_trial"]
    for key in ("search_s", "refit_s", "end_to_end_s", "best_cv_score"):
        assert rnd[key] >= 0
    # Each search's compute report is printed and saved.
    assert "trial scoring s" in out and "compute report" in out
    report = rnd["compute_report"]
    assert report["refit_s"] == pytest.approx(rnd["refit_s"])
    assert report["trial_fit_s"] > 0 and report["n_trials"] == 2
    # The reported accuracy is the refit model's on the held-out rows: refit
    # the best configuration on the demo's split and score it again.
    seed = results["settings"]["seed"]
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    for record in (full, rnd):
        model = SVC(kernel="rbf", **record["best_params"])
        model.fit(scaler.transform(X_train), y_train)
        accuracy = model.score(scaler.transform(X_test), y_test)
        assert record["test_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert full["test_accuracy"] > 0.9  # far above chance on ten classes
    assert results["settings"]["n_iter"] == 2
    assert (out_dir / "table.txt").read_text().startswith("method")
    assert (out_dir / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_on_the_bike_sharing_regression_scores_r2(tmp_path, capsys):
    from sklearn.svm import SVR

    from subsetml.datasets import load_bikeshare

    out_dir = tmp_path / "bikes"
    argv = ["--dataset", "bikeshare", "--n-iter", "2", "--cv", "2", "--quiet"]
    argv += ["--selectors", "random,craig", "--output", str(out_dir)]
    assert main(["demo", *argv]) == 0
    out = capsys.readouterr().out
    assert "test R2" in out and "test acc" not in out
    assert "test R^2 on 2162 rows has a standard error of about" in out
    results = json.loads((out_dir / "results.json").read_text())
    settings = results["settings"]
    assert settings["estimator"] == "svr" and settings["metric"] == "r2"
    assert [m["method"] for m in results["methods"]] == ["full data", "random", "craig"]
    # The reported R^2 is the refit SVR's on the held-out rows, the target
    # standardised on the training rows as the demo does (R^2 is the same in
    # either unit).
    X, y = load_bikeshare(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y.astype(float), test_size=0.25, random_state=settings["seed"]
    )
    scaler = StandardScaler().fit(X_train)
    mean, scale = y_train.mean(), y_train.std()
    for record in results["methods"]:
        assert "test_accuracy" not in record
        model = SVR(kernel="rbf", **record["best_params"])
        model.fit(scaler.transform(X_train), (y_train - mean) / scale)
        r2 = model.score(scaler.transform(X_test), (y_test - mean) / scale)
        assert record["test_r2"] == pytest.approx(r2, abs=1e-9)
        assert 0 < record["test_r2_se"] < 0.1
    assert (out_dir / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dataset", "bikeshare", "--estimator", "svc"], "choose svr for it"),
        (["--dataset", "digits", "--estimator", "svr"], "choose svc or logreg"),
        (["--dataset", "bikeshare", "--subset-size", "1"], "fewer than two rows"),
    ],
)
def test_demo_estimator_that_does_not_fit_the_target_is_a_usage_error(
    tmp_path, capsys, argv, message
):
    with pytest.raises(SystemExit) as exc:
        main(["demo", *argv, "--quiet", "--output", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "subsetml demo: error:" in err and message in err
    assert not (tmp_path / "out").exists()


def test_demo_progress_lines_unless_quiet(tmp_path, capsys):
    argv = [a for a in TINY if a != "--quiet"]
    assert main(["demo", *argv, "--output", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "[1/2] full data" in captured.out
    assert "SubsetSearchCV" in captured.err  # the tqdm bars


def test_demo_mnist1d_logreg_gradient_selector(tmp_path, capsys):
    pytest.importorskip("mnist1d")
    argv = ["demo", "--dataset", "mnist1d", "--n-samples", "400"]
    argv += ["--estimator", "logreg", "--selectors", "gradmatch", "--n-iter", "2"]
    argv += ["--subset-size", "0.1", "--quiet", "--output", str(tmp_path)]
    assert main(argv) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["settings"]["dataset"] == "mnist1d"
    assert results["settings"]["n_train"] == 300
    assert results["methods"][1]["selection_s"] > 0


def test_demo_without_matplotlib_skips_the_plot(tmp_path, capsys, monkeypatch):
    # Hide submodules too: imported ones would be found without their parent.
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["demo", *TINY, "--output", str(tmp_path)]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert (tmp_path / "results.json").exists()
    assert not (tmp_path / "tradeoff.png").exists()


def test_demo_falls_back_to_digits_without_mnist1d(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("subsetml._search_demo.mnist1d_available", lambda: False)
    argv = ["demo", "--n-iter", "1", "--selectors", "random", "--quiet"]
    assert main([*argv, "--output", str(tmp_path)]) == 0
    assert "mnist1d is not installed" in capsys.readouterr().out
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["settings"]["dataset"] == "digits"


def test_demo_explicit_mnist1d_without_the_package(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--dataset", "mnist1d", "--output", str(tmp_path)])
    assert exc.value.code == 2
    assert "pip install mnist1d" in capsys.readouterr().err


def test_demo_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--dataset", "--estimator", "--subset-size", "--n-iter"):
        assert option in out
    for option in ("--selectors", "--output", "--seed", "--quiet"):
        assert option in out
    assert "5 %" in out and "tradeoff.png" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--subset-size", "0"],
        ["demo", "--subset-size", "1.5"],
        ["demo", "--subset-size", "many"],
        ["demo", "--subset-size", "inf"],
        ["demo", "--subset-size", "1e400"],
        ["demo", "--subset-size", "nan"],
        ["demo", "--subset-size", "-3"],
        ["demo", "--dataset", "cifar"],
        ["demo", "--estimator", "forest"],
        ["demo", "--n-iter", "0"],
        ["demo", "--n-iter", "ten"],
        ["demo", "--selectors", "random,kmeans"],
        ["demo", "--selectors", "random,random"],
        ["demo", "--selectors", ","],
        ["demo", "--cv", "1"],
        ["demo", "--seed", "-1"],
        ["demo", "--seed", str(2**32)],
        ["demo", "--n-jobs", "0"],
        ["demo", "--n-samples", "10"],
        ["demo", "--frobnicate"],
        ["frobnicate"],
    ],
)
def test_bad_options_exit_with_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--subset-size", "5"], "fewer than the 10 classes"),
        (["--subset-size", "100000"], "more than"),
    ],
)
def test_demo_subset_that_cannot_work_fails_before_searching(
    tmp_path, capsys, extra, message
):
    with pytest.raises(SystemExit) as exc:
        main(["demo", *TINY, *extra, "--output", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "subsetml demo: error:" in err and message in err
    assert not (tmp_path / "results.json").exists()


def test_demo_output_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("")
    with pytest.raises(SystemExit) as exc:
        main(["demo", *TINY, "--output", str(target)])
    assert exc.value.code == 2
    assert "not a folder" in capsys.readouterr().err


def test_demo_output_that_cannot_be_written_fails_before_searching(
    tmp_path, capsys, monkeypatch
):
    # A read-only folder used to fail after every search had run, with a
    # traceback. (Tests may run as root, which a chmod does not stop, so the
    # file system's refusal is simulated.)
    import subsetml._search_demo as demo

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(demo.tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(demo, "_run_demo", lambda *a: pytest.fail("searched"))
    with pytest.raises(SystemExit) as exc:
        main(["demo", *TINY, "--output", str(tmp_path)])
    assert exc.value.code == 2
    assert "cannot write to the output folder" in capsys.readouterr().err


def test_demo_that_stops_early_leaves_no_folder_behind(tmp_path, capsys):
    """Settings that only fail against the data (more folds than a class has
    rows) stop the run before it writes: the folder it created goes too, and
    a folder that was there stays."""
    target = tmp_path / "new" / "run"
    with pytest.raises(SystemExit) as exc:
        main(["demo", *TINY, "--cv", "3000", "--output", str(target)])
    assert exc.value.code == 2 and not (tmp_path / "new").exists()
    with pytest.raises(SystemExit):
        main(["demo", *TINY, "--cv", "3000", "--output", str(tmp_path)])
    assert tmp_path.is_dir()
    with pytest.raises(SystemExit) as exc:
        main(["demo", *TINY, "--output", ""])
    assert exc.value.code == 2 and "output is empty" in capsys.readouterr().err


def test_demo_never_writes_through_links_or_over_foreign_files(tmp_path, capsys):
    # Issue 16: --output overwrote whatever was there and followed symlinks.
    import json

    from subsetml._search_demo import _check_output_files

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "table.txt").symlink_to(victim)
    with pytest.raises(SystemExit) as exc:
        main(["demo", *TINY, "--output", str(linked)])
    assert exc.value.code == 2 and "symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "results.json").write_text('{"mine": 1}')
    with pytest.raises(SystemExit):
        main(["demo", *TINY, "--output", str(foreign)])
    assert "not written by an earlier" in capsys.readouterr().err
    assert (foreign / "results.json").read_text() == '{"mine": 1}'
    # An earlier demo's own results are replaced.
    own = tmp_path / "own"
    own.mkdir()
    (own / "results.json").write_text(json.dumps({"methods": [], "files": {}}))
    (own / "table.txt").write_text("old table")
    _check_output_files(own)  # no error


# ----------------------------------------------------- subsetml select-demo
def test_select_demo_prints_a_table(capsys):
    assert main(["select-demo", "--dataset", "wine", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    for method in ("all rows", "random", "craig", "glister", "gradmatch"):
        assert method in out
    assert "test accuracy" in out


def test_select_demo_runs_every_selector_on_every_row(capsys):
    # GLISTER used to be skipped here: its hold-out left fewer rows than the
    # budget. A budget of every row now gives every row, for every selector.
    argv = ["select-demo", "--dataset", "wine", "--seeds", "1", "--subset-size", "1.0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    for name in ("random", "craig", "glister", "gradmatch"):
        assert f"\n{name} " in out
    assert "skipped" not in out


def test_demo_refuses_a_country_codecarbon_does_not_know(tmp_path, capsys):
    pytest.importorskip("codecarbon")
    with pytest.raises(SystemExit) as exit_:
        main(["demo", *TINY, "--output", str(tmp_path / "out"), "--carbon", "XYZ"])
    assert exit_.value.code == 2
    assert "no electricity mix for the country code 'XYZ'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_select_demo_row_count(capsys):
    argv = ["select-demo", "--dataset", "breast_cancer", "--subset-size", "40"]
    assert main([*argv, "--seeds", "1"]) == 0
    assert " 40 " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["select-demo", "--subset-size", "0"],
        ["select-demo", "--subset-size", "inf"],
        ["select-demo", "--dataset", "cifar"],
        ["select-demo", "--seeds", "0"],
    ],
)
def test_select_demo_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_select_demo_budget_too_large_is_a_clean_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["select-demo", "--dataset", "wine", "--subset-size", "100000"])
    assert exc.value.code == 2
    assert "more than" in capsys.readouterr().err


# ------------------------------------------------------------------ general
def test_no_command_prints_help(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "demo" in out and "select-demo" in out


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "subsetml", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "demo" in out.stdout


def test_bench_lists_suites_and_passes_options_to_the_script(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "nn_search" in out and "adaselection" in out
    # Options after NAME reach the script (its own --help, exit 0).
    assert main(["bench", "search", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--n-candidates" in out
    # Its usage line names the command as run, not the script's file.
    assert out.startswith("usage: subsetml bench search ")


def test_bench_unknown_suite_and_bad_script_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "nope"])
    assert exc.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["bench", "search", "--tasks", "unknown-task"])
    assert exc.value.code == 2


def test_bench_results_folder_it_cannot_write_fails_before_running(
    tmp_path, capsys, monkeypatch
):
    # A review: the benchmark ran to its end, then failed with a traceback.
    import subsetml.__main__ as cli

    monkeypatch.setattr(cli, "_benchmarks_dir", lambda: tmp_path)
    (tmp_path / "bench_search.py").write_text(
        "def main(argv):\n    raise SystemExit(7)\n"
    )
    afile = tmp_path / "afile"
    afile.write_text("")
    for results, message in [
        (afile, "exists and is not a folder"),
        (afile / "sub", "is not a folder"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["bench", "--results", str(results), "search", "--quick"])
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
    assert not (afile.parent / "sub").exists()


def test_bench_outside_a_checkout(monkeypatch, capsys):
    import subsetml.__main__ as cli

    monkeypatch.setattr(cli, "_benchmarks_dir", lambda: None)
    with pytest.raises(SystemExit) as exc:
        main(["bench", "search", "--quick"])
    assert exc.value.code == 2
    assert "source checkout" in capsys.readouterr().err


def test_bench_writes_into_its_results_folder_not_the_checkout(monkeypatch, tmp_path):
    # Issue 15: `subsetml bench NAME --quick` used to overwrite the committed
    # benchmarks/results from any folder.
    import shutil

    import subsetml.__main__ as cli

    real = cli._benchmarks_dir()
    fake = tmp_path / "benchmarks"
    fake.mkdir()
    shutil.copy(real / "_common.py", fake / "_common.py")
    (fake / "bench_selection.py").write_text(
        "from _common import write_results\n\n"
        "def main(argv=None):\n"
        "    write_results('probe', {'ok': 1})\n"
    )
    monkeypatch.setattr(cli, "_benchmarks_dir", lambda: fake)
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "selection", "--quick"]) == 0
    assert (tmp_path / "subsetml-bench" / "probe.json").exists()
    assert main(["bench", "--results", str(tmp_path / "here"), "selection"]) == 0
    assert (tmp_path / "here" / "probe.json").exists()
    assert not (fake / "results").exists()
    # Naming the checkout's folder still updates it, on purpose.
    assert main(["bench", "--results", str(fake / "results"), "selection"]) == 0
    assert (fake / "results" / "probe.json").exists()
    assert "SUBSETML_RESULTS" not in __import__("os").environ


def test_demo_measures_energy_with_codecarbon(tmp_path, capsys, monkeypatch):
    pytest.importorskip("codecarbon")
    monkeypatch.chdir(tmp_path)  # codecarbon must leave no files behind
    out_dir = tmp_path / "out"
    assert main(["demo", *TINY, "--output", str(out_dir), "--carbon", "FRA"]) == 0
    out = capsys.readouterr().out
    assert "energy Wh" in out and "CO2 g" in out and "codecarbon" in out
    results = json.loads((out_dir / "results.json").read_text())
    for record in results["methods"]:
        assert record["compute_report"]["energy_kwh"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_demo_refuses_a_bad_country_code_before_searching(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["demo", *TINY, "--output", str(tmp_path / "out"), "--carbon", "France"])
    assert exit_.value.code == 2  # a usage error, not a traceback
    assert "three-letter ISO country code" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # before any search


@pytest.mark.parametrize("size", ["0", "-3"])
def test_a_non_positive_subset_size_says_so(size, capsys):
    """It said to write a row count without a decimal point, which -3 is."""
    with pytest.raises(SystemExit):
        main(["demo", "--subset-size", size])
    assert "positive row count" in capsys.readouterr().err


def test_demo_warms_codecarbon_up_and_keeps_it_quiet(tmp_path, capfd, monkeypatch):
    """The untimed warm-up search ran without carbon=, so codecarbon's
    start-up landed on the full search (timed first) and doubled the
    speed-ups; and its first log lines ignored --quiet."""
    pytest.importorskip("codecarbon")
    from subsetml.model_selection import _energy

    made = []
    real = _energy._make_tracker
    monkeypatch.setattr(
        _energy, "_make_tracker", lambda carbon: made.append(carbon) or real(carbon)
    )
    monkeypatch.chdir(tmp_path)
    main(["demo", *TINY, "--output", str(tmp_path / "out"), "--carbon", "FRA"])
    # The warm-up, then the full search and the random 5 % one.
    assert made == ["FRA"] * 3
    assert "codecarbon" not in capfd.readouterr().err


def test_select_demo_selects_as_subset_estimator_does():
    # A review: the demo chose rows from a fitted linear proxy's gradients,
    # the view the library dropped for models fitted from scratch, and showed
    # the gradient selectors 13-19 points below random on digits. It now
    # runs SubsetEstimator with its defaults, as a user would.
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from subsetml._demo import run_selection_demo
    from subsetml.model_selection import SubsetEstimator
    from subsetml.selection import CraigSelector

    records = run_selection_demo(
        "wine", 20, 1, file=io.StringIO(), selectors={"craig": CraigSelector()}
    )
    X, y = load_wine(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    expected = SubsetEstimator(
        model, selector=CraigSelector(random_state=0), subset_size=20, random_state=0
    ).fit(X_tr, y_tr)
    (craig,) = [r for r in records if r["method"] == "craig"]
    assert craig["rows"] == 20
    assert craig["accuracy_mean"] == expected.score(X_te, y_te)


def test_bench_gives_the_callers_common_module_back(monkeypatch, tmp_path):
    # `subsetml bench` in a process that had imported the benchmarks'
    # _common left none behind: the caller's next `import _common` made a
    # new module, and patching its RESULTS missed the one its benchmarks
    # write through (a benchmark's test then wrote into the checkout).
    import types

    import subsetml.__main__ as cli

    fake = tmp_path / "benchmarks"
    fake.mkdir()
    (fake / "_common.py").write_text("RESULTS = None\n")
    (fake / "bench_selection.py").write_text("def main(argv=None):\n    pass\n")
    monkeypatch.setattr(cli, "_benchmarks_dir", lambda: fake)
    mine = types.ModuleType("_common")
    monkeypatch.setitem(sys.modules, "_common", mine)
    assert main(["bench", "--results", str(tmp_path / "out"), "selection"]) == 0
    assert sys.modules["_common"] is mine
