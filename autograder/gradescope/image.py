"""One autograder zip on a fresh root, as Gradescope runs it: setup.sh once, then gradings.

Layout as on Gradescope: the zip unpacked in /autograder/source, run_autograder copied
to /autograder/run_autograder, each submission alone in a fresh /autograder/submission
with a submission_metadata.json, results read from /autograder/results/results.json.
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from . import root as roots
from .cgroups import Limits
from .mounts import Mounts, mounted_under
from .run import Outcome, run_in_root

VENV = "opt/course-venv"


@dataclass
class Grading:
    """One submission graded in the image."""

    label: str
    score: float | None
    max_score: float | None
    outcome: Outcome
    output: str


def disk_mb(path: Path, skip: set[Path] = frozenset()) -> float:
    """Disk used under ``path`` (hard links once, mount points in ``skip`` left out), in MB."""
    seen, total = set(), 0
    for folder, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        for name in files:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total / 2**20


def metadata(title: str, total: float) -> dict:
    """A Gradescope-shaped submission_metadata.json for a made-up student."""
    now = datetime.now(timezone.utc)
    return {"id": 1, "created_at": now.isoformat(), "submission_method": "upload", "previous_submissions": [],
            "assignment": {"id": 1, "title": title, "total_points": total,
                           "due_date": (now + timedelta(days=7)).isoformat(), "release_date": now.isoformat()},
            "users": [{"id": 1, "name": "Image Check", "email": "image-check@example.invalid"}]}


class Image:
    """A fresh copy of the cached root at ``path``, mounted; a context manager that removes it."""

    def __init__(self, suite: str, path: Path):
        self.suite, self.path = suite, Path(path)
        self.mounts: Mounts | None = None

    def __enter__(self) -> "Image":
        roots.fresh_copy(self.suite, self.path)
        try:
            self.mounts = Mounts(self.path).__enter__()
        except BaseException:
            roots.remove(self.path)
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.mounts is not None:
                self.mounts.close()
        finally:
            roots.remove(self.path, wait=False)

    @property
    def autograder(self) -> Path:
        return self.path / "autograder"

    def size_mb(self) -> float:
        return disk_mb(self.path, set(mounted_under(self.path)))

    def install(self, zip_path: Path, env: dict[str, str], limits: Limits, log: Path, timeout: float) -> Outcome:
        """Unpack the zip as Gradescope does and run ``bash /autograder/source/setup.sh`` as root."""
        source = self.autograder / "source"
        source.mkdir(parents=True)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(source)
        shutil.copyfile(source / "run_autograder", self.autograder / "run_autograder")
        (self.autograder / "run_autograder").chmod(0o755)
        for name in ("submission", "results"):
            (self.autograder / name).mkdir()
        outcome = run_in_root(self.path, "bash /autograder/source/setup.sh", limits, env, timeout,
                              int(env.get("COURSE_SANDBOX_UID", "0")), log)
        roots.install_host_certificates(self.path)  # setup.sh's apt may have rebuilt the bundle
        return outcome

    def venv_mb(self) -> float:
        return disk_mb(self.path / VENV)

    def grade(self, label: str, submission: Path, meta: dict, env: dict[str, str], limits: Limits,
              log: Path, timeout: float) -> Grading:
        """Grade ``submission`` (one file) alone in a fresh /autograder/submission."""
        for name in ("submission", "results"):
            shutil.rmtree(self.autograder / name, ignore_errors=True)
            (self.autograder / name).mkdir()
        shutil.copyfile(submission, self.autograder / "submission" / submission.name)
        (self.autograder / "submission_metadata.json").write_text(json.dumps(meta))
        with Mounts(self.path, system=False) as view:
            view.show_cgroups(limits.groups)
            outcome = run_in_root(self.path, "/autograder/run_autograder", limits, env, timeout,
                                  int(env.get("COURSE_SANDBOX_UID", "0")), log)
        try:
            text = (self.autograder / "results" / "results.json").read_text()
            log.with_suffix(".results.json").write_text(text)
            results = json.loads(text)
        except (OSError, ValueError):
            return Grading(label, None, None, outcome, "no results.json")
        tests = results.get("tests", [])
        top = sum(t.get("max_score", 0) for t in tests)
        return Grading(label, results.get("score"), top, outcome, str(results.get("output", ""))[:2000])
