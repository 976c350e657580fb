"""Peak memory of grading each assignment's reference solution.

Per assignment:
  runner RSS   the trusted runner process's own peak resident set (VmHWM), and whether it
               imported torch (read inside that process, after grading)
  grade peak   the whole `course grade` (otter, runner, workers) in a memory cgroup of its
               own: max usage (resident + page cache, what a memory limit counts) and the
               largest sampled resident (anonymous) memory

With --limit-mb N the `course grade` runs inside a memory limit of N MB (Gradescope's
default is 768) and its score shows whether the grading fits.

Usage: python bench/memory.py [ID …] [--limit-mb N]   (root: it makes cgroups under /sys/fs/cgroup)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from autograder.config import load_course  # noqa: E402
from limits import load, run_measuring_memory  # noqa: E402

# Runs the trusted runner in this very process, then reports on the process itself.
_RUNNER = """
import json, sys
from autograder import runner
code = runner.main(sys.argv[1:])
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print("MEASURED " + json.dumps({"code": code, "hwm_mb": int(hwm) / 1024, "torch": "torch" in sys.modules}))
"""


def runner_peak(root: Path, assignment: str, submission: Path) -> dict:
    """The trusted runner's own peak RSS (MB), exit code and whether torch was imported in it."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([sys.executable, "-c", _RUNNER, "--root", str(root), "--assignment", assignment,
                               "--submission", str(submission), "--out", f"{tmp}/r.json"],
                              cwd=tmp, capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("MEASURED ")), None)
        if line is None:
            raise SystemExit(f"runner failed:\n{proc.stderr[-2000:]}")
        result = json.loads(line.split(" ", 1)[1])
        report = json.loads(Path(tmp, "r.json").read_text())
        result["score"] = f"{report['score']:g}/{report['max_score']:g}"
        for t in report["tests"]:
            if not t["passed"]:  # a reference that loses points here: say why (a time limit on a loaded machine?)
                print(f"  {assignment}: {t['name']} failed: {t['message'].splitlines()[0][:200]}", flush=True)
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--limit-mb", type=int, help="grade inside a memory limit of this many MB")
    args = parser.parse_args()
    course = load_course()
    print(f"load average before: {load()}")
    print(f"{'assignment':<10} {'runner RSS':>11} {'torch in runner':>16} {'grade peak':>11} {'grade RSS':>10} score")
    for a in course.select(args.assignments):
        subprocess.run([sys.executable, "-m", "autograder", "build", a.id], cwd=ROOT, check=True, capture_output=True)
        r = runner_peak(ROOT, a.id, a.solution_path)
        proc, mem = run_measuring_memory([sys.executable, "-m", "autograder", "grade", a.id, str(a.solution_path)],
                                         args.limit_mb, cwd=ROOT, capture_output=True, text=True)
        total = next((ln.split()[-1] for ln in proc.stdout.splitlines() if ln.startswith("total")), "?")
        print(f"{a.id:<10} {r['hwm_mb']:>9.0f}MB {str(r['torch']):>16} {mem['peak']:>9.0f}MB {mem['rss']:>8.0f}MB "
              f"{r['score']} (course grade {total}{f', limit {args.limit_mb} MB' if args.limit_mb else ''})", flush=True)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
