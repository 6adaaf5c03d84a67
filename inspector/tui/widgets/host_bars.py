"""Requests per container as bars: is the load balancer alternating?"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.core.render import safe_text

__all__ = ["HostBars", "host_style"]

# Named ANSI colours: they exist in 16-colour terminals and follow the theme.
_PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")


def host_style(host: str | None) -> str:
    """A stable colour per container name, so the same host reads the same everywhere."""
    if not host:
        return "dim"
    return _PALETTE[sum(host.encode()) % len(_PALETTE)]


class HostBars(Static):
    """Counts and share of requests per container, largest first."""

    DEFAULT_CSS = """
    HostBars {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.counts: dict[str, int] = {}

    def add(self, host: str | None) -> None:
        """Count one request."""
        name = host or "(unknown)"
        self.counts[name] = self.counts.get(name, 0) + 1

    def render_bars(self, width: int) -> Text:
        """The bars as text (also what snapshot tests see)."""
        total = sum(self.counts.values())
        if not total:
            return Text("No requests seen yet.", style="dim")
        label_width = min(24, max(len(name) for name in self.counts))
        bar_width = max(10, width - label_width - 18)
        text = Text()
        for name, count in sorted(self.counts.items(), key=lambda item: -item[1]):
            share = count / total
            filled = round(share * bar_width)
            shown = safe_text(name)
            shown = shown if len(shown) <= label_width else shown[: label_width - 1] + "…"
            text.append(f"{shown:<{label_width}} ", style=host_style(name))
            text.append("█" * filled, style=host_style(name))
            text.append("░" * (bar_width - filled), style="dim")
            text.append(f" {share:4.0%} {count:>6}\n")
        text.rstrip()
        return text

    def refresh_bars(self) -> None:
        """Redraw with the current counts."""
        self.update(self.render_bars(max(30, self.size.width - 2)))
