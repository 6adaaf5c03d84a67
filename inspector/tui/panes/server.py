"""The server tab: what we are connected to and how."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from inspector.core.render import safe_text
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["ServerPane"]


class ServerPane(Static):
    """Endpoint, TLS, engine and version, topology, notifications, memory, clients, state."""

    DEFAULT_CSS = """
    ServerPane {
        padding: 1 2;
    }
    """

    def __init__(self, settings: ConnectionSettings, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.settings = settings
        self.facts: dict[str, str] = {"connection": "connecting…"}

    def on_mount(self) -> None:
        self.redraw()

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
            "memory",
            "clients",
            "keys",
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
