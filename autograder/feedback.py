"""What a student reads on Gradescope: Markdown feedback, the cause of a zero, the score in words.

Pure functions of the trusted runner's report entries (no grading happens here), shared by
:func:`autograder.otter_plugin.gradescope_results` and the gradebook.
"""
from __future__ import annotations

import re

# Characters Markdown would turn into formatting in a plain sentence (file names such as
# kmeans_mine.py, ``*args``, <angle brackets>).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")
_BACKTICKS = re.compile(r"`+")

# Causes of a zero other than a wrong answer, as the gradebook's `note` names them.
WRONG_FILE, EMPTY, NO_IMPORT, NOT_IMPLEMENTED, TIMED_OUT, GRADER = (
    "wrong file name", "empty file", "did not import", "not implemented", "timed out", "grader error")


def md_text(text: str) -> str:
    """``text`` as literal Markdown: formatting characters escaped, line breaks kept."""
    return "  \n".join(_MD_SPECIAL.sub(r"\\\1", line) for line in text.splitlines())


def fence(text: str, info: str = "text") -> str:
    """``text`` in a fenced code block whose fence no backtick run inside it can close."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    bar = "`" * max(3, longest + 1)
    return f"{bar}{info}\n{text.rstrip()}\n{bar}"


def md_message(message: str) -> str:
    """A failure message as Markdown: its first line (test: property) as text, the rest
    (counterexample, expected vs actual) verbatim in a code block."""
    lines = message.strip().splitlines()
    if not lines:
        return ""
    head, body = lines[0], "\n".join(lines[1:]).strip("\n")
    named = re.match(r"^(\w+): (.*)$", head)  # "test_name: the property" (runner.describe_failure)
    head = f"`{named[1]}`: {md_text(named[2])}" if named else md_text(head)
    return head + ("\n\n" + fence(body) if body.strip() else "")


def cause_of(entry: dict, problem: str | None = None) -> str | None:
    """Why a report entry scored 0 when it is not a wrong answer (None: passed or wrong answer)."""
    if entry.get("passed") and not problem:
        return None
    text = problem or entry.get("message", "")
    if problem:
        if "Submit a file named" in text or "not a notebook" in text:
            return WRONG_FILE
        if "is empty" in text:
            return EMPTY
        if "cannot be imported" in text or "not Python source" in text:
            return NO_IMPORT
        if "took longer than" in text:
            return TIMED_OUT
        return GRADER
    if entry.get("public_reason"):
        return NO_IMPORT
    if "NotImplementedError" in text:
        return NOT_IMPLEMENTED
    if "time limit" in text:
        return TIMED_OUT
    if not entry.get("checks") and ("no test ran" in text or "could not collect" in text):
        return GRADER
    return None


def reason_line(message: str, cause: str) -> str:
    """The gradebook's words for a zero of ``cause``: the cause itself where it says all
    (not implemented, timed out), else the one line of ``message`` that explains it."""
    if cause in (NOT_IMPLEMENTED, TIMED_OUT):
        return cause
    line = next((ln for ln in message.splitlines() if "import" in ln), message) if cause == NO_IMPORT else message
    return re.sub(r":? 0 points\.?$", "", one_line(line))


def one_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, at most ``limit`` characters."""
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return first if len(first) <= limit else first[: limit - 1] + "…"


def score_words(tests: list[dict]) -> str:
    """The top-level sentence: points on visible and hidden lines, and the total."""
    def points(kind: str) -> tuple[float, float]:
        mine = [t for t in tests if t["visibility"] == kind]
        return sum(t["score"] for t in mine), sum(t["max_score"] for t in mine)

    (vs, vm), (hs, hm) = points("public"), points("hidden")
    parts = [f"You scored **{vs + hs:g} of {vm + hm:g}** points."]
    if vm:
        parts.append(f"Visible tests: {vs:g} of {vm:g} points.")
    if hm:
        parts.append(f"Hidden tests: {hs:g} of {hm:g} points (they check the same specification on other "
                     "inputs; a failed one names only the function and the kind of case).")
    return "  \n".join(parts)
