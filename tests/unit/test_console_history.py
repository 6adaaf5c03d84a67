"""The console history (REPL and Console tab): which commands never enter it, and the
file: per user, 0600, in the XDG state directory, scrubbed of secrets an older
version wrote."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from inspector.redis_io.console_session import (
    ConsoleCommand,
    HistoryFile,
    console_command,
    history_path,
    is_secret,
)
from inspector.redis_io.redis_cli import split_args


def args_of(line: str) -> list[bytes]:
    args = split_args(line.encode())
    assert args is not None
    return args


@pytest.mark.parametrize(
    "line",
    [
        "AUTH s3cret",
        "auth bob s3cret",
        "HELLO 3 AUTH bob s3cret",
        "hello 3 SETNAME me auth bob s3cret",
        "MIGRATE 10.0.0.2 6379 key 0 5000 AUTH s3cret",
        "MIGRATE 10.0.0.2 6379 key 0 5000 AUTH2 bob s3cret",
        "MIGRATE 10.0.0.2 6379 key 0 5000",  # MIGRATE is never worth the risk
        "ACL SETUSER bob on >s3cret ~* +@all",
        "acl setuser bob #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
        "CONFIG SET requirepass s3cret",
        "config set masterauth s3cret",
        "CONFIG SET maxmemory 1gb requirepass s3cret",
        "CONFIG SET tls-key-file-pass s3cret",
        "SENTINEL SET mymaster auth-pass s3cret",
        "SENTINEL CONFIG SET sentinel-pass s3cret",
        "EVAL \"return redis.call('AUTH', 's3cret')\" 0",
        'EVAL "return 1" 0 password=s3cret',
        "EVALSHA 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b 0 PASSWORD s3cret",
        "EVAL_RO \"redis.call('auth', ARGV[1])\" 0 s3cret",
        "FCALL authenticate 0 bob s3cret",
        "FUNCTION LOAD \"#!lua name=x\\nredis.register_function('f', function() return redis.call('AUTH', 'x') end)\"",
        "SCRIPT LOAD \"return redis.call('AUTH', 's3cret')\"",
        "CLIENT SETINFO LIB-NAME pass:s3cret",
        "MODULE LOAD /opt/m.so apikey s3cret",
        "EVAL \"return redis.call('\\x61uth', 's3cret')\" 0",  # escaped: the unquoted bytes count
        "GET passport:42",  # the word alone is enough: better a missing line than a leak
    ],
)
def test_commands_that_may_carry_a_credential_are_secret(line: str) -> None:
    assert is_secret(args_of(line))


@pytest.mark.parametrize(
    "line",
    [
        "GET greeting",
        "HGETALL spring:session:sessions:e1237df7-5646-4382-aa12-41435ed09dc7",
        "CONFIG SET notify-keyspace-events KEA",
        "CONFIG GET maxmemory",
        'EVAL "return 1" 0',
        "ACL WHOAMI",
        "ACL LIST",
        "CLIENT LIST",
        "HELLO 3",
        "SCAN 0 MATCH spring:session:* COUNT 1000",
    ],
)
def test_ordinary_commands_are_not_secret(line: str) -> None:
    assert not is_secret(args_of(line))


def test_console_commands() -> None:
    assert console_command(args_of("exit")) == console_command(args_of("QUIT"))
    quit_command = console_command(args_of("quit"))
    assert quit_command is not None
    assert quit_command.kind is ConsoleCommand.QUIT
    switch = console_command(args_of("connect db.internal 6380"))
    assert switch is not None
    assert (switch.kind, switch.host, switch.port) == (
        ConsoleCommand.CONNECT,
        "db.internal",
        "6380",
    )
    # Other forms are the server's to answer, as in redis-cli.
    assert console_command(args_of("connect db.internal")) is None
    assert console_command(args_of("CLEAR x")) is None
    assert console_command(args_of("GET k")) is None


# ---------------------------------------------------------------- where the file is


def test_history_path_follows_xdg_and_the_override(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    state = tmp_path / "state"
    assert history_path({**home, "XDG_STATE_HOME": str(state)}) == (
        state / "session-inspector" / "history"
    )
    # The specification says to ignore a relative XDG_STATE_HOME.
    assert history_path({**home, "XDG_STATE_HOME": "relative/state"}) == (
        Path.home() / ".local" / "state" / "session-inspector" / "history"
    )
    assert history_path({"SESSION_INSPECTOR_HISTFILE": str(tmp_path / "h")}) == tmp_path / "h"


def test_default_history_path_is_under_the_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/operator")
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.delenv("SESSION_INSPECTOR_HISTFILE", raising=False)
    assert history_path() == Path("/home/operator/.local/state/session-inspector/history")


# ---------------------------------------------------------------- the file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def add(history: HistoryFile, line: str) -> bool:
    return history.add(line, split_args(line.encode()))


def test_the_file_and_its_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "session-inspector" / "history"
    history = HistoryFile(path)
    assert history.load() == []
    assert not path.exists()  # reading creates nothing
    assert add(history, "GET greeting")
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert path.read_text() == "GET greeting\n"
    assert history.problem is None


def test_secrets_and_broken_lines_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "history"
    history = HistoryFile(path)
    for line in ("GET a", "AUTH s3cret", "EVAL \"redis.call('auth','x')\" 0", "GET b"):
        add(history, line)
    assert not history.add('SET k "unterminated', None)
    assert not add(history, "")
    assert path.read_text() == "GET a\nGET b\n"
    assert history.entries == ["GET a", "GET b"]


def test_a_repeat_is_kept_once(tmp_path: Path) -> None:
    history = HistoryFile(tmp_path / "history")
    assert add(history, "PING")
    assert add(history, "PING")
    assert (tmp_path / "history").read_text() == "PING\n"


def test_a_loose_file_is_tightened_and_scrubbed_of_old_secrets(tmp_path: Path) -> None:
    # What an older version left: world-readable, with a script holding a password.
    path = tmp_path / "history"
    path.write_text("GET a\nEVAL \"return redis.call('auth', 'leaked')\" 0\nAUTH leaked\nGET b\n")
    path.chmod(0o644)
    history = HistoryFile(path)
    assert history.load() == ["GET a", "GET b"]
    assert "leaked" not in path.read_text()
    assert mode(path) == 0o600
    add(history, "GET c")
    assert path.read_text() == "GET a\nGET b\nGET c\n"


def test_the_file_keeps_its_length(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("".join(f"GET k{i}\n" for i in range(25)))
    history = HistoryFile(path, length=10)
    assert history.load() == [f"GET k{i}" for i in range(15, 25)]
    assert len(path.read_text().splitlines()) == 10
    for i in range(5):
        add(history, f"SET n{i} v")
    assert len(history.entries) == 10


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_of_another_user_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_text("GET theirs\n")
    os.chown(path, 12345, 12345)
    history = HistoryFile(path)
    assert history.load() == []
    assert history.problem is not None
    assert "belongs to user 12345" in history.problem
    assert add(history, "GET mine")  # kept in memory only
    assert path.read_text() == "GET theirs\n"


def test_an_unusable_place_keeps_the_history_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    history = HistoryFile(blocker / "history")
    assert add(history, "GET a")
    assert history.entries == ["GET a"]
    assert history.problem is not None
    assert history.problem.startswith(f"history not saved to {blocker / 'history'}")
    assert add(history, "GET b")  # no second attempt, no exception
    assert history.entries == ["GET a", "GET b"]
