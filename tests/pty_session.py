"""Drive an interactive program on a pseudo-terminal: type keys, wait for output."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import subprocess
import termios
import time
from collections.abc import Callable, Sequence


def _controlling_terminal() -> None:
    # A new session whose controlling terminal is the pty (stdin), so Ctrl-C
    # typed into it becomes SIGINT, as in a real terminal.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")


class PtySession:
    """A child process whose stdin/stdout/stderr are a pty, like a user's terminal."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
            preexec_fn=_controlling_terminal,
        )
        os.close(slave)
        self.output = b""

    @property
    def text(self) -> bytes:
        """Everything printed so far, without terminal control sequences."""
        return ANSI.sub(b"", self.output)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, needle: bytes, timeout: float = 15.0) -> bytes:
        """Wait until `needle` appears in the output (after the last `mark()`)."""
        return self._expect(lambda: needle in self.text[self._mark :], repr(needle), timeout)

    def expect_raw(self, pattern: re.Pattern[bytes], timeout: float = 15.0) -> bytes:
        """Wait until `pattern` matches the raw output, control sequences and all."""
        return self._expect(lambda: pattern.search(self.output) is not None, pattern, timeout)

    def _expect(self, seen: Callable[[], bool], needle: object, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while not seen():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{needle} not seen; output so far:\n{self.text.decode(errors='replace')}"
                )
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(
                        f"{needle} not seen before exit:\n{self.text.decode(errors='replace')}"
                    )
                self.output += chunk
        return self.text

    _mark = 0

    def mark(self) -> None:
        """Only output printed from now on counts for the next `expect`."""
        self._mark = len(self.text)

    def wait(self, timeout: float = 15.0) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break
        return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
