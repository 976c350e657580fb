"""Fixtures for the instructor tooling's own tests."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import REPO_ROOT, load_course


@pytest.fixture(scope="session")
def course():
    return load_course()


def run_course(*args: str, cwd: Path = REPO_ROOT, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run the `course` command line as a user would (``python -m autograder``)."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def course_cli():
    return run_course


@pytest.fixture(scope="session", autouse=True)
def every_results_json_is_valid(tmp_path_factory):
    """After the session: every results.json the tests wrote follows Gradescope's specification."""
    import json

    from gradescope_schema import looks_like_results, validate

    yield
    problems = []
    for path in sorted(tmp_path_factory.getbasetemp().rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if looks_like_results(data):
            problems += [f"{path}: {p}" for p in validate(data)]
    assert not problems, "results.json against Gradescope's specification:\n" + "\n".join(problems[:20])


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """Both zips of every assignment, built once per session with `course build --out DIR`."""
    out = tmp_path_factory.mktemp("dist")
    proc = run_course("build", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out
