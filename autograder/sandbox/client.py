"""Trusted side of the sandbox: start a worker, call into it with deadlines, kill it.

Where the grader runs as root (Gradescope, CI) the worker runs as a dedicated
unprivileged uid with resource limits it cannot raise and, where the kernel allows
it, in namespaces of its own: no network, and a private file system view in which
the course checkout (tests, solutions, zips) and the installed grader are hidden
and the only writable places are small tmpfs scratch folders that vanish with it.
Elsewhere it runs as the same user and :attr:`Sandbox.isolation` says so.
"""
from __future__ import annotations

import fcntl
import functools
import importlib.util
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
from types import ModuleType
from typing import Any, Sequence

from . import protocol

SANDBOX_UID = int(os.environ.get("COURSE_SANDBOX_UID", "61000"))  # first of a range of 1000 uids
UID_RANGE = range(SANDBOX_UID, SANDBOX_UID + 1000)
_UID_LOCKS = Path(tempfile.gettempdir()) / "course-sandbox-uids"
_HERE = Path(__file__).resolve().parent
MAX_REPLY = 256 * 1024 * 1024
FULL_ISOLATION = "separate user, no network, private file system"

# Run as root inside `unshare --mount --net`, before dropping to the sandbox uid:
# $1 worker folder, $2 uid, $3 scratch size (MB), $4 folder to keep visible inside
# a hidden one (the virtual environment), $5 number of folders to hide, then those
# folders, then the command. Propagation is private, so nothing leaks to the host.
_NS_SETUP = r"""
set -e
work=$1 uid=$2 mb=$3 keep=$4 n=$5
shift 5
scratch() { mount -t tmpfs -o "size=${mb}m,nosuid,nodev,$2" course-scratch "$1"; }
# Hold the folders that must stay visible before hiding anything: the checkout and
# the worker folder may both live under /tmp. They are bound back from these handles.
exec 3<"$work"
if [ -n "$keep" ]; then exec 4<"$keep"; fi
scratch /tmp mode=1777
while [ "$n" -gt 0 ]; do
  if [ -d "$1" ]; then mount -t tmpfs -o size=1m,mode=755 course-hidden "$1"; fi  # gone already if under /tmp
  shift; n=$((n - 1))
done
mkdir -p "$work" && mount -c --bind /proc/self/fd/3 "$work"
if [ -n "$keep" ]; then mkdir -p "$keep" && mount -c --bind /proc/self/fd/4 "$keep" && exec 4<&-; fi
exec 3<&-
for d in /var/tmp /dev/shm /run/lock; do if [ -d "$d" ]; then scratch "$d" mode=1777; fi; done
scratch "$work/scratch" "mode=700,uid=$uid,gid=$uid"
cd "$work/scratch"
exec "$@"
"""


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


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker."""

    memory_mb: int = 2048
    cpu_s: int = 600
    fsize_mb: int = 64
    nproc: int = 256
    scratch_mb: int = 128  # each private tmpfs (/tmp, /var/tmp, /dev/shm, the working folder)


def _try_lock(uid: int):
    """The lock file of ``uid``, locked, or None when another grading holds it."""
    _UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    handle = open(_UID_LOCKS / f"{uid}.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except OSError:
        handle.close()
        return None


def _claim_uid() -> tuple[int, object]:
    """A sandbox uid no other grading on this machine holds (gradings run in parallel)."""
    for uid in UID_RANGE:
        handle = _try_lock(uid)
        if handle is not None:
            kill_uid_processes(uid)  # leftovers of a grading that crashed
            return uid, handle
    raise RuntimeError("no free sandbox uid")


def _high_fd(fd: int) -> int:
    """Duplicate ``fd`` to a number ≥ 10 and close the original."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def _hidden_paths(extra: Sequence[Path]) -> list[Path]:
    """Folders the student must not see: the course checkout (or the installed grader) and ``extra``."""
    package, above = _HERE.parent, _HERE.parent.parent
    paths = {above if (above / "course.yml").is_file() else package, *(Path(p).resolve() for p in extra)}
    return sorted(p for p in paths if p.is_dir() and not any(q != p and q in p.parents for q in paths))


def _worker_paths(workdir: Path) -> list[str]:
    return [str(workdir)] + sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def _prefix(level: str, uid: int, workdir: Path, hide: Sequence[Path], scratch_mb: int) -> list[str]:
    """Command prefix that runs a worker at isolation ``level`` ('mount', 'net', 'uid' or 'none')."""
    if level == "none":
        return []
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    if level == "uid":
        return drop
    if level == "net":
        return ["unshare", "--net", "--", *drop]
    prefix = Path(sys.prefix).resolve()
    keep = next((str(prefix) for h in hide if h in prefix.parents), "")
    return ["unshare", "--mount", "--net", "--", "sh", "-c", _NS_SETUP, "sh", str(workdir), str(uid),
            str(scratch_mb), keep, str(len(hide)), *map(str, hide), *drop]


@functools.lru_cache(maxsize=None)
def _isolation_level(uid: int, hide: tuple[Path, ...]) -> tuple[str, str]:
    """The strongest isolation that works here, tried once per process, and its description."""
    if os.geteuid() != 0:
        return "none", "same user (grader is not root): the submission can read what the grader can"
    if shutil.which("setpriv") is None:
        return "none", "same user (root!): setpriv is missing"
    with tempfile.TemporaryDirectory(prefix="course-probe-") as tmp:
        work = Path(tmp)
        (work / "scratch").mkdir()
        os.chmod(work, 0o755)
        probe = [sys.executable, "-I", "-S", "-c",
                 f"import sys; sys.path[:0] = {_worker_paths(work)!r}; import numpy"]
        for level, text in (("mount", FULL_ISOLATION),
                            ("net", "separate user, no network (no mount namespace: the file system is shared)"),
                            ("uid", "separate user (no network namespace: the network is shared)")):
            if level != "uid" and not shutil.which("unshare"):
                continue
            cmd = [*_prefix(level, uid, work, hide, 8), *probe]
            if subprocess.run(cmd, cwd=work / "scratch", capture_output=True).returncode == 0:
                return level, text
    return "none", "same user (root!): the sandbox user cannot run this Python; install it outside /root"


def sandbox_processes() -> list[tuple[int, int]]:
    """(pid, uid) of every live (non-zombie) process whose real uid is in the sandbox range."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        uid = int(fields.get("Uid", "-1 ").split()[0])
        if uid in UID_RANGE and not fields.get("State", "").strip().startswith(("Z", "X")):
            found.append((int(entry), uid))
    return found


def kill_uid_processes(uid: int) -> None:
    """Kill every process of the sandbox uid (double-forked leftovers and fork bombs included).

    ``kill(-1, SIGKILL)`` sent *as that uid* reaches all of its processes in one
    atomic step, so a fork bomb cannot outrun it; it is repeated until none is left.
    """
    if os.geteuid() != 0:
        return
    for _ in range(50):
        if not any(u == uid for _, u in sandbox_processes()):
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.02)


def reap_orphans() -> None:
    """Kill the processes of sandbox uids that no grading holds (a grader killed before cleaning up)."""
    if os.geteuid() != 0:
        return
    for uid in sorted({u for _, u in sandbox_processes()}):
        handle = _try_lock(uid)
        if handle is not None:
            kill_uid_processes(uid)
            handle.close()


def _remove_files_of(uid: int) -> None:
    """Delete what ``uid`` left in the shared temporary folders (only reachable without a mount namespace)."""
    for folder in {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


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
        Memory, CPU, file size, process and scratch space limits.
    hide : sequence of Path
        Further folders the worker must not see (the grading root), besides the checkout.
    """

    def __init__(self, submission: Path, module: str, probes: Path | None = None, limits: Limits = Limits(),
                 hide: Sequence[Path] = ()):
        self.module = module
        self.limits = limits
        self.uid, self._uid_lock = _claim_uid() if os.geteuid() == 0 else (os.getuid(), None)
        self._hide = tuple(_hidden_paths(hide))
        self._level, self.isolation = _isolation_level(self.uid, self._hide)
        self._own_uid = self._level != "none"
        self._dir = Path(tempfile.mkdtemp(prefix="course-worker-"))
        os.chmod(self._dir, 0o755)
        for src in (_HERE / "worker.py", _HERE / "protocol.py", *([probes] if probes else [])):
            shutil.copy(src, self._dir / src.name)
        self._probes_path = probes
        self._trusted_probes: ModuleType | None = None
        self._submission = self._dir / "submission" / f"{module}.py"
        self._submission.parent.mkdir()
        shutil.copy(submission, self._submission)
        self._scratch = self._dir / "scratch"  # the worker's working folder, HOME and TMPDIR
        self._fresh_scratch()
        self._proc: subprocess.Popen | None = None
        self._wfd = self._rfd = -1
        self.generation = 0
        self.deadline: float | None = None
        self.seed: int | None = None
        self._status: dict | None = None
        self._known: dict[tuple[int, str], Any] = {}

    # -- process management -------------------------------------------------
    def _fresh_scratch(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
        self._scratch.mkdir(mode=0o700)
        if self._own_uid:
            os.chown(self._scratch, self.uid, self.uid)

    def _start(self) -> None:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        # The worker's ends get numbers ≥ 10: the namespace script uses descriptors 3 and 4.
        req_r, rep_w = (_high_fd(fd) for fd in (req_r, rep_w))
        spec = {
            "submission": str(self._submission), "module": self.module, "sys_path": _worker_paths(self._dir),
            "fds": [req_r, rep_w], "memory_mb": self.limits.memory_mb, "cpu_s": self.limits.cpu_s,
            "fsize_mb": self.limits.fsize_mb, "nproc": self.limits.nproc, "own_uid": self._own_uid,
        }
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self._scratch), "TMPDIR": str(self._scratch),
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        prefix = _prefix(self._level, self.uid, self._dir, self._hide, self.limits.scratch_mb)
        cmd = [*prefix, sys.executable, "-I", "-S", str(self._dir / "worker.py"), json.dumps(spec)]
        self._proc = subprocess.Popen(cmd, cwd=self._scratch, env=env, pass_fds=(req_r, rep_w),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(req_r)
        os.close(rep_w)
        self._wfd, self._rfd = req_w, rep_r
        self.generation += 1

    def stop(self) -> None:
        """Kill the worker and everything it started; empty its scratch folder."""
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
            _remove_files_of(self.uid)
        self._fresh_scratch()

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
            raise TimeLimit(f"time limit reached before {what} was called")
        if self._proc is None:
            self._start()
        try:
            protocol.write_frame(self._wfd, protocol.encode(payload))
            (length,) = struct.unpack(">Q", self._read(8))
            if length > MAX_REPLY:
                raise protocol.ProtocolError("reply too large")
            reply = protocol.decode(self._read(length), torch_ok=False)  # the trusted side never imports torch
        except TimeoutError:
            self.restart()
            raise TimeLimit(f"{what} did not finish within the time limit (killed)") from None
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

    def call_tracking_mutation(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
        """``module.name(*args, **kwargs)`` and the arguments it changed in place, judged here.

        The worker sends the arguments back after the call and they are compared in
        this process, so patching numpy or ``copy`` in the submission cannot hide a
        mutation (the student-side probe of the same name would be fooled by that).
        """
        payload = {"op": "call", "target": None, "name": name, "echo": True,
                   "args": _unwrap(self, list(args)), "kwargs": _unwrap(self, kwargs)}
        reply = self.call(name, payload)
        if not (isinstance(reply, dict) and isinstance(reply.get("args"), list) and len(reply["args"]) == len(args)
                and isinstance(reply.get("kwargs"), dict) and set(reply["kwargs"]) == set(kwargs)):
            raise GradingAbort(f"{name}: malformed reply from the submission's process")
        if self._trusted_probes is None:
            spec = importlib.util.spec_from_file_location("course_trusted_probes", self._probes_path)
            self._trusted_probes = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(self._trusted_probes)
        same = self._trusted_probes._same
        changed = [f"#{i + 1}" for i, (a, b) in enumerate(zip(args, reply["args"])) if not same(a, b)]
        changed += [k for k, v in kwargs.items() if not same(v, reply["kwargs"][k])]
        return reply.get("result"), changed


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


def _holds_remote(value: Any) -> bool:
    """Whether ``value`` contains an object that lives in the worker (compared there, not here)."""
    if isinstance(value, RemoteObject):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_remote(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_remote(v) for v in value.values())
    return False


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
        if name == "call_tracking_mutation" and box._probes_path and not _holds_remote([args, kwargs]):
            return box.call_tracking_mutation(*args, **kwargs)
        payload = {"op": "probe", "name": name, "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
        return box.call(name.replace("_", " "), payload)

    def __course_seed__(self, seed: int) -> None:
        self._box.seed = seed
