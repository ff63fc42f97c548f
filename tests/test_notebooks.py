"""Every notebook in notebooks/ runs without error on the demo project (nbclient)."""

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from riskmap.demo import DemoRun

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_notebooks_are_stored_without_outputs():
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


# the backtest notebook refits every quarter's models; the gebiedsanalyse and bedrijventerreinen
# notebooks start a kernel each for calls the other tests make directly: make bench runs them,
# make test runs the quickstart (which also shows that a notebook finds the project)
SLOW = {"02_gebiedsanalyse", "03_bedrijventerreinen", "04_backtest"}


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow) if p.stem in SLOW else p
                                  for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, demo_run: DemoRun, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch):
    project = tmp_path / "project"
    shutil.copytree(demo_run.project.root, project)
    monkeypatch.setenv("RISKMAP_PROJECT", str(project))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
