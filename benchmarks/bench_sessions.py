"""Session listing against the server's own limits, one table from one run on one server.

N article-shaped sessions (Jackson JSON attribute, indexed layout: hash +
shadow key + minute set) on a private redis-server, then, on that server:

- `redis-benchmark -c 1 -P 64 HGETALL` on one session hash: the rate one
  pipelining client gets from the server (the reference for the ratios);
- `redis-cli --scan`: key names only, the floor for any listing;
- `session-inspector ls --json` (the projection) and `ls --json --attributes`
  (every value read and decoded) as processes: time to the first line, total,
  sessions/s, and that rate as a fraction of redis-benchmark's;
- the same two reads in-process (SessionScanner), without the process start.

Usage: `python -m benchmarks.bench_sessions [N ...]` (default 100000), `--profile`
to write a cProfile of the in-process projection to /tmp/bench_sessions.prof.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
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


def redis_cli_scan(port: int) -> tuple[float, int]:
    started = time.perf_counter()
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "--scan"], check=True, capture_output=True
    ).stdout
    return time.perf_counter() - started, out.count(b"\n")


def redis_benchmark_hgetall(port: int, key: str) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", "1", "-P", "64", "-n", "400000", "-q",
         "HGETALL", key],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    rates = re.findall(r"([\d.]+) requests per second", out)
    return float(rates[-1])


@dataclass
class Run:
    name: str
    sessions: int
    seconds: float
    first_s: float
    peak_mb: float | None = None
    cpu_s: float = 0.0
    """Client CPU (user + system): robust to a busy machine, unlike the wall clock."""

    @property
    def rate(self) -> float:
        return self.sessions / self.seconds if self.seconds else 0.0


async def scanner_run(port: int, *, projection: bool, name: str) -> Run:
    client = await open_client(ConnectionSettings(port=port))
    try:
        scanner = SessionScanner(client, projection=projection)
        cpu = time.process_time()
        started = time.perf_counter()
        first = 0.0
        count = 0
        async for batch in scanner.batches():
            if not count:
                first = time.perf_counter() - started
            for session in batch:
                session.to_json(attributes=not projection)
            count += len(batch)
        elapsed = time.perf_counter() - started
        return Run(name, count, elapsed, first, cpu_s=time.process_time() - cpu)
    finally:
        await client.aclose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ls_process(port: int, *extra: str) -> Run:
    cpu = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "inspector", "-p", str(port), "ls", "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    process.stdout.readline()
    first = time.perf_counter() - started
    lines = 1 + sum(1 for _ in process.stdout)
    process.wait()
    total = time.perf_counter() - started
    # ru_maxrss of children is the largest child so far: run the smaller reads first.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return Run("ls --json " + " ".join(extra), lines, total, first, peak_mb, _children_cpu() - cpu)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    server = subprocess.run(
        ["redis-server", "--version"], capture_output=True, text=True
    ).stdout.split()
    version = next((w.split("=")[1] for w in server if w.startswith("v=")), "?")
    load1 = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"redis-server {version} on loopback, load average {load1:.1f} at the start"
    )


def measure(size: int, *, profile: bool) -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as directory:
        server = start_redis_server(Path(directory))
        try:
            key = load(server.port, size)
            hgetall = redis_benchmark_hgetall(server.port, key)
            scan_s, keys = redis_cli_scan(server.port)
            projection = ls_process(server.port, "--framework", "spring")
            everything = ls_process(server.port)
            full = ls_process(server.port, "--attributes")
            in_projection = asyncio.run(
                scanner_run(server.port, projection=True, name="SessionScanner, projection")
            )
            in_full = asyncio.run(
                scanner_run(server.port, projection=False, name="SessionScanner, full read")
            )
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                asyncio.run(scanner_run(server.port, projection=True, name="profiled"))
                profiler.disable()
                profiler.dump_stats("/tmp/bench_sessions.prof")
        finally:
            server.stop()
    print(f"\n{size:,} sessions ({keys:,} keys: hash, shadow key, minute sets)\n")
    rows = [
        "| what | first line | total | sessions/s | of redis-benchmark | time vs `redis-cli --scan` "
        "| client CPU per session | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
        f"| `redis-benchmark -c 1 -P 64 HGETALL` (one hash) | | | {hgetall:,.0f} req/s | 100% "
        "| | | |",
        f"| `redis-cli --scan` (key names only) | | {scan_s:.2f} s | "
        f"{size / scan_s:,.0f} sessions' keys/s | {size / scan_s / hgetall:.0%} | 1.00x | | |",
    ]
    for run in (projection, everything, full, in_projection, in_full):
        rss = f"{run.peak_mb:.0f} MB" if run.peak_mb is not None else ""
        name = f"`{run.name.strip()}`" if run.name.startswith("ls") else run.name
        rows.append(
            f"| {name} | {run.first_s * 1000:.0f} ms | {run.seconds:.2f} s | {run.rate:,.0f} | "
            f"{run.rate / hgetall:.1%} | {run.seconds / scan_s:.2f}x | "
            f"{run.cpu_s / max(run.sessions, 1) * 1e6:.1f} µs | {rss} |"
        )
    print("\n".join(rows))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    for n in [int(a) for a in args] or [100_000]:
        measure(n, profile="--profile" in sys.argv)
