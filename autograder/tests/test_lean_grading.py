"""Work a grading does not need is not done: the trusted side of a cvae grading never imports
torch (tensors cross the wire as arrays), and `otter run` starts no Jupyter kernel."""
from __future__ import annotations

import json
import struct
import subprocess
import sys

import numpy as np
import pytest

from autograder.config import REPO_ROOT
from autograder.sandbox import protocol

# The runner in this very process, then a look at what the process imported.
_RUNNER = """
import json, sys
from autograder import runner
code = runner.main(sys.argv[1:])
print("MODULES " + json.dumps({"code": code, "torch": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
"""


def _frame_body(header: object) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack(">II", len(text), 0) + text


def test_wire_tensors_round_trip_without_torch():
    """AsTensor goes out as a tensor; a tensor decoded with torch_ok=False comes back as AsTensor."""
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    frame = protocol.encode({"x": protocol.AsTensor(arr), "n": np.int64(3)})
    header = json.loads(frame[16:16 + struct.unpack(">I", frame[8:12])[0]])
    assert "__tensor__" in header["__dict__"]["x"]
    back = protocol.decode(frame[8:], torch_ok=False)
    assert isinstance(back["x"], protocol.AsTensor) and not isinstance(back["n"], protocol.AsTensor)
    assert back["x"].numpy().dtype == np.float32 and np.array_equal(np.asarray(back["x"]), arr)
    torch = pytest.importorskip("torch")
    assert isinstance(protocol.decode(frame[8:])["x"], torch.Tensor)  # what the worker gets


@pytest.mark.parametrize("inner", [[1, 2], "text", {"__float__": "nan"}, None])
def test_a_tensor_that_holds_no_array_is_refused(inner):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(_frame_body({"__tensor__": inner}), torch_ok=False)


def test_grading_cvae_leaves_torch_out_of_the_trusted_process(tmp_path):
    """The runner grading the cvae reference gives full marks and never imports torch itself."""
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-c", _RUNNER, "--root", str(REPO_ROOT), "--assignment", "cvae",
                           "--submission", str(REPO_ROOT / "solutions" / "cvae.py"), "--out", str(report)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES ")), None)
    assert line is not None, proc.stderr[-3000:]
    seen = json.loads(line.split(" ", 1)[1])
    assert seen["code"] == 0
    assert seen["torch"] == [], f"the trusted runner imported {seen['torch'][:5]}"
    result = json.loads(report.read_text())
    assert result["score"] == result["max_score"], [t["message"] for t in result["tests"] if not t["passed"]]


# Stands in front of ipykernel's launcher (the module a Jupyter kernel starts with): it notes
# that a kernel was started, then starts the real one.
_LAUNCHER_SHIM = """
import pathlib, runpy, sys
here = pathlib.Path(__file__).resolve().parent
(here / "kernel-started").touch()
sys.path[:] = [p for p in sys.path if p and pathlib.Path(p).resolve() != here]
sys.modules.pop("ipykernel_launcher", None)
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""


def test_otter_run_starts_no_kernel(course, course_cli, tmp_path, monkeypatch):
    """`course grade` (otter run on the zip) gives full marks without starting a Jupyter kernel."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "ipykernel_launcher.py").write_text(_LAUNCHER_SHIM)
    monkeypatch.setenv("PYTHONPATH", str(shim))  # reaches otter's kernel; the runner and workers run with -I
    proc = course_cli("grade", "kmeans", str(REPO_ROOT / "solutions" / "kmeans.py"), "--json",
                      str(tmp_path / "results.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == course.get("kmeans").total_points
    assert all(t["status"] == "passed" for t in results["tests"])
    assert not (shim / "kernel-started").exists(), "otter started a Jupyter kernel"


_RUN_SHIM = """
import json, sys
import otter.run
calls = []
otter.run.main = lambda *a, **k: calls.append([list(a), k])
from autograder import otter_cli
otter_cli.main(sys.argv[1:])
print(json.dumps({"calls": calls, "modules": sorted(m for m in ("otter.cli", "python_on_whales") if m in sys.modules)}))
"""


def test_course_otter_run_calls_otters_run_as_its_command_line_does_and_imports_no_more(tmp_path):
    """`otter run`'s options reach otter.run.main unchanged; otter's full command line (and Docker's
    client) stay unimported, as under Gradescope's run_otter.py."""
    proc = subprocess.run([sys.executable, "-c", _RUN_SHIM, "run", "--no-logo", "-a", "ag.zip", "-o", str(tmp_path),
                           "sub.py"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["calls"] == [[["sub.py"], {"autograder": "ag.zip", "output_dir": str(tmp_path), "no_logo": True,
                                           "debug": False}]]
    assert seen["modules"] == [], f"imported: {seen['modules']}"
