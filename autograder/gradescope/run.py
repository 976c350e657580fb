"""One command inside a root: chroot, Docker's default capabilities, a cgroup, a clean environment.

While it runs, the resident memory of its processes is sampled by role, so a report
can say where the memory goes (trusted runner, sandboxed worker, otter).
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cgroups import Limits

# Docker's default capability set (effective mask a80425fb): CAP_SYS_ADMIN and the rest are dropped.
DOCKER_CAPS = ("chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
               "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Outcome:
    """What one run took: exit status, wall time, cgroup peak, peak RSS per role, output tail."""

    returncode: int
    wall_s: float
    peak_mb: float
    limit_hits: int
    rss_mb: dict[str, float] = field(default_factory=dict)
    fullest_mb: dict[str, float] = field(default_factory=dict)
    output: str = ""


def drop_capabilities() -> list[str]:
    """A command prefix that keeps only Docker's default capabilities for what it executes."""
    caps = "-all," + ",".join(f"+{c}" for c in DOCKER_CAPS)
    return ["setpriv", f"--bounding-set={caps}", "--inh-caps=-all", "--"]


def role(pid: int, sandbox_uid: int) -> str:
    """Which part of a grading a process is: worker, runner, kernel, otter or other."""
    try:
        uid = os.stat(f"/proc/{pid}").st_uid
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if sandbox_uid <= uid < sandbox_uid + 1000:
        return "worker"
    for needle, name in (("autograder.runner", "runner"), ("ipykernel", "kernel"), ("run_otter", "otter")):
        if needle in cmd:
            return name
    return "other"


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


class _Sampler(threading.Thread):
    """Every ``every`` seconds: the largest process RSS per role, and the cgroup's anonymous
    and file memory at its fullest sample (RSS double-counts shared library pages)."""

    def __init__(self, limits: Limits, sandbox_uid: int, every: float = 0.25):
        super().__init__(daemon=True)
        self.limits, self.sandbox_uid, self.every = limits, sandbox_uid, every
        self.peaks: dict[str, float] = {}
        self.fullest: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            for pid in self.limits.pids():
                name = role(pid, self.sandbox_uid)
                self.peaks[name] = max(self.peaks.get(name, 0.0), _rss_mb(pid))
            now = self.limits.usage()
            if now.get("usage", 0.0) > self.fullest.get("usage", 0.0):
                self.fullest = now


def run_in_root(root: Path, script: str, limits: Limits, env: dict[str, str], timeout: float,
                sandbox_uid: int, log: Path) -> Outcome:
    """Run ``bash -c script`` as root inside ``root`` under ``limits``; output goes to ``log``."""
    full_env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **env}
    full_env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
    cmd = [*limits.join_command(), *drop_capabilities(), "chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in full_env.items()),
           "/bin/bash", "-c", f"cd / && {script}"]
    sampler = _Sampler(limits, sandbox_uid)
    start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = 124
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sampler.stop.set()
            sampler.join()
    wall = time.monotonic() - start
    text = log.read_text(errors="replace")
    return Outcome(returncode, wall, limits.peak_mb(), limits.limit_hits(),
                   {k: round(v) for k, v in sampler.peaks.items() if k != "gone" and v >= 1},
                   {k: round(v) for k, v in sampler.fullest.items()}, text[-3000:])
