"""Checks and lazy imports shared by the dataset loaders and generators."""

from __future__ import annotations

import importlib

import numpy as np

from subsetml._validation import check_number

__all__ = ["check_bool", "check_n_samples", "import_optional"]


def check_bool(value, name):
    """Raise ``ValueError`` unless ``value`` is a bool (numpy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")


def check_n_samples(n_samples):
    """Raise ``ValueError`` unless ``n_samples`` is an integer >= 1."""
    check_number(
        n_samples, "n_samples", integer=True, low=1, description="a positive integer"
    )
    return int(n_samples)


def import_optional(module, *, package, purpose):
    """Import ``module`` or raise an ImportError that says what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs the optional package {package!r}, which is not "
            f"installed. Install it with `pip install {package}` (or "
            f"`pip install 'subsetml[datasets]'`)."
        ) from exc
