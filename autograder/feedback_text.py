"""Text that reaches a student's feedback: cleaned, and student-originated parts set apart.

The grader's own lines (a test's name, its status, the score) start at the left margin;
whatever the submission wrote (exception messages, type names, its source lines) is cut,
cleaned and indented under a grader line, so no student text can pose as a status line
such as ``Score 16 / 16.``. Used by the runner (plain text) and by results writers
(markdown, through :func:`fence`).
"""
from __future__ import annotations

import re
import unicodedata

# Unicode categories that never belong in feedback: controls (Cc, but tab and newline),
# format characters (Cf: zero-width and bidirectional controls, U+FEFF, U+061C, soft hyphen,
# tag characters U+E0000-E007F), line and paragraph separators (Zl, Zp), surrogates (Cs),
# private use (Co) and unassigned code points (Cn).
_DROPPED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_KEPT = frozenset("\t\n")
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.M)
_BLANK_RUNS = re.compile(r"\n{3,}")
INDENT = "    "


def _printable(text: str) -> str:
    if text.isascii():
        return _ASCII_CONTROLS.sub("", text)
    return "".join(c for c in text if c in _KEPT or unicodedata.category(c) not in _DROPPED)


def clean_text(text: str, limit: int = 3000) -> str:
    """``text`` as safe feedback: valid UTF-8, at most ``limit`` characters, only ``\\n`` breaks lines.

    Drops controls (but tab and newline), format, separator, private-use, surrogate and
    unassigned characters; removes trailing spaces and collapses runs of blank lines to one.
    """
    cut = len(text) > limit
    text = text[:limit].encode("utf-8", "replace").decode("utf-8")
    text = _BLANK_RUNS.sub("\n\n", _TRAILING_SPACE.sub("", _printable(text)))
    return text + "\n…" if cut else text


def one_line(text: str, limit: int = 200) -> str:
    """Student text for the middle of a grader line (a type name): cleaned, on one line."""
    return " ".join(clean_text(str(text), limit).split())


def quoted(text: str, limit: int = 3000) -> str:
    """Student text shown under a grader line: cleaned, every line indented."""
    return "\n".join(INDENT + line if line else "" for line in clean_text(str(text), limit).split("\n"))


def after_first_line(text: str, limit: int = 3000) -> str:
    """A grader line that ends in student text (``x could not be imported: <message>``):
    its first line kept, the lines that follow indented."""
    first, _, rest = clean_text(str(text), limit).partition("\n")
    return first + ("\n" + quoted(rest) if rest.strip() else "")


def fence(text: str, info: str = "") -> str:
    """``text`` as a markdown code block whose fence is longer than any run of backticks in it."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    bar = "`" * max(3, longest + 1)
    return f"{bar}{info}\n{text}\n{bar}"
