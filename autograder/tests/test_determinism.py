"""Parallel grading is deterministic: the same folder graded again gives the same gradebook and results."""
from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest

from autograder.bugs import load_bugs
from autograder.nulls import null_source

# Fields that measure time, not the grading's outcome.
_TIMING_KEY = re.compile(r"time|duration|elapsed|started|finished", re.I)
_TIMING_TEXT = re.compile(r"\d+(\.\d+)?\s*(s|ms|seconds)\b")


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if not _TIMING_KEY.search(k)}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    if isinstance(value, str):
        return _TIMING_TEXT.sub("<t>", value)
    return value


@pytest.mark.slow
def test_grade_all_twice_in_parallel_gives_identical_results(course_cli, course, tmp_path):
    """8 mixed kmeans submissions, `grade-all --jobs 2` five times: byte-identical CSVs, equal results.json."""
    a = course.get("kmeans")
    subs = tmp_path / "submissions"
    subs.mkdir()
    bugs = {b.name: b.source for b in load_bugs(a)}
    files = {
        "sol1.py": a.solution_path.read_text(), "sol2.py": a.solution_path.read_text(), "stub.py": a.stub_path.read_text(),
        "argmax.py": bugs["argmax_for_argmin"], "nan_empty.py": bugs["nan_for_empty_cluster"],
        "single_iteration.py": bugs["single_iteration"], "null_zeros.py": null_source(a.solution_path, "zeros"),
        "null_initial.py": null_source(a.solution_path, "initial"),
    }
    for name, text in files.items():
        (subs / name).write_text(text)
    out = tmp_path / "submissions-results"
    runs, seconds = [], []
    for _ in range(5):
        start = time.monotonic()
        proc = course_cli("grade-all", "kmeans", str(subs), "--jobs", "2", "--force")
        seconds.append(time.monotonic() - start)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results = {name: _without_timing(json.loads((out / f"{name}.json").read_text())) for name in files}
        runs.append(((out / "gradebook.csv").read_text(), results))
    first_csv, first_results = runs[0]
    for i, (csv_text, results) in enumerate(runs[1:], 2):
        assert csv_text == first_csv, f"run {i} gradebook differs from run 1:\n{first_csv}\n---\n{csv_text}"
        for name in files:
            assert results[name] == first_results[name], f"run {i}: {name} differs from run 1"
    totals = {row["submission"]: row["total"] for row in csv.DictReader(io.StringIO(first_csv))}
    assert float(totals["sol1.py"]) == float(totals["sol2.py"]) == a.total_points, totals
    assert float(totals["null_zeros.py"]) == float(totals["null_initial.py"]) == float(totals["stub.py"]) == 0, totals
    print(f"grade-all --jobs 2 of 8 submissions, 5 runs: {', '.join(f'{s:.0f} s' for s in seconds)}")
