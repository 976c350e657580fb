"""Trusted grading: run an assignment's tests against a submission held in a sandbox.

Invoked as ``python -m autograder.runner --root ROOT --assignment ID --submission FILE --out REPORT``
(a process of its own, so every grading starts clean). The tests run here, in the
trusted process; every call into student code goes to a sandboxed worker
(:mod:`autograder.sandbox`) and only plain data comes back. The report is JSON:
one entry per graded line of course.yml with points, pass/fail and a message.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from .config import PYTEST_PLUGINS, Assignment, Course, TestSpec, load_course
from .errors import CourseError
from .feedback_text import after_first_line, clean_text, one_line, quoted
from .selflimit import limit_trusted_memory
from .sandbox.client import GradingAbort, Limits, RemoteModule, Sandbox, StudentError, TimeLimit
from .impl_proxy import Clock, GuardedModule, api_parameters

HIDDEN_MESSAGE = "Hidden test failed. Its details are not shown; re-read the specification of this part."
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def spec_dir(root: Path, assignment: Assignment, spec: TestSpec) -> Path:
    """Folder (under ``root``) whose files a test line's ``select`` entries name."""
    base = assignment.public_dir if spec.visibility == "public" else assignment.hidden_dir
    return root / base.relative_to(assignment.public_dir.parent.parent)


def node_ids(root: Path, assignment: Assignment, spec: TestSpec) -> list[str]:
    """pytest node ids (relative to ``root``) selected by a test line."""
    folder = spec_dir(root, assignment, spec).relative_to(root)
    return [f"{folder.as_posix()}/{sel}" for sel in spec.select]


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


def describe_failure(item, excinfo, last_call: str = "") -> str:
    """A few lines for the student: the property, what went wrong, the smallest failing call."""
    from course_pytest import format_failure  # the tests' own formatter (tests/ is on sys.path)

    exc = excinfo.value
    doc = _first_line(getattr(getattr(item, "function", None), "__doc__", None))
    if isinstance(exc, StudentError):
        error = student_error_text(exc)
    elif isinstance(exc, GradingAbort):  # grader text that may end in the student's (an import failure)
        error = after_first_line(str(exc))
    elif isinstance(exc, AssertionError):
        error = str(exc) or "assertion failed"
    else:
        error = f"{type(exc).__name__}: {exc}"
    text = format_failure(item.name, doc, error, last_call, getattr(exc, "__notes__", []))
    return clean_text(_ADDRESS.sub("", text))


def student_error_text(exc: StudentError) -> str:
    """``where raised Type: message`` and the student's frames, the student's text set apart:
    the type on the grader's line, the message's further lines and the frames indented."""
    where = str(exc).split(" raised ", 1)[0]
    first, _, rest = clean_text(exc.detail).partition("\n")
    line = f"{where} raised {one_line(exc.type_name)}" + (f": {first}" if first.strip() else "")
    body = [quoted(rest)] if rest.strip() else []
    body += [quoted(t, 300) for t in exc.trace]
    return "\n".join([line, *body])


class GradingPlugin:
    """pytest plugin: routes ``impl`` to the sandbox, enforces time limits, records outcomes."""

    def __init__(self, course: Course, assignment: Assignment, root: Path, box: Sandbox,
                 stop_failed_lines: bool = False):
        self.course, self.assignment, self.root, self.box = course, assignment, root, box
        # Lines are all-or-nothing, so once one check of a line fails its other checks cannot change
        # any score: with stop_failed_lines they are skipped (course check's bugs and null submissions).
        self.stop_failed_lines = stop_failed_lines
        self._failed: set[str] = set()
        self._skipped: str | None = None
        self.outcomes: dict[str, list[dict]] = {s.name: [] for s in assignment.tests}
        self._prefixes = [(nid, s) for s in assignment.tests for nid in node_ids(root, assignment, s)]
        self._current: str | None = None
        self._last_line: str | None = None
        self._timed_out: set[str] = set()  # lines whose remaining tests are not run (all-or-nothing)
        self.clock = Clock(box, course.defaults.grading_time_limit)
        # The API's parameter names, for showing a failing call: read from the reference (trusted side only).
        self.params = api_parameters(root / "solutions" / assignment.submission)

    def spec_of(self, nodeid: str) -> TestSpec | None:
        for prefix, spec in self._prefixes:
            if nodeid == prefix or nodeid.startswith(prefix + "::") or nodeid.startswith(prefix + "["):
                return spec
        return None

    def pytest_collection_finish(self, session) -> None:
        # No spare worker is started during the last line that runs: no line would take it.
        names = [spec.name for spec in map(self.spec_of, (item.nodeid for item in session.items)) if spec]
        self._last_line = names[-1] if names else None

    def pytest_configure(self, config) -> None:
        params = self.params
        config.course_impl_factory = lambda module: GuardedModule(self.clock, RemoteModule(self.box), params)

    def pytest_runtest_setup(self, item) -> None:
        import pytest

        spec = self.spec_of(item.nodeid)
        if self.stop_failed_lines and spec is not None and spec.name in self._failed:
            self._skipped = item.nodeid
            pytest.skip("this part already failed")
        if spec is not None and spec.name != self._current:
            self.box.spare = self.box.spare and spec.name != self._last_line
            self.box.restart()  # every graded line starts with a fresh student process
            self._current = spec.name

    def pytest_runtest_call(self, item) -> None:
        spec = self.spec_of(item.nodeid)
        limit = self.course.time_limit(self.assignment, spec) if spec else self.course.defaults.time_limit
        if spec is not None and spec.name in self._timed_out:
            limit = 0.0  # the line already failed on its time limit: spend no more time on it
        self.clock.start_test(limit)

    def _last_call(self) -> str:
        from course_pytest import format_call

        if self.clock.last_call is None:
            return ""
        name, args, kwargs = self.clock.last_call
        if name not in self.params:
            return ""  # a probe's own arguments are test machinery, not the student's input
        return format_call(name, self.params[name], args, kwargs)

    def _describe(self, item, excinfo) -> str:
        """The failure's message; never raises (an exception in a hook would end the whole session,
        and with it every later line of the grading)."""
        try:
            return describe_failure(item, excinfo, self._last_call())
        except Exception:  # the last call's input could not be shown: the message without it
            try:
                return describe_failure(item, excinfo, "")
            except Exception:
                return f"{item.name} failed (its message could not be formatted)"

    def pytest_runtest_teardown(self, item) -> None:
        self.box.deadline = None

    def pytest_runtest_makereport(self, item, call) -> None:
        spec = self.spec_of(item.nodeid)
        if spec is None or call.when == "teardown" and call.excinfo is None or item.nodeid == self._skipped:
            return
        if call.excinfo is None and call.when != "call":
            return
        passed = call.excinfo is None
        if not passed:
            self._failed.add(spec.name)
        if not passed and call.excinfo.errisinstance(TimeLimit):
            self._timed_out.add(spec.name)
        message = "" if passed else self._describe(item, call.excinfo)
        self.outcomes[spec.name].append({"test": item.nodeid, "passed": passed, "message": message})


def _import_status(box: Sandbox) -> dict:
    """Start the student's process once; report whether the submission imports."""
    try:
        return box.status()
    except GradingAbort as exc:
        return {"imported": False, "type": "Error", "message": str(exc)}


def build_report(assignment: Assignment, plugin: GradingPlugin, isolation: str, collect_error: str,
                 import_failed: bool = False) -> dict:
    """Score every graded line all-or-nothing from the recorded pytest outcomes."""
    tests = []
    for spec in assignment.tests:
        runs = plugin.outcomes[spec.name]
        failed = [r for r in runs if not r["passed"]]
        passed = bool(runs) and not failed
        if not runs:
            message = collect_error or "no test ran for this part (grader configuration error)"
        elif failed:
            message = failed[0]["message"]
            if len(failed) > 1:
                message += f"\n(+{len(failed) - 1} more failing check(s) in this part)"
        else:
            message = f"all {len(runs)} checks passed"
        tests.append({
            "name": spec.name, "visibility": spec.visibility, "max_score": spec.points,
            "score": spec.points if passed else 0.0, "passed": passed, "message": message,
            "public_reason": import_failed, "summary": spec.summary,
            "checks": [{"test": r["test"], "passed": r["passed"]} for r in runs],
        })
    return {"assignment": assignment.id, "isolation": isolation, "tests": tests,
            "score": sum(t["score"] for t in tests), "max_score": assignment.total_points}


def grade(root: Path, assignment_id: str, submission: Path, stop_failed_lines: bool = False) -> dict:
    """Grade ``submission`` with the tests under ``root``; return the report dict.

    With ``stop_failed_lines`` a line's remaining checks are skipped once one has failed: the same
    points for every line, but a failed line's message does not count its other failing checks.
    """
    import pytest

    course = load_course(root / "course.yml")
    assignment = course.get(assignment_id)
    if not submission.is_file():
        raise CourseError(f"{submission}: submission file not found")
    os.environ["COURSE_MAX_EXAMPLES"] = str(course.defaults.max_examples)
    sys.path.insert(0, str(root / "tests"))
    box = Sandbox(submission, assignment.module, probes=root / "tests" / "probes.py",
                  limits=Limits(memory_mb=course.memory_limit_mb(assignment)), hide=[root])
    plugin = GradingPlugin(course, assignment, root, box, stop_failed_lines)
    box.deadline = time.monotonic() + max(course.time_limit(assignment, t) for t in assignment.tests)
    status = _import_status(box)
    box.deadline = None
    if not status.get("imported"):
        # Nothing can run: one reason, shown on every line (hidden ones too: it is about the student's file).
        box.close()
        reason = (f"{assignment.submission} could not be imported: {one_line(status.get('type'))}: "
                  f"{status.get('message')}")
        return build_report(assignment, plugin, box.isolation, after_first_line(reason, 1000), import_failed=True)
    # pytest resolves arguments against the working directory, so pass absolute node ids.
    args = [str(root / nid) for s in assignment.tests for nid in node_ids(root, assignment, s)]
    with tempfile.TemporaryDirectory() as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        with open(os.devnull, "w") as devnull:
            stdout, sys.stdout = sys.stdout, devnull
            try:
                code = pytest.main(["-c", str(ini), "--rootdir", str(root), *PYTEST_PLUGINS, "-p", "course_pytest",
                                    "-p", "no:warnings", "-p", "no:unraisableexception", "-q", *args], plugins=[plugin])
            finally:
                sys.stdout = stdout
                box.close()
    collect_error = "" if code in (0, 1) else f"the grader could not collect these tests (pytest exit {int(code)})"
    return build_report(assignment, plugin, box.isolation, collect_error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="folder holding course.yml and the tests")
    parser.add_argument("--assignment", required=True)
    parser.add_argument("--submission", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON report")
    parser.add_argument("--stop-failed-lines", action="store_true",
                        help="skip a line's remaining checks once one has failed (same points, shorter messages)")
    args = parser.parse_args(argv)
    limit_trusted_memory()
    try:
        report = grade(args.root.resolve(), args.assignment, args.submission.resolve(), args.stop_failed_lines)
    except CourseError as exc:
        print(f"course: {exc}", file=sys.stderr)
        return 2
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
