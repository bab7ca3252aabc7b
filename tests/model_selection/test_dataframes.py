"""Real pipelines (issue 15): DataFrames, text, missing values and set_output.

X reaches the estimator untouched; the selector reads the output of the
pipeline's own preprocessing (or, for an estimator that takes DataFrames
itself, a one-hot view of them). Every case runs under all four selectors.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from subsetml.model_selection import SubsetEstimator, SubsetSearchCV
from subsetml.sampling import SubsetSampler

SELECTORS = ["random", "craig", "glister", "gradmatch"]


@pytest.fixture(scope="module")
def frame():
    rng = np.random.RandomState(0)
    n = 400
    df = pd.DataFrame(
        {
            "num": rng.randn(n),
            "num2": rng.randn(n),
            "city": rng.choice(["paris", "lyon", "nice"], n),
            "kind": pd.Categorical(rng.choice(["x", "y"], n)),
        }
    )
    y = ((df["num"] + (df["city"] == "paris")) > 0.5).astype(int).to_numpy()
    df.loc[rng.rand(n) < 0.05, "num2"] = np.nan
    return df, y


def _mixed_pipeline():
    pre = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city", "kind"]),
        (make_pipeline(SimpleImputer(), StandardScaler()), ["num", "num2"]),
    )
    return make_pipeline(pre, LogisticRegression())


@pytest.mark.parametrize("selector", SELECTORS)
def test_mixed_dataframe_through_a_column_transformer(frame, selector):
    df, y = frame
    model = SubsetEstimator(
        _mixed_pipeline(), selector=selector, subset_size=0.2, random_state=0
    ).fit(df, y)
    # The pipeline saw the DataFrame itself: its columns, by name.
    assert list(model.estimator_.feature_names_in_) == list(df.columns)
    assert list(model.feature_names_in_) == list(df.columns)
    assert model.subset_.size == 80
    assert model.score(df, y) > 0.8
    assert model.predict(df.iloc[:5]).shape == (5,)
    renamed = df.rename(columns={"num": "other"})
    with pytest.raises(ValueError, match="feature names"):
        model.predict(renamed)


@pytest.mark.parametrize("selector", SELECTORS)
def test_search_and_sampler_take_the_same_dataframe(frame, selector):
    df, y = frame
    search = SubsetSearchCV(
        _mixed_pipeline(),
        {"logisticregression__C": (1e-2, 1e2, "log-uniform")},
        n_iter=3,
        subset_size=0.2,
        selector=selector,
        cv=2,
        random_state=0,
    ).fit(df, y)
    assert np.isfinite(search.best_score_)
    assert list(search.best_estimator_.feature_names_in_) == list(df.columns)
    X_sub, y_sub = SubsetSampler(
        estimator=_mixed_pipeline(), selector=selector, subset_size=0.1, random_state=0
    ).fit_resample(df, pd.Series(y))
    assert isinstance(X_sub, pd.DataFrame) and list(X_sub.columns) == list(df.columns)
    assert X_sub["kind"].dtype == "category" and X_sub.shape == (40, 4)
    np.testing.assert_array_equal(y_sub.to_numpy(), y[X_sub.index])


@pytest.mark.parametrize("selector", SELECTORS)
def test_text_pipeline(selector):
    rng = np.random.RandomState(1)
    y = rng.randint(2, size=300)
    words = np.array(["red", "blue", "green", "tall", "short", "wide"])
    docs = [("good " if t else "poor ") + " ".join(rng.choice(words, 6)) for t in y]
    model = SubsetEstimator(
        make_pipeline(TfidfVectorizer(), LogisticRegression()),
        selector=selector,
        subset_size=0.2,
        random_state=0,
    ).fit(docs, y)
    assert model.score(docs, y) > 0.9


@pytest.mark.parametrize("selector", SELECTORS)
def test_imputer_pipeline_with_missing_values(selector):
    rng = np.random.RandomState(2)
    X = rng.randn(300, 4)
    y = (X[:, 0] > 0).astype(int)
    X[rng.rand(300, 4) < 0.1] = np.nan
    model = SubsetEstimator(
        make_pipeline(SimpleImputer(), LogisticRegression()),
        selector=selector,
        subset_size=0.2,
        random_state=0,
    ).fit(X, y)
    assert model.score(X, y) > 0.8


@pytest.mark.parametrize("selector", SELECTORS)
def test_set_output_pandas_and_numeric_frames_keep_their_names(selector):
    rng = np.random.RandomState(3)
    df = pd.DataFrame(rng.randn(200, 3), columns=["a", "b", "c"])
    y = df["a"].to_numpy() * 2 + rng.randn(200) * 0.1
    pipe = make_pipeline(StandardScaler(), Ridge()).set_output(transform="pandas")
    model = SubsetEstimator(
        pipe, selector=selector, subset_size=0.2, random_state=0
    ).fit(df, y)
    assert list(model.estimator_[-1].feature_names_in_) == ["a", "b", "c"]
    bare = SubsetEstimator(Ridge(), selector=selector, subset_size=0.2, random_state=0)
    assert list(bare.fit(df, y).estimator_.feature_names_in_) == ["a", "b", "c"]


@pytest.mark.parametrize("selector", SELECTORS)
def test_estimator_that_reads_categorical_frames_itself(frame, selector):
    df, y = frame
    hgb = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=20, random_state=0
    )
    X = df.drop(columns="city")  # numbers (with NaN) and a category column
    model = SubsetEstimator(
        hgb, selector=selector, subset_size=0.3, random_state=0
    ).fit(X, y)
    assert model.estimator_.is_categorical_.tolist() == [False, False, True]
    assert model.score(X, y) > 0.7


def test_missing_values_without_an_imputer_are_refused_early(frame):
    df, y = frame
    with pytest.raises(ValueError, match="SimpleImputer"):
        SubsetEstimator(LogisticRegression(), random_state=0).fit(
            df[["num", "num2"]], y
        )


def test_non_numeric_rows_for_a_bare_estimator_say_what_to_do():
    X = np.array([["a", "b"], ["c", "d"], ["a", "d"], ["c", "b"]] * 10, dtype=object)
    y = np.arange(40) % 2
    with pytest.raises(ValueError, match="could not convert"):
        SubsetEstimator(LogisticRegression(), random_state=0).fit(X, y)
    # A Pipeline gets the strings through to its own steps.
    model = SubsetEstimator(
        make_pipeline(OneHotEncoder(), LogisticRegression()),
        subset_size=0.5,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    assert model.predict(X).shape == (40,)


def test_a_column_with_no_value_at_all_is_read_as_zeros():
    # Missing values the estimator accepts count as the column mean in what
    # the selector reads; an empty column must not warn or give NaN.
    from subsetml.selection._views import view_input

    rng = np.random.RandomState(4)
    X = rng.randn(120, 3)
    X[:, 2] = np.nan
    X[rng.rand(120) < 0.2, 0] = np.nan
    y = (rng.rand(120) > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        view = view_input(
            X, y, estimator=HistGradientBoostingClassifier(), lastlayer="auto"
        )
    assert np.isfinite(view).all() and np.all(view[:, 2] == 0.0)
    filled = np.isnan(X[:, 0])
    np.testing.assert_allclose(view[filled, 0], np.nanmean(X[:, 0]))
    np.testing.assert_array_equal(view[~filled, :2], X[~filled, :2])


@pytest.mark.parametrize("subset_size", [1.0, 0.3])
def test_search_on_categorical_and_nullable_integer_columns(subset_size):
    """A Categorical column beside pandas' nullable Int64 reaches the model as
    given, as in GridSearchCV (check_array failed on the pair)."""

    rng = np.random.RandomState(0)
    n = 300
    X = pd.DataFrame(
        {
            "num": rng.randn(n),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "i": pd.array(rng.randint(0, 5, n), dtype="Int64"),
        }
    )
    y = np.where(X["num"] + (X["cat"] == "a") > 0.5, "yes", "no")
    hgb = HistGradientBoostingClassifier(
        categorical_features="from_dtype", max_iter=10, random_state=0
    )
    search = SubsetSearchCV(
        hgb, {"learning_rate": (0.05, 0.2)}, n_iter=2, cv=3,
        subset_size=subset_size, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert search.best_score_ > 0.8
    X_missing = X.copy()
    X_missing.loc[3, "i"] = pd.NA
    # Boosting takes missing values; a model that does not is told to impute.
    SubsetSearchCV(hgb, {"learning_rate": (0.05, 0.2)}, n_iter=1, cv=3).fit(
        X_missing, y
    )
