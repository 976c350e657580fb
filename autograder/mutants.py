"""Mutation testing of the solution regions: does every small change to a reference lose points?

A mutant is the solution with one edit inside a ``# BEGIN SOLUTION`` … ``# END SOLUTION``
region: an arithmetic or comparison operator swapped, argmin for argmax, another axis, a
constant changed, a copy or a statement dropped, two arguments swapped, a transpose
dropped. Each mutant is run against the public and hidden tests (our own code, so plain
pytest with ``--impl`` in a subprocess, stopping at the first failure, with a timeout);
a mutant that passes them all *survives*. A survivor is either a gap in the tests or an
equivalent mutant, which ``autograder/<id>/mutants.yml`` lists with its reason under the
mutant's stable id (``function:operator:n``).
"""
from __future__ import annotations

import ast
import difflib
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from .config import PYTEST_PLUGINS, REPO_ROOT, Assignment
from .errors import CourseError

_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
           ast.Pow: ast.Mult, ast.MatMult: ast.Mult, ast.Mod: ast.FloorDiv}
_CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
           ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_NAMES = {"argmin": "argmax", "argmax": "argmin", "min": "max", "max": "min", "amin": "amax", "amax": "amin",
          "sum": "mean", "mean": "sum", "exp": "log", "log": "exp", "sqrt": "square", "randn_like": "rand_like",
          "randn": "rand", "sigmoid": "tanh", "solve": "lstsq", "inv": "pinv", "log1p": "expm1"}
_COPIES = {"copy", "clone", "array", "asarray", "deepcopy", "detach"}


@dataclass(frozen=True)
class Mutant:
    """One edit of the solution: a stable id, what changed, and the mutated file text."""

    id: str
    description: str
    source: str
    diff: str


def _regions(source: str) -> list[tuple[int, int]]:
    """1-based (first, last) line numbers strictly inside each solution region."""
    out, start = [], None
    for no, line in enumerate(source.splitlines(), 1):
        if "# BEGIN SOLUTION" in line:
            start = no
        elif "# END SOLUTION" in line and start is not None:
            out.append((start + 1, no - 1))
            start = None
    return out


def _offsets(source: str) -> list[int]:
    """Character offset of the start of every line (index 0 is line 1)."""
    offs, total = [], 0
    for line in source.splitlines(keepends=True):
        offs.append(total)
        total += len(line.encode("utf-8"))
    return offs


class _Collector(ast.NodeVisitor):
    """Walks the solution and lists (function, operator, node, replacement text) inside the regions."""

    def __init__(self, regions: list[tuple[int, int]]):
        self.regions, self.stack, self.edits = regions, [], []

    def _inside(self, node: ast.AST) -> bool:
        return any(a <= node.lineno and node.end_lineno <= b for a, b in self.regions)

    def _add(self, node: ast.AST, op: str, new: ast.AST | str) -> None:
        text = new if isinstance(new, str) else ast.unparse(new)
        self.edits.append((".".join(self.stack) or "<module>", op, node, text))

    def _scope(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_ClassDef = _scope

    def _replace(self, node: ast.AST, **fields) -> ast.AST:
        clone = type(node)(**{f: getattr(node, f) for f in node._fields})
        for key, value in fields.items():
            setattr(clone, key, value)
        return clone

    def generic_visit(self, node: ast.AST) -> None:
        if hasattr(node, "lineno") and self._inside(node):
            self._mutations(node)
        super().generic_visit(node)

    def _mutations(self, node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            new = _BINOPS[type(node.op)]
            self._add(node, f"{type(node.op).__name__}>{new.__name__}", self._replace(node, op=new()))
        elif isinstance(node, ast.AugAssign) and type(node.op) in _BINOPS:
            new = _BINOPS[type(node.op)]
            self._add(node, f"aug{type(node.op).__name__}>{new.__name__}", self._replace(node, op=new()))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMPOPS:
            new = _CMPOPS[type(node.ops[0])]
            self._add(node, f"{type(node.ops[0]).__name__}>{new.__name__}", self._replace(node, ops=[new()]))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            self._add(node, f"drop_{type(node.op).__name__}", node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            value = node.value
            if isinstance(value, bool):
                self._add(node, f"const_{value}>{not value}", ast.Constant(not value))
            else:
                for new in dict.fromkeys([0 if value else 1, value + 1, value * 2 if value not in (0, 1) else -value]):
                    if new != value:
                        self._add(node, f"const_{value!r}>{new!r}", ast.Constant(type(value)(new)))
        elif isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
            self._add(node, "drop_transpose", node.value)
        elif isinstance(node, ast.Call):
            self._call(node)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr)) and not self._is_docstring(node):
            self._add(node, "drop_statement", "pass")

    @staticmethod
    def _is_docstring(node: ast.AST) -> bool:
        return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in _NAMES:
            new_func = (ast.Attribute(value=func.value, attr=_NAMES[name], ctx=ast.Load()) if isinstance(func, ast.Attribute)
                        else ast.Name(id=_NAMES[name], ctx=ast.Load()))
            self._add(node, f"{name}>{_NAMES[name]}", self._replace(node, func=new_func))
        if name in _COPIES:  # a dropped copy: np.array(x, copy=True) -> x, x.copy() -> x
            if node.args:
                self._add(node, f"drop_{name}", node.args[0])
            elif isinstance(func, ast.Attribute):
                self._add(node, f"drop_{name}", func.value)
        if name in ("transpose", "swapaxes", "permute") and isinstance(func, ast.Attribute):
            self._add(node, "drop_transpose", func.value)
        for i, kw in enumerate(node.keywords):
            if kw.arg in ("axis", "dim") and isinstance(kw.value, (ast.Constant, ast.UnaryOp)):
                try:
                    axis = ast.literal_eval(kw.value)
                except ValueError:
                    continue
                for new in ([1, 0] if axis in (-1, 0) else [0, -1]):
                    if new != axis:
                        kws = list(node.keywords)
                        kws[i] = ast.keyword(arg=kw.arg, value=ast.Constant(new))
                        self._add(node, f"{kw.arg}{axis}>{new}", self._replace(node, keywords=kws))
            elif kw.arg in ("axis", "dim"):
                kws = [k for k in node.keywords if k is not kw]
                self._add(node, f"drop_{kw.arg}", self._replace(node, keywords=kws))
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            if ast.dump(node.args[0]) != ast.dump(node.args[1]):
                args = [node.args[1], node.args[0], *node.args[2:]]
                self._add(node, "swap_args", self._replace(node, args=args))


def generate(source: str, name: str = "solution.py") -> list[Mutant]:
    """Every mutant of the solution regions of ``source``, in file order, with stable ids."""
    tree = ast.parse(source)
    collector = _Collector(_regions(source))
    collector.visit(tree)
    data = source.encode("utf-8")
    offs = _offsets(source)
    counts: dict[str, int] = {}
    mutants: list[Mutant] = []
    seen: set[str] = set()
    for func, op, node, text in collector.edits:
        start = offs[node.lineno - 1] + node.col_offset
        end = offs[node.end_lineno - 1] + node.end_col_offset
        old = data[start:end].decode("utf-8")
        if "\n" in text or old == text:
            continue
        if not isinstance(node, ast.stmt) and "\n" in old:
            text = f"({text})"  # a multi-line expression replaced by one line: keep it one expression
        new_source = (data[:start] + text.encode("utf-8") + data[end:]).decode("utf-8")
        try:
            ast.parse(new_source)
        except SyntaxError:
            continue
        if new_source in seen:
            continue
        seen.add(new_source)
        key = f"{func}:{op}"
        counts[key] = counts.get(key, 0) + 1
        diff = "".join(difflib.unified_diff(source.splitlines(True), new_source.splitlines(True), name, f"{name} (mutant)", n=1))
        mutants.append(Mutant(f"{key}:{counts[key]}", f"{op} in {func} (line {node.lineno})", new_source, diff))
    return mutants


def known_equivalent(a: Assignment) -> dict[str, str]:
    """``autograder/<id>/mutants.yml``: mutant id → why it cannot be told apart from the solution."""
    path = REPO_ROOT / "autograder" / a.id / "mutants.yml"
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
        equivalent = data.get("equivalent", {}) if isinstance(data, dict) else None
        if not isinstance(equivalent, dict) or not all(isinstance(v, str) and v.strip() for v in equivalent.values()):
            raise ValueError("expected 'equivalent:' mapping each mutant id to its reason")
    except (yaml.YAMLError, ValueError) as exc:
        raise CourseError(f"{path.relative_to(REPO_ROOT)}: {str(exc).splitlines()[0]}") from None
    return {str(k): v for k, v in equivalent.items()}


def run_mutant(a: Assignment, mutant: Mutant, workdir: Path, timeout: float = 300) -> tuple[str, float]:
    """``killed``, ``survived`` or ``timeout`` (counted as killed: grading would stop it), and seconds taken."""
    path = workdir / mutant.id.replace(":", "_").replace(".", "_").replace(">", "-") / a.submission
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mutant.source)
    args = [sys.executable, "-m", "pytest", "-x", "-q", *PYTEST_PLUGINS, "-p", "no:warnings",
            "-p", "course_pytest", "-p", "autograder.mutants_pytest",
            "--impl", str(path), str(a.public_dir), str(a.hidden_dir)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    try:
        proc = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start
    outcome = "survived" if proc.returncode == 0 else "killed" if proc.returncode == 1 else f"error (pytest exit {proc.returncode})"
    return outcome, time.monotonic() - start


def sample(mutants: list[Mutant], max_count: int | None, seed: int) -> list[Mutant]:
    """A fixed sample (same ``seed`` → same mutants while the solution is unchanged), in file order."""
    if max_count is None or max_count >= len(mutants):
        return list(mutants)
    chosen = set(random.Random(seed).sample(range(len(mutants)), max_count))
    return [m for i, m in enumerate(mutants) if i in chosen]


def run_mutants(a: Assignment, max_count: int | None = None, jobs: int = 2, seed: int = 0,
                timeout: float | None = None, progress: bool = False,
                only: list[str] | None = None) -> list[tuple[Mutant, str, float]]:
    """Run a sample of ``a``'s mutants (or the ones ``only`` names); return (mutant, outcome, seconds) in file order.

    The solution runs first, the same way: it must pass, and unless ``timeout`` is given a
    mutant may take 5 times as long as it did (at least 60 s) before it counts as killed by
    its slowness (grading's per-test limits would stop it too), so a busy machine does not
    turn slow survivors into kills.
    """
    source = a.solution_path.read_text()
    generated = generate(source, a.submission)
    if only is not None:
        wanted = set(only)
        unknown = sorted(wanted - {m.id for m in generated})
        if unknown:
            raise CourseError(f"mutants: no mutant {unknown[0]} of {a.id} (ids as `course mutants {a.id}` prints them)")
        generated = [m for m in generated if m.id in wanted]
    chosen = sample(generated, max_count, seed)
    with tempfile.TemporaryDirectory(prefix=f"mutants-{a.id}-") as tmp:
        outcome, secs = run_mutant(a, Mutant("solution", "the solution itself", source, ""), Path(tmp), timeout or 1800)
    if outcome != "survived":
        raise CourseError(f"mutants: the {a.id} solution does not pass its own tests ({outcome})")
    limit = timeout or max(60.0, 5 * secs)
    if progress:
        print(f"  solution: {secs:.0f} s; a mutant is stopped after {limit:.0f} s", file=sys.stderr, flush=True)
    done = []

    def one(m: Mutant) -> tuple[str, float]:
        outcome, secs = run_mutant(a, m, Path(tmp), limit)
        done.append(m.id)
        if progress:  # a long run shows where it is
            print(f"  [{len(done)}/{len(chosen)}] {m.id}: {outcome} ({secs:.0f} s)", file=sys.stderr, flush=True)
        return outcome, secs

    with tempfile.TemporaryDirectory(prefix=f"mutants-{a.id}-") as tmp:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(one, chosen))
    return [(m, outcome, secs) for m, (outcome, secs) in zip(chosen, results)]


def report(a: Assignment, results: list[tuple[Mutant, str, float]], total: int) -> tuple[list[str], list[str]]:
    """(lines to print, unexplained survivors) for the results of :func:`run_mutants`."""
    equivalent = known_equivalent(a)
    lines, unexplained = [], []
    counts = {"killed": 0, "equivalent": 0, "survived": 0}
    for m, outcome, secs in results:
        if outcome in ("killed", "timeout"):
            counts["killed"] += 1
            continue
        if outcome == "survived" and m.id in equivalent:
            counts["equivalent"] += 1
            lines.append(f"equivalent {m.id}: {equivalent[m.id]}")
            continue
        counts["survived"] += 1
        unexplained.append(m.id)
        lines.append(f"SURVIVED {m.id} ({outcome}): {m.description}\n{m.diff.rstrip()}")
    secs = sum(s for _, _, s in results)
    lines.insert(0, f"mutants of {a.id}: {len(results)} run of {total} generated: {counts['killed']} killed, "
                    f"{counts['equivalent']} equivalent, {counts['survived']} survived ({secs:.0f} s of test time)")
    return lines, unexplained
