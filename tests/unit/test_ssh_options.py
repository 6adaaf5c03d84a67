"""`--ssh` and its options: parsing, settings, usage errors, help; no server, no sshd."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inspector import cli
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.settings import (
    ConnectionSettings,
    SettingsError,
    SSHSettings,
    parse_ssh_target,
    resolve_ssh,
    with_endpoint,
    with_ssh,
)
from inspector.sample_app.demo import DemoOptions
from inspector.subcommands import demo, options, outcome


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bastion", (None, "bastion", None)),
        ("ec2-user@bastion", ("ec2-user", "bastion", None)),
        ("ec2-user@10.0.0.5:2222", ("ec2-user", "10.0.0.5", 2222)),
        ("[fe80::1]:22", (None, "fe80::1", 22)),
        ("admin@[2001:db8::7]", ("admin", "2001:db8::7", None)),
        ("2001:db8::7", (None, "2001:db8::7", None)),
        ("me@corp.example@jump", ("me@corp.example", "jump", None)),
    ],
)
def test_targets_parse_as_ssh_reads_them(
    text: str, expected: tuple[str | None, str, int | None]
) -> None:
    assert parse_ssh_target(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no host"),
        ("user@", "no host"),
        ("@bastion", "empty user name"),
        ("bastion:0", "out of range"),
        ("bastion:ssh", "not a number"),
        ("[::1", "IPv6"),
    ],
)
def test_bad_targets_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_ssh_target(text)


def test_secrets_come_from_the_environment_and_never_show(tmp_path: Path) -> None:
    key = tmp_path / "id"
    key.write_text("x")
    ssh = resolve_ssh(
        "u@b:2200",
        {"SSH_PASSWORD": "pw-secret", "SSH_KEY_PASSPHRASE": "pp-secret"},
        keys=[str(key)],
        accept_new=True,
        connect_timeout=7,
    )
    assert (ssh.user, ssh.host, ssh.port, ssh.keys) == ("u", "b", 2200, (key,))
    assert (ssh.password, ssh.passphrase, ssh.accept_new, ssh.connect_timeout) == (
        "pw-secret", "pp-secret", True, 7
    )  # fmt: skip
    assert "pw-secret" not in repr(ssh)
    assert "pp-secret" not in repr(ssh)
    assert ssh.target == "u@b:2200"
    assert SSHSettings(host="::1").target == "[::1]"


def test_unreadable_key_and_config_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"--ssh-key .*no such file"):
        resolve_ssh("b", {}, keys=[str(tmp_path / "missing")])
    with pytest.raises(SettingsError, match=r"--ssh-config .*no such file"):
        resolve_ssh("b", {}, config=str(tmp_path / "missing"))


def test_the_tunnel_follows_redirects_and_is_refused_for_sockets() -> None:
    ssh = SSHSettings(host="bastion")
    settings = with_ssh(ConnectionSettings(host="clustercfg.x.cache.amazonaws.com"), ssh)
    # A MOVED or a per-primary client keeps going through the same bastion.
    assert with_endpoint(settings, "node-2.internal", 6380).ssh is ssh
    with pytest.raises(SettingsError, match="not -s"):
        with_ssh(ConnectionSettings(socket="/tmp/redis.sock"), ssh)


def test_failures_explained_in_the_tunnel_survive_redis_py_wrapping() -> None:
    explained = Failure(Problem.SSH_FORWARDING, "SSH bastion b:22 refused to forward to r:6379")
    wrapped = ConnectionError("Error connecting")
    wrapped.__cause__ = explained  # what `raise ConnectionError(...) from exc` leaves
    assert describe_failure(wrapped, ConnectionSettings()) is explained
    for problem in (
        Problem.SSH_UNREACHABLE,
        Problem.SSH_HOST_KEY,
        Problem.SSH_AUTH,
        Problem.SSH_LOST,
    ):
        assert problem.exit_code == 3


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_the_ssh_options_with_the_connection_options() -> None:
    out = run("--help").stdout
    for option in (
        "--ssh [USER@]HOST[:PORT]",
        "--ssh-key FILE",
        "--ssh-config FILE",
        "--ssh-accept-new",
    ):
        assert option in out
    assert out.index("--ssh ") > out.index("--cacert")  # after redis-cli's, before "other"
    assert out.index("--ssh ") < out.index("--version")
    assert "SSH_PASSWORD" in out
    assert "SSH_KEY_PASSPHRASE" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ssh-key", "k", "cli", "PING"], "--ssh-key is an SSH option: add --ssh"),
        (["--ssh-accept-new", "ls"], "--ssh-accept-new is an SSH option"),
        (["--ssh", "b", "-s", "/tmp/x.sock", "cli", "PING"], "--ssh forwards TCP connections"),
        (["--ssh", "b", "demo"], "the embedded demo is local"),
        (["--ssh", "b:99999", "ls"], "out of range"),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_demo_on_a_server_behind_a_bastion(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[DemoOptions] = []
    opened: list[ConnectionSettings] = []

    def record(options: DemoOptions) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(demo, "run_demo", record)
    monkeypatch.setattr(options, "open_tunnel_for", opened.append)
    monkeypatch.setattr(outcome, "has_terminal", lambda: True)
    assert cli.main(["--ssh", "ops@bastion", "demo", "--redis", "redis://redis.internal"]) == 0
    settings = calls[0].redis
    assert settings is not None
    assert (settings.host, settings.ssh) == ("redis.internal", SSHSettings("bastion", user="ops"))
    assert opened == [settings]  # connected before the demo starts
