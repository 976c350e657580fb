"""Trusted side of the sandbox: start a worker, call into it with deadlines, kill it.

Where the grader runs as root (Gradescope, CI) the worker runs as a dedicated
unprivileged uid, in an empty network namespace when the kernel allows it, with
resource limits it cannot raise. Elsewhere it runs as the same user and
:attr:`Sandbox.isolation` says so.
"""
from __future__ import annotations

import functools
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import protocol

SANDBOX_UID = int(os.environ.get("COURSE_SANDBOX_UID", "61000"))  # first of a range of 1000 uids
_UID_LOCKS = Path(tempfile.gettempdir()) / "course-sandbox-uids"
_HERE = Path(__file__).resolve().parent
MAX_REPLY = 256 * 1024 * 1024


class GradingAbort(BaseException):
    """Ends the current test at once (timeout, crash, import failure, missing name).

    A BaseException so that hypothesis does not retry or shrink on it.
    """


class StudentError(Exception):
    """The submission raised an exception; carries its type, message and student frames."""

    def __init__(self, where: str, info: dict):
        self.type_name = str(info.get("type", "Exception"))
        self.detail = str(info.get("message", ""))
        self.trace = [str(t) for t in info.get("trace", [])]
        lines = [f"{where} raised {self.type_name}: {self.detail}".rstrip(": ")]
        lines += [f"    {t}" for t in self.trace]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker."""

    memory_mb: int = 2048
    cpu_s: int = 600
    fsize_mb: int = 64
    nproc: int = 256


def _claim_uid() -> tuple[int, object]:
    """A sandbox uid no other grading on this machine holds (gradings run in parallel)."""
    import fcntl

    _UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for uid in range(SANDBOX_UID, SANDBOX_UID + 1000):
        handle = open(_UID_LOCKS / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, handle
        except OSError:
            handle.close()
    raise RuntimeError("no free sandbox uid")


@functools.lru_cache(maxsize=None)
def _privileged_prefix(uid: int) -> tuple[tuple[str, ...], str]:
    """Command prefix that drops to ``uid``, and a description of the isolation."""
    if os.geteuid() != 0:
        return (), "same user (grader is not root): the submission can read what the grader can"
    drop = ("setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--")
    probe = [sys.executable, "-I", "-S", "-c", "pass"]
    if shutil.which("setpriv") is None or subprocess.run([*drop, *probe], capture_output=True).returncode:
        return (), "same user (root!): the sandbox user cannot run this Python; install it outside /root"
    if shutil.which("unshare") and subprocess.run(["unshare", "--net", "--", *drop, *probe], capture_output=True).returncode == 0:
        return ("unshare", "--net", "--", *drop), f"uid {uid}, no network"
    return drop, f"uid {uid} (network namespace unavailable)"


def kill_uid_processes(uid: int) -> None:
    """Kill every process of the sandbox uid (double-forked leftovers included)."""
    if os.geteuid() != 0:
        return
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if not found:
            return
        time.sleep(0.05)


class Sandbox:
    """One submission, served by a worker process that is restarted when needed.

    Parameters
    ----------
    submission : Path
        The student's file.
    module : str
        Import name the file gets (``kmeans``).
    probes : Path or None
        Trusted-by-nobody helper functions the tests may run next to the student code.
    limits : Limits
        Memory, CPU, file size and process limits.
    """

    def __init__(self, submission: Path, module: str, probes: Path | None = None, limits: Limits = Limits()):
        self.module = module
        self.limits = limits
        self.uid, self._uid_lock = _claim_uid() if os.geteuid() == 0 else (os.getuid(), None)
        prefix, self.isolation = _privileged_prefix(self.uid)
        self._prefix = prefix
        self._own_uid = bool(prefix)
        self._dir = Path(tempfile.mkdtemp(prefix="course-worker-"))
        for src in (_HERE / "worker.py", _HERE / "protocol.py", *( [probes] if probes else [])):
            shutil.copy(src, self._dir / src.name)
        self._submission = self._dir / "submission" / f"{module}.py"
        self._submission.parent.mkdir()
        shutil.copy(submission, self._submission)
        if self._own_uid:
            for path in (self._dir, self._submission.parent):
                os.chown(path, self.uid, self.uid)
            os.chmod(self._dir, 0o755)
        self._proc: subprocess.Popen | None = None
        self._wfd = self._rfd = -1
        self.generation = 0
        self.deadline: float | None = None
        self.seed: int | None = None
        self._status: dict | None = None
        self._known: dict[tuple[int, str], Any] = {}

    # -- process management -------------------------------------------------
    def _start(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        paths = [str(self._dir)] + sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
        spec = {
            "submission": str(self._submission), "module": self.module, "sys_path": paths,
            "fds": [req_r, rep_w], "memory_mb": self.limits.memory_mb, "cpu_s": self.limits.cpu_s,
            "fsize_mb": self.limits.fsize_mb, "nproc": self.limits.nproc, "own_uid": self._own_uid,
        }
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self._submission.parent), "TMPDIR": str(self._submission.parent),
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        cmd = [*self._prefix, sys.executable, "-I", "-S", str(self._dir / "worker.py"), json.dumps(spec)]
        self._proc = subprocess.Popen(cmd, cwd=self._submission.parent, env=env, pass_fds=(req_r, rep_w),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(req_r)
        os.close(rep_w)
        self._wfd, self._rfd = req_w, rep_r
        self.generation += 1

    def stop(self) -> None:
        """Kill the worker and everything it started."""
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.kill()
            self._proc.wait()
            self._proc = None
            for fd in (self._wfd, self._rfd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._own_uid:
            kill_uid_processes(self.uid)

    def close(self) -> None:
        """Stop the worker and remove its folder."""
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
        if self._uid_lock is not None:
            self._uid_lock.close()
            self._uid_lock = None

    def restart(self) -> None:
        """Fresh worker (new module state); handles from the old one become invalid."""
        self.stop()
        self._status = None

    # -- requests -------------------------------------------------------------
    def _remaining(self) -> float:
        if self.deadline is None:
            return 3600.0
        return self.deadline - time.monotonic()

    def _read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            left = self._remaining()
            if left <= 0 or not select.select([self._rfd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self._rfd, min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def request(self, what: str, payload: dict) -> Any:
        """Send one request and return the decoded reply (``{"ok": ...}`` or ``{"error": ...}``)."""
        if self._remaining() <= 0:
            raise GradingAbort(f"time limit reached before {what} was called")
        if self._proc is None:
            self._start()
        try:
            protocol.write_frame(self._wfd, protocol.encode(payload))
            (length,) = struct.unpack(">Q", self._read(8))
            if length > MAX_REPLY:
                raise protocol.ProtocolError("reply too large")
            reply = protocol.decode(self._read(length))
        except TimeoutError:
            self.restart()
            raise GradingAbort(f"{what} did not finish within the time limit (killed)") from None
        except (EOFError, BrokenPipeError, OSError):
            code = self._proc.poll() if self._proc else None
            self.restart()
            raise GradingAbort(f"the submission's process died during {what}{_exit_reason(code)}") from None
        except protocol.ProtocolError as exc:
            self.restart()
            raise GradingAbort(f"{what} returned something that is not plain data ({exc})") from None
        if not isinstance(reply, dict) or not ({"ok", "error"} & set(reply)):
            self.restart()
            raise GradingAbort(f"{what}: malformed reply from the submission's process")
        return reply

    def status(self) -> dict:
        """Whether the submission imported, and why not."""
        if self._status is None or self._proc is None:
            reply = self.request("import of the submission", {"op": "status"})
            self._status = reply.get("ok") or {"imported": False, "type": "Error", "message": "no status"}
        return self._status

    def ensure_imported(self) -> None:
        status = self.status()
        if not status.get("imported"):
            raise GradingAbort(f"{self.module}.py could not be imported: {status.get('type')}: {status.get('message')}".strip())

    def lookup(self, name: str) -> Any:
        """'callable', 'missing' or {'value': v} for a module attribute (cached per worker)."""
        self.ensure_imported()
        key = (self.generation, name)
        if key not in self._known:
            self._known[key] = self.call(f"looking up {name}", {"op": "lookup", "name": name})
        return self._known[key]

    def call(self, what: str, payload: dict) -> Any:
        """Run one op in the worker; raise StudentError for an exception in student code."""
        self.ensure_imported()
        if self.seed is not None:
            payload = {**payload, "seed": self.seed}
            self.seed = None
        reply = self.request(what, payload)
        if "error" in reply:
            error = StudentError(what, reply["error"] if isinstance(reply["error"], dict) else {})
            if error.type_name == "NotImplementedError":
                # An unfinished TODO: say so at once instead of letting hypothesis shrink on it.
                raise GradingAbort(f"{what} is not implemented yet (it raised NotImplementedError)")
            raise error
        return _wrap(self, reply["ok"])


def _exit_reason(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        hint = " (memory or CPU limit?)" if -code in (signal.SIGKILL, signal.SIGXCPU, signal.SIGSEGV) else ""
        return f" (killed by {name}{hint})"
    return f" (it exited with status {code}: sys.exit or os._exit in the submission?)"


def _wrap(box: Sandbox, value: Any) -> Any:
    if isinstance(value, protocol.Handle):
        return RemoteObject(box, value, box.generation)
    if isinstance(value, list):
        return [_wrap(box, v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_wrap(box, v) for v in value)
    if isinstance(value, dict):
        return {k: _wrap(box, v) for k, v in value.items()}
    return value


def _unwrap(box: Sandbox, value: Any) -> Any:
    if isinstance(value, RemoteObject):
        if value._generation != box.generation:
            raise GradingAbort("an object from the submission was lost when its process restarted")
        return value._handle
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_unwrap(box, v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(box, v) for k, v in value.items()}
    return value


class RemoteObject:
    """An object living in the worker (e.g. the student's CVAE); methods run there."""

    def __init__(self, box: Sandbox, handle: protocol.Handle, generation: int):
        self._box, self._handle, self._generation = box, handle, generation

    def __getattr__(self, name: str):
        if name.startswith("_"):  # private and dunder names are never part of the graded API
            raise AttributeError(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            box = self._box
            payload = {"op": "call", "target": _unwrap(box, self), "name": name,
                       "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
            return box.call(f"{self._handle.type_name}.{name}", payload)

        return method

    def __repr__(self) -> str:
        return repr(self._handle)


class RemoteModule:
    """Stands in for the student's module inside tests: attribute access gives callables
    that run in the worker and return plain data (or RemoteObjects)."""

    __course_remote__ = True

    def __init__(self, box: Sandbox):
        self._box = box

    def __repr__(self) -> str:
        return f"<{self._box.module}.py submission>"

    def __getattr__(self, name: str):
        if name.startswith("_"):  # private and dunder names are never part of the graded API
            raise AttributeError(name)
        box = self._box
        kind = box.lookup(name)
        if isinstance(kind, dict):
            return kind["value"]

        def function(*args: Any, **kwargs: Any) -> Any:
            if box.lookup(name) == "missing":
                raise GradingAbort(f"{box.module}.py does not define {name}")
            payload = {"op": "call", "target": None, "name": name,
                       "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
            return box.call(f"{name}", payload)

        function.__name__ = name
        return function

    def __course_probe__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        box = self._box
        payload = {"op": "probe", "name": name, "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
        return box.call(name.replace("_", " "), payload)

    def __course_seed__(self, seed: int) -> None:
        self._box.seed = seed
