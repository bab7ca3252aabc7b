"""subsetml.plotting draws what it says, from the shapes we produce."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from subsetml.plotting import (  # noqa: E402
    plot_method_weights,
    plot_search_history,
    plot_speedup,
    plot_tradeoff,
)

RUNS = [
    {"strategy": "full", "end_to_end_s": 50.0, "test_accuracy": 0.90},
    {"strategy": "full", "end_to_end_s": 70.0, "test_accuracy": 0.92},
    {"strategy": "craig", "end_to_end_s": 6.0, "test_accuracy": 0.88},
]


def test_tradeoff_means_and_error_bars():
    ax = plot_tradeoff(RUNS)
    (x_full, y_full), (x_craig, _) = (c.lines[0].get_xydata()[0] for c in ax.containers)
    assert x_full == pytest.approx(60.0) and y_full == pytest.approx(0.91)
    assert x_craig == pytest.approx(6.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["full", "craig"]


def test_tradeoff_accepts_a_dataframe_and_reports_missing_columns():
    pd = pytest.importorskip("pandas")
    ax = plot_tradeoff(pd.DataFrame(RUNS))
    assert len(ax.containers) == 2
    with pytest.raises(KeyError, match="wall"):
        plot_tradeoff(RUNS, time="wall")
    with pytest.raises(ValueError, match="empty"):
        plot_tradeoff([])
    with pytest.raises(TypeError, match="dicts"):
        plot_tradeoff([(1, 2)])


def test_speedup_bars():
    ax = plot_speedup(RUNS, reference="full")
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.0, 10.0])
    with pytest.raises(ValueError, match="reference"):
        plot_speedup(RUNS, reference="none")


def test_a_failed_run_leaves_its_strategy_drawn_from_the_others():
    runs = RUNS + [
        {"strategy": "craig", "end_to_end_s": 8.0, "test_accuracy": np.nan},
        {"strategy": "failed", "end_to_end_s": np.nan, "test_accuracy": np.nan},
    ]
    with pytest.warns(UserWarning, match="failed"):
        ax = plot_tradeoff(runs)
    points = [c.lines[0].get_xydata()[0] for c in ax.containers]
    np.testing.assert_allclose(points, [[60.0, 0.91], [6.0, 0.88]])
    with pytest.warns(UserWarning, match="failed"):
        ax = plot_speedup(runs, reference="full")
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.0, 60 / 7])


def test_speedup_refuses_zero_times_and_a_reference_without_times():
    runs = RUNS + [{"strategy": "instant", "end_to_end_s": 0.0}]
    with pytest.raises(ValueError, match="positive mean.*instant"):
        plot_speedup(runs, reference="full")
    failed = [{"strategy": "full", "end_to_end_s": np.nan}] + RUNS[2:]
    with pytest.raises(ValueError, match="no run with a finite time"):
        plot_speedup(failed, reference="full")


class _Search:
    def __init__(self, results, refit=True):
        self.cv_results_ = results
        self.refit = refit


def test_search_history_best_so_far_skips_failed_trials():
    ax = plot_search_history(
        _Search({"mean_test_score": np.array([0.5, np.nan, 0.7, 0.6])})
    )
    best = ax.lines[1].get_ydata()
    np.testing.assert_allclose(best, [0.5, 0.5, 0.7, 0.7])
    multi = _Search({"mean_test_acc": np.array([0.1, 0.2])}, refit="acc")
    assert plot_search_history(multi).get_ylabel() == "mean test acc"
    with pytest.raises(ValueError, match="refit"):
        plot_search_history(_Search({"mean_test_acc": [0.1]}, refit=True))
    from sklearn.exceptions import NotFittedError

    # scikit-learn's exception, as its displays raise it (a review).
    with pytest.raises(NotFittedError, match="not fitted"):
        plot_search_history(object())


def test_records_plots_given_a_search_say_which_plot_takes_one():
    # A review: plot_tradeoff(search) failed with "'SubsetSearchCV' object is
    # not iterable".
    from sklearn.svm import SVC

    from subsetml.model_selection import SubsetSearchCV

    search = SubsetSearchCV(SVC(), {"C": (0.1, 10.0, "log-uniform")})
    with pytest.raises(TypeError, match="plot_search_history"):
        plot_tradeoff(search)
    with pytest.raises(TypeError, match="plot_search_history"):
        plot_speedup(_Search({"mean_test_score": [0.5]}), reference="full")


def test_method_weights_from_history():
    class Net:
        history = [
            {"epoch": 1},  # warm-up epoch: no weights yet
            {"epoch": 2, "method_weights": {"a": 0.5, "b": 0.5}},
            {"epoch": 3, "method_weights": {"a": 0.8, "b": 0.2}},
        ]

    ax = plot_method_weights(Net())
    lines = {line.get_label(): line for line in ax.lines}
    np.testing.assert_allclose(lines["a"].get_xdata(), [2, 3])
    np.testing.assert_allclose(lines["a"].get_ydata(), [0.5, 0.8])

    class Changed:  # set_params(policies=...) between partial_fit calls
        history = [
            {"epoch": 1, "method_weights": {"a": 1.0}},
            {"epoch": 2, "method_weights": {"c": 0.4, "d": 0.6}},
        ]

    lines = {line.get_label(): line for line in plot_method_weights(Changed()).lines}
    assert sorted(lines) == ["a", "c", "d"]
    np.testing.assert_allclose(lines["c"].get_ydata(), [np.nan, 0.4])

    class Plain:
        history = [{"epoch": 1}]

    with pytest.raises(ValueError, match="no 'method_weights'"):
        plot_method_weights(Plain())


def test_tradeoff_reads_results_files_as_loaded_and_refuses_mixed_tasks():
    """The documented inputs failed: the demo's results.json (a bare
    KeyError: 0; its runs are "method"s) and a benchmark's records of
    several tasks (silently averaged into one point per strategy)."""
    demo = {
        "dataset": "digits",
        "methods": [
            {"method": "full data", "end_to_end_s": 3.0, "test_accuracy": 0.97},
            {"method": "random 5 %", "end_to_end_s": 0.5, "test_accuracy": 0.95},
        ],
    }
    ax = plot_tradeoff(demo)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["full data", "random 5 %"]
    ax = plot_speedup(demo, reference="full data")
    assert [p.get_height() for p in ax.patches] == pytest.approx([1.0, 6.0])
    tasks = {"records": [dict(r, task=t) for r in RUNS for t in ("a", "b")]}
    with pytest.raises(ValueError, match="several tasks"):
        plot_tradeoff(tasks)
    assert (
        len(plot_tradeoff([r for r in tasks["records"] if r["task"] == "a"]).containers)
        == 2
    )
    # Bad rows anywhere, not only the first, get a clear error.
    with pytest.raises(KeyError, match="record 1"):
        plot_tradeoff([RUNS[0], {"strategy": "x", "end_to_end_s": 1.0}])
    with pytest.raises(ValueError, match="non-number"):
        plot_tradeoff([RUNS[0], {**RUNS[1], "end_to_end_s": None}])
    with pytest.raises(ValueError, match="one length"):
        plot_tradeoff(
            {"strategy": ["a", "b"], "end_to_end_s": [1.0], "test_accuracy": [1, 2]}
        )
    with pytest.raises(ValueError, match="mean time"):
        plot_speedup(
            {"strategy": ["a", "b"], "end_to_end_s": [0.0, 1.0]}, reference="a"
        )


def test_search_history_best_so_far_is_of_the_last_rung():
    """A trial pruned at a low rung may score above every full-fold trial;
    the line followed it, though it can never be the result."""
    results = {
        "mean_test_score": np.array([0.9, 0.7, 0.95, 0.8]),
        "rung": np.array([0, 2, 0, 2]),
    }
    best = plot_search_history(_Search(results)).lines[1].get_ydata()
    np.testing.assert_allclose(best, [np.nan, 0.7, 0.7, 0.8])


def test_the_slips_a_review_made_get_errors_that_say_what_to_pass():
    search = _Search({"mean_test_score": [0.5, 0.7], "params": [{}, {}]})
    with pytest.raises(TypeError, match="takes the fitted search, not its cv_results_"):
        plot_search_history(search.cv_results_)
    with pytest.raises(TypeError, match="records is None"):
        plot_tradeoff(None)
    with pytest.raises(TypeError, match=r"for a single row pass \[row\]"):
        plot_tradeoff(RUNS[0])
    with pytest.raises(TypeError, match="takes a fitted AdaSelection net"):
        plot_method_weights(search)
    instant = [{**run, "end_to_end_s": 0.0} for run in RUNS]
    with pytest.raises(ValueError, match="needs a positive mean 'end_to_end_s'"):
        plot_tradeoff(instant)
