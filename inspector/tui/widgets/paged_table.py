"""A table of a value's elements that grows a page at a time (hash fields, list items...).

The rows are what has been read so far (HSCAN/SSCAN cursors, LRANGE/ZRANGE/
XRANGE windows); the widget paints only the lines on screen (Line API) and
asks for the next page (:class:`PagedTable.NeedMore`) when the cursor comes
within a screen of the end, so a 10M-member key is read only as far as
someone scrolls. Cells are plain text, escaped by the caller
(:func:`~inspector.core.render.safe_text`); nothing is parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from inspector.tui.widgets.cursor_keys import CURSOR_BINDINGS

__all__ = ["PagedColumn", "PagedTable"]

CELL_MAX = 300
"""Characters of a cell kept for painting (Enter shows the whole element)."""


@dataclass(frozen=True, slots=True)
class PagedColumn:
    """A column: its title and width; ``width=0`` takes what is left."""

    title: str
    width: int = 0
    right: bool = False


def _fit(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


class PagedTable(ScrollView, can_focus=True):
    """Rows of text cells, a cursor, and "load more" as the cursor nears the end."""

    DEFAULT_CSS = """
    PagedTable {
        height: 1fr;
        padding: 0 1;
        overflow-x: hidden;
    }
    PagedTable > .paged-table--header {
        text-style: bold;
        color: $text-muted;
    }
    PagedTable > .paged-table--cursor {
        background: $accent 40%;
    }
    PagedTable:focus > .paged-table--cursor {
        background: $accent;
        color: $text;
    }
    PagedTable > .paged-table--dim {
        color: $text-muted;
        text-style: italic;
    }
    """
    COMPONENT_CLASSES = {"paged-table--header", "paged-table--cursor", "paged-table--dim"}
    BINDINGS = [
        *CURSOR_BINDINGS,
        Binding("enter", "choose", "Decode"),
    ]

    cursor = reactive(0, always_update=True)

    class NeedMore(Message):
        """The cursor is near the last row read and the value has more."""

    class Chosen(Message):
        """Enter on a row."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self, columns: Sequence[PagedColumn], *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.columns = list(columns)
        self.rows: list[tuple[str, ...]] = []
        self.more = False
        """Whether the value has rows not read yet."""
        self.loading = False

    def add_rows(self, rows: Sequence[tuple[str, ...]], *, more: bool) -> None:
        """Append a page of rows; ``more``: the value goes on."""
        self.rows.extend(tuple(cell[:CELL_MAX] for cell in row) for row in rows)
        self.more = more
        self.loading = False
        self.virtual_size = Size(self.size.width, len(self.rows) + 2)
        self.refresh()
        self._maybe_more()

    # ---------------------------------------------------------------- drawing

    def _widths(self, width: int) -> list[int]:
        fixed = sum(c.width for c in self.columns) + 2 * (len(self.columns) - 1)
        flex = [c for c in self.columns if not c.width]
        rest = max(8, (width - fixed) // max(1, len(flex)))
        return [c.width or rest for c in self.columns]

    def _text(self, cells: Sequence[str], widths: list[int]) -> str:
        return "  ".join(
            _fit(cell, width, column.right)
            for cell, width, column in zip(cells, widths, self.columns, strict=False)
        )

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        widths = self._widths(width)
        if y == 0:
            text = self._text([c.title for c in self.columns], widths)
            style = base + self.get_component_rich_style("paged-table--header")
            return Strip([Segment(_fit(text, width, False), style)], width)
        index = self.scroll_offset.y + y - 1
        if index < len(self.rows):
            style = base
            if index == self.cursor:
                style += self.get_component_rich_style("paged-table--cursor")
            text = self._text(self.rows[index], widths)
            return Strip([Segment(_fit(text, width, False), style)], width)
        if index == len(self.rows):
            if self.loading:
                note = "  … reading"
            elif self.more:
                note = "  … more (scroll down)"
            else:
                note = "  (end)" if self.rows else "  (empty)"
            style = base + self.get_component_rich_style("paged-table--dim")
            return Strip([Segment(_fit(note, width, False), style)], width)
        return Strip.blank(width, base)

    # ---------------------------------------------------------------- moving

    def _page_height(self) -> int:
        return max(1, self.size.height - 1)

    def watch_cursor(self, cursor: int) -> None:
        top = self.scroll_offset.y
        height = self._page_height()
        if cursor < top:
            self.scroll_to(y=cursor, animate=False)
        elif cursor >= top + height - 1:
            self.scroll_to(y=cursor - height + 2, animate=False)
        self.refresh()
        self._maybe_more()

    def _maybe_more(self) -> None:
        if self.more and not self.loading and self.cursor >= len(self.rows) - self._page_height():
            self.loading = True
            self.post_message(self.NeedMore())

    def action_cursor(self, delta: int) -> None:
        if self.rows:
            self.cursor = min(max(0, self.cursor + delta), len(self.rows) - 1)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self._page_height() - 1))

    def action_jump(self, where: int) -> None:
        if self.rows:
            self.cursor = 0 if where == 0 else len(self.rows) - 1

    def action_choose(self) -> None:
        if 0 <= self.cursor < len(self.rows):
            self.post_message(self.Chosen(self.cursor))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self.rows):
            self.cursor = index
            if event.chain >= 2:
                self.action_choose()
