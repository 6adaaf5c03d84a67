"""Per-session container sequence: ``container-1 x3 → container-2 x1`` (stickiness)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from inspector.core.containers import PathStep
from inspector.core.render import safe_text
from inspector.tui.widgets.host_bars import host_style

__all__ = ["KEEP_SESSIONS", "HostHistory", "path_text"]

KEEP_SESSIONS = 50
"""Sessions shown (the most recently active)."""


def path_text(path: tuple[PathStep, ...]) -> Text:
    """A session's containers in order, consecutive requests folded (``x n``)."""
    line = Text()
    for i, step in enumerate(path):
        if i:
            line.append(" → ", style="dim")
        line.append(safe_text(step.container), style=host_style(step.container))
        if step.requests > 1:
            line.append(f" x{step.requests}", style="dim")
    return line


class HostHistory(DataTable[Text]):
    """The most recently active sessions and the containers that served them, in order."""

    DEFAULT_CSS = """
    HostHistory {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.paths: tuple[tuple[str, tuple[PathStep, ...]], ...] = ()

    def on_mount(self) -> None:
        self.add_column(Text("SESSION"), key="session", width=8)
        self.add_column(Text("SWITCHES"), key="switches", width=8)
        self.add_column(Text("CONTAINERS (oldest → newest)"), key="hops")

    def show(self, paths: tuple[tuple[str, tuple[PathStep, ...]], ...]) -> None:
        """Show these (key, path) pairs, most recent first (a small table: rebuilt in full)."""
        self.paths = paths
        self.clear()
        for key, path in paths:
            session_id = key.rsplit(":", 1)[-1]
            self.add_row(
                Text(safe_text(session_id[:8])),
                Text(str(max(0, len(path) - 1)), justify="right"),
                path_text(path),
                key=key,
            )
