"""Every framework's real sessions (tests/data/frameworks) on a real redis-server, standalone
and cluster: `ls`, `show` (by key, id and the browser's cookie) and `stats` list them in the
same SCAN pass as Spring's, with framework, id, TTL, host and principal, and say what they
passed over or could not read."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.cli_run import inspector, inspector_in_process
from tests.frameworks_oracle import FRAMEWORKS, host_of, manifest_entries, principal_of, shown_as
from tests.harness import RedisServer, emptied

ENTRIES = manifest_entries()
UNRELATED = 37


def write_fixtures(client: redis.Redis | redis.RedisCluster) -> None:
    for entry in ENTRIES:
        # The framework's bytes, with the TTL it set (PTTL at capture).
        client.set(entry["key"], (FRAMEWORKS / entry["path"]).read_bytes(), px=entry["ttlMs"])
    for index in range(UNRELATED):
        client.set(f"cache:page:{index}", b"<html>")
    # Named like sessions, but not readable as one: a hash where express keeps strings,
    # and a string whose bytes fit no framework sharing the `session:` prefix.
    client.hset("sess:AAAAAAAAAAAAAAAAAAAAAAAA", mapping={"a": b"1"})
    client.set("session:BBBBBBBBBBBBBBBBBBBBBBBB", b"\x00\x01not a session")


@pytest.fixture
def store(standalone_or_cluster: RedisServer | list[RedisServer]) -> Iterator[int]:
    """Every fixture written to a fresh server; yields the port to connect to."""
    client, port = emptied(standalone_or_cluster)
    try:
        write_fixtures(client)
        yield port
    finally:
        client.close()


def ls_json(port: int, *flags: str) -> tuple[dict[str, dict[str, Any]], str]:
    result = inspector("-p", str(port), "ls", "--json", *flags)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {row["key"]: row for row in rows}, result.stderr.decode()


def test_ls_lists_every_framework_in_one_pass(store: int) -> None:
    rows, stderr = ls_json(store)
    assert set(rows) == {e["key"] for e in ENTRIES}
    for entry in ENTRIES:
        row = rows[entry["key"]]
        framework = entry["framework"]
        assert row["framework"] == framework
        assert row["id"] == entry["sessionId"]
        assert 0 < row["ttl"] <= (entry["ttlMs"] + 999) // 1000
        assert row["host"] == host_of(framework)
        assert row["principal"] == principal_of(framework)
        assert row["state"] in ("active", "expired")
        assert set(entry["readBack"]) <= set(row["attributeNames"]) | set(row["bookkeepingNames"])
        if "variant" in entry:
            assert row["variant"] == entry["variant"]
    # Never silent: what was passed over, and what looked like a session but was not.
    assert f"passed over {UNRELATED} keys matching no session store" in stderr
    assert "named like express sessions could not be listed (not a string)" in stderr
    assert "sess:AAAAAAAAAAAAAAAAAAAAAAAA" in stderr
    assert "session:BBBBBBBBBBBBBBBBBBBBBBBB" in stderr


def test_ls_human_and_framework_filter(store: int) -> None:
    human = inspector("-p", str(store), "ls")
    lines = human.stdout.decode().splitlines()
    assert len(lines) == len(ENTRIES)
    assert sum(" php (" in line for line in lines) == 5
    php, _ = ls_json(store, "--framework", "php")
    assert {row["framework"] for row in php.values()} == {"php"}
    assert len(php) == 5
    # --host-field names the attribute for every framework too.
    by_field, _ = ls_json(store, "--framework", "php", "--host-field", "username")
    assert {(row["host"], row["hostSource"]) for row in by_field.values()} == {
        ("alice", "username")
    }
    ruby, stderr = ls_json(store, "--framework", "redis-rack", "--framework", "rails-cache")
    assert {row["framework"] for row in ruby.values()} == {"redis-rack", "rails-cache"}
    # The other frameworks' keys are now keys of no store in use.
    assert "passed over" in stderr
    wrong = inspector("-p", str(store), "ls", "--framework", "nodejs")
    assert wrong.returncode == 2
    assert "unknown framework nodejs" in wrong.stderr.decode()
    assert wrong.stderr.decode().count("\n") == 1


def cookie_forms(entry: dict[str, Any]) -> list[str]:
    """What a user may have in hand: the cookie as the browser holds it, its value, the
    key, the id."""
    cookie = entry["cookie"]
    forms = [cookie, entry["key"], entry["sessionId"]]
    if "=" in cookie and entry["framework"] not in ("express", "fastify"):
        forms.append(cookie.split("=", 1)[1])
    if "publicId" in entry:
        forms.append(entry["publicId"])
    return forms


def test_show_by_cookie_key_or_id(store: int) -> None:
    # In process: 45 forms x 2 servers were 90 subprocesses (~45 s of the suite, each
    # run mostly redis-py's import); the other tests here run the real command.
    for entry in ENTRIES:
        for form in cookie_forms(entry):
            result = inspector_in_process("-p", str(store), "show", "--json", "--", form)
            assert result.returncode == 0, (form, result.stderr)
            shown = json.loads(result.stdout)
            assert shown["key"] == entry["key"], form
            assert shown["framework"] == entry["framework"]
        values = {**shown["attributes"], **shown["bookkeeping"]}
        for name, expected in entry["readBack"].items():
            assert shown_as(expected, values[name]["value"]), (entry["name"], name)


def test_show_human_keeps_bookkeeping_apart(store: int) -> None:
    (express,) = [e for e in ENTRIES if e["framework"] == "express"]
    result = inspector("-p", str(store), "show", express["cookie"])
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert f"Session {express['sessionId']}  [" in text
    assert "framework     express" in text
    assert "host          node-web-1  (from server.hostname)" in text
    assert "principal     alice  (from passport.user)" in text
    assert "ünï 😀 日本" in text
    own = text.index("express's own entries:")
    assert text.index("cookie  —", own) > own
    assert "Traceback" not in result.stderr.decode()
    missing = inspector("-p", str(store), "show", "PHPSESSID=nosuchsession0000000000")
    assert missing.returncode == 1
    assert "no session PHPSESSID=nosuchsession0000000000" in missing.stderr.decode()


def test_stats_per_framework(store: int) -> None:
    result = inspector("-p", str(store), "stats", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["byFramework"] == dict(Counter(e["framework"] for e in ENTRIES))
    assert report["sessions"] == len(ENTRIES)
    assert report["notSessionKeys"] == UNRELATED
    assert report["unreadable"]["express"]["keys"] == 1
    assert report["byHost"]["php-web-1"] == 6
    human = inspector("-p", str(store), "stats").stdout.decode()
    assert "by framework:" in human
    assert f"{len(ENTRIES)} sessions" in human


def test_nothing_found_is_said(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    for index in range(12):
        client.set(f"user:{index}", b"x")
    client.close()
    result = inspector("-p", str(redis_clean.port), "ls")
    assert result.returncode == 0
    assert result.stdout == b""
    stderr = result.stderr.decode()
    assert "no sessions found (12 keys scanned)" in stderr
    assert "passed over 12 keys matching no session store" in stderr


def test_jvm_hash_stores_beside_spring(redis_clean: RedisServer) -> None:
    """Micronaut's and Redisson's hashes (their documented field layout around real JDK
    values, tests/data/jvm) beside a Spring session, in one pass."""
    import time
    import uuid

    from tests.spring_layouts import jdk_int, jdk_long, jvm_fixture, write_request

    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    now = int(time.time() * 1000)
    micronaut, redisson, spring = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    client.hset(
        f"micronaut:session:sessions:{micronaut}",
        mapping={
            "Creation-Time": str(now - 60_000).encode(),
            "Last-Accessed": str(now - 1_000).encode(),
            "Max-Inactive-Interval": b"1800",
            "attr:sample": jvm_fixture("sample_session"),
            "attr:host": b"\xac\xed\x00\x05t\x00\x05web-2",
        },
    )
    client.expire(f"micronaut:session:sessions:{micronaut}", 2100)
    client.set(f"micronaut:session:expiry:{micronaut}", b"1800", ex=1800)
    client.zadd("micronaut:session:active-sessions", {micronaut: now + 1_800_000})
    client.hset(
        f"spring:session:{redisson}",
        mapping={
            "session:creationTime": jdk_long(now - 60_000),
            "session:lastAccessedTime": jdk_long(now - 2_000),
            "session:maxInactiveInterval": jdk_int(1800),
            "session-attr:SPRING_SECURITY_CONTEXT": jvm_fixture("security_context"),
        },
    )
    write_request(client, spring, "container-1", now - 3_000, created_ms=now - 60_000)
    rows, stderr = ls_json(redis_clean.port)
    by_framework = {row["framework"]: row for row in rows.values()}
    assert set(by_framework) == {"micronaut", "redisson", "spring"}
    assert by_framework["micronaut"]["host"] == "web-2"
    assert by_framework["micronaut"]["state"] == "active"
    assert by_framework["micronaut"]["expiresAtMs"] == now - 1_000 + 1_800_000
    assert by_framework["redisson"]["principal"] is not None
    assert by_framework["spring"]["id"] == spring
    # The helper keys (expiry string, active-sessions set) are the framework's, not strangers.
    assert "passed over" not in stderr
    # Micronaut's store counts a session as expired once its expiry key is gone.
    client.delete(f"micronaut:session:expiry:{micronaut}")
    rows, _ = ls_json(redis_clean.port, "--framework", "micronaut")
    (row,) = rows.values()
    assert row["state"] == "expired"
    assert "expiry key gone" in " ".join(row["notes"])
    client.close()
