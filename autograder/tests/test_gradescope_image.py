"""`./dev gradescope-check`: the autograder zips install on a clean Debian root and grade there as on the host.

Slow (debootstrap once, setup.sh per assignment, three gradings each); needs root,
debootstrap's mirror and cgroup v1, as on the course's CI machine.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import REPO_ROOT
from autograder.gradescope.cgroups import own_group
from autograder.gradescope.mounts import mounted_under, pip_host_paths
from autograder.gradescope.root import CACHE
from autograder.gradescope.run import drop_capabilities

OOM_LIMIT_MB = 160  # below what the trusted runner alone needs for cvae (about 190 MB): it cannot survive
OOM_REASON = f"The autograder ran out of memory (limit {OOM_LIMIT_MB} MB); your course staff can raise it."

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not Path("/sys/fs/cgroup/memory").is_dir(),
                                reason="the image check needs root and cgroup v1 (CI has both)")
pytestmark = needs_root


def test_the_gradings_get_dockers_default_capability_set():
    status = subprocess.run([*drop_capabilities(), "grep", "-E", "^Cap(Eff|Bnd):", "/proc/self/status"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert status == ["CapEff:", "00000000a80425fb", "CapBnd:", "00000000a80425fb"]


def test_pip_configuration_and_local_indexes_are_found(tmp_path):
    conf = tmp_path / "pip.conf"
    (tmp_path / "idx" / "simple").mkdir(parents=True)
    conf.write_text(f"[global]\nextra-index-url = https://example.invalid/simple file://{tmp_path}/idx/simple\n")
    paths = pip_host_paths({"PIP_CONFIG_FILE": str(conf), "PIP_FIND_LINKS": f"{tmp_path}/idx /nonexistent"})
    assert tmp_path / "idx" in paths and Path("/nonexistent") not in paths


def gradescope_check(*args: str, logs: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "autograder.gradescope", *args, "--logs", str(logs)],
                            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=3600)
    finally:
        if proc.poll() is None:
            proc.terminate()  # the check unwinds on SIGTERM: unmounts, removes its cgroups and roots
            proc.communicate(timeout=120)
    # Whatever the outcome: nothing of this check mounted, no cgroup, no root copy and no process left
    # behind (another check may run on the machine meanwhile: its run-PID-* roots are its own).
    own = f"run-{proc.pid}-"
    assert not [m for m in mounted_under(CACHE) if (m.relative_to(CACHE.resolve()).parts or ("",))[0].startswith(own)]
    assert not list(own_group("memory").glob(f"course-gradescope-{proc.pid}-*"))
    assert not list(CACHE.glob(f"run-{proc.pid}-*"))
    leftover = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout.splitlines()
    assert not [line for line in leftover if 69000 <= int(line.split()[0]) < 70000]
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def scores(out: str, assignment: str) -> dict[str, tuple[float, float, float]]:
    """label -> (image score, total, host score) from the check's printed block of ``assignment``."""
    lines = out.split(f"\n{assignment}: Debian", 1)[1].splitlines()[1:]
    block = "\n".join(itertools.takewhile(lambda line: line.startswith("  "), lines))
    found = re.findall(r"^  (solution|stub|bug \w+)\s.*?score image ([\d.]+)/([\d.]+) host ([\d.]+)", block, re.M)
    return {label.split()[0]: (float(i), float(t), float(h)) for label, i, t, h in found}


@pytest.mark.slow
def test_kmeans_and_cvae_grade_in_the_image_as_on_the_host(tmp_path):
    proc = gradescope_check("kmeans", "cvae", logs=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "gradescope-check: OK" in proc.stdout
    for assignment in ("kmeans", "cvae"):
        got = scores(proc.stdout, assignment)
        assert set(got) == {"solution", "stub", "bug"}, proc.stdout
        (sol, total, _), (stub, _, _), (bug, _, _) = got["solution"], got["stub"], got["bug"]
        assert (sol, stub) == (total, 0.0) and bug < total, f"{assignment}: {got}"
        assert re.search(rf"^{assignment}: .*\n  setup .* exit 0 .*venv \d+ MB", proc.stdout, re.M)


@pytest.mark.slow
def test_a_low_memory_limit_gives_the_one_line_reason(tmp_path):
    proc = gradescope_check("cvae", "--memory-mb", str(OOM_LIMIT_MB), "--only", "solution", logs=tmp_path)
    assert proc.returncode == 1, proc.stdout[-3000:]  # the image score differs from the host's full marks
    results = json.loads((tmp_path / "cvae-solution.results.json").read_text())
    assert results["score"] == 0
    assert results["tests"] and all(OOM_REASON in t["output"] for t in results["tests"]), results
    assert "no report" not in json.dumps(results)
