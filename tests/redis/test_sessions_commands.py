"""Sessions in every Spring layout, plus decoys, on real standalone and cluster servers:
`ls`, `show`, `stats` list exactly the sessions with the right host and state."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from inspector.redis_io.client import open_client
from inspector.redis_io.discovery import SessionScanner
from inspector.redis_io.settings import ConnectionSettings
from tests.cli_run import inspector, inspector_in_process
from tests.harness import RedisServer, emptied
from tests.spring_layouts import EXPRESS_ID, EXPRESS_KEY, Expected, write_layouts


@pytest.fixture
def deployment(
    standalone_or_cluster: RedisServer | list[RedisServer],
) -> Iterator[tuple[int, list[Expected]]]:
    """Fresh data in every layout; yields (port to connect to, expected sessions)."""
    now = int(time.time() * 1000)
    client, port = emptied(standalone_or_cluster)
    try:
        yield port, write_layouts(client, now)
    finally:
        client.close()


def check(listed: dict[str, Any], expected: list[Expected]) -> None:
    assert set(listed) == {e.id for e in expected}
    for e in expected:
        got = listed[e.id]
        assert got["namespace"] == e.namespace, e
        assert got["state"] == e.state, e
        assert got["host"] == e.host, e
        assert got["principal"] == e.principal, e
        assert sorted(got["attributeNames"]) == sorted(e.attributes), e
        assert got["removedAttributes"] == e.removed, e
        assert got["layout"] == e.layout, e
        assert got["key"] == f"{e.namespace}:sessions:{e.id}"


async def test_scanner_finds_exactly_the_sessions(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    client = await open_client(ConnectionSettings(port=port))
    try:
        scanner = SessionScanner(client, count=5)  # small COUNT: many batches, streamed
        batches = [batch async for batch in scanner.batches()]
        assert len(batches) > 1
        listed = {s.id: s.to_json() for batch in batches for s in batch}
        check(listed, expected)
        assert scanner.progress.done
        assert scanner.progress.sessions_found == len(expected)
        owners = await scanner.principal_index()
        alice = next(e.id for e in expected if e.principal == "alice")
        assert owners[alice] == "alice"
    finally:
        await client.aclose()


def test_ls_json(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    result = inspector("-p", str(port), "ls", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    spring = [row for row in rows if row["framework"] == "spring"]
    check({row["id"]: row for row in spring}, expected)
    for row in spring:
        for name in ("creationTime", "lastAccessedTime", "maxInactiveInterval", "ttl"):
            assert name in row
    # The one other framework's session among them, in the same pass.
    (other,) = [row for row in rows if row["framework"] != "spring"]
    assert (other["framework"], other["id"], other["key"]) == ("express", EXPRESS_ID, EXPRESS_KEY)
    assert other["attributeNames"] == ["user"]
    only_spring = inspector("-p", str(port), "ls", "--json", "--framework", "spring")
    assert len(only_spring.stdout.splitlines()) == len(expected)


def test_ls_human_and_limit(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    result = inspector("-p", str(port), "ls")
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(expected) + 1  # and the express session
    assert sum(line.rstrip().endswith("express") for line in lines) == 1
    assert any("container-1" in line and "active" in line for line in lines)
    limited = inspector("-p", str(port), "ls", "--limit", "2", "--json")
    assert len(limited.stdout.splitlines()) == 2


def test_namespace_filter(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    for namespace in ("myapp", "spring:session:legacy", "spring:session"):
        rows = [
            json.loads(x)
            for x in inspector(
                "-p", str(port), "ls", "--json", "--namespace", namespace
            ).stdout.splitlines()
        ]
        assert {r["id"] for r in rows} == {e.id for e in expected if e.namespace == namespace}


def test_host_field_option(deployment: tuple[int, list[Expected]]) -> None:
    port, _ = deployment
    rows = [
        json.loads(line)
        for line in inspector(
            "-p",
            str(port),
            "ls",
            "--json",
            "--host-field",
            "scopedTarget.sampleSession.lastUpdatedAt",
        ).stdout.splitlines()
    ]
    # A path to a non-string (a Date) gives no host; a path to a string does.
    assert rows
    assert all(row["host"] is None for row in rows)
    rows = [
        json.loads(line)
        for line in inspector(
            "-p", str(port), "ls", "--json", "--host-field", "scopedTarget.sampleSession.host"
        ).stdout.splitlines()
    ]
    assert {row["host"] for row in rows} >= {"container-1", "container-2"}


def test_show_every_session_and_attribute(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    # In process: a subprocess per session and form cost ~0.8 s each (starting
    # Python and importing redis-py), 40 s a server; the real process is shown
    # by test_show_by_cookie_and_missing.
    for e in expected:
        human = inspector_in_process("-p", str(port), "show", e.id)
        assert human.returncode == 0, human.stderr
        text = human.stdout.decode()
        assert f"Session {e.id}  [{e.state}]" in text
        for name in e.attributes + e.removed:
            assert name in text
        assert "Traceback" not in text
        as_json = json.loads(inspector_in_process("-p", str(port), "show", e.id, "--json").stdout)
        assert sorted(as_json["attributes"]) == sorted(e.attributes)
        for decoded in as_json["attributes"].values():
            assert decoded["format"] in ("java", "jackson", "json", "text")
            assert decoded["error"] is None


def test_show_by_cookie_and_missing(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    first = expected[0]
    cookie = base64.b64encode(first.id.encode()).decode()
    shown = json.loads(inspector("-p", str(port), "show", cookie, "--json").stdout)
    assert shown["id"] == first.id
    missing = inspector("-p", str(port), "show", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1
    assert missing.stdout == b""
    assert missing.stderr.decode().count("\n") == 1
    assert "no session 00000000-0000-4000-8000-000000000000" in missing.stderr.decode()


def test_stats(deployment: tuple[int, list[Expected]]) -> None:
    port, expected = deployment
    mixed = json.loads(inspector("-p", str(port), "stats", "--json").stdout)
    assert mixed["byFramework"] == {"spring": len(expected), "express": 1}
    report = json.loads(
        inspector("-p", str(port), "stats", "--json", "--framework", "spring").stdout
    )
    assert report["sessions"] == len(expected)
    states: dict[str, int] = {}
    for e in expected:
        states[e.state] = states.get(e.state, 0) + 1
    assert report["byState"] == states
    assert report["byHost"]["container-1"] == sum(1 for e in expected if e.host == "container-1")
    assert report["principals"]["distinct"] == 1
    assert report["keys"]["principal-index"] == 1
    assert report["keys"]["expirations-zset"] == 1
    assert len(report["largest"]) <= 10
    human = inspector("-p", str(port), "stats").stdout.decode()
    assert f"{len(expected) + 1} sessions" in human
