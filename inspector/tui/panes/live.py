"""The live tab: requests as they happen, per-container totals, per-session history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import RichLog, Static

from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.render import safe_text
from inspector.tui.messages import FeedAdvice, FeedModeChanged, FeedReady, RequestsSeen
from inspector.tui.widgets.host_bars import HostBars, host_style
from inspector.tui.widgets.host_history import HostHistory

__all__ = ["LivePane", "event_text"]

_KIND_MARK = {
    EventKind.CREATED: "new",
    EventKind.DESTROYED: "gone",
    EventKind.INVALIDATED: "invalidated",
}


def event_text(event: RequestEvent, tz: dt.tzinfo | None = None) -> Text:
    """One request as a line: time, session, container ← previous, attributes."""
    moment = dt.datetime.fromtimestamp(event.time_ms / 1000, tz=dt.UTC).astimezone(tz)
    line = Text()
    line.append(moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}  ", style="dim")
    line.append(safe_text(event.session_id[:8]) + "  ")
    line.append(f"{safe_text(event.host or '-'):<16}", style=host_style(event.host))
    if event.kind in _KIND_MARK:
        line.append(f"  ({_KIND_MARK[event.kind]})", style="italic")
    elif event.previous_host is not None:
        line.append("  ← ", style="dim")
        line.append(safe_text(event.previous_host), style=host_style(event.previous_host))
    if event.changed:
        line.append("  [" + ", ".join(safe_text(c) for c in event.changed) + "]", style="dim")
    if event.source is EventSource.POLL:
        line.append("  (poll)", style="dim")
    return line


class LivePane(Vertical):
    """Where events come from, the request stream, totals and history."""

    DEFAULT_CSS = """
    LivePane #source {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    LivePane #requests {
        height: 1fr;
        border: round $primary;
        border-title-align: left;
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

    def __init__(self, *, tz: dt.tzinfo | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.tz = tz
        self.total = 0

    def compose(self) -> ComposeResult:
        yield Static("Waiting for the first request…", id="source", markup=False)
        requests = RichLog(id="requests", markup=False, highlight=False, max_lines=5000, wrap=False)
        requests.border_title = "Requests"
        yield requests
        with Horizontal(id="bottom"):
            bars = HostBars(id="bars")
            bars.border_title = "Per container"
            yield bars
            history = HostHistory(id="history")
            history.border_title = "Per session"
            yield history

    def on_requests_seen(self, message: RequestsSeen) -> None:
        self.add_events(message.events)

    @on(FeedReady)
    @on(FeedModeChanged)
    @on(FeedAdvice)
    def _feed_explained(self, message: FeedReady | FeedModeChanged | FeedAdvice) -> None:
        self.set_source(message.text)

    def set_source(self, text: str) -> None:
        """Say how events are found (notifications or polling) and why."""
        self.query_one("#source", Static).update(text)

    def add_events(self, events: Sequence[RequestEvent]) -> None:
        """Append a batch of events (one call per batch from the source, not per event)."""
        log = self.query_one("#requests", RichLog)
        bars = self.query_one(HostBars)
        history = self.query_one(HostHistory)
        # The log keeps max_lines: of a burst of 50k events only the last ones
        # would survive, so only those are formatted and written.
        shown = events[-log.max_lines :] if log.max_lines else events
        for event in shown:
            log.write(event_text(event, self.tz))
        for event in events:
            if event.kind is not EventKind.DESTROYED:
                bars.add(event.host)
                history.record(event.session_id, event.host)
        self.total += len(events)
        if events:
            bars.refresh_bars()
            history.redraw()
            log.border_title = f"Requests ({self.total:,})"
