"""Assertions and tools the tests share. Messages say what went wrong, with
expected and actual values, so a failing test is feedback a student can act on."""
from __future__ import annotations

import importlib.util
import inspect
import random
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

PROBES = Path(__file__).resolve().parent / "probes.py"


def load_module(path: Path, name: str):
    """Import ``path`` as module ``name`` (re-imported fresh each time)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _probes():
    return load_module(PROBES, "probes") if "probes" not in sys.modules else sys.modules["probes"]


def probe(impl: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Run helper ``probes.<name>(module, ...)`` next to the implementation.

    Locally that is this process; under the grader it is the sandboxed process
    that holds the student's objects (gradients, parameters, argument copies).
    """
    remote = getattr(impl, "__course_probe__", None)
    if remote is not None:
        return remote(name, *args, **kwargs)
    return getattr(_probes(), name)(impl, *args, **kwargs)


def seed_all(impl: Any, seed: int) -> None:
    """Seed random, numpy and torch where the implementation runs."""
    remote = getattr(impl, "__course_seed__", None)
    if remote is not None:
        return remote(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


class WithStandIns:
    """``impl`` whose functions run with stand-ins for the other graded functions they call.

    ``WithStandIns(impl, "kmeans", "assign_clusters").kmeans_loss(data, c)`` calls the
    student's kmeans_loss with a correct assign_clusters in place of the student's (see
    ``probes.call_with_stand_ins``): a test of one function does not fail for another's mistake.
    """

    def __init__(self, impl: Any, assignment: str, *replace: str):
        self._impl, self._assignment, self._replace = impl, assignment, list(replace)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def function(*args: Any, **kwargs: Any) -> Any:
            return probe(self._impl, "call_with_stand_ins", self._assignment, self._replace, name, *args, **kwargs)

        return function


def call_unmodified(impl: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``impl.name(*args)`` and fail if it modified any argument in place."""
    __tracebackhide__ = True
    result, changed = probe(impl, "call_tracking_mutation", name, *args, **kwargs)
    if changed:
        names = parameter_names(impl, name)
        # The probe reports positional arguments as "#1", "#2", ...: name them as the API does.
        shown = [names[int(c[1:]) - 1] if c.startswith("#") and c[1:].isdigit() and int(c[1:]) <= len(names)
                 else c for c in changed]
        raise AssertionError(f"{name} modified its argument{'s' if len(shown) > 1 else ''} {', '.join(shown)} "
                             f"in place; work on a copy (e.g. arr.copy()) instead")
    return result


def parameter_names(impl: Any, name: str) -> list[str]:
    """The parameter names of ``impl.name`` (under the grader: the API's, from the reference)."""
    remote = getattr(impl, "__course_params__", None)
    if remote is not None:
        return remote(name)
    try:
        return list(inspect.signature(getattr(impl, name)).parameters)
    except (AttributeError, TypeError, ValueError):
        return []


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a tensor (torch's, or the grader's wire tensor when torch is absent).

    The class is asked, not the instance: an object living in the grader's worker answers
    every attribute (its methods run there), so ``hasattr(model, "detach")`` would be true of
    the student's model too, and calling it would run student code to format a message.
    """
    return hasattr(type(value), "detach")


def fmt(value: Any, limit: int = 600) -> str:
    """Compact, bounded text for an array or value."""
    if is_tensor(value):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0:
        text = repr(value.item())
    elif isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, threshold=40, edgeitems=3, separator=", ", max_line_width=10**6)
        text = re.sub(r"\n\s*", " ", text)  # one line: rows of a matrix stay readable in a short report
        text = f"array(shape={value.shape}, dtype={value.dtype}) {text}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " …"


def as_array(value: Any, what: str) -> np.ndarray:
    """Convert a returned value to a float/int ndarray or fail with a clear message."""
    __tracebackhide__ = True
    if is_tensor(value):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except Exception:
        raise AssertionError(f"{what} should be an array, got {type(value).__name__}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise AssertionError(f"{what} should be a numeric array, got {fmt(value)}")
    return arr


def check_shape(value: Any, shape: tuple, what: str) -> np.ndarray:
    """Fail unless ``value`` is an array of exactly ``shape``."""
    __tracebackhide__ = True
    arr = as_array(value, what)
    if arr.shape != tuple(shape):
        raise AssertionError(f"{what} has the wrong shape: expected {tuple(shape)}, got {arr.shape}")
    return arr


def check_close(actual: Any, expected: Any, what: str, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """Fail unless ``actual`` matches ``expected`` elementwise within tolerances."""
    __tracebackhide__ = True
    exp = np.asarray(expected, dtype=float)
    act = check_shape(actual, exp.shape, what).astype(float)
    if not np.allclose(act, exp, rtol=rtol, atol=atol, equal_nan=False):
        bad = ~np.isclose(act, exp, rtol=rtol, atol=atol)
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if exp.ndim else ()
        at = f" (first mismatch at index {where}: expected {exp[where].item()!r}, got {act[where].item()!r})" \
            if exp.ndim else ""
        raise AssertionError(f"{what} is wrong{at}\n  expected: {fmt(exp)}\n  actual:   {fmt(act)}")


def check(condition: bool, message: str) -> None:
    """Fail with ``message`` unless ``condition`` holds."""
    __tracebackhide__ = True
    if not condition:
        raise AssertionError(message)
