"""Generate a student stub from its reference solution (one source of truth).

A solution marks what students write with a block::

    # BEGIN SOLUTION: one-line hint shown to the student
    ...reference code...
    # END SOLUTION

The stub keeps everything else (signatures, docstrings, imports) and replaces
each block with ``# TODO: <hint>`` and ``raise NotImplementedError``.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import CourseError

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?::\s*(?P<hint>.*))?$")
_END = re.compile(r"^[ \t]*# END SOLUTION\s*$")
HEADER = "# Student version: fill in every TODO, keep the names and signatures.\n"


def make_stub(solution: str, source: str = "solution") -> str:
    """Return the stub text for a solution text.

    Parameters
    ----------
    solution : str
        Source of the reference solution with ``# BEGIN/END SOLUTION`` blocks.
    source : str
        Name used in error messages.

    Returns
    -------
    str
        The student stub.
    """
    out: list[str] = [HEADER]
    inside = False
    blocks = 0
    for lineno, line in enumerate(solution.splitlines(keepends=True), 1):
        begin = _BEGIN.match(line.rstrip("\n"))
        if begin:
            if inside:
                raise CourseError(f"{source}:{lineno}: BEGIN SOLUTION inside another block")
            inside, blocks = True, blocks + 1
            indent, hint = begin["indent"], (begin["hint"] or "your code here").strip()
            out.append(f"{indent}# TODO: {hint}\n")
            out.append(f"{indent}raise NotImplementedError(\"TODO: {_escape(hint)}\")\n")
        elif _END.match(line.rstrip("\n")):
            if not inside:
                raise CourseError(f"{source}:{lineno}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise CourseError(f"{source}: BEGIN SOLUTION block is never closed")
    if blocks == 0:
        raise CourseError(f"{source}: no '# BEGIN SOLUTION' block found")
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def stub_for(solution_path: Path) -> str:
    """Read a solution file and return its generated stub."""
    if not solution_path.is_file():
        raise CourseError(f"{solution_path}: solution file not found")
    return make_stub(solution_path.read_text(encoding="utf-8"), source=str(solution_path.name))


def stub_in_sync(solution_path: Path, stub_path: Path) -> bool:
    """True when the committed stub equals the one generated from the solution."""
    return stub_path.is_file() and stub_path.read_text(encoding="utf-8") == stub_for(solution_path)
