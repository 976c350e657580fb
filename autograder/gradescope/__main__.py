"""`python -m autograder.gradescope ID...` (`./dev gradescope-check`): the Gradescope image check."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..config import load_course
from ..errors import CourseError, one_line_errors
from .check import Options, check
from .root import SUITES

SUBMISSIONS = ("solution", "stub", "bug")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gradescope-check", description=(
        "Install each autograder zip on a clean Debian root (debootstrap, cached) as Gradescope does, "
        "grade the solution, the stub and a catalogued bug there (Docker's capabilities, a memory cgroup) "
        "and compare with `course grade`. Needs root."))
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--suite", choices=sorted(SUITES), default="bookworm", help="Debian release (default bookworm = 12)")
    p.add_argument("--memory-mb", type=int, default=768, help="memory limit of each grading (default 768, Gradescope's)")
    p.add_argument("--cpu", type=float, default=None, help="CPU quota of each grading, e.g. 0.5 for half a CPU")
    p.add_argument("--sandbox-uid", type=int, default=int(os.environ.get("COURSE_GRADESCOPE_UID", "69000")),
                   help="first sandbox uid of the gradings in the image (default 69000)")
    p.add_argument("--torch-spec", default="torch==2.13.0",
                   help="COURSE_TORCH_SPEC for zips that install torch ('' = the zip's own pin)")
    p.add_argument("--logs", type=Path, default=None, help="keep setup and grading logs (and results.json) here")
    p.add_argument("--only", default=",".join(SUBMISSIONS), help="which submissions to grade (default: all three)")
    return p


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if os.geteuid() != 0:
        raise CourseError("needs root (debootstrap, chroot, mounts, cgroups)")
    if args.memory_mb < 64 or (args.cpu is not None and not 0.01 <= args.cpu <= 64):
        raise CourseError("--memory-mb must be at least 64 and --cpu between 0.01 and 64")
    only = tuple(x.strip() for x in args.only.split(",") if x.strip())
    if not only or set(only) - set(SUBMISSIONS):
        raise CourseError(f"--only takes a comma-separated subset of {','.join(SUBMISSIONS)}")
    course = load_course()
    opts = Options(args.suite, args.memory_mb, args.cpu, args.sandbox_uid, args.torch_spec, args.logs, only)
    bad = [r.assignment for r in check(course, course.select(args.assignments), opts) if r.problems]
    print("gradescope-check: OK" if not bad else f"gradescope-check: problems in {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(one_line_errors("gradescope-check", lambda: run()))
