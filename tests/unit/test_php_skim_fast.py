"""The one-match readings of PHP scalars and flat containers equal the token walk.

``skim_session``, ``skim_serialized`` and ``skim_binary`` read a variable or an
array member whose value is a scalar (or an array/object of scalars only) by one
pattern match, and leave everything else to ``_Skimmer.skip``. Here they are
checked against the token walk alone (an oracle written as the readers were
before): the same spans, slots, references and depth, or both ``None``; and the
light reading of a whole session against the full one.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core.decoders import php_skim
from inspector.core.decoders.php import PhpError
from inspector.core.decoders.php_skim import (
    _INT,
    _STRING,
    Skim,
    _Odd,
    _Skimmer,
    skim_binary,
    skim_serialized,
    skim_session,
)
from inspector.core.values import DEFAULT_LIMITS, Limits
from tests.frameworks_oracle import FRAMEWORKS
from tests.unit.test_frameworks_light import assert_agree


def _members_by_tokens(skimmer: _Skimmer, start: int) -> list[php_skim.Span] | None:
    data = skimmer.data
    match = php_skim._ARRAY.match(data, start)
    if match is None:
        return None
    count = int(match[1])
    if count <= 0 or count > len(data) - match.end() + 1:
        return None
    slot = len(skimmer.slots)
    skimmer.slots.append((start, -1))
    pos = match.end()
    out: list[php_skim.Span] = []
    listed = True
    for index in range(count):
        key = _INT.match(data, pos)
        if key is not None:
            name = str(int(key[1]))
            listed = listed and int(key[1]) == index
            pos = key.end()
        else:
            text = _STRING.match(data, pos)
            if text is None:
                return None
            size = int(text[1])
            begin = text.end()
            if size < 0 or data[begin + size : begin + size + 2] != b'";':
                return None
            name = data[begin : begin + size].decode("utf-8")
            listed = False
            pos = begin + size + 2
        value_end = skimmer.skip(pos, skimmer.max_depth - 1)
        out.append((name, pos, value_end))
        pos = value_end
    if listed or data[pos : pos + 1] != b"}":
        return None
    skimmer.pos = pos + 1
    skimmer.slots[slot] = (start, pos + 1)
    return out


def _state(skim: Skim | None) -> object:
    if skim is None:
        return None
    skimmer = skim.skimmer
    return skim.spans, skim.inner, skimmer.slots, skimmer.refs, skimmer.deepest


def _oracle(data: bytes, limits: Limits, handler: str, split: frozenset[str]) -> object:
    try:
        skimmer = _Skimmer(data, limits)
        out: list[php_skim.Span] = []
        inner: dict[str, list[php_skim.Span]] = {}
        if handler == "serialize":
            spans = _members_by_tokens(skimmer, 0)
            if spans is None or skimmer.pos != len(data):
                return None
            out = spans
        elif handler == "binary":
            pos = 0
            while pos < len(data):
                length = data[pos] & 0x7F
                raw = data[pos + 1 : pos + 1 + length]
                if len(raw) != length or not raw:
                    return None
                pos += 1 + length
                end = pos if data[pos - 1 - length] & 0x80 else skimmer.skip(pos)
                out.append((raw.decode("utf-8", "replace"), pos, end))
                pos = end
            if not out:
                return None
        else:
            pos = 0
            while pos < len(data):
                bar = data.find(b"|", pos)
                if bar < 0:
                    return None
                name = data[pos:bar].decode("utf-8", "replace")
                if name in split and data.startswith(b"a:", bar + 1):
                    members = _members_by_tokens(skimmer, bar + 1)
                    if members is None:
                        if data.startswith(b"a:0:{}", bar + 1):
                            return _oracle(data, limits, handler, frozenset())
                        return None
                    inner[name] = members
                    end = skimmer.pos
                else:
                    end = skimmer.skip(bar + 1)
                out.append((name, bar + 1, end))
                pos = end
    except (_Odd, php_skim._Slow, ValueError, IndexError):
        return None
    return out, inner, skimmer.slots, skimmer.refs, skimmer.deepest


def _text(raw: bytes, skew: int = 0) -> bytes:
    return b's:%d:"%s";' % (max(len(raw) + skew, 0), raw)


_SCALAR = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(lambda n: b"i:%d;" % n),
    st.sampled_from([b"b:1;", b"b:0;", b"N;", b"d:0.25;", b"d:-INF;", b"d:1e5;", b"i:+7;"]),
    st.tuples(
        st.binary(max_size=8).filter(lambda b: b'"' not in b)
        | st.sampled_from([b'a"b', b'";', b"host", b"\xff", b"x;y"]),
        st.sampled_from([0] * 12 + [-1, 1]),
    ).map(lambda t: _text(*t)),
    st.sampled_from([b'E:8:"Plan:Pro";'] * 4 + [b'E:3:"a"b";', b"r:1;", b"R:2;", b"R:99;"]),
)
_KEY = st.one_of(
    st.integers(min_value=-3, max_value=5).map(lambda n: b"i:%d;" % n),
    st.sampled_from([b"user_id", b"host", b"a", b"b", b"c", b'q"', b"\xff", b""]).map(_text),
)


def _container(members: list[tuple[bytes, bytes]], head: bytes, skew: int) -> bytes:
    body = b"".join(key + value for key, value in members)
    return head % (len(members) + skew) + b"{" + body + b"}"


_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.tuples(
        st.lists(st.tuples(_KEY, inner), max_size=4),
        st.sampled_from([b"a:%d:"] * 3 + [b'O:7:"Account":%d:', b'O:3:"Account":%d:']),
        st.sampled_from([0] * 12 + [1, -1]),
    ).map(lambda t: _container(*t)),
    max_leaves=12,
)
_NAME = st.sampled_from([b"user_id", b"_sf2_attributes", b"host", b"x", b"a|b", b""])


def _check(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    assert _state(skim_serialized(data, limits)) == _oracle(data, limits, "serialize", frozenset())
    assert _state(skim_binary(data, limits)) == _oracle(data, limits, "binary", frozenset())
    for split in (frozenset(), frozenset({"_sf2_attributes"})):
        assert _state(skim_session(data, limits, split)) == _oracle(data, limits, "php", split)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_NAME, _VALUE), min_size=1, max_size=5),
    st.sampled_from(["php", "serialize", "binary"]),
    st.integers(min_value=0, max_value=3),
    st.booleans(),
)
def test_one_match_readings_equal_the_token_walk(
    variables: list[tuple[bytes, bytes]], handler: str, cut: int, tiny: bool
) -> None:
    if handler == "php":
        data = b"".join(name + b"|" + value for name, value in variables)
    elif handler == "binary":
        data = b"".join(bytes([len(name)]) + name + value for name, value in variables)
    else:
        data = _container([(_text(name), value) for name, value in variables], b"a:%d:", 0)
    if cut:
        data = data[:-cut]
    limits = Limits(max_depth=4) if tiny else DEFAULT_LIMITS
    _check(data, limits)


@given(st.binary(max_size=40), st.sampled_from([b"a|", b"a:1:{", b"\x01a", b'a:2:{s:1:"a";']))
def test_hostile_bytes_never_raise(rest: bytes, head: bytes) -> None:
    _check(head + rest)


def test_the_fixtures_skim_as_before() -> None:
    for name in ("phpredis_php", "phpredis_php_serialize", "phpredis_php_binary", "symfony"):
        data = (FRAMEWORKS / "php" / f"{name}.bin").read_bytes()
        _check(data)


def _read(data: bytes, limits: Limits, depth: int, read: object) -> object:
    try:
        return ("ok", read(data, 0, len(data), limits, depth))  # type: ignore[operator]
    except PhpError as error:
        return ("error", type(error))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"u", b"c", b"l", b"_x1", b"@class", b"5", b"a b", b"\xc3\xa9", b"u"]),
            st.sampled_from([0] * 8 + [1, -1]),
            st.integers(min_value=-(10**19), max_value=10**19).map(lambda n: b"%d" % n)
            | st.sampled_from([b"+1", b"007", b"-0", b"", b"1.5"]),
        ),
        max_size=5,
    ),
    st.sampled_from([0] * 6 + [1, -1]),
    st.sampled_from(
        [DEFAULT_LIMITS, Limits(max_depth=2), Limits(max_depth=3), Limits(max_nodes=2)]
    ),
    st.integers(min_value=0, max_value=3),
)
def test_named_ints_read_as_the_full_reader(
    members: list[tuple[bytes, int, bytes]], skew: int, limits: Limits, depth: int
) -> None:
    body = b"".join(
        b's:%d:"%s";i:%s;' % (len(name) + size_skew, name, number)
        for name, size_skew, number in members
    )
    data = b"a:%d:{%s}" % (max(len(members) + skew, 0), body)
    assert _read(data, limits, depth, php_skim.decode_part) == _read(
        data, limits, depth, php_skim._decode_parsed
    )


def test_named_ints_take_the_quick_path(monkeypatch: object) -> None:
    data = b'a:3:{s:1:"u";i:1796305274;s:1:"c";i:-5;s:1:"l";i:0;}'
    expected = php_skim._decode_parsed(data, 0, len(data), DEFAULT_LIMITS, 1)

    def refuse(*_: object) -> None:
        raise AssertionError("read in full")

    monkeypatch.setattr(php_skim, "_decode_parsed", refuse)  # type: ignore[attr-defined]
    assert php_skim.decode_part(data, 0, len(data), DEFAULT_LIMITS, 1) == expected


_IG_VALUE = (FRAMEWORKS / "php" / "phpredis_igbinary.bin").read_bytes()
_IG_SHORTS = [i for i in range(4, len(_IG_VALUE) - 1) if _IG_VALUE[i] == 0x11]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(_IG_SHORTS),
    st.integers(min_value=0, max_value=255),
    st.integers(min_value=0, max_value=len(_IG_VALUE)),
)
def test_igbinary_short_strings_light_equals_full(at: int, length: int, cut: int) -> None:
    # A short string's length byte changed, the value cut: the light reading
    # agrees with the full one (or steps aside), and never raises.
    changed = _IG_VALUE[: at + 1] + bytes([length]) + _IG_VALUE[at + 2 :]
    assert_agree("PHPREDIS_SESSION:0123456789abcdefghij", changed[: max(cut, 6)])
