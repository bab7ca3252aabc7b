"""Datasets for examples, tests and the demo: bundled or generated, never downloaded.

- :func:`load_bikeshare`: UCI Bike Sharing hourly counts of 2011 (regression),
  shipped with subsetml (CC BY 4.0; see its ``DESCR``).
- :func:`make_mnist1d`: MNIST-1D (10-class classification) generated locally;
  needs the optional ``mnist1d`` package.

Neither pandas nor mnist1d is imported until a function needs it.
"""

from subsetml.datasets._bikeshare import load_bikeshare
from subsetml.datasets._mnist1d import make_mnist1d

__all__ = ["load_bikeshare", "make_mnist1d"]
