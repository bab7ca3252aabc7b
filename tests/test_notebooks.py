"""The tutorials in examples/ run from top to bottom."""

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


def test_notebooks_are_there():
    if not EXAMPLES.exists():  # pragma: no cover - installed package
        pytest.skip("examples/ is not there")
    assert NOTEBOOKS, "no tutorial notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": tmp_path}},
    )
    client.execute()
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors


def test_a_quiet_search_in_a_notebook_prints_nothing(tmp_path):
    # Without ipywidgets, tqdm's "IProgress not found" advice came out of a
    # verbose=0 search's first fit (Optuna's import of tqdm.auto; a review).
    pytest.importorskip("ipykernel")
    if pytest.importorskip("importlib.util").find_spec("ipywidgets") is not None:
        pytest.skip("ipywidgets is installed: tqdm has nothing to advise")
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "from sklearn.datasets import make_classification\n"
            "from sklearn.linear_model import LogisticRegression\n"
            "from subsetml.model_selection import SubsetSearchCV\n"
            "X, y = make_classification(200, 4, random_state=0)\n"
            "SubsetSearchCV(LogisticRegression(), {'C': (0.1, 10.0)}, n_iter=2,"
            " cv=2, subset_size=0.3, random_state=0).fit(X, y)\n"
            "print('done')"
        )
    )
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": tmp_path}},
    ).execute()  # fmt: skip
    streams = [out for out in nb.cells[0].outputs if out.output_type == "stream"]
    assert [out.text for out in streams] == ["done\n"]
