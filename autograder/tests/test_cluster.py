"""`course grade-all --cluster`: a Dask LocalCluster of 2 worker processes on loopback."""
from __future__ import annotations

import csv
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from autograder import grading
from autograder.bugs import load_bugs

pytestmark = pytest.mark.slow


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc's parent links)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and everything below it: a worker machine that dies mid-grading."""
    for victim in [pid, *_descendants(pid)]:
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(open(path)))


@pytest.fixture(scope="module")
def submissions(tmp_path_factory, course) -> Path:
    """Four mixed kmeans submissions: full marks, the stub, a one-function bug, a syntax error."""
    a = course.get("kmeans")
    folder = tmp_path_factory.mktemp("subs") / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(a.solution_path.read_text())
    (folder / "bob.py").write_text(a.stub_path.read_text())
    (folder / "carol").mkdir()
    (folder / "carol" / "kmeans.py").write_text(next(b for b in load_bugs(a) if b.name == "ties_to_highest_index").source)
    (folder / "eve.py").write_text("def assign_clusters(:\n")
    return folder


@pytest.fixture(scope="module")
def local_rows(submissions, course_cli) -> list[dict]:
    local = submissions.parent / "local" / "class"
    shutil.copytree(submissions, local)
    proc = course_cli("grade-all", "kmeans", str(local), "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    return _rows(local.parent / "class-results" / "gradebook.csv")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=50) as lc, Client(lc) as client:
        yield lc, client
    lingering = [p for p in _descendants(os.getpid()) if Path(f"/proc/{p}/cmdline").is_file()
                 and b"otter" in Path(f"/proc/{p}/cmdline").read_bytes()]
    for pid in lingering:
        _kill_tree(pid)
    assert not lingering, f"gradings outlived the cluster: {lingering}"


def test_grade_all_on_a_local_cluster_writes_the_local_gradebook(cluster, submissions, local_rows, course_cli,
                                                                  tmp_path):
    lc, _ = cluster
    assert lc.scheduler_address.startswith("tcp://127.0.0.1:")
    folder = tmp_path / "class"
    shutil.copytree(submissions, folder)
    proc = course_cli("grade-all", "kmeans", str(folder), "--cluster", lc.scheduler_address)
    assert proc.returncode == 0, proc.stderr
    assert f"graded 4 of 4 submissions (4 new)" in proc.stderr and "on the cluster at tcp://127.0.0.1:" in proc.stderr
    assert _rows(tmp_path / "class-results" / "gradebook.csv") == local_rows
    assert (tmp_path / "class-results" / "report" / "index.html").is_file()
    again = course_cli("grade-all", "kmeans", str(folder), "--cluster", lc.scheduler_address)
    assert "graded 0 of 4 submissions" in again.stderr  # resumes from what is stored


def test_a_worker_killed_mid_run_costs_nothing_and_each_submission_is_graded_once(cluster, submissions, local_rows,
                                                                                 course, tmp_path, monkeypatch):
    lc, client = cluster
    folder = tmp_path / "class"
    shutil.copytree(submissions, folder)
    writes: dict[str, int] = {}
    real_write = grading.write_json

    def counting(path: Path, results: dict) -> None:
        writes[path.name] = writes.get(path.name, 0) + 1
        real_write(path, results)

    monkeypatch.setattr(grading, "write_json", counting)
    killed: list[str] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                time.sleep(5)  # well inside its grading (otter, runner and sandbox all started)
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                _kill_tree(pid)
                killed.append(busy[0])
            time.sleep(0.5)

    killer = threading.Thread(target=kill_a_busy_worker, daemon=True)
    killer.start()
    csv_path, rows = grading.grade_all(course, course.get("kmeans"), folder, cluster=lc.scheduler_address)
    killer.join(timeout=10)
    assert killed, "no worker was busy to kill"
    assert _rows(csv_path) == local_rows
    assert writes == {f"{s}.json": 1 for s in ("alice.py", "bob.py", "carol", "eve.py")}
    client.wait_for_workers(2, timeout=120)  # the nanny restarted the killed worker


def test_a_submission_whose_task_keeps_failing_is_reported_not_retried_forever(cluster, tmp_path):
    from autograder.cluster import grade_on_cluster
    from autograder.export import Entry

    lc, _ = cluster
    sub = tmp_path / "zed.py"
    sub.write_text("x = 1\n")
    (tmp_path / "fake.zip").write_bytes(b"not a zip")
    stored = []
    # A time limit of the wrong type makes the task raise on the worker, on every try.
    grade_on_cluster(lc.scheduler_address, [Entry("zed.py", sub)], tmp_path / "fake.zip", "kmeans.py", "soon", 1,
                     lambda e, res, failed=False: stored.append((e.id, res, failed)), False, "x")
    assert len(stored) == 1
    name, res, failed = stored[0]
    assert name == "zed.py" and failed and res["score"] == 0
    assert res["tests"][0]["output"].startswith("grading failed on the cluster: TypeError")
