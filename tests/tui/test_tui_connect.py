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

from textual.widgets import Header

from inspector.core.memory_source import MemorySource
from inspector.core.source import FeedNotice, NoticeKind, ServerSummary
from inspector.redis_io.settings import ConnectionSettings, SSHSettings, TLSSettings
from inspector.tui.screens.detail import DetailState, SessionDetailScreen
from inspector.tui.title import endpoint_title
from tests.factories import NOW_MS, spring_session
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
