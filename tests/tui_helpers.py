"""Helpers for driving Textual apps in tests (``App.run_test`` pilots)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

__all__ = ["WAIT_SECONDS", "wait_until"]

WAIT_SECONDS = 15.0
"""How long a test waits for a condition before it fails (a guard against hangs)."""


async def wait_until(
    pilot: Pilot[Any],
    condition: Callable[[], bool],
    what: str = "the condition",
    *,
    limit: float = WAIT_SECONDS,
) -> None:
    """Let the app run until ``condition`` holds (bounded; fails naming ``what``).

    The condition is checked again every 20 ms of app time; a deadline guards
    against a hang.
    """
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.02)
