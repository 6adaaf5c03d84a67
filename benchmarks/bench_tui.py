"""The sessions table at 100k and 1M sessions: repaint after a key, filter, sort, memory.

Rows are put straight into the store (what the feed's baseline would produce),
so this measures the UI, not Redis: the app runs headless and offline.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable

from inspector.core.memory_source import MemorySource
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.store import Row, SortKey, search_text

NOW_MS = int(time.time() * 1000)


def fill(app: InspectorApp, count: int) -> None:
    rows = app.store.rows
    # What the store keeps for a session's filter text (its attribute names,
    # shared: inspector.tui.store.search_text), not the values.
    search = search_text(["scopedTarget.sampleSession", "SPRING_SECURITY_CONTEXT"])
    for i in range(count):
        sid = f"{i:08x}-5646-4382-aa12-41435ed09dc7"
        key = f"spring:session:sessions:{sid}"
        rows[key] = Row(
            key=key, namespace="spring:session", host=sys.intern(f"container-{i % 7}"),
            principal=sys.intern(f"user{i % 1000}") if i % 3 else None, created=NOW_MS - i * 10,
            last_access=NOW_MS - i, expires_at=NOW_MS - i + 1_800_000, hash_ttl_ms=2_100_000,
            observed_at=NOW_MS, attributes=2, state="active",
            search=search, size=700,
            order=i,
        )  # fmt: skip
    app.store.view = list(rows)
    # What the pane does when the first scan is done (FeedReady): the index is
    # long-lived, and a full collection walking it would stall the UI.
    gc.freeze()


def in_worker(work: Callable[[], list[str]]) -> tuple[list[str], float, float]:
    """Run ``work`` in a thread, as the pane's worker does; the main thread meanwhile
    wakes every millisecond, as the UI's loop would, and the longest gap between
    two wake-ups is the longest the UI could not have painted."""
    result: list[list[str]] = []
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


async def measure(count: int) -> None:
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
        _, sort_s, sort_stall = in_worker(lambda: app.store.compute_view("", SortKey.HOST))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"--- {count:,} sessions")
    print(f"fill store + first paint: {first_paint:.2f} s")
    for key, values in samples.items():
        print(
            f"key '{key}' to repaint: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms"
        )
    print(
        f"filter (in a worker thread): {filter_s:.2f} s, {len(view):,} match, longest UI-thread "
        f"stall {filter_stall * 1000:.0f} ms; sort by host {sort_s:.2f} s, longest stall "
        f"{sort_stall * 1000:.0f} ms"
    )
    print(f"peak RSS {rss:.0f} MB (process before the app: {base_rss:.0f} MB)")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]:
        asyncio.run(measure(size))
