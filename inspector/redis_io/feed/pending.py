"""Notifications become reads: queue the sessions they name, read them in pipelined batches."""

from __future__ import annotations

import asyncio

from inspector.core.changes import EventSource
from inspector.core.source import FeedMode
from inspector.core.spring import KeyKind, classify_key
from inspector.redis_io.client import RedisClient
from inspector.redis_io.feed.frameworks import STRING_EVENTS
from inspector.redis_io.feed.report import now_ms
from inspector.redis_io.feed.tracker import Candidate, SessionTracker

__all__ = ["GONE_EVENTS", "READ_BATCH", "WRITE_EVENTS", "PendingReads"]

READ_BATCH = 500
WRITE_EVENTS = frozenset({b"hset", b"hdel", b"hincrby", b"hincrbyfloat", b"hsetnx", b"rename_to"})
GONE_EVENTS = frozenset({b"del", b"expired", b"evicted", b"rename_from"})
HASH_EVENTS = WRITE_EVENTS | GONE_EVENTS
"""What a Spring session hash sees (the string events are the other frameworks')."""


class PendingReads:
    """Sessions named by notifications and not read yet; bursts on one session coalesce.

    Args:
        tracker: Where re-reads are compared and reported.
    """

    def __init__(self, tracker: SessionTracker) -> None:
        self.tracker = tracker
        self.last_read_ms = 0
        """When the queue was last drained (epoch ms)."""
        self._pending: dict[str, Candidate] = {}
        self._wake = asyncio.Event()

    def __len__(self) -> int:
        return len(self._pending)

    def notified(self, key: bytes, event: bytes) -> None:
        """A notification arrived: queue the session it names (others are ignored)."""
        if event not in WRITE_EVENTS and event not in GONE_EVENTS and event not in STRING_EVENTS:
            return
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            return
        spring_key = classify_key(name) if self.tracker.spring else None
        if spring_key is None or spring_key.kind is not KeyKind.SESSION:
            frameworks = self.tracker.frameworks
            if frameworks is not None and frameworks.notified(name, event):
                # String events flow (whatever the hash events do): no need to poll them.
                frameworks.string_events = True
                self.tracker.reporter.stats.notifications += 1
                self._wake.set()
            return
        if event not in HASH_EVENTS:
            return
        namespace = self.tracker.namespace
        if namespace and spring_key.namespace != namespace:
            return
        assert spring_key.session_id is not None
        self._arrived()
        self._pending[name] = (name, spring_key.namespace, spring_key.session_id)
        self._wake.set()

    def _arrived(self) -> None:
        reporter = self.tracker.reporter
        reporter.stats.notifications += 1
        if reporter.mode is not FeedMode.NOTIFICATIONS:
            reporter.set_mode(
                FeedMode.NOTIFICATIONS,
                announce="keyspace notifications are arriving: now notifications",
            )
        self._wake.set()

    async def run(self, client: RedisClient) -> None:
        """Read what is queued, batch by batch, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            frameworks = self.tracker.frameworks
            while self._pending or (frameworks is not None and frameworks.pending):
                keys = list(self._pending)[:READ_BATCH]
                batch = [self._pending.pop(key) for key in keys]
                if batch:
                    await self.tracker.reread(client, batch, EventSource.NOTIFICATION)
                if frameworks is not None and frameworks.pending:
                    await frameworks.read_pending(client, READ_BATCH)
                self.last_read_ms = now_ms()
