"""Listing a mixed store (every framework's sessions) against listing a Spring-only one.

On a private redis-server, two stores of N sessions each:
- Spring only: article-shaped Spring sessions (indexed layout, as bench_sessions.py);
- mixed: the same number of sessions, a quarter Spring's, the rest spread over every
  framework fixture in tests/data/frameworks (express, fastify, PHP x5, Symfony,
  redis-rack, redis-actionpack, the Rails cache store), each under a fresh id.

For each: the in-process scan as ``ls`` runs it (SessionScanner with every adapter,
projection on), sessions/s over a few interleaved runs (best), and ``ls --json`` as a
process. The mixed rate should stay within 20% of the Spring-only one; when it does
not, ``--profile`` prints where the mixed scan spends its time.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_frameworks.py [N] [--profile]
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from inspector.core.frameworks import Registry
from inspector.redis_io.client import open_client
from inspector.redis_io.discovery import SessionScanner
from inspector.redis_io.settings import ConnectionSettings
from tests.frameworks_oracle import FRAMEWORKS
from tests.harness import RedisServer, start_redis_server
from tests.spring_layouts import write_request

RUNS = 3


def load_spring(client: redis.Redis, count: int) -> None:
    now = int(time.time() * 1000)
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        write_request(pipe, str(uuid.uuid4()), f"container-{i % 2 + 1}", now - i, created_ms=now)
        if i % 2000 == 1999:
            pipe.execute()
    pipe.execute()


def load_mixed(client: redis.Redis, count: int) -> dict[str, int]:
    manifest = json.loads((FRAMEWORKS / "manifest.json").read_text())
    fixtures = [
        (entry, (FRAMEWORKS / entry["path"]).read_bytes()) for entry in manifest["fixtures"]
    ]
    spring = count // 4
    load_spring(client, spring)
    written = {"spring": spring}
    pipe = client.pipeline(transaction=False)
    for i in range(count - spring):
        entry, data = fixtures[i % len(fixtures)]
        old = entry["sessionId"]
        new = uuid.uuid4().hex
        if old.startswith("2::"):
            new = "2::" + (new * 2)[:64]
        elif entry["framework"] in ("express", "fastify"):
            new = (new + new)[:32]
        else:
            new = new[:26]
        pipe.set(entry["key"].replace(old, new), data, px=entry["ttlMs"])
        written[entry["framework"]] = written.get(entry["framework"], 0) + 1
        if i % 2000 == 1999:
            pipe.execute()
    pipe.execute()
    return written


async def scan(port: int, *, frameworks: bool) -> tuple[int, float]:
    client = await open_client(ConnectionSettings(port=port))
    try:
        scanner = SessionScanner(
            client, registry=Registry() if frameworks else None, projection=True
        )
        started = time.perf_counter()
        count = 0
        async for batch in scanner.mixed_batches():
            count += len(batch)
        return count, time.perf_counter() - started
    finally:
        await client.aclose()


def ls_process(port: int) -> tuple[int, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "inspector", "-p", str(port), "ls", "--json"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return out.count(b"\n"), time.perf_counter() - started


def best_rate(port: int, *, frameworks: bool) -> tuple[int, float]:
    runs = [asyncio.run(scan(port, frameworks=frameworks)) for _ in range(RUNS)]
    count = runs[0][0]
    return count, max(count / seconds for _, seconds in runs)


def main(size: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        spring_server: RedisServer = start_redis_server(Path(a))
        mixed_server: RedisServer = start_redis_server(Path(b))
        try:
            spring_client = redis.Redis(port=spring_server.port)
            mixed_client = redis.Redis(port=mixed_server.port)
            load_spring(spring_client, size)
            written = load_mixed(mixed_client, size)
            keys = (spring_client.dbsize(), mixed_client.dbsize())
            spring_only = best_rate(spring_server.port, frameworks=False)
            spring_all = best_rate(spring_server.port, frameworks=True)
            mixed = best_rate(mixed_server.port, frameworks=True)
            spring_ls = ls_process(spring_server.port)
            mixed_ls = ls_process(mixed_server.port)
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                asyncio.run(scan(mixed_server.port, frameworks=True))
                profiler.disable()
        finally:
            spring_server.stop()
            mixed_server.stop()
    print(f"--- {size} sessions; keys: Spring store {keys[0]}, mixed store {keys[1]}")
    print("mixed store: " + ", ".join(f"{name} {n}" for name, n in sorted(written.items())))
    print(f"Spring store, --framework spring     {spring_only[1]:9,.0f} sessions/s")
    print(f"Spring store, every adapter (ls)     {spring_all[1]:9,.0f} sessions/s "
          f"({spring_all[1] / spring_only[1]:.0%} of --framework spring)")  # fmt: skip
    print(f"mixed store, every adapter (ls)      {mixed[1]:9,.0f} sessions/s "
          f"({mixed[1] / spring_all[1]:.0%} of the Spring store's rate)")  # fmt: skip
    print(f"ls --json process: Spring store {spring_ls[0]} lines in {spring_ls[1]:.2f} s, "
          f"mixed store {mixed_ls[0]} lines in {mixed_ls[1]:.2f} s")  # fmt: skip
    if profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 100_000, "--profile" in sys.argv)
