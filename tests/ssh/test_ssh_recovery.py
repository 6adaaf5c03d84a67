"""A bastion that dies mid-watch: reported naming the SSH hop, reconnected with backoff, gap noticed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis

from inspector.core.source import FeedNotice, NoticeKind
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.settings import ConnectionSettings, SSHSettings
from inspector.redis_io.tunnel import tunnel_for
from tests.harness import RedisServer
from tests.redis.test_watch import NOW
from tests.spring_layouts import write_request
from tests.ssh.test_ssh_sessions import TunnelWatch, watch_env
from tests.sshd import Namespace, SSHServer, SSHUser, ssh_flags


@pytest.fixture
def notifying(netns: Namespace, inner_clean: RedisServer) -> RedisServer:
    def enable() -> None:
        with redis.Redis(**inner_clean.client_kwargs()) as client:  # type: ignore[arg-type]
            client.config_set("notify-keyspace-events", "KEA")

    netns.run(enable)
    return inner_clean


def request(server: RedisServer, sid: str, host: str) -> int:
    with redis.Redis(**server.client_kwargs()) as client:  # type: ignore[arg-type]
        return write_request(client, sid, host, created_ms=NOW)


@pytest.fixture
def watches() -> Iterator[list[TunnelWatch]]:
    started: list[TunnelWatch] = []
    yield started
    for watch in started:
        watch.kill()


def test_sshd_killed_and_restarted_during_watch(
    netns: Namespace,
    own_bastion: SSHServer,
    ssh_user: SSHUser,
    notifying: RedisServer,
    watches: list[TunnelWatch],
) -> None:
    flags = [*ssh_flags(own_bastion, ssh_user), "-h", "redis.internal", "-p", str(notifying.port)]
    watch = TunnelWatch(flags, watch_env(ssh_user))
    watches.append(watch)
    watch.notice("via keyspace notifications")
    sid = str(uuid.uuid4())
    netns.run(request, notifying, sid, "container-1")
    assert watch.event()["host"] == "container-1"

    watch.mark()
    own_bastion.kill()  # sshd and the connection it served: the SSH hop is gone
    lost = watch.notice("lost")
    # Which part sees it first is a race: the SSH connection's close, or (on a
    # busy machine) a new connection the feed opens meanwhile, which finds sshd
    # gone (refused) or dying under it (reset by peer).
    assert (
        f"SSH connection to bastion {own_bastion.address} lost" in lost
        or f"cannot reach SSH bastion {own_bastion.address}: connection refused" in lost
        or f"cannot reach SSH bastion {own_bastion.address}: connection reset by peer" in lost
    ), lost
    assert "reconnecting" in lost
    # Redis itself is fine: a request lands while the tunnel is down...
    netns.run(request, notifying, sid, "container-2")
    own_bastion.start()
    reconnected = watch.notice("reconnected to redis.internal")
    assert "may be missing" in reconnected
    # ...and the catch-up poll after the reconnect finds it.
    missed = watch.event()
    assert (missed["session"], missed["host"], missed["source"]) == (sid, "container-2", "poll")
    watch.notice("via keyspace notifications")  # subscribed again, through the new tunnel
    netns.run(request, notifying, sid, "container-1")
    again = watch.event()
    assert (again["host"], again["previousHost"], again["source"]) == (
        "container-1", "container-2", "notification"
    )  # fmt: skip
    code, err = watch.stop()
    assert code == 130
    assert b"Traceback" not in err
    assert own_bastion.starts == 2


async def test_feed_outage_notices_and_one_handshake_per_reconnect(
    monkeypatch: pytest.MonkeyPatch,
    netns: Namespace,
    own_bastion: SSHServer,
    ssh_user: SSHUser,
    notifying: RedisServer,
) -> None:
    # In process, the way the TUI runs the feed: one outage, one LOST and one
    # RECONNECTED notice with its gap, and the tunnel's SSH handshakes counted.
    monkeypatch.setenv("HOME", str(ssh_user.home))
    ssh = SSHSettings(
        host=netns.ns_addr, port=own_bastion.port, user="inspector", keys=(ssh_user.key,)
    )
    settings = ConnectionSettings(host="redis.internal", port=notifying.port, ssh=ssh)
    feed = ChangeFeed(settings)
    notices: list[FeedNotice] = []
    restarted = False

    async def run() -> None:
        nonlocal restarted
        async for batch in feed.items():
            for item in batch:
                if not isinstance(item, FeedNotice):
                    continue
                notices.append(item)
                if item.kind is NoticeKind.READY and not restarted:
                    await asyncio.to_thread(own_bastion.kill)
                elif item.kind is NoticeKind.LOST:
                    restarted = True
                    await asyncio.to_thread(own_bastion.start)
                elif item.kind is NoticeKind.RECONNECTED:
                    return

    await asyncio.wait_for(run(), 60)
    kinds = [notice.kind for notice in notices]
    assert kinds.count(NoticeKind.LOST) == 1
    assert kinds.count(NoticeKind.RECONNECTED) == 1
    reconnected = notices[-1]
    assert reconnected.gap is not None
    assert reconnected.gap[0] <= reconnected.gap[1]
    # However many connections the reconnect needed, they shared the handshakes.
    assert tunnel_for(ssh).connects == 2
