"""ChangeFeed in-process against real servers: outages, polling races, node handling."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from inspector.core.changes import EventSource, RequestEvent, notify_flags_support
from inspector.core.source import FeedHealth, FeedMode, FeedNotice, NoticeKind
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.discovery import scan_keys
from inspector.redis_io.feed import ChangeFeed, FeedItem
from inspector.redis_io.feed.listener import NodeListener
from inspector.redis_io.feed.mode import choose_mode, subscriptions
from inspector.redis_io.feed.poller import Poller
from inspector.redis_io.feed.report import Reporter
from inspector.redis_io.feed.tracker import SessionTracker
from inspector.redis_io.settings import ConnectionSettings
from tests.harness import RedisServer
from tests.live_processes import DEADLINE
from tests.spring_layouts import write_session_hash

NAMESPACE = "spring:session"


async def next_notice(events: AsyncGenerator[FeedItem, None], kind: NoticeKind) -> FeedNotice:
    """The next notice of this kind, within the suite's deadline."""
    async with asyncio.timeout(DEADLINE):
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
        gaps, lost_at = [], []
        for _ in range(2):
            # Drop the feed's subscriber connection, as a server does with a
            # subscriber that overflows its output buffer.
            assert admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub") >= 1
            lost = await next_notice(events, NoticeKind.LOST)
            assert "lost" in lost.message
            lost_at.append(lost.time_ms)
            reconnected = await next_notice(events, NoticeKind.RECONNECTED)
            assert reconnected.gap is not None
            gaps.append(reconnected.gap)
            await next_notice(events, NoticeKind.READY)
        # The second gap starts after the first outage, not at its start: where the
        # new subscriber was last known in sync, which may be a PING sent while
        # the first catch-up poll ran, a moment before that gap's end (stress: 1 ms).
        assert gaps[1][0] > gaps[0][0]
        assert gaps[1][0] >= lost_at[0]
        assert feed.stats.reconnects == 2
    finally:
        await events.aclose()
        admin.close()


async def test_poll_pass_keeps_a_session_a_notification_added_behind_the_scan(
    redis_clean: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    kept, removed, created = (str(uuid.uuid4()) for _ in range(3))
    write_session_hash(admin, kept)
    removed_key = write_session_hash(admin, removed)
    reporter = Reporter()
    tracker = SessionTracker(reporter, namespace=None, host_field=None)
    poller = Poller(tracker, interval=1.0)
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        await tracker.baseline(client)
        admin.delete(removed_key)
        created_key = write_session_hash(admin, created)

        async def racing_scan(
            client: RedisClient, node: Any, *, match: str | None, count: int = 1000
        ) -> AsyncIterator[list[bytes]]:
            # The new session is created after SCAN passed its slot, and a
            # notification reads it while the pass is still running.
            async for keys in scan_keys(client, node, match=match, count=count):
                yield [key for key in keys if key != created_key.encode()]
            batch = [(created_key, NAMESPACE, created)]
            await tracker.reread(client, batch, EventSource.NOTIFICATION)

        monkeypatch.setattr("inspector.redis_io.feed.poller.scan_keys", racing_scan)
        changes = await poller.run_pass(client)
        events = [item for item in await reporter.batch() if isinstance(item, RequestEvent)]
        kinds = {(event.session_id, event.kind.value) for event in events}
        assert kinds == {(created, "created"), (removed, "destroyed")}
        # The pass itself found one session gone; the creation was the notification's.
        assert (changes.created, changes.changed, changes.gone) == (0, 0, 1)
        assert f"{NAMESPACE}:sessions:{kept}" in tracker
        assert created_key in tracker
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

    monkeypatch.setattr("inspector.redis_io.feed.recovery.open_client", counting_open)
    monkeypatch.setattr("inspector.redis_io.feed.supervisor.open_client", counting_open)
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
        async with asyncio.timeout(DEADLINE):
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


@pytest.mark.parametrize(
    ("flags", "refused", "mode", "says"),
    [
        (["KEA", "Kh"], None, FeedMode.NOTIFICATIONS, None),
        (["KEA", "Egx"], None, FeedMode.POLLING, "'Egx': no h"),
        (["KEA", None], None, FeedMode.PROBING, "CONFIG is refused"),
        (["KEA"], "NOPERM no permissions", FeedMode.POLLING, "subscribing to keyspace"),
    ],
)
def test_mode_choice_and_its_explanation(
    flags: list[str | None], refused: str | None, mode: FeedMode, says: str | None
) -> None:
    supports = [None if flag is None else notify_flags_support(flag) for flag in flags]
    choice = choose_mode(supports, subscribe_refused=refused)
    assert choice.mode is mode
    assert choice.listen is (refused is None)
    if says is None:
        assert choice.explanation is None
    else:
        assert choice.explanation is not None
        assert says in choice.explanation


async def test_listener_delivers_notifications_and_measures_its_lag(
    redis_clean: RedisServer,
) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    admin.config_set("notify-keyspace-events", "Kh")
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    reporter = Reporter()
    heard: asyncio.Queue[tuple[bytes, bytes]] = asyncio.Queue()
    assert isinstance(client, Redis)
    listener = NodeListener(
        client,
        "here",
        reporter,
        lambda key, event: heard.put_nowait((key, event)),
        ping_interval=0.05,
        silence_timeout=DEADLINE,
        lag_warning=DEADLINE,
    )
    patterns, channels = subscriptions(
        notify_flags_support("Kh"), FeedMode.NOTIFICATIONS, db=0, namespace=NAMESPACE
    )
    await listener.subscribe(patterns, channels)
    running = asyncio.create_task(listener.run())
    try:
        key = write_session_hash(admin, str(uuid.uuid4()))
        async with asyncio.timeout(DEADLINE):
            assert await heard.get() == (key.encode(), b"hset")
            synced = listener.in_sync_ms
            # Until a PONG comes back and moves the sync point: lag measured.
            while listener.in_sync_ms == synced:  # noqa: ASYNC110 (a public counter, no event)
                await asyncio.sleep(0.05)  # wait-on-condition poll interval
        assert 0 <= listener.lag_ms < DEADLINE * 1000
        # Each PONG is reported as the feed's health: the Server tab's live figure.
        reported = [i for i in await reporter.batch() if isinstance(i, FeedHealth)]
        assert reported
        assert reported[-1].subscriber_lag_ms is not None
        assert 0 <= reported[-1].subscriber_lag_ms < DEADLINE * 1000
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await listener.aclose()
        await client.aclose()
        admin.close()
