"""The autograder zip's own scripts, run for real against stand-ins for pip and otter.

setup.sh runs with fake ``apt-get`` and ``python3.11`` (whose venv "pip" records each call),
so the order of installs and the CPU-torch fallback are checked in a second, without a network.
run_autograder runs with a Python wrapper that kills otter (SIGKILL, as the out-of-memory
killer does) or lets it exit without results, and the real ``autograder.fallback`` behind it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.build import autograder_requirements_text, course_yml_for, lean_templates, otter_config
from autograder.config import load_course
from autograder.fallback import killed_reason, memory_limit_bytes, out_of_memory_reason

COURSE = load_course()
FAKE_PIP = r"""#!/usr/bin/env bash
echo "CALL PIP_CONFIG_FILE=${PIP_CONFIG_FILE:-} $*" >> "$FAKE_LOG"
prev=
for arg; do [ "$prev" = -r ] && sed 's/^/  requirement: /' "$arg" >> "$FAKE_LOG"; prev=$arg; done
case " $* " in
  *" --index-url "*|*" torch==2.13.0 "*)
    if [ -z "${FAKE_CPU_OK:-}" ]; then
        echo "WARNING: Retrying after connection broken" >&2
        echo "ERROR: No matching distribution found for torch==2.14.1" >&2
        exit 1
    fi ;;
esac
"""


def render(template: str, autograder_dir: Path) -> str:
    from otter.generate import JINJA_ENV

    with lean_templates(COURSE):
        return JINJA_ENV.get_template(template).render(autograder_dir=str(autograder_dir))


def run_setup(tmp: Path, assignment: str, **env: str) -> tuple[str, list[str]]:
    """Run the rendered setup.sh of ``assignment``; return its output and the recorded pip calls."""
    source = tmp / "ag" / "source"
    source.mkdir(parents=True)
    (source / "requirements.txt").write_text(autograder_requirements_text(COURSE, COURSE.get(assignment)))
    venv = tmp / "venv"
    script = render("python/setup.sh", tmp / "ag").replace("/opt/course-venv", str(venv))
    (tmp / "setup.sh").write_text(script)
    fakebin = tmp / "bin"
    fakebin.mkdir()
    (fakebin / "apt-get").write_text("#!/bin/sh\nexit 0\n")
    (tmp / "pip").write_text(FAKE_PIP)
    (fakebin / "python3.11").write_text(f'#!/bin/sh\nmkdir -p "$3/bin" && cp {tmp / "pip"} "$3/bin/python"\n')
    for f in (fakebin / "apt-get", fakebin / "python3.11", tmp / "pip"):
        f.chmod(0o755)
    log = tmp / "log"
    full_env = {"PATH": f"{fakebin}:/usr/bin:/bin", "FAKE_LOG": str(log), **env}
    proc = subprocess.run(["bash", str(tmp / "setup.sh")], env=full_env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr, [line.split(" ", 1)[1] if line.startswith("CALL") else line
                                       for line in log.read_text().splitlines()]


def test_setup_installs_cpu_torch_first_and_the_rest_without_it(tmp_path):
    out, calls = run_setup(tmp_path, "cvae", FAKE_CPU_OK="1")
    assert "CPU torch not available" not in out
    torch_calls = [c for c in calls if "torch==" in c and "requirement:" not in c]
    assert torch_calls == ["PIP_CONFIG_FILE=/dev/null -m pip install -q --timeout 30 --retries 0 --index-url "
                           "https://download.pytorch.org/whl/cpu torch==2.14.1"], calls
    assert calls.index(torch_calls[0]) < calls.index(next(c for c in calls if " -r " in c))
    requirements = [c.split("requirement: ")[1] for c in calls if "requirement: " in c]
    assert "numpy==2.4.6" in requirements and not any(r.startswith("torch") for r in requirements)
    assert any("--no-deps" in c and c.endswith("/source/files/course") for c in calls)


def test_setup_falls_back_to_the_pinned_pypi_torch_with_a_visible_line(tmp_path):
    out, calls = run_setup(tmp_path, "cvae")
    assert ("setup.sh: CPU torch not available (ERROR: No matching distribution found for torch==2.14.1); "
            "installing torch==2.14.1 from PyPI") in out
    assert "PIP_CONFIG_FILE= -m pip install -q torch==2.14.1" in calls


def test_course_torch_spec_and_index_override_the_pin(tmp_path):
    out, calls = run_setup(tmp_path / "spec", "cvae", COURSE_TORCH_SPEC="torch==2.13.0", FAKE_CPU_OK="1")
    assert "PIP_CONFIG_FILE= -m pip install -q --timeout 30 --retries 0 torch==2.13.0" in calls
    assert not any("torch==2.14.1" in c for c in calls), "the pinned torch must not be installed as well"
    out, calls = run_setup(tmp_path / "index", "cvae", COURSE_TORCH_INDEX="file:///wheels/cpu", FAKE_CPU_OK="1")
    assert any("--index-url file:///wheels/cpu torch==2.14.1" in c for c in calls)


def test_setup_of_a_numpy_assignment_installs_no_torch(tmp_path):
    out, calls = run_setup(tmp_path, "kmeans", COURSE_TORCH_SPEC="torch==2.13.0")
    assert not any("torch" in c for c in calls), calls
    assert "CPU torch" not in out


# --- run_autograder and the fallback results ---------------------------------------------------

def unpacked(tmp: Path, assignment: str) -> Path:
    """The parts of an unpacked autograder zip that run_autograder and the fallback read."""
    ag = tmp / "autograder"
    (ag / "source" / "files" / "course").mkdir(parents=True)
    (ag / "results").mkdir()
    a = COURSE.get(assignment)
    (ag / "source" / "otter_config.json").write_text(json.dumps(otter_config(a)))
    (ag / "source" / "files" / "course" / "course.yml").write_text(course_yml_for(COURSE, a))
    (ag / "source" / "run_otter.py").write_text("# stands in for otter's\n")
    (ag / "run_autograder").write_text(render("common/run_autograder", ag))
    return ag


def run_autograder(ag: Path, otter: str) -> subprocess.CompletedProcess:
    """Run run_autograder with ``otter`` (bash) in place of run_otter.py; real Python otherwise."""
    wrapper = ag.parent / "python"
    wrapper.write_text(f'#!/usr/bin/env bash\ncase "$1" in */run_otter.py) {otter} ;; esac\n'
                       f'exec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "COURSE_PYTHON": str(wrapper)}
    return subprocess.run(["bash", str(ag / "run_autograder")], env=env, capture_output=True, text=True, timeout=120)


def test_otter_killed_gives_the_out_of_memory_reason_on_every_graded_line(tmp_path):
    ag = unpacked(tmp_path, "kmeans")
    proc = run_autograder(ag, "kill -KILL $$")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((ag / "results" / "results.json").read_text())
    reason = killed_reason(signal.SIGKILL)
    assert reason.startswith("The autograder ran out of memory (limit ") and "course staff can raise it" in reason
    assert results["output"] == reason and results["score"] == 0
    assert [t["name"] for t in results["tests"]] == [t.name for t in COURSE.get("kmeans").tests]
    assert all(t["output"] == reason and t["score"] == 0 for t in results["tests"])
    assert json.loads((ag / "submission_metadata.json").read_text()) == {}


def test_otter_exiting_without_results_gets_a_reason_too(tmp_path):
    ag = unpacked(tmp_path, "ica")
    proc = run_autograder(ag, "exit 1")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((ag / "results" / "results.json").read_text())
    assert results["output"].startswith("The autograder stopped without writing results (exit status 1)")
    assert len(results["tests"]) == len(COURSE.get("ica").tests)


def test_results_that_otter_wrote_and_gradescopes_metadata_are_left_alone(tmp_path):
    ag = unpacked(tmp_path, "kmeans")
    (ag / "submission_metadata.json").write_text('{"users": [{"email": "s@example.edu"}]}')
    proc = run_autograder(ag, f"echo '{{\"score\": 16}}' > {ag}/results/results.json; exit 0")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((ag / "results" / "results.json").read_text()) == {"score": 16}
    assert "users" in json.loads((ag / "submission_metadata.json").read_text())


@pytest.mark.parametrize("lines, files, expected", [
    ("4:memory:/grading/job\n0::/\n", {"memory/grading/job/memory.limit_in_bytes": "805306368\n",
                                         "memory/grading/memory.limit_in_bytes": "9223372036854771712\n"}, 768),
    ("4:memory:/docker/abc\n", {"memory/memory.limit_in_bytes": "314572800\n"}, 300),  # container: own group on top
    ("0::/user.slice/grading\n", {"user.slice/grading/memory.max": "max\n", "user.slice/memory.max": "1073741824\n"},
     1024),
    ("4:memory:/\n", {"memory/memory.limit_in_bytes": "9223372036854771712\n"}, None),
    ("0::/x\n", {}, None),
])
def test_the_memory_limit_is_read_from_the_process_cgroup(tmp_path, lines, files, expected):
    (tmp_path / "cgroup").write_text(lines)
    for name, text in files.items():
        (tmp_path / "fs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fs" / name).write_text(text)
    limit = memory_limit_bytes(tmp_path / "cgroup", tmp_path / "fs")
    assert (limit // 2**20 if limit else None) == expected
    reason = out_of_memory_reason(limit)
    assert (f"(limit {expected} MB)" if expected else "(limit unknown)") in reason


def test_other_signals_are_named():
    assert killed_reason(signal.SIGSEGV) == "The autograder was stopped by SIGSEGV; your course staff can look into it."
