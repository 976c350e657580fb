"""Enter a worker's isolation from inside a forked process: the zygote's counterpart of
:mod:`isolation`'s shell prefix (same levels, same mounts, same privilege drop).

Copied beside the worker and run as root in a freshly forked child of the zygote, before
any student code exists in that process. Standard library and ctypes only: Python 3.11 has
no ``os.unshare`` or ``os.mount``.
"""
from __future__ import annotations

import ctypes
import os
import signal

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x4000000, 0x8000000, 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
_FLAGS = {"full": CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS | CLONE_NEWNET,
          "mount": CLONE_NEWNS | CLONE_NEWNET, "net": CLONE_NEWNET, "uid": 0}  # isolation.LEVELS
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                       ctypes.c_ulong(flags), data.encode() if data else None), f"mount {target}")


def join_cgroups(procs_files: list[str]) -> None:
    """Put this process (and so everything it starts) in the worker's cgroups."""
    for path in procs_files:
        with open(path, "w") as f:
            f.write(str(os.getpid()))


def die_with_parent() -> None:
    """SIGKILL this process when the one that started it ends (``PR_SET_PDEATHSIG``)."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "pdeathsig")


def _private_files(work: str, keep: str, hide: list[str], scratch_mb: int, uid: int, ipc: bool,
                   scratch_dir: str) -> None:
    """The mounts of ``isolation._NS_SETUP``, in the same order and with the same sizes."""
    held = [os.open(p, os.O_RDONLY | os.O_DIRECTORY) for p in (work, *([keep] if keep else []))]

    def scratch(path: str, opts: str) -> None:
        _mount("course-scratch", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_mb}m,{opts}")

    scratch("/tmp", "mode=1777")
    for path in hide:
        if os.path.isdir(path):  # gone already if it lay under /tmp
            _mount("course-hidden", path, "tmpfs", 0, "size=1m,mode=755")
    for path, fd in zip((work, keep), held):
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
        os.close(fd)
    for path in ("/var/tmp", "/dev/shm", "/run/lock"):
        if os.path.isdir(path):
            scratch(path, "mode=1777")
    if ipc and os.path.isdir("/dev/mqueue"):  # the new IPC namespace's queues, not the host's
        _mount("course-mqueue", "/dev/mqueue", "mqueue", 0)
    scratch(scratch_dir, f"mode=700,uid={uid},gid={uid}")


def _drop(uid: int) -> None:
    """``setpriv --reuid --regid --clear-groups --no-new-privs``; then die with the parent."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    die_with_parent()  # the uid change cleared it


def _wait_and_mirror(pid: int) -> None:
    """Outside the new PID namespace: wait for its first process and end the same way."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def enter(level: str, uid: int, work: str, keep: str, hide: list[str], scratch_mb: int, scratch: str) -> None:
    """Isolate this (root, single-threaded) process at ``level``; returns as ``uid`` in ``scratch``
    (a folder of ``work``: each of a grading's uids has its own).

    At ``full`` the caller stays outside the new PID namespace as its waiting parent and
    never returns; the child that returns is that namespace's first process, with its own /proc.
    """
    if _FLAGS[level]:
        _check(_libc.unshare(_FLAGS[level]), f"unshare ({level})")
    if _FLAGS[level] & CLONE_NEWNS:
        _mount("none", "/", None, MS_REC | MS_PRIVATE)  # nothing propagates back to the host
    if level == "full":
        pid = os.fork()
        if pid:
            _wait_and_mirror(pid)
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV)
    if level in ("full", "mount"):
        _private_files(work, keep, hide, scratch_mb, uid, ipc=level == "full", scratch_dir=scratch)
    _drop(uid)
    os.chdir(scratch)
