"""The data behind a key browser: the keyspace tree, each key's facts, its value a page at a time.

Everything a Keys tab needs, without any screen:

- :class:`KeyspaceScan` builds a :class:`~inspector.core.keyspace.KeyIndex`
  from ``SCAN ... COUNT 1000`` on every primary (never KEYS), in the
  background, with :class:`ScanProgress`; ``MATCH`` and ``TYPE`` filters are
  pushed to the server. Its :meth:`~KeyspaceScan.tree` is the folder view, by
  any delimiter, readable while the scan runs.
- :func:`describe_keys`: type, TTL, length and encoding of a few keys (the
  visible rows) in two pipelined round trips; :func:`memory_usage` on demand
  (``MEMORY USAGE``; a server that refuses it gives a reason, not an error).
- Typed readers that never load a whole value: strings up to a limit (decoded
  by :func:`inspector.core.decoders.decode_value`), hashes by HSCAN, sets by
  SSCAN, lists by LRANGE windows, sorted sets by ZRANGE ... WITHSCORES windows,
  streams by XRANGE windows. Each returns a :class:`Page` and where to go on.
- :class:`KeyWriter`: the only writes (delete, set or remove a TTL, edit a
  string or a hash field), one explicit command each, and none at all unless
  it was created with ``allow_writes=True`` (the ``--allow-writes`` flag).

Everything reads through the redis-py client of
:func:`~inspector.redis_io.client.open_client`, so cluster routing, TLS and
timeouts are the same as the rest of the app's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from redis.asyncio import RedisCluster
from redis.exceptions import ResponseError

from inspector.core.decoders import decode_value
from inspector.core.keyspace import DEFAULT_DELIMITER, KeyIndex, KeyTree
from inspector.core.values import Decoded
from inspector.redis_io.client import RedisClient, round_trip
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.pipeline import run_pipeline
from inspector.redis_io.resp import error_reply

__all__ = [
    "DEFAULT_MAX_KEYS",
    "DEFAULT_PAGE",
    "SCAN_COUNT",
    "STRING_LIMIT",
    "KeyInfo",
    "KeyWriter",
    "KeyspaceScan",
    "MemoryUsage",
    "Page",
    "ScanProgress",
    "StreamEntry",
    "StringValue",
    "WritesDisabled",
    "describe_keys",
    "memory_usage",
    "read_hash",
    "read_list",
    "read_set",
    "read_stream",
    "read_string",
    "read_zset",
]

T = TypeVar("T")

SCAN_COUNT = 1000
"""Keys asked per SCAN round trip."""
DEFAULT_MAX_KEYS = 5_000_000
"""A scan stops indexing after this many keys (~350 MB of 30-byte names); narrow with a pattern."""
DEFAULT_PAGE = 200
"""Elements per page of a value."""
STRING_LIMIT = 1 << 20
"""Bytes of a string read at most (GETRANGE); longer ones are marked truncated."""

_LENGTH_COMMANDS = {
    "string": b"STRLEN",
    "list": b"LLEN",
    "set": b"SCARD",
    "zset": b"ZCARD",
    "hash": b"HLEN",
    "stream": b"XLEN",
}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


async def _keyed(client: RedisClient, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
    """Replies to ``OBJECT``/``MEMORY`` subcommands (the key third), error replies in place.

    A pipeline on a standalone server; on a cluster each command goes to the
    node of its key (redis-py's cluster pipeline cannot route OBJECT or MEMORY
    subcommands), all at once.
    """
    if not isinstance(client, RedisCluster):
        async with round_trip():
            return await run_pipeline(client, commands)

    async def one(command: tuple[bytes, ...]) -> Any:
        node = client.get_node_from_key(command[2])  # type: ignore[arg-type]  # bytes hash as sent
        try:
            return await client.execute_command(
                command[0].decode(), *command[1:], target_nodes=node
            )
        except ResponseError as exc:
            return exc

    async with round_trip():
        return list(await asyncio.gather(*(one(command) for command in commands)))


def _nodes(client: RedisClient) -> list[Any]:
    return list(client.get_primaries()) if isinstance(client, RedisCluster) else [None]


# ---------------------------------------------------------------- the keyspace scan


@dataclass(slots=True)
class ScanProgress:
    """How far a :class:`KeyspaceScan` has come (read it while the scan runs)."""

    keys_seen: int = 0
    """Names SCAN returned so far (a key returned twice counts twice)."""
    nodes_total: int = 1
    nodes_done: int = 0
    estimated_total: int | None = None
    """DBSIZE summed over the primaries at the start (all keys, not only matching ones)."""
    done: bool = False
    truncated: bool = False
    """The scan stopped at ``max_keys``: the tree holds only part of the keyspace."""

    @property
    def fraction(self) -> float | None:
        """Done so far, 0 to 1, when the size is known (a pattern makes it a lower bound)."""
        if self.done:
            return 1.0
        if not self.estimated_total:
            return None
        return min(1.0, self.keys_seen / self.estimated_total)


@dataclass(slots=True)
class KeyspaceScan:
    """Index the keyspace with SCAN on every primary; read the tree at any time.

    Args:
        client: A client from :func:`~inspector.redis_io.client.open_client`.
        pattern: ``SCAN MATCH`` (pushed to the server); ``None`` for every key.
        key_type: ``SCAN TYPE`` (``hash``, ``string``...; Redis 6+).
        count: ``SCAN COUNT``.
        max_keys: Stop after this many names (``None``: no limit).
    """

    client: RedisClient
    pattern: bytes | None = None
    key_type: str | None = None
    count: int = SCAN_COUNT
    max_keys: int | None = DEFAULT_MAX_KEYS
    index: KeyIndex = field(default_factory=KeyIndex)
    progress: ScanProgress = field(default_factory=ScanProgress)
    first_page: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the first SCAN page is indexed: the tree's first level can be shown."""

    def tree(self, delimiter: bytes = DEFAULT_DELIMITER) -> KeyTree:
        """The folder view of what has been indexed so far."""
        return KeyTree(self.index, delimiter)

    async def run(self) -> KeyIndex:
        """Scan to the end (or ``max_keys``); cancel the task to stop early.

        Returns:
            The index, merged (exact counts).

        Raises:
            Failure: SCAN was refused (NOPERM: exit 4) or the connection failed.
        """
        nodes = _nodes(self.client)
        self.progress.nodes_total = len(nodes)
        self.progress.estimated_total = await self._dbsize(nodes)
        try:
            await asyncio.gather(*(self._scan_node(node) for node in nodes))
        except ResponseError as exc:
            raise describe_failure(exc, self.client.settings, command="SCAN") from exc
        # One chunk at a time, yielding in between: a TUI sharing this event
        # loop keeps painting while the last waiting keys are merged.
        while True:
            if not self.index.merge_step():
                break
            await asyncio.sleep(0)
        self.progress.done = True
        self.first_page.set()  # an empty keyspace has a (empty) first level too
        return self.index

    async def _dbsize(self, nodes: Sequence[Any]) -> int | None:
        total = 0
        for node in nodes:
            try:
                async with round_trip():
                    if node is None:
                        size = await self.client.execute_command("DBSIZE")
                    else:
                        size = await self.client.execute_command("DBSIZE", target_nodes=node)
            except ResponseError:
                return None  # DBSIZE denied: progress without a percentage
            total += int(next(iter(size.values())) if isinstance(size, dict) else size)
        return total

    async def _scan_node(self, node: Any) -> None:
        cursor = 0
        kwargs: dict[str, Any] = {"match": self.pattern, "count": self.count}
        if self.key_type:
            kwargs["_type"] = self.key_type
        if node is not None:
            kwargs["target_nodes"] = node
        while True:
            if self.max_keys is not None and self.progress.keys_seen >= self.max_keys:
                self.progress.truncated = True
                return
            async with round_trip():
                reply: tuple[Any, list[Any]] = await self.client.scan(cursor, **kwargs)
            raw_cursor, keys = reply
            if isinstance(raw_cursor, dict):  # a cluster node answers {node: cursor}
                raw_cursor = next(iter(raw_cursor.values()))
            cursor = int(raw_cursor)
            names = [key if isinstance(key, bytes) else str(key).encode() for key in keys]
            self.index.add(names)
            self.progress.keys_seen += len(names)
            if names:
                self.first_page.set()
            if cursor == 0:
                self.progress.nodes_done += 1
                return


# ---------------------------------------------------------------- facts per key


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a key browser shows in a row: type, TTL, length, encoding."""

    key: bytes
    type: str
    """``string``, ``list``, ``set``, ``zset``, ``hash``, ``stream``, a module
    type's name, or ``none`` (the key is gone)."""
    ttl_ms: int | None
    """Milliseconds left (PTTL); ``None`` without an expiry (or when unknown)."""
    length: int | None
    """STRLEN / LLEN / SCARD / ZCARD / HLEN / XLEN; ``None`` for other types."""
    encoding: str | None
    """OBJECT ENCODING (``listpack``, ``hashtable``, ``embstr``...); ``None`` when refused."""

    @property
    def exists(self) -> bool:
        """Whether the key was still there."""
        return self.type != "none"


def _int_or_none(reply: Any) -> int | None:
    return reply if isinstance(reply, int) and not isinstance(reply, bool) else None


async def describe_keys(client: RedisClient, keys: Sequence[bytes]) -> list[KeyInfo]:
    """Type, TTL, length and encoding of each key, in two pipelined round trips.

    Args:
        client: A connected client.
        keys: The keys (the rows on screen: a few dozen).

    Returns:
        One :class:`KeyInfo` per key, in order.

    Raises:
        Failure: TYPE was refused (an ACL user without it cannot browse: exit 4).
    """
    if not keys:
        return []
    first: list[tuple[bytes, ...]] = []
    for key in keys:
        first += [(b"TYPE", key), (b"PTTL", key)]
    async with round_trip():
        replies, encodings = await asyncio.gather(
            run_pipeline(client, first),
            _keyed(client, [(b"OBJECT", b"ENCODING", key) for key in keys]),
        )
    types: list[str] = []
    for type_reply in replies[::2]:
        if isinstance(type_reply, ResponseError):
            raise describe_failure(type_reply, client.settings, command="TYPE") from type_reply
        types.append(_text(type_reply))
    lengths: list[tuple[int, tuple[bytes, ...]]] = [
        (i, (_LENGTH_COMMANDS[kind], key))
        for i, (key, kind) in enumerate(zip(keys, types, strict=True))
        if kind in _LENGTH_COMMANDS
    ]
    measured: dict[int, int | None] = {}
    if lengths:
        async with round_trip():
            length_replies = await run_pipeline(client, [command for _, command in lengths])
        measured = {
            i: _int_or_none(reply) for (i, _), reply in zip(lengths, length_replies, strict=True)
        }
    infos: list[KeyInfo] = []
    for i, key in enumerate(keys):
        ttl = _int_or_none(replies[2 * i + 1])
        encoding = encodings[i]
        infos.append(
            KeyInfo(
                key=key,
                type=types[i],
                ttl_ms=ttl if ttl is not None and ttl >= 0 else None,
                length=measured.get(i),
                encoding=None
                if isinstance(encoding, ResponseError) or encoding is None
                else _text(encoding),
            )
        )
    return infos


@dataclass(frozen=True, slots=True)
class MemoryUsage:
    """``MEMORY USAGE`` of one key: bytes, or why there is no number."""

    bytes: int | None
    refused: str | None = None
    """The server's error when it refuses MEMORY USAGE (an ACL, a managed service)."""


async def memory_usage(
    client: RedisClient, keys: Sequence[bytes], *, samples: int | None = None
) -> list[MemoryUsage]:
    """``MEMORY USAGE key [SAMPLES n]`` for each key, in one pipeline.

    Ask on demand: it is O(n) in the elements sampled.

    A refusal (NOPERM, unknown command) is reported per key in
    :attr:`MemoryUsage.refused`, never raised; a key that is gone has ``bytes=None``.
    """
    commands = [
        (b"MEMORY", b"USAGE", key)
        if samples is None
        else (b"MEMORY", b"USAGE", key, b"SAMPLES", b"%d" % samples)
        for key in keys
    ]
    if not commands:
        return []
    replies = await _keyed(client, commands)
    return [
        MemoryUsage(None, error_reply(reply).message.decode("utf-8", "replace"))
        if isinstance(reply, ResponseError)
        else MemoryUsage(_int_or_none(reply))
        for reply in replies
    ]


# ---------------------------------------------------------------- values, a page at a time


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A window on a value: its items, where the next window starts, the value's size."""

    items: list[T]
    next: Any
    """Pass it back for the next page (a SCAN cursor, an index, a stream id); ``None``: the end."""
    total: int | None
    """The value's length when it was read (HLEN, LLEN...)."""


@dataclass(frozen=True, slots=True)
class StringValue:
    """A string value, read up to a limit, decoded as session attributes are."""

    data: bytes
    length: int
    """STRLEN: the full length."""
    truncated: bool
    decoded: Decoded


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One stream entry: its id and its field/value pairs."""

    id: bytes
    fields: list[tuple[bytes, bytes]]


def _pair_list(reply: Any) -> list[tuple[bytes, bytes]]:
    if isinstance(reply, dict):
        return list(reply.items())
    items = list(reply or [])
    return list(zip(items[::2], items[1::2], strict=False))


async def read_string(client: RedisClient, key: bytes, *, limit: int = STRING_LIMIT) -> StringValue:
    """The string's first ``limit`` bytes (GETRANGE) and its length, decoded.

    A value longer than the limit is marked truncated; the decoders then see a
    cut value and say so (never an exception).
    """
    async with round_trip():
        data, length = await run_pipeline(
            client, [(b"GETRANGE", key, b"0", b"%d" % (limit - 1)), (b"STRLEN", key)]
        )
    for reply, name in ((data, "GETRANGE"), (length, "STRLEN")):
        if isinstance(reply, ResponseError):
            raise describe_failure(reply, client.settings, command=name) from reply
    raw = bytes(data or b"")
    return StringValue(raw, int(length), int(length) > len(raw), decode_value(raw))


async def _scan_page(
    client: RedisClient, command: str, key: bytes, cursor: int, count: int, match: bytes | None
) -> tuple[int, Any]:
    method = getattr(client, command)
    async with round_trip():
        try:
            next_cursor, items = await method(key, cursor, match=match, count=count)
        except ResponseError as exc:
            raise describe_failure(exc, client.settings, command=command.upper()) from exc
    return int(next_cursor), items


async def _length(client: RedisClient, command: bytes, key: bytes) -> int | None:
    async with round_trip():
        (reply,) = await run_pipeline(client, [(command, key)])
    return _int_or_none(reply)


async def read_hash(
    client: RedisClient,
    key: bytes,
    *,
    cursor: int = 0,
    count: int = DEFAULT_PAGE,
    match: bytes | None = None,
) -> Page[tuple[bytes, bytes]]:
    """A page of fields and values (HSCAN).

    Small hashes come whole in one page (the server ignores COUNT for them);
    HSCAN may repeat a field across pages.
    """
    next_cursor, items = await _scan_page(client, "hscan", key, cursor, count, match)
    total = await _length(client, b"HLEN", key) if cursor == 0 else None
    return Page(_pair_list(items), next_cursor or None, total)


async def read_set(
    client: RedisClient,
    key: bytes,
    *,
    cursor: int = 0,
    count: int = DEFAULT_PAGE,
    match: bytes | None = None,
) -> Page[bytes]:
    """A page of members (SSCAN); like HSCAN, a member may come twice."""
    next_cursor, items = await _scan_page(client, "sscan", key, cursor, count, match)
    total = await _length(client, b"SCARD", key) if cursor == 0 else None
    return Page([bytes(item) for item in items], next_cursor or None, total)


async def read_list(
    client: RedisClient, key: bytes, *, start: int = 0, count: int = DEFAULT_PAGE
) -> Page[bytes]:
    """Elements ``start`` to ``start + count - 1`` (LRANGE) and the length (LLEN)."""
    async with round_trip():
        items, total = await run_pipeline(
            client,
            [(b"LRANGE", key, b"%d" % start, b"%d" % (start + count - 1)), (b"LLEN", key)],
        )
    if isinstance(items, ResponseError):
        raise describe_failure(items, client.settings, command="LRANGE") from items
    length = _int_or_none(total)
    end = start + len(items)
    more = length is not None and end < length
    return Page([bytes(item) for item in items], end if more else None, length)


async def read_zset(
    client: RedisClient, key: bytes, *, start: int = 0, count: int = DEFAULT_PAGE
) -> Page[tuple[bytes, bytes]]:
    """Members ``start`` to ``start + count - 1`` by rank, with their scores, and ZCARD.

    Scores are the server's text (``ZRANGE ... WITHSCORES``).
    """
    async with round_trip():
        items, total = await run_pipeline(
            client,
            [
                (b"ZRANGE", key, b"%d" % start, b"%d" % (start + count - 1), b"WITHSCORES"),
                (b"ZCARD", key),
            ],
        )
    if isinstance(items, ResponseError):
        raise describe_failure(items, client.settings, command="ZRANGE") from items
    pairs = [(bytes(member), _score_text(score)) for member, score in _pair_list(items)]
    length = _int_or_none(total)
    end = start + len(pairs)
    return Page(pairs, end if length is not None and end < length else None, length)


def _score_text(score: Any) -> bytes:
    if isinstance(score, bytes):
        return score
    return repr(float(score)).encode()  # a cluster pipeline parsed it (redis-py's float)


def _after(entry_id: bytes) -> bytes:
    """The smallest stream id after ``entry_id`` (XRANGE's exclusive ``(`` needs Redis 6.2)."""
    ms, _, seq = entry_id.partition(b"-")
    if int(seq or 0) < 2**64 - 1:
        return b"%d-%d" % (int(ms), int(seq or 0) + 1)
    return b"%d-0" % (int(ms) + 1)


async def read_stream(
    client: RedisClient, key: bytes, *, after: bytes | None = None, count: int = 100
) -> Page[StreamEntry]:
    """Entries after ``after`` (from the start when ``None``), oldest first, and XLEN.

    ``XRANGE ... COUNT``; the next page starts after the last id returned.
    """
    start = b"-" if after is None else _after(after)
    async with round_trip():
        items, total = await run_pipeline(
            client, [(b"XRANGE", key, start, b"+", b"COUNT", b"%d" % count), (b"XLEN", key)]
        )
    if isinstance(items, ResponseError):
        raise describe_failure(items, client.settings, command="XRANGE") from items
    entries = [StreamEntry(bytes(entry_id), _pair_list(fields)) for entry_id, fields in items or []]
    last = entries[-1].id if len(entries) == count else None
    return Page(entries, last, _int_or_none(total))


# ---------------------------------------------------------------- writes (opt-in)


class WritesDisabled(Failure):
    """A write was attempted without ``--allow-writes``."""

    def __init__(self, what: str) -> None:
        super().__init__(Problem.USAGE, f"{what} is a write; start with --allow-writes to allow it")


class KeyWriter:
    """The key browser's writes: each one explicit command, none unless allowed.

    Args:
        client: A connected client.
        allow_writes: ``--allow-writes``. Without it every method raises
            :class:`WritesDisabled` before anything is sent.
    """

    def __init__(self, client: RedisClient, *, allow_writes: bool) -> None:
        self.client = client
        self.allow_writes = allow_writes

    async def _write(self, what: str, command: tuple[bytes, ...]) -> Any:
        if not self.allow_writes:
            raise WritesDisabled(what)
        async with round_trip():
            (reply,) = await run_pipeline(self.client, [command])
        if isinstance(reply, ResponseError):
            name = command[0].decode()
            raise describe_failure(reply, self.client.settings, command=name) from reply
        return reply

    async def delete(self, key: bytes) -> bool:
        """UNLINK the key (freed in the background, so a big key does not block the server).

        Returns:
            Whether it existed.
        """
        return bool(await self._write("deleting a key", (b"UNLINK", key)))

    async def set_ttl(self, key: bytes, seconds: float) -> bool:
        """PEXPIRE the key in ``seconds`` (millisecond precision).

        Returns:
            Whether the key exists (and now expires).
        """
        milliseconds = max(1, round(seconds * 1000))
        return bool(await self._write("setting a TTL", (b"PEXPIRE", key, b"%d" % milliseconds)))

    async def remove_ttl(self, key: bytes) -> bool:
        """PERSIST the key. Returns whether it had a TTL."""
        return bool(await self._write("removing a TTL", (b"PERSIST", key)))

    async def set_string(self, key: bytes, value: bytes) -> None:
        """``SET key value KEEPTTL``: a new value, the same expiry (Redis 6.0+)."""
        await self._write("editing a string", (b"SET", key, value, b"KEEPTTL"))

    async def set_hash_field(self, key: bytes, name: bytes, value: bytes) -> bool:
        """HSET one field. Returns whether the field is new."""
        return bool(await self._write("editing a hash field", (b"HSET", key, name, value)))
