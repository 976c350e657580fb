"""The clean Debian root: built once with debootstrap, cached, copied fresh for every check."""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
from pathlib import Path

from ..errors import CourseError

CACHE = Path("/var/cache/course-gradescope")
SUITES = {"bookworm": "12", "trixie": "13"}
HOST_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
# What setup.sh needs beyond minbase: HTTPS-capable apt for the mirror, certificates for pip.
INCLUDE = "ca-certificates"


def mirror() -> str:
    """The Debian mirror apt is configured with on this machine (its first ``URIs:``)."""
    try:
        found = re.search(r"^URIs:\s*(\S+)", HOST_SOURCES.read_text(), re.M)
    except OSError:
        found = None
    return found.group(1) if found else "http://deb.debian.org/debian"


def _sources(suite: str) -> str:
    """The host's deb822 sources with its suite names turned into ``suite``'s."""
    try:
        text = HOST_SOURCES.read_text()
    except OSError:
        return f"Types: deb\nURIs: {mirror()}\nSuites: {suite}\nComponents: main\n"
    host = re.search(r"^Suites:\s*(\w+)", text, re.M)
    return text.replace(host.group(1), suite) if host else text


def _ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    if not shutil.which("debootstrap"):
        raise CourseError("debootstrap is missing and `apt-get install debootstrap` failed")


def cached_root(suite: str = "bookworm") -> Path:
    """The cached pristine root of ``suite`` (built on first use; a folder nobody runs in)."""
    if suite not in SUITES:
        raise CourseError(f"unknown suite {suite!r} (choose from {', '.join(SUITES)})")
    done = CACHE / f"{suite}.ok"
    path = CACHE / suite
    if done.is_file() and path.is_dir():
        return path
    _ensure_debootstrap()
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = CACHE / f"{suite}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    proc = subprocess.run(["debootstrap", "--variant=minbase", f"--include={INCLUDE}", suite, str(partial), mirror()],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        tail = (proc.stdout.strip().splitlines() or ["no output"])[-1]
        raise CourseError(f"debootstrap {suite} failed: {tail}")
    (partial / "etc/apt/sources.list").unlink(missing_ok=True)
    (partial / "etc/apt/sources.list.d/debian.sources").write_text(_sources(suite))
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    done.write_text(f"Debian {SUITES[suite]} minbase + {INCLUDE} from {mirror()}\n")
    return path


def fresh_copy(suite: str, dest: Path) -> Path:
    """Copy the cached root to ``dest`` and give it the host's network and certificate files."""
    if dest.exists():
        raise CourseError(f"{dest} already exists")
    subprocess.run(["cp", "-a", str(cached_root(suite)), str(dest)], check=True)
    for name in ("etc/hosts", "etc/resolv.conf"):
        target = dest / name
        target.unlink(missing_ok=True)  # resolv.conf may be a dangling symlink in the root
        shutil.copyfile(Path("/") / name, target)
    install_host_certificates(dest)
    return dest


def install_host_certificates(root: Path) -> None:
    """Put the host's CA bundle in the root (again after apt's ca-certificates rebuilt its own)."""
    bundle = Path("/etc/ssl/certs/ca-certificates.crt")
    if bundle.is_file():
        target = root / bundle.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(bundle, target)


_REMOVALS: list[threading.Thread] = []


def remove(path: Path, wait: bool = True) -> None:
    """Delete a root copy; refuses while anything is still mounted inside it (host folders are).

    ``wait=False`` deletes in a background thread (unlinking 2 GB takes minutes on a disk
    mounted with ``discard``); :func:`finish_removals` waits for those.
    """
    from .mounts import mounted_under

    left = mounted_under(path)
    if left:
        raise CourseError(f"not removing {path}: still mounted there: {', '.join(map(str, left))}")
    if wait or not path.exists():
        shutil.rmtree(path, ignore_errors=True)
        return
    trash = path.with_name(path.name + ".trash")
    path.rename(trash)
    thread = threading.Thread(target=shutil.rmtree, args=(trash, True), daemon=True)
    thread.start()
    _REMOVALS.append(thread)


def finish_removals() -> None:
    """Wait until every background deletion has finished."""
    while _REMOVALS:
        _REMOVALS.pop().join()
