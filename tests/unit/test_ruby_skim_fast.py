"""The skim's quick reading of small Arrays and Hashes equals the full reading's."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core.decoders.ruby_skim import skim_marshal_hash


def _long(n: int) -> bytes:
    if n == 0:
        return b"\x00"
    if 0 < n < 123:
        return bytes([n + 5])
    if -124 < n < 0:
        return bytes([(n - 5) & 0xFF])
    raw = abs(n).to_bytes(4, "little") if n > 0 else (n & 0xFFFFFFFF).to_bytes(4, "little")
    return (b"\x04" if n > 0 else b"\xfc") + raw


class _Dump:
    def __init__(self) -> None:
        self.e = False

    def text(self, s: str) -> bytes:
        raw = s.encode()
        tail = b"\x06;\x00T" if self.e else b"\x06:\x06ET"
        self.e = True
        return b'I"' + _long(len(raw)) + raw + tail

    def value(self, v: object) -> bytes:
        if v is None:
            return b"0"
        if v is True:
            return b"T"
        if isinstance(v, int):
            return b"i" + _long(v)
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return b"[" + _long(len(v)) + b"".join(self.value(x) for x in v)
        assert isinstance(v, dict)
        return b"{" + _long(len(v)) + b"".join(self.text(k) + self.value(x) for k, x in v.items())


scalars = st.none() | st.booleans() | st.integers(-300, 300) | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _check(data: bytes) -> None:
    skim = skim_marshal_hash(data)
    if skim is None:
        return
    for _, span in skim.entries:
        if not skim.stands_alone(span):
            continue
        try:
            full = skim._decode_parsed(span, 1)
        except Exception:
            full = None
        if data[span[0]] in (0x5B, 0x7B):
            quick = skim._small(span, 1)
            assert quick is None or quick == full
        assert skim.decode(span, 1) == full


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), values, max_size=5))
def test_small_equals_full(session: dict[str, object]) -> None:
    _check(b"\x04\x08" + _Dump().value(session))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), values, min_size=1, max_size=4), st.data())
def test_mutated_never_disagrees(session: dict[str, object], data: st.DataObject) -> None:
    raw = bytearray(b"\x04\x08" + _Dump().value(session))
    at = data.draw(st.integers(2, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    _check(bytes(raw))
    _check(bytes(raw[: data.draw(st.integers(2, len(raw)))]))


def test_warden_key_and_server() -> None:
    dump = _Dump()
    data = b"\x04\x08{\x07" + dump.text("warden.user.user.key") + dump.value([[42], "salt"])
    data += dump.text("server") + dump.value({"hostname": "web-1"})
    skim = skim_marshal_hash(data)
    assert skim is not None
    got = [skim._small(span, 1) for _, span in skim.entries]
    assert got == [[[42], "salt"], {"hostname": "web-1"}]
    _check(data)


def test_scalars_inside() -> None:
    dump = _Dump()
    data = b"\x04\x08{\x06" + dump.text("k") + dump.value([None, True, False, 0, -3, "a", {"b": 1}])
    skim = skim_marshal_hash(data)
    assert skim is not None
    ((_, span),) = skim.entries
    assert skim._small(span, 1) == [None, True, False, 0, -3, "a", {"b": 1}]
    _check(data)
