"""otter-grader plugin that keeps student code out of otter's kernel and scores from a trusted report.

otter stays the packager (``otter generate``) and the results writer; this plugin
changes what it grades with:

- ``before_grading``: locks the autograder folder, moves the submission to a private
  place, empties ``submission/`` (planted ``.OTTER_LOG``, ``conftest.py``,
  ``numpy.py``, …), makes otter's log server refuse pickled objects, then runs the
  trusted runner (:mod:`autograder.runner`), which calls student code only through
  the sandbox.
- no Jupyter kernel: ``before_grading`` also replaces otter's ``grade_notebook`` (the
  step that starts a kernel and runs otter's test files in it, which would only mirror
  the trusted report) by one that hands otter results without a kernel; the rest of
  ``otter run`` (results.json, summary) is unchanged. Where that step cannot be replaced
  (another otter version), ``before_execution`` hands the kernel an empty notebook, so
  the submission never runs in a process that can touch the score.
- ``after_grading``: makes otter write results.json from the trusted report.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from otter.plugins import AbstractOtterPlugin

from . import feedback
from .fallback import killed_reason
from .runner import HIDDEN_MESSAGE, clean_text
from .sandbox.client import FULL_ISOLATION, reap_orphans

REPORT_ENV = "COURSE_REPORT"
BUNDLE = Path("files") / "course"


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D102
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def _safe_unpickle(self, data: bytes) -> Any:
    """Log records arrive as dicts of plain values: no class may be loaded."""
    return _NoGlobals(io.BytesIO(data)).load()


class FinalResults:
    """Stands in for ``GradingResults.to_gradescope_dict`` (a picklable callable)."""

    def __init__(self, payload: dict):
        self.payload = payload

    def __call__(self, ag_config: Any = None) -> dict:
        return self.payload


def _entries(t: dict, problem: str | None, reveal: str | None) -> list[dict]:
    """Gradescope entries of one graded line: the line itself and, for a failed hidden line,
    its real feedback in a zero-point entry that students see after the due date or never."""
    cause = feedback.cause_of(t, problem)
    passed = t["passed"] and not problem
    message = problem or t["message"]
    keep_hidden = t["visibility"] == "hidden" and not passed and not t.get("public_reason") and not problem
    shown = (t.get("summary") or HIDDEN_MESSAGE) if keep_hidden else message
    entry = {"name": t["name"], "score": 0.0 if problem else t["score"], "max_score": t["max_score"],
             "status": "passed" if passed else "failed", "output": feedback.md_message(shown),
             "output_format": "md", "visibility": "visible"}
    if cause:  # for the gradebook's note; Gradescope stores extra_data without showing it
        entry["extra_data"] = {"cause": cause, "reason": feedback.reason_line(message, cause)}
    if not keep_hidden:
        return [entry]
    details = {"name": f"{t['name']} (details)", "score": 0.0, "max_score": 0.0, "status": "failed",
               "output": feedback.md_message(message), "output_format": "md",
               "visibility": "after_due_date" if reveal == "after_due_date" else "hidden",
               "extra_data": {"details_of": t["name"]}}
    return [entry, details]


def gradescope_results(report: dict, problem: str | None = None, assignment: Any = None) -> dict:
    """Gradescope's results.json built from a runner report (or from a problem with the submission).

    ``assignment`` (from course.yml) gives each hidden line's ``reveal``.
    """
    reveal = {s.name: s.reveal for s in assignment.tests} if assignment is not None else {}
    tests = []
    for t in report.get("tests", []):
        tests += _entries(t, problem, reveal.get(t["name"]))
    score = 0.0 if problem else report.get("score", 0.0)
    header = feedback.md_text(problem) if problem else feedback.score_words(report.get("tests", []))
    note = isolation_note(report) if not problem else None
    if note:  # for the course staff only: a 0-point entry that students never see
        tests.append({"name": "Grader isolation", "score": 0.0, "max_score": 0.0, "status": "passed",
                      "output": note, "visibility": "hidden"})
    return {"score": score, "output": header, "output_format": "md", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def isolation_note(report: dict) -> str | None:
    """The instructors' note when the sandbox ran with less isolation than intended (None when full)."""
    isolation = report.get("isolation", FULL_ISOLATION)
    if isolation == FULL_ISOLATION:
        return None
    return f"Note: this grader could not fully isolate the submission ({isolation})."


def verdict(name: str) -> None:
    """Called by the generated otter test files inside otter's kernel: mirror the trusted report."""
    report = json.loads(Path(os.environ[REPORT_ENV]).read_text())
    for test in report["tests"]:
        if test["name"] == name:
            if not test["passed"]:
                raise AssertionError(HIDDEN_MESSAGE if test["visibility"] == "hidden" else test["message"])
            return
    raise AssertionError(f"no result for {name}")


class CoursePlugin(AbstractOtterPlugin):
    """Configured in otter_config.json as ``{"autograder.otter_plugin.CoursePlugin": {"assignment": ID}}``."""

    def _paths(self, config: Any) -> tuple[Path, Path, Path]:
        ag_dir = Path(config.autograder_dir).resolve()
        private = ag_dir / ".course"
        return ag_dir, private, ag_dir / "source" / BUNDLE

    def before_grading(self, config: Any) -> None:
        import otter.execute.logging as otter_logging

        otter_logging.LogRecordStreamHandler.unpickle = _safe_unpickle
        ag_dir, private, bundle = self._paths(config)
        private.mkdir(mode=0o700, exist_ok=True)
        for locked in (ag_dir / "source", private, ag_dir / "results"):
            if locked.exists():
                os.chmod(locked, 0o700)
        course = _load_bundle_course(bundle)
        assignment = course.get(self.plugin_config["assignment"])
        submitted = Path(self.submission_path)
        kept = private / assignment.submission
        if submitted.is_file():
            shutil.copyfile(submitted, kept)
        problem = _problem_with(submitted, kept, assignment.submission)
        _empty_submission_dir(submitted.parent, placeholder=submitted.name)
        report_path = private / "report.json"
        os.environ[REPORT_ENV] = str(report_path)
        if problem is None:
            budget = sum(course.time_limit(assignment, t) for t in assignment.tests) * 3 + 120
            problem = _run_trusted_runner(bundle, assignment.id, kept, report_path, budget)
            _empty_submission_dir(submitted.parent, placeholder=submitted.name)  # anything planted meanwhile
        if problem is not None:
            report = {"assignment": assignment.id, "score": 0.0, "max_score": assignment.total_points,
                      "tests": [{"name": t.name, "visibility": t.visibility, "max_score": t.points, "score": 0.0,
                                 "passed": False, "message": problem} for t in assignment.tests]}
            report_path.write_text(json.dumps(report))
        self._report, self._problem = json.loads(report_path.read_text()), problem
        self._assignment = assignment
        _skip_kernel()

    def before_execution(self, submission: Any) -> Any:
        return nbformat.v4.new_notebook()

    def after_grading(self, results: Any) -> None:
        payload = gradescope_results(self._report, self._problem, self._assignment)
        disagree = [n for n, tf in results.results.items()
                    if any(t["name"] == n and abs(t["score"] - tf.score) > 1e-9 for t in self._report["tests"])]
        if disagree and not self._problem:
            payload["tests"].append({"name": "Grader consistency", "status": "failed", "visibility": "hidden",
                                     "output": f"otter's kernel disagreed with the trusted report on {disagree}"})
        results.to_gradescope_dict = FinalResults(payload)
        note = isolation_note(self._report)
        if note:
            print(note)  # stdout: instructors see it (stdout_visibility hidden), students do not


def _grade_without_kernel(submission_path: str, *, plugin_collection: Any = None, **_: Any) -> Any:
    """Stands in for ``otter.execute.grade_notebook``: the trusted report already holds every score,
    so no kernel is started; the plugins' ``after_grading`` still runs, as otter's would."""
    from otter.test_files import GradingResults

    results = GradingResults([])
    if plugin_collection is not None:
        plugin_collection.run("after_grading", results)
    return results


def _skip_kernel() -> None:
    """Make otter's Python runner (the `otter run` path Gradescope uses) grade without a kernel."""
    try:
        from otter.run.run_autograder.runners import python_runner
    except ImportError:  # pragma: no cover - another otter layout: the kernel runs an empty notebook
        return
    if callable(getattr(python_runner, "grade_notebook", None)):
        python_runner.grade_notebook = _grade_without_kernel


def _load_bundle_course(bundle: Path):
    from .config import load_course

    return load_course(bundle / "course.yml")


def _run_trusted_runner(bundle: Path, assignment_id: str, submission: Path, report: Path, budget: float) -> str | None:
    """Run :mod:`autograder.runner` in a process of its own (isolated mode, in the private folder).

    Returns None when it wrote its report, else a one-line reason. Whatever happens,
    no process of a sandbox uid outlives it.
    """
    cmd = [sys.executable, "-I", "-m", "autograder.runner", "--root", str(bundle), "--assignment", assignment_id,
           "--submission", str(submission), "--out", str(report)]
    try:
        proc = subprocess.run(cmd, cwd=report.parent, capture_output=True, text=True, errors="replace",
                              timeout=budget, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"Grading took longer than {budget:.0f} s and was stopped: 0 points."
    finally:
        reap_orphans()
    if proc.returncode < 0:  # killed by a signal: the out-of-memory killer's SIGKILL, usually
        return killed_reason(-proc.returncode)
    if proc.returncode != 0 or not report.is_file():
        last = (proc.stderr.strip().splitlines() or ["no report"])[-1]
        return "The grader failed on this submission: " + clean_text(last, 300)
    return None


def _problem_with(path: Path, kept: Path, expected: str) -> str | None:
    """A one-line reason when the upload is not a gradable ``expected`` file, else None.

    The source is compiled (never run) here, so an empty file or a syntax error is named once.
    """
    if path.suffix == ".ipynb":
        return f"Submit the file {expected}, not a notebook ({path.name}): 0 points."
    if path.name != expected:
        return f"Submit a file named {expected} (got {path.name}): 0 points."
    source = kept.read_bytes() if kept.is_file() else b""
    if not source.strip():
        return f"{expected} is empty: 0 points."
    try:
        compile(source, expected, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return clean_text(f"{expected} cannot be imported: SyntaxError on line {exc.lineno}: {exc.msg}: 0 points.", 300)
    except (ValueError, MemoryError, RecursionError) as exc:
        return clean_text(f"{expected} is not Python source ({exc}): 0 points.", 300)
    return None


def _empty_submission_dir(folder: Path, placeholder: str) -> None:
    """Leave only otter's own files (tests/, __init__.py) and an empty placeholder for the submission."""
    for entry in folder.iterdir():
        if entry.name in ("tests", "__init__.py"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    empty = nbformat.writes(nbformat.v4.new_notebook()) if placeholder.endswith(".ipynb") else "# graded in a sandbox\n"
    (folder / placeholder).write_text(empty)  # otter reads it (a notebook must stay one); nothing runs it
