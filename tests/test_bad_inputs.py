"""The bad-input matrix (issue 16, item 5): every public estimator, every bad input.

Each row of ``CASES`` is one bad input given to one public entry point:

    row(<short id>, <target>, <changes...>, expect=<type>, match=<regex>)

* ``target`` names an entry of ``TARGETS``: how the estimator is built (small,
  seeded, a few rows of data, one or two trials or epochs), what data it gets
  by default (60 rows, 4 features; 3 classes or one regression target) and
  how it is called (``fit``, ``fit_resample``, ``select``, a ``LastLayer``
  constructor).
* ``changes`` turn that good call into a bad one: the data (``NAN_X``,
  ``X_1D``, ``SINGLE_CLASS``, ...), constructor parameters (``P(...)``),
  arguments of the call (``FIT(...)``: ``sample_weight``, a selector's
  ``budget``, ``LastLayer`` keywords) or ``set_params`` before it (``SET(...)``).
* ``expect``/``match``: the clear outcome. An exception class means the call
  must raise it (``ValueError``/``TypeError`` or a subclass), with a message
  matching ``match`` that names the problem, from the validation of subsetml,
  scikit-learn or skorch (the frame that raised it must be in one of those
  packages, not in numpy or torch), and *early*: before any trial of a search
  starts a fit, before the estimator wrapped by ``SubsetEstimator`` finishes
  its fit, before any epoch of a net ends. A ``Warning`` subclass means the
  input is legal but dubious: the call must warn (``pytest.warns`` with
  ``match``).

A row where subsetml does not meet that bar may be marked ``xfail(strict=True)``
(``row(..., xfail="what happens now")``) until it is fixed. None is now: when
the matrix was written, 40 of its 146 rows were marked (silent, cryptic or
late), and the fixes that followed cleared them all.

Not in the matrix, on purpose: 1-D, 3-D and sparse ``X`` for the nets (skorch
nets take whatever their module takes, CSR included). Bad inputs that the
per-module tests already check (``tests/selection/test_common.py``,
``tests/sampling/test_sampler.py``, ``tests/skorch``, ``tests/model_selection``,
``tests/test_lastlayer.py``) are not repeated as they are: the rows here use
another value, another selector or another estimator for the same kind of input.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning, DataConversionWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from subsetml import LastLayer
from subsetml.model_selection import SubsetEstimator, SubsetSearchCV
from subsetml.sampling import SubsetSampler
from subsetml.selection import (
    CraigSelector,
    GlisterSelector,
    GradMatchSelector,
    RandomSelector,
)

try:
    import torch

    from subsetml.skorch import (
        AdaSelectionClassifier,
        AdaSelectionRegressor,
        SubsetNeuralNetClassifier,
        SubsetNeuralNetRegressor,
    )
except ImportError:  # pragma: no cover - the nets' rows are skipped
    torch = None

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# ----------------------------------------------------------------- the data
N = 60
_rng = np.random.RandomState(0)
X_CLF = _rng.randn(N, 4)
Y_CLF = np.arange(N) % 3
X_REG = _rng.randn(N, 4)
Y_REG = X_REG @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * _rng.randn(N)

# ------------------------------------------------- counting what was trained
FITS = {"started": 0, "finished": 0}


def _counted(fit, *args, **kwargs):
    FITS["started"] += 1
    out = fit(*args, **kwargs)
    FITS["finished"] += 1
    return out


class CountingLogisticRegression(LogisticRegression):
    def fit(self, X, y, sample_weight=None):
        return _counted(super().fit, X, y, sample_weight=sample_weight)


class CountingRidge(Ridge):
    def fit(self, X, y, sample_weight=None):
        return _counted(super().fit, X, y, sample_weight=sample_weight)


class CountingGaussianNB(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        return _counted(super().fit, X, y, sample_weight=sample_weight)


class CountingKNN(KNeighborsClassifier):
    def fit(self, X, y):
        return _counted(super().fit, X, y)


def _epochs_done(net):
    """Epochs a skorch net finished (skorch records ``dur`` at an epoch's end)."""
    history = getattr(net, "history_", None)
    return 0 if history is None else sum(1 for row in history if "dur" in row)


# ------------------------------------------------------------- torch modules
if torch is not None:

    class MLP(torch.nn.Module):
        """The ordinary module: ends in a Linear layer."""

        def __init__(self, n_out=3):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
            self.head = torch.nn.Linear(8, n_out)

        def forward(self, X):
            return self.head(self.body(X))

    class PooledHead(torch.nn.Module):
        """A Linear layer followed by a layer that mixes its outputs."""

        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 6)
            self.pool = torch.nn.AdaptiveAvgPool1d(3)

        def forward(self, X):
            return self.pool(self.linear(X)[:, None, :])[:, 0, :]

    class ConvOnly(torch.nn.Module):
        """No Linear layer at all."""

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv1d(1, 3, 4)

        def forward(self, X):
            return self.conv(X[:, None, :])[:, :, 0]

    class Columns(torch.nn.Module):
        """Takes a DataFrame's columns as keyword arguments (skorch's way)."""

        def __init__(self, n_out=3):
            super().__init__()
            self.linear = torch.nn.Linear(4, n_out)

        def forward(self, **columns):
            X = torch.stack([columns[k].reshape(-1) for k in sorted(columns)], 1)
            return self.linear(X.float())


# ------------------------------------------------------------------ targets
@dataclass
class Target:
    build: object  # params -> estimator (or None)
    data: object  # () -> (X, y)
    call: object  # (estimator, X, y, kwargs) -> anything
    trained: object = lambda est: 0  # what finished (or started) training
    torch: bool = False


def _clf_data():
    return X_CLF.copy(), Y_CLF.copy()


def _reg_data():
    return X_REG.copy(), Y_REG.copy()


def _net_clf_data():
    return X_CLF.astype(np.float32), Y_CLF.astype(np.int64)


def _net_reg_data():
    return X_REG.astype(np.float32), Y_REG.astype(np.float32)[:, None]


def _fit(est, X, y, kw):
    return est.fit(X, y, **kw)


def _subset_estimator(estimator, data):
    return Target(
        build=lambda p: SubsetEstimator(
            p.pop("estimator") if "estimator" in p else estimator(),
            **{"subset_size": 0.2, "random_state": 0, **p},
        ),
        data=data,
        call=_fit,
        trained=lambda est: FITS["finished"],
    )


def _search(estimator, space, data):
    return Target(
        build=lambda p: SubsetSearchCV(
            p.pop("estimator") if "estimator" in p else estimator(),
            p.pop("search_spaces") if "search_spaces" in p else space,
            **{"n_iter": 2, "cv": 2, "subset_size": 0.3, "random_state": 0, **p},
        ),
        data=data,
        call=_fit,
        # Any fit started means the trials ran: the error came late.
        trained=lambda est: FITS["started"],
    )


def _sampler(data):
    return Target(
        build=lambda p: SubsetSampler(
            **{"selector": "craig", "subset_size": 0.2, "random_state": 0, **p}
        ),
        data=data,
        call=lambda est, X, y, kw: est.fit_resample(X, y, **kw),
    )


def _selector(cls, data, task):
    def call(est, X, y, kw):
        kw = {"budget": 10, **kw}
        return est.select(LastLayer.from_inputs(X, y, task=task), **kw)

    return Target(build=lambda p: cls(**{"random_state": 0, **p}), data=data, call=call)


def _lastlayer(X, y, kw):
    n = X.shape[0]
    if kw.get("task") == "regression":
        outputs = np.zeros(n)
    else:
        outputs = np.full((n, 3), 1 / 3)
    return LastLayer(X, outputs, y, **kw)


def _net(cls, data, **defaults):
    def build(p):
        return cls(**{**defaults, "verbose": 0, "train_split": None, **p})

    return Target(build=build, data=data, call=_fit, trained=_epochs_done, torch=True)


def _targets():
    targets = {
        "SubsetEstimator": _subset_estimator(CountingLogisticRegression, _clf_data),
        "SubsetEstimator-reg": _subset_estimator(CountingRidge, _reg_data),
        "SubsetSearchCV": _search(
            CountingLogisticRegression, {"C": (0.1, 10.0, "log-uniform")}, _clf_data
        ),
        "SubsetSearchCV-reg": _search(
            CountingRidge, {"alpha": (0.1, 10.0, "log-uniform")}, _reg_data
        ),
        "SubsetSampler": _sampler(_clf_data),
        "SubsetSampler-reg": _sampler(_reg_data),
        "CraigSelector": _selector(CraigSelector, _clf_data, "auto"),
        "GradMatchSelector": _selector(GradMatchSelector, _clf_data, "auto"),
        "GlisterSelector": _selector(GlisterSelector, _clf_data, "auto"),
        "RandomSelector": _selector(RandomSelector, _clf_data, "auto"),
        "RandomSelector-reg": _selector(RandomSelector, _reg_data, "regression"),
        "LastLayer": Target(
            build=lambda p: None,
            data=_clf_data,
            call=lambda est, X, y, kw: _lastlayer(X, y, kw),
        ),
        "LastLayer.from_inputs": Target(
            build=lambda p: None,
            data=_clf_data,
            call=lambda est, X, y, kw: LastLayer.from_inputs(X, y, **kw),
        ),
        "LastLayer.from_proxy": Target(
            build=lambda p: None,
            data=_clf_data,
            call=lambda est, X, y, kw: LastLayer.from_proxy(X, y, **kw),
        ),
    }
    if torch is not None:
        clf = {"criterion": torch.nn.CrossEntropyLoss, "batch_size": 20}
        ada = {"sampling_rate": 0.5, "random_state": 0}
        # One warm-up epoch on all rows, then two subset epochs.
        subset = {
            "max_epochs": 4,
            "subset_size": 0.5,
            "warm_up": 0.5,
            "select_every": 1,
            "selector": "craig",
            "random_state": 0,
        }
        targets.update(
            {
                "AdaSelectionClassifier": _net(
                    AdaSelectionClassifier,
                    _net_clf_data,
                    module=MLP,
                    max_epochs=2,
                    **clf,
                    **ada,
                ),
                "AdaSelectionRegressor": _net(
                    AdaSelectionRegressor,
                    _net_reg_data,
                    module=MLP,
                    module__n_out=1,
                    max_epochs=2,
                    batch_size=20,
                    **ada,
                ),
                "SubsetNeuralNetClassifier": _net(
                    SubsetNeuralNetClassifier,
                    _net_clf_data,
                    module=MLP,
                    **clf,
                    **subset,
                ),
                "SubsetNeuralNetRegressor": _net(
                    SubsetNeuralNetRegressor,
                    _net_reg_data,
                    module=MLP,
                    module__n_out=1,
                    batch_size=20,
                    **subset,
                ),
            }
        )
    return targets


TARGETS = _targets()
_NET_TARGETS = {
    "AdaSelectionClassifier",
    "AdaSelectionRegressor",
    "SubsetNeuralNetClassifier",
    "SubsetNeuralNetRegressor",
}


# ------------------------------------------------------------------ changes
@dataclass
class Call:
    X: object
    y: object
    params: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)
    set_params: dict = field(default_factory=dict)


def P(**params):
    """Constructor parameters."""

    def change(call):
        call.params.update(params)

    return change


def FIT(**kwargs):
    """Keyword arguments of the call (``sample_weight``, ``budget``, ...)."""

    def change(call):
        call.kwargs.update(kwargs)

    return change


def SET(**params):
    """``set_params`` just before the call."""

    def change(call):
        call.set_params.update(params)

    return change


def MODULE(name):
    """A net's module, by name (the modules exist only with torch)."""

    def change(call):
        call.params["module"] = globals()[name]

    return change


def _data(fn):
    def change(call):
        call.X, call.y = fn(call.X, call.y)

    return change


def _put(a, value):
    a = np.array(a, dtype=np.result_type(a.dtype, np.float32))
    a[(3,) + (0,) * (a.ndim - 1)] = value
    return a


def _strings(y, dtype):
    labels = np.where(np.arange(len(y)) % 2 == 0, "a", "b").astype(dtype)
    return labels.reshape(np.shape(y))


def _frame(X):
    return pd.DataFrame(X, columns=["a", "b", "c", "d"])


NAN_X = _data(lambda X, y: (_put(X, np.nan), y))
INF_X = _data(lambda X, y: (_put(X, np.inf), y))
NAN_Y = _data(lambda X, y: (X, _put(y, np.nan)))
INF_Y = _data(lambda X, y: (X, _put(y, np.inf)))
X_1D = _data(lambda X, y: (X[:, 0], y))
X_3D = _data(lambda X, y: (X[:, :, None], y))
X_SHORT = _data(lambda X, y: (X[:-5], y))
Y_SHORT = _data(lambda X, y: (X, y[:-3]))
EMPTY = _data(lambda X, y: (X[:0], y[:0]))
NO_COLUMNS = _data(lambda X, y: (X[:, :0], y))
COMPLEX_X = _data(lambda X, y: (X + 1j * np.ones_like(X), y))
SPARSE_X = _data(lambda X, y: (sparse.csr_matrix(X), y))
FRAME_NAN_X = _data(lambda X, y: (_frame(_put(X, np.nan)), y))
FRAME_INF_X = _data(lambda X, y: (_frame(_put(X, np.inf)), y))
FRAME_NAN_Y = _data(lambda X, y: (_frame(X), pd.Series(_put(y, np.nan))))
Y_NONE = _data(lambda X, y: (X, None))
Y_STRINGS = _data(lambda X, y: (X, _strings(y, str)))
Y_OBJECT_STRINGS = _data(lambda X, y: (X, _strings(y, object)))
Y_CONTINUOUS = _data(
    lambda X, y: (X, Y_REG.astype(np.result_type(y.dtype, np.float32)))
)
Y_FLOAT_LABELS = _data(lambda X, y: (X, y.astype(np.float32)))
Y_COLUMN = _data(lambda X, y: (X, y[:, None]))
Y_TWO_TARGETS = _data(lambda X, y: (X, np.column_stack([y, y])))
SINGLE_CLASS = _data(lambda X, y: (X, np.zeros_like(y)))
SINGLE_CLASS_STR = _data(lambda X, y: (X, np.full(len(y), "a")))
ONE_MEMBER_CLASS = _data(lambda X, y: (X, (np.arange(len(y)) == 7).astype(int)))
WEIGHTS_SHORT = FIT(sample_weight=np.ones(N - 1))
WEIGHTS_NAN = FIT(sample_weight=_put(np.ones(N), np.nan))
WEIGHTS_NEGATIVE = FIT(sample_weight=_put(np.ones(N), -1.0))
FULL_DATA = P(subset_size=1.0)  # a search without selection: trials see X as given


def _view_of_10_rows(X, y):
    return LastLayer.from_inputs(X[:10], y[:10])


# ------------------------------------------------------------------ the rows
def row(case_id, target, *changes, expect, match, xfail=None):
    marks = []
    if xfail is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=xfail))
    if target in _NET_TARGETS and torch is None:  # pragma: no cover
        marks.append(pytest.mark.skip(reason="needs torch and skorch"))
    return pytest.param(
        target, changes, expect, match, id=f"{target}-{case_id}", marks=marks
    )


SE, SER = "SubsetEstimator", "SubsetEstimator-reg"
SS, SSR = "SubsetSearchCV", "SubsetSearchCV-reg"
SM, SMR = "SubsetSampler", "SubsetSampler-reg"
LL, FI, FP = "LastLayer", "LastLayer.from_inputs", "LastLayer.from_proxy"
ADA, ADAR = "AdaSelectionClassifier", "AdaSelectionRegressor"
SNN, SNNR = "SubsetNeuralNetClassifier", "SubsetNeuralNetRegressor"
NAN = float("nan")

_SUBSET_SIZE_FLOAT = r"subset_size given as a float .* must lie in \(0, 1\]"
_SUBSET_SIZE_TYPE = "subset_size must be an int"

# fmt: off
CASES = [
    # ---------------------------------------------------- SubsetEstimator
    row("nan-X-random", SE, NAN_X, P(selector="random"), expect=ValueError,
        match="Input X contains NaN.(.|\n)*imput"),
    row("inf-X", SE, INF_X, expect=ValueError, match="infinity"),
    row("nan-y", SE, NAN_Y, expect=ValueError, match="y contains NaN"),
    row("1d-X", SE, X_1D, expect=ValueError, match="Expected 2D array"),
    row("3d-X", SE, X_3D, expect=ValueError, match="dim 3"),
    row("X-shorter-than-y", SE, X_SHORT, expect=ValueError,
        match="inconsistent numbers of samples"),
    row("0-rows", SE, EMPTY, expect=ValueError, match="0 sample"),
    row("0-columns", SE, NO_COLUMNS, expect=ValueError, match="0 feature"),
    row("continuous-y", SE, Y_CONTINUOUS, expect=ValueError,
        match="Unknown label type: continuous"),
    row("single-class-strings", SE, SINGLE_CLASS_STR, expect=ValueError,
        match="only one class"),
    row("lastlayer-estimator-without-predict_proba", SE,
        P(lastlayer="estimator", estimator=LinearSVC(), selector="craig"),
        expect=ValueError, match="LinearSVC, which has no predict_proba.*'proxy'"),
    row("budget-below-n-classes", SE, P(subset_size=0.02), expect=UserWarning,
        match="fewer than the 3 classes; raised to 3"),
    row("subset_size-negative", SE, P(subset_size=-3), expect=ValueError,
        match="subset_size must be at least 1 row"),
    row("subset_size-nan", SE, P(subset_size=NAN), expect=ValueError,
        match=_SUBSET_SIZE_FLOAT),
    row("subset_size-bool", SE, P(subset_size=True), expect=TypeError,
        match=_SUBSET_SIZE_TYPE),
    row("subset_size-float-above-1", SE, P(subset_size=2.0), expect=ValueError,
        match=_SUBSET_SIZE_FLOAT),
    row("subset_size-more-rows-than-data", SE, P(subset_size=N + 1),
        expect=ValueError, match="more than the 60 rows"),
    row("unknown-param-set_params", SE, SET(subset_sizes=0.1), expect=ValueError,
        match="Invalid parameter 'subset_sizes'"),
    row("selector-class-not-instance", SE, P(selector=CraigSelector),
        expect=TypeError, match="instance"),
    row("use_weights-True-no-sample_weight", SE,
        P(estimator=make_pipeline(StandardScaler(), CountingKNN(3)),
          use_weights=True),
        expect=ValueError, match="does not take sample_weight"),
    row("use_weights-auto-no-sample_weight", SE,
        P(estimator=make_pipeline(StandardScaler(), CountingKNN(3))),
        expect=UserWarning, match="does not take sample_weight"),
    row("sample_weight-length", SE, WEIGHTS_SHORT, expect=ValueError,
        match=r"sample_weight\.shape == \(59,\), expected \(60,\)"),
    row("sample_weight-nan", SE, WEIGHTS_NAN, expect=ValueError,
        match="sample_weight contains NaN"),
    row("sample_weight-negative", SE, WEIGHTS_NEGATIVE, expect=ValueError,
        match="(?i)negative"),
    row("complex-X", SE, COMPLEX_X, expect=ValueError,
        match="Complex data not supported"),
    row("sparse-X-dense-only-estimator", SE, SPARSE_X,
        P(estimator=CountingGaussianNB()), expect=TypeError,
        match="Sparse data was passed"),
    row("frame-with-nan", SE, FRAME_NAN_X, expect=ValueError,
        match="NaN or missing values, which CountingLogisticRegression does not"),
    row("y-column-vector", SE, Y_COLUMN, expect=DataConversionWarning,
        match="column-vector y"),
    row("nan-y", SER, NAN_Y, expect=ValueError, match="y contains NaN"),
    row("inf-y", SER, INF_Y, expect=ValueError, match="y contains infinity"),
    row("string-y", SER, Y_STRINGS, expect=ValueError,
        match="dtype='numeric' is not compatible"),
    row("object-string-y", SER, Y_OBJECT_STRINGS, expect=ValueError,
        match="numeric"),
    row("y-None", SER, Y_NONE, expect=ValueError, match="requires y"),
    row("two-label-columns", SE, Y_TWO_TARGETS, expect=ValueError,
        match="multilabel or multi-output classification"),
    # ----------------------------------------------------- SubsetSearchCV
    row("inf-X", SS, INF_X, expect=ValueError, match="infinity"),
    row("nan-X", SS, NAN_X, expect=ValueError,
        match="Input X contains NaN.(.|\n)*imput"),
    row("nan-y", SS, NAN_Y, expect=ValueError, match="y contains NaN"),
    row("1d-X", SS, X_1D, expect=ValueError, match="Expected 2D array"),
    row("1d-X-full-data", SS, X_1D, FULL_DATA, expect=ValueError,
        match="Expected 2D array"),
    row("3d-X", SS, X_3D, expect=ValueError, match="dim 3"),
    row("0-rows", SS, EMPTY, expect=ValueError, match="0 sample"),
    row("0-columns", SS, NO_COLUMNS, expect=ValueError, match="0 feature"),
    row("continuous-y", SS, Y_CONTINUOUS, expect=ValueError,
        match="Unknown label type: continuous"),
    row("single-class", SS, SINGLE_CLASS, expect=ValueError,
        match="y holds one class"),
    row("lastlayer-estimator-without-predict_proba", SS,
        P(lastlayer="estimator", estimator=LinearSVC(), selector="craig",
          search_spaces={"C": (0.1, 10.0, "log-uniform")}),
        expect=ValueError, match="LinearSVC, which has no predict_proba.*'proxy'"),
    row("class-smaller-than-n-folds", SS, ONE_MEMBER_CLASS, P(cv=3),
        expect=ValueError, match="fold"),
    row("budget-below-n-classes", SS, P(subset_size=0.02), expect=UserWarning,
        match="fewer than the 3 classes; raised to 3"),
    row("subset_size-nan", SS, P(subset_size=NAN), expect=ValueError,
        match=_SUBSET_SIZE_FLOAT),
    row("subset_size-bool", SS, P(subset_size=True), expect=TypeError,
        match=_SUBSET_SIZE_TYPE),
    row("subset_size-more-rows-than-fold", SS, P(subset_size=31),
        expect=ValueError, match="more than the 30 rows"),
    row("n_iter-bool", SS, P(n_iter=True), expect=TypeError,
        match="n_iter must be an integer"),
    row("empty-space-in-list", SS, P(search_spaces=[{}]), expect=ValueError,
        match="search_spaces is empty"),
    row("space-name-not-a-parameter", SS,
        P(estimator=Pipeline([("scale", StandardScaler()),
                              ("clf", CountingLogisticRegression())]),
          search_spaces={"clf__CC": (0.1, 1.0)}),
        expect=ValueError, match=r"\['clf__CC'\] are not parameters of Pipeline"),
    row("cv-1", SS, P(cv=1), expect=ValueError,
        match=r"cv.* must be an int in the range \[2, inf\)"),
    row("more-folds-than-rows", SS, P(cv=100), expect=ValueError,
        match="n_splits=100 greater than the number of samples"),
    row("unknown-param-set_params", SS, SET(n_iters=3), expect=ValueError,
        match="Invalid parameter 'n_iters'"),
    row("unknown-scoring", SS, P(scoring="acc"), expect=ValueError,
        match="'scoring' parameter"),
    row("use_weights-True-no-sample_weight", SS,
        P(estimator=CountingKNN(), search_spaces={"n_neighbors": (1, 5)},
          use_weights=True),
        expect=ValueError, match="CountingKNN.fit does not take sample_weight"),
    row("sample_weight-length", SS, WEIGHTS_SHORT, expect=ValueError,
        match="sample_weight has 59 entries for 60 rows"),
    row("sample_weight-nan", SS, WEIGHTS_NAN, expect=ValueError,
        match="sample_weight"),
    row("sample_weight-negative", SS, WEIGHTS_NEGATIVE, expect=ValueError,
        match="(?i)negative"),
    row("y-None", SS, Y_NONE, expect=ValueError, match="requires y"),
    row("complex-X", SS, COMPLEX_X, expect=ValueError,
        match="Complex data not supported"),
    row("sparse-X-dense-only-estimator", SS, SPARSE_X,
        P(estimator=CountingGaussianNB(),
          search_spaces={"var_smoothing": (1e-9, 1e-6, "log-uniform")}),
        expect=TypeError, match="Sparse data was passed"),
    row("frame-with-nan", SS, FRAME_NAN_X, expect=ValueError, match="NaN"),
    row("frame-with-inf", SS, FRAME_INF_X, expect=ValueError, match="infinity"),
    row("frame-with-inf", SE, FRAME_INF_X, expect=ValueError, match="infinity"),
    row("nan-y", SSR, NAN_Y, expect=ValueError, match="y contains NaN"),
    row("nan-y-full-data", SSR, NAN_Y, FULL_DATA, expect=ValueError,
        match="y contains NaN"),
    row("inf-y", SSR, INF_Y, expect=ValueError, match="y contains infinity"),
    row("string-y", SSR, Y_STRINGS, expect=ValueError,
        match="dtype='numeric' is not compatible"),
    row("object-string-y", SSR, Y_OBJECT_STRINGS, expect=ValueError,
        match="numeric"),
    # ------------------------------------------------------ SubsetSampler
    row("1d-X", SM, X_1D, expect=ValueError, match="Expected 2D array"),
    row("3d-X", SM, X_3D, expect=ValueError, match="dim 3"),
    row("0-rows", SM, EMPTY, expect=ValueError, match="0 sample"),
    row("0-columns", SM, NO_COLUMNS, expect=ValueError, match="0 feature"),
    row("complex-X", SM, COMPLEX_X, expect=ValueError,
        match="Complex data not supported"),
    row("nan-y", SM, NAN_Y, expect=ValueError, match="y contains NaN"),
    row("continuous-y-classification", SM, Y_CONTINUOUS,
        P(task="classification"), expect=ValueError,
        match="Unknown label type: continuous"),
    row("subset_size-nan", SM, P(subset_size=NAN), expect=ValueError,
        match=_SUBSET_SIZE_FLOAT),
    row("subset_size-bool", SM, P(subset_size=True), expect=TypeError,
        match=_SUBSET_SIZE_TYPE),
    row("unknown-param-set_params", SM, SET(budget=5), expect=ValueError,
        match="Invalid parameter 'budget'"),
    row("budget-below-n-classes-random", SM,
        P(selector=RandomSelector(per_class=True), subset_size=2),
        expect=UserWarning, match="fewer than the 3 classes; raised to 3"),
    row("frame-with-nan", SM, FRAME_NAN_X, expect=ValueError, match="NaN"),
    row("frame-with-nan-y", SM, FRAME_NAN_Y, expect=ValueError,
        match="y contains NaN"),
    row("selector-class-not-instance", SM, P(selector=CraigSelector),
        expect=TypeError, match="instance"),
    row("lastlayer-callable-wrong-rows", SM,
        P(lastlayer=_view_of_10_rows, subset_size=5), expect=ValueError,
        match="rows"),
    row("lastlayer-estimator-without-predict_proba", SM,
        P(lastlayer="estimator", estimator=LinearSVC()), expect=ValueError,
        match="LinearSVC, which has no predict_proba.*'proxy'"),
    row("y-two-columns", SM, Y_TWO_TARGETS, expect=ValueError,
        match="pass task='regression'"),
    row("inf-y", SMR, INF_Y, expect=ValueError, match="y contains infinity"),
    # ----------------------------------------------------------- selectors
    row("budget-nan", "CraigSelector", FIT(budget=NAN), expect=ValueError,
        match=r"budget given as a float .* must lie in \(0, 1\]"),
    row("budget-bool", "GradMatchSelector", FIT(budget=True), expect=TypeError,
        match="budget must be an int"),
    row("budget-string", "GlisterSelector", FIT(budget="10"), expect=TypeError,
        match="budget must be an int"),
    row("budget-None", "RandomSelector", FIT(budget=None), expect=TypeError,
        match="budget must be an int"),
    row("budget-float-count", "CraigSelector", FIT(budget=10.0),
        expect=ValueError, match=r"Pass an int for a row count"),
    row("per_class-on-regression", "RandomSelector-reg", P(per_class=True),
        expect=ValueError, match="per_class=True needs a classification view"),
    row("unknown-param-set_params", "GradMatchSelector", SET(lambda_=1.0),
        expect=ValueError, match="Invalid parameter 'lambda_'"),
    # ----------------------------------------------------------- LastLayer
    row("complex-features", LL, COMPLEX_X, expect=ValueError, match="[Cc]omplex"),
    row("0-features", LL, NO_COLUMNS, expect=ValueError, match="feature"),
    row("regression-object-string-y", LL, Y_OBJECT_STRINGS,
        FIT(task="regression"), expect=ValueError, match="numeric"),
    row("regression-string-y", LL, Y_STRINGS, FIT(task="regression"),
        expect=ValueError, match="numeric"),
    row("1d-X", FI, X_1D, expect=ValueError, match="Expected 2D array"),
    row("complex-X", FI, COMPLEX_X, expect=ValueError,
        match="Complex data not supported"),
    row("inf-X", FI, INF_X, expect=ValueError, match="infinity"),
    row("regression-string-y", FI, Y_STRINGS, FIT(task="regression"),
        expect=ValueError, match="numeric"),
    row("continuous-y-classification", FI, Y_CONTINUOUS,
        FIT(task="classification"), expect=ValueError, match="continuous"),
    row("y-None", FI, Y_NONE, expect=ValueError, match="None"),
    row("max_components-0", FI, SPARSE_X, FIT(max_components=0),
        expect=ValueError, match="max_components"),
    row("sparse-X", FP, SPARSE_X, expect=TypeError, match="Sparse data was passed"),
    row("regularization-bool", FP, FIT(regularization=True), expect=ValueError,
        match="regularization"),
    # ----------------------------------------------- AdaSelectionClassifier
    row("inf-X", ADA, INF_X, expect=ValueError,
        match="X contains NaN or infinity"),
    row("nan-y", ADA, NAN_Y, expect=ValueError, match="y contains NaN or infinity"),
    row("X-shorter-than-y", ADA, X_SHORT, expect=ValueError,
        match="inconsistent lengths"),
    row("0-rows", ADA, EMPTY, expect=ValueError, match="0 rows|0 sample|empty"),
    row("0-columns", ADA, NO_COLUMNS, expect=ValueError, match="column|feature"),
    row("float-y", ADA, Y_FLOAT_LABELS, expect=ValueError,
        match="integer|label"),
    row("continuous-y", ADA, Y_CONTINUOUS, expect=ValueError,
        match="continuous"),
    row("single-class", ADA, SINGLE_CLASS, expect=ValueError, match="one class"),
    row("wrong-n-classes", ADA, P(module__n_out=2), expect=ValueError,
        match="classes"),
    row("sampling_rate-bool", ADA, P(sampling_rate=True), expect=ValueError,
        match=r"sampling_rate must be a number in \(0, 1\], got True"),
    row("sampling_rate-count", ADA, P(sampling_rate=5), expect=ValueError,
        match=r"sampling_rate must be a number in \(0, 1\], got 5"),
    row("unknown-param-set_params", ADA, SET(sampling_rat=0.2), expect=ValueError,
        match="Invalid parameter 'sampling_rat'"),
    row("sample_weight-nan", ADA, WEIGHTS_NAN, expect=ValueError,
        match="sample_weight must be finite"),
    row("sample_weight-length", ADA, WEIGHTS_SHORT, expect=ValueError,
        match=r"sample_weight must have shape \(60,\), got \(59,\)"),
    row("y-None", ADA, Y_NONE, expect=ValueError, match=r"No y-values"),
    row("complex-X", ADA, COMPLEX_X, expect=ValueError, match="[Cc]omplex"),
    row("frame-with-nan", ADA, FRAME_NAN_X, MODULE("Columns"),
        expect=ValueError, match="NaN"),
    row("inf-X", ADAR, INF_X, expect=ValueError,
        match="X contains NaN or infinity"),
    row("object-string-y", ADAR, Y_OBJECT_STRINGS, expect=ValueError,
        match="numeric"),
    row("y-None", ADAR, Y_NONE, expect=ValueError, match=r"No y-values"),
    # -------------------------------------------- SubsetNeuralNetClassifier
    row("inf-X", SNN, INF_X, expect=ValueError,
        match="X contains NaN or infinity"),
    row("y-shorter-than-X", SNN, Y_SHORT, expect=ValueError,
        match="inconsistent lengths"),
    row("0-rows", SNN, EMPTY, expect=ValueError, match="Cannot select from 0 rows"),
    row("0-columns", SNN, NO_COLUMNS, expect=ValueError, match="column|feature"),
    row("float-y", SNN, Y_FLOAT_LABELS, expect=ValueError,
        match="integer|label"),
    row("single-class", SNN, SINGLE_CLASS, expect=ValueError, match="one class"),
    row("wrong-n-classes", SNN, P(module__n_out=2), expect=ValueError,
        match="classes"),
    row("budget-below-n-classes", SNN, P(subset_size=2), expect=UserWarning,
        match="fewer than the 3 classes; raised to 3"),
    row("subset_size-nan", SNN, P(subset_size=NAN), expect=ValueError,
        match=_SUBSET_SIZE_FLOAT),
    row("subset_size-bool", SNN, P(subset_size=True), expect=ValueError,
        match="subset_size must be a fraction in"),
    row("subset_size-more-rows-than-data", SNN, P(subset_size=N + 1),
        expect=ValueError, match="more than the 60 rows"),
    row("unknown-param-set_params", SNN, SET(select_evry=2), expect=ValueError,
        match="Invalid parameter 'select_evry'"),
    row("sample_weight-unsupported", SNN, FIT(sample_weight=np.ones(N)),
        expect=(ValueError, TypeError), match="sample_weight"),
    row("y-None", SNN, Y_NONE, expect=ValueError, match=r"No y-values"),
    row("complex-X", SNN, COMPLEX_X, expect=ValueError, match="[Cc]omplex"),
    row("no-linear-layer", SNN, MODULE("ConvOnly"), P(selector="gradmatch"),
        expect=ValueError, match="no torch.nn.Linear layer.*GradMatchSelector"),
    row("linear-then-another-layer", SNN, MODULE("PooledHead"),
        expect=ValueError, match="last Linear layer"),
    row("frame-with-nan", SNN, FRAME_NAN_X, MODULE("Columns"),
        expect=ValueError, match="NaN"),
    row("nan-y", SNNR, NAN_Y, expect=ValueError,
        match="y contains NaN or infinity"),
    row("object-string-y", SNNR, Y_OBJECT_STRINGS, expect=ValueError,
        match="numeric"),
    row("y-None", SNNR, Y_NONE, expect=ValueError, match=r"No y-values"),
]
# fmt: on

# The packages whose own validation may raise (not numpy's or torch's
# internals, nor this file).
_VALIDATORS = ("subsetml", "sklearn", "skorch")


def _raised_in(excinfo):
    """The top-level package of the module whose code raised, if a validator."""
    module = excinfo.traceback[-1].frame.f_globals.get("__name__", "")
    package = module.partition(".")[0]
    return package if package in _VALIDATORS else None


@pytest.mark.parametrize("target, changes, expect, match", CASES)
def test_bad_input(target, changes, expect, match):
    spec = TARGETS[target]
    call = Call(*spec.data())
    for change in changes:
        change(call)
    if spec.torch:
        torch.manual_seed(0)
    estimator = spec.build(dict(call.params))
    FITS.update(started=0, finished=0)

    def act():
        if call.set_params:
            estimator.set_params(**call.set_params)
        return spec.call(estimator, call.X, call.y, dict(call.kwargs))

    if isinstance(expect, type) and issubclass(expect, Warning):
        with pytest.warns(expect, match=match):
            act()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(expect, match=match) as excinfo:
            act()
    where = _raised_in(excinfo)
    assert where is not None, (
        f"raised outside the validation of {_VALIDATORS}: "
        f"{excinfo.traceback[-1].path}:{excinfo.traceback[-1].lineno + 1}"
    )
    trained = spec.trained(estimator)
    assert trained == 0, f"raised late, after {trained} fit(s)/epoch(s)"


def test_the_matrix_has_no_duplicate_ids():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("entry", ["sampler", "estimator", "search", "view"])
def test_labels_of_mixed_types_are_refused_clearly(entry):
    # Strings beside numbers in an object y failed deep inside np.unique
    # ("'<' not supported between instances of 'int' and 'str'", a review).
    from sklearn.linear_model import LogisticRegression

    from subsetml import LastLayer
    from subsetml.model_selection import SubsetEstimator, SubsetSearchCV
    from subsetml.sampling import SubsetSampler

    X = np.random.RandomState(0).randn(40, 3)
    y = np.array(["a", 1] * 20, dtype=object)
    fit = {
        "sampler": lambda: SubsetSampler(subset_size=0.5).fit_resample(X, y),
        "estimator": lambda: SubsetEstimator(LogisticRegression(), subset_size=0.5).fit(
            X, y
        ),
        "search": lambda: SubsetSearchCV(
            LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=2, subset_size=0.5
        ).fit(X, y),
        "view": lambda: LastLayer.from_inputs(X, y),
    }[entry]
    with pytest.raises(ValueError, match=r"mixes labels of different types"):
        fit()
