"""`course grade-all`: a folder of submissions → one row each, in parallel, resumable."""
from __future__ import annotations

import csv
import json

from autograder.bugs import load_bugs


def test_grade_all_grades_each_submission_and_skips_graded_ones(course_cli, course, tmp_path):
    a = course.get("kmeans")
    subs = tmp_path / "submissions"
    subs.mkdir()
    (subs / "alice.py").write_text(a.solution_path.read_text())                 # one file per student
    (subs / "bob.py").write_text(a.stub_path.read_text())
    (subs / "eve.py").write_text("def assign_clusters(:\n")                       # syntax error
    carol = subs / "carol"                                                       # Gradescope export layout
    carol.mkdir()
    bug = next(b for b in load_bugs(a) if b.name == "quantize_returns_labels")
    (carol / "kmeans.py").write_text(bug.source)
    dave = subs / "dave"
    dave.mkdir()
    (dave / "kmeans.py").write_text(a.solution_path.read_text())
    (dave / "helper.py").write_text("x = 1\n")                                   # two .py files

    proc = course_cli("grade-all", "kmeans", str(subs), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    out = subs.parent / "submissions-results"
    rows = {r["submission"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert set(rows) == {"alice.py", "bob.py", "eve.py", "carol", "dave"}
    assert float(rows["alice.py"]["total"]) == a.total_points
    assert float(rows["bob.py"]["total"]) == 0
    assert float(rows["eve.py"]["total"]) == 0
    assert float(rows["carol"]["total"]) == a.total_points - 3  # quantize_image (2) + hidden_quantize_ties (1)
    assert float(rows["carol"]["quantize_image"]) == 0 and float(rows["carol"]["assign_clusters"]) == 2
    assert float(rows["dave"]["total"]) == 0 and rows["dave"]["note"]
    assert list(rows["alice.py"])[1:-2] == [t.name for t in a.tests]
    for name in rows:
        results = json.loads((out / f"{name}.json").read_text())
        assert "tests" in results and "score" in results
    eve = json.loads((out / "eve.py.json").read_text())
    assert all("SyntaxError" in t["output"] for t in eve["tests"])

    again = course_cli("grade-all", "kmeans", str(subs), "--jobs", "2")
    assert again.returncode == 0 and "graded 0 of 5" in again.stderr
    forced = course_cli("grade-all", "kmeans", str(subs), "--jobs", "2", "--force")
    assert "graded 5 of 5" in forced.stderr
