"""redis-cli's key modes and the key browser's index on 1M keys, on a private redis-server.

Measures, same server, same data, same run:
- `cli --scan` against `redis-cli --scan` (whole process, output to a pipe): keys/s;
- `cli --bigkeys` against `redis-cli --bigkeys` (our default keeps redis-cli's
  page size so the progress lines match; `--count 1000` is the fast way);
- the key browser's index (KeyspaceScan + KeyIndex): time to the first tree
  level, to the whole index, a few tree queries, and the RSS it adds;
- the TUI's Keys tab (headless, 80x24, the app's own event loop): from pressing
  5 to the first tree level painted and to the whole scan, the longest stall of
  the event loop while the scan runs (a 5 ms ticker's lateness), the process RSS
  at the end, and key-to-repaint (move, then render every visible line) for
  down, page down, opening a folder of 600k keys and paging on through it.
BENCH_KEYS sets the number of keys (default 1,000,000). These 2-core machines
are noisy (+-30%): compare ratios within a run. `python -m benchmarks.bench_keys tab`
runs only the Keys tab part.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from textual import events
from textual.strip import Strip

from inspector.core.memory_source import MemorySource
from inspector.redis_io.client import open_client
from inspector.redis_io.keys import KeyspaceScan
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.app import AppOptions, make_app
from inspector.tui.panes.keys import KeysPane, ScanState
from inspector.tui.widgets.key_tree import KeyTreeView
from tests.harness import start_redis_server

KEYS = int(os.environ.get("BENCH_KEYS", "1000000"))


def load(port: int) -> int:
    """Session-shaped names (60%), their shadow keys (20%), user profiles (20%), plus
    a thousand aggregates so --bigkeys has something to find."""
    client = redis.Redis(host="127.0.0.1", port=port)
    client.execute_command("DEBUG", "POPULATE", KEYS * 6 // 10, "spring:session:sessions", 16)
    client.execute_command(
        "DEBUG", "POPULATE", KEYS * 2 // 10, "spring:session:sessions:expires", 8
    )
    rest = KEYS - KEYS * 6 // 10 - KEYS * 2 // 10 - 1000
    client.execute_command("DEBUG", "POPULATE", rest, "user:profile", 32)
    pipe = client.pipeline(transaction=False)
    for i in range(1000):
        if i % 2:
            pipe.hset(f"agg:hash:{i}", mapping={f"f{j}": "v" for j in range(1 + i % 200)})
        else:
            pipe.rpush(f"agg:list:{i}", *(["x"] * (1 + i % 300)))
    pipe.execute()
    size = int(client.dbsize())
    # SCAN's order changes while the table rehashes: let the server finish first.
    while b"Hash table 1" in client.execute_command("DEBUG", "HTSTATS", "0"):
        client.ping()
    client.close()
    return size


def timed(argv: list[str]) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=True)
    return time.perf_counter() - started, result.stdout


def rss_mb() -> float:
    """The resident set now (not the peak: the --scan runs above read 40 MB of output)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def index_build(port: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    client = await open_client(ConnectionSettings(port=port))
    before = rss_mb()
    scan = KeyspaceScan(client, max_keys=None)
    started = time.perf_counter()
    task = asyncio.create_task(scan.run())
    await scan.first_page.wait()
    first = scan.tree().children(limit=50)
    first_level = time.perf_counter() - started
    await task
    built = time.perf_counter() - started
    after = rss_mb()
    tree = scan.tree()
    rows.append(("index: first tree level", f"{first_level * 1000:.0f} ms ({len(first)} nodes)"))
    rows.append(
        ("index: whole keyspace", f"{built:.2f} s, {len(scan.index) / built / 1000:.0f}k keys/s")
    )
    rows.append(
        (
            "index: RSS added",
            f"{after - before:.0f} MB for {len(scan.index):,} keys "
            f"({(after - before) * 2**20 / len(scan.index):.0f} B/key; process peak {peak_mb():.0f} MB)",
        )
    )
    for label, prefix in (
        ("root level", b""),
        ("spring:session:sessions: (first 200)", b"spring:session:sessions:"),
    ):
        started = time.perf_counter()
        children = tree.children(prefix, limit=200)
        elapsed = time.perf_counter() - started
        rows.append((f"tree: {label}", f"{elapsed * 1000:.1f} ms, {len(children)} children"))
    started = time.perf_counter()
    page = tree.children(b"spring:session:sessions:", limit=200)
    for _ in range(50):
        page = tree.children(b"spring:session:sessions:", after=page[-1], limit=200)
    elapsed = (time.perf_counter() - started) / 51
    rows.append(("tree: next page of 200 (median of 50)", f"{elapsed * 1000:.1f} ms"))
    started = time.perf_counter()
    count = tree.count(b"spring:session:sessions:expires:")
    rows.append(
        (
            "tree: count under a folder",
            f"{(time.perf_counter() - started) * 1000:.2f} ms ({count:,})",
        )
    )
    await client.aclose()
    return rows


def repaint_ms(view: KeyTreeView, action: object) -> float:
    """One key's cost: the action, then every visible line rendered (what a repaint asks)."""
    started = time.perf_counter()
    action()  # type: ignore[operator]
    for y in range(view.size.height):
        view.render_line(y)
    return (time.perf_counter() - started) * 1000


async def keys_tab(port: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    before = rss_mb()
    app = make_app(AppOptions(settings=ConnectionSettings(port=port)), MemorySource())
    async with app.run_test(size=(80, 24)) as pilot:
        # The app settled first (its first footer, the Server tab's first
        # read): that start-up tail, 5-10 ms of CPU, is not the tab switch.
        await pilot.pause()
        pane = app.query_one(KeysPane)
        lateness: list[float] = []
        busy: list[float] = []
        ends: list[float] = []
        stop = asyncio.Event()

        async def ticker() -> None:
            # Sleeps 5 ms at a time; anything later than that was the loop
            # being busy (a stall the user would feel as a frozen screen), or
            # the OS giving the CPU to someone else: the CPU this thread used
            # in between tells the two apart.
            while not stop.is_set():
                started, cpu = time.perf_counter(), time.thread_time()
                await asyncio.sleep(0.005)
                lateness.append((time.perf_counter() - started - 0.005) * 1000)
                busy.append((time.thread_time() - cpu) * 1000)
                ends.append(time.perf_counter())

        view = pane.tree_view
        painted: list[float] = []
        shown = asyncio.Event()
        render_line = view.render_line

        def timed_render(y: int) -> Strip:
            if not painted and len(view.rows):
                painted.append(time.perf_counter())
                shown.set()
            return render_line(y)

        view.render_line = timed_render  # type: ignore[method-assign]
        listed, finished = asyncio.Event(), asyncio.Event()

        def scan_state(state: ScanState) -> None:
            if state is not ScanState.STARTING:
                listed.set()
            if state in (ScanState.DONE, ScanState.FAILED):
                finished.set()

        pane.watch(pane, "scan_state", scan_state, init=False)
        watcher = asyncio.create_task(ticker())
        started = time.perf_counter()
        # Not pilot.press: it waits for the app to be idle, which it is not
        # while the scan runs.
        app.post_message(events.Key("5", "5"))
        await listed.wait()
        ready = time.perf_counter() - started
        await shown.wait()
        first = painted[0] - started
        view.render_line = render_line  # type: ignore[method-assign]
        await finished.wait()
        assert pane.scan_state is ScanState.DONE, pane.problem
        whole = time.perf_counter() - started
        stop.set()
        await watcher
        await pilot.pause()
        after = rss_mb()
        # Switching to the tab (Textual's layout, the footer's keys rebuilt
        # for the new focus, the first paint) apart from the scan after it.
        scanning = sorted(cpu for cpu, end in zip(busy, ends, strict=True) if end > painted[0])
        switching = max(
            (cpu for cpu, end in zip(busy, ends, strict=True) if end <= painted[0]), default=0.0
        )
        lateness.sort()
        busy.sort()
        rows.append(
            (
                "tab: first tree level",
                f"ready {ready * 1000:.0f} ms, painted {first * 1000:.0f} ms after pressing 5",
            )
        )
        rows.append(("tab: whole scan", f"{whole:.2f} s ({len(pane.rows.tree.index):,} keys)"))
        rows.append(
            (
                "tab: event-loop stall during the scan",
                f"max {lateness[-1]:.1f} ms, p99 {lateness[int(len(lateness) * 0.99)]:.1f} ms "
                f"late; CPU used in between: max {busy[-1]:.1f}, p99 "
                f"{busy[int(len(busy) * 0.99)]:.1f} ms ({len(lateness):,} ticks, load "
                f"{os.getloadavg()[0]:.1f})",
            )
        )
        rows.append(
            (
                "tab: event-loop CPU, switch / scan",
                f"until the first paint max {switching:.1f} ms; after it max "
                f"{scanning[-1]:.1f}, p99 {scanning[int(len(scanning) * 0.99)]:.1f} ms",
            )
        )
        rows.append(
            (
                "tab: process RSS at the end",
                f"{after:.0f} MB ({after - before:.0f} MB more than before the app)",
            )
        )
        samples: dict[str, list[float]] = {"down": [], "page down": []}
        for _ in range(50):
            samples["down"].append(repaint_ms(view, lambda: view.action_cursor(1)))
            samples["page down"].append(repaint_ms(view, lambda: view.action_page(1)))
        # Open spring: → session: → sessions: (800k keys: 600k names, the expires: folder).
        view.cursor = pane.rows.index_of(b"spring:") or 0
        opened: list[float] = []
        for _ in range(3):
            opened.append(repaint_ms(view, view.action_expand))
            view.action_cursor(1)
        paging = [repaint_ms(view, lambda: view.action_page(1)) for _ in range(400)]
        rows.append(
            (
                "tab: key to repaint, down / page down",
                f"median {statistics.median(samples['down']):.2f} / "
                f"{statistics.median(samples['page down']):.2f} ms",
            )
        )
        rows.append(
            (
                "tab: open a folder (3 levels to 800k keys)",
                " / ".join(f"{ms:.1f}" for ms in opened) + " ms",
            )
        )
        rows.append(
            (
                "tab: page down x400 through it",
                f"median {statistics.median(paging):.2f} ms, max {max(paging):.1f} ms "
                f"(a page of 200 read every ~12 keys; {len(pane.rows):,} lines loaded)",
            )
        )
    return rows


def main() -> None:
    only_tab = sys.argv[1:] == ["tab"]
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as directory:
        server = start_redis_server(Path(directory), "--enable-debug-command", "local")
        try:
            port = str(server.port)
            total = load(server.port)
            rows.append(("keys", f"{total:,}"))
            # First, in a process that has not read 40 MB of --scan output yet.
            rows += asyncio.run(keys_tab(server.port))
            if only_tab:
                return print_rows(rows)
            ours = [sys.executable, "-m", "inspector", "-p", port, "cli"]
            theirs = ["redis-cli", "-p", port]
            r, expected = timed([*theirs, "--scan"])
            s, got = timed([*ours, "--scan"])
            assert got == expected, "the two --scan outputs differ"
            rows.append(("--scan: redis-cli", f"{r:.2f} s, {total / r / 1000:.0f}k keys/s"))
            rows.append(
                (
                    "--scan: session-inspector",
                    f"{s:.2f} s, {total / s / 1000:.0f}k keys/s ({r / s:.1f}x redis-cli's rate)",
                )
            )
            r, expected = timed([*theirs, "--bigkeys"])
            s, got = timed([*ours, "--bigkeys"])
            assert got == expected, "the two --bigkeys outputs differ"
            f, _ = timed([*ours, "--bigkeys", "--count", "1000"])
            rows.append(("--bigkeys: redis-cli", f"{r:.2f} s"))
            rows.append(("--bigkeys: session-inspector (same pages)", f"{s:.2f} s ({s / r:.1f}x)"))
            rows.append(("--bigkeys --count 1000: session-inspector", f"{f:.2f} s ({f / r:.2f}x)"))
            rows += asyncio.run(index_build(server.port))
        finally:
            server.stop()
    print_rows(rows)


def print_rows(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
