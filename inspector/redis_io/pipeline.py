"""Lean non-transactional pipelines for bulk reads.

redis-py's ``Pipeline`` builds a command object, a response callback and a
timer per command, and its connection reads each reply with an ``await`` of
its own; for the tens of thousands of HMGET/PTTL reads of a session scan that
machinery costs more than the network. Here a batch is packed into one buffer
(``hiredis.pack_command``), written once, and the bytes that come back are fed
to one public ``hiredis.Reader``, whose ``gets()`` is called in a loop until
the batch is complete: one ``await`` per socket read, not per reply
(benchmarks/bench_sessions.py).

Standalone clients take this path. On a cluster, bulk reads of one key each
(HGETALL, HMGET, PTTL, GET...) are grouped by the primary that owns their
slot and each group takes the same path on one of that node's connections;
keys that moved (MOVED/ASK) and every other command go through redis-py's
cluster pipeline, which follows redirects and refreshes the slot map.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import hiredis
from redis._parsers import BaseParser
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import (
    AskError,
    ClusterDownError,
    InvalidResponse,
    MovedError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from inspector.redis_io.client import RedisClient, round_trip
from inspector.redis_io.errors import RoundTripTimeout, describe_failure

__all__ = [
    "CONNECTION_MEMBERS",
    "check_replies",
    "first_error",
    "is_wrongtype",
    "pack_command",
    "pack_commands",
    "read_replies",
    "run_packed",
    "run_pipeline",
]

CONNECTION_MEMBERS = ("_reader",)
"""What :func:`read_replies` reads of a connected redis-py connection: its
``asyncio.StreamReader`` (private; checked in tests/unit/test_pinned_privates.py)."""
_NOT_ENOUGH = object()
_READ_SIZE = 1 << 17


def pack_command(*args: bytes) -> bytes:
    """One command in RESP (``*N`` array of bulk strings)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def pack_commands(commands: Sequence[tuple[bytes, ...]]) -> bytes:
    """Commands in RESP, as one buffer (hiredis packs each in C)."""
    # The stub types a 1-tuple; any tuple of bytes is accepted.
    return b"".join([hiredis.pack_command(command) for command in commands])  # type: ignore[arg-type]


async def read_replies(connection: AbstractConnection, count: int) -> list[Any]:
    """Read ``count`` replies off a connection with one ``hiredis.Reader``.

    The socket's bytes are fed to the reader as they arrive and ``gets()`` is
    called until it has no complete reply left, so a batch of a thousand
    replies costs a few socket reads, not a thousand awaits. Error replies come
    back in place as redis-py's exceptions (``ResponseError``,
    ``NoPermissionError``...), never raised. A connection whose stream is not
    an ``asyncio.StreamReader`` is read reply by reply through redis-py.

    Raises:
        ConnectionError: The server closed the connection mid-batch.
    """
    stream = getattr(connection, "_reader", None)
    if not isinstance(stream, asyncio.StreamReader):
        return await _read_one_by_one(connection, count)
    reader = hiredis.Reader(
        protocolError=InvalidResponse,
        replyError=BaseParser.parse_error,
        notEnoughData=_NOT_ENOUGH,
    )
    replies: list[Any] = []
    append = replies.append
    gets = reader.gets
    while len(replies) < count:
        data = await stream.read(_READ_SIZE)
        if not data:
            raise RedisConnectionError("Connection closed by server.")
        reader.feed(data)
        reply = gets(False)
        while reply is not _NOT_ENOUGH:
            append(reply)
            reply = gets(False)
    if len(replies) > count:
        # Only replies we asked for can arrive on a request/response connection.
        raise InvalidResponse(f"Protocol error: {len(replies) - count} unexpected replies")
    return replies


async def _read_one_by_one(connection: AbstractConnection, count: int) -> list[Any]:
    replies: list[Any] = []
    for _ in range(count):
        try:
            replies.append(await connection.read_response(disable_decoding=True))
        except ResponseError as error:
            replies.append(error)  # one reply read; the stream stays in step
    return replies


async def run_packed(client: Redis, payload: bytes, count: int) -> list[Any]:
    """Send ``count`` commands already packed in RESP; return their replies in order.

    For the bulk reads that build one buffer for a thousand commands with a few
    bytes formats instead of a tuple and a ``pack_command`` each. Standalone
    clients only (a cluster routes per key: use :func:`run_pipeline`). Replies
    are as :func:`run_pipeline` gives them.
    """
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        async with round_trip():
            await connection.send_packed_command(payload, check_health=False)
            replies = await read_replies(connection, count)
    except BaseException:
        # Cancelled or failed mid-batch: unread replies would poison the next
        # user of this connection, so it is closed rather than returned clean.
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)
    return replies


def first_error(replies: Sequence[Any], *, wrongtype_ok: bool = False) -> int | None:
    """The index of the first error reply :func:`check_replies` would raise, or ``None``."""
    for index, reply in enumerate(replies):
        if isinstance(reply, Exception) and not (wrongtype_ok and is_wrongtype(reply)):
            return index
    return None


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
    return await run_packed(client, pack_commands(commands), len(commands))


# Commands whose one key is their first argument: the cluster fast path routes
# them by that key's slot. Anything else goes through redis-py's pipeline.
_SINGLE_KEY = frozenset(
    {
        b"HGETALL", b"HMGET", b"HGET", b"HLEN", b"HKEYS", b"HSTRLEN", b"PTTL", b"TTL",
        b"GET", b"GETRANGE", b"STRLEN", b"TYPE", b"EXISTS", b"SMEMBERS", b"SCARD",
        b"ZCARD", b"LLEN",
    }
)  # fmt: skip
_REDIRECTS = (MovedError, AskError, TryAgainError, ClusterDownError)


async def _cluster_pipeline(
    client: RedisCluster, commands: Sequence[tuple[bytes, ...]]
) -> list[Any]:
    if all(command[0] in _SINGLE_KEY and len(command) > 1 for command in commands):
        try:
            replies = await _cluster_packed(client, commands)
        except RoundTripTimeout:
            raise  # the server is slow, not moved: asking again would double the wait
        except Exception:
            replies = None  # a node changed or went away: redis-py's pipeline copes
        if replies is not None:
            # Keys that moved since the slot map was read go again through
            # redis-py, which follows MOVED/ASK and refreshes the map.
            again = [i for i, reply in enumerate(replies) if isinstance(reply, _REDIRECTS)]
            if again:
                redone = await _redis_py_pipeline(client, [commands[i] for i in again])
                for i, reply in zip(again, redone, strict=True):
                    replies[i] = reply
            return replies
    return await _redis_py_pipeline(client, commands)


async def _cluster_packed(client: RedisCluster, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
    """Each primary's share of the batch packed and read as on a standalone server.

    redis-py's cluster pipeline builds an object, a callback and a routing step
    per command; for a bulk read that is most of the cost. Here commands are
    grouped by the primary that owns their key's slot (from the client's slot
    map), each group is sent on one of that node's connections, and the
    groups are read at once.
    """
    groups: dict[str, tuple[Any, list[int]]] = {}
    nodes = client.nodes_manager
    for index, command in enumerate(commands):
        node = nodes.get_node_from_slot(client.keyslot(command[1]))
        groups.setdefault(node.name, (node, []))[1].append(index)
    replies: list[Any] = [None] * len(commands)

    async def one(node: Any, indexes: list[int]) -> None:
        connection = node.acquire_connection()
        try:
            await connection.send_packed_command(
                pack_commands([commands[i] for i in indexes]), check_health=False
            )
            for i, reply in zip(indexes, await read_replies(connection, len(indexes)), strict=True):
                replies[i] = reply
        except BaseException:
            await connection.disconnect()  # replies left unread poison a connection
            raise
        finally:
            node.release(connection)

    async with round_trip():
        await asyncio.gather(*(one(node, indexes) for node, indexes in groups.values()))
    return replies


async def _redis_py_pipeline(
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
