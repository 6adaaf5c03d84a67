"""Per-session container sequence, newest first: ``container-2 ← container-1 x3`` (stickiness).

A session's path is wrapped to the column's width (continuation lines start
with ``←``) and, past :data:`MAX_LINES`, ends with ``… +N`` (the N oldest
steps left out), so no container name is ever cut off at the box's edge, at
80 columns as at 200.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from inspector.core.containers import PathStep
from inspector.core.render import safe_text
from inspector.tui.widgets.host_bars import host_style

__all__ = ["KEEP_SESSIONS", "MAX_LINES", "HostHistory", "path_lines", "path_text"]

KEEP_SESSIONS = 50
"""Sessions shown (the most recently active)."""
MAX_LINES = 3
"""Lines of one session's path at most; older steps are counted, not shown."""
ARROW = " ← "
WIDE = 48
SESSION_WIDTH = 11
"""A space, the 8-character id, two spaces."""
SWITCHES_WIDTH = 10
"""From this width on, a SWITCHES column; narrower, the arrows are the count."""


def _step(step: PathStep, width: int) -> Text:
    name = safe_text(step.container)
    count = f" x{step.requests}" if step.requests > 1 else ""
    room = max(1, width - len(count))
    if len(name) > room:
        name = name[: max(0, room - 1)] + "…"
    piece = Text(name, style=host_style(step.container))
    if count:
        piece.append(count, style="dim")
    return piece


def path_text(path: tuple[PathStep, ...]) -> Text:
    """A session's containers, newest first, consecutive requests folded (``x n``), one line."""
    line = Text()
    for i, step in enumerate(reversed(path)):
        if i:
            line.append(ARROW, style="dim")
        line.append_text(_step(step, 10_000))
    return line


def path_lines(path: tuple[PathStep, ...], width: int, max_lines: int = MAX_LINES) -> Text:
    """``path`` newest first, wrapped at ``width`` cells, at most ``max_lines`` lines.

    Each continuation line starts with ``← ``; steps that do not fit in
    ``max_lines`` are summed up at the end as ``… +N`` (N steps, the oldest).
    """
    width = max(8, width)
    steps = list(reversed(path))
    lines: list[list[Text]] = []
    current: list[Text] = []
    used = 0
    for step in steps:
        lead = 0 if not lines and not current else len(ARROW) if current else 2
        piece = _step(step, width - (2 if lines or current else 0))
        if current and used + len(ARROW) + len(piece) > width:
            lines.append(current)
            current, used = [], 0
            lead = 2
        current.append(piece)
        used += lead + len(piece)
    if current:
        lines.append(current)
    left = 0
    if len(lines) > max_lines:
        left = sum(len(line) for line in lines[max_lines:])
        lines = lines[:max_lines]

        def length(line: list[Text], first: bool) -> int:
            return (0 if first else 2) + sum(map(len, line)) + len(ARROW) * (len(line) - 1)

        last = lines[-1]
        first = len(lines) == 1
        while len(last) > 1 and length(last, first) + len(f"{ARROW}… +{left + 1}") > width:
            last.pop()
            left += 1
    text = Text(no_wrap=True, overflow="ellipsis")
    for n, line in enumerate(lines):
        if n:
            text.append("\n← ", style="dim")
        for i, piece in enumerate(line):
            if i:
                text.append(ARROW, style="dim")
            text.append_text(piece)
    if left:
        text.append(f"{ARROW}… +{left}", style="dim")
    return text


class HostHistory(DataTable[Text]):
    """The most recently active sessions and the containers that served them, newest first."""

    DEFAULT_CSS = """
    HostHistory {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        # No cell padding: the gaps are in the column widths, so the containers
        # get every cell left at 80 columns.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=0)
        self.paths: tuple[tuple[str, tuple[PathStep, ...]], ...] = ()
        self._layout: tuple[bool, int] | None = None

    def _columns(self) -> tuple[bool, int]:
        """Whether a SWITCHES column fits, and the containers column's width."""
        # The vertical scrollbar's room is always left: the width must not
        # change (and every row re-wrap) when the list grows past the box.
        width = max(20, self.size.width - 2)
        wide = width >= WIDE
        fixed = SESSION_WIDTH + (SWITCHES_WIDTH if wide else 0)
        return wide, max(8, width - fixed)

    def on_resize(self, _event: events.Resize) -> None:
        self.show(self.paths)

    def show(self, paths: tuple[tuple[str, tuple[PathStep, ...]], ...]) -> None:
        """Show these (key, path) pairs, most recent first (a small table: rebuilt in full)."""
        self.paths = paths
        layout = self._columns()
        wide, width = layout
        if layout != self._layout:
            self._layout = layout
            self.clear(columns=True)
            self.add_column(Text(" SESSION"), key="session", width=SESSION_WIDTH)
            if wide:
                self.add_column(Text("SWITCHES  "), key="switches", width=SWITCHES_WIDTH)
            self.add_column(Text("NEWEST ← OLDEST"), key="hops", width=width)
        else:
            self.clear()
        for key, path in paths:
            session_id = key.rsplit(":", 1)[-1]
            hops = path_lines(path, width)
            cells = [Text(" " + safe_text(session_id[:8]))]
            if wide:
                cells.append(Text(f"{max(0, len(path) - 1):>8}  "))
            cells.append(hops)
            self.add_row(*cells, key=key, height=len(hops.plain.split("\n")))
