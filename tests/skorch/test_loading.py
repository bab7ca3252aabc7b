"""ArrayLoader: whole-batch fetches of plain arrays, the same batches as
torch's DataLoader; and the subset-training nets that load with it."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.dataset import Dataset, ValidSplit

from subsetml.skorch import (
    AdaSelectionClassifier,
    AdaSelectionRegressor,
    ArrayLoader,
    SubsetNeuralNetClassifier,
    _loading,
)

N = 103


@pytest.fixture
def arrays():
    rng = np.random.RandomState(0)
    X = rng.randn(N, 6).astype(np.float32)
    y = (np.arange(N) % 3).astype(np.int64)
    return X, y


def _batches(loader_cls, dataset, seed=0, **kwargs):
    torch.manual_seed(seed)
    loader = loader_cls(dataset, **kwargs)
    out = [tuple(part for part in batch) for batch in loader]
    return out, torch.get_rng_state(), loader


def _assert_same(fast, slow):
    assert len(fast) == len(slow)
    for batch_f, batch_s in zip(fast, slow):
        assert len(batch_f) == len(batch_s) == 2
        for f, s in zip(batch_f, batch_s):
            assert f.dtype == s.dtype and f.shape == s.shape
            assert torch.equal(f, s)
            assert f.is_contiguous()


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize(
    "kind",
    ["numpy", "tensor", "fortran", "transposed", "y2d", "float64-y", "no-y"],
)
@pytest.mark.parametrize("subset", [0, 1, 2], ids=["all", "split", "split-of-split"])
def test_same_batches_and_random_stream_as_the_data_loader(
    arrays, kind, shuffle, drop_last, subset
):
    X, y = arrays
    if kind == "tensor":
        X, y = torch.as_tensor(X), torch.as_tensor(y)
    elif kind == "fortran":
        X = np.asfortranarray(X)
    elif kind == "transposed":  # rows of (3, 2) images stored channel-last
        X = torch.as_tensor(X).reshape(N, 2, 3).transpose(1, 2)
    elif kind == "y2d":
        y = np.column_stack([y, -y]).astype(np.float32)
    elif kind == "float64-y":
        y = y.astype(np.float64)
    elif kind == "no-y":
        y = None
    dataset = Dataset(X, y)
    for level in range(subset):
        dataset = torch.utils.data.Subset(dataset, np.arange(level, len(dataset), 2))
    kwargs = dict(batch_size=16, shuffle=shuffle, drop_last=drop_last)
    fast, fast_state, loader = _batches(ArrayLoader, dataset, **kwargs)
    slow, slow_state, _ = _batches(torch.utils.data.DataLoader, dataset, **kwargs)
    assert isinstance(loader.dataset, _loading._ArrayRows)
    assert len(loader) == len(fast)
    _assert_same(fast, slow)
    assert torch.equal(fast_state, slow_state)


def test_batches_do_not_alias_the_callers_arrays(arrays):
    X, y = arrays
    original = X.copy()
    for Xb, yb in ArrayLoader(Dataset(X, y), batch_size=10):
        Xb.mul_(0.0)  # a module that changes its input in place
        yb.zero_()
    np.testing.assert_array_equal(X, original)
    assert (y != 0).any()


def test_batch_sampler_gives_the_batches(arrays):
    X, y = arrays
    batches = [[5, 1, 9], [0], [100, 2]]
    loader = ArrayLoader(Dataset(X, y), batch_sampler=batches)
    assert isinstance(loader.dataset, _loading._ArrayRows)
    out = list(loader)
    for rows, (Xb, yb) in zip(batches, out):
        np.testing.assert_array_equal(Xb.numpy(), X[rows])
        np.testing.assert_array_equal(yb.numpy(), y[rows])
    with pytest.raises(ValueError, match="mutually exclusive"):
        ArrayLoader(Dataset(X, y), batch_sampler=batches, shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        torch.utils.data.DataLoader(Dataset(X, y), batch_sampler=batches, shuffle=True)


def test_workers_load_the_same_batches(arrays):
    X, y = arrays
    kwargs = dict(batch_size=16, shuffle=True, num_workers=1)
    fast, _, loader = _batches(ArrayLoader, Dataset(X, y), **kwargs)
    slow, _, _ = _batches(torch.utils.data.DataLoader, Dataset(X, y), **kwargs)
    assert isinstance(loader.dataset, _loading._ArrayRows)
    _assert_same(fast, slow)


class _OwnDataset(Dataset):
    def transform(self, X, y):
        return X * 2, y


def _frame(X):
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])


@pytest.mark.parametrize(
    "case",
    [
        "dataframe",
        "dict",
        "sparse",
        "own-dataset",
        "object-dtype",
        "collate_fn",
        "sampler",
        "no-batch-size",
    ],
)
def test_anything_else_is_an_ordinary_data_loader(arrays, case):
    X, y = arrays
    dataset, kwargs = Dataset(X, y), {"batch_size": 8}
    if case == "dataframe":
        dataset = Dataset(_frame(X), y)
    elif case == "dict":
        dataset = Dataset({"a": X[:, :3], "b": X[:, 3:]}, y)
    elif case == "sparse":
        dataset = Dataset(sp.csr_matrix(X), y)
    elif case == "own-dataset":
        dataset = _OwnDataset(X, y)
    elif case == "object-dtype":
        dataset = Dataset(X.astype(object), y)
    elif case == "collate_fn":
        kwargs["collate_fn"] = lambda items: items
    elif case == "sampler":
        kwargs["sampler"] = torch.utils.data.SequentialSampler(dataset)
    elif case == "no-batch-size":
        kwargs["batch_size"] = None
    loader = ArrayLoader(dataset, **kwargs)
    assert not isinstance(loader.dataset, _loading._ArrayRows)
    if case in ("dataframe", "dict", "sparse", "own-dataset"):
        fast, _, _ = _batches(ArrayLoader, dataset, **kwargs)
        slow, _, _ = _batches(torch.utils.data.DataLoader, dataset, **kwargs)
        assert len(fast) == len(slow)
        for (Xf, yf), (Xs, ys) in zip(fast, slow):
            if isinstance(Xf, dict):
                assert all(torch.equal(Xf[k], Xs[k]) for k in Xs)
            else:
                assert torch.equal(Xf, Xs)
            assert torch.equal(yf, ys)


def _clf(**kwargs):
    params = dict(
        module=torch.nn.Sequential(
            torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
        ),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=3,
        batch_size=16,
        lr=0.1,
        train_split=None,
        verbose=0,
        iterator_train__shuffle=True,
    )
    params.update(kwargs)
    return NeuralNetClassifier(**params)


@pytest.mark.parametrize("split", [False, True], ids=["all-rows", "valid-split"])
def test_a_net_fits_the_same_weights_with_it(arrays, split):
    X, y = arrays
    extra = {"train_split": ValidSplit(4, stratified=True)} if split else {}
    torch.manual_seed(0)
    slow = _clf(**extra).fit(X, y)
    torch.manual_seed(0)
    fast = _clf(iterator_train=ArrayLoader, iterator_valid=ArrayLoader, **extra)
    fast.fit(X, y)
    for a, b in zip(fast.module_.parameters(), slow.module_.parameters()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(fast.predict_proba(X), slow.predict_proba(X))
    if split:
        assert fast.history[:, "valid_loss"] == slow.history[:, "valid_loss"]
    # A fitted net with the loader clones and pickles as any other.
    again = pickle.loads(pickle.dumps(fast))
    np.testing.assert_array_equal(again.predict_proba(X), fast.predict_proba(X))


def test_a_regressor_without_y_at_predict(arrays):
    X, _ = arrays
    y = X[:, :1] * 2
    net = NeuralNetRegressor(
        torch.nn.Linear(6, 1),
        max_epochs=2,
        train_split=None,
        verbose=0,
        iterator_train=ArrayLoader,
        iterator_valid=ArrayLoader,
    ).fit(X, y)
    assert net.predict(X).shape == (N, 1)
    assert net.forward(torch.as_tensor(X)).shape == (N, 1)


@pytest.mark.parametrize("selector", ["random", "craig"])
@pytest.mark.parametrize("split", [False, True], ids=["all-rows", "valid-split"])
def test_subset_nets_train_and_predict_as_with_row_by_row_loading(
    arrays, monkeypatch, selector, split
):
    # The subset-training nets load plain arrays with ArrayLoader; forced back
    # to the row-by-row fetch, they train the same weights and predict the
    # same probabilities.
    X, y = arrays

    def fit():
        torch.manual_seed(0)
        return SubsetNeuralNetClassifier(
            torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Linear(16, 3)),
            criterion=torch.nn.CrossEntropyLoss,
            max_epochs=6,
            batch_size=8,
            train_split=ValidSplit(4, stratified=True) if split else None,
            verbose=0,
            iterator_train__shuffle=True,
            subset_size=0.3,
            selector=selector,
            select_every=2,
            random_state=0,
        ).fit(X, y)

    fast = fit()
    assert isinstance(
        fast.get_iterator(fast.get_dataset(X), training=False).dataset,
        _loading._ArrayRows,
    )
    monkeypatch.setattr(_loading, "plain_arrays", lambda dataset: None)
    slow = fit()
    assert not isinstance(
        slow.get_iterator(slow.get_dataset(X), training=False).dataset,
        _loading._ArrayRows,
    )
    for a, b in zip(fast.module_.parameters(), slow.module_.parameters()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(fast.predict_proba(X), slow.predict_proba(X))
    assert fast.history[:, "subset_rows"] == slow.history[:, "subset_rows"]


def test_a_subset_net_keeps_a_data_loader_of_its_own(arrays):
    X, y = arrays

    class Loader(torch.utils.data.DataLoader):
        pass

    net = SubsetNeuralNetClassifier(
        torch.nn.Linear(6, 3),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=None,
        verbose=0,
        subset_size=0.5,
        selector="random",
        iterator_train=Loader,
        iterator_valid=Loader,
        random_state=0,
    ).fit(X, y)
    for training in (True, False):
        loader = net.get_iterator(net.get_dataset(X, y), training=training)
        assert type(loader) is Loader
        assert not isinstance(loader.dataset, _loading._ArrayRows)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("reward_rows", ["batch", "valid"])
def test_adaselection_nets_validate_and_predict_as_with_row_by_row_loading(
    arrays, monkeypatch, kind, reward_rows
):
    # AdaSelection nets batch their training arrays themselves; validation
    # and prediction load with ArrayLoader. Forced back to the row-by-row
    # fetch there, a fit gives the same weights, validation losses and
    # predictions (the reward pool of validation rows included).
    X, y = arrays
    if kind == "classifier":
        cls, extra = AdaSelectionClassifier, {"criterion": torch.nn.CrossEntropyLoss}
        out = 3
    else:
        cls, extra, out = AdaSelectionRegressor, {}, 1
        y = X[:, :1] * 2 - X[:, 1:2]

    def fit():
        torch.manual_seed(0)
        return cls(
            torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Linear(16, out)),
            max_epochs=4,
            batch_size=8,
            lr=0.05,
            train_split=ValidSplit(4),
            verbose=0,
            iterator_train__shuffle=True,
            sampling_rate=0.5,
            policies="all",
            reward_rows=reward_rows,
            random_state=0,
            **extra,
        ).fit(X, y)

    fast = fit()
    loader = fast.get_iterator(fast.get_dataset(X), training=False)
    assert isinstance(loader.dataset, _loading._ArrayRows)
    monkeypatch.setattr(_loading, "plain_arrays", lambda dataset: None)
    slow = fit()
    loader = slow.get_iterator(slow.get_dataset(X), training=False)
    assert not isinstance(loader.dataset, _loading._ArrayRows)
    for a, b in zip(fast.module_.parameters(), slow.module_.parameters()):
        assert torch.equal(a, b)
    assert fast.history[:, "valid_loss"] == slow.history[:, "valid_loss"]
    np.testing.assert_array_equal(fast.predict(X), slow.predict(X))
    np.testing.assert_array_equal(fast.method_weights_, slow.method_weights_)


def test_an_adaselection_net_keeps_a_data_loader_of_its_own(arrays):
    X, y = arrays

    class Loader(torch.utils.data.DataLoader):
        pass

    net = AdaSelectionClassifier(
        torch.nn.Linear(6, 3),
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        train_split=ValidSplit(4),
        verbose=0,
        sampling_rate=0.5,
        iterator_valid=Loader,
        iterator_valid__batch_size=-1,
        random_state=0,
    ).fit(X, y)
    loader = net.get_iterator(net.get_dataset(X, y), training=False)
    assert type(loader) is Loader and loader.batch_size == N
    assert not isinstance(loader.dataset, _loading._ArrayRows)


@pytest.mark.parametrize("through", ["loader", "rows"])
def test_collate_rows_gives_the_loaders_batch(arrays, through):
    X, y = arrays
    dataset = torch.utils.data.Subset(Dataset(X, y), np.arange(0, N, 3))
    cls = ArrayLoader if through == "loader" else torch.utils.data.DataLoader
    loader = cls(dataset, batch_size=4)
    Xb, yb = _loading.collate_rows(loader, dataset, [2, 0, 7])
    np.testing.assert_array_equal(Xb.numpy(), X[[6, 0, 21]])
    np.testing.assert_array_equal(yb.numpy(), y[[6, 0, 21]])


def test_load_faster_sets_array_loaders_only_where_they_change_nothing():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from subsetml.model_selection._trials import _load_faster
    from subsetml.skorch import AdaSelectionClassifier

    class Loader(torch.utils.data.DataLoader):
        pass

    net = _clf()
    _load_faster(net)
    assert net.iterator_train is ArrayLoader and net.iterator_valid is ArrayLoader
    pipe = make_pipeline(StandardScaler(), _clf(iterator_valid=Loader))
    _load_faster(pipe)
    assert pipe[-1].iterator_train is ArrayLoader and pipe[-1].iterator_valid is Loader
    # AdaSelection batches plain arrays itself, behind a plain DataLoader.
    ada = AdaSelectionClassifier(
        torch.nn.Linear(6, 3), criterion=torch.nn.CrossEntropyLoss
    )
    _load_faster(ada)
    assert ada.iterator_train is torch.utils.data.DataLoader


@pytest.mark.filterwarnings("ignore:This subset search spent")
@pytest.mark.parametrize(
    "subset_size", [(0.25, 1.0), 0.25], ids=["rungs-to-full-folds", "rescored"]
)
def test_a_net_search_scores_as_with_row_by_row_loading(
    arrays, monkeypatch, subset_size
):
    # The search's fits of a net load with ArrayLoader (subset trials, whole
    # folds, re-scoring): the scores are those of skorch's row-by-row loading,
    # and the refit is the user's net as given.
    from subsetml.model_selection import SubsetSearchCV

    X, y = arrays

    def search():
        torch.manual_seed(0)
        return SubsetSearchCV(
            _clf(max_epochs=4),
            {"lr": (0.01, 0.5, "log-uniform")},
            n_iter=4,
            subset_size=subset_size,
            cv=2,
            random_state=0,
            refit_check=False,
        ).fit(X, y)

    seen = []
    get_iterator = NeuralNetClassifier.get_iterator

    def recording(self, dataset, training=False):
        loader = get_iterator(self, dataset, training=training)
        if type(self) is NeuralNetClassifier:  # whole folds, not subset trials
            seen.append(isinstance(loader.dataset, _loading._ArrayRows))
        return loader

    monkeypatch.setattr(NeuralNetClassifier, "get_iterator", recording)
    fast = search()
    # Whole-fold fits and scores load a batch at a time; the refit (last)
    # row by row, as the user's net does.
    assert seen[-1] is False and sum(seen) >= 4
    assert fast.best_estimator_.iterator_train is torch.utils.data.DataLoader
    monkeypatch.setattr(_loading, "plain_arrays", lambda dataset: None)
    slow = search()
    for key in ("mean_test_score", "split0_test_score", "rung"):
        np.testing.assert_array_equal(fast.cv_results_[key], slow.cv_results_[key])
    np.testing.assert_array_equal(
        fast.best_estimator_.predict_proba(X), slow.best_estimator_.predict_proba(X)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size should be a positive integer"),
        ({"batch_size": -3}, "batch_size should be a positive integer"),
        ({"batch_size": 2.5}, "batch_size should be a positive integer"),
        ({"batch_size": 4, "drop_last": "yes"}, "drop_last should be a boolean"),
        ({"batch_size": 4, "shuffle": True, "drop_last": "yes"}, "drop_last"),
        ({"batch_size": 0, "shuffle": True}, "batch_size should be a positive"),
    ],
)
def test_bad_batch_settings_are_torchs_errors(arrays, kwargs, match):
    X, y = arrays
    with pytest.raises(ValueError, match=match):
        ArrayLoader(Dataset(X, y), **kwargs)
    with pytest.raises(ValueError, match=match):
        torch.utils.data.DataLoader(Dataset(X, y), **kwargs)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("plain", [True, False])
def test_numpy_integer_batch_size_is_an_int(arrays, shuffle, plain):
    # torch's DataLoader rejects np.int64(16); ArrayLoader takes it as 16 on
    # every path: its own batches, shuffled or not, and a dataset it leaves
    # to DataLoader (a dict X).
    X, y = arrays
    dataset = Dataset(X if plain else {"x": X}, y)
    kwargs = dict(shuffle=shuffle, drop_last=False)
    fast, fast_state, loader = _batches(
        ArrayLoader, dataset, batch_size=np.int64(16), **kwargs
    )
    slow, slow_state, _ = _batches(
        torch.utils.data.DataLoader, dataset, batch_size=16, **kwargs
    )
    assert isinstance(loader.dataset, _loading._ArrayRows) is plain
    assert len(fast) == len(slow) == -(-len(y) // 16)
    if plain:
        _assert_same(fast, slow)
    else:
        for (xf, yf), (xs, ys) in zip(fast, slow):
            assert torch.equal(xf["x"], xs["x"]) and torch.equal(yf, ys)
    assert torch.equal(fast_state, slow_state)
