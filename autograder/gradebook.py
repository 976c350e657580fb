"""Stored results → gradebook: staleness of a stored result, CSV rows, the `note` column.

A stored results.json carries, in Gradescope's free ``extra_data``, the fingerprint of the
autograder zip and of the submission it was graded from, so `grade-all` regrades exactly
what is stale.
"""
from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from .config import Assignment
from .export import Entry

STAMP = "course"  # key in results.json's top-level extra_data
NEW, AUTOGRADER, SUBMISSION, FAILED, UNREADABLE = (
    "new", "autograder changed", "submission changed", "failed last time", "stored result unreadable")


def stamp(results: dict, autograder: str | None, submission: str, failed: bool = False) -> dict:
    """``results`` with what it was graded from recorded in ``extra_data``."""
    extra = dict(results.get("extra_data") or {})
    extra[STAMP] = {"autograder": autograder, "submission": submission, "failed": failed}
    return {**results, "extra_data": extra}


def load(path: Path) -> dict | None:
    """A stored results.json, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def stale_reason(path: Path, autograder: str | None, submission: str) -> str | None:
    """Why the result stored at ``path`` must be regraded, or None when it is up to date."""
    if not path.is_file():
        return NEW
    stored = load(path)
    if stored is None:
        return UNREADABLE
    record = (stored.get("extra_data") or {}).get(STAMP) or {}
    if record.get("autograder") != autograder:
        return AUTOGRADER
    if record.get("submission") != submission:
        return SUBMISSION
    if record.get("failed"):
        return FAILED
    return None


def graded_lines(results: dict) -> list[dict]:
    """The entries of results.json that are lines of course.yml (not the details of hidden ones)."""
    return [t for t in results.get("tests", []) if "details_of" not in (t.get("extra_data") or {})]


def note(results: dict, a: Assignment) -> str:
    """One line: why lines scored 0 other than by a wrong answer (empty when none did)."""
    names = [t.name for t in a.tests]
    lines = [t for t in graded_lines(results) if t.get("name") in names]
    if not lines:  # no per-line result at all: the grading itself failed
        return " ".join(str(results.get("output", "")).split())[:200]
    reasons: dict[str, list[str]] = {}
    for t in lines:
        reason = (t.get("extra_data") or {}).get("reason")
        if reason and not t.get("score"):
            reasons.setdefault(reason, []).append(t["name"])
    parts = [reason if len(which) == len(names) else f"{reason} ({', '.join(which)})"
             for reason, which in reasons.items()]
    return "; ".join(parts)


def row(entry: Entry, results: dict, a: Assignment) -> dict:
    """The gradebook row of one submission."""
    scores = {t.get("name"): t.get("score", 0.0) for t in graded_lines(results)}
    return {"submission": entry.id, "names": entry.column("name"), "emails": entry.column("email"),
            "sids": entry.column("sid"), "total": results.get("score", 0.0),
            **{t.name: scores.get(t.name, 0.0) for t in a.tests}, "note": note(results, a)}


def columns(a: Assignment) -> list[str]:
    return ["submission", "names", "emails", "sids", "total", *[t.name for t in a.tests], "note"]


def write_csv(path: Path, rows: list[dict], a: Assignment) -> None:
    """The gradebook: one row per submission, in the order given."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns(a))
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def stale_summary(reasons: dict[str, str]) -> str:
    """``"2 new, 1 autograder changed"`` from the stale reason of each regraded submission."""
    counts = Counter(reasons.values())
    return ", ".join(f"{n} {why}" for why, n in counts.most_common())
