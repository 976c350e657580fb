# base: solution
"""Case 10: the solution, plus a non-daemon thread and child processes (a fork, a
subprocess, a multiprocessing worker) that never exit."""
import multiprocessing
import os
import subprocess
import threading
import time
from pathlib import Path


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _forever() -> None:
    while True:
        time.sleep(1)


def _start() -> None:
    threading.Thread(target=_forever, daemon=False).start()
    if os.fork() == 0:
        _forever()
    subprocess.Popen(["sleep", "3600"], start_new_session=True)
    multiprocessing.get_context("fork").Process(target=_forever, daemon=False).start()


if _in_sandbox():
    _start()
