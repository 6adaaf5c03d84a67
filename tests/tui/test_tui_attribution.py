"""Which container served each request, in the TUI: the host attribute or the connection.

Offline (an in-memory source and :class:`~tests.fake_monitor.FakeMonitor`, the
real pure attribution model fed MONITOR commands by the test): the ``a``
toggle and its palette entry, ``--attribute-by monitor`` from the start, the
Live view and the sessions table naming containers and where the names come
from, disagreement flagged, the per-container figures, the Server tab's
MONITOR status and cost, refusal in one line; a snapshot.

Against real redis-server, with the helpers of tests/redis/test_attribution.py:
sample apps writing no host attribute, the TUI named their containers by client
name (bridge-like), by a client map of their source addresses (awsvpc-like), by
/etc/hosts-style names (the watch test's private /etc/hosts; the TUI half runs
in a child pytest under it) or, with none of these, by the address itself; an
ACL user without ``+monitor`` started with ``--attribute-by monitor`` (one
refusal notice, the host attribute);
and on a 3-primary cluster, a primary failed over while attributing (MONITOR
follows it, the session's later requests still named by their writers).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from textual.pilot import Pilot
from textual.widgets import RichLog, Static

from inspector.core.attribution import Attributor, ClientMap, ConnectionNamer, NameSource
from inspector.core.memory_source import MemorySource
from inspector.redis_io import source as redis_source
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.monitor import MonitorAttribution
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui import app as tui_app
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.live import LivePane, RequestLog
from inspector.tui.panes.server import ServerPane
from inspector.tui.widgets.session_table import SessionTable, cell_text
from tests.factories import NOW_MS, request_event, spring_session
from tests.fake_monitor import NODE, FakeMonitor
from tests.harness import (
    RedisServer,
    add_replica,
    fail_over,
    key_slot,
    slot_owner,
    start_cluster,
    start_redis_server,
    stop_servers,
)
from tests.live_processes import App, Running
from tests.redis.test_attribution import (
    HOSTS,
    OPEN,
    WATCHER,
    WATCHER_PASSWORD,
    as_admin,
    at,
    awsvpc_apps,
    plain_apps,
    private_hosts,
    start_server_without_monitor,
)
from tests.tui_helpers import settled, source_of, wait_until
from tests.waiting import DEADLINE

S1 = "0a000001-5646-4382-aa12-41435ed09dc7"
S2 = "0a000002-5646-4382-aa12-41435ed09dc7"


def key_of(sid: str) -> str:
    return f"spring:session:sessions:{sid}"


def attributed_app(
    *, refuse: str | None = None, **options: Any
) -> tuple[InspectorApp, FakeMonitor]:
    """The app on an in-memory source with a fake MONITOR (frozen clock, UTC)."""
    attributor = Attributor(namer=ConnectionNamer(use_dns=False))
    monitor = FakeMonitor(attributor, refuse=refuse)
    settings: dict[str, Any] = {"clock": lambda: NOW_MS / 1000, "tz": dt.UTC, **options}
    app = make_app(AppOptions(**settings), MemorySource(), attributor=attributor, monitor=monitor)
    return app, monitor


def request(
    app: InspectorApp,
    monitor: FakeMonitor,
    sid: str,
    client: str,
    stamp: int,
    *,
    name: str | None = None,
    host: str | None = None,
) -> None:
    """Connection ``client`` wrote the session (MONITOR saw it), then the feed saw the request."""
    monitor.write(key_of(sid), client, stamp, name=name)
    source_of(app).events([request_event(sid, host, time_ms=stamp)])


def log_lines(app: InspectorApp) -> list[str]:
    return [strip.text.rstrip() for strip in app.query_one("#requests", RichLog).lines]


def static_text(app: InspectorApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def switched(pilot: Pilot[int], on: bool) -> None:
    app = pilot.app
    assert isinstance(app, InspectorApp)
    want = "by connection (MONITOR on" if on else "by the session's host attribute"
    await wait_until(
        pilot,
        lambda: app.by_connection is on and want in app.attribution_text,
        f"attribution {'on' if on else 'off'}",
    )
    await pilot.pause()


async def offline_sessions(pilot: Pilot[int]) -> None:
    app = pilot.app
    assert isinstance(app, InspectorApp)
    # S1 writes no host attribute (a stock app); S2's names another container.
    source_of(app).add([spring_session(S1, None), spring_session(S2, "container-9")])
    await settled(pilot)


async def test_the_toggle_names_containers_by_connection_and_back() -> None:
    app, monitor = attributed_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await offline_sessions(pilot)
        await pilot.press("2")  # the Live tab (a log writes once it has a size)
        request(app, monitor, S1, "10.0.1.23:50312", NOW_MS - 3000)  # MONITOR is off
        await settled(pilot)
        assert app.store.rows[key_of(S1)].container is None
        await pilot.press("a")
        await switched(pilot, True)
        assert monitor.active
        request(app, monitor, S1, "10.0.1.23:50312", NOW_MS - 2000, name="web-1")
        request(app, monitor, S1, "10.0.1.24:40000", NOW_MS - 1000)
        request(app, monitor, S2, "10.0.1.23:50312", NOW_MS, host="container-9")
        await settled(pilot)

        # Live: the attributed name, where it came from, disagreement flagged.
        lines = log_lines(app)
        assert lines[0].endswith("0a000001  -")  # before MONITOR: nothing names it
        assert "0a000001  web-1            (client-name)" in lines[1]
        assert "10.0.1.24        (address)  ← web-1" in lines[2]
        assert "0a000002  web-1            (client-name)" in lines[3]
        assert "≠ attribute container-9" in lines[3]
        assert "≠" not in lines[1]

        # The sessions table: the container column and where its name came from.
        table = app.query_one(SessionTable)
        assert table.show_via
        assert [c.key for c in table.columns][:3] == ["id", "host", "via"]
        one, two = app.store.rows[key_of(S1)], app.store.rows[key_of(S2)]
        assert (cell_text(one, "host", NOW_MS), cell_text(one, "via", NOW_MS)) == (
            "10.0.1.24",
            "addr",
        )
        assert (cell_text(two, "host", NOW_MS), cell_text(two, "via", NOW_MS)) == (
            "web-1",
            "name!",
        )

        # Per container: from the attribution by connection only (since it was switched on).
        live = app.query_one(LivePane)
        summary = live.stats.summary(NOW_MS)
        assert [(f.name, f.source, f.requests, f.sessions) for f in summary.containers] == [
            ("web-1", NameSource.CLIENT_NAME, 2, 2),
            ("10.0.1.24", NameSource.ADDRESS, 1, 1),
        ]
        assert [step.container for step in live.stats.path(key_of(S1))] == ["web-1", "10.0.1.24"]
        assert summary.switched == 1
        bars = str(app.query_one("#bars", Static).render())
        for shown in ("web-1", "name", "10.0.1.24", "addr"):
            assert shown in bars

        # The Server tab: where MONITOR runs, what it read, what it costs.
        await pilot.press("4")
        server = app.query_one(ServerPane)
        await wait_until(pilot, lambda: "session writes" in server.facts.get("MONITOR", ""))
        assert server.facts["MONITOR"].startswith(f"on {NODE}: 4 lines read, 3 session writes")
        assert "70%" in server.facts["MONITOR cost"]
        assert "by connection" in server.facts["attribution"]

        # Off again: the host attribute answers, the figures start afresh.
        await pilot.press("a")
        await switched(pilot, False)
        assert not monitor.running
        request(app, monitor, S2, "10.0.1.23:50312", NOW_MS + 1000, host="container-9")
        await settled(pilot)
        assert "0a000002  container-9       ← web-1" in log_lines(app)[-1]
        assert [(f.name, f.source) for f in live.stats.summary(NOW_MS).containers] == [
            ("container-9", NameSource.ATTRIBUTE)
        ]
        assert not app.query_one(SessionTable).show_via
        assert app.store.rows[key_of(S1)].container is None  # no stale name by connection
        await wait_until(pilot, lambda: server.facts.get("MONITOR", "").startswith("off"))


async def test_monitor_refused_says_so_in_one_line_and_keeps_the_host_attribute() -> None:
    app, monitor = attributed_app(refuse="NOPERM this user has no permissions to run 'monitor'")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await offline_sessions(pilot)
        await pilot.press("2", "a")
        await wait_until(
            pilot,
            lambda: any(n.title == "MONITOR" for n in app._notifications),
            "the refusal",
        )
        await wait_until(pilot, lambda: not app.by_connection, "the fallback")
        refusals = [n.message for n in app._notifications if "MONITOR refused" in n.message]
        assert len(refusals) == 1
        assert "NOPERM" in refusals[0]
        assert "host attribute instead" in refusals[0]
        assert "\n" not in refusals[0]
        assert not monitor.running  # nothing left running after a refusal
        assert static_text(app, "#attribution").startswith(
            "MONITOR refused: Containers by the session's host attribute"
        )
        request(app, monitor, S2, "10.0.1.23:50312", NOW_MS, host="container-9")
        await settled(pilot)
        assert "0a000002  container-9" in log_lines(app)[-1]
        assert app.query_one(LivePane).stats.summary(NOW_MS).containers[0].source is (
            NameSource.ATTRIBUTE
        )


async def test_attribute_by_monitor_attaches_before_the_first_request() -> None:
    app, monitor = attributed_app(attribute_by="monitor")
    async with app.run_test(size=(120, 36)) as pilot:
        await switched(pilot, True)
        assert monitor.starts == 1
        await offline_sessions(pilot)
        await pilot.press("2")
        request(app, monitor, S1, "10.0.1.23:50312", NOW_MS, name="web-1")
        await settled(pilot)
        assert "web-1            (client-name)" in log_lines(app)[-1]


async def test_the_palette_entry_toggles_and_a_source_without_monitor_says_why() -> None:
    app, monitor = attributed_app()
    async with app.run_test(size=(120, 36)) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        toggle = commands["Attribution by connection (MONITOR) on/off"]
        assert "costs the server" in toggle.help
        toggle.callback()
        await switched(pilot, True)
        toggle.callback()
        await switched(pilot, False)
        assert monitor.starts == 1

    bare = make_app(AppOptions(clock=lambda: NOW_MS / 1000), MemorySource())
    async with bare.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("a")
        await wait_until(pilot, lambda: bool(bare._notifications), "the explanation")
        assert "needs MONITOR" in next(iter(bare._notifications)).message
        assert not bare.by_connection


async def test_at_80x24_a_long_disagreement_and_long_names_go_on_indented_lines() -> None:
    app, monitor = attributed_app(attribute_by="monitor")
    task = "sample-app/3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"  # an ECS service/task id: 43 columns
    other = "checkout-service-blue-7d9f8c6b5-x2k4q"
    async with app.run_test(size=(80, 24)) as pilot:
        await switched(pilot, True)
        await offline_sessions(pilot)
        await pilot.press("2")
        await pilot.pause()
        request(app, monitor, S1, "10.0.1.23:50312", NOW_MS - 1000, name=task)
        request(app, monitor, S1, "10.0.1.24:40000", NOW_MS, name=other, host="container-9")
        await settled(pilot)
        log = app.query_one("#requests", RichLog)
        width = log.scrollable_content_region.width
        assert 70 <= width < 80
        lines = log_lines(app)
        assert all(len(line) <= width for line in lines), lines
        # The container first, on the request's own line; what follows is indented under it.
        assert lines[0].endswith(f"0a000001  {task}")
        assert lines[1] == f"{'':24}(client-name)"
        two = next(n for n, line in enumerate(lines) if n and "0a000001" in line)
        first, *rest = lines[two:]
        assert f"0a000001  {other}" in first
        assert rest, lines
        for line in rest:
            assert line[24:25].strip(), rest  # the part starts at the indent
            assert line[:24] == " " * 24, rest
        joined = " ".join(line.strip() for line in lines[two:])
        # Nothing lost: the source, the disagreement, the previous container, whole.
        assert "(client-name)" in joined
        assert "≠ attribute container-9" in joined
        assert f"← {task}" in joined
        assert joined.index("≠ attribute") < joined.index("←")  # the flag before the rest


async def test_a_resize_lays_the_requests_out_again_at_the_new_width() -> None:
    app, monitor = attributed_app(attribute_by="monitor")
    task = "sample-app/3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"
    other = "checkout-service-blue-7d9f8c6b5-x2k4q"
    async with app.run_test(size=(180, 30)) as pilot:
        await switched(pilot, True)
        await offline_sessions(pilot)
        await pilot.press("2")
        await pilot.pause()
        request(app, monitor, S1, "10.0.1.23:50312", NOW_MS - 1000, name=task)
        request(app, monitor, S1, "10.0.1.24:40000", NOW_MS, name=other, host="container-9")
        await settled(pilot)
        log = app.query_one("#requests", RequestLog)
        wide = log_lines(app)
        assert len(wide) == 2, wide  # one line per request at 180 columns

        async def resized(width: int, height: int) -> list[str]:
            before = log.reflows
            await pilot.resize_terminal(width, height)
            await wait_until(pilot, lambda: log.reflows > before, f"relaid at {width}")
            await settled(pilot)
            assert log.scrollable_content_region.width < width
            return log_lines(app)

        narrow = await resized(80, 24)
        width = log.scrollable_content_region.width
        assert len(narrow) > 2, narrow
        assert all(len(line) <= width for line in narrow), narrow
        joined = " ".join(line.strip() for line in narrow)
        assert "≠ attribute container-9" in joined
        assert f"← {task}" in joined
        # Back to the wide terminal: one line per request again, as first written.
        assert await resized(180, 30) == wide
        # Requests that arrive after the resize are laid out at the new width too.
        request(app, monitor, S2, "10.0.1.23:50312", NOW_MS + 1000, name=task)
        await settled(pilot)
        assert len(log_lines(app)) == 3


@pytest.mark.parametrize(
    ("tab", "size"), [("2", (80, 24)), ("1", (120, 20))], ids=["live-80x24", "sessions-120x20"]
)
def test_snapshot_by_connection(
    snap_compare: Callable[..., bool], tab: str, size: tuple[int, int]
) -> None:
    app, monitor = attributed_app()

    async def run_before(pilot: Pilot[int]) -> None:
        await offline_sessions(pilot)
        await pilot.press("a")
        await switched(pilot, True)
        plan = [
            (S1, "10.0.1.23:50312", "web-1", None),
            (S1, "10.0.2.7:41000", None, None),
            (S2, "10.0.1.23:50312", None, "container-9"),
            (S1, "10.0.1.23:50312", None, None),
        ]
        for n, (sid, client, name, host) in enumerate(plan):
            stamp = NOW_MS - (len(plan) - n) * 1000
            request(app, monitor, sid, client, stamp, name=name, host=host)
        await settled(pilot)
        await pilot.press(tab)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# ----------------------------------------------------------------- real redis-server


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis_server(tmp_path_factory.mktemp("tui-attribution"), *OPEN)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(open_server: RedisServer) -> RedisServer:
    client = redis.Redis(**open_server.client_kwargs())  # type: ignore[arg-type]
    try:
        client.flushall()
    finally:
        client.close()
    return open_server


async def drive_tui(
    app: InspectorApp, pilot: Pilot[int], plan: list[tuple[App, str, NameSource]]
) -> None:
    """Requests in order through the sample apps; the TUI must name each one's container."""
    await wait_until(pilot, lambda: app.ready, "the feed's first full read")
    await switched(pilot, True)
    live = app.query_one(LivePane)
    cookie: str | None = None
    for sample_app, container, via in plan:
        before = live.total
        cookie = await asyncio.to_thread(sample_app.request, cookie)
        await wait_until(pilot, lambda b=before: live.total > b, f"{sample_app.name}'s request")  # type: ignore[misc]
        (row,) = app.store.rows.values()
        assert row.host is None  # the apps write no host attribute
        assert (row.served_by, row.via) == (container, via.value), app.attribution_text
    (row,) = app.store.rows.values()
    summary = live.stats.summary(NOW_MS)
    assert [step.container for step in live.stats.path(row.key)] == [c for _, c, _ in plan]
    assert {(f.name, f.source) for f in summary.containers} == {(c, v) for _, c, v in plan}


async def attribute_by_monitor(
    server: RedisServer, plan: list[tuple[App, str, NameSource]], last: str, *, dns: bool
) -> None:
    """The TUI started with ``--attribute-by monitor`` names each request of ``plan`` as
    given, and the Live tab's newest line reads ``last``."""
    app = make_app(
        AppOptions(settings=ConnectionSettings(port=server.port), attribute_by="monitor", dns=dns)
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await drive_tui(app, pilot, plan)
        await pilot.press("2")
        await pilot.pause()
        assert last in log_lines(app)[-1]


async def test_on_redis_bridge_mode_containers_named_by_client_name(
    server: RedisServer, running: Running
) -> None:
    one, two = plain_apps(running, at(server))  # one address; client name = container name
    plan = [
        (one, "container-1", NameSource.CLIENT_NAME),
        (two, "container-2", NameSource.CLIENT_NAME),
    ]
    last = "container-2      (client-name)  ← container-1"
    await attribute_by_monitor(server, plan * 2, last, dns=False)


async def test_on_redis_awsvpc_task_addresses_named_by_a_client_map(
    server: RedisServer, running: Running, tmp_path: Path
) -> None:
    one, two = awsvpc_apps(running, server)  # 127.0.0.2 and 127.0.0.3, no client names
    tasks = ClientMap("127.0.0.2 sample-app/3f2a9c0d\n127.0.0.0/24 sample-app/other\n")
    app = make_app(
        AppOptions(settings=ConnectionSettings(port=server.port), client_map=tasks, dns=False)
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.ready, "the feed's first full read")
        await pilot.press("a")  # switched on live, after the feed started
        plan = [
            (one, "sample-app/3f2a9c0d", NameSource.MAP),
            (two, "sample-app/other", NameSource.MAP),
        ]
        await drive_tui(app, pilot, plan * 2)


async def test_on_redis_without_names_the_address_is_shown(
    server: RedisServer, running: Running
) -> None:
    one, two = awsvpc_apps(running, server)  # 127.0.0.2 and 127.0.0.3, no client names
    plan = [(one, "127.0.0.2", NameSource.ADDRESS), (two, "127.0.0.3", NameSource.ADDRESS)]
    last = "127.0.0.3        (address)  ← 127.0.0.2"
    await attribute_by_monitor(server, plan * 2, last, dns=False)


PRIVATE_HOSTS = "INSPECTOR_TEST_PRIVATE_HOSTS"
"""Set (to the hosts file) in the child pytest that runs under a private /etc/hosts."""


def test_on_redis_awsvpc_task_addresses_named_by_the_hosts_file(tmp_path: Path) -> None:
    """The watch test's private /etc/hosts (its wrapper and its skips), for the TUI.

    The TUI runs inside the test process, which must not leave the machine's
    mount namespace (nor can, with threads running), so the test's TUI half
    runs in a child pytest under the wrapper; the system resolver answers there.
    """
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS)
    wrapper = private_hosts(hosts)
    inner = test_on_redis_hosts_file_names_in_a_private_etc_hosts.__name__
    test = f"{Path(__file__).resolve()}::{inner}"
    child = [
        *wrapper, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        # The plugins the one test does not use stay out (~0.7 CPU-s of start-up).
        "-p", "no:xdist", "-p", "no:hypothesispytest", "-p", "no:syrupy",
        "-p", "no:textual-snapshot", "-p", "no:anyio",
        f"--basetemp={tmp_path / 'child'}", test,
    ]  # fmt: skip
    done = subprocess.run(
        child,
        env={**os.environ, PRIVATE_HOSTS: str(hosts)},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=4 * DEADLINE,  # a guard against hangs: each wait inside has DEADLINE
        check=False,
    )
    said = done.stdout[-6000:] + done.stderr
    assert done.returncode == 0, said
    assert "1 passed" in done.stdout, said  # ran, not skipped


async def test_on_redis_hosts_file_names_in_a_private_etc_hosts(
    server: RedisServer, running: Running
) -> None:
    """The TUI half of the test above: two tasks, no client name, no map, DNS on."""
    hosts = os.environ.get(PRIVATE_HOSTS)
    if hosts is None:
        pytest.skip("runs only as the child of the hosts-file test, under its /etc/hosts")
    etc_hosts = await asyncio.to_thread(Path("/etc/hosts").read_text)
    assert etc_hosts == HOSTS, etc_hosts  # the private one, bind-mounted by the parent
    one, two = awsvpc_apps(running, server)  # 127.0.0.2 and 127.0.0.3, no client names
    plan = [(one, "task-a.ecs.internal", NameSource.DNS), (two, "task-b", NameSource.DNS)]
    last = "task-b           (dns)  ← task-a.ecs.internal"
    await attribute_by_monitor(server, plan * 3, last, dns=True)


def notified(app: InspectorApp, text: str) -> bool:
    return any(text in n.message for n in app._notifications)


async def test_on_redis_a_user_without_monitor_gets_one_refusal_and_the_host_attribute(
    tmp_path: Path, running: Running
) -> None:
    """The watch test's ACL user (reads, pub/sub, SCAN, no +monitor), in the TUI."""
    server = start_server_without_monitor(tmp_path)
    try:
        sample_app = running.app(as_admin(server), "container-1")  # this app writes its host
        watcher = ConnectionSettings(port=server.port, username=WATCHER, password=WATCHER_PASSWORD)
        app = make_app(AppOptions(settings=watcher, attribute_by="monitor", dns=False))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await wait_until(pilot, lambda: notified(app, "MONITOR refused"), "the refusal")
            await wait_until(pilot, lambda: not app.by_connection, "the fallback")
            await wait_until(pilot, lambda: app.ready, "the feed's first full read")
            (refused,) = [n.message for n in app._notifications if "MONITOR refused" in n.message]
            assert "NOPERM" in refused
            assert "host attribute instead" in refused
            assert "\n" not in refused
            assert static_text(app, "#attribution").startswith(
                "MONITOR refused: Containers by the session's host attribute"
            )
            live = app.query_one(LivePane)
            # One request at a time, as in the watch test: the feed coalesces
            # two writes to one session that it reads together.
            cookie: str | None = None
            for _ in range(2):
                before = live.total
                cookie = await asyncio.to_thread(sample_app.request, cookie)
                await wait_until(pilot, lambda b=before: live.total > b, "the request")  # type: ignore[misc]
                (row,) = app.store.rows.values()
                assert row.host == "container-1"
                assert (row.served_by, row.via) == ("container-1", NameSource.ATTRIBUTE.value)
            summary = live.stats.summary(NOW_MS)
            assert [(f.name, f.source) for f in summary.containers] == [
                ("container-1", NameSource.ATTRIBUTE)
            ]
            await pilot.press("2")
            await pilot.pause()
            assert "container-1" in log_lines(app)[-1]
            assert "(address)" not in "\n".join(log_lines(app))
            assert sum("MONITOR refused" in n.message for n in app._notifications) == 1
    finally:
        server.stop()


@pytest.mark.slow
async def test_on_redis_cluster_failover_while_attributing(
    tmp_path: Path, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 primaries, the first with a replica: it fails over, MONITOR follows, names stay right.

    The feed checks the cluster's primaries every 10 s by default, MONITOR every 5 s (or
    at once when it sees a write on a primary it does not watch: none is made here before
    it follows); the app builds both here with their own ``topology_interval`` at 1 s, so
    the test does not sit out the defaults (the watch test in tests/redis keeps them).
    """
    monkeypatch.setattr(
        redis_source, "ChangeFeed", functools.partial(ChangeFeed, topology_interval=1.0)
    )
    monkeypatch.setattr(
        tui_app, "MonitorAttribution", functools.partial(MonitorAttribution, topology_interval=1.0)
    )
    nodes = start_cluster(tmp_path / "cluster", extra_args=OPEN)
    replica: RedisServer | None = None
    try:
        primary = nodes[0]
        replica = add_replica(nodes, primary, tmp_path / "replica", extra_args=OPEN)
        everyone = [*nodes, replica]
        one, two = plain_apps(running, ["-c", "-p", str(primary.port)])
        app = make_app(
            AppOptions(
                settings=ConnectionSettings(port=primary.port, cluster=True),
                attribute_by="monitor",
                dns=False,
            )
        )
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await wait_until(pilot, lambda: app.ready, "the feed's first full read")
            await switched(pilot, True)
            assert "MONITOR on" in app.attribution_text
            assert app.monitor is not None
            assert len(app.monitor.status().attached) == 3
            live = app.query_one(LivePane)

            async def served(sample_app: App, cookie: str | None) -> tuple[str, str]:
                before, keys = live.total, set(app.store.rows)
                cookie = await asyncio.to_thread(sample_app.request, cookie)
                await wait_until(pilot, lambda: live.total > before, f"{sample_app.name}'s request")
                new = set(app.store.rows) - keys
                return cookie, (new.pop() if new else "")

            # A session whose hash lives on the primary that will fail over.
            for _ in range(60):
                cookie, key = await served(one, None)
                if key and slot_owner(nodes, key_slot(key)) is primary:
                    break
            else:
                raise AssertionError("no session landed on the first primary")
            row = app.store.rows[key]
            assert (row.served_by, row.via) == ("container-1", "client-name")

            await asyncio.to_thread(fail_over, everyone, replica)
            await wait_until(
                pilot,
                lambda: notified(app, f"MONITOR attached to {replica.address}, a new primary"),
                "MONITOR on the new primary",
                limit=DEADLINE,
            )
            # The feed checks the primaries every second here, then re-subscribes.
            await wait_until(
                pilot, lambda: notified(app, "reconnected"), "the feed back", limit=2 * DEADLINE
            )
            assert replica.address in app.monitor.status().attached
            plan = [(two, "container-2"), (one, "container-1")] * 2
            for sample_app, container in plan:
                cookie, _ = await served(sample_app, cookie)
                row = app.store.rows[key]
                assert row.host is None  # the apps write no host attribute
                assert (row.served_by, row.via) == (container, "client-name"), app.attribution_text
            assert slot_owner(everyone, key_slot(key)) is replica
            steps = [step.container for step in live.stats.path(key)]
            assert steps[-4:] == [c for _, c in plan]
            await pilot.press("2")
            await pilot.pause()
            assert "container-1      (client-name)  ← container-2" in log_lines(app)[-1]
    finally:
        stop_servers([*nodes, *([replica] if replica else [])])
