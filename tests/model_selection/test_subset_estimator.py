import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    cross_val_score,
)
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from subsetml import LastLayer
from subsetml.model_selection import SubsetEstimator, make_selector
from subsetml.selection import CraigSelector, RandomSelector

# Checks that cannot hold for a model trained on a data-dependent subset.
EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "repeating a row changes which rows the selector keeps"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "repeating a row changes which rows the selector keeps"
    ),
    "check_sample_weights_invariance": (
        "the selection depends on the data, not on sample_weight"
    ),
}


def _expected_failed_checks(estimator):
    # check_regressors_train (200 rows, training R^2 above 0.5) used to be an
    # expected failure of Ridge at 5 %: 10 rows of 10 features. Since CRAIG
    # covers the target on one-shot regression views (issue 13) those 10 rows
    # span its range and the check passes.
    if isinstance(estimator.estimator, KNeighborsClassifier):
        # fit names sample_weight (it chooses the rows that count), so the
        # checks pass unequal weights, which k-NN cannot take: refused.
        return {
            **EXPECTED_FAILED,
            "check_sample_weights_not_overwritten": (
                "unequal weights are refused for an estimator without them"
            ),
        }
    return EXPECTED_FAILED


@parametrize_with_checks(
    [
        SubsetEstimator(
            LogisticRegression(), selector="random", subset_size=0.6, random_state=0
        ),
        SubsetEstimator(
            LogisticRegression(), selector="craig", subset_size=0.6, random_state=0
        ),
        SubsetEstimator(Ridge(), selector="gradmatch", subset_size=0.6, random_state=0),
        # Default parameters (5 % subsets of the checks' small data sets).
        SubsetEstimator(LogisticRegression()),
        SubsetEstimator(Ridge()),
        # A transformer (transformer tags, fit_transform) and an estimator
        # whose fit takes no sample_weight (a review).
        SubsetEstimator(StandardScaler(), subset_size=0.6, random_state=0),
        SubsetEstimator(
            KNeighborsClassifier(n_neighbors=1), subset_size=0.6, random_state=0
        ),
        # Random rows for a model fitted without a target (a review).
        SubsetEstimator(
            KMeans(n_clusters=2, n_init=1, random_state=0),
            selector="random",
            subset_size=0.6,
            random_state=0,
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


@pytest.mark.parametrize("selector", ["random", "craig", "glister", "gradmatch"])
def test_fit_on_subset_and_delegate(digits, selector):
    X, y = digits
    model = SubsetEstimator(
        LogisticRegression(max_iter=500),
        selector=selector,
        subset_size=0.2,
        random_state=0,
    ).fit(X, y)
    assert model.subset_.size == int(np.ceil(0.2 * len(y) - 1e-9))
    assert model.estimator_.n_features_in_ == 64
    assert model.selection_time_ >= 0
    assert model.classes_.tolist() == list(range(10))
    assert model.predict_proba(X).shape == (len(y), 10)
    assert model.decision_function(X).shape == (len(y), 10)
    assert model.score(X, y) > 0.8


def test_tags_forwarded():
    assert is_classifier(SubsetEstimator(LogisticRegression()))
    assert not is_classifier(SubsetEstimator(Ridge()))


def test_pipeline_cross_val_and_grid_search(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(),
        SubsetEstimator(
            LogisticRegression(max_iter=300), subset_size=0.2, random_state=0
        ),
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.mean() > 0.8
    grid = GridSearchCV(
        pipe,
        {
            "subsetestimator__selector": ["random", CraigSelector()],
            "subsetestimator__estimator__C": [0.1, 1.0],
        },
        cv=2,
    ).fit(X, y)
    assert set(grid.cv_results_["params"][0]) == {
        "subsetestimator__selector",
        "subsetestimator__estimator__C",
    }


def test_halving_search_over_subset_size(digits):
    X, y = digits
    search = HalvingGridSearchCV(
        SubsetEstimator(
            LogisticRegression(max_iter=300), selector="random", random_state=0
        ),
        {"estimator__C": [0.01, 0.1, 1.0, 10.0]},
        resource="subset_size",
        min_resources=100,
        max_resources=800,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert max(search.n_resources_) <= 800
    assert search.best_estimator_.subset_.size == search.n_resources_[-1]


class _Recorder(ClassifierMixin, BaseEstimator):
    """Records what fit received."""

    def fit(self, X, y, sample_weight=None, tag=None):
        self.X_, self.y_, self.sample_weight_, self.tag_ = X, y, sample_weight, tag
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(X.shape[0], self.classes_[0])


def test_weights_rescaled_and_multiplied_into_user_weights():
    X, y = make_classification(200, 6, random_state=0)
    user = np.linspace(1, 2, 200)
    tag = np.arange(200)
    model = SubsetEstimator(
        _Recorder(),
        selector="craig",
        subset_size=30,
        lastlayer="proxy",
        random_state=0,
    ).fit(X, y, sample_weight=user, tag=tag)
    idx, w = model.subset_
    inner = model.estimator_
    np.testing.assert_allclose(inner.sample_weight_, w / w.mean() * user[idx])
    np.testing.assert_array_equal(inner.X_, X[idx])
    np.testing.assert_array_equal(inner.tag_, tag[idx])


def test_weights_reach_the_final_step_of_a_pipeline():
    # Pipeline.fit has no sample_weight; the weights go to its final step
    # (nested pipelines included), without the "does not take" warning.
    X, y = make_classification(200, 6, random_state=0)
    inner = make_pipeline(StandardScaler(), _Recorder())
    for est in (inner, make_pipeline(StandardScaler(), inner)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = SubsetEstimator(
                est, selector="craig", subset_size=30, random_state=0
            ).fit(X, y)
        idx, w = model.subset_
        final = model.estimator_.steps[-1][1]
        final = getattr(final, "steps", [(None, final)])[-1][1]
        np.testing.assert_allclose(final.sample_weight_, w / w.mean())
        np.testing.assert_array_equal(final.X_.shape, (30, 6))


def test_pipeline_weights_with_metadata_routing():
    import sklearn

    X, y = make_classification(200, 6, random_state=0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            _Recorder().set_fit_request(sample_weight=True),
        )
        model = SubsetEstimator(
            est, selector="craig", subset_size=30, random_state=0
        ).fit(X, y)
    w = model.subset_.weights
    np.testing.assert_allclose(model.estimator_[-1].sample_weight_, w / w.mean())


def test_metadata_routing_requests_of_the_estimator_are_followed():
    """With metadata routing on, an estimator that said
    set_fit_request(sample_weight=False) still got the user's and the
    selector's weights, and an unset request was accepted silently; now they
    are routed as scikit-learn's meta-estimators route them."""
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError

    X, y = make_classification(200, 6, random_state=0)
    user = np.linspace(1, 2, 200)
    with sklearn.config_context(enable_metadata_routing=True):
        refuses = _Recorder().set_fit_request(sample_weight=False)
        with pytest.warns(UserWarning, match="does not request sample_weight"):
            model = SubsetEstimator(refuses, subset_size=30, random_state=0)
            model.fit(X, y, sample_weight=user)
        assert model.estimator_.sample_weight_ is None
        with pytest.raises(UnsetMetadataPassedError, match="_Recorder.fit"):
            SubsetEstimator(_Recorder(), subset_size=30).fit(X, y, sample_weight=user)
        takes = _Recorder().set_fit_request(sample_weight=True)
        model = SubsetEstimator(takes, subset_size=30, random_state=0)
        model.fit(X, y, sample_weight=user)
    idx, w = model.subset_
    np.testing.assert_allclose(
        model.estimator_.sample_weight_, w / w.mean() * user[idx]
    )


def test_metadata_routing_needs_the_estimators_request_alone():
    """A review: SubsetEstimator was a plain consumer of sample_weight, so a
    Pipeline needed set_fit_request on it as well as on the estimator
    (BaggingClassifier needs the estimator's), and no other metadata could
    be routed to the estimator. It routes fit's and score's metadata to the
    estimator now, as its requests say."""
    import sklearn
    from sklearn.exceptions import UnsetMetadataPassedError
    from sklearn.model_selection import cross_validate

    X, y = make_classification(200, 6, random_state=0)
    user = np.linspace(1, 2, 200)
    tag = np.arange(200.0)
    with sklearn.config_context(enable_metadata_routing=True):
        inner = _Recorder().set_fit_request(sample_weight=True, tag=True)
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            SubsetEstimator(inner, selector="random", subset_size=30, random_state=0),
        )
        pipe.fit(X, y, sample_weight=user, tag=tag)
        model = pipe[-1]
        idx = model.subset_.indices
        np.testing.assert_array_equal(model.estimator_.sample_weight_, user[idx])
        np.testing.assert_array_equal(model.estimator_.tag_, tag[idx])
        routing = model.get_metadata_routing()
        assert routing.consumes("fit", ["sample_weight", "tag"]) == {
            "sample_weight",
            "tag",
        }
        # Through cross_validate's params, subset along with the rows.
        out = cross_validate(
            SubsetEstimator(inner, selector="random", subset_size=30),
            X,
            y,
            cv=2,
            params={"tag": tag},
            return_estimator=True,
            error_score="raise",
        )
        for fitted in out["estimator"]:
            assert fitted.estimator_.tag_.shape == (30,)
        # Metadata the estimator has not said it takes: scikit-learn's error.
        with pytest.raises(UnsetMetadataPassedError, match="tag"):
            SubsetEstimator(_Recorder(), subset_size=30).fit(X, y, tag=tag)


@pytest.mark.parametrize("selector", ["random", "glister"])
def test_equal_weights_are_never_passed(selector):
    # Random and GLISTER subsets carry weight 1: passing them as sample_weight
    # would only slow the estimator down.
    X, y = make_classification(200, 6, random_state=0)
    model = SubsetEstimator(
        _Recorder(), selector=selector, subset_size=30, random_state=0
    ).fit(X, y)
    assert model.estimator_.sample_weight_ is None
    user = np.linspace(1, 2, 200)
    model.fit(X, y, sample_weight=user)
    np.testing.assert_allclose(
        model.estimator_.sample_weight_, user[model.subset_.indices]
    )


def test_random_subsets_are_stratified_by_default():
    X, y = load_digits(return_X_y=True)
    model = SubsetEstimator(
        LogisticRegression(max_iter=200), selector="random", subset_size=15
    ).fit(X, y)
    # One unstratified draw of 15 rows misses one of 10 classes most times.
    assert model.estimator_.classes_.shape == (10,)
    assert model.predict_proba(X[:3]).shape == (3, 10)


@pytest.mark.parametrize("selector", ["random", "craig", "glister", "gradmatch"])
def test_budget_below_one_row_per_class_is_raised_with_a_warning(selector):
    X, y = load_digits(return_X_y=True)
    model = SubsetEstimator(
        LogisticRegression(max_iter=200),
        selector=selector,
        subset_size=0.004,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="8 row.s., fewer than the 10 classes"):
        model.fit(X, y)
    assert model.subset_.size == 10
    np.testing.assert_array_equal(np.unique(y[model.subset_.indices]), np.arange(10))


def test_use_weights_false_passes_only_user_weights():
    X, y = make_classification(200, 6, random_state=0)
    model = SubsetEstimator(
        _Recorder(),
        selector="craig",
        subset_size=30,
        use_weights=False,
        random_state=0,
    ).fit(X, y)
    assert model.estimator_.sample_weight_ is None


def test_estimator_without_sample_weight():
    X, y = make_classification(200, 6, random_state=0)
    with pytest.warns(UserWarning, match="does not take sample_weight"):
        SubsetEstimator(KNeighborsClassifier(3), selector="craig", subset_size=40).fit(
            X, y
        )
    with pytest.raises(ValueError, match="does not take sample_weight"):
        SubsetEstimator(KNeighborsClassifier(3), use_weights=True, subset_size=40).fit(
            X, y
        )


def test_lastlayer_options():
    X, y = make_classification(300, 8, n_informative=5, random_state=0)
    seen = {}

    def view(X_, y_):
        seen["rows"] = X_.shape[0]
        return LastLayer.from_proxy(X_, y_)

    SubsetEstimator(
        LogisticRegression(), selector="craig", subset_size=30, lastlayer=view
    ).fit(X, y)
    assert seen["rows"] == 300
    mlp = MLPClassifier(hidden_layer_sizes=(7,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SubsetEstimator(
            mlp,
            selector="gradmatch",
            subset_size=60,
            lastlayer="estimator",
            random_state=0,
        ).fit(X, y)
    assert m.subset_.size == 60
    with pytest.raises(TypeError, match="LastLayer"):
        SubsetEstimator(
            LogisticRegression(), selector="craig", lastlayer=lambda X, y: X
        ).fit(X, y)


def test_same_random_state_same_subset(digits):
    X, y = digits
    a = SubsetEstimator(
        LogisticRegression(max_iter=200), subset_size=0.1, random_state=3
    ).fit(X, y)
    b = clone(a).fit(X, y)
    assert a.subset_ == b.subset_


def test_pickle_round_trip(digits):
    X, y = digits
    m = SubsetEstimator(
        LogisticRegression(max_iter=200),
        selector="random",
        subset_size=0.1,
        random_state=0,
    ).fit(X, y)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))


def test_regression(digits):
    X, y = make_regression(300, 5, noise=1.0, random_state=0)
    m = SubsetEstimator(
        Ridge(), selector="glister", subset_size=0.2, random_state=0
    ).fit(X, y)
    assert m.score(X, y) > 0.9


@pytest.mark.parametrize(
    "params, err, match",
    [
        ({"selector": "kmeans"}, ValueError, "Unknown selector"),
        ({"selector": object()}, TypeError, "select"),
        ({"lastlayer": "magic"}, ValueError, "lastlayer"),
        ({"use_weights": "yes"}, ValueError, "use_weights"),
        ({"subset_size": 0}, ValueError, "subset_size"),
        ({"subset_size": 10_000}, ValueError, "subset_size"),
        ({"subset_size": 1.5}, ValueError, "subset_size"),
        ({"subset_size": "5%"}, TypeError, "subset_size"),
    ],
)
def test_bad_parameters(params, err, match):
    X, y = make_classification(100, 5, n_classes=3, n_informative=3, random_state=0)
    with pytest.raises(err, match=match):
        SubsetEstimator(LogisticRegression(), **params).fit(X, y)


def test_bad_data():
    X, y = make_classification(100, 5, random_state=0)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SubsetEstimator(LogisticRegression()).fit(Xn, y)
    with pytest.raises(ValueError, match="one class"):
        SubsetEstimator(LogisticRegression()).fit(X, np.zeros(100))
    with pytest.raises(ValueError):
        SubsetEstimator(Ridge()).fit(X, np.array(["a", "b"] * 50))
    with pytest.raises(ValueError, match="inconsistent|samples"):
        SubsetEstimator(LogisticRegression()).fit(X, y[:-1])


def test_make_selector_keeps_explicit_seed():
    assert make_selector(RandomSelector(random_state=5), 1).random_state == 5
    assert make_selector("random", 1).random_state == 1


def test_transform_score_samples_and_inverse_transform_are_delegated():
    """A transformer fitted on a subset could not be a Pipeline's middle
    step: transform was not passed on."""
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.mixture import GaussianMixture
    from sklearn.pipeline import make_pipeline

    X, y = make_classification(200, 6, n_informative=4, random_state=0)
    lda = SubsetEstimator(
        LinearDiscriminantAnalysis(), selector="random", subset_size=0.5, random_state=0
    )
    pipe = make_pipeline(lda, LogisticRegression()).fit(X, y)
    fitted = pipe[0].estimator_
    np.testing.assert_allclose(pipe[0].transform(X), fitted.transform(X))
    assert pipe.score(X, y) > 0.7
    pca = SubsetEstimator(
        PCA(2), selector="random", subset_size=0.5, random_state=0
    ).fit(X, y)
    Z = pca.transform(X)
    np.testing.assert_allclose(
        pca.inverse_transform(Z), pca.estimator_.inverse_transform(Z)
    )
    gm = SubsetEstimator(
        GaussianMixture(2, random_state=0),
        selector="random",
        subset_size=0.5,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(gm.score_samples(X), gm.estimator_.score_samples(X))
    # Not there when the estimator lacks them, as with available_if.
    plain = SubsetEstimator(LogisticRegression(), selector="random", subset_size=0.5)
    assert not hasattr(plain, "transform") and not hasattr(plain, "score_samples")


def test_set_output_reaches_the_transformer_fitted_on_a_subset():
    # A Pipeline's set_output refused a SubsetEstimator that transforms (a
    # review), though the docs show it as a middle step.
    import pandas as pd
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True, as_frame=True)
    scaler = SubsetEstimator(StandardScaler(), subset_size=0.5, random_state=0)
    pipe = make_pipeline(scaler, LogisticRegression(max_iter=1000))
    pipe.set_output(transform="pandas").fit(X, y)
    out = pipe[0].transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(X.columns)
    # After the fit too, on the fitted transformer; and back.
    assert isinstance(pipe[0].set_output(transform="default").transform(X), np.ndarray)
    assert pipe[0].set_output() is pipe[0]
    assert not hasattr(SubsetEstimator(LogisticRegression()), "set_output")


def test_get_feature_names_out_is_delegated_to_the_fitted_transformer():
    # A Pipeline with a SubsetEstimator transformer as a step could not name
    # its output columns: get_feature_names_out was not passed on (a review).
    from sklearn.datasets import load_wine
    from sklearn.exceptions import NotFittedError

    X, y = load_wine(return_X_y=True, as_frame=True)
    scaler = SubsetEstimator(StandardScaler(), subset_size=0.5, random_state=0)
    with pytest.raises(NotFittedError):
        scaler.get_feature_names_out()
    pipe = make_pipeline(scaler, LogisticRegression(max_iter=1000)).fit(X, y)
    assert pipe[:-1].get_feature_names_out().tolist() == list(X.columns)
    on_array = clone(scaler).fit(X.to_numpy(), y)
    names = [f"f{i}" for i in range(X.shape[1])]
    assert on_array.get_feature_names_out(names).tolist() == names
    assert not hasattr(SubsetEstimator(LogisticRegression()), "get_feature_names_out")


def test_weights_reach_a_transformed_target_regressor_and_warnings_name_the_step():
    """TransformedTargetRegressor passes **fit_params to its regressor, yet
    the weights were dropped with a warning that it takes none; and a
    Pipeline's warning named Pipeline.fit, not the step without weights."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.svm import SVR

    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    ttr = TransformedTargetRegressor(SVR(), transformer=StandardScaler())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SubsetEstimator(ttr, selector="craig", subset_size=0.2, random_state=0)
        model.fit(X, y)
    assert model._check_weighting(warn=False)
    knn = make_pipeline(StandardScaler(), KNeighborsRegressor())
    with pytest.warns(UserWarning, match=r"KNeighborsRegressor \(the Pipeline's last"):
        SubsetEstimator(knn, selector="craig", subset_size=0.2).fit(X, y)


def test_weights_reach_stacking_and_voting_members():
    """Stacking and Voting ensembles take sample_weight through
    ``fit(X, y, **fit_params)`` and pass it to each member: the selector's
    weights were dropped with a warning that they take none, and
    use_weights=True refused them."""
    from sklearn.ensemble import StackingClassifier, VotingClassifier

    X, y = make_classification(200, 6, random_state=0)
    members = [("rec", _Recorder()), ("lr", LogisticRegression())]
    for ensemble in (VotingClassifier(members), StackingClassifier(members, cv=2)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = SubsetEstimator(
                ensemble, subset_size=30, use_weights=True, random_state=0
            ).fit(X, y)
        w = model.subset_.weights
        recorded = model.estimator_.named_estimators_["rec"]
        np.testing.assert_allclose(recorded.sample_weight_, w / w.mean())
    # A member without sample_weight: the ensemble's fit would fail with the
    # weights, so they are dropped, and the warning names that member.
    knn = VotingClassifier(
        [("lr", LogisticRegression()), ("knn", KNeighborsClassifier())]
    )
    with pytest.warns(UserWarning, match=r"KNeighborsClassifier \(a member of the V"):
        SubsetEstimator(knn, subset_size=30, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="KNeighborsClassifier .a member"):
        SubsetEstimator(knn, subset_size=30, use_weights=True).fit(X, y)


def _dict_rows(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = [
        {"a": float(rng.normal()), "city": str(rng.choice(["paris", "oslo"]))}
        for _ in range(n)
    ]
    return X, np.array([d["a"] > 0 for d in X])


def test_rows_of_dicts_and_token_lists_reach_the_estimator_as_given():
    """A list of dicts (DictVectorizer, FeatureHasher) or of token lists of
    any length (FeatureHasher(input_type="string")) was refused with
    "Expected 2D array" before any selection."""
    from sklearn.feature_extraction import DictVectorizer, FeatureHasher

    X, y = _dict_rows()
    tokens = [[d["city"]] + ["pos"] * int(d["a"] > 0) for d in X]  # ragged
    cases = [
        (X, make_pipeline(DictVectorizer(), LogisticRegression())),
        (X, make_pipeline(FeatureHasher(8), LogisticRegression())),
        (tokens, make_pipeline(FeatureHasher(8, input_type="string"), Ridge())),
    ]
    for rows, pipe in cases:
        for selector in ("random", "craig"):
            model = SubsetEstimator(
                pipe, selector=selector, subset_size=0.3, random_state=0
            ).fit(rows, y)
            assert model.subset_.size == 60
            kept = model.estimator_[0]
            if isinstance(kept, DictVectorizer):  # fitted on the chosen rows
                assert set(kept.vocabulary_) <= {"a", "city=paris", "city=oslo"}
            assert model.predict(rows[:5]).shape == (5,)
    # A selector reading gradients cannot build a view from dicts that no
    # step turns into numbers: it says what to do instead.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DictVectorizer takes no weights
        with pytest.raises(ValueError, match="of dict rows.*selector='random'"):
            SubsetEstimator(
                make_pipeline(DictVectorizer()), selector="craig", subset_size=0.3
            ).fit(X, y)


@pytest.mark.parametrize("selector", ["random", "craig", "gradmatch"])
def test_one_d_x_for_an_estimator_that_takes_it(selector):
    """IsotonicRegression takes a 1-D X (its one_d_array tag); its subsets
    failed with "Expected 2D array"."""
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(0)
    X = rng.uniform(0, 10, 300)
    y = np.log1p(X) + rng.normal(0, 0.1, 300)
    model = SubsetEstimator(
        IsotonicRegression(out_of_bounds="clip"), selector=selector,
        subset_size=0.2, random_state=0,
    ).fit(X, y)  # fmt: skip
    idx = model.subset_.indices
    assert model.estimator_.X_min_ == X[idx].min()  # fitted on those rows
    assert model.estimator_.X_max_ == X[idx].max()
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("selector", ["random", "craig", "glister", "gradmatch"])
def test_large_budgets_work_for_every_selector(selector):
    """GLISTER refused subset_size above about 0.9 (its 10 % hold-out), 1.0
    included; subset_size=1.0 fits the estimator on every row, as it is."""
    X, y = make_classification(200, 6, random_state=0)
    full = SubsetEstimator(
        LogisticRegression(), selector=selector, subset_size=1.0, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(full.subset_.indices, np.arange(200))
    np.testing.assert_array_equal(full.subset_.weights, np.ones(200))
    np.testing.assert_allclose(
        full.estimator_.coef_, LogisticRegression().fit(X, y).coef_
    )
    model = SubsetEstimator(
        LogisticRegression(), selector=selector, subset_size=0.95, random_state=0
    ).fit(X, y)
    assert model.subset_.size == 190


def test_gradmatch_chooses_for_equal_weights_where_they_are_dropped():
    """With an estimator without ``sample_weight`` GRAD-MATCH's
    ``weighting="auto"`` chooses rows for equal weights (its matched picks
    fell below random subsets without their weights, quality_unweighted.json),
    silently; a user's explicit ``"matched"`` is kept, with a warning."""
    from sklearn.neighbors import KNeighborsRegressor

    from subsetml.selection import GradMatchSelector

    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for selector in ("gradmatch", GradMatchSelector(random_state=0)):
            model = SubsetEstimator(
                KNeighborsRegressor(), selector=selector, subset_size=0.2
            ).fit(X, y)
            assert model.selector_.weighting == "equal"
        # use_weights=False drops them too.
        model = SubsetEstimator(
            Ridge(), selector="gradmatch", subset_size=0.2, use_weights=False
        ).fit(X, y)
        assert model.selector_.weighting == "equal"
    # The user's selector is not changed, and an estimator that takes the
    # weights gets matched ones.
    mine = GradMatchSelector()
    model = SubsetEstimator(Ridge(), selector=mine, subset_size=0.2).fit(X, y)
    assert mine.weighting == "auto" and model.selector_.weighting == "auto"
    assert np.ptp(model.subset_.weights) > 0
    matched = GradMatchSelector(weighting="matched")
    with pytest.warns(UserWarning, match="lean towards extreme targets"):
        model = SubsetEstimator(
            KNeighborsRegressor(), selector=matched, subset_size=0.2
        ).fit(X, y)
    assert model.selector_.weighting == "matched"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SubsetEstimator(KNeighborsRegressor(), selector="craig", subset_size=0.2).fit(
            X, y
        )
    assert not any("extreme targets" in str(w.message) for w in caught)


def test_equal_selector_weights_are_dropped_without_a_warning():
    """GLISTER's picks (like random ones) all weigh 1: an estimator without
    ``sample_weight`` loses nothing, so nothing is said."""
    from sklearn.neighbors import KNeighborsRegressor

    from subsetml.selection import GlisterSelector

    X, y = make_regression(200, 5, noise=5.0, random_state=0)
    for selector in ("glister", GlisterSelector(random_state=0), "random"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = SubsetEstimator(
                KNeighborsRegressor(), selector=selector, subset_size=0.2
            ).fit(X, y)
        assert model.subset_.size == 40
    with pytest.warns(UserWarning, match="does not take sample_weight"):
        SubsetEstimator(KNeighborsRegressor(), selector="craig", subset_size=0.2).fit(
            X, y
        )


@pytest.mark.parametrize("selector", ["random", "craig", "glister", "gradmatch"])
def test_several_regression_targets(selector):
    """A (n_samples, n_outputs) target, as Ridge or k-NN take it, is selected
    for as a whole (the untrained view predicts each target's mean) and
    reaches the estimator as a matrix."""
    X, Y = make_regression(300, 5, n_targets=3, noise=1.0, random_state=0)
    model = SubsetEstimator(
        Ridge(), selector=selector, subset_size=0.2, random_state=0
    ).fit(X, Y)
    assert model.subset_.size == 60
    assert model.predict(X[:4]).shape == (4, 3)
    assert model.score(X, Y) > 0.9
    full = Ridge().fit(X, Y)
    np.testing.assert_allclose(model.predict(X[:4]), full.predict(X[:4]), rtol=0.1)
    assert get_tags(model).target_tags.multi_output


def test_several_class_label_columns_are_refused_clearly():
    X, y = make_classification(200, 5, random_state=0)
    with pytest.raises(ValueError, match="multilabel or multi-output classification"):
        SubsetEstimator(LogisticRegression(), subset_size=0.2).fit(
            X, np.column_stack([y, 1 - y])
        )
    assert not get_tags(SubsetEstimator(LogisticRegression())).target_tags.multi_output


def test_rows_weighted_zero_are_never_selected():
    """Rows whose sample_weight is 0 count for nothing in a fit (they drop
    out of GridSearchCV's): no subset spends its budget on them, and a
    fraction is a share of the rows that count."""
    X, y = make_classification(600, 6, random_state=0)
    w = np.where(np.arange(600) % 2 == 0, 0.0, 2.0)
    for selector in ("random", "craig", "gradmatch", "glister"):
        model = SubsetEstimator(
            LogisticRegression(), selector=selector, subset_size=0.1, random_state=0
        ).fit(X, y, sample_weight=w)
        assert model.subset_.size == 30
        assert (w[model.subset_.indices] > 0).all()
    # scikit-learn's check (1.9) or ours (before) refuses it.
    with pytest.raises(ValueError, match="at least one non-zero|has sample_weight 0"):
        SubsetEstimator(LogisticRegression(), subset_size=0.1).fit(
            X, y, sample_weight=np.zeros(600)
        )
    with pytest.raises(ValueError, match="hold only one class"):
        SubsetEstimator(LogisticRegression(), subset_size=0.1).fit(
            X, y, sample_weight=(y == 1).astype(float)
        )
    # A class whose rows all weigh 0 cannot reach the subset: the model's
    # predict_proba lacked its column while classes_ listed it (a review).
    X3, y3 = load_digits(return_X_y=True)
    keep = y3 < 3
    X3, y3 = X3[keep], y3[keep]
    with pytest.raises(ValueError, match="Every row of class 2 has sample_weight 0"):
        SubsetEstimator(LogisticRegression(), subset_size=0.2).fit(
            X3, y3, sample_weight=(y3 != 2).astype(float)
        )
    names = np.array(["a", "b", "c"], dtype=object)[y3]
    with pytest.raises(ValueError, match="Every row of class 'c' has"):
        SubsetEstimator(LogisticRegression(), subset_size=0.2).fit(
            X3, names, sample_weight=(y3 != 2).astype(float)
        )


class _RecordingHGB(HistGradientBoostingClassifier):
    """A HistGradientBoostingClassifier that records the weights it got."""

    def fit(self, X, y, sample_weight=None):
        self.sample_weight_ = sample_weight
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.usefixtures("binning_takes_weights")
def test_boosting_is_known_to_fit_slowly_with_weights(monkeypatch):
    """HistGradientBoosting bins its features at weighted quantiles once
    given weights, one quantile at a time: a fixed cost per feature that made
    a search's 5 % trials slower than fits on all rows (a review), so
    SubsetSearchCV leaves GRAD-MATCH's weights out there. SubsetEstimator,
    whose subset model is the product, keeps them: without them CRAIG fell
    53 points below random subsets on a long-tailed target
    (quality_hgb_weights.json)."""
    from subsetml.model_selection._subset_estimator import weights_cost_more

    X, y = make_classification(300, 6, random_state=0)
    hgb = _RecordingHGB(max_iter=5)
    assert weights_cost_more(hgb)
    assert weights_cost_more(make_pipeline(StandardScaler(), hgb))
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import HistGradientBoostingRegressor

    wrapped = TransformedTargetRegressor(
        make_pipeline(StandardScaler(), HistGradientBoostingRegressor())
    )
    assert weights_cost_more(wrapped)
    assert not weights_cost_more(LogisticRegression())
    model = SubsetEstimator(hgb, selector="craig", subset_size=0.2, random_state=0).fit(
        X, y
    )
    w = model.subset_.weights
    np.testing.assert_allclose(model.estimator_.sample_weight_, w / w.mean())
    # A scikit-learn whose binning ignores the weights is not slowed down.
    from sklearn.ensemble._hist_gradient_boosting import binning

    monkeypatch.setattr(binning._BinMapper, "fit", lambda self, X, y=None: self)
    assert not weights_cost_more(hgb)


def test_a_seeded_selector_picks_the_same_rows_whatever_the_estimators_seed():
    # lastlayer="estimator" fits on random rows to build the view: that draw
    # followed SubsetEstimator's random_state, so a seeded selector's rows
    # changed with it.
    from subsetml.selection import GradMatchSelector

    X, y = make_classification(200, 5, flip_y=0.2, random_state=0)
    rows = {
        tuple(
            SubsetEstimator(
                LogisticRegression(),
                selector=GradMatchSelector(random_state=0),
                subset_size=10,
                lastlayer="estimator",
                random_state=seed,
            )
            .fit(X, y)
            .subset_.indices
        )
        for seed in (1, 2, 3)
    }
    assert len(rows) == 1


def test_gradmatch_on_validation_rows_says_the_meta_estimator_passes_none():
    from subsetml.selection import GradMatchSelector

    X, y = make_classification(120, 5, random_state=0)
    est = SubsetEstimator(
        LogisticRegression(),
        selector=GradMatchSelector(target="validation"),
        subset_size=20,
        random_state=0,
    )
    with pytest.raises(ValueError, match="SubsetEstimator.*pass no validation"):
        est.fit(X, y)


def test_the_cheap_fit_of_an_unseeded_estimator_follows_random_state():
    # lastlayer="estimator" fits a clone on a few rows to build the view: an
    # unseeded forest drew from numpy's global stream, so the same int seed
    # chose other rows each time (a review).
    from sklearn.ensemble import RandomForestClassifier

    from subsetml.sampling import SubsetSampler

    X, y = make_classification(300, 6, flip_y=0.1, random_state=0)
    forest = RandomForestClassifier(n_estimators=5)
    picks = [
        SubsetEstimator(
            forest,
            selector="craig",
            lastlayer="estimator",
            subset_size=0.1,
            random_state=0,
        )
        .fit(X, y)
        .subset_.indices  # fmt: skip
        for _ in range(3)
    ]
    for other in picks[1:]:
        np.testing.assert_array_equal(other, picks[0])
    sampler = SubsetSampler(
        "glister", 0.1, lastlayer="estimator", estimator=forest, random_state=0
    )
    rows = [sampler.fit_resample(X, y)[1] for _ in range(2)]
    np.testing.assert_array_equal(rows[0], rows[1])
    # The user's own seed is kept.
    assert forest.random_state is None


def test_a_model_fitted_without_a_target_gets_random_rows():
    # KMeans, PCA: fit(X) raised "missing 1 required positional argument",
    # and a Pipeline passing y=None was refused, where SubsetSearchCV
    # searches them on random rows (a review).
    from sklearn.decomposition import PCA

    X, _ = make_classification(400, 6, random_state=0)
    model = SubsetEstimator(
        KMeans(n_clusters=3, n_init=1, random_state=0), selector="random",
        subset_size=0.25, random_state=0,
    ).fit(X)  # fmt: skip
    assert model.subset_.size == 100
    assert np.unique(model.subset_.indices).size == 100
    assert model.predict(X).shape == (400,)
    again = clone(model).fit(X)
    np.testing.assert_array_equal(again.subset_.indices, model.subset_.indices)
    # Rows of weight 0 are never drawn.
    w = (np.arange(400) % 2).astype(float)
    weighted = clone(model).fit(X, sample_weight=w)
    assert (w[weighted.subset_.indices] > 0).all() and weighted.subset_.size == 50
    pca = SubsetEstimator(PCA(2), selector="random", subset_size=0.25, random_state=0)
    assert pca.fit_transform(X).shape == (400, 2)
    assert make_pipeline(pca, KMeans(n_clusters=2, n_init=1)).fit(X).predict(X).shape
    # Selectors that read the target say so; supervised models keep
    # scikit-learn's message.
    with pytest.raises(ValueError, match="selector='craig' selects training rows"):
        SubsetEstimator(PCA(2), selector="craig").fit(X)
    with pytest.raises(ValueError, match="requires y to be passed"):
        SubsetEstimator(LogisticRegression(), selector="random").fit(X)
    assert not get_tags(SubsetEstimator(PCA(2), selector="random")).target_tags.required
    assert get_tags(SubsetEstimator(PCA(2))).target_tags.required
    assert get_tags(SubsetEstimator(PCA(2), selector="bogus")).target_tags.required
