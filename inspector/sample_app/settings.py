"""What one sample-app instance needs to know."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from inspector.core.spring import DEFAULT_NAMESPACE
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.store import DEFAULT_INTERVAL, Layout

__all__ = ["SampleAppSettings", "default_name"]


def default_name() -> str:
    """``$HOSTNAME`` (the container id on ECS/Docker), else the host name."""
    return os.environ.get("HOSTNAME") or socket.gethostname()


@dataclass(frozen=True, slots=True)
class SampleAppSettings:
    """One instance's configuration."""

    redis: ConnectionSettings
    """Where the sessions live (same flags and variables as the inspector)."""
    name: str
    """The container name shown on the page (and stored as the session's host)."""
    host_attribute: bool = True
    """Store the name in the session (``False``: ``--no-host-attribute``, like most apps)."""
    port: int = 8080
    bind: str = "127.0.0.1"
    """Loopback unless told otherwise; the image sets ``SAMPLE_APP_BIND=0.0.0.0``."""
    namespace: str = DEFAULT_NAMESPACE
    layout: Layout = Layout.INDEXED
    interval: int = DEFAULT_INTERVAL
