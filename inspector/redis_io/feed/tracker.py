"""What the feed knows of every session, and turning re-reads into events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from inspector.core.changes import (
    EventKind,
    EventSource,
    RequestEvent,
    Snapshot,
    destroyed_event,
    observe,
    snapshot,
)
from inspector.core.frameworks import FrameworkSession, Registry
from inspector.core.session import HostField, Session
from inspector.core.source import NoticeKind, ScanProgressed, SessionsRead
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import (
    DEFAULT_MAX_VALUE_BYTES,
    ScanProgress,
    SessionScanner,
    read_raw_sessions,
)
from inspector.redis_io.feed.report import Reporter, now_ms


class FrameworkWatch(Protocol):
    """Other frameworks' sessions, beside Spring's (:class:`.frameworks.FrameworkWatch`)."""

    registry: Registry
    string_events: bool

    def __len__(self) -> int: ...

    @property
    def pending(self) -> bool:
        """Whether notifications queued sessions not read yet."""
        ...

    def remember(self, session: FrameworkSession) -> None:
        """A session the baseline read."""

    def notified(self, name: str, event: bytes) -> bool:
        """Queue ``name`` if it is a framework session; whether it was."""
        ...

    async def read_pending(self, client: RedisClient, limit: int) -> None:
        """Read queued sessions."""

    async def poll_pass(self, client: RedisClient) -> tuple[Changes, int]:
        """One polling pass: the changes and the commands sent."""
        ...


__all__ = ["Candidate", "Changes", "Entry", "SessionTracker"]

Candidate = tuple[str, str, str]
"""``(key, namespace, session id)`` of a session to read."""
Entry = tuple[str, str, Snapshot]
"""``(namespace, session id, snapshot)`` of a known session."""


@dataclass(slots=True)
class Changes:
    """What a re-read (or a polling pass) found, by kind of event."""

    created: int = 0
    changed: int = 0
    gone: int = 0

    @property
    def total(self) -> int:
        """Every event reported."""
        return self.created + self.changed + self.gone

    def add(self, other: Changes) -> None:
        """Count ``other`` in as well."""
        self.created += other.created
        self.changed += other.changed
        self.gone += other.gone

    def count(self, event: RequestEvent) -> None:
        """Count a re-read session's event: created, else changed.

        A session gone is counted where its key is found missing, not here.
        """
        if event.kind is EventKind.CREATED:
            self.created += 1
        else:
            self.changed += 1


class SessionTracker:
    """The snapshot of every known session; re-reads become :class:`RequestEvent` s.

    Args:
        reporter: Where sessions read and events go.
        namespace: Only this namespace; ``None`` tracks every namespace.
        host_field: Where to read the host (``--host-field``).
        frameworks: Other frameworks' sessions, watched beside Spring's (the
            baseline reads both in one pass).
        spring: Whether Spring's sessions are watched.
        max_value_bytes: Values longer than this are not read, by the baseline
            or by a re-read (``--max-value-bytes``; ``None``: all are).
    """

    def __init__(
        self,
        reporter: Reporter,
        *,
        namespace: str | None,
        host_field: HostField | None,
        frameworks: FrameworkWatch | None = None,
        spring: bool = True,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self.reporter = reporter
        self.max_value_bytes = max_value_bytes
        self.namespace = namespace
        self.host_field = host_field
        self.frameworks = frameworks
        self.spring = spring
        self._known: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self._known) + (len(self.frameworks) if self.frameworks else 0)

    def __contains__(self, key: object) -> bool:
        return key in self._known

    def entries(self) -> dict[str, Entry]:
        """A copy of what is known now (a polling pass compares against it)."""
        return dict(self._known)

    def stamp_changed(self, key: str, stamp: bytes | None) -> bool:
        """Whether ``lastAccessedTime`` (raw) differs from the snapshot, or the key is new."""
        known = self._known.get(key)
        return known is None or known[2].last_access != stamp

    async def baseline(self, client: RedisClient) -> None:
        """Read every session once (SCAN + pipelined reads), reporting batches and progress."""
        frameworks = self.frameworks
        scanner = SessionScanner(
            client,
            namespace=self.namespace,
            host_field=self.host_field,
            registry=frameworks.registry if frameworks is not None else None,
            spring=self.spring,
            max_value_bytes=self.max_value_bytes,
        )
        progress = scanner.progress
        async for mixed in scanner.mixed_batches():
            batch = []
            others = []
            for session in mixed:
                if isinstance(session, Session):
                    self._known[session.key] = (session.namespace, session.id, snapshot(session))
                    batch.append(session)
                elif frameworks is not None:
                    frameworks.remember(session)
                    others.append(session)
            if batch or others:
                self.reporter.emit(SessionsRead(tuple(batch), baseline=True, others=tuple(others)))
            self.reporter.emit(_progressed(progress))
        self.reporter.emit(_progressed(progress))
        for line in scanner.skipped_lines():
            self.reporter.notice(NoticeKind.SKIPPED, line)
        self.reporter.stats.sessions = len(self)

    async def reread(
        self, client: RedisClient, batch: list[Candidate], source: EventSource
    ) -> Changes:
        """Read ``batch`` in one pipeline; report each session read and each change."""
        # Lengths before values (three round trips, not one): a request that
        # wrote a 50 MB attribute must not cost 50 MB per re-read.
        read = await read_raw_sessions(client, batch, max_value_bytes=self.max_value_bytes)
        raws = {raw.key: raw for raw in read}
        self.reporter.stats.reads += len(batch)
        now = now_ms()
        changes = Changes()
        for key, namespace, session_id in batch:
            known = self._known.get(key)
            raw = raws.get(key)
            if raw is None:
                if known is not None:
                    self._forget(key, source, now)
                    changes.gone += 1
                continue
            session = Session.from_raw(raw, host_field=self.host_field)
            self.reporter.emit(SessionsRead((session,)))
            event, seen = observe(known[2] if known else None, session, source=source, now_ms=now)
            self._known[key] = (namespace, session_id, seen)
            if event is not None:
                self.reporter.emit(event)
                changes.count(event)
        self.reporter.stats.sessions = len(self)
        return changes

    def drop_unseen(self, before: Mapping[str, Entry], seen: Iterable[str]) -> int:
        """After a full SCAN: report as gone what was known ``before`` and not ``seen``.

        An entry replaced since ``before`` was re-read meanwhile (a notification
        during the pass): it exists, or its removal was reported already.
        """
        seen = set(seen)
        gone = [
            key
            for key, entry in before.items()
            if key not in seen and self._known.get(key) is entry
        ]
        now = now_ms()
        for key in gone:
            self._forget(key, EventSource.POLL, now)
        self.reporter.stats.sessions = len(self)
        return len(gone)

    def _forget(self, key: str, source: EventSource, now: int) -> None:
        namespace, session_id, known = self._known.pop(key)
        self.reporter.emit(
            destroyed_event(key, session_id, namespace, known, source=source, now_ms=now)
        )


def _progressed(progress: ScanProgress) -> ScanProgressed:
    return ScanProgressed(
        keys_scanned=progress.keys_scanned,
        sessions_found=progress.sessions_found,
        nodes_done=progress.nodes_done,
        nodes_total=progress.nodes_total,
        done=progress.done,
    )
