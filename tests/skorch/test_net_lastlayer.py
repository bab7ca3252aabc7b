"""LastLayer from a skorch net: hooks on the final Linear layer."""

import pickle

import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor

from subsetml import LastLayer
from subsetml.skorch._lastlayer import lastlayer_from_net


class MLP(torch.nn.Module):
    def __init__(self, n_in=6, hidden=8, n_out=3, softmax=False):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU())
        self.head = torch.nn.Linear(hidden, n_out)
        self.softmax = softmax

    def forward(self, X):
        z = self.head(self.body(X))
        return torch.softmax(z, dim=-1) if self.softmax else z


class NoLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 3, 6)

    def forward(self, X):
        return self.conv(X[:, None, :])[:, :, 0]


class LinearThenSum(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(6, 4)

    def forward(self, X):
        return self.lin(X).sum(dim=1, keepdim=True)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.randn(90, 6).astype(np.float32)
    y = np.arange(90) % 3
    return X, y


def _clf(module=MLP, **kw):
    kw.setdefault("criterion", torch.nn.CrossEntropyLoss)
    kw.setdefault("batch_size", 16)
    return NeuralNetClassifier(module, max_epochs=2, train_split=None, verbose=0, **kw)


def test_features_and_probabilities_match_a_manual_pass(data):
    X, y = data
    net = _clf().fit(X, y)
    view = lastlayer_from_net(net, X, y)
    assert isinstance(view, LastLayer) and view.task == "classification"
    with torch.no_grad():
        h = net.module_.body(torch.as_tensor(X))
        p = torch.softmax(net.module_.head(h), dim=1)
    np.testing.assert_allclose(view.features, h.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(view.outputs, p.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(view.y, y)
    # all 90 rows, whatever the batch size (16 does not divide 90)
    assert view.features.shape == (90, 8)


def test_softmax_module_and_unknown_labels(data):
    X, y = data
    net = _clf(module__softmax=True, criterion=torch.nn.NLLLoss).fit(X, y)
    view = lastlayer_from_net(net, X, y)
    np.testing.assert_array_equal(view.y, y)
    np.testing.assert_allclose(view.outputs.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(view.outputs, net.predict_proba(X), rtol=1e-4)
    with pytest.raises(ValueError, match="not fitted on"):
        lastlayer_from_net(net, X, np.where(y == 1, 5, y))


def test_eval_mode_and_no_gradients(data):
    X, y = data
    net = _clf().fit(X, y)
    seen = []
    net.module_.head.register_forward_hook(
        lambda m, i, o: seen.append((m.training, torch.is_grad_enabled()))
    )
    lastlayer_from_net(net, X, y)
    assert seen and all(not training and not grad for training, grad in seen)


def test_regression(data):
    X, _ = data
    y = X[:, :1] * 2.0
    net = NeuralNetRegressor(
        MLP, module__n_out=1, max_epochs=2, train_split=None, verbose=0
    ).fit(X, y)
    view = lastlayer_from_net(net, X, y)
    assert view.task == "regression" and view.outputs.shape == (90, 1)
    np.testing.assert_allclose(
        view.outputs[:, 0], net.predict(X)[:, 0], rtol=1e-5, atol=1e-6
    )


def test_module_without_final_linear_is_refused(data):
    X, y = data
    net = _clf(module=NoLinear).fit(X, y)
    with pytest.raises(ValueError, match="has no torch.nn.Linear layer"):
        lastlayer_from_net(net, X, y)
    reg = NeuralNetRegressor(
        LinearThenSum, max_epochs=1, train_split=None, verbose=0
    ).fit(X, X[:, :1])
    with pytest.raises(ValueError, match="must end in a torch.nn.Linear"):
        lastlayer_from_net(reg, X, X[:, :1])


def test_hooks_are_removed_and_net_still_pickles(data):
    X, y = data
    net = _clf().fit(X, y)
    lastlayer_from_net(net, X, y)
    assert not net.module_.head._forward_hooks
    net2 = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(net2.predict_proba(X), net.predict_proba(X))


def test_unfitted_net_and_bad_task(data):
    from skorch.exceptions import NotInitializedError

    X, y = data
    with pytest.raises(NotInitializedError):
        lastlayer_from_net(_clf(), X, y)
    net = _clf().fit(X, y)
    with pytest.raises(ValueError, match="task must be"):
        lastlayer_from_net(net, X, y, task="ranking")


def test_from_estimator_reads_a_skorch_net(data):
    X, y = data
    net = _clf().fit(X, y)
    a = LastLayer.from_estimator(net, X, y)
    b = lastlayer_from_net(net, X, y)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.outputs, b.outputs)


# ------------------------------------------------------------ raw chunks
def test_chunked_pass_equals_the_batched_loop(data, monkeypatch):
    # Arrays (alone, in skorch's Dataset, or in the Subset of a train split)
    # take large chunks through evaluation_step instead of batch_size rows
    # through the DataLoader: the same view, far fewer Python steps.
    from skorch.dataset import Dataset

    import subsetml.skorch._lastlayer as mod

    X, y = data
    net = _clf().fit(X, y)
    with monkeypatch.context() as m:
        m.setattr(mod, "_plain_inputs", lambda net, X: None)  # skorch's loop
        loop = lastlayer_from_net(net, X, y)
    chunks = []
    real = mod._raw_outputs

    def counting(*args):
        for out in real(*args):
            chunks.append(out.shape[0])
            yield out

    monkeypatch.setattr(mod, "_raw_outputs", counting)
    for given in (X, torch.from_numpy(X), Dataset(X, y)):
        chunks.clear()
        view = lastlayer_from_net(net, given, y)
        assert chunks == [90]  # one chunk, not ceil(90 / batch_size)
        # float32 products of other shapes round differently (4e-8 seen on a
        # value near zero, beyond any rtol): an absolute tolerance as well.
        np.testing.assert_allclose(view.features, loop.features, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(view.outputs, loop.outputs, rtol=1e-6, atol=1e-6)
    rows = np.array([5, 0, 17, 33, 2])
    view = lastlayer_from_net(
        net, torch.utils.data.Subset(Dataset(X, y), rows), y[rows]
    )
    np.testing.assert_allclose(view.features, loop.features[rows], rtol=1e-6, atol=1e-6)


def test_chunks_respect_the_memory_budget(data, monkeypatch):
    import subsetml.skorch._lastlayer as mod

    X, y = data
    net = _clf(batch_size=8).fit(X, y)
    # 6 float32 columns = 24 bytes a row; a 240-byte budget gives 10 rows,
    # more than the batch size.
    monkeypatch.setattr(mod, "_CHUNK_BYTES", 240)
    sizes = [o.shape[0] for o in mod._raw_outputs(net, X, None)]
    assert sizes == [10] * 9
    monkeypatch.setattr(mod, "_CHUNK_BYTES", 24)  # never below batch_size
    assert [o.shape[0] for o in mod._raw_outputs(net, X, None)][:2] == [8, 8]
    # On the CPU, chunks hold at most _CPU_CHUNK_ROWS rows (cache-sized
    # activations), though never fewer than a batch.
    monkeypatch.setattr(mod, "_CHUNK_BYTES", 2**20)
    monkeypatch.setattr(mod, "_CPU_CHUNK_ROWS", 25)
    assert [o.shape[0] for o in mod._raw_outputs(net, X, None)] == [25, 25, 25, 15]
    monkeypatch.setattr(mod, "_CPU_CHUNK_ROWS", 4)
    assert [o.shape[0] for o in mod._raw_outputs(net, X, None)][:2] == [8, 8]


def test_custom_datasets_and_collate_keep_the_loop(data):
    from skorch.dataset import Dataset
    from torch.utils.data import default_collate

    import subsetml.skorch._lastlayer as mod

    X, y = data

    class Doubled(Dataset):
        def transform(self, X, y):
            X, y = super().transform(X, y)
            return 2 * X, y

    net = _clf().fit(X, y)
    assert mod._plain_inputs(net, X) is not None
    assert mod._plain_inputs(net, {"X": X}) is None
    assert mod._plain_inputs(net, Doubled(X, y)) is None
    assert mod._plain_inputs(_clf(dataset=Doubled), X) is None
    assert (
        mod._plain_inputs(_clf(iterator_valid__collate_fn=default_collate), X) is None
    )
    # A custom Dataset's transform is honoured.
    doubled = lastlayer_from_net(net, Doubled(X, y), y)
    plain = lastlayer_from_net(net, 2 * X, y)
    np.testing.assert_allclose(doubled.features, plain.features, rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_chunked_pass_matches_the_cpu(data):
    X, y = data
    net = _clf(device="cuda").fit(X, y)
    view = lastlayer_from_net(net, X, y)
    cpu = _clf().initialize()
    cpu.module_.load_state_dict(
        {k: v.cpu() for k, v in net.module_.state_dict().items()}
    )
    ref = lastlayer_from_net(cpu, X, y)
    np.testing.assert_allclose(view.features, ref.features, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(view.outputs, ref.outputs, rtol=1e-4, atol=1e-5)
