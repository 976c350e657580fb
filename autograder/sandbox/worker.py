"""The student-side program: imports one submission and answers calls on it.

Started by :mod:`autograder.sandbox.client` as ``python -I -S worker.py SPEC``.
Everything here is untrusted once the submission is imported: the grader only
ever reads plain data back (see :mod:`protocol`), so nothing the student does
here can change how the grader compares results.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import random
import sys
import traceback

if __name__ == "__main__":
    # -I leaves the script's folder off sys.path; the spec names it.
    sys.path[:0] = json.loads(sys.argv[1])["sys_path"]
import protocol  # noqa: E402  (copied beside this file)


def _set(name: str, value: int) -> None:
    import resource

    try:
        resource.setrlimit(getattr(resource, name), (value, value))
    except (ValueError, OSError):
        pass


def _limit(spec: dict) -> None:
    mem = spec["memory_mb"] * 1024 * 1024
    for name, value in (
        ("RLIMIT_DATA", mem), ("RLIMIT_FSIZE", spec["fsize_mb"] * 1024 * 1024),
        ("RLIMIT_CORE", 0), ("RLIMIT_CPU", spec["cpu_s"]), ("RLIMIT_NPROC", spec["nproc"]),
    ):
        if name == "RLIMIT_NPROC" and not spec["own_uid"]:
            continue  # per-uid limit: only meaningful for the dedicated sandbox user
        _set(name, value)


def _limit_address_space(spec: dict) -> None:
    """Without a memory cgroup: RLIMIT_AS, which counts shared mappings that RLIMIT_DATA misses.

    Set after the preloaded imports, on top of what they reserved: torch alone reserves
    about 3 GB of address space it never touches.
    """
    with open("/proc/self/status") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    _set("RLIMIT_AS", size_kb * 1024 + spec["memory_mb"] * 1024 * 1024)


def _quiet_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)


def _fixed_entropy() -> None:
    """Make "unseeded" randomness reproducible: OS entropy (numpy's default_rng(),
    SystemRandom, secrets, uuid4) comes from a fixed generator. Must run before numpy
    is imported."""
    source = random.Random(0)

    def urandom(n: int) -> bytes:
        return source.randbytes(n)

    os.urandom = urandom
    random._urandom = urandom


def _seed(seed: int) -> None:
    random.seed(seed)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _student_trace(exc: BaseException, path: str) -> list[str]:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return [f"line {f.lineno}, in {f.name}: {(f.line or '').strip()}"[:300] for f in frames[-5:]]


def _error(exc: BaseException, path: str) -> dict:
    return {"error": {"type": type(exc).__name__[:100], "message": str(exc)[:2000],
                      "trace": _student_trace(exc, path)}}


class Worker:
    def __init__(self, spec: dict):
        self.spec = spec
        self.objects: dict[int, object] = {}
        self.module = None
        self.import_error: dict | None = None
        self.probes = None

    def handle(self, obj: object) -> protocol.Handle:
        ident = id(obj)
        self.objects[ident] = obj
        return protocol.Handle(ident, type(obj).__name__)

    def resolve(self, value):
        if isinstance(value, protocol.Handle):
            return self.objects[value.ident]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple) and not hasattr(value, "_fields"):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def load(self) -> None:
        path, name = self.spec["submission"], self.spec["module"]
        sys.path.insert(0, os.path.dirname(path))
        try:
            mod_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module
            mod_spec.loader.exec_module(module)
            self.module = module
        except BaseException as exc:  # SystemExit and KeyboardInterrupt at import too
            self.import_error = _error(exc, path)["error"]

    def answer(self, request: dict) -> dict:
        op = request.get("op")
        if op == "status":
            if self.import_error:
                return {"ok": {"imported": False, **self.import_error}}
            return {"ok": {"imported": True}}
        if self.module is None:
            return {"error": {"type": "ImportError", "message": "submission not imported", "trace": []}}
        if request.get("seed") is not None:
            _seed(int(request["seed"]))
        try:
            args = self.resolve(request.get("args", []))
            kwargs = self.resolve(request.get("kwargs", {}))
            if op == "call":
                target = request.get("target")
                owner = self.module if target is None else self.objects[target.ident]
                fn = getattr(owner, request["name"])
                result = fn(*args, **kwargs)
                if request.get("echo"):  # the arguments as they are after the call, judged by the grader
                    result = {"result": result, "args": args, "kwargs": kwargs}
            elif op == "probe":
                if self.probes is None:
                    import probes

                    self.probes = probes
                result = getattr(self.probes, request["name"])(self.module, *args, **kwargs)
            elif op == "lookup":
                missing = object()
                attr = getattr(self.module, request["name"], missing)
                result = "missing" if attr is missing else "callable" if callable(attr) else {"value": attr}
            else:
                return {"error": {"type": "ProtocolError", "message": f"unknown op {op!r}", "trace": []}}
            return {"ok": result}
        except BaseException as exc:
            return _error(exc, self.spec["submission"])

    def serve(self, rfd: int, wfd: int) -> None:
        """Answer requests until the trusted side hangs up; import the submission at the first.

        Only then: a worker started ahead (the next line's spare) runs none of the student's
        code, nor takes CPU from the serving line, while it waits.
        """
        loaded = False
        while True:
            try:
                request = protocol.decode(protocol.read_frame(rfd))
            except EOFError:
                return
            if not loaded:
                _seed(0)
                self.load()
                _seed(0)
                loaded = True
            reply = self.answer(request)
            try:
                frame = protocol.encode(reply, to_handle=self.handle)
            except BaseException as exc:
                frame = protocol.encode(_error(exc, self.spec["submission"]))
            protocol.write_frame(wfd, frame)


def prepare(spec: dict) -> None:
    """Everything before the student's file: fixed entropy, numpy and the preloaded libraries.

    Run by a cold worker itself, or once by the zygote (:mod:`zygote`), whose forked
    children then start from here.
    """
    _fixed_entropy()
    sys.setrecursionlimit(10_000)
    import numpy  # noqa: F401  (imported before student code, so seeding reaches it)
    import numpy.random  # noqa: F401  (numpy loads it on first use: 20 ms in every worker's _seed)

    preload = spec.get("preload", [])
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # the student's own import of it reports the problem
            pass
    for root, warm_up in _WARM_UPS.items():
        if root in sys.modules and any(name.split(".")[0] == root for name in preload):
            try:
                warm_up()
            except Exception:
                pass


def _warm_torch() -> None:
    import torch

    # The first optimizer built in a process imports torch._dynamo and ~900 modules with it (sympy,
    # torch.distributed, onnx: ~1.7 s). Every cvae line that trains would pay that again in its fresh
    # worker; done here, forked workers inherit it. Zeros: torch's random state is not touched.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


_WARM_UPS = {"torch": _warm_torch}


def run(spec: dict) -> None:
    """Report ready, then answer requests (the first imports the submission) until the trusted side hangs up."""
    rfd, wfd = spec["fds"]
    if spec.get("address_limit"):
        _limit_address_space(spec)
    # Ready: what follows (the student's import and calls) is charged to the student's deadlines.
    protocol.write_frame(wfd, protocol.encode({"ready": True}))
    Worker(spec).serve(rfd, wfd)
    os._exit(0)


def main() -> None:
    spec = json.loads(sys.argv[1])
    _limit(spec)
    _quiet_stdio()
    prepare(spec)
    run(spec)


if __name__ == "__main__":
    main()
