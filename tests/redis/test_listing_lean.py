"""`ls --json`'s lean path (listing_json: replies straight to the JSON line, no Session built)
gives the bytes the Session path gives, for every Spring layout of the fixtures (1.x, 2.x
indexed, 3.x default, custom namespaces), odd hashes that take the Session path's other
branches, and the other frameworks listed in the same pass; standalone and cluster."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from inspector.core.frameworks import Registry
from inspector.core.session import HostField, RawSession, Session, listing_json
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.discovery import (
    Candidate,
    SessionScanner,
    SpringFullReader,
    SpringProjection,
)
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.sessions import session_json
from tests.cli_run import inspector
from tests.frameworks_oracle import FRAMEWORKS, manifest_entries
from tests.harness import RedisServer, emptied
from tests.spring_layouts import Expected, jdk_long, write_layouts

HOST_PATH = "scopedTarget.sampleSession.host"


def odd_sessions(now: int) -> dict[str, dict[str, bytes]]:
    """Hashes that leave the lean path's common case, one way each."""
    context = (
        b'{"@class":"org.springframework.security.core.context.SecurityContextImpl",'
        b'"authentication":{"principal":"carol","name":"carol"}}'
    )
    base = {
        "creationTime": str(now - 5_000).encode(),
        "lastAccessedTime": str(now - 1_000).encode(),
        "maxInactiveInterval": b"1800",
    }
    return {
        "jdk-times": {**base, "creationTime": jdk_long(now - 9_000)},
        "future": {**base, "lastAccessedTime": str(now + 10 * 86_400_000).encode()},
        "not-a-number": {**base, "maxInactiveInterval": b"soon"},
        "huge-interval": {**base, "maxInactiveInterval": b"99999999999"},
        "no-creation": {k: v for k, v in base.items() if k != "creationTime"},
        "empty-time": {**base, "lastAccessedTime": b""},
        "security-context": {**base, "sessionAttr:SPRING_SECURITY_CONTEXT": context},
        "host-attribute": {**base, "sessionAttr:host": b'"web-7"', "sessionAttr:gone": b""},
        "invalidated": {**base, "maxInactiveInterval": b"0"},
        "plain": {**base, "sessionAttr:x": b'{"hostname":"web-9"}'},
    }


def write_frameworks(client: Any) -> None:
    for entry in manifest_entries():
        client.set(entry["key"], (FRAMEWORKS / entry["path"]).read_bytes(), px=entry["ttlMs"])


@pytest.fixture
def store(standalone_or_cluster: RedisServer | list[RedisServer]) -> Iterator[int]:
    """Every Spring layout, the odd hashes (half of them indexed) and every framework's fixture."""
    now = int(time.time() * 1000)
    client, port = emptied(standalone_or_cluster)
    try:
        expected: list[Expected] = write_layouts(client, now)
        assert expected
        for index, fields in enumerate(odd_sessions(now).values()):
            sid = str(uuid.uuid4())
            key = f"spring:session:sessions:{sid}"
            client.hset(key, mapping=fields)  # type: ignore[arg-type]
            client.expire(key, 2100)
            if index % 2:
                client.set(f"spring:session:sessions:expires:{sid}", b"", ex=1800)
        write_frameworks(client)
        yield port
    finally:
        client.close()


async def candidates_of(client: RedisClient) -> list[Candidate]:
    scanner = SessionScanner(client)
    return [c async for batch in scanner.candidate_batches() for c in batch]


def session_line(raw: RawSession, host_field: HostField | None) -> bytes:
    """What `ls --json` printed before the lean path: the Session's JSON."""
    session = Session.from_raw(raw, host_field=host_field)
    return orjson.dumps(session_json(session), option=orjson.OPT_APPEND_NEWLINE)


@pytest.mark.parametrize("host_path", [None, HOST_PATH])
async def test_lean_json_is_the_session_json_byte_for_byte(
    store: int, host_path: str | None
) -> None:
    """The same replies, both paths: identical bytes, for projected and full reads."""
    host_field = HostField(host_path) if host_path else None
    client = await open_client(ConnectionSettings(port=store))
    try:
        candidates = await candidates_of(client)
        full = await SpringFullReader(host_field).read(client, candidates)
        assert len(full) >= 19  # the layouts and the odd hashes, nothing dropped
        projection = SpringProjection(host_field)
        projection.learn(full[:3])
        raws = [session.raw for session in full]
        raws += await projection.read_raw(client, candidates)
        for raw in raws:
            lean = orjson.dumps(
                listing_json(raw, host_field=host_field), option=orjson.OPT_APPEND_NEWLINE
            )
            assert lean == session_line(raw, host_field), raw.key
    finally:
        await client.aclose()


def comparable(line: bytes) -> tuple[str, dict[str, Any]]:
    row = orjson.loads(line)
    assert isinstance(row, dict)
    # Read at two moments: a TTL may have crossed a second boundary in between.
    for name in ("ttl", "shadowTtl", "ttlMs", "expiresAtMs"):
        if isinstance(row.get(name), int) and row[name] > 0:
            row[name] = "ticking"
    # A hash's field order is Redis's, not ours, and it can change between two reads:
    # a hash past listpack size is a dict, and a lookup (the lean path's HMGET) moves
    # an unfinished incremental rehash on, so HKEYS after it walks another order
    # (CI red once, [cluster]: the same three names, shuffled).
    if isinstance(row.get("attributeNames"), list):
        row["attributeNames"] = sorted(row["attributeNames"])
    return str(row.get("key") or row.get("id")), row


async def test_scanner_json_pages_list_what_mixed_batches_list(store: int) -> None:
    """Small pages: the first ones read in full (sessions), later ones as lean lines."""
    client = await open_client(ConnectionSettings(port=store))
    try:
        old = SessionScanner(client, count=5, projection=True, registry=Registry())
        before = dict(
            [
                comparable(orjson.dumps(session_json(session)))
                async for batch in old.mixed_batches()
                for session in batch
            ]
        )
        lean = SessionScanner(client, count=5, projection=True, registry=Registry())
        lean.json_lines = True
        lines: list[bytes] = []
        sessions = 0
        async for given, batch in lean.json_pages():
            lines += given
            lines += [orjson.dumps(session_json(session)) for session in batch]
            sessions += len(batch)
        after = dict(comparable(line) for line in lines)
        assert len(lines) == len(after) == len(before)
        assert sessions < len(lines)  # the lean path was taken for some
        assert {row.get("framework") for row in after.values()} >= {"spring", "express"}
        assert after == before
        assert lean.progress.sessions_found == len(lines)
    finally:
        await client.aclose()


async def test_attribute_names_not_utf8_are_listed(redis_standalone: RedisServer) -> None:
    """Hostile names (invalid UTF-8), learned by the projection and in lean lines: never raise."""
    client, port = emptied(redis_standalone)
    try:
        now = int(time.time() * 1000)
        for index in range(12):
            fields: dict[str | bytes, bytes] = {
                "creationTime": str(now).encode(),
                "lastAccessedTime": str(now).encode(),
                "maxInactiveInterval": b"1800",
                b"sessionAttr:\xff\xfe": b'{"host":"web-\xff"}',
            }
            if index % 2:
                fields["sessionAttr:a"] = b'"x"'
            client.hset(f"spring:session:sessions:{uuid.uuid4()}", mapping=fields)  # type: ignore[arg-type]
    finally:
        client.close()
    reader = await open_client(ConnectionSettings(port=port))
    try:
        scanner = SessionScanner(reader, count=3, projection=True)
        scanner.json_lines = True
        lines = [line async for given, _ in scanner.json_pages() for line in given]
        assert lines  # the lean path was taken
        for line in lines:
            row = orjson.loads(line)
            assert "\ufffd\ufffd" in row["attributeNames"]
    finally:
        await reader.aclose()
    result = inspector("-p", str(port), "ls", "--json")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 12
