"""The real command in a real terminal (tmux): sessions with their hosts, a new
request's host appearing live, and `q` to quit."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from inspector.sample_app.store import sample_session_json
from tests.harness import RedisServer
from tests.spring_layouts import write_layouts


class Tmux:
    """A private tmux server (its own socket) running one window."""

    def __init__(self, command: str, width: int = 120, height: int = 36) -> None:
        self.socket = f"si-test-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            [
                "tmux",
                "-L",
                self.socket,
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, "capture-pane", "-p", "-t", "main"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    def wait_for(self, *needles: str, timeout: float = 30.0) -> str:
        """Wait until the terminal shows every needle (the terminal is polled; no fixed sleeps)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if all(needle in text for needle in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {needles} on screen:\n{text}")
            time.sleep(0.1)  # between two looks at the terminal

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, "send-keys", "-t", "main", *keys], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True)


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
    terminal.wait_for("SESSION", "container-1", "container-2", "c95883d5424d", "9 sessions")
    sid = str(uuid.uuid4())
    now = int(time.time() * 1000)
    client.hset(f"spring:session:sessions:{sid}", mapping={
        "creationTime": str(now).encode(), "lastAccessedTime": str(now).encode(),
        "maxInactiveInterval": b"1800",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json("container-9", now),
    })  # fmt: skip
    terminal.wait_for("container-9", "10 sessions")
    terminal.keys("2")
    terminal.wait_for("Requests (1)", "container-9")
    terminal.keys("q")
    terminal.wait_for("EXITED=0")
