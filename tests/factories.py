"""The suite's one way to make sessions and request events without Redis.

Every test that needs a :class:`Session` or a :class:`RequestEvent` in memory
builds it here, so a change to the session model is one change to the tests.
"""

from __future__ import annotations

from collections.abc import Mapping

from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.session import HostField, RawSession, Session
from inspector.sample_app.store import sample_session_json

__all__ = ["NOW_MS", "raw_session", "request_event", "spring_session"]

NOW_MS = 1_795_000_000_000
"""The tests' frozen "now" (epoch ms), 2026-11-17."""
NAMESPACE = "spring:session"


def raw_session(
    sid: str,
    fields: Mapping[str, bytes],
    *,
    namespace: str = NAMESPACE,
    hash_ttl_ms: int = 2_000_000,
    shadow_ttl_ms: int | None = 1_800_000,
    observed_at_ms: int = NOW_MS,
) -> RawSession:
    """A session hash as read from Redis: exactly these fields, under ``<ns>:sessions:<sid>``."""
    return RawSession(
        key=f"{namespace}:sessions:{sid}",
        namespace=namespace,
        session_id=sid,
        fields=dict(fields),
        hash_ttl_ms=hash_ttl_ms,
        shadow_ttl_ms=shadow_ttl_ms,
        observed_at_ms=observed_at_ms,
    )


def spring_session(
    sid: str,
    host: str | None = "container-1",
    last: int = NOW_MS,
    *,
    created: int | None = None,
    interval: bytes = b"1800",
    sample_updated: int | None = None,
    attributes: Mapping[str, bytes] | None = None,
    fields: Mapping[str, bytes] | None = None,
    host_field: HostField | None = None,
    **raw: int | None,
) -> Session:
    """A Spring Session as the sample app writes it (its ``SampleSession`` names ``host``).

    Args:
        sid: The id.
        host: What the sample attribute says served the request (``None``: no host).
        last: ``lastAccessedTime``.
        created: ``creationTime`` (default a minute before :data:`NOW_MS`).
        interval: ``maxInactiveInterval``.
        sample_updated: The sample attribute's own timestamp (default ``created``), so
            that the attribute's bytes depend on ``host`` only.
        attributes: More attributes, by name (``cart`` becomes ``sessionAttr:cart``).
        fields: The whole hash instead (every other field argument is ignored).
        host_field: Where to read the host.
        raw: ``hash_ttl_ms``, ``shadow_ttl_ms``, ``observed_at_ms`` for :func:`raw_session`.
    """
    if fields is None:
        created = NOW_MS - 60_000 if created is None else created
        fields = {
            "creationTime": str(created).encode(),
            "lastAccessedTime": str(last).encode(),
            "maxInactiveInterval": interval,
        }
        if host is not None or sample_updated is not None:
            fields["sessionAttr:scopedTarget.sampleSession"] = sample_session_json(
                host, created if sample_updated is None else sample_updated
            )
        for name, value in (attributes or {}).items():
            fields[f"sessionAttr:{name}"] = value
    options = {"observed_at_ms": last, **raw}
    return Session.from_raw(raw_session(sid, fields, **options), host_field=host_field)  # type: ignore[arg-type]


def request_event(
    sid: str,
    host: str | None = "container-1",
    *,
    time_ms: int = NOW_MS,
    previous_host: str | None = None,
    changed: tuple[str, ...] = (),
    kind: EventKind = EventKind.REQUEST,
    source: EventSource = EventSource.NOTIFICATION,
    namespace: str = NAMESPACE,
) -> RequestEvent:
    """One request as the feed reports it (``kind=EventKind.DESTROYED``: the session is gone)."""
    return RequestEvent(
        time_ms=time_ms,
        key=f"{namespace}:sessions:{sid}",
        session_id=sid,
        namespace=namespace,
        host=None if kind is EventKind.DESTROYED else host,
        previous_host=previous_host,
        changed=changed,
        last_accessed_time=None if kind is EventKind.DESTROYED else time_ms,
        source=source,
        kind=kind,
    )
