"""The image check of several assignments: install each zip on a fresh root, grade three
submissions there and on the host (`course grade`), print the figures, compare the scores."""
from __future__ import annotations

import os
import signal
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..bugs import write_bugs
from ..build import autograder_zip
from ..config import Assignment, Course
from ..grading import grade_one, total_limit
from . import root as roots
from .cgroups import Limits
from .image import Grading, Image, metadata
from .run import Outcome

SETUP_TIMEOUT = 1800.0
TOLERANCE = 1e-6


@dataclass
class Options:
    """What to emulate: Debian suite, memory (MB) and CPU limits of each grading, sandbox uids, torch build."""

    suite: str = "bookworm"
    memory_mb: int = 768
    cpu: float | None = None
    sandbox_uid: int = 69000
    torch_spec: str = "torch==2.13.0"
    logs: Path | None = None
    only: tuple[str, ...] = ("solution", "stub", "bug")


@dataclass
class Report:
    """One assignment's figures; ``problems`` empty means image and host agree."""

    assignment: str
    setup: Outcome | None = None
    venv_mb: float = 0.0
    growth_mb: float = 0.0
    torch: str = "none"
    gradings: list[Grading] = field(default_factory=list)
    host: dict[str, float | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def submissions(a: Assignment, folder: Path) -> list[tuple[str, Path]]:
    """The solution, the stub and the first catalogued bug, each as the file a student uploads."""
    picked = [("solution", a.solution_path), ("stub", a.stub_path)]
    bugs = write_bugs(a, folder / "bugs")
    if bugs:
        picked.append((f"bug {bugs[0].parent.name}", bugs[0]))
    out = []
    for label, path in picked:
        target = folder / label.replace(" ", "-") / a.submission  # uploaded under its expected name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        out.append((label, target))
    return out


def _needs_torch(zip_path: Path) -> bool:
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        text = zf.read("requirements.txt").decode() if "requirements.txt" in names else ""
    return any(line.strip().startswith("torch") for line in text.splitlines())


def _remove_stale_roots() -> None:
    """Delete root copies left by checks whose process is gone (and that have nothing mounted)."""
    from .mounts import mounted_under

    for path in roots.CACHE.glob("run-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and not mounted_under(path):
            roots.remove(path)


def check_one(course: Course, a: Assignment, opts: Options, work: Path) -> Report:
    """Install ``a``'s zip on a fresh root and grade there and on the host."""
    report = Report(a.id)
    zip_path = autograder_zip(course, a)
    env = {"COURSE_SANDBOX_UID": str(opts.sandbox_uid)}
    if opts.torch_spec and _needs_torch(zip_path):
        env["COURSE_TORCH_SPEC"] = opts.torch_spec
        report.torch = f"{opts.torch_spec} (COURSE_TORCH_SPEC: the CPU build on this machine's pip indexes)"
    logs = opts.logs or work
    logs.mkdir(parents=True, exist_ok=True)
    picked = [(label, path) for label, path in submissions(a, work / "submissions")
              if label.split()[0] in opts.only]
    with Image(opts.suite, roots.CACHE / f"run-{os.getpid()}-{a.id}") as image:
        before = image.size_mb()
        with Limits(f"course-gradescope-{os.getpid()}-setup", None) as limits:
            report.setup = image.install(zip_path, env, limits, logs / f"{a.id}-setup.log", SETUP_TIMEOUT)
        report.venv_mb, report.growth_mb = image.venv_mb(), image.size_mb() - before
        if report.setup.returncode != 0:
            report.problems.append(f"setup.sh failed (exit {report.setup.returncode}): "
                                   + (report.setup.output.strip().splitlines() or ["no output"])[-1])
            return report
        for n, (label, path) in enumerate(picked):
            with Limits(f"course-gradescope-{os.getpid()}-{n}", opts.memory_mb, opts.cpu) as limits:
                report.gradings.append(image.grade(label, path, metadata(a.title, a.total_points), env, limits,
                                                   logs / f"{a.id}-{label.replace(' ', '-')}.log",
                                                   total_limit(course, a)))
    for label, path in picked:
        report.host[label] = grade_one(zip_path, path, a.submission, total_limit(course, a)).get("score")
    for g in report.gradings:
        host = report.host.get(g.label)
        if g.score is None or host is None or abs(g.score - host) > TOLERANCE:
            report.problems.append(f"{g.label}: image {_score(g.score)} vs host {_score(host)}"
                                   + (f" ({g.output.strip().splitlines()[0][:200]})" if g.output.strip() else ""))
    return report


def _score(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def describe(report: Report, opts: Options, total: float) -> str:
    """The printed block of one assignment."""
    lines = [f"{report.assignment}: Debian {roots.SUITES[opts.suite]} ({opts.suite}), grading limit "
             f"{opts.memory_mb} MB" + (f", {opts.cpu:g} CPU" if opts.cpu else "") + f"; torch: {report.torch}"]
    if report.setup:
        s = report.setup
        lines.append(f"  setup      {s.wall_s:7.1f} s  exit {s.returncode}  venv {report.venv_mb:.0f} MB, "
                     f"root +{report.growth_mb:.0f} MB, peak {s.peak_mb:.0f} MB")
    for g in report.gradings:
        o = g.outcome
        roles = ", ".join(f"{k} {v:.0f}" for k, v in sorted(o.rss_mb.items()))
        full = o.fullest_mb
        lines.append(f"  {g.label:<12} {o.wall_s:7.1f} s  score image {_score(g.score)}/{total:g} host "
                     f"{_score(report.host.get(g.label))}  peak {o.peak_mb:.0f} MB"
                     + (f" (limit hit {o.limit_hits}x)" if o.limit_hits else "")
                     + (f" (anon {full['anon']:.0f} + file {full['file']:.0f} at fullest)" if full else "")
                     + (f"  largest RSS MB: {roles}" if roles else ""))
    lines += [f"  PROBLEM {p}" for p in report.problems]
    return "\n".join(lines)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def check(course: Course, assignments: list[Assignment], opts: Options, echo=print) -> list[Report]:
    """Check every assignment; SIGTERM/SIGHUP unwind like Ctrl-C, so mounts and cgroups go."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    _remove_stale_roots()
    started = time.monotonic()
    roots.cached_root(opts.suite)
    echo(f"root: {roots.CACHE / opts.suite} ready in {time.monotonic() - started:.1f} s")
    reports = []
    try:
        for a in assignments:
            with tempfile.TemporaryDirectory(prefix=f"course-gradescope-{a.id}-") as tmp:
                try:
                    report = check_one(course, a, opts, Path(tmp))
                except OSError as exc:
                    report = Report(a.id, problems=[f"{type(exc).__name__}: {exc}"])
            echo(describe(report, opts, a.total_points))
            reports.append(report)
    finally:
        roots.finish_removals()
    return reports
