"""Gradescope's results.json, as its autograder specification documents it.

Fields and enums from https://gradescope-autograders.readthedocs.io/en/latest/specs/
(top level: score, execution_time, output, output_format, test_output_format,
test_name_format, visibility, stdout_visibility, extra_data, tests, leaderboard; per test:
score, max_score, status, name, name_format, number, output, output_format, tags,
visibility, extra_data). The course adds one rule of its own: every test has a status.
"""
from __future__ import annotations

VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
STATUS = {"passed", "failed"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
_NUMBER = (int, float)
TOP = {"score": _NUMBER, "execution_time": _NUMBER, "output": str, "output_format": FORMATS,
       "test_output_format": FORMATS, "test_name_format": FORMATS, "visibility": VISIBILITY,
       "stdout_visibility": VISIBILITY, "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": _NUMBER, "max_score": _NUMBER, "status": STATUS, "name": str, "name_format": FORMATS,
        "number": str, "output": str, "output_format": FORMATS, "tags": list, "visibility": VISIBILITY,
        "extra_data": dict}


def _check(obj: dict, spec: dict, where: str) -> list[str]:
    problems = []
    for key, value in obj.items():
        rule = spec.get(key)
        if rule is None:
            problems.append(f"{where}: unknown field {key!r}")
        elif isinstance(rule, set):
            if value not in rule:
                problems.append(f"{where}.{key}: {value!r} is not one of {sorted(rule)}")
        elif isinstance(value, bool) or not isinstance(value, rule):
            problems.append(f"{where}.{key}: {type(value).__name__} where the specification has {rule}")
    return problems


def validate(results: object, require_status: bool = True) -> list[str]:
    """Every way ``results`` departs from the specification (an empty list: valid)."""
    if not isinstance(results, dict):
        return ["results.json must be an object"]
    problems = _check(results, TOP, "results")
    tests = results.get("tests", [])
    if not isinstance(tests, list):
        return problems
    if "score" not in results and any(isinstance(t, dict) and "score" not in t for t in tests):
        problems.append("results: no top-level score, so every test needs one")
    for i, t in enumerate(tests):
        where = f"tests[{i}]"
        if not isinstance(t, dict):
            problems.append(f"{where}: must be an object")
            continue
        problems += _check(t, TEST, where)
        if require_status and "status" not in t:
            problems.append(f"{where}: no status (the course sets one on every test)")
        if "tags" in t and isinstance(t["tags"], list) and not all(isinstance(x, str) for x in t["tags"]):
            problems.append(f"{where}.tags: must be strings")
    for i, entry in enumerate(results.get("leaderboard") or []):
        if not isinstance(entry, dict) or "name" not in entry or "value" not in entry:
            problems.append(f"leaderboard[{i}]: needs name and value")
        elif entry.get("order", "desc") not in ("asc", "desc"):
            problems.append(f"leaderboard[{i}].order: must be asc or desc")
    return problems


def looks_like_results(data: object) -> bool:
    """A results.json (not a runner report, which names its assignment, nor another JSON file)."""
    return isinstance(data, dict) and "tests" in data and "assignment" not in data
