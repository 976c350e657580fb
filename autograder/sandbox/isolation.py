"""How a worker is isolated: the strongest level the machine allows, and the command prefix for it.

Levels, strongest first: ``full`` (separate uid; PID, IPC, UTS, mount and network
namespaces; private file system), ``mount`` (no PID/IPC namespace), ``net``, ``uid``
(separate uid only: Docker without CAP_SYS_ADMIN, i.e. Gradescope) and ``none`` (the
grader is not root).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Sequence

_HERE = Path(__file__).resolve().parent
FULL_ISOLATION = "separate user, no network, private file system, processes and IPC"
LEVELS = {
    "full": FULL_ISOLATION,
    "mount": "separate user, no network, private file system (no PID/IPC namespace: the submission sees "
             "other processes; the sweep after each worker removes what it leaves)",
    "net": "separate user, no network (no mount namespace: the file system is shared)",
    "uid": "separate user (no namespaces: the network and file system are shared; the sweep after each "
           "worker removes what it leaves)",
}
_NAMESPACES = {"full": ["--pid", "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts", "--mount", "--net"],
               "mount": ["--mount", "--net"]}

# Run as root inside the new namespaces, before dropping to the sandbox uid:
# $1 worker folder, $2 uid, $3 scratch size (MB), $4 folder to keep visible inside
# a hidden one (the virtual environment), $5 "ipc" in a new IPC namespace, $6 the worker's
# scratch folder (in the worker folder), $7 number of folders to hide, then those folders, then the command. Propagation is private, so nothing leaks to the host.
# Every tmpfs the worker can write has a size: /tmp, /var/tmp, /dev/shm, /run/lock, its folder.
_NS_SETUP = r"""
set -e
work=$1 uid=$2 mb=$3 keep=$4 ipc=$5 dir=$6 n=$7
shift 7
scratch() { mount -t tmpfs -o "size=${mb}m,nosuid,nodev,$2" course-scratch "$1"; }
# Hold the folders that must stay visible before hiding anything: the checkout and
# the worker folder may both live under /tmp. They are bound back from these handles.
exec 3<"$work"
if [ -n "$keep" ]; then exec 4<"$keep"; fi
scratch /tmp mode=1777
while [ "$n" -gt 0 ]; do
  if [ -d "$1" ]; then mount -t tmpfs -o size=1m,mode=755 course-hidden "$1"; fi  # gone already if under /tmp
  shift; n=$((n - 1))
done
mkdir -p "$work" && mount -c --bind /proc/self/fd/3 "$work"
if [ -n "$keep" ]; then mkdir -p "$keep" && mount -c --bind /proc/self/fd/4 "$keep" && exec 4<&-; fi
exec 3<&-
for d in /var/tmp /dev/shm /run/lock; do if [ -d "$d" ]; then scratch "$d" mode=1777; fi; done
# POSIX message queues of the new IPC namespace (they go with it), not the host's.
if [ "$ipc" = ipc ] && [ -d /dev/mqueue ]; then mount -t mqueue course-mqueue /dev/mqueue; fi
scratch "$dir" "mode=700,uid=$uid,gid=$uid"
cd "$dir"
exec "$@"
"""
# Run as root before anything else: put this process (and so the worker) in its cgroups.
# $1 number of cgroup.procs files, then those files, then the command.
_JOIN_CGROUPS = r"""
n=$1; shift
while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 111; shift; n=$((n - 1)); done
exec "$@"
"""


def worker_paths(workdir: Path) -> list[str]:
    """sys.path of a worker: its own folder, then the installed packages."""
    return [str(workdir)] + sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def hidden_paths(extra: Sequence[Path]) -> list[Path]:
    """Folders the student must not see: the course checkout (or the installed grader) and ``extra``."""
    package, above = _HERE.parent, _HERE.parent.parent
    paths = {above if (above / "course.yml").is_file() else package, *(Path(p).resolve() for p in extra)}
    return sorted(p for p in paths if p.is_dir() and not any(q != p and q in p.parents for q in paths))


def kept_path(hide: Sequence[Path]) -> str:
    """The virtual environment, where a hidden folder holds it: bound back inside, or ""."""
    venv = Path(sys.prefix).resolve()
    return next((str(venv) for h in hide if h in venv.parents), "")


def prefix(level: str, uid: int, workdir: Path, hide: Sequence[Path], scratch_mb: int,
           cgroups: Sequence[str] = (), scratch: Path | None = None) -> list[str]:
    """Command prefix that runs a worker at isolation ``level``, in the ``cgroups`` (cgroup.procs files),
    in its ``scratch`` folder (``workdir/scratch`` by default)."""
    if level == "none":
        return []
    join = ["sh", "-c", _JOIN_CGROUPS, "sh", str(len(cgroups)), *cgroups] if cgroups else []
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--"]
    if level == "uid":
        return [*join, *drop]
    if level == "net":
        return [*join, "unshare", "--net", "--", *drop]
    keep = kept_path(hide)
    ipc = "ipc" if "--ipc" in _NAMESPACES[level] else "-"
    return [*join, "unshare", *_NAMESPACES[level], "--", "sh", "-c", _NS_SETUP, "sh", str(workdir),
            str(uid), str(scratch_mb), keep, ipc, str(scratch or workdir / "scratch"), str(len(hide)),
            *map(str, hide), *drop]


@functools.lru_cache(maxsize=None)
def level(uid: int, hide: tuple[Path, ...]) -> tuple[str, str]:
    """The strongest isolation that works here, tried once per process, and its description."""
    if os.geteuid() != 0:
        return "none", "same user (grader is not root): the submission can read what the grader can"
    if shutil.which("setpriv") is None:
        return "none", "same user (root!): setpriv is missing"
    with tempfile.TemporaryDirectory(prefix="course-probe-") as tmp:
        work = Path(tmp)
        (work / "scratch").mkdir()
        os.chmod(work, 0o755)
        # Whether the sandbox user can start this Python and read numpy where the worker looks
        # for it; importing numpy itself would add 0.1 s to every grading and check nothing more.
        probe = [sys.executable, "-I", "-S", "-c",
                 f"import sys; sys.path[:0] = {worker_paths(work)!r}; from importlib.util import find_spec; "
                 "open(find_spec('numpy').origin, 'rb').close()"]
        for name, text in LEVELS.items():
            if name != "uid" and not shutil.which("unshare"):
                continue
            cmd = [*prefix(name, uid, work, hide, 8), *probe]
            if subprocess.run(cmd, cwd=work / "scratch", capture_output=True).returncode == 0:
                return name, text
    return "none", "same user (root!): the sandbox user cannot run this Python; install it outside /root"
