"""The tutorial notebooks in notebooks/: committed with cleared outputs, and each runs cleanly.

Every notebook is executed with nbclient in a fresh kernel (working folder ``notebooks/``,
``MPLBACKEND=Agg``, a timeout per cell) and must finish in under a minute. The kernel is a
``python3`` kernelspec written by the session fixture into a temporary folder and put first on
``JUPYTER_PATH``: it runs *this* interpreter (``sys.executable``), so the test neither depends on
a kernelspec being installed nor picks up one that points at another Python, and it writes
nothing to the user's Jupyter folders.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import install as install_kernelspec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
EXPECTED = ["01_quick_start.ipynb", "02_one_hour_circle.ipynb", "03_scenario_comparison.ipynb", "04_bring_your_own_data.ipynb"]
# the four tutorials (a missing one fails) and any other notebook added to the folder
NOTEBOOKS = sorted({NOTEBOOK_DIR / name for name in EXPECTED} | set(NOTEBOOK_DIR.glob("*.ipynb")))
KERNEL_NAME = "python3"
CELL_TIMEOUT_S = 120
NOTEBOOK_BUDGET_S = 60.0
MIN_MARKDOWN_CELLS = 4


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.fixture(scope="session")
def kernel_name(tmp_path_factory: pytest.TempPathFactory):
    """A ``python3`` kernelspec for this interpreter, found first by jupyter_client."""
    prefix = tmp_path_factory.mktemp("jupyter-prefix")
    ipython_dir = tmp_path_factory.mktemp("ipython")
    install_kernelspec(kernel_name=KERNEL_NAME, prefix=str(prefix))
    data_dir = prefix / "share" / "jupyter"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.pathsep.join(filter(None, [str(data_dir), os.environ.get("JUPYTER_PATH")])))
        mp.setenv("JUPYTER_PLATFORM_DIRS", "1")
        mp.setenv("IPYTHONDIR", str(ipython_dir))  # no user profile or startup scripts in the test kernel
        mp.setenv("MPLBACKEND", "Agg")
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        assert Path(spec.resource_dir).is_relative_to(data_dir), spec.resource_dir
        yield KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_clean(path: Path):
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or an execution count; clear them before committing"
    n_md = sum(c.cell_type == "markdown" for c in nb.cells)
    assert n_md >= MIN_MARKDOWN_CELLS, f"{path.name} has {n_md} markdown cells; explain the steps (>= {MIN_MARKDOWN_CELLS})"
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path: Path, kernel_name: str):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=kernel_name, timeout=CELL_TIMEOUT_S, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and traceback) on the first failing cell
    elapsed = time.perf_counter() - t0
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert elapsed < NOTEBOOK_BUDGET_S, f"{path.name} took {elapsed:.1f} s (budget {NOTEBOOK_BUDGET_S:.0f} s)"
