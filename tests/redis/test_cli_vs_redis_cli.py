"""`session-inspector cli` prints exactly what `redis-cli` prints, byte for byte."""

from __future__ import annotations

import random
import subprocess

import pytest
import redis

from inspector.sample_app.store import sample_session_json
from tests.cli_run import inspector, inspector_in_process
from tests.harness import RedisServer, key_on
from tests.spring_layouts import jdk_long, jdk_string

# Bytes as Java's ObjectOutputStream writes them for the String "abc" and the
# Long 1732000000000: the kind of value Spring Session's default serializer stores.
JDK_STRING = jdk_string("abc")
JDK_LONG = jdk_long(1732000000000)
SESSION = "spring:session:sessions:e1237df7-5a6d-4c3e-9a51-3f0d2b1c8a90"

CASES: list[tuple[str, list[bytes]]] = [
    ("status", [b"SET", b"cmp:status", b"v"]),
    ("ping", [b"PING"]),
    ("utf8", [b"GET", b"cmp:utf8"]),
    ("quotes-newlines", [b"GET", b"cmp:tricky"]),
    ("jdk-bytes", [b"GET", b"cmp:jdk"]),
    ("all-bytes", [b"GET", b"cmp:allbytes"]),
    ("empty-string", [b"GET", b"cmp:empty"]),
    ("binary-key-name", [b"GET", b"cmp:\xff\xfekey"]),
    ("nil", [b"GET", b"cmp:missing"]),
    ("integer", [b"INCR", b"cmp:counter"]),
    ("negative-integer", [b"DECRBY", b"cmp:negative", b"5"]),
    ("list-width-2", [b"LRANGE", b"cmp:list", b"0", b"-1"]),
    ("list-width-3", [b"LRANGE", b"cmp:biglist", b"0", b"-1"]),
    ("hash", [b"HGETALL", b"cmp:hash"]),
    ("session-hash", [b"HGETALL", SESSION.encode()]),
    ("zset-scores", [b"ZRANGE", b"cmp:zset", b"0", b"-1", b"WITHSCORES"]),
    ("zscore", [b"ZSCORE", b"cmp:zset", b"c"]),
    ("set", [b"SMEMBERS", b"cmp:set"]),
    ("stream", [b"XRANGE", b"cmp:stream", b"-", b"+"]),
    ("scan", [b"SCAN", b"0", b"MATCH", b"cmp:l*", b"COUNT", b"1000"]),
    ("type", [b"TYPE", b"cmp:hash"]),
    ("empty-array", [b"LRANGE", b"cmp:missing", b"0", b"-1"]),
    ("empty-hash", [b"HGETALL", b"cmp:missing"]),
    ("error-unknown", [b"NOSUCHCOMMAND", b"x"]),
    ("error-wrongtype", [b"GET", b"cmp:list"]),
    ("error-arity", [b"GET"]),
    ("command-info", [b"COMMAND", b"INFO", b"get", b"nosuch"]),
    ("eval-nested", [b"EVAL", b"return {1,'a',{2,false,{}},redis.status_reply('FINE')}", b"0"]),
    ("eval-error", [b"EVAL", b"return redis.error_reply('MYERR custom')", b"0"]),
    ("eval-nested-error", [b"EVAL", b"return {1, redis.error_reply('E2 inner')}", b"0"]),
    ("info-verbatim", [b"INFO", b"keyspace"]),
    ("object-encoding", [b"OBJECT", b"ENCODING", b"cmp:hash"]),
]


def populate(server: RedisServer) -> None:
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    try:
        pipe = client.pipeline(transaction=False)
        pipe.set("cmp:utf8", "héllo wörld ✓")
        pipe.set("cmp:tricky", b'say "hi"\n\ttab\\back\r\x07\x08\x00end')
        pipe.set("cmp:jdk", JDK_STRING)
        pipe.set("cmp:allbytes", bytes(range(256)))
        pipe.set("cmp:empty", b"")
        pipe.set(b"cmp:\xff\xfekey", b"binary name")
        pipe.set("cmp:negative", 2)
        pipe.rpush("cmp:list", *[f"item-{i}" for i in range(12)])
        pipe.rpush("cmp:biglist", *[bytes([i]) for i in range(120)])
        pipe.hset("cmp:hash", mapping={"f1": "v1", "f2": "", "f3": JDK_LONG})
        pipe.hset(
            SESSION,
            mapping={
                "creationTime": JDK_LONG,
                "lastAccessedTime": b"1732000000000",
                "maxInactiveInterval": b"1800",
                "sessionAttr:scopedTarget.sampleSession": sample_session_json(
                    "c95883d5424d", 1732000000000
                ),
                "sessionAttr:removed": b"",
            },
        )
        pipe.zadd("cmp:zset", {"a": 1.5, "b": 2, "c": 1e20, "d": -0.1})
        pipe.sadd("cmp:set", "only-member")
        pipe.xadd("cmp:stream", {"f": "v"}, id="1-1")
        pipe.xadd("cmp:stream", {"a": "b", "c": "d"}, id="2-1")
        pipe.execute()
    finally:
        client.close()


@pytest.fixture(scope="module")
def compare_server(redis_standalone: RedisServer) -> RedisServer:
    client = redis.Redis(**redis_standalone.client_kwargs())  # type: ignore[arg-type]
    client.flushall()
    client.close()
    populate(redis_standalone)
    return redis_standalone


def reset_counters(server: RedisServer) -> None:
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    client.delete("cmp:counter")
    client.set("cmp:negative", 2)
    client.close()


@pytest.mark.parametrize("mode", ["--no-raw", "--raw"])
@pytest.mark.parametrize(("name", "args"), CASES, ids=[name for name, _ in CASES])
def test_same_bytes_as_redis_cli(
    compare_server: RedisServer, mode: str, name: str, args: list[bytes]
) -> None:
    """In process: 64 one-shot commands, where a subprocess each cost ~0.3 CPU-s of imports
    for a call of milliseconds. The real process's bytes are compared with redis-cli's by
    the tests below (one reply with 300 random values in both modes, piped output, stdin,
    -e) and by tests/ssh's same-bytes test through the bastion."""
    # Commands that change data (INCR, DECRBY) must see the same state for both.
    reset_counters(compare_server)
    expected = subprocess.run(
        ["redis-cli", "-p", str(compare_server.port), mode, *args], capture_output=True, timeout=30
    )
    reset_counters(compare_server)
    ours = inspector_in_process("-p", str(compare_server.port), "cli", mode, *args)
    assert ours.stdout == expected.stdout
    assert ours.returncode == expected.returncode == 0
    assert ours.stderr == b""


def test_many_random_values_in_one_reply(compare_server: RedisServer) -> None:
    # 300 random byte strings in one LRANGE reply: every escaping path, one run.
    rng = random.Random(20261128)
    values = [bytes(rng.randrange(256) for _ in range(rng.randrange(40))) for _ in range(300)]
    client = redis.Redis(**compare_server.client_kwargs())  # type: ignore[arg-type]
    client.delete("cmp:random")
    client.rpush("cmp:random", *values)
    client.close()
    for mode in ("--no-raw", "--raw"):
        args = [b"LRANGE", b"cmp:random", b"0", b"-1"]
        expected = subprocess.run(
            ["redis-cli", "-p", str(compare_server.port), mode, *args], capture_output=True
        )
        ours = inspector("-p", str(compare_server.port), "cli", mode, *args)
        assert ours.stdout == expected.stdout


def test_piped_output_defaults_to_raw(compare_server: RedisServer) -> None:
    args = [b"HGETALL", b"cmp:hash"]
    expected = subprocess.run(
        ["redis-cli", "-p", str(compare_server.port), *args], capture_output=True
    )
    ours = inspector("-p", str(compare_server.port), "cli", *args)
    assert ours.stdout == expected.stdout
    assert b'"' not in ours.stdout


def test_commands_piped_on_stdin(compare_server: RedisServer) -> None:
    script = (
        b'SET cmp:stdin "a b"\nGET cmp:stdin\n\nLRANGE cmp:list 0 2\nNOSUCH\nGET "unterminated\n'
    )
    for mode in ("--no-raw", "--raw"):
        expected = subprocess.run(
            ["redis-cli", "-p", str(compare_server.port), mode], input=script, capture_output=True
        )
        ours = inspector("-p", str(compare_server.port), "cli", mode, stdin=script)
        assert ours.stdout == expected.stdout


def test_error_exit_flag(compare_server: RedisServer) -> None:
    ours = inspector("-p", str(compare_server.port), "cli", "-e", "NOSUCH")
    expected = subprocess.run(
        ["redis-cli", "-p", str(compare_server.port), "-e", "NOSUCH"], capture_output=True
    )
    assert ours.returncode == expected.returncode == 1
    # redis-cli -e prints the error to stderr, bare, and nothing on stdout.
    assert (ours.stdout, ours.stderr) == (expected.stdout, expected.stderr) == (b"", ours.stderr)
    assert ours.stderr.startswith(b"ERR unknown command")


def test_piped_commands_in_cluster_mode_report_redirects(redis_cluster: list[RedisServer]) -> None:
    # redis-cli reads a pipe with its REPL, so it prints "-> Redirected to..."
    # there as well (not for one-shot commands).
    keys = [key_on(redis_cluster, node, "piped") for node in redis_cluster]
    script = b"".join(b"SET %s v\nGET %s\n" % (key.encode(), key.encode()) for key in keys)
    port = str(redis_cluster[0].port)
    expected = subprocess.run(
        ["redis-cli", "-c", "-p", port], input=script, capture_output=True, timeout=30
    )
    ours = inspector("-c", "-p", port, "cli", stdin=script)
    assert ours.stdout == expected.stdout
    assert ours.stdout.count(b"-> Redirected to slot") == 2
    one_shot = inspector("-c", "-p", port, "cli", "GET", keys[1])
    assert one_shot.stdout == b"v\n"
