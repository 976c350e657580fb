"""A small root helper that forks the sweep's child as a sandbox uid, instead of the grader.

After every worker the sweep runs one child as the worker's uid: it sends ``kill(-1)`` and
clears the uid's keyrings (:mod:`sweep`). Forking the grader for it costs about 19 ms of CPU
(a 175 MB runner: 5–7 ms to copy its page tables, the rest to tear the copy down when the
child exits), every graded line, on Gradescope's one CPU too. This helper is a fresh
interpreter holding only the sweep module (about 10 MB), so each of its forks costs about
a millisecond. It runs the same two jobs, never student code; it holds no descriptor but
its socket, and it ends with the grader (``PR_SET_PDEATHSIG``) or when the socket closes.
Where it cannot serve, the sweep forks the grader as before.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Callable

from . import sweep
from .helper import Helper

# The jobs it runs, by name: each is a function of :mod:`sweep` that kills every process of the uid.
JOBS = {"kill_all": sweep._kill_all, "kill_all_and_clear_keys": sweep._kill_all_and_clear_keys}
_TIMEOUT_S = 10.0


class Sweeper(Helper):
    """The helper process of one sandbox (root only), started at once and used from its first sweep."""

    def __init__(self) -> None:
        root, parent = str(Path(__file__).resolve().parent.parent.parent), os.getpid()  # root: holds autograder/

        def command(fd: int) -> list[str]:
            return [sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = [{root!r}]; "
                    f"from autograder.sandbox import sweeper; sweeper.serve({fd}, {parent})"]

        try:
            self._start(command, {"PATH": "/usr/bin:/bin"})
        except OSError:
            self._proc = None

    def run(self, uid: int, job: Callable[[], int]) -> int | None:
        """Exit code of ``job`` (one of :data:`JOBS`) run as ``uid``; None when the helper cannot run it
        (another job), or cannot serve (then it is closed)."""
        name = next((n for n, f in JOBS.items() if f is job), None)
        if self._proc is None or name is None:
            return None
        try:
            self._sock.settimeout(_TIMEOUT_S)
            self._sock.send(json.dumps({"uid": uid, "job": name}).encode())
            return int(json.loads(self._sock.recv(256))["code"])
        except (OSError, ValueError, KeyError, TypeError):
            self.close()
            return None


def serve(fd: int, parent: int) -> None:
    """The helper's loop: one job per request, each in a child that has become the uid."""
    from .confine import die_with_parent

    die_with_parent()
    if os.getppid() != parent:  # the grader ended before the line above
        os._exit(1)
    sock = socket.socket(fileno=fd)
    while True:
        data = sock.recv(256)
        if not data:
            os._exit(0)
        try:
            request = json.loads(data)
            uid, job = int(request["uid"]), JOBS[request["job"]]
        except (ValueError, KeyError, TypeError):
            sock.send(b'{"code": 1}')
            continue
        # Never as root: kill(-1) as uid 0 would reach every process of the machine.
        code = sweep._as_uid(uid, job) if uid > 0 else 1
        sock.send(json.dumps({"code": code}).encode())
