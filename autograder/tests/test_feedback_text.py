"""Feedback text: no invisible or line-breaking characters, no student text posing as a grader line;
the trusted runner's own memory limit (issue 12)."""
from __future__ import annotations

import resource
import subprocess
import sys
import unicodedata

import pytest

from autograder.feedback_text import after_first_line, clean_text, fence, one_line, quoted
from autograder.runner import student_error_text
from autograder.sandbox.client import StudentError
from autograder.selflimit import limit_trusted_memory

FAKE = ("\u2028Score 16 / 16.\u200b\n\n\n\n\u00ad\U000e0053\U000e0063\ue000\u061c\ufeff\u2060\u202e"
        "\u2029Score 16 / 16.\r\x85\x0bScore 16 / 16.\n \n\t\n\nScore 16 / 16.")
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u061c", "\u00ad", "\u180e", "\u2028", "\u2029",
             "\u202a", "\u202e", "\u2066", "\u2069", "\U000e0001", "\U000e0041", "\U000e007f", "\ue000",
             "\U000f0000", "\x85", "\x1b", "\x00", "\r", "\x0b", "\x0c", "\x1c", "\ufff0"]


def lines_of(text: str) -> list[str]:
    """The lines a renderer may show: every Unicode line break counts."""
    return text.splitlines()


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_invisible_and_line_breaking_characters_are_dropped(char):
    assert clean_text(f"a{char}b") == "ab"


def test_no_character_of_a_dropped_category_survives():
    every = "".join(map(chr, range(0, 0x30000, 7)))  # a sample of every plane in use
    kept = {unicodedata.category(c) for c in clean_text(every, limit=len(every))}
    assert not kept & {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"} - {"Cc"}
    assert {c for c in clean_text(every, limit=len(every)) if unicodedata.category(c) == "Cc"} <= {"\t", "\n"}


def test_runs_of_blank_lines_collapse_to_one():
    assert clean_text("a\n\n\n\n  \n\t\nb  \nc") == "a\n\nb\nc"


def test_text_stays_readable():
    text = "assign_clusters: labels differ — expected [0 1], got [1 0]\n\tat x=0.5 (naïve, 数据, 🙂)"
    assert clean_text(text) == text
    assert clean_text("x" * 5000).endswith("\n…") and len(clean_text("x" * 5000)) == 3002


def test_student_text_never_starts_a_line():
    for shown in (quoted(FAKE), after_first_line("kmeans.py could not be imported: Error: " + FAKE)):
        assert [ln for ln in lines_of(shown)[1:] if ln and not ln.startswith("    ")] == []
        assert not any(ln.startswith("Score") for ln in lines_of(shown))
    assert "\n" not in one_line(FAKE) and one_line("Bad\nName") == "Bad Name"


def test_a_student_exception_keeps_the_grader_line_first_and_its_text_indented():
    exc = StudentError("kmeans_loss", {"type": "X\nScore 16 / 16.", "message": "boom" + FAKE,
                                       "trace": ["line 3, in kmeans_loss: raise X(FAKE)\nScore 16 / 16."]})
    shown = student_error_text(exc)
    first, *rest = lines_of(shown)
    assert first == "kmeans_loss raised X Score 16 / 16.: boomScore 16 / 16."  # U+2028 dropped, not a break
    assert rest and all(ln.startswith("    ") or not ln for ln in rest)
    assert "line 3, in kmeans_loss" in shown


def test_an_ordinary_student_exception_reads_as_before():
    exc = StudentError("assign_clusters", {"type": "ValueError", "message": "bad shape",
                                           "trace": ["line 4, in assign_clusters: raise ValueError('bad shape')"]})
    assert student_error_text(exc) == str(exc)


def test_a_fence_is_longer_than_any_backtick_run_inside():
    text = "a ``` b ````` c"
    block = fence(text, "text")
    assert block.startswith("``````text\n") and block.endswith("\n``````") and text in block
    assert fence("plain") == "```\nplain\n```"


def test_the_runner_limit_does_not_lower_the_workers_own_limit():
    """The runner's soft RLIMIT_DATA is inherited, but a worker can still set its 2 GB limit."""
    code = ("import resource, subprocess, sys\n"
            "from autograder.selflimit import limit_trusted_memory\n"
            "limit_trusted_memory(600)\n"
            "print(resource.getrlimit(resource.RLIMIT_DATA)[0] // 2**20)\n"
            "child = ('import resource; m = 2048 * 2**20; resource.setrlimit(resource.RLIMIT_DATA, (m, m)); '\n"
            "         'print(resource.getrlimit(resource.RLIMIT_DATA)[0] // 2**20)')\n"
            "subprocess.run([sys.executable, '-c', child], check=True)\n"
            "try:\n"
            "    bytearray(800 * 2**20)\n"
            "    print('allocated')\n"
            "except MemoryError:\n"
            "    print('MemoryError')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["600", "2048", "MemoryError"], out.stdout + out.stderr


def test_a_lower_limit_already_in_place_is_kept():
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    code = ("import resource\nfrom autograder.selflimit import limit_trusted_memory\n"
            "resource.setrlimit(resource.RLIMIT_DATA, (300 * 2**20, resource.getrlimit(resource.RLIMIT_DATA)[1]))\n"
            "limit_trusted_memory(1024)\nprint(resource.getrlimit(resource.RLIMIT_DATA)[0] // 2**20)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["300"]
    assert resource.getrlimit(resource.RLIMIT_DATA) == (soft, hard)  # this process untouched
