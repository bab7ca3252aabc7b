"""Selection quality: a selected subset must not train a worse model than random.

The fast version of ``benchmarks/bench_quality.py`` (smaller data, the dense
classification tasks, 10 and 20 % subsets, five seeds), plus the cases of
issue 13 that used to give models worse than chance.
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from subsetml.model_selection import SubsetEstimator

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SELECTORS = ["random", "craig", "glister", "gradmatch"]


@pytest.fixture(scope="module")
def bench():
    if not (BENCH / "bench_quality.py").exists():  # pragma: no cover
        pytest.skip("benchmarks/ is not there")
    sys.path.insert(0, str(BENCH))
    import bench_quality

    return bench_quality


def test_the_panel(bench):
    """The panel (a minute) in one test, so that it is built once: in tests
    of their own, each xdist worker built it. (xdist's ``xdist_group`` would
    keep such tests on one worker, but under pytest 9.2 it leaves them
    ungrouped, as it sets a node id pytest no longer reads.) Every check
    runs, and the failure lists all that failed."""
    # Five seeds: with three, one cell's paired gap moved past the failure
    # line with a change to the view (CRAIG, imbalanced, boosting at 20 %:
    # -3.3 +- 1.2 on seeds 0-2, +3.9 +- 2.7 over ten).
    cells = bench.run(
        tasks=("binary", "multiclass", "imbalanced"),
        n=1500,
        seeds=(0, 1, 2, 3, 4),
        sizes=(0.1, 0.2),
        n_jobs=1,
    )
    checks = [
        _cells_are_complete,
        _no_selector_significantly_more_than_2_points_below_random,
        _no_selector_below_the_constant_baseline,
        _task_table_quotes_mean_and_worst_gap,
    ]
    failed = []
    for check in checks:
        try:
            check(bench, cells)
        except AssertionError as exc:
            failed.append(f"{check.__name__}: {exc}")
    assert not failed, "\n".join(failed)


def _cells_are_complete(bench, cells):
    # 3 tasks x 5 estimators x 2 sizes, every selector, every seed.
    assert len(cells) == 30
    for c in cells:
        assert set(c["methods"]) == set(SELECTORS)
        assert all(len(m["seeds"]) == 5 for m in c["methods"].values())
        assert c["methods"]["random"]["gap_to_random"] == 0.0
        for m in c["methods"].values():
            diffs = np.array(m["seeds"]) - np.array(c["methods"]["random"]["seeds"])
            assert m["gap_to_random"] == pytest.approx(diffs.mean())
            assert m["gap_se"] == pytest.approx(diffs.std(ddof=1) / np.sqrt(5))


def _no_selector_significantly_more_than_2_points_below_random(bench, cells):
    fails = bench.failures(cells, tolerance=2.0, selectors=SELECTORS[1:])
    assert not fails, [
        (s, w, c["task"], c["estimator"], c["subset_size"]) for s, w, c in fails
    ]


def _no_selector_below_the_constant_baseline(bench, cells):
    below = [
        (sel, c["task"], c["estimator"], c["subset_size"])
        for c in cells
        for sel, m in c["methods"].items()
        if m["mean"] < c["constant"]
    ]
    assert not below


def _task_table_quotes_mean_and_worst_gap(bench, cells):
    table = bench.task_table(cells).splitlines()
    assert table[0] == "| task | CRAIG | GLISTER | GRAD-MATCH |"
    assert [line.split(" | ")[0] for line in table[2:]] == [
        "| binary",
        "| multiclass",
        "| imbalanced",
    ]
    gaps = [
        c["methods"]["craig"]["gap_to_random"] for c in cells if c["task"] == "binary"
    ]
    assert table[2].split(" | ")[1] == f"{np.mean(gaps):+.1f} / {min(gaps):+.1f}"


def test_failure_rule_needs_a_gap_beyond_tolerance_and_noise(bench):
    # More than 2 points below and beyond two standard errors: a failure.
    assert bench.below_random({"gap_to_random": -3.0, "gap_se": 0.4})
    # Below by more than 2 points, but within seed noise: not a failure,
    # unless significance is not asked for.
    noisy = {"gap_to_random": -3.0, "gap_se": 2.0}
    assert not bench.below_random(noisy)
    assert bench.below_random(noisy, significant=False)
    # Within the tolerance, however certain: not a failure.
    assert not bench.below_random({"gap_to_random": -1.9, "gap_se": 0.01})
    cell = {
        "task": "t",
        "estimator": "e",
        "subset_size": 0.1,
        "constant": 50.0,
        "methods": {
            "random": {"mean": 80.0, "gap_to_random": 0.0, "gap_se": 0.0},
            "craig": {"mean": 77.0, "gap_to_random": -3.0, "gap_se": 0.4},
            "glister": {"mean": 49.0, "gap_to_random": -1.0, "gap_se": 0.1},
        },
    }
    whys = {(s, w) for s, w, _ in bench.failures([cell])}
    assert whys == {
        ("craig", "-3.0 ± 0.4 vs random"),
        ("glister", "below the constant baseline"),
    }
    # When random subsets are below the constant too (15 rows of diabetes
    # for boosting), that is no failure of a selector; it is reported once.
    cell["methods"]["random"]["mean"] = 45.0
    whys = {(s, w) for s, w, _ in bench.failures([cell])}
    assert whys == {
        ("craig", "-3.0 ± 0.4 vs random"),
        (
            "random",
            "below the constant baseline (random subsets too: not counted "
            "against a selector)",
        ),
    }


@pytest.mark.parametrize("selector", SELECTORS)
def test_binary_unscaled_logistic_regression_is_not_inverted(selector):
    # Issue 13: GRAD-MATCH's default subsets gave 0.245 accuracy here (random
    # 0.82): it chose the rows a fitted proxy got wrong.
    X, y = make_classification(3000, 20, n_informative=6, flip_y=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = cross_val_score(
            SubsetEstimator(
                LogisticRegression(max_iter=500), selector=selector, random_state=0
            ),
            X,
            y,
            cv=3,
        ).mean()
        rand = cross_val_score(
            SubsetEstimator(
                LogisticRegression(max_iter=500), selector="random", random_state=0
            ),
            X,
            y,
            cv=3,
        ).mean()
    assert ours > rand - 0.02


@pytest.mark.parametrize("selector", SELECTORS)
def test_imbalanced_binary_ranks_the_right_way_round(selector):
    # Issue 13: ROC-AUC 0.17-0.23 (inverted) on 7 % positives.
    X, y = make_classification(
        3000, 20, n_informative=6, weights=[0.93], flip_y=0.01, random_state=0
    )
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
    model = SubsetEstimator(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        selector=selector,
        subset_size=0.1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_tr, y_tr)
    assert roc_auc_score(y_te, model.predict_proba(X_te)[:, 1]) > 0.75
    assert balanced_accuracy_score(y_te, model.predict(X_te)) > 0.5


def test_gradmatch_regression_matches_more_than_the_mean(bench):
    # Issue 13: matching the gradient sum at the untrained layer alone (the
    # first moment of (y - mean) x) gave Ridge R^2 14.5 points below random
    # rows at 5 %; the probes match the loss around that point.
    cells = bench.run(
        tasks=("regression",),
        n=1500,
        seeds=(0, 1, 2),
        sizes=(0.05,),
        selectors=("random", "gradmatch"),
        n_jobs=1,
        estimators_=("ridge",),
    )
    (cell,) = cells
    assert cell["methods"]["gradmatch"]["gap_to_random"] > -2.0


def _run_cells(**kwargs):
    if not (BENCH / "bench_quality.py").exists():  # pragma: no cover
        pytest.skip("benchmarks/ is not there")
    sys.path.insert(0, str(BENCH))
    import bench_quality

    return bench_quality, bench_quality.run(n_jobs=1, **kwargs)


def test_gradmatch_without_its_weights_is_not_below_random():
    # GRAD-MATCH's matched picks without their weights (k-NN): 16.8 points
    # of R^2 below random on Bike Sharing (quality_unweighted.json).
    bench, cells = _run_cells(
        tasks=("bike sharing",),
        n=2000,
        seeds=(0, 1, 2, 3, 4),
        sizes=(0.05, 0.2),
        selectors=("random", "gradmatch"),
        estimators_=["knn (no weights)"],
    )
    fails = bench.failures(cells, selectors=["gradmatch"])
    assert not fails, [(w, c["subset_size"]) for _, w, c in fails]


def test_glister_on_copied_rows_is_not_below_random():
    # GLISTER on one-hot rows with at most 60 distinct values: up to 9.3
    # points below random at 20 %, under the constant
    # (quality_copies_before.json). Pooled over three models, as single
    # cells are noisy at this size.
    _, cells = _run_cells(
        tasks=("one-hot",),
        n=3000,
        seeds=tuple(range(8)),
        sizes=(0.2,),
        selectors=("random", "glister"),
        estimators_=["lr scaled", "svc", "hgb"],
    )
    gaps = [c["methods"]["glister"]["gap_to_random"] for c in cells]
    assert len(gaps) == 3 and np.mean(gaps) > -2.0, gaps


def test_rows_in_other_units_do_not_crowd_the_subsets():
    # 1 % of the rows x100: every selector took nearly all of them and a
    # scaled SVC fell to chance, 18-24 points below random subsets
    # (quality_tails_before.json). The view now tames them.
    bench, cells = _run_cells(
        tasks=("outliers",),
        n=2000,
        seeds=(0, 1, 2, 3, 4),
        sizes=(0.05, 0.2),
        selectors=("random", "craig", "glister", "gradmatch"),
        estimators_=["svc"],
    )
    fails = bench.failures(cells)
    assert not fails, [(s, w, c["subset_size"]) for s, w, c in fails]
