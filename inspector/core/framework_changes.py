"""Requests on any framework's session (not Spring's own layout): re-reads become events.

String stores have no ``lastAccessedTime`` field to compare, so a re-read is
compared with what was remembered by fingerprints: one of the whole stored
value (or hash), one per top-level entry (to name what a request wrote), and
the expiry the key's TTL gives. A changed value is a request that wrote; an
unchanged value whose expiry moved forward is a request that only touched the
session (connect-redis's ``touch``, PHP's ``EXPIRE`` on read, Rack's
``expire_after``). Pure: no Redis, no clock.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import orjson

from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.frameworks.base import FrameworkSession
from inspector.core.values import Decoded

__all__ = [
    "TOUCH_SLACK_MS",
    "FrameworkSnapshot",
    "framework_destroyed",
    "observe_framework",
    "snapshot_framework",
]

TOUCH_SLACK_MS = 1500
"""An expiry moving forward by more than this (with the value unchanged) is a touch: TTLs
are read a few ms apart and rounded by the framework to seconds."""


@dataclass(frozen=True, slots=True)
class FrameworkSnapshot:
    """What the feed remembers of one framework session between reads."""

    framework: str
    session_id: str
    namespace: str
    """The prefix the key matched with (the framework's namespace)."""
    whole: int
    """CRC-32 of the stored value (or of every field)."""
    entries: dict[str, int]
    """Entry name (attributes and bookkeeping) -> CRC-32 of its decoded value."""
    expires_at_ms: int | None
    key_expires_ms: int | None
    """When the key's TTL runs out (read time + PTTL), ``None`` without one."""
    last_access_ms: int | None
    host: str | None


def _crc(decoded: Decoded) -> int:
    try:
        return zlib.crc32(orjson.dumps(decoded.value, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # pragma: no cover - decoders emit plain JSON
        return 0


def snapshot_framework(
    session: FrameworkSession, namespace: str, *, now_ms: int
) -> FrameworkSnapshot:
    """Remember a session read at ``now_ms``: its entries' fingerprints, expiry and host."""
    entries = {name: _crc(d) for name, d in session.attributes.items()}
    entries.update((name, _crc(d)) for name, d in session.bookkeeping.items())
    # An undecodable value has no entries: its bytes (as hex) stand for it.
    unread = session.value.hex if session.value is not None and not session.readable else ""
    whole = zlib.crc32(orjson.dumps([sorted(entries.items()), unread, session.size]))
    return FrameworkSnapshot(
        framework=session.framework,
        session_id=session.session_id,
        namespace=namespace,
        whole=whole,
        entries=entries,
        expires_at_ms=session.expires_at_ms,
        key_expires_ms=now_ms + session.ttl_ms if session.ttl_ms >= 0 else None,
        last_access_ms=session.last_access_ms,
        host=session.host,
    )


def observe_framework(
    previous: FrameworkSnapshot | None,
    session: FrameworkSession,
    namespace: str,
    *,
    source: EventSource,
    now_ms: int,
) -> tuple[RequestEvent | None, FrameworkSnapshot]:
    """The event a re-read shows (``None``: nothing changed) and the snapshot to keep.

    Args:
        previous: What was known, ``None`` for a session not seen yet (created).
        session: The session as just read.
        namespace: The prefix its key matched with.
        source: Notification or poll.
        now_ms: Observation time.
    """
    current = snapshot_framework(session, namespace, now_ms=now_ms)
    if previous is None:
        changed = tuple(session.attributes)
        return _event(session, current, None, changed, source, now_ms, EventKind.CREATED), current
    if current.whole == previous.whole:
        moved = _later(current.expires_at_ms, previous.expires_at_ms) or _later(
            current.key_expires_ms, previous.key_expires_ms
        )
        if not moved:
            return None, previous  # keep the old expiry: small drifts must not add up
        return _event(session, current, previous.host, (), source, now_ms), current
    written = [n for n, crc in current.entries.items() if previous.entries.get(n) != crc]
    written.extend(n for n in previous.entries if n not in current.entries)
    # The framework's own entries (express's cookie expiry) change on every save.
    shown = tuple(n for n in written if n not in session.bookkeeping)
    return _event(session, current, previous.host, shown, source, now_ms), current


def _later(now: int | None, before: int | None) -> bool:
    return now is not None and (before is None or now - before > TOUCH_SLACK_MS)


def _event(
    session: FrameworkSession,
    current: FrameworkSnapshot,
    previous_host: str | None,
    changed: tuple[str, ...],
    source: EventSource,
    now_ms: int,
    kind: EventKind = EventKind.REQUEST,
) -> RequestEvent:
    return RequestEvent(
        time_ms=now_ms,
        key=session.key,
        session_id=session.session_id,
        namespace=current.namespace,
        host=session.host,
        previous_host=previous_host,
        changed=changed,
        last_accessed_time=session.last_access_ms,
        source=source,
        kind=kind,
        framework=session.framework,
    )


def framework_destroyed(
    key: str, known: FrameworkSnapshot, *, source: EventSource, now_ms: int
) -> RequestEvent:
    """The session's key was deleted or expired."""
    return RequestEvent(
        time_ms=now_ms,
        key=key,
        session_id=known.session_id,
        namespace=known.namespace,
        host=None,
        previous_host=known.host,
        changed=(),
        last_accessed_time=known.last_access_ms,
        source=source,
        kind=EventKind.DESTROYED,
        framework=known.framework,
    )
