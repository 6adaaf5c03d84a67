"""A key's name matched once, at SCAN time, then settled by its type and first bytes.

:meth:`Registry.named` then :meth:`Registry.settle` must say what
:meth:`Registry.recognize` says, for every fixture's key against every fixture's
bytes, every type and a hash's field names; and :func:`parse_records` must list
the same sessions from candidates that carry their name's matches as from
candidates that do not (which it recognises again, in full).
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from inspector.core.frameworks import FrameworkSession, RawRecord, RedisType, Registry, parse
from inspector.core.frameworks.base import light_value
from inspector.core.values import ValueFormat
from inspector.redis_io.framework_reads import (
    Candidate,
    Tally,
    framework_candidates,
    parse_records,
)
from tests.unit.test_frameworks_light import fixtures

REGISTRY = Registry()
KEYS = [key for _, key, _ in fixtures()] + [
    "PHPREDIS_SESSION:rfk54gfb0cnpoidin4dl067m47_LOCK",
    "sess:short",
    "session:" + "f" * 43,
    "spring:session:sessions:1234",
    "",
    "x",
]
FIRSTS = [None, b"", *(value[:64] for _, _, value in fixtures())]


@pytest.mark.parametrize("key", KEYS)
def test_settle_of_named_is_recognize(key: str) -> None:
    named = REGISTRY.named(key)
    for redis_type in (None, "string", "hash", "list"):
        for first in FIRSTS:
            for fields in (None, [], ["data", "expires"], ["sessionAttr:x", "creationTime"]):
                expected = REGISTRY.recognize(key, redis_type, first, fields)
                got = REGISTRY.settle(named, redis_type, first, fields) if named else None
                assert got == expected, (key, redis_type, first, fields)


def test_parse_records_settles_the_named_matches_as_recognize_does() -> None:
    values = fixtures()
    keys = [key.encode() for _, key, _ in values]
    tally = Tally()
    found, _ = framework_candidates(keys, REGISTRY, seen=set(), tally=tally)
    assert found
    assert all(c.named and c.named_by is REGISTRY for c in found)
    by_key = {key: value for _, key, value in values}
    # Each candidate with the value of each fixture: the bytes settle among the names.
    records = [
        (c, RawRecord(c.key, RedisType.STRING, value, None, 60_000, 0))
        for c in found
        for value in by_key.values()
    ]
    bare = [(Candidate(c.key, c.recognition), r) for c, r in records]
    tallies = (Tally(), Tally())
    fast = parse_records(records, REGISTRY, tallies[0], light=True)
    slow = parse_records(bare, REGISTRY, tallies[1], light=True)
    assert [s.to_json() for s in fast] == [s.to_json() for s in slow]
    assert tallies[0].unreadable == tallies[1].unreadable
    assert tallies[0].sessions == tallies[1].sessions != Counter()
    # Another registry's candidates are recognised again by the one that reads them.
    other = Registry(only=["php"])
    mine = parse_records(records, other, Tally(), light=True)
    assert [s.to_json() for s in mine] == [
        s.to_json() for s in parse_records(bare, other, Tally(), light=True)
    ]


def test_light_session_builds_by_the_fields_order() -> None:
    # Adapter.light_session passes the fields by position: their order is part of it.
    assert [f.name for f in dataclasses.fields(FrameworkSession)] == [
        "framework", "key", "session_id", "attributes", "bookkeeping", "created_ms",
        "last_access_ms", "expires_at_ms", "ttl_ms", "ttl_rule", "principal",
        "principal_source", "host", "host_source", "variant", "value", "size", "notes",
        "light",
    ]  # fmt: skip


@pytest.mark.parametrize(("name", "key", "value"), fixtures())
def test_light_session_is_session_of_a_light_value(name: str, key: str, value: bytes) -> None:
    record = RawRecord(key, RedisType.STRING, value, None, 60_000, 1_000)
    found = REGISTRY.recognize(key, "string", value[:64])
    assert found is not None
    session = parse(record, found, registry=REGISTRY, light=True)
    assert session is not None
    if not session.light:
        return  # read in full (Django's pickle): not built by light_session
    adapter = found.adapter
    again = adapter.session(
        record,
        found.match,
        {**session.attributes, **session.bookkeeping},
        value=light_value(session.value.format if session.value else ValueFormat.JSON, value),
        created_ms=session.created_ms,
        last_access_ms=session.last_access_ms,
        expires_at_ms=session.expires_at_ms,
        principal=(session.principal, session.principal_source or "")
        if session.principal
        else None,
        variant=session.variant,
        light=True,
    )
    assert again == session
