"""Issue 14, item 2: read-only by default, proved on a real server.

On a server of its own, after ``CONFIG RESETSTAT``, the test runs ``ls``, ``show``,
``stats`` (text and JSON), a brief ``watch`` that sees one request, and a scripted
TUI session (every tab, filter, sort, open a session, its detail, raw view,
export). It then reads ``INFO commandstats`` and a ``MONITOR`` capture of the whole
run and fails on any command outside :data:`ALLOWED`, the one allow-list.

MONITOR names the connection of each command, so the test's own set-up and
trigger connections are left out of it exactly; ``INFO commandstats`` counts
everyone, so there the test's own few commands (:data:`TEST_OWN`) are allowed too.
MONITOR does not show every command (AUTH, for one), which is why both are read.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.app import AppOptions, make_app
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.detail import DetailState, SessionDetailScreen
from tests.cli_run import inspector_in_process
from tests.harness import RedisServer, start_redis_server
from tests.redis.test_watch import Watch
from tests.spring_layouts import Expected, write_layouts, write_request
from tests.tui_helpers import WAIT_SECONDS, wait_until

# The one allow-list: every command the tool may send with default options, as
# `INFO commandstats` names them (lower case, container|subcommand). None writes.
ALLOWED = frozenset({
    # connecting: redis-py's handshake and the probe that finds cluster mode
    "ping", "info", "hello", "client|setinfo", "client|setname", "select",
    # finding sessions: SCAN only (never KEYS), then pipelined reads
    "scan", "type", "exists", "dbsize",
    "hgetall", "hmget", "hget", "hlen", "hkeys", "hstrlen", "hscan",
    "get", "getrange", "strlen", "mget",
    "pttl", "ttl",
    "smembers", "scard", "sscan", "zrange", "zcard", "zscan", "llen", "lrange", "xlen",
    # the Keys tab's per-key facts
    "memory|usage", "object|encoding", "object|freq", "object|idletime",
    # the feed: keyspace notifications, and the setting that says whether they are on
    "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "config|get",
    # which connection served a request (CLIENT LIST is read-only), the server tab
    "client|list", "client|info", "client|id",
    # the console tab: command names for completion (COMMAND LIST), help (COMMAND DOCS)
    "command|list", "command|docs", "command|info", "command|count", "command",
})  # fmt: skip
# What the test itself sends (set-up, the trigger request, the audit): counted by
# INFO commandstats, which cannot tell connections apart.
TEST_OWN = frozenset({
    "config|resetstat", "config|set", "monitor", "info", "client|info",
    "hset", "expire", "pexpire", "pexpireat", "set", "sadd", "zadd", "del", "publish",
    "append", "flushall", "rpush", "select", "hello", "client|setinfo",
})  # fmt: skip
_CONTAINERS = {"config", "client", "command", "memory", "object", "xinfo", "acl", "cluster"}
_MONITOR_LINE = re.compile(r"^\+[\d.]+ \[\d+ (?P<addr>[^\]]+)\] (?P<args>.*)$")


def _name(args: list[str]) -> str:
    name = args[0].lower()
    if name in _CONTAINERS and len(args) > 1:
        return f"{name}|{args[1].lower()}"
    return name


class Monitor:
    """MONITOR on a raw socket, in a thread: (client address, command name) per command."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"MONITOR\r\n")
        self.commands: list[tuple[str, str]] = []
        self.started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.started.wait(WAIT_SECONDS)

    def _run(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\r\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace")
                if line == "+OK":
                    self.started.set()
                    continue
                match = _MONITOR_LINE.match(line)
                if match:
                    args = re.findall(r'"((?:[^"\\]|\\.)*)"', match["args"])
                    if args:
                        self.commands.append((match["addr"], _name(args)))

    def stop(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(WAIT_SECONDS)


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[tuple[RedisServer, redis.Redis, list[Expected]]]:
    server = start_redis_server(tmp_path / "audit")
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    try:
        client.config_set("notify-keyspace-events", "KEA")
        expected = write_layouts(client, int(time.time() * 1000))
        yield server, client, expected
    finally:
        client.close()
        server.stop()


def _own_address(client: redis.Redis) -> str:
    info = client.execute_command("CLIENT", "INFO")
    text = info.decode() if isinstance(info, bytes) else str(info)
    return re.search(r"\baddr=(\S+)", text)[1]  # type: ignore[index]


async def _tui_session(port: int, expected: list[Expected], tmp_path: Path) -> None:
    app = make_app(AppOptions(settings=ConnectionSettings(port=port)))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.ready, "the feed's first read")
        await wait_until(pilot, lambda: len(app.store) >= len(expected), "the sessions")
        for tab in ("2", "4", "5", "3"):  # Live, Server, Keys, Console (it takes the keys)
            await pilot.press(tab)
            await pilot.pause(0.2)
        await pilot.press("escape")  # back to Sessions
        pane = app.query_one(SessionsPane)
        await wait_until(pilot, lambda: pane.table.has_focus, "the sessions table")
        before = pane.views_installed
        await pilot.press("slash", *"container", "enter")  # filter
        await wait_until(pilot, lambda: pane.views_installed > before, "the filtered view")
        await pilot.press("escape")
        await pilot.press("s", "down", "enter")  # sort: choose an order (TTL)
        await pilot.press("S")  # and reverse it
        await pilot.pause(0.2)
        pane.table.cursor = 0
        await pilot.press("enter")  # open the session: its detail screen
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        await wait_until(pilot, lambda: screen.state is DetailState.SHOWN, "the session")
        await pilot.press("r", "r", "e")  # raw bytes, the tree again, export
        await wait_until(pilot, lambda: any(tmp_path.glob("session-*.json")), "the export")
        await pilot.press("escape")


def test_default_commands_are_read_only(
    audited: tuple[RedisServer, redis.Redis, list[Expected]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, client, expected = audited
    port = str(server.port)
    own = {_own_address(client)}
    client.config_resetstat()
    monitor = Monitor(server.port)
    try:
        sid = next(e.id for e in expected if e.host)
        for args in (
            ("ls",), ("ls", "--json"), ("show", sid), ("show", sid, "--json"),
            ("stats",), ("stats", "--json"),
        ):  # fmt: skip
            # In process: the same code sends the same commands, without ~0.4 s of
            # start-up each; the watch below is the real process.
            result = inspector_in_process("-p", port, *args)
            assert result.returncode == 0, (args, result.stderr)
        watch = Watch(server.port)
        try:
            watch.notice("watching")
            write_request(client, str(uuid.uuid4()), "container-2")
            watch.event()
        finally:
            watch.stop()
        monkeypatch.chdir(tmp_path)  # where the export lands
        asyncio.run(_tui_session(server.port, expected, tmp_path))
    finally:
        monitor.stop()
    seen = Counter(name for addr, name in monitor.commands if addr not in own)
    assert seen["scan"], seen  # it did run: SCAN for the lists
    assert seen["psubscribe"] + seen["subscribe"], seen  # and the feed subscribed
    assert "keys" not in seen
    outside = sorted(set(seen) - ALLOWED)
    assert not outside, f"commands outside the allow-list (MONITOR): {outside}"
    stats = client.info("commandstats")
    counted = {name.removeprefix("cmdstat_") for name in stats}
    print("INFO commandstats:", sorted(counted), "MONITOR:", dict(seen.most_common()))
    outside = sorted(counted - ALLOWED - TEST_OWN)
    assert not outside, f"commands outside the allow-list (INFO commandstats): {outside}"
    assert "keys" not in counted
    assert not counted & {"hset", "del", "set", "expire"} - TEST_OWN
