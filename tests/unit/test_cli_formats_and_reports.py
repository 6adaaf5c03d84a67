"""RESP3 formatting, --csv/--json, the help table and the mode reports (pure).

The byte-for-byte comparisons with the real redis-cli are in
tests/redis/test_cli_modes_vs_redis_cli.py; these pin the rules themselves.
"""

from __future__ import annotations

import math

import pytest

from inspector.redis_io.cli_reports import (
    BigKeys,
    HotKeys,
    KeyStats,
    LatencyStats,
    RedisDictOrder,
    bytes_to_human,
    latency_dist_bucket,
    latency_line,
    siphash,
    stat_line,
)
from inspector.redis_io.command_help import CommandHelp
from inspector.redis_io.console_session import console_command, split_repeat
from inspector.redis_io.redis_cli import (
    Attributed,
    BigNumber,
    Boolean,
    Double,
    ErrorReply,
    Map,
    OutputFormat,
    OutputMode,
    Push,
    Reply,
    SetReply,
    Status,
    Verbatim,
    format_csv,
    format_invalidate,
    format_json,
    format_output,
    format_raw,
    format_tty,
    is_invalidate,
)


def test_resp3_scalars_tty() -> None:
    assert format_tty(Double(b"3.141")) == b"(double) 3.141\n"
    assert format_tty(Boolean(True)) == b"(true)\n"
    assert format_tty(Boolean(False)) == b"(false)\n"
    assert format_tty(Verbatim(b"txt", b"a\nb")) == b"a\nb\n"
    assert format_tty(BigNumber(b"12345678901234567890")) == b"(big number) 12345678901234567890\n"
    assert format_tty(Map()) == b"(empty hash)\n"
    assert format_tty(SetReply()) == b"(empty set)\n"
    assert format_tty(Push()) == b"(empty push)\n"


def test_maps_and_sets_tty() -> None:
    reply = Map([(0, Boolean(False)), (1, Boolean(True))])
    assert format_tty(reply) == b"1# (integer) 0 => (false)\n2# (integer) 1 => (true)\n"
    assert format_tty(SetReply([b"a", b"b"])) == b'1~ "a"\n2~ "b"\n'
    # A multi-line value starts on its own line, aligned under the key.
    nested = Map([(b"k", [b"x", b"y"]), (b"j", [b"z"])])
    assert format_tty(nested) == (b'1# "k" => \n   1) "x"\n   2) "y"\n2# "j" => 1) "z"\n')


def test_attributes_print_before_their_reply() -> None:
    reply = Attributed(Map([(b"key-popularity", [b"key:123", 90])]), b"real")
    assert format_tty(reply) == (
        b'1| "key-popularity" => \n   1) "key:123"\n   2) (integer) 90\n"real"\n'
    )
    assert format_raw(reply) == b"real"
    assert format_json(reply) == b'"real"'


def test_raw_maps_and_resp3_scalars() -> None:
    assert format_raw(Map([(b"a", 1), (b"b", Boolean(True))])) == b"a 1\nb (true)"
    assert format_raw(SetReply([b"x", b"y"]), b",") == b"x,y"
    assert format_raw(Double(b"1.5")) == b"1.5"


def test_csv() -> None:
    assert format_csv([b"a", None, 1, Status(b"OK")]) == b'"a",NULL,1,"OK"'
    assert format_csv(ErrorReply(b"ERR x\x00y")) == b'ERROR,"ERR x"'
    assert format_csv(Map([(b"k", Double(b"2"))])) == b'"k",2'
    assert format_csv(Boolean(False)) == b"false"
    assert format_csv(b"\xc3\xa9\n") == b'"\\xc3\\xa9\\n"'


def test_json_and_quoted_json() -> None:
    assert format_json([b'a"\\\n', None, 3]) == b'["a\\"\\\\\\n",null,3]'
    assert format_json(b"\x01\xc3\xa9") == b'"\\u0001\xc3\xa9"'
    assert format_json(b"\x01\xc3\xa9", quoted=True) == b'"\\\\x01\\\\xc3\\\\xa9"'
    assert format_json(ErrorReply(b"ERR nope")) == b'error:"ERR nope"'
    # JSON keys must be strings; redis-cli quotes other keys without escaping.
    assert format_json(Map([(1, Boolean(True)), (b"s", SetReply([b"m"]))])) == (
        b'{"1":true,"s":["m"]}'
    )


def test_output_dispatch_and_delimiters() -> None:
    raw = OutputFormat(OutputMode.RAW, bulk_delimiter=b",", reply_delimiter=b";")
    assert format_output([b"a", b"b"], raw) == b"a,b;"
    assert format_output(b"x", OutputFormat(OutputMode.CSV)) == b'"x"\n'
    assert format_output(b"x", OutputFormat(OutputMode.JSON)) == b'"x"\n'
    # INFO and friends print raw in every mode, without the reply delimiter.
    assert format_output(b"# Server\r\n", OutputFormat(OutputMode.JSON), verbatim=True) == (
        b"# Server\r\n"
    )


def test_invalidation_pushes() -> None:
    push = Push([b"invalidate", [b"k1", b"k2"]])
    assert is_invalidate(push)
    assert format_invalidate(push) == b"-> invalidate: 'k1', 'k2'\n"
    assert not is_invalidate(Push([b"message", b"ch", b"x"]))


def test_repeat_prefix() -> None:
    assert split_repeat([b"3", b"PING"]) == (3, [b"PING"])
    assert split_repeat([b"PING"]) == (1, [b"PING"])
    assert split_repeat([b"3"]) == (1, [b"3"])  # a lone number is a command
    assert split_repeat([b"0", b"PING"]) is None
    assert split_repeat([b"-2", b"PING"]) is None
    assert split_repeat([b"3x", b"PING"]) == (1, [b"3x", b"PING"])


def test_help_is_the_consoles_with_a_topic() -> None:
    command = console_command([b"help", b"client", b"list"])
    assert command is not None
    assert command.topic == (b"client", b"list")
    bare = console_command([b"?"])
    assert bare is not None
    assert bare.topic == ()


DOCS: Reply = [
    b"get",
    [
        b"summary",
        b"Get the value of a key",
        b"since",
        b"1.0.0",
        b"group",
        b"string",
        b"arguments",
        [[b"name", b"key", b"type", b"key", b"key_spec_index", 0]],
    ],
    b"set",
    [
        b"summary",
        b"Set",
        b"since",
        b"1.0.0",
        b"group",
        b"string",
        b"arguments",
        [
            [b"name", b"key", b"type", b"key"],
            [
                b"name",
                b"expiration",
                b"type",
                b"oneof",
                b"flags",
                [Status(b"optional")],
                b"arguments",
                [
                    [b"name", b"seconds", b"type", b"integer", b"token", b"EX"],
                    [b"name", b"keepttl", b"type", b"pure-token", b"token", b"KEEPTTL"],
                ],
            ],
        ],
    ],
    b"client",
    Map(
        [
            (b"summary", b"A container"),
            (b"group", b"connection"),
            (
                b"subcommands",
                Map([(b"client|list", Map([(b"summary", b"Lists"), (b"group", b"connection")]))]),
            ),
        ]
    ),
]


def test_help_table_from_command_docs() -> None:
    table = CommandHelp.from_docs(DOCS)
    assert [entry.full for entry in table.entries] == [b"CLIENT", b"CLIENT LIST", b"GET", b"SET"]
    assert table.entries[3].params == b"key [EX seconds|KEEPTTL]"
    text = table.render([b"get"])
    assert text == (
        b"\r\n  \x1b[1mGET\x1b[0m \x1b[90mkey\x1b[0m\r\n"
        b"  \x1b[33msummary:\x1b[0m Get the value of a key\r\n"
        b"  \x1b[33msince:\x1b[0m 1.0.0\r\n"
        b"  \x1b[33mgroup:\x1b[0m string\r\n\r\n"
    )
    assert table.render([b"client"]).count(b"\x1b[1mCLIENT") == 2
    assert table.render([b"@string"]).count(b"summary:") == 2
    assert b"group:" not in table.render([b"@string"])
    assert table.render([b"nosuch"]) == b"\r\n"
    assert table.render([b"get"], colour=False) == (
        b"\n  GET key\n  summary: Get the value of a key\n  since: 1.0.0\n  group: string\n\n"
    )
    assert b"@string" in table.topics()


def test_help_table_without_command_docs() -> None:
    table = CommandHelp.from_command([[b"get", 2, [], 1, 1, 1], [b"mset", -3, [], 1, -1, 2]])
    assert [entry.params for entry in table.entries] == [b"key ", b"key arg ...options..."]
    assert b"Help not available" in table.render([b"get"])


def test_siphash_matches_the_reference_vector() -> None:
    # SipHash-1-2 of the empty string with a zero key (what redis-cli's dict uses).
    assert siphash(b"") == siphash(b"", bytes(16))
    assert siphash(b"string") != siphash(b"strinG")


def test_type_table_order_follows_redis_dict_rehashing() -> None:
    table = RedisDictOrder()
    for name in (b"string", b"list", b"set", b"hash", b"zset", b"stream"):
        table.add(name)
    # Seen with redis-cli 7.0: an empty keyspace leaves the table mid-rehash...
    assert list(table) == [b"hash", b"list", b"string", b"stream", b"set", b"zset"]
    for _ in range(5):
        table.find()
    # ...a few TYPE lookups finish it.
    assert list(table) == [b"list", b"hash", b"string", b"stream", b"set", b"zset"]


def test_bigkeys_report() -> None:
    report = BigKeys(4, memkeys=False)
    keys = [b"a", b"bb", b"gone", b"c"]
    types = report.types([b"string", b"list", b"none", b"string"])
    lines = report.add_page(keys, types, [5, 3, 0, 9])
    assert lines == (
        b"[00.00%] Biggest string found so far '\"a\"' with 5 bytes\n"
        b"[00.00%] Biggest list   found so far '\"bb\"' with 3 items\n"
        b"[00.00%] Biggest string found so far '\"c\"' with 9 bytes\n"
    )
    summary = report.summary()
    assert b"Sampled 3 keys in the keyspace!\n" in summary
    assert b"Total key length in bytes is 4 (avg len 1.33)\n" in summary
    assert b"Biggest string found '\"c\"' has 9 bytes\n" in summary
    assert b"2 strings with 14 bytes (66.67% of keys, avg size 7.00)\n" in summary
    # Interrupted: redis-cli shows the percentage it printed for the last page.
    assert report.summary(interrupted=True).count(b"[00.00%] Sampled 3 keys") == 1


def test_bigkeys_empty_keyspace_percentages() -> None:
    report = BigKeys(0, memkeys=True)
    assert b"0 hashs with 0 bytes (00.00% of keys, avg size 0.00)" in report.summary()
    assert report.summary(interrupted=True).startswith(b"\n-------- summary -------\n\n[  nan%] ")


def test_hotkeys_pool_keeps_the_sixteen_highest() -> None:
    hot = HotKeys(20)
    hot.add_page([b"k%d" % i for i in range(20)], list(range(20)))
    summary = hot.summary()
    assert summary.count(b"hot key found") == 16
    assert summary.index(b"counter: 19\t") < summary.index(b"counter: 4\t")
    assert b"counter: 3\t" not in summary


def test_keystats_tables() -> None:
    stats = KeyStats(2, top=1)
    keys = [b"s", b"h"]
    memory_types = [stats.memory.lookup(b"string"), stats.memory.lookup(b"hash")]
    length_types = [stats.length.lookup(b"string"), stats.length.lookup(b"hash")]
    stats.add_page(keys, memory_types, [100, 40000], length_types, [3, 7])
    text = stats.final(tty=False, cursor=0)
    assert b"100.00% keys scanned\nKeys sampled: 2\nKeys size:    39.16K\n" in text
    assert b'--- Top 1 key sizes ---\n  1   39.06K hash       "h"\n' in text
    assert b"    100B    0.0000%           1\n" in text
    assert b"  39.06K  100.0000%           2\n" in text
    assert b"hash                 1  50.00%   39.06K   39.06K           7 fields        7.00\n" in (
        text
    )


def test_bytes_to_human() -> None:
    assert bytes_to_human(1023) == b"1023B"
    assert bytes_to_human(1024) == b"1.00K"
    assert bytes_to_human(-2048) == b"-2.00K"
    assert bytes_to_human(5 * 1024**3) == b"5.00G"
    assert bytes_to_human(2 * 1024**4) == b""
    assert bytes_to_human(2 * 1024**4, terabytes=True) == b"2.00T"


def test_stat_line_reads_info_like_getlonginfofield() -> None:
    info = (
        b"# Clients\r\nconnected_clients:3\r\nblocked_clients:0\r\n# Memory\r\n"
        b"used_memory:2097152\r\n# Persistence\r\nloading:0\r\nbgsave_in_progress:1\r\n"
        b"aof_rewrite_in_progress:0\r\n# Stats\r\ntotal_connections_received:9\r\n"
        b"total_commands_processed:100\r\n# Keyspace\r\ndb0:keys=5,expires=0\r\n"
        b"db3:keys=2,expires=1\r\n"
    )
    line, requests = stat_line(info, 0)
    assert line == (b"7          2.00M    3       0       100 (+0)            9           SAVE\n")
    assert requests == 100
    assert stat_line(info, 90)[0].split()[5] == b"(+10)"


def test_latency_lines() -> None:
    stats = LatencyStats()
    for sample in (1, 3, 2):
        stats.add(sample)
    assert latency_line(stats, "standard") == b"min: 1, max: 3, avg: 2.00 (3 samples)"
    assert latency_line(stats, "csv") == b"1,3,2.00,3\n"
    assert latency_line(stats, "raw") == b"1 3 2.00 3\n"
    assert latency_line(stats, "json") == b'{"min": 1, "max": 3, "avg": 2.00, "count": 3}\n'
    assert latency_line(stats, "quoted-json") == b""  # redis-cli prints nothing there


@pytest.mark.parametrize(("micros", "bucket"), [(5, 0), (10, 0), (11, 1), (999, 4), (10**9, 30)])
def test_latency_dist_buckets(micros: int, bucket: int) -> None:
    assert latency_dist_bucket(micros) == bucket


def test_nan_percentage_prints_like_c() -> None:
    # DBSIZE 0 but keys found (added meanwhile): 0/0 then 1/0, as glibc prints them.
    hot = HotKeys(0)
    hot.add_page([b"k"], [1])
    assert hot.summary(interrupted=True).count(b"[  nan%] Sampled 1 keys") == 1
    assert hot.add_page([b"j"], [2]).startswith(b"[  inf%] Hot key")
    assert math.isnan(BigKeys(0, memkeys=False).percent())
