"""A flood through the TUI's one path: in-memory source -> batches -> typed messages -> panes.

A producer feeds the app's :class:`~inspector.core.memory_source.MemorySource`
a round of request events and session re-reads every millisecond, faster than
the UI can draw, for a few seconds. Measured: how many batches the reader took
(each handled by the app and the panes before the next), the deepest message
queue seen on the app and on each pane (the bound the reader promises: one
batch's messages), the events handled per second, and how long the app needs
to catch up once the producer stops. Headless and offline: this measures the
UI side, not Redis.

    python -m benchmarks.bench_messages [seconds] [events_per_round]
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.memory_source import MemorySource
from inspector.core.session import RawSession, Session
from inspector.tui.app import AppOptions, make_app
from inspector.tui.panes.live import LivePane
from inspector.tui.panes.server import ServerPane
from inspector.tui.panes.sessions import SessionsPane

NAMESPACE = "spring:session"


def session(i: int, now_ms: int) -> Session:
    sid = f"{i:08x}-5646-4382-aa12-41435ed09dc7"
    fields = {
        "creationTime": str(now_ms - 60_000).encode(),
        "lastAccessedTime": str(now_ms).encode(),
        "maxInactiveInterval": b"1800",
        "sessionAttr:host": f'"container-{i % 2 + 1}"'.encode(),
    }
    raw = RawSession(
        f"{NAMESPACE}:sessions:{sid}", NAMESPACE, sid, fields, 2_000_000, 1_800_000, now_ms
    )
    return Session.from_raw(raw)


def event(s: Session, now_ms: int) -> RequestEvent:
    return RequestEvent(
        time_ms=now_ms, key=s.key, session_id=s.id, namespace=NAMESPACE, host=s.host,
        previous_host=None, changed=("host",), last_accessed_time=now_ms,
        source=EventSource.NOTIFICATION, kind=EventKind.REQUEST,
    )  # fmt: skip


async def flood(seconds: float, per_round: int, sessions: int = 5_000) -> None:
    source = MemorySource()
    app = make_app(AppOptions(), source)
    async with app.run_test(size=(120, 36)) as pilot:
        now_ms = int(time.time() * 1000)
        known = [session(i, now_ms) for i in range(sessions)]
        source.add(known, baseline=True)
        receivers = {
            "app": app,
            "sessions pane": app.query_one(SessionsPane),
            "live pane": app.query_one(LivePane),
            "server pane": app.query_one(ServerPane),
        }
        deepest = dict.fromkeys(receivers, 0)
        counts = {"rounds": 0}
        await pilot.pause()
        while not (source.pending == 0 and app.batches == source.batches):
            await pilot.pause(0.005)
        start_batches = app.batches
        loop = asyncio.get_running_loop()
        finished = asyncio.Event()

        def feed_round() -> None:
            # On the app's loop (call_soon_threadsafe): the source is not thread-safe.
            rounds = counts["rounds"]
            now_ms = int(time.time() * 1000)
            chosen = [known[(rounds * per_round + j) % sessions] for j in range(per_round)]
            # A re-read of a tenth of them (their lastAccessedTime moved) and one event each.
            source.add(session(int(s.id[:8], 16), now_ms) for s in chosen[: per_round // 10])
            source.events(event(s, now_ms) for s in chosen)
            counts["rounds"] = rounds + 1
            for name, receiver in receivers.items():
                deepest[name] = max(deepest[name], receiver._message_queue.qsize())

        def producer() -> None:
            # A thread, so the flood keeps coming however busy the UI is.
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                loop.call_soon_threadsafe(feed_round)
                time.sleep(0.001)
            loop.call_soon_threadsafe(finished.set)

        started = time.perf_counter()
        thread = threading.Thread(target=producer, name="flood")
        thread.start()
        await finished.wait()
        thread.join()
        fed_for = time.perf_counter() - started
        stopped = time.perf_counter()
        while not (source.pending == 0 and app.batches == source.batches):
            await pilot.pause(0.005)
        catch_up = time.perf_counter() - stopped
        total = time.perf_counter() - started
        batches = app.batches - start_batches
        rounds = counts["rounds"]
        events = rounds * per_round
    print(f"--- flood: {per_round} events per round, a round every ~1 ms, for {fed_for:.1f} s")
    print(f"rounds fed: {rounds:,} ({events:,} events, {rounds * (per_round // 10):,} re-reads)")
    print(f"batches taken by the reader: {batches:,} (each handled before the next)")
    print(
        f"events handled: {events / total:,.0f}/s; caught up {catch_up * 1000:.0f} ms after the end"
    )
    print(
        "deepest message queue: " + ", ".join(f"{name} {depth}" for name, depth in deepest.items())
    )


if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    per_round = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    asyncio.run(flood(seconds, per_round))
