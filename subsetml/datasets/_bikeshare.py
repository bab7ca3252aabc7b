"""The UCI Bike Sharing hourly counts of 2011, bundled (a regression target)."""

from __future__ import annotations

import csv
import gzip
import io
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from subsetml.datasets._base import check_bool, import_optional

__all__ = ["load_bikeshare"]

_FILE = "bikeshare.csv.gz"
_TARGET = "bikers"
# casual + registered == bikers on every row: as features they would hand the
# model its target.
_LEAKS = ("casual", "registered")
# The source spells months and weather out; the numeric form uses the natural
# month number and the UCI release's weather codes (1 = clear ... 4 = heavy).
_MONTHS = (
    "Jan",
    "Feb",
    "March",
    "April",
    "May",
    "June",
    "July",
    "Aug",
    "Sept",
    "Oct",
    "Nov",
    "Dec",
)
_WEATHER = ("clear", "cloudy/misty", "light rain/snow", "heavy rain/snow")
_CODES = {
    "mnth": {label: i + 1 for i, label in enumerate(_MONTHS)},
    "weathersit": {label: i + 1 for i, label in enumerate(_WEATHER)},
}

DESCR = """\
.. _bikeshare_dataset:

Bike Sharing hourly counts (Washington D.C., 2011)
--------------------------------------------------

**Data Set Characteristics:**

:Number of Instances: 8645 (one per hour of 2011 with data)
:Number of Attributes: 12 features; target ``bikers``
:Missing Attribute Values: None
:Task: regression (count of rentals in the hour)

:Features (numeric form, ``as_frame=False``):
    - season: 1 to 4 as in the source; by the dates, 1 = winter (21 December
      to 20 March), 2 = spring, 3 = summer, 4 = autumn (the UCI page's
      labels, spring to winter, are shifted by one)
    - mnth: month, 1 (January) to 12 (December); the source's text labels
      ``Jan, Feb, March, April, May, June, July, Aug, Sept, Oct, Nov, Dec``
      mapped to their month number
    - day: day of the year, 1 to 365
    - hr: hour of the day, 0 to 23
    - holiday: 1 on a public holiday, else 0
    - weekday: day of the week, 0 (Sunday) to 6 (Saturday)
    - workingday: 1 on a weekday that is not a holiday, else 0
    - weathersit: 1 = clear, 2 = cloudy/misty, 3 = light rain/snow,
      4 = heavy rain/snow (the UCI codes of the source's text labels)
    - temp: temperature in Celsius divided by 41
    - atemp: felt temperature in Celsius divided by 50
    - hum: relative humidity divided by 100
    - windspeed: wind speed divided by 67

With ``as_frame=True``, ``mnth`` and ``weathersit`` keep their text labels as
ordered categoricals (in the order above) and ``frame`` holds all 15 columns of
the source file.

**Leakage.** The source also has ``casual`` and ``registered``, the rentals by
casual and registered users; they add up to ``bikers`` on every row, so they are
not features here. ``frame`` keeps them for reference only.

**Source and licence.** Bike Sharing Dataset, Fanaee-T & Gama (2013), UCI
Machine Learning Repository, CC BY 4.0, https://doi.org/10.24432/C5W894; copy as
distributed with the ISLP package (``ISLP/data/Bikeshare.csv``, ISLP 0.6.0),
unchanged, gzip-compressed. The UCI release covers 2011 and 2012; this copy
holds the 2011 hours only.

.. topic:: References

   - Fanaee-T, H. and Gama, J. (2013). Event labeling combining ensemble
     detectors and background knowledge. Progress in Artificial Intelligence,
     2, 113-127.
   - James, G., Witten, D., Hastie, T., Tibshirani, R. and Taylor, J. (2023).
     An Introduction to Statistical Learning with Applications in Python.
     Springer (the ISLP package).
"""


def _read_text():
    source = resources.files("subsetml.datasets") / "data" / _FILE
    with source.open("rb") as raw, gzip.open(raw, "rt", newline="") as text:
        return text.read()


def _parse(text):
    """The CSV as (header, float64 array) with text labels coded as numbers."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    coders = [_CODES.get(name) for name in header]
    rows = [
        [float(v) if code is None else code[v] for v, code in zip(row, coders)]
        for row in reader
    ]
    return header, np.asarray(rows, dtype=np.float64)


def load_bikeshare(*, return_X_y=False, as_frame=False):
    """Load the UCI Bike Sharing hourly data of 2011 (regression).

    8,645 hours, 12 features, target ``bikers`` (rentals in the hour). The data
    ship with subsetml; nothing is downloaded. Read ``DESCR`` for the columns,
    the coding of the text columns and the licence.

    =================   ==============
    Samples total       8645
    Dimensionality      12
    Features            int and real
    Target              int, 1 - 651
    =================   ==============

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return pandas objects: ``data`` a DataFrame with the source's columns
        (``mnth`` and ``weathersit`` as ordered categoricals of their text
        labels), ``target`` a Series. Needs pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (8645, 12) or DataFrame
            The features. In the numeric form (``as_frame=False``, float64),
            ``mnth`` is the month number 1-12 and ``weathersit`` the UCI weather
            code 1-4 (1 = clear, 2 = cloudy/misty, 3 = light rain/snow, 4 =
            heavy rain/snow); every other column is as in the source.
        target : ndarray of shape (8645,), int64, or Series
            Rentals in the hour, ``casual + registered``.
        feature_names : list of str
            ``season, mnth, day, hr, holiday, weekday, workingday, weathersit,
            temp, atemp, hum, windspeed``.
        target_names : list of str
            ``["bikers"]``.
        frame : DataFrame or None
            With ``as_frame=True``, all 15 source columns, including
            ``casual`` and ``registered``, which sum to the target and are
            therefore left out of ``data``.
        DESCR : str
            Description, feature coding, source and licence (CC BY 4.0).

    (data, target) : tuple if ``return_X_y`` is True

    Notes
    -----
    Bike Sharing Dataset, Fanaee-T & Gama (2013), UCI Machine Learning
    Repository, CC BY 4.0, https://doi.org/10.24432/C5W894; copy as distributed
    with the ISLP package.

    Examples
    --------
    >>> from subsetml.datasets import load_bikeshare
    >>> X, y = load_bikeshare(return_X_y=True)
    >>> X.shape, X.dtype, y.dtype
    ((8645, 12), dtype('float64'), dtype('int64'))
    >>> bunch = load_bikeshare()
    >>> bunch.feature_names[:4]
    ['season', 'mnth', 'day', 'hr']
    >>> "CC BY 4.0" in bunch.DESCR
    True
    """
    check_bool(return_X_y, "return_X_y")
    check_bool(as_frame, "as_frame")
    text = _read_text()
    if as_frame:
        return _as_frame(text, return_X_y)
    header, table = _parse(text)
    features = [n for n in header if n != _TARGET and n not in _LEAKS]
    data = table[:, [header.index(n) for n in features]]
    target = table[:, header.index(_TARGET)].astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        feature_names=features,
        target_names=[_TARGET],
        frame=None,
        DESCR=DESCR,
    )


def _as_frame(text, return_X_y):
    pd = import_optional(
        "pandas", package="pandas", purpose="load_bikeshare(as_frame=True)"
    )
    frame = pd.read_csv(io.StringIO(text))
    for name, labels in (("mnth", _MONTHS), ("weathersit", _WEATHER)):
        frame[name] = pd.Categorical(
            frame[name].astype(object), categories=list(labels), ordered=True
        )
    features = [n for n in frame.columns if n != _TARGET and n not in _LEAKS]
    data = frame[features].copy()
    target = frame[_TARGET].copy()
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        feature_names=features,
        target_names=[_TARGET],
        frame=frame,
        DESCR=DESCR,
    )
