"""protocol.decode stays bounded in memory and time whatever the worker sends (issue 12, classes 4 and 5)."""
from __future__ import annotations

import collections
import json
import struct
import time
import tracemalloc

import numpy as np
import pytest

from autograder.sandbox import protocol


def frame(header, buffers=()) -> bytes:
    """A frame body (no length prefix) as a hostile worker can write it: any header, any buffers."""
    raw = json.dumps(header).encode()
    parts = [struct.pack(">II", len(raw), len(buffers)), raw]
    for buf in buffers:
        parts += [struct.pack(">Q", len(buf)), buf]
    return b"".join(parts)


def roundtrip(value):
    return protocol.decode(protocol.encode(value)[8:])


@pytest.mark.parametrize("array", [np.zeros(0), np.array(2, dtype=np.int32), np.arange(6, dtype=">i4").reshape(2, 3),
                                   np.ones((2, 2), dtype=np.complex128), np.ones(3, dtype=np.float16),
                                   np.array([True, False]), np.arange(12.0)[::2], np.asfortranarray(np.ones((3, 4)))],
                         ids=["empty", "0-d", "big-endian", "complex", "float16", "bool", "strided", "fortran"])
def test_arrays_come_back_equal_and_writable(array):
    back = roundtrip(array)
    assert back.shape == array.shape and back.dtype == array.dtype and np.array_equal(back, array)
    assert back.flags.writeable


def test_the_same_array_sent_twice_arrives_as_two_independent_arrays():
    a = np.ones(4)
    first, second = roundtrip([a, a])
    first[0] = 5.0
    assert second[0] == 1.0


def test_records_share_one_class_per_field_set():
    State = collections.namedtuple("State", "means weights")
    back = roundtrip([State(np.zeros(2), 1.0), State(np.ones(2), 2.0)])
    assert type(back[0]) is type(back[1]) and back[1].weights == 2.0
    assert type(roundtrip(State(1, 2))) is type(back[0])


def test_a_buffer_referenced_twice_is_refused():
    """Amplification: one 1 MiB buffer named by 1000 arrays would decode to 1 GiB."""
    entries = [{"__nd__": ["<f8", [131072], 0]}] * 1000
    with pytest.raises(protocol.ProtocolError, match="referenced twice"):
        protocol.decode(frame(entries, [bytes(1 << 20)]))


@pytest.mark.parametrize("header, match", [
    ([[]] * (protocol.MAX_ITEMS + 1), "values"),  # counted before json.loads builds anything
    ([{"a": 0}] * (protocol.MAX_ITEMS // 3 + 1), "values"),  # dict values count too
    ([[]] * 300_000, "would decode to more than"),  # 3 bytes of JSON, 56 of Python
    (json.loads("[" * (protocol.MAX_DEPTH + 2) + "]" * (protocol.MAX_DEPTH + 2)), "nested deeper"),
    ({"__record__": [f"f{i}" for i in range(protocol.MAX_FIELDS + 1)], "values": [0] * (protocol.MAX_FIELDS + 1)},
     "fields"),
    ([{"__record__": [f"x{i}"], "values": [0]} for i in range(protocol.MAX_NEW_RECORD_TYPES + 1)], "kinds of record"),
    ({"__record__": ["a", "b"], "values": [1]}, "do not match"),
    ({"__record__": ["__class__"], "values": [1]}, "invalid field"),
    ({"__nd__": ["<f8", [2], 3]}, "no buffer"),
    ({"__nd__": ["|O", [2], 0]}, "not allowed"),
    ({"__nd__": ["<f8", [3], 0]}, "malformed"),
    ({"__bogus__": 1}, "unknown tagged"),
], ids=["items-json", "items-dicts", "budget", "depth", "fields", "record-kinds", "record-arity", "record-dunder",
        "missing-buffer", "object-dtype", "bad-shape", "unknown-tag"])
def test_hostile_headers_are_refused(header, match):
    with pytest.raises(protocol.ProtocolError, match=match):
        protocol.decode(frame(header, [bytes(16)]))


@pytest.mark.parametrize("body", [b"", b"\0\0\0\xff", struct.pack(">II", 2, 1) + b"[0]" + struct.pack(">Q", 1 << 40),
                                  struct.pack(">II", 2, 1 << 30) + b"[]", struct.pack(">II", 1 << 31, 0) + b"[]"],
                         ids=["empty", "short", "buffer-past-end", "too-many-buffers", "header-too-big"])
def test_truncated_or_lying_frames_are_refused(body):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(body)


@pytest.mark.parametrize("header", [[[]] * 200_000, [[]] * (protocol.MAX_ITEMS - 10), ["ab"] * 300_000,
                                    [{"k": [0.5, None]}] * 100_000, ["x" * 1000] * 60_000, [0.123456789] * 900_000],
                         ids=["empty-lists", "empty-lists-max", "short-strings", "dicts", "long-strings", "floats"])
def test_decoding_allocates_a_small_multiple_of_the_frame_at_most(header):
    """Accepted or refused, the memory decoding takes (json.loads included) is bounded by the frame's size."""
    body = frame(header)
    tracemalloc.start()
    try:
        try:
            protocol.decode(body)
        except protocol.ProtocolError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 2 * (protocol.BUDGET_FACTOR * len(body) + protocol.BUDGET_SLACK) + 2 * len(body), (peak, len(body))


def test_decoding_stops_at_the_deadline_as_a_timeout():
    body = frame([0.123456789] * 300_000)
    started = time.monotonic()
    with pytest.raises(protocol.DecodeTimeout) as info:
        protocol.decode(body, deadline=time.monotonic() + 0.001)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, protocol.ProtocolError)
    assert time.monotonic() - started < 2.0
    with pytest.raises(TimeoutError):
        protocol.decode(protocol.encode(1)[8:], deadline=time.monotonic() - 1)
    assert protocol.decode(protocol.encode([1, 2])[8:], deadline=time.monotonic() + 60) == [1, 2]


def test_many_records_of_one_kind_decode_fast():
    """Slow decode: 20 000 records used to build 20 000 namedtuple classes (seconds of trusted CPU)."""
    body = frame([{"__record__": ["a", "b"], "values": [i, None]} for i in range(20_000)])
    started = time.monotonic()
    back = protocol.decode(body)
    assert time.monotonic() - started < 1.0 and back[-1].a == 19_999


def test_an_honest_50_mb_array_round_trip_stays_fast():
    """The bounds cost honest data nothing measurable: 50 MB of float64 there and back well within a second."""
    array = np.random.default_rng(0).standard_normal(50 * 1024 * 1024 // 8)
    best = min(_timed(lambda: roundtrip({"ok": (array, [1.0])})) for _ in range(3))
    assert best < 2.0, best


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
