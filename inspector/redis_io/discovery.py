"""Find Spring sessions: SCAN every primary, read candidates in pipelines, stream batches.

One pass over the keyspace with ``SCAN ... COUNT 1000`` (never KEYS), on every
primary in cluster mode. Key names are classified by
:func:`inspector.core.spring.classify_key`; session candidates are read by a
*record reader* with non-transactional pipelines and confirmed by their
fields, so a string or set that merely looks like a session key is skipped (it
answers WRONGTYPE). Batches of sessions are yielded as soon as they are read:
the first ones are usable long before the scan ends. Nothing here writes.

Two record readers for Spring's hashes:

- :class:`SpringFullReader` (``show``, ``ls --attributes``): ``HGETALL`` and
  the ``PTTL`` of the hash and of its shadow key: every value.
- :class:`SpringProjection` (``ls``, ``stats``): only what a list shows.
  ``HMGET`` of the three time fields and of the attributes that hold the host
  and the principal (learned from the first sessions, which are read in full,
  or from ``--host-field``), ``HLEN``, and the two ``PTTL`` s. When ``HLEN``
  says the hash has fields the ``HMGET`` did not name, ``HKEYS`` names them and
  one more round trip reads what the list still needs (``HGET`` of the
  attributes the host or principal may be in, ``HSTRLEN`` of the others, for
  the size and the tombstones). Both build the same
  :class:`~inspector.core.session.Session`, with the same list fields.

Given a :class:`~inspector.core.frameworks.Registry`, the same pass also reads
every other framework's sessions (:mod:`inspector.redis_io.framework_reads`)
and counts the keys that match no session store at all.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

from redis import exceptions as rexc
from redis.asyncio import RedisCluster

from inspector.core.collection import BulkLoad
from inspector.core.decoders import decode_value
from inspector.core.frameworks import FrameworkSession, Registry
from inspector.core.session import (
    HostField,
    RawSession,
    Session,
    host_in_attribute,
    json_line,
    listing_json,
)
from inspector.core.spring import (
    ATTRIBUTE_PREFIX,
    DEFAULT_NAMESPACE,
    METADATA_FIELDS,
    PRINCIPAL_INDEX_ATTRIBUTE,
    SECURITY_CONTEXT_ATTRIBUTE,
    KeyKind,
    SpringKey,
    classify_key,
    is_uuid,
    normalize_namespace,
    session_key,
    shadow_key,
)
from inspector.redis_io.client import RedisClient, round_trip
from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.framework_reads import (
    Tally,
    framework_candidates,
    read_framework_sessions,
)
from inspector.redis_io.pipeline import check_replies, first_error, run_packed, run_pipeline

__all__ = [
    "DEFAULT_MAX_VALUE_BYTES",
    "DEFAULT_SCAN_COUNT",
    "MAX_RECONNECTS",
    "RECONNECT_DELAYS",
    "Candidate",
    "Inventory",
    "RecordReader",
    "ScanProgress",
    "SessionScanner",
    "SpringFullReader",
    "SpringProjection",
    "find_session",
    "glob_escape",
    "is_connection_lost",
    "primaries",
    "read_raw_sessions",
    "scan_keys",
    "session_candidates",
]

DEFAULT_SCAN_COUNT = 1000
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 4.0)
"""Waits before each reconnection in a row; one more loss than there are gives up."""
MAX_RECONNECTS = 50
"""Reconnections in one scan, in all: a link that drops every few pages is not worth more."""

_T = TypeVar("_T")


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection dropped (closed, reset), not that a login failed."""
    if isinstance(exc, rexc.AuthenticationError | rexc.AuthorizationError):
        return False
    return isinstance(
        exc, rexc.ConnectionError | ConnectionResetError | BrokenPipeError | ConnectionAbortedError
    )


READS_AHEAD = 1
"""Pages whose reads are in flight while the caller works on the one before."""
LEARNED_ATTRIBUTES = 8
LEARNED_VALUE_BYTES = 64 << 10
"""An attribute seen longer than this (64 KiB) is never learned (read blind by HMGET)."""
"""At most this many attribute names are learned for the projection's HMGET."""

# `<namespace>:sessions:<uuid>` or `<namespace>:sessions:expires:<uuid>`, the
# namespace being everything before the last ":sessions:" (a UUID has no colon).
_FAST_KEY = re.compile(
    rb"(.+?):sessions:(expires:)?"
    rb"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})",
    re.DOTALL,
)

Candidate = tuple[str, str, str]
"""``(key, namespace, session id)`` of a session candidate, as SCAN named it."""
_Page = tuple[list[Session], list[FrameworkSession], list[bytes]]
"""Spring's sessions, the other frameworks', Spring's as ``ls --json`` lines (``json_lines``)."""


@dataclass(slots=True)
class ScanProgress:
    """How far a scan has come (for progress bars)."""

    keys_scanned: int = 0
    sessions_found: int = 0
    nodes_total: int = 1
    nodes_done: int = 0
    done: bool = False


@dataclass(slots=True)
class Inventory:
    """Everything of Spring's layout the scan saw, beyond the session hashes."""

    kinds: Counter[tuple[str, KeyKind]] = field(default_factory=Counter)
    """(namespace, kind) -> number of keys."""
    principal_sets: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(namespace, principal, key) of every principal index set."""

    def total(self) -> int:
        """Spring keys counted so far."""
        return sum(self.kinds.values())

    def add(self, key: SpringKey, name: bytes) -> None:
        """Count a classified key; remember principal index sets for later reads."""
        self.kinds[(key.namespace, key.kind)] += 1
        if key.kind is KeyKind.PRINCIPAL_INDEX and key.principal is not None:
            self.principal_sets.append((key.namespace, key.principal, name))


def _decoded_member(member: bytes) -> str:
    """A set member as Spring wrote it: JDK string, JSON string, or plain text."""
    value = decode_value(member).value
    if isinstance(value, str):
        return value
    return member.decode("utf-8", "replace")


def _cursor(value: Any) -> int:
    # RedisCluster answers SCAN on one node with ({node_name: cursor}, keys).
    if isinstance(value, dict):
        value = next(iter(value.values()))
    return int(value)


def _keys(keys: Sequence[bytes | str]) -> list[bytes]:
    # Replies are bytes (no decode_responses); the annotation admits str too.
    return [key if isinstance(key, bytes) else key.encode() for key in keys]


def primaries(client: RedisClient) -> list[Any]:
    """The nodes a keyspace-wide operation must visit: every primary, or ``[None]``."""
    if isinstance(client, RedisCluster):
        return list(client.get_primaries())
    return [None]


async def _scan_page(
    client: RedisClient, node: Any, cursor: int, match: str | None, count: int
) -> tuple[int, list[bytes]]:
    """One SCAN page of one node (``None``: the standalone server), bounded in time."""
    async with round_trip():
        if node is None:
            next_cursor, keys = await client.scan(cursor, match=match, count=count)
            return int(next_cursor), _keys(keys)
        raw_cursor, keys = await client.scan(cursor, match=match, count=count, target_nodes=node)
        return _cursor(raw_cursor), _keys(keys)


async def scan_keys(
    client: RedisClient, node: Any, *, match: str | None, count: int = DEFAULT_SCAN_COUNT
) -> AsyncIterator[list[bytes]]:
    """SCAN one node (``None``: the standalone server) page by page, never KEYS.

    Each page is bounded by :func:`~inspector.redis_io.client.round_trip`.
    """
    cursor = 0
    while True:
        async with round_trip():
            if node is None:
                cursor, keys = await client.scan(cursor, match=match, count=count)
            else:
                raw_cursor, keys = await client.scan(
                    cursor, match=match, count=count, target_nodes=node
                )
                cursor = _cursor(raw_cursor)
        yield _keys(keys)
        if cursor == 0:
            return


def session_candidates(
    keys: Iterable[bytes],
    *,
    namespace: str | None,
    seen: set[str],
    inventory: Inventory | None = None,
) -> list[tuple[str, str, str]]:
    """The session hashes among SCANned key names, each once.

    Args:
        keys: Key names as SCAN returned them.
        namespace: Only this (normalised) namespace; ``None`` for every one.
        seen: Names already taken; SCAN may return a key twice (while the
            table is rehashed). Updated with the names returned.
        inventory: Counts every Spring key found, when given.

    Returns:
        ``(key, namespace, session id)`` triples, for :func:`read_raw_sessions`.
    """
    candidates = []
    fast = _FAST_KEY.fullmatch
    kinds = inventory.kinds if inventory is not None else None
    for name in keys:
        # Nearly every key of a session store is a session hash or its shadow
        # key: one regex names both, with what classify_key would say (a name
        # holding a principal index segment takes the slow path).
        match = fast(name) if b"PRINCIPAL_NAME_INDEX_NAME" not in name else None
        if match is not None:
            try:
                space = match[1].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if namespace and space != namespace:
                continue
            shadow = match[2] is not None
            if kinds is not None:
                kinds[(space, KeyKind.SHADOW if shadow else KeyKind.SESSION)] += 1
            if not shadow:
                text = name.decode("ascii" if name.isascii() else "utf-8")
                if text not in seen:
                    seen.add(text)
                    candidates.append((text, space, match[3].decode("ascii")))
            continue
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            # Spring writes UTF-8 key names; a lossy decoding would name a key
            # that does not exist.
            continue
        key = classify_key(text)
        if key is None or (namespace and key.namespace != namespace):
            continue
        if inventory is not None:
            inventory.add(key, name)
        if key.kind is KeyKind.SESSION and key.session_id and text not in seen:
            seen.add(text)
            candidates.append((text, key.namespace, key.session_id))
    return candidates


def _hash_ttl(reply: Any) -> int:
    """A session hash's PTTL reply as RawSession holds it (-1 when it is not a number)."""
    return reply if isinstance(reply, int) else -1


def _shadow_ttl(reply: Any) -> int | None:
    """A shadow key's PTTL reply as RawSession holds it (``None`` when the key is gone)."""
    return reply if isinstance(reply, int) and reply != -2 else None


def _with_ttls(read: bytes, candidates: Sequence[Candidate]) -> list[tuple[bytes, ...]]:
    """Per candidate: ``read`` of the hash, PTTL of the hash, PTTL of its shadow key.

    The readers take the replies three by three, in that order.
    """
    commands: list[tuple[bytes, ...]] = []
    for key, namespace, session_id in candidates:
        encoded = key.encode()
        commands.append((read, encoded))
        commands.append((b"PTTL", encoded))
        commands.append((b"PTTL", shadow_key(namespace, session_id).encode()))
    return commands


def _raw_session(
    candidate: Candidate,
    fields: dict[str, bytes],
    hash_ttl: Any,
    shadow_ttl: Any,
    observed: int,
    *,
    value_sizes: dict[str, int] | None = None,
    value_limit: int | None = None,
) -> RawSession:
    """A session hash as read, its two PTTL replies as RawSession holds them.

    One place for every read path (HGETALL, size-bounded, the record readers'
    HMGET), so that they agree on what a missing TTL is.
    """
    key, namespace, session_id = candidate
    return RawSession(
        key=key,
        namespace=namespace,
        session_id=session_id,
        fields=fields,
        hash_ttl_ms=_hash_ttl(hash_ttl),
        shadow_ttl_ms=_shadow_ttl(shadow_ttl),
        observed_at_ms=observed,
        value_sizes=value_sizes,
        value_limit=value_limit,
    )


def _is_session(fields: dict[str, bytes], session_id: str) -> bool:
    """Confirm a hash is a session by its metadata fields, not just its name."""
    present = sum(1 for name in METADATA_FIELDS if name in fields)
    return present == len(METADATA_FIELDS) or (present >= 1 and is_uuid(session_id))


DEFAULT_MAX_VALUE_BYTES = 4 << 20
"""Hash values longer than this (4 MiB) are not read by default: their size is shown."""


async def read_raw_sessions(
    client: RedisClient,
    candidates: Sequence[tuple[str, str, str]],
    *,
    max_value_bytes: int | None = None,
) -> list[RawSession]:
    """Read session hashes with one non-transactional pipeline.

    With ``max_value_bytes``, sizes first: ``HKEYS`` and the ``PTTL`` s, then
    ``HSTRLEN`` of every field, then ``HMGET`` of the values that fit (three
    round trips); longer values are left unread, their sizes in
    ``RawSession.value_sizes``, so memory stays flat however large they are.

    Per candidate: ``HGETALL`` of the hash, ``PTTL`` of the hash and of its
    shadow key (which may live on another node in a cluster).

    Args:
        client: Standalone or cluster client.
        candidates: ``(key, namespace, session id)`` triples.
        max_value_bytes: Leave values longer than this unread; ``None`` reads all.

    Returns:
        The ones that are session hashes, with their TTLs; others (another type,
        gone since the SCAN, a hash without session fields) are dropped.

    Raises:
        Failure: A read was refused (NOPERM for an ACL user without HGETALL...).
    """
    if not candidates:
        return []
    if max_value_bytes is not None:
        return await _read_bounded(client, candidates, max_value_bytes)
    commands = _with_ttls(b"HGETALL", candidates)
    replies = await run_pipeline(client, commands)
    check_replies(client, commands, replies, wrongtype_ok=True)
    observed = int(time.time() * 1000)
    sessions = []
    for index, (_, _, session_id) in enumerate(candidates):
        flat, hash_ttl, shadow_ttl = replies[3 * index : 3 * index + 3]
        if not isinstance(flat, list) or not flat:
            continue  # WRONGTYPE (not a hash) or gone since the SCAN
        fields = {
            flat[i].decode("utf-8", "surrogateescape"): flat[i + 1]
            for i in range(0, len(flat) - 1, 2)
        }
        if not _is_session(fields, session_id):
            continue
        sessions.append(_raw_session(candidates[index], fields, hash_ttl, shadow_ttl, observed))
    return sessions


async def _read_bounded(
    client: RedisClient, candidates: Sequence[tuple[str, str, str]], limit: int
) -> list[RawSession]:
    """:func:`read_raw_sessions` that asks each value's length before reading it."""
    commands = _with_ttls(b"HKEYS", candidates)
    replies = await run_pipeline(client, commands)
    check_replies(client, commands, replies, wrongtype_ok=True)
    names: list[list[bytes]] = [reply if isinstance(reply, list) else [] for reply in replies[0::3]]
    lengths_asked = [
        (b"HSTRLEN", key.encode(), name)
        for (key, _, _), hash_names in zip(candidates, names, strict=True)
        for name in hash_names
    ]
    lengths = await run_pipeline(client, lengths_asked)
    check_replies(client, lengths_asked, lengths, wrongtype_ok=True)
    reads: list[tuple[bytes, ...]] = []
    plans: list[tuple[list[str], dict[str, int]]] = []
    position = 0
    for (key, _, _), hash_names in zip(candidates, names, strict=True):
        fit: list[bytes] = []
        over: dict[str, int] = {}
        for name in hash_names:
            length = lengths[position]
            position += 1
            size = length if isinstance(length, int) else 0
            if size > limit:
                over[name.decode("utf-8", "surrogateescape")] = size
            else:
                fit.append(name)
        plans.append(([n.decode("utf-8", "surrogateescape") for n in fit], over))
        if fit:
            reads.append((b"HMGET", key.encode(), *fit))
    values = await run_pipeline(client, reads)
    check_replies(client, reads, values, wrongtype_ok=True)
    observed = int(time.time() * 1000)
    sessions: list[RawSession] = []
    read_at = 0
    for index, (_, _, session_id) in enumerate(candidates):
        fit_names, over = plans[index]
        got: list[Any] = []
        if fit_names:
            reply = values[read_at]
            read_at += 1
            got = reply if isinstance(reply, list) else []
        fields = {
            name: value
            for name, value in zip(fit_names, got, strict=False)
            if isinstance(value, bytes)  # gone since the HKEYS
        }
        if not fields or not _is_session(fields, session_id):
            continue
        hash_ttl, shadow_ttl = replies[3 * index + 1], replies[3 * index + 2]
        sessions.append(
            _raw_session(
                candidates[index],
                fields,
                hash_ttl,
                shadow_ttl,
                observed,
                value_sizes=over or None,
                value_limit=limit if over else None,
            )
        )
    return sessions


class RecordReader(Protocol):
    """Reads one kind of session record for a batch of candidates.

    A reader sends its own pipelines (as few round trips as it can), drops
    the candidates that turn out not to be its kind of session, and returns
    the others as :class:`~inspector.core.session.Session` s in candidate order.
    """

    async def read(self, client: RedisClient, candidates: Sequence[Candidate]) -> list[Session]:
        """The sessions among ``candidates``, read and decoded for a list."""
        ...


class SpringFullReader:
    """Spring hashes read whole: ``HGETALL`` + ``PTTL`` of the hash and its shadow key.

    Args:
        host_field: Where to read the host (``--host-field``).
        max_value_bytes: Values longer than this are not read (``None``: all are).
    """

    def __init__(
        self,
        host_field: HostField | None = None,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self.host_field = host_field
        self.max_value_bytes = max_value_bytes

    async def read(self, client: RedisClient, candidates: Sequence[Candidate]) -> list[Session]:
        """Every value of each session, decoded lazily (see :func:`read_raw_sessions`)."""
        host_field = self.host_field
        raws = await read_raw_sessions(client, candidates, max_value_bytes=self.max_value_bytes)
        return [Session.from_raw(raw, host_field=host_field) for raw in raws]


def _path_prefixes(path: str) -> list[str]:
    """Every attribute name ``--host-field`` can start with: ``a``, ``a.b``, ``a.b.c``..."""
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _principal_known(fields: dict[str, bytes]) -> bool:
    """Whether the principal index attribute alone gives the principal (a non-empty string)."""
    data = fields.get(ATTRIBUTE_PREFIX + PRINCIPAL_INDEX_ATTRIBUTE)
    if not data:
        return False
    value = decode_value(data).value
    return isinstance(value, str) and bool(value)


class SpringProjection:
    """Spring hashes read for a list: the time fields, the host and principal attributes.

    Per session, one round trip in the common case: ``HMGET`` of the three
    time fields and of the learned attributes, ``HLEN``, ``PTTL`` of the hash
    and of its shadow key. A hash with more fields than were named gets two
    more, for the sessions concerned only: ``HKEYS``, then ``HGET`` of every
    attribute the host rule or the principal rule of
    :class:`~inspector.core.session.Session` would look at, and ``HSTRLEN``
    of the rest. The list fields are then exactly those of a full read.

    Args:
        host_field: Where to read the host (``--host-field``): the attributes on
            that path are read, nothing is learned.
        attributes: Attribute names (without ``sessionAttr:``) to read, besides
            what :meth:`learn` adds.
    """

    def __init__(
        self,
        host_field: HostField | None = None,
        attributes: Iterable[str] = (),
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self.host_field = host_field
        self.max_value_bytes = max_value_bytes
        names = list(attributes)
        if host_field is not None:
            names.extend(_path_prefixes(host_field.path))
        self._attributes: list[str] = []
        self._fields: tuple[str, ...] = ()
        self._args: tuple[bytes, ...] = ()
        self.learned = False
        self._set(names)

    @property
    def attributes(self) -> list[str]:
        """The attribute names the ``HMGET`` reads."""
        return list(self._attributes)

    def _set(self, names: Iterable[str]) -> None:
        unique = list(dict.fromkeys(names))
        self._attributes = unique
        self._fields = (*METADATA_FIELDS, *(ATTRIBUTE_PREFIX + name for name in unique))
        self._args = tuple(name.encode("utf-8", "surrogateescape") for name in self._fields)
        # One session's four commands in RESP, but for its key and shadow key:
        # a thousand of them are one bytes format each, not four tuples packed.
        fields = b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in self._args)
        self._template = (
            b"*%d\r\n$5\r\nHMGET\r\n" % (len(self._args) + 2)
            + b"$%d\r\n%s\r\n"
            + fields.replace(b"%", b"%%")
            + b"*2\r\n$4\r\nHLEN\r\n$%d\r\n%s\r\n"
            + b"*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n"
            + b"*2\r\n$4\r\nPTTL\r\n$%d\r\n%s\r\n"
        )

    def learn(self, sessions: Iterable[Session]) -> None:
        """Learn from fully read sessions which attributes the list needs.

        Those the host was found in, and every attribute the host rule looks at
        before it (it looks at them in name order); ``SPRING_SECURITY_CONTEXT``
        when the principal came from it (the principal index attribute sorts
        before most, and is then read too). The most common few are kept,
        never one whose value was long (over :data:`LEARNED_VALUE_BYTES`, or
        left unread): the ``HMGET`` reads learned values without asking their
        lengths, so a big one is measured first by the follow-up instead.
        """
        self.learned = True
        if self.host_field is not None:
            return
        seen: Counter[str] = Counter()
        long: set[str] = set()
        for session in sessions:
            names = sorted(session.attribute_names)
            source = session.host_source
            if source in names:
                names = names[: names.index(source) + 1]
            seen.update(names)
            raw = session.raw
            long.update(
                name[len(ATTRIBUTE_PREFIX) :]
                for name, value in raw.fields.items()
                if len(value) > LEARNED_VALUE_BYTES
            )
            if raw.value_sizes:
                long.update(name[len(ATTRIBUTE_PREFIX) :] for name in raw.value_sizes)
        for name in long:
            seen.pop(name, None)
            if SECURITY_CONTEXT_ATTRIBUTE in session.attribute_names and not _principal_known(
                dict(session.raw.fields)
            ):
                seen[SECURITY_CONTEXT_ATTRIBUTE] += 1
        learned = [name for name, _ in seen.most_common(LEARNED_ATTRIBUTES)]
        self._set([*self._attributes, *learned])

    async def read(self, client: RedisClient, candidates: Sequence[Candidate]) -> list[Session]:
        """The sessions among ``candidates``, with every list field.

        Raises:
            Failure: A read was refused (NOPERM for an ACL user without HMGET...).
        """
        host_field = self.host_field
        raws = await self.read_raw(client, candidates)
        return [Session.from_raw(raw, host_field=host_field) for raw in raws]

    async def read_raw(
        self, client: RedisClient, candidates: Sequence[Candidate]
    ) -> list[RawSession]:
        """What :meth:`read` decodes: the sessions among ``candidates``, as read.

        Raises:
            Failure: A read was refused (NOPERM for an ACL user without HMGET...).
        """
        if not candidates:
            return []
        names = self._fields
        if isinstance(client, RedisCluster):
            commands = self._commands(candidates)
            replies = await run_pipeline(client, commands)
            check_replies(client, commands, replies, wrongtype_ok=True)
        else:
            template = self._template
            parts: list[bytes] = []
            append = parts.append
            for key, namespace, session_id in candidates:
                encoded = key.encode()
                shadow = f"{namespace}:sessions:expires:{session_id}".encode()
                n = len(encoded)
                append(template % (n, encoded, n, encoded, n, encoded, len(shadow), shadow))
            replies = await run_packed(client, b"".join(parts), 4 * len(candidates))
            if first_error(replies, wrongtype_ok=True) is not None:
                check_replies(client, self._commands(candidates), replies, wrongtype_ok=True)
        observed = int(time.time() * 1000)
        results: list[RawSession | None] = []
        partial: list[tuple[int, dict[str, bytes]]] = []
        for index, (_, _, session_id) in enumerate(candidates):
            values, length, hash_ttl, shadow_ttl = replies[4 * index : 4 * index + 4]
            if not isinstance(values, list):
                results.append(None)
                continue  # WRONGTYPE: not a hash
            fields = {
                name: value for name, value in zip(names, values, strict=True) if value is not None
            }
            if not fields or not _is_session(fields, session_id):
                results.append(None)
                continue
            if length != len(fields):
                partial.append((index, fields))
            results.append(_raw_session(candidates[index], fields, hash_ttl, shadow_ttl, observed))
        if partial:
            await self._complete(client, results, partial)
        return [raw for raw in results if raw is not None]

    def _commands(self, candidates: Sequence[Candidate]) -> list[tuple[bytes, ...]]:
        """The commands :meth:`read` sends first, as tuples (cluster, error messages)."""
        args = self._args
        commands: list[tuple[bytes, ...]] = []
        for key, namespace, session_id in candidates:
            encoded = key.encode()
            commands.append((b"HMGET", encoded, *args))
            commands.append((b"HLEN", encoded))
            commands.append((b"PTTL", encoded))
            commands.append((b"PTTL", shadow_key(namespace, session_id).encode()))
        return commands

    async def _complete(
        self,
        client: RedisClient,
        results: list[RawSession | None],
        partial: list[tuple[int, dict[str, bytes]]],
    ) -> None:
        """Name every field of the hashes the HMGET did not cover; read what the list needs.

        With ``max_value_bytes``, the values the host and principal rules need
        are measured (``HSTRLEN``) before they are read, one more round trip for
        the sessions that need any.
        """
        limit = self.max_value_bytes
        keys = [(b"HKEYS", _raw_key(results[index]).encode()) for index, _ in partial]
        all_names = await run_pipeline(client, keys)
        check_replies(client, keys, all_names, wrongtype_ok=True)
        plans: list[tuple[int, list[str], list[str], list[str]]] = []
        commands: list[tuple[bytes, ...]] = []
        measured: list[tuple[int, str]] = []
        for (index, fields), reply in zip(partial, all_names, strict=True):
            if not isinstance(reply, list):
                continue  # replaced by another type since: keep what was read
            if not reply:
                results[index] = None  # deleted since the HMGET: gone, as a full read says
                continue
            order = [name.decode("utf-8", "surrogateescape") for name in reply]
            fetch = self._needed(order, fields)
            sizes = [name for name in order if name not in fields and name not in fetch]
            encoded = _raw_key(results[index]).encode()
            if limit is not None:
                # Lengths first, so a value over --max-value-bytes is never sent.
                measured.extend((index, name) for name in fetch)
                sizes = [*fetch, *sizes]
                fetch = []
            for name in fetch:
                commands.append((b"HGET", encoded, name.encode("utf-8", "surrogateescape")))
            for name in sizes:
                commands.append((b"HSTRLEN", encoded, name.encode("utf-8", "surrogateescape")))
            plans.append((index, order, fetch, sizes))
        replies = await run_pipeline(client, commands)
        check_replies(client, commands, replies, wrongtype_ok=True)
        position = 0
        reads: dict[int, dict[str, bytes]] = {}
        all_lengths: dict[int, dict[str, int]] = {}
        for index, _, fetch, sizes in plans:
            raw = results[index]
            assert raw is not None
            read = dict(raw.fields)
            for name in fetch:
                value = replies[position]
                position += 1
                if isinstance(value, bytes):
                    read[name] = value
            lengths: dict[str, int] = {}
            for name in sizes:
                length = replies[position]
                position += 1
                if isinstance(length, int):
                    lengths[name] = length
            reads[index] = read
            all_lengths[index] = lengths
        if measured:
            assert limit is not None
            wanted = [
                (i, name) for i, name in measured if all_lengths[i].get(name, limit + 1) <= limit
            ]
            await _fetch_within(client, results, wanted, reads, all_lengths)
        for index, order, _, _ in plans:
            raw = results[index]
            assert raw is not None
            read = reads[index]
            lengths = all_lengths[index]
            # Hash order, as HGETALL gives it; a field deleted since is left out.
            results[index] = RawSession(
                key=raw.key,
                namespace=raw.namespace,
                session_id=raw.session_id,
                fields={name: read[name] for name in order if name in read},
                hash_ttl_ms=raw.hash_ttl_ms,
                shadow_ttl_ms=raw.shadow_ttl_ms,
                observed_at_ms=raw.observed_at_ms,
                value_sizes={name: lengths[name] for name in order if name in lengths} or None,
                value_limit=_limit_hit(limit, lengths),
            )

    def _needed(self, order: Sequence[str], fields: dict[str, bytes]) -> list[str]:
        """Fields not read yet whose values the host or principal rule may look at."""
        needed: list[str] = []
        if self.host_field is None:
            # The host is in the first attribute, in name order, that holds one.
            attributes = sorted(
                name[len(ATTRIBUTE_PREFIX) :] for name in order if name.startswith(ATTRIBUTE_PREFIX)
            )
            for attribute in attributes:
                name = ATTRIBUTE_PREFIX + attribute
                value = fields.get(name)
                if value is None:
                    needed.append(name)
                elif host_in_attribute(attribute, value):
                    break
        # The principal: the index attribute, else the security context.
        index = ATTRIBUTE_PREFIX + PRINCIPAL_INDEX_ATTRIBUTE
        if index in order and index not in fields and index not in needed:
            needed.append(index)
        context = ATTRIBUTE_PREFIX + SECURITY_CONTEXT_ATTRIBUTE
        if (
            context in order
            and context not in fields
            and context not in needed
            and not _principal_known(fields)
        ):
            needed.append(context)
        return needed


async def _fetch_within(
    client: RedisClient,
    results: Sequence[RawSession | None],
    wanted: Sequence[tuple[int, str]],
    reads: dict[int, dict[str, bytes]],
    lengths: dict[int, dict[str, int]],
) -> None:
    """``HGET`` the ``(result index, field)`` s in ``wanted`` (measured within the limit).

    What is read moves from ``lengths`` to ``reads``; the values longer than
    the limit stay sizes, shown as not read (``--max-value-bytes``).
    """
    if not wanted:
        return
    commands = [
        (b"HGET", _raw_key(results[index]).encode(), name.encode("utf-8", "surrogateescape"))
        for index, name in wanted
    ]
    replies = await run_pipeline(client, commands)
    check_replies(client, commands, replies, wrongtype_ok=True)
    for (index, name), value in zip(wanted, replies, strict=True):
        if isinstance(value, bytes):
            reads[index][name] = value
            lengths[index].pop(name, None)


def _limit_hit(limit: int | None, lengths: dict[str, int]) -> int | None:
    """``limit`` when a value was left unread for being longer (``RawSession.value_limit``)."""
    if limit is None or not any(size > limit for size in lengths.values()):
        return None
    return limit


def _raw_key(raw: RawSession | None) -> str:
    assert raw is not None
    return raw.key


class SessionScanner:
    """Streams every session of a keyspace, batch by batch.

    Args:
        client: From :func:`inspector.redis_io.client.open_client`.
        namespace: Only this namespace (``spring:session``); ``None`` finds all.
        count: SCAN's COUNT hint.
        host_field: Where to read the host (``--host-field``).
        registry: Other frameworks' adapters to read in the same pass
            (:meth:`mixed_batches`); ``None``: Spring's sessions only.
        spring: Whether Spring's sessions are read (``--framework`` may leave them out).
        projection: Read only what a list shows of Spring's sessions
            (:class:`SpringProjection`): the first ones are read in full and
            teach it where the host is. ``False`` reads every value
            (:class:`SpringFullReader`).
        light: Read only what a list shows of the other frameworks' sessions too
            (their adapters' ``parse_light``); defaults to ``projection``.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        namespace: str | None = None,
        count: int = DEFAULT_SCAN_COUNT,
        host_field: HostField | None = None,
        registry: Registry | None = None,
        spring: bool = True,
        projection: bool = False,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
        light: bool | None = None,
    ) -> None:
        self.client = client
        self.namespace = normalize_namespace(namespace) if namespace else None
        self.count = count
        self.host_field = host_field
        self.registry = registry
        self.spring = spring
        self.progress = ScanProgress()
        self.inventory = Inventory()
        self.tally = Tally()
        """Framework keys that could not be read, and keys matching no store."""
        self.full_reader = SpringFullReader(host_field, max_value_bytes)
        self.projection: SpringProjection | None = (
            SpringProjection(host_field, max_value_bytes=max_value_bytes) if projection else None
        )
        self.light = projection if light is None else light
        self.json_lines = False
        """Set by ``ls --json``: once the projection has learned, Spring's sessions
        come as their JSON lines (:func:`~inspector.core.session.listing_json`),
        in :meth:`json_pages`, without a :class:`Session` built for each."""
        self.reconnects = 0
        """Times the connection was lost and the scan went on over a new one."""
        self.notice: Callable[[str], None] | None = None
        """Told (one line) each time the scan reconnects."""
        self.unread_candidates = 0
        """Sessions found by name whose read was given up."""
        self._in_a_row = 0
        self._pending = 0
        self._given_up: tuple[str, BaseException] | None = None

    async def _again(self, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """``call()``; when the connection drops, reconnect (a bounded number of times).

        SCAN's cursor lives in the client, so a page is asked again with the
        same cursor over the new connection; reads are idempotent. The pool
        opens the new connection on the next command.

        Raises:
            Failure: Lost once more than :data:`RECONNECT_DELAYS` allows in a row
                (or :data:`MAX_RECONNECTS` in all): how far it got, what was not read.
        """
        while True:
            try:
                result = await call()
            except Exception as exc:
                if not is_connection_lost(exc):
                    raise
                if self._in_a_row >= len(RECONNECT_DELAYS) or self.reconnects >= MAX_RECONNECTS:
                    raise self._gave_up(what, exc) from exc
                delay = RECONNECT_DELAYS[self._in_a_row]
                self._in_a_row += 1
                self.reconnects += 1
                if self.notice is not None:
                    self.notice(
                        f"connection to {self.client.settings.endpoint} lost during {what} "
                        f"after {self.progress.keys_scanned:,} keys ({exc or type(exc).__name__});"
                        f" reconnecting in {delay:g}s and going on where it stopped"
                    )
                await asyncio.sleep(delay)
                continue
            self._in_a_row = 0
            return result

    def _gave_up(self, what: str, exc: BaseException) -> Failure:
        self._given_up = (what, exc)
        unread = self.unread_candidates + self._pending
        progress = self.progress
        left = progress.nodes_total - progress.nodes_done
        return Failure(
            Problem.CLOSED,
            f"connection to {self.client.settings.endpoint} lost during {what} "
            f"({exc or type(exc).__name__}); gave up after {self.reconnects} reconnection(s): "
            f"{progress.sessions_found:,} sessions read from {progress.keys_scanned:,} keys "
            f"scanned; {unread:,} sessions found could not be read, and the "
            f"rest of the keyspace ({left} of {progress.nodes_total} node(s) unfinished) "
            "was not scanned",
        )

    async def _scan_node(self, node: Any) -> AsyncIterator[list[bytes]]:
        # A namespace names Spring's keys; the other frameworks' are found by name.
        match = f"{self.namespace}:*" if self.namespace and self.registry is None else None

        def page(cursor: int) -> asyncio.Future[tuple[int, list[bytes]]]:
            scan = partial(_scan_page, self.client, node, cursor, match, self.count)
            return asyncio.ensure_future(self._again("SCAN", scan))

        # The next page is asked for as soon as its cursor is known, so its
        # round trip overlaps the work on this one.
        ahead = page(0)
        try:
            while True:
                cursor, keys = await ahead
                if cursor:
                    ahead = page(cursor)
                self.progress.keys_scanned += len(keys)
                yield keys
                if cursor == 0:
                    return
        finally:
            ahead.cancel()

    async def raw_batches(self) -> AsyncIterator[list[RawSession]]:
        """Raw Spring sessions as read, one list per SCAN batch that found any.

        With ``projection`` later batches hold only the values a list needs.
        """
        async for batch, _, _ in self._pages():
            if batch:
                yield [session.raw for session in batch]

    async def candidate_batches(self) -> AsyncIterator[list[Candidate]]:
        """Spring's session candidates, one list per SCAN page that named any (nothing read)."""
        nodes = primaries(self.client)
        self.progress.nodes_total = len(nodes)
        seen: set[str] = set()
        for node in nodes:
            async for keys in self._scan_node(node):
                candidates = session_candidates(
                    keys, namespace=self.namespace, seen=seen, inventory=self.inventory
                )
                if candidates:
                    yield candidates
            self.progress.nodes_done += 1
        self.progress.done = True

    async def _read_spring(
        self, candidates: Sequence[Candidate]
    ) -> tuple[list[Session], list[bytes]]:
        projection = self.projection
        if projection is None or not projection.learned:
            batch = await self.full_reader.read(self.client, candidates)
            if projection is not None and batch:
                projection.learn(batch)
            return batch, []
        if self.json_lines:
            raws = await projection.read_raw(self.client, candidates)
            host_field = self.host_field
            return [], [json_line(listing_json(raw, host_field=host_field)) for raw in raws]
        return await projection.read(self.client, candidates), []

    async def _read_page(self, candidates: list[Candidate], found: list[Any] | None) -> _Page:
        registry = self.registry
        if registry is None or found is None:
            batch, lines = await self._read_spring(candidates)
            return batch, [], lines
        # Both reads in flight at once: two pipelines, one round trip's wait.
        (batch, lines), others = await asyncio.gather(
            self._read_spring(candidates),
            read_framework_sessions(
                self.client,
                found,
                registry,
                self.tally,
                host_field=self.host_field,
                light=self.light,
            ),
        )
        return batch, others, lines

    async def _pages(self) -> AsyncIterator[_Page]:
        """Per SCAN page that found any: Spring's sessions and the other frameworks'.

        The reads of one page are sent before the previous page is handed
        over, so the server works on them while the caller works on that one.
        """
        nodes = primaries(self.client)
        self.progress.nodes_total = len(nodes)
        pending: deque[tuple[asyncio.Future[_Page], int]] = deque()
        load = BulkLoad()
        load.__enter__()
        try:
            try:
                async for page in self._scan_and_read(nodes, pending, load):
                    yield page
            except Failure:
                if self._given_up is None:
                    raise
                # Given up on the connection: the reads already in flight may
                # still arrive over theirs, so what was read is handed over first.
                while pending:
                    try:
                        page = await self._next(pending)
                    except Exception:
                        break
                    if page[0] or page[1] or page[2]:
                        yield page
                raise self._gave_up(*self._given_up) from None
            while pending:
                page = await self._next(pending)
                if page[0] or page[1] or page[2]:
                    yield page
        finally:
            load.__exit__(None, None, None)
            for future, _ in pending:
                future.cancel()
        self.progress.done = True

    async def _scan_and_read(
        self, nodes: list[Any], pending: deque[tuple[asyncio.Future[_Page], int]], load: BulkLoad
    ) -> AsyncIterator[_Page]:
        """SCAN every node, queue each page's reads, hand over pages READS_AHEAD behind."""
        seen: set[str] = set()
        framework_seen: set[str] = set()
        registry = self.registry
        for node in nodes:
            async for keys in self._scan_node(node):
                spring_before = self.inventory.total()
                self.tally.count_names(keys)
                candidates = (
                    session_candidates(
                        keys, namespace=self.namespace, seen=seen, inventory=self.inventory
                    )
                    if self.spring
                    else []
                )
                found = None
                if registry is not None:
                    found, recognised = framework_candidates(
                        keys, registry, seen=framework_seen, tally=self.tally
                    )
                    spring_keys = self.inventory.total() - spring_before
                    self.tally.not_sessions += max(0, len(keys) - spring_keys - recognised)
                if not candidates and not found:
                    continue
                count = len(candidates) + len(found or ())
                self._pending += count  # what a lost connection leaves unread
                read = partial(self._read_page, candidates, found)
                pending.append(
                    (asyncio.ensure_future(self._again("a read of sessions", read)), count)
                )
                # The first page is handed over as soon as it is read (the
                # first line of `ls`); later ones once the next is in flight.
                if len(pending) > (READS_AHEAD if self.progress.sessions_found else 0):
                    page = await self._next(pending)
                    load.tick()
                    if page[0] or page[1] or page[2]:
                        yield page
            self.progress.nodes_done += 1

    async def _next(self, pending: deque[tuple[asyncio.Future[_Page], int]]) -> _Page:
        """The oldest page in flight, once read; counted as found."""
        future, count = pending[0]
        page = await future
        pending.popleft()
        self._pending -= count
        self.progress.sessions_found += len(page[0]) + len(page[1]) + len(page[2])
        return page

    async def batches(self) -> AsyncIterator[list[Session]]:
        """Decoded Spring sessions (times, state, host, principal), one list per batch."""
        async for batch, _, _ in self._pages():
            if batch:
                yield batch

    async def mixed_batches(self) -> AsyncIterator[list[Session | FrameworkSession]]:
        """Spring's decoded sessions and every other framework's, one list per batch.

        Needs a ``registry``; without one this is :meth:`batches`.
        """
        async for batch, others, _ in self._pages():
            mixed: list[Session | FrameworkSession] = list(batch)
            mixed.extend(others)
            yield mixed

    async def json_pages(
        self,
    ) -> AsyncIterator[tuple[list[bytes], list[Session | FrameworkSession]]]:
        """With ``json_lines``: per page, Spring's sessions as JSON lines, or as sessions.

        The first pages (read in full, while the projection learns) come as
        sessions; later ones as lines. Spring's sessions come first either way,
        then the other frameworks', as in :meth:`mixed_batches`.
        """
        async for batch, others, lines in self._pages():
            mixed: list[Session | FrameworkSession] = list(batch)
            mixed.extend(others)
            yield lines, mixed

    def skipped_lines(self) -> list[str]:
        """What the scan passed over or could not read, one line each (after the scan).

        :meth:`Tally.lines`, and first the keys named like Spring's sessions
        that no read kept: another type (a string where a hash belongs) or a
        hash without Spring's fields.
        """
        lines = self.tally.lines()
        named = sum(n for (_, kind), n in self.inventory.kinds.items() if kind is KeyKind.SESSION)
        listed = self.progress.sessions_found - sum(self.tally.sessions.values())
        if self.progress.done and named > listed:
            lines.insert(
                0,
                f"skipped {named - listed:,} key(s) named like Spring sessions that are not "
                "session hashes (another type, or a hash without creationTime/lastAccessedTime/"
                "maxInactiveInterval)",
            )
        return lines

    async def principal_index(self) -> dict[str, str]:
        """Session id -> principal, from the principal index sets the scan saw.

        Call after the scan; reads each set with SMEMBERS in one pipeline.
        """
        sets = self.inventory.principal_sets
        if not sets:
            return {}
        commands = [(b"SMEMBERS", key) for _, _, key in sets]
        replies = await run_pipeline(self.client, commands)
        check_replies(self.client, commands, replies, wrongtype_ok=True)
        owners: dict[str, str] = {}
        for (_, principal, _), members in zip(sets, replies, strict=True):
            if isinstance(members, list):  # not WRONGTYPE
                for member in members:
                    owners[_decoded_member(member)] = principal
        return owners


def glob_escape(text: str) -> str:
    """``text`` with SCAN MATCH's glob characters escaped, so it matches only itself."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


async def find_session(
    client: RedisClient,
    session_id: str,
    *,
    namespace: str | None = None,
    host_field: HostField | None = None,
    scan: bool = True,
    max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
) -> Session | None:
    """Look a session up by id: in the given or default namespace, else by SCAN.

    Args:
        client: A connected client.
        session_id: The id (see :func:`inspector.core.spring.session_id_from_input`).
        namespace: Where to look first; without it ``spring:session`` is tried,
            then every namespace (``SCAN MATCH *sessions:<id>``).
        host_field: Where to read the host.
        scan: Whether to SCAN every namespace when the first read finds nothing.
        max_value_bytes: Values longer than this are not read (their size is said).

    Returns:
        The session, or ``None``.
    """
    first = normalize_namespace(namespace) if namespace else DEFAULT_NAMESPACE
    found = await read_raw_sessions(
        client,
        [(session_key(first, session_id), first, session_id)],
        max_value_bytes=max_value_bytes,
    )
    if not found and namespace is None and scan:
        seen: set[str] = set()
        for node in primaries(client):
            async for keys in scan_keys(client, node, match=f"*sessions:{glob_escape(session_id)}"):
                candidates = session_candidates(keys, namespace=None, seen=seen)
                found = await read_raw_sessions(client, candidates, max_value_bytes=max_value_bytes)
                if found:
                    break
            if found:
                break
    if not found:
        return None
    return Session.from_raw(found[0], host_field=host_field)
