"""refit_check's last try for nets: when every refit collapsed, the first
configuration is refit once more and ends at its epoch of lowest training
loss (``KeepLowestTrainLoss``)."""

import math
import pickle

import numpy as np
import optuna
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback

from subsetml.model_selection import SubsetSearchCV
from subsetml.skorch import KeepLowestTrainLoss
from subsetml.skorch._adapter import KEEP_LOWEST, SKORCH_ADAPTER

pytestmark = [
    pytest.mark.filterwarnings("ignore:BruteForceSampler is experimental"),
    pytest.mark.filterwarnings("ignore:search_spaces.*two choices"),
]


class MLP(torch.nn.Module):
    def __init__(self, n_in=64, hidden=32, n_out=10):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU())
        self.head = torch.nn.Linear(hidden, n_out)

    def forward(self, X):
        return self.head(self.body(X))


class DivergeOnAllRows(Callback):
    """From epoch ``after + 1`` on, when trained on more than ``limit``
    rows, sets every weight to NaN before the epoch: the net then predicts
    one class, as a net whose learning rate diverges on all rows does. On
    fewer rows (a CV fold) it does nothing."""

    def __init__(self, limit=1300, after=5):
        self.limit = limit
        self.after = after

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if len(dataset_train) > self.limit and len(net.history) > self.after:
            with torch.no_grad():
                for p in net.module_.parameters():
                    p.fill_(float("nan"))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y.astype(np.int64)


def _net(**kw):
    params = dict(
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=8,
        batch_size=64,
        train_split=None,
        verbose=0,
        lr=0.2,
        callbacks=[("diverge", DivergeOnAllRows())],
    )
    params.update(kw)
    return NeuralNetClassifier(MLP, **params)


def test_the_callback_ends_at_the_epoch_of_lowest_training_loss(digits):
    X, y = digits
    torch.manual_seed(0)
    net = _net(
        callbacks=[("diverge", DivergeOnAllRows(limit=0, after=5))],
        optimizer__momentum=0.9,
    )
    net.set_params(callbacks=[*net.callbacks, (KEEP_LOWEST, KeepLowestTrainLoss())])
    net.fit(X, y)
    losses = net.history[:, "train_loss"]
    assert all(math.isfinite(v) for v in losses[:5])
    assert not any(math.isfinite(v) for v in losses[5:])  # NaN from epoch 6
    keep = dict(net.callbacks_)[KEEP_LOWEST]
    assert keep.best_epoch_ == int(np.argmin(losses[:5])) + 1
    assert keep.best_loss_ == pytest.approx(min(losses[:5]))
    assert net.score(X, y) > 0.5  # the weights of that epoch (NaN: 0.1)
    # The optimiser's momentum is that of the same epoch, not NaN.
    buffers = [
        s["momentum_buffer"] for s in net.optimizer_.state_dict()["state"].values()
    ]
    assert buffers and all(torch.isfinite(b).all() for b in buffers)
    # Fitted, it pickles without a second copy of the weights.
    assert pickle.loads(pickle.dumps(net)).score(X, y) == net.score(X, y)
    assert keep._states is None


def test_without_a_finite_training_loss_the_weights_are_left_as_they_are(digits):
    X, y = digits
    net = _net(callbacks=[("diverge", DivergeOnAllRows(limit=0, after=0))])
    net.set_params(callbacks=[*net.callbacks, (KEEP_LOWEST, KeepLowestTrainLoss())])
    net.fit(X, y)
    assert dict(net.callbacks_)[KEEP_LOWEST].best_epoch_ is None
    assert torch.isnan(next(net.module_.parameters())).all()


def test_the_adapter_adds_the_callback_to_a_copy(digits):
    net = _net()
    copy = SKORCH_ADAPTER.keep_lowest_loss(net)
    assert [name for name, _ in copy.callbacks] == ["diverge", KEEP_LOWEST]
    assert [name for name, _ in net.callbacks] == ["diverge"]  # not the original
    assert SKORCH_ADAPTER.keep_lowest_loss(_net(callbacks=None)).callbacks[0][0] == (
        KEEP_LOWEST
    )
    assert SKORCH_ADAPTER.keep_lowest_loss(_net(callbacks="disable")) is None


def _search(estimator, **kw):
    options = dict(
        n_iter=2,
        cv=3,  # folds of 1,198 training rows: no divergence there
        subset_size=1.0,
        optimizer=optuna.samplers.BruteForceSampler(seed=0),  # each lr once
        random_state=0,
        refit_check=True,
    )
    return SubsetSearchCV(estimator, {"lr": [0.2, 0.1]}, **{**options, **kw})


@pytest.mark.parametrize(
    "pipeline, subset_size", [(False, 1.0), (True, 1.0), (False, 0.5)]
)
def test_when_every_refit_collapses_a_net_is_refit_to_its_lowest_loss(
    digits, pipeline, subset_size
):
    X, y = digits
    torch.manual_seed(0)
    net = _net()
    estimator = make_pipeline(StandardScaler(), net) if pipeline else net
    space = {"neuralnetclassifier__lr" if pipeline else "lr": [0.2, 0.1]}
    # On half-subsets the trials are re-scored on whole folds (rescore).
    search = _search(estimator, subset_size=subset_size)
    search.set_params(search_spaces=space)
    with pytest.warns(UserWarning, match="lowest training loss") as record:
        search.fit(X, y)
    # Both configurations collapsed on all rows (NaN from the sixth epoch).
    assert [c["collapsed"] for c in search.collapsed_refits_] == [True, True]
    message = next(
        str(w.message) for w in record if "lowest training" in str(w.message)
    )
    assert "that refit passed, and best_estimator_ is it" in message
    # Its history still ends in NaN, but its weights do not: no second
    # warning that the refit net diverged.
    assert not any("training loss went from" in str(w.message) for w in record)
    first = search.collapsed_refits_[0]["index"]
    assert search.best_index_ == first
    assert search.score(X, y) > 0.5  # NaN weights: 0.1
    fitted = search.best_estimator_[-1] if pipeline else search.best_estimator_
    keep = dict(fitted.callbacks_)[KEEP_LOWEST]
    assert keep.best_epoch_ <= 5
    assert search.compute_report_["n_collapsed_refits"] == 2


def test_without_the_last_try_the_collapsed_refit_is_kept(digits):
    # The same search with callbacks that cannot take one more ("disable"
    # would drop the diverging callback too, so the test breaks the train
    # loss instead): the collapsed refit of the best stays, as before.
    X, y = digits
    torch.manual_seed(0)
    net = _net(callbacks__train_loss=None)
    with pytest.warns(UserWarning, match="is the collapsed refit"):
        search = _search(net).fit(X, y)
    assert search.score(X, y) < 0.2


def test_keep_lowest_compares_an_adaselection_nets_epochs_after_its_warm_up():
    # After the warm-up, train_loss is the kept (big-loss) rows' loss, far
    # above the warm-up's whole-batch loss: the warm-up's last epoch always
    # won, and the net went back to it (a review: 0.926 against 0.970).
    from subsetml.skorch import AdaSelectionClassifier

    X, y = load_digits(return_X_y=True)
    X = (X[:600] / 16).astype(np.float32)
    y = y[:600]
    torch.manual_seed(0)
    net = AdaSelectionClassifier(
        MLP,
        criterion=torch.nn.CrossEntropyLoss,
        policies="big_loss",
        sampling_rate=0.2,
        warmup_epochs=3,
        max_epochs=6,
        lr=0.2,
        train_split=False,
        verbose=0,
        random_state=0,
        callbacks=[("keep", KeepLowestTrainLoss())],
    ).fit(X, y)
    losses = net.history[:, "train_loss"]
    assert min(losses[:3]) < min(losses[3:])  # the case: warm-up looks best
    keep = dict(net.callbacks_)["keep"]
    assert keep.best_epoch_ > 3
    assert keep.best_loss_ == min(losses[3:])
