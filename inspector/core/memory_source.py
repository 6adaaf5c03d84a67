"""A :class:`~inspector.core.source.SessionSource` held in memory: no server at all.

What the offline tests, the snapshot tests and the benchmarks put behind the
TUI: whoever holds the source feeds it sessions, request events and notices
(:meth:`MemorySource.add`, :meth:`MemorySource.remove`, :meth:`MemorySource.notice`),
and its :meth:`~MemorySource.items` yields them in batches, exactly as the
Redis source does: everything fed since the reader last asked, in order.

It keeps what it was fed (sessions by key) so :meth:`~MemorySource.find`
answers as a server would; failures to report can be set
(:attr:`MemorySource.find_error`, :attr:`MemorySource.delete_error`,
:meth:`MemorySource.fail`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence

from inspector.core.changes import EventKind, RequestEvent
from inspector.core.session import Session
from inspector.core.source import (
    FeedHealth,
    FeedNotice,
    ScanProgressed,
    ServerSummary,
    SessionsRead,
    SourceItem,
)

__all__ = ["MemorySource"]


class MemorySource:
    """Sessions, events and notices fed by hand, yielded as batches.

    Args:
        sessions: Sessions known from the start (yielded first, as a baseline).
        summary: What :meth:`summary` answers (``None``: no server to describe).
    """

    def __init__(
        self, sessions: Iterable[Session] = (), *, summary: ServerSummary | None = None
    ) -> None:
        self.sessions: dict[str, Session] = {}
        """What the source holds now, by key (what :meth:`find` reads)."""
        self.server_summary = summary
        self.find_error: BaseException | None = None
        """Raised by :meth:`find` when set (a server that refuses or is gone)."""
        self.delete_error: BaseException | None = None
        """Raised by :meth:`delete` when set."""
        self.finds = 0
        """How many times :meth:`find` was called (tests check that nothing reads)."""
        self.finds_many = 0
        """How many batches :meth:`find_many` was asked for."""
        self.closed = False
        self.batches = 0
        """Batches yielded so far."""
        self._pending: list[SourceItem | BaseException] = []
        self._wake: asyncio.Event | None = None
        initial = list(sessions)
        if initial:
            self.add(initial, baseline=True)

    # ---------------------------------------------------------------- feeding

    def add(self, sessions: Iterable[Session], *, baseline: bool = False) -> None:
        """Sessions as just read (new ones or newer copies)."""
        batch = tuple(sessions)
        for session in batch:
            self.sessions[session.key] = session
        if batch:
            self._push(SessionsRead(batch, baseline=baseline))

    def events(self, events: Iterable[RequestEvent]) -> None:
        """Requests seen; a DESTROYED event also forgets its session."""
        for event in events:
            if event.kind is EventKind.DESTROYED:
                self.sessions.pop(event.key, None)
            self._push(event)

    def notice(self, notice: FeedNotice) -> None:
        """A notice (ready, mode, lost, reconnected...)."""
        self._push(notice)

    def progress(self, progress: ScanProgressed) -> None:
        """How far the first pass has come."""
        self._push(progress)

    def health(self, health: FeedHealth) -> None:
        """The feed's measured state (lag, last pass)."""
        self._push(health)

    def fail(self, error: BaseException) -> None:
        """Make :meth:`items` raise ``error`` once what was fed before it is yielded."""
        self._push(error)

    @property
    def pending(self) -> int:
        """Items fed and not yet yielded."""
        return len(self._pending)

    def _push(self, item: SourceItem | BaseException) -> None:
        self._pending.append(item)
        if self._wake is not None:
            self._wake.set()

    # ---------------------------------------------------------------- SessionSource

    async def items(self) -> AsyncIterator[Sequence[SourceItem]]:
        """Yield what was fed, in batches, until the reader stops.

        Raises:
            BaseException: What :meth:`fail` was given.
        """
        # Made here, in the reader's loop: the source may be built before any
        # loop runs (a snapshot test builds the app first).
        self._wake = wake = asyncio.Event()
        while True:
            while not self._pending:
                wake.clear()
                await wake.wait()
            batch, self._pending = self._pending, []
            for index, item in enumerate(batch):
                if isinstance(item, BaseException):
                    self._pending = batch[index + 1 :]
                    if index:
                        self.batches += 1
                        yield _items(batch[:index])
                    raise item
            self.batches += 1
            yield _items(batch)

    async def find(self, key: str) -> Session | None:
        """The session fed last under ``key``, or ``None``.

        Raises:
            BaseException: :attr:`find_error`, when set.
        """
        self.finds += 1
        if self.find_error is not None:
            raise self.find_error
        return self.sessions.get(key)

    async def find_many(self, keys: Sequence[str]) -> list[Session]:
        """The sessions fed last under ``keys`` (those still held), in that order.

        Raises:
            BaseException: :attr:`find_error`, when set.
        """
        self.finds_many += 1
        if self.find_error is not None:
            raise self.find_error
        return [session for key in keys if (session := self.sessions.get(key)) is not None]

    async def delete(self, session: Session) -> int:
        """Forget the session; returns 1 if it was there, else 0.

        Raises:
            BaseException: :attr:`delete_error`, when set.
        """
        if self.delete_error is not None:
            raise self.delete_error
        return 1 if self.sessions.pop(session.key, None) is not None else 0

    async def summary(self) -> ServerSummary | None:
        """The summary given to the constructor."""
        return self.server_summary

    async def aclose(self) -> None:
        """Nothing to release; remembers that it was closed."""
        self.closed = True


def _items(batch: Sequence[SourceItem | BaseException]) -> list[SourceItem]:
    return [item for item in batch if not isinstance(item, BaseException)]
