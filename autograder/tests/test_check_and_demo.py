"""`course check` holds for every assignment, and `course demo` writes the figures."""
from __future__ import annotations

import pytest

from autograder.config import load_course

ASSIGNMENTS = [a.id for a in load_course().assignments]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_course_check(course_cli, assignment):
    proc = course_cli("check", assignment)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "course check: OK" in proc.stdout
    assert "NOT CAUGHT" not in proc.stdout


def test_course_check_fails_when_a_bug_is_not_caught(course_cli, tmp_path):
    # A catalogue entry that changes nothing observable must be reported as not caught.
    import shutil

    import yaml

    from autograder.config import REPO_ROOT

    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, root, ignore=shutil.ignore_patterns(".venv", ".git", "dist", "out", "__pycache__", ".helper"))
    bugs = root / "autograder" / "kmeans" / "bugs" / "bugs.yml"
    entries = yaml.safe_load(bugs.read_text())
    entries.append({"name": "harmless_comment", "mistake": "no mistake at all",
                    "find": "    return float(np.einsum", "replace": "    # a comment\n    return float(np.einsum"})
    bugs.write_text(yaml.safe_dump(entries))
    proc = course_cli("check", "kmeans", cwd=root)
    assert proc.returncode != 0
    assert "bug harmless_comment is not caught" in proc.stdout


def test_demo_writes_the_kmeans_figure(course_cli, tmp_path):
    proc = course_cli("demo", "kmeans", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "kmeans" / "kmeans_quantisation.png").stat().st_size > 10_000
    assert (tmp_path / "kmeans" / "kmeans_loss.png").is_file()


def test_stopping_a_failed_line_keeps_every_lines_score(course, tmp_path):
    """course check grades bugs and null submissions with ``--stop-failed-lines``: its verdicts must be
    those of a full grading (line by line, the same points and the same first failing check)."""
    from autograder.check import run_report
    from autograder.nulls import null_source

    a = course.get("kmeans")
    path = tmp_path / a.submission
    path.write_text(null_source(a.solution_path, "zeros"))
    full, stopped = run_report(a, path), run_report(a, path, stop_failed_lines=True)
    assert stopped["score"] == full["score"] < full["max_score"]
    for f, s in zip(full["tests"], stopped["tests"]):
        assert (s["name"], s["score"]) == (f["name"], f["score"])
        if not f["passed"]:
            first_failed = next(c for c in f["checks"] if not c["passed"])
            assert s["checks"][-1] == first_failed and all(c["passed"] for c in s["checks"][:-1])
            assert s["message"].splitlines()[0] == f["message"].splitlines()[0]
    assert sum(len(t["checks"]) for t in stopped["tests"]) < sum(len(t["checks"]) for t in full["tests"])
