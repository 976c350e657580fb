"""Find and remove everything a sandbox uid owns: tasks, SysV IPC objects, keys, temporary files.

Used after every worker and before a uid is handed to a new grading. Namespaces end
most of this on their own (the PID namespace's processes die with its first one, the
IPC namespace's objects with its last process); this sweep is what holds where the
kernel refuses namespaces (Docker without CAP_SYS_ADMIN) and checks the result
either way. Keys are per uid, outside every namespace, so they are always cleared here.
"""
from __future__ import annotations

import ctypes
import os
import platform
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from .sweeper import Sweeper

_LIBC = ctypes.CDLL(None, use_errno=True)
IPC_RMID = 0
_SYSV = {"shm": "shmctl", "sem": "semctl", "msg": "msgctl"}  # /proc/sysvipc file -> remover
# keyctl(2): syscall numbers per machine, operations and special keyring ids.
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "i686": 288}.get(platform.machine())
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR, KEYCTL_UNLINK, KEYCTL_READ, KEYCTL_GET_PERSISTENT = 1, 7, 9, 11, 22
KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -3, -4, -5
# Keyrings that survive a clear, empty: the user, user-session and persistent keyrings.
EMPTY_KEYRINGS = 3


def _uid_of(status: str) -> tuple[int, str]:
    """(real uid, state letter) from the text of a /proc/.../status file."""
    uid, state = -1, "?"
    for line in status.splitlines():
        if line.startswith("Uid:"):
            uid = int(line.split()[1])
        elif line.startswith("State:"):
            state = line.split()[1]
    return uid, state


def tasks(uids: Iterable[int]) -> list[tuple[int, int, int]]:
    """(pid, tid, uid) of every live task whose real uid is in ``uids``.

    Threads are looked at one by one: a process whose main thread exited (raw
    ``SYS_exit``) shows as a zombie in /proc/PID/status while its other threads run.
    """
    wanted = set(uids)
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                uid, state = _uid_of(Path(f"/proc/{pid}/task/{tid}/status").read_text())
            except (OSError, ValueError, IndexError):
                continue
            if uid in wanted and state not in ("Z", "X"):
                found.append((int(pid), int(tid), uid))
    return found


def processes(uids: Iterable[int]) -> list[tuple[int, int]]:
    """(pid, uid) of every process with a live task of one of ``uids``."""
    return sorted({(pid, uid) for pid, _, uid in tasks(uids)})


def _as_uid(uid: int, job: Callable[[], int], via: Sweeper | None = None) -> int:
    """Run ``job`` in a forked child that has become ``uid`` (and nothing else); its exit code.

    The child does only system calls: no locks of this (perhaps threaded) process are needed.
    ``via``: a :class:`~.sweeper.Sweeper` that forks the child instead of this process, where it can.
    """
    if via is not None:
        code = via.run(uid, job)
        if code is not None:
            return code
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            code = job()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _kill_all() -> int:
    # kill(-1) as the uid reaches every process it may signal, i.e. exactly its own,
    # in one step of the kernel: a fork bomb cannot outrun it. ESRCH: none was left.
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return 0


def kill_uid(uid: int, timeout_s: float = 10.0, first: Callable[[], int] = _kill_all,
             via: Sweeper | None = None) -> bool:
    """Kill every task of ``uid``; True when none is left.

    ``kill(-1)`` is sent as the uid at least once whatever the scan finds (a task the
    scan missed still dies), then again until no task of the uid remains. ``first`` is
    what the first child as the uid runs (it must kill all, as :func:`_kill_all` does); ``via``
    forks the children (see :func:`_as_uid`).
    """
    if os.geteuid() != 0:
        return True
    end = time.monotonic() + timeout_s
    job = first
    while True:
        _as_uid(uid, job, via)
        job = _kill_all
        for _ in range(5):  # SIGKILL is delivered at once, exit takes a moment
            if not tasks([uid]):
                return True
            time.sleep(0.01)
        if time.monotonic() > end:
            return False


def sysv_objects(uids: Iterable[int]) -> list[tuple[str, int, int]]:
    """(kind, id, uid) of every SysV shared-memory segment, semaphore set and message queue
    owned or created by one of ``uids`` (in this process's IPC namespace)."""
    wanted = set(uids)
    found = []
    for kind in _SYSV:
        try:
            lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        if not lines:
            continue
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split()))
            try:
                ident = int(row[header[1]])  # shmid / semid / msqid
                owners = {int(row["uid"]), int(row["cuid"])}
            except (KeyError, ValueError):
                continue
            for uid in owners & wanted:
                found.append((kind, ident, uid))
                break
    return found


def remove_sysv(uid: int) -> None:
    """Remove every SysV object of ``uid`` (IPC_RMID on each id, sent as the uid: the owner may,
    where root may not without CAP_SYS_ADMIN, as under Docker)."""
    found = sysv_objects([uid])
    if not found or os.geteuid() != 0:
        return

    def remove() -> int:
        for kind, ident, _ in found:
            remover = getattr(_LIBC, _SYSV[kind])
            if kind == "sem":
                remover(ctypes.c_int(ident), ctypes.c_int(0), ctypes.c_int(IPC_RMID))
            else:
                remover(ctypes.c_int(ident), ctypes.c_int(IPC_RMID), ctypes.c_void_p(None))
        return 0

    _as_uid(uid, remove)


def key_counts() -> dict[int, int]:
    """uid -> how many keys the kernel charges to it (/proc/key-users lists uids with keys)."""
    try:
        lines = Path("/proc/key-users").read_text().splitlines()
    except OSError:
        return {}
    counts = {}
    for line in lines:
        owner, _, rest = line.partition(":")
        try:
            counts[int(owner)] = int(rest.split()[1].split("/")[0])
        except (ValueError, IndexError):
            continue
    return counts


def key_count(uid: int) -> int:
    """How many keys the kernel charges to ``uid`` (0 when it has none)."""
    return key_counts().get(uid, 0)


def _keyctl(*args: int) -> int:
    return _LIBC.syscall(ctypes.c_long(_SYS_KEYCTL), *(ctypes.c_long(a) for a in args))


def _clear_own_keyrings() -> int:
    """As the uid: empty its user, user-session and persistent keyrings.

    Exit code 0: they were empty; 2: they were cleared and now read empty; 1: not cleared.
    Clearing needs a fresh session keyring first: the persistent keyring can be written
    only through a keyring this process possesses (linked from the user keyring it is not).
    """
    buf = ctypes.create_string_buffer(64)

    def sizes(rings: list[int]) -> list[int]:
        return [_keyctl(KEYCTL_READ, ring, ctypes.addressof(buf), 64) for ring in rings]

    persistent = _keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_USER_KEYRING)  # linked into @u ...
    if persistent > 0:
        _keyctl(KEYCTL_UNLINK, persistent, KEY_SPEC_USER_KEYRING)  # ... and out again
    rings = [KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING] + ([persistent] if persistent > 0 else [])
    if all(n == 0 for n in sizes(rings)):
        return 0
    _keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0)
    persistent = _keyctl(KEYCTL_GET_PERSISTENT, -1, KEY_SPEC_SESSION_KEYRING)
    rings = rings[:2] + ([persistent] if persistent > 0 else [])
    for ring in reversed(rings):
        _keyctl(KEYCTL_CLEAR, ring)
    return 2 if all(n == 0 for n in sizes(rings)) else 1


def _keys_collected(uid: int, timeout_s: float = 5.0) -> bool:
    """Wait until only the empty keyrings of ``uid`` remain; True when they do.

    Keys of dead processes (thread, process and session keyrings, the one used to clear)
    are collected by the kernel shortly after the clear: this waits for that, adding none.
    """
    end = time.monotonic() + timeout_s
    while key_count(uid) > EMPTY_KEYRINGS:
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def remove_files_of(uid: int) -> None:
    """Delete what ``uid`` left in the shared temporary folders (only reachable without a mount namespace)."""
    for folder in {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock"}:
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


def leftovers(uids: Iterable[int], scan_tasks: bool = True) -> dict[int, list[str]]:
    """What each of ``uids`` still has alive or allocated (tasks, SysV objects, keys beyond empty keyrings).

    ``scan_tasks=False`` leaves tasks out, for a caller that has just seen none left.
    """
    wanted = sorted(set(uids))
    found: dict[int, list[str]] = {}
    for pid, tid, uid in tasks(wanted) if scan_tasks else ():
        found.setdefault(uid, []).append(f"task {tid} of process {pid}")
    for kind, ident, uid in sysv_objects(wanted):
        found.setdefault(uid, []).append(f"SysV {kind} {ident}")
    counts = key_counts()
    for uid in wanted:
        if counts.get(uid, 0) > EMPTY_KEYRINGS:
            found.setdefault(uid, []).append(f"{counts[uid]} keys")
    return found


def _kill_all_and_clear_keys() -> int:
    # Once kill(-1) has returned, no process of the uid runs its own code again (SIGKILL is
    # pending in each, and a fork under way is abandoned), so none can add a key after the clear.
    _kill_all()
    return _clear_own_keyrings() if _SYS_KEYCTL is not None else 0


def clean_uid(uid: int, via: Sweeper | None = None) -> list[str]:
    """Kill, remove and clear everything of ``uid``; what could not be removed (empty when clean).

    One child as the uid kills its processes and clears its keys (this runs after every
    graded line: ``via`` forks it from a small helper, not from the grader); the scans then check both.
    """
    if os.geteuid() != 0:
        return []
    killed = kill_uid(uid, first=_kill_all_and_clear_keys, via=via)
    remove_sysv(uid)
    _keys_collected(uid)
    remove_files_of(uid)
    return leftovers([uid], scan_tasks=not killed).get(uid, [])
