"""Helpers that run next to the implementation under test (in the student's process
when graded), for checks that need the live objects: argument mutation, gradients,
model parameters. They return plain data only; the tests judge it."""
from __future__ import annotations

import copy
from typing import Any


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    if hasattr(a, "detach") and hasattr(b, "detach"):
        return a.shape == b.shape and a.dtype == b.dtype and bool((a == b).all() or (a.isnan() & b.isnan()).all())
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def call_tracking_mutation(module: Any, name: str, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Call ``module.name(*args, **kwargs)``; also report which arguments it changed in place."""
    before = [copy.deepcopy(a) for a in args]
    before_kw = {k: copy.deepcopy(v) for k, v in kwargs.items()}
    result = getattr(module, name)(*args, **kwargs)
    changed = [f"#{i + 1}" for i, (a, b) in enumerate(zip(before, args)) if not _same(a, b)]
    changed += [k for k, v in kwargs.items() if not _same(before_kw[k], v)]
    return result, changed
