"""The live feed: notification latency, throughput limit, and polling cost.

1. HSET -> event latency with keyspace notifications on loopback (writer and
   feed in one process, paced), p50/p99.
2. Highest write rate one feed keeps up with: a separate writer process floods
   HSETs on 1,000 sessions; we report writes/s, notifications handled/s, and
   how long the feed needs to drain after the writer stops.
3. Polling for 10k and 100k sessions: server commands per pass, pass time, the
   effective interval, and the delay from a write to its event.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
import redis.asyncio as aioredis

from benchmarks.bench_sessions import load
from inspector.core.changes import RequestEvent
from inspector.core.source import FeedNotice, NoticeKind
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.store import sample_session_json
from tests.harness import start_redis_server

WRITER = r"""
import sys, time, redis
port, seconds, rate = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
c = redis.Redis(port=port)
ids = [f"spring:session:sessions:00000000-0000-4000-8000-{i:012d}" for i in range(1000)]
start = time.monotonic()
end = start + seconds
n = 0
while time.monotonic() < end:
    p = c.pipeline(transaction=False)
    for _ in range(100):
        p.hset(ids[n % 1000], "lastAccessedTime", str(n))
        n += 1
    p.execute()
    ahead = n / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)  # pacing the load generator, not waiting in a test
print(n)
"""


async def _ready(feed_iter: object) -> None:
    async for item in feed_iter:  # type: ignore[attr-defined]
        if isinstance(item, FeedNotice) and item.kind is NoticeKind.READY:
            return


async def latency(port: int, requests: int = 3000) -> tuple[float, float]:
    feed = ChangeFeed(ConnectionSettings(port=port))
    events = feed.events()
    await _ready(events)
    writer = aioredis.Redis(port=port)
    sids = [str(uuid.uuid4()) for _ in range(100)]
    samples = []
    for i in range(requests):
        key = f"spring:session:sessions:{sids[i % 100]}"
        started = time.perf_counter()
        await writer.hset(key, mapping={
            "lastAccessedTime": str(i).encode(), "maxInactiveInterval": b"1800",
            "creationTime": b"1", "sessionAttr:s": sample_session_json(f"c{i % 2}", i),
        })  # fmt: skip
        async for item in events:
            if isinstance(item, RequestEvent):
                samples.append(time.perf_counter() - started)
                break
    await writer.aclose()
    await events.aclose()
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.99)] * 1000


async def throughput(
    port: int, rate: float, seconds: float = 3.0
) -> tuple[float, float, float, int]:
    """Writes/s achieved, notifications handled/s, drain time, reconnects."""
    feed = ChangeFeed(ConnectionSettings(port=port))
    events = feed.events()
    await _ready(events)
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, str(port), str(seconds), str(rate), stdout=subprocess.PIPE
    )
    started = time.monotonic()
    progress = asyncio.Event()

    async def consume() -> None:
        async for _ in events:
            progress.set()

    consumer = asyncio.create_task(consume())
    out, _ = await writer.communicate()
    written = int(out)
    stopped = time.monotonic()
    # Drained: every write was announced, or nothing arrived for a second.
    while feed.stats.notifications < written:
        progress.clear()
        try:
            await asyncio.wait_for(progress.wait(), 1.0)
        except TimeoutError:
            break
    drained = time.monotonic()
    consumer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consumer
    await events.aclose()
    handled = feed.stats.notifications
    return (
        written / (stopped - started),
        handled / (drained - started),
        max(0.0, drained - stopped),
        feed.stats.reconnects,
    )


async def polling(port: int) -> tuple[int, float, float, float]:
    redis.Redis(port=port).config_set("notify-keyspace-events", "")
    feed = ChangeFeed(ConnectionSettings(port=port), poll_interval=1.0)
    events = feed.events()
    await _ready(events)
    writer = aioredis.Redis(port=port)
    delays = []
    for _ in range(3):
        keys = [
            k
            async for k in writer.scan_iter(match="spring:session:sessions:*", count=1000)
            if b"expires" not in k
        ]
        key = keys[0]
        started = time.perf_counter()
        await writer.hset(key, "lastAccessedTime", str(time.time_ns()))
        async for item in events:
            if isinstance(item, RequestEvent):
                delays.append(time.perf_counter() - started)
                break
    await writer.aclose()
    await events.aclose()
    effective = max(1.0, feed.stats.last_poll_seconds * 3)
    return (
        feed.stats.last_poll_commands,
        feed.stats.last_poll_seconds,
        effective,
        statistics.mean(delays),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        server = start_redis_server(Path(directory) / "n", "--notify-keyspace-events", "KEA")
        try:
            p50, p99 = asyncio.run(latency(server.port))
            print(
                f"notifications: HSET -> event latency p50 {p50:.2f} ms, p99 {p99:.2f} ms (3000 paced requests)"
            )
            for rate in (10_000, 20_000, 40_000, 60_000, 80_000, 120_000):
                writes, handled, drain, reconnects = asyncio.run(throughput(server.port, rate))
                print(f"load {rate:>7,}/s: {writes:,.0f} HSET/s written, {handled:,.0f} notifications/s "
                      f"handled, backlog drained {drain:.2f} s after the writer stopped, "
                      f"{reconnects} reconnects")  # fmt: skip
        finally:
            server.stop()
        for size in (10_000, 100_000):
            server = start_redis_server(Path(directory) / f"p{size}")
            try:
                load(server.port, size)
                commands, seconds, effective, delay = asyncio.run(polling(server.port))
                print(f"polling {size:,} sessions: {commands:,} commands per pass, pass {seconds:.2f} s, "
                      f"effective interval {effective:.1f} s, write -> event {delay:.2f} s on average")  # fmt: skip
            finally:
                server.stop()


if __name__ == "__main__":
    main()
