"""Hostile submissions, each graded through `course grade kmeans` (the otter run path).

For every case in ``hostile/`` (see its README): a valid results.json; no more points than
the honestly implemented parts earn (from course.yml); done within the per-test limit times
the number of tests plus a constant; the grader alive (``course grade`` exits 0 with a real
grading, or a one-line reason for a malformed upload); no hidden-test canary in anything a
student sees; no process of a sandbox uid left behind; nothing written outside the sandbox.

Sequence check (issue 12): after each hostile grading no task (thread), SysV IPC object or
key of the sandbox uid range is left, and the reference solution graded next on the same
machine gets full marks. Every grading runs in a memory cage of its own (a child memory
cgroup, else a soft RLIMIT_DATA), under a time limit that kills its process group, and what
it leaves of the sandbox uids is removed afterwards, whether or not the checks passed.
Gradings run three at a time to keep the suite short on a small machine; those whose cage
is large (they would use a lot of memory on a grader that does not contain them) one at a time.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unicodedata
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.build import autograder_zip
from autograder.config import REPO_ROOT, load_course
from autograder.grading import zip_folder
from autograder.sandbox.cgroups import CODE_MB
from autograder.sandbox.client import Limits

from sandbox_leftovers import SANDBOX_UID, caged, clean_leftovers, leftovers, remove_cgroup

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="hostile submissions are graded as root (CI, Gradescope); as a normal user "
                              "the sandbox cannot contain them (see SECURITY.md)")

HOSTILE = Path(__file__).resolve().parent / "hostile"
KMEANS = load_course().get("kmeans")
CANARY = "CANARY-kmeans"
# Graded lines that call each function of kmeans.py directly.
LINES = {"assign_clusters": {"assign_clusters", "hidden_exact_ties"}, "update_centroids": {"update_centroids"},
         "kmeans_loss": {"kmeans_loss", "hidden_loss_large_offset"},
         "train_kmeans": {"train_kmeans", "hidden_far_init", "hidden_large_offset", "hidden_bigger_inputs"},
         "quantize_image": {"quantize_image", "hidden_quantize_ties"}}
ALL = frozenset(LINES)
HONEST_BUT_LOSS = ALL - {"kmeans_loss"}
KMEANS_MEMORY_MB = load_course().memory_limit_mb(KMEANS)  # each worker's limit
N_TESTS = 24  # pytest tests of kmeans (public and hidden)
SLACK_S = 150  # otter's start, the solution's own run time and a loaded machine


@dataclass(frozen=True)
class Case:
    """One hostile upload: ``honest`` names the functions that keep their points."""

    source: str
    honest: frozenset = frozenset()
    upload: str = "kmeans.py"
    reason: str | None = None  # a malformed upload: 0 with a one-line reason containing this
    zipped: bool = True  # folders: uploaded as a zip (else as a folder, which `course grade` zips itself)
    # A file graded inside a submission folder keeps its name, as on Gradescope (`course grade FILE`
    # grades a lone .py file under the assignment's name: files named after students).
    in_folder: bool = False
    memory_mb: int = 2048  # the grading's cage (otter, runner, workers together)
    within_s: float | None = None  # a bound on the grading's wall time tighter than the suite's
    peak_rss_mb: float | None = None  # a bound on the peak RSS of the grading's largest process


CASES = [
    Case("01_results_at_import.py"),
    Case("02_daemon.py"),
    Case("03_vandal.py"),
    Case("04_reader.py"),
    Case("05_monkeypatch.py"),
    Case("06_always_equal.py"),
    Case("07a_exit_at_import.py"),
    Case("07b_os_exit_at_import.py"),
    Case("07c_interrupt_at_import.py"),
    Case("07d_exit_in_functions.py", frozenset({"assign_clusters", "update_centroids"})),
    Case("08_kill_parent.py", frozenset({"assign_clusters", "update_centroids", "train_kmeans"})),
    Case("09a_loop_at_import.py"),
    Case("09b_endless_functions.py", frozenset({"assign_clusters", "update_centroids", "train_kmeans"})),
    Case("10_threads_children.py", ALL),
    Case("11a_bombs.py", frozenset({"assign_clusters", "update_centroids", "train_kmeans"})),
    Case("11b_disk_and_output.py", HONEST_BUT_LOSS),
    Case("12a_planted_py", reason="More than one Python file"),
    Case("12b_planted_packages"),
    Case("13_import_solution.py"),
    Case("14_network.py", HONEST_BUT_LOSS),
    Case("15a_empty.py", reason="is empty"),
    Case("15b_syntax_error.py", reason="SyntaxError on line 4"),
    Case("15c_wrong_name.py", upload="kmeans_final.py", reason="Submit a file named kmeans.py", in_folder=True),
    Case("15d_notebook.ipynb", upload="kmeans.ipynb", reason="not a notebook"),
    Case("15e_handout", reason="No gradable files"),
    Case("15f_two_files", reason="More than one Python file", zipped=False),
    # Issue 12: one case per class of the review; run on main (before the fixes) every one failed.
    Case("16_zombie_leader.py", ALL, within_s=300),
    Case("17_sysv_ipc.py", HONEST_BUT_LOSS),
    Case("18_keyring.py", HONEST_BUT_LOSS),
    Case("19_decode_amplification.py", memory_mb=3072, within_s=180, peak_rss_mb=1024),  # the runner's bound
    Case("20_slow_decode.py", memory_mb=3072, within_s=180, peak_rss_mb=1024),
    # The worker's cgroup holds its limit plus CODE_MB; its RSS also counts library pages that the
    # trusted side read first (charged there): 64 MB for those. It asks for 512 MB past the limit.
    Case("21_shared_memory.py", HONEST_BUT_LOSS, memory_mb=4096, peak_rss_mb=KMEANS_MEMORY_MB + CODE_MB + 64),
    Case("22_fake_score.py", HONEST_BUT_LOSS),
    Case("23_pid_visibility.py", HONEST_BUT_LOSS),
]
BIG_CAGE_MB = 3000  # gradings with a cage above this run one at a time
# Each case's gradings (the hostile one, then the reference) start their uid search at a base of
# their own, so the reference gets the uid the hostile grading just had (or the next one, if the
# grader holds that uid back), and what is left is the case's: never another's, graded meanwhile.
# A grading holds two uids (the serving worker's and the spare's), so eight leave room for held-back ones.
UIDS_PER_CASE = 8


def uids_of(case: "Case") -> range:
    """The sandbox uids a case's gradings use (uids below SANDBOX_UID + 10 are for other gradings)."""
    first = SANDBOX_UID + 10 + UIDS_PER_CASE * CASES.index(case) if case in CASES else SANDBOX_UID
    return range(first, first + UIDS_PER_CASE if case in CASES else SANDBOX_UID + 1000)
CASE_TIMEOUT_S = 900  # a grading that runs longer is killed (and fails)


def expected_points(honest: frozenset) -> float:
    """Points of the course.yml lines whose functions are all honestly implemented."""
    earned = set().union(*(LINES[f] for f in honest)) if honest else set()
    return sum(t.points for t in KMEANS.tests if t.name in earned)


def compose(text: str, markers: Path) -> str:
    """A hostile file as uploaded: its base (solution or stub) in front, markers folder filled in."""
    first = text.splitlines()[0] if text else ""
    if first.startswith("# base: "):
        name = first.split()[-1]  # solution, stub, or another hostile file (itself composed)
        base = (compose((HOSTILE / name).read_text(), markers) if name.endswith(".py")
                else {"solution": KMEANS.solution_path, "stub": KMEANS.stub_path}[name].read_text())
        text = base + "\n\n# ---- hostile part ----\n" + text
    return text.replace("@MARKERS@", str(markers))


def materialise(case: Case, tmp: Path, markers: Path) -> Path:
    """The upload for ``case`` under ``tmp``: a file, a zip or a folder."""
    src = HOSTILE / case.source
    if src.is_file():
        path = tmp / "submission" / case.upload if case.in_folder else tmp / case.upload
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(compose(src.read_text(), markers))
        return path.parent if case.in_folder else path
    folder = tmp / src.name
    for item in sorted(src.rglob("*")):
        if item.is_file():
            dest = folder / item.relative_to(src).as_posix().removesuffix(".hostile")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(compose(item.read_text(), markers))
    return zip_folder(folder, tmp / f"{src.name}.zip") if case.zipped else folder


@dataclass
class Outcome:
    returncode: int
    stderr: str
    raw: bytes
    elapsed: float
    markers: list
    measured: dict = field(default_factory=dict)  # peak_rss_mb, cpu_s of the grading's processes
    leftovers: dict = field(default_factory=dict)  # tasks, sysv, keys of free sandbox uids after it
    reference_score: float | None = None  # the reference solution, graded right after


def run_caged(cmd: list[str], name: str, memory_mb: int, timeout_s: float,
              uids: range) -> tuple[subprocess.CompletedProcess, dict]:
    """``cmd`` in a memory cage of its own, with sandbox uids from ``uids.start``, its whole
    process group killed past ``timeout_s``."""
    wrapped, group = caged(cmd, memory_mb, name)
    env = {**os.environ, "COURSE_SANDBOX_UID": str(uids.start)}
    proc = subprocess.Popen(wrapped, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        stderr += f"\nkilled after {timeout_s:.0f} s"
    finally:
        remove_cgroup(group)
    lines = [ln for ln in stdout.splitlines() if ln.startswith("MEASURE ")]
    measured = json.loads(lines[-1][8:]) if lines else {}
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr), measured


def grade(upload: Path, out: Path, markers: Path, case: Case | None = None) -> Outcome:
    """``course grade kmeans UPLOAD --json OUT`` in its cage, what it left behind, and (for a hostile
    case) the sequence check: the reference solution graded next, then everything of it removed."""
    case = case or Case(upload.name)
    started = time.monotonic()
    timeout_s = case.within_s + 60 if case.within_s else CASE_TIMEOUT_S
    proc, measured = run_caged([sys.executable, "-m", "autograder", "grade", "kmeans", str(upload), "--json", str(out)],
                               f"{out.parent.name}-{out.stem}", case.memory_mb, timeout_s, uids_of(case))
    elapsed = time.monotonic() - started
    raw = out.read_bytes() if out.is_file() else b""
    outcome = Outcome(proc.returncode, proc.stderr, raw, elapsed, sorted(p.name for p in markers.iterdir()), measured)
    try:
        outcome.leftovers = leftovers(uids_of(case))
        if case.source in {c.source for c in CASES}:
            reference = out.parent / "reference.json"
            run_caged([sys.executable, "-m", "autograder.runner", "--root", str(REPO_ROOT), "--assignment", "kmeans",
                       "--submission", str(KMEANS.solution_path), "--out", str(reference)],
                      f"{out.parent.name}-{out.stem}-reference", 2048, 600, uids_of(case))
            outcome.reference_score = json.loads(reference.read_text())["score"] if reference.is_file() else None
    finally:
        clean_leftovers(uids_of(case))
    return outcome


@pytest.fixture(scope="module", autouse=True)
def up_to_date_zip():
    """Build the autograder zip once here, not in several parallel gradings at the same time."""
    autograder_zip(load_course(), KMEANS)


@pytest.fixture(scope="module")
def gradings(request, tmp_path_factory):
    """Grades the selected cases in parallel (three at a time); maps a case to its Outcome future."""
    wanted = [item.callspec.params["case"] for item in request.session.items
              if item.module is request.module and "case" in getattr(getattr(item, "callspec", None), "params", {})]
    pool = ThreadPoolExecutor(max_workers=3)
    big = threading.Lock()
    futures: dict[str, Future] = {}

    def graded(case: Case, upload: Path, out: Path, markers: Path) -> Outcome:
        if case.memory_mb <= BIG_CAGE_MB:
            return grade(upload, out, markers, case)
        with big:
            return grade(upload, out, markers, case)

    for case in wanted:
        tmp = tmp_path_factory.mktemp(case.source.split(".")[0])
        markers = tmp / "markers"
        markers.mkdir()
        os.chmod(markers, 0o1777)  # writable by anyone: only what runs outside the sandbox can reach it
        futures[case.source] = pool.submit(graded, case, materialise(case, tmp, markers), tmp / "results.json",
                                           markers)
    yield futures
    pool.shutdown(wait=True)


def student_visible(results: dict) -> str:
    """Everything a student sees: the top-level output and the output of visible tests."""
    parts = [str(results.get("output", ""))]
    parts += [str(t.get("output", "")) for t in results.get("tests", []) if t.get("visibility", "visible") == "visible"]
    return "\n".join(parts)


def reported(results: dict, part: str = "kmeans_loss") -> dict:
    """The facts a hostile file reported from inside the sandbox (``REPORT {...}`` in a part's output)."""
    output = next(t["output"] for t in results["tests"] if t["name"] == part)
    return json.JSONDecoder().raw_decode(output[output.index("REPORT ") + 7:])[0]


def test_the_function_map_covers_every_graded_line():
    assert set().union(*LINES.values()) == {t.name for t in KMEANS.tests}
    assert expected_points(ALL) == KMEANS.total_points


@pytest.mark.parametrize("case", CASES, ids=[c.source.split(".")[0] for c in CASES])
def test_hostile_submission(case: Case, gradings):
    got = gradings[case.source].result()
    print(f"{case.source}: graded in {got.elapsed:.1f} s, {got.measured}")
    assert got.returncode == 0, f"course grade failed: {got.stderr[-2000:]}"
    results = json.loads(got.raw.decode("utf-8"))  # valid JSON in valid UTF-8
    json.dumps(results, ensure_ascii=False).encode("utf-8")  # no lone surrogates either
    assert {"score", "output", "tests"} <= set(results)
    for t in results["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)

    expected = expected_points(case.honest)
    assert results["score"] == expected, student_visible(results)[:3000]
    assert sum(t["score"] for t in results["tests"]) == results["score"]
    if case.reason is not None:  # malformed: 0 with a one-line reason
        assert case.reason in results["output"] and "\n" not in results["output"].strip(), results["output"]
    else:  # a real grading: every graded line of course.yml, scored by the sandboxed run
        lines = [t for t in results["tests"] if "details_of" not in t.get("extra_data", {})]  # not hidden details
        assert [t["name"] for t in lines] == [t.name for t in KMEANS.tests]
        assert "could not fully isolate" not in results["output"], results["output"]

    limit = max(t.time_limit or KMEANS.time_limit or 60 for t in KMEANS.tests)
    assert got.elapsed <= min(limit * N_TESTS + SLACK_S, case.within_s or 1e9), f"graded in {got.elapsed:.0f} s"
    if case.peak_rss_mb is not None:  # every process of the grading, the runner and the workers included
        assert 0 < got.measured.get("peak_rss_mb", 0) <= case.peak_rss_mb, got.measured
    assert CANARY not in student_visible(results)
    assert got.markers == [], f"code ran outside the sandbox and left markers: {got.markers}"
    assert got.leftovers["tasks"] == [], f"sandbox processes survived the grading: {got.leftovers}"
    assert got.leftovers == {"tasks": [], "sysv": [], "keys": []}, f"left of the sandbox uids: {got.leftovers}"
    assert got.reference_score == KMEANS.total_points, f"the reference solution graded next: {got.reference_score}"
    check_feedback(results)
    check_report(case.source, results)


# What feedback may never hold: characters that hide text or break lines other than "\n".
_INVISIBLE = {"Cf", "Zl", "Zp", "Co", "Cs", "Cn"}


def check_feedback(results: dict) -> None:
    """Every line a student sees is readable, and only the grader's header states a score."""
    header = f"You scored **{results['score']:g} of {KMEANS.total_points:g}** points."
    outputs = [str(results.get("output", ""))] + [str(t.get("output", "")) for t in results["tests"]]
    for text in outputs:
        bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in _INVISIBLE
                      or unicodedata.category(c) == "Cc" and c not in "\t\n"})
        assert bad == [], f"invisible or line-breaking characters in feedback: {bad}"
        assert "\n\n\n" not in text, "runs of blank lines in feedback"
    fakes = [ln for text in outputs for ln in text.splitlines()
             if re.match(r"[*_]*(Score|You scored)", ln) and ln.rstrip() != header]
    assert fakes == [], f"lines that pose as the grader's score line: {fakes}"


def check_report(source: str, results: dict) -> None:
    """What the hostile file itself saw from inside the sandbox."""
    uid_range = range(SANDBOX_UID, SANDBOX_UID + 1000 + UIDS_PER_CASE * len(CASES))
    if source.startswith("01_"):  # student code runs as a sandbox uid; what it writes stays in its private tmpfs
        facts = reported(results)
        assert facts["uid"] in uid_range and re.search(r"/scratch(-2)?$", facts["cwd"])  # one of its two uids' folders
        leaked = [w for w in facts["written"] if Path(w).exists() and Path(w).stat().st_uid in uid_range]
        assert leaked == [], facts
    elif source.startswith("03_"):
        assert reported(results) == {"changed_outside_cwd": []}
    elif source.startswith("04_"):
        assert reported(results)["read"] == [], "the submission could read test or solution files"
    elif source.startswith("11b_"):
        assert reported(results)["disk_mb"] <= 5 * Limits().scratch_mb
        message = next(t["output"] for t in results["tests"] if t["name"] == "kmeans_loss")
        assert len(message) < 3200 and not {"\0", "\x1b", "\u202e"} & set(message)
    elif source.startswith("14_"):
        assert reported(results)["loopback"].startswith("failed"), reported(results)
    elif source.startswith(("17_", "18_")):  # nothing an earlier worker planted is found
        assert reported(results)["found"] == [], reported(results)
    elif source.startswith("21_"):  # shared memory counts against the worker's limit (its peak RSS: above)
        message = next(t["output"] for t in results["tests"] if t["name"] == "kmeans_loss")
        if "REPORT " in message:
            facts = reported(results)
            # the worker's limit plus the grader's allowance for its code (cgroup or RLIMIT_AS alike)
            assert facts["mmap_mb"] + facts["shm_mb"] <= facts["limit_mb"] + CODE_MB, facts
    elif source.startswith("23_"):  # the worker sees its own processes only (a namespace's init at most)
        facts = reported(results)
        assert facts["grader"] == [] and facts["other_users"] <= 1, facts


def runner_report(submission: Path, out: Path) -> bytes:
    """The trusted runner's report on ``submission`` (what `course grade` scores from), as bytes."""
    subprocess.run([sys.executable, "-m", "autograder.runner", "--root", str(REPO_ROOT), "--assignment", "kmeans",
                    "--submission", str(submission), "--out", str(out)], check=True, capture_output=True, timeout=1800)
    return out.read_bytes()


def test_unseeded_randomness_gets_the_same_report_ten_times(tmp_path):
    """np.random, random and default_rng() without a seed: the score depends on the random state
    alone, and the grader fixes that state, so ten gradings agree byte for byte."""
    submission = tmp_path / "kmeans.py"
    submission.write_text(compose((HOSTILE / "d1_unseeded_randomness.py").read_text(), tmp_path))
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda i: runner_report(submission, tmp_path / f"{i}.json"), range(10)))
    assert len(set(reports)) == 1
    assert json.loads(reports[0])["score"] <= expected_points(frozenset({"train_kmeans"}))


def test_unseeded_randomness_gets_byte_identical_results_through_otter(tmp_path):
    submission = tmp_path / "kmeans.py"
    submission.write_text(compose((HOSTILE / "d1_unseeded_randomness.py").read_text(), tmp_path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda i: grade(submission, tmp_path / f"{i}.json", tmp_path), range(2)))
    assert all(o.returncode == 0 for o in outcomes)
    assert outcomes[0].raw == outcomes[1].raw and json.loads(outcomes[0].raw)["tests"]
