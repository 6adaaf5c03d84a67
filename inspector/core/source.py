"""What a session source hands its readers: typed items, and the source's interface.

The seam between where sessions come from (a Redis server, a cluster, an
in-memory fixture) and whoever shows them (the TUI, ``watch``). A source's
:meth:`SessionSource.items` yields *batches* of :data:`SourceItem`: everything
that arrived since the reader last asked, so a burst of thousands of changes
costs the reader one wake-up, not thousands.

Pure data and a Protocol: no Redis, no Textual, no clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from inspector.core.changes import RequestEvent
from inspector.core.frameworks.base import FrameworkSession
from inspector.core.session import Session

__all__ = [
    "FeedHealth",
    "FeedMode",
    "FeedNotice",
    "NoticeKind",
    "ScanProgressed",
    "ServerSummary",
    "SessionSource",
    "SessionsRead",
    "SourceItem",
]


class FeedMode(StrEnum):
    """Where request events come from."""

    NOTIFICATIONS = "notifications"
    POLLING = "polling"
    PROBING = "polling, listening"
    """CONFIG is refused: poll, and switch when a notification arrives."""


class NoticeKind(StrEnum):
    """What a notice is about."""

    READY = "ready"
    """Subscribed and the first full read is done: the data is complete."""
    MODE = "mode"
    """How events are found changed (or an explanation of the current way)."""
    HOWTO = "howto"
    """Advice to the user: how to get notifications, why polling."""
    LOST = "lost"
    """The connection was lost; the source is reconnecting."""
    RECONNECTED = "reconnected"
    """Back after a loss; ``gap`` says when requests may have been missed."""
    STALE = "stale"
    """The data is older than it should be: a polling pass runs late, or the
    subscriber lags behind the server. The message says by how much."""
    CURRENT = "current"
    """After STALE: the data is up to date again."""
    CONNECTING = "connecting"
    """Never connected yet: the first attempt failed in a way a later one may not (the
    server is down or not there yet); the source tries again after ``retry_in`` seconds."""
    SKIPPED = "skipped"
    """The first full read passed over keys: named like sessions but unreadable, or of
    no session store at all (count, framework, one example)."""


@dataclass(frozen=True, slots=True)
class FeedNotice:
    """Something the user should know that is not a request: mode, gaps, how-tos."""

    time_ms: int
    kind: NoticeKind
    message: str
    gap: tuple[int, int] | None = None
    """For RECONNECTED: (from, to) epoch ms during which requests may be missing."""
    mode: FeedMode | None = None
    """The feed's mode once this notice applies (readers never ask the feed)."""
    retry_in: float | None = None
    """For CONNECTING: seconds until the next attempt."""
    exit_code: int | None = None
    """For CONNECTING: the exit code the failure would end a command with (a user who
    quits before any attempt succeeded gets it, as ``ls`` would have)."""


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """How current the data is, measured (a newer one replaces an older one).

    Reported after each polling pass and each subscriber PING.
    """

    time_ms: int
    mode: FeedMode
    events: int
    """Requests reported so far."""
    reads: int
    """Sessions re-read so far."""
    reconnects: int
    subscriber_lag_ms: int | None
    """How far the slowest subscriber was behind the server at its last PING;
    ``None`` when nothing is subscribed (polling only)."""
    last_complete_pass_ms: int
    """When the last polling pass (or the first full read) ended, epoch ms; 0 before."""
    last_pass_seconds: float
    """How long that pass took."""


@dataclass(frozen=True, slots=True)
class SessionsRead:
    """Sessions as just read: the first full pass (``baseline``) or re-reads after changes."""

    sessions: tuple[Session, ...]
    baseline: bool = False
    others: tuple[FrameworkSession, ...] = ()
    """Other frameworks' sessions read (express, PHP, Rails...), beside Spring's."""


@dataclass(frozen=True, slots=True)
class ScanProgressed:
    """How far the first full pass has come (a newer one replaces an older one)."""

    keys_scanned: int
    sessions_found: int
    nodes_done: int
    nodes_total: int
    done: bool


@dataclass(frozen=True, slots=True)
class ServerSummary:
    """A one-line description of the deployment."""

    engine: str
    """``Redis`` or ``Valkey`` (from ``server_name``, since Valkey pins ``redis_version``)."""
    version: str | None
    """Engine version, ``None`` when INFO is not available."""
    mode: str
    """``standalone`` or ``cluster``."""
    nodes: int
    """Primaries in a cluster, else 1."""
    keys: int | None
    """Keys in the current database, summed over primaries; ``None`` when DBSIZE is refused."""
    memory_used: str | None = None
    """``used_memory_human`` (of the first primary in a cluster); ``None`` without INFO."""
    memory_peak: str | None = None
    """``used_memory_peak_human``, as :attr:`memory_used`."""
    clients: int | None = None
    """``connected_clients``, as :attr:`memory_used`."""

    def describe(self) -> str:
        """E.g. ``Redis 7.0.15, cluster (3 primaries), 1204 keys``."""
        version = (
            f"{self.engine} {self.version}" if self.version else f"{self.engine} (version unknown)"
        )
        mode = f"{self.mode} ({self.nodes} primaries)" if self.nodes > 1 else self.mode
        keys = "key count unknown" if self.keys is None else f"{self.keys} keys"
        return f"{version}, {mode}, {keys}"


SourceItem = SessionsRead | RequestEvent | FeedNotice | ScanProgressed | FeedHealth
"""One thing a source reports. A DESTROYED :class:`RequestEvent` means the session is gone."""


class SessionSource(Protocol):
    """Where sessions come from, as the TUI and ``watch`` see it.

    Implementations: the Redis source (``inspector.redis_io``) and an
    in-memory one for offline tests, snapshots and benchmarks.
    """

    def items(self) -> AsyncIterator[Sequence[SourceItem]]:
        """Run the source: yield batches of items until the reader stops.

        Raises:
            Failure: The source cannot start (never connected, or refused).
        """
        ...

    async def find(self, key: str) -> Session | None:
        """Read one session in full (every attribute), or ``None`` when it is gone.

        Raises:
            Failure: Not connected, or refused (explained in one line).
        """
        ...

    async def find_many(self, keys: Sequence[str]) -> list[Session]:
        """Read Spring sessions in full, in one pipelined batch (the filter's value search).

        Sessions gone since they were listed are left out; the others come in
        the order of ``keys``.

        Raises:
            Failure: Not connected, or refused (explained in one line).
        """
        ...

    async def delete(self, session: Session) -> int:
        """Delete a session and its bookkeeping keys; returns how many were removed.

        Raises:
            Failure: Refused (a read-only user) or not connected; some keys may remain.
        """
        ...

    async def summary(self) -> ServerSummary | None:
        """What the server is (engine, version, size, memory), or ``None`` when there is none.

        Raises:
            Failure: Not connected.
        """
        ...

    async def aclose(self) -> None:
        """Release connections and tasks."""
        ...
