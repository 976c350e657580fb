"""The ``impl`` the runner installs: the sandbox's ``RemoteModule`` behind a clock.

It bounds the worst case of a grading. The runner's ``impl`` is a :class:`GuardedModule`.
Once a function has run past its time limit, later tests that call it fail at once with
that reason ("unmixer did not finish within 20 s in an earlier test; not run again")
instead of each waiting its own limit; and from the first such timeout on, every test's
deadline is cut to the grading's remaining budget (``defaults.grading_time_limit``), so a
submission that hangs in every function is graded in bounded time whatever the number of
tests, while a submission that never hangs is never cut short by a loaded machine. It also remembers the
last call of each test (with the API's parameter names, read from the reference) so a
failure can show the input the student's function got.
"""
from __future__ import annotations

import ast
import time
from pathlib import Path
from typing import Any, Callable

from .sandbox import client
from .sandbox.client import TimeLimit

# A call that started with less than this share of its test's limit left is a victim of
# slower calls earlier in the same test, not proof that the function itself hangs.
_FAIR_SHARE = 0.5
# Probes that call one graded function, and the position of its name in their arguments:
# their time is that function's time, their arguments after the name are its input.
_CALLS_BY_NAME = {"call_tracking_mutation": 0, "call_with_stand_ins": 2}


class Clock:
    """Deadlines of one grading and the functions that ran past theirs."""

    def __init__(self, box: client.Sandbox, budget: float):
        self.box, self.budget = box, budget
        self.ends: float | None = None  # the grading's end, fixed by the first timeout
        self.limit = 0.0  # the current test's own limit
        self.timed_out: dict[str, float] = {}  # function -> seconds it ran before being killed
        self.last_call: tuple[str, tuple, dict] | None = None  # this test's latest call into the submission

    def start_test(self, limit: float) -> None:
        """Arm the sandbox's deadline for a test whose limit is ``limit`` seconds."""
        now = time.monotonic()
        self.limit = limit
        self.last_call = None
        self.box.deadline = now + limit if self.ends is None else min(now + limit, self.ends)

    def refuse(self, key: str) -> None:
        """Raise TimeLimit at once if ``key`` already timed out or the budget is spent."""
        if key in self.timed_out:
            raise TimeLimit(f"{key} did not finish within {self.timed_out[key]:.3g} s in an earlier test; "
                            f"not run again")
        if self.ends is not None and time.monotonic() >= self.ends:
            raise TimeLimit(f"the grading's time budget ({self.budget:.3g} s after the first timeout) ran out "
                            f"before {key} was called (slow or hanging functions in earlier tests)")

    def run(self, key: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, remembering ``key`` if the call runs past its deadline."""
        self.refuse(key)
        self.last_call = (key, args, kwargs)
        started, deadline = time.monotonic(), self.box.deadline
        try:
            return fn(*args, **kwargs)
        except TimeLimit:
            if self.ends is None:
                self.ends = time.monotonic() + self.budget
            given = (deadline - started) if deadline is not None else 0.0
            if self.limit > 0 and given >= _FAIR_SHARE * self.limit:
                self.timed_out.setdefault(key, self.limit if given >= 0.9 * self.limit else given)
            raise


def api_parameters(reference: Path) -> dict[str, list[str]]:
    """Parameter names of the reference's public functions and methods (``CVAE.forward``).

    Read with ``ast``, never imported: the trusted side does not run (or import torch for)
    the reference to learn names the API fixes anyway.
    """
    if not reference.is_file():
        return {}

    def names(fn: ast.FunctionDef, method: bool) -> list[str]:
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        return (params[1:] if method else params) + [a.arg for a in fn.args.kwonlyargs]

    found: dict[str, list[str]] = {}
    for node in ast.parse(reference.read_text()).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            found[node.name] = names(node, False)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    found[node.name] = names(item, True)
                elif isinstance(item, ast.FunctionDef) and not item.name.startswith("_"):
                    found[f"{node.name}.{item.name}"] = names(item, True)
    return found


def _remote_object_type() -> type | None:
    return getattr(client, "RemoteObject", None)


def _plain(value: Any) -> Any:
    """``value`` with every GuardedObject replaced by the remote object it stands for."""
    if isinstance(value, GuardedObject):
        return value._target
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _guard(clock: Clock, value: Any) -> Any:
    """``value`` with every remote object wrapped so that its methods are guarded too."""
    remote = _remote_object_type()
    if remote is not None and isinstance(value, remote):
        return GuardedObject(clock, value)
    if isinstance(value, list):
        return [_guard(clock, v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_guard(clock, v) for v in value)
    return value


def _guarded_call(clock: Clock, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _guard(clock, clock.run(key, fn, *_plain(args), **_plain(kwargs)))

    call.__name__ = key.rsplit(".", 1)[-1]
    return call


class GuardedObject:
    """A remote object (e.g. the student's CVAE) whose methods go through the clock."""

    def __init__(self, clock: Clock, target: Any):
        self._clock, self._target = clock, target
        handle = getattr(target, "_handle", None)
        self._type = str(getattr(handle, "type_name", "") or type(target).__name__)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _guarded_call(self._clock, f"{self._type}.{name}", getattr(self._target, name))

    def __repr__(self) -> str:
        return repr(self._target)


class GuardedModule:
    """The runner's ``impl``: the student's module behind the sandbox, behind the clock."""

    __course_remote__ = True

    def __init__(self, clock: Clock, remote: Any, parameters: dict[str, list[str]] | None = None):
        self._clock, self._remote, self._parameters = clock, remote, parameters or {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._remote, name)
        return _guarded_call(self._clock, name, value) if callable(value) else value

    def __course_probe__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        at = _CALLS_BY_NAME.get(name)
        tracked = at is not None and len(args) > at
        key = str(args[at]) if tracked else name

        def probe(*a: Any, **kw: Any) -> Any:
            if tracked:  # what the student's function got, not the probe's own arguments
                self._clock.last_call = (key, a[at + 1:], kw)
            return self._remote.__course_probe__(name, *a, **kw)

        return _guard(self._clock, self._clock.run(key, probe, *_plain(args), **_plain(kwargs)))

    def __course_params__(self, name: str) -> list[str]:
        """The API's parameter names of ``name`` (empty when unknown)."""
        return list(self._parameters.get(name, []))

    def __course_seed__(self, seed: int) -> None:
        self._remote.__course_seed__(seed)

    def __repr__(self) -> str:
        return repr(self._remote)
