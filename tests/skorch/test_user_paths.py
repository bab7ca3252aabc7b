"""skorch user paths that plain skorch supports and our nets must too.

Each case was found by a review that ran it beside a plain
``NeuralNetClassifier`` / ``NeuralNetRegressor``.
"""

import io
import warnings
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset

from subsetml.skorch import (
    AdaSelectionClassifier,
    SubsetNeuralNetClassifier,
    SubsetNeuralNetRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

N = 120
KW = dict(
    criterion=torch.nn.CrossEntropyLoss,
    max_epochs=4,
    batch_size=32,
    verbose=0,
    train_split=None,
    lr=0.1,
    random_state=0,
)


@pytest.fixture
def data():
    X = np.random.RandomState(0).randn(N, 4).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    return X, y


class Columns(torch.nn.Module):
    """Takes a DataFrame's columns as keyword arguments, as skorch passes them."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 2)

    def forward(self, a, b, c, d):
        return self.lin(torch.cat([a, b, c, d], dim=1))


class Plain(torch.nn.Module):
    def __init__(self, n_out=2):
        super().__init__()
        self.lin = torch.nn.Linear(4, n_out)

    def forward(self, X):
        return self.lin(X)


class Float32(Dataset):
    def transform(self, X, y):
        X, y = super().transform(X, y)
        return X.astype(np.float32), y


NETS = [
    (AdaSelectionClassifier, {"sampling_rate": 0.3}),
    (SubsetNeuralNetClassifier, {"selector": "craig", "subset_size": 0.3}),
    (SubsetNeuralNetClassifier, {"selector": "gradmatch", "subset_size": 0.3}),
]


@pytest.mark.parametrize("cls, params", NETS)
def test_a_dataframe_trains_as_its_array_does(data, cls, params):
    """The check forward before training went around skorch's dataset, which
    is where a DataFrame becomes a dict of columns."""
    X, y = data
    frame = pd.DataFrame(X, columns=list("abcd"))
    torch.manual_seed(0)
    on_frame = cls(Columns, **KW, **params).fit(frame, y)
    torch.manual_seed(0)
    on_array = cls(Plain, **KW, **params).fit(X, y)
    assert np.allclose(
        on_frame.predict_proba(frame), on_array.predict_proba(X), atol=1e-5
    )


@pytest.mark.parametrize("cls, params", NETS)
def test_sparse_rows_and_a_custom_dataset_train(data, cls, params):
    X, y = data
    cls(Plain, **KW, **params).fit(sp.csr_matrix(X), y)
    # float64 rows that only the dataset's transform turns into float32
    net = cls(Plain, dataset=Float32, **KW, **params).fit(X.astype(np.float64), y)
    assert np.isfinite(net.history[-1, "train_loss"])


def test_the_verbose_log_keeps_its_columns(data):
    """step_cost_ratio appears after the warm-up: PrintLog took its columns
    from the first epoch, and every value after it moved one column left."""
    X, y = data
    out = io.StringIO()
    with redirect_stdout(out):
        AdaSelectionClassifier(Plain, **{**KW, "verbose": 1}).fit(X, y)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    header = lines[0].split()
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == KW["max_epochs"]
    steps = header.index("steps")
    for row in rows:
        assert len(row) == len(header)
        assert row[steps] == str(-(-N // KW["batch_size"]))


class Pair(torch.nn.Module):
    """Returns (logits, an auxiliary term), the tuple skorch's docs unpack in
    a get_loss override."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 2)

    def forward(self, X):
        z = self.lin(X)
        return z, z.abs().mean()


@pytest.mark.parametrize("weighted", [False, True])
def test_a_get_loss_override_is_used_for_the_scores(data, weighted):
    X, y = data
    seen = []

    class Net(AdaSelectionClassifier):
        def get_loss(self, y_pred, y_true, *args, **kwargs):
            seen.append(isinstance(y_pred, tuple))
            if isinstance(y_pred, tuple):
                y_pred = y_pred[0]
            return super().get_loss(y_pred, y_true, *args, **kwargs)

    weight = np.linspace(0.5, 2.0, N) if weighted else None
    net = Net(Pair, **KW).fit(X, y, sample_weight=weight)
    assert (net.predict(X) == y).mean() > 0.8
    # one call per training step and one per scoring forward (after the
    # warm-up epoch), each on the module's tuple: never twice for a step
    n_batches = -(-N // KW["batch_size"])
    assert len(seen) == n_batches * (2 * KW["max_epochs"] - 1)
    assert all(seen)


@pytest.mark.parametrize("selector", ["craig", "gradmatch"])
def test_gradient_selectors_take_labels_as_output_columns(data, selector):
    """skorch reads integer labels as output columns. A training fold
    without a class, or labels {1, 3, 5} under six outputs, failed at the
    first selection ("classes has 2 entries but outputs have 3 columns")."""
    X, _ = data
    y3 = np.digitize(X[:, 0], [-0.5, 0.5]).astype(np.int64)
    params = dict(KW, selector=selector, subset_size=0.3, select_every=1, max_epochs=12)
    missing = y3 != 1
    net = SubsetNeuralNetClassifier(Plain, module__n_out=3, **params)
    net.fit(X[missing], y3[missing])
    assert (net.predict(X[missing]) == y3[missing]).mean() > 0.7
    odd = 2 * y3 + 1
    SubsetNeuralNetClassifier(Plain, module__n_out=6, **params).fit(X, odd)


@pytest.mark.parametrize("params", [{"selector": "random"}, {"warm_up": 0.0}])
def test_multi_output_regression_with_label_views(data, params):
    X, _ = data
    Y = X[:, :2].copy()
    net = SubsetNeuralNetRegressor(
        Plain, max_epochs=4, verbose=0, train_split=None, lr=0.1, **params
    ).fit(X, Y)
    assert net.predict(X).shape == (N, 2)


def test_adaselection_takes_soft_labels_and_ignored_rows(data):
    X, y = data
    soft = np.eye(2, dtype=np.float32)[y] * 0.9 + 0.05
    net = AdaSelectionClassifier(Plain, **KW).fit(X, soft)
    assert (net.predict(X) == y).mean() > 0.8
    ignored = y.copy()
    ignored[::5] = -100  # CrossEntropyLoss's ignore_index
    net = AdaSelectionClassifier(Plain, **KW).fit(X, ignored)
    assert np.isfinite(net.history[-1, "train_loss"])
    # an ignored row carries no gradient and no error for the policies
    logits = torch.randn(4, 2)
    grads, errors, _ = net._gradient_proxy(logits, torch.tensor([0, -100, 1, -100]))
    assert grads[1] == grads[3] == errors[1] == errors[3] == 0
    assert grads[0] > 0 and grads[2] > 0


def test_method_weight_settings_change_between_partial_fits(data):
    X, y = data
    net = AdaSelectionClassifier(Plain, **KW).fit(X, y)
    weights = net.method_weights_.copy()
    net.set_params(method_lr=0.0)
    net.partial_fit(X, y)
    assert net.weighting_.lr == 0.0
    assert np.allclose(net.method_weights_, weights)  # lr 0: nothing moves
    net.set_params(policies="big_loss")
    net.partial_fit(X, y)
    assert net.policy_names_ == ["big_loss"]
    net.set_params(method_lr=-1.0)
    with pytest.raises(ValueError, match="method_lr"):
        net.partial_fit(X, y)


def test_a_new_selector_is_used_by_partial_fit(data):
    X, y = data
    net = SubsetNeuralNetClassifier(
        Plain, selector="random", subset_size=0.3, **KW
    ).fit(X, y)
    net.set_params(selector="craig")
    net.partial_fit(X, y)
    assert type(net._subset_selector_).__name__ == "CraigSelector"


def test_drop_last_that_drops_every_subset_batch_is_an_error(data):
    X, y = data
    net = SubsetNeuralNetClassifier(
        Plain,
        selector="random",
        subset_size=0.1,
        iterator_train__drop_last=True,
        **{**KW, "batch_size": 64},
    )
    with pytest.raises(ValueError, match="drop_last=True drops every batch"):
        net.fit(X, y)


def test_a_summed_criterion_stays_a_sum(data):
    X, y = data
    params = dict(KW, lr=0.01, criterion__reduction="sum")
    net = SubsetNeuralNetClassifier(
        Plain, selector="random", subset_size=0.5, warm_up=0.5, **params
    ).fit(X, y)
    losses = net.history[:, "train_loss"]
    # a sum over a batch of 32 rows, not a mean, in the subset epochs too
    assert min(losses) > 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = []
        for weight in (None, np.ones(N)):
            torch.manual_seed(0)
            ada = AdaSelectionClassifier(Plain, sampling_rate=1.0, **params)
            runs.append(ada.fit(X, y, sample_weight=weight).history[:, "train_loss"])
    assert np.allclose(runs[0], runs[1])


def test_adaselection_keeps_its_rows_after_the_loss_goes_nan():
    """One NaN loss turned the method weights NaN and then kept 0 rows per
    batch for the rest of the fit, silently; a diverging regressor failed
    inside AdaBoost."""
    from subsetml.skorch import AdaSelectionClassifier, AdaSelectionRegressor

    rng = np.random.RandomState(0)
    X = rng.randn(300, 6).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = AdaSelectionClassifier(
            torch.nn.Sequential(
                torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)
            ),
            criterion=torch.nn.CrossEntropyLoss,
            sampling_rate=0.3,
            max_epochs=4,
            lr=1e9,
            train_split=None,
            verbose=0,
            random_state=0,
        ).fit(X, y)
        kept = [h.get("rows_kept") for h in net.history[1:]]
        assert all(k and k > 0 for k in kept)
        torch.manual_seed(0)
        reg = AdaSelectionRegressor(
            torch.nn.Sequential(
                torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
            ),
            lr=1e3,
            max_epochs=4,
            train_split=None,
            verbose=0,
            random_state=0,
        ).fit(X, X[:, :1] * 3)
    assert all(h.get("rows_kept", 1) > 0 for h in reg.history)


def test_one_column_regression_targets_reach_subset_trials_as_a_column():
    # A review: SubsetEstimator flattened y of shape (n, 1), which skorch's
    # regressors need; MSELoss then broadcast each batch against itself
    # (torch's "target size" warning) and a search's subset trials scored
    # about 0 where the same net scored 0.77 with the column.
    from skorch import NeuralNetRegressor

    from subsetml.model_selection import SubsetEstimator, SubsetSearchCV

    rng = np.random.RandomState(0)
    X = rng.randn(300, 6).astype(np.float32)
    y = (X @ rng.randn(6)).astype(np.float32).reshape(-1, 1)
    # The module instance's weights are drawn here, and every clone starts
    # from them: seeded, or the scores hang on the tests run before.
    torch.manual_seed(0)
    net = NeuralNetRegressor(
        torch.nn.Sequential(
            torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
        ),
        max_epochs=6, lr=0.05, train_split=None, verbose=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*target size")
        torch.manual_seed(0)
        model = SubsetEstimator(net, subset_size=0.5, random_state=0).fit(X, y)
        torch.manual_seed(0)
        search = SubsetSearchCV(
            net, {"lr": [0.05]}, n_iter=1, cv=2, subset_size=0.5, rescore=0,
            random_state=0,
        ).fit(X, y)  # fmt: skip
    assert model.predict(X).shape == (300, 1)
    assert model.score(X, y) > 0.5
    assert search.cv_results_["mean_test_score"][0] > 0.3


def test_int32_labels_reach_rescoring_and_the_refit_as_int64():
    # A review: subset trials cast int32 labels (the nets do), re-scoring and
    # the refit fit the user's plain net on them: NaN scores, then torch's
    # "expected target dtype to be Long" after the whole search.
    from skorch import NeuralNetClassifier

    from subsetml.model_selection import SubsetSearchCV

    rng = np.random.RandomState(0)
    X = rng.randn(240, 6).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int32) + (X[:, 1] > 0).astype(np.int32)
    net = NeuralNetClassifier(
        torch.nn.Sequential(
            torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
        ),
        criterion=torch.nn.CrossEntropyLoss, max_epochs=2, train_split=None, verbose=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = SubsetSearchCV(
            net, {"lr": (1e-3, 0.3, "log-uniform")}, n_iter=4, cv=2,
            subset_size=0.3, rescore=2, random_state=0, error_score="raise",
        ).fit(X, y)  # fmt: skip
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert (search.cv_results_["rung"] == 1).sum() == 2
    assert set(search.predict(X)) <= {0, 1, 2}
    assert y.dtype == np.int32  # the caller's array is left as it was


def test_binary_classifier_net_in_a_subset_search_is_refused_at_once():
    # A review: the error advised mixing in SubsetTrainingMixin, which then
    # failed too. Whole folds (subset_size=1.0) still tune it.
    from skorch import NeuralNetBinaryClassifier

    from subsetml.model_selection import SubsetSearchCV

    rng = np.random.RandomState(0)
    X = rng.randn(200, 6).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    module = torch.nn.Sequential(torch.nn.Linear(6, 1), torch.nn.Flatten(0))
    net = NeuralNetBinaryClassifier(module, max_epochs=2, train_split=None, verbose=0)
    space = {"lr": (1e-3, 0.3, "log-uniform")}
    with pytest.raises(TypeError, match="NeuralNetClassifier with a module of 2"):
        SubsetSearchCV(net, space, n_iter=2, cv=2, subset_size=0.3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = SubsetSearchCV(net, space, n_iter=2, cv=2, subset_size=1.0)
        search.fit(X, y)
    assert np.isfinite(search.best_score_)
    assert search.predict(X).shape == (200,)


_MAIN_SCRIPT = """
import warnings
import numpy as np, torch
from skorch import NeuralNetClassifier
from subsetml.model_selection import SubsetSearchCV


class MyModule(torch.nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.l1 = torch.nn.Linear(6, hidden)
        self.l2 = torch.nn.Linear(hidden, 2)

    def forward(self, X):
        return self.l2(torch.relu(self.l1(X)))


if __name__ == "__main__":
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    net = NeuralNetClassifier(MyModule, max_epochs=2, train_split=None, verbose=0)
    warnings.simplefilter("ignore")
    common = dict(n_iter=2, cv=2, n_jobs=2, random_state=0)
    search = SubsetSearchCV(net, {"lr": [0.01, 0.1]}, subset_size=0.3, **common)
    print("subset trials:", search.fit(X, y).best_params_["lr"])
    try:
        SubsetSearchCV(
            net, {"lr": [0.01, 0.1]}, subset_size=1.0, resource="max_epochs",
            resource_rungs=(1, 2), **common,
        ).fit(X, y)
        print("epoch rungs: fitted")
    except TypeError as exc:
        print("epoch rungs:", str(exc)[:60], "importable module" in str(exc))
"""


def test_worker_processes_with_a_module_class_of_main(tmp_path):
    # A review: with n_jobs=2 (or a timeout) every trial sent its fitted net
    # back from its worker, and pickling a net whose module class lives in
    # __main__ failed, ending the search. Subset trials now send back their
    # selection time only; epoch rungs, which need the nets, say what to do.
    import os
    import subprocess
    import sys

    script = tmp_path / "search.py"
    script.write_text(_MAIN_SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0].startswith("subset trials: 0.")
    assert lines[1].startswith("epoch rungs: Rungs of 'max_epochs'")
    assert lines[1].endswith("True")


# --- A review's skorch paths, beside a plain NeuralNetClassifier ----------


class Normed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU()
        )
        self.head = torch.nn.Linear(8, 2)

    def forward(self, X):
        return self.head(self.body(X))


def test_batch_norm_with_a_one_row_last_subset_batch():
    # 129-row subsets in batches of 128 ended every epoch with one row, which
    # batch norm cannot normalise in training mode.
    rng = np.random.RandomState(0)
    X = rng.randn(1290, 4).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    net = SubsetNeuralNetClassifier(
        Normed, **{**KW, "max_epochs": 6, "batch_size": 128},
        selector="random", subset_size=0.1, iterator_train__shuffle=True,
    ).fit(X, y)  # fmt: skip
    sizes = [b["train_batch_size"] for b in net.history[-1, "batches"]]
    assert sizes == [129]


@pytest.mark.parametrize("selector", ["random", "gradmatch"])
def test_classes_given_in_another_order(data, selector):
    # classes=y.unique() (order of appearance): positions were searched as if
    # the classes were sorted; the gradient selectors failed, random's strata
    # were wrong.
    X, y = data
    y = np.where(X[:, 1] > 0.5, 2, y)
    kw = dict(selector=selector, subset_size=0.3, warm_up=0.5, select_every=1)
    net = SubsetNeuralNetClassifier(
        Plain, **KW, module__n_out=3, classes=[2, 1, 0], **kw
    ).fit(X, y)
    # Each class keeps its share of the 36 rows (a stratified draw's, or the
    # gradient selector's per-class budget).
    counts = np.bincount(y[net.subset_.indices], minlength=3)
    expected = np.bincount(y, minlength=3) * 36 / N
    assert np.all(np.abs(counts - expected) < 1)


def test_soft_labels_are_refused_before_the_warm_up(data):
    X, y = data
    soft = np.eye(2, dtype=np.float32)[y] * 0.8 + 0.1
    net = SubsetNeuralNetClassifier(Plain, **KW, selector="random", subset_size=0.3)
    with pytest.raises(ValueError, match=r"y has shape \(120, 2\)"):
        net.fit(X, soft)
    assert len(net.history) == 0


class MeanOnly(torch.nn.CrossEntropyLoss):
    """Has a reduction, and ignores it."""

    def forward(self, input, target):
        return torch.nn.functional.cross_entropy(input, target)


class NoReduction(torch.nn.Module):
    def forward(self, input, target):
        return torch.nn.functional.cross_entropy(input, target)


def test_criteria_without_per_row_losses(data):
    X, y = data
    with pytest.raises(TypeError, match="ignored reduction='none'"):
        SubsetNeuralNetClassifier(
            Plain, **{**KW, "criterion": MeanOnly}, selector="gradmatch",
            subset_size=0.3,
        ).fit(X, y)  # fmt: skip
    # Refused before training, not after the warm-up epochs.
    for net in (
        SubsetNeuralNetClassifier(
            Plain,
            **{**KW, "criterion": NoReduction},
            selector="random",
            subset_size=0.3,
        ),  # fmt: skip
        AdaSelectionClassifier(
            Plain, **{**KW, "criterion": NoReduction}, sampling_rate=0.3
        ),
    ):
        with pytest.raises(TypeError, match="has no 'reduction' attribute"):
            net.fit(X, y)
        assert len(net.history) == 0


def test_a_tensor_dataset_of_x_and_y(data):
    X, y = data
    dataset = torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(y))
    net = SubsetNeuralNetClassifier(Plain, **KW, selector="random", subset_size=0.3)
    net.fit(dataset, None)
    assert net.subset_.size == 36


def test_int8_label_series_are_widened(data):
    X, y = data
    codes = pd.Series(y).astype("category").cat.codes  # int8
    for net in (
        SubsetNeuralNetClassifier(Plain, **KW, selector="random", subset_size=0.3),
        AdaSelectionClassifier(Plain, **KW, sampling_rate=0.3),
    ):
        net.fit(X, codes)
        assert net.predict(X).shape == (N,)


@pytest.mark.parametrize(
    "n, drop_last, norm, sizes",
    [
        (70, True, False, [32, 32]),
        (70, False, False, [32, 32, 6]),
        (65, False, True, [32, 33]),
        (65, True, True, [32, 32]),
        (33, False, True, [33]),
        (1, False, True, [1]),
    ],
)
def test_subset_batches_and_their_count(n, drop_last, norm, sizes):
    # The one-row remainder joins the batch before it with batch norm; the
    # sampler's len says as many batches as it yields.
    from collections import deque
    from types import SimpleNamespace

    from subsetml.skorch._adaptive import _SubsetBatchSampler

    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    net = SimpleNamespace(
        _subset_rows_=np.arange(n),
        _subset_rng_=np.random.RandomState(0),
        _pending_rows_=deque(),
        module_=module if norm else torch.nn.Linear(2, 2),
    )
    sampler = _SubsetBatchSampler(net, 32, False, drop_last)
    batches = list(sampler)
    assert [len(b) for b in batches] == sizes == [len(b) for b in net._pending_rows_]
    assert len(sampler) == len(sizes)
    assert sorted(sum(batches, [])) == list(range(sum(sizes)))


class _TwoInputs(torch.nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.a = torch.nn.Linear(3, hidden)
        self.b = torch.nn.Linear(2, hidden)
        self.out = torch.nn.Linear(hidden, 2)

    def forward(self, xa, xb):
        return self.out(torch.relu(self.a(xa) + self.b(xb)))


def test_a_slice_dict_of_several_inputs_is_searched_as_in_grid_search():
    # skorch's SliceDict (a net of several inputs) was refused by every
    # search, even at subset_size=1.0, and by SubsetEstimator: "Expected 2D
    # array, got scalar array instead" (a review).
    from skorch import NeuralNetClassifier
    from skorch.helper import SliceDict

    from subsetml.model_selection import SubsetEstimator, SubsetSearchCV

    rng = np.random.RandomState(0)
    xa = rng.randn(200, 3).astype(np.float32)
    xb = rng.randn(200, 2).astype(np.float32)
    y = (xa[:, 0] + xb[:, 0] > 0).astype(np.int64)
    X = SliceDict(xa=xa, xb=xb)
    torch.manual_seed(0)
    net = NeuralNetClassifier(
        _TwoInputs, max_epochs=2, criterion=torch.nn.CrossEntropyLoss, lr=0.05,
        train_split=None, verbose=0,
    )  # fmt: skip
    for size in (1.0, 0.5):
        search = SubsetSearchCV(
            net, {"lr": (0.01, 0.1)}, n_iter=2, cv=2, subset_size=size,
            random_state=0,
        ).fit(X, y)  # fmt: skip
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    model = SubsetEstimator(net, selector="random", subset_size=0.5, random_state=0)
    assert model.fit(X, y).predict(X).shape == (200,)
