"""Pickled sessions read light (``pickle_skim``) list exactly as the full reading does.

Django's cache sessions, Flask-Session's pickle (<= 0.6) and cachelib stores and
Beaker's pickled base64 of a pickle: for values written by the libraries' own
serializers and for random session dicts pickled with protocols 2 to 5, the light
reading (:meth:`Adapter.parse_light`, falling back to :meth:`Adapter.parse`) gives
the same listing fields as the full one; plain values are read light, not by the
fallback; cut, flipped and random bytes never raise; a ``REDUCE`` gadget stays
unexecuted. Pickles are only dumped here, never loaded.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import os
import pickle
import random
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.core.decoders.pickle_skim import skim_pickle
from inspector.core.frameworks import FrameworkSession, RawRecord, RedisType, Registry, parse
from inspector.core.values import DEFAULT_LIMITS, Limits
from tests.unit.test_frameworks_light import mutations

REGISTRY = Registry()
DJANGO = ":1:django.contrib.sessions.cache" + "d" * 32
CACHED_DB = ":1:django.contrib.sessions.cached_db" + "e" * 32
FLASK = "session:" + "f" * 43
BEAKER = "beaker_cache:" + "b" * 32 + ":session"
SESSION: dict[str, Any] = {
    "user_id": 7,
    "greeting": "ünï 😀 日本",
    "ratio": 0.25,
    "flags": [True, False, None],
    "server": {"hostname": "py-web-1"},
    "cart": {"items": [{"sku": "A-1", "qty": 2}]},
    "pair": (1, "x"),
    "big": 1 << 70,
    "empty": {},
}
# Protocols 2 and 3 pickle sets as calls (REDUCE of builtins.set), 2 bytes (_codecs.encode):
# read in full. Protocol 4 has opcodes for sets, 3 for bytes.
SESSION_3 = {**SESSION, "tags": {"a", "b"}, "frozen": frozenset({1}), "raw": b"\x00\xff"}
DJANGO_SESSION = {
    **SESSION,
    "_auth_user_id": "42",
    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
    "_auth_user_hash": "ab" * 32,
    "_session_expiry": 3600,
}
# Values pickled as calls the full reader rebuilds (the tests/redis PICKLED values).
OBJECTS: dict[str, Any] = {
    "last_login": dt.datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=dt.UTC),
    "naive": dt.datetime(2024, 5, 1, 10, 0),
    "birthday": dt.date(1990, 7, 14),
    "balance": decimal.Decimal("10.50"),
    "token": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "span": dt.timedelta(days=2),
    "tags": {"a"},
    "raw": b"\x00\xff",
}
BEAKER_SESSION = {
    **SESSION,
    "_creation_time": 1_714_550_400.25,
    "_accessed_time": 1_714_550_460.5,
    "_id": "b" * 32,
}


def record(key: str, value: bytes, ttl_ms: int = 60_000) -> RawRecord:
    return RawRecord(key, RedisType.STRING, value, None, ttl_ms, 1_700_000_000_000)


def listed(session: FrameworkSession | None) -> dict[str, Any] | None:
    """What a list shows of a session (``ls --json``), and whether it is readable."""
    if session is None:
        return None
    return {**session.to_json(), "readable": session.readable}


def assert_agree(key: str, value: bytes, limits: Limits | None = None) -> FrameworkSession | None:
    raw = record(key, value)
    full = parse(raw, registry=REGISTRY, limits=limits)
    light = parse(raw, registry=REGISTRY, light=True, limits=limits)
    assert listed(light) == listed(full)
    return light


def beaker_value(session: dict[str, Any], protocol: int = pickle.DEFAULT_PROTOCOL) -> bytes:
    """What beaker.ext.redisnm stores: a pickle of base64 of the pickled session (protocol 2)."""
    return pickle.dumps(base64.b64encode(pickle.dumps(session, 2)), protocol)


def written() -> list[tuple[str, str, bytes]]:
    """``(name, key, value)`` of sessions as the libraries' own serializers write them."""
    from cachelib.serializers import RedisSerializer as CachelibSerializer
    from django.core.cache.backends.redis import RedisSerializer as DjangoSerializer

    django_bytes = DjangoSerializer().dumps({**DJANGO_SESSION, **SESSION_3})
    assert isinstance(django_bytes, bytes)
    out = [
        ("django-rediscache", DJANGO, django_bytes),
        ("django-cached_db", CACHED_DB, django_bytes),
        ("flask-cachelib", FLASK, CachelibSerializer().dumps({**SESSION_3, "_permanent": True})),
        ("flask-pickle-0.6", FLASK, pickle.dumps({**SESSION_3, "_permanent": True})),
        ("beaker", BEAKER, beaker_value(BEAKER_SESSION)),
        ("django-objects", DJANGO, DjangoSerializer().dumps({**DJANGO_SESSION, **OBJECTS})),
        ("cachelib-objects", FLASK, CachelibSerializer().dumps({**SESSION, **OBJECTS})),
        ("beaker-objects", BEAKER, beaker_value({**BEAKER_SESSION, **OBJECTS})),
    ]
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        plain = SESSION if protocol < 4 else SESSION_3
        django = {**DJANGO_SESSION, **plain}
        out.append((f"django-p{protocol}", DJANGO, pickle.dumps(django, protocol)))
        out.append((f"flask-p{protocol}", FLASK, pickle.dumps(plain, protocol)))
        out.append((f"cachelib-p{protocol}", FLASK, b"!" + pickle.dumps(plain, protocol)))
        out.append((f"beaker-p{protocol}", BEAKER, beaker_value(BEAKER_SESSION, protocol)))
    return out


WRITTEN = written()


@pytest.mark.parametrize(("name", "key", "value"), WRITTEN, ids=[w[0] for w in WRITTEN])
def test_written_sessions_read_light_as_in_full(name: str, key: str, value: bytes) -> None:
    light = assert_agree(key, value)
    assert light is not None
    assert light.light, "a plain pickled session is read light, not by the fallback"
    assert light.host == "py-web-1"
    assert light.host_source == "server.hostname"
    assert light.principal in ("42", "7")
    if name.startswith("beaker"):
        assert light.created_ms == 1_714_550_400_250
        assert light.last_access_ms == 1_714_550_460_500


@pytest.mark.parametrize(("name", "key", "value"), WRITTEN, ids=[w[0] for w in WRITTEN])
def test_light_agrees_on_corrupted_pickles(name: str, key: str, value: bytes) -> None:
    for index, changed in enumerate(mutations(value, zlib.crc32(name.encode()))):
        try:
            assert_agree(key, changed)
        except AssertionError as exc:
            raise AssertionError(f"mutation {index}: {changed!r}") from exc


def test_values_the_full_reader_rebuilds_are_read_light() -> None:
    """Datetimes, dates, Decimals, UUIDs (REDUCE, NEWOBJ and BUILD of names the full
    reader rebuilds as values): built by its own handlers, read light, and agree."""
    session = {**SESSION, **OBJECTS, "server": {"hostname": "py-web-1", "at": OBJECTS["naive"]}}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        for key, data in (
            (DJANGO, pickle.dumps({**session, "_auth_user_id": "1"}, protocol)),
            (FLASK, b"!" + pickle.dumps(session, protocol)),
            (BEAKER, beaker_value(session, protocol)),
        ):
            light = assert_agree(key, data)
            assert light is not None
            assert light.light, (key, protocol)
            assert light.host == "py-web-1"


def test_values_the_skim_is_unsure_of_fall_back() -> None:
    """An object whose state the full reader notes (a call of a function, a class it
    does not rebuild given odd arguments), a value shared by two entries (a memo
    reference to a container) and a self-reference are read in full, and agree."""
    shared = {"hostname": "web-2"}
    unsure = [
        {"user_id": 1, "call": Gadget("true")},
        {"user_id": 1, "a": shared, "b": shared},
    ]
    looped: dict[str, Any] = {"user_id": 1}
    looped["me"] = looped
    unsure.append(looped)
    for session in unsure:
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            light = assert_agree(FLASK, pickle.dumps(session, protocol))
            assert light is not None
            assert not light.light


def test_a_key_read_again_from_the_memo_still_finds_the_host() -> None:
    # "host" is one string object: written in full in "a", read from the memo in "b".
    host = "".join(["ho", "st"])
    session = {"a": {host: 5}, "b": {host: "web-3"}}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps(session, protocol)
        assert data.count(b"host") == 1
        light = assert_agree(FLASK, data)
        assert light is not None
        assert light.light
        assert light.host == "web-3"
        assert light.host_source == "b.host"


def test_values_near_the_limits_agree() -> None:
    session = {
        "user_id": "u" * 40,
        "deep": [[[[["x"]]]]],
        "blob": b"y" * 40,
        "host": "h",
        "big": 1 << 200,
        "dec": decimal.Decimal("1" * 40),
        "when": [OBJECTS["naive"], OBJECTS["naive"]],
        "deep_when": [[[[[OBJECTS["birthday"]]]]]],
    }
    limited = (Limits(max_depth=4), Limits(max_string=16), Limits(max_nodes=30), Limits())
    for limits in limited:
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            for name, value in session.items():
                data = pickle.dumps({"user_id": 1, name: value}, protocol)
                assert_agree(FLASK, data, limits)
                assert_agree(FLASK, b"!" + data, limits)
            assert_agree(FLASK, pickle.dumps(session, protocol), limits)


_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-(1 << 80), 1 << 80)
    | st.floats()
    | st.text(max_size=8)
    | st.binary(max_size=6)
    | st.sampled_from(["host", "web-1", "server", "instance-9"])
    # Values the full reader rebuilds from calls (REDUCE, NEWOBJ, BUILD).
    | st.datetimes(
        timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=-5), "EST")])
    )
    | st.dates()
    | st.timedeltas()
    | st.decimals(places=None)
    | st.uuids()
    | st.complex_numbers(max_magnitude=1e6)
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.frozensets(st.integers(0, 9) | st.text(max_size=3), max_size=3)
        | st.sets(st.integers(0, 9), max_size=3)
        | st.dictionaries(
            st.sampled_from(["host", "user_id", "a", "hostname", "b", "container"])
            | st.integers(0, 3),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)
_NAMES = st.sampled_from(
    ["user_id", "_user_id", "username", "host", "server", "cart", "_permanent", "x", "ünï",
     "_auth_user_id", "_session_expiry", "_creation_time", "_accessed_time", "REMOTE_USER"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(_NAMES, _VALUES, max_size=7),
    st.integers(2, pickle.HIGHEST_PROTOCOL),
    st.sampled_from(["django", "flask", "cachelib", "beaker"]),
)
def test_random_sessions_light_equals_full(
    session: dict[str, Any], protocol: int, where: str
) -> None:
    if where == "django":
        assert_agree(DJANGO, pickle.dumps(session, protocol))
    elif where == "flask":
        assert_agree(FLASK, pickle.dumps(session, protocol))
    elif where == "cachelib":
        assert_agree(FLASK, b"!" + pickle.dumps(session, protocol))
    else:
        assert_agree(BEAKER, beaker_value(session, protocol))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), st.integers(2, 5))
def test_random_bytes_never_raise(tail: bytes, protocol: int) -> None:
    for data in (tail, bytes([0x80, protocol]) + tail, bytes([0x80, protocol, 0x7D]) + tail):
        skim_pickle(data, DEFAULT_LIMITS)
        assert_agree(DJANGO, data)
        assert_agree(FLASK, b"!" + data)


def test_random_pickles_mostly_read_light() -> None:
    """Random plain sessions: the light reader answers most (it is what is compared)."""
    rng = random.Random(53)
    read_light = 0
    for _ in range(300):
        session = {
            rng.choice(["user_id", "host", "a", "b", "server"]) + str(i): rng.choice(
                [1, "web", 0.5, None, [1, "host"], {"hostname": "h"}, (2, 3), b"\x01"]
            )
            for i in range(rng.randrange(8))
        }
        light = assert_agree(DJANGO, pickle.dumps(session, rng.randrange(2, 6)))
        read_light += bool(light is not None and light.light)
    assert read_light > 200  # protocol 2 pickles bytes as a call: those in full


class Gadget:
    """``pickle.loads`` of this calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("key", [DJANGO, FLASK, BEAKER])
def test_pickle_gadget_is_not_run_by_the_light_reading(
    tmp_path: Path, protocol: int, key: str
) -> None:
    marker = tmp_path / "pwned"
    session = {"_auth_user_id": "1", "user_id": 1, "evil": Gadget(f"touch {marker}")}
    data = beaker_value(session, protocol) if key == BEAKER else pickle.dumps(session, protocol)
    assert skim_pickle(data, DEFAULT_LIMITS) is None  # a REDUCE: not skimmed
    light = assert_agree(key, data)
    assert not marker.exists()
    assert light is not None
    assert not light.light
    assert any("never run" in note for note in light.notes)
