"""Gradescope-like limits for one run: a memory cgroup (cgroup v1), optionally a CPU quota.

Groups are created as children of this process's own cgroup (contract 6), so the
limits nest inside whatever already limits the caller, and removed afterwards.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from ..errors import CourseError
from ..sandbox.cgroups import own_group as sandbox_own_group

HIERARCHY = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def own_group(controller: str) -> Path:
    """This process's cgroup folder for ``controller`` (v1)."""
    folder = sandbox_own_group(controller)
    if folder is None:
        raise CourseError(f"no {controller} cgroup (cgroup v1) on this machine")
    return folder


class Limits:
    """A memory group (and a CPU group when ``cpu`` is given) named ``name``; a context manager.

    ``memory_mb=None`` sets no limit but still measures the peak.
    """

    def __init__(self, name: str, memory_mb: int | None, cpu: float | None = None):
        self.name, self.memory_mb, self.cpu = name, memory_mb, cpu
        self.groups: list[Path] = []

    def __enter__(self) -> "Limits":
        try:
            memory = own_group("memory") / self.name
            memory.mkdir()
            self.groups.append(memory)
            if self.memory_mb is not None:
                limit = str(self.memory_mb << 20)
                (memory / "memory.limit_in_bytes").write_text(limit)
                # Without swap accounting off, a limited group could page out instead of being OOM-killed.
                swap = memory / "memory.memsw.limit_in_bytes"
                if swap.exists():
                    try:
                        swap.write_text(limit)
                    except OSError:
                        pass
            if self.cpu is not None:
                cpu = own_group("cpu") / self.name
                cpu.mkdir()
                self.groups.append(cpu)
                (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (cpu / "cpu.cfs_quota_us").write_text(str(max(1000, round(self.cpu * PERIOD_US))))
        except BaseException:
            self.close()
            raise
        return self

    def join_command(self) -> list[str]:
        """A shell prefix that moves itself into the groups, then execs the rest of the command."""
        moves = "; ".join(f'echo $$ > "{g}/cgroup.procs"' for g in self.groups)
        return ["sh", "-c", f'{moves} && exec "$@"', "sh"]

    @property
    def memory(self) -> Path:
        return self.groups[0]

    def pids(self) -> list[int]:
        """Processes in the memory group now."""
        try:
            return [int(x) for x in (self.memory / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def peak_mb(self) -> float:
        """Peak memory charged to the group (memory.max_usage_in_bytes), in MB."""
        return int((self.memory / "memory.max_usage_in_bytes").read_text()) / 2**20

    def usage(self) -> dict[str, float]:
        """Charged memory now, and its anonymous (rss) and file (cache) parts, in MB."""
        try:
            stat = dict(line.split() for line in (self.memory / "memory.stat").read_text().splitlines())
            now = int((self.memory / "memory.usage_in_bytes").read_text())
            return {"usage": now / 2**20, "anon": int(stat.get("total_rss", stat.get("rss", 0))) / 2**20,
                    "file": int(stat.get("total_cache", stat.get("cache", 0))) / 2**20}
        except (OSError, ValueError):
            return {}

    def limit_hits(self) -> int:
        """How often the group reached its limit (memory.failcnt: reclaim or OOM kill)."""
        try:
            return int((self.memory / "memory.failcnt").read_text())
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """Kill what is left in the groups and any sub-group (a grading's per-worker groups nest
        here, contract 6; only this run's processes can be inside), then remove them, deepest first."""
        for group in reversed(self.groups):
            for folder in [Path(f) for f, _, _ in os.walk(group, topdown=False)]:
                _empty(folder)
                try:
                    folder.rmdir()
                except OSError:
                    pass
        self.groups = []

    def __exit__(self, *exc) -> None:
        self.close()


def _empty(group: Path, wait: float = 10.0) -> None:
    """SIGKILL every process in ``group`` until none is left (or ``wait`` seconds passed)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            pids = [int(x) for x in (group / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
