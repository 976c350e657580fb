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
from typing import Any, Callable

MAX_FRAME = 512 * 1024 * 1024
_ALLOWED_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
}


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


class Handle:
    """Reference to an object that lives in the worker (a model, an unknown type)."""

    def __init__(self, ident: int, type_name: str):
        self.ident = ident
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object in the submission>"


def record_type(fields: tuple[str, ...]) -> type:
    """A namedtuple class for a record the worker returned (e.g. a GMMState)."""
    import collections

    return collections.namedtuple("Record", fields)


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
                buffers.append(arr.tobytes())
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
    parts = [struct.pack(">II", len(header), len(buffers)), header]
    for buf in buffers:
        parts += [struct.pack(">Q", len(buf)), buf]
    body = b"".join(parts)
    return struct.pack(">Q", len(body)) + body


def decode(body: bytes, torch_ok: bool = True) -> Any:
    """Decode one frame body (without its length prefix) into plain values.

    ``torch_ok=False`` (a process that must not import torch): tensors arrive as :class:`AsTensor`.
    """
    try:
        hlen, nbuf = struct.unpack(">II", body[:8])
        header = json.loads(body[8:8 + hlen].decode())
        pos, buffers = 8 + hlen, []
        for _ in range(nbuf):
            (blen,) = struct.unpack(">Q", body[pos:pos + 8])
            buffers.append(body[pos + 8:pos + 8 + blen])
            pos += 8 + blen
    except (struct.error, ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"malformed frame: {exc}") from None

    def dec(v: Any) -> Any:
        if isinstance(v, list):
            return [dec(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__float__" in v:
            return float(v["__float__"])
        if "__tuple__" in v:
            return tuple(dec(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {str(k): dec(x) for k, x in v["__dict__"].items()}
        if "__handle__" in v:
            return Handle(int(v["__handle__"]), str(v.get("type", "object"))[:100])
        if "__record__" in v:
            fields = tuple(v["__record__"])
            if not all(isinstance(f, str) and f.isidentifier() and not f.startswith("_") for f in fields):
                raise ProtocolError("record with invalid field names")
            return record_type(fields)(*[dec(x) for x in v["values"]])
        if "__nd__" in v:
            import numpy as np

            dtype, shape, idx = v["__nd__"]
            dt = np.dtype(dtype)
            if dt.name not in _ALLOWED_DTYPES:
                raise ProtocolError(f"array dtype {dt} not allowed")
            return np.frombuffer(buffers[int(idx)], dtype=dt).reshape([int(s) for s in shape]).copy()
        if "__tensor__" in v:
            if not (isinstance(v["__tensor__"], dict) and "__nd__" in v["__tensor__"]):
                raise ProtocolError("a tensor must hold an array")
            arr = dec(v["__tensor__"])
            if not torch_ok:
                return AsTensor(arr)
            import torch

            return torch.from_numpy(arr)
        raise ProtocolError(f"unknown tagged value {sorted(v)[:3]}")

    try:
        return dec(header)
    except (TypeError, ValueError, IndexError, KeyError, RecursionError) as exc:
        raise ProtocolError(f"malformed value: {exc}") from None


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
