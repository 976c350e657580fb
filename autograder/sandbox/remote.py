"""Stand-ins on the trusted side for the submission's module and the objects it returns.

Every attribute access becomes a request to the worker (see :class:`client.Sandbox`);
only plain data and handles come back.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import protocol
from .errors import GradingAbort

if TYPE_CHECKING:
    from .client import Sandbox


def _wrap(box: Sandbox, value: Any) -> Any:
    if isinstance(value, protocol.Handle):
        return RemoteObject(box, value, box.generation)
    if isinstance(value, list):
        return [_wrap(box, v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_wrap(box, v) for v in value)
    if isinstance(value, dict):
        return {k: _wrap(box, v) for k, v in value.items()}
    return value


def _unwrap(box: Sandbox, value: Any) -> Any:
    if isinstance(value, RemoteObject):
        if value._generation != box.generation:
            raise GradingAbort("an object from the submission was lost when its process restarted")
        return value._handle
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_unwrap(box, v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(box, v) for k, v in value.items()}
    return value


def _holds_remote(value: Any) -> bool:
    """Whether ``value`` contains an object that lives in the worker (compared there, not here)."""
    if isinstance(value, RemoteObject):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_remote(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_remote(v) for v in value.values())
    return False


class RemoteObject:
    """An object living in the worker (e.g. the student's CVAE); methods run there."""

    def __init__(self, box: Sandbox, handle: protocol.Handle, generation: int):
        self._box, self._handle, self._generation = box, handle, generation

    def __getattr__(self, name: str):
        if name.startswith("_"):  # private and dunder names are never part of the graded API
            raise AttributeError(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            box = self._box
            payload = {"op": "call", "target": _unwrap(box, self), "name": name,
                       "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
            return box.call(f"{self._handle.type_name}.{name}", payload)

        return method

    def __repr__(self) -> str:
        return repr(self._handle)

    @property
    def __course_type__(self) -> str:
        """The class name of the object in the worker (``CVAE``), for messages."""
        return self._handle.type_name


class RemoteModule:
    """Stands in for the student's module inside tests: attribute access gives callables
    that run in the worker and return plain data (or RemoteObjects)."""

    __course_remote__ = True

    def __init__(self, box: Sandbox):
        self._box = box

    def __repr__(self) -> str:
        return f"<{self._box.module}.py submission>"

    def __getattr__(self, name: str):
        if name.startswith("_"):  # private and dunder names are never part of the graded API
            raise AttributeError(name)
        box = self._box
        kind = box.lookup(name)
        if isinstance(kind, dict):
            return kind["value"]

        def function(*args: Any, **kwargs: Any) -> Any:
            if box.lookup(name) == "missing":
                raise GradingAbort(f"{box.module}.py does not define {name}")
            payload = {"op": "call", "target": None, "name": name,
                       "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
            return box.call(f"{name}", payload)

        function.__name__ = name
        return function

    def __course_probe__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        box = self._box
        if name == "call_tracking_mutation" and box._probes_path and not _holds_remote([args, kwargs]):
            return box.call_tracking_mutation(*args, **kwargs)
        payload = {"op": "probe", "name": name, "args": _unwrap(box, list(args)), "kwargs": _unwrap(box, kwargs)}
        return box.call(name.replace("_", " "), payload)

    def __course_seed__(self, seed: int) -> None:
        self._box.seed = seed
