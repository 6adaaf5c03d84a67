"""What attribution by connection costs: server throughput with and without MONITOR, parser speed.

1. The server's throughput (redis-benchmark, requests/s) on a session-like
   write (HSET of a session hash's lastAccessedTime, random session of 10,000)
   and on SET/GET, pipelined (-P 16: the server's limit, MONITOR's worst case)
   and not (-P 1, 50 clients: closer to web apps), three ways: no MONITOR
   client; the inspector's MONITOR reader attached (a separate process running
   :class:`MonitorAttribution`, as ``watch --attribute-by monitor`` does); and
   ``redis-cli monitor > /dev/null``, a C reader, for comparison. Runs are
   interleaved (none, inspector, redis-cli, none, ...), medians of five.
   On this 2-core machine shared with others, wall-clock throughput swings
   with everyone else's load, and the reader competes with redis-server and
   redis-benchmark for the CPU; so the server's own CPU time per command
   (``INFO cpu`` of its main thread over ``total_commands_processed``) is
   measured too, and the capacity it implies (one core, 1 s / CPU per
   command) is the figure that holds: it is what MONITOR costs the server,
   whoever else is busy.
2. The inspector's reader during those runs: lines read, skipped when behind.
3. The MONITOR parser alone (one core): lines/s for every line, for a typical
   mix where one line in ten is a session write, for session writes only, and
   when skipping.

The figure for the help text and README is the pipelined HSET one.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from inspector.core.attribution import STREAM_COMMANDS, Attributor
from inspector.core.monitor import MonitorStream
from inspector.redis_io.monitor import MonitorAttribution
from inspector.redis_io.settings import ConnectionSettings
from tests.harness import start_redis_server

REQUESTS = 300_000
LOADS = {
    "HSET session, -P 16": ["-P", "16", "-c", "8", "-r", "10000", "hset",
                            "spring:session:sessions:__rand_int__", "lastAccessedTime", "1700000000000"],
    "SET/GET, -P 16": ["-P", "16", "-c", "8", "-r", "10000", "-t", "set,get"],
    "HSET session, -P 1, 50 clients": ["-P", "1", "-c", "50", "-r", "10000", "hset",
                                       "spring:session:sessions:__rand_int__", "lastAccessedTime", "1700000000000"],
}  # fmt: skip


def reader(port: int) -> None:
    """Child process: the inspector's MONITOR reader, until SIGTERM; prints its counters."""

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with MonitorAttribution(
            ConnectionSettings(port=port), Attributor(), resolver=None
        ) as monitor:
            await monitor.wait_attached()
            print("attached", flush=True)
            await stop.wait()
            s = monitor.stats
            print(f"{s.lines} {s.parsed} {s.dropped} {s.disconnects}", flush=True)

    asyncio.run(run())


def server_counters(client: redis.Redis) -> tuple[float, int]:
    """(CPU seconds of the server's main thread, commands processed) so far."""
    cpu = client.info("cpu")
    stats = client.info("stats")
    seconds = float(cpu["used_cpu_sys_main_thread"]) + float(cpu["used_cpu_user_main_thread"])
    return seconds, int(stats["total_commands_processed"])


def benchmark(port: int, args: list[str], requests: int) -> tuple[float, float]:
    """(requests/s as redis-benchmark saw them, server CPU microseconds per command)."""
    client = redis.Redis(port=port)
    try:
        cpu_before, commands_before = server_counters(client)
        out = subprocess.run(
            ["redis-benchmark", "-p", str(port), "-n", str(requests), "--csv", *args],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        cpu_after, commands_after = server_counters(client)
    finally:
        client.close()
    rows = [row for row in csv.reader(io.StringIO(out)) if row and row[0] != "test"]
    per_command = (cpu_after - cpu_before) * 1e6 / max(1, commands_after - commands_before)
    return statistics.mean(float(row[1]) for row in rows), per_command


def with_reader(kind: str, port: int) -> subprocess.Popen[str]:
    if kind == "inspector":
        command = [sys.executable, "-m", "benchmarks.bench_monitor", "--reader", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "attached"
        return process
    process = subprocess.Popen(
        ["redis-cli", "-p", str(port), "monitor"], stdout=subprocess.DEVNULL, text=True
    )
    # Attached once the server lists a client in MONITOR mode.
    while (
        b"cmd=monitor"
        not in subprocess.run(
            ["redis-cli", "-p", str(port), "client", "list"], capture_output=True, check=True
        ).stdout
    ):
        time.sleep(0.05)  # wait-on-condition poll interval
    return process


KINDS = ("none", "inspector", "redis-cli")


def server_cost(port: int, runs: int = 5) -> None:
    for label, args in LOADS.items():
        requests = REQUESTS if "-P 16" in label else REQUESTS // 3
        rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
        cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
        counters = ""
        for _ in range(runs):
            for kind in KINDS:  # interleaved: drift in the machine's load hits all three
                process = None if kind == "none" else with_reader(kind, port)
                try:
                    rate, per_command = benchmark(port, args, requests)
                finally:
                    if process is not None:
                        process.send_signal(signal.SIGTERM)
                        out, _ = process.communicate(timeout=60)
                        if kind == "inspector":
                            lines, parsed, dropped, disconnects = map(int, (out or "").split()[-4:])
                            counters = (f"inspector read {lines:,} lines ({parsed:,} parsed), "
                                        f"skipped {dropped:,} while behind, {disconnects} disconnects")  # fmt: skip
                rates[kind].append(rate)
                cpu[kind].append(per_command)
        rate_of = {kind: statistics.median(values) for kind, values in rates.items()}
        micros = {kind: statistics.median(values) for kind, values in cpu.items()}
        capacity = {kind: 1e6 / value for kind, value in micros.items()}

        def less(values: dict[str, float], kind: str) -> str:
            return f"{100 * (1 - values[kind] / values['none']):.0f}% less"

        print(f"{label}:")
        print(f"  measured   no MONITOR {rate_of['none']:>9,.0f} req/s | inspector attached "
              f"{rate_of['inspector']:>9,.0f} ({less(rate_of, 'inspector')}) | redis-cli monitor "
              f"{rate_of['redis-cli']:>9,.0f} ({less(rate_of, 'redis-cli')})")  # fmt: skip
        print(f"  server CPU no MONITOR {micros['none']:>6.2f} us/cmd | inspector attached "
              f"{micros['inspector']:>6.2f} us/cmd | redis-cli monitor {micros['redis-cli']:>6.2f} us/cmd")  # fmt: skip
        print(f"  capacity   no MONITOR {capacity['none']:>9,.0f} req/s | inspector attached "
              f"{capacity['inspector']:>9,.0f} ({less(capacity, 'inspector')}) | redis-cli monitor "
              f"{capacity['redis-cli']:>9,.0f} ({less(capacity, 'redis-cli')})")  # fmt: skip
        print(f"  last run: {counters}")


def parser_rate() -> None:
    lines = []
    for i in range(100_000):
        if i % 10 == 0:
            lines.append(
                b'+1796304024.%06d [0 127.0.0.2:%d] "HMSET" "spring:session:sessions:%s" '
                b'"lastAccessedTime" "1700000000%03d" "sessionAttr:scopedTarget.sampleSession" '
                b'"{\\"@class\\":\\"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.'
                b'SampleSession\\",\\"lastUpdatedAt\\":[\\"java.util.Date\\",1700000000123]}"\r\n'
                % (i % 1_000_000, 40000 + i % 50, str(uuid.UUID(int=i)).encode(), i % 1000)
            )
        else:
            lines.append(
                b'+1796304024.%06d [0 127.0.0.1:%d] "GET" "key:%d"\r\n'
                % (i % 1_000_000, 40000 + i % 50, i)
            )
    mix = b"".join(lines)
    writes = b"".join(line for line in lines if b"HMSET" in line)

    def rate(data: bytes, commands: frozenset[bytes] | None, *, skip: bool = False) -> float:
        best = 0.0
        for _ in range(3):
            stream = MonitorStream(expect_ok=False, commands=commands)
            attributor = Attributor()
            chunks = [data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024)]
            started = time.perf_counter()
            for chunk in chunks:
                if skip:
                    stream.skip(chunk, b"session-inspector:sync:")
                else:
                    attributor.observe("n", stream.feed(chunk))
            best = max(best, stream.lines / (time.perf_counter() - started))
        return best

    print(f"parser + write log: every line parsed {rate(mix, None):,.0f} lines/s; "
          f"typical mix (1 in 10 a session write) {rate(mix, STREAM_COMMANDS):,.0f} lines/s; "
          f"session writes only {rate(writes, STREAM_COMMANDS):,.0f} lines/s; "
          f"skipping {rate(mix, None, skip=True):,.0f} lines/s")  # fmt: skip


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--reader":
        reader(int(sys.argv[2]))
        return
    parser_rate()
    with tempfile.TemporaryDirectory() as directory:
        server = start_redis_server(Path(directory) / "monitor")
        try:
            print(
                f"redis-server {server.port}, {os.cpu_count()} cores, {REQUESTS:,} requests a run"
            )
            server_cost(server.port)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
