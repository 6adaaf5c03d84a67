"""Hostile bytes at the non-Java codecs: they always answer, and small inputs stay small.

Whatever follows a magic number (pickle, Marshal, igbinary, msgpack, PHP forms,
zlib, base64), ``decode_value`` returns a ``Decoded`` that ``json`` and ``orjson``
can write; a few bytes whose references fan out into an exponential tree, or a
compressed bomb, are cut at the limits with a note."""

from __future__ import annotations

import base64
import json
import pickle
import zlib

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.core.decoders import decode_value
from inspector.core.decoders.graph import Renderer, Seq
from inspector.core.values import Decoded, Limits, ValueFormat
from tests.frameworks_oracle import FRAMEWORKS, manifest_entries

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAGICS = [
    b"\x80\x02",
    b"\x80\x04\x95",
    b"\x80\x05\x95",
    b"!\x80\x04",
    b"(dp0\n",
    b"}q\x00(",
    b"\x04\x08",
    b"\x04\x08{",
    b"\x04\x08o:",
    b'\x04\x08I"',
    b"\x00\x00\x00\x02",
    b"\x00\x00\x00\x02\x14",
    b"\x00\x00\x00\x01",
    b"\x81",
    b"\x8f",
    b"\xde\x00\x10",
    b"\xdf\x00\x00\x00\x10",
    b"a:2:{",
    b'O:4:"User":1:{',
    b's:5:"',
    b"name|",
    b"x|a:1:{",
    b"\x04namei:",
    b"x\x9c",
    b"\x1f\x8b",
    b"\xfd7zXZ\x00",
    b"gASV",
]
SAMPLES = [(FRAMEWORKS / e["path"]).read_bytes() for e in manifest_entries()] + [
    pickle.dumps({"a": [1, (2, 3)], "b": {1, 2}, "c": b"x"}, protocol=p) for p in range(6)
]


def check(data: bytes, limits: Limits | None = None) -> Decoded:
    decoded = decode_value(data) if limits is None else decode_value(data, limits)
    assert isinstance(decoded, Decoded)
    assert decoded.size == len(data)
    if decoded.format in (ValueFormat.BINARY, ValueFormat.UNDECODABLE):
        assert decoded.value is None
        assert decoded.preview is not None
    json.dumps(decoded.to_json(), allow_nan=False)
    orjson.dumps(decoded.to_json())
    return decoded


@FUZZ
@given(st.sampled_from(MAGICS), st.binary(max_size=300))
def test_random_bytes_after_a_magic(magic: bytes, tail: bytes) -> None:
    check(magic + tail)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if operation == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "cut":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


@settings(FUZZ, max_examples=1500)
@given(mutated())
def test_mutated_fixtures_of_every_framework(data: bytes) -> None:
    check(data)


@FUZZ
@given(st.binary(max_size=200))
def test_base64_and_zlib_of_random_bytes(data: bytes) -> None:
    check(zlib.compress(data))
    check(base64.b64encode(b"\x80\x04" + data))


LIMITS = Limits(max_nodes=5_000)


def test_pickle_references_do_not_expand_past_the_budget() -> None:
    data = pickle.dumps(_doubling(40), protocol=4)  # 40 levels: 2**40 leaves as a tree
    assert len(data) < 2000
    decoded = check(data, LIMITS)
    assert decoded.format is ValueFormat.PICKLE
    assert decoded.error is not None
    assert "cut off after 5000 values" in decoded.error
    assert len(orjson.dumps(decoded.value)) < 200_000


def _doubling(levels: int) -> list[object]:
    node: list[object] = ["leaf"]
    for _ in range(levels):
        node = [node, node]
    return node


def test_php_references_do_not_expand_past_the_budget() -> None:
    # a:2:{i:0;<prev>;i:1;r:N;} nested: each level references its first child.
    inner = b'a:1:{i:0;s:4:"leaf";}'
    data = inner
    for _ in range(30):
        data = b"a:2:{i:0;" + data + b"i:1;R:2;}"
    decoded = check(data, LIMITS)
    assert decoded.format is ValueFormat.PHP
    assert len(orjson.dumps(decoded.value)) < 200_000


def test_marshal_links_do_not_expand_past_the_budget() -> None:
    # Each array holds the previous one twice (the second time as an object link).
    data = (
        b"\x04\x08"
        + b"[\x07" * 40
        + b"[\x00"
        + b"".join(b"@" + bytes([5 + 40 - i]) for i in range(40))
    )
    decoded = check(data, LIMITS)
    assert len(orjson.dumps(decoded.value)) < 200_000


def test_cycles_render_as_refs() -> None:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    decoded = check(pickle.dumps(cyclic))
    assert decoded.value == [{"@ref": "list"}]
    assert check(b"\x04\x08[\x06@\x00").value == [{"@ref": "list"}]


def test_zip_bomb_is_refused_not_inflated() -> None:
    bomb = zlib.compress(b"\x80\x04" + b"\x00" * (64 << 20), 9)
    assert len(bomb) < 100_000
    decoded = check(bomb, Limits(max_inflated=1 << 20))
    assert decoded.format is ValueFormat.UNDECODABLE
    assert decoded.error is not None
    assert "inflates past" in decoded.error


def test_deep_nesting_is_cut_not_crashed() -> None:
    for data in (
        b"\x04\x08" + b"[\x06" * 5000 + b"0",
        b"a:1:{i:0;" * 5000,
        b"\x80\x04" + b"]" * 3000 + b"a" * 2999 + b".",
    ):
        decoded = check(data)
        assert decoded.value is not None or decoded.error


def test_renderer_counts_every_value() -> None:
    renderer = Renderer(Limits(max_nodes=10), int_class="int", float_class="float")
    shared = Seq(None, list(range(8)))
    renderer.render(Seq(None, [shared, shared, shared]))
    assert renderer.nodes <= 11
    assert renderer.full


# Names made of the bytes a lenient reader turns into lone surrogates: msgpack
# reads invalid UTF-8 with surrogateescape, pickletools reads BINUNICODE with
# surrogatepass. Each one must still give JSON that orjson writes.
_BAD_UTF8 = st.lists(
    st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\x80", b"A", b"\\"]),
    min_size=1,
    max_size=6,
).map(b"".join)


def _mp_str(raw: bytes) -> bytes:
    return b"\xda" + len(raw).to_bytes(2, "big") + raw  # str16, bytes taken as they are


def _pickle_unicode(raw: bytes) -> bytes:
    return b"\x8c" + bytes([len(raw)]) + raw  # SHORT_BINUNICODE


@settings(FUZZ, max_examples=300)
@given(_BAD_UTF8, _BAD_UTF8, _BAD_UTF8)
def test_surrogate_bearing_names_reach_no_output(cls: bytes, prop: bytes, key: bytes) -> None:
    values = [
        # msgpack, PHP's object convention: {nil: class, prop: 1, "k": {key: 2}}
        b"\x83\xc0"
        + _mp_str(cls)
        + _mp_str(prop)
        + b"\x01"
        + _mp_str(b"k")
        + b"\x81"
        + _mp_str(key)
        + b"\x02",
        # msgpack, a plain map with a bad key and a nested bad-keyed map
        b"\x82" + _mp_str(key) + b"\x01" + _mp_str(prop) + b"\x81" + _mp_str(cls) + b"\xc0",
        # msgpack, PHP reference marker on a bad-class object
        b"\x82\xc0" + _mp_str(cls) + b"\xc0\x81" + _mp_str(prop) + b"\x03",
        # pickle: STACK_GLOBAL of bad module/name, an object with bad-named state
        b"\x80\x04"
        + _pickle_unicode(cls)
        + _pickle_unicode(prop)
        + b"\x93)\x81}"
        + _pickle_unicode(key)
        + b"K\x01sb.",
        # pickle: a dict whose keys are bad strings, around a bad-class object
        b"\x80\x04}("
        + _pickle_unicode(key)
        + _pickle_unicode(cls)
        + _pickle_unicode(prop)
        + b"\x93)\x81"
        + _pickle_unicode(prop)
        + b"K\x02u.",
    ]
    for data in values:
        decoded = check(data)
        assert decoded.format is not ValueFormat.UNDECODABLE or decoded.error
