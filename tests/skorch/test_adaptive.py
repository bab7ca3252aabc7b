"""Adaptive subset training of skorch nets (SubsetNeuralNetClassifier/Regressor)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from subsetml.skorch import SubsetNeuralNetClassifier, SubsetNeuralNetRegressor


class Recorder(torch.nn.Module):
    """An MLP whose first input column is the row id; records training rows."""

    seen = []

    def __init__(self, n_in=5, hidden=8, n_out=3):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU())
        self.head = torch.nn.Linear(hidden, n_out)

    def forward(self, X):
        if self.training:
            Recorder.seen.append(X[:, 0].detach().cpu().numpy().astype(int))
        return self.head(self.body(X[:, 1:]))


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    n = 200
    X = np.column_stack([np.arange(n), rng.randn(n, 5)]).astype(np.float32)
    y = (np.arange(n) % 3).astype(np.int64)
    return X, y


def _net(**kw):
    params = dict(
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=20,
        batch_size=32,
        train_split=None,
        verbose=0,
        selector="craig",
        subset_size=0.2,
        select_every=3,
        warm_up=0.5,
        random_state=0,
        iterator_train__shuffle=True,
    )
    params.update(kw)
    return SubsetNeuralNetClassifier(Recorder, **params)


def _epoch_rows(net):
    return [sum(b["train_batch_size"] for b in row["batches"]) for row in net.history]


def test_schedule_warm_up_then_subsets(data):
    X, y = data
    net = _net().fit(X, y)
    # T=20, f=0.2, kappa=0.5: round(0.5*20*0.2)=2 warm epochs, round(0.5*20)=10
    # subset epochs -- about T*f = 4 full epochs of work.
    phases = net.history[:, "subset_phase"]
    assert phases == ["warm"] * 2 + ["subset"] * 10
    assert _epoch_rows(net) == [200] * 2 + [40] * 10
    assert net.history[:, "subset_rows"] == [200] * 2 + [40] * 10


@pytest.mark.parametrize(
    "max_epochs, rows, n_warm, n_subset",
    [
        # T=27, f=0.025: the warm-up, 0.5*27*0.025 = 0.34 epochs, rounds to
        # none; the subset epochs do the whole budget (27, not 14).
        (27, 5, 0, 27),
        # T=20, f=0.12: 1.2 warm epochs round to 1; 12 subset epochs (not 10)
        # bring the work to 1 + 12 * 0.12 = 2.44, about T * f = 2.4.
        (20, 24, 1, 12),
        # A warm-up rounded up keeps round((1 - kappa) * T) subset epochs.
        (27, 10, 1, 14),
    ],
)
def test_subset_epochs_make_up_a_warm_up_rounded_down(
    data, max_epochs, rows, n_warm, n_subset
):
    X, y = data
    net = _net(selector="random", max_epochs=max_epochs, subset_size=rows)
    net.fit(X, y)
    phases = net.history[:, "subset_phase"]
    assert phases == ["warm"] * n_warm + ["subset"] * n_subset
    assert net.history[:, "subset_rows"] == [200] * n_warm + [rows] * n_subset


def test_reselection_counted_from_the_end_of_warm_up(data):
    X, y = data
    net = _net(select_every=3).fit(X, y)
    selected = [i for i, row in enumerate(net.history) if row["subset_selected"]]
    # warm-up ends after epoch index 1; selections at subset epochs 0, 3, 6, 9
    assert selected == [2, 5, 8, 11]
    assert net.n_selections_ == 4
    assert net.selection_time_ == pytest.approx(
        sum(net.history[i, "subset_selection_time"] for i in selected)
    )
    times = net.history[:, "subset_selection_time"]  # every epoch has one
    assert all(t == 0.0 for i, t in enumerate(times) if i not in selected)


def test_verbose_log_keeps_its_columns(data, capsys):
    # Issue 15: subset_selection_time, recorded on selecting epochs only,
    # shifted skorch's printed table under the wrong headers.
    X, y = data
    _net(select_every=3, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0], [line for line in lines[2:] if line.strip()]
    start = header.index("subset_selection_time")
    stop = start + len("subset_selection_time")
    # Every row has a number right under the header (skorch right-aligns).
    for row in rows:
        float(row[start:stop])


def test_only_subset_rows_are_trained_on(data):
    X, y = data
    Recorder.seen = []
    net = _net(select_every=100).fit(X, y)  # one selection, kept to the end
    per_epoch = np.split(
        np.concatenate(Recorder.seen), np.cumsum(_epoch_rows(net))[:-1]
    )
    assert all(len(np.unique(rows)) == 200 for rows in per_epoch[:2])
    chosen = set(net.subset_.indices.tolist())
    for rows in per_epoch[2:]:
        assert len(rows) == 40 and set(rows.tolist()) == chosen


def test_adaptive_random_redraws(data):
    X, y = data
    Recorder.seen = []
    net = _net(selector="random", warm_up=0.0, select_every=1, max_epochs=6).fit(X, y)
    assert net.history[:, "subset_phase"] == ["subset"] * 6
    per_epoch = np.split(
        np.concatenate(Recorder.seen), np.cumsum(_epoch_rows(net))[:-1]
    )
    sets = {frozenset(r.tolist()) for r in per_epoch}
    assert len(sets) == 6  # a new random subset every epoch
    for rows in per_epoch:
        assert len(rows) == 40 and np.isin(rows, np.arange(200)).all()


def test_weights_scale_the_per_sample_loss(data):
    X, y = data
    net = _net(max_epochs=2).fit(X, y)
    y_pred = torch.randn(4, 3)
    y_true = torch.tensor([0, 1, 2, 0])
    net._subset_weights_ = np.zeros(200)
    net._subset_weights_[[5, 6, 7, 8]] = [1.0, 2.0, 3.0, 0.5]
    net._batch_rows_ = np.array([5, 6, 7, 8])
    got = net.get_loss(y_pred, y_true, training=True)
    per_row = torch.nn.functional.cross_entropy(y_pred, y_true, reduction="none")
    w = torch.tensor([1.0, 2.0, 3.0, 0.5])
    assert float(got) == pytest.approx(float((per_row * w).sum() / w.sum()))
    assert net.criterion_.reduction == "mean"  # restored
    # validation losses are never weighted
    plain = net.get_loss(y_pred, y_true, training=False)
    assert float(plain) == pytest.approx(float(per_row.mean()))


def test_selected_weights_reach_training(data):
    X, y = data
    net = _net(selector="gradmatch", select_every=100).fit(X, y)
    w = net.subset_.weights
    expected = np.zeros(200)
    expected[net.subset_.indices] = w / w.mean()
    np.testing.assert_allclose(net._subset_weights_, expected)


def test_validation_split_and_glister(data):
    X, y = data
    net = _net(selector="glister", train_split=0.2, select_every=5)
    net.set_params(train_split=__import__("skorch").dataset.ValidSplit(5))
    net.fit(X, y)
    assert net.history[-1, "subset_rows"] == 32  # 20 % of 160 training rows
    assert "valid_loss" in net.history[-1]


def test_regressor(data):
    X, _ = data
    y = X[:, 1:2] * 2.0
    net = SubsetNeuralNetRegressor(
        Recorder,
        module__n_out=1,
        max_epochs=10,
        train_split=None,
        subset_size=50,
        select_every=2,
        random_state=0,
        verbose=0,
    ).fit(X, y)
    assert net.history[-1, "subset_rows"] == 50
    assert net.predict(X).shape == (200, 1)


def test_same_seed_same_training(data):
    X, y = data
    torch.manual_seed(0)
    a = _net(max_epochs=6).fit(X, y)
    torch.manual_seed(0)
    b = _net(max_epochs=6).fit(X, y)
    np.testing.assert_array_equal(a.subset_.indices, b.subset_.indices)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))


def test_clone_and_pickle(data):
    X, y = data
    net = _net(max_epochs=6, selector="gradmatch")
    params = clone(net).get_params()
    assert params["selector"] == "gradmatch" and params["select_every"] == 3
    net.fit(X, y)
    again = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(again.predict_proba(X), net.predict_proba(X))
    assert again.n_selections_ == net.n_selections_
    again.fit(X, y)  # refits after unpickling


@pytest.mark.parametrize(
    "params, match",
    [
        ({"select_every": 0}, "select_every"),
        ({"select_every": 1.5}, "select_every"),
        ({"warm_up": 1.0}, "warm_up"),
        ({"warm_up": -0.1}, "warm_up"),
        ({"subset_size": 0}, "subset_size"),
        ({"subset_size": 1.5}, "subset_size"),
        ({"subset_size": "half"}, "subset_size"),
        ({"selector": "kmeans"}, "kmeans"),
        ({"selection_unit": "rows"}, "selection_unit"),
        ({"selection_pool": 0}, "selection_pool"),
        ({"selection_pool": 1.5}, "selection_pool"),
        ({"selection_pool": "half"}, "selection_pool"),
        ({"selection_pool": "AUTO"}, "selection_pool"),
        ({"selection_pool": float("nan")}, "selection_pool"),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        _net(max_epochs=2, **params).fit(X, y)


def _record_selection_batch_sizes(monkeypatch):
    from subsetml.selection import CraigSelector

    seen = []
    original = CraigSelector.select

    def select(self, view, budget, **kwargs):
        seen.append((self.batch_size, budget))
        return original(self, view, budget, **kwargs)

    monkeypatch.setattr(CraigSelector, "select", select)
    return seen


@pytest.mark.parametrize(
    "params, expected",
    [
        # Budget 40 rows: the training batch (32) is capped at 40 // 16 = 2.
        ({}, 2),
        ({"subset_size": 0.5, "batch_size": 4}, 4),  # 100 // 16 = 6 >= 4
        ({"selection_unit": "row"}, None),
        # The selector's own batch_size wins.
        ({"selector": "craig-instance-3"}, 3),
        ({"selector": "craig-instance-3", "selection_unit": "row"}, 3),
    ],
)
def test_selection_unit(data, monkeypatch, params, expected):
    from subsetml.selection import CraigSelector

    seen = _record_selection_batch_sizes(monkeypatch)
    X, y = data
    if params.get("selector") == "craig-instance-3":
        params = dict(params, selector=CraigSelector(batch_size=3))
    net = _net(**params).fit(X, y)
    assert net.n_selections_ >= 2
    # The first selection after warm-up reads the net's last layer.
    assert seen and all(b == expected for b, _ in seen)
    if expected is not None:
        # Whole units are chosen, then the last one is cut to the budget.
        assert all(k == net.history[-1, "subset_rows"] for _, k in seen)


def test_sampler_option_is_refused(data):
    X, y = data
    net = _net(iterator_train__sampler=torch.utils.data.SequentialSampler(X))
    with pytest.raises(ValueError, match="iterator_train__sampler"):
        net.fit(X, y)


def test_module_without_linear_layer(data):
    class NoLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 3, 6)

        def forward(self, X):
            return self.conv(X[:, None, :])[:, :, 0]

    X, y = data
    net = SubsetNeuralNetClassifier(
        NoLinear,
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=4,
        train_split=None,
        verbose=0,
        selector="craig",
    )
    with pytest.raises(ValueError, match="no torch.nn.Linear layer.*CraigSelector"):
        net.fit(X, y)


def _plain_net(**kw):
    from skorch import NeuralNetClassifier

    params = dict(
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=6,
        batch_size=32,
        train_split=None,
        verbose=0,
        lr=0.1,
    )
    params.update(kw)
    return NeuralNetClassifier(Recorder, **params)


def test_subset_estimator_trains_a_skorch_net_adaptively(data):
    from subsetml.model_selection import SubsetEstimator

    X, y = data
    model = SubsetEstimator(
        _plain_net(max_epochs=20), selector="craig", subset_size=0.2, random_state=0
    ).fit(X, y)
    assert isinstance(model.estimator_, SubsetNeuralNetClassifier)
    assert model.estimator_.history[:, "subset_rows"] == [200] * 2 + [40] * 10
    assert model.subset_.size == 40 and model.selection_time_ > 0
    assert model.predict(X).shape == (200,)
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        SubsetEstimator(_plain_net(), subset_size=0.2).fit(
            X, y, sample_weight=np.ones(200)
        )


def test_a_net_at_the_end_of_a_pipeline_still_trains_adaptively(data):
    # Issue 15: a skorch net as a Pipeline's last step used to be fitted once
    # on a plain subset, silently without adaptive training.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from subsetml.model_selection import SubsetEstimator, SubsetSearchCV

    X, y = data
    to32 = FunctionTransformer(lambda a: np.asarray(a, dtype=np.float32))
    pipe = make_pipeline(StandardScaler(), to32, _plain_net(max_epochs=20))
    model = SubsetEstimator(
        pipe, selector="craig", subset_size=0.2, random_state=0
    ).fit(X, y)
    net = model.estimator_[-1]
    assert isinstance(net, SubsetNeuralNetClassifier)
    assert net.history[:, "subset_rows"] == [200] * 2 + [40] * 10
    assert model.subset_ is net.subset_ and model.selection_time_ > 0
    assert model.predict(X).shape == (200,)
    search = SubsetSearchCV(
        pipe, {"neuralnetclassifier__lr": (0.01, 0.5, "log-uniform")}, n_iter=2,
        selector="gradmatch", subset_size=0.25, cv=2, random_state=0,
    ).fit(X, y)  # fmt: skip
    sel = np.asarray(search.cv_results_["selection_time"], dtype=float)
    assert (sel > 0).all()  # every trial selected while it trained
    assert type(search.best_estimator_[-1]).__name__ == "NeuralNetClassifier"


def test_a_resumed_net_search_reports_its_own_trials_selection(data, tmp_path):
    # A net selects inside its fits: the compute report's selection is this
    # fit's trials', as its fits are, not the stored trials' too (a review).
    from subsetml.model_selection import SubsetSearchCV

    X, y = data

    def search(n_iter):
        return SubsetSearchCV(
            _plain_net(), {"lr": (0.01, 0.5, "log-uniform")}, n_iter=n_iter,
            selector="gradmatch", subset_size=0.25, cv=2, random_state=0,
            storage=f"sqlite:///{tmp_path / 'nets.db'}",
        ).fit(X, y)  # fmt: skip

    search(2)
    resumed = search(4)
    report = resumed.compute_report_
    assert report["n_trials"] == 2 and report["n_trials_stored"] == 2
    sel = np.asarray(resumed.cv_results_["selection_time"], dtype=float)
    assert report["selection_s"] == pytest.approx(2 * sel[2:].sum())
    assert report["selection_s"] < 2 * sel.sum()


def test_subset_estimator_refuses_an_unknown_net_class(data):
    from skorch import NeuralNetClassifier

    from subsetml.model_selection import SubsetEstimator

    class MyNet(NeuralNetClassifier):
        pass

    X, y = data
    net = MyNet(Recorder, criterion=torch.nn.CrossEntropyLoss, train_split=None)
    with pytest.raises(TypeError, match="SubsetTrainingMixin"):
        SubsetEstimator(net, subset_size=0.2).fit(X, y)


def test_subset_search_tunes_a_skorch_net(data):
    from skorch import NeuralNetClassifier

    from subsetml.model_selection import SubsetSearchCV

    X, y = data
    search = SubsetSearchCV(
        _plain_net(),
        {
            "lr": (0.01, 0.5, "log-uniform"),
            "max_epochs": [4, 8],
            "module__hidden": [4, 8],  # routed by skorch, not in get_params
        },
        n_iter=3,
        selector="gradmatch",
        subset_size=0.25,
        cv=2,
        random_state=0,
        rescore=0,
    )
    Recorder.seen = []
    search.fit(X, y)
    res = search.cv_results_
    assert len(res["params"]) == 3 and np.isfinite(res["mean_test_score"]).all()
    assert res["subset_size"][0] == 25  # 25 % of a 100-row training fold
    # each trial selected while training: its selection time, in its fit time
    sel = np.asarray(res["selection_time"], dtype=float)
    assert (sel > 0).all() and (sel < res["mean_fit_time"]).all()
    assert search.selection_time_ == pytest.approx(2 * sel.sum())
    # The refit is the plain net, trained on every row in every epoch.
    best = search.best_estimator_
    assert type(best) is NeuralNetClassifier
    epochs = best.max_epochs
    last = np.concatenate(Recorder.seen[-epochs * 7 :])
    assert len(last) == 200 * epochs


def test_subset_search_rescores_the_best_nets_on_full_folds(data):
    from subsetml.model_selection import SubsetSearchCV

    X, y = data
    search = SubsetSearchCV(
        _plain_net(max_epochs=2),
        {"lr": (0.01, 0.5, "log-uniform")},
        n_iter=5,
        subset_size=0.25,
        cv=2,
        random_state=0,
        # These 2-epoch nets score near chance: the check may pass over a
        # re-scored best no better than a constant (tested in
        # test_refit_check), which is not what this test is about.
        refit_check=False,
    ).fit(X, y)
    res = search.cv_results_
    # rescore="auto": the 3 best subset trials of a net are trained and
    # scored again on full folds, and the best is chosen among them.
    rescored = np.flatnonzero(res["rung"] == 1)
    assert len(rescored) == 3
    assert set(res["subset_size"][rescored]) == {100}
    assert search.best_index_ in rescored
    assert res["rank_test_score"][search.best_index_] == 1
    # The three rank first to third (ties share a rank: the nets' torch
    # initialisation follows the global seed, which earlier tests move).
    ranks = sorted(res["rank_test_score"][rescored])
    assert ranks[0] == 1 and ranks[-1] <= 3
    assert search.compute_report_["rescore_s"] > 0


@pytest.mark.parametrize(
    "lr, epochs, size, diverges",
    [(0.1, 8, 0.25, False), (1e3, 8, 0.25, True), (1e3, 1, 0.25, False)]
    + [(1e3, 8, 1.0, False)],  # a full-data search: its scores show it
)
def test_subset_search_warns_when_the_refit_net_diverges(
    data, lr, epochs, size, diverges
):
    import warnings

    from subsetml.model_selection import SubsetSearchCV

    X, y = data
    search = SubsetSearchCV(
        _plain_net(max_epochs=epochs),
        {"lr": [lr], "optimizer__momentum": [0.9]},
        n_iter=1,
        subset_size=size,
        cv=2,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    ours = [w for w in caught if "refit net's training loss" in str(w.message)]
    assert len(ours) == int(diverges)
    if diverges:
        losses = search.best_estimator_.history[:, "train_loss"]
        assert not losses[-1] < losses[0]
        assert "optimiser steps" in str(ours[0].message)


def test_subset_search_rejects_unknown_net_parameters(data):
    from subsetml.model_selection import SubsetSearchCV

    X, y = data
    search = SubsetSearchCV(_plain_net(), {"lrr": (0.01, 0.5)}, n_iter=2)
    with pytest.raises(ValueError, match="lrr"):
        search.fit(X, y)


@pytest.mark.parametrize("where", ["X", "y"])
def test_non_finite_inputs_are_refused(data, where):
    X, y = data
    X = X.copy()
    if where == "X":
        X[3, 2] = np.nan
        with pytest.raises(ValueError, match="X contains NaN"):
            _net(max_epochs=2).fit(X, y)
    else:
        target = X[:, 1:2].copy()
        target[5] = np.inf
        net = SubsetNeuralNetRegressor(
            Recorder, module__n_out=1, max_epochs=2, train_split=None, verbose=0
        )
        with pytest.raises(ValueError, match="y contains NaN"):
            net.fit(torch.as_tensor(X), target)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("selector", ["craig", "gradmatch", "glister"])
def test_cuda_adaptive_training(data, selector):
    X, y = data
    net = _net(device="cuda", selector=selector, select_every=2).fit(X, y)
    assert next(net.module_.parameters()).is_cuda
    assert net.n_selections_ >= 2 and net.subset_.size == 40
    assert net.predict(X).shape == (200,)


def test_device_none_selects(data):
    """Found in review: device=None (skorch places nothing) crashed the pass."""
    X, y = data
    net = _net(device=None, max_epochs=6).fit(X, y)
    assert net.n_selections_ >= 1


@pytest.mark.parametrize("split", [None, 0.25])
def test_selection_pool_passes_only_the_pool(data, monkeypatch, split):
    from skorch.dataset import ValidSplit

    import subsetml.skorch._adaptive as adaptive

    passes = []
    original = adaptive.lastlayer_from_net

    def spy(net, X, y, **kw):
        view = original(net, X, y, **kw)
        passes.append((X, np.asarray(y), view))
        return view

    monkeypatch.setattr(adaptive, "lastlayer_from_net", spy)
    X, y = data
    train_split = None if split is None else ValidSplit(4, stratified=True)
    net = _net(selection_pool=0.3, train_split=train_split).fit(X, y)
    n = 200 if split is None else 150
    k = net.history[-1, "subset_rows"]
    assert net.n_selections_ >= 2 and passes
    for dataset, y_pool, view in passes:
        # A stratified pool of max(0.3 n, 2 k) rows, one Subset deep over the
        # data, so the fast pass over plain arrays still applies.
        rows = np.asarray(dataset.indices)
        assert len(rows) == len(y_pool) == view.features.shape[0]
        assert len(rows) == max(int(np.ceil(0.3 * n)), 2 * k)
        assert not isinstance(dataset.dataset, torch.utils.data.Subset)
        assert np.array_equal(y[rows], y_pool)
        assert np.abs(np.bincount(y_pool) - len(rows) / 3).max() <= 1
    # the pools differ between selections, and the subset lies in the last one
    pools = [set(np.asarray(d.indices).tolist()) for d, _, _ in passes]
    assert len({frozenset(p) for p in pools}) == len(pools)
    chosen = net.subset_.indices
    if split is None:
        assert set(chosen.tolist()) <= pools[-1]
    assert len(chosen) == k


@pytest.fixture
def pass_sizes(monkeypatch):
    """The number of rows of every last-layer pass a selection makes."""
    import subsetml.skorch._adaptive as adaptive

    sizes = []
    original = adaptive.lastlayer_from_net

    def spy(net, X, y, **kw):
        sizes.append(len(y))
        return original(net, X, y, **kw)

    monkeypatch.setattr(adaptive, "lastlayer_from_net", spy)
    return sizes


def test_selection_pool_of_one_or_too_small_for_the_budget(data, pass_sizes):
    sizes = pass_sizes
    X, y = data
    _net(selection_pool=1.0).fit(X, y)
    # a pool of 0.05 n is raised to 2 k = 80 rows; 0.5 n of a half budget
    # would be all rows: no pool then
    _net(selection_pool=0.05).fit(X, y)
    _net(selection_pool=0.5, subset_size=0.5).fit(X, y)
    assert set(sizes) == {200, 80}
    assert sizes.count(80) == sizes.count(200) // 2


def test_selection_pool_is_reproducible_and_clone_safe(data):
    X, y = data
    torch.manual_seed(0)
    a = _net(selection_pool=0.4).fit(X, y)
    torch.manual_seed(0)
    b = clone(a).fit(X, y)
    assert b.get_params()["selection_pool"] == 0.4
    assert np.array_equal(a.subset_.indices, b.subset_.indices)
    assert np.array_equal(a.subset_.weights, b.subset_.weights)


def test_selection_pool_size_is_not_rounded_up_by_float_error():
    net = _net(selection_pool=0.07)
    net._subset_rng_ = np.random.RandomState(0)
    y = np.arange(100) % 2
    rows = net._selection_pool_rows(y, 1, True)
    assert len(rows) == 7 and len(np.unique(rows)) == 7
    assert np.array_equal(rows, np.sort(rows))
    # regression targets: a plain random draw of the same size
    assert len(net._selection_pool_rows(np.linspace(0, 1, 100), 1, False)) == 7


def test_selection_pool_auto_is_ten_budgets(data, pass_sizes):
    sizes = pass_sizes
    X, y = data
    # the default: 5 % of 200 rows is k = 10, so pools of 100 rows; from a
    # tenth of the rows on, every row
    net = _net(subset_size=0.05)
    assert net.selection_pool == "auto"
    net.fit(X, y)
    assert sizes and set(sizes) == {100}
    sizes.clear()
    _net(subset_size=0.1).fit(X, y)
    _net(subset_size=0.05, selection_pool=None).fit(X, y)
    assert sizes and set(sizes) == {200}


@pytest.mark.parametrize("subset_size", [1.0, 0.25])
def test_subset_search_uses_epochs_as_the_resource(data, subset_size):
    from subsetml.model_selection import SubsetSearchCV

    X, y = data
    search = SubsetSearchCV(
        _plain_net(),
        {"lr": (0.01, 0.5, "log-uniform")},
        n_iter=6,
        selector="random",
        subset_size=subset_size,
        cv=2,
        random_state=0,
        resource="max_epochs",
        resource_rungs=(1, 3),
        rescore=0,
        # Near-chance nets: the check may pass over a last-rung best no
        # better than a constant for a trial of the rung below (tested in
        # test_refit_check); this test is about the epochs.
        refit_check=False,
    ).fit(X, y)
    res = search.cv_results_
    rung = np.asarray(res["rung"])
    np.testing.assert_array_equal(res["param_max_epochs"], np.array([1, 3])[rung])
    assert rung[search.best_index_] == 1
    # The refit trains for the epochs the best trial was scored at.
    assert search.best_params_["max_epochs"] == 3
    assert len(search.best_estimator_.history) == 3


def test_epoch_rungs_train_the_nets_of_the_rung_below_further(data, monkeypatch):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from subsetml.model_selection import SubsetSearchCV
    from subsetml.skorch._adapter import SkorchAdapter

    calls = []
    original = SkorchAdapter.train_more

    def spy(self, net, X, y, epochs, **fit_params):
        calls.append((len(net.history), epochs, len(X)))
        return original(self, net, X, y, epochs, **fit_params)

    monkeypatch.setattr(SkorchAdapter, "train_more", spy)
    X, y = data
    search = SubsetSearchCV(
        _plain_net(),
        {"lr": (0.01, 0.5, "log-uniform")},
        n_iter=4,
        cv=2,
        subset_size=1.0,
        random_state=0,
        resource="max_epochs",
        resource_rungs=(1, 3, 7),
        pruner=None,
    ).fit(X, y)
    # Every trial and split: 1 epoch, then 2 more, then 4 more, on the fold.
    assert sorted(calls) == [(1, 2, 100)] * 8 + [(3, 4, 100)] * 8
    res = search.cv_results_
    assert list(res["param_max_epochs"]) == [7] * 4
    # The trial's time is that of all its rungs, and so is a full fit's cost
    # in the compute report (a trial's rungs together are one 7-epoch fit).
    report = search.compute_report_
    assert report["trial_fit_s"] == pytest.approx(2 * np.sum(res["mean_fit_time"]))
    assert report["full_search_estimate_basis"].startswith("mean")
    per_fit = np.mean(np.asarray(res["mean_fit_time"]) + res["mean_score_time"])
    assert report["full_search_estimate_s"] == pytest.approx(per_fit * 4 * 2)
    assert len(search.best_estimator_.history) == 7

    # A net at the end of a Pipeline goes on too (earlier steps as fitted).
    calls.clear()
    pipe = make_pipeline(
        FunctionTransformer(lambda a: np.asarray(a, dtype=np.float32)), _plain_net()
    )
    SubsetSearchCV(
        pipe,
        {"neuralnetclassifier__lr": (0.01, 0.5, "log-uniform")},
        n_iter=2,
        cv=2,
        subset_size=1.0,
        random_state=0,
        resource="neuralnetclassifier__max_epochs",
        resource_rungs=(1, 2),
        pruner=None,
    ).fit(X, y)
    assert sorted(calls) == [(1, 1, 100)] * 4


@pytest.mark.parametrize(
    "callback, continued",
    [
        ("lr", False),
        ("early", False),
        ("scoring", True),
        ("none", True),
    ],
)
def test_epoch_rungs_fit_afresh_a_net_whose_callbacks_start_over(
    data, monkeypatch, callback, continued
):
    # A review: partial_fit rebuilt an LRScheduler (its rate dropped again at
    # each rung) and reset EarlyStopping's patience, so the net scored at the
    # top rung was not the net best_params_ refits. Such nets now fit
    # afresh at every rung; scoring callbacks continue through.
    from skorch.callbacks import EarlyStopping, EpochScoring, LRScheduler

    from subsetml.model_selection import SubsetSearchCV
    from subsetml.skorch._adapter import SkorchAdapter

    calls = []
    original = SkorchAdapter.train_more

    def spy(self, net, X, y, epochs, **fit_params):
        calls.append(epochs)
        return original(self, net, X, y, epochs, **fit_params)

    monkeypatch.setattr(SkorchAdapter, "train_more", spy)
    callbacks = {
        "lr": [("lr", LRScheduler("StepLR", step_size=1, gamma=0.5))],
        "early": [EarlyStopping(monitor="train_loss", patience=1)],
        "scoring": [EpochScoring("accuracy", on_train=True)],
        "none": None,
    }[callback]
    X, y = data
    net = _plain_net().set_params(callbacks=callbacks)
    search = SubsetSearchCV(
        net, {"lr": (0.01, 0.5, "log-uniform")}, n_iter=2, cv=2,
        subset_size=1.0, random_state=0, resource="max_epochs",
        resource_rungs=(1, 3), pruner=None,
    ).fit(X, y)  # fmt: skip
    assert bool(calls) is continued
    if callback == "lr":
        # The refit's schedule is the one each trial was scored with.
        rates = [row["event_lr"] for row in search.best_estimator_.history]
        assert rates == pytest.approx(
            [search.best_params_["lr"] * 0.5**i for i in range(3)]
        )


def test_epoch_rungs_score_with_a_decision_function_first_scorer(data):
    # Binary roc_auc asks for decision_function first; a skorch net has only
    # predict_proba, and so must the net continued at a higher rung.
    from subsetml.model_selection import SubsetSearchCV

    X, y = data
    y = (y > 0).astype(np.int64)
    search = SubsetSearchCV(
        _plain_net(module__n_out=2),
        {"lr": (0.01, 0.5, "log-uniform")},
        n_iter=3,
        cv=2,
        subset_size=1.0,
        random_state=0,
        scoring="roc_auc",
        resource="max_epochs",
        resource_rungs=(1, 2),
        pruner=None,
    ).fit(X, y)
    scores = np.asarray(search.cv_results_["mean_test_score"])
    assert np.isfinite(scores).all() and list(search.cv_results_["rung"]) == [1] * 3


def test_a_net_search_checks_its_refit_by_default(monkeypatch):
    # refit_check="auto" is on for nets: the refit is scored on training rows
    # beside a constant prediction (and kept, as it did not collapse).
    from sklearn.datasets import make_classification

    from subsetml.model_selection import SubsetSearchCV, _refit

    verdicts = []
    real = _refit.RefitCheck.verdict

    def spy(self, estimator, cv_score):
        verdicts.append(real(self, estimator, cv_score))
        return verdicts[-1]

    monkeypatch.setattr(_refit.RefitCheck, "verdict", spy)
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    X = np.column_stack([np.arange(len(y)), X]).astype(np.float32)
    search = SubsetSearchCV(
        _plain_net(max_epochs=15, module__n_in=6),
        {"lr": (0.05, 0.2, "log-uniform")},
        n_iter=2,
        cv=2,
        subset_size=0.5,
        rescore=0,
        random_state=0,
    ).fit(X, y)
    (verdict,) = verdicts
    assert verdict is not None, "the net learned nothing: nothing was judged"
    assert not verdict["collapsed"]
    assert verdict["train_score"] > verdict["chance_score"]
    assert search.collapsed_refits_ == []


def test_weighted_loss_keeps_the_criterions_class_weighted_mean(data):
    # CrossEntropyLoss(weight=...) divides its mean by the summed class
    # weights of the rows (and leaves ignore_index rows out); the subset
    # loss with weights 1 must equal it, or the step size jumps when subset
    # epochs begin (a review: x1.9 with lr=0).
    X, y = data
    cw = torch.tensor([5.0, 1.0, 0.5])
    net = _net(max_epochs=2, criterion__weight=cw, criterion__ignore_index=1).fit(X, y)
    y_pred = torch.randn(6, 3)
    y_true = torch.tensor([0, 1, 2, 0, 2, 2])
    net._subset_weights_ = np.ones(200)
    net._batch_rows_ = np.arange(6)
    got = net.get_loss(y_pred, y_true, training=True)
    expected = torch.nn.functional.cross_entropy(
        y_pred, y_true, weight=cw, ignore_index=1
    )
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_class_weighted_loss_is_the_same_in_warm_up_and_subset_epochs(data):
    X, y = data
    torch.manual_seed(0)
    net = _net(
        max_epochs=4,
        lr=0.0,
        batch_size=200,  # one batch: every epoch's loss is over the same rows
        selector="random",
        subset_size=1.0,
        criterion__weight=torch.tensor([10.0, 1.0, 1.0]),
    ).fit(X, y)
    phases = net.history[:, "subset_phase"]
    assert "warm" in phases and "subset" in phases
    np.testing.assert_allclose(
        net.history[:, "train_loss"], net.history[0, "train_loss"], rtol=1e-5
    )


_CW = torch.tensor([2.0, 1.0, 0.25])


@pytest.mark.parametrize(
    "criterion, target",
    [
        (torch.nn.CrossEntropyLoss(weight=_CW), "index"),
        (torch.nn.CrossEntropyLoss(ignore_index=2), "index"),
        (torch.nn.NLLLoss(weight=_CW, ignore_index=0), "index"),
        (torch.nn.CrossEntropyLoss(weight=_CW), "spatial"),
        (torch.nn.CrossEntropyLoss(weight=_CW), "proba"),
        (torch.nn.MSELoss(), "proba"),
    ],
)
def test_loss_mass_reproduces_the_criterions_mean(criterion, target):
    from subsetml.skorch._adaptive import loss_mass

    g = torch.Generator().manual_seed(0)
    if target == "spatial":
        y_pred = torch.randn(5, 3, 4, generator=g)
        y_true = torch.randint(0, 3, (5, 4), generator=g)
    else:
        y_pred = torch.randn(5, 3, generator=g)
        y_true = torch.randint(0, 3, (5,), generator=g)
        if target == "proba":
            y_true = torch.softmax(torch.randn(5, 3, generator=g), dim=1)
    if isinstance(criterion, torch.nn.NLLLoss):
        y_pred = torch.log_softmax(y_pred, dim=1)
    expected = criterion(y_pred, y_true)
    criterion.reduction = "none"
    rows = criterion(y_pred, y_true).reshape(5, -1).mean(dim=1)
    mass = loss_mass(criterion, y_true, rows)
    assert float(rows.sum() / mass.sum()) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize("selector", ["random", "craig", "gradmatch"])
def test_one_class_partial_fit_chunk_trains_its_whole_schedule(data, selector):
    # A review: the input check lets a partial_fit chunk of one class through
    # (as skorch does), and the first selection then refused it after the
    # warm-up. The subset of one class is a uniform draw of its rows.
    X, y = data
    net = _net(selector=selector, classes=[0, 1, 2], max_epochs=6, warm_up=0.5)
    chunk = y == 1
    net.partial_fit(X[chunk], y[chunk])
    warm, sub, k = net._subset_plan_
    assert len(net.history) == warm + sub and sub > 0
    assert net.history[-1, "subset_rows"] == k
    rows = net.subset_.indices
    assert len(np.unique(rows)) == k and (net.subset_.weights == 1).all()
    # A chunk of two classes goes on with the selector.
    net.partial_fit(X[y != 0], y[y != 0])
    assert len(net.history) == 2 * (warm + sub)


@pytest.mark.parametrize("selector", ["random", "craig"])
def test_budget_short_of_the_classes_is_raised_to_one_row_each(data, selector):
    # A review: 1 % of 200 rows of 3 classes is 2 rows; the first (random)
    # draw refused it, advising the selector's per_class, which a net's
    # string selector does not have. It now takes one row per class, as
    # SubsetEstimator and SubsetSearchCV do, and says so.
    X, y = data
    net = _net(selector=selector, subset_size=0.01, max_epochs=4, warm_up=0.0)
    with pytest.warns(UserWarning, match="subset_size"):
        net.fit(X, y)
    assert set(net.history[:, "subset_rows"]) == {3}
    assert sorted(y[net.subset_.indices]) == [0, 1, 2]


def test_partial_fit_epochs_is_the_schedules_budget(data):
    # skorch's partial_fit(X, y, epochs=E) trains E epochs; the subset nets
    # planned their schedule from max_epochs alone and ignored E.
    X, y = data
    reference = _net(max_epochs=12).fit(X, y)
    net = _net(max_epochs=4)
    net.partial_fit(X, y, epochs=12)
    assert len(net.history) == len(reference.history) > 4
    assert net.history[:, "subset_phase"] == reference.history[:, "subset_phase"]
    # and the next fit plans from max_epochs again
    net.fit(X, y)
    assert len(net.history) == len(_net(max_epochs=4).fit(X, y).history)


@pytest.mark.parametrize("mixin", ["subset", "adaselection"])
def test_binary_classifier_nets_are_a_clear_error(data, mixin):
    # A review: NeuralNetBinaryClassifier's float targets were refused as
    # "float32 class labels ... astype('int64')", and int64 ones then failed
    # deep in torch.
    from skorch import NeuralNetBinaryClassifier

    from subsetml.skorch import AdaSelectionMixin, SubsetTrainingMixin

    base = SubsetTrainingMixin if mixin == "subset" else AdaSelectionMixin
    cls = type("BinaryNet", (base, NeuralNetBinaryClassifier), {})
    X, y = data
    net = cls(torch.nn.Linear(6, 1), max_epochs=2, train_split=None, verbose=0)
    for labels in ((y == 1).astype(np.float32), (y == 1).astype(np.int64)):
        with pytest.raises(TypeError, match="2 outputs, CrossEntropyLoss"):
            net.fit(X, labels)


def test_one_class_message_shows_the_label_plainly(data):
    X, y = data
    with pytest.raises(ValueError, match=r"y holds one class \(2\)"):
        _net().fit(X, np.full_like(y, 2))


def test_a_criterion_that_does_not_reduce_is_refused(data):
    # Without a warm-up the subset epochs took reduction="none" as a mean,
    # where plain skorch fails in its backward pass (a review).
    X, y = data
    with pytest.raises(ValueError, match="criterion__reduction='none'"):
        _net(warm_up=0, max_epochs=2, criterion__reduction="none").fit(X, y)


def test_epoch_rungs_fit_adaselection_nets_afresh():
    # Their curriculum, probe horizon and stale scoring read max_epochs: a
    # net continued from a lower rung predicted up to 0.1 off the net fitted
    # for the higher one, which best_params_ refits (a review).
    from subsetml.skorch import AdaSelectionClassifier
    from subsetml.skorch._adapter import SkorchAdapter

    net = AdaSelectionClassifier(Recorder, criterion=torch.nn.CrossEntropyLoss)
    assert SkorchAdapter().epochs_param(net) is None
    assert SkorchAdapter().epochs_param(_plain_net()) == "max_epochs"


def test_partial_fit_on_a_trained_net_selects_with_its_selector(data, monkeypatch):
    # Only an untrained net draws its first subset at random: every
    # partial_fit call did, so a loop of short calls never used CRAIG
    # while the history said it selected (a review).
    import subsetml.skorch._adaptive as adaptive

    passes = []
    real = adaptive.lastlayer_from_net

    def spy(*args, **kwargs):
        passes.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(adaptive, "lastlayer_from_net", spy)
    X, y = data
    net = _net(max_epochs=10, subset_size=0.1).fit(X, y)
    passes.clear()
    for _ in range(3):
        net.partial_fit(X, y, epochs=2)
    assert sum(net.history[-6:, "subset_selected"]) == 3
    assert len(passes) == 3


def test_partial_fit_checks_parameters_set_since_the_last_fit(data):
    # Checked only at the first call: select_every=0 failed with a
    # ZeroDivisionError deep in skorch's notify, warm_up=1.5 passed (a review).
    X, y = data
    net = _net(max_epochs=2).fit(X, y)
    for bad, match in (
        ({"select_every": 0}, "select_every"),
        ({"warm_up": 1.5}, "warm_up"),
    ):
        with pytest.raises(ValueError, match=match):
            clone(net).set_params(**bad).fit(X, y)
        net.set_params(**bad)
        with pytest.raises(ValueError, match=match):
            net.partial_fit(X, y, epochs=1)
        net.set_params(select_every=3, warm_up=0.5)


def test_a_compiled_net_selects_from_its_last_layer(data):
    # torch.compile's graph ignores forward hooks added after it was built:
    # the first selection of a compiled net failed, "called none of its
    # Linear layers" (a review). The pass now runs the module eagerly.
    from skorch import NeuralNetClassifier

    X, y = data
    X = X[:, 1:]

    def module():
        return torch.nn.Sequential(
            torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
        )

    kw = dict(
        criterion=torch.nn.CrossEntropyLoss, train_split=None, verbose=0,
        compile=True, compile__backend="eager",
    )  # fmt: skip
    # A compiled net of the same module class has run first, as in a search.
    NeuralNetClassifier(module(), max_epochs=1, **kw).fit(X, y).predict(X)
    net = SubsetNeuralNetClassifier(
        module(), max_epochs=4, selector="gradmatch", subset_size=0.2,
        select_every=2, warm_up=0.5, random_state=0, **kw,
    ).fit(X, y)  # fmt: skip
    assert net.n_selections_ >= 1 and net.subset_.size == 40


def test_a_criterion_reducing_otherwise_than_mean_or_sum_is_taken():
    # KLDivLoss(reduction="batchmean"), PyTorch's advice for it, was refused
    # by the first form of the "none" refusal (a review of the day's diff).
    class LogSoftmax(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 3)

        def forward(self, X):
            return torch.log_softmax(self.lin(X), 1)

    rng = np.random.RandomState(0)
    X = rng.randn(120, 4).astype(np.float32)
    P = np.exp(X[:, :3])
    P = (P / P.sum(1, keepdims=True)).astype(np.float32)
    net = SubsetNeuralNetRegressor(
        LogSoftmax, criterion=torch.nn.KLDivLoss, criterion__reduction="batchmean",
        max_epochs=3, subset_size=0.3, selector="craig", train_split=None,
        verbose=0, random_state=0,
    ).fit(X, P)  # fmt: skip
    assert np.isfinite(net.history[-1, "train_loss"])


def test_a_net_restored_from_a_checkpoint_selects_with_its_selector(
    data, tmp_path, monkeypatch
):
    # LoadInitState restores the history after the net's own on_train_begin:
    # the first form of the fix above still drew the first subset at random
    # (a review of the day's diff).
    from skorch.callbacks import Checkpoint, LoadInitState

    firsts = []
    real = SubsetNeuralNetClassifier._select_subset

    def spy(self, *args, first=False, **kwargs):
        firsts.append(first)
        return real(self, *args, first=first, **kwargs)

    monkeypatch.setattr(SubsetNeuralNetClassifier, "_select_subset", spy)
    X, y = data
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    callbacks = [checkpoint, LoadInitState(checkpoint)]
    _net(max_epochs=3, warm_up=0.0, callbacks=callbacks).fit(X, y)
    assert firsts == [True]
    firsts.clear()
    _net(max_epochs=3, warm_up=0.0, callbacks=callbacks).fit(X, y)
    assert firsts == [False]


def test_progress_bar_counts_the_subset_batches(data):
    # ProgressBar("auto") counted the batches of all training rows, so a
    # subset epoch's bar stopped at a small part of its total (a review).
    from skorch.callbacks import Callback, ProgressBar

    class Totals(Callback):
        def initialize(self):
            self.seen = []
            return self

        def on_epoch_end(self, net, **kwargs):
            bar = dict(net.callbacks_)["progressbar"].pbar_
            self.seen.append((bar.n, bar.total))

    X, y = data
    totals = Totals()
    net = _net(
        max_epochs=6,
        train_split=lambda ds, y=None: (ds, ds),  # 200 rows to validate on too
        callbacks=[("progressbar", ProgressBar()), ("totals", totals)],
    )
    net.fit(X, y)
    n_valid = 7  # ceil(200 / 32)
    runs = [
        len([b for b in row["batches"] if "train_batch_size" in b]) + n_valid
        for row in net.history
    ]
    # Warm epochs run all 7 training batches, subset epochs 2 (40 rows).
    assert net.history[:, "subset_phase"].count("subset") >= 2
    assert runs == [
        7 + n_valid if p == "warm" else 2 + n_valid
        for p in net.history[:, "subset_phase"]
    ]
    assert totals.seen == [(n, n) for n in runs]
