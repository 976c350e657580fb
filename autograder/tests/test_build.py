"""`course build`: what each zip installs, and that its scripts use only files the zip contains."""
from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

from autograder.build import public_test_files
from autograder.config import REPO_ROOT, load_course
from autograder.pins import autograder_requirements, canonical, handout_requirements, pinned, read_pins

COURSE = load_course()
ASSIGNMENTS = [a.id for a in COURSE.assignments]
# Imports a handout may leave out: opt-in paths the notebook does not take by default.
OPTIONAL = {"cvae": {"torchvision"}}  # cvae_lab.load_mnist("torchvision"): the full MNIST, online
GRADING_MODULES = ["runner.py", "otter_plugin.py", "config.py", "errors.py", "fallback.py", "sandbox"]


def names_in(zip_path: Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as zf:
        return set(zf.namelist())


def requirement_names(text: str) -> set[str]:
    return {canonical(re.split(r"[\[=<>!~ ]", line, maxsplit=1)[0])
            for line in text.splitlines() if line.strip() and not line.startswith("#")}


# --- what each assignment declares -------------------------------------------------------------

def _imports(source: str, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(source)
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _source(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text()
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return "\n".join(line for cell in code for line in cell.splitlines() if not line.lstrip().startswith(("%", "!")))


COURSE_DISTRIBUTION = "unsupervised-course"  # pyproject's name of this package


def distributions(paths: list[Path], top_level_only: bool = False) -> set[str]:
    """Third-party distributions the files import (stdlib and the course's own modules left out)."""
    owners = packages_distributions()
    found = set()
    for path in paths:
        for module in _imports(_source(path), top_level_only):
            if module in sys.stdlib_module_names or module not in owners:
                continue  # the standard library, or one of the course's modules (helpers, labkit, …)
            if set(owners[module]) == {COURSE_DISTRIBUTION}:
                continue  # the grader's own package: imported by the tests only under the grader
            found |= {canonical(d) for d in owners[module]}
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_requirements_cover_every_import_of_the_shipped_files(assignment):
    a = COURSE.get(assignment)
    handout_files = [a.solution_path, a.lab_path, REPO_ROOT / "assignments" / "labkit.py", a.notebook_path,
                     *public_test_files(a)]
    grader_files = [a.solution_path, *public_test_files(a), *sorted(a.hidden_dir.rglob("*.py"))]
    package = [p for name in GRADING_MODULES for p in sorted((REPO_ROOT / "autograder").glob(f"{name}*"))
               for p in ([p] if p.is_file() else sorted(p.glob("*.py")))]
    handout = requirement_names("\n".join(handout_requirements(COURSE, a)))
    grader = requirement_names("\n".join(autograder_requirements(COURSE, a)))
    missing_handout = distributions(handout_files) - handout - OPTIONAL.get(assignment, set())
    missing_grader = (distributions(grader_files) | distributions(package, top_level_only=True)) - grader
    assert not missing_handout, f"{assignment}: the handout imports {missing_handout} but does not install them"
    assert not missing_grader, f"{assignment}: the autograder imports {missing_grader} but does not install them"


@pytest.mark.parametrize("assignment", ["kmeans", "gmm", "pca", "ica"])
def test_numpy_assignments_install_no_torch(assignment):
    a = COURSE.get(assignment)
    for lines in (autograder_requirements(COURSE, a), handout_requirements(COURSE, a)):
        assert not requirement_names("\n".join(lines)) & {"torch", "torchvision"}, lines


def test_cvae_installs_torch_pinned_and_no_torchvision():
    a = COURSE.get("cvae")
    pins = read_pins()
    for lines in (autograder_requirements(COURSE, a), handout_requirements(COURSE, a)):
        assert pins["torch"] in lines and not any(line.startswith("torchvision") for line in lines), lines


def test_every_line_comes_pinned_from_requirements_txt():
    pins = read_pins()
    for a in COURSE.assignments:
        for line in autograder_requirements(COURSE, a) + handout_requirements(COURSE, a):
            assert line in pins.values() and "==" in line, line


@pytest.mark.parametrize("line, expected", [
    (None, "course.yml: assignments[kmeans].requirements: 'nosuchpackage' is not in requirements.txt"),
    ("nosuchpackage", "course.yml: assignments[kmeans].requirements: 'nosuchpackage' has no pin in requirements.txt"),
    ("nosuchpackage>=1", "course.yml: assignments[kmeans].requirements: 'nosuchpackage' has no pin in requirements.txt"),
])
def test_an_unknown_or_unpinned_requirement_is_one_line(line, expected):
    from autograder.errors import CourseError

    pins = {**read_pins(), **({"nosuchpackage": line} if line else {})}
    with pytest.raises(CourseError) as err:
        pinned(["numpy", "nosuchpackage"], pins, "assignments[kmeans].requirements")
    assert str(err.value).startswith(expected) and "\n" not in str(err.value), str(err.value)


@pytest.mark.parametrize("where, value, expected", [
    ("assignment", ["numpy==2.4.6"], "assignments[kmeans].requirements: 'numpy==2.4.6' is not a distribution name"),
    ("assignment", ["numpy", "NumPy"], "assignments[kmeans].requirements: 'NumPy' is listed twice"),
    ("defaults", ["otter-grader[grading]"], "defaults.requirements: 'otter-grader[grading]' is not a distribution"),
    ("defaults", "numpy", "defaults.requirements: Input should be a valid list"),
])
def test_a_malformed_requirements_list_is_one_line_naming_the_field(where, value, expected):
    from autograder.config import COURSE_FILE, parse_course
    from autograder.errors import CourseError

    data = yaml.safe_load(COURSE_FILE.read_text())
    (data["assignments"][0] if where == "assignment" else data["defaults"])["requirements"] = value
    with pytest.raises(CourseError) as err:
        parse_course(yaml.safe_dump(data))
    assert str(err.value).startswith(f"course.yml: {expected}"), str(err.value)


def test_course_build_with_an_unknown_requirement_exits_2_with_one_line(course_cli, tmp_path):
    text = (REPO_ROOT / "course.yml").read_text().replace(
        "requirements: [numpy, scikit-learn, matplotlib]", "requirements: [numpy, scikit-lern, matplotlib]")
    assert "scikit-lern" in text
    (tmp_path / "course.yml").write_text(text)
    proc = course_cli("--course", str(tmp_path / "course.yml"), "build", "kmeans", "--out", str(tmp_path / "dist"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("course: course.yml: assignments[kmeans].requirements: "
                                   "'scikit-lern' is not in requirements.txt"), proc.stderr


# --- what the built zips contain --------------------------------------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_both_zips_carry_the_assignments_pins_only(built, assignment):
    a = COURSE.get(assignment)
    with zipfile.ZipFile(built / assignment / f"{assignment}-autograder.zip") as zf:
        grader = zf.read("requirements.txt").decode()
    with zipfile.ZipFile(built / assignment / f"{assignment}-student.zip") as zf:
        handout = zf.read(f"{assignment}/requirements.txt").decode()
    assert [ln for ln in grader.splitlines() if not ln.startswith("#")] == autograder_requirements(COURSE, a)
    assert [ln for ln in handout.splitlines() if not ln.startswith("#")] == handout_requirements(COURSE, a)
    assert {"notebook", "ipywidgets", "pytest", "hypothesis"} <= requirement_names(handout)
    assert not requirement_names(handout) & {"otter-grader", "pydantic"}, "grading-only packages in the handout"


def _referenced_paths(script: str, root: str = "/autograder/source/") -> set[str]:
    """Paths under the unpacked zip that a rendered script names, and modules it runs with ``-m``."""
    paths = {m.rstrip("/") for m in re.findall(re.escape(root) + r"([^\s\"'$;)]+)", script)}
    modules = {"files/course/" + m.replace(".", "/") + ".py" for m in re.findall(r"-m (autograder[\w.]*)", script)}
    return paths | modules


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_path_the_zips_scripts_use_is_inside_the_zip(built, assignment):
    names = names_in(built / assignment / f"{assignment}-autograder.zip")
    folders = {n.rsplit("/", i)[0] for n in names for i in range(1, n.count("/") + 1)}
    with zipfile.ZipFile(built / assignment / f"{assignment}-autograder.zip") as zf:
        scripts = {name: zf.read(name).decode() for name in ("setup.sh", "run_autograder")}
    referenced = set()
    for name, text in scripts.items():
        assert "{{" not in text and "{%" not in text, f"{name} was not fully rendered"
        referenced |= _referenced_paths(text)
    missing = sorted(p for p in referenced if p not in names and p not in folders)
    assert not missing, f"{assignment}: setup.sh/run_autograder use {missing}, which the zip does not contain"
    assert {"requirements.txt", "run_otter.py", "files/course", "files/course/autograder/fallback.py"} <= referenced


def test_the_reference_parser_finds_a_missing_file():
    script = "pip install -r /autograder/source/requirements.txt\npython -m autograder.fallback --x 1\n"
    assert _referenced_paths(script) == {"requirements.txt", "files/course/autograder/fallback.py"}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_handout_unpacks_to_one_folder_that_its_readme_enters(built, assignment):
    names = names_in(built / assignment / f"{assignment}-student.zip")
    assert all(n.startswith(f"{assignment}/") for n in names)
    with zipfile.ZipFile(built / assignment / f"{assignment}-student.zip") as zf:
        readme = zf.read(f"{assignment}/README.md").decode()
    commands = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    assert [c.split("#")[0].strip() for c in commands] == [
        f"cd {assignment}", "pip install -r requirements.txt", "pytest", f"jupyter notebook {assignment}.ipynb"]
    for needed in (f"{assignment}/requirements.txt", f"{assignment}/pytest.ini", f"{assignment}/{assignment}.ipynb"):
        assert needed in names
    assert ("--index-url https://download.pytorch.org/whl/cpu" in readme) == (assignment == "cvae")
