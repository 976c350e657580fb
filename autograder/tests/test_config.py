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


SELECT_CASES = {
    "class typo": ("kmeans", 2, ["test_kmeans.py::TestKmeansLos"],
                   "assignments[kmeans].tests[kmeans_loss].select: no test TestKmeansLos in tests/kmeans/test_kmeans.py"),
    "function typo": ("kmeans", 0, ["test_kmeans.py::TestAssignClusters::test_nothing"],
                      "select: no test test_nothing in tests/kmeans/test_kmeans.py::TestAssignClusters"),
    "missing file": ("gmm", 0, ["test_gmn.py::TestLogGaussianPdf"], "select: no file tests/gmm/test_gmn.py"),
    "hidden folder": ("kmeans", 5, ["test_kmeans.py::TestFarInit"],
                      "tests[hidden_far_init].select: no file autograder/kmeans/hidden/test_kmeans.py"),
    "public test named in a hidden line": ("kmeans", 5, ["test_hidden_kmeans.py::TestAssignClusters"],
                                           "no test TestAssignClusters in autograder/kmeans/hidden/test_hidden_kmeans.py"),
}


@pytest.mark.parametrize("case", sorted(SELECT_CASES))
def test_a_select_that_names_no_test_is_an_error_at_load(case):
    from autograder.config import REPO_ROOT

    aid, index, select, expected = SELECT_CASES[case]
    text = mutated(lambda d: _set(d, select, "assignments", [a["id"] for a in d["assignments"]].index(aid), "tests", index, "select"))
    parse_course(text)  # without a root (no test folders to look in), only the schema is checked
    with pytest.raises(CourseError) as err:
        parse_course(text, source="course.yml", root=REPO_ROOT)
    assert str(err.value) == f"course.yml: {expected}" or str(err.value).endswith(expected), str(err.value)
    assert "\n" not in str(err.value)


def test_every_kind_of_node_id_that_exists_is_accepted(tmp_path):
    from autograder.selects import select_problem

    folder = tmp_path / "tests" / "x"
    folder.mkdir(parents=True)
    (folder / "test_x.py").write_text(
        "import pytest\n\nclass Base:\n    def test_inherited(self):\n        pass\n\n"
        "class TestA(Base):\n    def test_one(self):\n        pass\n\n"
        "    @pytest.mark.parametrize('n', [1, 2])\n    def test_par(self, n):\n        pass\n\n"
        "def test_top():\n    pass\n")
    for node in ["test_x.py", "test_x.py::TestA", "test_x.py::TestA::test_one", "test_x.py::TestA::test_inherited",
                 "test_x.py::TestA::test_par[2]", "test_x.py::test_top"]:
        assert select_problem(tmp_path, "x", "public", node) is None, node
    assert select_problem(tmp_path, "x", "public", "test_x.py::TestA::test_par[3]") == \
        "no parametrisation [3] of test_par in tests/x/test_x.py"
    assert select_problem(tmp_path, "x", "public", "test_x.py::test_tpo") == "no test test_tpo in tests/x/test_x.py"


def test_build_check_and_grade_refuse_a_select_typo_in_one_line(course_cli, tmp_path):
    import shutil

    from autograder.config import REPO_ROOT

    root = tmp_path / "repo"
    root.mkdir()
    (root / "course.yml").write_text(mutated(lambda d: _set(d, ["test_kmeans.py::TestKmeansLos"], "assignments", 0, "tests", 2, "select")))
    shutil.copytree(REPO_ROOT / "tests" / "kmeans", root / "tests" / "kmeans")
    expected = "course: course.yml: assignments[kmeans].tests[kmeans_loss].select: no test TestKmeansLos in tests/kmeans/test_kmeans.py\n"
    for args in (["build", "kmeans", "--out", str(tmp_path / "dist")], ["check", "kmeans"], ["grade", "kmeans", "x.py"]):
        proc = course_cli("--course", str(root / "course.yml"), *args, timeout=60)
        assert (proc.returncode, proc.stderr) == (2, expected), args
    assert not (tmp_path / "dist").exists()
