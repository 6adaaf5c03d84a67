"""Error replies are failures, not "no data"; cluster pipelines answer in RESP2 shapes.

An ACL user denied HGETALL must not be told there are no sessions, and a
read-only user must not be told a session was deleted.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis

from inspector.exits import ExitCode
from inspector.redis_io.client import open_client
from inspector.redis_io.discovery import find_session, read_raw_sessions
from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.pipeline import run_pipeline
from inspector.redis_io.settings import ConnectionSettings
from inspector.redis_io.writes import delete_session
from tests.cli_run import inspector
from tests.harness import ACL_READER_PASSWORD, ACL_READER_USER, RedisServer
from tests.spring_layouts import write_session_hash

NO_HGETALL = "no-hgetall"
NO_HGETALL_PASSWORD = "no-hgetall-pass"


def write_session(client: redis.Redis | redis.RedisCluster, sid: str) -> str:
    """One session hash as Spring writes it, with its shadow key; returns its key."""
    key = write_session_hash(client, sid)
    client.set(f"spring:session:sessions:expires:{sid}", b"", ex=1800)
    return key


@pytest.fixture
def denied_hgetall(redis_clean: RedisServer) -> Iterator[tuple[RedisServer, str]]:
    """The clean server with one session and a user who may do anything but HGETALL and HMGET."""
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    admin.execute_command(
        "ACL", "SETUSER", NO_HGETALL, "reset", "on", f">{NO_HGETALL_PASSWORD}",
        "~*", "&*", "+@all", "-hgetall", "-hmget",
    )  # fmt: skip
    sid = str(uuid.uuid4())
    write_session(admin, sid)
    try:
        yield redis_clean, sid
    finally:
        admin.execute_command("ACL", "DELUSER", NO_HGETALL)
        admin.close()


def inspector_as(
    user: str, password: str, port: int, *args: str
) -> subprocess.CompletedProcess[bytes]:
    return inspector("-p", str(port), "--user", user, *args, env={"REDISCLI_AUTH": password})


@pytest.mark.parametrize("command", [["ls"], ["stats"], ["show", "SID"]])
def test_hgetall_denied_is_one_line_and_exit_4(
    denied_hgetall: tuple[RedisServer, str], command: list[str]
) -> None:
    server, sid = denied_hgetall
    args = [sid if arg == "SID" else arg for arg in command]
    result = inspector_as(NO_HGETALL, NO_HGETALL_PASSWORD, server.port, *args)
    err = result.stderr.decode()
    assert result.returncode == ExitCode.PERMISSION, err
    assert err.count("\n") == 1, err
    # Lists read HMGET (the projection), show too (sizes first): either refusal is named.
    assert any(f"user '{NO_HGETALL}' may not run '{name}'" in err for name in ("HGETALL", "HMGET"))
    assert "NOPERM" in err
    assert "Traceback" not in err
    assert result.stdout == b""


async def test_read_raw_sessions_raises_on_a_denied_read(
    denied_hgetall: tuple[RedisServer, str],
) -> None:
    server, sid = denied_hgetall
    settings = ConnectionSettings(
        port=server.port, username=NO_HGETALL, password=NO_HGETALL_PASSWORD
    )
    client = await open_client(settings)
    try:
        key = f"spring:session:sessions:{sid}"
        with pytest.raises(Failure) as caught:
            await read_raw_sessions(client, [(key, "spring:session", sid)])
        assert caught.value.problem is Problem.NO_PERMISSION
        assert f"at 127.0.0.1:{server.port}" in caught.value.message
    finally:
        await client.aclose()


async def test_wrongtype_is_still_skipped(redis_clean: RedisServer) -> None:
    # A key named like a session that holds a string is not a session: no failure.
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    sid = str(uuid.uuid4())
    admin.set(f"spring:session:sessions:{sid}", b"not a hash")
    admin.close()
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        key = f"spring:session:sessions:{sid}"
        assert await read_raw_sessions(client, [(key, "spring:session", sid)]) == []
    finally:
        await client.aclose()


async def test_read_only_user_cannot_delete_and_is_told_so(redis_acl: RedisServer) -> None:
    admin = redis.Redis(**redis_acl.client_kwargs())  # type: ignore[arg-type]
    sid = str(uuid.uuid4())
    key = write_session(admin, sid)
    settings = ConnectionSettings(
        port=redis_acl.port, username=ACL_READER_USER, password=ACL_READER_PASSWORD
    )
    client = await open_client(settings)
    try:
        session = await find_session(client, sid)
        assert session is not None
        with pytest.raises(Failure) as caught:
            await delete_session(client, session)
        assert caught.value.exit_code is ExitCode.PERMISSION
        assert f"user '{ACL_READER_USER}' may not run 'DEL'" in caught.value.message
        assert "\n" not in caught.value.message
        assert admin.exists(key) == 1
    finally:
        await client.aclose()
        admin.delete(key, f"spring:session:sessions:expires:{sid}")
        admin.close()


async def test_delete_session_still_counts_what_it_removed(redis_clean: RedisServer) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    sid = str(uuid.uuid4())
    key = write_session(admin, sid)
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        session = await find_session(client, sid)
        assert session is not None
        assert await delete_session(client, session) == 2  # the hash and the shadow key
        assert admin.exists(key) == 0
    finally:
        await client.aclose()
        admin.close()


async def test_cluster_pipeline_replies_in_resp2_shapes(redis_cluster: list[RedisServer]) -> None:
    cluster = redis.RedisCluster(host="127.0.0.1", port=redis_cluster[0].port)
    tag = uuid.uuid4().hex
    cluster.hset(f"shape:{tag}:h", mapping={"f": b"v"})
    cluster.sadd(f"shape:{tag}:s", b"a", b"b")
    client = await open_client(ConnectionSettings(port=redis_cluster[0].port))
    try:
        hash_reply, set_reply, missing = await run_pipeline(
            client,
            [
                (b"HGETALL", f"shape:{tag}:h".encode()),
                (b"SMEMBERS", f"shape:{tag}:s".encode()),
                (b"SMEMBERS", f"shape:{tag}:none".encode()),
            ],
        )
        assert hash_reply == [b"f", b"v"]
        assert isinstance(set_reply, list)
        assert sorted(set_reply) == [b"a", b"b"]
        assert missing == []
    finally:
        await client.aclose()
        cluster.delete(f"shape:{tag}:h", f"shape:{tag}:s")
        cluster.close()


async def test_single_node_open_sends_no_info(redis_clean: RedisServer) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]

    def info_calls() -> int:
        stats = admin.info("commandstats")
        entry = stats.get("cmdstat_info", {})
        return int(entry["calls"]) if isinstance(entry, dict) else 0

    settings = ConnectionSettings(port=redis_clean.port)
    try:
        before = info_calls()
        client = await open_client(settings)
        await client.aclose()
        probed = info_calls() - before  # our own INFO, plus the probe's
        before = info_calls()
        client = await open_client(settings, single_node=True)
        await client.aclose()
        assert info_calls() - before == probed - 1
    finally:
        admin.close()
