"""The suite's one deadline, and waiting on a condition that has no event to wait on."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["DEADLINE", "poll_until"]

DEADLINE = 30.0
"""How long any test waits for something before it fails: a guard against hangs,
long enough for 2 busy cores, never a measure of speed."""


def poll_until(
    condition: Callable[[], bool],
    failure: str,
    *,
    interval: float = 0.05,
    limit: float = DEADLINE,
) -> None:
    """Check ``condition`` every ``interval`` seconds until it holds; fail with ``failure``
    after ``limit`` seconds. For states only a look can tell (a file, a server's
    client list); where something can be awaited, await it instead."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(interval)  # wait-on-condition poll interval
