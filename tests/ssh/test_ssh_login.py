"""Logging in to the bastion (keys, config, ProxyJump, agent, secrets), host keys, each failing hop."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_run import ENDPOINT_VARIABLES, inspector
from tests.harness import RedisServer, free_port
from tests.pty_session import PtySession
from tests.ssh.conftest import BASTION_PORT, KEY_PASSPHRASE
from tests.sshd import USER_PASSWORD, Namespace, SSHServer, SSHUser, ssh_flags, ssh_keygen
from tests.waiting import poll_until

PROG = b"session-inspector: "


def ping(
    server: RedisServer, *flags: str, env: dict[str, str], host: str = "redis.internal"
) -> subprocess.CompletedProcess[bytes]:
    return inspector(*flags, "-h", host, "-p", str(server.port), "cli", "PING", env=env)


def one_line(result: subprocess.CompletedProcess[bytes]) -> bytes:
    """The single stderr line of a failed run (exit 3), without the program name."""
    assert result.returncode == 3, result
    assert result.stdout == b""
    assert result.stderr.startswith(PROG)
    assert result.stderr.count(b"\n") == 1, result.stderr
    return result.stderr.removeprefix(PROG).rstrip(b"\n")


def fingerprint(public_key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(public_key)], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[1]  # SHA256:...


@pytest.fixture
def fresh_home(tmp_path: Path, ssh_user: SSHUser) -> Path:
    """A HOME whose .ssh has the user's keys but no known_hosts and no config."""
    home = tmp_path / "home"
    dot_ssh = home / ".ssh"
    dot_ssh.mkdir(parents=True, mode=0o700)
    for key in (ssh_user.key, ssh_user.encrypted_key):
        shutil.copy(key, dot_ssh / key.name)
        shutil.copy(f"{key}.pub", dot_ssh / f"{key.name}.pub")
    return home


# ----------------------------------------------------------------------------- host keys


def test_unknown_host_key_is_refused_with_its_fingerprint(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer, fresh_home: Path
) -> None:
    env = {"HOME": str(fresh_home), "SSH_AUTH_SOCK": ""}
    line = one_line(ping(inner_standalone, *ssh_flags(bastion, ssh_user), env=env))
    assert line.startswith(f"host key of SSH bastion {bastion.address} is unknown".encode())
    assert fingerprint(Path(f"{bastion.host_key}.pub")).encode() in line
    assert b"--ssh-accept-new" in line
    assert not (fresh_home / ".ssh" / "known_hosts").exists()


def test_accept_new_adds_an_unknown_key_once(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer, fresh_home: Path
) -> None:
    env = {"HOME": str(fresh_home), "SSH_AUTH_SOCK": ""}
    first = ping(inner_standalone, *ssh_flags(bastion, ssh_user, "--ssh-accept-new"), env=env)
    assert (first.returncode, first.stdout) == (0, b"PONG\n")
    known_hosts = fresh_home / ".ssh" / "known_hosts"
    entry = f"[{bastion.namespace.ns_addr}]:{bastion.port}"
    assert first.stderr.startswith(PROG + f"added {entry} (ssh-ed25519 SHA256:".encode())
    host_key = " ".join(Path(f"{bastion.host_key}.pub").read_text().split()[:2])
    assert known_hosts.read_text() == f"{entry} {host_key}\n"
    # From now on it is simply known, with or without the flag.
    again = ping(inner_standalone, *ssh_flags(bastion, ssh_user), env=env)
    assert (again.returncode, again.stdout, again.stderr) == (0, b"PONG\n", b"")
    assert known_hosts.read_text() == f"{entry} {host_key}\n"


def test_changed_host_key_is_refused_even_with_accept_new(
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_standalone: RedisServer,
    fresh_home: Path,
    tmp_path: Path,
) -> None:
    impostor = ssh_keygen(tmp_path / "impostor")
    known_hosts = fresh_home / ".ssh" / "known_hosts"
    entry = f"[{bastion.namespace.ns_addr}]:{bastion.port}"
    old_key = " ".join(Path(f"{impostor}.pub").read_text().split()[:2])
    known_hosts.write_text(f"{entry} {old_key}\n")
    env = {"HOME": str(fresh_home), "SSH_AUTH_SOCK": ""}
    line = one_line(
        ping(inner_standalone, *ssh_flags(bastion, ssh_user, "--ssh-accept-new"), env=env)
    )
    assert line.startswith(f"host key of SSH bastion {bastion.address} has CHANGED".encode())
    assert f"ssh-keygen -R '{entry}'".encode() in line
    assert known_hosts.read_text() == f"{entry} {old_key}\n"  # untouched


# ----------------------------------------------------------------------------- logging in


def test_ssh_config_host_alias(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    # HostName, Port, User and IdentityFile all come from ~/.ssh/config.
    mark = bastion.mark()
    result = ping(inner_standalone, "--ssh", "bastion", env=ssh_user.env())
    assert (result.returncode, result.stdout, result.stderr) == (0, b"PONG\n", b"")
    assert bastion.forwarded(mark) == {f"redis.internal:{inner_standalone.port}"}


def test_ssh_config_file_given_with_a_flag(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer, tmp_path: Path
) -> None:
    config = tmp_path / "alt_config"
    config.write_text(
        f"Host alt-bastion\n    HostName {bastion.namespace.ns_addr}\n    Port {bastion.port}\n"
        f"    User inspector\n    IdentityFile {ssh_user.key}\n"
    )
    flags = ["--ssh", "alt-bastion", "--ssh-config", str(config)]
    result = ping(inner_standalone, *flags, env=ssh_user.env())
    assert (result.returncode, result.stdout) == (0, b"PONG\n")
    missing = inspector(*flags[:2], "--ssh-config", str(tmp_path / "nope"), "cli", "PING")
    assert missing.returncode == 2
    assert b"--ssh-config" in missing.stderr


def test_proxy_jump_reaches_a_bastion_only_the_jump_host_reaches(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    # behind-jump is 127.0.0.1:2222 *as the jump host sees it* (its own sshd,
    # on its own loopback): reachable only through the first hop.
    mark = bastion.mark()
    result = ping(inner_standalone, "--ssh", "behind-jump", env=ssh_user.env())
    assert (result.returncode, result.stdout, result.stderr) == (0, b"PONG\n", b"")
    assert bastion.forwarded(mark) == {
        f"127.0.0.1:{BASTION_PORT}",
        f"redis.internal:{inner_standalone.port}",
    }


def test_password_from_the_environment(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    target = ["--ssh", bastion.address]
    good = ping(inner_standalone, *target, env=ssh_user.env(SSH_PASSWORD=USER_PASSWORD))
    assert (good.returncode, good.stdout, good.stderr) == (0, b"PONG\n", b"")
    bad = one_line(ping(inner_standalone, *target, env=ssh_user.env(SSH_PASSWORD="wrong")))
    assert bad.startswith(f"SSH bastion {bastion.address} refused authentication".encode())
    assert b"a password" in bad


def test_encrypted_key_with_passphrase_from_the_environment(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    flags = ["--ssh", bastion.address, "--ssh-key", str(ssh_user.encrypted_key)]
    good = ping(inner_standalone, *flags, env=ssh_user.env(SSH_KEY_PASSPHRASE=KEY_PASSPHRASE))
    assert (good.returncode, good.stdout, good.stderr) == (0, b"PONG\n", b"")
    # No passphrase and nobody to ask (no terminal): one line saying what to set.
    line = one_line(ping(inner_standalone, *flags, env=ssh_user.env()))
    assert b"SSH_KEY_PASSPHRASE" in line


@pytest.fixture
def pty_env(ssh_user: SSHUser) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env.update(ssh_user.env(TERM="xterm"))
    return env


def test_password_and_passphrase_are_asked_at_the_terminal(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer, pty_env: dict[str, str]
) -> None:
    base = [sys.executable, "-m", "inspector"]
    endpoint = ["-h", "redis.internal", "-p", str(inner_standalone.port), "cli", "PING"]
    session = PtySession([*base, "--ssh", bastion.address, *endpoint], env=pty_env)
    try:
        session.expect(f"inspector@{bastion.namespace.ns_addr}'s password: ".encode())
        session.send(USER_PASSWORD.encode() + b"\r")
        session.expect(b"PONG")
        assert session.wait() == 0
        assert USER_PASSWORD.encode() not in session.output  # no echo
    finally:
        session.close()
    key = ["--ssh-key", str(ssh_user.encrypted_key)]
    session = PtySession([*base, "--ssh", bastion.address, *key, *endpoint], env=pty_env)
    try:
        session.expect(f"Enter passphrase for key '{ssh_user.encrypted_key}': ".encode())
        session.send(KEY_PASSPHRASE.encode() + b"\r")
        session.expect(b"PONG")
        assert session.wait() == 0
    finally:
        session.close()
    # Ctrl-C at the prompt: 130, quietly, as at --askpass.
    session = PtySession([*base, "--ssh", bastion.address, *endpoint], env=pty_env)
    try:
        session.expect(b"'s password: ")
        session.send(b"\x03")
        assert session.wait() == 130
        assert b"Traceback" not in session.output
    finally:
        session.close()


@pytest.fixture
def agent(tmp_path: Path, ssh_user: SSHUser) -> Iterator[str]:
    """An ssh-agent holding the user's key; yields its socket."""
    sock = str(tmp_path / "agent.sock")
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", sock], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:

        def ready() -> bool:
            assert process.poll() is None, "ssh-agent exited"
            return Path(sock).exists()

        poll_until(ready, "ssh-agent never made its socket", interval=0.02)
        subprocess.run(
            ["ssh-add", "-q", str(ssh_user.key)],
            env={**os.environ, "SSH_AUTH_SOCK": sock},
            check=True,
            capture_output=True,
        )
        yield sock
    finally:
        process.kill()
        process.wait(timeout=10)


def test_keys_from_ssh_agent(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer, agent: str
) -> None:
    env = ssh_user.env(SSH_AUTH_SOCK=agent)
    result = ping(inner_standalone, "--ssh", bastion.address, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"PONG\n", b"")
    # Without the agent the same login is refused: the agent's key did the work.
    refused = one_line(ping(inner_standalone, "--ssh", bastion.address, env=ssh_user.env()))
    assert b"refused authentication" in refused


# ----------------------------------------------------------------------------- each hop failing


def test_bastion_unreachable(
    netns: Namespace, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    nobody = f"inspector@{netns.ns_addr}:2299"  # nothing listens there
    line = one_line(ping(inner_standalone, "--ssh", nobody, env=ssh_user.env()))
    assert (
        line
        == (
            f"cannot reach SSH bastion {nobody}: connection refused "
            "(is sshd running there? check the port)"
        ).encode()
    )


def test_authentication_refused(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    flags = ["--ssh", bastion.address, "--ssh-key", str(ssh_user.stranger_key)]
    line = one_line(ping(inner_standalone, *flags, env=ssh_user.env()))
    assert line.startswith(f"SSH bastion {bastion.address} refused authentication".encode())
    assert str(ssh_user.stranger_key).encode() in line


def test_forwarding_refused_by_the_bastion(
    bastion_no_forwarding: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    line = one_line(
        ping(inner_standalone, *ssh_flags(bastion_no_forwarding, ssh_user), env=ssh_user.env())
    )
    assert line.startswith(
        f"SSH bastion {bastion_no_forwarding.address} refused to forward to "
        f"redis.internal:{inner_standalone.port}".encode()
    )
    assert b"AllowTcpForwarding" in line


def test_redis_unreachable_from_the_bastion(
    netns: Namespace, bastion: SSHServer, ssh_user: SSHUser
) -> None:
    closed = netns.run(free_port)  # nothing listens there, inside the namespace
    flags = ssh_flags(bastion, ssh_user)
    result = inspector(
        *flags, "-h", "redis.internal", "-p", str(closed), "cli", "PING", env=ssh_user.env()
    )
    assert (
        one_line(result)
        == (
            f"could not connect to Redis at redis.internal:{closed} from SSH bastion "
            f"{bastion.address}: Connection refused (is redis-server running there? check -h/-p)"
        ).encode()
    )
    unknown = inspector(
        *flags, "-h", "nosuch.internal", "-p", "6379", "cli", "PING", env=ssh_user.env()
    )
    assert one_line(unknown).startswith(
        f"SSH bastion {bastion.address} cannot resolve 'nosuch.internal'".encode()
    )


@pytest.mark.parametrize("command", [["ls"], ["stats"], ["watch", "--count", "1"]])
def test_every_command_reports_the_failing_hop(
    netns: Namespace, bastion_no_forwarding: SSHServer, ssh_user: SSHUser, command: list[str]
) -> None:
    nobody = f"inspector@{netns.ns_addr}:2299"
    for flags, expected in [
        (["--ssh", nobody], b"cannot reach SSH bastion"),
        (ssh_flags(bastion_no_forwarding, ssh_user), b"refused to forward"),
    ]:
        result = inspector(*flags, "-h", "redis.internal", *command, env=ssh_user.env())
        assert expected in one_line(result)


def test_proxy_command_as_aws_ssm_would_run_it(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer, tmp_path: Path
) -> None:
    # SSH over SSM is `ProxyCommand aws ssm start-session ... AWS-StartSSHSession`:
    # a command whose stdin/stdout is the bastion's SSH port. OpenSSH's own
    # `ssh -W` stands in for it here.
    proxy = (
        f"ssh -q -i {ssh_user.key} -o UserKnownHostsFile={ssh_user.known_hosts} "
        f"-o BatchMode=yes -p {bastion.port} -W %h:%p inspector@{bastion.namespace.ns_addr}"
    )
    config = tmp_path / "ssm_config"
    config.write_text(
        f"Host i-0123456789abcdef0\n    HostName 127.0.0.1\n    Port {bastion.port}\n"
        f"    User inspector\n    IdentityFile {ssh_user.key}\n    ProxyCommand {proxy}\n"
    )
    flags = ["--ssh", "i-0123456789abcdef0", "--ssh-config", str(config)]
    mark = bastion.mark()
    result = ping(inner_standalone, *flags, env=ssh_user.env())
    assert (result.returncode, result.stdout, result.stderr) == (0, b"PONG\n", b"")
    assert bastion.forwarded(mark) == {
        f"127.0.0.1:{BASTION_PORT}",  # the proxy command's own hop
        f"redis.internal:{inner_standalone.port}",
    }
