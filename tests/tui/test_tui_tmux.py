"""The real command in a real terminal (tmux): sessions with their hosts, a new
request's host appearing live, and `q` to quit."""

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
