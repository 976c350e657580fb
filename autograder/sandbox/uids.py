"""Sandbox uids: one per grading in progress on this machine, claimed with a lock file.

A uid is handed to a grading only once nothing of it is alive or allocated (tasks,
SysV IPC objects, keys): a grading never meets what an earlier one left.
"""
from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path
from typing import IO

from . import sweep

SANDBOX_UID = int(os.environ.get("COURSE_SANDBOX_UID", "61000"))  # first of a range of 1000 uids
UID_RANGE = range(SANDBOX_UID, SANDBOX_UID + 1000)
# A fixed place, not tempfile.gettempdir(): two gradings whose TMPDIR differ must still
# see each other's claims, or both take the first uid and kill each other's workers.
_UID_LOCKS = Path("/tmp/course-sandbox-uids")


def _lock_folder() -> Path:
    """The folder of lock files, created private to this user; refused if someone else made it."""
    _UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(_UID_LOCKS)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        raise RuntimeError(f"{_UID_LOCKS} is not a private folder of this user: sandbox uids cannot be claimed")
    return _UID_LOCKS


def _try_lock(uid: int) -> IO | None:
    """The lock file of ``uid``, locked, or None when another grading holds it."""
    handle = open(_lock_folder() / f"{uid}.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle
    except OSError:
        handle.close()
        return None


def claim_uid() -> tuple[int, IO]:
    """A sandbox uid that no other grading holds and that owns nothing (its lock is held).

    Leftovers of a grading that crashed are removed first; a uid whose leftovers cannot
    be removed is skipped (and stays so until they are gone).
    """
    for uid in UID_RANGE:
        handle = _try_lock(uid)
        if handle is None:
            continue
        if not sweep.clean_uid(uid):
            return uid, handle
        handle.close()
    raise RuntimeError("no free sandbox uid")


def in_use() -> set[int]:
    """Sandbox uids that have a task, a SysV object or keys beyond their empty keyrings."""
    return set(sweep.leftovers(UID_RANGE))


def reap_orphans() -> None:
    """Remove what sandbox uids that no grading holds still own (a grader killed before cleaning up)."""
    if os.geteuid() != 0:
        return
    for uid in sorted(in_use()):
        handle = _try_lock(uid)
        if handle is not None:
            sweep.clean_uid(uid)
            handle.close()
