"""redis-cli formatting rules and argument splitting (pure; the byte-for-byte
comparison with the real binary is in test_cli_vs_redis_cli.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inspector.redis_io.redis_cli import (
    ErrorReply,
    Reply,
    Status,
    format_raw,
    format_reply,
    format_tty,
    is_verbatim_command,
    quote,
    split_args,
)


def test_quote_escapes_like_sdscatrepr() -> None:
    assert quote(b"plain") == b'"plain"'
    assert quote('é"\\'.encode()) == b'"\\xc3\\xa9\\"\\\\"'
    assert quote(b"\n\r\t\x07\x08\x00\x7f\xff") == b'"\\n\\r\\t\\a\\b\\x00\\x7f\\xff"'
    assert quote(b"\xac\xed\x00\x05t\x00\x03abc") == b'"\\xac\\xed\\x00\\x05t\\x00\\x03abc"'


def test_scalars_tty() -> None:
    assert format_tty(Status(b"OK")) == b"OK\n"
    assert format_tty(b"OK") == b'"OK"\n'
    assert format_tty(42) == b"(integer) 42\n"
    assert format_tty(-1) == b"(integer) -1\n"
    assert format_tty(None) == b"(nil)\n"
    assert format_tty(ErrorReply(b"ERR nope")) == b"(error) ERR nope\n"
    assert format_tty([]) == b"(empty array)\n"


def test_nested_arrays_tty() -> None:
    reply: Reply = [b"0", [b"a", [], None, 3]]
    assert format_tty(reply) == (
        b'1) "0"\n2) 1) "a"\n   2) (empty array)\n   3) (nil)\n   4) (integer) 3\n'
    )


def test_index_width_grows_with_count() -> None:
    lines = format_tty([b"x"] * 10).splitlines()
    assert lines[0] == b' 1) "x"'
    assert lines[9] == b'10) "x"'
    nested = format_tty([[b"x"] * 10, b"y"]).splitlines()
    assert nested[0] == b'1)  1) "x"'
    assert nested[1] == b'    2) "x"'


def test_raw_mode() -> None:
    assert format_raw([b"a", [b"b", None], 1, Status(b"OK")]) == b"a\nb\n\n1\nOK"
    assert format_raw(ErrorReply(b"ERR x")) == b"ERR x\n"
    assert format_reply(None, [b"GET", b"k"], raw=True) == b"\n"
    assert format_reply(ErrorReply(b"ERR x"), [b"FOO"], raw=True) == b"ERR x\n\n"


def test_verbatim_commands_skip_quoting() -> None:
    assert is_verbatim_command([b"INFO"])
    assert is_verbatim_command([b"client", b"LIST"])
    assert is_verbatim_command([b"cluster", b"nodes"])
    assert not is_verbatim_command([b"cluster", b"nodes", b"x"])
    assert not is_verbatim_command([b"GET", b"k"])
    assert format_reply(b"# Server\r\nx:1\r\n", [b"info"], raw=False) == b"# Server\r\nx:1\r\n"


def test_split_args_like_sdssplitargs() -> None:
    assert split_args(b"") == []
    assert split_args(b"  GET   key  ") == [b"GET", b"key"]
    assert split_args(b'SET k "a b\\n\\x41\\"" ') == [b"SET", b"k", b'a b\nA"']
    assert split_args(b"SET k 'it\\'s \"x\"'") == [b"SET", b"k", b'it\'s "x"']
    assert split_args(b'SET k "\\xzz"') == [b"SET", b"k", b"xzz"]
    assert split_args(b'SET "k"v') is None
    assert split_args(b'SET "unterminated') is None
    assert split_args(b"SET 'unterminated") is None
    assert split_args(b'a"b c"d') is None
    assert split_args(b'a"b c" d') == [b"ab c", b"d"]
    assert split_args(b'a"b c"') == [b"ab c"]


@given(st.binary(max_size=64))
def test_quoted_bytes_split_back_to_themselves(data: bytes) -> None:
    # What redis-cli prints for a string, typed back at its prompt, is the string.
    assert split_args(b"SET k " + quote(data)) == [b"SET", b"k", data]


@given(st.binary(max_size=64))
def test_quote_output_is_printable_ascii(data: bytes) -> None:
    out = quote(data)
    assert all(0x20 <= b <= 0x7E for b in out)
