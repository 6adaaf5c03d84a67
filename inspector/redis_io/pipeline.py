"""Lean non-transactional pipelines for bulk reads.

redis-py's ``Pipeline`` builds a command object, a response callback and a
timer per command; for the tens of thousands of HGETALL/PTTL reads of a session
scan that machinery costs more than the network. Here a batch is packed into
one buffer, written once, and its replies read back with the connection's own
(hiredis) parser: 2-3x the throughput on loopback (benchmarks/bench_sessions.py).

Standalone clients take this path; cluster clients use redis-py's cluster
pipeline, which routes each key to its node and follows MOVED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ResponseError

from inspector.redis_io.client import ROUND_TRIP_TIMEOUT, RedisClient

__all__ = ["pack_command", "run_pipeline"]


def pack_command(*args: bytes) -> bytes:
    """One command in RESP (``*N`` array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


async def run_pipeline(client: RedisClient, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
    """Send commands in one round trip and return their replies in order.

    Error replies (``WRONGTYPE``...) are returned as ``ResponseError`` objects in
    their place, never raised. Replies keep RESP2 shapes: HGETALL is a flat list
    of field, value, field, value.

    Args:
        client: A client from :func:`inspector.redis_io.client.open_client`.
        commands: Each command as a tuple of byte arguments.

    Returns:
        One reply per command.
    """
    if not commands:
        return []
    if isinstance(client, RedisCluster):
        return await _cluster_pipeline(client, commands)
    return await _standalone_pipeline(client, commands)


async def _standalone_pipeline(client: Redis, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        async with asyncio.timeout(ROUND_TRIP_TIMEOUT):
            await connection.send_packed_command(
                b"".join(pack_command(*command) for command in commands), check_health=False
            )
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response(disable_decoding=True))
                except ResponseError as error:
                    replies.append(error)  # one reply read; the stream stays in step
    except BaseException:
        # Cancelled or failed mid-batch: unread replies would poison the next
        # user of this connection, so it is closed rather than returned clean.
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)
    return replies


async def _cluster_pipeline(
    client: RedisCluster, commands: Sequence[tuple[bytes, ...]]
) -> list[Any]:
    pipe = client.pipeline()
    for name, *args in commands:
        # redis-py routes by the command name, which it expects as text.
        pipe.execute_command(name.decode(), *args)
    async with asyncio.timeout(ROUND_TRIP_TIMEOUT):
        replies = await pipe.execute(raise_on_error=False)
    out: list[Any] = []
    for command, reply in zip(commands, replies, strict=True):
        # The cluster pipeline applies redis-py's response callbacks; give back
        # the same RESP2 shape as the standalone path.
        if command[0] == b"HGETALL" and isinstance(reply, dict):
            out.append([item for pair in reply.items() for item in pair])
        else:
            out.append(reply)
    return out
