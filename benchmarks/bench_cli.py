"""`session-inspector cli` against `redis-cli` on the same private server, same run.

Measures:
- start-up: `--help`, a bad flag and `ls --help` (no server involved: they must
  not load redis-py, Textual or aiohttp; tests/unit/test_import_hygiene.py
  checks what they load, this says how long they take);
- process wall time of one command (start-up dominates: Python imports vs C);
- formatting throughput of large replies (format_tty / format_raw), in-process;
- one HGETALL of a 10,000-field hash, end to end, both tools.
Numbers are medians; these 2-core machines are noisy (+-30%): compare ratios.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from inspector.redis_io.redis_cli import Reply, format_raw, format_tty
from tests.harness import start_redis_server


def _median_seconds(run: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _process(argv: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(argv, capture_output=True, check=True)


def _run_to_exit(argv: list[str]) -> Callable[[], object]:
    return lambda: subprocess.run(argv, capture_output=True, check=False)


def main() -> None:
    rows: list[tuple[str, str]] = []
    for label, args in (
        ("--help", ["--help"]),
        ("ls --help", ["ls", "--help"]),
        ("bad flag (-p x)", ["-p", "x"]),
    ):
        argv = [sys.executable, "-m", "inspector", *args]
        started = _median_seconds(_run_to_exit(argv), 15)
        rows.append((f"start-up {label}", f"{started * 1000:.1f} ms"))
    python = _median_seconds(_process([sys.executable, "-c", "pass"]), 15)
    rows.append(("start-up of python itself", f"{python * 1000:.1f} ms"))
    with tempfile.TemporaryDirectory() as directory:
        server = start_redis_server(Path(directory))
        try:
            port = str(server.port)
            client = redis.Redis(host="127.0.0.1", port=server.port)
            client.hset(
                "bench:hash", mapping={f"field:{i}": f"value é {i}\n" for i in range(10_000)}
            )
            client.close()
            ours = [sys.executable, "-m", "inspector", "-p", port, "cli"]
            theirs = ["redis-cli", "-p", port]
            for label, args in (
                ("PING", ["PING"]),
                ("HGETALL 10k fields", ["--no-raw", "HGETALL", "bench:hash"]),
            ):
                r = _median_seconds(_process([*theirs, *args]), 15)
                s = _median_seconds(_process([*ours, *args]), 15)
                rows.append((f"cli {label}: redis-cli", f"{r * 1000:.1f} ms"))
                rows.append(
                    (f"cli {label}: session-inspector", f"{s * 1000:.1f} ms ({s / r:.1f}x)")
                )
        finally:
            server.stop()

    reply: Reply = [
        [f"field:{i}".encode(), f"value é {i}\n".encode(), [b"nested", i]] for i in range(50_000)
    ]
    elements = 50_000 * 4
    tty = _median_seconds(lambda: format_tty(reply), 5)
    raw = _median_seconds(lambda: format_raw(reply), 5)
    rows.append(("format_tty, nested replies", f"{elements / tty / 1e6:.2f} M elements/s"))
    rows.append(("format_raw, nested replies", f"{elements / raw / 1e6:.2f} M elements/s"))

    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
