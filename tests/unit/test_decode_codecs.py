"""The non-Java codecs' typed JSON, their detection by first bytes, and the layers."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import decimal
import gzip
import json
import lzma
import pickle
import uuid
import zlib

import msgpack
import pytest

from inspector.core.decoders import decode_value
from inspector.core.values import ValueFormat


class Account:
    def __init__(self) -> None:
        self.name = "bob"
        self.roles = ("admin",)


RICH = {
    "when": dt.datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=dt.UTC),
    "naive": dt.datetime(2024, 5, 1, 10, 0),
    "day": dt.date(2020, 1, 2),
    "price": decimal.Decimal("10.50"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "tags": {"a"},
    "frozen": frozenset(),
    "blob": b"\x00\xff",
    "pair": (1, "x"),
    "ordered": collections.OrderedDict(a=1),
    "account": Account(),
    "big": 2**70,
    "inf": float("inf"),
    "ints": {1: "one"},
    "text": "ünï 😀",
}
EXPECTED = {
    "when": {
        "@class": "datetime.datetime",
        "@value": "2024-05-01T10:00:00.123000+00:00",
        "@epochMillis": 1714557600123,
    },
    "naive": {"@class": "datetime.datetime", "@value": "2024-05-01T10:00:00"},
    "day": {"@class": "datetime.date", "@value": "2020-01-02"},
    "price": {"@class": "decimal.Decimal", "@value": "10.50"},
    "id": {"@class": "uuid.UUID", "@value": "12345678-1234-5678-1234-567812345678"},
    "tags": {"@class": "set", "@items": ["a"]},
    "frozen": {"@class": "frozenset", "@items": []},
    "blob": {"@class": "bytes", "@hex": "00ff"},
    "pair": {"@class": "tuple", "@items": [1, "x"]},
    "ordered": {"@class": "collections.OrderedDict", "@entries": {"a": 1}},
    "account": {
        "@class": f"{__name__}.Account",
        "name": "bob",
        "roles": {"@class": "tuple", "@items": ["admin"]},
    },
    "big": {"@class": "int", "@value": str(2**70)},
    "inf": {"@class": "float", "@value": "Infinity"},
    "ints": {"@class": "dict", "@entries": [[1, "one"]]},
    "text": "ünï 😀",
}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_values_in_every_protocol(protocol: int) -> None:
    decoded = decode_value(pickle.dumps(RICH, protocol=protocol))
    assert decoded.format is ValueFormat.PICKLE
    assert decoded.value == EXPECTED
    assert decoded.error is None


def test_msgpack_with_the_timestamp_extension() -> None:
    moment = dt.datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=dt.UTC)
    data = msgpack.packb({"_permanent": True, "at": moment, "n": [1, 2.5]}, datetime=True)
    decoded = decode_value(data)
    assert decoded.format is ValueFormat.MSGPACK
    assert decoded.value == {
        "_permanent": True,
        "at": {
            "@class": "datetime",
            "@value": "2024-05-01T10:00:00.500000Z",
            "@epochMillis": 1714557600500,
        },
        "n": [1, 2.5],
    }


@pytest.mark.parametrize(
    ("data", "layers", "fmt"),
    [
        (zlib.compress(pickle.dumps({"a": 1})), ("zlib",), ValueFormat.PICKLE),
        (gzip.compress(b'{"a":1}'), ("gzip",), ValueFormat.JSON),
        (lzma.compress(pickle.dumps({"a": 1})), ("xz",), ValueFormat.PICKLE),
        (base64.b64encode(pickle.dumps({"a": 1})), ("base64",), ValueFormat.PICKLE),
        (b"!" + pickle.dumps({"a": 1}), ("cachelib",), ValueFormat.PICKLE),
        (
            pickle.dumps(base64.b64encode(pickle.dumps({"a": 1}, 2))),
            ("pickle", "base64"),
            ValueFormat.PICKLE,
        ),
        (
            pickle.dumps(base64.b64encode(zlib.compress(b'{"a": 1}'))),
            ("pickle", "base64", "zlib"),
            ValueFormat.JSON,
        ),
    ],
    ids=["zlib", "gzip", "xz", "base64", "cachelib", "beaker-pickle", "beaker-json"],
)
def test_layers_are_unwrapped(data: bytes, layers: tuple[str, ...], fmt: ValueFormat) -> None:
    decoded = decode_value(data)
    assert (decoded.format, decoded.layers, decoded.value) == (fmt, layers, {"a": 1})
    assert decoded.size == len(data)
    assert decoded.to_json()["layers"] == list(layers)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (
            b'user_id|i:42;name|s:5:"alice";cart|a:2:{s:1:"a";i:1;s:1:"b";b:1;}ts|d:1.5;n|N;',
            ValueFormat.PHP_SESSION,
        ),
        (b'a:2:{s:1:"a";i:1;s:1:"b";a:2:{i:0;i:1;i:1;i:2;}}', ValueFormat.PHP),
        (b'\x07user_idi:42;\x04names:5:"alice";', ValueFormat.PHP_BINARY),
        (b"\x00\x00\x00\x02\x14\x01\x11\x01a\x06\x01", ValueFormat.IGBINARY),
        (b'\x04\x08{\x06I"\x06a\x06:\x06ETi\x06', ValueFormat.MARSHAL),
        (pickle.dumps({"a": 1}, protocol=0), ValueFormat.PICKLE),
        (pickle.dumps({"a": 1}, protocol=1), ValueFormat.PICKLE),
    ],
    ids=["php", "php_serialize", "php_binary", "igbinary", "marshal", "pickle0", "pickle1"],
)
def test_detected_by_first_bytes(data: bytes, fmt: ValueFormat) -> None:
    assert decode_value(data).format is fmt


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"1800", ValueFormat.JSON),
        (b"a|b", ValueFormat.TEXT),
        (b"Hello. Goodbye.", ValueFormat.TEXT),
        (b"Isn't it.", ValueFormat.TEXT),
        (b"dGV4dCBpbiBiYXNlNjQ=", ValueFormat.TEXT),  # base64 of text stays text
        (b'{"x":"a|i:1;"}', ValueFormat.JSON),
        (b's:3:"abc"', ValueFormat.TEXT),  # no final ';': not complete
        (b"\x81\x01\x02", ValueFormat.BINARY),  # a msgpack map without string keys
        (b"\x80\x04\x95\x10\x00", ValueFormat.BINARY),
        (b"\x04\x08\xff", ValueFormat.BINARY),
    ],
)
def test_text_json_and_junk_are_not_misread(data: bytes, fmt: ValueFormat) -> None:
    decoded = decode_value(data)
    assert decoded.format is fmt
    json.dumps(decoded.to_json())


def test_unreadable_magic_keeps_the_guess() -> None:
    decoded = decode_value(b"\x04\x08{\x07")
    assert decoded.format is ValueFormat.BINARY
    assert decoded.error is not None
    assert decoded.error.startswith("Ruby Marshal, unreadable")
    assert "never loaded" in decoded.error


def test_php_references_share_values() -> None:
    decoded = decode_value(
        b'a:3:{s:1:"a";a:1:{i:0;i:7;}s:1:"b";R:2;s:1:"o";O:8:"stdClass":1:{s:4:"self";r:4;}}'
    )
    assert decoded.value == {
        "a": [7],
        "b": [7],
        "o": {"@class": "stdClass", "self": {"@ref": "stdClass"}},
    }
