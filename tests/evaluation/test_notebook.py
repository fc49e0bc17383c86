"""notebooks/compare_models.ipynb runs top to bottom on a small backtest's outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from evaluation.outputs import save_backtest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare_models.ipynb"


def test_notebook_runs_on_a_small_backtest(demo_result, tmp_path, monkeypatch) -> None:
    out = tmp_path / "backtest"
    save_backtest(demo_result, out)
    monkeypatch.setenv("RETAIN_BACKTEST_DIR", str(out))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [
        output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    ]
    text = "\n".join(outputs)
    assert "worst segment:" in text
    assert "segmented" in text and "oracle" in text
    assert "contribution" in text  # the reason codes were printed
