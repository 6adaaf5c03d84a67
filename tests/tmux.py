"""Drive a program in a real terminal: a private tmux server, its screen read as text."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid

from tests.waiting import DEADLINE


class Tmux:
    """A private tmux server (its own socket) running one window."""

    def __init__(self, command: str, width: int = 120, height: int = 36) -> None:
        self.socket = f"si-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
            # COLUMNS/LINES (set in the test process by the time some tests run)
            # would pin the program's idea of its size: resizes would go unseen.
            env={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")},
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "capture-pane", "-p", "-t", "main"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    def wait_for(self, *needles: str, timeout: float = DEADLINE) -> str:
        """Wait until the terminal shows every needle (the terminal is polled; no fixed sleeps)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if all(needle in text for needle in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {needles} on screen:\n{text}")
            time.sleep(0.1)  # between two looks at the terminal

    def wait_for_match(self, pattern: str, timeout: float = DEADLINE) -> str:
        """Wait until the terminal shows text matching the regex ``pattern``.

        For what a frame may show only once the layout settles (a widget's
        first frame can be drawn before its final width is known)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw /{pattern}/ on screen:\n{text}")
            time.sleep(0.1)  # between two looks at the terminal

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "main", *keys], check=True)

    def resize(self, width: int, height: int) -> None:
        """Make the terminal ``width`` x ``height`` (the program gets a SIGWINCH)."""
        subprocess.run(
            ["tmux", "-L", self.socket, "resize-window", "-t", "main", "-x", str(width),
             "-y", str(height)],
            check=True,
        )  # fmt: skip

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True)
