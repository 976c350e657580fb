# base: solution
"""Case 14: the solution, plus at import a loopback server of its own and a connection to it
(the way out to any local service, otter's log server included); kmeans_loss reports
whether that worked. The other parts are honest."""
import json
import socket
from pathlib import Path


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _loopback() -> str:
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen(1)
            with socket.create_connection(server.getsockname(), timeout=2) as client:
                client.sendall(b"hello")
                peer, _ = server.accept()
                with peer:
                    return "connected: " + peer.recv(5).decode()
    except OSError as exc:
        return f"failed: {exc}"


LOOPBACK = _loopback() if _in_sandbox() else "not run"


def kmeans_loss(data, centroids):
    raise RuntimeError("REPORT " + json.dumps({"loopback": LOOPBACK}))
