"""Sessions written by the frameworks' own libraries (tests/data/frameworks): each is
recognised as its framework from the key and first bytes, and every attribute the
framework itself reads back is shown with its value, types intact."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.core.frameworks import RawRecord, RedisType, default_registry, parse, recognize
from tests.frameworks_oracle import FRAMEWORKS, host_of, manifest_entries, principal_of, shown_as

ENTRIES = manifest_entries()


def record(entry: dict[str, Any]) -> RawRecord:
    return RawRecord(
        key=entry["key"],
        redis_type=RedisType(entry["redisType"]),
        value=(FRAMEWORKS / entry["path"]).read_bytes(),
        fields=None,
        ttl_ms=entry["ttlMs"],
        observed_at_ms=entry["capturedAtMs"],
    )


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_recognised_from_key_type_and_first_bytes(entry: dict[str, Any]) -> None:
    raw = record(entry)
    assert raw.value is not None
    found = recognize(raw.key.encode(), "string", raw.value[:32])
    assert found is not None
    assert found.framework == entry["framework"]
    assert found.confirmed
    assert found.match.session_id == entry["sessionId"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_every_attribute_read_back_is_shown(entry: dict[str, Any]) -> None:
    session = parse(record(entry))
    assert session is not None
    assert session.framework == entry["framework"]
    assert session.readable, session.notes
    shown = {
        **{k: v.value for k, v in session.attributes.items()},
        **{k: v.value for k, v in session.bookkeeping.items()},
    }
    read_back = entry["readBack"]
    assert read_back, "the fixture's read-back is empty"
    for name, expected in read_back.items():
        assert name in shown, f"{name} not shown"
        assert shown_as(expected, shown[name]), (name, expected, shown[name])
    assert not session.notes, session.notes


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_expiry_host_principal_and_variant(entry: dict[str, Any]) -> None:
    session = parse(record(entry))
    assert session is not None
    framework = entry["framework"]
    assert session.expires_at_ms is not None
    if framework in ("express", "fastify"):
        # connect-redis set the TTL from the cookie's expiry, rounded to seconds.
        assert abs(session.expires_at_ms - (entry["capturedAtMs"] + entry["ttlMs"])) < 2000
    elif framework != "rails-cache":
        assert session.expires_at_ms == entry["capturedAtMs"] + entry["ttlMs"]
    assert session.host == host_of(framework)
    assert session.principal == principal_of(framework)
    if "variant" in entry:
        assert session.variant == entry["variant"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_the_browsers_cookie_leads_to_the_key(entry: dict[str, Any]) -> None:
    cookie = (
        entry["cookie"].split("=", 1)[1]
        if "=" in entry["cookie"] and entry["framework"] not in ("express", "fastify")
        else entry["cookie"]
    )
    keys = [
        key
        for adapter, key in default_registry().candidates(cookie)
        if adapter.name == entry["framework"]
    ]
    assert keys[:1] == [entry["key"]]


def test_express_and_fastify_keep_the_cookie_apart() -> None:
    for entry in ENTRIES:
        if entry["framework"] in ("express", "fastify"):
            session = parse(record(entry))
            assert session is not None
            assert list(session.bookkeeping) == ["cookie"]
            assert "cookie" not in session.attributes
            assert session.principal_source == "passport.user"
            assert session.host_source == "server.hostname"


def test_symfony_attributes_unwrapped_and_meta_times() -> None:
    (entry,) = [e for e in ENTRIES if e["framework"] == "symfony"]
    session = parse(record(entry))
    assert session is not None
    assert "_sf2_attributes" not in session.attributes
    assert set(session.bookkeeping) == {"_sf2_meta", "_symfony_flashes"}
    assert session.created_ms is not None
    assert session.last_access_ms is not None
    assert abs(session.created_ms - entry["capturedAtMs"]) < 60_000


def test_rails_cache_entry_times() -> None:
    (entry,) = [e for e in ENTRIES if e["framework"] == "rails-cache"]
    session = parse(record(entry))
    assert session is not None
    assert session.variant == "6.1"
    assert session.created_ms is not None
    assert session.expires_at_ms is not None
    assert session.expires_at_ms - session.created_ms == 1800 * 1000  # expire_after


def test_php_handlers_are_all_present() -> None:
    variants = {e["variant"] for e in ENTRIES if e["framework"] == "php"}
    assert variants == {"php", "php_serialize", "php_binary", "igbinary", "msgpack"}
