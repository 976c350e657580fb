"""`course grade-all`: a folder of submissions → one row each, in parallel, resumable;
Gradescope's export layout in; staleness; regrade diff."""
from __future__ import annotations

import csv
import json

import pytest
from export_fixture import make_export

from autograder.bugs import load_bugs
from autograder.config import REPO_ROOT


def _rows(path):
    return {r["submission"]: r for r in csv.DictReader(open(path))}


@pytest.mark.slow
def test_grade_all_grades_each_submission_and_regrades_only_what_changed(course_cli, course, tmp_path):
    a = course.get("kmeans")
    subs = tmp_path / "submissions"
    subs.mkdir()
    (subs / "alice.py").write_text(a.solution_path.read_text())                 # one file per student
    (subs / "bob.py").write_text(a.stub_path.read_text())
    (subs / "eve.py").write_text("def assign_clusters(:\n")                       # syntax error
    carol = subs / "carol"                                                       # one folder per student
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
    rows = _rows(out / "gradebook.csv")
    assert set(rows) == {"alice.py", "bob.py", "eve.py", "carol", "dave"}
    assert float(rows["alice.py"]["total"]) == a.total_points                  # graded as kmeans.py
    assert float(rows["bob.py"]["total"]) == 0 and rows["bob.py"]["note"] == "not implemented"
    assert float(rows["eve.py"]["total"]) == 0 and "SyntaxError on line 1" in rows["eve.py"]["note"]
    assert float(rows["carol"]["total"]) == a.total_points - 3  # quantize_image (2) + hidden_quantize_ties (1)
    assert float(rows["carol"]["quantize_image"]) == 0 and float(rows["carol"]["assign_clusters"]) == 2
    assert rows["carol"]["note"] == ""                                            # a wrong answer: no note
    assert float(rows["dave"]["total"]) == 0 and rows["dave"]["note"]
    assert list(rows["alice.py"]) == ["submission", "names", "emails", "sids", "total",
                                      *[t.name for t in a.tests], "note"]
    for name in rows:
        results = json.loads((out / f"{name}.json").read_text())
        assert "tests" in results and results["extra_data"]["course"]["autograder"]
    eve = json.loads((out / "eve.py.json").read_text())
    assert all("SyntaxError" in t["output"] for t in eve["tests"])
    assert (out / "report" / "index.html").is_file() and (out / "report" / "scores.png").is_file()

    again = course_cli("grade-all", "kmeans", str(subs), "--jobs", "2")
    assert again.returncode == 0 and "graded 0 of 5 submissions in" in again.stderr
    (subs / "bob.py").write_text(a.solution_path.read_text())                  # bob uploads again
    third = course_cli("grade-all", "kmeans", str(subs), "--jobs", "2")
    assert "graded 1 of 5 submissions (1 submission changed)" in third.stderr, third.stderr
    assert float(_rows(out / "gradebook.csv")["bob.py"]["total"]) == a.total_points


@pytest.mark.slow
def test_gradescope_export_in_gradebook_out_and_a_points_change_regrades_with_a_diff(course_cli, course, tmp_path):
    a = course.get("kmeans")
    export = make_export(tmp_path / "export", a, which=["submission_1002", "submission_1005", "submission_1007"])
    proc = course_cli("grade-all", "kmeans", str(export))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: submission_metadata.yml: submission_1007: no list of submitters") == 1
    out = tmp_path / "export-results"
    rows = _rows(out / "gradebook.csv")
    assert list(rows) == ["submission_1002", "submission_1005", "submission_1007"]   # not the metadata file
    group = rows["submission_1002"]
    assert group["names"] == "Grace Hopper; Alan Turing" and group["sids"] == "1002; 1012"
    assert group["emails"] == "grace@example.edu; alan@example.edu" and float(group["total"]) == a.total_points - 3
    wrong = rows["submission_1005"]  # kmeans_mine.py in its folder: graded as uploaded, as on Gradescope
    assert float(wrong["total"]) == 0 and wrong["note"] == "Submit a file named kmeans.py (got kmeans_mine.py)"
    assert rows["submission_1007"]["names"] == "" and float(rows["submission_1007"]["total"]) > 0

    # train_kmeans 3 -> 4 points: the autograder zip changed, so every stored result is stale.
    changed = tmp_path / "course.yml"
    changed.write_text((REPO_ROOT / "course.yml").read_text().replace(
        "{name: train_kmeans, points: 3,", "{name: train_kmeans, points: 4,"))
    old = tmp_path / "old.csv"
    old.write_bytes((out / "gradebook.csv").read_bytes())
    regrade = course_cli("--course", str(changed), "grade-all", "kmeans", str(export), "--compare", str(old))
    assert regrade.returncode == 0, regrade.stderr
    assert "graded 3 of 3 submissions (3 autograder changed)" in regrade.stderr
    assert "submission_1002 (Grace Hopper; Alan Turing): 13 -> 14 (+1)\n    train_kmeans: 3 -> 4" in regrade.stdout
    assert "summary: 2 up (by 2 points in all, at most 1); 0 down" in regrade.stdout
    diff = course_cli("diff", str(old), str(out / "gradebook.csv"))
    assert diff.returncode == 0 and diff.stdout.strip() == regrade.stdout.strip().rsplit("\n", 1)[0].strip()
    bad = course_cli("diff", str(old), str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and bad.stderr.startswith("course: ") and "Traceback" not in bad.stderr
