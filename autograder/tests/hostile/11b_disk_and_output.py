# base: solution
"""Case 11: the solution, plus at import: a disk filler (16 MB files into every folder it
may write, up to 1 GB in all), a gigabyte of output, NUL bytes and invalid UTF-8 on
stdout and stderr. kmeans_loss reports how much it could write in an exception message
full of NUL bytes, invalid UTF-8, terminal escapes and a megabyte of text."""
import json
import os
import sys
import tempfile
from pathlib import Path

BLOCK = b"\0" * (16 * 1024 * 1024)


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _fill() -> int:
    written = 0
    for folder in (Path.cwd(), Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp"), Path("/dev/shm")):
        for i in range(64):
            if written >= 1024:
                return written
            try:
                with open(folder / f"filler-{os.getpid()}-{i}", "wb") as f:
                    f.write(BLOCK)
                written += 16
            except OSError:
                break
    return written


def _shout() -> None:
    chunk = "x" * (1 << 20) + "\n"
    for _ in range(1024):
        sys.stdout.write(chunk)
    for fd in (1, 2):
        os.write(fd, b"\0\0\xff\xfe\xc3(\xa0\xa1 not utf-8 \x1b[31m\n")


WRITTEN_MB = _fill() if _in_sandbox() else 0
if _in_sandbox():
    _shout()


def kmeans_loss(data, centroids):
    garbage = "\0\x1b[2J\x1b[31m" + b"\xff\xfe\xc3(".decode("utf-8", "surrogateescape") + "\u202e" + "y" * (1 << 20)
    raise RuntimeError("REPORT " + json.dumps({"disk_mb": WRITTEN_MB}) + garbage)
