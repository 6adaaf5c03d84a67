"""SpringSessionStore on its own, with a fixed clock: accesses, minute sets and the
round trips an invalidation costs, against real redis-server."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import redis

from inspector.core.spring import expiration_bucket
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.pipeline import run_pipeline
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app import store as store_module
from inspector.sample_app.store import SpringSessionStore
from tests.harness import RedisServer


class Clock:
    """A clock the test moves by hand; it starts at the real time, to the second,
    because load() judges expiry by the real time of the read."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))
        self.start = self.now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def client(redis_clean: RedisServer) -> AsyncIterator[RedisClient]:
    opened = await open_client(ConnectionSettings(port=redis_clean.port))
    yield opened
    await opened.aclose()


@pytest.fixture
def data(redis_clean: RedisServer) -> redis.Redis:
    return redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]


@pytest.fixture
def pipelines(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[bytes, ...]]]:
    """Every pipeline the store sends (one round trip each), still sent for real."""
    sent: list[list[tuple[bytes, ...]]] = []

    async def recording(client: RedisClient, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
        sent.append(list(commands))
        return await run_pipeline(client, commands)

    monkeypatch.setattr(store_module, "run_pipeline", recording)
    return sent


def member(session_id: str) -> bytes:
    return json.dumps(f"expires:{session_id}").encode()


def minute_set(last_accessed_ms: int, interval: int) -> str:
    return f"spring:session:expirations:{expiration_bucket(last_accessed_ms, interval)}"


async def test_touch_uses_the_store_clock_and_moves_the_minute_set(
    client: RedisClient, data: redis.Redis
) -> None:
    clock = Clock()
    store = SpringSessionStore(client, clock=clock)
    session = store.create()
    await store.save(session)
    first = int(clock.start * 1000)
    assert data.smembers(minute_set(first, 1800)) == {member(session.id)}

    clock.now = clock.start + 600  # ten minutes later: another minute set
    loaded = await store.load(session.id)
    assert loaded is not None
    store.touch(loaded)
    await store.save(loaded)
    later = int(clock.now * 1000)
    key = f"spring:session:sessions:{session.id}"
    assert data.hget(key, "lastAccessedTime") == str(later).encode()
    assert data.smembers(minute_set(later, 1800)) == {member(session.id)}
    assert not data.exists(minute_set(first, 1800))  # its only member moved out


async def test_invalidation_is_one_round_trip_after_the_load(
    client: RedisClient, data: redis.Redis, pipelines: list[list[tuple[bytes, ...]]]
) -> None:
    clock = Clock()
    store = SpringSessionStore(client, clock=clock)
    session = store.create()
    await store.save(session)
    loaded = await store.load(session.id)
    assert loaded is not None
    pipelines.clear()
    await store.invalidate(loaded)
    assert len(pipelines) == 1
    names = [command[0] for command in pipelines[0]]
    assert b"SREM" in names
    assert b"HSET" in names
    last = int(clock.start * 1000)
    assert not data.exists(minute_set(last, 1800))
    assert data.smembers(minute_set(last, 0)) == {member(session.id)}
    assert not data.exists(f"spring:session:sessions:expires:{session.id}")
    assert data.hget(f"spring:session:sessions:{session.id}", "maxInactiveInterval") == b"0"


async def test_create_with_a_given_id(client: RedisClient, data: redis.Redis) -> None:
    clock = Clock()
    store = SpringSessionStore(client, clock=clock)
    session = store.create(session_id="e1237df7-5646-4382-aa12-41435ed09dc7")
    await store.save(session)
    loaded = await store.load("e1237df7-5646-4382-aa12-41435ed09dc7")
    assert loaded is not None
    assert loaded.creation_time == int(clock.start * 1000)


@pytest.mark.parametrize(
    "session_id", ["", "short", "a" * 129, "has:colon:inside", "expires:12345678", "sp ace12345"]
)
async def test_load_refuses_what_is_not_a_session_id(
    client: RedisClient, monkeypatch: pytest.MonkeyPatch, session_id: str
) -> None:
    async def unreachable(*args: object) -> list[Any]:
        raise AssertionError("a key was read for an id that is not one")

    monkeypatch.setattr(store_module, "read_raw_sessions", unreachable)
    assert await SpringSessionStore(client).load(session_id) is None
