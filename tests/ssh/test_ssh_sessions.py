"""Every session command through the bastion: ls, show, stats, watch, the TUI, the demo."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator, Sequence

import pytest
import redis

from inspector.redis_io.settings import ConnectionSettings, SSHSettings
from inspector.sample_app.demo import DemoOptions, running_demo
from inspector.tui.app import AppOptions, make_app
from inspector.tui.panes.server import ServerPane
from tests.cli_run import ENDPOINT_VARIABLES, inspector
from tests.harness import RedisServer
from tests.redis.test_watch import NOW, Watch
from tests.spring_layouts import write_request
from tests.ssh.conftest import NODE_NAMES
from tests.sshd import USER_PASSWORD, Namespace, SSHServer, SSHUser, ssh_flags
from tests.tmux import Tmux
from tests.tui_helpers import WAIT_SECONDS, wait_until
from tests.waiting import poll_until

SESSIONS = 30


def cluster_client(nodes: Sequence[RedisServer]) -> redis.RedisCluster:
    """A cluster client inside the namespace: node names map back to its loopback."""
    return redis.RedisCluster(
        host="127.0.0.1",
        port=nodes[0].port,
        address_remap=lambda address: ("127.0.0.1", address[1]),
    )


def _reset_cluster(nodes: Sequence[RedisServer], notify: str) -> None:
    for node in nodes:
        with redis.Redis(**node.client_kwargs()) as client:  # type: ignore[arg-type]
            client.flushall()
            client.config_set("notify-keyspace-events", notify)


def _sessions_by_primary(nodes: Sequence[RedisServer], count: int) -> dict[str, int]:
    """Write ``count`` sessions; returns session id -> port of the primary holding its hash."""
    placed: dict[str, int] = {}
    with cluster_client(nodes) as client:
        while len(placed) < count or len(set(placed.values())) < len(nodes):
            sid = str(uuid.uuid4())
            write_request(client, sid, f"container-{len(placed) % 2 + 1}", created_ms=NOW)
            node = client.get_node_from_key(f"spring:session:sessions:{sid}")
            placed[sid] = int(node.port)
    return placed


@pytest.fixture
def cluster_sessions(
    netns: Namespace, inner_cluster: list[RedisServer]
) -> Iterator[dict[str, int]]:
    netns.run(_reset_cluster, inner_cluster, "")
    yield netns.run(_sessions_by_primary, inner_cluster, SESSIONS)
    netns.run(_reset_cluster, inner_cluster, "")


def cluster_entry(nodes: Sequence[RedisServer]) -> list[str]:
    return ["-h", NODE_NAMES[0], "-p", str(nodes[0].port)]


def test_ls_show_stats_on_the_cluster(
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_cluster: list[RedisServer],
    cluster_sessions: dict[str, int],
) -> None:
    flags = [*ssh_flags(bastion, ssh_user), *cluster_entry(inner_cluster)]
    mark = bastion.mark()
    listed = inspector(*flags, "ls", "--json", env=ssh_user.env())
    assert (listed.returncode, listed.stderr) == (0, b"")
    found = {json.loads(line)["id"] for line in listed.stdout.splitlines()}
    assert found == set(cluster_sessions)
    assert len(set(cluster_sessions.values())) == 3  # spread over every primary
    # Per-primary SCAN went to every node, each through its own channel.
    assert bastion.forwarded(mark) == {
        f"{name}:{node.port}" for name, node in zip(NODE_NAMES, inner_cluster, strict=True)
    }
    sid = next(iter(cluster_sessions))
    shown = inspector(*flags, "show", sid, "--json", env=ssh_user.env())
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["id"] == sid
    stats = inspector(*flags, "stats", "--json", env=ssh_user.env())
    assert stats.returncode == 0
    assert json.loads(stats.stdout)["sessions"] == SESSIONS


class TunnelWatch(Watch):
    """`watch --json` through the bastion (the reading helpers are test_watch's)."""

    def __init__(self, flags: Sequence[str], env: dict[str, str], *extra: str) -> None:
        self._start(flags, env, *extra)


@pytest.fixture
def tunnel_watches() -> Iterator[list[TunnelWatch]]:
    started: list[TunnelWatch] = []
    yield started
    for watch in started:
        watch.kill()


def watch_env(user: SSHUser) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env.update(user.env())
    return env


def test_watch_sees_requests_on_all_three_primaries(
    netns: Namespace,
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_cluster: list[RedisServer],
    tunnel_watches: list[TunnelWatch],
) -> None:
    netns.run(_reset_cluster, inner_cluster, "KEA")
    try:
        owners = netns.run(_sessions_by_primary, inner_cluster, 3)
        one_each = {port: sid for sid, port in owners.items()}  # a session per primary
        watch = TunnelWatch(
            [*ssh_flags(bastion, ssh_user), *cluster_entry(inner_cluster)], watch_env(ssh_user)
        )
        tunnel_watches.append(watch)
        watch.notice("on 3 primaries via keyspace notifications")

        def request(sid: str, host: str) -> None:
            with cluster_client(inner_cluster) as client:
                write_request(client, sid, host, created_ms=NOW)

        for port, sid in one_each.items():
            netns.run(request, sid, "container-9")
            event = watch.event()
            while event["session"] != sid or event["host"] != "container-9":
                event = watch.event()  # the baseline's own reads come first
            assert event["source"] == "notification", (port, event)
        code, err = watch.stop()
        assert code == 130
        assert b"Traceback" not in err
    finally:
        netns.run(_reset_cluster, inner_cluster, "")


def _session_settings(
    bastion: SSHServer, user: SSHUser, host: str, port: int
) -> ConnectionSettings:
    ssh = SSHSettings(
        host=bastion.namespace.ns_addr, port=bastion.port, user="inspector", keys=(user.key,)
    )
    return ConnectionSettings(host=host, port=port, ssh=ssh, source="flags")


async def test_tui_through_the_bastion(
    monkeypatch: pytest.MonkeyPatch,
    netns: Namespace,
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_clean: RedisServer,
) -> None:
    # Standalone: a TUI on a cluster leaves a cluster node's connection open at
    # exit (ResourceWarning) with or without --ssh; the cluster path of the
    # feed is covered by `watch` above.
    def fill() -> list[str]:
        with redis.Redis(**inner_clean.client_kwargs()) as client:  # type: ignore[arg-type]
            ids = [str(uuid.uuid4()) for _ in range(SESSIONS)]
            for number, sid in enumerate(ids):
                write_request(client, sid, f"container-{number % 2 + 1}", created_ms=NOW)
        return ids

    ids = netns.run(fill)
    monkeypatch.setenv("HOME", str(ssh_user.home))
    settings = _session_settings(bastion, ssh_user, "redis.internal", inner_clean.port)
    app = make_app(AppOptions(settings=settings))
    async with app.run_test(size=(120, 36)) as pilot:
        # Through the bastion: the first read takes longer than a local one.
        await wait_until(pilot, lambda: app.ready, "the feed", limit=2 * WAIT_SECONDS)
        await wait_until(pilot, lambda: len(app.store) >= SESSIONS, "every session")
        assert {row.id for row in app.store.rows.values()} == set(ids)
        await pilot.press("4")
        pane = app.query_one(ServerPane)
        await wait_until(pilot, lambda: "keys" in pane.facts, "the server's facts")
        text = str(pane.render())
        assert f"redis.internal:{inner_clean.port}" in text
        assert f"through bastion {bastion.address}" in text


def test_demo_writes_through_the_bastion(
    monkeypatch: pytest.MonkeyPatch,
    netns: Namespace,
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_clean: RedisServer,
) -> None:
    monkeypatch.setenv("HOME", str(ssh_user.home))
    settings = _session_settings(bastion, ssh_user, "redis.internal", inner_clean.port)

    def hosts() -> set[bytes]:
        with redis.Redis(**inner_clean.client_kwargs()) as client:  # type: ignore[arg-type]
            values = [
                client.hget(key, "sessionAttr:scopedTarget.sampleSession") or b""
                for key in client.scan_iter("spring:session:sessions:*", count=1000, _type="hash")
            ]
        return {name for name in (b"container-1", b"container-2") if any(name in v for v in values)}

    with running_demo(DemoOptions(redis=settings, users=3, rate=30)):
        # Both sample apps (the demo's background loop) write through the tunnel.
        poll_until(
            lambda: netns.run(hosts) == {b"container-1", b"container-2"},
            "the demo never wrote both containers' sessions",
            interval=0.1,
        )


def test_tui_in_a_terminal_asks_the_password_first(
    netns: Namespace, bastion: SSHServer, ssh_user: SSHUser, inner_clean: RedisServer
) -> None:
    # The whole command, as typed on a laptop: the SSH password is asked on
    # the plain terminal, then the TUI shows what is behind the bastion.
    def fill() -> None:
        with redis.Redis(**inner_clean.client_kwargs()) as client:  # type: ignore[arg-type]
            write_request(client, str(uuid.uuid4()), "container-7", created_ms=NOW)

    netns.run(fill)
    command = (
        f"HOME={ssh_user.home} SSH_AUTH_SOCK= {sys.executable} -m inspector "
        f"--ssh {bastion.address} -h redis.internal -p {inner_clean.port}; "
        "echo EXITED=$?; sleep 30"
    )
    terminal = Tmux(command)
    try:
        terminal.wait_for(f"inspector@{bastion.namespace.ns_addr}'s password:")
        terminal.keys(USER_PASSWORD, "Enter")
        terminal.wait_for("container-7", "1 sessions")
        terminal.keys("4")
        terminal.wait_for(f"through bastion {bastion.address}")
        terminal.keys("q")
        terminal.wait_for("EXITED=0")
    finally:
        terminal.close()
