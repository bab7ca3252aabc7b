"""Sphinx configuration for subsetml (built with warnings as errors)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import subsetml  # noqa: E402

project = "subsetml"
author = "the subsetml developers"
copyright = "2026, the subsetml developers"
release = subsetml.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "bench_tables",
]

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    # scikit-learn generates the request setters per class, and
    # BaseSearchCV's n_features_in_ property; their docstrings point into
    # scikit-learn's own glossary.
    "exclude-members": "n_features_in_,"
    + ",".join(
        f"set_{m}_request"
        for m in (
            "fit",
            "score",
            "predict",
            "predict_proba",
            "partial_fit",
            "transform",
            "decision_function",
            "split",
        )
    ),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Cross-references to numpy/scikit-learn types are plain text: the build
# must work offline, so there is no intersphinx.
numpydoc_xref_param_type = False
nitpicky = False

templates_path = ["_templates"]
exclude_patterns = ["_build"]
html_theme = "pydata_sphinx_theme"
html_title = f"subsetml {release}"
html_theme_options = {"navigation_with_keys": False}
