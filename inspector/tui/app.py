"""The Textual app: tabs for sessions, the live view, a console and the server.

Data flow (docs/architecture.md): the app is given a
:class:`~inspector.core.source.SessionSource` (the Redis one, or an in-memory
one in tests, snapshots and benchmarks). One worker, :meth:`InspectorApp.read_source`,
reads its batches, turns each into a few typed messages
(:func:`~inspector.tui.messages.batch_messages`) and posts them to the app, the
panes and any open detail screen, which each handle what they show. It takes
the next batch only once the app and the panes have handled this one, so a
burst of thousands of changes is one batch: a few messages, one redraw.

The source also serves the detail screen (one read, deletions) and the server
tab (its summary); the app closes the source when it exits.

Which container served each request: the reader attributes every batch
(:func:`~inspector.redis_io.monitor.attribute_items`) with one
:class:`~inspector.core.attribution.Attributor`, by the session's host
attribute or, while MONITOR attribution is on (``--attribute-by monitor`` or
the ``a`` toggle), by the connection that wrote the session. The toggle starts
and stops the :class:`~inspector.redis_io.monitor.MonitorAttribution` under
the one stream; where MONITOR is refused, one line says so and requests stay
attributed by the host attribute.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable, Sequence

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widgets import Header, TabbedContent, TabPane

from inspector.core.attribution import (
    AttributionNotice,
    AttributionNoticeKind,
    Attributor,
    ConnectionNamer,
)
from inspector.core.frameworks import Registry
from inspector.core.render import safe_text
from inspector.core.source import FeedMode, SessionSource
from inspector.exits import ExitCode
from inspector.redis_io.errors import describe_failure
from inspector.redis_io.monitor import (
    AttributionMonitor,
    MonitorAttribution,
    attribute_items,
    system_resolver,
)
from inspector.redis_io.source import RedisSource
from inspector.tui.messages import (
    AttributionNoticed,
    AttributionSwitched,
    ConnectionLost,
    ConnectionRestored,
    ConnectionRetrying,
    FeedModeChanged,
    FeedReady,
    MonitorStatusRead,
    OpenSession,
    ServerSummaryRead,
    SourceFailed,
    SourceMessage,
    batch_messages,
)
from inspector.tui.options import AppOptions
from inspector.tui.panes.keys import KeysPane
from inspector.tui.panes.live import BY_ATTRIBUTE_TEXT, LivePane
from inspector.tui.panes.server import ServerPane
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.screens.detail import SessionDetailScreen
from inspector.tui.screens.framework_detail import FrameworkDetailScreen
from inspector.tui.screens.help import HelpScreen
from inspector.tui.screens.too_small import TooSmallScreen, too_small
from inspector.tui.store import SessionStore
from inspector.tui.title import endpoint_title
from inspector.tui.widgets.console import ConsolePane
from inspector.tui.widgets.footer import BindingsFooter
from inspector.tui.widgets.session_table import SessionTable

__all__ = ["BANNER_SECONDS", "AppOptions", "InspectorApp", "make_app", "run_tui"]

QUIT_ANYWAY = "Quit"
"""The yes button of the quit-while-writing question (a second ctrl+c answers it)."""
WRITE_GROUPS = frozenset({"delete", "kv-write"})
"""Worker groups that write (the detail screen's delete, the Keys tab's d/t/p/e)."""
BANNER_SECONDS = 6
"""How long the demo's URL notice shows (it covers the bottom right of the table)."""


class InspectorApp(App[int]):
    """session-inspector's terminal UI."""

    CSS_PATH = "app.tcss"
    TITLE = "session-inspector"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        # Everywhere, the Console's prompt and the filter box included (a priority
        # binding runs before the focused Input's own ctrl+c, which copies; the
        # terminal's selection still copies). Textual's default only says "ctrl+q".
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Help"),
        Binding("1", "tab('sessions')", "Sessions", show=False),
        Binding("2", "tab('live')", "Live", show=False),
        Binding("3", "tab('console')", "Console", show=False),
        Binding("4", "tab('server')", "Server", show=False),
        Binding("5", "tab('keys')", "Keys", show=False),
        Binding("a", "toggle_attribution", "Attribution", show=False),
        Binding("escape", "to_sessions", "Back", show=False),
    ]

    def __init__(
        self,
        source: SessionSource,
        options: AppOptions,
        *,
        attributor: Attributor | None = None,
        monitor: AttributionMonitor | None = None,
    ) -> None:
        """Use :func:`make_app`; the app owns ``source`` and ``monitor`` and closes them on exit."""
        super().__init__()
        self.source = source
        self.options = options
        self.attributor = attributor or Attributor(
            namer=ConnectionNamer(options.client_map, use_dns=options.dns)
        )
        self.monitor = monitor
        """MONITOR readers for attribution by connection (``None``: no server to run it on)."""
        self.by_connection = False
        """MONITOR attribution is switched on (attached, or attaching)."""
        self.attribution_text = BY_ATTRIBUTE_TEXT
        """How requests are attributed now, in one line (the Live and Server tabs show it)."""
        self.store = SessionStore()
        self.ready = False
        """The source's first full read is done (its data is complete)."""
        self.feed_mode: FeedMode | None = None
        """How the source finds requests, as its last notice said."""
        self.batches = 0
        """Batches from the source handled so far (the app and the panes are done with them)."""
        self.server_mode: str | None = None
        """``standalone`` or ``cluster (N primaries)``, once the server's summary said."""
        self.connected = False
        """The source reached the server at least once (it sent more than failures)."""
        self.failure_code: int | None = None
        """The exit code of the source's last failure while it had never connected, or
        of its end (the app exits with it: as ``ls`` would have)."""
        self.connect_state: str | None = None
        """``cannot connect, next attempt in 4 s`` while never connected (the title shows it)."""
        self._retitle()

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        options = self.options
        yield Header()
        with TabbedContent(id="tabs", initial="sessions"):
            with TabPane("Sessions", id="sessions"):
                yield SessionsPane(
                    self.store,
                    clock=options.clock,
                    tz=options.tz,
                    source=self.source,
                    id="sessions-pane",
                )
            with TabPane("Live", id="live"):
                yield LivePane(tz=options.tz, clock=options.clock, id="live-pane")
            with TabPane("Console", id="console"):
                yield ConsolePane(options.settings, id="console-pane")
            with TabPane("Server", id="server"):
                yield ServerPane(options.settings, banner=options.banner, id="server-pane")
            with TabPane("Keys", id="keys"):
                yield KeysPane(
                    options.settings,
                    allow_writes=options.allow_writes,
                    host_field=options.host_field,
                    clock=options.clock,
                    tz=options.tz,
                    id="keys-pane",
                )
        yield BindingsFooter()

    def on_mount(self) -> None:
        self.query_one(SessionTable).focus()
        if self.options.banner:
            # A toast covers the table's last lines at 80x24: short, since the
            # URLs stay in the Server tab (and were printed before the start).
            banner = f"{self.options.banner}\n(also in the Server tab: 4)"
            self.notify(banner, title="Demo", timeout=BANNER_SECONDS, markup=False)
        self._fit(self.size)
        # What start-up leaves alive (modules, widgets, styles: ~80k objects)
        # lives as long as the app: frozen once the first screen is drawn, no
        # full collection walks it again. One costs 50-60 ms of CPU (measured,
        # headless 80x24), and the first came during the first keys pressed
        # (a tab switch: issue 17's 20 ms budget).
        self.call_after_refresh(gc.freeze)
        self.read_source()
        self._refresh_server()  # once, so the tab is ready when first shown
        self.set_interval(self.options.server_refresh, self._refresh_server_if_shown)

    def on_resize(self, event: events.Resize) -> None:
        # After the app has taken the new size (its own handler runs after this
        # one): a screen pushed before would be laid out for the old size.
        self.call_after_refresh(self._fit, event.size)

    def _fit(self, size: Size) -> None:
        """Below the minimum size, one notice covers the app; it goes once the terminal grows."""
        top = self.screen_stack[-1] if self.screen_stack else None
        if too_small(size):
            if isinstance(top, TooSmallScreen):
                top.show(size)
            else:
                self.push_screen(TooSmallScreen(size))
        elif isinstance(top, TooSmallScreen):
            self.pop_screen()

    async def on_unmount(self) -> None:
        # The reader first: it holds the feed's connections.
        self.workers.cancel_group(self, "source")
        self.workers.cancel_group(self, "attribution")
        if self.monitor is not None:
            await self.monitor.aclose()
        await self.source.aclose()

    # ---------------------------------------------------------------- the source

    @work(exclusive=True, group="source", exit_on_error=False)
    async def read_source(self) -> None:
        """Turn the source's batches into messages for the panes and screens, a batch at a time."""
        try:
            if self.monitor is not None and self.options.attribute_by == "monitor":
                # Attached before the feed starts: requests before MONITOR runs
                # could not be attributed by connection.
                await self._monitor_on()
            stream = attribute_items(self.source.items(), self.attributor, self.monitor)
            async for batch in stream:
                messages = batch_messages(batch)
                # MONITOR's own notices (attached, retrying) say nothing of the feed.
                if not self.connected and any(
                    not isinstance(m, (ConnectionRetrying, AttributionNoticed)) for m in messages
                ):
                    self._reached()
                await self._deliver(messages)
                if not (batch and all(isinstance(i, AttributionNotice) for i in batch)):
                    self.batches += 1  # the source's batches (not MONITOR's notices)
        except Exception as exc:
            # Connected but refused (an ACL user without HGETALL...) is not the
            # same trouble as an unreachable server; say which one it is.
            failure = describe_failure(exc, self.options.settings)
            refused = failure.exit_code is ExitCode.PERMISSION
            self.failure_code = int(failure.exit_code)
            self.connect_state = None
            self._retitle()
            failed = SourceFailed(failure.message, refused=refused, exit_code=self.failure_code)
            await self._deliver([failed])

    def _reached(self) -> None:
        self.connected = True
        self.failure_code = None
        self.connect_state = None
        self._retitle()

    async def _deliver(self, messages: Sequence[SourceMessage]) -> None:
        try:
            waited: list[MessagePump] = [
                self,
                self.query_one(SessionsPane),
                self.query_one(LivePane),
                self.query_one(ServerPane),
            ]
        except NoMatches:
            return  # shutting down: the panes are already gone
        # Detail screens follow the feed too, also when covered (by the delete
        # confirmation): they must be current when uncovered. A screen pushed
        # but not yet composed handles them after its Mount, as any message.
        details = [s for s in self.screen_stack if isinstance(s, SessionDetailScreen)]
        for message in messages:
            for receiver in (*waited, *details):
                receiver.post_message(message.copy())
        # The next batch only once this one is handled: each receiver runs the
        # callback after the messages queued before it. Detail screens are not
        # waited for (one may be closing and never handle its queue).
        loop = asyncio.get_running_loop()
        handled = []
        for receiver in waited:
            done: asyncio.Future[None] = loop.create_future()
            if receiver.call_later(_resolve, done):
                handled.append(done)
        await asyncio.gather(*handled)

    # ---------------------------------------------------------------- attribution

    def action_toggle_attribution(self) -> None:
        """``a``: attribution by connection (MONITOR) on or off, under the running stream."""
        if self.monitor is None:
            self.notify(
                "attribution by connection needs MONITOR on a Redis server; this source has none",
                severity="warning",
                markup=False,
            )
            return
        self._switch_attribution(not self.by_connection)

    @work(exclusive=True, group="attribution", exit_on_error=False)
    async def _switch_attribution(self, on: bool) -> None:
        if on:
            await self._monitor_on()
        else:
            await self._monitor_off("")

    async def _monitor_on(self) -> None:
        monitor = self.monitor
        assert monitor is not None
        self.by_connection = True
        self._switched("Naming containers by connection: attaching MONITOR…")
        try:
            await monitor.start()
            attached = await monitor.wait_attached()
        except Exception as exc:
            failure = describe_failure(exc, self.options.settings)
            await self._monitor_off(f"MONITOR could not start ({failure.message})")
            self.notify(safe_text(failure.message), title="MONITOR", severity="error", markup=False)
            return
        status = monitor.status()
        if status.refused:
            # The refusal's own notice (one line) says why; nothing to keep running.
            await self._monitor_off("MONITOR refused")
            return
        if attached:
            where = ", ".join(status.attached)
            text = f"Containers by connection (MONITOR on {where}) · a: by host attribute"
        else:
            text = "Naming containers by connection: MONITOR not attached yet, retrying…"
        self._switched(text)

    async def _monitor_off(self, why: str) -> None:
        if self.monitor is not None:
            await self.monitor.aclose()
        self.by_connection = False
        text = BY_ATTRIBUTE_TEXT if not why else f"{why}: {BY_ATTRIBUTE_TEXT}"
        self._switched(text)

    def _switched(self, text: str) -> None:
        self.attribution_text = text
        message = AttributionSwitched(self.by_connection, text)
        for pane in self._panes():
            pane.post_message(message.copy())
        self._post_monitor_status()

    def _panes(self) -> list[MessagePump]:
        try:
            return [
                self.query_one(SessionsPane),
                self.query_one(LivePane),
                self.query_one(ServerPane),
            ]
        except NoMatches:
            return []  # shutting down

    def _post_monitor_status(self) -> None:
        status = self.monitor.status() if self.monitor is not None else None
        try:
            server = self.query_one(ServerPane)
        except NoMatches:
            return
        server.post_message(MonitorStatusRead(status, running=self.by_connection))

    def on_attribution_noticed(self, message: AttributionNoticed) -> None:
        notice = message.notice
        kind = notice.kind
        if kind is AttributionNoticeKind.ATTACHED and not self.by_connection:
            return  # attached while being switched off: the switch says what holds
        severity = "information"
        if (
            kind in (AttributionNoticeKind.REFUSED, AttributionNoticeKind.LOST)
            or kind is AttributionNoticeKind.BEHIND
        ):
            severity = "warning"
        self.notify(
            safe_text(notice.message),
            title="MONITOR",
            severity=severity,  # type: ignore[arg-type]
            timeout=15 if kind is AttributionNoticeKind.REFUSED else 8,
            markup=False,
        )
        self._post_monitor_status()

    def on_feed_ready(self, message: FeedReady) -> None:
        self.ready = True
        self.feed_mode = message.mode

    def on_feed_mode_changed(self, message: FeedModeChanged) -> None:
        if message.mode is not None:
            self.feed_mode = message.mode

    def on_connection_lost(self, message: ConnectionLost) -> None:
        self.notify(
            safe_text(message.text), title="Connection lost", severity="warning", markup=False
        )

    def on_connection_retrying(self, message: ConnectionRetrying) -> None:
        if self.connected:
            return  # a late copy: the source has reached the server since
        if self.connect_state is None:
            # Once (the toast is for the first failure); the title counts down after.
            self.notify(
                safe_text(message.text), title="Cannot connect", severity="error", markup=False
            )
        self.failure_code = message.exit_code
        self.connect_state = f"cannot connect, next attempt in {message.retry_in:g} s"
        self._retitle()

    def on_connection_restored(self, message: ConnectionRestored) -> None:
        self.notify(safe_text(message.text), title="Reconnected", markup=False)

    def on_source_failed(self, message: SourceFailed) -> None:
        self.notify(
            safe_text(message.message),
            title="Refused by the server" if message.refused else "Cannot connect",
            severity="error",
            timeout=30,
            markup=False,
        )

    # ---------------------------------------------------------------- the title bar

    def format_title(self, title: str, sub_title: str) -> Content:
        # Where am I before the program's name: at 80 columns the end is cut
        # off (…), and the endpoint is what tells two terminals apart.
        if not sub_title:
            return Content(title)
        return Content.assemble(Content(sub_title), (" — ", "dim"), Content(title).stylize("dim"))

    def _retitle(self) -> None:
        # Where am I, on every tab and screen: the Header shows the app's sub-title.
        self.sub_title = endpoint_title(
            self.options.settings,
            mode=self.server_mode,
            state=self.connect_state,
            writes=self.options.allow_writes,
        )

    # ---------------------------------------------------------------- quitting

    async def action_quit(self) -> None:
        """``q`` / ctrl+c: quit, asking first while a write is asked for or running.

        Never having connected, the exit code is the connection error's (what
        ``ls`` would have exited with), so a script or a shell prompt sees it.
        """
        top = self.screen_stack[-1] if self.screen_stack else None
        if isinstance(top, ConfirmScreen) and top.yes == QUIT_ANYWAY:
            self._leave()  # asked already: a second ctrl+c means it
            return
        if not self.writes_pending():
            self._leave()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._leave()

        question = "A write is waiting for your answer or still running. Quit anyway?"
        self.push_screen(ConfirmScreen(question, yes=QUIT_ANYWAY), answered)

    def writes_pending(self) -> bool:
        """A write confirmation is open, or a delete or key write is under way."""
        if any(isinstance(s, ConfirmScreen) for s in self.screen_stack):
            return True
        return any(w.group in WRITE_GROUPS and w.is_running for w in self.workers)

    def _leave(self) -> None:
        code = self.failure_code if self.failure_code is not None else 0
        self.exit(code, return_code=code)

    # ---------------------------------------------------------------- the server tab

    def _server_shown(self) -> bool:
        tabs = self.query_one(TabbedContent)
        return tabs.active == "server" and self.screen is tabs.screen

    def _refresh_server_if_shown(self) -> None:
        # INFO and DBSIZE on every primary are not free: only while someone looks.
        if self._server_shown():
            self._refresh_server()

    @work(exclusive=True, group="server", exit_on_error=False)
    async def _refresh_server(self) -> None:
        self._post_monitor_status()  # no I/O: counters the readers keep
        try:
            summary = await self.source.summary()
        except Exception:
            return  # the feed reports connection problems; the next refresh tries again
        if summary is None:
            return
        mode = summary.mode + (f" ({summary.nodes} primaries)" if summary.nodes > 1 else "")
        if mode != self.server_mode:
            self.server_mode = mode
            self._retitle()
        self.query_one(ServerPane).post_message(ServerSummaryRead(summary))

    # ---------------------------------------------------------------- actions

    @on(SessionTable.Opened)
    def _open_row(self, event: SessionTable.Opened) -> None:
        row = self.store.rows.get(event.key)
        other = self.store.others.get(event.key)
        if other is not None:
            self.push_screen(FrameworkDetailScreen(other, now_ms=int(self.options.clock() * 1000)))
        elif row is not None:
            # Pushed now, not through a message: the screen is on the stack
            # when the key that opened it has been handled.
            self._open_session(row.key, row.id, row.namespace)

    def on_open_session(self, message: OpenSession) -> None:
        self._open_session(message.key, message.session_id, message.session_namespace)

    def _open_session(self, key: str, session_id: str, namespace: str) -> None:
        self.push_screen(
            SessionDetailScreen(self.source, key, session_id, namespace, options=self.options)
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
        elif tab == "server":
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
        yield SystemCommand(
            "Attribution by connection (MONITOR) on/off",
            "Name each request's container by the connection that wrote the session; "
            "MONITOR costs the server (see the Server tab)",
            self.action_toggle_attribution,
        )
        try:
            pane = self.query_one(SessionsPane)
        except NoMatches:
            pane = None
        if pane is not None:
            for title, help_text, callback in pane.sort_commands():
                yield SystemCommand(title, help_text, callback)
        yield SystemCommand("Help", "Every key", self.action_help)


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():  # the reader may have been cancelled meanwhile
        done.set_result(None)


def make_app(
    options: AppOptions | None = None,
    source: SessionSource | None = None,
    *,
    attributor: Attributor | None = None,
    monitor: AttributionMonitor | None = None,
) -> InspectorApp:
    """The app, the one way it is built (CLI, demo, benchmarks, tests).

    Args:
        options: How to set it up (default: :class:`AppOptions` ()).
        source: Where sessions come from; ``None`` reads them from
            ``options.settings`` with a :class:`~inspector.redis_io.source.RedisSource`.
        attributor: The attribution model (default: one naming connections by
            ``options.client_map`` and ``options.dns``); shared with ``monitor``.
        monitor: MONITOR readers for attribution by connection; ``None`` builds
            them on ``options.settings`` for the Redis source, and leaves a given
            source without (the toggle says it is not available).
    """
    options = options or AppOptions()
    attributor = attributor or Attributor(
        namer=ConnectionNamer(options.client_map, use_dns=options.dns)
    )
    if source is None:
        source = RedisSource(
            options.settings,
            namespace=options.namespace,
            host_field=options.host_field,
            poll_interval=options.poll_interval,
            # Every framework's sessions, as ls lists them; a namespace names Spring's.
            registry=Registry() if options.frameworks and not options.namespace else None,
        )
        if monitor is None:
            resolver = system_resolver if options.dns else None
            monitor = MonitorAttribution(options.settings, attributor, resolver=resolver)
    return InspectorApp(source, options, attributor=attributor, monitor=monitor)


def run_tui(options: AppOptions) -> int:
    """Run the app on Redis until the user quits; returns the exit code."""
    return make_app(options).run() or 0
