"""Render a local HTML page in headless Chromium over the DevTools protocol (a pipe, no port).

Used by the report test: it collects console errors, failed loads and uncaught exceptions,
reports every image's load state and saves a screenshot. Debian's ``chromium`` package is
installed with apt-get when missing (the test machine runs as root, as grading does).
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-pipe"]
IMAGES = ("JSON.stringify([...document.images].map(i => ({src: i.getAttribute('src'), "
          "complete: i.complete, width: i.naturalWidth})))")


def ensure_chromium() -> str:
    """Path of the chromium binary, installing Debian's package first when it is missing."""
    found = shutil.which("chromium")
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=900, stdin=subprocess.DEVNULL)
    return shutil.which("chromium") or "chromium"


class _Pipe:
    """The DevTools protocol over Chromium's fds 3 (commands in) and 4 (events out)."""

    def __init__(self, binary: str, profile: Path):
        to_r, self._to = os.pipe()
        self._from, from_w = os.pipe()

        def fds() -> None:  # in the child before exec (pass_fds keeps 3 and 4 open)
            r, w = os.dup(to_r), os.dup(from_w)  # above 4 first: either may be 3 or 4 already
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     preexec_fn=fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self._buf, self._next, self.events = b"", 0, []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: str | None = None, timeout: float = 30, **params) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._to, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._read(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (OSError, RuntimeError, TimeoutError, EOFError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to)
        os.close(self._from)


def render(page: Path, screenshot: Path, width: int = 1000, height: int = 1400) -> dict:
    """Load ``page`` from disk; return its console errors and images; save a PNG screenshot."""
    binary = ensure_chromium()
    with tempfile.TemporaryDirectory(prefix="course-chromium-") as profile:
        pipe = _Pipe(binary, Path(profile))
        try:
            target = pipe.call("Target.createTarget", url="about:blank")["targetId"]
            session = pipe.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                pipe.call(f"{domain}.enable", session)
            pipe.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
            pipe.events.clear()
            pipe.call("Page.navigate", session, url=page.resolve().as_uri())
            pipe.wait_for("Page.loadEventFired")
            images = json.loads(pipe.call("Runtime.evaluate", session, expression=IMAGES,
                                          returnByValue=True)["result"]["value"])
            shot = pipe.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
            title = pipe.call("Runtime.evaluate", session, expression="document.title",
                              returnByValue=True)["result"]["value"]
        finally:
            pipe.close()
    errors = []
    for e in pipe.events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif e.get("method") == "Runtime.exceptionThrown":
            errors.append(p.get("exceptionDetails", {}).get("text", "exception"))
        elif e.get("method") == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            errors.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
    return {"errors": errors, "images": images, "title": title}
