"""Session discovery at scale, against the server's own limits measured in the same run.

For N article-shaped sessions (Jackson JSON attribute, indexed layout: hash +
shadow key + minute set), on a private redis-server:
- `redis-cli --scan` over the whole keyspace (the floor for listing keys);
- `redis-benchmark -P 64 HGETALL` on one session hash (the server's read limit);
- SessionScanner in-process: SCAN + pipelined HGETALL/PTTL + decode, sessions/s;
- `session-inspector ls --json` as a process: time to first line, total, peak RSS.
"""

from __future__ import annotations

import asyncio
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from inspector.core.spring import DEFAULT_NAMESPACE, session_key
from inspector.redis_io.client import open_client
from inspector.redis_io.discovery import SessionScanner
from inspector.redis_io.settings import ConnectionSettings
from tests.harness import start_redis_server
from tests.spring_layouts import write_request


def load(port: int, count: int) -> str:
    client = redis.Redis(host="127.0.0.1", port=port)
    now = int(time.time() * 1000)
    sample = ""
    pipe = client.pipeline(transaction=False)
    for i in range(count):
        sid = str(uuid.uuid4())
        sample = session_key(DEFAULT_NAMESPACE, sid)
        write_request(pipe, sid, f"container-{i % 2 + 1}", now - i, created_ms=now - 60_000)
        if i % 2000 == 1999:
            pipe.execute()
    pipe.execute()
    client.close()
    return sample


def redis_cli_scan(port: int) -> float:
    started = time.perf_counter()
    subprocess.run(["redis-cli", "-p", str(port), "--scan"], check=True, capture_output=True)
    return time.perf_counter() - started


def redis_benchmark_hgetall(port: int, key: str) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-P", "64", "-n", "400000", "-q", "HGETALL", key],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rates = re.findall(r"([\d.]+) requests per second", out)
    return float(rates[-1])


async def scanner_rate(port: int) -> tuple[int, float, float]:
    client = await open_client(ConnectionSettings(port=port))
    try:
        scanner = SessionScanner(client)
        started = time.perf_counter()
        first = 0.0
        count = 0
        async for batch in scanner.batches():
            if not count:
                first = time.perf_counter() - started
            count += len(batch)
        return count, time.perf_counter() - started, first
    finally:
        await client.aclose()


def ls_process(port: int) -> tuple[float, float, int, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "-p", str(port), "ls", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.readline()
    first = time.perf_counter() - started
    lines = 1 + sum(1 for _ in process.stdout)
    process.wait()
    total = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return first, total, lines, peak_mb


def main(sizes: tuple[int, ...] = (10_000, 100_000)) -> None:
    for size in sizes:
        with tempfile.TemporaryDirectory() as directory:
            server = start_redis_server(Path(directory))
            try:
                key = load(server.port, size)
                scan_s = redis_cli_scan(server.port)
                hgetall = redis_benchmark_hgetall(server.port, key)
                found, scan_total, scan_first = asyncio.run(scanner_rate(server.port))
                first, total, lines, peak = ls_process(server.port)
            finally:
                server.stop()
        rate = found / scan_total
        print(f"--- {size} sessions ({size * 3 // 1} keys incl. shadow keys and minute sets)")
        print(f"redis-cli --scan (keys only)                {scan_s:6.2f} s")
        print(f"redis-benchmark -P 64 HGETALL (one hash)    {hgetall:,.0f} req/s")
        print(f"SessionScanner: SCAN+HGETALL+PTTL+decode    {rate:,.0f} sessions/s "
              f"({scan_total:.2f} s, first batch {scan_first * 1000:.0f} ms, "
              f"{rate / hgetall:.0%} of the server's pipelined HGETALL rate)")  # fmt: skip
        print(f"ls --json process                            first line {first * 1000:.0f} ms, "
              f"{lines} lines in {total:.2f} s, peak RSS {peak:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (10_000, 100_000))
