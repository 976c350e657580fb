"""What a root sees of the host: kernel file systems and the host's pip configuration, read-only.

:class:`Mounts` unmounts everything it mounted, in reverse order, whatever happens
(a lazy unmount is the last resort for a mount still busy).
"""
from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from ..errors import CourseError
from .cgroups import HIERARCHY as CGROUP_HIERARCHY

PIP_CONFIGS = (Path("/etc/pip.conf"), Path("/etc/xdg/pip"), Path.home() / ".config/pip", Path.home() / ".pip")
# pip options whose values name local files or folders the root must see.
PATH_OPTIONS = ("find-links", "index-url", "extra-index-url", "cert", "client-cert", "constraint", "requirement")


def mounted_under(path: Path) -> list[Path]:
    """Mount points at or below ``path`` (from /proc/self/mounts)."""
    base = str(Path(path).resolve())
    points = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point == base or point.startswith(base + "/"):
            points.append(Path(point))
    return points


def _local_path(value: str) -> Path | None:
    if value.startswith("file://"):
        value = urlparse(value).path
    return Path(value) if value.startswith("/") else None


def pip_host_paths(env: dict[str, str] | None = None) -> list[Path]:
    """Host files and folders pip's configuration uses: config files, find-links, file:// indexes, certificates."""
    env = os.environ if env is None else env
    configs = [*PIP_CONFIGS, *([Path(env["PIP_CONFIG_FILE"])] if env.get("PIP_CONFIG_FILE") else [])]
    files = [p for c in configs for p in ([c] if c.is_file() else sorted(c.glob("*.conf")) if c.is_dir() else [])]
    values = [(k[4:].lower().replace("_", "-"), v) for k, v in env.items() if k.startswith("PIP_")]
    for conf in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(conf)
        except configparser.Error:
            continue
        values += [(k, parser[s][k]) for s in parser.sections() for k in parser[s]]
    found = {c for c in configs if c.exists()}
    for key, value in values:
        for item in value.split() if key in PATH_OPTIONS else []:
            path = _local_path(item)
            if path is not None and key.endswith("index-url") and path.name == "simple":
                path = path.parent  # a file:// index links to its files beside simple/
            if path is not None and path.exists():
                found.add(path)
    # A folder that holds another one is enough; /etc/ssl is the root's own (copied in, not mounted).
    keep = sorted(p for p in found if not any(q != p and q in p.parents for q in found))
    return [p for p in keep if not str(p).startswith("/etc/ssl/")]


class Mounts:
    """Mounts inside ``root``; use as a context manager (unmounts on exit, on error and on interrupt).

    ``system``: on entry, mount what Docker gives every container and the host's pip configuration.
    """

    def __init__(self, root: Path, system: bool = True):
        self.root = Path(root).resolve()
        self.system = system
        self._points: list[Path] = []

    def _mount(self, args: list[str], point: Path) -> None:
        proc = subprocess.run(["mount", *args, str(point)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise CourseError(f"mount {' '.join(args)} {point}: {proc.stderr.strip()}")
        self._points.append(point)

    def inside(self, host: Path) -> Path:
        return self.root / Path(host).relative_to("/")

    def bind_readonly(self, host: Path, point: Path | None = None) -> None:
        """Show the host's ``host`` read-only in the root, at ``point`` (default: the same path)."""
        point = self.inside(host) if point is None else point
        if host.is_dir():
            point.mkdir(parents=True, exist_ok=True)
        else:
            point.parent.mkdir(parents=True, exist_ok=True)
            point.touch()
        self._mount(["--bind", str(host)], point)
        proc = subprocess.run(["mount", "-o", "remount,bind,ro", str(point)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise CourseError(f"cannot make {point} read-only: {proc.stderr.strip()}")

    def show_cgroups(self, groups: list[Path]) -> None:
        """As Docker does on cgroup v1: the run's own groups, read-only, at /sys/fs/cgroup/<controller>."""
        base = self.root / "sys/fs/cgroup"
        self._mount(["-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs"], base)
        for group in groups:
            self.bind_readonly(group, base / group.relative_to(CGROUP_HIERARCHY).parts[0])
        subprocess.run(["mount", "-o", "remount,ro", str(base)], capture_output=True)

    def __enter__(self) -> "Mounts":
        if not self.system:
            return self
        try:
            # As in Docker: / is a mount point (unshare --mount needs it), /proc, a read-only /sys, 64 MB /dev/shm.
            self._mount(["--bind", str(self.root)], self.root)
            self._mount(["-t", "proc", "proc"], self.root / "proc")
            self._mount(["-t", "sysfs", "-o", "ro", "sysfs"], self.root / "sys")
            (self.root / "dev/shm").mkdir(parents=True, exist_ok=True)
            self._mount(["-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs"], self.root / "dev/shm")
            for path in pip_host_paths():
                self.bind_readonly(path)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Unmount in reverse order; a busy mount is detached lazily rather than left."""
        problems = []
        while self._points:
            point = self._points.pop()
            if subprocess.run(["umount", str(point)], capture_output=True).returncode != 0:
                if subprocess.run(["umount", "-l", str(point)], capture_output=True).returncode != 0:
                    problems.append(str(point))
        if problems:
            raise CourseError(f"could not unmount {', '.join(problems)}")

    def __exit__(self, *exc) -> None:
        self.close()
