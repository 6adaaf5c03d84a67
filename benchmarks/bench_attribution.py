"""What attribution costs the TUI at 1M sessions: the rows' container fields, the figures.

With attribution active, every batch of requests the feed delivers does, on the
UI thread: ``SessionStore.attribute`` (each request's row gets its container,
``via`` and disagreement: the extra row fields), ``ContainerStats.add`` per
request, and one ``ContainerStats.summary`` (the per-container figures and
the stickiness count; the figures remember at most ``max_sessions`` = 100,000
sessions whatever the store holds, and the count was once a walk of them all). Measured offline on a
store filled as bench_tui fills it (1M rows), the stats already holding their
maximum of sessions, batches of 1,000 requests (a busy feed's batch) over
sessions spread on 7 containers. Medians of 30 batches; peak RSS with every row
attributed against the same store before.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import statistics
import sys
import time

from benchmarks.bench_tui import NOW_MS, fill
from inspector.core.attribution import AttributedRequest, ContainerName, NameSource
from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.containers import ContainerStats
from inspector.core.memory_source import MemorySource
from inspector.tui.app import make_app
from inspector.tui.options import AppOptions
from inspector.tui.widgets.host_history import KEEP_SESSIONS

BATCH = 1_000
NAMES = [
    ContainerName(sys.intern(f"sample-app/task-{n}"), NameSource.CLIENT_NAME, f"10.0.1.{n}:5000")
    for n in range(7)
]


def requests(start: int, count: int, total: int) -> list[AttributedRequest]:
    out = []
    for i in range(start, start + count):
        n = i % total
        sid = f"{n:08x}-5646-4382-aa12-41435ed09dc7"
        event = RequestEvent(
            time_ms=NOW_MS + i,
            key=f"spring:session:sessions:{sid}",
            session_id=sid,
            namespace="spring:session",
            host=None,
            previous_host=None,
            changed=(),
            last_accessed_time=NOW_MS + i,
            kind=EventKind.REQUEST,
            source=EventSource.NOTIFICATION,
        )
        out.append(AttributedRequest(event, NAMES[i % 7], NAMES[(i + 1) % 7]))
    return out


def ms(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:.2f} ms, max {max(samples) * 1000:.2f} ms"


async def measure(count: int) -> None:
    app = make_app(AppOptions(), MemorySource())
    async with app.run_test(size=(120, 36)):
        fill(app, count)
        store = app.store
        gc.collect()
        before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # Every row attributed once (a long run by connection), in batches.
        all_rows = 0.0
        for start in range(0, count, 10_000):
            batch = requests(start, 10_000, count)
            t = time.perf_counter()
            store.attribute(batch, NOW_MS)
            all_rows += time.perf_counter() - t
        after_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        stats = ContainerStats()
        started = time.perf_counter()
        for start in range(0, stats.max_sessions + BATCH, 10_000):
            for request in requests(start, 10_000, count):
                stats.add(request)
        fill_stats = time.perf_counter() - started
        attribute_s, add_s, summary_s, tick_s = [], [], [], []
        offset = stats.max_sessions + BATCH
        for n in range(30):
            batch = requests(offset + n * BATCH, BATCH, count)
            t = time.perf_counter()
            store.attribute(batch, NOW_MS)
            attribute_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            for request in batch:
                stats.add(request)
            add_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            stats.summary(NOW_MS + offset, paths=KEEP_SESSIONS)
            summary_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            stats.summary(NOW_MS + offset, paths=0)
            tick_s.append(time.perf_counter() - t)
    total = [a + b + c for a, b, c in zip(attribute_s, add_s, summary_s, strict=True)]
    print(f"--- {count:,} sessions, batches of {BATCH:,} requests, {len(NAMES)} containers")
    print(
        f"every row attributed: {all_rows:.2f} s ({all_rows / count * 1e6:.2f} us/row); "
        f"peak RSS {before_rss:.0f} -> {after_rss:.0f} MB (+{after_rss - before_rss:.0f} MB)"
    )
    print(f"stats filled to {stats.max_sessions:,} sessions: {fill_stats:.2f} s")
    print(f"per batch: rows' container fields (store.attribute) {ms(attribute_s)}")
    print(f"per batch: figures, ContainerStats.add x{BATCH:,} {ms(add_s)}")
    print(f"per batch: summary ({stats.max_sessions:,} sessions remembered) {ms(summary_s)}")
    print(f"per second: rate tick summary (paths=0) {ms(tick_s)}")
    print(f"per batch, all three (UI thread): {ms(total)}")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [1_000_000]:
        asyncio.run(measure(size))
