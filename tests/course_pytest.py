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

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from helpers import load_module

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
    return load_module(resolve_impl(request.config.getoption("--impl"), module), module)
