"""cgroup (v1) helpers for the benchmarks: run a command at a CPU quota, or measure its peak memory.

Each group is made for one command, as a child of this process's own group (memory) or
of the hierarchy root (cpu, where this machine's processes sit), and removed afterwards.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from autograder.sandbox.cgroups import own_group
# The command enters the group before it runs: everything it starts is counted too.
_ENTER = 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"'


def _own_group(controller: str) -> Path:
    folder = own_group(controller)
    if folder is None:
        raise RuntimeError(f"no {controller} cgroup for this process")
    return folder


@contextmanager
def group(controller: str, settings: dict[str, str] | None = None) -> Iterator[Path]:
    """A fresh cgroup of ``controller`` with ``settings`` written into it; removed on exit."""
    path = _own_group(controller) / f"course-bench-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    try:
        for name, value in (settings or {}).items():
            (path / name).write_text(value)
        yield path
    finally:
        for _ in range(100):  # the last process may still be exiting
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.05)


def in_group(path: Path, cmd: list[str]) -> list[str]:
    """``cmd`` prefixed so that it runs inside cgroup ``path``."""
    return ["sh", "-c", _ENTER, "sh", str(path), *cmd]


def cpu_quota(percent: int) -> dict[str, str]:
    """Settings of a cpu group limited to ``percent`` % of one CPU."""
    return {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(percent * 1000)}


def run_measuring_memory(cmd: list[str], limit_mb: int | None = None,
                         **kwargs) -> tuple[subprocess.CompletedProcess, dict[str, float]]:
    """Run ``cmd`` in a memory group of its own (limited to ``limit_mb`` if given); return the
    process and its peak memory in MB.

    ``peak``: the group's max_usage_in_bytes (resident memory plus the page cache it
    touched, what a memory limit counts); ``rss``: the largest sampled anonymous memory
    (total_rss of memory.stat, every 20 ms).
    """
    settings = {"memory.limit_in_bytes": str(limit_mb * 2**20)} if limit_mb else {}
    with group("memory", settings) as path:
        best = {"rss": 0}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    stat = dict(line.split() for line in (path / "memory.stat").read_text().splitlines())
                    best["rss"] = max(best["rss"], int(stat.get("total_rss", stat.get("rss", 0))))
                except OSError:
                    pass
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            proc = subprocess.run(in_group(path, cmd), **kwargs)
        finally:
            done.set()
            sampler.join()
        peak = int((path / "memory.max_usage_in_bytes").read_text())
        failcnt = int((path / "memory.failcnt").read_text())
    return proc, {"peak": peak / 2**20, "rss": best["rss"] / 2**20, "at_limit": failcnt}


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as `uptime` prints them."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_ticks() -> tuple[int, int]:
    """(steal, total) CPU ticks of the machine so far (/proc/stat; (0, 0) where unreadable)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def steal_since(start: tuple[int, int]) -> str:
    """The share of CPU time the hypervisor gave to other machines since ``start`` (from :func:`cpu_ticks`):
    a virtual machine's load average does not show it, and it slows every timing alike."""
    steal, total = cpu_ticks()
    return f"{100 * (steal - start[0]) / max(1, total - start[1]):.0f} %"
