"""Issue 14, items 10 and 11 against a real redis-server: values and metadata that
cannot be what they claim are shown as what they are, with a warning.

* Plain text that starts with ``[`` or ``{`` is text, not "undecodable: invalid JSON".
* ``maxInactiveInterval`` -1e20 or NaN, ``lastAccessedTime`` in year 9999 or -2^63:
  state ``unknown`` with a warning, never ``active`` / "0s ago".
* An invalidated session whose shadow key a racing request re-created (the sample
  app's store, two requests interleaved as Spring 2.x interleaves them) is flagged
  inconsistent by ``show`` and the detail screen's summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from inspector.core.render import session_summary
from inspector.core.session import Session
from inspector.redis_io.client import open_client
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.store import SpringSessionStore
from inspector.tui.widgets.session_table import cell_text
from tests.cli_run import inspector, inspector_in_process
from tests.factories import raw_session
from tests.harness import RedisServer

NS = "spring:session"
YEAR_9999_MS = 253_402_300_799_000


@pytest.fixture
def data(redis_clean: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    yield client
    client.close()


def _write(client: redis.Redis, session_id: str, **fields: bytes) -> None:
    now = int(time.time() * 1000)
    base = {
        "creationTime": str(now).encode(),
        "lastAccessedTime": str(now).encode(),
        "maxInactiveInterval": b"1800",
    }
    base.update({name.replace("__", ":"): value for name, value in fields.items()})
    key = f"{NS}:sessions:{session_id}"
    client.hset(key, mapping=base)  # type: ignore[arg-type]
    client.expire(key, 2100)


def _ls(port: int, *, in_process: bool = False) -> dict[str, dict[str, Any]]:
    """``ls --json``'s rows by id; *in_process* for the parametrized test's runs (read-only,
    repeated; not from an async test, whose loop is running)."""
    run = inspector_in_process if in_process else inspector
    result = run("-p", str(port), "ls", "--json")
    assert result.returncode == 0, result.stderr
    return {row["id"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_text_starting_with_a_bracket_is_text(redis_clean: RedisServer, data: redis.Redis) -> None:
    _write(
        data,
        "bracket-text-1",
        sessionAttr__log=b"[INFO] user logged in",
        sessionAttr__stamp=b"[2024-01-01 12:00] login",
        sessionAttr__cut=b'{"a": [1, 2',
    )
    shown = inspector("-p", str(redis_clean.port), "show", "bracket-text-1", "--json")
    assert shown.returncode == 0, shown.stderr
    attributes = json.loads(shown.stdout)["attributes"]
    assert attributes["log"]["format"] == "text"
    assert attributes["log"]["value"] == "[INFO] user logged in"
    assert attributes["stamp"]["format"] == "text"
    # Cut-off JSON is still what it is.
    assert attributes["cut"]["format"] == "undecodable"
    text = inspector("-p", str(redis_clean.port), "show", "bracket-text-1").stdout.decode()
    assert "invalid JSON" not in text.split("cut")[0]


@pytest.mark.parametrize(
    ("field", "value", "warning"),
    [
        ("maxInactiveInterval", b"-1e20", "outside the range of a Java int"),
        ("maxInactiveInterval", b"NaN", "not a whole number of seconds"),
        ("lastAccessedTime", str(YEAR_9999_MS).encode(), "days in the future"),
        ("lastAccessedTime", str(-(1 << 63)).encode(), "before 1970"),
    ],
)
def test_absurd_metadata_is_shown_with_a_warning(
    redis_clean: RedisServer, data: redis.Redis, field: str, value: bytes, warning: str
) -> None:
    _write(data, "absurd-meta-1", **{field: value})
    # In process: 4 cases x 3 read-only commands; the other tests run the real process.
    listed = _ls(redis_clean.port, in_process=True)["absurd-meta-1"]
    assert listed["state"] == "unknown"
    assert any(warning in text for text in listed["warnings"])
    assert listed["expiresAt"] is None
    shown = inspector_in_process("-p", str(redis_clean.port), "show", "absurd-meta-1")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.decode()
    assert "[unknown]" in text
    assert "[active]" not in text
    assert f"warning: {field} is" in text
    line = inspector_in_process("-p", str(redis_clean.port), "ls").stdout.decode()
    assert "unknown" in line
    assert "active" not in line


def test_a_future_access_is_not_zero_seconds_ago() -> None:
    from inspector.tui.store import Row

    now = int(time.time() * 1000)
    row = Row(
        key=f"{NS}:sessions:x", namespace=NS, host=None, principal=None, created=now,
        last_access=YEAR_9999_MS, expires_at=None, hash_ttl_ms=-1, observed_at=now,
        attributes=0, state="unknown", search="", order=0,
    )  # fmt: skip
    assert cell_text(row, "last", now) == "future"


async def test_invalidation_raced_by_a_request_is_flagged(
    redis_clean: RedisServer, data: redis.Redis
) -> None:
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        store = SpringSessionStore(client)
        created = store.create()
        await store.save(created)
        # Two requests load the session; one invalidates it, the other, which
        # loaded it before the invalidation, saves after it (Spring 2.x's race).
        racing = await store.load(created.id)
        invalidating = await store.load(created.id)
        assert racing is not None
        assert invalidating is not None
        await store.invalidate(invalidating)
        store.touch(racing)
        await store.save(racing)
    finally:
        await client.aclose()
    assert data.exists(f"{NS}:sessions:expires:{created.id}")
    listed = _ls(redis_clean.port)[created.id]
    assert listed["state"] == "invalidated"
    assert any("inconsistent" in text for text in listed["warnings"])
    shown = inspector("-p", str(redis_clean.port), "show", created.id).stdout.decode()
    assert "warning: inconsistent: invalidated" in shown
    # The detail screen shows the same summary block.
    stored: dict[bytes, bytes] = data.hgetall(f"{NS}:sessions:{created.id}")  # type: ignore[assignment]
    raw = raw_session(
        created.id, {k.decode(): v for k, v in stored.items()}, namespace=NS,
        hash_ttl_ms=int(data.pttl(f"{NS}:sessions:{created.id}")),
        shadow_ttl_ms=int(data.pttl(f"{NS}:sessions:expires:{created.id}")),
        observed_at_ms=int(time.time() * 1000),
    )  # fmt: skip
    assert any("inconsistent" in line for line in session_summary(Session.from_raw(raw)))


async def test_a_clean_invalidation_is_not_flagged(
    redis_clean: RedisServer, data: redis.Redis
) -> None:
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        store = SpringSessionStore(client)
        created = store.create()
        await store.save(created)
        loaded = await store.load(created.id)
        assert loaded is not None
        await store.invalidate(loaded)
    finally:
        await client.aclose()
    listed = _ls(redis_clean.port)[created.id]
    assert (listed["state"], listed["warnings"]) == ("invalidated", [])
