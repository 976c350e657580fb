"""The cost of grading through Dask: `grade-all --jobs 2` vs `grade-all --cluster` on a
2-worker LocalCluster, same machine, same 8 kmeans submissions (the export fixture).

There is no speed-up to expect on one machine; the figure is the cluster path's overhead
(task submission, sending the zip and submissions, results streaming back).

Usage: COURSE_SANDBOX_UID=... python bench/cluster.py [--rounds N] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "autograder" / "tests"))

from export_fixture import make_export  # noqa: E402

from autograder.build import autograder_zip  # noqa: E402
from autograder.config import load_course  # noqa: E402


def timed_grade_all(folder: Path, *extra: str) -> float:
    shutil.rmtree(folder.parent / f"{folder.name}-results", ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", "kmeans", str(folder), *extra],
                          cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or "graded 8 of 8" not in proc.stderr:
        raise SystemExit(f"grade-all failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    from distributed import LocalCluster

    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="copy the local run's results folder (gradebook, report) here")
    args = parser.parse_args()
    course = load_course()
    a = course.get("kmeans")
    autograder_zip(course, a)  # built once, outside the timings
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = make_export(Path(tmp) / "export", a)
        local, dask = [], []
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=50) as lc:
            for _ in range(args.rounds):
                local.append(timed_grade_all(folder, "--jobs", "2"))
                if args.keep:
                    shutil.copytree(folder.parent / "export-results", args.keep, dirs_exist_ok=True)
                dask.append(timed_grade_all(folder, "--cluster", lc.scheduler_address))
    best_local, best_dask = min(local), min(dask)
    print("| path | 8 submissions, best of", args.rounds, "| per submission |")
    print("|---|---|---|")
    print(f"| local `--jobs 2` | {best_local:.1f} s | {best_local / 8:.1f} s |")
    print(f"| 2-worker LocalCluster | {best_dask:.1f} s | {best_dask / 8:.1f} s |")
    print(f"overhead of the cluster path: {100 * (best_dask / best_local - 1):+.0f} %; "
          f"load average before: {load:.2f} (after: {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
