# base: stub
"""Issue 12, class 4: every reply but the import status is a handcrafted frame in which
10 000 arrays name one 4 MiB buffer (4.3 MB on the wire, 40 GiB if each reference is
copied). The worker's own encoder is replaced, so the frames go down the real reply pipe;
each is built when it is sent, by ``_crafted`` (case 20 redefines it)."""
import json
import os
import struct
import sys
from pathlib import Path


def _in_sandbox() -> bool:
    return Path.cwd().name in ("scratch", "scratch-2") and Path.cwd().parent.name.startswith("course-worker-")


def _frame(header: dict, buffers: list) -> bytes:
    raw = json.dumps(header).encode()
    parts = [struct.pack(">II", len(raw), len(buffers)), raw]
    for buf in buffers:
        parts += [struct.pack(">Q", len(buf)), buf]
    body = b"".join(parts)
    return struct.pack(">Q", len(body)) + body


def _crafted() -> bytes:
    return _frame({"__dict__": {"ok": [{"__nd__": ["<f8", [524288], 0]}] * 10_000}}, [bytes(4 << 20)])


def _hijack() -> None:
    protocol = sys.modules["protocol"]  # the worker's copy, imported before the submission
    honest = protocol.encode

    def encode(value, to_handle=None):
        if isinstance(value, dict) and value.get("ok") == {"imported": True}:
            return honest(value, to_handle)
        return _crafted()  # looked up when called: a later definition wins

    protocol.encode = encode


if _in_sandbox() and "protocol" in sys.modules and os.getuid() >= 1000:
    _hijack()
