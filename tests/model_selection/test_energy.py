"""SubsetSearchCV(carbon=...): energy and CO2 in the compute report (issue 14)."""

import builtins

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

from subsetml.model_selection import SubsetSearchCV


class FakeTracker:
    """A codecarbon-like tracker that reports fixed figures."""

    instances = []

    def __init__(self):
        self.started = self.stopped = False
        self.final_emissions_data = None
        FakeTracker.instances.append(self)

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True
        self.final_emissions_data = type("Data", (), {"energy_consumed": 0.002})()
        return 0.0005


@pytest.fixture(scope="module")
def data():
    return make_classification(n_samples=300, n_features=8, random_state=0)


def _search(**kwargs):
    return SubsetSearchCV(
        LogisticRegression(), {"C": (0.01, 10.0, "log-uniform")}, n_iter=3,
        subset_size=0.2, cv=2, random_state=0, **kwargs,
    )  # fmt: skip


def test_a_tracker_measures_the_whole_fit_and_the_report_scales_it(data):
    FakeTracker.instances = []
    search = _search(carbon=FakeTracker).fit(*data)
    (tracker,) = FakeTracker.instances
    assert tracker.started and tracker.stopped
    report = search.compute_report_
    assert report["energy_kwh"] == 0.002 and report["co2_kg"] == 0.0005
    spent = report["search_s"] + report["refit_s"]
    scale = (report["full_search_estimate_s"] + report["refit_s"]) / spent
    assert report["full_search_energy_estimate_kwh"] == pytest.approx(0.002 * scale)
    assert report["full_search_co2_estimate_kg"] == pytest.approx(0.0005 * scale)
    assert "codecarbon" in report["energy_basis"]


def test_without_carbon_nothing_is_measured(data):
    report = _search().fit(*data).compute_report_
    assert "energy_kwh" not in report


def test_the_tracker_stops_when_the_fit_fails(data):
    FakeTracker.instances = []
    X, y = data
    with pytest.raises(ValueError):
        _search(carbon=FakeTracker).fit(X, np.full_like(y, np.nan, dtype=float))
    assert all(t.stopped for t in FakeTracker.instances)


@pytest.mark.parametrize("carbon", ["France", "FR", 3, ["FRA"]])
def test_bad_carbon_values_are_refused(data, carbon):
    with pytest.raises(ValueError, match="three-letter ISO country code"):
        _search(carbon=carbon).fit(*data)


def test_a_country_code_without_codecarbon_says_how_to_install(data, monkeypatch):
    real_import = builtins.__import__

    def no_codecarbon(name, *args, **kwargs):
        if name == "codecarbon":
            raise ImportError("No module named 'codecarbon'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_codecarbon)
    with pytest.raises(ImportError, match=r"pip install 'subsetml\[energy\]'"):
        _search(carbon="FRA").fit(*data)


def test_codecarbon_offline_tracker(data, tmp_path, monkeypatch):
    pytest.importorskip("codecarbon")
    monkeypatch.chdir(tmp_path)
    search = _search(carbon="FRA").fit(*data)
    assert list(tmp_path.iterdir()) == []  # no emissions.csv left behind
    report = search.compute_report_
    assert report["energy_kwh"] is not None and report["energy_kwh"] > 0
    assert report["co2_kg"] is not None and report["co2_kg"] > 0


class _BrokenStop(FakeTracker):
    def stop(self):
        raise OSError("no RAPL counters")


def test_a_tracker_that_fails_to_stop_costs_the_figures_not_the_fit(data):
    with pytest.warns(RuntimeWarning, match="failed to stop.*no RAPL"):
        search = _search(carbon=_BrokenStop).fit(*data)
    report = search.compute_report_
    assert report["energy_kwh"] is None and report["co2_kg"] is None
    assert hasattr(search, "best_estimator_")


class _FailsOnAllRows(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        if len(X) > 200:
            raise RuntimeError("refit failed")
        return super().fit(X, y, sample_weight=sample_weight)


def test_a_failing_fit_is_not_hidden_by_a_tracker_that_fails_to_stop(data):
    search = SubsetSearchCV(
        _FailsOnAllRows(), {"C": (0.01, 10.0, "log-uniform")}, n_iter=2,
        subset_size=0.2, cv=2, random_state=0, carbon=_BrokenStop,
    )  # fmt: skip
    with pytest.warns(RuntimeWarning, match="failed to stop"):
        with pytest.raises(RuntimeError, match="refit failed"):
            search.fit(*data)
