"""subsetml: cheaper hyper-parameter search and training on well-chosen subsets.

Importing :mod:`subsetml` is light: it does not import torch or skorch.
"""

from subsetml._subset import Subset, resolve_budget
from subsetml.lastlayer import LastLayer

__version__ = "0.1.0.dev0"

__all__ = ["LastLayer", "Subset", "__version__", "resolve_budget"]
