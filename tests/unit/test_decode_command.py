"""`decode` as a user pipes into it: redis-cli --raw's trailing newline, --hex mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.subcommands.decode import parse_hex, without_cli_newline
from tests.cli_run import inspector

JVM = Path(__file__).parent.parent / "data" / "jvm" / "bin"


def test_redis_cli_raw_newline_is_not_a_byte_of_a_java_value() -> None:
    # `redis-cli --raw HGET ... | session-inspector decode`: redis-cli prints a
    # newline after the value; it used to become "1 trailing byte(s)".
    value = (JVM / "array_list.bin").read_bytes()
    piped = inspector("decode", "--json", stdin=value + b"\n")
    assert piped.returncode == 0, piped.stderr
    decoded = json.loads(piped.stdout)
    assert decoded["error"] is None
    assert decoded["size"] == len(value)
    assert piped.stderr.decode().count("\n") == 1
    assert "trailing newline is not counted" in piped.stderr.decode()
    # The same bytes without the newline: nothing to say.
    direct = inspector("decode", "--json", stdin=value)
    assert json.loads(direct.stdout) == decoded
    assert direct.stderr == b""


def test_keep_newline_counts_it() -> None:
    value = (JVM / "array_list.bin").read_bytes()
    kept = inspector("decode", "--json", "--keep-newline", stdin=value + b"\n")
    decoded = json.loads(kept.stdout)
    assert decoded["size"] == len(value) + 1
    assert "trailing" in decoded["error"]
    assert kept.stderr == b""


@pytest.mark.parametrize(
    ("data", "stripped"),
    [
        (b'{"a": 1}\n', b'{"a": 1}'),  # JSON: whitespace, never part of the value
        (b"hello\n", None),  # text: the newline may be the value's own
        (b"\n", None),
        (b'{"a": 1}\r\n', None),  # not what redis-cli prints
        (b'{"a": 1}', None),
        (b"\xac\xed\x00\x05t\x00\x02hi\n", b"\xac\xed\x00\x05t\x00\x02hi"),
    ],
)
def test_which_newlines_are_redis_clis(data: bytes, stripped: bytes | None) -> None:
    assert without_cli_newline(data) == stripped


def test_hex_accepts_dumps_as_people_paste_them() -> None:
    assert parse_hex("ac ed 00 05\n74 00 02\n6869") == b"\xac\xed\x00\x05t\x00\x02hi"
    assert parse_hex("0xACED") == b"\xac\xed"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("zz", "--hex: 'z' (digit 1) is not a hex digit"),
        ("ac ed 0", "--hex: an odd number of hex digits (5)"),
        ("\\xac\\xed", "--hex: '\\\\' (digit 1) is not a hex digit"),
    ],
)
def test_bad_hex_is_one_line_in_our_words(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match="--hex") as caught:
        parse_hex(text)
    assert needle in str(caught.value)
    result = inspector("decode", "--hex", stdin=text.encode())
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1
    assert "fromhex" not in err
    assert err.startswith("session-inspector: decode: --hex: ")


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    result = inspector("decode", str(tmp_path / "nope.bin"))
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"session-inspector: decode: cannot read {tmp_path / 'nope.bin'}: No such file or directory\n"
    )
