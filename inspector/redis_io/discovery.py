"""Find Spring sessions: SCAN every primary, read candidates in pipelines, stream batches.

One pass over the keyspace with ``SCAN ... COUNT 1000`` (never KEYS), on every
primary in cluster mode. Key names are classified by
:func:`inspector.core.spring.classify_key`; session candidates are read with a
non-transactional pipeline (``HGETALL``, ``PTTL`` of the hash and of its shadow
key) and confirmed by their fields, so a string or set that merely looks like
a session key is skipped (its HGETALL answers WRONGTYPE). Batches of sessions
are yielded as soon as they are read: the first ones are usable long before
the scan ends. Nothing here writes.

Given a :class:`~inspector.core.frameworks.Registry`, the same pass also reads
every other framework's sessions (:mod:`inspector.redis_io.framework_reads`)
and counts the keys that match no session store at all.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import RedisCluster

from inspector.core.decoders import decode_value
from inspector.core.frameworks import FrameworkSession, Registry
from inspector.core.session import HostField, RawSession, Session
from inspector.core.spring import (
    DEFAULT_NAMESPACE,
    METADATA_FIELDS,
    KeyKind,
    SpringKey,
    classify_key,
    is_uuid,
    normalize_namespace,
    session_key,
    shadow_key,
)
from inspector.redis_io.client import RedisClient, round_trip
from inspector.redis_io.framework_reads import (
    Tally,
    framework_candidates,
    read_framework_sessions,
)
from inspector.redis_io.pipeline import check_replies, run_pipeline

__all__ = [
    "DEFAULT_SCAN_COUNT",
    "Inventory",
    "ScanProgress",
    "SessionScanner",
    "find_session",
    "primaries",
    "read_raw_sessions",
    "scan_keys",
    "session_candidates",
]

DEFAULT_SCAN_COUNT = 1000


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
    for name in keys:
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


def _is_session(fields: dict[str, bytes], session_id: str) -> bool:
    """Confirm a hash is a session by its metadata fields, not just its name."""
    present = sum(1 for name in METADATA_FIELDS if name in fields)
    return present == len(METADATA_FIELDS) or (present >= 1 and is_uuid(session_id))


async def read_raw_sessions(
    client: RedisClient, candidates: Sequence[tuple[str, str, str]]
) -> list[RawSession]:
    """Read session hashes with one non-transactional pipeline.

    Per candidate: ``HGETALL`` of the hash, ``PTTL`` of the hash and of its
    shadow key (which may live on another node in a cluster).

    Args:
        client: Standalone or cluster client.
        candidates: ``(key, namespace, session id)`` triples.

    Returns:
        The ones that are session hashes, with their TTLs; others (another type,
        gone since the SCAN, a hash without session fields) are dropped.

    Raises:
        Failure: A read was refused (NOPERM for an ACL user without HGETALL...).
    """
    if not candidates:
        return []
    commands: list[tuple[bytes, ...]] = []
    for key, namespace, session_id in candidates:
        encoded = key.encode()
        commands.append((b"HGETALL", encoded))
        commands.append((b"PTTL", encoded))
        commands.append((b"PTTL", shadow_key(namespace, session_id).encode()))
    replies = await run_pipeline(client, commands)
    check_replies(client, commands, replies, wrongtype_ok=True)
    observed = int(time.time() * 1000)
    sessions = []
    for index, (key, namespace, session_id) in enumerate(candidates):
        flat, hash_ttl, shadow_ttl = replies[3 * index : 3 * index + 3]
        if not isinstance(flat, list) or not flat:
            continue  # WRONGTYPE (not a hash) or gone since the SCAN
        fields = {
            flat[i].decode("utf-8", "surrogateescape"): flat[i + 1]
            for i in range(0, len(flat) - 1, 2)
        }
        if not _is_session(fields, session_id):
            continue
        sessions.append(
            RawSession(
                key=key,
                namespace=namespace,
                session_id=session_id,
                fields=fields,
                hash_ttl_ms=hash_ttl if isinstance(hash_ttl, int) else -1,
                shadow_ttl_ms=(
                    shadow_ttl if isinstance(shadow_ttl, int) and shadow_ttl != -2 else None
                ),
                observed_at_ms=observed,
            )
        )
    return sessions


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

    async def _scan_node(self, node: Any) -> AsyncIterator[list[bytes]]:
        # A namespace names Spring's keys; the other frameworks' are found by name.
        match = f"{self.namespace}:*" if self.namespace and self.registry is None else None
        async for keys in scan_keys(self.client, node, match=match, count=self.count):
            self.progress.keys_scanned += len(keys)
            yield keys

    async def raw_batches(self) -> AsyncIterator[list[RawSession]]:
        """Raw Spring sessions as read, one list per SCAN batch that found any."""
        async for batch, _ in self._pages():
            if batch:
                yield batch

    async def _pages(self) -> AsyncIterator[tuple[list[RawSession], list[FrameworkSession]]]:
        """Per SCAN page that found any: Spring's raw sessions and the other frameworks'."""
        nodes = primaries(self.client)
        self.progress.nodes_total = len(nodes)
        seen: set[str] = set()
        framework_seen: set[str] = set()
        registry = self.registry
        for node in nodes:
            async for keys in self._scan_node(node):
                spring_before = self.inventory.total()
                candidates = (
                    session_candidates(
                        keys, namespace=self.namespace, seen=seen, inventory=self.inventory
                    )
                    if self.spring
                    else []
                )
                if registry is None:
                    batch = await read_raw_sessions(self.client, candidates)
                    others: list[FrameworkSession] = []
                else:
                    found, recognised = framework_candidates(
                        keys, registry, seen=framework_seen, tally=self.tally
                    )
                    spring_keys = self.inventory.total() - spring_before
                    self.tally.not_sessions += max(0, len(keys) - spring_keys - recognised)
                    # Both reads in flight at once: two pipelines, one round trip's wait.
                    batch, others = await asyncio.gather(
                        read_raw_sessions(self.client, candidates),
                        read_framework_sessions(self.client, found, registry, self.tally),
                    )
                self.progress.sessions_found += len(batch) + len(others)
                if batch or others:
                    yield batch, others
            self.progress.nodes_done += 1
        self.progress.done = True

    async def batches(self) -> AsyncIterator[list[Session]]:
        """Decoded Spring sessions (times, state, host, principal), one list per batch."""
        async for batch in self.raw_batches():
            yield [Session.from_raw(raw, host_field=self.host_field) for raw in batch]

    async def mixed_batches(self) -> AsyncIterator[list[Session | FrameworkSession]]:
        """Spring's decoded sessions and every other framework's, one list per batch.

        Needs a ``registry``; without one this is :meth:`batches`.
        """
        async for batch, others in self._pages():
            mixed: list[Session | FrameworkSession] = [
                Session.from_raw(raw, host_field=self.host_field) for raw in batch
            ]
            mixed.extend(others)
            yield mixed

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


async def find_session(
    client: RedisClient,
    session_id: str,
    *,
    namespace: str | None = None,
    host_field: HostField | None = None,
    scan: bool = True,
) -> Session | None:
    """Look a session up by id: in the given or default namespace, else by SCAN.

    Args:
        client: A connected client.
        session_id: The id (see :func:`inspector.core.spring.session_id_from_input`).
        namespace: Where to look first; without it ``spring:session`` is tried,
            then every namespace (``SCAN MATCH *sessions:<id>``).
        host_field: Where to read the host.
        scan: Whether to SCAN every namespace when the first read finds nothing.

    Returns:
        The session, or ``None``.
    """
    first = normalize_namespace(namespace) if namespace else DEFAULT_NAMESPACE
    found = await read_raw_sessions(client, [(session_key(first, session_id), first, session_id)])
    if not found and namespace is None and scan:
        seen: set[str] = set()
        for node in primaries(client):
            async for keys in scan_keys(client, node, match=f"*sessions:{session_id}"):
                candidates = session_candidates(keys, namespace=None, seen=seen)
                found = await read_raw_sessions(client, candidates)
                if found:
                    break
            if found:
                break
    if not found:
        return None
    return Session.from_raw(found[0], host_field=host_field)
