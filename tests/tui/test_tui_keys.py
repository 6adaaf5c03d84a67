"""The Keys tab against real redis-server: the tree by a delimiter, facts per key, the
pattern and type filters, typed values with paging, writes only with --allow-writes
(MONITOR-checked), a cluster's every primary, and the link to a session's detail."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from textual.pilot import Pilot

from inspector.core.memory_source import MemorySource
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.keys import KeysPane, ScanState
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.screens.detail import SessionDetailScreen
from inspector.tui.screens.key_value import ElementScreen, KeyValueScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.widgets.paged_table import PagedTable
from inspector.tui.widgets.value_tree import ValueTree
from tests.harness import RedisServer, free_port
from tests.spring_layouts import write_layouts
from tests.tui_helpers import WAIT_SECONDS, wait_until

WRITES = {"DEL", "UNLINK", "SET", "HSET", "PEXPIRE", "EXPIRE", "PERSIST", "SETEX", "HDEL"}


def fill(client: redis.Redis) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(30):
        pipe.set(f"user:{i:02d}:name", f"user {i}")
    pipe.set("user:00:profile", json.dumps({"name": "Ada", "roles": ["admin", "dev"]}))
    pipe.set("cache:ttl", "soon", ex=3600)
    pipe.hset("cart:1", mapping={f"item{i:04d}": f"{i}" for i in range(1000)})
    pipe.rpush("queue:jobs", *[f"job-{i}" for i in range(450)])
    pipe.sadd("tags", *[f"t{i}" for i in range(300)])
    pipe.zadd("scores", {f"player{i}": i * 1.5 for i in range(250)})
    for i in range(150):
        pipe.xadd("events", {"n": str(i)})
    pipe.set("odd\x1b[31mkey", b"\x00\xff")
    pipe.execute()


@pytest.fixture
def server(redis_clean: RedisServer) -> Iterator[tuple[RedisServer, redis.Redis]]:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    fill(client)
    yield redis_clean, client
    client.close()


async def keys_tab(app: InspectorApp, pilot: Pilot[int]) -> KeysPane:
    await pilot.press("5")
    pane = app.query_one(KeysPane)
    await scanned(pilot, pane, 0)
    await pilot.pause()
    return pane


async def scanned(pilot: Pilot[int], pane: KeysPane, before: int) -> None:
    """Until a scan started after scan number ``before`` is done (exact counts)."""
    await wait_until(
        pilot, lambda: pane.scans > before and pane.scan_state is ScanState.DONE, "the scan"
    )


async def measured(pilot: Pilot[int], pane: KeysPane) -> list[bytes]:
    """``m``, then until MEMORY USAGE of every key on screen with facts arrived."""
    keys = [key for key in pane.tree_view.visible_keys() if pane.facts.get(key) is not None]
    assert keys
    await pilot.press("m")

    def all_measured() -> bool:
        facts = [pane.facts.get(key) for key in keys]
        return all(fact is not None and fact.memory is not None for fact in facts)

    await wait_until(pilot, all_measured, "MEMORY USAGE")
    return keys


async def reread(pilot: Pilot[int], screen: KeyValueScreen, *keys: str) -> None:
    """Press ``keys``, then until the screen read its key again (after a write)."""
    before = screen.reads
    await pilot.press(*keys)
    await wait_until(pilot, lambda: screen.reads > before, "the key read again")


async def next_page(pilot: Pilot[int], screen: KeyValueScreen) -> None:
    """``end``, then until the page it asked for arrived."""
    before = screen.pages
    await pilot.press("end")
    await wait_until(pilot, lambda: screen.pages > before, "the next page")


def lines(pane: KeysPane) -> list[str]:
    view = pane.tree_view
    return [view._line(row).rstrip() for row in pane.rows.rows]


async def select(pilot: Pilot[int], pane: KeysPane, path: bytes) -> None:
    at = pane.rows.index_of(path)
    assert at is not None, path
    pane.tree_view.cursor = at
    await pilot.pause()


async def open_key(pilot: Pilot[int], pane: KeysPane, path: bytes) -> KeyValueScreen:
    await select(pilot, pane, path)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, KeyValueScreen), "the value")
    screen = pilot.app.screen
    assert isinstance(screen, KeyValueScreen)
    await wait_until(pilot, lambda: screen.reads > 0, "the key read")
    await pilot.pause()
    return screen


async def test_tree_folders_counts_facts_and_delimiter(
    server: tuple[RedisServer, redis.Redis],
) -> None:
    redis_server, _ = server
    app = make_app(AppOptions(settings=ConnectionSettings(port=redis_server.port)))
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        top = [row.node.path for row in pane.rows.rows if row.node is not None]
        assert top == [b"cache:", b"cart:", b"events", b"odd\x1b[31mkey", b"queue:", b"scores",
                       b"tags", b"user:"]  # fmt: skip
        text = "\n".join(lines(pane))
        assert "▸ user:" in text
        assert "31 keys" in text
        assert "1 key\n" in text
        assert "\x1b" not in text
        assert "odd\\x1b[31mkey" in text
        # The facts of the keys on screen arrive: type, length, encoding.
        await wait_until(pilot, lambda: pane.facts.get(b"tags") is not None, "facts")
        tags = next(line for line in lines(pane) if "tags" in line)
        assert "set" in tags
        assert "300" in tags
        # → opens a folder, ← closes it.
        await select(pilot, pane, b"user:")
        await pilot.press("right")
        assert any("▾ user:" in line for line in lines(pane))
        assert pane.rows.index_of(b"user:00:") is not None
        await pilot.press("down", "right")
        assert pane.rows.index_of(b"user:00:profile") is not None
        await pilot.press("left", "left")
        await pilot.press("left")
        assert pane.rows.index_of(b"user:00:") is None
        # Another delimiter is another view of the same index: no scan.
        scan = pane.scan
        pane.set_delimiter("0")
        await pilot.pause()
        assert pane.scan is scan
        assert pane.rows.index_of(b"user:0") is not None
        # m: MEMORY USAGE of the keys on screen.
        pane.set_delimiter(":")
        await wait_until(pilot, lambda: pane.facts.get(b"tags") is not None, "facts again")
        assert b"tags" in await measured(pilot, pane)
        fact = pane.facts.get(b"tags")
        assert fact is not None
        assert fact.memory is not None
        assert (fact.memory.bytes or 0) > 0


async def test_ttl_ticks(server: tuple[RedisServer, redis.Redis]) -> None:
    redis_server, _ = server
    now = [1_000_000.0]
    app = make_app(
        AppOptions(settings=ConnectionSettings(port=redis_server.port), clock=lambda: now[0])
    )
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        await select(pilot, pane, b"cache:")
        await pilot.press("right")
        await wait_until(pilot, lambda: pane.facts.get(b"cache:ttl") is not None, "the TTL")
        line = next(line for line in lines(pane) if "ttl" in line)
        assert "1h00" in line or "59:5" in line
        now[0] += 600
        line = next(line for line in lines(pane) if "ttl" in line)
        assert "50:0" in line or "49:5" in line


async def test_pattern_and_type_go_to_the_server(server: tuple[RedisServer, redis.Redis]) -> None:
    redis_server, _ = server
    app = make_app(AppOptions(settings=ConnectionSettings(port=redis_server.port)))
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        scans = pane.scans
        await pilot.press("slash", *"user:0*", "enter")
        await scanned(pilot, pane, scans)
        assert pane.scan is not None
        assert pane.scan.pattern == b"user:0*"
        assert pane.rows.tree.count() == 11  # user:00..09:name and user:00:profile
        scans = pane.scans
        pane.set_pattern("")
        await scanned(pilot, pane, scans)
        scans = pane.scans
        await pilot.press("t", "t")  # any → string → hash
        await scanned(pilot, pane, scans + 1)
        assert pane.key_type == "hash"
        assert [row.node.path for row in pane.rows.rows if row.node] == [b"cart:"]


async def test_values_by_type_with_paging(server: tuple[RedisServer, redis.Redis]) -> None:
    redis_server, _ = server
    app = make_app(AppOptions(settings=ConnectionSettings(port=redis_server.port)))
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        # A JSON string, decoded as session attributes are.
        await select(pilot, pane, b"user:")
        await pilot.press("right", "down", "right")
        screen = await open_key(pilot, pane, b"user:00:profile")
        tree = screen.query_one(ValueTree)
        assert tree.decoded is not None
        assert tree.decoded.value == {
            "name": "Ada",
            "roles": ["admin", "dev"],
        }
        await pilot.press("escape")
        # A list of 450 read 200 at a time: the cursor at the end reads on.
        await select(pilot, pane, b"queue:")
        await pilot.press("right")
        screen = await open_key(pilot, pane, b"queue:jobs")
        table = screen.query_one(PagedTable)
        assert (len(table.rows), table.more) == (200, True)
        for _ in range(3):
            await next_page(pilot, screen)
            await pilot.pause()
            if not table.more:
                break
        assert (len(table.rows), table.more) == (450, False)
        assert table.rows[449] == ("449", "job-449")
        await pilot.press("escape")
        # A hash of 1000 fields by HSCAN pages, no field twice; Enter decodes one.
        await select(pilot, pane, b"cart:")
        await pilot.press("right")
        screen = await open_key(pilot, pane, b"cart:1")
        table = screen.query_one(PagedTable)
        while table.more:
            await next_page(pilot, screen)
            await pilot.pause()
        assert len(table.rows) == 1000 == len(set(screen.fields))
        await pilot.press("home", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ElementScreen), "the element")
        await pilot.press("escape", "escape")
        # A sorted set with scores, by rank.
        screen = await open_key(pilot, pane, b"scores")
        table = screen.query_one(PagedTable)
        assert table.rows[:2] == [("0", "0", "player0"), ("1", "1.5", "player1")]
        await pilot.press("escape")
        # A set by SSCAN, a stream by XRANGE pages.
        screen = await open_key(pilot, pane, b"tags")
        assert len(screen.query_one(PagedTable).rows) >= 200
        await pilot.press("escape")
        screen = await open_key(pilot, pane, b"events")
        table = screen.query_one(PagedTable)
        assert len(table.rows) == 100
        assert table.rows[0][1] == "n=0"
        await pilot.press("escape")
        # A binary string with a hostile name: escaped text, a hex preview.
        screen = await open_key(pilot, pane, b"odd\x1b[31mkey")
        tree = screen.query_one(ValueTree)
        assert tree.decoded is not None
        assert tree.decoded.format.value in ("binary", "undecodable")


class Monitor:
    """Every command the server receives, from a MONITOR connection, in a thread."""

    def __init__(self, redis_server: RedisServer) -> None:
        self.client = redis.Redis(**redis_server.client_kwargs())  # type: ignore[arg-type]
        self.commands: list[str] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(WAIT_SECONDS)

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            self.ready.set()
            try:
                for event in monitor.listen():
                    command = str(event.get("command", ""))
                    self.commands.append(command)
                    if command.endswith("monitor-stop"):
                        return
            except Exception:
                return

    def stop(self, redis_server: RedisServer) -> list[str]:
        marker = redis.Redis(**redis_server.client_kwargs())  # type: ignore[arg-type]
        marker.execute_command("ECHO", "monitor-stop")
        marker.close()
        self.thread.join(WAIT_SECONDS)
        self.client.close()
        return self.commands


async def test_without_allow_writes_nothing_is_written(
    server: tuple[RedisServer, redis.Redis],
) -> None:
    redis_server, client = server
    monitor = Monitor(redis_server)
    app = make_app(AppOptions(settings=ConnectionSettings(port=redis_server.port)))
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        await select(pilot, pane, b"cart:")
        await pilot.press("right")
        screen = await open_key(pilot, pane, b"cart:1")
        await pilot.press("d", "t", "p", "e")
        await pilot.pause()
        assert not any(isinstance(s, ConfirmScreen | PromptScreen) for s in app.screen_stack)
        await pilot.press("escape")
        await select(pilot, pane, b"user:")
        await pilot.press("right", "down", "right")
        screen = await open_key(pilot, pane, b"user:00:name")
        await pilot.press("d", "e", "t", "p")
        await pilot.pause()
        assert screen.changed is False
        await pilot.press("escape")
        # Every other type, each read a page on, the write keys pressed.
        await select(pilot, pane, b"queue:")
        await pilot.press("right")
        for key in (b"queue:jobs", b"tags", b"scores", b"events"):
            screen = await open_key(pilot, pane, key)
            await next_page(pilot, screen)
            await pilot.press("d", "t", "p", "e")
            await pilot.pause()
            assert not any(isinstance(s, ConfirmScreen | PromptScreen) for s in app.screen_stack)
            await pilot.press("escape")
        # The facts' MEMORY USAGE, a rescan, a pattern: still no write.
        await measured(pilot, pane)
        scans = pane.scans
        await pilot.press("slash", *"user:*", "enter")
        await scanned(pilot, pane, scans)
    commands = monitor.stop(redis_server)
    assert any(c.startswith("SCAN") for c in commands)
    written = [c for c in commands if c.split(" ", 1)[0].upper() in WRITES]
    assert written == []
    assert client.hlen("cart:1") == 1000
    assert client.get("user:00:name") == b"user 0"


async def test_writes_after_confirmation_whose_default_is_cancel(
    server: tuple[RedisServer, redis.Redis],
) -> None:
    redis_server, client = server
    app = make_app(
        AppOptions(settings=ConnectionSettings(port=redis_server.port), allow_writes=True)
    )
    async with app.run_test(size=(100, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        await select(pilot, pane, b"user:")
        await pilot.press("right", "down", "right")
        screen = await open_key(pilot, pane, b"user:00:name")
        # Enter on the confirmation is Cancel.
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen, "back")
        assert client.exists("user:00:name") == 1
        # Edit the string: the prompt, then y.
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await pilot.press(*["backspace"] * 10, *"renamed", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await reread(pilot, screen, "y")
        assert client.get("user:00:name") == b"renamed"
        # A TTL, then none.
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await pilot.press(*"120", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await reread(pilot, screen, "y")
        assert 0 < client.pttl("user:00:name") <= 120_000
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await reread(pilot, screen, "y")
        assert client.pttl("user:00:name") == -1
        # Delete, for real this time.
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await reread(pilot, screen, "y")
        assert client.exists("user:00:name") == 0
        await pilot.press("escape")
        await wait_until(pilot, lambda: pane.rows.index_of(b"user:00:name") is None, "gone")
        assert pane.rows.tree.count(b"user:00:") == 1  # the deleted key left the tree
        # A hash field.
        await select(pilot, pane, b"cart:")
        await pilot.press("right")
        screen = await open_key(pilot, pane, b"cart:1")
        field = screen.fields[0]
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, PromptScreen), "the prompt")
        await pilot.press(*["backspace"] * 10, *"42", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await reread(pilot, screen, "y")
        assert client.hget("cart:1", field) == b"42"


async def test_cluster_every_primary(redis_cluster: list[RedisServer]) -> None:
    first = redis_cluster[0]
    client = redis.RedisCluster(host="127.0.0.1", port=first.port)
    try:
        names = [f"k:{i:03d}" for i in range(300)]
        for name in names:
            client.set(name, "v")
        names.append("k:000h")
        client.hset("k:000h", mapping={f"f{i:03d}": str(i) for i in range(500)})
        # No sessions feed (an in-memory source); the Keys tab opens its own client anyway.
        settings = ConnectionSettings(port=first.port, cluster=True)
        app = make_app(AppOptions(settings=settings), MemorySource())
        async with app.run_test(size=(100, 40)) as pilot:
            pane = await keys_tab(app, pilot)
            assert pane.scan is not None
            assert pane.scan.progress.nodes_total == 3
            assert pane.rows.tree.count(b"k:") == 301
            await select(pilot, pane, b"k:")
            await pilot.press("right")
            await wait_until(pilot, lambda: pane.facts.get(b"k:000") is not None, "facts")
            # MEMORY USAGE goes to each key's own node.
            await measured(pilot, pane)
            sizes = [pane.facts.get(k) for k in pane.tree_view.visible_keys()]
            assert sizes
            assert all(f is not None and f.memory and f.memory.bytes for f in sizes)
            screen = await open_key(pilot, pane, b"k:007")
            assert screen.string is not None
            assert screen.string.data == b"v"
            await pilot.press("escape")
            # A hash on whichever node owns it, HSCAN page by page.
            screen = await open_key(pilot, pane, b"k:000h")
            table = screen.query_one(PagedTable)
            while table.more:
                await next_page(pilot, screen)
                await pilot.pause()
            assert sorted(screen.fields) == [b"f%03d" % i for i in range(500)]
    finally:
        client.delete(*names)
        client.close()


async def test_session_key_links_to_its_detail_and_back(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    expected = write_layouts(client, int(time.time() * 1000))
    client.close()
    target = expected[0]
    key = f"spring:session:sessions:{target.id}".encode()
    app = make_app(AppOptions(settings=ConnectionSettings(port=redis_clean.port)))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = await keys_tab(app, pilot)
        screen = KeyValueScreen(pane.client, key, settings=pane.settings)
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.reads > 0, "the key read")
        assert screen.session is not None
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen), "detail")
        detail = app.screen
        assert isinstance(detail, SessionDetailScreen)
        assert detail.session_id == target.id
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "back to the key")


def test_snapshot_keys_tab_and_a_hash(
    server: tuple[RedisServer, redis.Redis], snap_compare: Callable[..., bool]
) -> None:
    redis_server, client = server
    client.persist("cache:ttl")  # a ticking TTL would change the picture

    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, InspectorApp)
        pane = await keys_tab(app, pilot)
        await select(pilot, pane, b"user:")
        await pilot.press("right", "down", "right")
        await wait_until(
            pilot,
            lambda: all(pane.facts.get(k) for k in pane.tree_view.visible_keys()),
            "the facts on screen",
        )
        # The title bar names the endpoint (issue 16.8): the server's port changes per run.
        app.sub_title = app.sub_title.replace(f":{redis_server.port} ", ":PORT ")
        await pilot.pause()

    options = AppOptions(
        settings=ConnectionSettings(port=redis_server.port), clock=lambda: 1.8e9, tz=dt.UTC
    )
    app = make_app(options, MemorySource())
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_unreachable_server_is_one_line_in_the_status() -> None:
    app = make_app(AppOptions(settings=ConnectionSettings(port=free_port())), MemorySource())
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("5")
        pane = app.query_one(KeysPane)
        await wait_until(pilot, lambda: pane.scan_state is ScanState.FAILED, "the failure")
        status = pane.status_text()
        assert status.startswith("cannot list keys: ")
        assert "\n" not in status
        assert "Traceback" not in status
