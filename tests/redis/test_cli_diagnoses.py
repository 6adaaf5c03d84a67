"""Issue 16 item 15: errors that misdiagnosed now say what happened (real servers).

An HTTP server on the port, ``HELLO 3``, ``-c`` against a standalone server,
``REDISCLI_AUTH`` against a server without a password, and ``connect`` then
``AUTH`` in the REPL. (``decode --hex`` on bad input: tests/unit/test_decode_command.py.)
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_run import ENDPOINT_VARIABLES, inspector
from tests.harness import ADMIN_PASSWORD, RedisServer
from tests.pty_session import PtySession


@pytest.fixture
def http_port() -> Iterator[int]:
    """A port where an HTTP server answers every connection with a 400, then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        # close() alone does not wake a thread blocked in accept() on Linux (the
        # join then waited its full 5 s); shutdown() does, with an OSError.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)


@pytest.mark.parametrize("command", [["ls"], ["cli", "PING"]], ids=" ".join)
def test_an_http_server_is_named(http_port: int, command: list[str]) -> None:
    result = inspector("-p", str(http_port), *command)
    err = result.stderr.decode()
    assert result.returncode == 3, err
    assert err.count("\n") == 1, err
    assert 'does not speak the Redis protocol: got "H' in err
    assert "an HTTP server" in err
    assert "type byte" not in err
    assert "Traceback" not in err


def test_hello_3_works_in_cli(redis_clean: RedisServer) -> None:
    port = str(redis_clean.port)
    hello = inspector("-p", port, "cli", "HELLO", "3")
    assert hello.returncode == 0, hello.stderr
    assert b"\nproto 3\n" in hello.stdout  # as redis-cli prints a map when piped
    assert inspector("-p", port, "cli", "--json", "HELLO", "3").stdout.startswith(b'{"server"')
    # Commands after it in the same connection read RESP3 replies.
    piped = inspector("-p", port, "cli", stdin=b"HELLO 3\nHSET h a b\nHGETALL h\nPING\n")
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.endswith(b"1\na b\nPONG\n")
    unsupported = inspector("-p", port, "cli", "HELLO", "4")
    assert b"NOPROTO" in unsupported.stdout + unsupported.stderr


def test_dash_c_against_a_standalone_server(redis_clean: RedisServer) -> None:
    result = inspector("-p", str(redis_clean.port), "-c", "ls")
    err = result.stderr.decode()
    assert result.returncode == 3
    assert f"127.0.0.1:{redis_clean.port} is not a cluster" in err
    assert "works without it" in err
    assert "Please provide at least one reachable node" not in err
    # cli -c goes on as redis-cli does: no redirect ever comes.
    assert inspector("-p", str(redis_clean.port), "cli", "-c", "PING").stdout == b"PONG\n"


def test_rediscli_auth_without_a_password_on_the_server(redis_clean: RedisServer) -> None:
    port = str(redis_clean.port)
    env = {"REDISCLI_AUTH": "stray-secret"}
    ping = inspector("-p", port, "cli", "PING", env=env)
    assert ping.returncode == 0, ping.stderr
    assert ping.stdout == b"PONG\n"
    # redis-cli's warning, word for word.
    assert ping.stderr.startswith(
        b"AUTH failed: ERR AUTH <password> called without any password configured"
    )
    listed = inspector("-p", port, "ls", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert b"AUTH failed: ERR AUTH <password>" in listed.stderr
    assert b"going on without a password" in listed.stderr
    assert b"stray-secret" not in listed.stderr + ping.stderr


def test_repl_connect_then_auth(
    redis_clean: RedisServer, redis_acl: RedisServer, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env["SESSION_INSPECTOR_HISTFILE"] = str(tmp_path / "history")
    env["TERM"] = "xterm"
    repl = PtySession(
        [sys.executable, "-m", "inspector", "-p", str(redis_clean.port), "cli"], env=env
    )
    locked = f"127.0.0.1:{redis_acl.port}> ".encode()
    try:
        repl.expect(f"127.0.0.1:{redis_clean.port}> ".encode())
        repl.send(f"connect 127.0.0.1 {redis_acl.port}\r".encode())
        repl.expect(b"requires a password: type AUTH <password>")
        repl.expect(locked)
        repl.mark()
        repl.send(b"PING\r")
        repl.expect(b"NOAUTH")
        repl.expect(locked)
        repl.mark()
        repl.send(f"AUTH {ADMIN_PASSWORD}\r".encode())
        repl.expect(b"OK\n" + locked)
        repl.mark()
        repl.send(b"PING\r")
        repl.expect(b"PONG\n" + locked)
        repl.send(b"quit\r")
        assert repl.wait() == 0
    finally:
        repl.close()
    assert b"Could not connect" not in repl.text
