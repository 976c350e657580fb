"""Grading cost per assignment, and batch throughput, measured side by side in one run.

For each assignment, on its reference solution:
  in-process  plain pytest of the same public + hidden tests (no sandbox, no otter)
  runner      the trusted runner alone (tests here, student code in the sandbox)
  course      `course grade` through the otter autograder zip (what Gradescope runs)
and the overhead ratio course / in-process. Then `course grade-all` on N copies of the
kmeans solution with 1 job and with 2 jobs (throughput ratio), and `course demo`.

Usage: python bench/grading.py [ID …] [--copies N] [--no-demo]
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

from autograder.config import load_course  # noqa: E402


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode not in (0,):
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    course = load_course()
    py = sys.executable
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print(f"{'assignment':<10} {'in-process':>10} {'runner':>8} {'course':>8} {'course/in-process':>18}")
    for a in course.select(args.assignments):
        subprocess.run([py, "-m", "autograder", "build", a.id, "--out", str(ROOT / "dist")], cwd=ROOT, check=True,
                       capture_output=True)
        tests = [str(a.public_dir), str(a.hidden_dir)]
        t_pytest = timed([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests], {"COURSE_IMPL": "solution"})
        with tempfile.TemporaryDirectory() as tmp:
            t_runner = timed([py, "-m", "autograder.runner", "--root", str(ROOT), "--assignment", a.id,
                              "--submission", str(a.solution_path), "--out", f"{tmp}/r.json"])
        t_course = timed([py, "-m", "autograder", "grade", a.id, str(a.solution_path)])
        print(f"{a.id:<10} {t_pytest:>9.1f}s {t_runner:>7.1f}s {t_course:>7.1f}s {t_course / t_pytest:>17.2f}x", flush=True)

    kmeans = course.get("kmeans")
    with tempfile.TemporaryDirectory() as tmp:
        times = {}
        for jobs in (1, 2):
            folder = Path(tmp) / f"subs{jobs}"
            folder.mkdir()
            for i in range(args.copies):
                shutil.copy(kmeans.solution_path, folder / f"student{i:02d}.py")
            times[jobs] = timed([py, "-m", "autograder", "grade-all", "kmeans", str(folder), "--jobs", str(jobs)])
        print(f"\ngrade-all kmeans, {args.copies} submissions: 1 job {times[1]:.1f}s, 2 jobs {times[2]:.1f}s, "
              f"throughput ratio {times[1] / times[2]:.2f}x")
    if not args.no_demo:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"course demo (all assignments): {timed([py, '-m', 'autograder', 'demo', '--out', tmp]):.1f}s")


if __name__ == "__main__":
    main()
