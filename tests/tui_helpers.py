"""Helpers for driving Textual apps in tests (``App.run_test`` pilots)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from inspector.core.memory_source import MemorySource
from inspector.tui.app import AppOptions, InspectorApp, make_app
from tests.factories import NOW_MS
from tests.waiting import DEADLINE

__all__ = ["WAIT_SECONDS", "offline_app", "settled", "source_of", "wait_until"]

WAIT_SECONDS = DEADLINE
"""How long a test waits for a condition before it fails: the suite's one deadline."""


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


def offline_app(source: MemorySource | None = None, **options: Any) -> InspectorApp:
    """The app on an in-memory source, with the clock frozen at NOW_MS and dates in UTC."""
    settings: dict[str, Any] = {"clock": lambda: NOW_MS / 1000, "tz": dt.UTC, **options}
    return make_app(AppOptions(**settings), source or MemorySource())


def source_of(app: InspectorApp) -> MemorySource:
    """The in-memory source of an :func:`offline_app`."""
    assert isinstance(app.source, MemorySource)
    return app.source


async def settled(pilot: Pilot[Any]) -> None:
    """Until everything fed to the app's in-memory source is handled by the app and its panes.

    Detail screens are not covered: wait on their ``state`` or ``session``.
    """
    app = pilot.app
    assert isinstance(app, InspectorApp)
    source = source_of(app)
    await wait_until(
        pilot,
        lambda: source.pending == 0 and app.batches == source.batches,
        "the source's batches to be handled",
    )
    await pilot.pause()
