"""pytest plugin shared by the public and hidden tests (loaded with ``-p course_pytest``).

It picks the implementation under test (the ``impl`` fixture) and fixes hypothesis
to a derandomised profile, so a student, CI and the grader see the same examples.

Choosing the implementation, by precedence:
- the grader installs a factory (``config.course_impl_factory``) that returns a proxy
  to a sandboxed process;
- ``--impl stub|solution|PATH`` or the ``COURSE_IMPL`` environment variable;
- default ``stub``: the student's file beside the tests.
"""
from __future__ import annotations

import functools
import inspect
import os
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings

from helpers import fmt, is_tensor, load_module

# One BLAS thread: on a busy machine multi-threaded BLAS makes the tests' many tiny
# linear-algebra calls 10-30x slower (and the grader's sandbox runs one thread too).
try:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    pass

_HERE = Path(__file__).resolve().parent

settings.register_profile(
    "course",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # One failure per test, the smallest: not an ExceptionGroup of every distinct error found.
    report_multiple_bugs=False,
    # No "explain" phase: its coverage notes point at test internals, not at the student's bug.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    max_examples=int(os.environ.get("COURSE_MAX_EXAMPLES", "25")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("course")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--impl",
        default=os.environ.get("COURSE_IMPL", "stub"),
        help="implementation under test: 'stub' (your file, default), 'solution' (course staff), or a path",
    )
    parser.addoption("--course-full-trace", action="store_true",
                     help="show pytest's full report of a failure instead of the short feedback")


def resolve_impl(choice: str, module: str) -> Path:
    """Path of the file that ``--impl choice`` names for a module such as ``kmeans``."""
    root = _HERE.parent
    if choice == "stub":
        candidates = [root / "assignments" / f"{module}.py", root / f"{module}.py"]
    elif choice == "solution":
        candidates = [root / "solutions" / f"{module}.py"]
    else:
        candidates = [Path(choice)]
    for path in candidates:
        if path.is_file():
            return path
    raise pytest.UsageError(f"--impl {choice}: no file {candidates[0]}")


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest):
    """The module under test, named by the test module's ``ASSIGNMENT`` (its import name)."""
    module = request.module.ASSIGNMENT
    factory = getattr(request.config, "course_impl_factory", None)
    if factory is not None:
        return factory(module)
    return instrument(load_module(resolve_impl(request.config.getoption("--impl"), module), module))


# --- feedback: what a failing test prints --------------------------------------------
# A failure shows the property (the test's docstring), the error (assertion message with
# expected vs actual, or the student's exception and frames), and the smallest failing call
# into the student's code with the API's argument names. Test machinery (decorator frames,
# fixtures, hypothesis internals) is left out; `--course-full-trace` shows pytest's report.

class NotImplementedYet(BaseException):
    """A graded function raised NotImplementedError: fail at once (hypothesis does not shrink
    on a BaseException), as the grader does."""


class _Calls:
    """The latest outermost call of the current test into the implementation under test."""

    depth = 0
    last: tuple[str, list[str], tuple, dict] | None = None


def _record(qualname: str, fn: Callable[..., Any], skip_self: bool) -> Callable[..., Any]:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    params = params[1:] if skip_self else params

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _Calls.depth == 0:
            _Calls.last = (qualname, params, args[1:] if skip_self else args, kwargs)
        _Calls.depth += 1
        try:
            return fn(*args, **kwargs)
        except NotImplementedError as exc:
            raise NotImplementedYet(f"{qualname} is not implemented yet (it raised NotImplementedError"
                                    f"{': ' + str(exc) if str(exc) else ''})") from None
        finally:
            _Calls.depth -= 1

    return wrapper


def instrument(module: Any) -> Any:
    """Wrap the public functions and methods the module defines, in place (a fresh import)."""
    for name, value in list(vars(module).items()):
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            setattr(module, name, _record(name, value, skip_self=False))
        elif inspect.isclass(value):
            for attr, fn in list(vars(value).items()):
                if inspect.isfunction(fn) and (attr == "__init__" or not attr.startswith("_")):
                    label = value.__name__ if attr == "__init__" else f"{value.__name__}.{attr}"
                    setattr(value, attr, _record(label, fn, skip_self=True))
    return module


def _one_line(value: Any, limit: int = 200) -> str:
    if isinstance(value, (np.ndarray, np.generic)) or is_tensor(value):
        text = fmt(value, limit)
    elif isinstance(value, (int, float, str, bool, type(None))):
        text = repr(value)
    elif isinstance(value, (list, tuple)) and len(value) <= 8 and all(
            isinstance(v, (int, float, bool, np.number)) for v in value):
        text = repr(value)
    elif isinstance(value, (list, tuple)):
        text = f"<{type(value).__name__} of {len(value)} items>"
    else:
        text = f"<{getattr(value, '__course_type__', type(value).__name__)} object>"
    text = re.sub(r"\s*\n\s*", " ", text)
    return text if len(text) <= limit else text[:limit] + " …"


def format_call(name: str, params: list[str], args: tuple, kwargs: dict) -> str:
    """``name(param=value, ...)`` over a few lines, values compact, names from the API."""
    pairs = [(params[i] if i < len(params) else f"arg{i + 1}", a) for i, a in enumerate(args)]
    pairs += list(kwargs.items())
    body = ",\n".join(f"      {key}={_one_line(value)}" for key, value in pairs)
    return f"{name}(\n{body})" if pairs else f"{name}()"


_MACHINERY = re.compile(r"^\s*(self|impl)=|^Failing test case:|^Falsifying example:|^\)$|^You can reproduce")


def format_failure(title: str, doc: str, error: str, call: str = "", notes: list[str] = ()) -> str:
    """The few lines a failing test shows: property, error, smallest failing call."""
    lines = [title] if title else []
    lines += [f"  property: {doc}"] if doc else []
    lines += ["  " + ln for ln in error.strip().splitlines()[:12]]
    if call:
        lines.append("  smallest failing call: " + call)
    else:
        kept = [ln for note in notes for ln in str(note).splitlines() if not _MACHINERY.match(ln)]
        lines += ["  " + ln for ln in kept[:8]]
    return "\n".join(ln.rstrip() for ln in lines)


def _student_frames(excinfo: pytest.ExceptionInfo, module_file: str | None) -> list[str]:
    if not module_file:
        return []
    frames = []
    for entry in excinfo.traceback:
        if str(entry.path) == module_file:
            source = entry.statement.lines[0].strip() if entry.statement.lines else ""
            frames.append(f"  at {Path(module_file).name}:{entry.lineno + 1} in {entry.name}: {source}")
    return frames[-3:]


def describe_local(item: pytest.Item, excinfo: pytest.ExceptionInfo) -> str:
    """The report of a failed test run on a local file."""
    exc = excinfo.value
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip().split("\n")[0]
    if isinstance(exc, AssertionError):
        error = str(exc) or "assertion failed"
    elif isinstance(exc, NotImplementedYet):
        error = str(exc)
    else:
        impl_module = item.funcargs.get("impl") if hasattr(item, "funcargs") else None
        frames = _student_frames(excinfo, getattr(impl_module, "__file__", None))
        error = "\n".join([f"{type(exc).__name__}: {exc}", *frames])
    call = format_call(*_Calls.last) if _Calls.last and not isinstance(exc, NotImplementedYet) else ""
    return format_failure("", doc, error, call, getattr(exc, "__notes__", []))


def pytest_runtest_setup(item: pytest.Item) -> None:
    _Calls.last, _Calls.depth = None, 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if (report.failed and call.excinfo is not None and "impl" in getattr(item, "fixturenames", ())
            and not item.config.getoption("--course-full-trace")
            and getattr(item.config, "course_impl_factory", None) is None):
        report.longrepr = describe_local(item, call.excinfo)
    return report
