"""What a grading may leave of the sandbox uid range, seen independently of the grader's own sweep,
and how a test removes it; a memory cage and resource figures for a graded command.

Used by the hostile suite's sequence check (issue 12): after each hostile grading no task,
SysV IPC object or key of a sandbox uid that no grading holds may remain. Tasks are counted
under ``/proc/*/task`` (a process whose main thread has exited shows as a zombie at the top
level while another thread runs), IPC objects from ``/proc/sysvipc``, keys by reading the
uid's user and user-session keyrings as that uid.
"""
from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from autograder.sandbox.client import _try_lock

SANDBOX_UID = int(os.environ.get("COURSE_SANDBOX_UID", "61000"))
UID_RANGE = range(SANDBOX_UID, SANDBOX_UID + 1000)
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(platform.machine())
_KEYCTL_GET_KEYRING_ID, _KEYCTL_UNLINK, _KEYCTL_READ = 0, 9, 11
_USER_KEYRING, _USER_SESSION_KEYRING = -4, -5
_IPC_KINDS = {"shm": "-m", "sem": "-s", "msg": "-q"}


def _uid_of(status: str) -> int:
    return int(next((line.split()[1] for line in status.splitlines() if line.startswith("Uid:")), "-1"))


def sandbox_tasks(uids: range = UID_RANGE) -> list[tuple[int, int, int]]:
    """(pid, tid, uid) of every live task (thread) whose real uid is in ``uids``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
            except OSError:
                continue
            state = next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "X")
            uid = _uid_of(status)
            if uid in uids and state not in ("Z", "X"):
                found.append((int(pid), int(tid), uid))
    return found


def sysv_objects(uids: range = UID_RANGE) -> list[tuple[str, int, int]]:
    """(kind, id, uid) of every SysV shared-memory segment, semaphore set and message queue
    owned or created by a uid in ``uids``."""
    found = []
    for kind in _IPC_KINDS:
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        head = lines[0].split() if lines else []
        for line in lines[1:]:
            row = dict(zip(head, line.split()))
            owners = {int(row.get("uid", -1)), int(row.get("cuid", -1))}
            ident = int(row.get("shmid", row.get("semid", row.get("msqid", -1))))
            owner = next((u for u in owners if u in uids), None)
            if owner is not None:
                found.append((kind, ident, owner))
    return found


def _as_uid(uid: int, job: Callable[[], object]) -> object:
    """``job()`` run in a child process that has become ``uid`` (nothing else); its JSON result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.write(w, json.dumps(job()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(out or "null")


def _keys(clear: bool) -> list[int]:
    """The keys linked in this process's user and user-session keyrings (removed if ``clear``)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def keyctl(*args) -> int:
        return libc.syscall(_SYS_KEYCTL, *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])

    user = keyctl(_KEYCTL_GET_KEYRING_ID, _USER_KEYRING, 0)
    keys = []
    for ring in (_USER_KEYRING, _USER_SESSION_KEYRING):
        ident = keyctl(_KEYCTL_GET_KEYRING_ID, ring, 0)
        if ident <= 0:
            continue
        buf = ctypes.create_string_buffer(4096)
        n = keyctl(_KEYCTL_READ, ident, buf, 4096)
        linked = [k for k in ctypes.cast(buf, ctypes.POINTER(ctypes.c_int32))[:max(n, 0) // 4] if k != user]
        keys += linked
        for key in linked if clear else []:
            keyctl(_KEYCTL_UNLINK, key, ident)  # the user-session keyring keeps its link to the user keyring
    return keys


def key_uids(uids: range = UID_RANGE) -> list[int]:
    """The uids of ``uids`` the kernel holds keys for (``/proc/key-users``: their keyrings at least)."""
    try:
        rows = Path("/proc/key-users").read_text().splitlines()
    except OSError:
        return []
    return [int(r.split(":")[0]) for r in rows if r.strip() and int(r.split(":")[0]) in uids]


def sandbox_keys(uids: range = UID_RANGE) -> list[tuple[int, int]]:
    """(uid, key) of every key linked in the user or user-session keyring of a uid in ``uids``."""
    if _SYS_KEYCTL is None:
        return []
    return [(uid, key) for uid in key_uids(uids) for key in _as_uid(uid, lambda: _keys(clear=False)) or []]


def _free(uid: int) -> bool:
    """True when no grading holds ``uid`` (a held uid belongs to a grading in progress)."""
    handle = _try_lock(uid)
    if handle is None:
        return False
    handle.close()
    return True


def leftovers(uids: range = UID_RANGE, wait_s: float = 5.0) -> dict[str, list]:
    """Tasks, IPC objects and keys of the uids of ``uids`` that no grading holds (waits up to
    ``wait_s`` for tasks to go)."""
    deadline = time.monotonic() + wait_s
    while True:
        tasks = [t for t in sandbox_tasks(uids) if _free(t[2])]
        if not tasks or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return {"tasks": tasks, "sysv": [o for o in sysv_objects(uids) if _free(o[2])],
            "keys": [k for k in sandbox_keys(uids) if _free(k[0])]}


def clean_leftovers(uids: range = UID_RANGE) -> None:
    """Remove what :func:`leftovers` finds (a test cleans up after itself even when the grader fails)."""
    for _ in range(50):
        alive = {t[2] for t in sandbox_tasks(uids) if _free(t[2])}
        if not alive:
            break
        for uid in alive:
            _as_uid(uid, lambda: os.kill(-1, signal.SIGKILL))  # as the uid: all its processes, atomically
        time.sleep(0.05)
    for kind, ident, uid in sysv_objects(uids):
        if _free(uid):
            subprocess.run(["ipcrm", _IPC_KINDS[kind], str(ident)], capture_output=True)
    for uid in key_uids(uids):
        if _free(uid):
            _as_uid(uid, lambda: _keys(clear=True))


def own_memory_cgroup() -> Path | None:
    """This process's cgroup-v1 memory folder, when a child of it can be made there."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = Path("/sys/fs/cgroup/memory") / path.lstrip("/")
            return folder if os.access(folder, os.W_OK) else None
    return None


def caged(cmd: list[str], memory_mb: int, name: str) -> tuple[list[str], Path | None]:
    """``cmd`` run through :data:`MEASURE` inside a memory cage of its own: a child memory cgroup
    limited to ``memory_mb`` where one can be made (it counts shared memory), else a soft
    ``RLIMIT_DATA`` per process (workers set their own). Returns the command and the cgroup to remove."""
    parent = own_memory_cgroup()
    group = None
    if parent is not None:
        group = parent / f"course-hostile-{os.getpid()}-{name}"
        try:
            group.mkdir(exist_ok=True)
            (group / "memory.limit_in_bytes").write_text(str(memory_mb * 1024 * 1024))
        except OSError:
            remove_cgroup(group)
            group = None
    cage = ["--cgroup", str(group)] if group else ["--rlimit-mb", str(memory_mb)]
    return [sys.executable, "-c", MEASURE, *cage, "--", *cmd], group


def remove_cgroup(group: Path | None) -> None:
    """Remove a cage made by :func:`caged` once nothing runs in it."""
    if group is None:
        return
    for _ in range(100):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            for pid in (group / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)


# Runs the graded command in its cage and prints, last, the peak RSS (MB) of the largest
# process it waited for (the trusted runner, otter, or a worker) and the CPU seconds they used.
MEASURE = r"""
import json, os, resource, subprocess, sys
args = sys.argv[1:]
cut = args.index("--")
opts, cmd = args[:cut], args[cut + 1:]
def enter():
    if opts[0] == "--cgroup":
        with open(os.path.join(opts[1], "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
    else:
        mb = int(opts[1]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (mb, resource.getrlimit(resource.RLIMIT_DATA)[1]))
code = subprocess.run(cmd, preexec_fn=enter).returncode
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print("MEASURE " + json.dumps({"peak_rss_mb": use.ru_maxrss / 1024, "cpu_s": use.ru_utime + use.ru_stime}))
sys.exit(code)
"""
