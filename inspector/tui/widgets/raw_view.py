r"""The raw bytes of a value: redis-cli's escaped form and an ``xxd``-style hex dump.

Megabyte values are the point of this widget, so it paints with the Line API
(:meth:`RawView.render_line`): only the rows on screen are turned into text. A
hex row is computed from its offset alone; the escaped form is escaped once
(in 64 KiB steps that yield to the event loop, for large values) and wrapped by
recording where each row starts, never splitting a ``\xNN`` escape. Nothing is
ever parsed as markup, and every character painted is printable ASCII:
redis-cli's escaping leaves nothing else, and the hex dump's text column shows
``.`` for anything outside ``0x20``-``0x7e``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from inspector.redis_io.redis_cli import quote

__all__ = ["RawView", "hex_dump", "hex_dump_line", "hex_row_width", "wrap_escaped"]

BYTES_PER_ROW = 16
HEX_WIDTH = 39  # 8 groups of 2 bytes ("4865") and the 7 spaces between them
ROW_WIDTH = 8 + 2 + HEX_WIDTH + 2 + BYTES_PER_ROW  # what xxd prints for an 8-digit offset
NARROW_BYTES_PER_ROW = 8
"""Bytes per hex row where 16 do not fit (``xxd -c 8``): 39 columns, so the dump fits the
detail screen's value pane at 80 columns instead of scrolling sideways."""


def hex_row_width(per_row: int) -> int:
    """Columns of a hex-dump row of ``per_row`` bytes (offset, pairs, text column)."""
    return 8 + 2 + per_row * 2 + (per_row // 2 - 1) + 2 + per_row


# Escaping 64 KiB takes about 12 ms in the worst case (every byte -> "\xNN");
# values up to that size are escaped at once, larger ones step by step.
ESCAPE_STEP = 64 * 1024
# Narrower rows would multiply the rows (and the wrapping time) of a large
# value for little gain: below this the view scrolls sideways instead.
MIN_WRAP = 32

_TEXT_COLUMN = bytes(b if 0x20 <= b <= 0x7E else 0x2E for b in range(256))


def hex_dump_line(data: bytes, offset: int, per_row: int = BYTES_PER_ROW) -> str:
    r"""The hex-dump row of ``data`` starting at ``offset``, laid out as ``xxd`` does.

    ``per_row``: bytes per row (``xxd -c``; even).

    >>> hex_dump_line(b"Hello, world!\n", 0)
    '00000000: 4865 6c6c 6f2c 2077 6f72 6c64 210a       Hello, world!.'
    >>> hex_dump_line(b"Hello, world!\n", 8, per_row=8)
    '00000008: 6f72 6c64 210a       orld!.'
    """
    chunk = data[offset : offset + per_row]
    text = chunk.translate(_TEXT_COLUMN).decode("ascii")
    hex_width = per_row * 2 + per_row // 2 - 1
    return f"{offset:08x}: {chunk.hex(' ', -2):<{hex_width}}  {text}"


def hex_dump(data: bytes) -> Iterator[str]:
    """Every hex-dump row of ``data`` (``xxd``'s default layout)."""
    for offset in range(0, len(data), BYTES_PER_ROW):
        yield hex_dump_line(data, offset)


def wrap_escaped(text: str, width: int) -> list[int]:
    r"""Where each row starts when redis-cli-escaped ``text`` is cut into ``width`` columns.

    Rows are cut at ``width`` characters, except that an escape (``\n``,
    ``\\``, ``\x00``) is never split: the row then ends before it.

    Args:
        text: Output of :func:`~inspector.redis_io.redis_cli.quote`, as text.
        width: Columns per row (at least 4, the longest escape).

    Returns:
        The start offset of each row (``[0]`` for empty text).
    """
    width = max(width, 4)
    starts = [0]
    pos, size = 0, len(text)
    while pos + width < size:
        end = pos + width
        # An escape is 2 or 4 characters, so one crossing `end` begins with a
        # backslash among the row's last three characters, and only the last
        # backslash there can begin it (an earlier escape ends before a later
        # backslash). Whether it begins an escape or is the second half of "\\"
        # depends on the run of backslashes up to it: rows start on escape
        # boundaries, so counting from `pos` is enough.
        tail = text.rfind("\\", max(pos, end - 3), end)
        if tail >= 0:
            run = text[pos : tail + 1]
            begins_escape = (len(run) - len(run.rstrip("\\"))) % 2 == 1
            length = 4 if text[tail + 1 : tail + 2] == "x" else 2
            if begins_escape and tail + length > end:
                end = tail
        pos = end
        starts.append(pos)
    return starts


class RawView(ScrollView, can_focus=True):
    """A value's bytes as redis-cli prints them, then as a hex dump.

    The escaped form wraps to the widget's width; the hex dump is 67 columns
    (offset, 16 bytes in pairs, text column), 8 bytes a row (39 columns) when
    the widget is narrower, and scrolls sideways only below that.

    Args:
        data: The raw bytes.
        name: The DOM name of the widget.
        id: The DOM id of the widget.
        classes: The CSS classes of the widget.
        disabled: Whether the widget is disabled.
    """

    COMPONENT_CLASSES = {
        "raw-view--title",
        "raw-view--offset",
        "raw-view--text",
        "raw-view--pending",
    }

    # Theme variables only (they degrade to 16 colours and disappear under
    # NO_COLOR). The gutter keeps the wrap width from changing when the
    # vertical scrollbar appears.
    DEFAULT_CSS = """
    RawView {
        height: 1fr;
        background: $surface;
        color: $foreground;
        scrollbar-gutter: stable;
        & > .raw-view--title { color: $text-primary; text-style: bold; }
        & > .raw-view--offset { text-style: dim; }
        & > .raw-view--text { color: $text-secondary; }
        & > .raw-view--pending { text-style: dim italic; }
        &:ansi { color: ansi_default; }
    }
    """

    def __init__(
        self,
        data: bytes = b"",
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's name for it
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._data = b""
        self._escaped: str | None = None
        self._starts: list[int] = [0]
        self._wrap_width = 0
        self._generation = 0
        self.per_row = BYTES_PER_ROW
        """Bytes per hex-dump row: 16, or 8 when the widget is narrower than 16 need."""
        self._prepare(data)

    @property
    def data(self) -> bytes:
        """The bytes shown."""
        return self._data

    @property
    def escaped(self) -> str | None:
        """redis-cli's form of the bytes (quotes included), or ``None`` while it is made."""
        return self._escaped

    def set_data(self, data: bytes) -> None:
        """Show other bytes (scrolls back to the top)."""
        self._prepare(data)
        if self.is_mounted:
            self.scroll_to(0, 0, animate=False)
            if self._escaped is None:
                self._start_escaping()
            self._layout()

    def _prepare(self, data: bytes) -> None:
        self._data = bytes(data)
        self._generation += 1
        self._starts = [0]
        self._wrap_width = 0
        if len(self._data) <= ESCAPE_STEP:
            self._escaped = quote(self._data).decode("ascii")
        else:
            self._escaped = None

    def on_mount(self) -> None:
        if self._escaped is None:
            self._start_escaping()
        self._layout()

    def _start_escaping(self) -> None:
        self._escape(self._data, self._generation)

    # Not exclusive: `workers.wait_for_complete()` raises for cancelled
    # workers, so a superseded worker stops at its next step instead.
    @work(name="escape raw bytes", group="raw-view")
    async def _escape(self, data: bytes, generation: int) -> None:
        # quote() escapes byte by byte, so the escapes of consecutive slices
        # concatenate to the escape of the whole; yielding between slices keeps
        # keys and repaints flowing while a megabyte is escaped.
        parts: list[bytes] = []
        for start in range(0, len(data), ESCAPE_STEP):
            parts.append(quote(data[start : start + ESCAPE_STEP])[1:-1])
            await asyncio.sleep(0)
            if generation != self._generation:
                return  # set_data was called again
        self._escaped = '"' + b"".join(parts).decode("ascii") + '"'
        self._wrap_width = 0
        self._layout()

    def text_for_copy(self) -> str:
        """redis-cli's escaped form of the whole value, quotes included (for the clipboard)."""
        if self._escaped is None:
            # Still being escaped in steps: the clipboard wants it now.
            return quote(self._data).decode("ascii")
        return self._escaped

    def on_resize(self, event: events.Resize) -> None:
        self._layout()

    def _layout(self) -> None:
        """Re-wrap the escaped form for the current width and size the scroll area."""
        if not self.size.width:
            return  # not laid out yet: on_resize comes next, wrapping once at the real width
        width = max(self.scrollable_content_region.width, MIN_WRAP)
        if self._escaped is not None and width != self._wrap_width:
            self._starts = wrap_escaped(self._escaped, width)
            self._wrap_width = width
        fits = self.scrollable_content_region.width >= ROW_WIDTH
        self.per_row = BYTES_PER_ROW if fits else NARROW_BYTES_PER_ROW
        self.virtual_size = Size(max(width, hex_row_width(self.per_row)), self._line_count())
        self.refresh()

    def _escaped_rows(self) -> int:
        return len(self._starts) if self._escaped is not None else 1

    def _hex_rows(self) -> int:
        return max(1, -(-len(self._data) // self.per_row))

    def _line_count(self) -> int:
        # title, escaped rows, blank, title, hex rows
        return 1 + self._escaped_rows() + 2 + self._hex_rows()

    def _segments(self, index: int) -> list[Segment]:
        """Row ``index`` of the whole view, as styled segments."""
        base = self.rich_style
        escaped_rows = self._escaped_rows()
        if index == 0:
            return [Segment(f"redis-cli · {len(self._data)} B", self._style("title", base))]
        index -= 1
        if index < escaped_rows:
            if self._escaped is None:
                note = f"(escaping {len(self._data):,} bytes…)"
                return [Segment(note, self._style("pending", base))]
            end = self._starts[index + 1] if index + 1 < escaped_rows else len(self._escaped)
            return [Segment(self._escaped[self._starts[index] : end], base)]
        index -= escaped_rows
        if index == 0:
            return []
        if index == 1:
            return [Segment("hex", self._style("title", base))]
        index -= 2
        if not self._data:
            return [Segment("(no bytes)", self._style("pending", base))]
        if index >= self._hex_rows():
            return []
        per_row = self.per_row
        row = hex_dump_line(self._data, index * per_row, per_row)
        split = len(row) - min(per_row, len(self._data) - index * per_row)
        offset_end = row.index(":")
        return [
            Segment(row[:offset_end], self._style("offset", base)),
            Segment(row[offset_end:split], base),
            Segment(row[split:], self._style("text", base)),
        ]

    def _style(self, part: str, base: Style) -> Style:
        return base + self.get_component_rich_style(f"raw-view--{part}", partial=True)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        strip = Strip(self._segments(scroll_y + y))
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)
