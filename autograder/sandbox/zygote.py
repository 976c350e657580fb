"""The zygote: a pre-warmed root process that forks one worker per graded line.

Started by :mod:`autograder.sandbox.warm` as ``python -I -S zygote.py SPEC``, beside a
copy of the worker. It imports what every worker would (:func:`worker.prepare`: fixed
entropy, numpy, torch where the submission uses it) once, then serves the trusted side
over a Unix socket: ``spawn`` forks a child that joins the worker's cgroups, enters its
namespaces and drops to the sandbox uid (:mod:`confine`), closes every descriptor but its
two pipes, and only then imports the student's file; ``wait`` reaps a child. It never runs
student code and is reachable by none: its children are another uid (and at the ``full``
level in a PID namespace that does not contain it) and keep none of its descriptors.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sys

if __name__ == "__main__":
    sys.path[:0] = json.loads(sys.argv[1])["sys_path"]
import confine  # noqa: E402  (copied beside this file)
import worker  # noqa: E402

_HIGH = 512  # above every descriptor the zygote itself holds


def _child(request: dict, fds: list[int], sock: socket.socket, sync_w: int) -> None:
    """In the forked child: never returns."""
    try:
        os.setsid()  # its own group and session: the trusted side kills them as one
        confine.join_cgroups(request["cgroups"])
        os.write(sync_w, b"1")
    except BaseException:
        os._exit(111)
    try:
        sock.detach()  # the Python object must not close a reused number later
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, _HIGH) for fd in fds]
        os.closerange(3, _HIGH)
        for target, fd in zip((3, 4), high):
            os.dup2(fd, target)
        os.closerange(5, 1 << 20)
        spec = {**request["spec"], "fds": [3, 4]}
        confine.enter(request["level"], request["uid"], request["work"], request["keep"], request["hide"],
                      request["scratch_mb"], request["scratch"])
        worker._limit(spec)
        worker._quiet_stdio()
    except BaseException:
        os._exit(112)
    worker.run(spec)
    os._exit(0)


def _spawn(sock: socket.socket, request: dict, fds: list[int]) -> dict:
    sync_r, sync_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(sync_r)
        _child(request, fds, sock, sync_w)
    os.close(sync_w)
    for fd in fds:
        os.close(fd)
    joined = os.read(sync_r, 1) == b"1"  # in its own group and cgroups before the trusted side goes on
    os.close(sync_r)
    return {"pid": pid, "joined": joined}


def _wait(pid: int, block: bool) -> dict:
    try:
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return {"code": None, "gone": True}
    return {"code": os.waitstatus_to_exitcode(status) if done else None}


def serve(sock: socket.socket) -> None:
    """Answer the trusted side until it hangs up."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        except InterruptedError:
            continue
        if not data:
            return
        request = json.loads(data)
        if request["op"] == "spawn" and len(fds) == 2:
            reply = _spawn(sock, request, fds)
        elif request["op"] == "wait":
            reply = _wait(int(request["pid"]), bool(request.get("block")))
        else:
            reply = {"error": "bad request"}
        sock.send(json.dumps(reply).encode())


def main() -> None:
    spec = json.loads(sys.argv[1])
    confine.die_with_parent()  # ends with the grading
    if os.getppid() != spec["parent"]:
        os._exit(1)
    sock = socket.socket(fileno=spec["sock"])
    worker.prepare(spec)
    # fork() copies only the calling thread: a library that started threads could leave a
    # lock held in every child. Then the trusted side starts cold workers instead.
    threads = len(os.listdir("/proc/self/task"))
    sock.send(json.dumps({"ready": threads == 1, "threads": threads}).encode())
    if threads == 1:
        serve(sock)
    os._exit(0)


if __name__ == "__main__":
    main()
