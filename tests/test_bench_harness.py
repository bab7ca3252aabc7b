"""The search benchmark's harness: its metrics and a tiny run of each view."""

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if not (BENCH / "_search_harness.py").exists():  # pragma: no cover
    pytest.skip("benchmarks/ is not there", allow_module_level=True)
sys.path.insert(0, str(BENCH))

import _search_harness as h  # noqa: E402

SPACE = {"C": ("log", 1e-3, 1e2), "tol": ("float", 1e-4, 1e-2)}


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    return X_tr, y_tr, X_te, y_te


def test_rank_agreement_matches_scipy_and_handles_nan():
    rng = np.random.RandomState(0)
    a, b = rng.rand(20), rng.rand(20)
    tau, rho = h.rank_agreement(a, b)
    assert tau == pytest.approx(stats.kendalltau(a, b).statistic)
    assert rho == pytest.approx(stats.spearmanr(a, b).statistic)
    a[3] = np.nan  # a failed trial is left out, not ranked
    tau, _ = h.rank_agreement(a, b)
    keep = np.arange(20) != 3
    assert tau == pytest.approx(stats.kendalltau(a[keep], b[keep]).statistic)
    assert np.isnan(h.rank_agreement(np.ones(5), b[:5])[0])  # constant scores


def test_top_k_overlap():
    a = np.array([5, 4, 3, 2, 1, 0.0])
    assert h.top_k_overlap(a, a, 3) == 1.0
    assert h.top_k_overlap(a, -a, 3) == 0.0
    assert h.top_k_overlap(a, np.array([5, 4, 0, 2, 1, 3.0]), 3) == pytest.approx(2 / 3)


def test_space_conversions_agree():
    space = {
        "a": ("log", 1e-3, 1.0),
        "b": ("int-log", 2, 64),
        "c": ("cat", ["x", "y"]),
        "d": ("int", 1, 3),
    }
    sub = h.space_for_subsetml(space)
    assert sub["a"] == (1e-3, 1.0, "log-uniform") and sub["c"] == ["x", "y"]
    opt = h.space_for_optuna(space)
    assert opt["b"].log and opt["b"].low == 2 and opt["b"].high == 64
    draws = h.space_for_scipy(space)["b"].rvs(size=2000, random_state=0)
    assert draws.min() >= 2 and draws.max() <= 64
    # log-uniform: about as many draws below sqrt(2 * 64) = 11.3 as above
    assert 0.4 < np.mean(draws < 11.3) < 0.6
    with pytest.raises(ValueError, match="Unknown dimension kind"):
        h.space_for_subsetml({"a": ("exp", 1, 2)})


def test_ranking_view_pairs_candidates(data):
    recs = h.ranking_view(
        LogisticRegression(max_iter=200),
        SPACE,
        data,
        selectors=("random", "gradmatch"),
        sizes=(0.005, 0.2),
        n_candidates=5,
        cv=2,
        seed=0,
        log=lambda *a: None,
    )
    by = {r["strategy"]: r for r in recs}
    assert set(by) == {
        "full",
        "skipped@0.005",
        "random@0.2",
        "gradmatch@0.2",
        "halving-grid",
    }
    full = by["full"]
    assert full["kendall_tau"] == pytest.approx(1.0) and full["regret"] >= 0
    assert len(full["candidates"]) == 5 and len(full["test_accuracy"]) == 5
    assert full["best_test_accuracy"] == max(full["test_accuracy"])
    for name in ("random@0.2", "gradmatch@0.2"):
        r = by[name]
        assert r["rows_per_trial"] == pytest.approx(0.2 * full["fold_rows"], abs=2)
        assert -1 <= r["kendall_tau"] <= 1 and 0 <= r["top5_overlap"] <= 1
        pick = int(np.argmax(r["scores"]))
        assert r["top1_test_accuracy"] == full["test_accuracy"][pick]
    halving = by["halving-grid"]
    assert (
        halving["top1_test_accuracy"]
        == (full["test_accuracy"][halving["halving_pick_index"]])
    )


def test_end_to_end_view(data):
    recs = h.end_to_end_view(
        LogisticRegression(max_iter=200),
        SPACE,
        data,
        n_iter=3,
        selectors=("random",),
        sizes=(0.2,),
        cv=2,
        seed=0,
        anchors=("halving",),
        log=lambda *a: None,
    )
    names = [r["strategy"] for r in recs]
    assert names == ["full (tpe)", "random@0.2 (tpe)", "HalvingRandomSearchCV"]
    assert recs[0]["speedup_vs_full"] == 1.0
    for r in recs:
        assert 0 < r["test_accuracy"] <= 1 and r["end_to_end_s"] > 0


def test_make_splitter_folds_or_one_holdout(data):
    X_tr, y_tr, _, _ = data
    folds = list(h.make_splitter(3, 0).split(X_tr, y_tr))
    assert len(folds) == 3
    (train, val), *rest = list(h.make_splitter(0.2, 0).split(X_tr, y_tr))
    assert not rest and len(val) == pytest.approx(0.2 * len(X_tr), abs=1)
    assert not set(train) & set(val)
    # stratified: every class in the hold-out
    assert set(y_tr[val]) == set(y_tr)
    with pytest.raises(ValueError, match="hold-out"):
        h.make_splitter(1.5, 0)


def test_end_to_end_view_on_a_holdout_records_selection_share(data):
    recs = h.end_to_end_view(
        LogisticRegression(max_iter=200),
        SPACE,
        data,
        n_iter=2,
        selectors=("gradmatch",),
        sizes=(0.3,),
        cv=0.25,
        seed=0,
        anchors=(),
        log=lambda *a: None,
    )
    assert [r["cv"] for r in recs] == [0.25, 0.25]
    full, sub = recs
    assert full["selection_share"] == 0.0
    assert 0 < sub["selection_share"] < 1
    assert sub["selection_share"] == sub["selection_s"] / sub["search_s"]


def _e2e(strategy, seed, acc, time_s, file="f.json"):
    return {
        "task": "t",
        "_file": file,
        "strategy": strategy,
        "seed": seed,
        "test_accuracy": acc,
        "end_to_end_s": time_s,
        "speedup_vs_full": None,
    }


def test_e2e_targets_speedup_and_equal_wall_time():
    import report_search as rs

    recs = []
    for seed in (0, 1):
        recs += [
            _e2e("full (tpe)", seed, 0.90, 100.0),
            _e2e("random@0.05 (tpe)", seed, 0.898, 10.0),
            _e2e("gradmatch@0.05 (tpe)", seed, 0.85, 15.0),
            _e2e("random@0.1 (tpe)", seed, 0.88, 14.0),
            _e2e("craig@0.05 (tpe)", seed, 0.87, 12.0),
        ]
    for r in recs:
        r["speedup_vs_full"] = 100.0 / r["end_to_end_s"]
    ((caption, lines),) = rs.e2e_targets(recs)
    assert caption == "t (from f.json)"
    by_name = {line.split(":")[0]: line for line in lines}
    # 10x at -0.2 pp: held; GRAD-MATCH 6.7x at -5 pp: not held
    assert by_name["random@0.05 (tpe)"].endswith("-- held")
    assert "10.0× at -0.2 pp" in by_name["random@0.05 (tpe)"]
    assert by_name["gradmatch@0.05 (tpe)"].endswith("not held")
    # equal wall time: GRAD-MATCH (15 s) meets random@0.1 (14 s), CRAIG (12 s)
    # meets random@0.05 (10 s), the slowest random that is not slower
    pairs = [line for line in lines if " vs " in line]
    assert any(
        "gradmatch@0.05 (tpe) (15 s) vs random@0.1 (tpe) (14 s): -3.0 pp" in p
        and p.endswith("not held")
        for p in pairs
    )
    assert any(
        "craig@0.05 (tpe) (12 s) vs random@0.05 (tpe) (10 s): -2.8 pp" in p
        for p in pairs
    )


def test_report_captions_say_how_runs_validated():
    import report_search as rs

    assert rs._cv_text(3) == "3-fold CV"
    assert rs._cv_text(0.2) == "one 20 % hold-out"


def test_nn_search_cpu_preset_is_the_issues_design():
    import bench_nn_search as nn

    assert nn._cv("3") == 3 and nn._cv("0.2") == 0.2
    cpu = nn.SIZES["cpu"]
    # 40k training / 10k test rows (the script holds out 20 % for testing),
    # both nets, >= 3 seeds, >= 10 trials, 5 and 10 % with every selector
    assert cpu["rows"] * 0.8 == 40_000
    assert set(cpu["models"]) == {"mlp", "cnn"}
    assert cpu["seeds"] >= 3 and cpu["n_iter"] >= 10
    assert set(cpu["sizes"]) == {0.05, 0.1}
    assert set(cpu["selectors"]) == {"random", "craig", "glister", "gradmatch"}
    assert isinstance(h.make_splitter(cpu["cv"], 0), h.StratifiedShuffleSplit)


def test_report_keeps_the_latest_run_of_a_seed(tmp_path, monkeypatch):
    # A file re-running seeds of an earlier one replaces its records: they
    # were averaged together and counted as seeds twice (a review).
    import json

    import report_search as rs

    def record(strategy, seed, acc):
        return {
            "task": "t",
            "n_rows": 10,
            "n_iter": 3,
            "cv": 3,
            "space": "s",
            "strategy": strategy,
            "seed": seed,
            "test_accuracy": acc,
        }

    old = [record("a", s, 0.5) for s in (0, 1)] + [record("b", 0, 0.7)]
    new = [record("a", s, 0.9) for s in (0, 1)]
    for name, date, recs in (
        ("search.json", "2026-01-01", old),
        ("search_t.json", "2026-02-01", new),
    ):
        machine = {"date": date}
        (tmp_path / name).write_text(json.dumps({"machine": machine, "records": recs}))
    monkeypatch.setattr(rs, "RESULTS", tmp_path)
    records, sources = rs.load("search", False)
    kept = sorted((r["strategy"], r["seed"], r["test_accuracy"]) for r in records)
    assert kept == [("a", 0, 0.9), ("a", 1, 0.9), ("b", 0, 0.7)]
    assert [name for name, _ in sources] == ["search.json", "search_t.json"]
