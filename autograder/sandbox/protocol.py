"""Plain-data wire format between the grader and the student worker.

Frames are a 4-byte big-endian length, a JSON header, then raw array buffers.
Only None, bool, int, float, str, list, tuple, dict with str keys, namedtuple-like
records, numeric NumPy arrays, torch tensors and opaque handles cross the wire:
nothing is unpickled, so a hostile worker can at worst send wrong data.
This module is copied next to the worker, so it imports only the standard
library at import time.
"""
from __future__ import annotations

import json
import os
import struct
import time
from typing import Any, Callable

MAX_FRAME = 512 * 1024 * 1024
_ALLOWED_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
}
# Bounds on what one frame may decode to, whatever the other side sends (issue 12).
# Arrays travel as raw buffers, so honest JSON headers are small: the caps on the header
# are far above any graded value and keep json.loads itself from amplifying (an empty
# list costs 56 bytes for its 3 bytes of JSON).
MAX_HEADER = 64 * 1024 * 1024  # bytes of JSON
MAX_ITEMS = 1_000_000  # values in one frame (containers, scalars, arrays)
MAX_DEPTH = 64  # nesting of containers
MAX_FIELDS = 64  # fields of one record
MAX_NEW_RECORD_TYPES = 32  # record types one frame may add to the cache
# The header's values may cost at most BUDGET_FACTOR × the frame's size + BUDGET_SLACK bytes,
# estimated before json.loads runs from the bytes that open a value: "[" a list (3 bytes of
# JSON, 64 of Python with its pointer), "{" a dict (up to two entries), "," a further item
# (a float or a short key and its pointer; ":" adds nothing: a dict's size covers it). Decoding builds them twice (json.loads, then the decoded copy) and
# copies each buffer once, so it allocates at most about twice the budget plus the buffers.
BUDGET_FACTOR = 4
BUDGET_SLACK = 16 * 1024 * 1024
_COSTS = {b"[": 72, b"{": 232, b",": 40}
_CHECK_EVERY = 4096  # values between two looks at the clock


class AsTensor:
    """An array that crosses the wire as a torch tensor, for a process without torch.

    The trusted side builds its inputs with NumPy and wraps them so the worker receives
    tensors; tensors it gets back arrive as AsTensor (``decode(..., torch_ok=False)``),
    so they go back as tensors too. ``detach()``, ``cpu()`` and ``numpy()`` mirror the
    few tensor methods the tests use to read a value.
    """

    __slots__ = ("array",)

    def __init__(self, array: Any):
        self.array = array

    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)

    def detach(self) -> "AsTensor":
        return self

    def cpu(self) -> "AsTensor":
        return self

    def numpy(self) -> Any:
        return self.array

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self.array if dtype is None else self.array.astype(dtype)

    def __len__(self) -> int:
        return len(self.array)

    def __repr__(self) -> str:
        return f"tensor({self.array!r})"


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame."""


class DecodeTimeout(ProtocolError, TimeoutError):
    """Decoding passed its deadline.

    Also a TimeoutError, so a caller that already turns a late reply into the test's
    time limit (``except TimeoutError``) treats a slow decode the same way.
    """


class Handle:
    """Reference to an object that lives in the worker (a model, an unknown type)."""

    def __init__(self, ident: int, type_name: str):
        self.ident = ident
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object in the submission>"


_RECORD_TYPES: dict[tuple[str, ...], type] = {}
_RECORD_CACHE_SIZE = 256


def record_type(fields: tuple[str, ...]) -> type:
    """The namedtuple class for a record with these fields (e.g. a GMMState), built once."""
    cls = _RECORD_TYPES.get(fields)
    if cls is None:
        import collections

        if len(_RECORD_TYPES) >= _RECORD_CACHE_SIZE:
            _RECORD_TYPES.pop(next(iter(_RECORD_TYPES)))  # oldest first: honest code uses a handful
        cls = _RECORD_TYPES[fields] = collections.namedtuple("Record", fields)
    return cls


def encode(value: Any, to_handle: Callable[[Any], Handle] | None = None) -> bytes:
    """Encode ``value`` as one frame; objects that are not plain data become handles."""
    buffers: list[bytes] = []

    def enc(v: Any) -> Any:
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v if -(2**63) <= v < 2**63 else float(v)
        if isinstance(v, float):
            return {"__float__": repr(v)} if v != v or v in (float("inf"), float("-inf")) else v
        if isinstance(v, Handle):
            return {"__handle__": v.ident, "type": v.type_name}
        if isinstance(v, AsTensor):
            return {"__tensor__": enc(v.array)}
        mod = type(v).__module__.split(".")[0]
        if mod == "torch" and type(v).__name__ in ("Tensor", "Parameter"):
            return {"__tensor__": enc(v.detach().cpu().numpy())}
        if mod == "numpy":
            import numpy as np

            if isinstance(v, np.generic):
                v = np.asarray(v)
            if isinstance(v, np.ndarray) and v.dtype.name in _ALLOWED_DTYPES:
                arr = np.ascontiguousarray(v)  # note: makes a 0-d array 1-d, so keep v's shape
                buffers.append(memoryview(arr.reshape(-1).view(np.uint8)))  # no copy until the join
                return {"__nd__": [arr.dtype.str, list(v.shape), len(buffers) - 1]}
        if isinstance(v, tuple) and hasattr(v, "_fields"):
            return {"__record__": [str(f) for f in v._fields], "values": [enc(x) for x in v]}
        if type(v) in (list, tuple):
            items = [enc(x) for x in v]
            return items if type(v) is list else {"__tuple__": items}
        if type(v) is dict and all(type(k) is str for k in v):
            return {"__dict__": {k: enc(x) for k, x in v.items()}}
        if to_handle is not None:
            return enc(to_handle(v))
        raise ProtocolError(f"cannot send a value of type {type(v).__name__}")

    header = json.dumps(enc(value), allow_nan=False).encode()
    size = 8 + len(header) + sum(8 + len(buf) for buf in buffers)
    parts = [struct.pack(">QII", size, len(header), len(buffers)), header]
    for buf in buffers:
        parts += [struct.pack(">Q", len(buf)), buf]
    return b"".join(parts)  # one copy of every buffer, length prefix included


def _split(body: bytes | bytearray | memoryview) -> tuple[Any, list[memoryview]]:
    """The JSON header and the buffers (views into ``body``, not copies) of one frame."""
    view = memoryview(body)
    try:
        hlen, nbuf = struct.unpack(">II", view[:8])
        if hlen > MAX_HEADER:
            raise ProtocolError(f"header of {hlen} bytes (at most {MAX_HEADER})")
        raw = bytes(view[8:8 + hlen])
        # Every JSON value but the first follows a comma, a bracket or a colon, so this bounds
        # the number of values json.loads would build, before it builds any.
        counts = {c: raw.count(c) for c in _COSTS}
        values = sum(counts.values()) + raw.count(b":") + 1
        if values > MAX_ITEMS:
            raise ProtocolError(f"more than {MAX_ITEMS} values")
        allowed = BUDGET_FACTOR * len(view) + BUDGET_SLACK
        if sum(n * _COSTS[c] for c, n in counts.items()) > allowed:
            raise ProtocolError(f"{values} values would decode to more than {allowed} bytes")
        header = json.loads(raw.decode())
        del raw
        pos, buffers = 8 + hlen, []
        if nbuf > (len(view) - pos) // 8:
            raise ProtocolError(f"{nbuf} buffers announced in a frame of {len(view)} bytes")
        for _ in range(nbuf):
            (blen,) = struct.unpack(">Q", view[pos:pos + 8])
            if pos + 8 + blen > len(view):
                raise ProtocolError("buffer runs past the end of the frame")
            buffers.append(view[pos + 8:pos + 8 + blen])
            pos += 8 + blen
    except (struct.error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None
    except MemoryError:
        raise ProtocolError("frame too large to decode") from None
    return header, buffers


def decode(body: bytes | bytearray | memoryview, torch_ok: bool = True, *, deadline: float | None = None) -> Any:
    """Decode one frame body (without its length prefix) into plain values.

    Whatever the body holds, decoding stays bounded: each buffer becomes at most one
    array (a second reference to it is refused: :func:`encode` never writes one), the
    values and nesting are capped (``MAX_ITEMS``, ``MAX_DEPTH``, ``MAX_FIELDS``), so is
    their cost (``BUDGET_FACTOR`` times the frame's size plus ``BUDGET_SLACK``), and
    record types are cached. ``deadline`` (a :func:`time.monotonic` value) is checked as decoding
    goes; past it, :class:`DecodeTimeout` is raised. ``torch_ok=False`` (a process that must not
    import torch): tensors arrive as :class:`AsTensor`.
    """
    if deadline is not None and time.monotonic() > deadline:
        raise DecodeTimeout("decoding started after the deadline")
    header, buffers = _split(body)
    used: set[int] = set()
    count = 0
    new_types = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count % _CHECK_EVERY == 0 and deadline is not None and time.monotonic() > deadline:
            raise DecodeTimeout("decoding passed the deadline")

    def array(v: list) -> Any:
        import numpy as np

        dtype, shape, idx = v
        dt = np.dtype(dtype)
        if dt.name not in _ALLOWED_DTYPES:
            raise ProtocolError(f"array dtype {dt} not allowed")
        idx = int(idx)
        if idx in used:
            raise ProtocolError(f"buffer {idx} referenced twice")
        if not 0 <= idx < len(buffers):
            raise ProtocolError(f"no buffer {idx}")
        used.add(idx)
        return np.frombuffer(buffers[idx], dtype=dt).reshape([int(s) for s in shape]).copy()

    def dec(v: Any, depth: int) -> Any:
        nonlocal new_types
        if depth > MAX_DEPTH:
            raise ProtocolError(f"values nested deeper than {MAX_DEPTH}")
        tick()
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            return v
        if "__float__" in v:
            return float(str(v["__float__"])[:40])
        if "__tuple__" in v:
            return tuple(dec(x, depth + 1) for x in v["__tuple__"])
        if "__dict__" in v:
            return {str(k): dec(x, depth + 1) for k, x in v["__dict__"].items()}
        if "__handle__" in v:
            return Handle(int(v["__handle__"]), str(v.get("type", "object"))[:100])
        if "__record__" in v:
            fields = v["__record__"]
            if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
                raise ProtocolError(f"record with more than {MAX_FIELDS} fields")
            fields = tuple(fields)
            if not all(isinstance(f, str) and len(f) <= 100 and f.isidentifier() and not f.startswith("_")
                       for f in fields):
                raise ProtocolError("record with invalid field names")
            if fields not in _RECORD_TYPES:
                new_types += 1
                if new_types > MAX_NEW_RECORD_TYPES:
                    raise ProtocolError(f"more than {MAX_NEW_RECORD_TYPES} kinds of record")
            values = v["values"]
            if not isinstance(values, list) or len(values) != len(fields):
                raise ProtocolError("record whose values do not match its fields")
            return record_type(fields)(*[dec(x, depth + 1) for x in values])
        if "__nd__" in v:
            return array(v["__nd__"])
        if "__tensor__" in v:
            if not (isinstance(v["__tensor__"], dict) and "__nd__" in v["__tensor__"]):
                raise ProtocolError("a tensor must hold an array")
            arr = dec(v["__tensor__"], depth + 1)
            if not torch_ok:
                return AsTensor(arr)
            import torch

            return torch.from_numpy(arr)
        raise ProtocolError(f"unknown tagged value {sorted(v)[:3]}")

    try:
        return dec(header, 0)
    except (TypeError, ValueError, IndexError, KeyError, AttributeError, RecursionError) as exc:
        raise ProtocolError(f"malformed value: {exc}") from None
    except MemoryError:
        raise ProtocolError("reply too large to decode") from None


def write_frame(fd: int, frame: bytes) -> None:
    """Write a whole frame to a file descriptor."""
    view = memoryview(frame)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int) -> bytes:
    """Blocking read of exactly n bytes (used by the worker)."""
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    """Blocking read of one frame body (used by the worker)."""
    (length,) = struct.unpack(">Q", read_exact(fd, 8))
    if length > MAX_FRAME:
        raise ProtocolError("frame too large")
    return read_exact(fd, length)
