"""ChangeFeed in-process against real servers: outages, polling races, node handling."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
import redis

from inspector.core.changes import EventSource, RequestEvent
from inspector.core.source import FeedNotice, NoticeKind
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.discovery import scan_keys
from inspector.redis_io.feed import ChangeFeed, FeedItem
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.store import sample_session_json
from tests.harness import RedisServer

NAMESPACE = "spring:session"


def write_session(client: redis.Redis | redis.RedisCluster, sid: str) -> str:
    now = int(time.time() * 1000)
    key = f"{NAMESPACE}:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now).encode(),
        "lastAccessedTime": str(now).encode(),
        "maxInactiveInterval": b"1800",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json("container-1", now),
    })  # fmt: skip
    return key


async def next_notice(events: AsyncGenerator[FeedItem, None], kind: NoticeKind) -> FeedNotice:
    """The next notice of this kind, within 20 s."""
    async with asyncio.timeout(20):
        async for item in events:
            if isinstance(item, FeedNotice) and item.kind is kind:
                return item
    raise AssertionError("the feed ended")


async def test_every_outage_is_reported_with_its_own_gap(redis_clean: RedisServer) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    feed = ChangeFeed(ConnectionSettings(port=redis_clean.port), poll_interval=0.2)
    events = feed.events()
    try:
        await next_notice(events, NoticeKind.READY)
        gaps = []
        for _ in range(2):
            # Drop the feed's subscriber connection, as a server does with a
            # subscriber that overflows its output buffer.
            assert admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
            lost = await next_notice(events, NoticeKind.LOST)
            assert "lost" in lost.message
            reconnected = await next_notice(events, NoticeKind.RECONNECTED)
            assert reconnected.gap is not None
            gaps.append(reconnected.gap)
            await next_notice(events, NoticeKind.READY)
        # The second gap starts after the first outage ended, not at its start.
        assert gaps[1][0] >= gaps[0][1]
        assert feed.stats.reconnects == 2
    finally:
        await events.aclose()
        admin.close()


async def test_poll_pass_keeps_a_session_a_notification_added_behind_the_scan(
    redis_clean: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    kept, removed, created = (str(uuid.uuid4()) for _ in range(3))
    write_session(admin, kept)
    removed_key = write_session(admin, removed)
    feed = ChangeFeed(ConnectionSettings(port=redis_clean.port))
    client = await open_client(feed.settings)
    try:
        await feed._baseline(client)
        admin.delete(removed_key)
        created_key = write_session(admin, created)

        async def racing_scan(
            client: RedisClient, node: Any, *, match: str | None, count: int = 1000
        ) -> AsyncIterator[list[bytes]]:
            # The new session is created after SCAN passed its slot, and a
            # notification reads it while the pass is still running.
            async for keys in scan_keys(client, node, match=match, count=count):
                yield [key for key in keys if key != created_key.encode()]
            batch = [(created_key, NAMESPACE, created)]
            await feed._read_and_emit(client, batch, EventSource.NOTIFICATION)

        monkeypatch.setattr("inspector.redis_io.feed.scan_keys", racing_scan)
        await feed._poll_pass(client)
        events: list[RequestEvent] = []
        while not feed._out.empty():
            item = feed._out.get_nowait()
            if isinstance(item, RequestEvent):  # sessions read are reported too
                events.append(item)
        kinds = {(event.session_id, event.kind.value) for event in events}
        assert kinds == {(created, "created"), (removed, "destroyed")}
        assert f"{NAMESPACE}:sessions:{kept}" in feed._known
        assert created_key in feed._known
    finally:
        await client.aclose()
        admin.close()


async def test_standalone_feed_uses_one_client(
    redis_clean: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[bool] = []

    async def counting_open(settings: ConnectionSettings, **kwargs: Any) -> RedisClient:
        opened.append(bool(kwargs.get("single_node")))
        return await open_client(settings, **kwargs)

    monkeypatch.setattr("inspector.redis_io.feed.open_client", counting_open)
    configure = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    configure.config_set("notify-keyspace-events", "KEA")
    configure.close()
    feed = ChangeFeed(ConnectionSettings(port=redis_clean.port))
    events = feed.events()
    try:
        ready = await next_notice(events, NoticeKind.READY)
        assert "via keyspace notifications" in ready.message
        assert opened == [False]
    finally:
        await events.aclose()


async def test_enable_notifications_leaves_usable_nodes_alone(
    redis_cluster: list[RedisServer],
) -> None:
    directs = [redis.Redis(**node.client_kwargs()) for node in redis_cluster]  # type: ignore[arg-type]
    for direct, flags in zip(directs, ["KEA", "", "Egx"], strict=True):
        direct.config_set("notify-keyspace-events", flags)
    feed = ChangeFeed(ConnectionSettings(port=redis_cluster[0].port), enable_notifications=True)
    events = feed.events()
    changed: list[str] = []
    try:
        async with asyncio.timeout(20):
            async for item in events:
                if not isinstance(item, FeedNotice):
                    continue
                if "as --enable-notifications asked" in item.message:
                    changed.append(item.message)
                if item.kind is NoticeKind.READY:
                    break
        assert len(changed) == 2
        assert not any(f":{redis_cluster[0].port} " in message for message in changed)
        untouched = str(directs[0].config_get("notify-keyspace-events")["notify-keyspace-events"])
        assert sorted(untouched) == sorted("AKE")  # Redis spells KEA as AKE
        for direct in directs[1:]:
            value = str(direct.config_get("notify-keyspace-events")["notify-keyspace-events"])
            assert "K" in value
            assert "h" in value
    finally:
        await events.aclose()
        for direct in directs:  # the cluster is shared with later tests
            direct.config_set("notify-keyspace-events", "")
            direct.close()
