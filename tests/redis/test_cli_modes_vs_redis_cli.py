"""redis-cli's modes and options in `session-inspector cli`, compared with the real redis-cli 7.

Same server, same data, both programs: byte for byte where redis-cli's output
is deterministic (--scan, --bigkeys, --memkeys, --hotkeys, --csv, --json, -3,
-r, -x, --eval, help...), line structure where it prints timings (--stat,
--latency*). Where redis-cli 7.0 has no output of its own (--keystats, --count,
--type, RESP3 big numbers and attributes) the test says what redis-cli does.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.cli_run import inspector, inspector_in_process
from tests.harness import RedisServer, start_redis_server
from tests.pty_session import PtySession
from tests.redis.test_cli_vs_redis_cli import CASES, populate
from tests.waiting import DEADLINE


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private server with DEBUG allowed (DEBUG PROTOCOL sends every RESP3 type) and
    LFU counters that do not decay (--hotkeys must read the same counters twice)."""
    directory = tmp_path_factory.mktemp("cli-modes")
    started = start_redis_server(
        directory, "--enable-debug-command", "local", "--lfu-decay-time", "0"
    )
    try:
        client = redis.Redis(**started.client_kwargs())  # type: ignore[arg-type]
        populate(started)
        pipe = client.pipeline(transaction=False)
        for i in range(1200):
            kind = i % 6
            key = f"m:{kind}:{i}"
            if kind == 0:
                pipe.set(key, "x" * (i % 97))
            elif kind == 1:
                pipe.rpush(key, *(["item"] * (1 + i % 23)))
            elif kind == 2:
                pipe.sadd(key, *[str(j) for j in range(1 + i % 19)])
            elif kind == 3:
                pipe.hset(key, mapping={f"f{j}": "v" * j for j in range(1 + i % 17)})
            elif kind == 4:
                pipe.zadd(key, {f"z{j}": j / 3 for j in range(1 + i % 13)})
            else:
                pipe.xadd(key, {"a": str(i)})
        for i in range(5):
            pipe.set(b"bin:\x00\xff\n" + str(i).encode(), b"v")
        pipe.execute()
        wait_for_rehash(client)
        client.close()
        yield started
    finally:
        started.stop()


def wait_for_rehash(client: redis.Redis) -> None:
    """SCAN's order changes while the server rehashes its keyspace table (serverCron
    finishes it within a few ticks): both programs must scan the same table."""
    deadline = time.monotonic() + DEADLINE
    while b"Hash table 1" in client.execute_command("DEBUG", "HTSTATS", "0"):
        assert time.monotonic() < deadline, "the keyspace never stopped rehashing"
        client.ping()  # one round trip between checks


def redis_cli(
    server: RedisServer,
    *args: str | bytes,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["redis-cli", "-p", str(server.port), *args],
        capture_output=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def ours(
    server: RedisServer,
    *args: str | bytes,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    if env is None and stdin is None:
        # In process: a subprocess of ours costs ~0.8 s, nearly all redis-py's import,
        # and this file compares ~200 such runs; stdin, environment and terminal
        # cases (and tests/redis/test_cli_vs_redis_cli.py) still run the real command.
        return inspector_in_process("-p", str(server.port), "cli", *args)
    return inspector("-p", str(server.port), "cli", *args, env=env, stdin=stdin, timeout=120)


def assert_same(
    server: RedisServer,
    *args: str | bytes,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> bytes:
    expected = redis_cli(server, *args, env=env, stdin=stdin)
    got = ours(server, *args, env=env, stdin=stdin)
    assert got.stdout == expected.stdout
    assert got.returncode == expected.returncode
    return got.stdout


# ---------------------------------------------------------------- key modes


@pytest.mark.parametrize(
    "args",
    [
        ["--scan"],
        ["--scan", "--no-raw"],
        ["--scan", "--pattern", "m:3*"],
        ["--scan", "--pattern", "nomatch*"],
        ["--scan", "--quoted-pattern", '"bin:\\x00*"'],
        ["--scan", "--quoted-pattern", '"bin:\\x00*"', "--no-raw"],
        ["--scan", "-i", "0.001", "--pattern", "cmp:*"],
    ],
    ids=lambda args: " ".join(args),
)
def test_scan_same_bytes(server: RedisServer, args: list[str]) -> None:
    out = assert_same(server, *args)
    assert out or "nomatch*" in args


def test_scan_count_gives_the_same_keys_in_the_same_order(server: RedisServer) -> None:
    # redis-cli 7.0 has no --count (it answers "Unrecognized option"); SCAN's order
    # does not depend on COUNT, so ours with any COUNT prints redis-cli's bytes.
    assert redis_cli(server, "--scan", "--count", "5").returncode == 1
    expected = redis_cli(server, "--scan").stdout
    for count in ("1", "7", "5000"):
        assert ours(server, "--scan", "--count", count).stdout == expected


def test_scan_type_keeps_only_that_type(server: RedisServer) -> None:
    # redis-cli 7.0 has no --type: compare with its --scan filtered by TYPE.
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    listed = redis_cli(server, "--scan", "--pattern", "m:*").stdout.splitlines()
    expected = [key for key in listed if client.type(key) == b"zset"]
    client.close()
    got = ours(server, "--scan", "--pattern", "m:*", "--type", "zset")
    assert got.stdout.splitlines() == expected
    assert expected


def test_connection_options_after_cli_are_redis_clis(server: RedisServer) -> None:
    expected = redis_cli(server, "--scan", "--pattern", "m:1*").stdout
    got = inspector("cli", "-p", str(server.port), "--scan", "--pattern", "m:1*")
    assert got.stdout == expected


@pytest.mark.parametrize(
    "args",
    [
        ["--bigkeys"],
        ["--memkeys"],
        ["--memkeys-samples", "2"],
        ["--bigkeys", "--pattern", "m:2*"],
        ["--bigkeys", "-n", "9"],  # an empty database: redis-cli's table stays mid-rehash
        ["--memkeys", "-i", "0.01"],
    ],
    ids=lambda args: " ".join(args),
)
def test_sampling_modes_same_bytes(server: RedisServer, args: list[str]) -> None:
    out = assert_same(server, *args)
    assert b"-------- summary -------" in out


def test_bigkeys_count_matches_redis_cli_default(server: RedisServer) -> None:
    # Without COUNT the server returns ~10 keys per SCAN; --count 10 asks the same.
    expected = redis_cli(server, "--bigkeys").stdout
    assert ours(server, "--bigkeys", "--count", "10").stdout == expected


def test_hotkeys_without_lfu_fails_like_redis_cli(server: RedisServer) -> None:
    expected = redis_cli(server, "--hotkeys")
    got = ours(server, "--hotkeys")
    assert got.stdout == expected.stdout
    assert got.returncode == expected.returncode == 1
    assert expected.stderr.startswith(b"Error: ERR An LFU maxmemory policy is not selected")
    assert got.stderr == b"session-inspector: " + expected.stderr


def test_hotkeys_with_lfu_same_bytes(server: RedisServer) -> None:
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    client.config_set("maxmemory-policy", "allkeys-lfu")
    try:
        for _ in range(300):
            client.get("m:0:6")  # a hot key; counters do not decay on this server
        out = assert_same(server, "--hotkeys")
        assert b"hot key found with counter" in out
    finally:
        client.config_set("maxmemory-policy", "noeviction")
        client.close()


def test_keystats(server: RedisServer) -> None:
    # redis-cli 7.0 does not know --keystats (7.4 added it): it rejects the flag.
    rejected = redis_cli(server, "--keystats")
    assert rejected.returncode == 1
    assert rejected.stderr == b"Unrecognized option or bad number of args for: '--keystats'\n"
    got = ours(server, "--keystats", "--top", "3")
    assert got.returncode == 0, got.stderr
    text = got.stdout
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    total = client.dbsize()
    client.close()
    assert b"Keys sampled: %d\n" % total in text
    for section in (
        b"--- Top 3 key sizes ---",
        b"--- Top size per type ---",
        b"--- Top length and cardinality per type ---",
        b"Key size Percentile Total keys",
        b"Key name length Percentile Total keys",
        b"Type        Total keys  Keys % Tot size Avg size  Total length/card Avg ln/card",
    ):
        assert section in text
    # The per-type counts agree with --bigkeys' summary.
    bigkeys = redis_cli(server, "--bigkeys").stdout
    for count, name in re.findall(rb"^(\d+) (\w+)s with ", bigkeys, re.M):
        if int(count):
            assert re.search(rb"^%s\s+%s " % (name, count), text, re.M), name


# ---------------------------------------------------------------- server modes

STAT_LINE = re.compile(rb"^(\d+)\s+\S+\s+ (\d+)\s+(\d+)\s+(\d+) \(\+\d+\)\s+ (\d+)\s*\S*$")


def _stat_lines(argv: list[str], lines: int) -> list[bytes]:
    session = PtySession(argv, env={k: v for k, v in os.environ.items() if k != "FAKETTY"})
    try:
        text = b""
        while text.count(b"\n") < lines + 2:
            text = session.expect(b"\n", timeout=30)
            session.mark()
        return text.replace(b"\r", b"").split(b"\n")
    finally:
        session.close()


def test_stat_lines_have_redis_clis_columns(server: RedisServer) -> None:
    import sys

    expected = _stat_lines(["redis-cli", "-p", str(server.port), "--stat", "-i", "0.1"], 2)
    got = _stat_lines(
        [sys.executable, "-m", "inspector", "-p", str(server.port), "cli", "--stat", "-i", "0.1"], 2
    )
    assert got[:2] == expected[:2]  # the header, byte for byte
    for line_expected, line_got in zip(expected[2:4], got[2:4], strict=True):
        match_expected, match_got = STAT_LINE.match(line_expected), STAT_LINE.match(line_got)
        assert match_expected, line_expected
        assert match_got, line_got
        assert match_got.group(1) == match_expected.group(1)  # the key count
        assert len(line_got.split()[0]) == len(line_expected.split()[0])


LATENCY = {
    "--raw": re.compile(rb"^\d+ \d+ \d+\.\d\d \d+\n$"),
    "--csv": re.compile(rb"^\d+,\d+,\d+\.\d\d,\d+\n$"),
    "--json": re.compile(rb'^\{"min": \d+, "max": \d+, "avg": \d+\.\d\d, "count": \d+\}\n$'),
    "--quoted-json": re.compile(rb"^$"),
}


@pytest.mark.parametrize("mode", sorted(LATENCY))
def test_latency_one_line_when_not_a_terminal(server: RedisServer, mode: str) -> None:
    for result in (
        redis_cli(server, "--latency", mode, "-i", "0.2"),
        ours(server, "--latency", mode, "-i", "0.2"),
    ):
        assert result.returncode == 0
        assert LATENCY[mode].match(result.stdout), result.stdout


def test_latency_history_and_dist_on_a_terminal(server: RedisServer) -> None:
    import sys

    ours_argv = [sys.executable, "-m", "inspector", "-p", str(server.port), "cli"]
    cli_argv = ["redis-cli", "-p", str(server.port)]
    history = re.compile(
        rb"min: \d+, max: \d+, avg: \d+\.\d\d \(\d+ samples\) -- \d+\.\d\d seconds range"
    )
    for argv in (cli_argv, ours_argv):
        session = PtySession([*argv, "--latency-history", "-i", "0.3"])
        try:
            session.expect(b"seconds range", timeout=30)
            assert history.search(session.text.replace(b"\x1b[0G\x1b[2K", b"").replace(b"\n", b""))
        finally:
            session.close()
    legends = []
    spectrum = re.compile(rb"\x1b\[38;5;0m(?:\x1b\[48;5;\d+m.){31}\x1b\[0m\r\n")
    for argv in (cli_argv, ours_argv):
        session = PtySession([*argv, "--latency-dist", "-i", "0.2"])
        try:
            # The legend comes first, then the spectrum lines, one per interval:
            # wait for a spectrum line itself (on a loaded machine the first may
            # come well after the legend).
            session.expect(b".-*#123456789ABCDEFGHIJKLMNOPQ?", timeout=30)
            session.expect_raw(spectrum, timeout=30)
            raw = session.output
            end = raw.index(b"-" * 45, raw.index(b"From 0 to 100%"))
            legends.append(raw[:end])
        finally:
            session.close()
    assert legends[0] == legends[1]


# ---------------------------------------------------------------- output modes


@pytest.mark.parametrize("mode", ["--csv", "--json", "--quoted-json"])
@pytest.mark.parametrize(("name", "args"), CASES, ids=[name for name, _ in CASES])
def test_output_modes_same_bytes(
    server: RedisServer, mode: str, name: str, args: list[bytes]
) -> None:
    if name in ("integer", "negative-integer", "status"):
        pytest.skip("changes data; covered in raw/no-raw by test_cli_vs_redis_cli")
    assert_same(server, mode, *args)


RESP3_COMMANDS: list[list[str]] = [
    ["DEBUG", "PROTOCOL", kind]
    for kind in (
        "string",
        "integer",
        "double",
        "null",
        "array",
        "set",
        "map",
        "push",
        "verbatim",
        "true",
        "false",
    )
] + [
    ["HGETALL", "cmp:hash"],
    ["HGETALL", "cmp:missing"],
    ["SMEMBERS", "cmp:set"],
    ["ZSCORE", "cmp:zset", "a"],
    ["ZRANGE", "cmp:zset", "0", "-1", "WITHSCORES"],
    ["CONFIG", "GET", "maxmemory*"],
    ["XINFO", "STREAM", "cmp:stream"],
    ["COMMAND", "DOCS", "get"],
    ["NOSUCH"],
]


@pytest.mark.parametrize("mode", ["--no-raw", "--raw", "--csv", "--json", "--quoted-json"])
@pytest.mark.parametrize("command", RESP3_COMMANDS, ids=" ".join)
def test_resp3_same_bytes(server: RedisServer, mode: str, command: list[str]) -> None:
    assert_same(server, "-3", mode, *command)


def test_resp3_maps_and_verbatim_info(server: RedisServer) -> None:
    # These change between two runs (memory, uptime): their form is compared.
    stats = ours(server, "-3", "--no-raw", "MEMORY", "STATS").stdout
    assert re.match(rb' 1# "peak\.allocated" => \(integer\) \d+\n 2# ', stats), stats[:80]
    assert re.search(rb'# "db\.0" => \n +1# "overhead\.hashtable\.main" => \(integer\) ', stats)
    info = ours(server, "-3", "--no-raw", "INFO", "server").stdout  # verbatim: raw text
    assert info.startswith(b"# Server\r\nredis_version:")


def test_resp3_pushes_shown_on_a_terminal(server: RedisServer) -> None:
    # redis-cli shows RESP3 pushes when stdout is a terminal (FAKETTY counts).
    out = assert_same(server, "-3", "DEBUG", "PROTOCOL", "push", env={"FAKETTY": "1"})
    assert (
        out
        == b'1) "server-cpu-usage"\n2) (integer) 42\n"Some real reply following the push reply"\n'
    )
    assert_same(
        server, "-3", "--show-pushes", "n", "DEBUG", "PROTOCOL", "push", env={"FAKETTY": "1"}
    )
    assert_same(server, "-3", "--show-pushes", "y", "--raw", "DEBUG", "PROTOCOL", "push")


def test_resp3_types_redis_cli_cannot_print(server: RedisServer) -> None:
    bignum = redis_cli(server, "-3", "--no-raw", "DEBUG", "PROTOCOL", "bignum")
    assert (bignum.returncode, bignum.stderr) == (1, b"Unknown reply type: 13\n")
    got = ours(server, "-3", "--no-raw", "DEBUG", "PROTOCOL", "bignum")
    assert got.stdout == b"(big number) 1234567999999999999999999999999999999\n"
    attrib = redis_cli(server, "-3", "--no-raw", "DEBUG", "PROTOCOL", "attrib")
    assert attrib.returncode == 1
    assert b'Protocol error, got "|" as reply type byte' in attrib.stderr
    got = ours(server, "-3", "--no-raw", "DEBUG", "PROTOCOL", "attrib")
    assert got.stdout == (
        b'1| "key-popularity" => \n   1) "key:123"\n   2) (integer) 90\n'
        b'"Some real reply following the attribute"\n'
    )
    assert ours(server, "-3", "--raw", "DEBUG", "PROTOCOL", "attrib").stdout == (
        b"Some real reply following the attribute\n"
    )


def test_json_falls_back_to_resp2_with_2(server: RedisServer) -> None:
    out = assert_same(server, "-2", "--json", "HGETALL", "cmp:hash")
    assert out.startswith(b"[")
    assert assert_same(server, "--json", "HGETALL", "cmp:hash").startswith(b"{")


# ---------------------------------------------------------------- repetition and input


@pytest.mark.parametrize(
    "args",
    [
        ["-r", "3", "PING"],
        ["-r", "3", "-D", "|", "--raw", "PING"],
        ["-r", "2", "-d", ",", "-D", ";", "--raw", "LRANGE", "cmp:list", "0", "3"],
        ["-r", "2", "-i", "0.05", "--no-raw", "LRANGE", "cmp:list", "0", "1"],
        ["-r", "0", "PING"],
        ["-d", "--", "--raw", "HGETALL", "cmp:hash"],
        ["--quoted-input", "GET", '"cmp:\\xff\\xfekey"'],
    ],
    ids=" ".join,
)
def test_repetition_and_delimiters_same_bytes(server: RedisServer, args: list[str]) -> None:
    assert_same(server, *args)


def test_last_argument_from_stdin(server: RedisServer, tmp_path: Path) -> None:
    value = b"line one\nline two\n\x00\xff"
    assert_same(server, "-x", "SET", "stdin:key", stdin=value)
    assert ours(server, "--raw", "GET", "stdin:key").stdout == value + b"\n"
    assert_same(server, "-X", "TAG", "SET", "TAG", "v", stdin=b"stdin:named")
    assert redis_cli(server, "GET", "stdin:named").stdout == b"v\n"
    missing = ours(server, "-X", "TAG", "SET", "k", "v", stdin=b"x")
    assert missing.returncode == 2
    assert b"-X option but stdin tag not match" in missing.stderr


def test_eval_file(server: RedisServer, tmp_path: Path) -> None:
    script = tmp_path / "script.lua"
    script.write_text("return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}")
    for mode in ("--no-raw", "--raw", "--json"):
        assert_same(server, mode, "--eval", str(script), "k1", "k2", ",", "a1")
    assert_same(server, "--eval", str(script))  # no keys, no arguments
    failing = tmp_path / "fail.lua"
    failing.write_text("return redis.error_reply('MINE failed')")
    assert_same(server, "--no-raw", "--eval", str(failing))
    missing = ours(server, "--eval", str(tmp_path / "none.lua"))
    assert missing.returncode == 2
    assert b"Can't open file" in missing.stderr


@pytest.mark.parametrize(
    "topic",
    [
        ["GET"],
        ["get"],
        ["client", "list"],
        ["CLIENT"],
        ["@string"],
        ["@pubsub"],
        ["nosuch"],
        ["set"],
    ],
    ids=" ".join,
)
def test_help_from_command_docs_same_bytes(server: RedisServer, topic: list[str]) -> None:
    out = assert_same(server, "help", *topic)
    assert out.endswith(b"\r\n")


def test_piped_commands_follow_redis_clis_repl_rules(server: RedisServer) -> None:
    script = b"3 PING\n0 PING\nhelp get\nNOSUCH\n\nGET cmp:utf8\nquit\nPING\n"
    for mode in ("--no-raw", "--raw"):
        out = assert_same(server, mode, stdin=script)
        assert out.count(b"PONG") == 3
    # -e does not apply to commands read from stdin (redis-cli's REPL reads them).
    assert_same(server, "-e", stdin=b"NOSUCH\nPING\n")


def test_repl_help_and_repeat_on_a_terminal(server: RedisServer, tmp_path: Path) -> None:
    import sys

    env = {**os.environ, "SESSION_INSPECTOR_HISTFILE": str(tmp_path / "history")}
    session = PtySession(
        [sys.executable, "-m", "inspector", "-p", str(server.port), "cli"], env=env
    )
    try:
        session.expect(b"> ", timeout=30)
        session.send(b"help get\r")
        session.expect(b"group: string", timeout=30)  # (colours stripped)
        assert b"\x1b[1mGET\x1b[0m \x1b[90mkey\x1b[0m" in session.output
        session.mark()
        session.send(b"2 ECHO twice\r")
        session.expect(b'"twice"\n"twice"\n', timeout=30)
        session.send(b"help\r")
        session.expect(b'"help @<group>" to get a list of commands in <group>', timeout=30)
        session.send(b"quit\r")
        assert session.wait() == 0
    finally:
        session.close()


def test_ctrl_c_ends_the_key_modes_with_a_summary(server: RedisServer) -> None:
    import sys

    argv = [sys.executable, "-m", "inspector", "-p", str(server.port), "cli"]
    # -i sleeps once per 100 pages: with a page per key the scan outlasts the test.
    session = PtySession([*argv, "--bigkeys", "--count", "1", "-i", "2"])
    try:
        session.expect(b"Biggest", timeout=30)
        session.send(b"\x03")
        session.expect(b"-------- summary -------", timeout=30)
        assert session.wait() == 0
        assert re.search(rb"\[\d\d\.\d\d%\] Sampled \d+ keys in the keyspace!", session.text)
    finally:
        session.close()
    session = PtySession([*argv, "--scan", "--count", "1", "-i", "0.5"])
    try:
        session.expect(b"\n", timeout=30)
        session.send(b"\x03")
        assert session.wait() == 0
    finally:
        session.close()
