"""Below the smallest usable terminal: one clear notice instead of a garbled layout."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import Static

__all__ = ["MIN_HEIGHT", "MIN_WIDTH", "TooSmallScreen", "too_small", "too_small_text"]

MIN_WIDTH = 60
MIN_HEIGHT = 15
TIMES = "\u00d7"


def too_small(size: Size) -> bool:
    """Whether ``size`` is under :data:`MIN_WIDTH` columns or :data:`MIN_HEIGHT` lines."""
    return size.width < MIN_WIDTH or size.height < MIN_HEIGHT


def too_small_text(size: Size) -> str:
    """``terminal too small (50x12, needs 60x15)``, with a multiplication sign."""
    w, h = f"{size.width}{TIMES}{size.height}", f"{MIN_WIDTH}{TIMES}{MIN_HEIGHT}"
    return f"terminal too small ({w}, needs {h})"


class TooSmallScreen(Screen[None]):
    """Covers everything while the terminal is too small; gone once it is large enough.

    The app pushes it on a resize below the minimum and pops it on one above;
    if another screen was opened over it meanwhile (``?``), it leaves when it
    is uncovered and the terminal has grown.
    """

    DEFAULT_CSS = """
    TooSmallScreen {
        align: center middle;
    }
    TooSmallScreen > Static {
        width: 100%;
        text-align: center;
        text-style: bold;
        color: $warning;
    }
    """

    def __init__(self, size: Size) -> None:
        super().__init__()
        self._size = size

    @property
    def text(self) -> str:
        """What the notice says."""
        return too_small_text(self._size) + "\nenlarge it, or q to quit"

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="too-small", markup=False)

    def show(self, size: Size) -> None:
        """The terminal is still too small, now ``size``."""
        self._size = size
        if self.is_mounted:
            self.query_one("#too-small", Static).update(self.text)

    def on_screen_resume(self) -> None:
        if not too_small(self.app.size):
            self.dismiss()
