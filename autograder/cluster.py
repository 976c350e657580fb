"""`course grade-all --cluster ADDRESS`: one Dask task per submission, graded on the cluster.

Dask's ``distributed`` (the ``cluster`` extra) is imported here only, and this module only
when ``--cluster`` is given. Each task receives the autograder zip (sent to every worker
once) and the submission's files, and runs the same path as `course grade` on its worker
(:func:`autograder.grading.grade_one`: ``otter run`` on the zip, the trusted runner, the
sandbox), so a worker needs what local grading needs: root, and this course installed.
Results stream back as they finish and are stored by the caller one by one, so an
interrupted run resumes from what is stored. The scheduler reruns the tasks of a lost
worker elsewhere; a submission whose task fails on every try is reported, not retried forever.
"""
from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import Callable

from .errors import CourseError
from .export import Entry, files_of

RETRIES = 1  # a task that raises is run once more; the scheduler retries lost workers itself
MAX_SUBMISSION_BYTES = 20 * 2**20  # what one task carries: submissions are a few files


def _files_of(entry: Entry) -> dict[str, bytes]:
    """The submission as {relative path: bytes} (a lone file under its own name)."""
    found = {name: p.read_bytes() for name, p in files_of(entry.path)}
    if sum(len(b) for b in found.values()) > MAX_SUBMISSION_BYTES:
        raise CourseError(f"{entry.path}: over {MAX_SUBMISSION_BYTES >> 20} MB, too large to send to the cluster")
    return found


def grade_task(zip_bytes: bytes, name: str, is_file: bool, files: dict[str, bytes], expected: str,
               limit: float) -> dict:
    """Run on a worker: lay the submission out as it was on the client and grade it."""
    from .grading import grade_one

    with tempfile.TemporaryDirectory(prefix="course-cluster-") as tmp_name:
        tmp = Path(tmp_name)
        zip_path = tmp / "autograder.zip"
        zip_path.write_bytes(zip_bytes)
        root = tmp / "submission"
        target = root / name if not is_file else root
        for rel, data in files.items():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        return grade_one(zip_path, root / name, expected, limit)


def _client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise CourseError("--cluster needs Dask's distributed: pip install 'unsupervised-course[cluster]'") from None
    try:
        return Client(address, timeout="30s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise CourseError(f"cannot reach the Dask scheduler at {address} ({exc})") from None


def grade_on_cluster(address: str, todo: list[Entry], zip_path: Path, expected: str, limit: float, jobs: int,
                     store: Callable[..., None], progress: bool, desc: str) -> None:
    """Grade ``todo`` on the Dask cluster at ``address``; ``store`` each result as it arrives.

    ``jobs`` is unused: the cluster's workers set the parallelism.
    """
    from distributed import as_completed
    from tqdm import tqdm

    from .grading import failed_results

    if not todo:
        return
    client = _client(address)
    try:
        zip_ref = client.scatter(zip_path.read_bytes(), broadcast=True)
        futures, run = {}, uuid.uuid4().hex[:8]  # keys unique to this run: no stale result is reused
        for e in todo:
            try:
                files = _files_of(e)
            except CourseError as exc:
                store(e, failed_results(str(exc)), failed=True)
                continue
            fut = client.submit(grade_task, zip_ref, e.id, e.path.is_file(), files, expected, limit,
                                key=f"course-grade-{run}-{e.id}", pure=False, retries=RETRIES)
            futures[fut] = e
        with tqdm(total=len(futures), desc=desc, unit="sub", disable=not progress, file=sys.stderr) as bar:
            for fut in as_completed(futures):
                entry = futures.pop(fut)
                if fut.status == "finished":
                    store(entry, fut.result())
                else:  # raised on every try, or killed the workers it ran on (KilledWorker)
                    exc = fut.exception()
                    store(entry, failed_results(f"grading failed on the cluster: {type(exc).__name__}: {exc}"),
                          failed=True)
                bar.update(1)
    finally:
        client.cancel(list(futures))
        client.close()
