"""Plots of searches, benchmarks and AdaSelection training (matplotlib optional).

Every function draws into ``ax`` (a new figure's axes when None) and returns
the axes, so plots compose the way scikit-learn's displays do. matplotlib is
imported only when a function is called.
"""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np

__all__ = [
    "plot_method_weights",
    "plot_search_history",
    "plot_speedup",
    "plot_tradeoff",
]


def _axes(ax):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "subsetml.plotting needs matplotlib: pip install matplotlib"
        ) from exc
    _, ax = plt.subplots(figsize=(5.5, 3.8))
    return ax


def _records(records):
    """A list of dicts from dicts, a DataFrame, a mapping of columns, or a
    results file as loaded (its ``records``, or the demo's ``methods``)."""
    if records is None:
        raise TypeError(
            "records is None; pass rows of results (the demo's results.json, a "
            "benchmark's records)."
        )
    if hasattr(records, "to_dict") and hasattr(records, "columns"):
        return records.to_dict("records")
    if isinstance(records, dict):
        for key in ("records", "methods"):
            if isinstance(records.get(key), list):
                return _records(records[key])
        if not all(isinstance(v, (list, tuple, np.ndarray)) for v in records.values()):
            # One row given alone (its values are not columns).
            raise TypeError(
                "records given as a dict must be columns of equal length, or a "
                "results file with 'records'; for a single row pass [row]."
            )
        keys = list(records)
        lengths = {len(records[k]) for k in keys}
        if len(lengths) > 1:
            raise ValueError(
                "records given as a dict of columns need columns of one length, "
                f"got lengths {sorted(lengths)}."
            )
        n = lengths.pop() if keys else 0
        return [{k: records[k][i] for k in keys} for i in range(n)]
    if hasattr(records, "cv_results_") or hasattr(records, "get_params"):
        raise TypeError(
            f"records must be rows of results (the demo's results.json, a "
            f"benchmark's records), not a {type(records).__name__}; for a "
            "search's trials use plot_search_history(search)."
        )
    records = list(records)
    if records and not isinstance(records[0], dict):
        raise TypeError(
            "records must be dicts, a pandas DataFrame or a dict of columns, got "
            f"a sequence of {type(records[0]).__name__}."
        )
    return records


def _label(rows, label):
    """``label``, or when None the column naming the runs: ``"strategy"``
    (benchmark results) or ``"method"`` (``subsetml demo``)."""
    if label is not None:
        return label
    for name in ("strategy", "method"):
        if rows and name in rows[0]:
            return name
    return "strategy"


def _grouped(records, label, *columns):
    rows = _records(records)
    if not rows:
        raise ValueError("records is empty: nothing to plot.")
    label = _label(rows, label)
    tasks = {r.get("task") for r in rows}
    if len(tasks) > 1:
        raise ValueError(
            f"records hold runs of several tasks ({sorted(map(str, tasks))}): "
            "pass the rows of one task, e.g. [r for r in records if r['task'] == "
            "...], or their points would be averaged together."
        )
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        missing = [c for c in (label, *columns) if c not in r]
        if missing:
            raise KeyError(
                f"record {i} has no column(s) {missing}; it has {sorted(r)}."
            )
        try:
            values = [float(r[c]) for c in columns]
        except (TypeError, ValueError):
            raise ValueError(
                f"record {i} ({r[label]!r}) holds a non-number in "
                f"{list(columns)}: {[r[c] for c in columns]}."
            ) from None
        groups[r[label]].append(values)
    return {k: np.asarray(v) for k, v in groups.items()}


def _finite_runs(groups):
    """Each group's runs whose values are all finite (a failed run's NaN
    would turn its strategy's mean into NaN, an invisible point or bar);
    strategies left with no run are dropped, with a warning."""
    kept, dropped = {}, []
    for name, values in groups.items():
        values = values[np.isfinite(values).all(axis=1)]
        if len(values):
            kept[name] = values
        else:
            dropped.append(name)
    if dropped:
        warnings.warn(
            f"Not drawn: {dropped} (no run with finite values).",
            UserWarning,
            stacklevel=3,
        )
    return kept


def plot_tradeoff(
    records, *, time="end_to_end_s", score="test_accuracy", label=None, ax=None
):
    """Score against time, one point per strategy (the paper's Figure 1).

    Repeated rows of a strategy (seeds) are drawn as their mean with one
    standard deviation as error bars. Time is on a log scale. Runs with a
    non-finite time or score (NaN: a failed run) are left out; a strategy
    with no other run is not drawn, with a warning.

    Parameters
    ----------
    records : list of dict, pandas.DataFrame, dict of columns or results dict
        One row per run: e.g. ``subsetml demo``'s ``results.json`` as loaded
        (its ``methods`` are read), or the ``records`` of one task of a
        benchmark results file such as ``benchmarks/results/fidelity.json``.
        Runs of several tasks (a ``task`` column with more than one value)
        are refused rather than averaged together.
    time, score : str
        Column names of the time (x) and the score (y).
    label : str or None, default=None
        Column naming the runs; None: ``"strategy"`` when the records have
        it, else ``"method"`` (the demo's).
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from subsetml.plotting import plot_tradeoff
    >>> runs = [
    ...     {"strategy": "full", "end_to_end_s": 60.0, "test_accuracy": 0.91},
    ...     {"strategy": "random 5 %", "end_to_end_s": 8.0, "test_accuracy": 0.89},
    ... ]
    >>> ax = plot_tradeoff(runs)
    >>> ax.get_xscale()
    'log'
    """
    groups = _finite_runs(_grouped(records, label, time, score))
    if not groups:
        raise ValueError(f"No run has a finite {time!r} and {score!r}.")
    instant = sorted(str(n) for n, v in groups.items() if not v[:, 0].mean() > 0)
    if instant:
        # A log axis has no place for them (an empty plot, a review).
        raise ValueError(
            f"The time axis is logarithmic and needs a positive mean {time!r}; "
            f"these strategies have none: {instant}."
        )
    ax = _axes(ax)
    for name, values in groups.items():
        t, s = values[:, 0], values[:, 1]
        ax.errorbar(
            t.mean(),
            s.mean(),
            xerr=t.std() if len(t) > 1 else None,
            yerr=s.std() if len(s) > 1 else None,
            fmt="o",
            capsize=3,
            label=str(name),
        )
    ax.set_xscale("log")
    ax.set_xlabel(time.replace("_", " "))
    ax.set_ylabel(score.replace("_", " "))
    ax.legend(fontsize=8)
    return ax


def plot_speedup(records, *, reference, time="end_to_end_s", label=None, ax=None):
    """Bars of the speed-up of every strategy over ``reference``.

    Speed-up is the reference's mean time over the strategy's mean time.
    Runs with a non-finite time (NaN: a failed run) are left out; a strategy
    with no other run is not drawn, with a warning.

    Parameters
    ----------
    records : list of dict, pandas.DataFrame, dict of columns or results dict
        As for :func:`plot_tradeoff`.
    reference : str
        The strategy the others are compared with (e.g. the full-data search:
        ``"full (tpe)"`` in the benchmarks' files, the demo's first method).
    time : str
        Column name of the time.
    label : str or None, default=None
        As for :func:`plot_tradeoff`.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from subsetml.plotting import plot_speedup
    >>> runs = {"strategy": ["full", "craig"], "end_to_end_s": [60.0, 7.5]}
    >>> ax = plot_speedup(runs, reference="full")
    >>> [round(float(p.get_height()), 1) for p in ax.patches]
    [1.0, 8.0]
    """
    groups = _grouped(records, label, time)
    if reference not in groups:
        raise ValueError(
            f"reference {reference!r} is not one of the strategies {list(groups)}."
        )
    ref_times = groups[reference][:, 0]
    if not np.isfinite(ref_times).any():
        raise ValueError(f"reference {reference!r} has no run with a finite time.")
    ref = ref_times[np.isfinite(ref_times)].mean()
    if not ref > 0:
        raise ValueError(f"reference {reference!r} has a mean time of {ref}.")
    groups = _finite_runs(groups)
    means = {name: values[:, 0].mean() for name, values in groups.items()}
    instant = {name: float(t) for name, t in means.items() if not t > 0}
    if instant:
        raise ValueError(
            f"A speed-up needs a positive mean {time!r}; these strategies have "
            f"{instant}."
        )
    names = list(means)
    speedups = [ref / means[n] for n in names]
    ax = _axes(ax)
    ax.bar(range(len(names)), speedups, color="tab:blue")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(names)), [str(n) for n in names], rotation=30, ha="right")
    ax.set_ylabel(f"speed-up over {reference}")
    return ax


def plot_search_history(search, *, ax=None):
    """Each trial's mean CV score, in trial order, and the best so far
    (for a search with rungs, among the trials of the last rung).

    Parameters
    ----------
    search : fitted search
        A :class:`~subsetml.model_selection.SubsetSearchCV` or any scikit-learn
        search with ``cv_results_`` (with several metrics, the ``refit`` one).
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from subsetml.plotting import plot_search_history
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 1]})
    >>> ax = plot_search_history(search.fit(X, y))
    >>> len(ax.lines)
    2
    """
    if isinstance(search, dict) and "params" in search:
        raise TypeError(
            "plot_search_history takes the fitted search, not its cv_results_ "
            "(it reads the search's refit metric and rungs): pass the search."
        )
    results = getattr(search, "cv_results_", None)
    if results is None:
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(search).__name__} is not fitted yet: it has no "
            "cv_results_. Call fit before plot_search_history."
        )
    key = "mean_test_score"
    if key not in results:
        refit = getattr(search, "refit", None)
        if not isinstance(refit, str):
            raise ValueError(
                "With several metrics, plot_search_history needs the search's "
                "refit to name one."
            )
        key = f"mean_test_{refit}"
    scores = np.asarray(results[key], dtype=float)
    trials = np.arange(1, len(scores) + 1)
    counted = np.isfinite(scores)
    best_label = "best so far"
    rung = results.get("rung")
    if rung is not None and len(set(np.asarray(rung).tolist())) > 1:
        # A multi-fidelity search: scores of lower rungs do not compare with
        # the last rung's, where the result is chosen.
        counted &= np.asarray(rung) == np.max(rung)
        best_label = "best so far (last rung)"
    best = np.fmax.accumulate(np.where(counted, scores, -np.inf))
    best[~np.isfinite(best)] = np.nan
    ax = _axes(ax)
    ax.plot(trials, scores, "o", ms=4, label="trial")
    ax.plot(trials, best, "-", label=best_label)
    ax.set_xlabel("trial")
    ax.set_ylabel(key.replace("_", " "))
    ax.legend(fontsize=8)
    return ax


def plot_method_weights(net, *, key="method_weights", ax=None):
    """Weights of AdaSelection's policies over the epochs.

    Parameters
    ----------
    net : fitted skorch net
        An :class:`~subsetml.skorch.AdaSelectionClassifier` or
        :class:`~subsetml.skorch.AdaSelectionRegressor`, whose ``history``
        holds a dict of weights per epoch under ``key``.
    key : str, default="method_weights"
        History column (``"mixing_weights"`` for the weights actually mixed,
        curriculum included).
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from subsetml.plotting import plot_method_weights
    >>> class Net:  # anything with a skorch-like history
    ...     history = [
    ...         {"epoch": 1, "method_weights": {"big_loss": 0.5, "uniform": 0.5}},
    ...         {"epoch": 2, "method_weights": {"big_loss": 0.7, "uniform": 0.3}},
    ...     ]
    >>> ax = plot_method_weights(Net())
    >>> sorted(line.get_label() for line in ax.lines)
    ['big_loss', 'uniform']
    """
    history = getattr(net, "history", None)
    if history is None:
        if hasattr(net, "cv_results_") or not hasattr(net, "module"):
            raise TypeError(
                "plot_method_weights takes a fitted AdaSelection net, got a "
                f"{type(net).__name__}."
            )
        raise ValueError("net has no history: fit it first.")
    rows = [(row.get("epoch", i + 1), row.get(key)) for i, row in enumerate(history)]
    rows = [(e, w) for e, w in rows if isinstance(w, dict)]
    if not rows:
        raise ValueError(
            f"The net's history has no {key!r} entries; plot_method_weights "
            "reads AdaSelection nets."
        )
    # Every policy of any epoch: set_params(policies=...) between partial_fit
    # calls brings in others (each drawn where it has a weight).
    names = list(dict.fromkeys(name for _, w in rows for name in w))
    epochs = [e for e, _ in rows]
    ax = _axes(ax)
    for name in names:
        ax.plot(epochs, [w.get(name, np.nan) for _, w in rows], label=str(name))
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " "))
    ax.legend(fontsize=8)
    return ax
