"""The submissions `grade-all` reads: a plain folder of files, or Gradescope's export.

Gradescope's "Export Submissions" download holds one folder per submission
(``submission_<id>/``, the student's files as uploaded) and ``submission_metadata.yml``,
keyed by those folder names::

    submission_1001:
      :submitters:
      - :name: Ada Lovelace
        :sid: '1001'
        :email: ada@example.edu
      :created_at: 2026-11-30 21:14:03 -0800
      :score: 14.0

(Ruby symbol keys; a group submission lists every member.) Anything else in the folder
that is not hidden is one submission per entry, as before.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import CourseError

METADATA = "submission_metadata.yml"
_NOT_SUBMISSIONS = {METADATA, "submission_metadata.json"}


@dataclass(frozen=True)
class Submitter:
    """One member of a submission, as Gradescope exports them."""

    name: str = ""
    email: str = ""
    sid: str = ""


@dataclass(frozen=True)
class Entry:
    """One submission: its id (the folder or file name), where it lies, who submitted it."""

    id: str
    path: Path
    submitters: tuple[Submitter, ...] = field(default_factory=tuple)

    def column(self, attr: str) -> str:
        """Every member's ``attr`` joined for one CSV cell."""
        return "; ".join(getattr(s, attr) for s in self.submitters if getattr(s, attr))


def _field(item: dict, key: str) -> str:
    value = item.get(f":{key}", item.get(key))
    return "" if value is None else str(value)


def _submitters(value: object) -> tuple[Submitter, ...] | None:
    """The submitters of one metadata entry, or None when the entry has no usable list."""
    if not isinstance(value, dict):
        return None
    people = value.get(":submitters", value.get("submitters"))
    if not isinstance(people, list) or not all(isinstance(p, dict) for p in people):
        return None
    return tuple(Submitter(_field(p, "name"), _field(p, "email"), _field(p, "sid")) for p in people)


def read_metadata(folder: Path) -> tuple[dict[str, tuple[Submitter, ...]], list[str]]:
    """Submitters per submission id from ``folder/submission_metadata.yml``, and warnings.

    A malformed file or entry gives a one-line warning; its submissions are still graded.
    """
    path = folder / METADATA
    if not path.is_file():
        return {}, []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        return {}, [f"{METADATA}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}): no names for any row"]
    if not isinstance(data, dict):
        return {}, [f"{METADATA}: expected a mapping of submission ids: no names for any row"]
    found, warnings = {}, []
    for key, value in data.items():
        people = _submitters(value)
        if people is None:
            warnings.append(f"{METADATA}: {key}: no list of submitters: its row has no names")
        found[str(key)] = people or ()
    return found, warnings


def submissions_in(folder: Path) -> tuple[list[Entry], list[str]]:
    """One entry per submission in ``folder`` (sorted by id), and the metadata warnings."""
    if not folder.is_dir():
        raise CourseError(f"{folder}: not a folder of submissions")
    meta, warnings = read_metadata(folder)
    entries = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name in _NOT_SUBMISSIONS:
            continue
        if meta and path.name not in meta and path.is_dir():
            warnings.append(f"{METADATA}: no entry for {path.name}: its row has no names")
        entries.append(Entry(path.name, path, meta.get(path.name, ())))
    return entries, warnings


def files_of(path: Path) -> list[tuple[str, Path]]:
    """A submission's files as (name relative to the submission, path); a lone file by its name."""
    if path.is_file():
        return [(path.name, path)]
    return [(p.relative_to(path).as_posix(), p) for p in sorted(path.rglob("*")) if p.is_file()]


def content_hash(path: Path) -> str:
    """A fingerprint of a submission's files (names and bytes), to notice a changed upload."""
    digest = hashlib.sha256()
    for name, item in files_of(path):
        digest.update(name.encode() + b"\0" + hashlib.sha256(item.read_bytes()).digest())
    return digest.hexdigest()[:16]
