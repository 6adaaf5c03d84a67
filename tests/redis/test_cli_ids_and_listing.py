"""Issue 16 items 11-13 on a real server: short ids work in `show`, `ls` filters and sorts,
and nothing `ls`/`stats` passes over is silent."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis

from tests.cli_run import inspector
from tests.harness import RedisServer, emptied
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
    key_ttl_ms: int | None = 2_100_000,
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
        fields["sessionAttr:FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME"] = (
            json.dumps(principal).encode()
        )
    key = f"{namespace}:sessions:{session_id}"
    client.hset(key, mapping=fields)  # type: ignore[arg-type]
    if key_ttl_ms is not None:
        client.pexpire(key, key_ttl_ms)


@pytest.fixture(params=["standalone", "cluster"])
def three(
    request: pytest.FixtureRequest, redis_standalone: RedisServer
) -> Iterator[tuple[int, redis.Redis | redis.RedisCluster]]:
    """Sessions A and B share the prefix abcd12; C and an Express session stand alone."""
    client, port = emptied(
        redis_standalone
        if request.param == "standalone"
        else request.getfixturevalue("redis_cluster")
    )
    try:
        spring_session(client, A, host="container-1", principal="alice")
        spring_session(client, B, host="container-2", accessed_ago_ms=5_000)
        spring_session(client, C, host="container-1", accessed_ago_ms=9_000)
        client.set(EXPRESS_KEY, b'{"cookie":{"originalMaxAge":86400000},"user":"x"}')
        yield port, client
    finally:
        client.close()


def show(port: int, ref: str) -> tuple[int, dict[str, object] | None, str]:
    result = inspector("-p", str(port), "show", ref, "--json")
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
