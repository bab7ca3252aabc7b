"""scikit-learn 1.9's callbacks (``set_callbacks``) on the search and the
meta-estimator (issue 15): the hooks fire for every task, as in GridSearchCV."""

import warnings
from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from subsetml.model_selection import SubsetEstimator, SubsetSearchCV

callback = pytest.importorskip(
    "sklearn.callback", reason="scikit-learn < 1.9 has no callbacks"
)


class Recorder:
    """Records every hook as (hook, estimator class, task name)."""

    def __init__(self):
        self.log = []

    def setup(self, estimator, context):
        self.log.append(("setup", type(estimator).__name__, context.task_name))

    def on_fit_task_begin(self, estimator, context, **kwargs):
        self.log.append(("begin", type(estimator).__name__, context.task_name))

    def on_fit_task_end(self, estimator, context, **kwargs):
        self.log.append(("end", type(estimator).__name__, context.task_name))

    def teardown(self, estimator, context):
        self.log.append(("teardown", type(estimator).__name__, context.task_name))

    def count(self, hook, task, estimator="SubsetSearchCV"):
        return Counter(self.log)[(hook, estimator, task)]


class PropagatedRecorder(Recorder):
    """The same, handed down to the estimators fitted inside."""

    max_propagation_depth = None


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=240, n_features=6, random_state=0)


def _search(**kwargs):
    options = dict(n_iter=4, cv=2, subset_size=0.3, random_state=0)
    space = {"C": (0.01, 10.0, "log-uniform")}
    return SubsetSearchCV(LogisticRegression(), space, **{**options, **kwargs})


def test_every_task_of_a_search_calls_the_hooks(data):
    rec = Recorder()
    search = _search().set_callbacks(rec).fit(*data)
    assert rec.log[0] == ("setup", "SubsetSearchCV", "fit")
    assert rec.log[1] == ("begin", "SubsetSearchCV", "fit")
    assert rec.log[-2] == ("end", "SubsetSearchCV", "fit")
    assert rec.log[-1] == ("teardown", "SubsetSearchCV", "fit")
    for task, n in [
        ("select-subsets", 1),
        ("search", 1),
        ("candidate-split-evaluation", 4 * 2),
        ("refit-with-best-params", 1),
    ]:
        assert rec.count("begin", task) == rec.count("end", task) == n, task
    # Fitted as usual, and the callbacks are not part of the fitted state.
    assert len(search.cv_results_["params"]) == 4
    assert not hasattr(search, "_callback_fit_ctx")


def test_rungs_and_rescoring_are_evaluations_too(data):
    rec = Recorder()
    search = _search(subset_size=(0.2, 0.5), rescore=2, n_iter=6)
    search.set_callbacks(rec).fit(*data)
    fits = search.compute_report_["fits"]
    assert rec.count("begin", "candidate-split-evaluation") == fits
    assert rec.count("end", "candidate-split-evaluation") == fits


def test_no_refit_no_refit_task(data):
    rec = Recorder()
    _search(refit=False).set_callbacks(rec).fit(*data)
    assert rec.count("begin", "refit-with-best-params") == 0


def test_propagated_callbacks_reach_the_estimators_inside(data):
    # Each trial's fit and the refit are fits of LogisticRegression, which
    # takes callbacks in scikit-learn 1.9: a propagated callback sees them.
    rec = PropagatedRecorder()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "does not support callbacks"
        _search().set_callbacks(rec).fit(*data)
    inner = rec.count("begin", "fit", estimator="LogisticRegression")
    assert inner == 4 * 2 + 1
    # Through the trials' subset wrapper, whose own task comes first.
    assert rec.count("begin", "fit", estimator="_PresetSubsetEstimator") == 4 * 2


def test_subset_estimator_hooks_inside_gridsearchcv(data):
    rec = PropagatedRecorder()
    grid = GridSearchCV(
        SubsetEstimator(LogisticRegression(), subset_size=0.5, random_state=0),
        {"estimator__C": [0.1, 1.0]},
        cv=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grid.set_callbacks(rec).fit(*data)
    # 2 candidates x 2 splits, and the refit. (The task fitting the
    # estimator on the subset merges with that estimator's own "fit" task,
    # as scikit-learn merges a meta-estimator's leaf with its sub-estimator.)
    assert rec.count("begin", "select-subset", estimator="SubsetEstimator") == 5
    assert rec.count("end", "select-subset", estimator="SubsetEstimator") == 5
    assert rec.count("begin", "fit", estimator="LogisticRegression") == 5


def test_subset_estimator_alone(data):
    rec = Recorder()
    model = SubsetEstimator(LogisticRegression(), subset_size=0.5, random_state=0)
    model.set_callbacks(rec).fit(*data, sample_weight=np.ones(240))
    assert [entry[2] for entry in rec.log] == [
        "fit",
        "fit",
        "select-subset",
        "select-subset",
        "fit-on-subset",
        "fit-on-subset",
        "fit",
        "fit",
    ]


def test_teardown_runs_when_the_search_fails(data):
    rec = Recorder()
    X, y = data
    with pytest.raises(ValueError):
        _search().set_callbacks(rec).fit(X, np.zeros_like(y))  # one class
    # Either the failure came before the fit's context (nothing to tear
    # down) or the context was torn down.
    assert rec.count("setup", "fit") == rec.count("teardown", "fit")


def test_progress_bar_and_time_limited_fits(data):
    # Fits in killable worker processes (trial_timeout) take the callbacks
    # along, as joblib's processes do for GridSearchCV.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        search = _search(n_iter=2, trial_timeout=60).set_callbacks(
            callback.ProgressBar()
        )
        search.fit(*data)
    assert len(search.cv_results_["params"]) == 2


def test_set_callbacks_survives_clone_and_refuses_non_callbacks(data):
    from sklearn.base import clone

    rec = Recorder()
    search = clone(_search().set_callbacks(rec))
    search.fit(*data)
    assert rec.count("begin", "search") == 1
    with pytest.raises(TypeError, match="FitCallback"):
        _search().set_callbacks(object())
