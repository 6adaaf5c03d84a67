"""The real command in a real terminal (tmux): sessions with their hosts, a new
request's host appearing live, and `q` to quit; the layout at 80x24 and below (issue 16.7)."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.harness import RedisServer
from tests.spring_layouts import write_layouts, write_request
from tests.tmux import Tmux


@pytest.fixture
def tmux_app(redis_clean: RedisServer) -> Iterator[tuple[Tmux, redis.Redis]]:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    client.config_set("notify-keyspace-events", "KEA")
    write_layouts(client, int(time.time() * 1000))
    command = f"{sys.executable} -m inspector -p {redis_clean.port}; echo EXITED=$?; sleep 30"
    terminal = Tmux(command)
    yield terminal, client
    terminal.close()
    client.config_set("notify-keyspace-events", "")
    client.close()


def test_sessions_hosts_live_change_and_quit(tmux_app: tuple[Tmux, redis.Redis]) -> None:
    terminal, client = tmux_app
    terminal.wait_for(
        "SESSION", "container-1", "container-2", "c95883d5424d", "10 sessions"
    )  # and express
    write_request(client, str(uuid.uuid4()), "container-9")
    terminal.wait_for("container-9", "11 sessions")
    terminal.keys("2")
    terminal.wait_for("Requests (1)", "container-9")
    terminal.keys("q")
    terminal.wait_for("EXITED=0")


def test_the_layout_at_80x24_and_below_the_minimum(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    write_layouts(client, int(time.time() * 1000))
    command = f"{sys.executable} -m inspector -p {redis_clean.port}; echo EXITED=$?; sleep 30"
    terminal = Tmux(command, width=80, height=24)
    try:
        # What an operator needs first, visible at once; the rest to the right.
        terminal.wait_for("SESSION", "HOST", "ACCESSED", "STATE", "TTL", "10 sessions")
        screen = terminal.wait_for("more columns")
        assert "container-1" in screen
        assert "CREATED" not in screen
        terminal.keys("Right", "Right", "Right", "Right", "Right", "Right")
        terminal.wait_for("SIZE", "CREATED", "SESSION")
        terminal.keys("Home", "Left", "Left", "Left", "Left", "Left", "Left")
        terminal.wait_for("HOST", "ACCESSED")
        # The newest session (a Spring one): its detail's footer and hex dump fit.
        sid = str(uuid.uuid4())
        write_request(client, sid, "container-9")
        terminal.wait_for("container-9", "11 sessions")
        terminal.keys("Home", "Enter")
        screen = terminal.wait_for(sid, "esc Back", "d Delete", "? Help")
        terminal.keys("r", "Tab", "End")
        # Whole 8-byte rows, text column included, once the detail's layout
        # has settled (its first frame may be drawn at a width it then loses).
        terminal.wait_for_match(r"00000000: (?:[0-9a-f]{4} ){3}[0-9a-f]{4}  .{8}")
        terminal.keys("Escape")
        terminal.wait_for("11 sessions")
        # Below the minimum: one clear line instead of a garbled layout.
        terminal.resize(50, 12)
        terminal.wait_for("terminal too small (50\u00d712, needs 60\u00d715)")
        terminal.resize(80, 24)
        terminal.wait_for("SESSION", "11 sessions")
        terminal.keys("q")
        terminal.wait_for("EXITED=0")
    finally:
        terminal.close()
        client.close()
