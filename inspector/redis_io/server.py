"""What kind of server we are talking to: engine, version, mode, size, memory, clients.

Every read here may be refused (INFO renamed on ElastiCache, an ACL without
DBSIZE, fakeredis without INFO): the summary then says "unknown" for that part
instead of failing.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio import RedisCluster
from redis.exceptions import ResponseError

from inspector.core.source import ServerSummary
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import primaries
from inspector.redis_io.info import parse_info

__all__ = ["ServerSummary", "server_summary"]


def _fields(reply: Any) -> dict[str, Any]:
    # redis-py parses INFO into a dict; a raw reply (another parser, a proxy)
    # is parsed here, anything else counts as no INFO.
    if isinstance(reply, dict):
        return reply
    if isinstance(reply, (bytes, str)):
        return parse_info(reply)
    return {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _count(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def _dbsize(client: RedisClient, node: Any) -> int:
    if node is None:
        return int(await client.dbsize())
    return int(await client.execute_command("DBSIZE", target_nodes=node))


async def server_summary(client: RedisClient) -> ServerSummary:
    """Read INFO (once, on the first primary in a cluster) and DBSIZE (on every primary).

    One plain ``INFO`` holds the server, memory and clients sections on every
    version (``INFO server memory clients`` needs Redis 7); the DBSIZE calls of
    a cluster's primaries run concurrently.

    Args:
        client: A client from :func:`inspector.redis_io.client.open_client`.

    Returns:
        The summary; parts the server refuses to tell are ``None``.
    """
    nodes = primaries(client)
    info: dict[str, Any] = {}
    with contextlib.suppress(ResponseError):
        if isinstance(client, RedisCluster):
            info = _fields(await client.info(target_nodes=nodes[0]))
        else:
            info = _fields(await client.info())
    counts = await asyncio.gather(
        *(_dbsize(client, node) for node in nodes), return_exceptions=True
    )
    keys: int | None = 0
    for count in counts:
        if isinstance(count, ResponseError):
            keys = None  # refused (ACL, renamed): a partial sum would mislead
        elif isinstance(count, BaseException):
            raise count  # connection failures are the caller's to report
        elif keys is not None:
            keys += count
    if isinstance(client, RedisCluster):
        mode = "cluster"
    else:
        mode = _text(info.get("redis_mode")) or "standalone"
    engine = "Valkey" if (_text(info.get("server_name")) or "").lower() == "valkey" else "Redis"
    raw_version = info.get("valkey_version") or info.get("redis_version")
    return ServerSummary(
        engine=engine,
        version=_text(raw_version) if raw_version else None,
        mode=mode,
        nodes=len(nodes),
        keys=keys,
        memory_used=_text(info.get("used_memory_human")),
        memory_peak=_text(info.get("used_memory_peak_human")),
        clients=_count(info.get("connected_clients")),
    )
