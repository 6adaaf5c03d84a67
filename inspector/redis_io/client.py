"""Settings to redis-py clients: standalone or cluster, TLS, bytes end to end.

:func:`open_client` is the factory every feature uses. It connects, verifies
the server answers, and detects cluster mode from ``INFO cluster`` so an
ElastiCache configuration endpoint works without ``-c``. Nothing here requires
``CONFIG`` (ElastiCache refuses it) and nothing here writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import Any, TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import Connection, ConnectionPool
from redis.exceptions import NoPermissionError, ResponseError

from inspector.redis_io.connection import connection_class_and_kwargs
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.info import parse_info
from inspector.redis_io.settings import ConnectionSettings
from inspector.redis_io.tls import build_ssl_context

__all__ = ["ROUND_TRIP_TIMEOUT", "RedisClient", "open_client"]

RedisClient: TypeAlias = "Redis | RedisCluster"

# Longest wait for one round trip (a SCAN page, a pipeline of a few thousand
# commands): a stalled server or network shows up as a timeout, not a hang.
ROUND_TRIP_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class _Probe:
    cluster_enabled: bool


async def _probe(client: Redis) -> _Probe:
    """Check the server answers (AUTH included) and whether it runs in cluster mode."""
    try:
        info = await client.execute_command("INFO", "cluster")
    except ResponseError as exc:
        # INFO can be renamed or denied to an ACL user; PING still proves the
        # link and the credentials. Without INFO we cannot detect cluster mode,
        # so the user has to say -c.
        denied = isinstance(exc, NoPermissionError)
        if not denied and not str(exc).lower().startswith("unknown command"):
            raise
        with contextlib.suppress(NoPermissionError):  # an answer proves we are in
            await client.execute_command("PING")
        return _Probe(cluster_enabled=False)
    if isinstance(info, dict):  # redis-py parses INFO itself
        return _Probe(cluster_enabled=str(info.get("cluster_enabled", "0")) == "1")
    return _Probe(cluster_enabled=parse_info(info).get("cluster_enabled") == "1")


def _cluster_client(
    settings: ConnectionSettings, ssl_context: ssl.SSLContext | None, read_timeout: float | None
) -> RedisCluster:
    connection_class, kwargs = connection_class_and_kwargs(
        settings, ssl_context=ssl_context, read_timeout=read_timeout
    )
    for name in ("host", "port", "db", "retry"):
        kwargs.pop(name, None)
    extra: dict[str, Any] = {
        key: kwargs.pop(key) for key in ("ssl_context", "server_hostname") if key in kwargs
    }
    cluster = RedisCluster(host=settings.host, port=settings.port, **kwargs)
    if connection_class is not Connection:
        # RedisCluster takes no connection_class argument; it copies one shared
        # kwargs dict into every node it discovers, and its startup node was
        # built before we could pass ours. Put our TLS connection class in both.
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
    retries: int = 0,
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
        retries: Retries for failed commands on the returned client.
        single_node: Talk to this node only, even if it is part of a cluster
            (per-node subscriptions and per-node CONFIG reads need that).

    Returns:
        A connected client; the caller closes it with ``await client.aclose()``.

    Raises:
        Failure: Described in one line (unreachable, TLS, auth, permission...).
    """
    ssl_context = build_ssl_context(settings.tls) if settings.tls else None
    try:
        if single_node or not settings.cluster:
            connection_class, kwargs = connection_class_and_kwargs(
                settings, ssl_context=ssl_context, read_timeout=read_timeout, retries=retries
            )
            client = Redis.from_pool(ConnectionPool(connection_class=connection_class, **kwargs))
            try:
                # The connect timeout bounds the whole handshake and the probe.
                async with asyncio.timeout(settings.connect_timeout):
                    probe = await _probe(client)
            except BaseException:
                await client.aclose()
                raise
            if single_node or not probe.cluster_enabled or settings.socket:
                return client
            await client.aclose()
            if settings.db:
                raise Failure(
                    Problem.USAGE,
                    f"{settings.endpoint} runs in cluster mode, which has only database 0; drop -n",
                )
        cluster = _cluster_client(settings, ssl_context, read_timeout)
        try:
            async with asyncio.timeout(settings.connect_timeout):
                await cluster.initialize()
        except BaseException:
            await cluster.aclose()
            raise
        return cluster
    except Exception as exc:
        raise describe_failure(exc, settings) from exc
