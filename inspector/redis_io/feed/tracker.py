"""What the feed knows of every session, and turning re-reads into events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from inspector.core.changes import (
    EventKind,
    EventSource,
    Snapshot,
    destroyed_event,
    observe,
    snapshot,
)
from inspector.core.session import HostField, Session
from inspector.core.source import ScanProgressed, SessionsRead
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import ScanProgress, SessionScanner, read_raw_sessions
from inspector.redis_io.feed.report import Reporter, now_ms

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


class SessionTracker:
    """The snapshot of every known session; re-reads become :class:`RequestEvent` s.

    Args:
        reporter: Where sessions read and events go.
        namespace: Only this namespace; ``None`` tracks every namespace.
        host_field: Where to read the host (``--host-field``).
    """

    def __init__(
        self, reporter: Reporter, *, namespace: str | None, host_field: HostField | None
    ) -> None:
        self.reporter = reporter
        self.namespace = namespace
        self.host_field = host_field
        self._known: dict[str, Entry] = {}

    def __len__(self) -> int:
        return len(self._known)

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
        scanner = SessionScanner(client, namespace=self.namespace, host_field=self.host_field)
        progress = scanner.progress
        async for batch in scanner.batches():
            for session in batch:
                self._known[session.key] = (session.namespace, session.id, snapshot(session))
            self.reporter.emit(SessionsRead(tuple(batch), baseline=True))
            self.reporter.emit(_progressed(progress))
        self.reporter.emit(_progressed(progress))
        self.reporter.stats.sessions = len(self._known)

    async def reread(
        self, client: RedisClient, batch: list[Candidate], source: EventSource
    ) -> Changes:
        """Read ``batch`` in one pipeline; report each session read and each change."""
        raws = {raw.key: raw for raw in await read_raw_sessions(client, batch)}
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
                if event.kind is EventKind.CREATED:
                    changes.created += 1
                else:
                    changes.changed += 1
        self.reporter.stats.sessions = len(self._known)
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
        self.reporter.stats.sessions = len(self._known)
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
