"""`cli` through the bastion: byte for byte as redis-cli on the far side, cluster redirects, TLS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.cli_run import ENDPOINT_VARIABLES, inspector
from tests.harness import RedisServer, TLSFiles, key_on, key_slot
from tests.pty_session import PtySession
from tests.redis.test_cli_vs_redis_cli import CASES, populate
from tests.ssh.conftest import NODE_NAMES, TLS_NODE_NAMES
from tests.sshd import Namespace, SSHServer, SSHUser, ssh_flags


def redis_cli(netns: Namespace, *args: str | bytes, stdin: bytes | None = None) -> bytes:
    """redis-cli run on the bastion's side, against the server directly."""
    result = subprocess.run(
        netns.command("redis-cli", *[os.fsdecode(arg) for arg in args]),
        input=stdin,
        capture_output=True,
        timeout=30,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def compare_server(netns: Namespace, inner_standalone: RedisServer) -> RedisServer:
    def fill() -> None:
        with redis.Redis(**inner_standalone.client_kwargs()) as client:  # type: ignore[arg-type]
            client.flushall()
        populate(inner_standalone)

    netns.run(fill)
    return inner_standalone


def test_redis_is_reachable_only_through_the_bastion(
    netns: Namespace, inner_standalone: RedisServer
) -> None:
    # The premise of every test here: without --ssh, nothing answers. The
    # names exist only in the namespace's hosts file (no lookup is tried from
    # here: it would leave the machine for its DNS server)...
    assert "redis.internal" not in Path("/etc/hosts").read_text()
    assert "redis.internal" in (netns.etc / "hosts").read_text()
    # ...and the servers listen only on the namespace's own loopback.
    by_address = inspector(
        "-h", netns.ns_addr, "-p", str(inner_standalone.port), "-t", "2", "cli", "PING"
    )
    assert by_address.returncode == 3
    assert b"connection refused" in by_address.stderr


# The cases that change nothing, so both programs see the same state.
READ_ONLY = [(name, args) for name, args in CASES if name not in ("integer", "negative-integer")]


def quoted(arg: bytes) -> bytes:
    """One argument as redis-cli's line parser reads it back (``"\\xff"`` escapes)."""
    out = bytearray(b'"')
    for byte in arg:
        if byte in b'"\\':
            out += b"\\" + bytes([byte])
        elif 32 <= byte < 127:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out + b'"')


@pytest.mark.parametrize("mode", ["--no-raw", "--raw"])
def test_same_bytes_as_redis_cli_on_the_far_side(
    netns: Namespace,
    bastion: SSHServer,
    ssh_user: SSHUser,
    compare_server: RedisServer,
    mode: str,
) -> None:
    # Every reply type of the redis-cli comparison suite, in one session each
    # (one SSH login instead of sixty): the same bytes as redis-cli prints
    # when it runs next to the server.
    script = b"".join(b" ".join(quoted(arg) for arg in args) + b"\n" for _, args in READ_ONLY)
    port = str(compare_server.port)
    expected = redis_cli(netns, "-h", "127.0.0.1", "-p", port, mode, stdin=script)
    ours = inspector(
        *ssh_flags(bastion, ssh_user),
        "-h", "redis.internal", "-p", port, "cli", mode,
        stdin=script, env=ssh_user.env(),
    )  # fmt: skip
    assert (ours.returncode, ours.stderr) == (0, b"")
    assert ours.stdout == expected
    assert expected.count(b"\n") >= len(READ_ONLY)  # every case printed something


def test_one_shot_arguments_through_the_bastion(
    netns: Namespace, bastion: SSHServer, ssh_user: SSHUser, compare_server: RedisServer
) -> None:
    port = str(compare_server.port)
    for args in (
        [b"GET", b"cmp:\xff\xfekey"],
        [b"HGETALL", b"cmp:hash"],
        [b"GET", b"cmp:allbytes"],
    ):
        expected = redis_cli(netns, "-h", "127.0.0.1", "-p", port, "--no-raw", *args)
        ours = inspector(
            *ssh_flags(bastion, ssh_user),
            "-h", "redis.internal", "-p", port, "cli", "--no-raw", *args,
            env=ssh_user.env(),
        )  # fmt: skip
        assert ours.stdout == expected


def test_commands_piped_on_stdin_through_the_bastion(
    netns: Namespace, bastion: SSHServer, ssh_user: SSHUser, compare_server: RedisServer
) -> None:
    script = b'SET cmp:ssh "a b"\nGET cmp:ssh\n\nLRANGE cmp:list 0 2\nNOSUCH\nGET "unterminated\n'
    port = str(compare_server.port)
    for mode in ("--no-raw", "--raw"):
        expected = redis_cli(netns, "-h", "127.0.0.1", "-p", port, mode, stdin=script)
        ours = inspector(
            *ssh_flags(bastion, ssh_user),
            "-h", "redis.internal", "-p", port, "cli", mode,
            stdin=script, env=ssh_user.env(),
        )  # fmt: skip
        assert ours.stdout == expected


def test_cluster_redirects_on_every_primary(
    netns: Namespace, bastion: SSHServer, ssh_user: SSHUser, inner_cluster: list[RedisServer]
) -> None:
    # One key per primary, each written and read through the first node: every
    # MOVED names a node by the host name it announces, and each is reached
    # through its own channel.
    keys = [netns.run(key_on, inner_cluster, node, "ssh") for node in inner_cluster]
    script = b"".join(
        b"SET %s v-%d\nGET %s\n" % (k.encode(), i, k.encode()) for i, k in enumerate(keys)
    )
    script += b"CLUSTER SHARDS\n"
    entry = ["-h", NODE_NAMES[0], "-p", str(inner_cluster[0].port)]
    mark = bastion.mark()
    ours = inspector(
        *ssh_flags(bastion, ssh_user), "-c", *entry, "cli", stdin=script, env=ssh_user.env()
    )
    expected = redis_cli(netns, "-c", *entry, stdin=script)
    assert (ours.returncode, ours.stderr) == (0, b"")
    assert ours.stdout == expected
    for index in (1, 2):  # redirected there, by the name the node announces
        where = f"located at {NODE_NAMES[index]}:{inner_cluster[index].port}\n"
        assert where.encode() in ours.stdout
    assert [line for line in ours.stdout.split(b"\n") if line.startswith(b"v-")] == [
        b"v-0",
        b"v-1",
        b"v-2",
    ]
    assert bastion.forwarded(mark) == {
        f"{name}:{node.port}" for name, node in zip(NODE_NAMES, inner_cluster, strict=True)
    }


@pytest.fixture
def repl_env(tmp_path: Path, ssh_user: SSHUser) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    env.update(ssh_user.env(SESSION_INSPECTOR_HISTFILE=str(tmp_path / "history"), TERM="xterm"))
    return env


def test_repl_through_the_bastion_names_real_nodes(
    netns: Namespace,
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_cluster: list[RedisServer],
    repl_env: dict[str, str],
) -> None:
    entry = inner_cluster[0]
    argv = [sys.executable, "-m", "inspector", *ssh_flags(bastion, ssh_user)]
    argv += ["-c", "-h", NODE_NAMES[0], "-p", str(entry.port), "cli"]
    repl = PtySession(argv, env=repl_env)
    try:
        repl.expect(f"{NODE_NAMES[0]}:{entry.port}> ".encode())
        for index in (1, 2):
            key = netns.run(key_on, inner_cluster, inner_cluster[index], "repl")
            repl.mark()
            repl.send(f"SET {key} v\r".encode())
            text = repl.expect(b"OK\n")
            where = f"{NODE_NAMES[index]}:{inner_cluster[index].port}"
            assert f"-> Redirected to slot [{key_slot(key)}] located at {where}\n".encode() in text
            repl.expect(f"{where}> ".encode())
        repl.send(b"quit\r")
        assert repl.wait() == 0
    finally:
        repl.close()


def tls_flags(tls: TLSFiles) -> list[str]:
    return ["--tls", "--cacert", str(tls.ca_cert)]


def test_tls_end_to_end_verifies_the_real_name(
    bastion: SSHServer, ssh_user: SSHUser, inner_tls: RedisServer, internal_tls: TLSFiles
) -> None:
    port = str(inner_tls.client_port)
    base = [*ssh_flags(bastion, ssh_user), "-p", port, *tls_flags(internal_tls)]
    ours = inspector(*base, "-h", "redis.internal", "cli", "PING", env=ssh_user.env())
    assert (ours.returncode, ours.stdout, ours.stderr) == (0, b"PONG\n", b"")
    # The same server by a name its certificate does not carry: refused, as
    # without a tunnel (the tunnel's own address plays no part in the check).
    wrong = inspector(*base, "-h", "localhost", "cli", "PING", env=ssh_user.env())
    assert wrong.returncode == 3
    assert wrong.stderr.startswith(b"session-inspector: TLS certificate of localhost:")
    assert b"Hostname mismatch" in wrong.stderr or b"hostname" in wrong.stderr.lower()
    assert wrong.stderr.count(b"\n") == 1
    # --sni names the certificate's name while -h says where to connect.
    sni = inspector(
        *base, "-h", "localhost", "--sni", "redis.internal", "cli", "PING", env=ssh_user.env()
    )
    assert (sni.returncode, sni.stdout) == (0, b"PONG\n")
    other_sni = inspector(
        *base, "-h", "redis.internal", "--sni", "wrong.example", "cli", "PING", env=ssh_user.env()
    )
    assert other_sni.returncode == 3
    assert b"TLS certificate of redis.internal:" in other_sni.stderr


def test_tls_cluster_through_the_bastion(
    netns: Namespace,
    bastion: SSHServer,
    ssh_user: SSHUser,
    inner_tls_cluster: list[RedisServer],
    internal_tls: TLSFiles,
) -> None:
    # ElastiCache's shape: TLS, cluster mode, nodes announcing host names.
    keys = [netns.run(key_on, inner_tls_cluster, node, "tls") for node in inner_tls_cluster]
    script = b"".join(b"SET %s x\nGET %s\n" % (k.encode(), k.encode()) for k in keys)
    entry = ["-h", TLS_NODE_NAMES[0], "-p", str(inner_tls_cluster[0].client_port)]
    entry += [*tls_flags(internal_tls), "-c"]
    mark = bastion.mark()
    ours = inspector(*ssh_flags(bastion, ssh_user), *entry, "cli", stdin=script, env=ssh_user.env())
    assert (ours.returncode, ours.stderr) == (0, b"")
    assert ours.stdout == redis_cli(netns, *entry, stdin=script)
    assert ours.stdout.count(b"OK\nx\n") == 3
    assert bastion.forwarded(mark) == {
        f"{name}:{node.client_port}"
        for name, node in zip(TLS_NODE_NAMES, inner_tls_cluster, strict=True)
    }


def test_prompt_and_errors_name_the_real_endpoint(
    bastion: SSHServer, ssh_user: SSHUser, inner_standalone: RedisServer
) -> None:
    ours = inspector(
        *ssh_flags(bastion, ssh_user),
        "-h", "redis.internal", "-p", str(inner_standalone.port), "--user", "nobody",
        "-a", "wrong", "--no-auth-warning", "cli", "PING",
        env=ssh_user.env(),
    )  # fmt: skip
    assert ours.returncode == 3
    assert re.fullmatch(
        rb"session-inspector: .*redis\.internal:%d.*\n" % inner_standalone.port, ours.stderr
    ), ours.stderr
