"""What kind of server we are talking to: engine, version, mode, size.

Every read here may be refused (INFO renamed on ElastiCache, an ACL without
DBSIZE, fakeredis without INFO): the summary then says "unknown" for that part
instead of failing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from redis.asyncio import RedisCluster
from redis.exceptions import ResponseError

from inspector.redis_io.client import RedisClient

__all__ = ["ServerSummary", "server_summary"]


@dataclass(frozen=True, slots=True)
class ServerSummary:
    """A one-line description of the deployment."""

    engine: str
    """``Redis`` or ``Valkey`` (from ``server_name``, since Valkey pins ``redis_version``)."""
    version: str | None
    """Engine version, ``None`` when INFO is not available."""
    mode: str
    """``standalone`` or ``cluster``."""
    nodes: int
    """Primaries in a cluster, else 1."""
    keys: int | None
    """Keys in the current database, summed over primaries; ``None`` when DBSIZE is refused."""

    def describe(self) -> str:
        """E.g. ``Redis 7.0.15, cluster (3 primaries), 1204 keys``."""
        version = (
            f"{self.engine} {self.version}" if self.version else f"{self.engine} (version unknown)"
        )
        mode = f"{self.mode} ({self.nodes} primaries)" if self.nodes > 1 else self.mode
        keys = "key count unknown" if self.keys is None else f"{self.keys} keys"
        return f"{version}, {mode}, {keys}"


async def server_summary(client: RedisClient) -> ServerSummary:
    """Read INFO server and DBSIZE (on every primary in a cluster).

    Args:
        client: A client from :func:`inspector.redis_io.client.open_client`.

    Returns:
        The summary; parts the server refuses to tell are ``None``.
    """
    info: dict[str, Any] = {}
    keys: int | None = 0
    if isinstance(client, RedisCluster):
        primaries = client.get_primaries()
        with contextlib.suppress(ResponseError):
            info = await client.info("server", target_nodes=primaries[0])
        for node in primaries:
            try:
                count = int(await client.execute_command("DBSIZE", target_nodes=node))
            except ResponseError:
                keys = None
                break
            keys = (keys or 0) + count
        nodes, mode = len(primaries), "cluster"
    else:
        with contextlib.suppress(ResponseError):
            info = await client.info("server")
        try:
            keys = int(await client.dbsize())
        except ResponseError:
            keys = None
        nodes, mode = 1, str(info.get("redis_mode", "standalone"))
    engine = "Valkey" if str(info.get("server_name", "")).lower() == "valkey" else "Redis"
    raw_version = info.get("valkey_version") or info.get("redis_version")
    return ServerSummary(
        engine=engine,
        version=str(raw_version) if raw_version else None,
        mode=mode,
        nodes=nodes,
        keys=keys,
    )
