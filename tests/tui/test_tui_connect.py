"""Where the app is connected, and how it gets there (issue 16 items 2, 8, 10).

- 16.8: the endpoint, user, db, topology, TLS and tunnel in the title bar of
  every tab and screen;
- 16.2: a TUI started while Redis is down retries with backoff, says so, and
  connects when the server appears; quitting before it ever connected exits
  with the connection error's code;
- 16.10: Ctrl+C quits (asking first while a write is pending); the keys the
  help lists as "everywhere" work everywhere, the Console's prompt included.
"""

from __future__ import annotations

from pathlib import Path

import redis
from textual.widgets import Header

from inspector.core.memory_source import MemorySource
from inspector.core.source import FeedNotice, NoticeKind, ServerSummary
from inspector.exits import ExitCode
from inspector.redis_io.settings import ConnectionSettings, SSHSettings, TLSSettings
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.detail import DetailState, SessionDetailScreen
from inspector.tui.title import endpoint_title
from tests.factories import NOW_MS, spring_session
from tests.harness import free_port, start_redis_server
from tests.spring_layouts import write_session_hash
from tests.tui.test_tui_app import screen_text
from tests.tui_helpers import offline_app, settled, source_of, wait_until

# ------------------------------------------------------------------ 16.8 where am I

FAR = ConnectionSettings(
    host="10.1.2.3",
    port=6380,
    username="alice",
    db=3,
    tls=TLSSettings(ca_cert=Path("/etc/ca.pem")),
    ssh=SSHSettings(host="bastion.example", user="ops"),
)


def test_the_title_names_endpoint_user_db_mode_tls_and_tunnel() -> None:
    assert endpoint_title(ConnectionSettings(port=7000)) == (
        "default@127.0.0.1:7000 db 0 · TLS off"
    )
    assert endpoint_title(FAR, mode="cluster (3 primaries)", writes=True) == (
        "alice@10.1.2.3:6380 db 3 · cluster (3 primaries) · TLS on · via SSH ops@bastion.example"
        " · writes allowed"
    )
    assert endpoint_title(ConnectionSettings(cluster=True)).endswith("· cluster · TLS off")
    # A socket path is shown escaped, never interpreted by the terminal.
    assert "\x1b" not in endpoint_title(ConnectionSettings(socket="/tmp/r\x1b[2J.sock"))


async def test_every_tab_and_the_detail_screen_show_where_the_app_is() -> None:
    summary = ServerSummary("Redis", "7.2.4", "standalone", 1, 5)
    source = MemorySource(summary=summary)
    session = spring_session("a1b2c3d4-0000-4000-8000-000000000001", "container-1", NOW_MS)
    app = offline_app(source, settings=FAR)
    expected = "alice@10.1.2.3:6380 db 3 · standalone · TLS on · via SSH ops@bastion.example"
    async with app.run_test(size=(120, 30)) as pilot:
        source_of(app).notice(FeedNotice(NOW_MS, NoticeKind.READY, "watching"))
        source_of(app).add([session])
        await settled(pilot)
        # The mode comes from the server's summary (read once at start).
        await wait_until(pilot, lambda: app.server_mode == "standalone", "the server's summary")
        for key in "12345":
            await pilot.press(key)
            await pilot.pause()
            top = screen_text(app).splitlines()[0]
            assert expected in top, (key, top)
        await pilot.press("1")
        await pilot.pause()
        screen = SessionDetailScreen(
            app.source, session.key, session.id, session.namespace, options=app.options,
            session=session,
        )  # fmt: skip
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.state is DetailState.SHOWN, "the detail screen")
        await pilot.pause()
        assert screen.query(Header)  # the detail screen has a title bar of its own
        assert expected in screen_text(app).splitlines()[0]


# ------------------------------------------------------------------ 16.2 a server that comes later


def _title(app: InspectorApp) -> str:
    return str(app.sub_title)


def _code(app: InspectorApp) -> int | None:
    return app.failure_code


async def test_a_tui_started_before_its_server_retries_says_so_and_connects(
    tmp_path: Path,
) -> None:
    """Started on a port nobody listens on, the app keeps trying (the title counts down);
    once redis-server starts there, its sessions are listed and the title is plain again."""
    port = free_port()
    app = make_app(AppOptions(settings=ConnectionSettings(port=port)))
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.query_one(SessionsPane)
        # The app and the pane each take their copy of the notice from their own
        # message queue: on a loaded machine one may come a moment after the other.
        await wait_until(
            pilot,
            lambda: (
                "cannot connect, next attempt in" in _title(app)
                and "next attempt in" in pane.progress_text
            ),
            "the retry in the title and the status line",
        )
        assert _code(app) == int(ExitCode.CONNECTION)
        server = start_redis_server(tmp_path, port=port)
        try:
            with redis.Redis(port=port) as client:
                write_session_hash(client, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")
            await wait_until(pilot, lambda: app.ready, "the first full read, once connected")
            await wait_until(pilot, lambda: len(app.store) == 1, "the session listed")
            assert "cannot connect" not in _title(app)
            assert app.connected
            assert _code(app) is None  # read anew: mypy keeps the narrowing from above
            await pilot.press("q")
            await wait_until(pilot, lambda: app._exit, "the app quitting")
        finally:
            server.stop()
    assert app.return_value == 0  # it did connect: quitting is a plain exit


async def test_quitting_before_ever_connecting_exits_with_the_connection_error() -> None:
    """`q` while it never reached the server: the code `ls` would give (3), not 0."""
    app = make_app(AppOptions(settings=ConnectionSettings(port=free_port())))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.failure_code is not None, "a failed attempt")
        await pilot.press("q")
        await wait_until(pilot, lambda: app._exit, "the app quitting")
    assert app.return_value == int(ExitCode.CONNECTION) == 3
    assert app.return_code == 3


async def test_a_wrong_password_is_not_retried_and_keeps_its_exit_code(tmp_path: Path) -> None:
    """Waiting mends a server that is down, not a password: one notice, no countdown."""
    server = start_redis_server(tmp_path, password="right")
    try:
        settings = ConnectionSettings(port=server.port, password="wrong")
        app = make_app(AppOptions(settings=settings))
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.query_one(SessionsPane)
            await wait_until(pilot, lambda: pane.progress_text.startswith("cannot connect: "), "")
            assert "next attempt" not in pane.progress_text
            assert "next attempt" not in _title(app)
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: app._exit, "the app quitting")
        assert app.return_value == int(ExitCode.CONNECTION)
    finally:
        server.stop()
