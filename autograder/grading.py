"""`course grade` and `course grade-all`: grade submissions through the autograder zip.

Grading goes through ``otter run`` on the same zip that Gradescope runs, so what an
instructor sees locally is what students get.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .build import autograder_zip
from .config import Assignment, Course
from .errors import CourseError


def _as_submission(path: Path, expected: str, tmp: Path, rename: bool = False) -> Path:
    """A single file otter can take: the file itself (renamed to ``expected`` if asked),
    the expected file of a folder, or a zip of the folder."""
    if path.is_file():
        if rename and path.suffix == ".py" and path.name != expected:
            shutil.copyfile(path, tmp / expected)
            return tmp / expected
        return path
    if (path / expected).is_file() and len([p for p in path.iterdir() if p.suffix == ".py"]) == 1:
        return path / expected
    return zip_folder(path, tmp / f"{path.name}.zip")


def zip_folder(folder: Path, archive: Path) -> Path:
    """Write ``archive``: every file under ``folder``, named relative to it."""
    with zipfile.ZipFile(archive, "w") as zf:
        for item in sorted(folder.rglob("*")):
            if item.is_file():
                zf.write(item, item.relative_to(folder).as_posix())
    return archive


def grade_one(zip_path: Path, submission: Path, expected: str, timeout: float, rename: bool = False) -> dict:
    """Grade one submission with ``otter run``; return Gradescope's results dict.

    ``rename``: a lone ``.py`` file named after its student is graded as ``expected``.
    """
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp_name:
        tmp = Path(tmp_name)
        sub = _as_submission(submission.resolve(), expected, tmp, rename)  # otter runs in tmp
        out = tmp / "out"
        out.mkdir()
        cmd = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(zip_path), "-o", str(out), str(sub)]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return _failed(f"grading took longer than {timeout:.0f} s and was stopped")
        results = out / "results.json"
        if not results.is_file():
            reason = (proc.stderr.strip().splitlines() or ["no results.json written"])[-1]
            return _failed(f"otter could not grade this submission: {reason[:300]}")
        return json.loads(results.read_text())


def _failed(reason: str) -> dict:
    return {"score": 0.0, "output": reason, "tests": [{"name": "Autograder Error", "score": 0.0, "max_score": 0.0,
                                                       "status": "failed", "output": reason, "visibility": "visible"}]}


def total_limit(course: Course, a: Assignment) -> float:
    """Wall-clock budget for one whole grading (every test at its limit, plus start-up)."""
    return sum(course.time_limit(a, t) for t in a.tests) * 3 + 180


def table(results: dict, a: Assignment) -> str:
    """Per-test table and total, as printed by `course grade`."""
    rows = [("test", "score", "status"), ("----", "-----", "------")]
    for t in results.get("tests", []):
        rows.append((t["name"], f"{t.get('score', 0):g}/{t.get('max_score', 0):g}", t.get("status", "")))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>7}  {r[2]}" for r in rows]
    lines.append(f"{'total':<{width}}  {results.get('score', 0):g}/{a.total_points:g}")
    failing = [t for t in results.get("tests", []) if t.get("status") == "failed"]
    for t in failing:
        lines += ["", f"--- {t['name']}", str(t.get("output", "")).strip()]
    return "\n".join(lines)


def grade(course: Course, a: Assignment, submission: Path, json_out: Path | None = None) -> dict:
    """Grade one submission file (or folder); optionally write results.json."""
    if not submission.exists():
        raise CourseError(f"{submission}: submission not found")
    results = grade_one(autograder_zip(course, a), submission, a.submission, total_limit(course, a))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = json_out.with_name(f".{json_out.name}.tmp")
        tmp.write_text(json.dumps(results, indent=1))
        tmp.replace(json_out)  # atomic: a reader sees the old file or the whole new one
    return results


def submissions_in(folder: Path) -> list[Path]:
    """One entry per student: each file, or each sub-folder (Gradescope's export layout)."""
    if not folder.is_dir():
        raise CourseError(f"{folder}: not a folder of submissions")
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def grade_all(course: Course, a: Assignment, folder: Path, jobs: int = 2, csv_out: Path | None = None,
              force: bool = False, progress: bool = True) -> tuple[Path, list[dict]]:
    """Grade every submission in ``folder`` in parallel; write results and a gradebook CSV.

    ``folder`` holds one ``<student>.py`` per student (graded as the assignment's file name)
    or one sub-folder per student as Gradescope exports them. Each submission's results.json goes to ``<folder>/../<name>-results/<entry>.json`` unless it
    is already there (``force`` regrades). Returns the CSV path and the rows.
    """
    from tqdm import tqdm

    entries = submissions_in(folder)
    zip_path = autograder_zip(course, a)
    out_dir = folder.parent / f"{folder.name}-results"
    out_dir.mkdir(exist_ok=True)
    csv_out = csv_out or out_dir / "gradebook.csv"
    todo = [e for e in entries if force or not (out_dir / f"{e.name}.json").is_file()]
    limit = total_limit(course, a)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(todo), desc=f"grading {a.id}", unit="sub", disable=not progress, file=sys.stderr) as bar:
        futures = {pool.submit(grade_one, zip_path, e, a.submission, limit, True): e for e in todo}
        for fut in as_completed(futures):
            entry = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:  # one broken submission costs only its own row
                res = _failed(f"grading crashed: {type(exc).__name__}: {exc}")
            tmp = out_dir / f".{entry.name}.json.tmp"
            tmp.write_text(json.dumps(res, indent=1))
            tmp.replace(out_dir / f"{entry.name}.json")
            bar.update(1)
    elapsed = time.monotonic() - started
    names = [t.name for t in a.tests]
    rows = []
    for e in entries:  # every row from disk: this run's and earlier runs' results alike
        res = json.loads((out_dir / f"{e.name}.json").read_text())
        scores = {t["name"]: t.get("score", 0.0) for t in res.get("tests", [])}
        rows.append({"submission": e.name, **{n: scores.get(n, 0.0) for n in names},
                     "total": res.get("score", 0.0), "note": "" if scores.keys() & set(names) else res.get("output", "")[:200]})
    with open(csv_out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["submission", *names, "total", "note"])
        writer.writeheader()
        writer.writerows(rows)
    if progress:
        print(f"graded {len(todo)} of {len(entries)} submissions in {elapsed:.1f} s with {jobs} job(s)", file=sys.stderr)
    return csv_out, rows
