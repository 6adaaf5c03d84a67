"""Servers that refuse things: renamed commands (as on ElastiCache), Unix sockets,
ASK redirects during a slot migration, and how failures are classified."""

from __future__ import annotations

import os
import subprocess

import pytest
import redis
from redis import exceptions as rexc

from inspector.exits import ExitCode
from inspector.redis_io.client import open_client
from inspector.redis_io.errors import Problem, describe_failure
from inspector.redis_io.redis_cli import ErrorReply
from inspector.redis_io.runner import CommandRunner, parse_redirect
from inspector.redis_io.server import server_summary
from inspector.redis_io.settings import ConnectionSettings
from tests.cli_run import inspector
from tests.harness import RedisServer, key_on


async def test_connects_without_info_or_config(redis_restricted: RedisServer) -> None:
    client = await open_client(ConnectionSettings(port=redis_restricted.port))
    try:
        summary = await server_summary(client)
        assert summary.version is None
        assert summary.describe().startswith("Redis (version unknown), standalone")
    finally:
        await client.aclose()


def test_renamed_command_prints_like_redis_cli(redis_restricted: RedisServer) -> None:
    args = ["--no-raw", "CONFIG", "GET", "notify-keyspace-events"]
    ours = inspector("-p", str(redis_restricted.port), "cli", *args)
    theirs = subprocess.run(
        ["redis-cli", "-p", str(redis_restricted.port), *args], capture_output=True
    )
    assert ours.stdout == theirs.stdout
    assert ours.stdout.startswith(b"(error) ERR unknown command 'CONFIG'")


def test_unix_socket(redis_restricted: RedisServer) -> None:
    sock = str(redis_restricted.directory / "redis.sock")
    assert inspector("-s", sock, "cli", "SET", "sock:k", "v").stdout == b"OK\n"
    assert inspector("-u", f"unix://{sock}", "cli", "GET", "sock:k").stdout == b"v\n"
    in_db_3 = inspector("-u", f"unix://{sock}?db=3", "cli", "GET", "sock:k")
    assert in_db_3.stdout == b"\n"  # nil, raw: another database


def test_missing_unix_socket(tmp_path: os.PathLike[str]) -> None:
    result = inspector("-s", f"{tmp_path}/none.sock", "cli", "PING")
    assert result.returncode == 3
    assert b"no such socket file" in result.stderr


async def test_ask_redirect_during_slot_migration(redis_cluster: list[RedisServer]) -> None:
    source, target = redis_cluster[0], redis_cluster[1]
    a = redis.Redis(host="127.0.0.1", port=source.port, decode_responses=True)
    b = redis.Redis(host="127.0.0.1", port=target.port, decode_responses=True)
    key = key_on(redis_cluster, source, "ask")
    slot = int(a.cluster("KEYSLOT", key))
    source_id, target_id = a.cluster("MYID"), b.cluster("MYID")
    b.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    a.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    runner = CommandRunner(ConnectionSettings(port=source.port), follow_redirects=True)
    try:
        await runner.connect()
        # The key is not on the source, which therefore answers ASK: the runner
        # sends ASKING then the command to the target, and stays on the source.
        assert await runner.execute([b"SET", key.encode(), b"migrated"]) == b"OK"
        assert await runner.execute([b"GET", key.encode()]) == b"migrated"
        assert runner.settings.port == source.port
    finally:
        await runner.aclose()
        b.execute_command("ASKING")
        b.delete(key)
        for node in (a, b):
            node.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
        a.close()
        b.close()


def test_parse_redirect() -> None:
    moved = parse_redirect(ErrorReply(b"MOVED 3999 10.0.0.2:6381"), "h")
    assert moved is not None
    assert (moved.ask, moved.slot, moved.host, moved.port) == (False, 3999, "10.0.0.2", 6381)
    ask = parse_redirect(ErrorReply(b"ASK 12 :7000"), "current")
    assert ask is not None
    assert (ask.ask, ask.host, ask.port) == (True, "current", 7000)
    assert parse_redirect(ErrorReply(b"ERR MOVED nothing"), "h") is None
    assert parse_redirect(ErrorReply(b"MOVED x y"), "h") is None


SETTINGS = ConnectionSettings(host="cache.example", port=6380, username="reader")


@pytest.mark.parametrize(
    ("exc", "problem", "code", "needle"),
    [
        (rexc.NoPermissionError("this user has no permissions to run the 'scan' command"),
         Problem.NO_PERMISSION, ExitCode.PERMISSION, "user 'reader' may not run 'SCAN'"),
        (rexc.ResponseError("unknown command 'CONFIG', with args beginning with: "),
         Problem.UNKNOWN_COMMAND, ExitCode.PERMISSION, "does not accept 'SCAN'"),
        (rexc.AuthenticationError("invalid username-password pair or user is disabled."),
         Problem.AUTH_FAILED, ExitCode.CONNECTION, "authentication failed at cache.example:6380"),
        (rexc.ResponseError("NOAUTH Authentication required."),
         Problem.AUTH_REQUIRED, ExitCode.CONNECTION, "requires authentication"),
        (rexc.TimeoutError("Timeout connecting to server"),
         Problem.TIMEOUT, ExitCode.CONNECTION, "timed out after 5s"),
        (rexc.ClusterDownError("The cluster is down"),
         Problem.CLUSTER, ExitCode.CONNECTION, "cluster at cache.example:6380"),
        (ValueError("boom"), Problem.OTHER, ExitCode.ERROR_REPLY, "ValueError: boom"),
    ],
)  # fmt: skip
def test_failures_are_classified(
    exc: BaseException, problem: Problem, code: ExitCode, needle: str
) -> None:
    failure = describe_failure(exc, SETTINGS, command="SCAN")
    assert failure.problem is problem
    assert failure.exit_code is code
    assert needle in failure.message
    assert "\n" not in failure.message
