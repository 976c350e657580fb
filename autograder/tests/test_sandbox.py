"""The sandbox: plain-data protocol, limits and isolation of the student's process."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from autograder.sandbox import protocol
from autograder.sandbox.client import SANDBOX_UID, GradingAbort, RemoteModule, Sandbox, StudentError


def test_protocol_round_trips_plain_data():
    from collections import namedtuple

    State = namedtuple("State", ["pi", "mu"])
    value = {"a": [1, 2.5, None, True, "s", float("nan")], "t": (np.arange(6.0).reshape(2, 3), torch.ones(2)),
             "r": State(np.zeros(2), np.int64(3))}
    frame = protocol.encode(value)
    back = protocol.decode(frame[8:])
    assert back["a"][:5] == [1, 2.5, None, True, "s"] and np.isnan(back["a"][5])
    assert np.array_equal(back["t"][0], value["t"][0]) and torch.equal(back["t"][1], torch.ones(2))
    assert back["r"].pi.tolist() == [0.0, 0.0] and back["r"].mu == 3
    scalars = protocol.decode(protocol.encode([torch.tensor(2.5), np.array(1.5)])[8:])
    assert scalars[0].shape == () and scalars[1].shape == ()


def _frame(header: bytes, nbuf: int = 0) -> bytes:
    import struct

    return struct.pack(">II", len(header), nbuf) + header


@pytest.mark.parametrize("body", [
    _frame(b'{"__pickle__": "gASVAAAAAAAAAAB9lC4="}'),           # a tagged value the format does not know
    _frame(b'{"__nd__": ["|O", [1], 0]}'),                         # object dtype
    _frame(b"\x80\x04\x95\x00"),                                    # raw pickle bytes instead of JSON
    _frame(b'{"__record__": ["__class__"], "values": [1]}'),      # dunder field names
    b"\x00\x00",                                                  # truncated
])
def test_protocol_rejects_anything_but_plain_data(body):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(body)


def test_object_arrays_are_refused():
    with pytest.raises(protocol.ProtocolError):
        protocol.encode(np.array([object()], dtype=object))


def _box(tmp_path: Path, source: str, **kw) -> Sandbox:
    path = tmp_path / "sub.py"
    path.write_text(source)
    return Sandbox(path, "sub", **kw)


def test_calls_return_plain_data_and_objects_become_handles(tmp_path):
    box = _box(tmp_path, "import numpy as np\nK = [1, 2]\ndef f(x): return x * 2\nclass M:\n    def g(self, a): return a + 1\n")
    try:
        mod = RemoteModule(box)
        assert np.array_equal(mod.f(np.arange(3)), [0, 2, 4])
        assert mod.K == [1, 2]
        obj = mod.M()
        assert obj.g(np.ones(2)).tolist() == [2.0, 2.0]
    finally:
        box.close()


def test_student_exceptions_carry_type_message_and_student_lines(tmp_path):
    box = _box(tmp_path, "def f():\n    raise ValueError('boom')\n")
    try:
        with pytest.raises(StudentError, match=r"f raised ValueError: boom\n    line 2, in f"):
            RemoteModule(box).f()
    finally:
        box.close()


def test_a_missing_function_and_an_import_failure_are_reported(tmp_path):
    box = _box(tmp_path, "x = 1\n")
    try:
        with pytest.raises(GradingAbort, match="sub.py does not define f"):
            RemoteModule(box).f()
    finally:
        box.close()
    box = _box(tmp_path, "def f(:\n")
    try:
        with pytest.raises(GradingAbort, match="could not be imported: SyntaxError"):
            RemoteModule(box).f()
    finally:
        box.close()


def test_an_endless_call_is_killed_at_the_deadline_and_the_next_call_works(tmp_path):
    box = _box(tmp_path, "def spin():\n    while True: pass\ndef ok(): return 1\n")
    try:
        box.deadline = time.monotonic() + 1.0
        start = time.monotonic()
        with pytest.raises(GradingAbort, match="did not finish within the time limit"):
            RemoteModule(box).spin()
        assert time.monotonic() - start < 5
        box.deadline = None
        assert RemoteModule(box).ok() == 1
    finally:
        box.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="privilege drop needs root")
def test_as_root_the_student_runs_as_an_unprivileged_user_without_network(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY")
    os.chmod(tmp_path, 0o700)
    box = _box(tmp_path, "import os, socket\n"
                         "def uid(): return os.getuid()\n"
                         "def read(p):\n    return open(p).read()\n"
                         "def net():\n    s = socket.socket(); s.settimeout(1)\n    s.connect(('127.0.0.1', 9)); return 'connected'\n")
    try:
        mod = RemoteModule(box)
        assert mod.uid() == box.uid and SANDBOX_UID <= box.uid < SANDBOX_UID + 1000
        with pytest.raises(StudentError, match="PermissionError|FileNotFoundError"):  # private /tmp: not even there
            mod.read(str(secret))
        if "no network" in box.isolation:
            with pytest.raises(StudentError, match="OSError|ConnectionRefused|Network is unreachable"):
                mod.net()
    finally:
        box.close()
