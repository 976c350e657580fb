"""`course grade` and `course grade-all`: grade submissions through the autograder zip.

Grading goes through ``otter run`` on the same zip that Gradescope runs, so what an
instructor sees locally is what students get.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path
from typing import Callable

from .build import autograder_zip, zip_fingerprint
from .config import Assignment, Course
from .diff import diff_gradebooks, read_gradebook, render_diff
from .errors import CourseError
from .export import Entry, content_hash, submissions_in
from .gradebook import graded_lines, load, note, row, stale_reason, stale_summary, stamp, write_csv
from .report import write_report


def renamed(path: Path, expected: str) -> bool:
    """Whether ``path`` is a lone ``.py`` file graded under the name ``expected``.

    `course grade FILE` and a plain folder of files (``alice.py``, ``bob.py``) name files
    after students, so a single ``.py`` file is graded as ``expected``; the files inside a
    submission folder (Gradescope's export) keep the names the student uploaded, as on
    Gradescope, where a wrongly named upload scores 0 with that reason.
    """
    return path.is_file() and path.suffix == ".py" and path.name != expected


def _as_submission(path: Path, expected: str, tmp: Path) -> Path:
    """A single file otter can take: the file itself (renamed to ``expected`` when it is a
    lone .py file), the only file of a folder, or a zip of the folder."""
    if renamed(path, expected):
        shutil.copyfile(path, tmp / expected)
        return tmp / expected
    if path.is_file():
        return path
    files = [p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")]
    if len(files) == 1 and (files[0].suffix == ".py" or files[0].name == expected):
        return files[0]
    return zip_folder(path, tmp / f"{path.name}.zip")


def zip_folder(folder: Path, archive: Path) -> Path:
    """Write ``archive``: every file under ``folder``, named relative to it."""
    with zipfile.ZipFile(archive, "w") as zf:
        for item in sorted(folder.rglob("*")):
            if item.is_file():
                zf.write(item, item.relative_to(folder).as_posix())
    return archive


def grade_one(zip_path: Path, submission: Path, expected: str, timeout: float) -> dict:
    """Grade one submission (file or folder) with ``otter run``; return Gradescope's results dict."""
    with tempfile.TemporaryDirectory(prefix="course-grade-") as tmp_name:
        tmp = Path(tmp_name)
        sub = _as_submission(submission.resolve(), expected, tmp)  # otter runs in tmp
        out = tmp / "out"
        out.mkdir()
        cmd = [sys.executable, "-m", "autograder.otter_cli", "run", "--no-logo", "-a", str(zip_path), "-o", str(out), str(sub)]
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return failed_results(f"grading took longer than {timeout:.0f} s and was stopped")
        results = out / "results.json"
        if not results.is_file():
            reason = (proc.stderr.strip().splitlines() or ["no results.json written"])[-1]
            return failed_results(f"otter could not grade this submission: {reason[:300]}")
        return json.loads(results.read_text())


def failed_results(reason: str) -> dict:
    """results.json for a submission the grading itself failed on (no line could be scored)."""
    return {"score": 0.0, "output": reason, "output_format": "text",
            "tests": [{"name": "Autograder Error", "score": 0.0, "max_score": 0.0, "status": "failed",
                       "output": reason, "output_format": "text", "visibility": "visible"}]}


def total_limit(course: Course, a: Assignment) -> float:
    """Wall-clock budget for one whole grading (every test at its limit, plus start-up)."""
    return sum(course.time_limit(a, t) for t in a.tests) * 3 + 180


def table(results: dict, a: Assignment) -> str:
    """Per-test table and total, as printed by `course grade`; a reason shared by every
    failing line (a file that does not import, a wrong file name) is printed once."""
    lines_ = graded_lines(results)
    rows = [("test", "score", "status"), ("----", "-----", "------")]
    for t in lines_:
        rows.append((t["name"], f"{t.get('score', 0):g}/{t.get('max_score', 0):g}", t.get("status", "")))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}  {r[1]:>7}  {r[2]}" for r in rows]
    lines.append(f"{'total':<{width}}  {results.get('score', 0):g}/{a.total_points:g}")
    failing = [t for t in lines_ if t.get("status") == "failed"]
    outputs = {str(t.get("output", "")).strip() for t in failing}
    if len(failing) > 1 and len(outputs) == 1:
        lines += ["", f"--- every failing line ({len(failing)})", outputs.pop()]
        return "\n".join(lines)
    for t in failing:
        lines += ["", f"--- {t['name']}", str(t.get("output", "")).strip()]
    return "\n".join(lines)


def write_json(path: Path, results: dict) -> None:
    """Write ``results`` atomically: a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(path)


def grade(course: Course, a: Assignment, submission: Path, json_out: Path | None = None) -> dict:
    """Grade one submission file (or folder); optionally write results.json.

    A lone ``.py`` file with another name is graded as the assignment's file (see :func:`renamed`).
    """
    if not submission.exists():
        raise CourseError(f"{submission}: submission not found")
    if renamed(submission, a.submission):
        print(f"note: {submission.name} is graded as {a.submission} (the name Gradescope requires)",
              file=sys.stderr)
    results = grade_one(autograder_zip(course, a), submission, a.submission, total_limit(course, a))
    if json_out is not None:
        write_json(json_out, results)
    return results


def grade_all(course: Course, a: Assignment, folder: Path, jobs: int = 2, csv_out: Path | None = None,
              force: bool = False, progress: bool = True, compare: Path | None = None,
              cluster: str | None = None) -> tuple[Path, list[dict]]:
    """Grade every stale submission in ``folder``; write results, a gradebook CSV and a report.

    ``folder`` is a plain folder (one ``<student>.py`` or sub-folder each) or Gradescope's
    export (``submission_<id>/`` folders and ``submission_metadata.yml``). Results go to
    ``<folder>/../<name>-results/<id>.json``; a stored result is reused unless the autograder
    zip or the submission changed since (``force`` regrades all). ``cluster``: a Dask
    scheduler address to grade on (see :mod:`autograder.cluster`). ``compare``: an older
    gradebook CSV to print the changes against. Returns the CSV path and the rows.
    """
    entries, warnings = submissions_in(folder)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    zip_path = autograder_zip(course, a)
    autograder = zip_fingerprint(zip_path)
    out_dir = folder.parent / f"{folder.name}-results"
    out_dir.mkdir(exist_ok=True)
    csv_out = csv_out or out_dir / "gradebook.csv"
    hashes = {e.id: content_hash(e.path) for e in entries}
    reasons = {e.id: "forced" if force else stale_reason(out_dir / f"{e.id}.json", autograder, hashes[e.id])
               for e in entries}
    todo = [e for e in entries if reasons[e.id]]
    failures: list[str] = []

    def store(entry: Entry, results: dict, failed: bool = False) -> None:
        if failed:
            failures.append(entry.id)
        write_json(out_dir / f"{entry.id}.json", stamp(results, autograder, hashes[entry.id], failed))

    started = time.monotonic()
    run = _grade_locally if cluster is None else partial(_grade_on_cluster, cluster)
    run(todo, zip_path, a.submission, total_limit(course, a), jobs, store, progress, f"grading {a.id}")
    elapsed = time.monotonic() - started
    stored = {e.id: load(out_dir / f"{e.id}.json") or failed_results("stored result unreadable") for e in entries}
    rows = [row(e, stored[e.id], a) for e in entries]  # this run's and earlier runs' results alike
    write_csv(csv_out, rows, a)
    report = write_report(out_dir / "report", a, rows, stored)
    if progress:
        why = f" ({stale_summary({e.id: reasons[e.id] for e in todo})})" if todo else ""
        where = f"on the cluster at {cluster}" if cluster else f"with {jobs} job(s)"
        print(f"graded {len(todo)} of {len(entries)} submissions{why} in {elapsed:.1f} s {where}; "
              f"{len(entries) - len(todo)} up to date", file=sys.stderr)
        for sub in failures:
            print(f"failed: {sub}: {note(stored[sub], a)}", file=sys.stderr)
        print(f"report: {report}", file=sys.stderr)
    if compare is not None:
        print(render_diff(diff_gradebooks(read_gradebook(compare), read_gradebook(csv_out))))
    return csv_out, rows


def _grade_locally(todo: list[Entry], zip_path: Path, expected: str, limit: float, jobs: int,
                   store: Callable[..., None], progress: bool, desc: str) -> None:
    """Grade ``todo`` on this machine, ``jobs`` at a time; ``store`` each result as it finishes."""
    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(todo), desc=desc, unit="sub", disable=not progress, file=sys.stderr) as bar:
        futures = {pool.submit(grade_one, zip_path, e.path, expected, limit): e for e in todo}
        for fut in as_completed(futures):
            try:
                store(futures[fut], fut.result())
            except Exception as exc:  # one broken submission costs only its own row
                store(futures[fut], failed_results(f"grading crashed: {type(exc).__name__}: {exc}"), failed=True)
            bar.update(1)


def _grade_on_cluster(address: str, *args) -> None:
    from .cluster import grade_on_cluster  # distributed is imported only when asked for

    grade_on_cluster(address, *args)
