"""The student handout as a student uses it: install time and size of a fresh venv, then its commands.

For each assignment: build the handout zip, unzip it, ``cd ID``, create a venv with the
system Python 3.11, ``pip install -r requirements.txt`` (timed; the venv's size after),
then the README's commands: ``pytest`` on the stub (must fail with the TODO messages),
``pytest`` with the reference solution copied in (must pass), ``jupyter notebook --version``
and the notebook executed headless with ``jupyter nbconvert --execute`` (must run, and
tqdm's progress bars must render as widgets, not as an IProgress warning). The venv is
deleted afterwards (the CUDA build of torch takes ~6 GB).

pip takes packages from its configured indexes with no cache: on a machine whose index is
a local mirror, the install time leaves out the download a student's network adds.

Usage: python bench/handout.py [ID …] [--python /usr/bin/python3.11] [--pip-args "ARGS"] [--torch-spec SPEC]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.build import build_student  # noqa: E402
from autograder.config import load_course  # noqa: E402
from autograder.pins import is_torch  # noqa: E402


def run(cmd: list[str], cwd: Path, venv: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``cmd`` as a student runs it: the venv first on PATH, nothing of the course's environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_IMPL", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}", VIRTUAL_ENV=str(venv), MPLBACKEND="Agg")
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def size_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def check(ok: bool, what: str, proc: subprocess.CompletedProcess | None = None) -> str:
    if not ok and proc is not None:
        print(f"  FAILED {what}:\n{(proc.stdout + proc.stderr)[-3000:]}", file=sys.stderr)
    return "ok" if ok else "FAILED"


def try_handout(course, a, python: str, pip_args: list[str], torch_spec: str, tmp: Path) -> dict:
    zip_path = build_student(course, a, tmp / "dist")
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tmp / "unpacked")
    folder = tmp / "unpacked" / a.id  # the README's first command: cd ID
    if torch_spec:  # a stand-in for the CPU-only torch the README's second recipe installs
        reqs = folder / "requirements.txt"
        reqs.write_text("".join(f"{torch_spec}\n" if is_torch(line) else f"{line}\n"
                                for line in reqs.read_text().splitlines()))
    venv = tmp / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    start = time.perf_counter()
    proc = run([str(venv / "bin" / "pip"), "install", "-q", "--no-cache-dir", *pip_args, "-r", "requirements.txt"],
               folder, venv)
    row = {"id": a.id, "install_s": round(time.perf_counter() - start), "venv_mb": round(size_mb(venv)),
           "install": check(proc.returncode == 0, "pip install", proc)}
    if proc.returncode != 0:
        return row
    stub = run(["pytest", "-q", "-x"], folder, venv)
    row["pytest stub"] = check(stub.returncode == 1 and "TODO" in stub.stdout, "pytest on the stub", stub)
    shutil.copy(a.solution_path, folder / a.submission)
    solved = run(["pytest", "-q"], folder, venv)
    row["pytest solution"] = check(solved.returncode == 0, "pytest on the solution", solved)
    version = run(["jupyter", "notebook", "--version"], folder, venv, timeout=120)
    row["jupyter notebook"] = check(version.returncode == 0, "jupyter notebook --version", version)
    notebook = Path(a.notebook).name
    executed = run(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--output", "executed.ipynb",
                    "--ExecutePreprocessor.timeout=1800", notebook], folder, venv)
    ok = executed.returncode == 0
    if ok:
        text = (folder / "executed.ipynb").read_text()
        widgets = "tqdm" not in (folder / a.lab_path.name).read_text() or "widget-view+json" in text
        ok = widgets and "IProgress not found" not in text and '"output_type": "error"' not in text
        errors = [o for c in json.loads(text)["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
        ok = ok and not errors
    row["notebook runs"] = check(ok, "jupyter nbconvert --execute", executed)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--python", default="/usr/bin/python3.11")
    parser.add_argument("--pip-args", default="", help="extra pip install arguments, e.g. an index for torch")
    parser.add_argument("--torch-spec", default="", help="install this instead of the pinned torch (torch==2.13.0: "
                        "the CPU build on this machine's disk)")
    args = parser.parse_args()
    course = load_course()
    rows = []
    for a in course.select(args.assignments):
        with tempfile.TemporaryDirectory(prefix=f"handout-{a.id}-") as tmp:
            rows.append(try_handout(course, a, args.python, shlex.split(args.pip_args), args.torch_spec, Path(tmp)))
        print(" | ".join(f"{k}: {v}" for k, v in rows[-1].items()), flush=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nload average {' '.join(load)}")
    return 0 if all("FAILED" not in row.values() for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
