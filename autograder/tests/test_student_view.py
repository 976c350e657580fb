"""What a student reads when the grader is killed, and what only the course staff see."""
from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import autograder.otter_plugin as otter_plugin
from autograder.build import course_yml_for
from autograder.config import load_course
from autograder.otter_plugin import CoursePlugin, gradescope_results
from autograder.sandbox.client import FULL_ISOLATION

COURSE = load_course()
KMEANS = COURSE.get("kmeans")


def report(isolation: str) -> dict:
    tests = [{"name": t.name, "visibility": t.visibility, "max_score": t.points, "score": t.points, "passed": True,
              "message": "", "public_reason": None, "checks": 1} for t in KMEANS.tests]
    return {"assignment": "kmeans", "score": KMEANS.total_points, "max_score": KMEANS.total_points,
            "tests": tests, "isolation": isolation}


def test_the_isolation_note_is_for_the_course_staff_only(capsys):
    results = gradescope_results(report("separate user, no network namespace"))
    visible = [results["output"]] + [t["output"] for t in results["tests"] if t["visibility"] != "hidden"]
    assert not any("could not fully isolate" in text for text in visible), visible
    staff = [t for t in results["tests"] if "could not fully isolate" in t["output"]]
    assert [(t["visibility"], t["score"], t["max_score"]) for t in staff] == [("hidden", 0.0, 0.0)]
    assert "separate user, no network namespace" in staff[0]["output"]
    assert results["score"] == KMEANS.total_points and results["stdout_visibility"] == "hidden"
    plugin = CoursePlugin("kmeans.py", {}, {"assignment": "kmeans"})
    plugin._report, plugin._problem, plugin._assignment = report("separate user, no network namespace"), None, KMEANS
    plugin.after_grading(types.SimpleNamespace(results={}))
    assert "could not fully isolate the submission (separate user, no network namespace)" in capsys.readouterr().out


def test_full_isolation_adds_no_entry():
    results = gradescope_results(report(FULL_ISOLATION))
    assert [t["name"] for t in results["tests"]] == [t.name for t in KMEANS.tests]


def test_a_killed_trusted_runner_gives_one_out_of_memory_line_on_every_test(tmp_path, monkeypatch):
    ag = tmp_path / "autograder"
    bundle = ag / "source" / "files" / "course"
    bundle.mkdir(parents=True)
    (bundle / "course.yml").write_text(course_yml_for(COURSE, KMEANS))
    (ag / "submission").mkdir()
    shutil.copy(KMEANS.solution_path, ag / "submission" / "kmeans.py")
    runner = tmp_path / "runner"  # stands in for `python -I -m autograder.runner …`: killed as by the OOM killer
    runner.write_text("#!/usr/bin/env bash\nkill -KILL $$\n")
    runner.chmod(0o755)
    monkeypatch.setattr(otter_plugin, "sys", types.SimpleNamespace(executable=str(runner)))
    monkeypatch.setenv(otter_plugin.REPORT_ENV, "")
    plugin = CoursePlugin(str(ag / "submission" / "kmeans.py"), {}, {"assignment": "kmeans"})
    plugin.before_grading(types.SimpleNamespace(autograder_dir=str(ag)))
    graded = types.SimpleNamespace(results={})
    plugin.after_grading(graded)
    results = graded.to_gradescope_dict()
    reason = results["output"]
    assert reason.startswith("The autograder ran out of memory (limit ") and reason.endswith(
        "; your course staff can raise it."), reason
    assert "\n" not in reason and "no report" not in json.dumps(results)
    assert [t["name"] for t in results["tests"]] == [t.name for t in KMEANS.tests]
    assert all(t["output"] == reason and t["score"] == 0 for t in results["tests"])
    assert results["score"] == 0
    assert Path(ag / "submission" / "kmeans.py").read_text() == "# graded in a sandbox\n"
