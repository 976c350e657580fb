# base: solution
"""Issue 12, PID visibility: the solution, plus at import a look at every process the worker
can see in /proc: how many, which belong to other users, and the command lines of the
grader's own processes (runner, otter, pytest: they name submission and test paths).
kmeans_loss reports it."""
import json
import os
from pathlib import Path


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _look() -> dict:
    seen, other_users, grader = 0, 0, []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seen += 1
        uid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
        if uid != os.getuid():
            other_users += 1
        if any(word in cmdline for word in ("autograder", "otter", "pytest", "jupyter", "ipykernel")):
            grader.append(cmdline[:120])
    return {"seen": seen, "other_users": other_users, "grader": grader[:10]}


FACTS = _look() if _in_sandbox() else {}


def kmeans_loss(data, centroids):
    raise RuntimeError("REPORT " + json.dumps(FACTS))
