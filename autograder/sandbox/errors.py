"""How a call into the submission can fail, as the tests see it."""
from __future__ import annotations


class GradingAbort(BaseException):
    """Ends the current test at once (timeout, crash, import failure, missing name).

    A BaseException so that hypothesis does not retry or shrink on it.
    """


class TimeLimit(GradingAbort):
    """The submission did not answer within the test's time limit (its process was killed)."""


class StudentError(Exception):
    """The submission raised an exception; carries its type, message and student frames."""

    def __init__(self, where: str, info: dict):
        self.type_name = str(info.get("type", "Exception"))
        self.detail = str(info.get("message", ""))
        self.trace = [str(t) for t in info.get("trace", [])]
        lines = [f"{where} raised {self.type_name}: {self.detail}".rstrip(": ")]
        lines += [f"    {t}" for t in self.trace]
        super().__init__("\n".join(lines))
