"""Which container served each request, by connection: both ECS network modes on one machine.

Sample apps run as real processes writing no host attribute; `watch
--attribute-by monitor` must name the container of every request.

* awsvpc-like: each app's Redis connections come from an address of its own,
  127.0.0.2 and 127.0.0.3 (``--source-address``; loopback routes all of
  127/8, so this needs no namespaces or root, runs in parallel and leaves
  nothing behind, and Redis sees exactly what it sees from two ECS tasks: a
  peer address each). Named through a ``--client-map`` and through
  /etc/hosts-style names (a hosts file bind-mounted over /etc/hosts for the
  watch process only, in a mount namespace of its own, so the real file is
  never touched and the system's own resolver answers).
* bridge-like: both apps connect from 127.0.0.1, told apart by client name.
* neither: the address itself.
* a cluster failing over while attributing; a user without ``+monitor``; the
  reader stopped until Redis closes it at its output buffer limit, or until it
  is far behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis

from inspector.core.attribution import AttributedRequest, Attributor, ContainerName, NameSource
from inspector.core.changes import EventSource, RequestEvent
from inspector.core.source import FeedNotice, NoticeKind
from inspector.redis_io.client import open_client
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.monitor import MonitorAttribution, attribute_items, hosts_file_resolver
from inspector.redis_io.settings import ConnectionSettings, TLSSettings
from inspector.sample_app.store import sample_session_json
from tests.harness import (
    RedisServer,
    TLSFiles,
    add_replica,
    fail_over,
    key_slot,
    slot_owner,
    start_cluster,
    start_redis_server,
    stop_servers,
)
from tests.live_processes import DEADLINE, App, Running, Watch

# Connections from 127.0.0.2/3 are not "local" to Redis' protected mode; the
# server still listens on 127.0.0.1 only.
OPEN = ("--protected-mode", "no", "--notify-keyspace-events", "KEA")


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis_server(tmp_path_factory.mktemp("attribution"), *OPEN)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(open_server: RedisServer) -> RedisServer:
    client = redis.Redis(**open_server.client_kwargs())  # type: ignore[arg-type]
    try:
        client.flushall()
        client.config_set("client-output-buffer-limit", "normal 0 0 0")
    finally:
        client.close()
    return open_server


def at(server: RedisServer) -> list[str]:
    return ["-p", str(server.port)]


def drive(
    watch: Watch, plan: Sequence[tuple[App, str, str]], cookie: str | None = None
) -> str | None:
    """Requests in order; each one's event must name its container, and how."""
    previous = None
    for app, host, via in plan:
        cookie = app.request(cookie)
        event = watch.line()
        assert (event["host"], event["via"]) == (host, via), (app.name, event, watch.notices)
        assert event["hostAttribute"] is None  # the apps write no host attribute
        assert event["hostDisagrees"] is False
        if previous is not None:
            assert event["previousHost"] == previous
        previous = host
    return cookie


def plain_apps(running: Running, connection: Sequence[str], *flags: str) -> tuple[App, App]:
    return (
        running.app(connection, "container-1", "--no-host-attribute", *flags),
        running.app(connection, "container-2", "--no-host-attribute", *flags),
    )


def awsvpc_apps(running: Running, server: RedisServer, *flags: str) -> tuple[App, App]:
    """Two "tasks" with an address each and no client name."""
    common = ("--no-host-attribute", "--no-client-name", *flags)
    return (
        running.app(at(server), "container-1", *common, "--source-address", "127.0.0.2"),
        running.app(at(server), "container-2", *common, "--source-address", "127.0.0.3"),
    )


# ----------------------------------------------------------------- the network modes


def test_awsvpc_task_addresses_named_by_a_client_map(
    server: RedisServer, running: Running, tmp_path: Path
) -> None:
    tasks = tmp_path / "tasks.map"
    tasks.write_text(
        "# task IP -> service/task\n127.0.0.2 sample-app/task-a\n127.0.0.3/32 task-b\n"
    )
    one, two = awsvpc_apps(running, server)
    watch = running.watch(at(server), "--attribute-by", "monitor", "--client-map", str(tasks))
    watch.ready()
    plan = [(one, "sample-app/task-a", "map"), (two, "task-b", "map")] * 3
    drive(watch, plan)


HOSTS = "127.0.0.1 localhost\n127.0.0.2 task-a.ecs.internal task-a\n127.0.0.3 task-b\n"
"""The two tasks' addresses by name (one with an alias), for a private /etc/hosts."""


def test_awsvpc_task_addresses_named_by_the_hosts_file(
    server: RedisServer, running: Running, tmp_path: Path
) -> None:
    # The watch process alone gets its own /etc/hosts: a private mount
    # namespace with a test file bind-mounted over it.
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS)
    wrapper = private_hosts(hosts)
    one, two = awsvpc_apps(running, server)
    watch = running.watch(at(server), "--attribute-by", "monitor", wrapper=wrapper)
    watch.ready()
    drive(watch, [(one, "task-a.ecs.internal", "dns"), (two, "task-b", "dns")] * 3)


def private_hosts(hosts: Path) -> list[str]:
    """A command prefix running its command with ``hosts`` as /etc/hosts (skips if impossible)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a private /etc/hosts")
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    wrapper = [unshare, "--mount", "--propagation", "private", "sh", "-c", script, str(hosts)]
    probe = subprocess.run([*wrapper, "cat", "/etc/hosts"], capture_output=True, check=False)
    if probe.returncode != 0 or probe.stdout != hosts.read_bytes():
        pytest.skip(f"cannot bind-mount a private /etc/hosts: {probe.stderr!r}")
    return wrapper


def test_bridge_mode_one_address_told_apart_by_client_name(
    server: RedisServer, running: Running
) -> None:
    one, two = plain_apps(running, at(server))  # client name: the container's name
    watch = running.watch(
        at(server), "--attribute-by", "monitor", "--summary", "3600", "--count", "6"
    )
    watch.ready()
    drive(watch, [(one, "container-1", "client-name"), (two, "container-2", "client-name")] * 3)
    summary = watch.line()
    assert summary["kind"] == "summary"
    assert (summary["requests"], summary["sessions"], summary["sessionsSwitched"]) == (6, 1, 1)
    assert summary["switches"] == 5
    containers = summary["containers"]
    assert isinstance(containers, list)
    assert [(c["name"], c["requests"], c["sessions"], c["via"]) for c in containers] == [
        ("container-1", 3, 1, "client-name"),
        ("container-2", 3, 1, "client-name"),
    ]
    paths = summary["paths"]
    assert isinstance(paths, list)
    assert [step for path in paths for step in path["path"]] == [
        ["container-1", 1],
        ["container-2", 1],
    ] * 3  # round-robin: a step per request


def test_without_names_the_address_is_shown(server: RedisServer, running: Running) -> None:
    one, two = awsvpc_apps(running, server)
    watch = running.watch(at(server), "--attribute-by", "monitor", "--no-dns")
    watch.ready()
    drive(watch, [(one, "127.0.0.2", "address"), (two, "127.0.0.3", "address")] * 2)


def test_names_set_after_monitor_started_and_a_disagreeing_host_attribute(
    server: RedisServer, running: Running
) -> None:
    # The watch comes first, the apps connect (and SETNAME) while MONITOR runs.
    # container-2 writes a host attribute that names another container.
    watch = running.watch(at(server), "--attribute-by", "monitor")
    watch.ready()
    one = running.app(at(server), "container-1", "--no-host-attribute", "--client-name", "web-1")
    two = running.app(at(server), "container-1", "--client-name", "web-2")  # a wrong --name
    cookie = drive(watch, [(one, "web-1", "client-name")])
    two.request(cookie)
    event = watch.line()
    assert (event["host"], event["via"], event["hostAttribute"], event["hostDisagrees"]) == (
        "web-2",
        "client-name",
        "container-1",
        True,
    )


def test_default_stays_the_host_attribute(server: RedisServer, running: Running) -> None:
    one = running.app(at(server), "container-1")
    watch = running.watch(at(server))
    watch.notice("watching")
    one.request(None)
    event = watch.line()
    assert (event["host"], event["via"], event["address"]) == ("container-1", "attribute", None)
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    try:
        assert all(c["cmd"] != "monitor" for c in client.client_list())
    finally:
        client.close()


# ----------------------------------------------------------------- refused, slow, behind


WATCHER, WATCHER_PASSWORD = "watcher", "watcherpass"
"""The least-privilege inspector user of :func:`start_server_without_monitor`."""


def start_server_without_monitor(directory: Path) -> RedisServer:
    """A server whose user :data:`WATCHER` may read, subscribe and SCAN, but not MONITOR."""
    return start_redis_server(
        directory,
        "--notify-keyspace-events", "KEA",
        # What a least-privilege inspector user gets: reads, pub/sub, no admin.
        "--user", WATCHER, "on", f">{WATCHER_PASSWORD}", "~*", "&*",
        "-@all", "+@read", "+@connection", "+@pubsub", "+info", "+scan",
        password="adminpass",
    )  # fmt: skip


def as_admin(server: RedisServer) -> list[str]:
    """The connection flags of the default user (the sample apps write as it)."""
    return ["-p", str(server.port), "-a", "adminpass", "--no-auth-warning"]


def test_a_user_without_monitor_gets_the_host_attribute_and_one_line(
    tmp_path: Path, running: Running
) -> None:
    server = start_server_without_monitor(tmp_path)
    try:
        app = running.app(as_admin(server), "container-1")  # this app does write its host
        watcher = ["-p", str(server.port), "--user", WATCHER, "-a", WATCHER_PASSWORD]
        watch = running.watch([*watcher, "--no-auth-warning"], "--attribute-by", "monitor")
        refused = watch.notice("MONITOR refused")
        assert "NOPERM" in refused
        assert "attributing requests by the session's host attribute instead" in refused
        watch.notice("watching")
        # One request at a time: two requests on one session before the feed
        # reads it coalesce into one event (by design), and on a busy machine
        # the second one's notifications can arrive before the first read.
        cookie: str | None = None
        for _ in range(2):
            cookie = app.request(cookie)
            event = watch.line()
            assert (event["host"], event["via"]) == ("container-1", "attribute")
        assert sum("MONITOR refused" in notice for notice in watch.notices) == 1
    finally:
        server.stop()


def test_redis_closing_a_slow_monitor_at_its_output_buffer_limit(
    server: RedisServer, running: Running
) -> None:
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    try:
        one, two = plain_apps(running, at(server))
        watch = running.watch(at(server), "--attribute-by", "monitor")
        watch.ready()
        cookie = drive(watch, [(one, "container-1", "client-name")])
        client.config_set("client-output-buffer-limit", "normal 1mb 0 0")
        os.kill(watch.process.pid, signal.SIGSTOP)  # the inspector stops reading
        try:
            filler = b"x" * 10_000
            while any(c["cmd"] == "monitor" for c in client.client_list()):
                pipe = client.pipeline(transaction=False)
                for i in range(500):
                    pipe.set(f"filler:{i}", filler)
                pipe.execute()
        finally:
            os.kill(watch.process.pid, signal.SIGCONT)
        client.config_set("client-output-buffer-limit", "normal 0 0 0")
        lost = watch.notice("closed the MONITOR connection")
        assert "output buffer limit" in lost
        watch.notice("MONITOR re-attached")
        drive(
            watch,
            [(two, "container-2", "client-name"), (one, "container-1", "client-name")],
            cookie,
        )
    finally:
        client.close()


def test_a_reader_far_behind_skips_lines_and_says_how_many(
    server: RedisServer, running: Running
) -> None:
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    try:
        one, two = plain_apps(running, at(server))
        watch = running.watch(at(server), "--attribute-by", "monitor")
        watch.ready()
        cookie = drive(watch, [(one, "container-1", "client-name")])
        os.kill(watch.process.pid, signal.SIGSTOP)
        try:
            pipe = client.pipeline(transaction=False)
            for i in range(10_000):  # more than one read's worth behind the first
                pipe.set(f"filler:{i}", b"x" * 100)
            pipe.execute()
            # What it reads next is older than the reader's 2 s limit: a
            # condition on the server's own clock, not a guess.
            written = server_time(client)
            while server_time(client) < written + 2.5:
                time.sleep(0.05)  # wait-on-condition poll interval
        finally:
            os.kill(watch.process.pid, signal.SIGCONT)
        behind = watch.notice("behind the server")
        assert "skipping lines to catch up" in behind
        caught_up = watch.notice("caught up")
        skipped = int(caught_up.split("caught up; ")[1].split(" lines")[0].replace(",", ""))
        assert skipped > 0
        drive(
            watch,
            [(two, "container-2", "client-name"), (one, "container-1", "client-name")],
            cookie,
        )
    finally:
        client.close()


def server_time(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return float(seconds) + micros / 1e6


# ----------------------------------------------------------------- cluster


@pytest.mark.slow
def test_cluster_failover_while_attributing(tmp_path: Path, running: Running) -> None:
    nodes = start_cluster(tmp_path / "cluster", extra_args=OPEN)
    replica: RedisServer | None = None
    try:
        primary = nodes[0]
        replica = add_replica(nodes, primary, tmp_path / "replica", extra_args=OPEN)
        everyone = [*nodes, replica]
        connection = ["-c", "-p", str(primary.port)]
        one, two = plain_apps(running, connection)
        watch = running.watch(connection, "--attribute-by", "monitor")
        assert "MONITOR on 3 primaries" in watch.notice("attributing requests by connection")
        watch.notice("watching")
        # A session whose hash lives on the primary that will fail over.
        for _ in range(60):
            cookie = one.request(None)
            event = watch.line()
            assert (event["host"], event["via"]) == ("container-1", "client-name")
            if slot_owner(nodes, key_slot(str(event["key"]))) is primary:
                break
        else:
            raise AssertionError("no session landed on the first primary")
        drive(
            watch,
            [(two, "container-2", "client-name"), (one, "container-1", "client-name")],
            cookie,
        )
        fail_over(everyone, replica)
        assert "MONITOR follows" in watch.notice("cluster primaries changed")
        watch.notice(f"MONITOR attached to {replica.address}, a new primary")
        # The feed checks the primaries every 10 s, then re-subscribes.
        watch.notice("reconnected", timeout=2 * DEADLINE)
        plan = [(two, "container-2", "client-name"), (one, "container-1", "client-name")] * 2
        drive(watch, plan, cookie)
        assert slot_owner(everyone, key_slot(str(event["key"]))) is replica
    finally:
        stop_servers([*nodes, *([replica] if replica else [])])


# ----------------------------------------------------------------- in process


async def test_back_to_back_writes_from_two_tasks_are_told_apart(
    server: RedisServer, tmp_path: Path
) -> None:
    """Two "tasks" write one session a moment apart, many times: every event names its writer.

    The feed may read between the two writes or after both; either way the
    event's lastAccessedTime says which write it shows. Names come from a
    hosts file through the resolver seam (no system resolver involved).
    """
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.2 task-a\n127.0.0.3 task-b\n")
    settings = ConnectionSettings(port=server.port)
    attributor = Attributor()
    writers = [
        await open_client(dataclasses.replace(settings, source_address=address))
        for address in ("127.0.0.2", "127.0.0.3")
    ]
    async with MonitorAttribution(
        settings, attributor, resolver=hosts_file_resolver(hosts)
    ) as monitor:
        assert await monitor.wait_attached()
        status = monitor.status()
        assert (status.attached, status.primaries, status.refused) == (
            (settings.endpoint,),
            1,
            False,
        )
        assert status.costs[0].percent > 0
        assert "capacity" in status.cost_summary
        feed = ChangeFeed(settings)
        items = attribute_items(feed.items(), attributor, monitor)
        try:
            async with asyncio.timeout(DEADLINE):
                async for batch in items:
                    if any(isinstance(i, FeedNotice) and i.kind is NoticeKind.READY for i in batch):
                        break
                key = "spring:session:sessions:0d6b1c53-1f56-4a3c-9bb5-222222222222"
                stamps = list(range(1_700_000_000_000, 1_700_000_000_040))
                for stamp in stamps:  # no waiting between the two writers
                    await writers[stamp % 2].hset(key, "lastAccessedTime", str(stamp))
                seen: dict[int, tuple[str | None, str | None]] = {}
                async for batch in items:
                    for item in batch:
                        if isinstance(item, AttributedRequest):
                            shown = item.event.last_accessed_time
                            assert shown is not None
                            name = item.container.name if item.container else None
                            seen[shown] = (name, item.via)
                    if stamps[-1] in seen:
                        break
        finally:
            await items.aclose()
            for writer in writers:
                await writer.aclose()
    assert seen  # coalesced or not, each event is its own writer's
    for stamp, (name, via) in seen.items():
        assert (name, via) == ("task-a" if stamp % 2 == 0 else "task-b", "dns"), stamp
    assert monitor.stats.writes >= len(stamps)
    assert monitor.stats.late_syncs == 0


async def test_attribution_by_connection_switches_off_and_on_while_the_stream_runs(
    server: RedisServer,
) -> None:
    """The TUI's toggle: one stream; MONITOR stopped means the host attribute answers."""
    settings = ConnectionSettings(port=server.port)
    attributor = Attributor()
    monitor = MonitorAttribution(settings, attributor, resolver=None)
    writer = await open_client(dataclasses.replace(settings, client_name="writer-a"))
    key = "spring:session:sessions:0d6b1c53-1f56-4a3c-9bb5-333333333333"
    stamps = iter(range(1_700_000_000_000, 1_700_000_001_000))

    async def request() -> AttributedRequest:
        stamp = next(stamps)
        attribute = sample_session_json("from-attribute", stamp)
        await writer.hset(
            key,
            mapping={
                "lastAccessedTime": str(stamp),
                "sessionAttr:scopedTarget.sampleSession": attribute,
            },
        )
        async for batch in items:
            for item in batch:
                if isinstance(item, AttributedRequest) and item.event.last_accessed_time == stamp:
                    return item
        raise AssertionError("the stream ended")

    await monitor.start()
    assert await monitor.wait_attached()
    items = attribute_items(ChangeFeed(settings).items(), attributor, monitor)
    try:
        async with asyncio.timeout(DEADLINE):
            async for batch in items:
                if any(isinstance(i, FeedNotice) and i.kind is NoticeKind.READY for i in batch):
                    break
            by_connection = await request()
            assert by_connection.container is not None
            assert (by_connection.container.name, by_connection.via) == ("writer-a", "client-name")
            assert by_connection.host_disagrees
            await monitor.aclose()
            by_attribute = await request()
            assert by_attribute.container == ContainerName("from-attribute", NameSource.ATTRIBUTE)
            assert by_attribute.previous is not None
            assert by_attribute.previous.name == "writer-a"
            await monitor.start()
            assert await monitor.wait_attached()
            again = await request()
            assert again.container is not None
            assert (again.container.name, again.via) == ("writer-a", "client-name")
    finally:
        await items.aclose()
        await monitor.aclose()
        await writer.aclose()


async def test_monitor_over_tls(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    """In-transit encryption (ElastiCache's): MONITOR reads through the TLS connection."""
    settings = ConnectionSettings(
        port=redis_tls.client_port, tls=TLSSettings(ca_cert=tls_files.ca_cert)
    )
    attributor = Attributor()
    writer = await open_client(dataclasses.replace(settings, client_name="tls-writer"))
    key = "spring:session:sessions:0d6b1c53-1f56-4a3c-9bb5-444444444444"
    try:
        async with MonitorAttribution(settings, attributor, resolver=None) as monitor:
            assert await monitor.wait_attached()
            await writer.hset(key, "lastAccessedTime", "1700000000000")
            event = RequestEvent(
                time_ms=0, key=key, session_id=key.rsplit(":", 1)[1], namespace="spring:session",
                host=None, previous_host=None, changed=(), last_accessed_time=1_700_000_000_000,
                source=EventSource.NOTIFICATION,
            )  # fmt: skip
            (attributed,) = await monitor.attribute([event])
    finally:
        await writer.aclose()
    assert attributed.container is not None
    assert (attributed.container.name, attributed.via) == ("tls-writer", "client-name")
