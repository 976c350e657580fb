# base: solution
"""Issue 12, class 6: the solution, but kmeans_loss takes memory that RLIMIT_DATA does not
count, 64 MB at a time with every page populated: mmap(MAP_SHARED | MAP_ANONYMOUS) up to
512 MB below the worker's memory limit, then SysV shared memory (marked for removal at once,
so it goes with the process) up to 512 MB past the limit, all held together: past the
allowance for the worker's code and caches that the grader adds to the limit. It reports how
far each got (when the kernel did not kill it first); the suite also bounds the peak RSS of every process of the grading by the limit
(shared pages count in RSS), which holds however the worker ends (killed for its memory, or
at its time limit on a slow machine)."""
import ctypes
import json
import mmap
import os
import sys
from pathlib import Path

CHUNK = 64 * 1024 * 1024
IPC_PRIVATE, IPC_CREAT, IPC_RMID = 0, 0o1000, 0
MADV_POPULATE_WRITE = 23  # Linux 5.14: fault every page in, writable (charged to whoever counts it)


def _in_sandbox() -> bool:
    return (Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")
            and os.getuid() >= 1000)


def _limit_mb() -> int:
    return int(json.loads(sys.argv[1])["memory_mb"])


def _mmap(goal: int, held: list) -> int:
    try:
        while len(held) * 64 < goal:
            held.append(mmap.mmap(-1, CHUNK, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE))
    except (OSError, MemoryError, ValueError):
        pass
    return len(held) * 64


def _shm(goal: int, libc, held: list) -> int:
    libc.shmat.restype = ctypes.c_void_p
    while len(held) * 64 < goal:
        ident = libc.shmget(IPC_PRIVATE, CHUNK, IPC_CREAT | 0o600)
        if ident < 0:
            break
        addr = libc.shmat(ident, None, 0)
        libc.shmctl(ident, IPC_RMID, None)  # destroyed once detached, whatever happens next
        if addr in (None, ctypes.c_void_p(-1).value):
            break
        held.append(addr)
        if libc.madvise(ctypes.c_void_p(addr), ctypes.c_size_t(CHUNK), MADV_POPULATE_WRITE) != 0:
            ctypes.memset(addr, 1, CHUNK)
    return len(held) * 64


def kmeans_loss(data, centroids):
    if not _in_sandbox():
        raise RuntimeError("not in the sandbox")
    limit = _limit_mb()
    libc = ctypes.CDLL(None, use_errno=True)
    maps, segments = [], []
    facts = {"limit_mb": limit, "mmap_mb": _mmap(limit - 512, maps)}
    facts["shm_mb"] = _shm(limit + 512 - facts["mmap_mb"], libc, segments)
    for m in maps:
        m.close()
    for addr in segments:
        libc.shmdt(ctypes.c_void_p(addr))
    raise RuntimeError("REPORT " + json.dumps(facts))
