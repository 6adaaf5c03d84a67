"""The Textual app: tabs for sessions, the live view, a console and the server.

Data flow: one worker runs the :class:`~inspector.redis_io.feed.ChangeFeed`
(baseline scan, then notifications or polling, reconnects); it only appends to
in-memory queues. A UI tick (4 per second) drains them into the
:class:`~inspector.tui.store.SessionStore` and the live view, and redraws the
visible rows. Bursts of thousands of events therefore cost one redraw, not
thousands of messages. The tick also hands an open detail screen the newest
copy of its session, so following a session costs no reads of its own.

A second client serves the detail screen, the server tab and deletions. It is
opened on first use and again after a failed attempt, so a server that was
down at start is used once it is back. The app owns both clients and closes
them on exit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Iterable

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane

from inspector import __version__
from inspector.core.changes import EventKind, RequestEvent
from inspector.core.render import safe_text
from inspector.core.session import HostField, Session
from inspector.core.source import FeedNotice, NoticeKind, ScanProgressed, SessionsRead
from inspector.exits import ExitCode
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.server import server_summary
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.panes.keys import KeysPane
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
SERVER_REFRESH = 5.0
"""Seconds between server tab refreshes, while the tab is shown."""
LIVE_SORT_ROWS = 20_000
"""Up to this many sessions the table is re-sorted on every change; above, on `s` or `/`."""


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
        Binding("5", "tab('keys')", "Keys", show=False),
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
        self._browse_opening: asyncio.Task[RedisClient] | None = None
        self._closing = False
        self.feed: ChangeFeed | None = None
        self._incoming_sessions: deque[list[Session]] = deque()
        self._incoming_events: deque[RequestEvent] = deque()
        self._ticks = 0
        self._progress: ScanProgressed | None = None
        if allow_writes:
            self.sub_title = f"{__version__} — writes allowed"

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="tabs", initial="sessions"):
            with TabPane("Sessions", id="sessions"):
                yield SessionsPane(self.store, clock=self.clock, tz=self.tz, id="sessions-pane")
            with TabPane("Live", id="live"):
                yield LivePane(tz=self.tz, id="live-pane")
            with TabPane("Console", id="console"):
                yield ConsolePane(self.settings, id="console-pane")
            with TabPane("Server", id="server"):
                yield ServerPane(self.settings, id="server-pane")
            with TabPane("Keys", id="keys"):
                yield KeysPane(
                    self.settings,
                    allow_writes=self.allow_writes,
                    host_field=self.host_field,
                    clock=self.clock,
                    tz=self.tz,
                    id="keys-pane",
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SessionTable).focus()
        self.set_interval(TICK, self._tick)
        if self.banner:
            self.query_one(ServerPane).set(demo=self.banner)
            self.notify(self.banner, title="Demo", timeout=20, markup=False)
        if self.connect:
            self._run_feed()
            self._refresh_server()  # once, so the tab is ready when first shown
            self.set_interval(SERVER_REFRESH, self._refresh_server_if_shown)

    def ingest(self, sessions: Iterable[Session] = (), events: Iterable[RequestEvent] = ()) -> None:
        """Queue data as the feed would (used by tests and the offline mode)."""
        batch = list(sessions)
        if batch:
            self._incoming_sessions.append(batch)
        self._incoming_events.extend(events)

    async def on_unmount(self) -> None:
        self._closing = True
        opening, self._browse_opening = self._browse_opening, None
        if opening is not None and not opening.done():
            opening.cancel()
            # wait() does not raise: its outcome is _retrieve's to collect.
            await asyncio.wait({opening})
        client = self.browse_client
        self.browse_client = None
        if client is not None:
            await client.aclose()

    # ---------------------------------------------------------------- the second client

    async def browse(self) -> RedisClient:
        """The client for the detail screen, the server tab and deletions, opened if needed.

        A failed attempt is not remembered: the next call tries again.

        Raises:
            Failure: Cannot connect (in one line), or the app is closing.
        """
        if self.browse_client is not None:
            return self.browse_client
        if self._closing:
            raise Failure(Problem.CLOSED, "session-inspector is closing")
        opening = self._browse_opening
        if opening is None or opening.done():
            # An app-owned task, shielded below: a caller that gives up (a
            # detail screen closed while connecting) does not cancel it half-way,
            # and on_unmount can still cancel and await it.
            opening = asyncio.create_task(self._open_browse())
            opening.add_done_callback(_retrieve)
            self._browse_opening = opening
        return await asyncio.shield(opening)

    async def _open_browse(self) -> RedisClient:
        client = await open_client(self.settings)
        if self._closing:
            await client.aclose()
            raise Failure(Problem.CLOSED, "session-inspector is closing")
        self.browse_client = client
        return client

    # ---------------------------------------------------------------- workers

    @work(exclusive=True, group="feed", exit_on_error=False)
    async def _run_feed(self) -> None:
        feed = ChangeFeed(
            self.settings,
            namespace=self.namespace,
            host_field=self.host_field,
            poll_interval=self.poll_interval,
        )
        self.feed = feed
        server = self.query_one(ServerPane)
        try:
            async for batch in feed.items():
                for item in batch:
                    if isinstance(item, FeedNotice):
                        self._on_notice(item)
                    elif isinstance(item, SessionsRead):
                        self._incoming_sessions.append(list(item.sessions))
                    elif isinstance(item, ScanProgressed):
                        self._progress = item
                    else:
                        self._incoming_events.append(item)
        except Failure as failure:
            # Connected but refused (an ACL user without HGETALL...) is not the
            # same trouble as an unreachable server; say which one it is.
            refused = failure.exit_code is ExitCode.PERMISSION
            what = "refused" if refused else "cannot connect"
            server.set(connection=f"failed: {failure.message}")
            self.query_one(SessionsPane).progress_text = f"{what}: {failure.message}"
            self.query_one(SessionsPane).update_status()
            self.notify(
                safe_text(failure.message),
                title="Refused by the server" if refused else "Cannot connect",
                severity="error",
                timeout=30,
                markup=False,
            )

    def show_notice(self, notice: FeedNotice) -> None:
        """React to a feed notice (public for tests and the offline mode)."""
        self._on_notice(notice)

    def _on_notice(self, notice: FeedNotice) -> None:
        mode = _MODE_TEXT.get(notice.mode.value, "?") if notice.mode is not None else "?"
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
            self.notify(
                safe_text(notice.message), title="Connection lost", severity="warning", markup=False
            )
        elif notice.kind is NoticeKind.RECONNECTED:
            server.set(connection="connected")
            self.notify(safe_text(notice.message), title="Reconnected", markup=False)
        sessions.update_status()

    def _server_shown(self) -> bool:
        tabs = self.query_one(TabbedContent)
        return tabs.active == "server" and self.screen is tabs.screen

    def _refresh_server_if_shown(self) -> None:
        # INFO and DBSIZE on every primary are not free: only while someone looks.
        if self._server_shown():
            self._refresh_server()

    @work(exclusive=True, group="server", exit_on_error=False)
    async def _refresh_server(self) -> None:
        try:
            summary = await server_summary(await self.browse())
        except Exception:
            return  # the feed reports connection problems; the next refresh tries again
        one_node = " (first primary)" if summary.nodes > 1 else ""
        facts = {
            "engine": f"{summary.engine} {summary.version or '(version unknown: INFO refused)'}",
            "mode": f"{summary.mode}"
            + (f", {summary.nodes} primaries" if summary.nodes > 1 else ""),
            "keys": "unknown" if summary.keys is None else f"{summary.keys:,}",
        }
        if summary.memory_used is not None:
            facts["memory"] = f"{summary.memory_used} used, peak {summary.memory_peak or '?'}"
            facts["memory"] += one_node
        if summary.clients is not None:
            facts["clients"] = f"{summary.clients} connected{one_node}"
        self.query_one(ServerPane).set(**facts)

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
        detail = self._detail_screen()
        fresh: Session | None = None
        changed = False
        while self._incoming_sessions:
            batch = self._incoming_sessions.popleft()
            self.store.upsert(batch, now_ms)
            if detail is not None:
                fresh = next((s for s in reversed(batch) if s.key == detail.key), fresh)
            changed = True
        events: list[RequestEvent] = []
        gone: list[str] = []
        while self._incoming_events:
            event = self._incoming_events.popleft()
            events.append(event)
            if event.kind is EventKind.DESTROYED:
                gone.append(event.key)
        if gone:
            self.store.remove_many(gone)
            changed = True
        if events:
            self.query_one(LivePane).add_events(events)
        if detail is not None:
            self._update_detail(detail, fresh, events)
        progress = self._progress
        if progress is not None and not progress.done and progress.keys_scanned:
            sessions.progress_text = f"scanning: {progress.keys_scanned:,} keys read"
        if changed or events:
            self.applied.set()
        if changed:
            # Small stores re-sort live (updated rows move); big ones keep their
            # order until `s` or `/`, with new rows appended.
            if len(self.store) <= LIVE_SORT_ROWS:
                self.store.refresh_view()
            table.sync()
            sessions.update_status()
        elif self._ticks % 4 == 0:
            table.refresh()  # relative times and TTL countdowns tick
            sessions.update_status()

    def _detail_screen(self) -> SessionDetailScreen | None:
        # Also when covered (by the delete confirmation): it must be current when uncovered.
        return next(
            (s for s in reversed(self.screen_stack) if isinstance(s, SessionDetailScreen)), None
        )

    @staticmethod
    def _update_detail(
        screen: SessionDetailScreen, fresh: Session | None, events: list[RequestEvent]
    ) -> None:
        last = next(
            (event for event in reversed(events) if event.key == screen.key),
            None,
        )
        if last is not None and last.kind is EventKind.DESTROYED:
            screen.update(None)
        elif fresh is not None:
            screen.update(fresh)

    # ---------------------------------------------------------------- actions

    @on(SessionTable.Opened)
    def _open(self, event: SessionTable.Opened) -> None:
        row = self.store.rows.get(event.key)
        if row is None:
            return
        self.push_screen(
            SessionDetailScreen(
                self.browse,
                row.key,
                row.id,
                row.namespace,
                settings=self.settings,
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
        elif tab == "server" and self.connect:
            self._refresh_server()  # fresh facts now, not up to SERVER_REFRESH later

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
        yield SystemCommand(
            "Keys", "Every key as a tree: type, TTL, size, value", lambda: self.action_tab("keys")
        )
        yield SystemCommand("Help", "Every key", self.action_help)


def _retrieve(task: asyncio.Task[RedisClient]) -> None:
    # Marks a failed opening's exception as seen when every caller gave up
    # waiting (asyncio would log it); the next caller opens again anyway.
    if not task.cancelled():
        task.exception()


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
