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
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

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


class Zygote:
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
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        spec = {"sys_path": sys_path, "preload": list(preload), "sock": theirs.fileno(), "parent": os.getpid()}
        try:
            self._proc = subprocess.Popen([sys.executable, "-I", "-S", str(workdir / "zygote.py"), json.dumps(spec)],
                                          cwd=workdir, env=env, pass_fds=(theirs.fileno(),),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            theirs.close()
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

    def ask(self, request: dict, fds: Sequence[int] = ()) -> dict[str, Any]:
        """One request and its reply; :class:`ZygoteError` if the zygote cannot answer."""
        if self._proc is None:
            raise ZygoteError("the zygote is closed")
        try:
            socket.send_fds(self._sock, [json.dumps(request).encode()], list(fds))
        except OSError as exc:
            raise ZygoteError(f"the zygote is gone ({exc})") from None
        return self._receive(ASK_TIMEOUT_S)

    def spawn(self, request: dict, fds: Sequence[int]) -> WarmProcess:
        """Fork a worker: ``request`` names its spec, level, uid, folders and cgroups; ``fds`` its two pipe ends."""
        reply = self.ask({"op": "spawn", **request}, fds)
        proc = WarmProcess(self, int(reply["pid"]))
        if not reply.get("joined"):
            proc.kill()
            proc.wait()
            raise ZygoteError("the worker could not join its cgroups")
        return proc

    def close(self) -> None:
        """End the zygote (its workers are the client's to kill)."""
        proc, self._proc = self._proc, None
        self._sock.close()
        if proc is not None:
            proc.kill()
            proc.wait()
