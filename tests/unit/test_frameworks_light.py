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
    cuts = sorted({*range(0, min(len(value), 24)), *rng.sample(range(len(value)), 24)})
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
    for index, changed in enumerate(mutations(value, hash(name) & 0xFFFF)):
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
