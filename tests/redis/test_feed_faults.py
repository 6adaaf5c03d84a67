"""The feed under faults, against real servers: each test reproduces one fault of issue 14.

ACLs without pub/sub, late polling passes, a frozen server (SIGSTOP), a cluster
losing its seed node, a subscriber overflowing its output buffer, a restart
with an empty dataset. Intervals are small (constructor parameters) and every
wait is on a notice, bounded by the suite's deadline.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import socket
import threading
import time
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path

import pytest
import redis

from inspector.core.changes import EventSource, RequestEvent
from inspector.core.source import FeedMode, FeedNotice, NoticeKind, SessionsRead, SourceItem
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.settings import ConnectionSettings
from tests.cli_run import inspector
from tests.harness import (
    RedisServer,
    add_replica,
    fail_over,
    start_cluster,
    start_redis_server,
    stop_servers,
)
from tests.live_processes import DEADLINE, Running
from tests.spring_layouts import write_request

NOW = int(time.time() * 1000)

ELASTICACHE_READ_ONLY = "on ~* -@all +@read"
"""ElastiCache's documented read-only access string: no pub/sub at all."""
LEAST_PRIVILEGE = (
    "on ~* &__keyspace@0__:*sessions:* &__keyspace@0__:AIOHTTP_SESSION_* "
    "&__keyspace@0__:beaker_cache:* &__keyspace@0__:*django.contrib.sessions.* "
    "&__keyspace@0__:session:* &__keyspace@0__:micronaut:session:* "
    "&__keyspace@0__:spring:session:* &__keyspace@0__:sess:* "
    "&__keyspace@0__:PHPREDIS_SESSION:* &__keyspace@0__:PHPREDIS_CLUSTER_SESSION:* "
    "&__keyspace@0__:rack:session:* &__keyspace@0__:*_session_id:* "
    "&__keyspace@0__:starsessions.* &__keyspace@0__:sf_s* &__keyevent@0__:* -@all "
    "+@read -keys +@connection +info +subscribe +psubscribe +config|get "
    "+cluster|slots +cluster|shards +cluster|nodes +cluster|info +readonly"
)
"""README's least-privilege string (every read-only feature), word for word."""


class Items:
    """A running feed's items, read up to the notice or event a test waits for."""

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.seen: list[SourceItem] = []
        self._ahead: collections.deque[SourceItem] = collections.deque()
        self._items: AsyncGenerator[list[SourceItem], None] = feed.items()

    async def until(self, wanted: type | NoticeKind, needle: str = "") -> SourceItem:
        """The next item of this type (or notice of this kind) holding ``needle``."""
        async with asyncio.timeout(DEADLINE):
            while True:
                if not self._ahead:
                    self._ahead.extend(await anext(self._items))
                item = self._ahead.popleft()
                self.seen.append(item)
                if _matches(item, wanted, needle):
                    return item

    def notices(self, kind: NoticeKind) -> list[FeedNotice]:
        """Every notice of ``kind`` seen so far."""
        return [i for i in self.seen if isinstance(i, FeedNotice) and i.kind is kind]

    async def aclose(self) -> None:
        await self._items.aclose()


def _matches(item: SourceItem, wanted: type | NoticeKind, needle: str) -> bool:
    if isinstance(wanted, NoticeKind):
        return isinstance(item, FeedNotice) and item.kind is wanted and needle in item.message
    return isinstance(item, wanted) and needle in str(item)


def elasticache_like(directory: Path, *extra: str) -> RedisServer:
    """A server with ElastiCache's renames (CONFIG and KEYS gone) and two ACL users."""
    return start_redis_server(
        directory,
        "--rename-command", "CONFIG", "",
        "--rename-command", "KEYS", "",
        "--user", "readonly", *ELASTICACHE_READ_ONLY.split(), ">ro-secret",
        "--user", "inspector", *LEAST_PRIVILEGE.split(), ">least-secret",
        *extra,
    )  # fmt: skip


def as_user(server: RedisServer, user: str, password: str) -> list[str]:
    return ["-p", str(server.port), "--user", user, "-a", password]


def reads_work_as(user: list[str], sids: list[str]) -> None:
    """``ls``, ``show`` and ``stats`` as ``user`` (connection flags) see exactly ``sids``,
    without a NOPERM on the way."""
    listed = inspector(*user, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(json.loads(line)["id"] for line in listed.stdout.splitlines()) == sorted(sids)
    shown = inspector(*user, "show", sids[0], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == sids[0]
    stats = inspector(*user, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["sessions"] == len(sids)
    for result in (listed, shown, stats):
        assert b"NOPERM" not in result.stderr


# ---------------------------------------------------------------- 1: pub/sub refused


async def test_pubsub_refused_by_acl_falls_back_to_polling_with_one_line(tmp_path: Path) -> None:
    server = elasticache_like(tmp_path, "--notify-keyspace-events", "KEA")
    admin = redis.Redis(port=server.port)
    try:
        sid = str(uuid.uuid4())
        write_request(admin, sid, "container-1", created_ms=NOW)
        settings = ConnectionSettings(port=server.port, username="readonly", password="ro-secret")
        items = Items(ChangeFeed(settings, poll_interval=0.1))
        try:
            ready = await items.until(NoticeKind.READY)
            assert isinstance(ready, FeedNotice)
            assert "via polling every 0.1 s" in ready.message
            (why,) = items.notices(NoticeKind.HOWTO)  # one line, saying why
            assert "subscribing to keyspace notifications is refused" in why.message
            assert "no permissions to run the 'psubscribe' command" in why.message
            assert "+psubscribe &__keyspace@0__:*sessions:*" in why.message
            # The table has its sessions (the TUI's Sessions tab was empty).
            baseline = [i for i in items.seen if isinstance(i, SessionsRead) and i.baseline]
            assert [s.id for read in baseline for s in read.sessions] == [sid]
            write_request(admin, sid, "container-2", created_ms=NOW)
            event = await items.until(RequestEvent)
            assert isinstance(event, RequestEvent)
            assert (event.host, event.source) == ("container-2", EventSource.POLL)
            assert items.feed.mode is FeedMode.POLLING
        finally:
            await items.aclose()
    finally:
        admin.close()
        server.stop()


def test_least_privilege_acl_gives_every_feature_end_to_end(
    tmp_path: Path, running: Running
) -> None:
    readme = Path(__file__).parents[2] / "README.md"
    assert LEAST_PRIVILEGE in readme.read_text()  # documented word for word
    server = elasticache_like(tmp_path, "--notify-keyspace-events", "KEA")
    admin = redis.Redis(port=server.port)
    try:
        sids = [str(uuid.uuid4()) for _ in range(3)]
        for sid in sids:
            write_request(admin, sid, "container-1", created_ms=NOW)
        user = as_user(server, "inspector", "least-secret")
        reads_work_as(user, sids)
        watch = running.watch(user)
        watch.notice("listening as well")  # CONFIG is renamed away: probe by listening
        write_request(admin, sids[1], "container-2", created_ms=NOW)
        event = watch.line()
        assert (event["session"], event["host"]) == (sids[1], "container-2")
        watch.notice("now notifications")  # the subscription works for this user
        assert not any(
            "subscribing to keyspace notifications is refused" in n for n in watch.notices
        )
        # ElastiCache's read-only string: watch polls and says why, in one line.
        reader = running.watch(as_user(server, "readonly", "ro-secret"), "--poll", "0.2")
        why = reader.notice("refused")
        assert "polling" in why
        reader.notice("via polling")
        write_request(admin, sids[2], "container-2", created_ms=NOW)
        polled = reader.line()
        assert (polled["session"], polled["source"]) == (sids[2], "poll")
    finally:
        admin.close()
        server.stop()


def test_least_privilege_acl_on_an_elasticache_like_cluster(
    tmp_path: Path, running: Running
) -> None:
    """The same string on a 3-primary cluster (CONFIG and KEYS renamed on every node).

    Cluster mode adds the topology reads (``CLUSTER SLOTS``/``SHARDS``/``NODES``)
    and a subscriber per primary; every feature must still work as that user.
    """
    nodes = start_cluster(
        tmp_path,
        extra_args=(
            "--rename-command", "CONFIG", "",
            "--rename-command", "KEYS", "",
            "--user", "inspector", *LEAST_PRIVILEGE.split(), ">least-secret",
            "--notify-keyspace-events", "KEA",
        ),
    )  # fmt: skip
    admin = redis.RedisCluster(host="127.0.0.1", port=nodes[0].port)
    try:
        # Enough sessions that every primary holds some.
        sids = [str(uuid.uuid4()) for _ in range(12)]
        for sid in sids:
            write_request(admin, sid, "container-1", created_ms=NOW)
        owners = {admin.keyslot(f"spring:session:sessions:{sid}") * 3 // 16384 for sid in sids}
        assert len(owners) > 1
        user = as_user(nodes[1], "inspector", "least-secret")
        reads_work_as(user, sids)
        watch = running.watch(user)
        watch.notice("listening as well")  # CONFIG is renamed away: probe by listening
        write_request(admin, sids[1], "container-2", created_ms=NOW)
        event = watch.line()
        assert (event["session"], event["host"]) == (sids[1], "container-2")
        watch.notice("now notifications")  # subscribed on the primaries, as this user
        for sid in sids[2:6]:  # keys of more than one primary: each node's subscription
            write_request(admin, sid, "container-3", created_ms=NOW)
            event = watch.line()
            assert (event["session"], event["host"], event["source"]) == (
                sid, "container-3", "notification",
            )  # fmt: skip
        assert not any(
            "subscribing to keyspace notifications is refused" in n for n in watch.notices
        )
    finally:
        admin.close()
        stop_servers(nodes)


def _stop(server: RedisServer) -> None:
    server.process.send_signal(signal.SIGSTOP)


def _cont(server: RedisServer) -> None:
    server.process.send_signal(signal.SIGCONT)


# ---------------------------------------------------------------- 3: late polling passes


async def test_a_late_polling_pass_says_so_while_it_runs_and_stretches_nothing(
    tmp_path: Path,
) -> None:
    server = start_redis_server(tmp_path)  # notifications off: polling
    admin = redis.Redis(port=server.port)
    items = Items(ChangeFeed(ConnectionSettings(port=server.port), poll_interval=0.1))
    try:
        sid = str(uuid.uuid4())
        write_request(admin, sid, "container-1", created_ms=NOW)
        await items.until(NoticeKind.READY)
        _stop(server)
        try:
            late = await items.until(NoticeKind.STALE, "a polling pass has run for")
        finally:
            _cont(server)
        assert isinstance(late, FeedNotice)
        assert "last complete pass" in late.message
        caught_up = await items.until(NoticeKind.CURRENT, "polling caught up")
        assert caught_up.mode is FeedMode.POLLING  # type: ignore[union-attr]
        # The stall stretched nothing: the next request is found by the next pass.
        write_request(admin, sid, "container-2", created_ms=NOW)
        event = await items.until(RequestEvent)
        assert isinstance(event, RequestEvent)
        assert event.host == "container-2"
        assert not any("to spare the server" in n.message for n in items.notices(NoticeKind.MODE))
    finally:
        _cont(server)
        await items.aclose()
        admin.close()
        server.stop()


async def test_a_slow_pass_stretches_the_interval_and_it_comes_back_down(
    redis_clean: RedisServer,
) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    items = Items(ChangeFeed(ConnectionSettings(port=redis_clean.port), poll_interval=0.2))
    try:
        await items.until(NoticeKind.READY)
        # Slow, not stalled: shorter than a pass may take before it is late (0.5 s).
        admin.execute_command("CLIENT", "PAUSE", "400")
        stretched = await items.until(NoticeKind.MODE, "to spare the server")
        assert isinstance(stretched, FeedNotice)
        back = await items.until(NoticeKind.MODE, "polling passes are quick again")
        assert isinstance(back, FeedNotice)
        assert back.message.endswith("polling every 0.2 s")
    finally:
        await items.aclose()
        admin.close()


# ---------------------------------------------------------------- 3b: subscriber liveness


async def test_a_frozen_server_is_a_lost_subscriber_then_a_reconnect_with_a_gap(
    tmp_path: Path,
) -> None:
    server = start_redis_server(tmp_path, "--notify-keyspace-events", "KEA")
    admin = redis.Redis(port=server.port)
    settings = ConnectionSettings(port=server.port, connect_timeout=1.0)
    feed = ChangeFeed(settings, ping_interval=0.1, silence_timeout=1.0)
    items = Items(feed)
    try:
        sid = str(uuid.uuid4())
        await items.until(NoticeKind.READY, "via keyspace notifications")
        frozen_at = int(time.time() * 1000)
        _stop(server)
        try:
            lost = await items.until(NoticeKind.LOST)
        finally:
            _cont(server)
        assert isinstance(lost, FeedNotice)
        assert "no answer on the subscriber connection" in lost.message
        back = await items.until(NoticeKind.RECONNECTED)
        assert isinstance(back, FeedNotice)
        assert back.gap is not None
        assert back.gap[0] <= frozen_at + 200  # the gap starts where the link went quiet
        await items.until(NoticeKind.READY, "via keyspace notifications")
        write_request(admin, sid, "container-1", created_ms=NOW)
        event = await items.until(RequestEvent)
        assert isinstance(event, RequestEvent)
        assert (event.host, event.source) == ("container-1", EventSource.NOTIFICATION)
    finally:
        _cont(server)
        await items.aclose()
        admin.close()
        server.stop()


# ---------------------------------------------------------------- 6: pub/sub overflow


def _command(*parts: bytes) -> bytes:
    """One command in RESP, as redis-cli sends it."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def _flood(port: int, keys: list[bytes], stop: threading.Event) -> int:
    """Send HSETs to ``keys`` from a raw socket (replies off) until ``stop``.

    Raw bytes built once: the flood costs the test's process (and its GIL,
    which the feed under test shares) almost nothing, so the server, not
    Python, sets its pace and the subscriber surely falls behind.
    """
    batch = b"".join(
        _command(b"HSET", keys[i % len(keys)], b"lastAccessedTime", b"%d" % (NOW + i))
        for i in range(20_000)
    )
    started = int(time.time() * 1000)
    deadline = time.monotonic() + DEADLINE
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(_command(b"CLIENT", b"REPLY", b"OFF"))
        while not stop.is_set() and time.monotonic() < deadline:
            conn.sendall(batch)
    return started


# redis-py 8.2 leaves the StreamWriter of a connection Redis reset mid-PING to
# the collector (its disconnect(nowait=True) path), which warns "unclosed" from
# __del__ whenever the GC gets to it: not this code's leak, and not this test's.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*StreamWriter.__del__:pytest.PytestUnraisableExceptionWarning"
)
async def test_an_overflowed_subscriber_reports_the_whole_window_as_lost(tmp_path: Path) -> None:
    # Cut by the soft limit: over 256 kB for more than a second, not by bytes,
    # so the subscriber is a second or more behind when Redis closes it (a hard
    # limit alone may cut within the warning's 0.1 s on a fast server).
    server = start_redis_server(
        tmp_path,
        "--notify-keyspace-events", "KEA",
        "--client-output-buffer-limit", "pubsub 256mb 256kb 1",
    )  # fmt: skip
    admin = redis.Redis(port=server.port)
    sids = [str(uuid.uuid4()) for _ in range(200)]
    for sid in sids:
        write_request(admin, sid, "container-1", created_ms=NOW)
    feed = ChangeFeed(ConnectionSettings(port=server.port), ping_interval=0.05, lag_warning=0.1)
    items = Items(feed)
    stop = threading.Event()
    keys = [f"spring:session:sessions:{sid}".encode() for sid in sids]
    try:
        await items.until(NoticeKind.READY, "via keyspace notifications")
        # Redis queues a notification per write, faster than any subscriber
        # reads them, and closes it once it has been over the soft limit 1 s.
        flooding = asyncio.create_task(asyncio.to_thread(_flood, server.port, keys, stop))
        try:
            lost = await items.until(NoticeKind.LOST)
        finally:
            stop.set()
            flood_at = await flooding
        assert isinstance(lost, FeedNotice)
        # Warned while it fell behind, before Redis cut it.
        # (It may catch up and fall behind again: a warning each time.)
        warned, *_ = [
            n for n in items.notices(NoticeKind.STALE) if "behind the server" in n.message
        ]
        assert "Redis closes it and requests are lost" in warned.message
        assert (
            float(warned.message.split(" is ", 1)[1].split(" s ", 1)[0]) >= 0.1
        )  # measured (printed to 0.1 s)
        back = await items.until(NoticeKind.RECONNECTED)
        assert isinstance(back, FeedNotice)
        assert back.gap is not None
        # The window starts where the subscriber fell behind (its last prompt
        # PONG), during the flood and well before the cut, not at the reconnect.
        assert flood_at - 1000 <= back.gap[0] < lost.time_ms
        assert "are lost" in back.message
        assert "behind when its connection closed" in back.message
        # The catch-up counts what it re-read (sessions whose last write it missed).
        assert "changed sessions (0 new, " in back.message
        assert feed.stats.reconnects == 1
    finally:
        await items.aclose()
        admin.close()
        server.stop()


# ---------------------------------------------------------------- 7: restart, empty dataset


async def test_a_restart_with_an_empty_dataset_says_the_sessions_disappeared(
    tmp_path: Path,
) -> None:
    server = start_redis_server(tmp_path / "a", "--notify-keyspace-events", "KEA")
    port = server.port
    admin = redis.Redis(port=port)
    for _ in range(21):
        write_request(admin, str(uuid.uuid4()), "container-1", created_ms=NOW)
    admin.close()
    items = Items(ChangeFeed(ConnectionSettings(port=port, connect_timeout=1.0)))
    try:
        await items.until(NoticeKind.READY, "watching 21 sessions")
        server.process.kill()  # kill -9: nothing saved
        server.process.wait()
        await items.until(NoticeKind.LOST)
        server.stop()
        server = start_redis_server(tmp_path / "b", "--notify-keyspace-events", "KEA", port=port)
        back = await items.until(NoticeKind.RECONNECTED)
        assert isinstance(back, FeedNotice)
        assert "21 sessions disappeared (server restarted: run_id changed)" in back.message
        gone = [i for i in items.seen if isinstance(i, RequestEvent)]
        assert len(gone) == 21
    finally:
        await items.aclose()
        server.stop()


# ---------------------------------------------------------------- 4: the seed node dies


async def test_a_cluster_watch_survives_the_death_of_its_seed_node(tmp_path: Path) -> None:
    nodes = start_cluster(tmp_path / "cluster", primaries=3)
    seed = nodes[0]
    replica = add_replica(nodes, seed, tmp_path / "replica")
    everyone = [*nodes, replica]
    cluster: redis.RedisCluster | None = None
    try:
        for node in everyone:
            direct = redis.Redis(port=node.port)
            direct.config_set("notify-keyspace-events", "KEA")
            direct.close()
        feed = ChangeFeed(ConnectionSettings(port=seed.port), topology_interval=0.2)
        items = Items(feed)
        try:
            await items.until(NoticeKind.READY, "on 3 primaries via keyspace notifications")
            # The seed fails over to its replica, then dies.
            await asyncio.to_thread(fail_over, nodes, replica)
            seed.process.kill()
            seed.process.wait()
            await items.until(NoticeKind.READY, "on 3 primaries")  # re-subscribed elsewhere
            # Drop every subscriber: the reconnect cannot go through the seed.
            for node in (nodes[1], nodes[2], replica):
                direct = redis.Redis(port=node.port)
                direct.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
                direct.close()
            back = await items.until(NoticeKind.RECONNECTED)
            assert isinstance(back, FeedNotice)
            assert f":{seed.port}" not in back.message.split(";")[0]  # came in elsewhere
            await items.until(NoticeKind.READY, "on 3 primaries via keyspace notifications")
            cluster = redis.RedisCluster(host="127.0.0.1", port=nodes[1].port)
            sid = next(
                s
                for s in (str(uuid.uuid4()) for _ in range(10_000))
                if cluster.get_node_from_key(f"spring:session:sessions:{s}").port == replica.port
            )  # a session on the new primary
            write_request(cluster, sid, "container-1", created_ms=NOW)
            event = await items.until(RequestEvent, sid)
            assert isinstance(event, RequestEvent)
            assert event.source is EventSource.NOTIFICATION
        finally:
            await items.aclose()
    finally:
        if cluster is not None:
            cluster.close()
        stop_servers(everyone)


def test_watch_prints_the_age_of_its_data_while_a_pass_is_late(
    tmp_path: Path, running: Running
) -> None:
    server = start_redis_server(tmp_path)  # notifications off: polling
    admin = redis.Redis(port=server.port)
    try:
        sid = str(uuid.uuid4())
        watch = running.watch(["-p", str(server.port)], "--poll", "0.2")
        watch.notice("via polling every 0.2 s")
        _stop(server)
        try:
            late = watch.notice("a polling pass has run for")
        finally:
            _cont(server)
        assert "last complete pass" in late
        watch.notice("polling caught up")
        write_request(admin, sid, "container-1", created_ms=NOW)
        event = watch.line()
        assert (event["session"], event["source"]) == (sid, "poll")
    finally:
        _cont(server)
        admin.close()
        server.stop()
