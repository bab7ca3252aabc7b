"""Real pipelines (issue 15): DataFrames, text, missing values and set_output.

X reaches the estimator untouched; the selector reads the output of the
pipeline's own preprocessing (or, for an estimator that takes DataFrames
itself, a one-hot view of them). Every case runs under all four selectors.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.fixes import parse_version

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
    # A column the pipeline reads is gone: its ColumnTransformer says so,
    # as it does for the pipeline alone.
    renamed = df.rename(columns={"num": "other"})
    with pytest.raises(ValueError, match="columns are missing: {'num'}"):
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


# --- Polars frames, pandas output and pass-through columns (a review) ------


@pytest.mark.parametrize("selector", ["craig", "gradmatch"])
def test_polars_frame_for_an_estimator_that_reads_it(selector):
    # The one-hot view of a polars frame was built with make_column_selector,
    # which reads pandas only: every gradient selector failed.
    pl = pytest.importorskip("polars")
    rng = np.random.RandomState(0)
    X = rng.randn(300, 3)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    kind = pl.Series(rng.choice(["u", "v"], 300)).cast(pl.Categorical)
    frame = pl.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "kind": kind})
    numeric = pd.DataFrame(X, columns=["a", "b", "c"])
    model = SubsetEstimator(
        HistGradientBoostingClassifier(max_iter=10, categorical_features="from_dtype"),
        selector=selector,
        subset_size=0.2,
        random_state=0,
    )
    model.fit(frame.select(["a", "b", "c"]), y)
    # The same rows as for the pandas frame of the same numbers.
    same = clone_fit(model, numeric, y)
    np.testing.assert_array_equal(model.subset_.indices, same.subset_.indices)
    try:
        clone(model.estimator).fit(frame, y)
    except ValueError:
        # scikit-learn before 1.9 finds polars 2's categories through the
        # interchange protocol that polars dropped: the estimator alone fails.
        assert parse_version(sklearn.__version__) < parse_version("1.9")
    else:
        assert model.fit(frame, y).subset_.size == 60
    _, y_res = SubsetSampler(selector, 0.2, random_state=0).fit_resample(frame, y)
    assert len(y_res) == 60


def clone_fit(model, X, y):

    return clone(model).fit(X, y)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_polars_nan_and_infinity_are_refused_early(value):
    # polars keeps float NaN apart from nulls: the check counted nulls only,
    # so a random subset missed the row and a search failed after its trials.
    pl = pytest.importorskip("polars")
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2)
    X[5, 1] = value
    frame = pl.DataFrame({"a": X[:, 0], "b": X[:, 1]})
    y = (X[:, 0] > 0).astype(int)
    word = "NaN" if np.isnan(value) else "infinity"
    with pytest.raises(ValueError, match=f"Input X contains {word}"):
        SubsetEstimator(LogisticRegression(), selector="random").fit(frame, y)
    search = SubsetSearchCV(
        LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=2, cv=2, random_state=0
    )
    with pytest.raises(ValueError, match=f"Input X contains {word}"):
        search.fit(frame, y)


@pytest.mark.parametrize("selector", ["craig", "glister"])
def test_pandas_output_with_categories_passed_through(selector):
    # set_output(transform="pandas") passing a categorical column through to
    # a model that reads categories itself: the selectors refused the
    # pipeline's output as not numeric.
    rng = np.random.RandomState(0)
    n = 300
    df = pd.DataFrame(
        {
            "age": np.where(rng.rand(n) < 0.1, np.nan, rng.randint(18, 80, n)),
            "city": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        }
    )
    y = ((df["age"].fillna(40) > 50) ^ (df["city"] == "b")).astype(int).to_numpy()
    pre = make_column_transformer(
        (SimpleImputer(), ["age"]),
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    pipe = make_pipeline(
        pre,
        HistGradientBoostingClassifier(max_iter=10, categorical_features="from_dtype"),
    ).set_output(transform="pandas")
    model = SubsetEstimator(pipe, selector=selector, subset_size=0.2, random_state=0)
    assert model.fit(df, y).subset_.size == 60
    assert model.predict(df).shape == (n,)


def test_global_pandas_output_with_a_text_pipeline():
    # set_config(transform_output="pandas") made the view's TruncatedSVD of
    # wide sparse rows return a DataFrame, which the view sliced as an array.
    from sklearn import config_context

    rng = np.random.RandomState(0)
    vocab = [f"w{i}" for i in range(300)]
    docs = [" ".join(rng.choice(vocab, 10)) for _ in range(300)]
    y = np.array([int("w1" in d.split() or "w2" in d.split()) for d in docs])
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression())
    with config_context(transform_output="pandas"):
        model = SubsetEstimator(pipe, selector="craig", subset_size=0.2, random_state=0)
        indices = model.fit(docs, y).subset_.indices
    same = SubsetEstimator(pipe, selector="craig", subset_size=0.2, random_state=0)
    np.testing.assert_array_equal(indices, same.fit(docs, y).subset_.indices)


def test_predict_takes_columns_as_the_wrapped_pipeline_does(frame):
    # The wrapper checked column names itself and refused reordered, dropped
    # (unused) or extra columns that its ColumnTransformer picks by name.
    df, y = frame
    pipe = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["num"]), (OneHotEncoder(), ["city"])
        ),
        LogisticRegression(),
    )
    model = SubsetEstimator(pipe, selector="craig", subset_size=0.3, random_state=0)
    model.fit(df, y)
    expected = model.predict(df)
    for other in (
        df[["city", "kind", "num2", "num"]],
        df[["num", "city"]],
        df.assign(extra=1),
    ):
        np.testing.assert_array_equal(model.predict(other), expected)
    # A plain estimator still refuses other names, with scikit-learn's error.
    plain = SubsetEstimator(LogisticRegression(), selector="random", random_state=0)
    numbers = df[["num"]].assign(num3=df["num"] * 2)
    plain.fit(numbers, y)
    with pytest.raises(ValueError, match="feature names"):
        plain.predict(numbers.rename(columns={"num3": "other"}))


def test_resume_with_the_same_rows_under_another_index(tmp_path, monkeypatch):
    # The stored study's data digest held the pandas index: the same rows
    # read again without index_col were "other data".
    import subsetml.model_selection._search as search_module

    rng = np.random.RandomState(0)
    n = 300
    df = pd.DataFrame(rng.randn(n, 2), columns=["a", "b"], index=rng.permutation(n))
    y = pd.Series((df["a"] > 0).astype(int).to_numpy(), index=df.index)

    def search(n_iter):
        return SubsetSearchCV(
            LogisticRegression(),
            {"C": (0.1, 10.0)},
            n_iter=n_iter,
            cv=2,
            subset_size=0.3,
            random_state=0,
            storage=f"sqlite:///{tmp_path / 'study.db'}",
            study_name="s",
        )

    search(2).fit(df, y)
    plain = df.reset_index(drop=True), y.reset_index(drop=True)
    assert len(search(3).fit(*plain).cv_results_["params"]) == 3
    with pytest.raises(ValueError, match="other data"):
        search(4).fit(df * 2, y)
    # A study stored before (its digest held the index) still resumes with
    # the same frame.
    monkeypatch.setattr(search_module, "_no_index", lambda rows: rows)
    monkeypatch.setattr(search_module, "_target_values", lambda y: y)
    search(2).set_params(study_name="old").fit(df, y)
    monkeypatch.undo()
    assert (
        len(search(3).set_params(study_name="old").fit(df, y).cv_results_["params"])
        == 3
    )


def test_resume_with_the_same_target_in_another_container(tmp_path, monkeypatch):
    # A list, a Series or int32 labels of the same values refused to resume
    # ("other data"), though every trial fits alike (a review).
    from sklearn.datasets import make_classification

    import subsetml.model_selection._search as search_module

    X, y = make_classification(200, 4, random_state=0)

    def search(n_iter, name="s"):
        return SubsetSearchCV(
            LogisticRegression(), {"C": (0.1, 10.0)}, n_iter=n_iter, cv=2,
            subset_size=0.3, random_state=0, study_name=name,
            storage=f"sqlite:///{tmp_path / 'study.db'}",
        )  # fmt: skip

    search(2).fit(X, y)
    for n_iter, target in enumerate([pd.Series(y), list(y), y.astype(np.int32)], 3):
        assert len(search(n_iter).fit(X, target).cv_results_["params"]) == n_iter
    # X keeps its type: a DataFrame may be read otherwise than an array.
    with pytest.raises(ValueError, match="X's type"):
        search(7).fit(pd.DataFrame(X), y)
    # A study stored before (the target hashed as given) still resumes.
    monkeypatch.setattr(search_module, "_target_values", lambda y: y)
    search(2, "old").fit(X, pd.Series(y))
    monkeypatch.undo()
    assert len(search(3, "old").fit(X, pd.Series(y)).cv_results_["params"]) == 3


def test_a_precomputed_kernel_frame_of_the_wrong_width_is_refused():
    # Its columns are cut to the subset's before the estimator sees them, so
    # the wrapper checks their count itself (leaving frames to the estimator
    # predicted from a kernel of 250 columns silently, a review).
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.svm import SVC

    rng = np.random.RandomState(0)
    X = rng.randn(200, 3)
    y = (X[:, 0] > 0).astype(int)
    model = SubsetEstimator(SVC(kernel="precomputed"), subset_size=0.3, random_state=0)
    model.fit(pd.DataFrame(rbf_kernel(X)), y)
    for width in (250, 150):
        wrong = pd.DataFrame(rbf_kernel(X[:10], rng.randn(width, 3)))
        with pytest.raises(ValueError, match=f"X has {width} features"):
            model.predict(wrong)
    assert model.predict(pd.DataFrame(rbf_kernel(X[:10], X))).shape == (10,)


def test_an_array_after_a_frame_fit_warns_once(frame):
    # Predicting from an array after a fit on a frame warned twice: in the
    # wrapper's name and in the fitted model's (a review).
    df, y = frame
    numbers = df[["num"]].assign(num3=df["num"] * 2)
    model = SubsetEstimator(LogisticRegression(), selector="random", random_state=0)
    model.fit(numbers, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.predict(numbers.to_numpy())
    names = [w for w in caught if "valid feature names" in str(w.message)]
    assert len(names) == 1
    assert "LogisticRegression" in str(names[0].message)
    # The feature count is still checked (by the fitted model).
    with pytest.raises(ValueError, match="X has 3 features"):
        model.predict(np.c_[numbers.to_numpy(), numbers.to_numpy()[:, :1]])
