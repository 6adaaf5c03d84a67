"""A virtual table of sessions: draws only the rows on screen, whatever the count.

Textual's ``DataTable`` keeps an object per row and measured 21 s to load 100k
rows here (perf-notes); this widget keeps nothing but a cursor and asks the
:class:`~inspector.tui.store.SessionStore` for the rows it paints (Line API), so
a million sessions page as fast as ten. Columns drop by priority when the
terminal is narrow (80 columns keeps id, host, state, last access, TTL,
principal).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from inspector.core.attribution import NameSource
from inspector.core.render import format_time, safe_text
from inspector.tui.store import Row, SessionStore
from inspector.tui.widgets.host_bars import via_short

__all__ = ["Column", "SessionTable", "TableHeader", "layout_columns"]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: title, width, and how readily it is dropped (lower goes first)."""

    key: str
    title: str
    width: int
    priority: int
    right: bool = False


COLUMNS = (
    Column("id", "SESSION", 8, 100),
    Column("host", "HOST", 16, 95),
    Column("last", "ACCESSED", 8, 90, right=True),
    Column("state", "STATE", 13, 85),
    Column("ttl", "TTL", 7, 80, right=True),
    Column("principal", "PRINCIPAL", 14, 60),
    Column("attrs", "ATTRS", 5, 50, right=True),
    Column("created", "CREATED", 14, 40),
    Column("namespace", "NAMESPACE", 22, 30),
)
FRAMEWORK_COLUMN = Column("framework", "FRAMEWORK", 16, 70)
"""Shown (after the id) once the store holds another framework's sessions than Spring's."""
VIA_COLUMN = Column("via", "VIA", 5, 92)
"""Where the host column's name came from: shown once requests are attributed by connection."""
GAP = 2
TICK = 1.0
"""Seconds between repaints of the visible rows, so relative times and TTLs count down."""


def layout_columns(width: int, *, frameworks: bool = False, via: bool = False) -> list[Column]:
    """The columns that fit ``width``, dropping the least important first, in display order.

    ``frameworks``: the store holds other frameworks' sessions: a framework column
    (and no namespace column, which only Spring's sessions have). ``via``: the
    :data:`VIA_COLUMN` follows the host's.
    """
    chosen = list(COLUMNS)
    if frameworks:
        chosen = [c for c in chosen if c.key != "namespace"]
        chosen.insert(1, FRAMEWORK_COLUMN)
    if via:
        chosen.insert([c.key for c in chosen].index("host") + 1, VIA_COLUMN)
    while chosen and sum(c.width for c in chosen) + GAP * (len(chosen) - 1) > width:
        chosen.remove(min(chosen, key=lambda c: c.priority))
    return chosen


def _ago(epoch_ms: int | None, now_ms: int) -> str:
    if epoch_ms is None:
        return "-"
    seconds = (now_ms - epoch_ms) // 1000
    if seconds < -60:
        return "future"  # not "0s ago": a time ahead of this clock is not a fresh access
    seconds = max(0, seconds)
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h ago"
    return f"{seconds // 86400}d ago"


def _countdown(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms <= 0:
        return "0:00"
    seconds = ms // 1000
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def cell_text(row: Row, key: str, now_ms: int, tz: dt.tzinfo | None = None) -> str:
    """What one cell shows (already escaped for the terminal); times in ``tz`` (default local)."""
    if key == "id":
        return safe_text(row.id[:8])
    if key == "host":
        return safe_text(row.container or "-")
    if key == "via":
        if row.via is None:
            return "attr" if row.host else "-"
        # `!`: the session's host attribute names another container.
        return via_short(NameSource(row.via)) + ("!" if row.disagrees else "")
    if key == "last":
        return _ago(row.last_access, now_ms)
    if key == "state":
        return row.state
    if key == "ttl":
        return _countdown(row.ttl_left_ms(now_ms)) if row.state != "never-expires" else "∞"
    if key == "principal":
        return safe_text(row.principal or "-")
    if key == "attrs":
        return str(row.attributes)
    if key == "created":
        return format_time(row.created, tz)[5:16] if row.created else "-"
    if key == "namespace":
        return safe_text(row.namespace)
    if key == "framework":
        return safe_text(row.framework)
    return ""


def _fit(text: str, column: Column) -> str:
    if len(text) > column.width:
        text = text[: column.width - 1] + "…"
    return text.rjust(column.width) if column.right else text.ljust(column.width)


class TableHeader(Static):
    """Column titles above the table (not scrolled with it)."""

    DEFAULT_CSS = """
    TableHeader {
        height: 1;
        text-style: bold;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def show(self, columns: list[Column]) -> None:
        """Draw the titles of these columns."""
        self.update((" " * GAP).join(_fit(c.title, c) for c in columns))


class SessionTable(ScrollView, can_focus=True):
    """Sessions from a :class:`SessionStore` view, one line each, drawn on demand."""

    DEFAULT_CSS = """
    SessionTable {
        height: 1fr;
        padding: 0 1;
    }
    SessionTable > .session-table--cursor {
        background: $accent 40%;
        text-style: bold;
    }
    SessionTable:focus > .session-table--cursor {
        background: $accent;
        color: $text;
    }
    SessionTable > .session-table--flash {
        background: $warning 40%;
        text-style: bold;
    }
    SessionTable > .session-table--dim {
        color: $text-muted;
    }
    SessionTable > .session-table--bad {
        color: $error;
    }
    """
    COMPONENT_CLASSES = {
        "session-table--cursor",
        "session-table--flash",
        "session-table--dim",
        "session-table--bad",
    }
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Open"),
    ]

    cursor = reactive(0, always_update=True)

    class Opened(Message):
        """Enter (or a double click) on a session."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        store: SessionStore,
        *,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo | None = None,
        header: TableHeader | None = None,
        id: str | None = None,  # noqa: A002 - Textual's parameter name
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.clock = clock
        self.tz = tz
        self.header = header
        self.show_via = False
        """Show the VIA column (requests are, or were, attributed by connection)."""
        self._frameworks = False
        self._width = 80
        self.columns = layout_columns(self._width)

    def on_mount(self) -> None:
        # Only this widget's own clock: data changes arrive as messages to the
        # pane, which calls sync().
        self.set_interval(TICK, self.refresh)

    # ---------------------------------------------------------------- data

    def sync(self) -> None:
        """Pick up store changes: new row count, redraw the visible rows."""
        if self.store.frameworks_seen != self._frameworks:
            self._relayout()
        self.virtual_size = Size(self.size.width, len(self.store.view))
        if self.cursor >= len(self.store.view):
            self.cursor = max(0, len(self.store.view) - 1)
        self.refresh()

    @property
    def selected(self) -> Row | None:
        """The row under the cursor."""
        return self.store.row_at(self.cursor)

    # ---------------------------------------------------------------- drawing

    def on_resize(self, event: events.Resize) -> None:
        self._width = max(20, event.size.width)
        self._relayout()
        self.sync()

    def set_show_via(self, show: bool) -> None:
        """Show or hide the VIA column (requests are attributed by connection)."""
        if show != self.show_via:
            self.show_via = show
            self._relayout()
            self.sync()

    def _relayout(self) -> None:
        self._frameworks = self.store.frameworks_seen
        self.columns = layout_columns(self._width, frameworks=self._frameworks, via=self.show_via)
        if self.header is not None:
            self.header.show(self.columns)

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        row = self.store.row_at(index)
        base = self.rich_style
        if row is None:
            return Strip.blank(width, base)
        now_ms = int(self.clock() * 1000)
        text = (" " * GAP).join(
            _fit(cell_text(row, c.key, now_ms, self.tz), c) for c in self.columns
        )
        style = base
        if row.flash_until > now_ms:
            style += self.get_component_rich_style("session-table--flash")
        elif row.state in ("expired",):
            style += self.get_component_rich_style("session-table--bad")
        elif row.state in ("invalidated",):
            style += self.get_component_rich_style("session-table--dim")
        if index == self.cursor:
            style += self.get_component_rich_style("session-table--cursor")
        return Strip([Segment(text.ljust(width)[:width], style)], width)

    # ---------------------------------------------------------------- moving

    def watch_cursor(self, cursor: int) -> None:
        _, top = self.scroll_offset
        height = max(1, self.size.height)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self.store.view:
            self.cursor = min(max(0, self.cursor + delta), len(self.store.view) - 1)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        if self.store.view:
            self.cursor = 0 if where == 0 else len(self.store.view) - 1

    def action_open(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.Opened(row.key))

    def on_click(self, event: events.Click) -> None:
        _, scroll_y = self.scroll_offset
        index = scroll_y + event.y
        if 0 <= index < len(self.store.view):
            self.cursor = index
            if event.chain >= 2:
                self.action_open()
