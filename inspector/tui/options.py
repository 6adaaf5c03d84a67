"""How the app is set up: one options object, for the CLI, the demo, the benchmarks and tests."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from inspector.core.attribution import ClientMap
from inspector.core.session import HostField
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["AppOptions"]


@dataclass(frozen=True, slots=True)
class AppOptions:
    """Everything :func:`~inspector.tui.app.make_app` needs besides the session source."""

    settings: ConnectionSettings = field(default_factory=ConnectionSettings)
    """The server: what the Server tab names, where the Console tab connects, and
    (without a source given) where the Redis source reads sessions."""
    namespace: str | None = None
    """Only this namespace (for the Redis source ``make_app`` builds)."""
    host_field: HostField | None = None
    """Where to read the host (for the Redis source ``make_app`` builds)."""
    poll_interval: float = 1.0
    """Seconds between polling passes (for the Redis source ``make_app`` builds)."""
    frameworks: bool = True
    """Show every framework's sessions, not only Spring's (for the Redis source)."""
    allow_writes: bool = False
    """Whether the detail screen may delete (it asks first)."""
    clock: Callable[[], float] = time.time
    """Time source (snapshot tests freeze it)."""
    tz: dt.tzinfo | None = None
    """Time zone of dates (default: local)."""
    banner: str | None = None
    """Text shown on start and in the server tab (the demo's app URLs)."""
    server_refresh: float = 5.0
    """Seconds between server tab refreshes, while the tab is shown."""
    attribute_by: str = "attribute"
    """How the container of a request is found at start: ``attribute`` (the session's
    host attribute) or ``monitor`` (the connection, by MONITOR); ``a`` toggles."""
    client_map: ClientMap | None = None
    """Names for connection addresses (``--client-map``), for attribution by connection."""
    dns: bool = True
    """Reverse DNS / hosts-file names for connections (``False``: ``--no-dns``)."""
