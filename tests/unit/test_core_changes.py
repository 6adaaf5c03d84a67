"""The live feed's pure logic: snapshots, and what a re-read of a session changed."""

from __future__ import annotations

from inspector.core.changes import EventKind, EventSource, diff, observe, snapshot
from inspector.core.session import Session
from tests.factories import spring_session

NOW = 1_552_129_100_000


def session(fields: dict[str, bytes]) -> Session:
    return spring_session("s1", fields=fields, observed_at_ms=NOW)


BASE = {"lastAccessedTime": b"1", "maxInactiveInterval": b"1800"}


def test_observe_gives_the_event_and_the_snapshot_to_keep() -> None:
    before = session({**BASE, "sessionAttr:host": b'"c1"'})
    after = session({**BASE, "lastAccessedTime": b"2", "sessionAttr:host": b'"c2"'})
    event, kept = observe(snapshot(before), after, source=EventSource.POLL, now_ms=5)
    assert kept == snapshot(after)
    assert event == diff(snapshot(before), after, source=EventSource.POLL, now_ms=5)
    assert event is not None
    assert (event.host, event.previous_host, event.changed) == ("c2", "c1", ("host",))
    assert observe(kept, after, source=EventSource.POLL, now_ms=6) == (None, kept)


def test_first_sight_is_a_creation() -> None:
    first = session({**BASE, "sessionAttr:a": b"1", "sessionAttr:b": b"2"})
    event, kept = observe(None, first, source=EventSource.NOTIFICATION, now_ms=5)
    assert event is not None
    assert (event.kind, event.changed) == (EventKind.CREATED, ("a", "b"))
    assert kept == snapshot(first)
    assert diff(None, first, source=EventSource.NOTIFICATION, now_ms=5) == event


def test_fields_deleted_with_hdel_count_as_changes() -> None:
    before = session({**BASE, "sessionAttr:cart": b"1", "sessionAttr:keep": b"2"})
    # Same lastAccessedTime: only the deletion tells that something happened.
    after = session({**BASE, "sessionAttr:keep": b"2"})
    event = diff(snapshot(before), after, source=EventSource.POLL, now_ms=5)
    assert event is not None
    assert (event.kind, event.changed) == (EventKind.REQUEST, ("cart",))
    written_and_deleted = session({**BASE, "lastAccessedTime": b"2", "sessionAttr:keep": b"3"})
    event, _ = observe(snapshot(before), written_and_deleted, source=EventSource.POLL, now_ms=6)
    assert event is not None
    assert event.changed == ("keep", "cart")


def test_a_deleted_interval_is_reported_and_other_metadata_is_not() -> None:
    before = session({**BASE, "creationTime": b"1"})
    after = session({"lastAccessedTime": b"1"})
    event = diff(snapshot(before), after, source=EventSource.POLL, now_ms=5)
    assert event is not None
    assert event.changed == ("maxInactiveInterval",)
