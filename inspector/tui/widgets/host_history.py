"""Per-session container history: ``container-1 → container-2 → container-1``."""

from __future__ import annotations

from collections import OrderedDict

from rich.text import Text
from textual.widgets import DataTable

from inspector.core.render import safe_text
from inspector.tui.widgets.host_bars import host_style

__all__ = ["HostHistory"]

KEEP_SESSIONS = 50
KEEP_HOPS = 8


class HostHistory(DataTable[Text]):
    """The most recently active sessions and the containers that served them, in order."""

    DEFAULT_CSS = """
    HostHistory {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.hops: OrderedDict[str, list[str]] = OrderedDict()
        self.switches: dict[str, int] = {}

    def on_mount(self) -> None:
        self.add_column(Text("SESSION"), key="session", width=8)
        self.add_column(Text("SWITCHES"), key="switches", width=8)
        self.add_column(Text("CONTAINERS (oldest → newest)"), key="hops")

    def record(self, session_id: str, host: str | None) -> None:
        """Add the host of one request; keeps the last sessions and hops only."""
        name = host or "?"
        hops = self.hops.pop(session_id, [])
        if hops and hops[-1] != name:
            self.switches[session_id] = self.switches.get(session_id, 0) + 1
        hops.append(name)
        self.hops[session_id] = hops[-KEEP_HOPS:]
        while len(self.hops) > KEEP_SESSIONS:
            gone, _ = self.hops.popitem(last=False)
            self.switches.pop(gone, None)

    def redraw(self) -> None:
        """Show the history, most recent session first (a small table: rebuilt in full)."""
        self.clear()
        for session_id, hops in reversed(self.hops.items()):
            line = Text()
            for i, hop in enumerate(hops):
                if i:
                    line.append(" → ", style="dim")
                line.append(safe_text(hop), style=host_style(hop))
            self.add_row(
                Text(safe_text(session_id[:8])),
                Text(str(self.switches.get(session_id, 0)), justify="right"),
                line,
                key=session_id,
            )
