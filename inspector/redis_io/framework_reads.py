"""Every other framework's sessions, in the same SCAN pass as Spring's: recognise, read, parse.

A SCAN page's key names go through the adapters' registry
(:mod:`inspector.core.frameworks`: prefixes and id shapes, no I/O); the keys
named like a framework's session are read in one non-transactional pipeline,
by the type the framework stores them in:

- strings: ``STRLEN``, ``GETRANGE key 0 <bound>`` and ``PTTL`` (a bounded GET in
  the same round trip: a 500 MB value is never pulled to see it is too big);
- hashes: ``HGETALL`` and ``PTTL``, plus the ``PTTL`` of the helper keys an
  adapter reads its expiry from (Micronaut's ``expiry:<id>``).

A key of another type answers ``WRONGTYPE`` and is skipped. Then the value's
first bytes (or the hash's field names) settle who wrote it (``sess:`` is
express or fastify, ``session:`` Flask-Session or redis-actionpack) and the
adapter decodes it. Nothing is silent: :class:`Tally` counts the keys named
like sessions that could not be read (wrong type, too large, bytes that fit no
framework, undecodable), each with one example, and the keys that match no
store at all. Nothing here writes.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inspector.core.frameworks import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    Recognition,
    RedisType,
    Registry,
    parse,
)
from inspector.core.session import HostField
from inspector.core.values import Limits
from inspector.redis_io.client import RedisClient
from inspector.redis_io.pipeline import check_replies, run_pipeline

__all__ = [
    "MAX_VALUE_BYTES",
    "Candidate",
    "Tally",
    "framework_candidates",
    "read_framework_sessions",
    "read_records",
]

MAX_VALUE_BYTES = 4 << 20
"""Largest string value read as a session; a bigger one is counted, never fetched whole."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A key named like one framework's session, to be read."""

    key: str
    recognition: Recognition
    named: tuple[tuple[Adapter, KeyMatch], ...] = ()
    """Every adapter the key's name fits (:meth:`Registry.named` of ``named_by``): a
    read by that registry settles among them without matching the name again."""
    named_by: Registry | None = None


@dataclass(slots=True)
class Tally:
    """What one scan made of the keys that are not Spring's sessions.

    Attributes:
        not_sessions: Keys that match no session store in use (neither Spring's
            layout nor any selected framework's names).
        helpers: Framework bookkeeping keys (locks, expiry keys, indexes) by framework.
        sessions: Sessions listed, by framework.
        unreadable: Keys named like a framework's session that could not be
            listed (wrong type, too large, bytes that fit no framework), by framework.
        undecodable: Sessions listed whose value could not be decoded, by framework.
        examples: One example ``(key, reason)`` per framework for the two above.
        not_utf8: Key names that are not UTF-8: no session store writes them,
            so no reader takes them (``not_utf8_example``: the first one).
    """

    not_sessions: int = 0
    helpers: Counter[str] = field(default_factory=Counter)
    sessions: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)
    undecodable: Counter[str] = field(default_factory=Counter)
    examples: dict[str, tuple[str, str]] = field(default_factory=dict)
    not_utf8: int = 0
    not_utf8_example: bytes = b""

    def count_names(self, keys: Sequence[bytes]) -> None:
        """Count the names of a SCAN page that are not UTF-8 (the ASCII ones cost one test)."""
        for name in keys:
            if not name.isascii():
                try:
                    name.decode("utf-8")
                except UnicodeDecodeError:
                    self.not_utf8 += 1
                    if not self.not_utf8_example:
                        self.not_utf8_example = name[:80]

    def skipped(self, framework: str, key: str, reason: str) -> None:
        """Count a key named like a session that could not be listed."""
        self.unreadable[framework] += 1
        self.examples.setdefault(framework, (key, reason))

    def listed(self, session: FrameworkSession) -> None:
        """Count a session listed (and whether its value could be decoded)."""
        self.sessions[session.framework] += 1
        if not session.readable:
            self.undecodable[session.framework] += 1
            self.examples.setdefault(
                session.framework, (session.key, "value undecodable: " + "; ".join(session.notes))
            )

    def lines(self) -> list[str]:
        """What an operator must be told: keys passed over, keys that could not be read."""
        out = []
        for framework, count in sorted(self.unreadable.items()):
            key, reason = self.examples.get(framework, ("", ""))
            out.append(
                f"{count:,} key(s) named like {framework} sessions could not be listed "
                f"({reason}), e.g. {key}"
            )
        for framework, count in sorted(self.undecodable.items()):
            key, _ = self.examples.get(framework, ("", ""))
            out.append(
                f"{count:,} {framework} session(s) listed with an undecodable value, e.g. {key}"
            )
        if self.not_utf8:
            example = self.not_utf8_example.decode("utf-8", "backslashreplace")
            out.append(
                f"skipped {self.not_utf8:,} key(s) whose name is not UTF-8 (no session store "
                f"writes such names), e.g. {example}"
            )
        # Those names are among the keys matching no store: said once, above.
        passed = self.not_sessions - min(self.not_utf8, self.not_sessions)
        if passed:
            out.append(f"passed over {passed:,} keys matching no session store")
        return out


def framework_candidates(
    keys: Iterable[bytes], registry: Registry, *, seen: set[str], tally: Tally
) -> tuple[list[Candidate], int]:
    """The keys among a SCAN page that some framework's adapter names as its session.

    Args:
        keys: Key names as SCAN returned them.
        registry: The adapters in use.
        seen: Keys already taken (SCAN may return a key twice); updated.
        tally: Counts the framework's helper keys.

    Returns:
        The candidates, and how many keys the registry recognised at all
        (sessions and helpers), for the "passed over" count.
    """
    candidates = []
    recognised = 0
    for name in keys:
        try:
            text = name.decode("utf-8")
        except UnicodeDecodeError:
            continue  # the frameworks write UTF-8 names; a lossy one names no key
        named = registry.named(text)
        found = registry.settle(named) if named else None
        if found is None:
            continue
        recognised += 1
        if found.kind is KeyKind.HELPER:
            tally.helpers[found.framework] += 1
            continue
        if text not in seen:
            seen.add(text)
            candidates.append(Candidate(text, found, named, registry))
    return candidates, recognised


def _commands(candidate: Candidate, max_bytes: int) -> list[tuple[bytes, ...]]:
    key = candidate.key.encode()
    adapter = candidate.recognition.adapter
    if adapter.redis_type is RedisType.HASH:
        related = [(b"PTTL", k.encode()) for k in adapter.related_keys(candidate.recognition.match)]
        return [(b"HGETALL", key), (b"PTTL", key), *related]
    return [(b"STRLEN", key), (b"GETRANGE", key, b"0", b"%d" % (max_bytes - 1)), (b"PTTL", key)]


async def read_records(
    client: RedisClient,
    candidates: Sequence[Candidate],
    tally: Tally,
    *,
    max_bytes: int = MAX_VALUE_BYTES,
) -> list[tuple[Candidate, RawRecord]]:
    """Read candidates with one non-transactional pipeline, by their framework's type.

    Returns:
        The ones that exist with the right type and a value within ``max_bytes``;
        the others are counted in ``tally`` (gone since the SCAN: not counted).

    Raises:
        Failure: A read was refused (NOPERM...).
    """
    if not candidates:
        return []
    plan = [_commands(candidate, max_bytes) for candidate in candidates]
    commands = [command for group in plan for command in group]
    replies = await run_pipeline(client, commands)
    check_replies(client, commands, replies, wrongtype_ok=True)
    observed = int(time.time() * 1000)
    out = []
    at = 0
    for candidate, group in zip(candidates, plan, strict=True):
        got = replies[at : at + len(group)]
        at += len(group)
        record = _record(candidate, group, got, observed, tally, max_bytes)
        if record is not None:
            out.append((candidate, record))
    return out


def _record(
    candidate: Candidate,
    group: list[tuple[bytes, ...]],
    got: list[Any],
    observed: int,
    tally: Tally,
    max_bytes: int,
) -> RawRecord | None:
    adapter = candidate.recognition.adapter
    framework = adapter.name
    if adapter.redis_type is RedisType.HASH:
        flat, ttl, *related = got
        if isinstance(flat, Exception):
            tally.skipped(framework, candidate.key, "not a hash")
            return None
        if not flat or ttl == -2:
            return None  # gone since the SCAN
        fields = {
            flat[i].decode("utf-8", "surrogateescape"): flat[i + 1]
            for i in range(0, len(flat) - 1, 2)
        }
        related_ttls = {
            command[1].decode("utf-8", "surrogateescape"): reply
            for command, reply in zip(group[2:], related, strict=True)
            if isinstance(reply, int)
        }
        return RawRecord(
            candidate.key, RedisType.HASH, None, fields, int(ttl), observed, related_ttls
        )
    length, value, ttl = got
    if isinstance(length, Exception):
        tally.skipped(framework, candidate.key, "not a string")
        return None
    if ttl == -2 or not isinstance(value, bytes):
        return None  # gone since the SCAN
    if length > max_bytes:
        tally.skipped(framework, candidate.key, f"{length:,} B, over the {max_bytes:,} B bound")
        return None
    return RawRecord(candidate.key, RedisType.STRING, value, None, int(ttl), observed)


def parse_records(
    records: Iterable[tuple[Candidate, RawRecord]],
    registry: Registry,
    tally: Tally,
    *,
    limits: Limits | None = None,
    host_field: HostField | None = None,
    light: bool = False,
) -> list[FrameworkSession]:
    """Decode records read by :func:`read_records` into sessions of the framework that fits.

    The value's first bytes (or the hash's field names) choose among the
    frameworks sharing a prefix; a value that fits none is counted, not listed.
    ``host_field`` (``--host-field``) replaces the adapter's host search.
    ``light`` (``ls``, ``stats``): only what a list shows is read
    (:meth:`~inspector.core.frameworks.base.Adapter.parse_light`); with a
    ``host_field`` every value is read, as the field may be anywhere.
    """
    light = light and host_field is None
    sessions = []
    for candidate, record in records:
        first = record.value[:64] if record.value is not None else None
        names = list(record.fields) if record.fields is not None else None
        # The name was matched at SCAN time (by this registry, in the scans that
        # read many): only the type and the first bytes are left to weigh.
        found = (
            registry.settle(candidate.named, record.redis_type.value, first, names)
            if candidate.named_by is registry
            else registry.recognize(record.key, record.redis_type.value, first, names)
        )
        if found is None or not found.confirmed:
            what = "value" if record.value is not None else "fields"
            tally.skipped(
                candidate.recognition.framework,
                record.key,
                f"its {what} fit no framework's format" if record.size else "empty",
            )
            continue
        session = parse(record, found, limits=limits, registry=registry, light=light)
        if session is None:
            continue
        if host_field is not None:
            host = host_field.locate(session.attributes)
            session = dataclasses.replace(
                session, host=host, host_source=host_field.path if host else None
            )
        tally.listed(session)
        sessions.append(session)
    return sessions


async def read_framework_sessions(
    client: RedisClient,
    candidates: Sequence[Candidate],
    registry: Registry,
    tally: Tally,
    *,
    limits: Limits | None = None,
    host_field: HostField | None = None,
    light: bool = False,
) -> list[FrameworkSession]:
    """:func:`read_records` then :func:`parse_records`: one page's framework sessions."""
    records = await read_records(client, candidates, tally)
    return parse_records(
        records, registry, tally, limits=limits, host_field=host_field, light=light
    )


async def find_framework_session(
    client: RedisClient,
    text: str,
    registry: Registry,
    *,
    limits: Limits | None = None,
    host_field: HostField | None = None,
) -> FrameworkSession | None:
    """The session a user's input names: a framework's key, a bare id or a cookie value.

    Every key the input may stand for (:meth:`Registry.candidates`: the key
    itself, ``<prefix><id>`` per framework, a cookie's id, Rack's ``2::`` +
    SHA-256 of the public id) is read in one pipeline; the likeliest that
    exists and fits its framework wins.
    """
    candidates: list[Candidate] = []
    keys: set[str] = set()
    for adapter, key in registry.candidates(text):
        match = adapter.match_key(key)
        if match is None or key in keys:
            continue
        keys.add(key)
        candidates.append(Candidate(key, Recognition(adapter, match, False)))
    records = await read_records(client, candidates, Tally())
    found = parse_records(records, registry, Tally(), limits=limits, host_field=host_field)
    return found[0] if found else None
