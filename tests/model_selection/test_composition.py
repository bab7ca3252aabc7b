"""SubsetEstimator inside and around scikit-learn's meta-estimators: weights,
metadata routing, precomputed kernels, tags (findings of a review)."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.ensemble import BaggingClassifier
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, cross_validate
from sklearn.multioutput import MultiOutputRegressor, RegressorChain
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import get_tags

from subsetml.model_selection import SubsetEstimator, SubsetSearchCV


@pytest.fixture(scope="module")
def data():
    return make_classification(300, 8, random_state=0)


class _SpyLR(LogisticRegression):
    """Records whether each fit and score got sample_weight."""

    calls = []

    def fit(self, X, y, sample_weight=None):
        _SpyLR.calls.append(("fit", sample_weight is not None))
        return super().fit(X, y, sample_weight=sample_weight)

    def score(self, X, y, sample_weight=None):
        _SpyLR.calls.append(("score", sample_weight is not None))
        return super().score(X, y, sample_weight=sample_weight)


# -------------------------------------------------- weights nothing takes
def test_bagging_a_weightless_estimator(data):
    # BaggingClassifier passes weights to a fit that names sample_weight:
    # 0 and 1 without bootstrap (rows left out or kept, honoured exactly);
    # bootstrap counts cannot reach k-NN, refused clearly (was a TypeError
    # from KNeighborsClassifier.fit).
    X, y = data
    inner = SubsetEstimator(KNeighborsClassifier(), subset_size=0.5, random_state=0)
    bag = BaggingClassifier(inner, n_estimators=3, bootstrap=False, max_samples=0.8)
    assert bag.fit(X, y).score(X, y) > 0.8
    with pytest.raises(ValueError, match="bootstrap=False"):
        BaggingClassifier(inner, n_estimators=3, random_state=0).fit(X, y)


def test_weightless_estimator_with_row_choosing_weights(data):
    X, y = data
    sw = np.ones(len(y))
    sw[::3] = 0
    model = SubsetEstimator(KNeighborsClassifier(), subset_size=0.5, random_state=0)
    model.fit(X, y, sample_weight=2.5 * sw)  # one value for the kept rows
    assert not np.isin(model.subset_, np.flatnonzero(sw == 0)).any()
    sw[1] = 3.0
    with pytest.raises(ValueError, match="does not take sample_weight"):
        model.fit(X, y, sample_weight=sw)


# ------------------------------------------------------- metadata routing
def test_routing_brings_weights_when_the_estimator_declines_them(data):
    # The estimator said set_fit_request(sample_weight=False): the weights
    # still choose the rows that count, through a Pipeline and
    # cross_validate (they never reached SubsetEstimator before).
    X, y = data
    sw = np.ones(len(y))
    sw[::2] = 0
    zero = np.flatnonzero(sw == 0)
    with sklearn.config_context(enable_metadata_routing=True):
        _SpyLR.calls = []
        inner = _SpyLR().set_fit_request(sample_weight=False)
        se = SubsetEstimator(inner, subset_size=0.3, random_state=0)
        pipe = Pipeline([("se", se)]).fit(X, y, sample_weight=sw)
        assert not np.isin(pipe[-1].subset_, zero).any()
        assert ("fit", True) not in _SpyLR.calls
        inner.set_score_request(sample_weight=False)
        result = cross_validate(
            se,
            X,
            y,
            cv=KFold(3),
            params={"sample_weight": sw},
            return_estimator=True,
            return_indices=True,
        )
        for est, train in zip(result["estimator"], result["indices"]["train"]):
            assert not np.isin(train[est.subset_.indices], zero).any()
        assert ("fit", True) not in _SpyLR.calls


def test_score_follows_the_estimators_score_request(data):
    X, y = data
    sw = np.linspace(0.1, 2, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        inner = LogisticRegression().set_fit_request(sample_weight=True)
        se = SubsetEstimator(inner, subset_size=0.5, random_state=0).fit(X, y)
        with pytest.raises(UnsetMetadataPassedError):
            se.score(X, y, sample_weight=sw)
        se.estimator.set_score_request(sample_weight=False)
        with pytest.raises(TypeError, match="not routed"):
            se.score(X, y, sample_weight=sw)
        se.estimator.set_score_request(sample_weight=True)
        weighted = se.score(X, y, sample_weight=sw)
    assert weighted == pytest.approx(se.estimator_.score(X, y, sample_weight=sw))


# ------------------------------------------------------ precomputed kernels
@pytest.mark.parametrize("columns", [150, 30])
def test_precomputed_kernel_must_be_square(columns):
    rng = np.random.default_rng(0)
    K = rng.random((100, columns))
    y = np.arange(100) % 2
    model = SubsetEstimator(SVC(kernel="precomputed"), subset_size=0.5)
    with pytest.raises(ValueError, match=f"square matrix.*100x{columns}"):
        model.fit(K, y)


# ------------------------------------------------------------------- tags
def test_tags_of_a_wrapped_classifier_and_transformer(data):
    X, y = data
    # fit refuses label columns: no multilabel claim (k-NN's tags have one).
    tags = get_tags(SubsetEstimator(KNeighborsClassifier()))
    assert tags.classifier_tags.multi_label is False
    model = SubsetEstimator(PCA(3), subset_size=0.5, random_state=0)
    assert get_tags(model).transformer_tags is not None
    out = model.fit_transform(X, y)
    np.testing.assert_allclose(out, model.transform(X))
    assert out.shape == (len(y), 3)


# -------------------------------------- multi-output wrappers and weights
def test_multioutput_wrapper_of_a_weightless_regressor():
    # MultiOutputRegressor names sample_weight but refuses it for k-NN:
    # fitted without the selector's weights, as k-NN alone (was a crash).
    X, Y = make_regression(200, 5, n_targets=2, random_state=0)
    model = SubsetEstimator(
        MultiOutputRegressor(KNeighborsRegressor()), subset_size=0.5, random_state=0
    )
    with pytest.warns(UserWarning, match="KNeighborsRegressor .the Multi"):
        model.fit(X, Y)
    assert model.predict(X).shape == Y.shape
    search = SubsetSearchCV(
        MultiOutputRegressor(KNeighborsRegressor()),
        {"estimator__n_neighbors": (2, 10)},
        selector="gradmatch",
        subset_size=0.5,
        n_iter=2,
        cv=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


class _SpyRidge(Ridge):
    weighted = []

    def fit(self, X, y, sample_weight=None):
        _SpyRidge.weighted.append(sample_weight is not None)
        return super().fit(X, y, sample_weight=sample_weight)


def test_chain_passes_the_selectors_weights():
    X, Y = make_regression(200, 5, n_targets=2, random_state=0)
    _SpyRidge.weighted = []
    model = SubsetEstimator(
        RegressorChain(_SpyRidge()), selector="craig", subset_size=0.3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, Y)
    assert _SpyRidge.weighted == [True, True]


# ---------------------------------------- a net inside a target transformer
def test_target_transformer_around_a_net_keeps_the_target_column():
    # The net's (n, 1) target went in flattened: MSELoss broadcast the batch
    # and the subset model learnt a constant (R^2 0.001, a review).
    torch = pytest.importorskip("torch")
    from sklearn.preprocessing import StandardScaler
    from skorch import NeuralNetRegressor

    torch.manual_seed(0)
    X, y = make_regression(400, 4, noise=1.0, random_state=0)
    X = X.astype(np.float32)
    Y = (y / 10).astype(np.float32).reshape(-1, 1)
    net = NeuralNetRegressor(
        torch.nn.Linear(4, 1), max_epochs=30, lr=0.05, train_split=None, verbose=0
    )
    model = SubsetEstimator(
        TransformedTargetRegressor(net, transformer=StandardScaler()),
        subset_size=0.5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*target size.*")
        model.fit(X, Y)
    assert model.score(X, Y) > 0.9


class _KwargsRegressor(Ridge):
    """A wrapper whose fit takes weights through **kwargs."""

    seen = []

    def fit(self, X, y, **kwargs):
        _KwargsRegressor.seen.append(kwargs.get("sample_weight"))
        return super().fit(X, y, **kwargs)


def test_user_weights_still_reach_a_fit_taking_kwargs():
    # A diff review: the weightless-estimator check refused weights that a
    # fit(X, y, **kwargs) takes (GridSearchCV, a user's wrapper).
    from sklearn.model_selection import GridSearchCV

    X, y = make_regression(200, 5, random_state=0)
    w = np.linspace(0.5, 2.0, 200)
    _KwargsRegressor.seen = []
    model = SubsetEstimator(_KwargsRegressor(), subset_size=0.5, random_state=0)
    model.fit(X, y, sample_weight=w)
    np.testing.assert_allclose(_KwargsRegressor.seen[-1], w[model.subset_.indices])
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2)
    SubsetEstimator(search, subset_size=0.5, random_state=0).fit(X, y, sample_weight=w)


def test_unequal_weights_for_a_net_inside_a_target_transformer_are_refused():
    torch = pytest.importorskip("torch")
    from sklearn.preprocessing import StandardScaler
    from skorch import NeuralNetRegressor

    X, y = make_regression(200, 4, random_state=0)
    X = X.astype(np.float32)
    Y = y.astype(np.float32).reshape(-1, 1)
    net = NeuralNetRegressor(
        torch.nn.Linear(4, 1), max_epochs=2, train_split=None, verbose=0
    )
    model = SubsetEstimator(
        TransformedTargetRegressor(net, transformer=StandardScaler()),
        subset_size=0.5,
    )
    with pytest.raises(ValueError, match="does not take sample_weight"):
        model.fit(X, Y, sample_weight=np.linspace(0.5, 2.0, 200))


# ------------------- input that scikit-learn's checks would refuse (a review)
class _FirstColumnVote(ClassifierMixin, BaseEstimator):
    """The majority class of each string code of column 0: a model that reads
    strings itself (as CatBoost does), with tags that say nothing of it."""

    def __init__(self, smoothing=0.0):
        self.smoothing = smoothing

    def fit(self, X, y, sample_weight=None):
        X, y = np.asarray(X, dtype=object), np.asarray(y)
        self.classes_ = np.unique(y)
        self.table_ = {}
        for v in np.unique(X[:, 0]):
            counts = [
                (y[X[:, 0] == v] == c).sum() + self.smoothing for c in self.classes_
            ]
            self.table_[v] = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        column = np.asarray(X, dtype=object)[:, 0]
        return np.array([self.table_.get(v, self.classes_[0]) for v in column])


def test_strings_reach_a_model_that_reads_them_itself():
    # They were cast to numbers for any estimator but a Pipeline: numpy's
    # bare "could not convert string to float", where GridSearchCV fits.
    from sklearn.preprocessing import OrdinalEncoder

    rng = np.random.RandomState(0)
    X = rng.choice(["a", "b", "c"], size=(300, 2)).astype(object)
    y = (X[:, 0] == "a").astype(int)
    model = SubsetEstimator(_FirstColumnVote(), selector="random", subset_size=0.5)
    assert model.fit(X, y).score(X, y) == 1.0
    search = SubsetSearchCV(
        _FirstColumnVote(), {"smoothing": [0.0, 1.0]}, n_iter=2, cv=2,
        subset_size=0.5, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert search.best_score_ == 1.0
    # scikit-learn's OrdinalEncoder says it takes categories.
    encoder = SubsetEstimator(OrdinalEncoder(), selector="random", subset_size=0.5)
    assert encoder.fit(X, y).transform(X).shape == (300, 2)
    # A gradient selector reads numbers: a clear error, as before.
    with pytest.raises(ValueError, match="reads numeric features"):
        SubsetEstimator(_FirstColumnVote(), selector="craig", subset_size=0.5).fit(X, y)


def test_n_d_input_reaches_a_pipeline_as_in_grid_search():
    # Images (n, 8, 8) for a Pipeline that flattens them were refused ("Found
    # array with dim 3"), by SubsetEstimator and every search trial alike.
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import FunctionTransformer

    digits = load_digits()
    images, y = digits.images[:400], digits.target[:400]
    flat = Pipeline(
        [
            ("flatten", FunctionTransformer(lambda a: a.reshape(len(a), -1))),
            ("model", LogisticRegression(max_iter=200)),
        ]
    )
    for selector in ("random", "craig"):
        model = SubsetEstimator(
            flat, selector=selector, subset_size=0.5, random_state=0
        )
        assert model.fit(images, y).score(images, y) > 0.8
    search = SubsetSearchCV(
        flat, {"model__C": (0.1, 10.0, "log-uniform")}, n_iter=2, cv=2,
        subset_size=0.5, random_state=0,
    ).fit(images, y)  # fmt: skip
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # scikit-learn's own models still refuse it, in their own words.
    with pytest.raises(ValueError, match="dim 3"):
        SubsetEstimator(LogisticRegression(), subset_size=0.5).fit(images, y)


def test_predict_passes_its_keywords_on_as_a_pipeline_does():
    # A Gaussian process (cubic in its rows: a model to train on a subset)
    # lost return_std: "unexpected keyword argument" (a review).
    from sklearn.gaussian_process import GaussianProcessRegressor

    X, y = make_regression(200, 3, noise=1.0, random_state=0)
    model = SubsetEstimator(GaussianProcessRegressor(), subset_size=0.3, random_state=0)
    mean, std = model.fit(X, y).predict(X[:5], return_std=True)
    expected = model.estimator_.predict(X[:5], return_std=True)
    np.testing.assert_array_equal(mean, expected[0])
    np.testing.assert_array_equal(std, expected[1])


def test_a_regressor_refit_drops_the_classifiers_classes():
    X, y = make_classification(200, 5, random_state=0)
    model = SubsetEstimator(LogisticRegression(), subset_size=0.3, random_state=0)
    assert hasattr(model.fit(X, y), "classes_")
    model.set_params(estimator=Ridge()).fit(X, y.astype(float))
    assert not hasattr(model, "classes_")


def test_numbers_in_an_object_array_are_still_numbers_for_other_models():
    # The first form of the strings fix passed them on as objects: a model
    # of another library computing on X failed (a review of the day's diff).
    class _Lstsq(RegressorMixin, BaseEstimator):
        def fit(self, X, y, sample_weight=None):
            self.coef_ = np.linalg.lstsq(X, y, rcond=None)[0]
            return self

        def predict(self, X):
            return X @ self.coef_

    X, y = make_regression(100, 3, random_state=0)
    model = SubsetEstimator(_Lstsq(), selector="random", subset_size=0.5)
    assert model.fit(X.astype(object), y).predict(X).shape == (100,)


def test_n_d_input_reaches_a_net_inside_a_target_transformer():
    torch = pytest.importorskip("torch")
    from sklearn.preprocessing import StandardScaler
    from skorch import NeuralNetRegressor

    class Flat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 1)

        def forward(self, X):
            return self.lin(X.reshape(len(X), -1))

    rng = np.random.RandomState(0)
    X = rng.randn(80, 2, 4).astype(np.float32)
    y = X.reshape(80, -1).sum(1, keepdims=True).astype(np.float32)
    net = NeuralNetRegressor(Flat, max_epochs=2, train_split=None, verbose=0)
    model = SubsetEstimator(
        TransformedTargetRegressor(net, transformer=StandardScaler()),
        selector="random", subset_size=0.5, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert model.predict(X).shape[0] == 80


def test_a_model_without_a_target_in_a_pipeline_that_passes_labels():
    # A Pipeline passes its labels to every step: PCA's subset step read
    # them as a regression target and refused strings; score(X) needed y
    # (a review of the day's diff).
    from sklearn.cluster import KMeans
    from sklearn.pipeline import make_pipeline

    X, y = make_classification(200, 6, random_state=0)
    labels = np.array(["a", "b"], dtype=object)[y]
    step = SubsetEstimator(PCA(2), selector="random", subset_size=0.5, random_state=0)
    pipe = make_pipeline(step, LogisticRegression()).fit(X, labels)
    assert pipe.score(X, labels) > 0.5
    kmeans = SubsetEstimator(
        KMeans(n_clusters=2, n_init=1, random_state=0), selector="random",
        subset_size=0.5, random_state=0,
    ).fit(X)  # fmt: skip
    assert np.isfinite(kmeans.score(X))
