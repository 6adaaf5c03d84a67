"""The whole app against real redis-server: sessions, filter, detail, live host changes,
console, read-only deletes, hostile values; plus the embedded demo server."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import OptionList, RichLog, Static

from inspector.core.attribution import AttributedRequest
from inspector.core.changes import EventKind, RequestEvent
from inspector.core.session import Session
from inspector.core.source import FeedNotice, NoticeKind, SourceItem
from inspector.core.spring import expiration_bucket, minute_set_key
from inspector.core.values import Decoded
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.server import ServerSummary, server_summary
from inspector.redis_io.settings import ConnectionSettings
from inspector.redis_io.source import RedisSource
from inspector.sample_app.demo import SESSION_ID, embedded_redis
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.live import LivePane
from inspector.tui.panes.server import ServerPane
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.screens.detail import DetailState, SessionDetailScreen, export_name
from inspector.tui.screens.framework_detail import FrameworkDetailScreen
from inspector.tui.store import FLASH_MS, KeyView, SortKey
from inspector.tui.widgets.console import ConsolePane
from inspector.tui.widgets.host_history import HostHistory
from inspector.tui.widgets.session_table import SessionTable
from inspector.tui.widgets.value_tree import ValueTree
from tests.factories import NOW_MS, request_event, spring_session
from tests.harness import ACL_READER_PASSWORD, ACL_READER_USER, RedisServer, free_port
from tests.spring_layouts import EXPRESS_ID, EXPRESS_KEY, Expected, write_layouts, write_request
from tests.tui_helpers import offline_app, settled, source_of, wait_until


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


@pytest.fixture
def server(redis_clean: RedisServer) -> Iterator[tuple[RedisServer, redis.Redis, list[Expected]]]:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    client.config_set("notify-keyspace-events", "KEA")
    expected = write_layouts(client, int(time.time() * 1000))
    yield redis_clean, client, expected
    client.config_set("notify-keyspace-events", "")
    client.close()


def on_redis(server: RedisServer, **options: Any) -> InspectorApp:
    """The app as `session-inspector -p PORT` opens it (the Redis source)."""
    return make_app(AppOptions(settings=ConnectionSettings(port=server.port), **options))


class BrowseOnly(RedisSource):
    """A Redis source that only finds and deletes: its feed and summary report nothing."""

    async def items(self) -> AsyncIterator[Sequence[SourceItem]]:
        await asyncio.Event().wait()
        yield []

    async def summary(self) -> None:
        return None


async def loaded(app: InspectorApp, pilot: Pilot[int], count: int) -> None:
    await wait_until(pilot, lambda: app.ready, "the feed's first full read")
    await wait_until(pilot, lambda: len(app.store) >= count, f"{count} sessions")


async def shown(pilot: Pilot[int], screen: SessionDetailScreen) -> None:
    await wait_until(pilot, lambda: screen.state is not DetailState.LOADING, "the detail screen")


async def open_detail(
    app: InspectorApp, pilot: Pilot[int], count: int, key: str
) -> SessionDetailScreen:
    """Once the ``count`` sessions are listed, Enter on ``key``'s row: its detail, shown."""
    await loaded(app, pilot, count)
    app.query_one(SessionsPane).table.cursor = app.store.view.index(key)
    await pilot.press("enter")
    screen = app.screen
    assert isinstance(screen, SessionDetailScreen)
    await shown(pilot, screen)
    return screen


def meta_text(screen: SessionDetailScreen) -> str:
    return str(screen.query_one("#meta", Static).render())


async def test_sessions_appear_with_hosts_and_states(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, _, expected = server
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected) + 1)  # and the express session
        rows = {row.id: row for row in app.store.rows.values() if row.framework == "spring"}
        assert set(rows) == {e.id for e in expected}
        for e in expected:
            assert (rows[e.id].host, rows[e.id].state) == (e.host, e.state)
        (other,) = [row for row in app.store.rows.values() if row.framework != "spring"]
        assert (other.framework, other.id, other.key) == ("express", EXPRESS_ID, EXPRESS_KEY)
        await pilot.pause()
        screen = screen_text(app)
        assert "container-1" in screen
        assert "never-expires" in screen
        # Another framework's session in the table: a framework column appears.
        assert "FRAMEWORK" in screen
        # The decoy that is no session at all (user:42) is counted, not hidden.
        await wait_until(
            pilot,
            lambda: "passed over 1 keys" in " ".join(app.query_one(SessionsPane).skipped),
            "the skipped keys' notice",
        )
        # The string under Spring's session prefix (issue 16.13), from the same summary.
        assert "named like Spring sessions that are not session hashes" in " ".join(
            app.query_one(SessionsPane).skipped
        )
        assert "express" in screen
        app.post_message(SessionTable.Opened(EXPRESS_KEY))
        await wait_until(pilot, lambda: isinstance(app.screen, FrameworkDetailScreen), "its detail")
        text = str(app.screen.query_one("#framework-session", Static).render())
        assert "framework     express" in text
        assert f"key           {EXPRESS_KEY}" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, FrameworkDetailScreen), "back")


async def test_filter(server: tuple[RedisServer, redis.Redis, list[Expected]]) -> None:
    redis_server, _, expected = server
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected) + 1)
        pane = app.query_one(SessionsPane)
        before = pane.views_installed
        await pilot.press("slash", *"container-2", "enter")
        await wait_until(pilot, lambda: pane.views_installed > before, "the filtered view")
        hosts = {app.store.rows[key].host for key in app.store.view}
        assert hosts == {"container-2"}
        assert len(app.store.view) == sum(1 for e in expected if e.host == "container-2")
        before = pane.views_installed
        await pilot.press("escape")
        await wait_until(pilot, lambda: pane.views_installed > before, "the whole view")
        assert len(app.store.view) == len(expected) + 1  # Spring's and the express session


async def test_detail_opens_and_follows_live_changes(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    target = next(e for e in expected if e.host == "container-1")
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        index = app.store.view.index(f"spring:session:sessions:{target.id}")
        app.query_one(SessionsPane).table.cursor = index
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, SessionDetailScreen)
        await shown(pilot, screen)
        meta = meta_text(screen)
        assert target.id in meta
        assert "container-1" in meta
        # A request served by another container shows up while the screen is open.
        write_request(client, target.id, "container-2")
        await wait_until(pilot, lambda: "container-2" in meta_text(screen), "the new host")
        await pilot.press("r")  # raw bytes
        await pilot.press("escape")
        assert not isinstance(app.screen, SessionDetailScreen)


async def test_live_host_change_shows_up(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        sid = str(uuid.uuid4())
        live = app.query_one(LivePane)
        for host in ("container-1", "container-2", "container-1"):
            before = live.total
            switched_ms = int(time.time() * 1000)
            write_request(client, sid, host)
            await wait_until(pilot, lambda before=before: live.total > before)  # type: ignore[misc]
        key = f"spring:session:sessions:{sid}"

        def switched_back() -> bool:
            # The table's copy, handled by the sessions pane (the live pane may come first).
            row = app.store.rows.get(key)
            # The last switch set the highlight (it lasts FLASH_MS from when it was seen).
            return (
                row is not None
                and row.host == "container-1"
                and (row.flash_until >= switched_ms + FLASH_MS)
            )

        await wait_until(pilot, switched_back, "the row's last host, highlighted")
        await pilot.press("2")
        await pilot.pause()
        assert "← container-2" in screen_text(app)
        key = f"spring:session:sessions:{sid}"
        assert [step.container for step in live.stats.path(key)] == [
            "container-1",
            "container-2",
            "container-1",
        ]
        history = app.query_one(HostHistory)
        path = dict(history.paths)[key]
        assert len(path) - 1 == 2  # switches


async def test_console_tab_prints_like_redis_cli(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, _ = server
    client.rpush("console:list", "a", "é", "x y")
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("3")
        console = app.query_one(ConsolePane)
        assert app.focused is not None
        assert console in app.focused.ancestors_with_self
        await pilot.press(*"LRANGE console:list 0 -1", "enter")
        await wait_until(pilot, lambda: any('3) "x y"' in line for line in console.output_lines))
        lines = list(console.output_lines)
        assert lines[-3:] == ['1) "a"', '2) "\\xc3\\xa9"', '3) "x y"']


async def test_delete_is_refused_without_allow_writes(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    target = expected[0]
    key = f"spring:session:sessions:{target.id}"
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_detail(app, pilot, len(expected), key)
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
    app = on_redis(redis_server, allow_writes=True)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_detail(app, pilot, len(expected), key)
        assert screen.state is DetailState.SHOWN
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focused button is Cancel: nothing happens
        await pilot.pause()
        assert client.exists(key)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.state is DetailState.GONE, "the deletion")
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
    app = on_redis(redis_clean)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, 1)
        await pilot.pause()
        screen = screen_text(app)
        assert "[bold red]x[/" in screen  # literally: not turned into bold red
        assert "\x1b" not in screen
        assert "\x00" not in screen
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, SessionDetailScreen)
        await shown(pilot, detail)
        meta = meta_text(detail)
        assert "[bold red]x[/]\\x1b[2J\\x00\\u202e" in meta
        for _ in range(3):  # walk the attributes, including the 1 MB one, tree and raw
            await pilot.press("down")
            await pilot.press("r")
            await pilot.pause()
        assert isinstance(app.screen, SessionDetailScreen)
    client.close()


async def test_unreachable_server_is_explained_not_crashed() -> None:
    app = make_app(AppOptions(settings=ConnectionSettings(port=free_port())))  # nobody listens
    async with app.run_test(size=(100, 30)) as pilot:
        pane = app.query_one(SessionsPane)
        await wait_until(pilot, lambda: "cannot connect" in pane.progress_text)
        assert "connection refused" in pane.progress_text
        # The app (the toast) and the pane handle their copies each in its own time.
        await wait_until(
            pilot, lambda: any(n.title == "Cannot connect" for n in app._notifications)
        )
        failed = next(n for n in app._notifications if n.title == "Cannot connect")
        assert failed.markup is False
        assert "connection refused" in failed.message


async def test_demo_server_starts_seeded_and_stops() -> None:
    with embedded_redis() as settings:
        app = make_app(AppOptions(settings=settings))
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(app, pilot, 1)
            assert next(iter(app.store.rows.values())).id == SESSION_ID
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", settings.port)),
    ):
        pass  # nothing is left listening


# ------------------------------------------------------------------ offline: no Redis needed


def offline_session(sid: str, host: str, last: int, *, cart: bytes | None = None) -> Session:
    """A session whose attribute bytes depend on ``host`` only (not on ``last``)."""
    return spring_session(sid, host, last, attributes={"cart": cart} if cart is not None else None)


def detail(app: InspectorApp, session: Session) -> SessionDetailScreen:
    return SessionDetailScreen(
        app.source, session.key, session.id, session.namespace, options=app.options, session=session
    )


async def test_notices_and_failures_are_shown_literally_never_as_markup() -> None:
    app = offline_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        hostile = "[@click=app.quit]x[/] and [/]"
        source_of(app).notice(FeedNotice(NOW_MS, NoticeKind.LOST, hostile))
        source_of(app).notice(FeedNotice(NOW_MS, NoticeKind.RECONNECTED, "[b]back[/b]\x1b[2J"))
        await settled(pilot)
        notes = list(app._notifications)
        assert [(n.title, n.markup) for n in notes] == [
            ("Connection lost", False),
            ("Reconnected", False),
        ]
        assert notes[0].message == hostile
        assert notes[1].message == "[b]back[/b]\\x1b[2J"
        # The toasts render: as markup, "[/]" would raise instead.
        await wait_until(pilot, lambda: "[@click=app.quit]x[/]" in screen_text(app))
        assert "[b]back[/b]" in screen_text(app)
        assert app.is_running


async def test_detail_follows_the_feed_without_reading_and_keeps_the_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sid = str(uuid.uuid4())
    app = offline_app()
    source = source_of(app)
    async with app.run_test(size=(120, 36)) as pilot:
        first = offline_session(sid, "container-1", NOW_MS - 5000)
        source.add([first])
        screen = detail(app, first)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.session is first, "the first copy")
        tree = screen.query_one("#tree", ValueTree)
        built: list[str] = []
        set_value = tree.set_value

        def counting_set_value(name: str, decoded: Decoded) -> None:
            built.append(name)
            set_value(name, decoded)

        monkeypatch.setattr(tree, "set_value", counting_set_value)
        value_node = tree.root.children[0]
        tree.cursor_line = 2
        # A request that changed only lastAccessedTime: new metadata, the same tree.
        second = offline_session(sid, "container-1", NOW_MS)
        source.add([second])
        await wait_until(pilot, lambda: screen.session is second, "the second copy")
        await pilot.pause()
        assert built == []
        assert tree.root.children[0] is value_node
        assert tree.cursor_line == 2
        # Another container, and a new attribute: the list and the value are rebuilt, once.
        third = offline_session(sid, "container-2", NOW_MS, cart=b'{"items":[]}')
        source.add([third])
        await wait_until(pilot, lambda: screen.session is third, "the third copy")
        await pilot.pause()
        assert built == ["scopedTarget.sampleSession"]
        assert "container-2" in meta_text(screen)
        assert screen.query_one("#attributes", OptionList).option_count == 2
        # Expired: the screen says so, and the table forgets the row.
        source.events([gone_event(sid)])
        await wait_until(pilot, lambda: screen.state is DetailState.GONE, "the expiry")
        assert "no longer exists" in meta_text(screen)
        await settled(pilot)
        assert first.key not in app.store.rows
    assert source.finds == 0  # the screen never read: it had its copy, then the feed's


async def test_a_detail_screen_opened_with_updates_queued_shows_them_once_composed() -> None:
    # The race the 4 Hz tick had: an update for a screen pushed but not yet
    # composed. Updates are messages now, handled after the screen's Mount.
    sid = str(uuid.uuid4())
    app = offline_app()
    source = source_of(app)
    async with app.run_test(size=(120, 36)) as pilot:
        first = offline_session(sid, "container-1", NOW_MS - 5000)
        source.add([first])
        await settled(pilot)
        for round_ in range(20):
            screen = detail(app, first)
            newer = offline_session(sid, f"container-{round_}", NOW_MS)
            app.push_screen(screen)  # not awaited: the feed's copy arrives before Compose
            source.add([newer])
            await wait_until(pilot, lambda s=screen, n=newer: s.session is n, "the newer copy")  # type: ignore[misc]
            assert f"container-{round_}" in meta_text(screen)
            await app.pop_screen()
        assert source.finds == 0


def gone_event(sid: str) -> RequestEvent:
    return request_event(sid, kind=EventKind.DESTROYED)


async def test_a_burst_of_expiries_and_requests_is_applied_as_one_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import inspector.tui.panes.live as live_module

    formatted: list[AttributedRequest] = []
    event_text = live_module.event_text

    def counting_event_text(
        request: AttributedRequest, tz: dt.tzinfo | None = None, *, width: int | None = None
    ) -> Text:
        formatted.append(request)
        return event_text(request, tz, width=width)

    monkeypatch.setattr(live_module, "event_text", counting_event_text)
    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        sids = [str(uuid.uuid4()) for _ in range(300)]
        source = source_of(app)
        source.add([offline_session(sid, "container-1", NOW_MS) for sid in sids])
        await settled(pilot)
        log = app.query_one("#requests", RichLog)
        burst = [gone_event(sid) for sid in sids[:200]] * 30  # 6000 > the log's 5000 lines
        before = app.batches
        source.events(burst)
        await settled(pilot)
        assert app.batches == before + 1  # one batch: one message each for the table and the log
        assert len(app.store) == 100
        assert len(app.store.view) == 100
        assert app.query_one(LivePane).total == 6000  # counted, all of them
        assert log.max_lines is not None
        assert len(formatted) == log.max_lines  # formatted: only what the log keeps
        assert [request.event for request in formatted] == burst[-log.max_lines :]


async def test_export_names_the_file_safely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert export_name("a/b+c==") == "session-a_b+c==.json"
    assert export_name("../\x1b[2J") == "session-..___2J.json"
    monkeypatch.chdir(tmp_path)
    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        session = offline_session("dG9r/ZW4+", "container-1", NOW_MS)
        screen = detail(app, session)
        await app.push_screen(screen)
        await shown(pilot, screen)
        await pilot.press("e")
        await pilot.pause()
        written = tmp_path / "session-dG9r_ZW4+.json"
        assert json.loads(written.read_bytes())["id"] == "dG9r/ZW4+"
        exported = next(n for n in app._notifications if n.title == "Exported")
        assert (exported.message, exported.markup) == (str(written), False)


@pytest.mark.parametrize(
    "error",
    [
        Failure(Problem.NO_PERMISSION, "NOPERM [/] this user has no permissions to run 'del'"),
        RuntimeError("unexpected [@click=app.quit]x[/]"),
    ],
    ids=["refused", "unexpected"],
)
async def test_a_failed_delete_is_reported_never_claimed(error: Exception) -> None:
    app = offline_app(allow_writes=True)
    source_of(app).delete_error = error
    async with app.run_test(size=(120, 36)) as pilot:
        session = offline_session(str(uuid.uuid4()), "container-1", NOW_MS)
        screen = detail(app, session)
        await app.push_screen(screen)
        await shown(pilot, screen)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: any(n.title == "Not deleted" for n in app._notifications))
        failed = next(n for n in app._notifications if n.title == "Not deleted")
        assert failed.markup is False
        assert "[/]" in failed.message
        assert not any(n.title == "Session deleted" for n in app._notifications)
        assert screen.session is session  # still shown: it may well still exist
        await pilot.pause()
        assert app.is_running


async def test_detail_says_why_it_cannot_read_and_retries_on_next_open(
    server: tuple[RedisServer, redis.Redis, list[Expected]], monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server, _, expected = server
    target = expected[0]
    attempts: list[int] = []

    async def flaky_open(settings: ConnectionSettings, **options: Any) -> RedisClient:
        attempts.append(1)
        if len(attempts) == 1:
            raise Failure(Problem.REFUSED, "connection to the server failed: refused [/]")
        return await open_client(settings, **options)

    monkeypatch.setattr("inspector.redis_io.source.open_client", flaky_open)
    settings = ConnectionSettings(port=redis_server.port)
    source = BrowseOnly(settings)
    app = make_app(AppOptions(settings=settings), source)
    async with app.run_test(size=(120, 36)) as pilot:
        key = f"spring:session:sessions:{target.id}"

        def opened() -> SessionDetailScreen:
            return SessionDetailScreen(
                app.source, key, target.id, "spring:session", options=app.options
            )

        first = opened()
        await app.push_screen(first)
        await shown(pilot, first)
        assert first.state is DetailState.UNREADABLE
        meta = meta_text(first)
        assert "not connected: connection to the server failed: refused [/]" in meta
        await pilot.press("escape")
        second = opened()
        await app.push_screen(second)
        await shown(pilot, second)
        assert second.session is not None
        assert second.session.id == target.id
        assert browse_client(source) is not None
    assert browse_client(source) is None  # closed on exit
    assert len(attempts) == 2


def browse_client(source: RedisSource) -> RedisClient | None:
    return source.browse_client  # a function: mypy would narrow the attribute for good


async def test_server_tab_gets_memory_and_clients_from_one_summary(
    server: tuple[RedisServer, redis.Redis, list[Expected]], monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server, _, expected = server
    summaries: list[int] = []

    async def counting_summary(client: RedisClient) -> ServerSummary:
        summaries.append(1)
        return await server_summary(client)

    monkeypatch.setattr("inspector.redis_io.source.server_summary", counting_summary)
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        pane = app.query_one(ServerPane)
        await wait_until(pilot, lambda: "clients" in pane.facts)  # read once at start
        assert re.fullmatch(r"\S+ used, peak \S+", pane.facts["memory"])
        assert re.fullmatch(r"\d+ connected", pane.facts["clients"])
        assert pane.facts["keys"] != "unknown"
        before = len(summaries)
        await pilot.press("4")  # shown: read again now, not 5 s later
        await wait_until(pilot, lambda: len(summaries) > before)


async def test_server_summary_sends_one_info() -> None:
    sent: list[tuple[object, ...]] = []

    class Server:
        async def info(self, *sections: object) -> dict[str, object]:
            sent.append(("INFO", *sections))
            return {
                "redis_version": "7.2.4", "redis_mode": "standalone",
                "used_memory_human": "1.50M", "used_memory_peak_human": "2.00M",
                "connected_clients": 7,
            }  # fmt: skip

        async def dbsize(self) -> int:
            sent.append(("DBSIZE",))
            return 42

    summary = await server_summary(cast("RedisClient", Server()))
    assert sent == [("INFO",), ("DBSIZE",)]
    assert (summary.version, summary.keys, summary.memory_used, summary.memory_peak) == (
        "7.2.4",
        42,
        "1.50M",
        "2.00M",
    )
    assert summary.clients == 7


async def test_a_superseded_filter_never_installs_its_view(monkeypatch: pytest.MonkeyPatch) -> None:
    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        source_of(app).add([
            offline_session(str(uuid.uuid4()), host, NOW_MS)
            for host in ("container-1", "container-2", "edge")
        ])  # fmt: skip
        await settled(pilot)
        pane = app.query_one(SessionsPane)
        started, release, finished = threading.Event(), threading.Event(), threading.Event()
        compute = app.store.compute_view

        def slow_when_stale(
            query: str, sort: SortKey, *, since: int | None = None, reverse: bool = False
        ) -> KeyView:
            if query == "edge":
                started.set()
                release.wait(10)
            view = compute(query, sort, since=since, reverse=reverse)
            if query == "edge":
                finished.set()
            return view

        monkeypatch.setattr(app.store, "compute_view", slow_when_stale)
        pane._compute("edge", SortKey.LAST_ACCESS, app.store.sequence)
        await wait_until(pilot, started.is_set)  # computing in its thread, which cannot be stopped
        before = pane.views_installed
        pane._compute("container-2", SortKey.LAST_ACCESS, app.store.sequence)  # supersedes it
        await wait_until(pilot, lambda: pane.views_installed > before, "the newer view")
        installed = pane.views_installed
        release.set()
        await wait_until(pilot, finished.is_set)
        await wait_until(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.group == "view"),
            "the superseded computation to end",
        )
        await pilot.pause()
        await pilot.pause()
        assert pane.views_installed == installed
        assert app.store.query == "container-2"
        assert [app.store.rows[key].host for key in app.store.view] == ["container-2"]
        # Dropped, the superseded view no longer keeps removed slots from being freed.
        assert not app.store._pins


async def test_a_delete_the_server_refuses_is_reported_not_claimed(redis_acl: RedisServer) -> None:
    admin = redis.Redis(**redis_acl.client_kwargs())  # type: ignore[arg-type]
    sid = str(uuid.uuid4())
    key = f"spring:session:sessions:{sid}"
    last = write_request(admin, sid, "container-1")
    settings = ConnectionSettings(
        port=redis_acl.port, username=ACL_READER_USER, password=ACL_READER_PASSWORD
    )
    app = make_app(AppOptions(settings=settings, allow_writes=True), BrowseOnly(settings))
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            screen = SessionDetailScreen(
                app.source, key, sid, "spring:session", options=app.options
            )
            await app.push_screen(screen)
            await shown(pilot, screen)
            assert screen.session is not None  # reading is allowed
            await pilot.press("d")
            await pilot.pause()
            await pilot.press("y")
            await wait_until(
                pilot, lambda: any(n.title == "Not deleted" for n in app._notifications)
            )
            failed = next(n for n in app._notifications if n.title == "Not deleted")
            assert failed.markup is False
            assert "\n" not in failed.message  # one line
            assert not any(n.title == "Session deleted" for n in app._notifications)
        assert admin.exists(key)
    finally:
        minute_set = minute_set_key("spring:session", expiration_bucket(last, 1800))
        admin.delete(key, f"spring:session:sessions:expires:{sid}", minute_set)
        admin.close()


async def test_the_age_of_the_data_shows_on_the_live_tab() -> None:
    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        source = source_of(app)
        stale = "a polling pass has run for 14.2 s (server slow, paused or unreachable): "
        source.notice(FeedNotice(NOW_MS, NoticeKind.STALE, stale + "last complete pass 14 s ago"))
        await settled(pilot)
        shown = app.query_one(LivePane).query_one("#source", Static)
        assert "last complete pass 14 s ago" in str(shown.render())
        source.notice(FeedNotice(NOW_MS, NoticeKind.CURRENT, "polling caught up"))
        await settled(pilot)
        assert "polling caught up" in str(shown.render())
        assert app.is_running


@pytest.mark.parametrize("where", ["sessions", "live", "server", "console", "help", "detail"])
async def test_ctrl_c_quits_on_every_screen(
    server: tuple[RedisServer, redis.Redis, list[Expected]], where: str
) -> None:
    """Issue 16.10: ctrl+c quits everywhere, the Console's focused prompt included
    (Textual 8 would copy there, and elsewhere only hint at ctrl+q)."""
    redis_server, _, expected = server
    app = on_redis(redis_server)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(app, pilot, len(expected))
        if where == "help":
            await pilot.press("question_mark")
            await wait_until(pilot, lambda: app.screen is not app.screen_stack[0], "help")
        elif where == "detail":
            await pilot.press("enter")
            await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen), "detail")
        elif where != "sessions":
            app.action_tab(where)
            await pilot.pause()
        if where == "console":
            console = app.query_one(ConsolePane)
            await wait_until(
                pilot,
                lambda: app.focused is not None and console in app.focused.ancestors_with_self,
                "the console prompt focused",
            )
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: app._exit, "the app quitting")
    assert app.return_code == 0


async def test_ctrl_c_with_a_write_pending_asks_and_no_keeps_running(
    server: tuple[RedisServer, redis.Redis, list[Expected]],
) -> None:
    redis_server, client, expected = server
    key = f"spring:session:sessions:{expected[0].id}"
    app = on_redis(redis_server, allow_writes=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_detail(app, pilot, len(expected), key)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "delete question")
        delete_question = app.screen
        await pilot.press("ctrl+c")
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen) and app.screen is not delete_question,
            "the quit question",
        )
        await pilot.press("escape")  # no
        await wait_until(pilot, lambda: app.screen is delete_question, "back to the delete")
        assert not app._exit
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: app.screen is not delete_question, "the quit question")
        await pilot.click("#yes")
        await wait_until(pilot, lambda: app._exit, "the app quitting")
    assert client.exists(key)  # quitting answered no to the delete
