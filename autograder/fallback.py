"""What the student reads when the grader itself died: the reason, on every graded line.

Two places need it: the otter plugin, when the trusted runner is killed (the kernel's
out-of-memory killer sends SIGKILL), and ``run_autograder``, when otter dies before
writing results.json::

    python -I -m autograder.fallback --source /autograder/source --status 137 --out results.json
"""
from __future__ import annotations

import argparse
import json
import signal
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a page-rounded 2**63 - 1


def _limit_file(text: str) -> int | None:
    value = text.strip()
    return int(value) if value.isdigit() and int(value) < _UNLIMITED else None


def memory_limit_bytes(proc_cgroup: Path = Path("/proc/self/cgroup"), root: Path = CGROUP_ROOT) -> int | None:
    """The tightest memory limit on this process's cgroup and its ancestors, or None if unknown.

    cgroup v1 (``N:memory:/path``): ``root/memory/<path>/memory.limit_in_bytes``; v2
    (``0::/path``): ``root/<path>/memory.max``. In a container the process's own cgroup is
    often mounted at the top, so the top's file counts too.
    """
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if "memory" in controllers.split(","):
            base, name = root / "memory", "memory.limit_in_bytes"
        elif controllers == "" and line.startswith("0::"):
            base, name = root, "memory.max"
        else:
            continue
        parts = [p for p in path.strip().split("/") if p]
        for depth in range(len(parts), -1, -1):
            try:
                limit = _limit_file((base.joinpath(*parts[:depth]) / name).read_text())
            except (OSError, ValueError):
                continue
            if limit is not None:
                limits.append(limit)
    return min(limits) if limits else None


def out_of_memory_reason(limit: int | None) -> str:
    """The student's one line when the grader ran out of memory under ``limit`` bytes (None: unknown)."""
    shown = f"limit {limit // 2**20} MB" if limit else "limit unknown"
    return f"The autograder ran out of memory ({shown}); your course staff can raise it."


def killed_reason(signum: int = signal.SIGKILL) -> str:
    """One line for a grader stopped by ``signum``: SIGKILL is how the kernel ends a process out of memory."""
    if signum == signal.SIGKILL:
        return out_of_memory_reason(memory_limit_bytes())
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"The autograder was stopped by {name}; your course staff can look into it."


def reason_for_status(status: int) -> str:
    """The reason for an exit status as bash reports it (128 + N: killed by signal N)."""
    if status > 128:
        return killed_reason(status - 128)
    if status < 0:
        return killed_reason(-status)
    return f"The autograder stopped without writing results (exit status {status}); your course staff can look into it."


def fallback_results(source: Path, reason: str) -> dict:
    """Gradescope's results.json for an autograder zip unpacked at ``source``: 0 and ``reason`` on every line."""
    from .config import load_course

    config = json.loads((source / "otter_config.json").read_text())
    plugin = next(p for p in config["plugins"] if isinstance(p, dict))  # {"…CoursePlugin": {"assignment": ID}}
    assignment_id = next(iter(plugin.values()))["assignment"]
    a = load_course(source / "files" / "course" / "course.yml").get(assignment_id)
    tests = [{"name": t.name, "score": 0.0, "max_score": t.points, "status": "failed", "output": reason,
              "visibility": "visible"} for t in a.tests]
    return {"score": 0.0, "output": reason, "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autograder.fallback", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the unpacked autograder zip")
    parser.add_argument("--status", type=int, required=True, help="otter's exit status, as bash reports it")
    parser.add_argument("--out", type=Path, required=True, help="results.json to write")
    args = parser.parse_args(argv)
    reason = reason_for_status(args.status)
    try:
        results = fallback_results(args.source, reason)
    except Exception as exc:  # noqa: BLE001 - a results file with the reason beats none at all
        print(f"autograder.fallback: could not read the graded lines ({type(exc).__name__}: {exc})")
        results = {"score": 0.0, "output": reason, "tests": [{"name": "Autograder", "score": 0.0, "max_score": 0.0,
                                                                "status": "failed", "output": reason}]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"autograder.fallback: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
