"""The instructors' view on stored results (no grading): gradebook, notes, staleness, diff,
Markdown feedback and visibility, the results.json validator, the class report in Chromium."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from chromium import render
from export_fixture import make_export
from gradescope_schema import validate

from autograder import feedback
from autograder.config import parse_course
from autograder.diff import diff_gradebooks, read_gradebook, render_diff
from autograder.errors import CourseError
from autograder.export import Entry, submissions_in
from autograder.gradebook import (AUTOGRADER, FAILED, NEW, SUBMISSION, UNREADABLE, note, row, stale_reason,
                                  stamp, write_csv)
from autograder.otter_plugin import gradescope_results
from autograder.report import failures, normalise, write_report
from autograder.runner import HIDDEN_MESSAGE
from autograder.sandbox.client import FULL_ISOLATION

WRONG = ("test_labels: each point takes its nearest centroid\n"
         "assign_clusters(data, centroids) is wrong at index 0: expected 1, got 0\n"
         "Failing test case: test_labels(case=(array([[0.25, 3.5]]), array([[1.0]])))")


def _report(a, fail: dict[str, str] | None = None, import_failed: str | None = None) -> dict:
    """A runner report for ``a``: every line passes but those in ``fail`` (name → message)."""
    fail = fail or {}
    tests = []
    for t in a.tests:
        bad = import_failed or fail.get(t.name)
        tests.append({"name": t.name, "visibility": t.visibility, "max_score": t.points,
                      "score": 0.0 if bad else t.points, "passed": not bad, "message": bad or "all 3 checks passed",
                      "public_reason": bool(import_failed), "checks": [{"test": "x", "passed": not bad}]})
    return {"assignment": a.id, "isolation": FULL_ISOLATION, "tests": tests,
            "score": sum(t["score"] for t in tests), "max_score": a.total_points}


def _results(course, a, **kw) -> dict:
    problem = kw.pop("problem", None)
    return gradescope_results(_report(a, **kw), problem, a)


@pytest.fixture(scope="module")
def kmeans(course):
    return course.get("kmeans")


def test_note_names_each_cause_other_than_a_wrong_answer_once(course, kmeans):
    loop = "test_loss: sum of squared distances\nkmeans_loss did not finish within the time limit (killed)"
    stub = "test_fit: a fixed point\ntrain_kmeans is not implemented yet (it raised NotImplementedError)"
    res = _results(course, kmeans, fail={"assign_clusters": WRONG, "kmeans_loss": loop,
                                         "hidden_loss_large_offset": loop, "train_kmeans": stub})
    assert note(res, kmeans) == "timed out (kmeans_loss, hidden_loss_large_offset); not implemented (train_kmeans)"
    syntax = "kmeans.py cannot be imported: SyntaxError on line 1: '(' was never closed: 0 points."
    assert note(_results(course, kmeans, problem=syntax), kmeans) == syntax[:-len(": 0 points.")]
    wrong_name = "Submit a file named kmeans.py (got kmeans_mine.py): 0 points."
    assert note(_results(course, kmeans, problem=wrong_name), kmeans).startswith("Submit a file named kmeans.py")
    imports = "kmeans.py could not be imported: ModuleNotFoundError: No module named 'sklearn_extra'"
    assert note(_results(course, kmeans, import_failed=imports), kmeans) == imports
    assert note(_results(course, kmeans, fail={"assign_clusters": WRONG}), kmeans) == ""  # a wrong answer


def test_export_rows_list_every_group_member_and_survive_malformed_metadata(tmp_path, course, kmeans):
    export = make_export(tmp_path / "export", kmeans, which=["submission_1002", "submission_1007", "submission_1008"])
    entries, warnings = submissions_in(export)
    assert [e.id for e in entries] == ["submission_1002", "submission_1007", "submission_1008"]
    assert warnings == ["submission_metadata.yml: submission_1007: no list of submitters: its row has no names",
                        "submission_metadata.yml: no entry for submission_1008: its row has no names"]
    group = row(entries[0], _results(course, kmeans), kmeans)
    assert group["names"] == "Grace Hopper; Alan Turing" and group["sids"] == "1002; 1012"
    assert group["emails"] == "grace@example.edu; alan@example.edu" and group["total"] == kmeans.total_points
    (export / "submission_metadata.yml").write_text("submission_1002:\n  :submitters: [\n")
    entries, warnings = submissions_in(export)
    assert len(entries) == 3 and len(warnings) == 1 and "not valid YAML" in warnings[0]
    with pytest.raises(CourseError):
        submissions_in(tmp_path / "nowhere")


def test_a_stored_result_is_stale_when_its_autograder_or_submission_changed(tmp_path, course, kmeans):
    path = tmp_path / "s.json"
    assert stale_reason(path, "zip1", "sub1") == NEW
    path.write_text("{broken")
    assert stale_reason(path, "zip1", "sub1") == UNREADABLE
    path.write_text(json.dumps(stamp(_results(course, kmeans), "zip1", "sub1")))
    assert stale_reason(path, "zip1", "sub1") is None
    assert stale_reason(path, "zip2", "sub1") == AUTOGRADER
    assert stale_reason(path, "zip1", "sub2") == SUBMISSION
    path.write_text(json.dumps(stamp(_results(course, kmeans), "zip1", "sub1", failed=True)))
    assert stale_reason(path, "zip1", "sub1") == FAILED


def test_diff_lists_per_student_changes_and_a_summary(tmp_path, course, kmeans):
    entries = [Entry("submission_1001", tmp_path), Entry("submission_1002", tmp_path)]
    old = [row(entries[0], _results(course, kmeans), kmeans),
           row(entries[1], _results(course, kmeans, fail={"train_kmeans": WRONG}), kmeans)]
    write_csv(tmp_path / "old.csv", old, kmeans)
    raised = kmeans.model_copy(update={"tests": [t.model_copy(update={"points": 4.0}) if t.name == "train_kmeans"
                                                 else t for t in kmeans.tests]})
    new = [row(entries[0], _results(course, raised), raised), row(entries[1], _results(course, raised,
                                                                              fail={"train_kmeans": WRONG}), raised)]
    write_csv(tmp_path / "new.csv", new, raised)
    text = render_diff(diff_gradebooks(read_gradebook(tmp_path / "old.csv"), read_gradebook(tmp_path / "new.csv")))
    assert text.splitlines() == ["submission_1001: 16 -> 17 (+1)", "    train_kmeans: 3 -> 4", "",
                                 "summary: 1 up (by 1 points in all, at most 1); 0 down; 0 with changed lines "
                                 "but the same total"]
    same = render_diff(diff_gradebooks(read_gradebook(tmp_path / "new.csv"), read_gradebook(tmp_path / "new.csv")))
    assert same == "summary: no changes"
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(CourseError, match="not a gradebook"):
        read_gradebook(tmp_path / "other.csv")


def test_results_are_markdown_with_status_everywhere_and_hidden_feedback_as_course_yml_says(course, kmeans):
    text = (Path(__file__).resolve().parents[2] / "course.yml").read_text()
    far_init, loss = "select: [test_hidden_kmeans.py::TestFarInit]", "select: [test_kmeans.py::TestKmeansLoss]"
    assert text.count(far_init) == 1 and text.count(loss) == 1  # the edits below must change course.yml
    text = text.replace(far_init, far_init + ", reveal: after_due_date")
    a = parse_course(text).get("kmeans")
    hidden_wrong = "test_far: all but one centroid far away\ntrain_kmeans gave centroids [[9.5]]: expected [[0.5]]"
    report = _report(a, fail={"assign_clusters": WRONG, "hidden_far_init": hidden_wrong,
                              "hidden_exact_ties": hidden_wrong})
    report["tests"][[t.name for t in a.tests].index("hidden_exact_ties")]["summary"] = "assign_clusters on exact ties"
    res = gradescope_results(report, None, a)
    assert validate(res) == [] and res["output_format"] == "md"
    assert all(t["status"] in ("passed", "failed") and t["output_format"] == "md" for t in res["tests"])
    by_name = {t["name"]: t for t in res["tests"]}
    public = by_name["assign_clusters"]["output"]
    assert public.startswith("`test_labels`: each point takes its nearest centroid\n\n```text\n")
    assert "expected 1, got 0\nFailing test case: test_labels(case=(array([[0.25, 3.5]]), " in public
    assert public.endswith("\n```") and len(public) < 600 and public.count("\n") < 12
    assert by_name["hidden_far_init"]["output"] == HIDDEN_MESSAGE
    assert by_name["hidden_exact_ties"]["output"] == "assign\\_clusters on exact ties"  # acc2's summary
    reveal, never = by_name["hidden_far_init (details)"], by_name["hidden_exact_ties (details)"]
    assert reveal["visibility"] == "after_due_date" and never["visibility"] == "hidden"
    assert "[[9.5]]" in reveal["output"] and reveal["max_score"] == 0 and never["max_score"] == 0
    assert "hidden_large_offset (details)" not in by_name  # a passed hidden line has nothing to reveal
    assert res["output"].splitlines() == ["You scored **12 of 16** points.  ", "Visible tests: 8 of 10 points.  ",
                                          "Hidden tests: 4 of 6 points (they check the same specification on other "
                                          "inputs; a failed one names only the function and the kind of case)."]
    with pytest.raises(CourseError, match="reveal applies to hidden lines only"):
        parse_course(text.replace(loss, loss + ", reveal: never"))


def test_fence_cannot_be_closed_by_the_text_inside_it():
    text = "a ``` b\n````\nc"
    block = feedback.fence(text)
    assert block.startswith("`````text\n") and block.endswith("\n`````")
    assert feedback.md_text("kmeans_mine.py *x* <b>") == "kmeans\\_mine.py \\*x\\* \\<b\\>"


def test_the_validator_rejects_what_gradescope_does_not_document():
    good = {"score": 1.0, "output": "x", "output_format": "md", "visibility": "visible",
            "tests": [{"name": "a", "score": 1.0, "max_score": 1.0, "status": "passed", "visibility": "after_due_date"}]}
    assert validate(good) == []
    assert validate({**good, "visibility": "later"}) == ["results.visibility: 'later' is not one of "
                                                         "['after_due_date', 'after_published', 'hidden', 'visible']"]
    assert "tests[0].status: 'error' is not one of ['failed', 'passed']" in validate(
        {**good, "tests": [{**good["tests"][0], "status": "error"}]})
    assert validate({**good, "output_format": "markdown"})[0].startswith("results.output_format")
    assert validate({**good, "tests": [{"name": "a", "score": "1"}]})[0].startswith("tests[0].score: str")
    assert validate({**good, "tests": [{"name": "a", "score": 1}]}) == ["tests[0]: no status (the course sets one "
                                                                       "on every test)"]
    assert validate({**good, "colour": 1}) == ["results: unknown field 'colour'"]


def test_failure_messages_group_when_only_the_inputs_differ():
    other = WRONG.replace("index 0: expected 1, got 0", "index 7: expected 2, got 5").replace("0.25, 3.5", "9.0")
    assert normalise(WRONG) == normalise(other)
    assert normalise(WRONG) != normalise(WRONG.replace("is wrong at", "has the wrong shape at"))


@pytest.fixture(scope="module")
def report_page(tmp_path_factory, course, kmeans) -> Path:
    """A class report written from stored results of five kinds of submission."""
    out = tmp_path_factory.mktemp("report")
    other = WRONG.replace("index 0: expected 1, got 0", "index 4: expected 0, got 2")
    stored = {"s1": _results(course, kmeans), "s2": _results(course, kmeans, fail={"assign_clusters": WRONG}),
              "s3": _results(course, kmeans, fail={"assign_clusters": other, "hidden_exact_ties": other}),
              "s4": _results(course, kmeans, problem="Submit a file named kmeans.py (got km.py): 0 points."),
              "s5": _results(course, kmeans, fail={"quantize_image": "test_q: shape\nwrong shape"})}
    for name, res in stored.items():
        (out / f"{name}.json").write_text(json.dumps(res))
    rows = [row(Entry(name, out), res, kmeans) for name, res in stored.items()]
    write_csv(out / "gradebook.csv", rows, kmeans)
    return write_report(out / "report", kmeans, rows, stored)


def test_report_groups_failures_per_line_with_a_count_and_an_example(report_page, course, kmeans):
    html = report_page.read_text()
    assert "Submissions that could not run" in html and "s4" in html and "got km.py" in html
    stored = {p.stem: json.loads(p.read_text()) for p in report_page.parent.parent.glob("s*.json")}
    groups = failures(stored)
    assert [(n, ex) for _, n, ex in groups["assign_clusters"]] == [(2, "s2")]
    assert [(n, ex) for _, n, ex in groups["hidden_exact_ties"]] == [(1, "s3")]
    assert "is wrong at index N: expected N, got N" in groups["hidden_exact_ties"][0][0]  # the real message
    assert "s4" not in {ex for g in groups.values() for _, _, ex in g}
    rows = list(csv.DictReader(open(report_page.parent.parent / "gradebook.csv")))
    assert [r["total"] for r in rows] == ["16.0", "14.0", "13.0", "0.0", "14.0"]


@pytest.mark.slow
def test_report_opens_from_disk_in_headless_chromium_with_every_plot_shown(report_page, tmp_path):
    shot = tmp_path / "report.png"
    page = render(report_page, shot)
    assert page["errors"] == [] and page["title"].endswith("class report")
    assert {i["src"] for i in page["images"]} == {"scores.png", "pass_rate.png"}
    assert all(i["complete"] and i["width"] > 0 for i in page["images"])
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    # The check can fail: the same page without one of its plots is caught.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.html").write_text(report_page.read_text())
    (broken / "scores.png").write_bytes((report_page.parent / "scores.png").read_bytes())
    page = render(broken / "index.html", tmp_path / "broken.png")
    assert any("pass_rate.png" in e for e in page["errors"])
    assert [i["width"] for i in page["images"] if i["src"] == "pass_rate.png"] == [0]
    assert not re.search(r"https?://", report_page.read_text())  # nothing to fetch from the network


def test_dask_is_imported_only_when_a_cluster_is_asked_for():
    import subprocess
    import sys

    code = ("import sys, autograder.cli, autograder.grading; autograder.cli._parser().parse_args(['grade-all', 'k', "
            "'d']); print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
