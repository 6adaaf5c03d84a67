"""Saved connection profiles against real servers (issue 16.14): an ACL user whose password
comes from an environment variable, a 0600 file or a command; mutual TLS from a profile;
the profile over the environment; `profiles` listing; the TUI with --profile (tmux)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.cli_run import inspector
from tests.conftest import _serve
from tests.harness import (
    ACL_READER_PASSWORD,
    ACL_READER_USER,
    ADMIN_PASSWORD,
    RedisServer,
    TLSFiles,
    start_acl_server,
)
from tests.spring_layouts import write_layouts
from tests.tmux import Tmux


@pytest.fixture(scope="module")
def acl_with_sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of its own (the shared ACL one stays empty): sessions, a read-only user."""
    directory = tmp_path_factory.mktemp("profiles-acl")
    for server in _serve(lambda: start_acl_server(directory)):
        admin = redis.Redis(host=server.host, port=server.port, password=ADMIN_PASSWORD)
        write_layouts(admin, int(time.time() * 1000))
        admin.set("profiles:probe", "through-the-profile")
        admin.close()
        yield server


@pytest.fixture
def config(tmp_path: Path, acl_with_sessions: RedisServer) -> tuple[dict[str, str], Path]:
    """profiles.toml under a private XDG_CONFIG_HOME, one profile per secret form."""
    directory = tmp_path / "session-inspector"
    directory.mkdir()
    secret = directory / "reader.pass"
    secret.write_text(f"{ACL_READER_PASSWORD}\n")
    secret.chmod(0o600)
    port = acl_with_sessions.port
    (directory / "profiles.toml").write_text(
        f"""
[by-env]
port = {port}
user = "{ACL_READER_USER}"
password_env = "READER_PW"

[by-file]
url = "redis://{ACL_READER_USER}@127.0.0.1:{port}"
password_file = "reader.pass"

[by-command]
host = "127.0.0.1"
port = {port}
user = "{ACL_READER_USER}"
password_command = "cat '{secret}'"
"""
    )
    return {"XDG_CONFIG_HOME": str(tmp_path), "READER_PW": ACL_READER_PASSWORD}, secret


@pytest.mark.parametrize("profile", ["by-env", "by-file", "by-command"])
def test_an_acl_user_connects_through_each_secret_form(
    config: tuple[dict[str, str], Path], profile: str
) -> None:
    env, _ = config
    result = inspector("--profile", profile, "cli", "GET", "profiles:probe", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"through-the-profile\n"
    assert result.stderr == b""  # no "password on the command line" warning
    # The user is the profile's: a write is refused as for the read-only user.
    refused = inspector("--profile", profile, "cli", "-e", "SET", "profiles:probe", "x", env=env)
    assert refused.returncode != 0
    assert b"NOPERM" in refused.stdout + refused.stderr


def test_session_commands_and_the_profile_variable(config: tuple[dict[str, str], Path]) -> None:
    env, _ = config
    listed = inspector("ls", env={**env, "SESSION_INSPECTOR_PROFILE": "by-file"})
    assert listed.returncode == 0, listed.stderr
    assert b"container-1" in listed.stdout


def test_the_profile_beats_the_environment_and_flags_beat_the_profile(
    config: tuple[dict[str, str], Path], acl_with_sessions: RedisServer
) -> None:
    env, _ = config
    ambient = {**env, "REDISCLI_AUTH": "wrong", "REDISCLUSTERENDPOINT": "127.0.0.1:1"}
    through = inspector("--profile", "by-env", "cli", "PING", env=ambient)
    assert through.returncode == 0, through.stderr
    assert through.stdout == b"PONG\n"
    # A typed password beats the profile's: the server refuses it.
    typed = inspector(
        "--profile", "by-env", "-a", "wrong", "--no-auth-warning", "cli", "PING", env=env
    )
    assert typed.returncode == 3, typed.stderr
    assert f"authentication failed at 127.0.0.1:{acl_with_sessions.port} for user 'reader'" in (
        typed.stderr.decode()
    )


def test_a_group_readable_password_file_is_refused_before_connecting(
    config: tuple[dict[str, str], Path],
) -> None:
    env, secret = config
    secret.chmod(0o640)
    result = inspector("--profile", "by-file", "cli", "PING", env=env)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert err.count("\n") == 1, err
    assert f"password_file {secret} is readable or writable by others (mode 0640)" in err
    assert ACL_READER_PASSWORD not in err
    assert result.stdout == b""


def test_mutual_tls_from_a_profile(
    tmp_path: Path, redis_mtls: RedisServer, tls_files: TLSFiles
) -> None:
    directory = tmp_path / "session-inspector"
    directory.mkdir()
    (directory / "profiles.toml").write_text(
        f"""
[mtls]
host = "localhost"
port = {redis_mtls.client_port}
tls = true
cacert = "{tls_files.ca_cert}"
cert = "{tls_files.client_cert}"
key = "{tls_files.client_key}"
timeout = 10
"""
    )
    result = inspector("--profile", "mtls", "cli", "PING", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"PONG\n"


def test_profiles_lists_them_without_secrets(config: tuple[dict[str, str], Path]) -> None:
    env, secret = config
    result = inspector("profiles", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert ACL_READER_PASSWORD not in out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert list(rows) == ["by-env", "by-file", "by-command"]
    assert rows["by-env"].endswith("env READER_PW")
    assert rows["by-file"].endswith(f"file {secret}")
    assert rows["by-command"].endswith(f"command: cat '{secret}'")
    assert all(f" {ACL_READER_USER} " in row for row in rows.values())


def test_the_tui_opens_a_profile(
    config: tuple[dict[str, str], Path], acl_with_sessions: RedisServer
) -> None:
    env, _ = config
    exports = " ".join(f"{name}={value}" for name, value in env.items())
    command = (
        f"env {exports} {sys.executable} -m inspector --profile by-env; echo EXITED=$?; sleep 30"
    )
    terminal = Tmux(command)
    try:
        terminal.wait_for("SESSION", "container-1", "10 sessions")
        terminal.keys("q")
        terminal.wait_for("EXITED=0")
    finally:
        terminal.close()
