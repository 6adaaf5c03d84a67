"""What the session source tells the screens, as typed Textual messages.

One worker in the app (:meth:`~inspector.tui.app.InspectorApp.read_source`)
reads :meth:`~inspector.core.source.SessionSource.items` and turns each batch
into a handful of these messages with :func:`batch_messages`:

- every session read and every DESTROYED request of the batch become *one*
  :class:`SessionsChanged` (the newest copy of each session, the keys gone);
- every request of the batch becomes *one* :class:`RequestsSeen`, each
  request with the container that served it (:class:`AttributedRequest`:
  the app attributes the source's batches, by host attribute or by
  connection);
- each notice becomes its own message (:class:`FeedReady`,
  :class:`FeedModeChanged`, :class:`FeedAdvice`, :class:`ConnectionLost`,
  :class:`ConnectionRestored`), after the data that came before it;
- each notice of attribution by connection becomes an :class:`AttributionNoticed`;
- of the scan progress only the newest is kept (:class:`ScanProgress`, which
  also replaces an older one still queued: Textual's ``can_replace``).

The worker posts them to every receiver (the app, its panes and any open detail
screen; each handles what it shows and ignores the rest) and takes the next
batch only once the app and the panes have handled this one. So the message
queues hold one batch at most however fast Redis changes: meanwhile the source
gathers what arrives into its next batch (toolong's bounded-queue idea).

Messages do not bubble: each receiver got its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

from textual.message import Message

from inspector.core.attribution import (
    AttributedItem,
    AttributedRequest,
    AttributionNotice,
    ContainerName,
    NameSource,
)
from inspector.core.changes import EventKind, RequestEvent
from inspector.core.frameworks import FrameworkSession
from inspector.core.session import Session
from inspector.core.source import (
    FeedHealth,
    FeedMode,
    FeedNotice,
    NoticeKind,
    ScanProgressed,
    ServerSummary,
    SessionsRead,
    SourceItem,
)
from inspector.redis_io.monitor import MonitorStatus

__all__ = [
    "AttributionNoticed",
    "AttributionSwitched",
    "ConnectionLost",
    "ConnectionRestored",
    "ConnectionRetrying",
    "FeedAdvice",
    "FeedHealthRead",
    "FeedModeChanged",
    "FeedReady",
    "KeysSkipped",
    "MonitorStatusRead",
    "OpenSession",
    "RequestsSeen",
    "ScanProgress",
    "ServerSummaryRead",
    "SessionsChanged",
    "SourceFailed",
    "SourceMessage",
    "batch_messages",
]


class SourceMessage(Message, bubble=False):
    """Something the source reported; every receiver gets its own :meth:`copy`."""

    def __init_subclass__(cls, **options: bool | str | None) -> None:
        # Textual resets `bubble` to True for every subclass that does not say
        # otherwise; none of these may bubble (the app got its own copy).
        super().__init_subclass__(**{"bubble": False, **options})  # type: ignore[arg-type]

    def copy(self) -> Self:
        """The same message for another receiver (a Message is posted once)."""
        raise NotImplementedError


class SessionsChanged(SourceMessage):
    """Sessions read (new ones, newer copies) and sessions gone, from one batch.

    Args:
        sessions: The newest copy of each session read, by key (a key is never
            in both ``sessions`` and ``gone``).
        gone: Keys of sessions destroyed, expired or deleted.
        baseline: Part of the first full pass.
    """

    def __init__(
        self,
        sessions: Mapping[str, Session],
        gone: Sequence[str] = (),
        *,
        baseline: bool = False,
        others: Mapping[str, FrameworkSession] | None = None,
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.gone = tuple(gone)
        self.baseline = baseline
        self.others: Mapping[str, FrameworkSession] = others or {}
        """Other frameworks' sessions read, by key (never in ``sessions`` or ``gone``)."""

    def copy(self) -> Self:
        return type(self)(self.sessions, self.gone, baseline=self.baseline, others=self.others)

    def about(self, key: str) -> tuple[bool, Session | None]:
        """``(True, session)`` when this batch changed ``key`` (``None``: it is gone)."""
        session = self.sessions.get(key)
        if session is not None:
            return True, session
        return key in self.gone, None


class RequestsSeen(SourceMessage):
    """Requests in the order they were seen (one message per batch), attributed.

    Args:
        events: The requests.
        requests: The same requests with the container that served each (in
            the same order); without them, the host attribute names it.
    """

    def __init__(
        self, events: Sequence[RequestEvent], requests: Sequence[AttributedRequest] | None = None
    ) -> None:
        super().__init__()
        self.events = tuple(events)
        self.requests = tuple(requests) if requests is not None else _by_host(self.events)

    def copy(self) -> Self:
        return type(self)(self.events, self.requests)


def _by_host(events: Sequence[RequestEvent]) -> tuple[AttributedRequest, ...]:
    def named(host: str | None) -> ContainerName | None:
        return ContainerName(host, NameSource.ATTRIBUTE) if host else None

    return tuple(
        AttributedRequest(event, named(event.host), named(event.previous_host)) for event in events
    )


class AttributionNoticed(SourceMessage):
    """Attribution by connection: MONITOR attached, refused, behind, lost, topology, names."""

    def __init__(self, notice: AttributionNotice) -> None:
        super().__init__()
        self.notice = notice

    def copy(self) -> Self:
        return type(self)(self.notice)


class AttributionSwitched(SourceMessage):
    """The attribution in use changed (the toggle, or MONITOR refused).

    Args:
        by_connection: Requests are attributed by connection (MONITOR runs).
        text: One line saying how requests are attributed now.
    """

    def __init__(self, by_connection: bool, text: str) -> None:
        super().__init__()
        self.by_connection = by_connection
        self.text = text

    def copy(self) -> Self:
        return type(self)(self.by_connection, self.text)


class _Notice(SourceMessage):
    def __init__(self, notice: FeedNotice) -> None:
        super().__init__()
        self.notice = notice

    def copy(self) -> Self:
        return type(self)(self.notice)

    @property
    def text(self) -> str:
        """The notice's text (from Redis and the network: show it escaped, never as markup)."""
        return self.notice.message

    @property
    def mode(self) -> FeedMode | None:
        """How requests are found once this applies."""
        return self.notice.mode


class FeedReady(_Notice):
    """The first full read is done and events are being watched: the data is complete."""


class FeedModeChanged(_Notice):
    """How requests are found changed (notifications, polling), or why it is so."""


class FeedAdvice(_Notice):
    """Advice to the user: how to get notifications, why polling."""


class KeysSkipped(_Notice):
    """The first full read passed over keys (unreadable look-alikes, keys of no store)."""


class ConnectionLost(_Notice):
    """The connection was lost; the source is reconnecting."""


class ConnectionRetrying(_Notice):
    """Never connected yet: the last attempt failed; the source tries again soon."""

    @property
    def retry_in(self) -> float:
        """Seconds until the next attempt."""
        return self.notice.retry_in or 0.0

    @property
    def exit_code(self) -> int | None:
        """The exit code of this failure, for a user who quits before any attempt succeeds."""
        return self.notice.exit_code

    def can_replace(self, message: Message) -> bool:
        # Only the newest attempt matters (its countdown, its reason).
        return isinstance(message, ConnectionRetrying)


class ConnectionRestored(_Notice):
    """Back after a loss; :attr:`gap` says when requests may have been missed."""

    @property
    def gap(self) -> tuple[int, int] | None:
        """``(from, to)`` epoch ms during which requests may be missing."""
        return self.notice.gap


class ScanProgress(SourceMessage):
    """How far the first full pass has come; a newer one replaces a queued older one."""

    def __init__(self, progress: ScanProgressed) -> None:
        super().__init__()
        self.progress = progress

    def copy(self) -> Self:
        return type(self)(self.progress)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScanProgress)


class FeedHealthRead(SourceMessage):
    """The feed's measured state (lag, last pass); a newer one replaces a queued older one."""

    def __init__(self, health: FeedHealth) -> None:
        super().__init__()
        self.health = health

    def copy(self) -> Self:
        return type(self)(self.health)

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FeedHealthRead)


class SourceFailed(SourceMessage):
    """The source stopped: it never connected, or the server refused it.

    Args:
        message: One line, already explained (from the network: show it escaped).
        refused: Connected, but refused (an ACL user without a needed command),
            rather than unreachable.
        exit_code: What a command would have exited with (the app exits with it
            when the user quits without ever having connected).
    """

    def __init__(self, message: str, *, refused: bool, exit_code: int = 1) -> None:
        super().__init__()
        self.message = message
        self.refused = refused
        self.exit_code = exit_code

    def copy(self) -> Self:
        return type(self)(self.message, refused=self.refused, exit_code=self.exit_code)


class ServerSummaryRead(SourceMessage):
    """What the server is (engine, version, memory...), read on demand."""

    def __init__(self, summary: ServerSummary) -> None:
        super().__init__()
        self.summary = summary

    def copy(self) -> Self:
        return type(self)(self.summary)


class MonitorStatusRead(SourceMessage):
    """Attribution by connection at a glance: where MONITOR runs, its counters, its cost.

    Args:
        status: The monitor's status; ``None`` when there is no MONITOR to
            run (a source without a server).
        running: MONITOR is switched on (attached, or attaching).
    """

    def __init__(self, status: MonitorStatus | None, *, running: bool) -> None:
        super().__init__()
        self.status = status
        self.running = running

    def copy(self) -> Self:
        return type(self)(self.status, running=self.running)


class OpenSession(Message):
    """Show this session's detail screen (posted by whoever links to a session; the app opens it).

    Args:
        key: The session's hash key.
        session_id: Its id.
        session_namespace: Its namespace (``namespace`` is Textual's, on every message).
    """

    def __init__(self, key: str, session_id: str, session_namespace: str) -> None:
        super().__init__()
        self.key = key
        self.session_id = session_id
        self.session_namespace = session_namespace


_NOTICES: dict[NoticeKind, type[_Notice]] = {
    NoticeKind.READY: FeedReady,
    NoticeKind.MODE: FeedModeChanged,
    NoticeKind.HOWTO: FeedAdvice,
    NoticeKind.LOST: ConnectionLost,
    NoticeKind.CONNECTING: ConnectionRetrying,
    NoticeKind.RECONNECTED: ConnectionRestored,
    # The age of the data (a late polling pass, a lagging subscriber) and its
    # recovery: shown where the Live tab says how requests are found.
    NoticeKind.SKIPPED: KeysSkipped,
    NoticeKind.STALE: FeedModeChanged,
    NoticeKind.CURRENT: FeedModeChanged,
}


def batch_messages(batch: Sequence[SourceItem] | Sequence[AttributedItem]) -> list[SourceMessage]:
    """The messages one batch from the source becomes: a handful, whatever its size.

    Sessions and requests gather into one :class:`SessionsChanged` and one
    :class:`RequestsSeen`, emitted before each notice (so a notice follows the
    data it describes) and at the end; a session read after it was destroyed
    in the same batch is back, one destroyed after it was read is gone.
    """
    messages: list[SourceMessage] = []
    sessions: dict[str, Session] = {}
    others: dict[str, FrameworkSession] = {}
    gone: dict[str, None] = {}
    events: list[RequestEvent] = []
    attributed: list[AttributedRequest] = []
    baseline = False
    progress: ScanProgressed | None = None
    health: FeedHealth | None = None

    def flush() -> None:
        nonlocal sessions, others, gone, events, attributed, baseline, progress
        if sessions or gone or others:
            messages.append(
                SessionsChanged(sessions, tuple(gone), baseline=baseline, others=others)
            )
        if events:
            messages.append(RequestsSeen(events, attributed))
        if progress is not None:
            messages.append(ScanProgress(progress))
        sessions, gone, events, attributed, baseline, progress = {}, {}, [], [], False, None
        others = {}

    for item in batch:
        if isinstance(item, AttributedRequest):
            attributed.append(item)
            item = item.event
        elif isinstance(item, RequestEvent):  # not attributed: the host attribute says
            attributed.extend(_by_host((item,)))
        if isinstance(item, SessionsRead):
            baseline = baseline or item.baseline
            for session in item.sessions:
                gone.pop(session.key, None)
                sessions[session.key] = session
            for other in item.others:
                gone.pop(other.key, None)
                others[other.key] = other
        elif isinstance(item, RequestEvent):
            events.append(item)
            if item.kind is EventKind.DESTROYED:
                sessions.pop(item.key, None)
                others.pop(item.key, None)
                gone[item.key] = None
        elif isinstance(item, ScanProgressed):
            progress = item
        elif isinstance(item, FeedHealth):
            health = item  # only the newest counts: one message per batch
        elif isinstance(item, AttributionNotice):
            flush()
            messages.append(AttributionNoticed(item))
        else:
            flush()
            messages.append(_NOTICES[item.kind](item))
    flush()
    if health is not None:
        messages.append(FeedHealthRead(health))
    return messages
