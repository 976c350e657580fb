"""Feedback and bounded grading: per-function time-limit memory, the grading budget, the short
local failure report, NotImplementedError without shrinking, one mistake costing one function."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.impl_proxy import Clock, GuardedModule, api_parameters
from autograder.sandbox.client import TimeLimit

REPO = Path(__file__).resolve().parents[2]
SOLUTION = (REPO / "solutions" / "kmeans.py").read_text()


class FakeBox:
    deadline: float | None = None


class FakeRemote:
    """Stands in for RemoteModule: ``slow`` runs until the sandbox's deadline, then raises TimeLimit."""

    def __init__(self, box: FakeBox):
        self.box, self.calls = box, []

    def __getattr__(self, name: str):
        def function(*args, **kwargs):
            self.calls.append(name)
            if name == "slow":
                time.sleep(max(0.0, self.box.deadline - time.monotonic()))
                raise TimeLimit(f"{name} did not finish within the time limit (killed)")
            return sum(args)

        return function

    def __course_probe__(self, name, *args, **kwargs):
        return getattr(self, args[0])(*args[1:], **kwargs)


def guarded(budget: float = 60.0) -> tuple[Clock, GuardedModule, FakeRemote]:
    box = FakeBox()
    clock = Clock(box, budget)
    remote = FakeRemote(box)
    return clock, GuardedModule(clock, remote, {"fast": ["a", "b"]}), remote


def test_a_function_that_timed_out_fails_later_tests_at_once_with_the_reason():
    clock, impl, remote = guarded()
    clock.start_test(0.2)
    with pytest.raises(TimeLimit):
        impl.slow(1)
    clock.start_test(0.2)
    started = time.monotonic()
    with pytest.raises(TimeLimit, match=r"^slow did not finish within 0.2 s in an earlier test; not run again$"):
        impl.slow(1)
    with pytest.raises(TimeLimit, match="not run again"):  # through a probe that names it, too
        impl.__course_probe__("call_tracking_mutation", "slow", 1)
    assert time.monotonic() - started < 0.1 and remote.calls == ["slow"]
    assert impl.fast(1, 2) == 3  # other functions still run


def test_a_call_left_little_time_by_earlier_calls_is_not_remembered():
    clock, impl, _ = guarded()
    clock.start_test(1.0)
    clock.box.deadline = time.monotonic() + 0.1  # as if slower calls earlier in the test used the rest
    with pytest.raises(TimeLimit):
        impl.slow(1)
    assert clock.timed_out == {}


def test_after_a_timeout_the_grading_budget_bounds_every_test():
    clock, impl, _ = guarded(budget=0.3)
    clock.start_test(60)
    assert clock.box.deadline - time.monotonic() > 30  # no timeout yet: a slow machine cuts nothing short
    clock.box.deadline = time.monotonic() + 0.05
    with pytest.raises(TimeLimit):
        impl.slow(1)
    clock.start_test(60)
    assert clock.box.deadline - time.monotonic() <= 0.3
    time.sleep(0.35)
    clock.start_test(60)
    with pytest.raises(TimeLimit, match=r"time budget \(0.3 s after the first timeout\) ran out before fast"):
        impl.fast(1, 2)


def test_the_last_call_is_recorded_with_the_function_name():
    clock, impl, _ = guarded()
    clock.start_test(5)
    impl.__course_probe__("call_tracking_mutation", "fast", 1, 2)
    assert clock.last_call == ("fast", (1, 2), {})


def test_api_parameters_are_read_from_the_reference_without_importing_it():
    params = api_parameters(REPO / "solutions" / "cvae.py")
    assert params["loss_function"] == ["x_hat", "x", "mu", "logvar"]
    assert params["CVAE"] == ["input_size", "num_classes", "latent_size", "hidden_size"]
    assert params["CVAE.forward"] == ["x", "c"]
    assert api_parameters(REPO / "solutions" / "missing.py") == {}


def local_pytest(submission: Path, *selection: str) -> subprocess.CompletedProcess:
    nodes = [str(REPO / "tests" / "kmeans" / f"test_kmeans.py::{s}") for s in selection]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--impl={submission}", *nodes]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def variant(tmp_path: Path, find: str, replace: str) -> Path:
    assert SOLUTION.count(find) == 1
    path = tmp_path / "kmeans.py"
    path.write_text(SOLUTION.replace(find, replace))
    return path


def failure_sections(stdout: str) -> list[list[str]]:
    body = stdout.split("= FAILURES =", 1)[1].split("short test summary", 1)[0]
    sections, current = [], None
    for line in body.splitlines():
        if line.startswith("____"):
            current = []
            sections.append(current)
        elif current is not None and line.strip() and not line.startswith("===="):
            current.append(line)
    return sections


def test_a_local_failure_is_short_and_names_the_arguments(tmp_path):
    # Before: 55 lines per failure with decorator frames, self=<... at 0x...>, impl=<module ...>.
    wrong_axis = variant(tmp_path, "    filled = counts > 0\n    new[filled] = sums[filled] / counts[filled, None]\n",
                         "    for k in range(len(new)):\n        if (labels == k).any():\n"
                         "            new[k] = data[labels == k].mean(axis=1)\n")
    proc = local_pytest(wrong_axis, "TestUpdateCentroids")
    sections = failure_sections(proc.stdout)
    assert len(sections) == 4, proc.stdout[-3000:]
    for lines in sections:
        text = "\n".join(lines)
        assert len(lines) <= 15, text
        assert "property:" in text and "ValueError" in text and "in update_centroids" in text
        assert "update_centroids(" in text and "data=" in text and "labels=" in text and "centroids=" in text
        for machinery in ("self=", "impl=", " at 0x", "helpers.py", "probes.py", "@given", "ExceptionGroup"):
            assert machinery not in text, (machinery, text)


def test_an_unwritten_function_fails_at_once_without_shrinking(tmp_path):
    stub = variant(tmp_path, "    return float(np.einsum(\"nd,nd->\", diff, diff))\n",
                   "    raise NotImplementedError(\"TODO: the loss\")\n")
    started = time.monotonic()
    proc = local_pytest(stub, "TestKmeansLoss::test_loss_is_the_sum_of_squared_distances")
    assert "kmeans_loss is not implemented yet (it raised NotImplementedError: TODO: the loss)" in proc.stdout
    assert len(failure_sections(proc.stdout)[0]) <= 3
    assert time.monotonic() - started < 60


def test_call_unmodified_names_the_parameter(tmp_path):
    in_place = variant(tmp_path, "    centroids = np.array(initial_centroids, dtype=float, copy=True)\n",
                       "    centroids = initial_centroids\n    centroids[:] = centroids + 0.5\n")
    proc = local_pytest(in_place, "TestTrainKmeans::test_initial_centroids_are_not_modified")
    assert "train_kmeans modified its argument initial_centroids in place" in proc.stdout, proc.stdout[-2000:]


def test_a_wrong_nearest_centroid_is_not_reported_as_a_tie_and_costs_no_other_function(tmp_path):
    argmax = variant(tmp_path, "np.argmin(_squared_distances(data[start:start + block], centroids), axis=1)",
                     "np.argmax(_squared_distances(data[start:start + block], centroids), axis=1)")
    proc = local_pytest(argmax, "TestAssignClusters::test_exact_ties_go_to_the_lowest_index", "TestKmeansLoss",
                        "TestQuantizeImage", "TestTrainKmeans::test_one_iteration_is_one_assign_and_update")
    assert "is not assigned to its nearest centroid" in proc.stdout and "ties should go" not in proc.stdout
    assert "1 failed" in proc.stdout, proc.stdout[-2000:]  # kmeans_loss, quantize_image, train_kmeans pass


def test_a_student_object_in_the_failing_call_is_named_without_calling_into_it():
    """The grader's handle on the student's model answers every attribute (its methods run in the
    worker). Formatting a failure asked it for ``detach`` and called it: StudentError inside pytest's
    report hook, an INTERNALERROR, and every later line lost ("could not collect these tests":
    a sample_digits bug cost all six hidden cvae lines, 18/24 instead of 21/24)."""
    sys.path.insert(0, str(REPO / "tests"))
    from course_pytest import format_call
    from helpers import fmt, is_tensor

    from autograder.sandbox import protocol
    from autograder.sandbox.remote import RemoteObject

    class Box:  # any call into the worker fails the test
        def call(self, what, payload):
            raise AssertionError(f"called into the worker: {what}")

    model = RemoteObject(Box(), protocol.Handle(7, "CVAE"), 1)
    assert not is_tensor(model) and is_tensor(protocol.AsTensor(__import__("numpy").zeros(2)))
    assert "CVAE" in fmt(model)
    assert format_call("sample_digits", ["model", "labels"], (model, [1, 2]), {}) == \
        "sample_digits(\n      model=<CVAE object>,\n      labels=[1, 2])"
