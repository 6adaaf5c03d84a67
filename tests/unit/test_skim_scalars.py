"""The skimmers' quick reading of a scalar equals the full reader's and renderer's.

``php_skim.decode_part`` and ``MarshalSkim.decode`` read an int or a short ASCII
string themselves (the values a list decodes most: an id, a name, a host). For
any span, well formed or not, the outcome (a value, or the error) must be what the
full reading of the same span gives.
"""

from __future__ import annotations

from functools import partial

from hypothesis import given
from hypothesis import strategies as st

from inspector.core.decoders import markers
from inspector.core.decoders.php_skim import _decode_parsed, decode_part
from inspector.core.decoders.ruby_skim import skim_marshal_hash
from inspector.core.values import DEFAULT_LIMITS, Limits

TINY = Limits(max_string=4)


def _outcome(read: object) -> object:
    assert callable(read)
    try:
        return ("value", read())
    except Exception as exc:
        return ("error", type(exc).__name__)


def _php_same(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    for start, end in ((0, len(data)), (0, max(len(data) - 1, 1))):
        quick = _outcome(partial(decode_part, data, start, end, limits))
        full = _outcome(partial(_decode_parsed, data, start, end, limits, 1))
        assert quick == full, (data, start, end)


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(["", "+", "0"]))
def test_php_ints(number: int, pad: str) -> None:
    text = str(number)
    if number >= 0:
        text = pad + text
    _php_same(b"i:%s;" % text.encode())


@given(st.binary(max_size=12), st.integers(min_value=-2, max_value=2))
def test_php_strings(raw: bytes, skew: int) -> None:
    data = b's:%d:"%s";' % (len(raw) + skew, raw)
    _php_same(data)
    _php_same(data, TINY)


@given(st.sampled_from([b"i:", b"s:", b"s:3:", b'"', b";"]), st.binary(max_size=10))
def test_php_hostile(head: bytes, rest: bytes) -> None:
    _php_same(head + rest)


def _marshal_int(number: int) -> bytes:
    if number == 0:
        return b"i\x00"
    if 0 < number < 123:
        return b"i" + bytes([number + 5])
    if -124 < number < 0:
        return b"i" + bytes([(number - 5) & 0xFF])
    size = (number.bit_length() + 8) // 8
    body = number.to_bytes(size, "little", signed=True)
    return b"i" + bytes([size if number > 0 else 256 - size]) + body


def _marshal_float(text: bytes) -> bytes:
    return b"f" + bytes([len(text) + 5]) + text


def _marshal_text(raw: bytes, link: bool, flag: bytes) -> bytes:
    size = bytes([len(raw) + 5]) if len(raw) < 123 else b"\x01" + bytes([len(raw)])
    tail = b"\x06;\x00" + flag if link else b"\x06:\x06E" + flag
    return b'I"' + size + raw + tail


@given(
    st.lists(
        st.one_of(
            st.integers(min_value=-300, max_value=300).map(_marshal_int),
            st.floats().map(lambda f: _marshal_float(repr(f).encode())),
            st.sampled_from([b"1e400", b"-inf", b"nan", b"1_0", b"abc", b"1.8e3", b"\xff"]).map(
                _marshal_float
            ),
            st.tuples(st.binary(max_size=140), st.sampled_from([b"T", b"F"])),
        ),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_marshal_scalars(values: list[object], tiny: bool) -> None:
    # A hash of "k<i>" => value: the first key defines the E symbol, the rest link to it.
    body = b""
    for index, value in enumerate(values):
        body += _marshal_text(b"k%d" % index, index > 0, b"T")
        if isinstance(value, tuple):
            body += _marshal_text(value[0], True, value[1])
        else:
            assert isinstance(value, bytes)
            body += value
    data = b"\x04\x08{" + bytes([len(values) + 5]) + body
    skim = skim_marshal_hash(data, TINY if tiny else DEFAULT_LIMITS)
    if skim is None:
        return
    for _, span in skim.entries:
        quick = skim._scalar(span)
        full = skim._decode_parsed(span, 1)
        if quick is not None:
            assert quick == full, (data, span)
        assert skim.decode(span) == full


def test_the_quick_paths_are_taken() -> None:
    data = b"\x04\x08{\x08" + _marshal_text(b"id", False, b"T") + _marshal_int(42)
    data += _marshal_text(b"host", True, b"T") + _marshal_text(b"web-1", True, b"T")
    data += _marshal_text(b"at", True, b"T") + _marshal_float(b"1.8e3")
    skim = skim_marshal_hash(data)
    assert skim is not None
    assert [skim._scalar(span) for _, span in skim.entries] == [42, "web-1", 1800.0]
    assert decode_part(b'i:-7;s:5:"alice";', 0, 5, DEFAULT_LIMITS) == -7
    assert decode_part(b'i:-7;s:5:"alice";', 5, 17, DEFAULT_LIMITS) == "alice"


@given(
    st.lists(
        st.sampled_from(
            [b"host", b"container", b"instance", b"server", b"h", b"o", b"s", b"t", b"er", b"x"]
        ),
        max_size=30,
    )
)
def test_mark_starts_are_the_regex_matches(parts: list[bytes]) -> None:
    data = b"".join(parts)
    expected = [m.start() for m in markers.MARKS.finditer(data)]
    assert markers.mark_starts(data) == expected
