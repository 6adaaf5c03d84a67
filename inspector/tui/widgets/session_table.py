"""A virtual table of sessions: draws only the rows on screen, whatever the count.

Textual's ``DataTable`` keeps an object per row and measured 21 s to load 100k
rows here (perf-notes); this widget keeps nothing but a cursor and asks the
:class:`~inspector.tui.store.SessionStore` for the rows it paints (Line API), so
a million sessions page as fast as ten. When the terminal is narrow the
columns after the id scroll sideways (80 columns show id, host, last access,
state, TTL and the principal; ← → reach the rest).
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
from inspector.tui.store import Row, SessionStore, SortKey
from inspector.tui.widgets.cursor_keys import CURSOR_BINDINGS
from inspector.tui.widgets.host_bars import via_short

__all__ = ["Column", "SessionTable", "TableHeader", "layout_columns", "table_columns"]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: title, width, and the order choosing it sorts by."""

    key: str
    title: str
    width: int
    sort: SortKey
    right: bool = False


COLUMNS = (
    Column("id", "SESSION", 8, SortKey.ID),
    Column("host", "HOST", 14, SortKey.HOST),
    Column("last", "ACCESSED", 9, SortKey.LAST_ACCESS, right=True),
    Column("state", "STATE", 13, SortKey.STATE),
    Column("ttl", "TTL", 7, SortKey.TTL, right=True),
    Column("principal", "PRINCIPAL", 14, SortKey.PRINCIPAL),
    Column("attrs", "ATTRS", 6, SortKey.ATTRIBUTES, right=True),
    Column("size", "SIZE", 8, SortKey.SIZE, right=True),
    Column("created", "CREATED", 14, SortKey.CREATED),
    Column("namespace", "NAMESPACE", 22, SortKey.NAMESPACE),
)
"""In display order: what an operator needs first (id, container, accessed, state, TTL) fits
80 columns; the rest follow, reached by scrolling sideways (← →) when the terminal is narrow."""
FRAMEWORK_COLUMN = Column("framework", "FRAMEWORK", 16, SortKey.FRAMEWORK)
"""Shown (after the TTL) once the store holds another framework's sessions than Spring's."""
VIA_COLUMN = Column("via", "VIA", 5, SortKey.VIA)
"""Where the host column's name came from: shown once requests are attributed by connection."""
GAP = 2
TICK = 1.0
"""Seconds between repaints of the visible rows, so relative times and TTLs count down."""
ARROWS = {True: "▼", False: "▲"}
"""The sorted column's title ends with one: ▼ highest (newest, largest, Z) first."""


def table_columns(*, frameworks: bool = False, via: bool = False) -> list[Column]:
    """Every column of the table, in display order (the id first; it never scrolls away).

    ``frameworks``: the store holds other frameworks' sessions: a framework column
    (and no namespace column, which only Spring's sessions have). ``via``: the
    :data:`VIA_COLUMN` follows the host's.
    """
    chosen = list(COLUMNS)
    if frameworks:
        chosen = [c for c in chosen if c.key != "namespace"]
        chosen.insert([c.key for c in chosen].index("ttl") + 1, FRAMEWORK_COLUMN)
    if via:
        chosen.insert([c.key for c in chosen].index("host") + 1, VIA_COLUMN)
    return chosen


def _fits(columns: list[Column], width: int) -> bool:
    return sum(c.width for c in columns) + GAP * (len(columns) - 1) <= width


def last_first(columns: list[Column], width: int) -> int:
    """How far the table can scroll sideways: the first scrolled column once the last shows."""
    first = 0
    while first < len(columns) - 2 and not _fits([columns[0], *columns[1 + first :]], width):
        first += 1
    return first


def layout_columns(
    width: int, *, frameworks: bool = False, via: bool = False, first: int = 0
) -> list[Column]:
    """The columns shown in ``width``: the id, then those from the ``first`` scrolled one on."""
    columns = table_columns(frameworks=frameworks, via=via)
    shown = [columns[0]]
    for column in columns[1 + first :]:
        if not _fits([*shown, column], width):
            break
        shown.append(column)
    return shown


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


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    for unit in ("KiB", "MiB", "GiB"):
        size_in = size / 1024
        if size_in < 1024 or unit == "GiB":
            return f"{size_in:.1f} {unit}" if size_in < 10 else f"{size_in:.0f} {unit}"
        size = int(size_in)
    return f"{size} GiB"  # pragma: no cover - the loop returns


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
    if key == "size":
        return _size(row.size)
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
    """Column titles above the table (not scrolled with it): the sorted one has an arrow.

    ``◂`` after the id: columns scrolled away to the left; ``▸`` at the end: more to
    the right (← → scroll). A click on a title sorts by that column.
    """

    DEFAULT_CSS = """
    TableHeader {
        height: 1;
        text-style: bold;
        color: $text-muted;
        padding: 0 1;
    }
    """

    class Clicked(Message):
        """A click on a column title: sort by it."""

        def __init__(self, sort: SortKey) -> None:
            super().__init__()
            self.sort = sort

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, markup=False)
        self.spans: list[tuple[int, int, SortKey]] = []
        """Where each title is (start and end cell, the order it chooses)."""
        self.text = ""
        """What the header shows."""

    def show(
        self,
        columns: list[Column],
        *,
        sort: SortKey | None = None,
        descending: bool = False,
        left: bool = False,
        right: bool = False,
        width: int = 0,
    ) -> None:
        """Draw the titles of these columns, an arrow on ``sort``'s.

        ``left``/``right``: more columns that way (``width``: the line's, for the ``▸``).
        """
        parts = []
        self.spans = []
        at = 0
        for i, column in enumerate(columns):
            title = column.title
            if column.sort is sort:
                title = title[: column.width - 1] + ARROWS[descending]
            parts.append(_fit(title, column))
            self.spans.append((at, at + column.width, column.sort))
            at += column.width + GAP
            if i == 0 and left:
                parts.append(" ◂")
            elif i < len(columns) - 1:
                parts.append(" " * GAP)
        text = "".join(parts)
        if right:
            text = text.ljust(max(len(text) + 1, width - 1))[: max(1, width - 1)] + "▸"
        if text != self.text:
            self.text = text
            self.update(text)

    def on_click(self, event: events.Click) -> None:
        x = event.x - 1  # the padding
        for start, end, sort in self.spans:
            if start <= x < end:
                self.post_message(self.Clicked(sort))
                return


class SessionTable(ScrollView, can_focus=True):
    """Sessions from a :class:`SessionStore` view, one line each, drawn on demand.

    The cursor is on a session, not on a line: when the view is sorted again, or
    rows come and go above it, it follows its session (by key) and the
    viewport moves with it, so the row stays where the user is reading and
    Enter opens the session highlighted. With :attr:`follow_newest` (``f``) it
    stays on its line instead: on the top line, the newest session.
    """

    DEFAULT_CSS = """
    SessionTable {
        height: 1fr;
        padding: 0 1;
        scrollbar-gutter: stable;
        overflow-x: hidden;
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
        *CURSOR_BINDINGS,
        Binding("left,h", "columns(-1)", "Columns left", show=False),
        Binding("right,l", "columns(1)", "Columns right", show=False),
        Binding("enter", "open", "Open"),
        Binding("f", "follow", "Follow newest"),
    ]

    cursor = reactive(0, always_update=True)

    class Opened(Message):
        """Enter (or a double click) on a session."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class Shown(Message):
        """What the status line says of the table changed: follow mode, columns out of sight."""

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
        self.follow_newest = False
        """The cursor stays on its line (the top one: the newest) instead of on its session."""
        self.cursor_key: str | None = None
        """The session under the cursor."""
        self.first_column = 0
        """How many columns after the id are scrolled away to the left."""
        self._painted_key: str | None = None
        """The session last painted under the cursor (what the user saw there)."""
        self._frameworks = False
        self._width = 76
        self._all_columns = table_columns()
        self.columns = layout_columns(self._width)

    def on_mount(self) -> None:
        # Only this widget's own clock: data changes arrive as messages to the
        # pane, which calls sync().
        self.set_interval(TICK, self.refresh)

    # ---------------------------------------------------------------- data

    def sync(self) -> None:
        """Pick up store changes: the cursor follows its session, then redraw."""
        if self.store.frameworks_seen != self._frameworks:
            self._relayout()
        else:
            self._show_header()
        view = self.store.view
        count = len(view)
        old, top = self.cursor, self.scroll_offset.y
        index = old
        if not self.follow_newest and self.cursor_key is not None:
            found = self._find(self.cursor_key, old)
            if found is not None:
                index = found
        index = min(index, max(0, count - 1))
        self.virtual_size = Size(self.size.width, count)
        # The cursor's line stays where it was on screen: rows moving around it
        # move the viewport, not what the user is reading.
        height = max(1, self.scrollable_content_region.height)
        new_top = max(0, min(index - (old - top), count - height))
        if new_top != top:
            self.scroll_to(y=new_top, animate=False, immediate=True)
        self.cursor = index
        self.refresh()

    def _find(self, key: str, hint: int) -> int | None:
        # None: filtered out or gone: the cursor keeps its line.
        return self.store.find(key, hint)

    @property
    def selected(self) -> Row | None:
        """The row under the cursor."""
        if self.cursor_key is not None:
            row = self.store.row(self.cursor_key)
            if row is not None:
                return row
        return self.store.row_at(self.cursor)

    # ---------------------------------------------------------------- drawing

    def on_resize(self, event: events.Resize) -> None:
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
        self._width = max(20, self.scrollable_content_region.width or self._width)
        self._all_columns = table_columns(frameworks=self._frameworks, via=self.show_via)
        self.first_column = min(self.first_column, last_first(self._all_columns, self._width))
        columns = layout_columns(
            self._width, frameworks=self._frameworks, via=self.show_via, first=self.first_column
        )
        if columns != self.columns:
            self.columns = columns
            self.post_message(self.Shown())
        self._show_header()

    def _show_header(self) -> None:
        if self.header is None:
            return
        shown = 1 + self.first_column + len(self.columns) - 1
        self.header.show(
            self.columns,
            sort=self.store.sort,
            descending=self.store.sort.descending != self.store.reverse,
            left=self.first_column > 0,
            right=shown < len(self._all_columns),
            width=self.header.size.width,
        )

    @property
    def hidden_columns(self) -> list[str]:
        """Titles of the columns scrolled out of sight (either side)."""
        shown = {c.key for c in self.columns}
        return [c.title for c in self._all_columns if c.key not in shown]

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
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
            self._painted_key = row.key
        return Strip([Segment(text.ljust(width)[:width], style)], width)

    # ---------------------------------------------------------------- moving

    def watch_cursor(self, cursor: int) -> None:
        self.cursor_key = self.store.key_at(cursor)
        _, top = self.scroll_offset
        height = max(1, self.scrollable_content_region.height)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def _move(self, index: int) -> None:
        # The user moved: what was painted under the old position is not chosen.
        self._painted_key = None
        self.cursor = index

    def action_cursor(self, delta: int) -> None:
        if self.store.view:
            self._move(min(max(0, self.cursor + delta), len(self.store.view) - 1))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, where: int) -> None:
        if self.store.view:
            self._move(0 if where == 0 else len(self.store.view) - 1)

    def action_columns(self, delta: int) -> None:
        """Scroll the columns after the id sideways by one."""
        limit = last_first(self._all_columns, self._width)
        first = min(max(0, self.first_column + delta), limit)
        if first != self.first_column:
            self.first_column = first
            self._relayout()
            self.refresh()

    def action_follow(self) -> None:
        """``f``: the cursor on the newest line (and stays there), or on its session again."""
        self.follow_newest = not self.follow_newest
        if self.follow_newest:
            self._move(0)
            self.scroll_to(y=0, animate=False, immediate=True)
        self.post_message(self.Shown())

    def action_open(self) -> None:
        key = self.cursor_key
        if self.follow_newest and self._painted_key is not None:
            # Rows moved under the cursor since the last paint: open the one the
            # user saw there, not the one that took its place meanwhile.
            key = self._painted_key
        if key is not None and self.store.row(key) is not None:
            self.post_message(self.Opened(key))

    def on_click(self, event: events.Click) -> None:
        _, scroll_y = self.scroll_offset
        index = scroll_y + event.y
        if 0 <= index < len(self.store.view):
            self._move(index)
            if event.chain >= 2:
                self.action_open()
