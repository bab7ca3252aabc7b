"""Nested parameters of the nets' selector and policies (``selector__lam``)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from subsetml.minibatch import BigLossPolicy
from subsetml.selection import CraigSelector, GradMatchSelector
from subsetml.skorch import AdaSelectionClassifier, SubsetNeuralNetClassifier


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 5).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def _module():
    return torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    )


def _subset_net(**kwargs):
    params = dict(
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=3,
        selector=GradMatchSelector(),
        subset_size=0.3,
        train_split=None,
        verbose=0,
        random_state=0,
    )
    return SubsetNeuralNetClassifier(_module(), **{**params, **kwargs})


def _ada_net(**kwargs):
    params = dict(
        criterion=torch.nn.CrossEntropyLoss,
        max_epochs=2,
        policies=BigLossPolicy(),
        train_split=None,
        verbose=0,
        random_state=0,
    )
    return AdaSelectionClassifier(_module(), **{**params, **kwargs})


@pytest.mark.filterwarnings("ignore:AdaSelection steps")
@pytest.mark.parametrize(
    "make, key, value",
    [(_subset_net, "selector__lam", 0.7), (_ada_net, "policies__temperature", 3.0)],
)
def test_listed_nested_parameter_is_set_on_the_object_and_fits(make, key, value):
    X, y = _data()
    net = make()
    assert key in net.get_params(deep=True)
    name, sub = key.split("__")
    assert net.set_params(**{key: value}) is net
    assert getattr(net, name).get_params()[sub] == value
    assert net.get_params(deep=True)[key] == value
    assert key not in vars(net)  # not stored for skorch to refuse
    net.fit(X, y)
    # A clone keeps it, and so does a fitted net set again.
    assert getattr(clone(net), name).get_params()[sub] == value
    net.set_params(**{key: value / 2}).fit(X, y)
    assert net.get_params(deep=True)[key] == value / 2


def test_grid_search_tunes_the_selectors_parameter():
    X, y = _data()
    search = GridSearchCV(
        _subset_net(), {"selector__lam": [0.1, 1.0]}, cv=2, error_score="raise"
    ).fit(X, y)
    assert search.best_params_["selector__lam"] in (0.1, 1.0)
    assert search.best_estimator_.selector.lam == search.best_params_["selector__lam"]


def test_new_selector_and_its_parameter_in_one_call():
    net = _subset_net().set_params(selector=CraigSelector(), selector__epsilon=0.5)
    assert isinstance(net.selector, CraigSelector)
    assert net.selector.epsilon == 0.5


def test_partial_fit_uses_a_selector_parameter_set_since_the_last_fit():
    X, y = _data()
    net = _subset_net(warm_up=0.0, selector=GradMatchSelector(random_state=0))
    net.partial_fit(X, y)
    net.set_params(selector__lam=2.0)
    net.partial_fit(X, y)
    assert net._subset_selector_.lam == 2.0


@pytest.mark.parametrize(
    "make, params, match",
    [
        (_subset_net, {"selector": "craig", "selector__epsilon": 0.5}, "selector"),
        (
            _ada_net,
            {"policies": ["big_loss", "uniform"], "policies__temperature": 2.0},
            "policies",
        ),
    ],
)
def test_nested_parameter_of_a_name_or_list_is_a_clear_error(make, params, match):
    with pytest.raises(ValueError, match=f"Cannot set {match}__"):
        make().set_params(**params)


def test_skorch_prefixes_still_work():
    X, y = _data()
    net = _subset_net().set_params(
        optimizer__lr=0.05, iterator_train__shuffle=True, selector__lam=0.2
    )
    net.fit(X, y)
    assert net.optimizer_.param_groups[0]["lr"] == 0.05
    assert net.iterator_train__shuffle is True and net.selector.lam == 0.2
