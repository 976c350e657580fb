"""Grading cost per assignment, and batch throughput, measured side by side in one run.

For each assignment, on its reference solution:
  public      the students' local `pytest`: the public tests only, in-process
  in-process  plain pytest of the same public + hidden tests (no sandbox, no otter)
  runner      the trusted runner alone (tests here, student code in the sandbox)
  course      `course grade` through the otter autograder zip (what Gradescope runs)
  cold        the same with cold workers only (COURSE_ZYGOTE=0: no pre-warmed zygote)
and the overhead ratios runner / in-process, course / in-process and cold / in-process. With --half-cpu the
same table again with every command in a CPU-quota cgroup of 50 % of one CPU
(Gradescope's default share). Then `course grade-all` on N copies of the kmeans solution
with 1 job and with 2 jobs (throughput ratio), and `course demo`. The load average is
printed with each row: figures from a loaded machine are provisional.

Usage: python bench/grading.py [ID …] [--repeat N] [--copies N] [--no-demo] [--no-batch] [--half-cpu]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from autograder.config import Assignment, load_course  # noqa: E402
from limits import cpu_quota, cpu_ticks, group, in_group, load, steal_since  # noqa: E402


def timed(cmd: list[str], env: dict | None = None, cgroup: Path | None = None) -> float:
    """Wall time of ``cmd`` (run from the repository root, inside ``cgroup`` if given); exits on failure."""
    start = time.perf_counter()
    proc = subprocess.run(in_group(cgroup, cmd) if cgroup else cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    if proc.returncode not in (0,):
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def row(a: Assignment, cgroup: Path | None = None, repeat: int = 1) -> str:
    """One table row: the five timings of ``a``'s reference solution (each the median of ``repeat``
    runs, taken in turns so that a drifting machine weighs on all five alike) and the ratios."""
    py = sys.executable
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    solution = {"COURSE_IMPL": "solution"}
    grade = [py, "-m", "autograder", "grade", a.id, str(a.solution_path)]
    ticks = cpu_ticks()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "public": ([*pytest, str(a.public_dir)], solution),
            "in-process": ([*pytest, str(a.public_dir), str(a.hidden_dir)], solution),
            "runner": ([py, "-m", "autograder.runner", "--root", str(ROOT), "--assignment", a.id,
                        "--submission", str(a.solution_path), "--out", f"{tmp}/r.json"], None),
            "course": (grade, None),
            "cold": (grade, {"COURSE_ZYGOTE": "0"}),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeat):
            for name, (cmd, env) in runs.items():
                times[name].append(timed(cmd, env, cgroup))
    t = {name: statistics.median(values) for name, values in times.items()}
    ip = t["in-process"]
    return (f"{a.id:<10} {t['public']:>7.1f}s {ip:>9.1f}s {t['runner']:>7.1f}s {t['course']:>7.1f}s "
            f"{t['cold']:>7.1f}s {t['runner'] / ip:>8.2f}x {t['course'] / ip:>8.2f}x {t['cold'] / ip:>8.2f}x   {load()}"
            f"   {steal_since(ticks):>5}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-batch", action="store_true", help="skip the grade-all throughput measurement")
    parser.add_argument("--half-cpu", action="store_true", help="also measure at 50 %% of one CPU (cgroup quota)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per timing; the table gives their median")
    args = parser.parse_args()
    course = load_course()
    py = sys.executable
    chosen = course.select(args.assignments)
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; load average {load()}; "
          f"each timing the median of {args.repeat} run(s)")
    for a in chosen:
        subprocess.run([py, "-m", "autograder", "build", a.id, "--out", str(ROOT / "dist")], cwd=ROOT, check=True,
                       capture_output=True)
    header = (f"{'assignment':<10} {'public':>8} {'in-process':>10} {'runner':>8} {'course':>8} "
              f"{'cold':>8} {'runner/ip':>9} {'course/ip':>9} {'cold/ip':>9}   load average (1, 5, 15 min)   steal")
    for title, quota in [("full machine", None)] + ([("half a CPU (cgroup quota 50 %)", 50)] if args.half_cpu else []):
        print(f"\n{title}\n{header}")
        for a in chosen:
            if quota is None:
                print(row(a, repeat=args.repeat), flush=True)
            else:
                with group("cpu", cpu_quota(quota)) as cgroup:
                    print(row(a, cgroup, args.repeat), flush=True)
    if args.no_batch:
        return

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
