"""notebooks/04_lcfs_value.ipynb: stored without outputs, and runs top to bottom.

Running it needs nbformat, nbclient and ipykernel (a test extra the project must declare); the
run is skipped, with the reason, where they are not installed.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import act_pool

ROOT = Path(act_pool.__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "04_lcfs_value.ipynb"


def test_notebook_is_stored_clean():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert nb["cells"][0]["cell_type"] == "markdown"


def test_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    pytest.importorskip("nbformat", reason="running the notebook needs nbformat (test extra)")
    pytest.importorskip("nbclient", reason="running the notebook needs nbclient (test extra)")
    pytest.importorskip("ipykernel", reason="running the notebook needs ipykernel (test extra)")
    import nbformat
    from nbclient import NotebookClient

    # The kernel must import the act_pool of this tree, installed or not.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
