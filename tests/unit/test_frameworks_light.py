"""The light reading ``ls`` and ``stats`` use agrees with the full one on all a list shows.

For every framework fixture (and the Flask-Session / Django values the benchmark
stores), and for each of them cut short, with bytes flipped or inserted, the
light reading (:meth:`Adapter.parse_light`, falling back to :meth:`Adapter.parse`)
gives the same framework, id, TTL, times, principal, host, attribute and
bookkeeping names, size, notes and readability as the full reading, and never
raises. The fixtures whose format has a light reader must be read light (not
by the fallback), or the listing would quietly lose its speed.
"""

from __future__ import annotations

import pickle
import random
import zlib
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.core.frameworks import FrameworkSession, RawRecord, RedisType, Registry, parse
from tests.frameworks_oracle import FRAMEWORKS, manifest_entries

REGISTRY = Registry()
PYTHON_SESSION = {
    "user_id": 7,
    "greeting": "ünï 😀 日本",
    "ratio": 0.25,
    "flags": [True, False, None],
    "server": {"hostname": "py-web-1"},
    "cart": {"items": [{"sku": "A-1", "qty": 2}]},
}


def fixtures() -> list[tuple[str, str, bytes]]:
    """``(name, key, value)`` of every framework fixture, plus msgpack and pickle values."""
    out = [
        (entry["name"], entry["key"], (FRAMEWORKS / entry["path"]).read_bytes())
        for entry in manifest_entries()
        if entry["redisType"] == "string"
    ]
    out.append(
        (
            "flask-session",
            "session:" + "f" * 43,
            msgpack.packb({**PYTHON_SESSION, "_permanent": True}),
        )
    )
    out.append(
        (
            "django",
            ":1:django.contrib.sessions.cache" + "d" * 32,
            pickle.dumps({**PYTHON_SESSION, "_auth_user_id": "42"}),
        )
    )
    return out


FIXTURES = fixtures()
LIGHT = {
    "phpredis_php",
    "phpredis_php_serialize",
    "phpredis_php_binary",
    "symfony",
    "express_login",
    "fastify_login",
    "redis_rack",
    "redis_actionpack",
    "rails_cache_store",
    "phpredis_msgpack",
    "phpredis_igbinary",
    "flask-session",
    "django",
}
"""Fixtures whose format has a light reader: read light, not by the fallback."""


def record(key: str, value: bytes, ttl_ms: int = 60_000) -> RawRecord:
    return RawRecord(key, RedisType.STRING, value, None, ttl_ms, 1_700_000_000_000)


def listed(session: FrameworkSession | None) -> dict[str, Any] | None:
    """What a list shows of a session (``ls --json`` and the tally's undecodable count)."""
    if session is None:
        return None
    return {**session.to_json(), "readable": session.readable}


def assert_agree(key: str, value: bytes) -> FrameworkSession | None:
    raw = record(key, value)
    full = parse(raw, registry=REGISTRY)
    light = parse(raw, registry=REGISTRY, light=True)
    assert listed(light) == listed(full)
    return light


@pytest.mark.parametrize(("name", "key", "value"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_light_agrees_with_full_on_every_fixture(name: str, key: str, value: bytes) -> None:
    light = assert_agree(key, value)
    assert light is not None
    assert light.light == (name in LIGHT), "read light" if light.light else "fell back"
    if light.light:
        assert light.attributes, "a light reading still names every attribute"


def mutations(value: bytes, seed: int) -> list[bytes]:
    """The value cut at many points, with bytes flipped, inserted and dropped."""
    rng = random.Random(seed)
    cuts = sorted(
        {*range(0, min(len(value), 24)), *rng.sample(range(len(value)), min(24, len(value)))}
    )
    out = [value[:cut] for cut in cuts]
    for _ in range(60):
        at = rng.randrange(len(value))
        out.append(value[:at] + bytes([rng.randrange(256)]) + value[at + 1 :])
        out.append(
            value[:at] + rng.choice([b'"', b";", b"}", b"{", b"|", b":", b"\x00"]) + value[at:]
        )
        out.append(value[:at] + value[at + 1 :])
    # Digits changed: lengths, counts and references that point elsewhere.
    digits = [i for i, byte in enumerate(value) if 0x30 <= byte <= 0x39]
    for at in rng.sample(digits, min(40, len(digits))):
        out.append(value[:at] + bytes([rng.choice(b"0123456789")]) + value[at + 1 :])
    return out


@pytest.mark.parametrize(("name", "key", "value"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_light_agrees_on_corrupted_values(name: str, key: str, value: bytes) -> None:
    for index, changed in enumerate(mutations(value, zlib.crc32(name.encode()))):
        try:
            assert_agree(key, changed)
        except AssertionError as exc:
            raise AssertionError(f"mutation {index}: {changed!r}") from exc


PHP_TOKENS = st.sampled_from(
    [b"i:1;", b"i:-7;", b"b:1;", b"N;", b"d:0.5;", b's:4:"host";', b's:3:"a"b";', b's:2:"ab";',
     b"a:1:{", b"a:2:{", b"a:0:{}", b"}", b'O:1:"A":1:{', b"r:1;", b"R:2;", b"r:9;", b'E:3:"A:B";',
     b"user_id|", b"host|", b"x|", b'S:1:"a";', b"\x04host", b"\x07user_id"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PHP_TOKENS, min_size=1, max_size=24), st.sampled_from(["php", "symfony"]))
def test_light_agrees_on_php_token_soup(tokens: list[bytes], framework: str) -> None:
    key = ("PHPREDIS_SESSION:" if framework == "php" else "sf_s") + "a" * 26
    assert_agree(key, b"".join(tokens))
    assert_agree(key, b"_sf2_attributes|a:1:{" + b"".join(tokens))


MARSHAL_TOKENS = st.sampled_from(
    [b'I"\x09host\x06:\x06ET', b'I"\x09host\x06;\x00T', b'I"\x08web\x06;\x00F', b":\x09host",
     b";\x00", b";\x06", b"i\x06", b"i\x01\xff", b"0", b"T", b"F", b"[\x06", b"[\x07", b"{\x06",
     b"}\x06", b"@\x00", b"@\x06", b'"\x07ab', b"f\x080.25", b"f\x06x", b"o:\x08Foo\x06",
     b":\x0a@host", b"Iu:\x09Time\x0d*\x10\x1f\xc0x\xe0\x01\x00\x06:\x09zone0",
     b"U:\x09Date[\x0bi\x00i\x03\xd7Z%i\x00i\x00i\x00f\x0c2299161", b"\x06:\x06ET"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARSHAL_TOKENS, min_size=1, max_size=20), st.integers(0, 6))
def test_light_agrees_on_marshal_token_soup(tokens: list[bytes], pairs: int) -> None:
    body = bytes([pairs + 5]) + b"".join(tokens)
    assert_agree("rack:session:2::" + "a" * 64, b"\x04\x08{" + body)
    entry = b"\x04\x08o:\x20ActiveSupport::Cache::Entry\x06:\x0b@value{" + body
    assert_agree("_session_id:2::" + "b" * 64, entry)


class _MarshalWriter:
    """Random but well-formed Marshal hashes: texts, symbols and their links, numbers,
    arrays, hashes, and object links to values written before (cycles among them)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.symbols: list[bytes] = []
        self.objects = 0

    def symbol(self, name: bytes) -> bytes:
        if name in self.symbols:
            return b";" + bytes([self.symbols.index(name) + 5])
        self.symbols.append(name)
        return b":" + bytes([len(name) + 5]) + name

    def text(self, words: list[bytes]) -> bytes:
        self.objects += 1
        word = self.rng.choice(words)
        return b'I"' + bytes([len(word) + 5]) + word + b"\x06" + self.symbol(b"E") + b"T"

    def value(self, depth: int) -> bytes:
        rng = self.rng
        kind = rng.randrange(9 if depth < 4 else 5)
        if kind == 0:
            return rng.choice([b"0", b"T", b"F", b"i\x06", b"i\x01\xc8"])
        if kind == 1:
            return self.text([b"web-1", b"alice", b"host", b"x"])
        if kind == 2:
            return self.symbol(rng.choice([b"admin", b"host", b"server"]))
        if kind == 3:
            self.objects += 1
            return b"f\x080.25"
        if kind == 4 and self.objects:
            return b"@" + bytes([rng.randrange(self.objects) + 5])
        if kind in (5, 6):
            self.objects += 1
            items = [self.value(depth + 1) for _ in range(rng.randrange(3))]
            return b"[" + bytes([len(items) + 5]) + b"".join(items)
        return self.hash(depth + 1)

    def hash(self, depth: int) -> bytes:
        self.objects += 1
        count = self.rng.randrange(4)
        pairs = [
            self.text([b"host", b"user_id", b"server", b"a", b"b"]) + self.value(depth)
            for _ in range(count)
        ]
        return b"{" + bytes([count + 5]) + b"".join(pairs)


def test_light_agrees_on_random_marshal_hashes() -> None:
    rng = random.Random(15)
    read_light = 0
    for _ in range(1500):
        value = b"\x04\x08" + _MarshalWriter(rng).hash(0)
        for changed in [value, *rng.sample(mutations(value, rng.randrange(1 << 16)), 3)]:
            light = assert_agree("rack:session:2::" + "a" * 64, changed)
            read_light += bool(light is not None and light.light)
    assert read_light > 500  # the light walker is what is being compared, mostly


_PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 63), (1 << 64) - 1) | st.floats()
    | st.text(max_size=8) | st.binary(max_size=4) | st.sampled_from(["host", "web-1", "server"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["host", "user_id", "a", "hostname", "b"]), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(["user_id", "host", "server", "cart", "_permanent", "x"]),
                    _PLAIN, min_size=1, max_size=6),
    st.booleans(),
)  # fmt: skip
def test_light_agrees_on_random_msgpack_maps(session: dict[str, Any], php: bool) -> None:
    if php:  # PHP's msgpack serializer: a nil key first, then the variables
        value = (
            bytes([0x81 + len(session)])
            + b"\xc0\x01"
            + b"".join(msgpack.packb(k) + msgpack.packb(v) for k, v in session.items())
        )
        assert_agree("PHPREDIS_SESSION:" + "a" * 26, value)
    else:
        assert_agree("session:" + "f" * 43, msgpack.packb(session))
