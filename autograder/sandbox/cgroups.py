"""Per-worker cgroups (v1): a memory limit that counts everything, and a process limit.

``memory.limit_in_bytes`` charges shared mappings, SysV shared memory and tmpfs pages
to the worker, which ``RLIMIT_DATA`` does not. Each group is created as a child of
*this process's* group (from /proc/self/cgroup), never at the root of the hierarchy,
so a grading that is itself limited (Gradescope, the image check) keeps its workers
inside its own limit. Where the hierarchy is missing or read-only (Docker) nothing is
created and the worker falls back to rlimits.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

# Code and caches of the worker (Python, numpy, torch's libraries) on top of its data limit.
CODE_MB = 256


def _mounts() -> dict[str, tuple[Path, str]]:
    """v1 controller -> (mount point, the cgroup path at that mount's root)."""
    found: dict[str, tuple[Path, str]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, _, right = line.partition(" - ")
        fields, extra = left.split(), right.split()
        if len(fields) < 5 or len(extra) < 3 or extra[0] != "cgroup":
            continue
        for option in extra[2].split(","):
            found.setdefault(option, (Path(fields[4]), fields[3]))
    return found


def own_group(controller: str) -> Path | None:
    """The folder of this process's v1 cgroup for ``controller``, or None."""
    mount = _mounts().get(controller)
    if mount is None:
        return None
    point, root = mount
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, names, path = line.split(":", 2)
        if controller in names.split(","):
            rel = os.path.relpath(path, root) if path.startswith(root) else None
            if rel is None or rel.startswith(".."):
                return None
            folder = (point / rel).resolve() if rel != "." else point
            return folder if folder.is_dir() else None
    return None


class WorkerGroup:
    """The cgroups of one worker: created by :meth:`create`, joined by the worker's first process.

    Parameters
    ----------
    name : str
        Folder name of the groups (unique per worker on this machine).
    memory_mb : int
        The worker's data limit; the group allows that plus :data:`CODE_MB`.
    pids : int
        Most tasks (processes and threads) the worker may have at once.
    """

    def __init__(self, name: str, memory_mb: int, pids: int):
        self.name, self.memory_mb, self.pids = name, memory_mb, pids
        self.folders: dict[str, Path] = {}

    def create(self) -> bool:
        """Create what the machine allows; True when the memory limit is in place."""
        if os.geteuid() != 0:
            return False
        limit = (self.memory_mb + CODE_MB) * 1024 * 1024
        settings = {"memory": [("memory.limit_in_bytes", limit), ("memory.memsw.limit_in_bytes", limit)],
                    "pids": [("pids.max", self.pids)]}
        for controller, values in settings.items():
            parent = own_group(controller)
            if parent is None:
                continue
            folder = parent / self.name
            try:
                folder.mkdir()
            except OSError:
                continue
            self.folders[controller] = folder
            for filename, value in values:
                try:
                    (folder / filename).write_text(str(value))
                except OSError:
                    if filename != "memory.memsw.limit_in_bytes":  # absent without swap accounting
                        self.remove()
                        return False
        return "memory" in self.folders

    @property
    def procs_files(self) -> list[str]:
        """The cgroup.procs files the worker's first process writes its pid to."""
        return [str(f / "cgroup.procs") for f in self.folders.values()]

    def tasks(self) -> list[int]:
        """Every task in the groups (whatever its uid or PID namespace)."""
        found: set[int] = set()
        for folder in self.folders.values():
            try:
                found.update(int(t) for t in (folder / "tasks").read_text().split())
            except OSError:
                pass
        return sorted(found)

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a task of the worker for its memory limit."""
        folder = self.folders.get("memory")
        if folder is None:
            return False
        try:
            lines = (folder / "memory.oom_control").read_text().splitlines()
            failcnt = int((folder / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return False
        kills = [int(line.split()[1]) for line in lines if line.startswith("oom_kill ")]
        return bool(kills[0]) if kills else failcnt > 0

    def remove(self, timeout_s: float = 5.0) -> None:
        """Remove the groups (their tasks must be dead: a group is only removed empty)."""
        end = time.monotonic() + timeout_s
        for controller, folder in list(self.folders.items()):
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > end:
                        break
                    time.sleep(0.02)
            self.folders.pop(controller, None)
