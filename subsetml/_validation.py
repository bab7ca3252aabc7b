"""Scalar parameter checks shared by every layer, on ``sklearn.utils.check_scalar``.

One helper instead of a hand-written check per module. scikit-learn's
``check_scalar`` checks the type and the bounds; it accepts bools as integers
and lets NaN through every bound, so :func:`check_number` refuses those
first. Every failure is a ``ValueError`` worded ``"<name> must be
<description>, got <value>."``, the form the estimators documented.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import os
import sys

import numpy as np
from sklearn.utils import check_scalar

__all__ = [
    "check_label_types",
    "check_number",
    "check_numeric_y",
    "external_stacklevel",
]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _package_dir(name):
    """The folder of installed package ``name`` (found, not imported), or None."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return os.path.dirname(os.path.abspath(spec.origin)) + os.sep


# Frames of scikit-learn's fit wrappers (callbacks, parameter validation)
# between a user's call and subsetml's code, matched anywhere in a path.
_WRAPPERS = (
    os.sep + os.path.join("sklearn", "callback") + os.sep,
    os.sep + os.path.join("sklearn", "base.py"),
    os.sep + "contextlib.py",
)
# Frames of skorch's training loop, matched by its folder's full path (a
# user's own "skorch" folder of tests is not skorch).
_LOOPS = tuple(d for d in (_package_dir("skorch"),) if d)


def external_stacklevel():
    """The ``stacklevel`` for ``warnings.warn`` that names the first caller
    outside subsetml.

    Call it in the ``warnings.warn(...)`` call itself. Fixed stack levels
    broke whenever a wrapper (scikit-learn 1.9 wraps ``fit`` for its
    callbacks) or a helper came between the user's call and the warning.
    """
    frame = sys._getframe(1)  # the function calling warnings.warn
    level = 1
    while frame is not None:
        name = frame.f_code.co_filename
        if not (
            name.startswith((_PACKAGE, *_LOOPS)) or any(w in name for w in _WRAPPERS)
        ):
            break
        frame = frame.f_back
        level += 1
    return level


def check_number(
    value,
    name,
    *,
    integer=False,
    low=None,
    high=None,
    include_low=True,
    include_high=True,
    finite=True,
    description=None,
):
    """Return ``value`` if it is a finite number within bounds; else raise.

    Parameters
    ----------
    value : object
    name : str
        The parameter's name, for the message.
    integer : bool, default=False
        Require an integer (``numbers.Integral``); otherwise any finite real.
    low, high : float or None, default=None
        Bounds; None leaves that side open-ended.
    include_low, include_high : bool, default=True
        Whether each bound is allowed.
    finite : bool, default=True
        Refuse infinite reals (NaN is refused either way).
    description : str, default=None
        What the message says ``value`` must be; by default the type and
        the interval, e.g. ``"an integer in [1, inf)"``.

    Returns
    -------
    value : number

    Raises
    ------
    ValueError
        ``"<name> must be <description>, got <value!r>."``

    Examples
    --------
    >>> from subsetml._validation import check_number
    >>> check_number(3, "select_every", integer=True, low=1)
    3
    >>> check_number(1.0, "warm_up", low=0, high=1, include_high=False)
    Traceback (most recent call last):
    ...
    ValueError: warm_up must be a number in [0, 1), got 1.0.
    """
    kind = numbers.Integral if integer else numbers.Real
    include_low = include_low and low is not None
    include_high = include_high and high is not None
    boundaries = {
        (True, True): "both",
        (True, False): "left",
        (False, True): "right",
        (False, False): "neither",
    }[include_low, include_high]
    ok = not isinstance(value, bool)
    if ok:
        try:
            check_scalar(
                value,
                name,
                kind,
                min_val=low,
                max_val=high,
                include_boundaries=boundaries,
            )
        except (TypeError, ValueError):
            ok = False
    if ok and not integer:
        ok = math.isfinite(value) if finite else not math.isnan(value)
    if not ok:
        if description is None:
            what = "an integer" if integer else "a number"
            left = ("[" if include_low else "(") + ("-inf" if low is None else f"{low}")
            right = ("inf" if high is None else f"{high}") + (
                "]" if include_high else ")"
            )
            description = f"{what} in {left}, {right}"
        raise ValueError(f"{name} must be {description}, got {value!r}.")
    return value


def one_or_more_targets(y):
    """``y`` as one target per row, or a (n_samples, n_outputs) matrix of
    several; a single column becomes 1-D with scikit-learn's warning."""
    from sklearn.utils.validation import column_or_1d

    if y.ndim == 2 and y.shape[1] > 1:
        return y
    return column_or_1d(y, warn=True)


def label_columns_error(who, shape, advice):
    """The ``ValueError`` for class labels in several columns (multilabel or
    multi-output classification), which no selector stratifies by."""
    return ValueError(
        f"{who} selects rows for one class label per row; y has shape "
        f"{tuple(shape)} (multilabel or multi-output classification), which "
        f"is not supported. {advice}"
    )


def check_numeric_y(y, *, ensure_finite=True):
    """Regression targets as a numeric array, with a clear error otherwise.

    scikit-learn's ``check_array`` names strings clearly, but an object
    array of strings fails inside numpy ("could not convert string to
    float"); both become a ``ValueError`` that says y must be numeric.

    Examples
    --------
    >>> from subsetml._validation import check_numeric_y
    >>> check_numeric_y([1, 2.5]).dtype
    dtype('float64')
    """
    from sklearn.utils import check_array

    try:
        return check_array(
            y,
            ensure_2d=False,
            dtype="numeric",
            ensure_all_finite=ensure_finite,
            input_name="y",
        )
    except ValueError as exc:
        if "could not convert" not in str(exc):
            raise
        sample = np.asarray(y, dtype=object).ravel()[:1]
        raise ValueError(
            "y must be numeric for regression; it holds values that are not "
            f"numbers, such as {sample[0]!r}."
        ) from None


def is_resampler(step):
    """Whether a Pipeline step resamples the rows while the model fits
    (imbalanced-learn's samplers: ``fit_resample``)."""
    return hasattr(step, "fit_resample")


def check_label_types(y):
    """Refuse labels of several kinds (strings beside numbers) in an object
    ``y``: numpy cannot sort them, and failed deep inside ``np.unique``."""
    y = np.asarray(y)
    if y.dtype == object and y.size:
        kinds = {type(v).__name__ for v in y.ravel()[:100_000]}
        if len({k == "str" for k in kinds}) > 1:
            raise ValueError(
                f"y mixes labels of different types ({', '.join(sorted(kinds))}); "
                "use labels of one type, e.g. y.astype(str)."
            )
