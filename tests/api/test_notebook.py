"""examples/notebook.ipynb runs top to bottom (nbclient) against the local provider.

The notebook and its job file are copied to a temporary folder first, so the run, the
download and CLOUDGD_HOME all land there and nothing is written into the checkout.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

pytestmark = pytest.mark.slow


def _text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append((output.get("data") or {}).get("text/plain", ""))
    return "".join(parts)


def test_the_notebook_submits_waits_reads_metrics_and_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    for name in ("notebook.ipynb", "digits.yaml"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    notebook = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # a cell that raises fails the test with the cell's traceback

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert "'SUCCEEDED'" in _text(code[3])
    assert "val_accuracy" in _text(code[4])
    assert "model/model.pt" in _text(code[5]) and "output/metrics.jsonl" in _text(code[5])
    assert (tmp_path / "digits-out" / "model" / "model.pt").is_file()
    assert (tmp_path / "home" / "runs").is_dir()
