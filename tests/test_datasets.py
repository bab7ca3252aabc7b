import random
import subprocess
import sys

import numpy as np
import pytest
from sklearn.utils import Bunch

from subsetml.datasets import load_bikeshare, make_mnist1d

ATTRIBUTION = (
    "Bike Sharing Dataset, Fanaee-T & Gama (2013), UCI Machine Learning "
    "Repository, CC BY 4.0, https://doi.org/10.24432/C5W894; copy as "
    "distributed with the ISLP package"
)
FEATURES = [
    "season",
    "mnth",
    "day",
    "hr",
    "holiday",
    "weekday",
    "workingday",
    "weathersit",
    "temp",
    "atemp",
    "hum",
    "windspeed",
]


# ------------------------------------------------------------- bikeshare
@pytest.fixture(scope="module")
def bike():
    return load_bikeshare()


def test_bikeshare_bunch(bike):
    assert isinstance(bike, Bunch)
    assert bike.data.shape == (8645, 12)
    assert bike.data.dtype == np.float64
    assert bike.target.shape == (8645,)
    assert bike.target.dtype == np.int64
    assert bike.feature_names == FEATURES
    assert bike.target_names == ["bikers"]
    assert bike.frame is None
    assert np.isfinite(bike.data).all()
    assert bike.target.min() >= 1


def test_bikeshare_attribution_in_descr(bike):
    # DESCR wraps lines; compare with whitespace normalised.
    assert ATTRIBUTION in " ".join(bike.DESCR.split())
    assert "CC BY 4.0" in load_bikeshare.__doc__


def test_bikeshare_no_leakage_columns(bike):
    assert "casual" not in bike.feature_names
    assert "registered" not in bike.feature_names
    assert "bikers" not in bike.feature_names


def test_bikeshare_coding(bike):
    X = bike.data
    col = {name: X[:, i] for i, name in enumerate(bike.feature_names)}
    assert set(col["mnth"]) == set(range(1, 13))
    assert set(col["weathersit"]) <= {1, 2, 3, 4}
    assert set(col["hr"]) == set(range(24))
    assert set(col["weekday"]) == set(range(7))
    # The first hour of the file: 1 January 2011, a clear Saturday night.
    assert col["mnth"][0] == 1 and col["weathersit"][0] == 1
    assert col["weekday"][0] == 6 and col["day"][0] == 1
    # Months run in calendar order through the year.
    assert np.all(np.diff(col["mnth"]) >= 0)


def test_bikeshare_return_X_y(bike):
    X, y = load_bikeshare(return_X_y=True)
    np.testing.assert_array_equal(X, bike.data)
    np.testing.assert_array_equal(y, bike.target)


def test_bikeshare_as_frame(bike):
    pd = pytest.importorskip("pandas")
    framed = load_bikeshare(as_frame=True)
    assert isinstance(framed.data, pd.DataFrame)
    assert isinstance(framed.target, pd.Series)
    assert list(framed.data.columns) == FEATURES
    assert framed.target.name == "bikers"
    assert framed.frame.shape == (8645, 15)
    assert not framed.frame.isna().any().any()
    frame = framed.frame
    # The leakage the numeric form avoids: the two counts add up to the target.
    assert (frame["casual"] + frame["registered"] == frame["bikers"]).all()
    assert frame["mnth"].cat.ordered
    assert list(frame["mnth"].cat.categories[:3]) == ["Jan", "Feb", "March"]
    # The numeric form is the frame's coding (1-based category positions).
    coded = framed.data.assign(
        mnth=framed.data["mnth"].cat.codes + 1,
        weathersit=framed.data["weathersit"].cat.codes + 1,
    )
    np.testing.assert_allclose(coded.to_numpy(dtype=float), bike.data)
    np.testing.assert_array_equal(framed.target.to_numpy(), bike.target)
    X, y = load_bikeshare(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)


def test_bikeshare_as_frame_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_bikeshare(as_frame=True)
    # The numeric form does not need pandas.
    assert load_bikeshare(return_X_y=True)[0].shape == (8645, 12)


@pytest.mark.parametrize(
    "kwargs", [{"return_X_y": "yes"}, {"as_frame": 1}, {"as_frame": None}]
)
def test_bikeshare_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must be True or False"):
        load_bikeshare(**kwargs)


# --------------------------------------------------------------- mnist1d
# mnist1d is in the test extra; these tests skip without it.


@pytest.fixture
def mnist1d():
    return pytest.importorskip("mnist1d")


def test_mnist1d_shapes_and_dtypes(mnist1d):
    data = make_mnist1d(300, random_state=0)
    assert isinstance(data, Bunch)
    assert data.data.shape == (300, 40)
    assert data.data.dtype == np.float32
    assert data.target.shape == (300,)
    assert data.target.dtype == np.int64
    assert np.isfinite(data.data).all()
    np.testing.assert_array_equal(np.bincount(data.target), np.full(10, 30))
    assert len(data.feature_names) == 40
    assert "MNIST-1D" in data.DESCR


@pytest.mark.parametrize("n_samples", [1, 9, 37, 101])
def test_mnist1d_any_row_count(mnist1d, n_samples):
    X, y = make_mnist1d(n_samples, random_state=1, return_X_y=True)
    assert X.shape == (n_samples, 40) and y.shape == (n_samples,)


@pytest.mark.parametrize("seed", [0, 7])
def test_mnist1d_same_seed_same_data(mnist1d, seed):
    X1, y1 = make_mnist1d(100, random_state=seed, return_X_y=True)
    X2, y2 = make_mnist1d(100, random_state=seed, return_X_y=True)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = make_mnist1d(100, random_state=seed + 1, return_X_y=True)
    assert not np.array_equal(X1, X3)


def test_mnist1d_random_state_instance_and_none(mnist1d):
    a = make_mnist1d(50, random_state=np.random.RandomState(3), return_X_y=True)
    b = make_mnist1d(50, random_state=np.random.RandomState(3), return_X_y=True)
    np.testing.assert_array_equal(a[0], b[0])
    assert make_mnist1d(50, return_X_y=True)[0].shape == (50, 40)


def test_mnist1d_all_rows_of_the_reference_generator(mnist1d):
    # An integer seed is mnist1d's seed: with its defaults the rows are those
    # of make_dataset's train part followed by its test part.
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = 200, 5
    ref = make_dataset(args)
    X, y = make_mnist1d(200, random_state=5, return_X_y=True)
    np.testing.assert_allclose(X, np.concatenate([ref["x"], ref["x_test"]]))
    np.testing.assert_array_equal(y, np.concatenate([ref["y"], ref["y_test"]]))


def test_mnist1d_leaves_global_generators_alone(mnist1d):
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.rand(), random.random())
    np.random.seed(123)
    random.seed(123)
    make_mnist1d(20, random_state=0)
    assert (np.random.rand(), random.random()) == expected


@pytest.mark.parametrize("n_samples", [0, -5, 2.5, 10.0, "100", None, True])
def test_mnist1d_bad_n_samples(n_samples):
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        make_mnist1d(n_samples)


@pytest.mark.parametrize("random_state", [-1, 2**32, 1.5, "0"])
def test_mnist1d_bad_random_state(random_state):
    with pytest.raises(ValueError, match="random_state"):
        make_mnist1d(10, random_state=random_state)


def test_mnist1d_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match="pip install mnist1d"):
        make_mnist1d(10, random_state=0)


def test_importing_datasets_is_light():
    code = (
        "import sys, subsetml.datasets\n"
        "print(','.join(m for m in ('mnist1d', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_numpy_bools_are_accepted_as_documented():
    """numpy 2 names its bool type "bool", not "bool_": np.True_ was refused."""
    X, _ = load_bikeshare(return_X_y=np.True_, as_frame=np.False_)
    assert X.shape == (8645, 12)
    X, _ = make_mnist1d(20, random_state=0, return_X_y=np.True_)
    assert X.shape[0] == 20
