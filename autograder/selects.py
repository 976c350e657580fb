"""Static check that every ``select:`` node id of course.yml names a test that exists.

Read from the test files' syntax trees (no import, no pytest collection), so the
check is fast enough to run every time course.yml is loaded: a typo such as
``TestKmeansLos`` is a one-line error at load instead of a zip that scores the
solution 0.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path


def _test_dir(root: Path, assignment_id: str, visibility: str) -> Path:
    """The folder a test line's node ids are relative to (the layout convention of config.Assignment)."""
    return root / "tests" / assignment_id if visibility == "public" else root / "autograder" / assignment_id / "hidden"


@lru_cache(maxsize=64)
def _parse(path: Path, mtime_ns: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _members(node: ast.AST, module: ast.Module) -> dict[str, ast.AST] | None:
    """Functions and classes defined in ``node``, with those a class inherits from classes of the same file;
    None when a base class comes from elsewhere (its members cannot be known statically)."""
    found = {child.name: child for child in getattr(node, "body", [])
             if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if isinstance(node, ast.ClassDef):
        local = {c.name: c for c in module.body if isinstance(c, ast.ClassDef)}
        for base in node.bases:
            if not isinstance(base, ast.Name) or base.id not in local:
                return None
            inherited = _members(local[base.id], module)
            if inherited is None:
                return None
            found = {**inherited, **found}
    return found


def _literal_param_ids(func: ast.AST) -> set[str] | None:
    """Parametrisation ids pytest derives from literal ``@pytest.mark.parametrize`` lists; None when not literal."""
    per_decorator: list[list[str]] = []
    for deco in getattr(func, "decorator_list", []):
        if not (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr == "parametrize"):
            continue
        ids_kw = next((kw.value for kw in deco.keywords if kw.arg == "ids"), None)
        try:
            if ids_kw is not None:
                per_decorator.append([str(v) for v in ast.literal_eval(ids_kw)])
                continue
            values = ast.literal_eval(deco.args[1])
        except (ValueError, TypeError, SyntaxError, IndexError):
            return None
        ids = []
        for value in values:
            parts = value if isinstance(value, tuple) else (value,)
            if not all(isinstance(p, (str, int, float, bool)) or p is None for p in parts):
                return None
            ids.append("-".join(str(p) for p in parts))
        per_decorator.append(ids)
    if not per_decorator:
        return None
    # Stacked decorators: pytest joins the ids, the decorator nearest the function first.
    combos = [""]
    for ids in reversed(per_decorator):
        combos = [f"{c}-{i}" if c else i for c in combos for i in ids]
    return set(combos)


def select_problem(root: Path, assignment_id: str, visibility: str, node: str) -> str | None:
    """Why ``node`` names no test under ``root`` (a short phrase), or None when it does."""
    folder = _test_dir(root, assignment_id, visibility)
    file_part, *names = node.split("::")
    path = folder / file_part
    shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    if not path.is_file():
        return f"no file {shown}"
    try:
        module = _parse(path, path.stat().st_mtime_ns)
    except SyntaxError as exc:
        return f"{shown} does not parse (line {exc.lineno})"
    scope: ast.AST = module
    for i, name in enumerate(names):
        base, bracket, param = name.partition("[")
        members = _members(scope, module)
        if members is None:
            return None
        found = members.get(base)
        if found is None:
            return f"no test {base} in {shown}" + (f"::{'::'.join(names[:i])}" if i else "")
        if bracket:
            ids = _literal_param_ids(found)
            if ids is not None and param.rstrip("]") not in ids:
                return f"no parametrisation [{param} of {base} in {shown}"
        scope = found
    return None
