"""Selection kernels in torch (issue 17): the same results as the numpy
kernels, used for views read on a device. On this CPU they run only when
forced (``ON_CPU``); the CUDA tests run in ``benchmarks/gpu_check.sh``."""

import numpy as np
import pytest
import torch

import subsetml._gradops as gradops
from subsetml import LastLayer
from subsetml._gradops import DenseGradients, FactoredGradients, accelerator
from subsetml.selection import CraigSelector, GradMatchSelector
from subsetml.selection._greedy import greedy_facility_location, similarity_kernel
from subsetml.skorch import _kernels
from subsetml.skorch._kernels import TorchKernels


def _dense(n=240, d=6, seed=0):
    return DenseGradients(np.random.RandomState(seed).randn(n, d))


def _factored(n=240, c=3, e=5, seed=0):
    rng = np.random.RandomState(seed)
    return FactoredGradients(rng.randn(n, c), rng.randn(n, e))


OPERATORS = [_dense, _factored]


@pytest.mark.parametrize("make", OPERATORS)
def test_similarity_matches_the_numpy_kernel(make):
    op = make()
    previous = torch.get_float32_matmul_precision()
    S, d_max = TorchKernels("cpu").similarity(op)
    assert torch.get_float32_matmul_precision() == previous
    S_np, d_max_np = similarity_kernel(op)
    assert d_max == pytest.approx(d_max_np, rel=1e-5)
    np.testing.assert_allclose(S.numpy(), S_np, atol=1e-4 * d_max_np)
    np.testing.assert_array_equal(np.diag(S.numpy()), np.full(op.n, d_max, "f4"))


@pytest.mark.parametrize("make", OPERATORS)
@pytest.mark.parametrize("optimizer", ["lazy", "naive", "stochastic"])
def test_facility_location_picks_what_numpy_greedy_picks(make, optimizer):
    op = make()
    picks, owner = TorchKernels("cpu").facility_location(
        op, 25, optimizer=optimizer, rng=np.random.RandomState(3)
    )
    S, _ = similarity_kernel(op)
    expected, expected_owner, _ = greedy_facility_location(
        S, 25, optimizer=optimizer, rng=np.random.RandomState(3)
    )
    if not np.array_equal(picks, expected):
        # Only an exact tie may part them (how float32 sums round differs
        # between numpy versions): here two rows near each other and far
        # from the rest tie by symmetry. The objective climbs alike.
        np.testing.assert_allclose(
            _coverage(S, picks), _coverage(S, expected), rtol=1e-6
        )
        return
    np.testing.assert_array_equal(owner, expected_owner)


def _coverage(S, picks):
    """The facility-location objective after each pick."""
    S = S.astype(np.float64)
    return [S[:, picks[: i + 1]].max(axis=1).sum() for i in range(len(picks))]


def test_facility_location_refuses_a_bad_budget():
    with pytest.raises(ValueError, match="k must lie"):
        TorchKernels("cpu").facility_location(_dense(n=10), 11)


@pytest.mark.parametrize("make", OPERATORS)
def test_device_operator_products_match(make):
    op = make().astype(np.float32)
    dev = TorchKernels("cpu").operator(op)
    v = np.random.RandomState(1).randn(op.dim)
    np.testing.assert_allclose(dev.dot(v), op.dot(v), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dev.sq_norms(), op.sq_norms(), rtol=1e-5)
    assert dev.n == op.n and dev.dim == op.dim  # the rest is the operator's


def test_accelerator_is_used_for_device_views_of_enough_rows(monkeypatch):
    big = DenseGradients(np.zeros((gradops.MIN_ACCELERATED_ROWS, 2)), "cpu")
    assert accelerator(big) is None  # numpy is as fast on a CPU
    assert accelerator(DenseGradients(np.zeros((5000, 2)))) is None  # no device
    assert accelerator(DenseGradients(np.zeros((5000, 2)), "no-such-device")) is None
    for device in ("mps", "xpu", "meta", "cuda:99"):
        # Not CUDA, or no such GPU here: the numpy kernels.
        assert accelerator(DenseGradients(np.zeros((5000, 2)), device)) is None
    if not torch.cuda.is_available():
        assert accelerator(DenseGradients(np.zeros((5000, 2)), "cuda:0")) is None
    monkeypatch.setattr(_kernels, "ON_CPU", True)
    assert isinstance(accelerator(big), TorchKernels)
    small = DenseGradients(np.zeros((gradops.MIN_ACCELERATED_ROWS - 1, 2)), "cpu")
    assert accelerator(small) is None
    # The device travels with the rows.
    assert big.take([0, 1]).device == "cpu" and big.astype("f4").device == "cpu"
    groups = np.arange(big.n) % 3
    assert big.group_means(groups, 3).device == "cpu"


def test_matvec_kernels_need_a_large_ground_set(monkeypatch):
    # GRAD-MATCH's matching pursuit goes to the device only above
    # MIN_ACCELERATED_MATVEC_ENTRIES (rows x width); below it, where an H200
    # was slower than numpy, the host runs it, even for a device view.
    monkeypatch.setattr(_kernels, "ON_CPU", True)
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_ROWS", 1)
    op = DenseGradients(np.zeros((2000, 4)), "cpu")
    assert isinstance(accelerator(op), TorchKernels)  # greedy kernels: yes
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_MATVEC_ENTRIES", 8001)
    assert accelerator(op, matvec=True) is None
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_MATVEC_ENTRIES", 8000)
    assert isinstance(accelerator(op, matvec=True), TorchKernels)

    used = []
    original = TorchKernels.operator

    def spy(self, *args, **kwargs):
        used.append(True)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TorchKernels, "operator", spy)
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_MATVEC_ENTRIES", 10**9)
    on_host = GradMatchSelector(random_state=0).select(_view("cpu"), 0.1)
    assert not used
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_MATVEC_ENTRIES", 1)
    on_device = GradMatchSelector(random_state=0).select(_view("cpu"), 0.1)
    assert used
    np.testing.assert_array_equal(on_device.indices, on_host.indices)


def _view(device, n=600, seed=0):
    rng = np.random.RandomState(seed)
    p = rng.dirichlet(np.ones(3), size=n)
    return LastLayer(rng.randn(n, 4), p, rng.randint(3, size=n), device=device)


@pytest.mark.parametrize(
    "selector",
    [
        CraigSelector(random_state=0),
        CraigSelector(optimizer="stochastic", random_state=0),
        CraigSelector(gradients="full", per_class=False, random_state=0),
        GradMatchSelector(random_state=0),
        GradMatchSelector(gradients="full", random_state=0),
    ],
    ids=["craig", "craig-stochastic", "craig-full", "gradmatch", "gradmatch-full"],
)
def test_selectors_give_the_same_subset_on_the_device(selector, monkeypatch):
    host = selector.select(_view(None), 0.1)
    monkeypatch.setattr(_kernels, "ON_CPU", True)
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_ROWS", 1)
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_MATVEC_ENTRIES", 1)
    used = []
    for name in ("facility_location", "operator"):
        original = getattr(TorchKernels, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            used.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(TorchKernels, name, spy)
    device = selector.select(_view("cpu"), 0.1)
    assert used  # the torch kernels ran
    np.testing.assert_array_equal(device.indices, host.indices)
    np.testing.assert_allclose(device.weights, host.weights, rtol=1e-4)


def test_a_net_view_knows_its_device():
    from skorch import NeuralNetClassifier

    from subsetml.skorch import lastlayer_from_net

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Linear(4, 8)
            self.head = torch.nn.Linear(8, 3)

        def forward(self, X):
            return self.head(torch.relu(self.body(X)))

    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype(np.float32)
    y = rng.randint(3, size=60)
    net = NeuralNetClassifier(
        Net,
        max_epochs=1,
        train_split=None,
        verbose=0,
        criterion=torch.nn.CrossEntropyLoss,
    ).fit(X, y)
    view = lastlayer_from_net(net, X, y)
    assert view.device == "cpu"
    assert view.take([0, 1]).device == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_kernels_match_the_host():
    op = _factored(n=2000)
    picks, owner = TorchKernels("cuda").facility_location(op, 50)
    S, _ = similarity_kernel(op)
    expected, expected_owner, _ = greedy_facility_location(S, 50, optimizer="naive")
    # Float rounding on the GPU may swap near-ties: compare the objective.
    ref = float(S.max(axis=0).sum())
    got = float(S[picks].max(axis=0).sum())
    want = float(S[expected].max(axis=0).sum())
    assert got >= want - 1e-5 * ref
    # 2,000 rows per class: above MIN_ACCELERATED_ROWS, so on the GPU, with
    # full float32 products even where TF32 is allowed.
    used = []
    original = TorchKernels.facility_location

    def spy(self, *args, **kwargs):
        used.append(self.device.type)
        return original(self, *args, **kwargs)

    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        TorchKernels.facility_location = spy
        subset = CraigSelector(random_state=0).select(_view("cuda", n=6000), 0.05)
    finally:
        TorchKernels.facility_location = original
        torch.set_float32_matmul_precision(previous)
    assert used == ["cuda"] * 3  # one ground set per class
    assert torch.get_float32_matmul_precision() == previous
    host = CraigSelector(random_state=0).select(_view(None, n=6000), 0.05)
    overlap = np.intersect1d(subset.indices, host.indices).size / host.size
    assert overlap >= 0.95  # the same picks up to near-ties


def test_facility_location_falls_back_to_numpy_without_device_memory(monkeypatch):
    from subsetml.selection._greedy import craig_ground

    def no_room(self, op):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(_kernels, "ON_CPU", True)
    monkeypatch.setattr(gradops, "MIN_ACCELERATED_ROWS", 1)
    monkeypatch.setattr(TorchKernels, "similarity", no_room)
    op = _dense()
    op.device = "cpu"
    picks, weights = craig_ground(op, 20, rng=np.random.RandomState(0))
    expected, _ = craig_ground(_dense(), 20, rng=np.random.RandomState(0))
    np.testing.assert_array_equal(picks, expected)
    assert weights.sum() == op.n
