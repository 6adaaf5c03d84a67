"""Every other framework's sessions in the live feed: their notifications, reads and polls.

String stores publish ``set`` (each save, ``SET ... EX``), ``expire`` (a
touch, a ``SETEX``'s TTL), ``del`` and ``expired``: the keyspace events of
``$`` and ``g`` (``KEA`` has them). A notification on a key some adapter names
as its session queues it; the queue is read in pipelined batches
(:func:`~inspector.redis_io.framework_reads.read_records`) and each re-read is
compared with the snapshot (:mod:`inspector.core.framework_changes`). When
those events are not published, a polling pass SCANs, reads each candidate's
value (bounded) and compares it: a value read per session, so the pass costs
more than Spring's ``HMGET`` of one field, and the poller's stretch applies.
"""

from __future__ import annotations

from inspector.core.changes import EventSource, NotifySupport
from inspector.core.framework_changes import (
    FrameworkSnapshot,
    framework_destroyed,
    observe_framework,
    snapshot_framework,
)
from inspector.core.frameworks import FrameworkSession, KeyKind, Recognition, Registry
from inspector.core.session import HostField
from inspector.core.source import NoticeKind, SessionsRead
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import primaries, scan_keys
from inspector.redis_io.feed.report import Reporter, now_ms
from inspector.redis_io.feed.tracker import Changes
from inspector.redis_io.framework_reads import (
    Candidate,
    Tally,
    framework_candidates,
    parse_records,
    read_records,
)

__all__ = [
    "KEYEVENT_NAMES",
    "STRING_EVENTS",
    "FrameworkWatch",
    "keyspace_patterns",
    "string_events_on",
]

STRING_EVENTS = frozenset({b"set", b"setrange", b"append", b"expire", b"persist", b"rename_to"})
"""Keyspace events that mean a string session was written or touched."""
GONE_EVENTS = frozenset({b"del", b"expired", b"evicted", b"rename_from"})
KEYEVENT_NAMES = (b"set", b"expire")
"""Keyevent channels string stores add to Spring's (``hset``, ``hdel``, ``del``, ``expired``)."""


def string_events_on(support: NotifySupport | None) -> bool:
    """Whether a node publishes what string stores need: ``$`` (set) and ``g`` (expire, del)."""
    if support is None or not (support.keyspace or support.keyevent):
        return False
    flags = support.value
    return "A" in flags or ("$" in flags and "g" in flags)


def keyspace_patterns(registry: Registry, db: int) -> list[bytes]:
    """One ``__keyspace@<db>__:<prefix>*`` pattern per adapter prefix (Django's: ``*marker*``)."""
    patterns: list[bytes] = []
    for adapter in registry.adapters:
        scopes = (
            [f"*{marker}*" for marker in adapter.anywhere]
            if adapter.anywhere
            else [f"{_glob_escape(prefix)}*" for prefix in adapter.prefixes]
        )
        for scope in scopes:
            pattern = f"__keyspace@{db}__:{scope}".encode()
            if pattern not in patterns:
                patterns.append(pattern)
    return patterns


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


class FrameworkWatch:
    """The known framework sessions, their pending re-reads, and their polling pass.

    Args:
        registry: The adapters in use (``--framework``).
        reporter: Where events go.
        host_field: Where to read the host (``--host-field``).
    """

    def __init__(
        self, registry: Registry, reporter: Reporter, *, host_field: HostField | None = None
    ) -> None:
        self.registry = registry
        self.reporter = reporter
        self.host_field = host_field
        self.string_events = False
        """Whether every primary publishes the events string stores need (set by the feed)."""
        self._known: dict[str, FrameworkSnapshot] = {}
        self._pending: dict[str, Candidate] = {}
        self._howto_said = False

    def _found(self, session: FrameworkSession) -> None:
        # Said once, when there is a string store to watch at all.
        if self.string_events or self._howto_said:
            return
        self._howto_said = True
        self.reporter.notice(
            NoticeKind.HOWTO,
            f"{session.framework} sessions (and other string session stores) are found by "
            "polling: their writes are published only with notify-keyspace-events K$g "
            "(or E$g; KEA has them)",
        )

    def __len__(self) -> int:
        return len(self._known)

    @property
    def pending(self) -> bool:
        """Whether notifications queued sessions not read yet."""
        return bool(self._pending)

    def remember(self, session: FrameworkSession) -> None:
        """A session read by the baseline pass: known, no event."""
        self._found(session)
        self._known[session.key] = snapshot_framework(
            session, self._namespace(session), now_ms=now_ms()
        )

    def notified(self, name: str, event: bytes) -> bool:
        """A notification on ``name``: queue it when an adapter names it a session."""
        if (
            event not in STRING_EVENTS
            and event not in GONE_EVENTS
            and event
            not in (
                b"hset",
                b"hdel",
            )
        ):
            return False
        found = self.registry.recognize(name)
        if found is None or found.kind is KeyKind.HELPER:
            return False
        self._pending[name] = Candidate(name, found)
        return True

    async def read_pending(self, client: RedisClient, limit: int) -> None:
        """Read up to ``limit`` queued sessions in one pipeline and report what changed."""
        keys = list(self._pending)[:limit]
        batch = [self._pending.pop(key) for key in keys]
        await self.reread(client, batch, EventSource.NOTIFICATION)

    async def reread(
        self, client: RedisClient, batch: list[Candidate], source: EventSource
    ) -> Changes:
        """Read ``batch``; report a request per changed session, and the ones gone."""
        changes = Changes()
        if not batch:
            return changes
        records = await read_records(client, batch, Tally())
        self.reporter.stats.reads += len(batch)
        by_key = {candidate.key: record for candidate, record in records}
        sessions = {
            s.key: s
            for s in parse_records(records, self.registry, Tally(), host_field=self.host_field)
        }
        now = now_ms()
        for candidate in batch:
            key = candidate.key
            session = sessions.get(key)
            known = self._known.get(key)
            if session is None:
                if known is not None and key not in by_key:
                    del self._known[key]
                    self.reporter.emit(framework_destroyed(key, known, source=source, now_ms=now))
                    changes.gone += 1
                continue
            self._found(session)
            self.reporter.emit(SessionsRead((), others=(session,)))
            event, seen = observe_framework(
                known, session, self._namespace(session), source=source, now_ms=now
            )
            self._known[key] = seen
            if event is not None:
                self.reporter.emit(event)
                changes.count(event)
        return changes

    async def poll_pass(self, client: RedisClient) -> tuple[Changes, int]:
        """SCAN every primary, read each framework session, compare; report what is gone.

        Returns:
            The changes, and the commands sent.
        """
        before = dict(self._known)
        seen: set[str] = set()
        changes = Changes()
        commands = 0
        tally = Tally()
        for node in primaries(client):
            async for keys in scan_keys(client, node, match=None):
                commands += 1
                candidates, _ = framework_candidates(keys, self.registry, seen=seen, tally=tally)
                if candidates:
                    changes.add(await self.reread(client, candidates, EventSource.POLL))
                    commands += 3 * len(candidates)
        now = now_ms()
        for key, known in before.items():
            # Re-read meanwhile (a notification during the pass): not gone.
            if key not in seen and self._known.get(key) is known:
                del self._known[key]
                self.reporter.emit(
                    framework_destroyed(key, known, source=EventSource.POLL, now_ms=now)
                )
                changes.gone += 1
        return changes, commands

    def _namespace(self, session: FrameworkSession) -> str:
        found: Recognition | None = self.registry.recognize(session.key)
        return found.match.prefix if found is not None else ""
