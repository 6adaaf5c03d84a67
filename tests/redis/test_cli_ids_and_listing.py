"""Issue 16 items 11-13 on a real server: short ids work in `show`, `ls` filters and sorts,
and nothing `ls`/`stats` passes over is silent."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator

import pytest
import redis

from inspector.core.spring import PRINCIPAL_INDEX_ATTRIBUTE
from tests.cli_run import ENDPOINT_VARIABLES, inspector, inspector_in_process
from tests.harness import RedisServer, emptied
from tests.pty_session import PtySession
from tests.spring_layouts import EXPRESS_ID, EXPRESS_KEY

A = "abcd1234-1111-4111-8111-111111111111"
B = "abcd1299-2222-4222-8222-222222222222"
C = "ffee0000-3333-4333-8333-333333333333"


def spring_session(
    client: redis.Redis | redis.RedisCluster,
    session_id: str,
    *,
    host: str,
    accessed_ago_ms: int = 1_000,
    interval: int = 1800,
    key_ttl_ms: int | None = None,
    namespace: str = "spring:session",
    principal: str | None = None,
) -> None:
    """A Spring Session 3 hash (plain numbers, JSON attributes) as the sample app writes it."""
    now = int(time.time() * 1000)
    fields: dict[str, bytes] = {
        "creationTime": str(now - 60_000).encode(),
        "lastAccessedTime": str(now - accessed_ago_ms).encode(),
        "maxInactiveInterval": str(interval).encode(),
        "sessionAttr:host": json.dumps(host).encode(),
    }
    if principal is not None:
        fields[f"sessionAttr:{PRINCIPAL_INDEX_ATTRIBUTE}"] = json.dumps(principal).encode()
    key = f"{namespace}:sessions:{session_id}"
    client.hset(key, mapping=fields)  # type: ignore[arg-type]
    # Spring Session 3: the key expires with the session (EXPIREAT).
    client.pexpire(key, key_ttl_ms if key_ttl_ms is not None else interval * 1000 - accessed_ago_ms)


@pytest.fixture
def three(
    standalone_or_cluster: RedisServer | list[RedisServer],
) -> Iterator[tuple[int, redis.Redis | redis.RedisCluster]]:
    """Sessions A and B share the prefix abcd12; C and an Express session stand alone."""
    client, port = emptied(standalone_or_cluster)
    try:
        spring_session(client, A, host="container-1", principal="alice")
        spring_session(client, B, host="container-2", accessed_ago_ms=5_000)
        spring_session(client, C, host="container-1", accessed_ago_ms=9_000)
        client.set(EXPRESS_KEY, b'{"cookie":{"originalMaxAge":86400000},"user":"x"}')
        yield port, client
    finally:
        client.close()


def show(port: int, ref: str) -> tuple[int, dict[str, object] | None, str]:
    result = inspector_in_process("-p", str(port), "show", ref, "--json")
    body = json.loads(result.stdout) if result.stdout else None
    return result.returncode, body, result.stderr.decode()


def test_show_takes_the_short_ids_lists_print(
    three: tuple[int, redis.Redis | redis.RedisCluster],
) -> None:
    port, _ = three
    # The 8 characters watch, the TUI and Live print.
    code, body, err = show(port, C[:8])
    assert code == 0, err
    assert body is not None
    assert body["id"] == C
    code, body, err = show(port, "abcd1234")
    assert code == 0, err
    assert body is not None
    assert body["id"] == A
    # Another framework's id, by its start.
    code, body, err = show(port, EXPRESS_ID[:8])
    assert code == 0, err
    assert body is not None
    assert body["framework"] == "express"
    # Text inside a key name that is not the id's start is no match.
    code, body, err = show(port, "1111-4111")
    assert code == 1
    assert body is None
    assert "no session 1111-4111" in err


def test_show_ambiguous_prefix_lists_the_candidates(
    three: tuple[int, redis.Redis | redis.RedisCluster],
) -> None:
    port, _ = three
    code, body, err = show(port, "abcd12")
    assert code == 1
    assert body is None
    assert "abcd12 is the start of 2 session ids" in err
    assert A in err
    assert B in err
    assert C not in err
    assert "Traceback" not in err
    # Glob characters are the user's text, not a pattern.
    code, _, err = show(port, "abcd*")
    assert code == 1
    assert "no session abcd*" in err


def ids(port: int, *flags: str) -> list[str]:
    # In process: a dozen listings a server, each ~0.8 s as a subprocess.
    result = inspector_in_process("-p", str(port), "ls", "--json", *flags)
    assert result.returncode == 0, result.stderr
    return [json.loads(row)["id"] for row in result.stdout.splitlines()]


def test_ls_filters_sorts_and_limits(three: tuple[int, redis.Redis | redis.RedisCluster]) -> None:
    port, _ = three
    assert sorted(ids(port, "--host", "container-1")) == sorted([A, C])
    assert sorted(ids(port, "--host", "container-*", "--framework", "spring")) == sorted([A, B, C])
    assert ids(port, "--principal", "alice") == [A]
    assert sorted(ids(port, "--match", "abcd*")) == sorted([A, B])
    assert ids(port, "--match", "sess:*") == [EXPRESS_ID]  # the key counts too
    assert sorted(ids(port, "--state", "active", "--framework", "spring")) == sorted([A, B, C])
    assert ids(port, "--state", "expired,invalidated") == []
    spring = ("--framework", "spring")
    assert ids(port, "--sort", "accessed", *spring) == [C, B, A]
    assert ids(port, "--sort", "accessed", "--reverse", *spring) == [A, B, C]
    assert ids(port, "--sort", "ttl", "--limit", "1", *spring) == [C]
    assert ids(port, "--sort", "id", "--limit", "2") == sorted([A, B, C, EXPRESS_ID])[:2]
    # Nothing matches: said on stderr, exit 0.
    none = inspector("-p", str(port), "ls", "--host", "nowhere")
    assert none.returncode == 0
    assert none.stdout == b""
    assert b"no session of the 4 found matches the filters" in none.stderr
    bad = inspector("-p", str(port), "ls", "--sort", "colour")
    assert bad.returncode == 2


def test_ls_ttl_is_the_sessions_life_and_times_have_their_offset(
    three: tuple[int, redis.Redis | redis.RedisCluster],
) -> None:
    port, client = three
    # An indexed (2.x) session: the hash outlives the session by 5 minutes.
    spring_session(client, "indexed-1", host="container-3", key_ttl_ms=2_100_000)
    result = inspector("-p", str(port), "ls", "--match", "*-1*", env={"TZ": "Asia/Tokyo"})
    lines = {row.split()[0]: row for row in result.stdout.decode().splitlines()}
    # Piped: every column, stable widths, no header.
    assert "ID" not in lines
    a = lines[A]
    # TTL 29:59 as show and the TUI count it; the key's own TTL beside it.
    assert re.search(r" \+0900 +29:5\d +29:5\d +2  spring spring:session$", a), a
    indexed = lines["indexed-1"]
    assert re.search(r" 29:5\d +3[45]:\d\d ", indexed), indexed  # the hash lives 5 min longer
    shown = inspector("-p", str(port), "show", A).stdout.decode()
    assert "in 29 min" in shown  # the same life as the TTL column


def test_ls_on_a_terminal_has_a_header_and_fits(
    three: tuple[int, redis.Redis | redis.RedisCluster], tmp_path: object
) -> None:
    port, _ = three
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env.update(COLUMNS="80", LINES="24", TZ="UTC", TERM="xterm")
    terminal = PtySession(
        [
            sys.executable,
            "-m",
            "inspector",
            "-p",
            str(port),
            "ls",
            "--sort",
            "id",
            "--framework",
            "spring",
        ],
        env=env,
    )
    try:
        assert terminal.wait() == 0
    finally:
        terminal.close()
    rows = terminal.text.decode().replace("\r", "").splitlines()
    assert rows[0].split() == ["ID", "STATE", "HOST", "LAST", "ACCESS", "TTL"]
    assert all(len(row) <= 80 for row in rows)
    # The 8-character ids show takes back.
    assert rows[1].startswith(A[:8] + "  active")
    assert "+0000" in rows[1]


def test_nothing_is_silent(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    try:
        spring_session(client, A, host="container-1")
        client.set(f"spring:session:sessions:{B}", b"a string where a hash belongs")
        client.set(b"spring:session:sessions:\xff\xfe", b"x")
        client.set("user:1", b"x")
    finally:
        client.close()
    port = str(redis_clean.port)
    listed = inspector("-p", port, "ls")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 1
    told = listed.stderr.decode().splitlines()
    assert (
        "# skipped 1 key(s) named like Spring sessions that are not session hashes (another "
        "type, or a hash without creationTime/lastAccessedTime/maxInactiveInterval)" in told
    )
    assert (
        "# skipped 1 key(s) whose name is not UTF-8 (no session store writes such names), "
        "e.g. spring:session:sessions:\\xff\\xfe" in told
    )
    # The other key once: the non-UTF-8 one is not counted again here.
    assert "# passed over 1 keys matching no session store" in told
    assert len(told) == 3, told
    stats = inspector("-p", port, "stats", "--json")
    assert json.loads(stats.stdout)["sessions"] == 1  # as many as ls listed
    assert stats.stderr.decode().splitlines() == told
    # A namespace without sessions, a database without keys.
    namespace = inspector("-p", port, "ls", "--namespace", "shop")
    assert namespace.returncode == 0
    assert namespace.stderr.startswith(b"# no sessions in namespace shop (0 keys scanned)\n")
    empty = inspector("-p", port, "-n", "5", "ls")
    assert empty.returncode == 0
    assert empty.stderr == b"# no sessions found: the database (db 5) has no keys at all\n"
    empty_stats = inspector("-p", port, "-n", "5", "stats", "--json")
    assert json.loads(empty_stats.stdout)["sessions"] == 0
    assert b"has no keys at all" in empty_stats.stderr
