"""The whole app against real redis-server: sessions, filter, detail, live host changes,
console, read-only deletes, hostile values; plus the embedded demo server."""

from __future__ import annotations

import asyncio
import html
import json
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from textual.pilot import Pilot
from textual.widgets import Static

from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.store import sample_session_json
from inspector.subcommands.demo import SESSION_ID, embedded_redis
from inspector.tui.app import InspectorApp
from inspector.tui.panes.live import LivePane
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.screens.detail import SessionDetailScreen
from inspector.tui.store import FLASH_MS
from inspector.tui.widgets.console import ConsolePane
from inspector.tui.widgets.host_history import HostHistory
from tests.harness import RedisServer
from tests.spring_layouts import Expected, write_layouts


def screen_text(app: InspectorApp) -> str:
    """The screen as plain text lines, rebuilt from the SVG screenshot's text runs."""
    svg = app.export_screenshot()
    runs: dict[float, list[tuple[float, str]]] = {}
    for x, y, content in re.findall(
        r'<text[^>]*\bx="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg
    ):
        runs.setdefault(float(y), []).append(
            (float(x), html.unescape(content).replace("\xa0", " "))
        )
    return "\n".join("".join(t for _, t in sorted(parts)) for _, parts in sorted(runs.items()))


async def until(pilot: Pilot[int], condition: Callable[[], bool], limit: float = 15.0) -> None:
    """Let the app run until ``condition`` holds (bounded; fails with a clear message)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.02)


@pytest.fixture
def server(redis_clean: RedisServer) -> Iterator[tuple[RedisServer, redis.Redis, list[Expected]]]:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    client.config_set("notify-keyspace-events", "KEA")
    expected = write_layouts(client, int(time.time() * 1000))
    yield redis_clean, client, expected
    client.config_set("notify-keyspace-events", "")
    client.close()


def request(client: redis.Redis, sid: str, host: str) -> None:
    now = int(time.time() * 1000)
    key = f"spring:session:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now - 1000).encode(), "lastAccessedTime": str(now).encode(),
        "maxInactiveInterval": b"1800",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json(host, now),
    })  # fmt: skip
    client.set(f"spring:session:sessions:expires:{sid}", b"", ex=1800)


async def loaded(app: InspectorApp, pilot: Pilot[int], count: int) -> None:
    await asyncio.wait_for(app.feed_ready.wait(), 20)
    await until(pilot, lambda: len(app.store) >= count)


async def test_sessions_appear_with_hosts_and_states(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, _, expected = server
    app = InspectorApp(ConnectionSettings(port=redis_server.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        rows = {row.id: row for row in app.store.rows.values()}
        assert set(rows) == {e.id for e in expected}
        for e in expected:
            assert (rows[e.id].host, rows[e.id].state) == (e.host, e.state)
        await pilot.pause()
        screen = screen_text(app)
        assert "container-1" in screen
        assert "never-expires" in screen


async def test_filter(server: tuple[RedisServer, redis.Redis, list[Expected]]) -> None:
    redis_server, _, expected = server
    app = InspectorApp(ConnectionSettings(port=redis_server.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        pane = app.query_one(SessionsPane)
        pane.view_installed.clear()
        await pilot.press("slash", *"container-2", "enter")
        await asyncio.wait_for(pane.view_installed.wait(), 10)
        shown = {app.store.rows[key].host for key in app.store.view}
        assert shown == {"container-2"}
        assert len(app.store.view) == sum(1 for e in expected if e.host == "container-2")
        pane.view_installed.clear()
        await pilot.press("escape")
        await asyncio.wait_for(pane.view_installed.wait(), 10)
        assert len(app.store.view) == len(expected)


async def test_detail_opens_and_follows_live_changes(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    target = next(e for e in expected if e.host == "container-1")
    app = InspectorApp(ConnectionSettings(port=redis_server.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        index = app.store.view.index(f"spring:session:sessions:{target.id}")
        app.query_one(SessionsPane).table.cursor = index
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        await asyncio.wait_for(screen.loaded.wait(), 10)
        meta = str(screen.query_one("#meta", Static).render())
        assert target.id in meta
        assert "container-1" in meta
        # A request served by another container shows up while the screen is open.
        screen.loaded.clear()
        request(client, target.id, "container-2")
        await asyncio.wait_for(screen.loaded.wait(), 10)
        assert "container-2" in str(screen.query_one("#meta", Static).render())
        await pilot.press("r")  # raw bytes
        await pilot.press("escape")
        assert not isinstance(app.screen, SessionDetailScreen)


async def test_live_host_change_shows_up(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    app = InspectorApp(ConnectionSettings(port=redis_server.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        sid = str(uuid.uuid4())
        live = app.query_one(LivePane)
        for host in ("container-1", "container-2", "container-1"):
            before = live.total
            switched_ms = int(time.time() * 1000)
            request(client, sid, host)
            await until(pilot, lambda before=before: live.total > before)  # type: ignore[misc]
        row = app.store.rows[f"spring:session:sessions:{sid}"]
        assert row.host == "container-1"
        # The last switch set the highlight (it lasts FLASH_MS from when it was seen).
        assert row.flash_until >= switched_ms + FLASH_MS
        await pilot.press("2")
        await pilot.pause()
        assert "← container-2" in screen_text(app)
        history = app.query_one(HostHistory)
        assert history.hops[sid] == ["container-1", "container-2", "container-1"]
        assert history.switches[sid] == 2


async def test_console_tab_prints_like_redis_cli(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, _ = server
    client.rpush("console:list", "a", "é", "x y")
    app = InspectorApp(ConnectionSettings(port=redis_server.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        console = app.query_one(ConsolePane)
        assert app.focused is not None
        assert console in app.focused.ancestors_with_self
        await pilot.press(*"LRANGE console:list 0 -1", "enter")
        await until(pilot, lambda: any('3) "x y"' in line for line in console.output_lines))
        lines = list(console.output_lines)
        assert lines[-3:] == ['1) "a"', '2) "\\xc3\\xa9"', '3) "x y"']


async def test_delete_is_refused_without_allow_writes(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    target = expected[0]
    key = f"spring:session:sessions:{target.id}"
    app = InspectorApp(ConnectionSettings(port=redis_server.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        app.query_one(SessionsPane).table.cursor = app.store.view.index(key)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        await asyncio.wait_for(screen.loaded.wait(), 10)
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("--allow-writes" in n.message for n in app._notifications)
    assert client.exists(key)


async def test_delete_with_allow_writes_asks_then_removes_everything(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    target = next(e for e in expected if e.principal == "alice")
    key = f"spring:session:sessions:{target.id}"
    app = InspectorApp(ConnectionSettings(port=redis_server.port), allow_writes=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        app.query_one(SessionsPane).table.cursor = app.store.view.index(key)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        await asyncio.wait_for(screen.loaded.wait(), 10)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focused button is Cancel: nothing happens
        await pilot.pause()
        assert client.exists(key)
        await pilot.press("d")
        await pilot.pause()
        screen.loaded.clear()
        await pilot.press("y")
        await asyncio.wait_for(screen.loaded.wait(), 10)
    assert not client.exists(key)
    assert not client.exists(f"spring:session:sessions:expires:{target.id}")
    index = "spring:session:index:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME:alice"
    assert client.scard(index) == 0


async def test_hostile_values_render_as_text(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    sid = str(uuid.uuid4())
    hostile = "[bold red]x[/]\x1b[2J\x00\u202e"
    now = int(time.time() * 1000)
    client.hset(f"spring:session:sessions:{sid}", mapping={
        "creationTime": str(now).encode(), "lastAccessedTime": str(now).encode(),
        "maxInactiveInterval": b"1800",
        "sessionAttr:evil": json.dumps({"host": hostile}).encode(),
        "sessionAttr:big": b"\x01" * (1 << 20),
        "sessionAttr:nul": b"\x00\x1b[2J",
    })  # fmt: skip
    app = InspectorApp(ConnectionSettings(port=redis_clean.port))
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, 1)
        await pilot.pause()
        screen = screen_text(app)
        assert "[bold red]x[/]" in screen  # literally: not turned into bold red
        assert "\x1b" not in screen
        assert "\x00" not in screen
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, SessionDetailScreen)
        await asyncio.wait_for(detail.loaded.wait(), 10)
        meta = str(detail.query_one("#meta", Static).render())
        assert "[bold red]x[/]\\x1b[2J\\x00\\u202e" in meta
        for _ in range(3):  # walk the attributes, including the 1 MB one, tree and raw
            await pilot.press("down")
            await pilot.press("r")
            await pilot.pause()
        assert isinstance(app.screen, SessionDetailScreen)
    client.close()


async def test_unreachable_server_is_explained_not_crashed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = InspectorApp(ConnectionSettings(port=port))
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(SessionsPane)
        await until(pilot, lambda: "cannot connect" in pane.progress_text)
        assert "connection refused" in pane.progress_text


async def test_demo_server_starts_seeded_and_stops() -> None:
    with embedded_redis() as settings:
        app = InspectorApp(settings)
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(app, pilot, 1)
            assert next(iter(app.store.rows.values())).id == SESSION_ID
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", settings.port)),
    ):
        pass  # nothing is left listening
