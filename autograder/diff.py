"""`course diff OLD.csv NEW.csv`: what a regrade changed, per student and in summary."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .errors import CourseError

_INFO = ("submission", "names", "emails", "sids", "total", "note")


@dataclass(frozen=True)
class Change:
    """One submission whose score or lines differ between two gradebooks."""

    submission: str
    names: str
    old: float | None  # None: not in the old gradebook
    new: float | None  # None: not in the new gradebook
    lines: tuple[tuple[str, float | None, float | None], ...]  # (line, old, new) that differ


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    """Rows of a gradebook CSV keyed by submission id."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise CourseError(f"{path}: cannot read ({exc.strerror})") from None
    if rows and not {"submission", "total"} <= set(rows[0]):
        raise CourseError(f"{path}: not a gradebook CSV (needs 'submission' and 'total' columns)")
    return {r["submission"]: r for r in rows}


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def diff_gradebooks(old: dict[str, dict], new: dict[str, dict]) -> list[Change]:
    """Every submission whose total or any graded line changed, was added or was removed."""
    changes = []
    for sub in sorted(old.keys() | new.keys()):
        a, b = old.get(sub), new.get(sub)
        lines = sorted((set(a or {}) | set(b or {})) - set(_INFO))
        moved = tuple((ln, _number((a or {}).get(ln)), _number((b or {}).get(ln))) for ln in lines
                      if _number((a or {}).get(ln)) != _number((b or {}).get(ln)))
        before, after = _number(a["total"]) if a else None, _number(b["total"]) if b else None
        if moved or before != after or a is None or b is None:
            changes.append(Change(sub, (b or a).get("names", ""), before, after, moved))
    return changes


def _pts(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def render_diff(changes: list[Change]) -> str:
    """The changes as text: one block per submission, then a summary line."""
    out = []
    for c in changes:
        who = f"{c.submission} ({c.names})" if c.names else c.submission
        delta = f" ({c.new - c.old:+g})" if c.old is not None and c.new is not None else ""
        state = " [new]" if c.old is None else " [removed]" if c.new is None else ""
        out.append(f"{who}: {_pts(c.old)} -> {_pts(c.new)}{delta}{state}")
        out += [f"    {line}: {_pts(o)} -> {_pts(n)}" for line, o, n in c.lines]
    both = [c for c in changes if c.old is not None and c.new is not None]
    up = [c.new - c.old for c in both if c.new > c.old]
    down = [c.old - c.new for c in both if c.new < c.old]
    summary = [f"{len(up)} up" + (f" (by {sum(up):g} points in all, at most {max(up):g})" if up else ""),
               f"{len(down)} down" + (f" (by {sum(down):g} points in all, at most {max(down):g})" if down else ""),
               f"{len(both) - len(up) - len(down)} with changed lines but the same total"]
    added = sum(c.old is None for c in changes)
    removed = sum(c.new is None for c in changes)
    if added or removed:
        summary.append(f"{added} new, {removed} removed")
    out.append(("" if not changes else "\n") + "summary: " + ("no changes" if not changes else "; ".join(summary)))
    return "\n".join(out)
