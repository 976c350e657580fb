"""Trusted side of the sandbox: start a worker, call into it with deadlines, kill it.

Where the grader runs as root (Gradescope, CI) the worker runs as a dedicated
unprivileged uid (:mod:`uids`) with resource limits it cannot raise, in a memory and
pids cgroup of its own where the machine allows one (:mod:`cgroups`) and, where the
kernel allows it, in namespaces of its own (:mod:`isolation`): no network, its own
processes and IPC only, and a private file system view in which the course checkout
(tests, solutions, zips) and the installed grader are hidden and the only writable
places are small tmpfs scratch folders that vanish with it. After every worker,
:mod:`sweep` removes and verifies whatever its uid still owns. Elsewhere it runs as
the same user and :attr:`Sandbox.isolation` says so.
"""
from __future__ import annotations

import ast
import fcntl
import importlib.util
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

from . import isolation, protocol, sweep, warm
from .cgroups import WorkerGroup
from .errors import GradingAbort, StudentError, TimeLimit
from .isolation import FULL_ISOLATION
from .remote import RemoteModule, RemoteObject, _unwrap, _wrap
from .uids import SANDBOX_UID, UID_RANGE, _try_lock, claim_uid, reap_orphans

__all__ = ["FULL_ISOLATION", "SANDBOX_UID", "UID_RANGE", "GradingAbort", "Limits", "RemoteModule", "RemoteObject",
           "Sandbox", "StudentError", "TimeLimit", "_try_lock", "reap_orphans", "sandbox_processes"]

_HERE = Path(__file__).resolve().parent
MAX_REPLY = 256 * 1024 * 1024
# Libraries whose import takes seconds: imported by the worker before it reports ready,
# so their import is not charged to the student's deadline, when the submission or the
# probes import them.
HEAVY = ("torch", "scipy", "sklearn", "pandas", "matplotlib")
_READY = {"ready": True}
_WORKER_FILES = ("worker.py", "protocol.py", "zygote.py", "confine.py")


def sandbox_processes() -> list[tuple[int, int]]:
    """(pid, uid) of every process with a live task whose real uid is in the sandbox range."""
    return sweep.processes(UID_RANGE)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker."""

    memory_mb: int = 2048
    cpu_s: int = 600
    fsize_mb: int = 64
    nproc: int = 256
    scratch_mb: int = 128  # each private tmpfs (/tmp, /var/tmp, /dev/shm, the working folder)
    startup_s: int = 180  # the worker's own start-up (Python, numpy, torch), not charged to any test


def preload_for(*sources: Path) -> list[str]:
    """The heavy libraries (:data:`HEAVY`) and their submodules that ``sources`` import, installed here.

    Submodules count: ``from scipy.special import logsumexp`` costs 0.24 s beyond ``import scipy``,
    in every graded line's fresh worker unless the zygote has imported it. Only public names
    (no part starting with ``_``, so never a ``__main__``) of an installed library are kept;
    the trusted side looks up the top-level package alone (it never imports torch).
    """
    found: list[str] = []
    for source in sources:
        try:
            tree = ast.parse(source.read_bytes())
        except (OSError, SyntaxError, ValueError, MemoryError, RecursionError):
            continue  # the worker reports a broken file at its import
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append(node.module)
    by_root: dict[str, set[str]] = {}
    for name in found:
        parts = name.split(".")
        if parts[0] in HEAVY and all(p.isidentifier() and not p.startswith("_") for p in parts):
            by_root.setdefault(parts[0], set()).add(name)
    # Heavy libraries in HEAVY's order, each before its submodules (sorted: a parent before its children).
    return [name for root in HEAVY if root in by_root and importlib.util.find_spec(root) is not None
            for name in sorted(by_root[root])]


def _high_fd(fd: int) -> int:
    """Duplicate ``fd`` to a number ≥ 10 and close the original."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


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
        Memory, CPU, file size, process, scratch space and start-up limits.
    hide : sequence of Path
        Further folders the worker must not see (the grading root), besides the checkout.
    preload : sequence of str or None
        Modules the worker imports before it reports ready (not charged to the student's
        deadlines); by default the :data:`HEAVY` libraries the submission or the probes import.
    """

    def __init__(self, submission: Path, module: str, probes: Path | None = None, limits: Limits = Limits(),
                 hide: Sequence[Path] = (), preload: Sequence[str] | None = None):
        self.module = module
        self.limits = limits
        self.uid, self._uid_lock = claim_uid() if os.geteuid() == 0 else (os.getuid(), None)
        self._hide = tuple(isolation.hidden_paths(hide))
        self._level, self.isolation = isolation.level(self.uid, self._hide)
        self._own_uid = self._level != "none"
        self._dir = Path(tempfile.mkdtemp(prefix="course-worker-"))
        os.chmod(self._dir, 0o755)
        for src in (*(_HERE / f for f in _WORKER_FILES), *([probes] if probes else [])):
            shutil.copy(src, self._dir / src.name)
        self._probes_path = probes
        self._trusted_probes: ModuleType | None = None
        self._submission = self._dir / "submission" / f"{module}.py"
        self._submission.parent.mkdir()
        shutil.copy(submission, self._submission)
        self.preload = list(preload) if preload is not None else preload_for(submission, *([probes] if probes else []))
        self._scratch = self._dir / "scratch"  # the worker's working folder, HOME and TMPDIR
        self._fresh_scratch()
        self._proc: subprocess.Popen | warm.WarmProcess | None = None
        # Forks pre-warmed workers; only where the worker has its own uid (it must not reach the zygote).
        self._zygote: warm.Zygote | None = None
        self._warm = self._own_uid and warm.wanted()
        self._group: WorkerGroup | None = None
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
        """Start a worker and wait until it is ready (its imports done, the student's file not yet)."""
        self.generation += 1
        self._group = WorkerGroup(f"course-worker-{self.uid}-{os.getpid()}-{self.generation}",
                                  self.limits.memory_mb, self.limits.nproc)
        limited = self._own_uid and self._group.create()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        # The worker's ends get numbers ≥ 10: the namespace script uses descriptors 3 and 4.
        req_r, rep_w = (_high_fd(fd) for fd in (req_r, rep_w))
        spec = {
            "submission": str(self._submission), "module": self.module, "sys_path": isolation.worker_paths(self._dir),
            "fds": [req_r, rep_w], "memory_mb": self.limits.memory_mb, "cpu_s": self.limits.cpu_s,
            "fsize_mb": self.limits.fsize_mb, "nproc": self.limits.nproc, "own_uid": self._own_uid,
            "address_limit": not limited, "preload": self.preload,
        }
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self._scratch), "TMPDIR": str(self._scratch),
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        cgroups = self._group.procs_files if limited else []
        if self._warm:
            try:
                self._proc = self._spawn_warm(spec, env, req_r, rep_w, cgroups)
            except warm.ZygoteError:
                self._stop_zygote()
        if self._proc is None:
            prefix = isolation.prefix(self._level, self.uid, self._dir, self._hide, self.limits.scratch_mb, cgroups)
            cmd = [*prefix, sys.executable, "-I", "-S", str(self._dir / "worker.py"), json.dumps(spec)]
            self._proc = subprocess.Popen(cmd, cwd=self._scratch, env=env, pass_fds=(req_r, rep_w),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(req_r)
        os.close(rep_w)
        self._wfd, self._rfd = req_w, rep_r
        forked = isinstance(self._proc, warm.WarmProcess)
        try:
            self._await_ready()
        except GradingAbort:
            if not forked:
                raise
            self._stop_zygote()  # the zygote's way does not work here: cold workers from now on
            self._start()

    def _spawn_warm(self, spec: dict, env: dict, req_r: int, rep_w: int, cgroups: list[str]) -> warm.WarmProcess:
        if self._zygote is None:
            self._zygote = warm.Zygote(self._dir, env, spec["sys_path"], self.preload, self.limits.startup_s)
        return self._zygote.spawn({"spec": spec, "level": self._level, "uid": self.uid, "work": str(self._dir),
                                   "keep": isolation.kept_path(self._hide), "hide": [str(h) for h in self._hide],
                                   "scratch_mb": self.limits.scratch_mb, "cgroups": cgroups}, (req_r, rep_w))

    def _stop_zygote(self) -> None:
        self._warm = False
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def _await_ready(self) -> None:
        """Read the worker's ready frame, under the start-up limit instead of the test's deadline."""
        deadline, self.deadline = self.deadline, time.monotonic() + self.limits.startup_s
        try:
            (length,) = struct.unpack(">Q", self._read(8))
            ready = protocol.decode(self._read(length)) if length <= 4096 else None
        except (TimeoutError, EOFError, OSError, protocol.ProtocolError):
            ready = None
        finally:
            self.deadline = deadline
        if ready != _READY:
            code = self._proc.poll() if self._proc else None
            self.stop()
            raise GradingAbort(f"the grader could not start the submission's process within "
                               f"{self.limits.startup_s} s{_exit_reason(code)}")

    def _kill_worker(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:  # not reaped yet, so its pid (= its group) cannot be another's
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.kill()
        proc.wait()
        for fd in (self._wfd, self._rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wfd = self._rfd = -1

    def stop(self) -> None:
        """Kill the worker and everything it started; remove what its uid owns; empty its scratch folder.

        Whatever the namespaces already ended, the sweep runs and checks: no task, SysV
        object, key or temporary file of the uid survives. A uid it cannot clean is given
        up (other gradings skip it too) and the next worker gets a fresh one.
        """
        self._kill_worker()
        if self._own_uid and os.geteuid() == 0:
            left = sweep.clean_uid(self.uid)
            if left:
                self._renew_uid()
        if self._group is not None:
            self._group.remove()
        self._fresh_scratch()

    def _renew_uid(self) -> None:
        old = self._uid_lock
        self.uid, self._uid_lock = claim_uid()
        if old is not None:
            old.close()
        self._level, self.isolation = isolation.level(self.uid, self._hide)

    def close(self) -> None:
        """Stop the worker and the zygote, and remove its folder; a second call does nothing."""
        if not self._dir.is_dir():
            return
        self.stop()
        self._stop_zygote()
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
            started = time.monotonic()
            self._start()
            if self.deadline is not None:  # the worker's own start-up is not the student's time
                self.deadline += time.monotonic() - started
        try:
            protocol.write_frame(self._wfd, protocol.encode(payload))
            (length,) = struct.unpack(">Q", self._read(8))
            if length > MAX_REPLY:
                raise protocol.ProtocolError("reply too large")
            # The trusted side never imports torch; decoding counts against the test's deadline.
            reply = protocol.decode(self._read(length), torch_ok=False, deadline=self.deadline)
        except TimeoutError:
            self.restart()
            raise TimeLimit(f"{what} did not finish within the time limit (killed)") from None
        except (EOFError, BrokenPipeError, OSError):
            code = self._proc.poll() if self._proc else None
            oom = self._group is not None and self._group.out_of_memory()
            self.restart()
            reason = f" (killed: memory limit of {self.limits.memory_mb} MB reached)" if oom else _exit_reason(code)
            raise GradingAbort(f"the submission's process died during {what}{reason}") from None
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
