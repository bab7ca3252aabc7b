"""Sphinx configuration for subsetml (built with warnings as errors)."""

import os
import shutil
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
    "myst_nb",
    "bench_tables",
]

# --- tutorials ----------------------------------------------------------------
# The notebooks live in examples/ (stored without outputs, run by the tests).
# Sphinx only reads sources under docs/, so each build copies them into
# docs/_tutorials/ (ignored by git) and myst-nb executes them there: the pages
# show the real outputs and plots of the version being documented.
# SUBSETML_DOCS_EXECUTE=off renders them without running (a quick local build).
TUTORIALS = HERE / "_tutorials"
shutil.rmtree(TUTORIALS, ignore_errors=True)
TUTORIALS.mkdir()
for notebook in sorted((HERE.parent / "examples").glob("*.ipynb")):
    shutil.copy2(notebook, TUTORIALS / notebook.name)

nb_execution_mode = os.environ.get("SUBSETML_DOCS_EXECUTE", "force")
# The kernels inherit the environment: a headless MPLBACKEND=Agg would stop
# them from sending their figures to the page (ipykernel's inline backend).
os.environ.pop("MPLBACKEND", None)
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# myst-nb also reads Markdown; only the notebooks and the .rst pages are ours.
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}

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
exclude_patterns = ["_build", "jupyter_execute"]
html_theme = "pydata_sphinx_theme"
html_title = f"subsetml {release}"
html_theme_options = {"navigation_with_keys": False}
