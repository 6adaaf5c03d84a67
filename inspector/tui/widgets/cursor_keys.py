"""The cursor keys every scrolling list of the TUI answers the same way.

The session table, the key tree and the paged value table each implement
``action_cursor``/``action_page``/``action_jump`` over their own rows; the keys
that call them are one list so that the three cannot drift apart.
"""

from __future__ import annotations

from textual.binding import Binding

__all__ = ["CURSOR_BINDINGS"]

CURSOR_BINDINGS = [
    Binding("up,k", "cursor(-1)", "Up", show=False),
    Binding("down,j", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("home", "jump(0)", "First", show=False),
    Binding("end", "jump(-1)", "Last", show=False),
]
"""Up/down (and vi's k/j), a page, the first and the last row."""
