"""course.yml validation: every malformed file gives one line naming the file and the field."""
from __future__ import annotations

import pytest
import yaml

from autograder.config import COURSE_FILE, parse_course
from autograder.errors import CourseError

GOOD = yaml.safe_load(COURSE_FILE.read_text())


def mutated(edit) -> str:
    data = yaml.safe_load(COURSE_FILE.read_text())
    edit(data)
    return yaml.safe_dump(data)


def _del(d, *path):
    for key in path[:-1]:
        d = d[key]
    del d[path[-1]]


def _set(d, value, *path):
    for key in path[:-1]:
        d = d[key]
    d[path[-1]] = value


CASES = {
    "missing field": (lambda d: _del(d, "assignments", 0, "submission"), "assignments[kmeans].submission: Field required"),
    "wrong type": (lambda d: _set(d, "lots", "assignments", 0, "tests", 0, "points"), "assignments[kmeans].tests[assign_clusters].points"),
    "negative points": (lambda d: _set(d, -1, "assignments", 0, "tests", 0, "points"), "greater than or equal to 0"),
    "duplicate id": (lambda d: d["assignments"].append(dict(d["assignments"][0])), "duplicate assignment id 'kmeans'"),
    "bad visibility": (lambda d: _set(d, "secret", "assignments", 0, "tests", 0, "visibility"), "visibility"),
    "unknown field": (lambda d: _set(d, 3, "assignments", 0, "colour"), "assignments[kmeans].colour: Extra inputs are not permitted"),
    "duplicate test": (lambda d: d["assignments"][0]["tests"].append(dict(d["assignments"][0]["tests"][0])), "duplicate test name 'assign_clusters'"),
    "no assignments": (lambda d: _set(d, [], "assignments"), "assignments"),
}


def test_the_committed_course_yml_is_valid():
    course = parse_course(COURSE_FILE.read_text())
    assert course.get("kmeans").total_points > 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_course_yml_gives_one_line_naming_file_and_field(case):
    edit, expected = CASES[case]
    with pytest.raises(CourseError) as err:
        parse_course(mutated(edit), source="course.yml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("course.yml: ")
    assert expected in message, message


def test_invalid_yaml_names_the_line():
    with pytest.raises(CourseError, match=r"course.yml: line 3 is not valid YAML"):
        parse_course("title: x\nassignments: [\n  - : :\n")


def test_unknown_assignment_lists_the_known_ones(course):
    with pytest.raises(CourseError, match="unknown assignment 'nope' .*kmeans"):
        course.get("nope")


@pytest.mark.parametrize("args, expected", [
    (["grade", "nope", "x.py"], "course: unknown assignment 'nope'"),
    (["grade", "kmeans", "/no/such/file.py"], "course: /no/such/file.py: submission not found"),
    (["--course", "/no/course.yml", "check"], "course: /no/course.yml: file not found"),
])
def test_cli_errors_are_one_line_without_traceback(course_cli, args, expected):
    proc = course_cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip() == proc.stderr.strip().splitlines()[0]
    assert proc.stderr.startswith(expected), proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_reports_a_malformed_course_file(course_cli, tmp_path):
    bad = tmp_path / "course.yml"
    bad.write_text(mutated(lambda d: _set(d, -2, "assignments", 0, "tests", 1, "points")))
    proc = course_cli("--course", str(bad), "check")
    assert proc.returncode == 2
    assert proc.stderr.startswith("course: course.yml: assignments[kmeans].tests[update_centroids].points"), proc.stderr
