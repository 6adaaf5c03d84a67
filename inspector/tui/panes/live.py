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
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
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

__all__ = ["BY_ATTRIBUTE_TEXT", "CONTINUATION_INDENT", "LivePane", "RequestLog", "event_text"]

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


LOG_LINES = 5000
"""Lines the request log keeps (and at most as many requests, to lay out again)."""
REFLOW_DELAY = 0.1
"""Seconds after the last resize before the log is laid out again at its new width."""
_NEWLINE = Text("\n")


class RequestLog(RichLog):
    """The request stream, each request laid out to the log's width, and again when it changes.

    A request's lines depend on the width (:func:`event_text` folds what does
    not fit onto indented lines), so the log keeps the requests it shows, not
    only their lines: when the terminal is resized it writes them again at the
    new width, instead of leaving lines cut off or folded for the old one.
    """

    def __init__(
        self,
        layout: Callable[[AttributedRequest, int], Text],
        *,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id, markup=False, highlight=False, max_lines=LOG_LINES, wrap=False)
        self._layout = layout
        self._requests: deque[AttributedRequest] = deque(maxlen=LOG_LINES)
        self._laid_width: int | None = None
        """The width the lines in the log were laid out to."""
        self._reflow_timer: Timer | None = None
        self.reflows = 0
        """Times the kept requests were laid out again (tests wait on it)."""

    def add(self, requests: Sequence[AttributedRequest]) -> None:
        """Write ``requests`` (only the last the log can keep are laid out)."""
        shown = requests[-LOG_LINES:]
        if not shown:
            return
        width = self.layout_width()
        if self._laid_width is not None and width != self._laid_width:
            self._reflow(width)
        self._laid_width = width
        self._requests.extend(shown)
        self._write(shown, width)

    def _write(self, requests: Iterable[AttributedRequest], width: int, **options: Any) -> None:
        # One write of all the lines: RichLog renders each write on its own
        # (measure, render, split, pad), so a batch written line by line costs
        # about four times as much; a burst of 5,000 requests took 1.5 s.
        self.write(_NEWLINE.join(self._layout(request, width) for request in requests), **options)

    def layout_width(self) -> int:
        """The width requests are laid out to: the log's, or before it has one, the screen's."""
        width = self.scrollable_content_region.width
        if width > 0:
            return width
        # A log on a tab not shown yet has no size: the Live tab's log spans the
        # screen but for its border (2) and the scrollbar's gutter (2).
        return max(self.app.size.width - 4, 1)

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        # Once the resizing has stopped (a terminal dragged wider sends a resize
        # per column), and after the layout, so the content region is the new one.
        if self._reflow_timer is not None:
            self._reflow_timer.stop()
        self._reflow_timer = self.set_timer(REFLOW_DELAY, self._width_changed)

    def _width_changed(self) -> None:
        self._reflow_timer = None
        width = self.scrollable_content_region.width
        if width > 0 and self._laid_width is not None and width != self._laid_width:
            self._reflow(width)

    def _reflow(self, width: int) -> None:
        at_end = self.is_vertical_scroll_end or not self.lines
        y = self.scroll_y
        self.clear()
        self._laid_width = width
        if self._requests:
            self._write(self._requests, width, scroll_end=False)
        self.reflows += 1
        if at_end:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        else:
            self.scroll_to(y=y, animate=False, immediate=False)


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
        requests = RequestLog(
            lambda request, width: event_text(request, self.tz, width=width), id="requests"
        )
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
        # The log keeps LOG_LINES: of a burst of 50k events only the last ones
        # are formatted and written.
        log = self.query_one("#requests", RequestLog)
        log.add(requests)
        for request in requests:
            self.stats.add(request)
        self.total += len(requests)
        if requests:
            self.redraw_figures()
            log.border_title = f"Requests ({self.total:,})"

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
