"""The Keys tab in a real 80x24 terminal (tmux) on a million keys: the first tree level
appears while the scan runs, the scan finishes, folders open, a key's value opens and
closes, paging through a 600,000-key folder, and `q` quits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.harness import RedisServer, start_redis_server
from tests.tmux import Tmux
from tests.tui_helpers import WAIT_SECONDS

KEYS = 1_000_000


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private server holding 1M keys: 600k session-shaped names, 200k shadows, 200k users."""
    directory = tmp_path_factory.mktemp("keys-1m")
    server = start_redis_server(Path(directory), "--enable-debug-command", "local", "--save", "")
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    # DEBUG POPULATE writes N string keys "<prefix>:<i>" inside the server: a
    # million in about a second, no client round trips.
    client.execute_command("DEBUG", "POPULATE", 600_000, "spring:session:sessions", 16)
    client.execute_command("DEBUG", "POPULATE", 200_000, "spring:session:sessions:expires", 8)
    client.execute_command("DEBUG", "POPULATE", 200_000, "user:profile", 32)
    assert client.dbsize() == KEYS
    client.close()
    yield server
    server.stop()


@pytest.mark.slow
def test_keys_tab_at_80x24_on_a_million_keys(million: RedisServer) -> None:
    command = f"{sys.executable} -m inspector -p {million.port}; echo EXITED=$?; sleep 30"
    terminal = Tmux(command, width=80, height=24)
    try:
        terminal.wait_for("Sessions", "Keys")
        terminal.keys("5")
        # The first level, with its (growing) counts, before or after the scan ends.
        terminal.wait_for("▸ spring:", "▸ user:", "keys")
        screen = terminal.wait_for("1,000,000 keys in", timeout=6 * WAIT_SECONDS)
        assert "800,000 keys" in screen
        assert "200,000 keys" in screen
        # spring: → session: → sessions: (800,000 keys under it, read a page at a time).
        terminal.keys("Right")
        terminal.wait_for("▾ spring:", "▸ session:")
        terminal.keys("Right", "Right")
        terminal.wait_for("▾ session:", "▸ sessions:")
        terminal.keys("Right", "Right")
        screen = terminal.wait_for("▾ sessions:", "string")
        assert "embstr" in screen
        # Paging down far past the first page of 200 children.
        terminal.keys(*["PageDown"] * 20)
        # ~320 children down: the second page was read on the way (no "… more" line
        # stopped the cursor, and it did not jump past the folder to user:).
        screen = terminal.wait_for("string", "1002")
        assert "100005 " not in screen
        assert "… more" not in screen
        assert "user:" not in screen
        # Enter opens the key: its facts and decoded value; Escape comes back.
        terminal.keys("Enter")
        screen = terminal.wait_for("MEMORY USAGE", "16 bytes")
        assert "spring:session:sessions:" in screen
        terminal.keys("Escape")
        terminal.wait_for("ENCODING", "1,000,000 keys")
        terminal.keys("Home")
        terminal.wait_for("▾ spring:", "▾ sessions:", "100005")
        terminal.keys("q")
        terminal.wait_for("EXITED=0")
    finally:
        terminal.close()
