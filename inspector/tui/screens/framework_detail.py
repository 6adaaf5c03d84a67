"""Enter on another framework's session (express, PHP, Rails...): what ``show`` prints.

The text is the session as last read by the feed (it is re-read on every
notification or changed poll), rendered by :func:`~inspector.core.render.render_framework_session`:
times, TTL and the framework's TTL rule, host, principal, every attribute decoded,
the framework's own entries apart. Shown as plain text (never markup).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from inspector.core.frameworks import FrameworkSession
from inspector.core.render import render_framework_session

__all__ = ["FrameworkDetailScreen"]


class FrameworkDetailScreen(ModalScreen[None]):
    """One session of another framework than Spring, decoded."""

    DEFAULT_CSS = """
    FrameworkDetailScreen {
        align: center middle;
    }
    FrameworkDetailScreen > VerticalScroll {
        width: 100%;
        height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Back")]

    def __init__(self, session: FrameworkSession, *, now_ms: int | None = None) -> None:
        super().__init__()
        self.session = session
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms

    def compose(self) -> ComposeResult:
        lines = render_framework_session(self.session, now_ms=self.now_ms)
        with VerticalScroll():
            yield Static(Text("\n".join(lines)), id="framework-session")
