# base: stub
"""Case 2: leaves a double-forked process in a new session that keeps rewriting results.json."""
import json
import os
import time
from pathlib import Path

FULL = {"score": 16.0, "output": "all good", "tests": [{"name": "everything", "score": 16.0, "max_score": 16.0}]}


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _daemon() -> None:
    if os.fork():
        os.wait()
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    here = Path.cwd()
    targets = [here / "results.json", here.parent / "results" / "results.json",
               Path("/autograder/results/results.json")]
    deadline = time.time() + 900  # the grader must kill it long before
    while time.time() < deadline:
        for target in targets:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(FULL))
            except OSError:
                pass
        time.sleep(0.05)
    os._exit(0)


if _in_sandbox():
    _daemon()
