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

import fcntl
import importlib.util
import json
import os
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
from .preload import preload_for
from .slots import Slot, Worker
from .sweeper import Sweeper
from .uids import SANDBOX_UID, UID_RANGE, _try_lock, reap_orphans

__all__ = ["FULL_ISOLATION", "SANDBOX_UID", "UID_RANGE", "GradingAbort", "Limits", "RemoteModule", "RemoteObject",
           "Sandbox", "StudentError", "TimeLimit", "_try_lock", "reap_orphans", "sandbox_processes"]

_HERE = Path(__file__).resolve().parent
MAX_REPLY = 256 * 1024 * 1024
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


def _high_fd(fd: int) -> int:
    """Duplicate ``fd`` to a number ≥ 10 and close the original."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def spare_wanted() -> bool:
    """Whether the next line's worker is started ahead (``COURSE_SPARE_WORKER=0`` says no)."""
    return os.environ.get("COURSE_SPARE_WORKER", "1") != "0"


class Sandbox:
    """One submission, served by a worker process that is restarted when needed.

    While a worker serves, the next one (the spare) is started on a second sandbox uid, up to
    its ready point: its imports done, the student's file not imported. A restart kills the
    worker, sweeps its uid and hands over the spare; the swept uid then gets the next spare.

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
        deadlines); by default the :data:`~.preload.HEAVY` libraries the submission or the probes import.
    """

    def __init__(self, submission: Path, module: str, probes: Path | None = None, limits: Limits = Limits(),
                 hide: Sequence[Path] = (), preload: Sequence[str] | None = None):
        self.module = module
        self.limits = limits
        self._dir = Path(tempfile.mkdtemp(prefix="course-worker-"))
        os.chmod(self._dir, 0o755)
        self._sweeper = Sweeper() if os.geteuid() == 0 else None
        # The uid is claimed first: the isolation probe runs as it.
        self._slot = Slot(self._dir / "scratch", own_uid=False, sweeper=self._sweeper)
        self._hide = tuple(isolation.hidden_paths(hide))
        self._level, self.isolation = isolation.level(self.uid, self._hide)
        self._own_uid = self._level != "none"
        self._slot.own_uid = self._own_uid
        self._slot.fresh_scratch()
        for src in (*(_HERE / f for f in _WORKER_FILES), *([probes] if probes else [])):
            shutil.copy(src, self._dir / src.name)
        self._probes_path = probes
        self._trusted_probes: ModuleType | None = None
        self._submission = self._dir / "submission" / f"{module}.py"
        self._submission.parent.mkdir()
        shutil.copy(submission, self._submission)
        self.preload = list(preload) if preload is not None else preload_for(submission, *([probes] if probes else []))
        self._worker: Worker | None = None
        # The second uid, for the spare (a worker of its own uid: it must not reach the serving one).
        self._other: Slot | None = None
        self._spare: Worker | None = None
        #: Set to False when no further worker will be needed (the last graded line). Not beside
        #: torch: cvae's grading, which stays within 652 MB in a 768 MB limit (Gradescope's) with one
        #: worker at a time, reached the limit with a spare (745-768 MB; a line OOM-killed in 2 of 4 runs).
        self.spare = self._own_uid and spare_wanted() and all(n.split(".")[0] != "torch" for n in self.preload)
        # Forks pre-warmed workers; only where the worker has its own uid (it must not reach the zygote).
        self._zygote: warm.Zygote | None = None
        self._warm = self._own_uid and warm.wanted()
        self._started = 0  # workers started, for unique cgroup names
        self.generation = 0
        self.deadline: float | None = None
        self.seed: int | None = None
        self._status: dict | None = None
        self._known: dict[tuple[int, str], Any] = {}

    @property
    def uid(self) -> int:
        """The uid the serving (or next) worker runs as."""
        return self._slot.uid

    @property
    def _proc(self) -> subprocess.Popen | warm.WarmProcess | None:
        worker = self._worker
        return None if worker is None or isinstance(worker.proc, warm.PendingSpawn) else worker.proc

    # -- process management -------------------------------------------------
    def _launch(self, slot: Slot) -> Worker:
        """Start a worker on ``slot`` (whose uid the sweep has left clean) without waiting for it."""
        self._started += 1
        group = WorkerGroup(f"course-worker-{slot.uid}-{os.getpid()}-{self._started}",
                            self.limits.memory_mb, self.limits.nproc)
        limited = self._own_uid and group.create()
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
        env = {"PATH": "/usr/bin:/bin", "HOME": str(slot.scratch), "TMPDIR": str(slot.scratch),
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        cgroups = group.procs_files if limited else []
        proc: subprocess.Popen | warm.PendingSpawn | None = None
        try:
            if self._warm:
                try:
                    proc = self._spawn_warm(slot, spec, env, req_r, rep_w, cgroups)
                except warm.ZygoteError:
                    self._stop_zygote()
            if proc is None:
                prefix = isolation.prefix(self._level, slot.uid, self._dir, self._hide, self.limits.scratch_mb,
                                          cgroups, scratch=slot.scratch)
                cmd = [*prefix, sys.executable, "-I", "-S", str(self._dir / "worker.py"), json.dumps(spec)]
                proc = subprocess.Popen(cmd, cwd=slot.scratch, env=env, pass_fds=(req_r, rep_w),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        except BaseException:
            for fd in (req_w, rep_r):
                os.close(fd)
            group.remove()
            raise
        finally:
            os.close(req_r)
            os.close(rep_w)
        return Worker(slot, proc, req_w, rep_r, group)

    def _spawn_warm(self, slot: Slot, spec: dict, env: dict, req_r: int, rep_w: int,
                    cgroups: list[str]) -> warm.PendingSpawn:
        if self._zygote is None:
            self._zygote = warm.Zygote(self._dir, env, spec["sys_path"], self.preload, self.limits.startup_s)
        return self._zygote.spawn_later({"spec": spec, "level": self._level, "uid": slot.uid, "work": str(self._dir),
                                         "keep": isolation.kept_path(self._hide), "hide": [str(h) for h in self._hide],
                                         "scratch_mb": self.limits.scratch_mb, "cgroups": cgroups,
                                         "scratch": str(slot.scratch)}, (req_r, rep_w))

    def _stop_zygote(self) -> None:
        self._warm = False
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None

    def _start(self) -> None:
        """Make the next worker serve: the spare if one was started, else a new one; wait until it is
        ready (its imports done, the student's file not yet) and start the spare after it."""
        worker, self._spare = self._spare, None
        if worker is not None:
            self._slot, self._other = worker.slot, self._slot
        else:
            worker = self._launch(self._slot)
        try:
            ready = worker.await_ready(self.limits.startup_s)
        except warm.ZygoteError:
            ready = None  # the zygote could not fork it
        if not ready:
            forked = not isinstance(worker.proc, subprocess.Popen)
            code = worker.poll()
            self._worker = worker
            self.stop()
            if not forked:
                raise GradingAbort(f"the grader could not start the submission's process within "
                                   f"{self.limits.startup_s} s{_exit_reason(code)}")
            self._stop_zygote()  # the zygote's way does not work here: cold workers from now on
            self._drop_spare()
            return self._start()
        self.generation += 1
        self._worker = worker
        self._start_spare()

    def _start_spare(self) -> None:
        """Start the next worker on the other uid, if one is wanted and none is waiting."""
        if not self.spare or self._spare is not None:
            return
        if self._other is None:
            self._other = Slot(self._dir / "scratch-2", self._own_uid, self._sweeper)
        self._spare = self._launch(self._other)

    def _drop_spare(self) -> None:
        spare, self._spare = self._spare, None
        if spare is not None:
            self._retire(spare, spare.slot)

    def _retire(self, worker: Worker | None, slot: Slot) -> None:
        """Kill ``worker`` (if any), sweep ``slot``'s uid, then remove the worker's cgroups."""
        if worker is not None:
            worker.kill()
        if not slot.sweep():  # a fresh uid was claimed: probe its level
            self._level, self.isolation = isolation.level(self.uid, self._hide)
        if worker is not None:
            worker.remove_group()

    def stop(self) -> None:
        """Kill the worker and everything it started; remove what its uid owns; empty its scratch folder.

        Whatever the namespaces already ended, the sweep runs and checks: no task, SysV
        object, key or temporary file of the uid survives. A uid it cannot clean is given
        up (other gradings skip it too) and the next worker gets a fresh one. A spare
        started on the other uid is left waiting.
        """
        worker, self._worker = self._worker, None
        self._retire(worker, self._slot)

    def close(self) -> None:
        """Stop the worker, the spare and the zygote, and remove its folder; a second call does nothing."""
        if not self._dir.is_dir():
            return
        self.stop()
        self._drop_spare()
        self._stop_zygote()
        for slot in (self._slot, self._other):
            if slot is not None:
                slot.release()
        if self._sweeper is not None:
            self._sweeper.close()
        shutil.rmtree(self._dir, ignore_errors=True)

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
        return self._worker.read(n, self.deadline)

    def request(self, what: str, payload: dict) -> Any:
        """Send one request and return the decoded reply (``{"ok": ...}`` or ``{"error": ...}``)."""
        if self._remaining() <= 0:
            raise TimeLimit(f"time limit reached before {what} was called")
        if self._worker is None:
            started = time.monotonic()
            self._start()
            if self.deadline is not None:  # the worker's own start-up is not the student's time
                self.deadline += time.monotonic() - started
        try:
            protocol.write_frame(self._worker.wfd, protocol.encode(payload))
            (length,) = struct.unpack(">Q", self._read(8))
            if length > MAX_REPLY:
                raise protocol.ProtocolError("reply too large")
            # The trusted side never imports torch; decoding counts against the test's deadline.
            reply = protocol.decode(self._read(length), torch_ok=False, deadline=self.deadline)
        except TimeoutError:
            self.restart()
            raise TimeLimit(f"{what} did not finish within the time limit (killed)") from None
        except (EOFError, BrokenPipeError, OSError):
            code = self._worker.poll()
            oom = self._worker.group.out_of_memory()
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
        if self._status is None or self._worker is None:
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
