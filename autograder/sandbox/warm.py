"""Trusted side of the zygote (:mod:`zygote`): start it, ask it for workers, reap them.

A worker forked from the zygote skips the interpreter's start and the imports of numpy
(and torch) that a cold worker pays for every graded line; it is as pristine as a cold
one (a fresh process: nothing of an earlier line's worker is in it) and is isolated by
:mod:`confine` to the same level, with the same mounts, uid and limits.
``COURSE_ZYGOTE=0`` turns it off (cold workers only).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, Sequence

from .helper import Helper

ASK_TIMEOUT_S = 60.0


class ZygoteError(RuntimeError):
    """The zygote cannot serve (not started, died, or declined): use cold workers."""


def wanted() -> bool:
    """Whether warm workers are asked for (``COURSE_ZYGOTE=0`` says no)."""
    return os.environ.get("COURSE_ZYGOTE", "1") != "0"


class WarmProcess:
    """A worker forked by the zygote, with the part of :class:`subprocess.Popen` the client uses."""

    def __init__(self, zygote: "Zygote", pid: int):
        self._zygote, self.pid, self.returncode = zygote, pid, None

    def _reap(self, block: bool) -> int | None:
        if self.returncode is None:
            try:
                reply = self._zygote.ask({"op": "wait", "pid": self.pid, "block": block})
            except ZygoteError:
                reply = {"gone": True}
            if reply.get("gone"):
                self.returncode = -signal.SIGKILL
            elif reply.get("code") is not None:
                self.returncode = int(reply["code"])
        return self.returncode

    def poll(self) -> int | None:
        """The exit code if the worker has ended (reaped by the zygote), else None."""
        return self._reap(block=False)

    def wait(self) -> int | None:
        """Wait for the worker to end (the caller has killed it) and return its exit code."""
        return self._reap(block=True)

    def kill(self) -> None:
        """SIGKILL the worker, unless it was reaped already (then its pid may be another's)."""
        if self.returncode is None:  # not reaped yet: the pid is still this worker's
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class PendingSpawn:
    """A worker the zygote was asked to fork, whose reply (its pid) is read when first needed."""

    def __init__(self, zygote: "Zygote"):
        self._zygote = zygote
        self._reply: dict[str, Any] | None = None
        self._error: ZygoteError | None = None
        self._proc: WarmProcess | None = None

    def result(self) -> WarmProcess:
        """The forked worker, once in its cgroups; :class:`ZygoteError` if the zygote could not fork it."""
        if self._proc is None:
            if self._reply is None and self._error is None:
                self._zygote._drain()
            if self._error is not None:
                raise self._error
            self._proc = WarmProcess(self._zygote, int(self._reply["pid"]))
            if not self._reply.get("joined"):
                self._proc.kill()
                self._proc.wait()
                self._error = ZygoteError("the worker could not join its cgroups")
                raise self._error
        return self._proc


class Zygote(Helper):
    """One zygote per grading, serving every worker of one submission.

    Parameters
    ----------
    workdir : Path
        The worker folder (worker.py, protocol.py, confine.py, zygote.py).
    env : dict
        The workers' environment (the zygote's own: libraries read it at import).
    sys_path : list of str
        The workers' module path.
    preload : sequence of str
        Libraries imported once, before any fork.
    startup_s : float
        How long its imports may take.
    """

    def __init__(self, workdir: Path, env: dict[str, str], sys_path: list[str], preload: Sequence[str],
                 startup_s: float):
        self._pending: list[PendingSpawn] = []
        spec = {"sys_path": sys_path, "preload": list(preload), "parent": os.getpid()}
        self._start(lambda fd: [sys.executable, "-I", "-S", str(workdir / "zygote.py"), json.dumps({**spec, "sock": fd})],
                    env, str(workdir))
        try:
            ready = self._receive(startup_s)
        except ZygoteError:
            self.close()
            raise
        if not ready.get("ready"):
            self.close()
            raise ZygoteError(f"the zygote has {ready.get('threads')} threads after its imports")

    def _receive(self, timeout: float) -> dict[str, Any]:
        self._sock.settimeout(timeout)
        try:
            data = self._sock.recv(1 << 16)
        except OSError as exc:
            raise ZygoteError(f"the zygote did not answer ({exc})") from None
        if not data:
            raise ZygoteError("the zygote ended")
        try:
            reply = json.loads(data)
        except ValueError:
            raise ZygoteError("the zygote answered nonsense") from None
        if not isinstance(reply, dict) or "error" in reply:
            raise ZygoteError(f"the zygote refused: {reply}")
        return reply

    def _send(self, request: dict, fds: Sequence[int] = ()) -> None:
        if self._proc is None:
            raise ZygoteError("the zygote is closed")
        try:
            socket.send_fds(self._sock, [json.dumps(request).encode()], list(fds))
        except OSError as exc:
            raise ZygoteError(f"the zygote is gone ({exc})") from None

    def _drain(self) -> None:
        """Read the replies of spawns sent earlier (the zygote answers in order)."""
        while self._pending:
            pending = self._pending.pop(0)
            try:
                pending._reply = self._receive(ASK_TIMEOUT_S)
            except ZygoteError as exc:
                # Gone or refusing: later replies could no longer be matched to their requests.
                pending._error = exc
                for rest in self._pending:
                    rest._error = exc
                self._pending.clear()
                self.close()

    def ask(self, request: dict, fds: Sequence[int] = ()) -> dict[str, Any]:
        """One request and its reply; :class:`ZygoteError` if the zygote cannot answer."""
        self._drain()
        self._send(request, fds)
        return self._receive(ASK_TIMEOUT_S)

    def spawn_later(self, request: dict, fds: Sequence[int]) -> "PendingSpawn":
        """Ask for a worker without waiting for the fork: ``request`` names its spec, level, uid,
        folders and cgroups; ``fds`` its two pipe ends. :meth:`PendingSpawn.result` gives it."""
        pending = PendingSpawn(self)
        self._send({"op": "spawn", **request}, fds)
        self._pending.append(pending)
        return pending
