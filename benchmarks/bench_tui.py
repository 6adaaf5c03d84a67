"""The sessions table at 100k and 1M sessions: repaint after a key, filter, sort, memory.

Rows are put straight into the store (what the feed's baseline would produce),
so this measures the UI, not Redis: the app runs headless and offline.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from inspector.core.memory_source import MemorySource
from inspector.core.session import Session
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.store import Row, SortKey, search_text
from tests.factories import spring_session

NOW_MS = int(time.time() * 1000)
T = TypeVar("T")


def fill(app: InspectorApp, count: int, start: int = 0) -> None:
    store = app.store
    # What the store keeps for a session's filter text (its attribute names,
    # shared: inspector.tui.store.search_text), not the values.
    search = search_text(["scopedTarget.sampleSession", "SPRING_SECURITY_CONTEXT"])
    for i in range(start, start + count):
        sid = f"{i:08x}-5646-4382-aa12-41435ed09dc7"
        key = f"spring:session:sessions:{sid}"
        store.put(
            Row(
                key=key, namespace="spring:session", host=f"container-{i % 7}",
                principal=f"user{i % 1000}" if i % 3 else None, created=NOW_MS - i * 10,
                last_access=NOW_MS - i, expires_at=NOW_MS - i + 1_800_000,
                hash_ttl_ms=2_100_000, observed_at=NOW_MS, attributes=2, state="active",
                search=search, size=700, order=i,
            )
        )  # fmt: skip
    # What the pane does when the first scan is done (FeedReady): the index is
    # long-lived, and a full collection walking it would stall the UI.
    gc.freeze()


def in_worker(work: Callable[[], T]) -> tuple[T, float, float]:
    """Run ``work`` in a thread, as the pane's worker does; the main thread meanwhile
    wakes every millisecond, as the UI's loop would, and the longest gap between
    two wake-ups is the longest the UI could not have painted."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    started = time.perf_counter()
    thread.start()
    last, stall = started, 0.0
    while thread.is_alive():
        time.sleep(0.001)
        now = time.perf_counter()
        stall = max(stall, now - last - 0.001)
        last = now
    thread.join()
    return result[0], time.perf_counter() - started, stall


def busy() -> int:
    """A second of bytecode only."""
    end, spins = time.perf_counter() + 1.0, 0
    while time.perf_counter() < end:
        spins += 1
    return spins


PAGE = 1000
"""Sessions per page of the first scan (the feed's pipelines), so per SessionsChanged."""


def page(start: int) -> list[Session]:
    """One page of decoded sessions, as the scanner hands them to the feed."""
    return [
        spring_session(
            f"{i:08x}-5646-4382-aa12-41435ed09dc7",
            f"container-{i % 7}",
            NOW_MS - i,
            created=NOW_MS - i - 1000,
            sample_updated=NOW_MS - i,
            observed_at_ms=NOW_MS,
        )
        for i in range(start, start + PAGE)
    ]


async def painted(app: InspectorApp, pilot: Any, rows: int) -> None:
    """Until the table holds ``rows`` and its first line has been drawn with text."""
    table = app.query_one(SessionsPane).table
    while len(app.store.view) < rows or not table.render_line(1).text.strip():
        await pilot.pause(0.001)


async def first_rows(count: int) -> tuple[float, float, float]:
    """Cold start to the first screen of sessions, fed page by page as the scan does.

    Returns the time from creating the app to its first rows painted, the part
    of it from the first page's arrival, and the time one more page takes to
    reach the screen once the store holds ``count`` rows (the first screen must
    not wait on the rest of the fill: each page is shown as it comes).
    """
    first, second = page(0), page(PAGE)
    source = MemorySource()
    started = time.perf_counter()
    app = make_app(AppOptions(), source)
    async with app.run_test(size=(120, 36)) as pilot:
        arrived = time.perf_counter()
        source.add(first, baseline=True)
        await painted(app, pilot, PAGE)
        shown = time.perf_counter()
        fill(app, count, start=2 * PAGE)
        await pilot.pause()
        t = time.perf_counter()
        source.add(second, baseline=True)
        await painted(app, pilot, count + 2 * PAGE)
        await pilot.pause()
        later = time.perf_counter() - t
    return shown - started, shown - arrived, later


async def measure(count: int) -> None:
    print(f"--- {count:,} sessions (load average {os.getloadavg()[0]:.1f})")
    gc.collect()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    app = make_app(AppOptions(), MemorySource())
    async with app.run_test(size=(120, 36)) as pilot:
        started = time.perf_counter()
        fill(app, count)
        pane = app.query_one(SessionsPane)
        pane.table.sync()
        await pilot.pause()
        first_paint = time.perf_counter() - started
        # The table's own cost per repaint: move, then render every visible line
        # (what Textual asks of it after a key). Pilot's key delivery is not timed.
        table = pane.table
        samples: dict[str, list[float]] = {"down": [], "pagedown": [], "end": [], "home": []}
        actions: dict[str, Callable[[], None]] = {
            "down": lambda: table.action_cursor(1),
            "pagedown": lambda: table.action_page(1),
            "end": lambda: table.action_jump(-1),
            "home": lambda: table.action_jump(0),
        }
        for _ in range(50):
            for key, action in actions.items():
                t = time.perf_counter()
                action()
                for y in range(table.size.height):
                    table.render_line(y)
                samples[key].append((time.perf_counter() - t) * 1000)
        view, filter_s, filter_stall = in_worker(
            lambda: app.store.compute_view("container-3", SortKey.LAST_ACCESS)
        )
        # What installing a view costs the UI thread (SessionsPane._install).
        t = time.perf_counter()
        app.store.apply_view("container-3", SortKey.LAST_ACCESS, view, since=view.since)
        install_ms = (time.perf_counter() - t) * 1000
        sorted_view, sort_s, sort_stall = in_worker(
            lambda: app.store.compute_view("", SortKey.HOST)
        )
        t = time.perf_counter()
        app.store.apply_view("", SortKey.HOST, sorted_view, since=sorted_view.since)
        install_ms = max(install_ms, (time.perf_counter() - t) * 1000)
        # The floor: the same wait beside a worker running plain Python bytecode
        # for a second (no long C call: the GIL changes hands every 5 ms), and
        # on a loaded machine the main thread's wait for a core.
        _, _, idle_stall = in_worker(busy)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"fill store + first paint: {first_paint:.2f} s")
    for key, values in samples.items():
        print(
            f"key '{key}' to repaint: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms"
        )
    print(
        f"filter (in a worker thread): {filter_s:.2f} s, {len(view):,} match, longest UI-thread "
        f"stall {filter_stall * 1000:.0f} ms; sort by host {sort_s:.2f} s, longest stall "
        f"{sort_stall * 1000:.0f} ms; installing a view on the UI thread {install_ms:.1f} ms at "
        f"most; longest stall beside a worker running bytecode only {idle_stall * 1000:.0f} ms"
    )
    print(
        f"peak RSS {rss:.0f} MB (process before the app: {base_rss:.0f} MB); "
        f"load average now {os.getloadavg()[0]:.1f}"
    )
    # Last: its own app and store (after the peak RSS above was read).
    cold, from_page, later = await first_rows(count)
    print(
        f"cold start to first rows (pages of {PAGE:,} decoded sessions): {cold:.2f} s, "
        f"{from_page * 1000:.0f} ms of it from the first page's arrival; "
        f"a page at {count:,} rows to repaint: {later * 1000:.0f} ms"
    )


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]:
        asyncio.run(measure(size))
