"""From "the session looks like this now" to "a request happened": the live feed's logic.

The feed remembers a small :class:`Snapshot` per session (raw
``lastAccessedTime``, host, a fingerprint per field). Each time a session is
re-read, :func:`observe` snapshots it and compares the two snapshots to say
what changed: which container served this request, which one served the last,
and which attributes it touched (written, emptied or deleted). Pure: no Redis,
no clock.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from enum import StrEnum

from inspector.core.session import Session, SessionState
from inspector.core.spring import ATTRIBUTE_PREFIX, LAST_ACCESSED_TIME, MAX_INACTIVE_INTERVAL
from inspector.core.values import JsonValue

__all__ = [
    "EventKind",
    "EventSource",
    "NotifySupport",
    "RequestEvent",
    "Snapshot",
    "destroyed_event",
    "diff",
    "notify_flags_support",
    "observe",
    "snapshot",
]


class EventSource(StrEnum):
    """How the change was seen."""

    NOTIFICATION = "notification"
    POLL = "poll"


class EventKind(StrEnum):
    """What happened to the session."""

    REQUEST = "request"
    """A request used the session (lastAccessedTime or attributes changed)."""
    CREATED = "created"
    """A session appeared that the feed had not seen."""
    INVALIDATED = "invalidated"
    """maxInactiveInterval went to 0 (logout, ``session.invalidate()``)."""
    DESTROYED = "destroyed"
    """The hash was deleted or expired."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the feed remembers of one session between reads."""

    last_access: bytes | None
    host: str | None
    fields: dict[str, int]
    """Field name -> CRC-32 of its value."""
    state: SessionState


@dataclass(frozen=True, slots=True)
class RequestEvent:
    """One observed request (or creation, invalidation, destruction) of a session."""

    time_ms: int
    """Client time when the change was observed (epoch ms)."""
    key: str
    """The session's key, as the source names it (carried, never rebuilt from the id)."""
    session_id: str
    namespace: str
    host: str | None
    previous_host: str | None
    changed: tuple[str, ...]
    """Attribute names written (and ``maxInactiveInterval`` when it changed)."""
    last_accessed_time: int | None
    source: EventSource
    kind: EventKind = EventKind.REQUEST
    framework: str = "spring"
    """Whose session: ``spring`` or a framework adapter's name (``express``, ``php``...)."""

    def to_json(self) -> dict[str, JsonValue]:
        """The documented JSON Lines form of ``watch --json``."""
        return {
            "framework": self.framework,
            "time": self.time_ms,
            "key": self.key,
            "session": self.session_id,
            "namespace": self.namespace,
            "host": self.host,
            "previousHost": self.previous_host,
            "changed": list(self.changed),
            "lastAccessedTime": self.last_accessed_time,
            "source": self.source.value,
            "kind": self.kind.value,
        }


def snapshot(session: Session) -> Snapshot:
    """Remember a session: enough to tell what the next read changed."""
    fields = session.raw.fields
    return Snapshot(
        last_access=fields.get(LAST_ACCESSED_TIME),
        host=session.host,
        fields={name: zlib.crc32(value) for name, value in fields.items()},
        state=session.state,
    )


def observe(
    previous: Snapshot | None, session: Session, *, source: EventSource, now_ms: int
) -> tuple[RequestEvent | None, Snapshot]:
    """The event a re-read shows (``None`` when nothing changed) and the snapshot to keep.

    Each field is fingerprinted once, for both: what a live feed should call
    on every read, rather than :func:`diff` and then :func:`snapshot`.

    Args:
        previous: What was known before, ``None`` for a session not seen yet.
        session: The session as just read.
        source: Notification or poll.
        now_ms: Observation time.
    """
    current = snapshot(session)
    return _compare(previous, current, session, source, now_ms), current


def diff(
    previous: Snapshot | None, session: Session, *, source: EventSource, now_ms: int
) -> RequestEvent | None:
    """The event a re-read shows, or ``None`` when nothing changed.

    Fingerprints the session's fields; when the new snapshot is needed too,
    :func:`observe` gives both for one pass over the fields.

    Args:
        previous: What was known before, ``None`` for a session not seen yet.
        session: The session as just read.
        source: Notification or poll.
        now_ms: Observation time.
    """
    if previous is None:  # nothing to compare with, so no fingerprints needed
        return _created(session, source, now_ms)
    return _compare(previous, snapshot(session), session, source, now_ms)


def _created(session: Session, source: EventSource, now_ms: int) -> RequestEvent:
    changed = tuple(session.attribute_names)
    return _event(session, None, changed, source, now_ms, EventKind.CREATED)


def _compare(
    previous: Snapshot | None,
    current: Snapshot,
    session: Session,
    source: EventSource,
    now_ms: int,
) -> RequestEvent | None:
    if previous is None:
        return _created(session, source, now_ms)
    before = previous.fields
    changed_fields = [
        name
        for name, crc in current.fields.items()
        if name != LAST_ACCESSED_TIME and before.get(name) != crc
    ]
    # Fields deleted outright (HDEL), not just emptied as removeAttribute does.
    changed_fields.extend(
        name for name in before if name != LAST_ACCESSED_TIME and name not in current.fields
    )
    accessed = current.last_access != previous.last_access
    if not accessed and not changed_fields:
        return None
    changed = tuple(
        name[len(ATTRIBUTE_PREFIX) :] if name.startswith(ATTRIBUTE_PREFIX) else name
        for name in changed_fields
        if name.startswith(ATTRIBUTE_PREFIX) or name == MAX_INACTIVE_INTERVAL
    )
    kind = EventKind.REQUEST
    if session.state is SessionState.INVALIDATED and previous.state is not SessionState.INVALIDATED:
        kind = EventKind.INVALIDATED
    return _event(session, previous.host, changed, source, now_ms, kind)


def _event(
    session: Session,
    previous_host: str | None,
    changed: tuple[str, ...],
    source: EventSource,
    now_ms: int,
    kind: EventKind,
) -> RequestEvent:
    return RequestEvent(
        time_ms=now_ms,
        key=session.key,
        session_id=session.id,
        namespace=session.namespace,
        host=session.host,
        previous_host=previous_host,
        changed=changed,
        last_accessed_time=session.last_accessed_time,
        source=source,
        kind=kind,
    )


def destroyed_event(
    key: str,
    session_id: str,
    namespace: str,
    previous: Snapshot,
    *,
    source: EventSource,
    now_ms: int,
) -> RequestEvent:
    """The event for a session whose hash is gone (deleted or expired)."""
    return RequestEvent(
        time_ms=now_ms,
        key=key,
        session_id=session_id,
        namespace=namespace,
        host=None,
        previous_host=previous.host,
        changed=(),
        last_accessed_time=None,
        source=source,
        kind=EventKind.DESTROYED,
    )


@dataclass(frozen=True, slots=True)
class NotifySupport:
    """What a ``notify-keyspace-events`` value lets the feed subscribe to."""

    value: str
    keyspace: bool
    """``K``: ``__keyspace@<db>__:<key>`` channels (payload: the event)."""
    keyevent: bool
    """``E``: ``__keyevent@<db>__:<event>`` channels (payload: the key)."""
    hash_events: bool
    """``h`` (or ``A``): HSET and friends are published at all."""

    @property
    def usable(self) -> bool:
        """Whether requests on session hashes will be announced."""
        return self.hash_events and (self.keyspace or self.keyevent)

    def with_hash_events(self, *, strings: bool = False) -> str:
        """The value to set so hash events are published on keyspace channels.

        ``strings``: also the string and generic events (``$g``: set, expire, del)
        that other frameworks' string session stores need.
        """
        wanted = "Kh$g" if strings else "Kh"
        extra = "".join(flag for flag in wanted if flag not in self.value)
        if "A" in self.value:
            extra = "".join(flag for flag in extra if flag not in "h$g")
        return self.value + extra


def notify_flags_support(value: str) -> NotifySupport:
    """Parse ``notify-keyspace-events`` (``A`` stands for ``g$lshzxetd``).

    ``Egx``, what Spring Session sets, publishes no hash events: the feed then
    has to poll.
    """
    return NotifySupport(
        value=value,
        keyspace="K" in value,
        keyevent="E" in value,
        hash_events="h" in value or "A" in value,
    )
