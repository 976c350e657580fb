"""The bug catalogue: realistic one-mistake variants of each reference solution.

``autograder/<id>/bugs/bugs.yml`` lists edits (``find`` → ``replace``) on the
solution; a bug's submission is generated from the current solution, so the
catalogue never drifts from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config import Assignment
from .errors import CourseError


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    mistake: str
    find: str = Field(min_length=1)
    replace: str


@dataclass(frozen=True)
class Bug:
    """One catalogued mistake and the full submission text it produces."""

    name: str
    mistake: str
    source: str


def load_bugs(assignment: Assignment) -> list[Bug]:
    """Every bug of ``assignment``, materialised from its solution."""
    path = assignment.bugs_dir / "bugs.yml"
    if not path.is_file():
        return []
    try:
        entries = [_Entry.model_validate(e) for e in yaml.safe_load(path.read_text()) or []]
    except (yaml.YAMLError, ValidationError, TypeError) as exc:
        raise CourseError(f"{path}: invalid bug catalogue ({str(exc).splitlines()[0]})") from None
    solution = assignment.solution_path.read_text()
    bugs = []
    for e in entries:
        count = solution.count(e.find)
        if count != 1:
            raise CourseError(f"{path}: bug {e.name!r}: 'find' occurs {count} times in {assignment.solution_path.name} (needs exactly 1)")
        bugs.append(Bug(e.name, e.mistake, solution.replace(e.find, e.replace)))
    return bugs


def write_bugs(assignment: Assignment, out_dir: Path) -> list[Path]:
    """Write each bug as ``out_dir/<bug>/<submission file>``; return the paths."""
    paths = []
    for bug in load_bugs(assignment):
        path = Path(out_dir) / bug.name / assignment.submission
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(bug.source)
        paths.append(path)
    return paths
