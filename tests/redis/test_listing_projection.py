"""The list's projection (HMGET + HLEN + PTTLs, more only when needed) and the full
read (HGETALL) agree on every field they share, for every Spring layout of the
fixtures, on standalone and cluster servers alike."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from inspector.core.session import NOT_READ, HostField, Session
from inspector.core.values import JsonValue
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.discovery import (
    Candidate,
    SessionScanner,
    SpringFullReader,
    SpringProjection,
)
from inspector.redis_io.settings import ConnectionSettings
from tests.cli_run import inspector
from tests.harness import RedisServer, emptied
from tests.spring_layouts import Expected, jdk_string, write_layouts

EXTRA_ATTRIBUTES = {
    # An attribute the learning never sees, sorting before the host's: the host
    # rule must still look at it.
    "sessionAttr:aaa.first": b'{"@class":"x.Node","hostname":"early-host"}',
    "sessionAttr:zzz.cart": b'["java.util.ArrayList",[' + b",".join([b'"book"'] * 100) + b"]]",
    "sessionAttr:zzz.removed": b"",
    "notAnAttribute": b"x" * 17,
}


@pytest.fixture
def deployment(
    standalone_or_cluster: RedisServer | list[RedisServer],
) -> Iterator[tuple[int, list[Expected]]]:
    """Every layout of the fixtures, and two sessions shaped unlike the others."""
    now = int(time.time() * 1000)
    client, port = emptied(standalone_or_cluster)
    try:
        expected = write_layouts(client, now)
        # Layout 1 with more attributes than it had; layout 2 (JDK, logged in)
        # without its principal index attribute: the principal is then in the
        # security context, which must be read.
        client.hset(f"spring:session:sessions:{expected[0].id}", mapping=EXTRA_ATTRIBUTES)  # type: ignore[arg-type]
        second = f"spring:session:sessions:{expected[1].id}"
        client.hdel(
            second,
            "sessionAttr:org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME",
        )
        client.hset(second, "sessionAttr:note", jdk_string("hello"))
        yield port, expected
    finally:
        client.close()


def comparable(session: Session) -> dict[str, JsonValue]:
    """The list fields; attribute order is the hash's in both modes, compared as sets."""
    out = session.to_json()
    for name in ("attributeNames", "removedAttributes"):
        value = out[name]
        assert isinstance(value, list)
        out[name] = sorted(value, key=str)
    return out


def assert_agree(full: dict[str, Session], projected: dict[str, Session]) -> None:
    assert set(projected) == set(full)
    for session_id, session in full.items():
        want, got = comparable(session), comparable(projected[session_id])
        # The reads are moments apart: a TTL may tick over a second boundary.
        for name in ("ttl", "shadowTtl"):
            a, b = want.pop(name), got.pop(name)
            assert (a is None) == (b is None), (session_id, name)
            if isinstance(a, int) and isinstance(b, int):
                assert abs(a - b) <= 1, (session_id, name, a, b)
        assert got == want, session_id


async def candidates_of(client: RedisClient) -> list[Candidate]:
    scanner = SessionScanner(client)
    return [c async for batch in scanner.candidate_batches() for c in batch]


@pytest.mark.parametrize("host_field", [None, "scopedTarget.sampleSession.host"])
async def test_projection_agrees_with_the_full_read(
    deployment: tuple[int, list[Expected]], host_field: str | None
) -> None:
    port, expected = deployment
    field = HostField(host_field) if host_field else None
    client = await open_client(ConnectionSettings(port=port))
    try:
        candidates = await candidates_of(client)
        full = {s.id: s for s in await SpringFullReader(field).read(client, candidates)}
        assert set(full) == {e.id for e in expected}
        assert full[expected[0].id].host == ("early-host" if field is None else "container-1")
        assert full[expected[1].id].principal is not None
        # Nothing learned (every attribute beyond the principal's is found by
        # HKEYS), learned from every session, learned from one session only.
        unlearned = SpringProjection(field)
        everything = SpringProjection(field)
        everything.learn(full.values())
        one = SpringProjection(field)
        one.learn([full[expected[2].id]])
        for projection in (unlearned, everything, one):
            projected = {s.id: s for s in await projection.read(client, candidates)}
            assert_agree(full, projected)
        # Values the list did not need are not read, and say so when asked for.
        cart = projected[expected[0].id].attribute("zzz.cart")
        assert cart.error == NOT_READ
        assert cart.size == len(EXTRA_ATTRIBUTES["sessionAttr:zzz.cart"])
    finally:
        await client.aclose()


async def test_scanner_projection_streams_the_same_sessions(
    deployment: tuple[int, list[Expected]],
) -> None:
    port, expected = deployment
    client = await open_client(ConnectionSettings(port=port))
    try:
        full = SessionScanner(client, count=5)
        whole = {s.id: s async for batch in full.batches() for s in batch}
        # Small pages: the first batch teaches the projection, later ones use it.
        projected = SessionScanner(client, count=5, projection=True)
        listed = {s.id: s async for batch in projected.batches() for s in batch}
        assert projected.projection is not None
        assert projected.projection.learned
        assert_agree(whole, listed)
        assert projected.progress.sessions_found == len(expected)
    finally:
        await client.aclose()


def test_ls_attributes_keeps_the_full_output(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    plain = inspector("-p", str(port), "ls", "--json", "--framework", "spring")
    full = inspector("-p", str(port), "ls", "--json", "--attributes", "--framework", "spring")
    assert plain.returncode == full.returncode == 0, (plain.stderr, full.stderr)
    rows: dict[str, Any] = {r["id"]: r for r in map(json.loads, plain.stdout.splitlines())}
    with_values = {r["id"]: r for r in map(json.loads, full.stdout.splitlines())}
    assert set(rows) == set(with_values) == {e.id for e in expected}
    for session_id, row in with_values.items():
        attributes = row.pop("attributes")
        assert sorted(attributes) == sorted(row["attributeNames"])
        assert "attributes" not in rows[session_id]
        for decoded in attributes.values():
            assert decoded["error"] is None


async def test_cluster_reads_go_straight_to_each_primary(
    deployment: tuple[int, list[Expected]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bulk reads are packed per primary and read with hiredis; redis-py's
    # cluster pipeline is only for keys that moved (MOVED/ASK) or other commands.
    from redis.asyncio import RedisCluster

    from inspector.redis_io import pipeline

    port, expected = deployment
    client = await open_client(ConnectionSettings(port=port))
    try:
        if not isinstance(client, RedisCluster):
            pytest.skip("cluster only")

        async def unexpected(*args: object) -> list[object]:
            raise AssertionError("went through redis-py's cluster pipeline")

        monkeypatch.setattr(pipeline, "_redis_py_pipeline", unexpected)
        candidates = await candidates_of(client)
        full = await SpringFullReader().read(client, candidates)
        projected = await SpringProjection().read(client, candidates)
        assert {s.id for s in full} == {s.id for s in projected} == {e.id for e in expected}
    finally:
        await client.aclose()
