"""course.yml: the single definition of every assignment, its files, tests and points.

The schema is enforced with pydantic; any violation becomes a :class:`CourseError`
whose one-line message names the file and the offending field.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import CourseError

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_FILE = REPO_ROOT / "course.yml"
# pytest plugins of a grading or mutant run, loaded by name only: with autoload, pytest rewrites the
# asserts of every module of every plugin distribution (hypothesis, anyio: ~120 modules, ~1 s a run,
# never cached in a fresh container or under PYTHONDONTWRITEBYTECODE).
PYTEST_PLUGINS = ("--disable-plugin-autoload", "-p", "hypothesispytest", "-p", "no:cacheprovider")

_IDENT = r"^[a-z][a-z0-9_]*$"
# A distribution name as pip spells it (PEP 508); extras and pins come from requirements.txt.
_DISTRIBUTION = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")


def _distribution_names(value: list[str]) -> list[str]:
    """Check a ``requirements`` list: bare distribution names, each once."""
    seen: set[str] = set()
    for name in value:
        if not _DISTRIBUTION.match(name):
            raise ValueError(f"{name!r} is not a distribution name (write the bare name: its pin comes from "
                             "requirements.txt)")
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            raise ValueError(f"{name!r} is listed twice")
        seen.add(key)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TestSpec(_Strict):
    """One graded line of the gradebook: a group of pytest tests scored all-or-nothing."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    points: float = Field(ge=0)
    visibility: Literal["public", "hidden"]
    select: list[str] = Field(min_length=1)
    time_limit: float | None = Field(default=None, gt=0)
    # Shown when a hidden line fails: the function and the kind of case, never the inputs.
    summary: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^\n]*$")
    # For a hidden line: whether its real feedback is shown on Gradescope once the due date
    # has passed (``after_due_date``) or never (the default). Public lines always show it.
    reveal: Literal["never", "after_due_date"] | None = None

    @model_validator(mode="after")
    def _reveal_only_for_hidden(self) -> "TestSpec":
        if self.reveal is not None and self.visibility != "hidden":
            raise ValueError("reveal applies to hidden lines only (public feedback is always shown)")
        return self

    @field_validator("select")
    @classmethod
    def _relative_node_ids(cls, value: list[str]) -> list[str]:
        for node in value:
            if node.startswith("/") or ".." in node.split("::")[0]:
                raise ValueError(f"select entries are node ids relative to the test folder, got {node!r}")
        return value


class Defaults(_Strict):
    """Limits that apply where an assignment or test does not set its own."""

    time_limit: float = Field(default=60, gt=0)
    # What the rest of a grading may take once a call has timed out: bounds a submission that hangs everywhere.
    grading_time_limit: float = Field(default=180, gt=0)
    memory_limit_mb: int = Field(default=2048, ge=256)
    max_examples: int = Field(default=25, ge=1)
    requirements: list[str] = Field(default_factory=list)          # what every autograder installs
    student_requirements: list[str] = Field(default_factory=list)  # what every handout adds (pytest, notebook)
    torch_index: str = Field(default="https://download.pytorch.org/whl/cpu", pattern=r"^(https?|file)://\S+$")

    _names = field_validator("requirements", "student_requirements")(_distribution_names)


class Assignment(_Strict):
    """One assignment. File locations follow the layout convention from ``id``."""

    id: str = Field(pattern=_IDENT)
    title: str = Field(min_length=1)
    submission: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
    notebook: str
    data: list[str] = Field(default_factory=list)
    time_limit: float | None = Field(default=None, gt=0)
    memory_limit_mb: int | None = Field(default=None, ge=256)
    requirements: list[str] = Field(default_factory=list)  # distributions its code imports
    tests: list[TestSpec] = Field(min_length=1)

    _names = field_validator("requirements")(_distribution_names)

    @model_validator(mode="after")
    def _unique_test_names(self) -> "Assignment":
        names = [t.name for t in self.tests]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate test name {dup[0]!r}")
        return self

    # Layout convention: one place (here) maps an id to its files.
    @property
    def module(self) -> str:
        """Import name of the submission (``kmeans`` for ``kmeans.py``)."""
        return self.submission[:-3]

    @property
    def solution_path(self) -> Path:
        return REPO_ROOT / "solutions" / self.submission

    @property
    def stub_path(self) -> Path:
        return REPO_ROOT / "assignments" / self.submission

    @property
    def lab_path(self) -> Path:
        return REPO_ROOT / "assignments" / f"{self.id}_lab.py"

    @property
    def notebook_path(self) -> Path:
        return REPO_ROOT / self.notebook

    @property
    def public_dir(self) -> Path:
        return REPO_ROOT / "tests" / self.id

    @property
    def hidden_dir(self) -> Path:
        return REPO_ROOT / "autograder" / self.id / "hidden"

    @property
    def bugs_dir(self) -> Path:
        return REPO_ROOT / "autograder" / self.id / "bugs"

    @property
    def total_points(self) -> float:
        return sum(t.points for t in self.tests)


class Course(_Strict):
    """The whole course: defaults plus the assignments in teaching order."""

    title: str
    defaults: Defaults = Field(default_factory=Defaults)
    assignments: list[Assignment] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "Course":
        ids = [a.id for a in self.assignments]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate assignment id {dup[0]!r}")
        return self

    def get(self, assignment_id: str) -> Assignment:
        """Return the assignment called ``assignment_id`` or raise a CourseError listing the ids."""
        for a in self.assignments:
            if a.id == assignment_id:
                return a
        known = ", ".join(a.id for a in self.assignments)
        raise CourseError(f"unknown assignment {assignment_id!r} (course.yml defines: {known})")

    def select(self, ids: list[str] | None) -> list[Assignment]:
        """The named assignments, or all of them when ``ids`` is empty."""
        return [self.get(i) for i in ids] if ids else list(self.assignments)

    def time_limit(self, assignment: Assignment, test: TestSpec) -> float:
        return test.time_limit or assignment.time_limit or self.defaults.time_limit

    def memory_limit_mb(self, assignment: Assignment) -> int:
        return assignment.memory_limit_mb or self.defaults.memory_limit_mb


def _where(loc: tuple, data: object) -> str:
    """Render a pydantic error location as ``assignments[kmeans].tests[2].points``."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            label = str(key)
            if isinstance(node, list) and key < len(node) and isinstance(node[key], dict):
                label = str(node[key].get("id") or node[key].get("name") or key)
            if parts:
                parts[-1] += f"[{label}]"
            else:  # an index at the top level (course.yml is a list, not a mapping)
                parts.append(f"[{label}]")
        else:
            parts.append(str(key))
        try:
            node = node[key]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    return ".".join(parts) or "(top level)"


def _check_selects(course: Course, root: Path, source: str) -> None:
    """Every ``select`` node id names an existing test under ``root`` (see :mod:`autograder.selects`)."""
    from .selects import select_problem

    for a in course.assignments:
        for t in a.tests:
            for node in t.select:
                problem = select_problem(root, a.id, t.visibility, node)
                if problem:
                    raise CourseError(f"{source}: assignments[{a.id}].tests[{t.name}].select: {problem}")


def parse_course(text: str, source: str = "course.yml", root: Path | None = None) -> Course:
    """Parse and validate course.yml text.

    Parameters
    ----------
    text : str
        The YAML document.
    source : str
        File name used in error messages.
    root : Path, optional
        Folder holding the test folders (the repository or an autograder bundle); when
        given, every ``select`` node id must name a test there.

    Returns
    -------
    Course
        The validated course.

    Raises
    ------
    CourseError
        One line naming ``source`` and the first offending field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise CourseError(f"{source}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise CourseError(f"{source}: expected a mapping with 'title' and 'assignments' at the top level")
    try:
        course = Course.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = re.sub(r"^Value error, ", "", err["msg"])
        got = err.get("input")
        shown = "" if isinstance(got, (dict, list)) or err["type"] == "missing" else f" (got {got!r})"
        raise CourseError(f"{source}: {_where(err['loc'], data)}: {msg}{shown}") from None
    if root is not None:
        _check_selects(course, Path(root), source)
    return course


def load_course(path: Path | None = None) -> Course:
    """Load course.yml from ``path`` (default: the repository's course.yml).

    The test folders its ``select`` entries name are looked up beside it (the
    repository, or the root of an autograder bundle); a course.yml kept elsewhere
    (``course --course FILE``) describes the repository's files, so they are looked up there.
    """
    path = Path(path or COURSE_FILE)
    if not path.is_file():
        raise CourseError(f"{path}: file not found")
    beside = path.resolve().parent
    root = beside if (beside / "tests").is_dir() else REPO_ROOT
    return parse_course(path.read_text(encoding="utf-8"), source=path.name, root=root)
