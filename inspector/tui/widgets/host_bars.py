"""Requests per container: share, requests per second, sessions served, and how it is named."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.core.attribution import NameSource
from inspector.core.containers import StatsSummary
from inspector.core.render import safe_text

__all__ = ["VIA_SHORT", "HostBars", "host_style", "via_short"]

# Named ANSI colours: they exist in 16-colour terminals and follow the theme.
_PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")

VIA_SHORT = {
    NameSource.ATTRIBUTE: "attr",
    NameSource.CLIENT_NAME: "name",
    NameSource.MAP: "map",
    NameSource.DNS: "dns",
    NameSource.ADDRESS: "addr",
}
"""Where a container's name came from, in four letters (the table's VIA column, the bars)."""


def via_short(source: NameSource | None) -> str:
    """``attr``, ``name`` (client name), ``map``, ``dns``, ``addr``; ``-`` when nothing names it."""
    return VIA_SHORT[source] if source is not None else "-"


def host_style(host: str | None) -> str:
    """A stable colour per container name, so the same host reads the same everywhere."""
    if not host:
        return "dim"
    return _PALETTE[sum(host.encode()) % len(_PALETTE)]


class HostBars(Static):
    """One line per container, busiest first: share of requests, rate, sessions served."""

    DEFAULT_CSS = """
    HostBars {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.summary: StatsSummary | None = None

    def show(self, summary: StatsSummary) -> None:
        """Draw these figures."""
        self.summary = summary
        self.update(self.render_bars(self.size.width or 36))

    def on_resize(self) -> None:
        if self.summary is not None:
            self.update(self.render_bars(self.size.width))

    def render_bars(self, width: int) -> Text:
        """The figures as text, lines of at most ``width`` cells (also what snapshots see).

        ``name via [bar] share req/s sessions``; the bar takes what is left.
        """
        summary = self.summary
        if summary is None or not summary.requests:
            return Text("No requests seen yet.", style="dim")
        total = summary.requests
        rows: list[tuple[str, NameSource | None, int, float, int]] = [
            (f.name, f.source, f.requests, f.per_second, f.sessions) for f in summary.containers
        ]
        if summary.unattributed:
            rows.append(("(unknown)", None, summary.unattributed, 0.0, 0))
        tail = 4 + 1 + 7 + 1 + 4  # " 50%   1.2/s    3"
        label_width = max(4, min(24, max(len(safe_text(r[0])) for r in rows), width - tail - 6))
        bar_width = width - label_width - 6 - tail - 1
        text = Text(no_wrap=True, overflow="ellipsis")
        for name, source, requests, rate, sessions in rows:
            share = requests / total
            shown = safe_text(name)
            shown = shown if len(shown) <= label_width else shown[: label_width - 1] + "…"
            style = host_style(name if source is not None else None)
            text.append(f"{shown:<{label_width}} ", style=style)
            text.append(f"{via_short(source):<5}", style="dim")
            if bar_width >= 4:
                filled = round(share * bar_width)
                text.append("█" * filled, style=style)
                text.append("░" * (bar_width - filled) + " ", style="dim")
            text.append(f"{share:4.0%} {rate:5.1f}/s {sessions:>4}\n")
        text.append(
            f"{summary.requests:,} requests · {summary.sessions:,} sessions · "
            f"{summary.switched:,} switched",
            style="dim",
        )
        return text
