"""`course check`: the course is consistent and every test can fail.

For each assignment: files exist, the committed stub equals the generated one, the
solution gets full marks, the stub fails every check, every test in the test files
is graded by some course.yml line, and every catalogued bug loses points.
Gradings use the trusted runner directly (the same code the autograder zip runs).
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .bugs import load_bugs
from .config import PYTEST_PLUGINS, REPO_ROOT, Assignment, Course
from .mutants import generate, report, run_mutants
from .nulls import KINDS, null_source
from .stubgen import stub_in_sync

# Mutants per assignment that `course check` runs (a fixed sample, seed 0): what fits CI's time
# (see BENCHMARKS.md, "Mutation testing"); `course mutants ID` runs them all.
CHECK_MUTANTS = 12


def run_report(a: Assignment, submission: Path, root: Path = REPO_ROOT, stop_failed_lines: bool = False) -> dict:
    """Grade with the trusted runner in a subprocess; return its report.

    ``stop_failed_lines``: skip a line's other checks once one fails (the same points per line).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        extra = ["--stop-failed-lines"] if stop_failed_lines else []
        proc = subprocess.run([sys.executable, "-m", "autograder.runner", "--root", str(root), "--assignment", a.id,
                               "--submission", str(submission), "--out", str(out), *extra],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(f"runner failed on {submission}: {proc.stderr.strip()[-500:]}")
        return json.loads(out.read_text())


def collected_tests(a: Assignment) -> set[str]:
    """Node ids of every test in the assignment's public and hidden folders."""
    dirs = [str(d) for d in (a.public_dir, a.hidden_dir) if d.is_dir()]
    # Collected with the runner's plugins: the node ids it grades, without autoload's assert rewriting.
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *PYTEST_PLUGINS, *dirs],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    return {line.strip() for line in proc.stdout.splitlines() if "::" in line}


def check_assignment(a: Assignment, jobs: int = 2) -> tuple[list[str], list[str]]:
    """Return (problems, table lines) for one assignment."""
    problems: list[str] = []
    lines = [f"== {a.id}: {a.title}"]
    for path in (a.solution_path, a.stub_path, a.lab_path, a.notebook_path, a.public_dir, a.hidden_dir):
        if not path.exists():
            problems.append(f"{a.id}: missing {path.relative_to(REPO_ROOT)}")
    if problems:
        return problems, lines
    if not stub_in_sync(a.solution_path, a.stub_path):
        problems.append(f"{a.id}: assignments/{a.submission} is out of date (run `course stubs {a.id}`)")
    bugs = load_bugs(a)
    if len(bugs) < 8:
        problems.append(f"{a.id}: bug catalogue has {len(bugs)} entries (needs ≥ 8)")
    with tempfile.TemporaryDirectory() as tmp:
        subs = {"solution": a.solution_path, "stub": a.stub_path}
        for bug in bugs:
            path = Path(tmp) / bug.name / a.submission
            path.parent.mkdir()
            path.write_text(bug.source)
            subs[f"bug:{bug.name}"] = path
        for kind in KINDS:
            path = Path(tmp) / f"null-{kind}" / a.submission
            path.parent.mkdir()
            path.write_text(null_source(a.solution_path, kind))
            subs[f"null:{kind}"] = path
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            # The solution and the stub are judged check by check; bugs and null submissions line by line.
            reports = dict(zip(subs, pool.map(lambda name: run_report(a, subs[name], stop_failed_lines=":" in name),
                                              subs)))
    sol, stub = reports["solution"], reports["stub"]
    lines.append(f"solution: {sol['score']:g}/{sol['max_score']:g}   stub: {stub['score']:g}/{stub['max_score']:g}")
    for t in sol["tests"]:
        if not t["passed"]:
            problems.append(f"{a.id}: solution fails {t['name']}: {t['message'].splitlines()[0] if t['message'] else ''}")
    for t in stub["tests"]:
        survivors = [c["test"] for c in t["checks"] if c["passed"]]
        if survivors:
            problems.append(f"{a.id}: the stub passes {survivors[0]} (a check that cannot fail on unwritten code)")
    lines.append("null submissions (no work): " + ", ".join(
        f"{name[5:]} {rep['score']:g}/{rep['max_score']:g}" for name, rep in reports.items() if name.startswith("null:")))
    for name, rep in reports.items():
        passed = [t["name"] for t in rep["tests"] if name.startswith("null:") and t["passed"]]
        if passed:
            problems.append(f"{a.id}: the {name[5:]} null submission (does no work) passes {', '.join(passed)}")
    graded = {c["test"] for t in sol["tests"] for c in t["checks"]}
    for node in sorted(collected_tests(a) - graded):
        problems.append(f"{a.id}: {node} is not selected by any course.yml test line")
    mutant_lines, unexplained = report(a, run_mutants(a, CHECK_MUTANTS, jobs), len(generate(a.solution_path.read_text())))
    lines += mutant_lines
    problems += [f"{a.id}: mutant {m} survives every test (a gap in the tests, or list it in autograder/{a.id}/mutants.yml "
                 f"with the reason it is equivalent)" for m in unexplained]
    lines.append(f"{'bug':<42} {'score':>9}  caught by")
    for name, rep in reports.items():
        if not name.startswith("bug:"):
            continue
        caught = [t["name"] for t in rep["tests"] if not t["passed"]]
        lines.append(f"{name[4:]:<42} {rep['score']:>4g}/{rep['max_score']:<4g}  {', '.join(caught) or 'NOT CAUGHT'}")
        if rep["score"] >= rep["max_score"]:
            problems.append(f"{a.id}: bug {name[4:]} is not caught (full marks)")
    return problems, lines


def check(course: Course, assignments: list[Assignment], jobs: int = 2) -> list[str]:
    """Check the given assignments; print the tables; return every problem found."""
    problems: list[str] = []
    for a in assignments:
        found, lines = check_assignment(a, jobs)
        print("\n".join(lines), flush=True)
        problems += found
    return problems
