"""MONITOR/SUBSCRIBE streaming and the interactive REPL (driven on a pty)."""

from __future__ import annotations

import os
import re
import select
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from inspector.redis_io.console_session import HISTORY_ENV
from tests.cli_run import ENDPOINT_VARIABLES
from tests.harness import ADMIN_PASSWORD, RedisServer, free_port, key_on, key_slot
from tests.pty_session import PtySession
from tests.waiting import poll_until

_pending: dict[int, bytes] = {}


def read_lines(process: subprocess.Popen[bytes], count: int, timeout: float = 15.0) -> list[bytes]:
    """Read `count` lines from a child's stdout, waiting on the pipe (no sleeps).

    Bytes past the last line read are kept for the next call.
    """
    assert process.stdout is not None
    fd = process.stdout.fileno()
    buffer = _pending.pop(process.pid, b"")
    deadline = time.monotonic() + timeout
    while buffer.count(b"\n") < count:
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(remaining, 0))
        if not ready:
            raise AssertionError(f"only got {buffer!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"stream ended after {buffer!r}")
        buffer += chunk
    lines = buffer.split(b"\n")
    _pending[process.pid] = b"\n".join(lines[count:])
    return lines[:count]


def spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    """Kill if still running, close the pipes; returns (exit code, rest of stderr)."""
    if process.poll() is None:
        process.kill()
    _, err = process.communicate(timeout=15)
    return process.returncode, err


@pytest.fixture
def publisher(redis_standalone: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(**redis_standalone.client_kwargs())  # type: ignore[arg-type]
    yield client
    client.close()


def wait_for_subscribers(client: redis.Redis, channel: str, count: int) -> None:
    poll_until(
        lambda: dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) >= count,
        "subscribers never arrived",
    )


@pytest.mark.parametrize("mode", ["--no-raw", "--raw"])
def test_subscribe_streams_like_redis_cli(
    redis_standalone: RedisServer, publisher: redis.Redis, mode: str
) -> None:
    channel = f"news{mode}"
    port = str(redis_standalone.port)
    ours = spawn(sys.executable, "-m", "inspector", "-p", port, "cli", mode, "SUBSCRIBE", channel)
    theirs = spawn("redis-cli", "-p", port, mode, "SUBSCRIBE", channel)
    try:
        wait_for_subscribers(publisher, channel, 2)
        publisher.publish(channel, b'hello "world"\n\xff')
        expected_lines = 7 if mode == "--no-raw" else 6  # banner, confirmation, message
        assert read_lines(ours, expected_lines) == read_lines(theirs, expected_lines)
        ours.send_signal(signal.SIGINT)
        assert ours.wait(timeout=15) == 130
        assert finish(ours) == (130, b"")
    finally:
        finish(ours)
        finish(theirs)


def test_monitor_streams_commands(redis_standalone: RedisServer, publisher: redis.Redis) -> None:
    port = str(redis_standalone.port)
    ours = spawn(sys.executable, "-m", "inspector", "-p", port, "cli", "--no-raw", "MONITOR")
    try:
        assert read_lines(ours, 1) == [b"OK"]
        publisher.set("monitored key", 'v"1')
        line = b""
        while b"monitored key" not in line:  # the publisher's handshake shows up first
            line = read_lines(ours, 1)[0]
        assert re.fullmatch(
            rb'\d+\.\d+ \[0 127\.0\.0\.1:\d+\] "SET" "monitored key" "v\\"1"', line
        ), line
        ours.send_signal(signal.SIGINT)
        ours.wait(timeout=15)
        assert finish(ours) == (130, b"")
    finally:
        finish(ours)


@pytest.fixture
def repl_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env["SESSION_INSPECTOR_HISTFILE"] = str(tmp_path / "history")
    env["TERM"] = "xterm"
    return env


def start_repl(port: int, env: dict[str, str], *flags: str) -> PtySession:
    return PtySession([sys.executable, "-m", "inspector", "-p", str(port), *flags, "cli"], env=env)


def test_repl_prompt_commands_completion_history(
    redis_clean: RedisServer, repl_env: dict[str, str]
) -> None:
    port = redis_clean.port
    prompt = f"127.0.0.1:{port}> ".encode()
    repl = start_repl(port, repl_env)
    try:
        repl.expect(prompt)
        repl.mark()
        repl.send(b'SET greeting "hello world"\r')
        repl.expect(b"OK\n" + prompt)
        repl.mark()
        repl.send(b"GET greeting\r")
        repl.expect(b'"hello world"\n' + prompt)
        # Tab completes the command name, keeping the case typed.
        repl.mark()
        repl.send(b"hgeta\t")
        repl.expect(b"hgetall")
        repl.send(b" nohash\r")
        repl.expect(b"(empty array)\n" + prompt)
        # Up arrow brings back the last command.
        repl.mark()
        repl.send(b"\x1b[A\r")
        repl.expect(b"(empty array)\n" + prompt)
        # SELECT shows in the prompt, as in redis-cli.
        repl.mark()
        repl.send(b"SELECT 2\r")
        repl.expect(f"OK\n127.0.0.1:{port}[2]> ".encode())
        repl.send(b'SET k "unterminated\r')
        repl.expect(b"Invalid argument(s)")
        repl.send(b"AUTH not-in-history\r")
        repl.expect(b"(error)")
        repl.send(b"quit\r")
        assert repl.wait() == 0
    finally:
        repl.close()
    history = Path(repl_env["SESSION_INSPECTOR_HISTFILE"]).read_text()
    assert "GET greeting" in history
    assert "hgetall nohash" in history
    assert "not-in-history" not in history


def test_repl_history_is_private_per_user_and_keeps_no_secret(
    redis_clean: RedisServer, tmp_path: Path
) -> None:
    # No override: the XDG state directory. A world-readable file with a
    # password in it is there (copied by hand, written by an older version).
    env = {k: v for k, v in os.environ.items() if k not in (*ENDPOINT_VARIABLES, HISTORY_ENV)}
    env.update(TERM="xterm", HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(tmp_path / "state"))
    history = tmp_path / "state" / "session-inspector" / "history"
    history.parent.mkdir(parents=True, mode=0o700)
    history.write_text("GET from-last-time\nAUTH old-secret\n")
    history.chmod(0o644)
    port = redis_clean.port
    prompt = f"127.0.0.1:{port}> ".encode()
    # Each refused or harmless on the test server, so none changes it.
    secrets = [
        (b"AUTH typed-secret", b"(error)"),
        (b"HELLO 3 AUTH nosuchuser hello-secret", b"(error) WRONGPASS"),
        (b"EVAL \"return redis.call('AUTH', 'eval-secret')\" 0", b"(error)"),
        (b"MIGRATE 127.0.0.1 1 nokey 0 100 AUTH migrate-secret", b"NOKEY"),
        (b"ACL SETUSER nobody >acl-secret not-a-rule", b"(error)"),
        (b"CONFIG SET requirepass", b"(error)"),  # wrong arity
    ]
    repl = start_repl(port, env)
    try:
        repl.expect(prompt)
        # The last session's command is there; its secret is not.
        repl.mark()
        repl.send(b"\x1b[A\r")
        repl.expect(b"(nil)\n" + prompt)
        for line, reply in secrets:
            repl.mark()
            repl.send(line + b"\r")
            repl.expect(reply)
            repl.expect(prompt)
        repl.mark()
        repl.send(b"ECHO kept\r")
        repl.expect(b'"kept"\n' + prompt)
        # Up walks back past the secrets: they are not even in memory.
        repl.mark()
        repl.send(b"\x1b[A\x1b[A\r")
        repl.expect(b"(nil)\n" + prompt)
        repl.send(b"quit\r")
        assert repl.wait() == 0
    finally:
        repl.close()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert history.read_text() == "GET from-last-time\nECHO kept\nGET from-last-time\nquit\n"
    assert not (tmp_path / "home" / ".session_inspector_history").exists()


def test_repl_ctrl_c_stops_a_blocking_command(
    redis_clean: RedisServer, repl_env: dict[str, str]
) -> None:
    prompt = f"127.0.0.1:{redis_clean.port}> ".encode()
    repl = start_repl(redis_clean.port, repl_env)
    try:
        repl.expect(prompt)
        repl.mark()
        repl.send(b"BLPOP nothing 0\r")
        client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
        poll_until(
            lambda: b"cmd=blpop" in client.execute_command("CLIENT", "LIST"),
            "the REPL never sent its BLPOP",
        )
        client.close()
        repl.send(b"\x03")  # Ctrl-C, as the terminal delivers it
        repl.expect(prompt)
        repl.mark()
        repl.send(b"PING\r")
        repl.expect(b"PONG\n" + prompt)
        repl.send(b"\x04")  # Ctrl-D leaves
        assert repl.wait() == 0
    finally:
        repl.close()


def test_repl_follows_cluster_redirects_and_says_so(
    redis_cluster: list[RedisServer], repl_env: dict[str, str]
) -> None:
    entry = redis_cluster[0]
    # A key another primary serves: setting it through the entry node needs a redirect.
    key = key_on(redis_cluster, redis_cluster[1], "k")
    slot = key_slot(key)
    repl = start_repl(entry.port, repl_env, "-c")
    try:
        repl.expect(f"127.0.0.1:{entry.port}> ".encode())
        repl.mark()
        repl.send(f"SET {key} v\r".encode())
        text = repl.expect(b"OK\n")
        match = re.search(rb"-> Redirected to slot \[(\d+)\] located at 127\.0\.0\.1:(\d+)\n", text)
        assert match
        assert int(match[1]) == slot
        repl.expect(f"127.0.0.1:{int(match[2])}> ".encode())
        repl.send(b"quit\r")
        assert repl.wait() == 0
    finally:
        repl.close()


def test_repl_starts_not_connected_when_the_server_is_down(repl_env: dict[str, str]) -> None:
    repl = start_repl(free_port(), repl_env)  # nothing listens on it
    try:
        repl.expect(b"Could not connect: could not connect to Redis at")
        repl.expect(b"not connected> ")
        repl.send(b"quit\r")
        assert repl.wait() == 0
    finally:
        repl.close()


def test_repl_with_password_from_environment(
    redis_acl: RedisServer, repl_env: dict[str, str]
) -> None:
    repl = start_repl(redis_acl.port, {**repl_env, "REDISCLI_AUTH": ADMIN_PASSWORD})
    try:
        repl.expect(f"127.0.0.1:{redis_acl.port}> ".encode())
        repl.send(b"PING\r")
        repl.expect(b"PONG")
        repl.send(b"exit\r")
        assert repl.wait() == 0
    finally:
        repl.close()
