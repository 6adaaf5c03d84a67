"""Hostile bytes at the JDK serialization decoder: it must always answer, quickly.

Values in Redis are whatever someone wrote there. Whatever the bytes after
``AC ED 00 05``, ``decode_java`` returns a ``Decoded`` (never raises, never hangs),
and a ``JAVA`` result is plain JSON that both ``json`` and ``orjson`` can write.
"""

from __future__ import annotations

import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.core.decoders.java import decode_java
from inspector.core.values import Decoded, Limits, ValueFormat
from tests.spring_layouts import JVM, jvm_fixture

MAGIC = b"\xac\xed\x00\x05"
# The 70 KB string is left out: mutating it mostly tests memcpy, slowly.
FIXTURES = {
    path.stem: jvm_fixture(path.stem)
    for path in sorted((JVM / "bin").glob("*.bin"))
    if path.stem != "string_long"
}
# Pieces of real streams (class descriptors, field values, block data) recombined below
# reach deeper parser states than uniform random bytes.
FRAGMENTS = sorted(
    {
        data[start : start + size]
        for data in FIXTURES.values()
        for start in range(4, len(data), 7)
        for size in (3, 9, 24)
    }
)
# Lengths and handles that make a parser allocate, loop or look far away.
BIG_FIELDS = [
    b"\x7f\xff",
    b"\xff\xff",
    b"\x7f\xff\xff\xff",
    b"\xff\xff\xff\xff",
    b"\x80\x00\x00\x00",
    b"\x00\x7e\x00\x00",
    b"\x00\x7e\x00\x01",
    b"\x7f\xff\xff\xff\xff\xff\xff\xff",
    b"\x40\x00\x00\x00\x00\x00\x00\x00",
]

FUZZ = settings(
    max_examples=500,
    # No deadline: timing on a shared 2-core machine is noise; hangs still fail
    # the run, and speed is measured in benchmarks/.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def check(data: bytes, limits: Limits | None = None) -> Decoded:
    decoded = decode_java(data) if limits is None else decode_java(data, limits)
    assert isinstance(decoded, Decoded)
    assert decoded.size == len(data)
    assert decoded.format in (ValueFormat.JAVA, ValueFormat.UNDECODABLE)
    if decoded.format is ValueFormat.UNDECODABLE:
        assert decoded.value is None
        assert decoded.error
        assert decoded.preview is not None
        assert decoded.hex is not None
    json.dumps(decoded.value, allow_nan=False)
    orjson.dumps(decoded.to_json())  # no lone surrogates, no ints beyond 64 bits
    return decoded


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_after_the_header(tail: bytes) -> None:
    check(MAGIC + tail)


@FUZZ
@given(st.integers(min_value=0x70, max_value=0x7E), st.binary(max_size=300))
def test_random_bytes_after_a_valid_type_code(type_code: int, tail: bytes) -> None:
    check(MAGIC + bytes([type_code]) + tail)


@FUZZ
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12))
def test_recombined_fragments_of_real_streams(pieces: list[bytes]) -> None:
    check(MAGIC + b"".join(pieces))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A fixture with a few byte flips, cuts, insertions, deletions or inflated lengths."""
    data = bytearray(FIXTURES[draw(st.sampled_from(sorted(FIXTURES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        operation = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "inflate"]))
        at = draw(st.integers(min_value=4, max_value=max(len(data) - 1, 4)))
        if operation == "flip" and at < len(data):
            data[at] ^= draw(st.integers(min_value=1, max_value=255))
        elif operation == "truncate":
            del data[at:]
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif operation == "inflate":
            field = draw(st.sampled_from(BIG_FIELDS))
            data[at : at + len(field)] = field
    return bytes(data)


@settings(FUZZ, max_examples=2000)
@given(mutated())
def test_mutated_fixtures(data: bytes) -> None:
    check(data)


@FUZZ
@given(
    st.sampled_from(sorted(FIXTURES)),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=12),
)
def test_tight_limits_give_partial_values(name: str, depth: int, nodes: int, chars: int) -> None:
    limits = Limits(max_depth=depth, max_nodes=nodes, max_string=chars)
    decoded = check(FIXTURES[name], limits)
    # Valid bytes stay readable however small the limits: cut, not undecodable.
    assert decoded.format is ValueFormat.JAVA
