"""Settings to redis-py clients: standalone or cluster, TLS, bytes end to end.

:func:`open_client` is the factory every feature uses. It connects, verifies
the server answers, and detects cluster mode from ``INFO cluster`` so an
ElastiCache configuration endpoint works without ``-c``. Nothing here requires
``CONFIG`` (ElastiCache refuses it) and nothing here writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import Connection, ConnectionPool
from redis.exceptions import RedisError, ResponseError

from inspector.core.pinned import require_members
from inspector.redis_io.connection import connection_class_and_kwargs
from inspector.redis_io.errors import Failure, Problem, RoundTripTimeout, describe_failure
from inspector.redis_io.info import cluster_probe
from inspector.redis_io.resp import error_reply
from inspector.redis_io.settings import ConnectionSettings

__all__ = [
    "ROUND_TRIP_TIMEOUT",
    "ClusterClient",
    "RedisClient",
    "StandaloneClient",
    "open_client",
    "round_trip",
]


class StandaloneClient(Redis):
    """redis-py's client for one server, carrying the settings it was opened with.

    Error replies read far from the caller (in a pipeline) are described with
    these settings: the client says where and who, nothing is rebuilt.
    """

    def __init__(self, settings: ConnectionSettings, pool: ConnectionPool) -> None:
        super().__init__(connection_pool=pool)
        # As Redis.from_pool: the client owns its pool and closes it.
        self.auto_close_connection_pool = True
        self.settings = settings
        """The settings in use (``cluster`` says whether the server runs in cluster mode)."""


class ClusterClient(RedisCluster):
    """redis-py's cluster client, carrying the settings it was opened with."""

    def __init__(self, settings: ConnectionSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        """The settings in use (``cluster`` is ``True``; the endpoint is the seed node)."""


RedisClient: TypeAlias = "StandaloneClient | ClusterClient"
"""What :func:`open_client` returns; ``client.settings`` are the settings it used."""

# Longest wait for one round trip (a SCAN page, a pipeline of a few thousand
# commands): a stalled server or network shows up as a timeout, not a hang.
ROUND_TRIP_TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def round_trip() -> AsyncIterator[None]:
    """Bound one round trip (a SCAN page, a pipeline) by :data:`ROUND_TRIP_TIMEOUT`.

    Raises:
        RoundTripTimeout: The server did not answer in time (``-t`` bounds
            connecting only, so this is told apart from a connect timeout).
    """
    timer = asyncio.timeout(ROUND_TRIP_TIMEOUT)
    try:
        async with timer:
            yield
    except TimeoutError as exc:
        if not timer.expired():
            raise  # a timeout from inside (a socket's own), not ours
        raise RoundTripTimeout(ROUND_TRIP_TIMEOUT) from exc


async def _handshake(client: Redis) -> None:
    """Connect, authenticate and select the database; raise what goes wrong."""
    # redis-py connects lazily, inside the first command: its errors (wrong
    # password, SELECT on a cluster node) would pass for that command's reply.
    pool = client.connection_pool
    await pool.release(await pool.get_connection())


async def _ping(client: Redis) -> None:
    # Any answer, even an error (PING denied to an ACL user), proves the link.
    with contextlib.suppress(ResponseError):
        await client.execute_command("PING")


async def _probe(client: Redis) -> bool:
    """Check the server answers (AUTH included); return whether it runs in cluster mode."""
    await _handshake(client)
    try:
        info: Any = await client.execute_command("INFO", "cluster")  # parsed into a dict
    except ResponseError as exc:
        info = error_reply(exc)
    cluster = cluster_probe(info)
    if cluster is None:
        # INFO denied or renamed: cluster mode cannot be detected (the user
        # has to say -c), but PING still proves the link.
        await _ping(client)
        return False
    return cluster


_MANAGER_MEMBERS = ("connection_kwargs", "startup_nodes")
"""What :func:`_cluster_client` changes in redis-py's cluster ``NodesManager``."""
_NODE_MEMBERS = ("connection_class", "connection_kwargs")
"""What :func:`_cluster_client` changes in redis-py's ``ClusterNode``."""


def _cluster_client(settings: ConnectionSettings, read_timeout: float | None) -> ClusterClient:
    connection_class, kwargs = connection_class_and_kwargs(settings, read_timeout=read_timeout)
    for name in ("host", "port", "db", "retry"):
        kwargs.pop(name, None)
    extra: dict[str, Any] = {
        key: kwargs.pop(key)
        for key in ("ssl_context", "server_hostname", "tunnel", "source_address")
        if key in kwargs
    }
    cluster = ClusterClient(
        replace(settings, cluster=True), host=settings.host, port=settings.port, **kwargs
    )
    if connection_class is not Connection:
        # RedisCluster takes no connection_class argument; it copies one shared
        # kwargs dict into every node it discovers, and its startup node was
        # built before we could pass ours. Put our TLS (or tunnelled: every
        # node discovered, or named by MOVED, then gets its own channel through
        # the bastion; or bound to a source address) connection class in both
        # (attributes redis-py does not document: check they are still there,
        # or the nodes would connect without TLS, or around the tunnel).
        manager = cluster.nodes_manager
        require_members(manager, _MANAGER_MEMBERS, library="redis", user=__name__)
        for node in manager.startup_nodes.values():
            require_members(node, _NODE_MEMBERS, library="redis", user=__name__)
        shared: dict[str, Any] = cluster.nodes_manager.connection_kwargs
        shared.update(extra)
        shared["connection_class"] = connection_class
        for node in cluster.nodes_manager.startup_nodes.values():
            node.connection_class = connection_class  # type: ignore[assignment]
            node.connection_kwargs.update(extra)
    return cluster


async def open_client(
    settings: ConnectionSettings,
    *,
    read_timeout: float | None = None,
    single_node: bool = False,
    on_notice: Callable[[str], None] | None = None,
) -> RedisClient:
    """:func:`_open_client`; with ``on_notice``, a password the server has none for is dropped.

    ``REDISCLI_AUTH`` set for another server is common: as redis-cli does,
    ``on_notice`` is told the server's answer and the connection goes on
    without the password. Without ``on_notice`` that is a failure.

    Raises:
        Failure: Described in one line (unreachable, TLS, auth, permission...).
    """
    try:
        return await _open_client(settings, read_timeout=read_timeout, single_node=single_node)
    except Failure as failure:
        if (
            on_notice is None
            or failure.problem is not Problem.NO_PASSWORD_SET
            or settings.password is None
        ):
            raise
        cause = failure.__cause__
        reply = error_reply(cause) if isinstance(cause, RedisError) else None
        text = reply.message.decode("utf-8", "replace") if reply else failure.message
        on_notice(f"AUTH failed: {text}; going on without a password")
        return await _open_client(
            replace(settings, password=None), read_timeout=read_timeout, single_node=single_node
        )


async def _open_client(
    settings: ConnectionSettings,
    *,
    read_timeout: float | None = None,
    single_node: bool = False,
) -> RedisClient:
    """Connect, authenticate and return a standalone or cluster client.

    Cluster mode is used when ``settings.cluster`` is ``True`` (``-c``) or when
    the server reports ``cluster_enabled:1``. Replies are bytes (no
    ``decode_responses``), hiredis parses them when installed.

    Args:
        settings: Where and how to connect.
        read_timeout: Seconds to wait for any one reply. ``None`` (the default)
            sets no per-reply timer, which costs a lot in big pipelines;
            callers bound whole round trips instead (:data:`ROUND_TRIP_TIMEOUT`).
        single_node: Talk to this node only, even if it is part of a cluster
            (per-node subscriptions and per-node CONFIG reads need that). The
            caller knows the mode already, so only PING checks the link.

    Returns:
        A connected client; the caller closes it with ``await client.aclose()``.
        Its ``settings`` are the ones used, with ``cluster`` set to the mode
        found (``None`` stays ``None`` only for ``single_node`` clients).

    Raises:
        Failure: Described in one line (unreachable, TLS, auth, permission...).
    """
    try:
        if single_node or not settings.cluster:
            connection_class, kwargs = connection_class_and_kwargs(
                settings, read_timeout=read_timeout
            )
            pool = ConnectionPool(connection_class=connection_class, **kwargs)
            client = StandaloneClient(settings, pool)
            try:
                # The connect timeout bounds the whole handshake and the probe.
                async with asyncio.timeout(settings.connect_timeout):
                    if single_node:
                        await _handshake(client)
                        await _ping(client)
                        return client
                    cluster = await _probe(client)
            except BaseException:
                await client.aclose()
                raise
            if not cluster or settings.socket:
                client.settings = replace(settings, cluster=False)
                return client
            await client.aclose()
            if settings.db:
                raise Failure(
                    Problem.USAGE,
                    f"{settings.endpoint} runs in cluster mode, which has only database 0; drop -n",
                )
        cluster_client = _cluster_client(settings, read_timeout)
        try:
            async with asyncio.timeout(settings.connect_timeout):
                await cluster_client.initialize()
        except BaseException:
            await cluster_client.aclose()
            raise
        return cluster_client
    except Exception as exc:
        raise describe_failure(exc, settings) from exc
