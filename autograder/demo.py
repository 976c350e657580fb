"""`course demo`: run every reference solution on the embedded data and write its figures and audio."""
from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

from .config import REPO_ROOT, Assignment
from .errors import CourseError


def load_solution(a: Assignment):
    """Import the reference solution of ``a`` under its module name."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(a.module, a.solution_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[a.module] = module
    spec.loader.exec_module(module)
    return module


def run_demo(assignments: list[Assignment], out: Path) -> list[Path]:
    """Run each assignment's lab with the solution; return every file written."""
    import matplotlib

    matplotlib.use("Agg")
    sys.path.insert(0, str(REPO_ROOT / "assignments"))
    written: list[Path] = []
    for a in assignments:
        if not a.lab_path.is_file():
            raise CourseError(f"{a.lab_path.relative_to(REPO_ROOT)}: lab module not found")
        start = time.monotonic()
        lab = importlib.import_module(a.lab_path.stem)
        files = lab.run(load_solution(a), out / a.id)
        import matplotlib.pyplot as plt

        plt.close("all")
        written += files
        print(f"{a.id}: {len(files)} file(s) in {time.monotonic() - start:.1f} s", flush=True)
        for f in files:
            print(f"  {Path(f).resolve().relative_to(Path.cwd().resolve()) if Path(f).resolve().is_relative_to(Path.cwd().resolve()) else f}")
    return written
