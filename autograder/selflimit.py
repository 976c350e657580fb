"""A memory limit for the trusted runner itself, well below the machine's.

Decoding is bounded (:mod:`autograder.sandbox.protocol`), but a limit on the process
that decides the score keeps any remaining amplification (a grader bug, a reply that
slips past a cap) from taking the grading host down: past it, allocations fail with
MemoryError (a failed test, or a ProtocolError in decode) instead of the kernel's
OOM killer picking a victim on the machine.

Why a *soft* ``RLIMIT_DATA`` and not a cgroup or ``RLIMIT_AS``:

- Limits are inherited by the worker processes the runner starts. Their memory limit
  (2 GB by default) must not drop to the runner's. The worker sets its own
  ``RLIMIT_DATA`` (soft and hard) at start; raising a soft limit up to the hard one
  needs no privilege, so leaving the hard limit as it was lets every worker take its own
  limit. A hard limit here would cap them all at the runner's.
- A cgroup holding the runner would hold the workers too (children start in their
  parent's cgroup, and the per-worker cgroups are created under the runner's own:
  coordination contract 6), so a 1 GB runner cgroup would cap every worker at 1 GB.
- ``RLIMIT_AS`` counts reserved address space (thread stacks, malloc arenas, the
  mappings of NumPy's and torch's libraries), which has little to do with memory used;
  ``RLIMIT_DATA`` counts private writable memory (the heap and anonymous mappings:
  what decoding allocates).
"""
from __future__ import annotations

import os
import resource

DEFAULT_MB = 1024
FLOOR_MB = 512  # the runner itself (pytest, hypothesis, NumPy, a reply) needs about 250 MB
ENV = "COURSE_RUNNER_MEMORY_MB"


def available_mb() -> int:
    """Memory this process can get: the machine's, or its memory cgroup's limit if lower."""
    from .fallback import memory_limit_bytes

    with open("/proc/meminfo") as meminfo:
        total = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1]) // 1024
    limit = memory_limit_bytes()
    return min(total, limit // (1024 * 1024)) if limit else total


def trusted_limit_mb() -> int:
    """``COURSE_RUNNER_MEMORY_MB`` if set, else 1 GB or half the available memory, whichever is less (≥ 512 MB)."""
    if os.environ.get(ENV, "").strip():
        return int(os.environ[ENV])
    return max(FLOOR_MB, min(DEFAULT_MB, available_mb() // 2))


def limit_trusted_memory(mb: int | None = None) -> int:
    """Set this process's soft ``RLIMIT_DATA`` to ``mb`` (default :func:`trusted_limit_mb`); return it.

    The hard limit is left as it is, so the workers this process starts can still set
    their own, higher, limit. A lower limit already in place is kept.
    """
    mb = trusted_limit_mb() if mb is None else mb
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    want = mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or soft > want:
        resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
    return mb
