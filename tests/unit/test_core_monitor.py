"""The MONITOR line parser: every address form, redis-cli's escaping, lines split anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.monitor import (
    MONITOR_COST,
    MonitorCommand,
    MonitorStream,
    monitor_cost_summary,
    parse_monitor_line,
    split_address,
    unquote,
)
from inspector.redis_io.redis_cli import quote

# Lines exactly as redis-server 7.0 printed them (captured from `redis-cli monitor`).
CAPTURED = (
    b"+OK\r\n"
    b'+1796304024.764973 [0 127.0.0.1:41926] "client" "setname" "foo"\r\n'
    b'+1796304024.823124 [0 127.0.0.1:41942] "hello" "2" "setname" "bar"\r\n'
    b'+1796304024.854617 [0 127.0.0.1:41954] "eval" "redis.call(\'set\',\'k\',\'v\\\\n\\"x\\\\\\\\\'); return 1" "0"\r\n'
    b'+1796304024.854712 [0 lua] "set" "k" "v\\n\\"x\\\\"\r\n'
    b'+1796304024.868198 [0 unix:/tmp/montest/r.sock] "set" "a" "1"\r\n'
    b'+1796304024.898901 [3 [::1]:41956] "HSET" "b" "\\x00\\xff\\t\\r\\a\\b"\r\n'
)


def line(client: str, *args: bytes, time: bytes = b"1700000000.000001", db: int = 0) -> bytes:
    """A line as Redis writes it, quoting with redis-cli's own (tested) escaping."""
    words = b" ".join(quote(arg) for arg in args)
    return b"+%s [%d %s] %s\r\n" % (time, db, client.encode(), words)


def test_captured_lines_parse_into_typed_commands() -> None:
    stream = MonitorStream()
    commands = stream.feed(CAPTURED)
    assert stream.started
    assert stream.refused is None
    assert [c.client for c in commands] == [
        "127.0.0.1:41926",
        "127.0.0.1:41942",
        "127.0.0.1:41954",
        "lua",
        "unix:/tmp/montest/r.sock",
        "[::1]:41956",
    ]
    assert commands[0] == MonitorCommand(
        1796304024764973, 0, "127.0.0.1:41926", (b"client", b"setname", b"foo")
    )
    assert commands[2].args[1] == b"redis.call('set','k','v\\n\"x\\\\'); return 1"
    assert commands[3].args == (b"set", b"k", b'v\n"x\\')
    assert commands[3].from_script
    assert not commands[2].from_script
    assert commands[5].args == (b"HSET", b"b", b"\x00\xff\t\r\x07\x08")
    assert (commands[5].name, commands[5].db) == (b"hset", 3)
    assert (stream.lines, stream.parsed, stream.malformed) == (6, 6, 0)
    assert stream.last_time_us == 1796304024898901


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=6), st.integers(1, 50))
def test_any_bytes_survive_quoting_and_any_split(args: list[bytes], step: int) -> None:
    data = line("10.0.1.23:50312", b"hset", *args)
    stream = MonitorStream(expect_ok=False)
    commands = [c for i in range(0, len(data), step) for c in stream.feed(data[i : i + step])]
    assert [c.args for c in commands] == [(b"hset", *args)]
    assert unquote(quote(b"".join(args))[1:-1]) == b"".join(args)


def test_unusual_escapes_are_read_as_sdssplitargs_reads_them() -> None:
    # Never written by Redis, but never a reason to fail or to warn.
    assert unquote(b"\\q\\1\\x4") == b"q1x4"
    assert unquote(b"\\x41\\\\x41") == b"A\\x41"
    assert unquote(b"tail\\") == b"tail\\"


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ("10.0.1.23:50312", ("10.0.1.23", 50312)),
        ("[fd00::5]:6000", ("fd00::5", 6000)),
        ("lua", None),
        ("unix:/run/redis.sock", None),
        ("unix:/odd:1", None),
        ("garbage", None),
    ],
)
def test_addresses(client: str, expected: tuple[str, int] | None) -> None:
    assert split_address(client) == expected


def test_a_filtered_stream_parses_only_what_it_is_asked_for() -> None:
    stream = MonitorStream(commands={b"hset", b"set"})
    commands = stream.feed(CAPTURED)
    assert [c.args[0] for c in commands] == [b"set", b"set", b"HSET"]
    assert (stream.lines, stream.parsed) == (6, 3)
    # A name is matched whole: "setname" is an argument, "sets" is not "set".
    other = MonitorStream(expect_ok=False, commands={b"set"})
    assert other.feed(line("1.2.3.4:5", b"sets", b"k") + line("1.2.3.4:5", b"set")) == [
        MonitorCommand(1700000000000001, 0, "1.2.3.4:5", (b"set",))
    ]


def test_refused_monitor_is_kept_and_ends_the_stream() -> None:
    stream = MonitorStream()
    reply = b"-NOPERM this user has no permissions to run the 'monitor' command\r\n"
    assert stream.feed(reply[:10]) == []
    assert stream.feed(reply[10:] + line("1.2.3.4:5", b"set")) == []
    assert stream.refused == reply[1:-2]
    assert not stream.started


def test_garbage_lines_are_counted_never_raised() -> None:
    stream = MonitorStream(expect_ok=False)
    data = b'+1700000000.000001 [0 1.2.3.4:5] "unterminated\r\nnot monitor\r\n' + line(
        "1.2.3.4:5", b"get", b"k"
    )
    assert [c.args for c in stream.feed(data)] == [(b"get", b"k")]
    assert (stream.lines, stream.malformed) == (3, 2)
    assert parse_monitor_line(b"+OK") is None
    assert parse_monitor_line(b'+1.2 [0 a:1] "x" trailing') is None


def test_a_line_longer_than_the_limit_is_parsed_from_its_start_and_the_rest_dropped() -> None:
    big = line("1.2.3.4:5", b"hset", b"spring:session:sessions:s1", b"f", b"v" * 5000)
    after = line("1.2.3.4:5", b"del", b"k")
    for step in (1, 64, 4096):
        stream = MonitorStream(expect_ok=False, max_line=200)
        data = big + after
        commands = [c for i in range(0, len(data), step) for c in stream.feed(data[i : i + step])]
        assert [c.args[:3] for c in commands] == [
            (b"hset", b"spring:session:sessions:s1", b"f"),
            (b"del", b"k"),
        ]
        assert commands[0].truncated
        assert not commands[1].truncated
        assert (stream.lines, stream.truncated) == (2, 1)


def test_skipping_counts_lines_keeps_the_newest_time_and_the_markers() -> None:
    stream = MonitorStream(expect_ok=False)
    data = (
        line("1.2.3.4:5", b"set", b"a", time=b"1700000001.000000")
        + line("1.2.3.4:6", b"echo", b"session-inspector:sync:1", time=b"1700000002.000000")
        + line("1.2.3.4:5", b"set", b"b", time=b"1700000003.500000")
    )
    skipped = stream.skip(data[:-5], marker=b"session-inspector:sync:")
    assert (skipped.lines, skipped.last_time_us) == (2, 1700000002000000)
    assert [c.args for c in skipped.marked] == [(b"echo", b"session-inspector:sync:1")]
    rest = stream.skip(data[-5:])
    assert (rest.lines, rest.last_time_us, rest.marked) == (1, 1700000003500000, ())
    assert stream.lines == 3


def test_the_measured_cost_reads_as_one_line() -> None:
    assert 0 < MONITOR_COST.percent < 100
    summary = monitor_cost_summary()
    assert f"{MONITOR_COST.percent}%" in summary
    assert "requests/s" in summary
    assert "\n" not in summary
