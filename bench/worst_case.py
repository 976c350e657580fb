"""Worst-case grading time: a submission whose every graded function sleeps for an hour.

For each assignment, the reference solution with ``time.sleep(3600)`` put at the start of
every graded function (the functions with a solution region, constructors excepted) is
graded with ``course grade`` (the otter zip, as on Gradescope). The grading must end within
5 minutes (full machine) and within Gradescope's default 10-minute timeout at half a CPU
(``--half-cpu``: the grading inside a CPU-quota cgroup of 50 % of one CPU). The gradings of
the assignments run at the same time, each with its own sandbox uid range: they mostly wait.

Usage: python bench/worst_case.py [ID …] [--half-cpu]
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from autograder.config import Assignment, load_course  # noqa: E402
from limits import cpu_quota, group, in_group, load  # noqa: E402

SLEEP = "import time as _course_time; _course_time.sleep(3600)  # worst case: the function never returns"


def sleeper(source: str) -> str:
    """``source`` with a one-hour sleep in front of the first solution region of every graded function."""
    lines = source.splitlines()
    inserts = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name != "__init__":
            for no in range(node.lineno - 1, node.end_lineno):
                if "# BEGIN SOLUTION" in lines[no]:
                    indent = lines[no][: len(lines[no]) - len(lines[no].lstrip())]
                    inserts.append((no, indent + SLEEP))
                    break
    for no, text in sorted(inserts, reverse=True):
        lines.insert(no, text)
    return "\n".join(lines) + "\n"


def grade(a: Assignment, tmp: Path, uid: int, cgroup: Path | None) -> tuple[float, dict]:
    """Wall time and results of ``course grade`` on ``a``'s sleeping submission."""
    path = tmp / a.id / a.submission
    path.parent.mkdir(parents=True)
    path.write_text(sleeper(a.solution_path.read_text()))
    out = tmp / a.id / "results.json"
    cmd = [sys.executable, "-m", "autograder", "grade", a.id, str(path), "--json", str(out)]
    start = time.perf_counter()
    subprocess.run(in_group(cgroup, cmd) if cgroup else cmd, cwd=ROOT, capture_output=True, text=True,
                   env={**os.environ, "COURSE_SANDBOX_UID": str(uid)})
    return time.perf_counter() - start, json.loads(out.read_text()) if out.is_file() else {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--half-cpu", action="store_true", help="each grading at 50 %% of one CPU (cgroup quota)")
    args = parser.parse_args()
    course = load_course()
    chosen = [course.get(i) for i in args.assignments] if args.assignments else course.assignments
    for a in chosen:  # build first: parallel gradings must not rebuild the same zip
        subprocess.run([sys.executable, "-m", "autograder", "build", a.id], cwd=ROOT, check=True, capture_output=True)
    print(f"machine: {os.cpu_count()} cores; load average {load()}; "
          f"{'half a CPU per grading' if args.half_cpu else 'full machine'}")
    with tempfile.TemporaryDirectory() as tmp_name, ExitStack() as stack:
        groups = [stack.enter_context(group("cpu", cpu_quota(50))) if args.half_cpu else None for _ in chosen]
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            futures = [pool.submit(grade, a, Path(tmp_name), 71000 + 1000 * n, groups[n]) for n, a in enumerate(chosen)]
            for a, future in zip(chosen, futures):
                secs, results = future.result()
                failed = sum(1 for t in results.get("tests", []) if t.get("status") == "failed")
                print(f"{a.id:<8} {secs:7.1f} s  score {results.get('score', 'none')}/{a.total_points:g}  "
                      f"failed entries {failed} (lines and hidden-line details)  (grading budget after the first timeout: "
                      f"{course.defaults.grading_time_limit:g} s)", flush=True)
    print(f"load average at the end {load()}")


if __name__ == "__main__":
    main()
