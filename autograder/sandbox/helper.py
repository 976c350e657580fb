"""A root helper process that the trusted side talks to over a socket pair (the zygote, the sweep's helper)."""
from __future__ import annotations

import socket
import subprocess
from typing import Callable


class Helper:
    """Starts the process with one end of the pair (its number in the command line) and ends it."""

    _proc: subprocess.Popen | None = None

    def _start(self, command: Callable[[int], list[str]], env: dict[str, str], cwd: str | None = None) -> None:
        """Start ``command(fd)``, where ``fd`` is the helper's end of the pair; ``self._sock`` is ours."""
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(command(theirs.fileno()), cwd=cwd, env=env, pass_fds=(theirs.fileno(),),
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            theirs.close()

    def close(self) -> None:
        """End the helper; a second call does nothing."""
        proc, self._proc = self._proc, None
        self._sock.close()
        if proc is not None:
            proc.kill()
            proc.wait()
