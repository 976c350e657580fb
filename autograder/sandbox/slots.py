"""The trusted side's hold on sandbox uids and the worker processes started on them.

A :class:`Slot` is one claimed sandbox uid with its scratch folder; a :class:`Worker` is
one started worker process (its pipes, its cgroups). A grading holds two slots so that the
next graded line's worker can be started on one while the current line's runs on the
other: a slot is only given a new worker once the sweep has removed everything its last
one left, so no worker ever meets anything of another.
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

from . import protocol, sweep, warm
from .cgroups import WorkerGroup
from .sweeper import Sweeper
from .uids import claim_uid

_READY = {"ready": True}


class Slot:
    """A sandbox uid held by this grading (or this user's own uid), and the worker's scratch folder.

    Parameters
    ----------
    scratch : Path
        The workers' working folder, HOME and TMPDIR on this slot (emptied after each).
    own_uid : bool
        Whether the workers run as a sandbox uid (root only); else as this user.
    sweeper : Sweeper or None
        The helper that forks the sweep's child as the uid (else the grader forks it).
    """

    def __init__(self, scratch: Path, own_uid: bool, sweeper: Sweeper | None = None):
        self.uid, self._lock = claim_uid() if os.geteuid() == 0 else (os.getuid(), None)
        self.scratch, self.own_uid, self.sweeper = scratch, own_uid, sweeper
        self.fresh_scratch()

    def fresh_scratch(self) -> None:
        """An empty scratch folder that only the slot's uid may enter."""
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(mode=0o700)
        if self.own_uid:
            os.chown(self.scratch, self.uid, self.uid)

    def sweep(self) -> bool:
        """Remove everything the uid owns (processes, SysV objects, keys, files); True when clean.

        A uid that cannot be cleaned is given up (other gradings skip it too) and a fresh one claimed.
        """
        clean = True
        if self.own_uid and os.geteuid() == 0 and sweep.clean_uid(self.uid, via=self.sweeper):
            clean = False
            old = self._lock
            self.uid, self._lock = claim_uid()
            if old is not None:
                old.close()
        self.fresh_scratch()
        return clean

    def release(self) -> None:
        """Let other gradings claim the uid (after a last sweep); a second call does nothing."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


class Worker:
    """One started worker process: its pipes (ours: requests in, replies out) and its cgroups.

    It is started (forked or spawned) at once and waited for only by :meth:`await_ready`, so a
    spare can start while the current worker serves.
    """

    def __init__(self, slot: Slot, proc: subprocess.Popen | warm.PendingSpawn, wfd: int, rfd: int,
                 group: WorkerGroup):
        self.slot, self.proc, self.wfd, self.rfd, self.group = slot, proc, wfd, rfd, group

    def read(self, n: int, deadline: float | None) -> bytes:
        """``n`` bytes of the worker's replies; TimeoutError past ``deadline``, EOFError if it ended."""
        chunks, got = [], 0
        while got < n:
            left = 3600.0 if deadline is None else deadline - time.monotonic()
            if left <= 0 or not select.select([self.rfd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(self.rfd, min(n - got, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def await_ready(self, startup_s: float) -> bool:
        """Whether the worker said it is ready (its imports done) within ``startup_s``."""
        if isinstance(self.proc, warm.PendingSpawn):
            self.proc = self.proc.result()  # ZygoteError if the zygote could not fork it
        deadline = time.monotonic() + startup_s
        try:
            (length,) = struct.unpack(">Q", self.read(8, deadline))
            return length <= 4096 and protocol.decode(self.read(length, deadline)) == _READY
        except (TimeoutError, EOFError, OSError, protocol.ProtocolError):
            return False

    def poll(self) -> int | None:
        """Its exit code once it has ended, else None (also None while a fork is still pending)."""
        return None if isinstance(self.proc, warm.PendingSpawn) else self.proc.poll()

    def kill(self) -> None:
        """Kill the worker and its process group, reap it, close our pipe ends and remove its cgroups
        (the sweep of its uid, which catches what escaped the group, is the slot's)."""
        proc = self.proc
        if isinstance(proc, warm.PendingSpawn):
            try:
                proc = self.proc = proc.result()
            except warm.ZygoteError:
                proc = None  # never forked, or already reaped by the zygote
        if proc is not None:
            if proc.returncode is None:  # not reaped yet, so its pid (= its group) cannot be another's
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.kill()
            proc.wait()
        for fd in (self.wfd, self.rfd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.wfd = self.rfd = -1

    def remove_group(self) -> None:
        """Remove the worker's cgroups (once the sweep has ended every task in them)."""
        self.group.remove()
