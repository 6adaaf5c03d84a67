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

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import ResponseError

from inspector.redis_io.client import RedisClient, round_trip
from inspector.redis_io.errors import describe_failure

__all__ = ["check_replies", "is_wrongtype", "pack_command", "run_pipeline"]


def pack_command(*args: bytes) -> bytes:
    """One command in RESP (``*N`` array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


async def run_pipeline(client: RedisClient, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
    """Send commands in one round trip and return their replies in order.

    Error replies (``WRONGTYPE``, ``NOPERM``...) are returned as ``ResponseError``
    objects in their place, never raised: see :func:`check_replies`. Replies
    keep RESP2 shapes on standalone and cluster alike: HGETALL is a flat list of
    field, value, field, value; SMEMBERS a list.

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
        async with round_trip():
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
    async with round_trip():
        replies = await pipe.execute(raise_on_error=False)
    # The cluster pipeline applies redis-py's response callbacks; give back
    # what the server sent in RESP2, as the standalone path does: maps
    # (HGETALL) as flat lists, sets (SMEMBERS) as lists.
    return [_resp2(reply) for reply in replies]


def _resp2(reply: Any) -> Any:
    if isinstance(reply, dict):
        return [item for pair in reply.items() for item in pair]
    if isinstance(reply, set):
        return list(reply)
    return reply


def is_wrongtype(reply: object) -> bool:
    """Whether a pipeline reply is a ``WRONGTYPE`` error: the key holds another type."""
    return isinstance(reply, ResponseError) and str(reply).startswith("WRONGTYPE")


def check_replies(
    client: RedisClient,
    commands: Sequence[tuple[bytes, ...]],
    replies: Sequence[Any],
    *,
    wrongtype_ok: bool = False,
) -> None:
    """Raise the first error reply of a pipeline as a one-line failure naming its command.

    An error the caller does not expect must not pass for "no data": a read
    denied to an ACL user would otherwise look like an empty keyspace.

    Args:
        client: The client that ran the pipeline (it names the endpoint and user).
        commands: The commands sent, as given to :func:`run_pipeline`.
        replies: What :func:`run_pipeline` returned for them.
        wrongtype_ok: Let ``WRONGTYPE`` through: the key was replaced by one of
            another type since the SCAN, and the caller skips it.

    Raises:
        Failure: NOPERM (exit 4), an unknown command (exit 4), another error reply
            (exit 1).
        RedisError: A node could not be reached (cluster pipelines return those
            in place too); the caller's settings describe it best.
    """
    for command, reply in zip(commands, replies, strict=True):
        if not isinstance(reply, Exception) or (wrongtype_ok and is_wrongtype(reply)):
            continue
        if not isinstance(reply, ResponseError):
            raise reply
        name = command[0].decode("ascii", "replace").upper()
        raise describe_failure(reply, client.settings, command=name) from reply
