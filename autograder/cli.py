"""The ``course`` command: build, grade, grade-all, diff, check, demo, stubs, bugs."""
from __future__ import annotations

import argparse
from pathlib import Path

from .config import REPO_ROOT, load_course
from .errors import one_line_errors


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="course", description="Build, grade and check the unsupervised-learning course.")
    p.add_argument("--course", type=Path, default=None, help="course.yml to use (default: the repository's)")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="student handout and otter autograder zips")
    b.add_argument("assignments", nargs="*")
    b.add_argument("--out", type=Path, default=REPO_ROOT / "dist")
    g = sub.add_parser("grade", help="grade one submission through the autograder zip")
    g.add_argument("assignment")
    g.add_argument("submission", type=Path)
    g.add_argument("--json", type=Path, help="write Gradescope's results.json here")
    ga = sub.add_parser("grade-all", help="grade a folder of submissions in parallel; write a gradebook CSV")
    ga.add_argument("assignment")
    ga.add_argument("folder", type=Path)
    ga.add_argument("--jobs", type=int, default=2)
    ga.add_argument("--csv", type=Path)
    ga.add_argument("--force", action="store_true", help="regrade every submission, even up-to-date ones")
    ga.add_argument("--compare", type=Path, metavar="OLD.csv", help="print the changes against an older gradebook")
    ga.add_argument("--cluster", metavar="ADDRESS", help="grade on a Dask cluster (scheduler address, tcp://HOST:PORT)")
    df = sub.add_parser("diff", help="what changed between two gradebook CSVs (per student and in summary)")
    df.add_argument("old", type=Path)
    df.add_argument("new", type=Path)
    c = sub.add_parser("check", help="course.yml valid, solutions pass, stubs fail, stubs in sync, bugs caught")
    c.add_argument("assignments", nargs="*")
    c.add_argument("--jobs", type=int, default=2)
    d = sub.add_parser("demo", help="run every solution on the embedded data; write figures and audio")
    d.add_argument("assignments", nargs="*")
    d.add_argument("--out", type=Path, default=Path("out"))
    s = sub.add_parser("stubs", help="regenerate assignments/<file> from solutions/<file>")
    s.add_argument("assignments", nargs="*")
    s.add_argument("--check", action="store_true", help="only report stubs that are out of date")
    m = sub.add_parser("mutants", help="mutation testing of the solution regions: killed / survived, diffs of survivors")
    m.add_argument("assignment")
    m.add_argument("--max", type=int, default=None, help="run a fixed sample of at most N mutants")
    m.add_argument("--jobs", type=int, default=2)
    m.add_argument("--seed", type=int, default=0, help="which sample --max takes")
    m.add_argument("--only", nargs="+", metavar="ID", default=None,
                   help="run just these mutants (ids as printed, e.g. assign_clusters:argmin>argmax:1)")
    m.add_argument("--timeout", type=float, default=None, help="seconds per mutant before it counts as killed (default: 5x the solution's time, at least 60)")
    bg = sub.add_parser("bugs", help="write the bug catalogue as full submission files")
    bg.add_argument("assignment")
    bg.add_argument("--out", type=Path, default=Path("bugs"))
    return p


def run(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    course = load_course(args.course)
    if args.command == "build":
        from .build import build

        for path in build(course, course.select(args.assignments), args.out):
            print(path)
        return 0
    if args.command == "grade":
        from .grading import grade, table

        a = course.get(args.assignment)
        results = grade(course, a, args.submission, args.json)
        print(table(results, a))
        return 0
    if args.command == "grade-all":
        from .grading import grade_all

        csv_path, rows = grade_all(course, course.get(args.assignment), args.folder, args.jobs, args.csv, args.force,
                                   compare=args.compare, cluster=args.cluster)
        print(csv_path)
        return 0
    if args.command == "diff":
        from .diff import diff_gradebooks, read_gradebook, render_diff

        print(render_diff(diff_gradebooks(read_gradebook(args.old), read_gradebook(args.new))))
        return 0
    if args.command == "check":
        from .check import check

        problems = check(course, course.select(args.assignments), args.jobs)
        for problem in problems:
            print(f"PROBLEM {problem}")
        print("course check: OK" if not problems else f"course check: {len(problems)} problem(s)")
        return 1 if problems else 0
    if args.command == "demo":
        from .demo import run_demo

        run_demo(course.select(args.assignments), args.out)
        return 0
    if args.command == "stubs":
        from .stubgen import stub_for, stub_in_sync

        stale = []
        for a in course.select(args.assignments):
            if stub_in_sync(a.solution_path, a.stub_path):
                continue
            stale.append(a.id)
            if not args.check:
                a.stub_path.write_text(stub_for(a.solution_path))
                print(f"wrote {a.stub_path.relative_to(REPO_ROOT)}")
        if args.check and stale:
            print(f"out of date: {', '.join(stale)}")
            return 1
        return 0
    if args.command == "mutants":
        from .mutants import generate, report, run_mutants

        a = course.get(args.assignment)
        if args.max is not None and args.max < 1:
            raise CourseError(f"mutants: --max must be at least 1 (got {args.max})")
        total = len(generate(a.solution_path.read_text(), a.submission))
        results = run_mutants(a, args.max, args.jobs, args.seed, args.timeout, progress=True, only=args.only)
        lines, unexplained = report(a, results, total)
        print("\n".join(lines))
        return 1 if unexplained else 0
    if args.command == "bugs":
        from .bugs import write_bugs

        for path in write_bugs(course.get(args.assignment), args.out):
            print(path)
        return 0
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors for problems the user can fix, never a traceback."""
    return one_line_errors("course", lambda: run(argv))
