"""End to end through the otter autograder zip: build, grade, determinism, no hidden test leaks."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from autograder.bugs import load_bugs
from autograder.config import load_course

ASSIGNMENTS = [a.id for a in load_course().assignments]


def grade(course_cli, assignment: str, submission: Path, out: Path) -> dict:
    proc = course_cli("grade", assignment, str(submission), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout
    return json.loads(out.read_text())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_build_writes_both_zips_and_the_handout_has_no_hidden_test(built, assignment):
    student = built / assignment / f"{assignment}-student.zip"
    autograder = built / assignment / f"{assignment}-autograder.zip"
    with zipfile.ZipFile(student) as zf:
        names = zf.namelist()
        text = b"".join(zf.read(n) for n in names)
    assert f"{assignment}/{assignment}.py" in names and any(n.endswith(".ipynb") for n in names)
    assert any(n.startswith(f"{assignment}/tests/{assignment}/test_") for n in names)
    assert not any("hidden" in n or "bugs" in n or n.startswith(f"{assignment}/solutions") for n in names)
    assert b"CANARY-" not in text, "a hidden test's canary string reached the student handout"
    with zipfile.ZipFile(autograder) as zf:
        ag_text = b"".join(zf.read(n) for n in zf.namelist())
        setup = zf.read("setup.sh").decode()
    assert f"CANARY-{assignment}".encode() in ag_text, "the hidden tests (and their canary) belong in the autograder zip"
    assert "playwright" not in setup and "chromium" not in setup and "miniforge" not in setup.lower()


def test_solution_full_marks_stub_zero(course_cli, course, tmp_path):
    a = course.get("kmeans")
    sol = grade(course_cli, "kmeans", a.solution_path, tmp_path / "sol.json")
    assert sol["score"] == a.total_points
    assert {t["name"] for t in sol["tests"]} == {t.name for t in a.tests}
    for t in sol["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output", "visibility"}
    stub = grade(course_cli, "kmeans", a.stub_path, tmp_path / "stub.json")
    assert stub["score"] == 0
    assert all(t["status"] == "failed" for t in stub["tests"])


def test_one_wrong_function_costs_exactly_its_own_points(course_cli, course, tmp_path):
    a = course.get("kmeans")
    bug = next(b for b in load_bugs(a) if b.name == "quantize_returns_labels")
    path = tmp_path / "kmeans.py"
    path.write_text(bug.source)
    res = grade(course_cli, "kmeans", path, tmp_path / "res.json")
    quantize_points = sum(t.points for t in a.tests if t.name in ("quantize_image", "hidden_quantize_ties"))
    assert res["score"] == a.total_points - quantize_points
    failed = {t["name"] for t in res["tests"] if t["status"] == "failed"}
    assert failed == {"quantize_image", "hidden_quantize_ties", "hidden_quantize_ties (details)"}
    hidden = next(t for t in res["tests"] if t["name"] == "hidden_quantize_ties")
    summary = next(t.summary for t in a.tests if t.name == "hidden_quantize_ties")
    # A failed hidden line shows its course.yml summary (the function, the kind of case), never inputs.
    assert summary.split(": ", 1)[1] in hidden["output"] and "expected" not in hidden["output"]
    assert "array" not in hidden["output"] and "Failing" not in hidden["output"]
    details = next(t for t in res["tests"] if t["name"] == "hidden_quantize_ties (details)")
    assert details["visibility"] == "hidden" and details["max_score"] == 0 and "quantize" in details["output"]
    public = next(t for t in res["tests"] if t["name"] == "quantize_image")
    assert "expected" in public["output"] and "smallest failing call" in public["output"]
    # Markdown: the property as text, the counterexample and expected/actual in a code block, short.
    assert res["output_format"] == "md" and public["output_format"] == "md"
    head, block = public["output"].split("\n\n```text\n", 1)
    assert "expected" not in head and "smallest failing call" in block and block.endswith("\n```")
    assert len(public["output"]) < 1500 and public["output"].count("\n") < 25
    assert "Visible tests: 8 of 10 points." in res["output"] and "Hidden tests: 5 of 6 points" in res["output"]


def test_grade_takes_a_wrongly_named_file_as_grade_all_does_and_names_a_shared_reason_once(course_cli, course,
                                                                                           tmp_path):
    path = tmp_path / "kmeans_mine.py"
    path.write_text("def assign_clusters(data, centroids:\n    return 0\n")
    proc = course_cli("grade", "kmeans", str(path), "--json", str(tmp_path / "res.json"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("note: kmeans_mine.py is graded as kmeans.py") == 1
    assert proc.stdout.count("SyntaxError on line 1") == 1 and "Submit a file named" not in proc.stdout
    assert "--- every failing line (11)" in proc.stdout
    res = json.loads((tmp_path / "res.json").read_text())
    assert res["score"] == 0 and all("SyntaxError" in t["output"] for t in res["tests"])


def test_the_same_submission_gets_byte_identical_results(course_cli, course, tmp_path):
    a = course.get("kmeans")
    bug = next(b for b in load_bugs(a) if b.name == "ties_to_highest_index")
    path = tmp_path / "kmeans.py"
    path.write_text(bug.source)
    grade(course_cli, "kmeans", path, tmp_path / "1.json")
    grade(course_cli, "kmeans", path, tmp_path / "2.json")
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()
