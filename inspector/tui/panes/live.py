"""The live tab: requests as they happen, and per container and per session figures.

Every request arrives attributed (:class:`~inspector.core.attribution.AttributedRequest`):
the container that served it by whichever attribution is active (the
session's host attribute, or the connection that wrote it, by MONITOR), and
where its name came from. The figures below the stream
(:class:`~inspector.core.containers.ContainerStats`, the same as ``watch
--summary``) start afresh when the attribution is switched, so they never mix
names from both.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import RichLog, Static

from inspector.core.attribution import AttributedRequest, NameSource
from inspector.core.changes import EventKind, EventSource
from inspector.core.containers import ContainerStats
from inspector.core.render import safe_text
from inspector.tui.messages import (
    AttributionSwitched,
    FeedAdvice,
    FeedModeChanged,
    FeedReady,
    RequestsSeen,
)
from inspector.tui.widgets.host_bars import HostBars, host_style
from inspector.tui.widgets.host_history import KEEP_SESSIONS, HostHistory

__all__ = ["BY_ATTRIBUTE_TEXT", "CONTINUATION_INDENT", "LivePane", "event_text"]

_KIND_MARK = {
    EventKind.CREATED: "new",
    EventKind.DESTROYED: "gone",
    EventKind.INVALIDATED: "invalidated",
}

BY_ATTRIBUTE_TEXT = "Containers by the session's host attribute · a: by connection (MONITOR)"
"""The Live tab's attribution line while MONITOR is off."""


CONTINUATION_INDENT = 24
"""Where a request's continuation lines start: under the container (time and session before it)."""


def event_text(
    request: AttributedRequest, tz: dt.tzinfo | None = None, *, width: int | None = None
) -> Text:
    """One request: time, session, container (and how named), disagreement, ← previous, attributes.

    By connection, the name's source follows it (``client-name``, ``map``,
    ``dns``, ``address``), and a host attribute naming another container is
    flagged (``≠ attribute container-1``). With a ``width`` (the log's), what
    does not fit goes on continuation lines indented to
    :data:`CONTINUATION_INDENT`, each part whole where it fits and folded where
    it alone is wider: at 80 columns a long disagreement or container name is
    not cut off. The container and the flag come first, so they are on the
    request's first lines.
    """
    event = request.event
    container = request.container
    name = container.name if container else None
    moment = dt.datetime.fromtimestamp(event.time_ms / 1000, tz=dt.UTC).astimezone(tz)
    head = Text()
    head.append(moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}  ", style="dim")
    head.append(safe_text(event.session_id[:8]) + "  ")
    # Each part with the separator that goes before it when it follows on the same line.
    parts: list[tuple[str, Text]] = []
    parts.append(("", Text(f"{safe_text(name or '-'):<16}", style=host_style(name))))
    via = request.via
    if via is not None and via is not NameSource.ATTRIBUTE:
        parts.append((" ", Text(f"({via.value})", style="dim")))
    if request.host_disagrees and event.host:
        parts.append((" ", Text(f"≠ attribute {safe_text(event.host)}", style="bold red")))
    previous = request.previous.name if request.previous else None
    if event.kind in _KIND_MARK:
        parts.append(("  ", Text(f"({_KIND_MARK[event.kind]})", style="italic")))
    elif previous is not None:
        before = Text("← ", style="dim")
        before.append(safe_text(previous), style=host_style(previous))
        parts.append(("  ", before))
    if event.changed:
        changed = "[" + ", ".join(safe_text(c) for c in event.changed) + "]"
        parts.append(("  ", Text(changed, style="dim")))
    if event.source is EventSource.POLL:
        parts.append(("  ", Text("(poll)", style="dim")))
    return _laid_out(head, parts, width)


def _laid_out(head: Text, parts: list[tuple[str, Text]], width: int | None) -> Text:
    """The head then the parts, wrapped at part boundaries to ``width`` (None: one line)."""
    line = head.copy()
    if width is None or width < CONTINUATION_INDENT + 8:
        for separator, part in parts:
            line.append(separator)
            line.append_text(part)
        return line
    room = width - CONTINUATION_INDENT
    indent = " " * CONTINUATION_INDENT
    column = line.cell_len
    first = True
    for separator, part in parts:
        fits_below = part.cell_len <= room
        if not first and column + len(separator) + part.cell_len > width and fits_below:
            line.append("\n" + indent)
            column = CONTINUATION_INDENT
        elif not first:
            line.append(separator)
            column += len(separator)
        first = False
        # A part wider than a whole continuation line is folded at the line's end.
        while column + part.cell_len > width and part.cell_len > room:
            cut = max(width - column, 1)
            piece, part = part[:cut], part[cut:]
            line.append_text(piece)
            line.append("\n" + indent)
            column = CONTINUATION_INDENT
        line.append_text(part)
        column += part.cell_len
    line.rstrip()
    return line


class LivePane(Vertical):
    """Where events come from, how containers are named, the request stream and figures."""

    DEFAULT_CSS = """
    LivePane #source, LivePane #attribution {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    LivePane #requests {
        height: 1fr;
        border: round $primary;
        border-title-align: left;
        /* Lines are laid out to the log's width (event_text), so it never
           scrolls sideways; the vertical scrollbar's room is kept from the
           start, or the lines written before it appeared would be 2 columns
           too wide, a horizontal scrollbar would take a line, and whether the
           newest line stays in view would depend on which came first. */
        scrollbar-gutter: stable;
        overflow-x: hidden;
    }
    LivePane #bottom {
        height: 1fr;
    }
    LivePane #bars {
        width: 1fr;
        border: round $primary;
    }
    LivePane #history {
        width: 1fr;
        border: round $primary;
    }
    """

    def __init__(
        self,
        *,
        tz: dt.tzinfo | None = None,
        clock: Callable[[], float] = time.time,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.tz = tz
        self.clock = clock
        self.total = 0
        self.stats = ContainerStats()
        """Per-container figures of the active attribution (since it was switched on)."""

    def compose(self) -> ComposeResult:
        yield Static("Waiting for the first request…", id="source", markup=False)
        yield Static(BY_ATTRIBUTE_TEXT, id="attribution", markup=False)
        requests = RichLog(id="requests", markup=False, highlight=False, max_lines=5000, wrap=False)
        requests.border_title = "Requests"
        yield requests
        with Horizontal(id="bottom"):
            bars = HostBars(id="bars")
            bars.border_title = "Per container: req/s, sessions"
            yield bars
            history = HostHistory(id="history")
            history.border_title = "Per session: containers"
            yield history

    def on_mount(self) -> None:
        # Rates are per second over a window: they fall while nothing happens.
        self.set_interval(1.0, self._tick)

    def on_requests_seen(self, message: RequestsSeen) -> None:
        self.add_requests(message.requests)

    @on(FeedReady)
    @on(FeedModeChanged)
    @on(FeedAdvice)
    def _feed_explained(self, message: FeedReady | FeedModeChanged | FeedAdvice) -> None:
        self.set_source(message.text)

    def on_attribution_switched(self, message: AttributionSwitched) -> None:
        self.query_one("#attribution", Static).update(message.text)
        self.stats = ContainerStats()
        self.redraw_figures()

    def set_source(self, text: str) -> None:
        """Say how events are found (notifications or polling) and why."""
        self.query_one("#source", Static).update(text)

    def add_requests(self, requests: Sequence[AttributedRequest]) -> None:
        """Append a batch of requests (one call per batch from the source, not per request)."""
        log = self.query_one("#requests", RichLog)
        # The log keeps max_lines: of a burst of 50k events only the last ones
        # would survive, so only those are formatted and written.
        shown = requests[-log.max_lines :] if log.max_lines else requests
        width = self._log_width(log)
        for request in shown:
            log.write(event_text(request, self.tz, width=width))
        for request in requests:
            self.stats.add(request)
        self.total += len(requests)
        if requests:
            self.redraw_figures()
            log.border_title = f"Requests ({self.total:,})"

    def _log_width(self, log: RichLog) -> int:
        """The width requests are laid out to: the log's, or before it has one, the screen's."""
        width = log.scrollable_content_region.width
        if width > 0:
            return width
        # A log on a tab not shown yet has no size: the Live tab's log spans the
        # screen but for its border (2) and the scrollbar's gutter (2).
        return max(self.app.size.width - 4, 1)

    def redraw_figures(self) -> None:
        """Per container and per session, from the figures as they are now."""
        summary = self.stats.summary(int(self.clock() * 1000), paths=KEEP_SESSIONS)
        self.query_one(HostBars).show(summary)
        self.query_one(HostHistory).show(summary.paths)

    def _tick(self) -> None:
        if not self.stats.requests:
            return
        try:
            bars = self.query_one(HostBars)
        except NoMatches:
            return  # the app is closing: its widgets are going
        bars.show(self.stats.summary(int(self.clock() * 1000), paths=0))
