"""Sessions whose id starts with what the user typed: the 8-character ids lists print.

The TUI, ``watch`` and Live print the first 8 characters of an id; ``show``
takes them back. One ``SCAN MATCH *<prefix>*`` per primary lets the server
filter the names (never KEYS), then each name goes through the same
recognisers the listing uses (Spring's key layout, every framework's
adapters) and is kept when its *session id* starts with the prefix: a key
that merely contains the text elsewhere is not a match. The search stops at
:data:`MAX_MATCHES` (enough to say "ambiguous" and list some), so a one-letter
prefix on a million sessions does not read them all. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspector.core.frameworks import FrameworkSession, KeyKind, Registry
from inspector.core.session import HostField, Session
from inspector.core.spring import normalize_namespace
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import (
    DEFAULT_MAX_VALUE_BYTES,
    glob_escape,
    primaries,
    read_raw_sessions,
    scan_keys,
    session_candidates,
)
from inspector.redis_io.framework_reads import (
    Candidate,
    Tally,
    framework_candidates,
    parse_records,
    read_records,
)

__all__ = ["MAX_MATCHES", "PrefixMatch", "find_by_prefix", "read_match"]

MAX_MATCHES = 20
"""The search stops once this many sessions match: past one it is ambiguous anyway."""


@dataclass(frozen=True, slots=True)
class PrefixMatch:
    """A session key whose id starts with the prefix (nothing read yet)."""

    key: str
    framework: str
    session_id: str
    spring: tuple[str, str, str] | None = None
    """Spring's ``(key, namespace, id)`` for :func:`read_raw_sessions`."""
    candidate: Candidate | None = None
    """Another framework's candidate for :func:`read_records`."""


async def find_by_prefix(
    client: RedisClient,
    prefix: str,
    *,
    registry: Registry | None,
    spring: bool,
    namespace: str | None = None,
    limit: int = MAX_MATCHES,
) -> list[PrefixMatch]:
    """The session keys (Spring's and the registry's) whose id starts with ``prefix``.

    Args:
        client: A connected client (standalone or cluster: every primary is scanned).
        prefix: The start of a session id, as typed.
        registry: Other frameworks' adapters (``None``: none).
        spring: Whether Spring's keys count.
        namespace: Only this Spring namespace.
        limit: Stop once this many match.

    Returns:
        At most ``limit`` matches, in the order SCAN gave them.
    """
    space = normalize_namespace(namespace) if namespace else None
    match = f"*{glob_escape(prefix)}*"
    found: list[PrefixMatch] = []
    seen: set[str] = set()
    framework_seen: set[str] = set()
    for node in primaries(client):
        async for keys in scan_keys(client, node, match=match):
            if spring:
                for key, ns, session_id in session_candidates(keys, namespace=space, seen=seen):
                    if session_id.startswith(prefix):
                        found.append(
                            PrefixMatch(key, "spring", session_id, spring=(key, ns, session_id))
                        )
            if registry is not None:
                candidates, _ = framework_candidates(
                    keys, registry, seen=framework_seen, tally=Tally()
                )
                for candidate in candidates:
                    recognised = candidate.recognition.match
                    if recognised.kind is KeyKind.SESSION and recognised.session_id.startswith(
                        prefix
                    ):
                        found.append(
                            PrefixMatch(
                                candidate.key,
                                recognised.framework,
                                recognised.session_id,
                                candidate=candidate,
                            )
                        )
            if len(found) >= limit:
                return found[:limit]
    return found


async def read_match(
    client: RedisClient,
    match: PrefixMatch,
    registry: Registry | None,
    *,
    host_field: HostField | None = None,
    max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
) -> Session | FrameworkSession | None:
    """Read the one session a prefix named (``None``: gone, or not a session after all)."""
    if match.spring is not None:
        raw = await read_raw_sessions(client, [match.spring], max_value_bytes=max_value_bytes)
        return Session.from_raw(raw[0], host_field=host_field) if raw else None
    if match.candidate is None or registry is None:
        return None
    candidates: Sequence[Candidate] = [match.candidate]
    records = await read_records(client, candidates, Tally())
    parsed = parse_records(records, registry, Tally(), host_field=host_field)
    return parsed[0] if parsed else None
