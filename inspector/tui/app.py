"""The Textual app: tabs for sessions, the live view, a console and the server.

Data flow: one worker runs the :class:`~inspector.redis_io.feed.ChangeFeed`
(baseline scan, then notifications or polling, reconnects); it only appends to
in-memory queues. A UI tick (4 per second) drains them into the
:class:`~inspector.tui.store.SessionStore` and the live view, and redraws the
visible rows. Bursts of thousands of events therefore cost one redraw, not
thousands of messages. A second client serves the detail screen, the server
tab and deletions. The app owns both clients and closes them on exit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Iterable

from redis.asyncio import RedisCluster
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from inspector import __version__
from inspector.core.changes import EventKind, RequestEvent
from inspector.core.session import HostField, Session
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.errors import Failure
from inspector.redis_io.feed import ChangeFeed, FeedNotice, NoticeKind
from inspector.redis_io.info import parse_info
from inspector.redis_io.server import server_summary
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.panes.live import LivePane
from inspector.tui.panes.server import ServerPane
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.detail import SessionDetailScreen
from inspector.tui.screens.help import HelpScreen
from inspector.tui.store import SessionStore
from inspector.tui.widgets.console import ConsolePane
from inspector.tui.widgets.session_table import SessionTable

__all__ = ["InspectorApp", "run_tui"]

_MODE_TEXT = {
    "notifications": "on: requests seen as keyspace notifications",
    "polling": "off: requests found by polling",
    "polling, listening": "unknown (CONFIG refused): polling, listening for notifications",
}

TICK = 0.25
"""Seconds between UI updates from the feed (and the relative-time ticking)."""


class InspectorApp(App[int]):
    """session-inspector's terminal UI."""

    CSS_PATH = "app.tcss"
    TITLE = "session-inspector"
    SUB_TITLE = __version__
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("1", "tab('sessions')", "Sessions", show=False),
        Binding("2", "tab('live')", "Live", show=False),
        Binding("3", "tab('console')", "Console", show=False),
        Binding("4", "tab('server')", "Server", show=False),
        Binding("escape", "to_sessions", "Back", show=False),
    ]

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        namespace: str | None = None,
        host_field: HostField | None = None,
        poll_interval: float = 1.0,
        allow_writes: bool = False,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo | None = None,
        connect: bool = True,
        banner: str | None = None,
    ) -> None:
        super().__init__()
        self.banner = banner
        """Text shown on start and in the server tab (the demo's app URLs)."""
        self.connect = connect
        """``False`` starts no Redis worker: tests then feed :meth:`ingest` themselves."""
        self.feed_ready = asyncio.Event()
        """Set when the feed is subscribed and its baseline loaded (tests wait on it)."""
        self.applied = asyncio.Event()
        """Set after each tick that applied new sessions or events (tests wait on it)."""
        self.settings = settings
        self.namespace = namespace
        self.host_field = host_field
        self.poll_interval = poll_interval
        self.allow_writes = allow_writes
        self.clock = clock
        self.tz = tz
        self.store = SessionStore()
        self.browse_client: RedisClient | None = None
        self.feed: ChangeFeed | None = None
        self._incoming_sessions: deque[list[Session]] = deque()
        self._incoming_events: deque[RequestEvent] = deque()
        self._ticks = 0
        if allow_writes:
            self.sub_title = f"{__version__} — writes allowed"

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs", initial="sessions"):
            with TabPane("Sessions", id="sessions"):
                yield SessionsPane(self.store, clock=self.clock, id="sessions-pane")
            with TabPane("Live", id="live"):
                yield LivePane(tz=self.tz, id="live-pane")
            with TabPane("Console", id="console"):
                yield ConsolePane(self.settings, id="console-pane")
            with TabPane("Server", id="server"):
                yield ServerPane(self.settings, id="server-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SessionTable).focus()
        self.set_interval(TICK, self._tick)
        if self.banner:
            self.query_one(ServerPane).set(demo=self.banner)
            self.notify(self.banner, title="Demo", timeout=20, markup=False)
        if self.connect:
            self._run_feed()
            self._open_browse_client()

    def ingest(self, sessions: Iterable[Session] = (), events: Iterable[RequestEvent] = ()) -> None:
        """Queue data as the feed would (used by tests and the offline mode)."""
        batch = list(sessions)
        if batch:
            self._incoming_sessions.append(batch)
        self._incoming_events.extend(events)

    async def on_unmount(self) -> None:
        client = self.browse_client
        self.browse_client = None
        if client is not None:
            await client.aclose()

    # ---------------------------------------------------------------- workers

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def _run_feed(self) -> None:
        feed = ChangeFeed(
            self.settings,
            namespace=self.namespace,
            host_field=self.host_field,
            poll_interval=self.poll_interval,
            on_sessions=self._incoming_sessions.append,
        )
        self.feed = feed
        server = self.query_one(ServerPane)
        try:
            async for item in feed.events():
                if isinstance(item, FeedNotice):
                    self._on_notice(item)
                else:
                    self._incoming_events.append(item)
        except Failure as failure:
            server.set(connection=f"failed: {failure.message}")
            self.query_one(SessionsPane).progress_text = f"cannot connect: {failure.message}"
            self.query_one(SessionsPane).update_status()
            self.notify(failure.message, title="Cannot connect", severity="error", timeout=30)

    def show_notice(self, notice: FeedNotice) -> None:
        """React to a feed notice (public for tests and the offline mode)."""
        self._on_notice(notice)

    def _on_notice(self, notice: FeedNotice) -> None:
        mode = _MODE_TEXT.get(self.feed.mode.value, "?") if self.feed is not None else "?"
        live = self.query_one(LivePane)
        server = self.query_one(ServerPane)
        sessions = self.query_one(SessionsPane)
        if notice.kind is NoticeKind.READY:
            self.feed_ready.set()
            sessions.progress_text = ""
            server.set(connection="connected", notifications=mode)
            live.set_source(notice.message)
        elif notice.kind is NoticeKind.HOWTO:
            server.set(notifications=notice.message)
            live.set_source(notice.message)
        elif notice.kind is NoticeKind.MODE:
            live.set_source(notice.message)
            server.set(notifications=mode)
        elif notice.kind is NoticeKind.LOST:
            server.set(connection="reconnecting…")
            self.notify(notice.message, title="Connection lost", severity="warning")
        elif notice.kind is NoticeKind.RECONNECTED:
            server.set(connection="connected")
            self.notify(notice.message, title="Reconnected")
        sessions.update_status()

    @work(exclusive=True, group="browse", exit_on_error=False)
    async def _open_browse_client(self) -> None:
        try:
            self.browse_client = await open_client(self.settings)
        except Failure:
            return  # the feed reports connection problems
        self._refresh_server()
        self.set_interval(5, self._refresh_server)

    @work(exclusive=True, group="server", exit_on_error=False)
    async def _refresh_server(self) -> None:
        client = self.browse_client
        if client is None:
            return
        summary = await server_summary(client)
        facts = {
            "engine": f"{summary.engine} {summary.version or '(version unknown: INFO refused)'}",
            "mode": f"{summary.mode}"
            + (f", {summary.nodes} primaries" if summary.nodes > 1 else ""),
            "keys": "unknown" if summary.keys is None else f"{summary.keys:,}",
        }
        try:
            if isinstance(client, RedisCluster):
                raw = await client.execute_command("INFO", target_nodes=client.get_primaries()[0])
            else:
                raw = await client.execute_command("INFO")
        except Exception:
            raw = None
        info = (
            raw
            if isinstance(raw, dict)
            else parse_info(raw)
            if isinstance(raw, (bytes, str))
            else {}
        )
        if info:
            used, peak = info.get("used_memory_human", "?"), info.get("used_memory_peak_human", "?")
            facts["memory"] = f"{used} used, peak {peak}"
            facts["clients"] = f"{info.get('connected_clients', '?')} connected"
        self.query_one(ServerPane).set(**{k: str(v) for k, v in facts.items()})

    # ---------------------------------------------------------------- the tick

    def _tick(self) -> None:
        """Apply what the feed read since the last tick, then redraw what is visible."""
        self._ticks += 1
        now_ms = int(self.clock() * 1000)
        try:
            sessions = self.query_one(SessionsPane)
            table = sessions.table
        except NoMatches:
            return  # shutting down: the panes are already gone
        changed = False
        while self._incoming_sessions:
            self.store.upsert(self._incoming_sessions.popleft(), now_ms)
            changed = True
        events: list[RequestEvent] = []
        while self._incoming_events:
            event = self._incoming_events.popleft()
            events.append(event)
            if event.kind is EventKind.DESTROYED:
                self.store.remove(f"{event.namespace}:sessions:{event.session_id}")
                changed = True
        if events:
            self.query_one(LivePane).add_events(events)
            self._refresh_detail(events)
        progress = self.feed.baseline if self.feed is not None else None
        if progress is not None and not progress.done and progress.keys_scanned:
            sessions.progress_text = f"scanning: {progress.keys_scanned:,} keys read"
        if changed or events:
            self.applied.set()
        if changed:
            # Small stores re-sort live; big ones keep their order until `s`.
            if len(self.store) <= 20_000:
                self.store.apply_view(
                    self.store.query,
                    self.store.sort,
                    self.store.compute_view(self.store.query, self.store.sort),
                )
            table.sync()
            sessions.update_status()
        elif self._ticks % 4 == 0:
            table.refresh()  # relative times and TTL countdowns tick
            sessions.update_status()

    def _refresh_detail(self, events: Iterable[RequestEvent]) -> None:
        screen = self.screen
        if isinstance(screen, SessionDetailScreen) and any(
            event.session_id == screen.session_id for event in events
        ):
            screen.reload()

    # ---------------------------------------------------------------- actions

    @on(SessionTable.Opened)
    def _open(self, event: SessionTable.Opened) -> None:
        row = self.store.rows.get(event.key)
        if row is None:
            return
        self.push_screen(
            SessionDetailScreen(
                lambda: self.browse_client,
                row.key,
                row.id,
                row.namespace,
                host_field=self.host_field,
                allow_writes=self.allow_writes,
                clock=self.clock,
                tz=self.tz,
            )
        )

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        # Keys must go where the user now looks: typing a command in the
        # console must never reach the app's single-key bindings (q quits).
        tab = event.pane.id
        if tab == "console":
            self.query_one(ConsolePane).focus()
        elif tab == "sessions":
            self.query_one(SessionTable).focus()
        elif tab == "live":
            self.query_one("#requests").focus()

    def action_to_sessions(self) -> None:
        """Escape: from any other tab (the console included) back to the sessions."""
        tabs = self.query_one(TabbedContent)
        if tabs.active != "sessions":
            tabs.active = "sessions"

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Sessions", "Show the sessions table", lambda: self.action_tab("sessions")
        )
        yield SystemCommand(
            "Live requests", "Show requests as they happen", lambda: self.action_tab("live")
        )
        yield SystemCommand(
            "Console", "Run Redis commands (redis-cli output)", lambda: self.action_tab("console")
        )
        yield SystemCommand(
            "Server", "Endpoint, version, notifications, memory", lambda: self.action_tab("server")
        )
        yield SystemCommand("Help", "Every key", self.action_help)


def run_tui(
    settings: ConnectionSettings,
    *,
    namespace: str | None = None,
    host_field: HostField | None = None,
    poll_interval: float = 1.0,
    allow_writes: bool = False,
) -> int:
    """Run the app until the user quits; returns the exit code."""
    app = InspectorApp(
        settings,
        namespace=namespace,
        host_field=host_field,
        poll_interval=poll_interval,
        allow_writes=allow_writes,
    )
    return app.run() or 0
