"""The multi-fidelity benchmark's net strategies run, tiny; its summary counts
collapsed refits and its merge refuses overlapping files."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("mnist1d")
pytest.importorskip("skorch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.parametrize(
    "strategy",
    ["full epochs rungs", "OptunaSearchCV epochs", "HalvingRandomSearchCV epochs"],
)
def test_net_epoch_strategies_run_and_refit_at_the_last_rung(strategy):
    pytest.importorskip("optuna_integration")
    import bench_fidelity as bf

    rec = bf.run_one(strategy, "mnist1d-mlp-net", 0, 3, 600)
    assert 0 <= rec["test_accuracy"] <= 1
    assert rec["n_collapsed"] in (0, 1)
    if strategy != "HalvingRandomSearchCV epochs":
        # (scikit-learn's halving counts a candidate once per iteration.)
        assert rec["n_candidates"] == 3
        assert rec["refit_max_epochs"] == bf.EPOCHS[-1]
    if strategy == "OptunaSearchCV epochs":
        assert rec["n_pruned"] is not None


def test_strategy_names_keep_their_scoring_rows():
    import bench_fidelity as bf

    _, y, est, space = bf._hgb(200)
    expect = {
        "random@0.05": None,
        "random rungs": None,
        "random rungs<1": None,
        "random@0.05 +score": 2000,
        "random@0.05 +prop": "proportional",
        "random rungs<1 r0 +prop": "proportional",
        # " +prop" as a modifier of any strategy of ours.
        "random halving rungs r0 +prop": "proportional",
        "random halving rungs r0 +prop rounds": "proportional",
    }
    for strategy, score_size in expect.items():
        search = bf.make_search(strategy, est, space, 3, 2, 0, 100, y)
        assert search.score_size == score_size, strategy


@pytest.mark.slow
@pytest.mark.parametrize(
    "strategy", ["full max_iter rungs", "HalvingRandomSearchCV max_iter"]
)
def test_boosting_round_strategies_refit_with_all_rounds(strategy):
    import bench_fidelity as bf

    rec = bf.run_one(strategy, "synth-hgb", 0, 3, 800)
    # Ours refits the winner with the last rung's rounds; scikit-learn's
    # with its last round's (66 with 3 candidates), and the searched
    # parameters keep their names.
    if strategy == "full max_iter rungs":
        assert rec["best_params"]["max_iter"] == bf.ITERS[-1]
    else:
        assert rec["best_params"]["max_iter"] in bf.ITERS
    assert set(rec["best_params"]) - {"max_iter"} == {
        "learning_rate",
        "max_leaf_nodes",
        "min_samples_leaf",
        "l2_regularization",
        "max_features",
    }


def test_summary_counts_collapsed_refits_and_merge_refuses_overlaps(
    tmp_path, monkeypatch
):
    import bench_fidelity as bf

    def rec(strategy, seed, acc, seconds, collapsed=0, pruned=None):
        return {
            "task": "t",
            "seed": seed,
            "strategy": strategy,
            "test_accuracy": acc,
            "end_to_end_s": seconds,
            "n_collapsed": collapsed,
            "n_candidates": 20,
            "n_pruned": pruned,
        }

    records = [
        rec("full (tpe)", 0, 0.8, 100.0, pruned=0),
        rec("full (tpe)", 1, 0.7, 100.0, pruned=0),
        rec("full epochs rungs", 0, 0.1, 50.0, collapsed=1, pruned=17),
        rec("full epochs rungs", 1, 0.75, 25.0, pruned=12),
        rec("HalvingRandomSearchCV", 0, 0.7, 10.0),
    ]
    rows = {r["strategy"]: r for r in bf.summary(records)["t"]}
    ours = rows["full epochs rungs"]
    assert ours["collapsed"] == 1 and rows["full (tpe)"]["collapsed"] == 0
    assert ours["gap_pp"] == pytest.approx(((0.1 - 0.8) + (0.75 - 0.7)) * 50)
    assert ours["speedup"] == pytest.approx((2 + 4) / 2)
    # Collapsed refits, then trials that reached the last rung over seeds.
    assert bf._fmt(ours)[-2:] == ["1", "3-8"]
    assert bf._fmt(rows["full (tpe)"])[-1] == "20"
    assert bf._fmt(rows["HalvingRandomSearchCV"])[-1] == "-"
    records = records[:4]

    monkeypatch.setattr(bf, "RESULTS", tmp_path)
    for name, part in (("a", records[:2]), ("b", records[2:]), ("c", records[3:])):
        (tmp_path / f"{name}.json").write_text(json.dumps({"records": part}))
    monkeypatch.setattr(bf, "write_results", _write(tmp_path))
    bf.main(["--merge", "a", "b", "--output", "joined"])
    joined = json.loads((tmp_path / "joined.json").read_text())
    assert len(joined["records"]) == 4 and joined["merged_from"] == ["a", "b"]
    with pytest.raises(SystemExit, match="share"):
        bf.main(["--merge", "b", "c", "--output", "joined2"])
    with pytest.raises(SystemExit, match="needs --output"):
        bf.main(["--merge", "a", "b"])


def test_last_rung_counts_trials_that_reached_it_not_failures_below():
    """A trial that failed below the last rung is neither pruned nor at the
    last rung: ``n_candidates - n_pruned`` counted it, ``n_last_rung`` does
    not. Re-scored trials (one rung up, for resource rungs on subsets) count
    unless they were pruned below first."""
    from types import SimpleNamespace

    import bench_fidelity as bf

    rows = SimpleNamespace(resource_rungs=None, subset_size=(0.05, 0.15, 1.0))
    results = {
        "rung": [2, 0, 1, 2, 0],
        "pruned": [False, True, True, False, False],  # the last one failed
    }
    assert bf._n_last_rung(rows, results) == 2
    epochs = SimpleNamespace(resource_rungs=(3, 9, 27), subset_size=0.05)
    results = {"rung": [3, 3, 0, 2], "pruned": [False, True, True, False]}
    assert bf._n_last_rung(epochs, results) == 2
    # No rungs (one subset size), or another tool's results: no count.
    single = SimpleNamespace(resource_rungs=None, subset_size=0.05)
    assert bf._n_last_rung(single, {"rung": [0], "pruned": [False]}) is None
    assert bf._n_last_rung(object(), {"params": []}) is None

    def rec(seed, last):
        return {
            "task": "t",
            "seed": seed,
            "strategy": "random rungs",
            "test_accuracy": 0.8,
            "end_to_end_s": 10.0,
            "n_candidates": 20,
            "n_pruned": 15,
            "n_last_rung": last,
        }

    # Older records without n_last_rung fall back to trials less pruned.
    (row,) = bf.summary([rec(0, 4), rec(1, None)])["t"]
    assert row["last_rung"] == [4, 5]


def _write(root):
    def write(name, payload):
        path = root / f"{name}.json"
        path.write_text(json.dumps(payload))
        return path

    return write


def test_budget_curves_join_a_strategys_runs_at_other_n_iter(tmp_path, monkeypatch):
    import bench_fidelity as bf

    assert bf._budget_of("x rounds=5 n_iter=20", 30) == ("x rounds=5", 20)
    assert bf._budget_of("x rounds=5", 30) == ("x rounds=5", 30)
    records = [
        {
            "task": "t",
            "seed": seed,
            "strategy": strategy,
            "n_iter": n_iter,
            "test_accuracy": acc,
            "end_to_end_s": secs,
        }
        for seed in (0, 1)
        for strategy, n_iter, acc, secs in (
            ("ours", 30, 0.80, 10.0),
            ("ours n_iter=20", 20, 0.78, 6.0),
            ("anchor", 30, 0.79, 12.0),
        )
    ]
    monkeypatch.setattr(bf, "RESULTS", tmp_path)
    (tmp_path / "curves.json").write_text(json.dumps({"records": records}))
    bf.main(["--output", "curves", "--plot-budgets"])
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_strategy_names_take_modifiers_and_budgets():
    import argparse

    import bench_fidelity as bf

    for name in (
        "random halving rungs r0 w0 rounds +rs n_iter=60",
        "full max_iter rungs rounds=5 n_iter=20",
        "HalvingRandomSearchCV n_iter",
        "random halving rungs r0 +prop rounds n_iter=20",
    ):
        assert bf._strategy_name(name) == name
    for bad in ("nonsense +rs", "random@0.05 n_iter=0", "random@0.05 n_iter=x"):
        with pytest.raises((argparse.ArgumentTypeError, ValueError)):
            bf._strategy_name(bad)
    assert bf._budget_of("random@0.05 n_iter=20", 30) == ("random@0.05", 20)


def test_halving_shaped_rungs_follow_halving_rounds():
    import bench_fidelity as bf
    from sklearn.model_selection import StratifiedKFold

    X, y, est, space = bf._hgb(4000)
    splitter = StratifiedKFold(2, shuffle=True, random_state=0)
    search = bf.make_search(
        "random halving rungs r0", est, space, 6, splitter, 0, 2000, y
    )
    # HalvingRandomSearchCV's first round here: 5 % of a fold (100 rows) of
    # the 4,000 it is fitted on, then times 3 while it fits.
    assert search.subset_size == pytest.approx((0.025, 0.075, 0.225, 0.675))
    assert search.rescore == 0


@pytest.mark.parametrize(
    "first, rungs, n_points",
    [
        ("0.15", (0.15, 0.45, 1.0), 8),
        ("0.25", (0.25, 0.75, 1.0), 8),
        ("0.34", (0.34, 1.0), 3),
    ],
)
def test_rungs_from_a_larger_first_share_size_their_rounds(first, rungs, n_points):
    import bench_fidelity as bf
    from sklearn.model_selection import StratifiedKFold

    X, y, est, space = bf._hgb(4000)
    splitter = StratifiedKFold(2, shuffle=True, random_state=0)
    name = f"random rungs +prop from={first} rounds"
    assert bf._strategy_name(name) == name
    search = bf.make_search(name, est, space, 25, splitter, 0, 2000, y)
    assert search.subset_size == pytest.approx(rungs)
    assert search.pruner == "halving" and search.score_size == "proportional"
    # Rounds sized for these rungs: at most 3 ** (rungs - 1) trials a round.
    assert search.n_points == n_points
    halving = bf.make_search(
        f"HalvingRandomSearchCV from={first}", est, space, 25, splitter, 0, 2000, y
    )
    # Its resource counts rows of the 4,000 it is fitted on, and a round
    # trains on that fraction of each fold: F of each fold is F of 4,000.
    assert halving.min_resources == round(float(first) * 4000)


@pytest.mark.parametrize(
    "modifier, warm_up, select_every", [(" w0", 0.0, 5), (" fixed", 0.0, 27)]
)
def test_net_trial_modifiers_set_the_subset_schedule(modifier, warm_up, select_every):
    import bench_fidelity as bf

    make, _ = bf.TASKS["mnist1d-mlp-net"]
    _, y, net, space = make(600)
    search = bf.make_search(
        "random halving rungs r0" + modifier, net, space, 3, 2, 0, 200, y
    )
    # " fixed": one random subset for all of a trial's epochs, no warm start
    # (the search gives every trial's net one seed, so a rung's trials share
    # it); " w0": no warm start, subsets re-drawn every 5 epochs.
    assert search.estimator.warm_up == warm_up
    assert search.estimator.select_every == select_every
    assert search.estimator.max_epochs == bf.EPOCHS[-1] == 27
    assert search.rescore == 0
    assert bf._strategy_name("random halving rungs r0 fixed rounds +rs")


@pytest.mark.parametrize("strategy", ["HalvingRandomSearchCV", "random halving rungs"])
def test_loader_modifier_gives_the_net_array_loaders(strategy):
    import bench_fidelity as bf

    from subsetml.skorch import ArrayLoader

    make, _ = bf.TASKS["mnist1d-mlp-net"]
    _, y, net, space = make(600)
    search = bf.make_search(strategy + " +loader", net, space, 3, 2, 0, 200, y)
    assert search.estimator.iterator_train is ArrayLoader
    assert search.estimator.iterator_valid is ArrayLoader
    assert net.iterator_train is not ArrayLoader  # the task's net is untouched
    assert bf._strategy_name("random halving rungs rounds +loader") is not None


def test_table_keeps_numbers_under_their_headers_for_long_names(
    tmp_path, monkeypatch, capsys
):
    import bench_fidelity as bf

    long = "random halving rungs r0 fixed rounds=15 +rs n_iter=20"
    records = [
        {
            "task": "t",
            "seed": seed,
            "strategy": strategy,
            "n_iter": 30,
            "test_accuracy": 0.8,
            "end_to_end_s": 10.0,
            "n_candidates": 30,
            "n_pruned": 0,
            "n_last_rung": None,
            "n_collapsed": 0,
        }
        for seed in (0, 1)
        for strategy in ("full (tpe)", long)
    ]
    monkeypatch.setattr(bf, "RESULTS", tmp_path)
    (tmp_path / "long.json").write_text(json.dumps({"records": records}))
    bf.main(["--output", "long", "--table"])
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    header = next(line for line in lines if line.startswith("strategy"))
    rows = [line for line in lines if line.startswith(("full (tpe)", long))]
    assert len(rows) == 2
    # Every column, the seeds first, ends where its header ends.
    end = header.index("seeds") + len("seeds")
    for row in rows:
        assert row[:end].rstrip().endswith("2")
        assert len(row) == len(header)


def test_halving_shaped_rungs_without_the_last_share_and_rescore_counts():
    import bench_fidelity as bf
    from sklearn.model_selection import StratifiedKFold

    X, y, est, space = bf._hgb(4000)
    splitter = StratifiedKFold(2, shuffle=True, random_state=0)
    search = bf.make_search(
        "random halving rungs<1 rescore=2 rounds", est, space, 6, splitter, 0, 2000, y
    )
    assert search.subset_size == pytest.approx((0.025, 0.075, 0.225))
    assert search.rescore == 2
    assert search.n_points > 1
    assert bf._strategy_name("random halving rungs rescore=2 rounds n_iter=20")


@pytest.mark.parametrize("strategy", ["ours default", "HalvingRandomSearchCV"])
def test_the_regression_task_runs_on_unstratified_folds_and_records_r2(strategy):
    import bench_fidelity as bf

    rec = bf.run_one(strategy, "friedman-hgb", 0, 3, 1200)
    assert rec["metric"] == "r2"
    # R^2 of a fitted booster on Friedman's problem: above a constant's 0,
    # below 1 with the noise; a stratified split of a float target would
    # have raised.
    assert 0.0 < rec["test_accuracy"] < 1.0
    assert rec["n_collapsed"] == 0
    assert bf._metric_label(rec) == "test R^2"
    assert bf._header([rec], "friedman-hgb")[2] == "test R^2"
    assert bf._score_words([rec]).startswith("Test R^2")
    if strategy == "HalvingRandomSearchCV":
        # Its first round is 5 % of a fold (one "class" for a regression
        # target), not two rows per distinct target value.
        assert bf._n_classes(bf._hgb_regression(50)[1]) == 1


def test_the_bike_sharing_task_is_a_regression_on_the_bundled_hours():
    import bench_fidelity as bf

    X, y, est, space = bf._bike_svr(0)
    assert X.shape == (8645, 12) and bf._n_classes(y) == 1
    assert abs(y.mean()) < 1e-9 and abs(y.std() - 1) < 1e-9
    assert set(space) == {"svr__C", "svr__gamma", "svr__epsilon"}
    assert "bike-svr" in bf.REGRESSION_TASKS
