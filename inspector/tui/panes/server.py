"""The server tab: what we are connected to and how.

The endpoint comes from the settings; the connection's state, how requests are
found and what the server is come as messages (the source reader's notices and
the app's :class:`~inspector.tui.messages.ServerSummaryRead`).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from inspector.core.monitor import monitor_cost_summary
from inspector.core.render import safe_text
from inspector.core.source import FeedHealth, FeedMode
from inspector.redis_io.monitor import MonitorStatus
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.messages import (
    AttributionSwitched,
    ConnectionLost,
    ConnectionRestored,
    FeedAdvice,
    FeedHealthRead,
    FeedModeChanged,
    FeedReady,
    MonitorStatusRead,
    ServerSummaryRead,
    SourceFailed,
)

__all__ = ["ServerPane", "health_text", "mode_text", "monitor_text"]

_MODE_TEXT = {
    FeedMode.NOTIFICATIONS: "on: requests seen as keyspace notifications",
    FeedMode.POLLING: "off: requests found by polling",
    FeedMode.PROBING: "unknown (CONFIG refused): polling, listening for notifications",
}


def mode_text(mode: FeedMode | None) -> str:
    """How the Server tab says where requests come from."""
    return _MODE_TEXT.get(mode, "?") if mode is not None else "?"


def health_text(health: FeedHealth) -> str:
    """The Server tab's feed line: requests and reads so far, subscriber lag, last pass.

    Times are clock times, not ages: the line is redrawn when the feed reports,
    and an age would stop ticking while it is silent.
    """
    parts = [f"{health.events:,} requests, {health.reads:,} re-reads"]
    if health.subscriber_lag_ms is not None:
        parts.append(f"subscriber {health.subscriber_lag_ms / 1000:.1f} s behind the server")
    if health.last_complete_pass_ms:
        at = time.strftime("%H:%M:%S", time.localtime(health.last_complete_pass_ms / 1000))
        parts.append(f"last complete pass at {at} ({health.last_pass_seconds:.2f} s)")
    if health.reconnects:
        parts.append(f"{health.reconnects:,} reconnects")
    return ", ".join(parts)


def monitor_text(status: MonitorStatus | None, *, running: bool) -> str:
    """The Server tab's MONITOR line: where it runs, what it read and dropped, how far behind."""
    if status is None:
        return "not available (no server to run it on)"
    if status.refused:
        return "refused by the server (requests attributed by the host attribute)"
    if not running:
        return "off (a: attribute requests by connection)"
    stats = status.stats
    if not status.attached:
        where = f"attaching to {status.primaries} primar{'y' if status.primaries == 1 else 'ies'}"
    else:
        where = f"on {', '.join(status.attached)}"
        if len(status.attached) < status.primaries:
            where += f" ({len(status.attached)} of {status.primaries} primaries)"
    return (
        f"{where}: {stats.lines:,} lines read, {stats.writes:,} session writes, "
        f"{stats.dropped:,} dropped, {status.lag_s:.1f} s behind, "
        f"{stats.disconnects:,} reconnects"
    )


class ServerPane(Static):
    """Endpoint, TLS, engine and version, topology, notifications, memory, clients, state."""

    DEFAULT_CSS = """
    ServerPane {
        padding: 1 2;
    }
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        banner: str | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.settings = settings
        self.facts: dict[str, str] = {
            "connection": "connecting…",
            "attribution": "by the session's host attribute",
            "MONITOR cost": monitor_cost_summary(),
        }
        if banner:
            self.facts["demo"] = banner

    def on_mount(self) -> None:
        self.redraw()

    # ---------------------------------------------------------------- from the source

    def on_feed_ready(self, message: FeedReady) -> None:
        self.set(connection="connected", notifications=mode_text(message.mode))

    def on_feed_mode_changed(self, message: FeedModeChanged) -> None:
        if message.mode is not None:  # a notice about the data's age names no mode
            self.set(notifications=mode_text(message.mode))

    def on_feed_advice(self, message: FeedAdvice) -> None:
        self.set(notifications=message.text)

    def on_feed_health_read(self, message: FeedHealthRead) -> None:
        self.set(feed=health_text(message.health))

    def on_connection_lost(self, _message: ConnectionLost) -> None:
        self.set(connection="reconnecting…")

    def on_connection_restored(self, _message: ConnectionRestored) -> None:
        self.set(connection="connected")

    def on_source_failed(self, message: SourceFailed) -> None:
        self.set(connection=f"failed: {message.message}")

    def on_attribution_switched(self, message: AttributionSwitched) -> None:
        self.set(attribution=message.text)

    def on_monitor_status_read(self, message: MonitorStatusRead) -> None:
        facts = {"MONITOR": monitor_text(message.status, running=message.running)}
        if message.status is not None:
            facts["MONITOR cost"] = message.status.cost_summary
        self.set(**facts)

    def on_server_summary_read(self, message: ServerSummaryRead) -> None:
        summary = message.summary
        one_node = " (first primary)" if summary.nodes > 1 else ""
        facts = {
            "engine": f"{summary.engine} {summary.version or '(version unknown: INFO refused)'}",
            "mode": f"{summary.mode}"
            + (f", {summary.nodes} primaries" if summary.nodes > 1 else ""),
            "keys": "unknown" if summary.keys is None else f"{summary.keys:,}",
        }
        if summary.memory_used is not None:
            facts["memory"] = f"{summary.memory_used} used, peak {summary.memory_peak or '?'}"
            facts["memory"] += one_node
        if summary.clients is not None:
            facts["clients"] = f"{summary.clients} connected{one_node}"
        self.set(**facts)

    def set(self, **facts: str) -> None:
        """Update some facts and redraw."""
        self.facts.update(facts)
        self.redraw()

    def redraw(self) -> None:
        """Show every fact as ``label  value`` lines."""
        settings = self.settings
        tls = "off"
        if settings.tls is not None:
            checks = "no certificate checks" if settings.tls.insecure else "certificates verified"
            tls = f"on ({checks}" + (f", SNI {settings.tls.sni}" if settings.tls.sni else "") + ")"
        rows = [
            ("endpoint", f"{settings.endpoint} (from {settings.source})"),
            *([("SSH", f"through bastion {settings.ssh.target}")] if settings.ssh else []),
            ("user", settings.username or "default"),
            ("database", str(settings.db)),
            ("TLS", tls),
        ]
        order = (
            "connection",
            "engine",
            "mode",
            "notifications",
            "feed",
            "memory",
            "clients",
            "keys",
            "attribution",
            "MONITOR",
            "MONITOR cost",
            "demo",
        )
        rows.extend((name, self.facts[name]) for name in order if name in self.facts)
        text = Text()
        for label, value in rows:
            text.append(f"{label:<15}", style="bold")
            # A fact may span lines (the demo's two URLs); keep them in the value column.
            lines = value.split("\n")
            text.append(safe_text(lines[0]) + "\n")
            for line in lines[1:]:
                text.append(" " * 15 + safe_text(line) + "\n")
        self.update(text)
