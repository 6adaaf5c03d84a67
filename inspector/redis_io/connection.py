"""redis-py connection classes and arguments for our settings (TLS with SNI, bytes, RESP2)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redis.asyncio.connection import AbstractConnection, Connection, UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.driver_info import DriverInfo
from redis.exceptions import ConnectionError as RedisConnectionError

from inspector import __version__
from inspector.core.pinned import require_members
from inspector.redis_io.settings import ConnectionSettings
from inspector.redis_io.tls import build_ssl_context

if TYPE_CHECKING:
    from inspector.redis_io.tunnel import Link, Tunnel

__all__ = [
    "PROTOCOL",
    "BoundConnection",
    "TLSConnection",
    "TunnelLost",
    "TunnelledConnection",
    "TunnelledTLSConnection",
    "connection_class_and_kwargs",
]

# The lowest common denominator: RESP2 works on every Redis/Valkey/ElastiCache
# engine still in service (HELLO 3 needs Redis 6), and redis-py shapes results
# the same either way.
PROTOCOL = 2


def _driver_info() -> DriverInfo:
    # Shows up as lib-name=redis-py(redis-session-inspector_v0.1.0) in CLIENT
    # LIST, so operators can tell our connections from the application's.
    return DriverInfo().add_upstream_driver("redis-session-inspector", __version__)


# TLSConnection and BoundConnection work by overriding this private hook of redis-py's TCP
# connection: were it renamed, connections would silently go out in plaintext.
# The tunnelled connections replace how the socket is made (_connect) and hand
# redis-py its streams: were those renamed, --ssh would connect around the
# bastion.
require_members(
    Connection,
    ("_connection_arguments", "_connect", "_reader", "_writer"),
    library="redis",
    user="inspector/redis_io/connection.py",
)


class BoundConnection(Connection):
    """Plain TCP from a chosen local address (``source_address``), any port.

    What makes two processes on one machine look like two ECS tasks (awsvpc:
    an address each) to the server: ``127.0.0.2`` and ``127.0.0.3`` both
    reach a server on ``127.0.0.1`` over loopback.
    """

    def __init__(self, *, source_address: str | None = None, **kwargs: Any) -> None:
        self.source_address = source_address
        super().__init__(**kwargs)

    def _connection_arguments(self) -> Mapping[str, Any]:
        arguments = dict(super()._connection_arguments())
        if self.source_address:
            arguments["local_addr"] = (self.source_address, 0)
        return arguments


class TLSConnection(BoundConnection):
    """TCP + TLS using a context built once from the settings, with an optional SNI.

    redis-py's own ``SSLConnection`` builds its context from loose keyword
    arguments and has no SNI override; building it ourselves lets us fail early
    on a bad CA file and support ``--cacertdir`` and ``--sni`` in cluster mode too.
    """

    def __init__(
        self, *, ssl_context: ssl.SSLContext, server_hostname: str | None = None, **kwargs: Any
    ) -> None:
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        super().__init__(**kwargs)

    def _connection_arguments(self) -> Mapping[str, Any]:
        arguments = dict(super()._connection_arguments())
        arguments["ssl"] = self.ssl_context
        arguments["server_hostname"] = self.server_hostname or self.host
        return arguments


class TunnelLost(RedisConnectionError):
    """The SSH connection under a tunnelled Redis connection dropped (not Redis itself)."""


class _Tunnelled(Connection):
    """A connection whose socket is a channel through the SSH bastion (``--ssh``).

    ``host`` and ``port`` stay the node's real address (what the cluster
    announces, what MOVED names, what TLS verifies); only the socket comes
    from :class:`~inspector.redis_io.tunnel.Tunnel`.
    """

    def __init__(self, *, tunnel: Tunnel, **kwargs: Any) -> None:
        self.tunnel = tunnel
        self._link: Link | None = None
        super().__init__(**kwargs)

    async def _connect(self) -> None:
        sock, self._link = await self.tunnel.open(
            self.host, int(self.port), timeout=self.socket_connect_timeout
        )
        arguments = dict(self._connection_arguments())
        arguments.pop("host", None)
        arguments.pop("port", None)
        try:
            async with asyncio.timeout(self.socket_connect_timeout):
                # TLS (when the arguments carry a context) runs over the
                # channel, end to end with the server, for server_hostname.
                reader, writer = await asyncio.open_connection(sock=sock, **arguments)
        except BaseException:
            sock.close()
            raise
        self._reader = reader
        self._writer = writer

    def _explained(self, exc: RedisConnectionError) -> RedisConnectionError:
        lost = self._link.lost if self._link is not None else None
        if lost is None or isinstance(exc, TunnelLost):
            return exc
        return TunnelLost(f"SSH connection to {self.tunnel.name} lost: {lost}")

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except RedisConnectionError as exc:
            explained = self._explained(exc)
            if explained is exc:
                raise
            raise explained from exc

    async def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().send_packed_command(*args, **kwargs)
        except RedisConnectionError as exc:
            explained = self._explained(exc)
            if explained is exc:
                raise
            raise explained from exc


class TunnelledConnection(_Tunnelled):
    """Plain TCP to Redis, through the SSH bastion."""


class TunnelledTLSConnection(_Tunnelled, TLSConnection):
    """TLS to Redis (verified against the real host name), through the SSH bastion."""


def connection_class_and_kwargs(
    settings: ConnectionSettings, *, read_timeout: float | None = None
) -> tuple[type[AbstractConnection], dict[str, Any]]:
    """The redis-py connection class and keyword arguments for these settings.

    Args:
        settings: Where and how to connect.
        read_timeout: Seconds to wait for a reply; ``None`` waits forever, which
            blocking commands (BLPOP, MONITOR) need.

    Returns:
        ``(connection_class, kwargs)`` usable with ``ConnectionPool`` or directly.

    Raises:
        SettingsError: A TLS file cannot be loaded.
    """
    kwargs: dict[str, Any] = {
        "username": settings.username,
        "password": settings.password,
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": read_timeout,
        "protocol": PROTOCOL,
        "driver_info": _driver_info(),
        # No retries (redis-py's clients retry with backoff by default): a
        # failure is reported as it happens, and a watch reconnects on its own.
        # The asyncio Retry: redis-py 8.2 warns on stderr (a user would see it)
        # when given the synchronous one.
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.client_name:
        kwargs["client_name"] = settings.client_name
    if settings.socket:
        kwargs.update(path=settings.socket, db=settings.db)
        return UnixDomainSocketConnection, kwargs
    kwargs.update(host=settings.host, port=settings.port, db=settings.db)
    if settings.ssh is not None:
        from inspector.redis_io.tunnel import tunnel_for  # asyncssh only when asked for

        kwargs["tunnel"] = tunnel_for(settings.ssh)
    elif settings.source_address:
        kwargs["source_address"] = settings.source_address
    if settings.tls is None:
        if settings.ssh is not None:
            return TunnelledConnection, kwargs
        return (BoundConnection if settings.source_address else Connection), kwargs
    kwargs["ssl_context"] = build_ssl_context(settings.tls)  # cached: files are read once
    kwargs["server_hostname"] = settings.tls.sni
    return (TLSConnection if settings.ssh is None else TunnelledTLSConnection), kwargs
