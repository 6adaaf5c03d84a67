"""Where am I: the endpoint, user, database, topology, TLS and tunnel, in the title bar.

The app's :class:`~textual.widgets.Header` shows this on every tab and every
screen pushed over them (the detail screens show the app's sub-title too), so
an operator with several terminals open always sees which server one is on.
"""

from __future__ import annotations

from inspector.core.render import safe_text
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["endpoint_title"]


def endpoint_title(
    settings: ConnectionSettings,
    *,
    mode: str | None = None,
    state: str | None = None,
    writes: bool = False,
) -> str:
    """One line: e.g. ``default@127.0.0.1:6379 db 0 · standalone · TLS off``.

    Args:
        settings: The server the app reads.
        mode: ``standalone``, ``cluster (3 primaries)``...: once the server said
            (``None``: unknown yet; ``--cluster`` says cluster before).
        state: The connection's state when it is not plain "connected"
            (``connecting…``, ``cannot connect, next attempt in 4 s``).
        writes: ``--allow-writes`` was given.
    """
    user = settings.username or "default"
    parts = [f"{user}@{settings.endpoint} db {settings.db}"]
    if mode is None and settings.cluster:
        mode = "cluster"
    if mode:
        parts.append(mode)
    parts.append("TLS on" if settings.tls is not None else "TLS off")
    if settings.ssh is not None:
        parts.append(f"via SSH {settings.ssh.target}")
    if writes:
        parts.append("writes allowed")
    if state:
        parts.append(state)
    # A socket path or an SSH alias could hold control characters: shown escaped.
    return safe_text(" · ".join(parts))
