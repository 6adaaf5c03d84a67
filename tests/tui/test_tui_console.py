"""The TUI console against real servers: redis-cli-identical output, history,
completion, MONITOR/SUBSCRIBE streaming and stopping, hostile values, failures.

Everything waits on workers or on a polled condition (``wait_until``), never on
a fixed sleep.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import redis
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Label, Log
from textual.worker import WorkerCancelled

from inspector.core.render import safe_text
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.widgets.console import (
    HELP,
    QUIT_HINT,
    STREAM_NOTE,
    CommandInput,
    ConsolePane,
)
from tests.harness import RedisServer, free_port, slot_owner
from tests.tui_helpers import wait_until


class ConsoleApp(App[None]):
    """Just the console, as the app embeds it."""

    def __init__(self, settings: ConnectionSettings, *, max_lines: int = 10_000) -> None:
        super().__init__()
        self.settings = settings
        self.max_lines = max_lines
        self.ran: list[ConsolePane.CommandRan] = []

    def compose(self) -> ComposeResult:
        yield ConsolePane(self.settings, max_lines=self.max_lines, id="console")

    def on_console_pane_command_ran(self, event: ConsolePane.CommandRan) -> None:
        self.ran.append(event)

    @property
    def pane(self) -> ConsolePane:
        return self.query_one(ConsolePane)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker is done and the app has processed its messages."""
    app = pilot.app
    while True:
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            continue  # a stopped stream's worker, still winding down: wait again
        break
    await pilot.pause()


async def run(pilot: Pilot[None], line: str) -> list[str]:
    """Run a line in the console; returns the lines it added (echo first)."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    start = len(app.pane.output_lines)
    app.pane.run_command(line)
    await settle(pilot)
    return list(app.pane.output_lines[start:])


def prompt_of(server: RedisServer) -> str:
    """The prompt redis-cli shows for a server on database 0 (echoed before each command)."""
    return f"127.0.0.1:{server.port}> "


@asynccontextmanager
async def console(
    settings: ConnectionSettings, *, max_lines: int = 10_000
) -> AsyncIterator[tuple[ConsoleApp, Pilot[None]]]:
    """The console running headless, once its first connect has settled (every test starts so)."""
    app = ConsoleApp(settings, max_lines=max_lines)
    async with app.run_test() as pilot:
        await settle(pilot)
        yield app, pilot


def redis_cli_lines(server: RedisServer, *args: str) -> list[str]:
    """What `redis-cli --no-raw` prints for a command, as display lines."""
    result = subprocess.run(
        [*server.redis_cli_args(), "--no-raw", *args], capture_output=True, check=True, timeout=30
    )
    lines = result.stdout.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [safe_text(line.removesuffix(b"\r").decode("utf-8", "replace")) for line in lines]


def numsub(client: redis.Redis, channel: str) -> int:
    return int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))


def activity(pane: ConsolePane) -> tuple[bool, bool]:
    """(streaming, busy), read fresh (a helper, so mypy does not keep an earlier narrowing)."""
    return pane.streaming, pane.busy


def focused(app: App[None]) -> Widget | None:
    return app.focused


def settings_for(server: RedisServer) -> ConnectionSettings:
    return ConnectionSettings(port=server.port)


@pytest.fixture
def client(redis_clean: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    yield connection
    connection.close()


# ---------------------------------------------------------------- typing and output


async def test_typed_set_and_get_print_like_redis_cli(redis_clean: RedisServer) -> None:
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        assert isinstance(app.focused, CommandInput)  # the command line, not the log
        assert str(app.query_one("#console-prompt", Label).render()) == prompt
        await pilot.press(*'SET k "a b"', "enter")
        await settle(pilot)
        await pilot.press(*"GET k", "enter")
        await settle(pilot)
        assert list(app.pane.output_lines) == [
            f'{prompt}SET k "a b"',
            "OK",
            f"{prompt}GET k",
            '"a b"',
        ]
        assert [(event.args, event.error) for event in app.ran] == [
            ((b"SET", b"k", b"a b"), False),
            ((b"GET", b"k"), False),
        ]
        assert app.query_one(CommandInput).value == ""


COMPARED = [
    ["HGETALL", "h"],
    ["LRANGE", "l", "0", "-1"],
    ["XRANGE", "s", "-", "+"],
    ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["MGET", "k1", "nosuch"],
    ["GET", "nosuch"],
    ["HLEN", "h"],
    ["SMEMBERS", "nosuch"],
    ["HGET", "l", "x"],
    ["NOSUCHCMD", "a", "b"],
    ["INFO", "cluster", "keyspace"],
]


async def test_output_is_line_for_line_redis_cli(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    client.hset("h", mapping={"f1": "v1", "f 2": 'héllo\n"q"', "bin": b"\x00\xff\x1b"})
    client.rpush("l", "a", "b c", b"\x00\xff")
    client.xadd("s", {"a": "1", "b": "2"}, id="1-1")
    client.xadd("s", {"c": "3"}, id="2-1")
    client.zadd("z", {"a": 1, "b": 2.5})
    client.set("k1", "x")
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        for argv in COMPARED:
            line = " ".join(argv)
            ours = await run(pilot, line)
            assert ours[0] == prompt + line
            assert ours[1:] == redis_cli_lines(redis_clean, *argv), line
        # The nested XRANGE reply really is nested, and INFO kept its blank line.
        xrange = redis_cli_lines(redis_clean, "XRANGE", "s", "-", "+")
        assert xrange[:2] == ['1) 1) "1-1"', '   2) 1) "a"']
        assert "" in redis_cli_lines(redis_clean, "INFO", "cluster", "keyspace")
        errors = [event.args[0] for event in app.ran if event.error]
        assert errors == [b"HGET", b"NOSUCHCMD"]


async def test_invalid_quoting_help_quit_and_clear(redis_clean: RedisServer) -> None:
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        assert await run(pilot, 'GET "open') == [f'{prompt}GET "open', "Invalid argument(s)"]
        assert app.ran[-1].args == ()
        assert app.ran[-1].error
        assert await run(pilot, "help") == [f"{prompt}help", *HELP.splitlines()]
        assert await run(pilot, "quit") == [f"{prompt}quit", QUIT_HINT]
        assert await run(pilot, "exit") == [f"{prompt}exit", QUIT_HINT]
        assert app.is_running
        app.pane.run_command("clear")
        await settle(pilot)
        assert list(app.pane.output_lines) == []
        assert await run(pilot, "PING") == [f"{prompt}PING", "PONG"]


async def test_select_changes_the_prompt(redis_clean: RedisServer) -> None:
    port = redis_clean.port
    async with console(settings_for(redis_clean)) as (app, pilot):
        assert await run(pilot, "SELECT 2") == [f"127.0.0.1:{port}> SELECT 2", "OK"]
        assert app.pane.prompt == f"127.0.0.1:{port}[2]> "
        assert str(app.query_one("#console-prompt", Label).render()) == f"127.0.0.1:{port}[2]> "
        assert await run(pilot, "DBSIZE") == [f"127.0.0.1:{port}[2]> DBSIZE", "(integer) 0"]


# ---------------------------------------------------------------- history and completion


async def test_up_and_down_walk_the_history_without_secrets(redis_clean: RedisServer) -> None:
    async with console(settings_for(redis_clean)) as (app, pilot):
        command_line = app.query_one(CommandInput)
        for line in ("PING", "ECHO hi", "AUTH secret-password"):
            await pilot.press(*line, "enter")
            await settle(pilot)
        assert list(app.pane.history) == ["PING", "ECHO hi"]
        await pilot.press(*"draft")
        await pilot.press("up")
        assert command_line.value == "ECHO hi"
        await pilot.press("up")
        assert command_line.value == "PING"
        await pilot.press("up")  # stays on the oldest
        assert command_line.value == "PING"
        await pilot.press("down")
        assert command_line.value == "ECHO hi"
        await pilot.press("down")  # back to what was being typed
        assert command_line.value == "draft"
        await pilot.press("ctrl+u", "up", "enter")
        await settle(pilot)
        assert app.pane.output_lines[-2:] == [f"{prompt_of(redis_clean)}ECHO hi", '"hi"']


async def test_tab_completes_the_command_name(redis_clean: RedisServer) -> None:
    async with console(settings_for(redis_clean)) as (app, pilot):
        command_line = app.query_one(CommandInput)
        await pilot.press(*"hgeta", "tab")
        assert command_line.value == "hgetall"
        assert app.focused is command_line
        command_line.value = ""
        await pilot.press(*"ZRANGEB", "tab")
        assert command_line.value == "ZRANGEBYLEX"
        command_line.value = ""
        await pilot.press(*"GET k", "tab")  # arguments are not completed: Tab moves on
        assert command_line.value == "GET k"
        assert isinstance(focused(app), Log)


async def test_right_arrow_accepts_the_inline_suggestion(redis_clean: RedisServer) -> None:
    async with console(settings_for(redis_clean)) as (app, pilot):
        command_line = app.query_one(CommandInput)
        await pilot.press(*"lran")
        await settle(pilot)  # the Input asks its suggester in a worker
        await pilot.press("right")
        assert command_line.value == "lrange"


# ---------------------------------------------------------------- streaming


async def test_subscribe_streams_until_ctrl_x_then_ping_works(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        pane = app.pane
        pane.run_command("SUBSCRIBE news")
        await wait_until(pilot, lambda: numsub(client, "news") == 1, "the subscription")
        await wait_until(pilot, lambda: STREAM_NOTE in pane.output_lines, "the stream note")
        assert activity(pane) == (True, True)
        # CommandRan is a message: it reaches the app a moment after the output.
        await wait_until(pilot, lambda: bool(app.ran), "the CommandRan message")
        assert [(event.args, event.error) for event in app.ran] == [
            ((b"SUBSCRIBE", b"news"), False)
        ]
        client.publish("news", "hello [b]x[/b]")
        client.publish("news", "second")
        await wait_until(pilot, lambda: '3) "second"' in pane.output_lines, "the messages")
        assert list(pane.output_lines) == [
            f"{prompt}SUBSCRIBE news",
            '1) "subscribe"',
            '2) "news"',
            "3) (integer) 1",
            STREAM_NOTE,
            '1) "message"',
            '2) "news"',
            '3) "hello [b]x[/b]"',
            '1) "message"',
            '2) "news"',
            '3) "second"',
        ]
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert activity(pane) == (False, False)
        assert pane.output_lines[-1] == "Stream stopped."
        # The subscribed connection was closed, not left subscribed.
        await wait_until(pilot, lambda: numsub(client, "news") == 0, "the unsubscription")
        assert await run(pilot, "PING") == [f"{prompt}PING", "PONG"]


async def test_a_new_command_stops_the_stream_first(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        pane = app.pane
        pane.run_command("PSUBSCRIBE n*")
        await wait_until(pilot, lambda: STREAM_NOTE in pane.output_lines, "the stream")
        await pilot.press(*"ECHO after", "enter")
        await settle(pilot)
        assert pane.output_lines[-3:] == ["Stream stopped.", f"{prompt}ECHO after", '"after"']
        assert not pane.streaming


async def test_monitor_flood_is_batched_capped_and_stopped_with_escape(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    async with console(settings_for(redis_clean), max_lines=200) as (app, pilot):
        pane = app.pane
        pane.run_command("MONITOR")
        await wait_until(pilot, lambda: STREAM_NOTE in pane.output_lines, "the stream")
        pipe = client.pipeline(transaction=False)
        for i in range(3000):
            pipe.set(f"flood:{i}", "v")
        pipe.execute()
        await wait_until(
            pilot,
            lambda: bool(pane.output_lines) and '"flood:2999"' in pane.output_lines[-1],
            "the last monitored command",
        )
        assert len(pane.output_lines) <= 200
        assert all("\x1b" not in line for line in pane.output_lines)
        await pilot.press("escape")
        await settle(pilot)
        assert pane.output_lines[-1] == "Stream stopped."
        pane.run_command("PING")  # the log is full: look at its end, not at what was added
        await settle(pilot)
        assert pane.output_lines[-2:] == [f"{prompt_of(redis_clean)}PING", "PONG"]


async def test_escape_and_ctrl_x_pass_through_when_idle(redis_clean: RedisServer) -> None:
    async with console(settings_for(redis_clean)) as (app, pilot):
        command_line = app.query_one(CommandInput)
        await pilot.press(*"GET k", "shift+home", "ctrl+x")  # Input's own "cut"
        assert command_line.value == ""
        assert not app.pane.output_lines


async def test_blocking_command_can_be_cancelled(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        pane = app.pane
        pane.run_command("BLPOP nothing 0")
        await wait_until(
            pilot,
            lambda: int(client.info("clients")["blocked_clients"]) == 1,
            "the blocked client",
        )
        assert pane.busy
        await pilot.press("ctrl+x")
        await settle(pilot)
        assert pane.output_lines[-1] == "Cancelled."
        assert app.ran[-1].error
        # The connection that still owed the BLPOP reply was dropped: RPUSH is
        # not consumed by it, and the next command gets its own reply.
        await wait_until(
            pilot,
            lambda: int(client.info("clients")["blocked_clients"]) == 0,
            "the blocked client to go",
        )
        client.rpush("nothing", "x")
        assert await run(pilot, "LLEN nothing") == [f"{prompt}LLEN nothing", "(integer) 1"]


# ---------------------------------------------------------------- hostile values


HOSTILE = b"[bold red]x[/]\x1b[2J\x00"


async def test_hostile_values_are_escaped_not_interpreted(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    client.set("hostile", HOSTILE)
    client.set("big", b"y" * 1_000_000)
    client.set("bigger", (HOSTILE * 60_000)[:1_000_000])  # escapes take it past the cut
    async with console(settings_for(redis_clean)) as (app, pilot):
        lines = await run(pilot, "GET hostile")
        assert lines[1] == r'"[bold red]x[/]\x1b[2J\x00"'
        # A server error that echoes raw bytes (unknown command name with ESC).
        lines = await run(pilot, r'"\x1b[2J[bold]x" a')
        assert lines[1].startswith(r"(error) ERR unknown command '\x1b[2J[bold]x'")
        # Control characters in the typed line itself (the command palette).
        lines = await run(pilot, "ECHO \x1b[31mred\x07")
        assert lines[0].endswith(r"ECHO \x1b[31mred\x07")
        assert lines[1] == r'"\x1b[31mred\a"'
        lines = await run(pilot, "GET big")
        assert lines[1] == '"' + "y" * 1_000_000 + '"'
        lines = await run(pilot, "GET bigger")
        assert lines[1].startswith(r'"[bold red]x[/]\x1b[2J\x00[bold red]')
        assert lines[1].endswith("bytes in all)")
        assert len(lines[1]) < 1_100_000
        for line in app.pane.output_lines:
            assert not set(line) & {"\x1b", "\x00", "\x07"}
        assert await run(pilot, "PING") == [f"{prompt_of(redis_clean)}PING", "PONG"]
        # The screen renders the brackets as text (no markup was applied).
        app.query_one(Log).scroll_home(animate=False)
        await pilot.pause()
        assert "[bold&#160;red]x[/]" in app.export_screenshot()


# ---------------------------------------------------------------- failures and servers


async def test_unreachable_server_shows_errors_and_stays_usable(redis_clean: RedisServer) -> None:
    nowhere = ConnectionSettings(port=free_port())  # nothing listens on the port
    async with console(nowhere) as (app, pilot):
        pane = app.pane
        assert pane.output_lines[0].startswith("Could not connect: could not connect to Redis at")
        assert pane.prompt == "not connected> "
        lines = await run(pilot, "PING")
        assert lines[0] == "not connected> PING"
        assert len(lines) == 2
        assert lines[1].startswith("Error: could not connect to Redis at")
        assert app.ran[-1].error
        # The REPL's `connect HOST PORT` switches to a working server.
        lines = await run(pilot, f"connect 127.0.0.1 {redis_clean.port}")
        assert lines == [f"not connected> connect 127.0.0.1 {redis_clean.port}"]
        assert await run(pilot, "PING") == [f"{prompt_of(redis_clean)}PING", "PONG"]


async def test_reconnects_after_the_connection_is_killed(
    redis_clean: RedisServer, client: redis.Redis
) -> None:
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        assert await run(pilot, "CLIENT SETNAME console") == [
            f"{prompt}CLIENT SETNAME console",
            "OK",
        ]
        client.execute_command("CLIENT", "KILL", "SKIPME", "yes")
        lines = await run(pilot, "PING")
        assert lines[0] == f"{prompt}PING"
        assert len(lines) == 2
        assert lines[1].startswith("Error: ")
        assert app.pane.prompt == "not connected> "  # as redis-cli shows it
        assert await run(pilot, "PING") == ["not connected> PING", "PONG"]
        assert app.pane.prompt == prompt


async def test_cluster_redirects_print_like_redis_cli(redis_cluster: list[RedisServer]) -> None:
    first = redis_cluster[0]
    async with console(settings_for(first)) as (app, pilot):
        # `foo` hashes to slot 12182, which the first primary does not own.
        lines = await run(pilot, "SET foo bar")
        owner_port = slot_owner(redis_cluster, 12182).port
        assert lines == [
            f"127.0.0.1:{first.port}> SET foo bar",
            f"-> Redirected to slot [12182] located at 127.0.0.1:{owner_port}",
            "OK",
        ]
        assert app.pane.prompt == f"127.0.0.1:{owner_port}> "
        assert await run(pilot, "GET foo") == [f"127.0.0.1:{owner_port}> GET foo", '"bar"']


async def test_help_topics_and_repeats_are_the_repls(redis_clean: RedisServer) -> None:
    # The console model is the REPL's (inspector.redis_io.console_session):
    # help TOPIC from the server's COMMAND DOCS, redis-cli's N COMMAND repeats.
    prompt = prompt_of(redis_clean)
    async with console(settings_for(redis_clean)) as (app, pilot):
        lines = await run(pilot, "help GET")
        assert lines[0] == f"{prompt}help GET"
        assert "GET key" in "\n".join(lines[1:])
        assert not any("\x1b" in line for line in lines)  # plain text: the screen styles it
        assert await run(pilot, "3 PING") == [f"{prompt}3 PING", "PONG", "PONG", "PONG"]
        assert await run(pilot, "0 PING") == [
            f"{prompt}0 PING",
            "Invalid redis-cli repeat command option value.",
        ]
        assert list(app.pane.history)[-3:] == ["help GET", "3 PING", "0 PING"]
