"""Each assignment's notebook executes against the reference solution (so it never rots)."""
from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.config import REPO_ROOT, load_course

ASSIGNMENTS = load_course().assignments


@pytest.mark.parametrize("a", ASSIGNMENTS, ids=[a.id for a in ASSIGNMENTS])
def test_notebook_runs_on_the_solution(a, tmp_path):
    # The handout layout: the student's module, the lab, labkit and data side by side.
    shutil.copy(a.solution_path, tmp_path / a.submission)
    shutil.copy(a.lab_path, tmp_path / a.lab_path.name)
    shutil.copy(REPO_ROOT / "assignments" / "labkit.py", tmp_path / "labkit.py")
    for item in a.data:
        src = REPO_ROOT / item
        dest = tmp_path / item
        dest.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest)
    nb = nbformat.read(a.notebook_path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "the notebook should show at least one figure"
