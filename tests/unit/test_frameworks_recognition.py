"""One recognition function over (key, type, first bytes) for every framework (§4.8),
cookie values to keys, prefixes, helper keys, and the JVM hash stores."""

from __future__ import annotations

import hashlib

import pytest

from inspector.core.frameworks import (
    KeyKind,
    RawRecord,
    RedisType,
    Registry,
    adapters,
    default_registry,
    parse,
    recognize,
)
from tests.spring_layouts import jdk_int, jdk_long, jvm_fixture

SHA = "2::" + "ab" * 32


@pytest.mark.parametrize(
    ("key", "redis_type", "first", "framework", "session_id"),
    [
        (
            "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
            "string",
            b'{"cookie":{"originalMaxAge":1',
            "express",
            "_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
        ),
        (
            "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
            "string",
            b'{"cookie":{"expires":"2026',
            "fastify",
            "_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
        ),
        ("session:" + "A" * 43, "string", b"\x82\xaa_permanent", "flask-session", "A" * 43),
        (
            "session:6f1c2a3e-1111-4222-8333-444455556666",
            "string",
            b"\x80\x02}q",
            "flask-session",
            "6f1c2a3e-1111-4222-8333-444455556666",
        ),
        ("session:" + "A" * 43, "string", b"!\x80\x05\x95", "flask-session", "A" * 43),
        ("session:" + SHA, "string", b"\x04\x08{", "redis-actionpack", SHA),
        ("rack:session:" + SHA, "string", b"\x04\x08{", "redis-rack", SHA),
        ("_session_id:" + SHA, "string", b"\x04\x08o:", "rails-cache", SHA),
        ("myapp:cache:_session_id:" + SHA, "string", b"\x00\x04\x08[", "rails-cache", SHA),
        (
            ":1:django.contrib.sessions.cachetkvuq82g2prhkzczpw18wztcaa42njs8",
            "string",
            b"\x80\x05\x95",
            "django",
            "tkvuq82g2prhkzczpw18wztcaa42njs8",
        ),
        (
            "shop:3:django.contrib.sessions.cached_dbtkvuq82g2prhkzczpw18wztcaa42njs8",
            "string",
            b"\x80\x05\x95",
            "django",
            "tkvuq82g2prhkzczpw18wztcaa42njs8",
        ),
        (
            "AIOHTTP_SESSION_0123456789abcdef0123456789abcdef",
            "string",
            b'{"created": 1',
            "aiohttp-session",
            "0123456789abcdef0123456789abcdef",
        ),
        (
            "starsessions.0123456789abcdef0123456789abcdef",
            "string",
            b'{"a": 1, "__metadata__',
            "starsessions",
            "0123456789abcdef0123456789abcdef",
        ),
        (
            "beaker_cache:0123456789abcdef0123456789abcdef:session",
            "string",
            b"\x80\x04\x95",
            "beaker",
            "0123456789abcdef0123456789abcdef",
        ),
        (
            "PHPREDIS_SESSION:88eqact1ifimp65d09iia2tdrq",
            "string",
            b"user_id|i:42;",
            "php",
            "88eqact1ifimp65d09iia2tdrq",
        ),
        (
            "PHPREDIS_CLUSTER_SESSION:88eqact1ifimp65d09iia2tdrq",
            "string",
            b"\x00\x00\x00\x02\x14",
            "php",
            "88eqact1ifimp65d09iia2tdrq",
        ),
        (
            "sf_s88eqact1ifimp65d09iia2tdrq",
            "string",
            b"_sf2_attributes|a:",
            "symfony",
            "88eqact1ifimp65d09iia2tdrq",
        ),
        (
            "micronaut:session:sessions:0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
            "hash",
            None,
            "micronaut",
            "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
        ),
        (
            "spring:session:0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
            "hash",
            None,
            "redisson",
            "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",
        ),
    ],
)
def test_recognised(
    key: str, redis_type: str, first: bytes | None, framework: str, session_id: str
) -> None:
    found = recognize(key.encode(), redis_type, first)
    assert found is not None
    assert (found.framework, found.kind, found.match.session_id) == (
        framework,
        KeyKind.SESSION,
        session_id,
    )


@pytest.mark.parametrize(
    "key",
    [
        "spring:session:sessions:0a1b2c3d-aaaa-bbbb-cccc-0123456789ab",  # Spring's own: core.spring
        "spring:session:expirations:1552129080000",
        "spring:session:sessions",
        "sess:",
        "session:short",
        "user:42",
        "cache:views:home",
        ":1:views.decorators.cache.cache_page.abc",
    ],
)
def test_not_a_session_of_these_frameworks(key: str) -> None:
    assert recognize(key) is None


@pytest.mark.parametrize(
    ("key", "framework"),
    [
        ("PHPREDIS_SESSION:88eqact1ifimp65d09iia2tdrq_LOCK", "php"),
        ("micronaut:session:expiry:0a1b2c3d-aaaa-bbbb", "micronaut"),
        ("micronaut:session:active-sessions", "micronaut"),
    ],
)
def test_helper_keys_are_named_not_listed(key: str, framework: str) -> None:
    found = recognize(key)
    assert found is not None
    assert found.framework == framework
    assert found.kind is KeyKind.HELPER


def test_the_type_rules_out_a_framework() -> None:
    assert recognize("micronaut:session:sessions:0a1b2c3d-aaaa", "string") is None
    assert recognize("sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo", "hash") is None


def test_a_key_alone_is_a_guess_until_its_bytes_confirm() -> None:
    guess = recognize("sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo")
    assert guess is not None
    assert not guess.confirmed
    assert guess.framework == "express"


def test_prefixes_are_overridable_and_only_restricts() -> None:
    registry = Registry(only={"express", "php"}, prefixes={"express": ["myapp:sess:"]})
    assert registry.recognize("myapp:sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo") is not None
    assert registry.recognize("sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo") is None
    assert registry.recognize("session:" + "A" * 43) is None  # flask-session left out
    with pytest.raises(ValueError, match="unknown framework"):
        Registry(only={"nope"})


def test_every_adapter_has_a_name_title_and_a_key_for_its_ids() -> None:
    names = [a.name for a in adapters()]
    assert len(names) == len(set(names)) >= 14
    for adapter in adapters():
        assert adapter.title
        assert adapter.prefixes
        assert adapter.ttl_rule.detail


@pytest.mark.parametrize(
    ("cookie", "framework", "key"),
    [
        (
            "s%3A_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo.l%2FormwaHGHzZfG4",
            "express",
            "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
        ),
        (
            "_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo.47xnL5V8gikfRjRScZ23",
            "fastify",
            "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
        ),
        (
            "17e10cb6d12e775171d49c7e2123acc5",
            "redis-actionpack",
            "session:2::" + hashlib.sha256(b"17e10cb6d12e775171d49c7e2123acc5").hexdigest(),
        ),
        ("A" * 43 + ".sig-nature", "flask-session", "session:" + "A" * 43),
        ("88eqact1ifimp65d09iia2tdrq", "php", "PHPREDIS_SESSION:88eqact1ifimp65d09iia2tdrq"),
        ("88eqact1ifimp65d09iia2tdrq", "symfony", "sf_s88eqact1ifimp65d09iia2tdrq"),
        (
            "tkvuq82g2prhkzczpw18wztcaa42njs8",
            "django",
            ":1:django.contrib.sessions.cachetkvuq82g2prhkzczpw18wztcaa42njs8",
        ),
        (
            "0123456789abcdef0123456789abcdef",
            "aiohttp-session",
            "AIOHTTP_SESSION_0123456789abcdef0123456789abcdef",
        ),
        (
            "f" * 40 + "0123456789abcdef0123456789abcdef",
            "beaker",
            "beaker_cache:0123456789abcdef0123456789abcdef:session",
        ),
        ("MGExYjJjM2QtYWFhYS1iYmJi", "micronaut", "micronaut:session:sessions:0a1b2c3d-aaaa-bbbb"),
        (
            "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
            "express",
            "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
        ),
    ],
)
def test_what_a_user_has_in_hand_leads_to_the_key(cookie: str, framework: str, key: str) -> None:
    keys = [k for a, k in default_registry().candidates(cookie) if a.name == framework]
    assert keys[:1] == [key]


def hash_record(key: str, fields: dict[str, bytes], ttl_ms: int = 2_000_000) -> RawRecord:
    return RawRecord(key, RedisType.HASH, None, fields, ttl_ms, 1_552_129_100_000)


def test_micronaut_hash() -> None:
    # Field layout of micronaut-redis's RedisSessionStore; values as its JdkSerializer writes them.
    record = hash_record(
        "micronaut:session:sessions:0a1b2c3d-aaaa",
        {
            "Creation-Time": b"1552128921707",
            "Last-Accessed": b"1552129074379",
            "Max-Inactive-Interval": b"1800",
            "attr:sample": jvm_fixture("sample_session"),
            "attr:host": b"\xac\xed\x00\x05t\x00\x05web-2",
        },
    )
    session = parse(record)
    assert session is not None
    assert session.framework == "micronaut"
    assert (session.created_ms, session.last_access_ms) == (1552128921707, 1552129074379)
    assert session.expires_at_ms == 1552129074379 + 1800 * 1000
    assert set(session.attributes) == {"sample", "host"}
    assert set(session.bookkeeping) == {"Creation-Time", "Last-Accessed", "Max-Inactive-Interval"}
    assert (session.host, session.host_source) == ("web-2", "host")
    assert session.ttl_rule.margin_ms == 300_000


def test_redisson_hash() -> None:
    record = hash_record(
        "spring:session:0a1b2c3d-aaaa",
        {
            "session:creationTime": jdk_long(1552128921707),
            "session:lastAccessedTime": jdk_long(1552129074379),
            "session:maxInactiveInterval": jdk_int(1800),
            "session-attr:SPRING_SECURITY_CONTEXT": jvm_fixture("security_context"),
            "session-attr:kryo": b"\x01\x00\x8a\x01opaque",
        },
    )
    found = recognize(record.key, "hash", field_names=record.fields)
    assert found is not None
    assert found.confirmed
    assert found.framework == "redisson"
    session = parse(record, found)
    assert session is not None
    assert session.expires_at_ms == 1552129074379 + 1800 * 1000
    assert session.principal is not None
    assert set(session.attributes) == {"SPRING_SECURITY_CONTEXT", "kryo"}


def test_an_adapter_failure_is_an_unreadable_session_not_an_exception() -> None:
    record = RawRecord(
        "sess:_FjlsuTedifUSoqp4BNpGlBWQT5B7eNo",
        RedisType.STRING,
        b"\x00\xff garbage",
        None,
        5000,
        0,
    )
    session = parse(record)
    assert session is not None
    assert not session.readable
    assert session.attributes == {}
    assert session.to_json()["framework"] == "express"
