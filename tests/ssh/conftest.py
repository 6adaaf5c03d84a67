"""Fixtures of the ``--ssh`` layer: Redis servers reachable only through a real sshd.

See :mod:`tests.sshd` for the topology. Redis servers here run inside the
namespace (started by the ordinary harness from a thread that joined it), so
the test process reaches them only through the bastion: a command that works
proves the tunnel carried it, and sshd's log names every node it forwarded to.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from inspector.redis_io.tunnel import close_tunnels
from tests.harness import (
    RedisServer,
    TLSFiles,
    _make_leaf,
    start_cluster,
    start_redis_server,
    stop_servers,
)
from tests.sshd import KEY_PASSPHRASE as KEY_PASSPHRASE
from tests.sshd import (
    Namespace,
    SSHServer,
    SSHUser,
    create_namespace,
    netns_unavailable,
    ssh_keygen,
)
from tests.waiting import DEADLINE

BASTION_PORT = 2222
NO_FORWARDING_PORT = 2223
OWN_BASTION_PORT = 2224
NODE_NAMES = [f"node-{i}.redis.internal" for i in range(3)]
TLS_NODE_NAMES = [f"tls-{i}.redis.internal" for i in range(3)]
HOSTS = ["redis.internal", *NODE_NAMES, *TLS_NODE_NAMES]

_INTERNAL_CERT = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:redis.internal, DNS:*.redis.internal, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@pytest.fixture(scope="session")
def ssh_dir() -> Iterator[Path]:
    """Files of the bastion and its user; readable by the namespace's unprivileged user."""
    path = Path(tempfile.mkdtemp(prefix="rsi-ssh-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def netns(ssh_dir: Path) -> Iterator[Namespace]:
    """The private network (skipped, with the reason, where it cannot be built)."""
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(reason)
    home = ssh_dir / "user-home"
    home.mkdir(mode=0o755)
    namespace = create_namespace(HOSTS, home)
    try:
        yield namespace
    finally:
        close_tunnels()  # in-process tests' SSH connections, before sshd goes
        namespace.close()


@pytest.fixture(scope="session")
def ssh_user(ssh_dir: Path, netns: Namespace) -> SSHUser:
    """Client side: keys (one encrypted, one unknown to the bastion), known_hosts, config."""
    server_dir = ssh_dir / "sshd"
    server_dir.mkdir(mode=0o755)
    host_key = ssh_keygen(server_dir / "ssh_host_ed25519_key")
    home = ssh_dir / "client-home"
    dot_ssh = home / ".ssh"
    dot_ssh.mkdir(parents=True, mode=0o700)
    key = ssh_keygen(dot_ssh / "bastion_key")
    encrypted = ssh_keygen(dot_ssh / "encrypted_key", passphrase=KEY_PASSPHRASE)
    stranger = ssh_keygen(dot_ssh / "stranger_key")
    authorized = server_dir / "authorized_keys"
    authorized.write_text(Path(f"{key}.pub").read_text() + Path(f"{encrypted}.pub").read_text())
    authorized.chmod(0o644)
    public = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
    known_hosts = dot_ssh / "known_hosts"
    known_hosts.write_text(
        "".join(
            f"[{host}]:{port} {public}\n"
            for host, port in [
                (netns.ns_addr, BASTION_PORT),
                (netns.ns_addr, NO_FORWARDING_PORT),
                (netns.ns_addr, OWN_BASTION_PORT),
                ("127.0.0.1", BASTION_PORT),
            ]
        )
    )
    config = dot_ssh / "config"
    config.write_text(
        f"Host bastion\n"
        f"    HostName {netns.ns_addr}\n"
        f"    Port {BASTION_PORT}\n"
        f"    User inspector\n"
        f"    IdentityFile {key}\n"
        f"Host behind-jump\n"
        # Only the bastion reaches its own loopback: this hop exists only
        # through the jump.
        f"    HostName 127.0.0.1\n"
        f"    Port {BASTION_PORT}\n"
        f"    User inspector\n"
        f"    IdentityFile {key}\n"
        f"    ProxyJump bastion\n"
    )
    return SSHUser(
        home=home,
        key=key,
        encrypted_key=encrypted,
        stranger_key=stranger,
        known_hosts=known_hosts,
        config=config,
    )


def _serve_sshd(
    netns: Namespace, ssh_dir: Path, port: int, *, forwarding: bool = True
) -> Iterator[SSHServer]:
    server = SSHServer(netns, ssh_dir / "sshd", port, forwarding=forwarding)
    server.write_config(ssh_dir / "sshd" / "authorized_keys")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def bastion(netns: Namespace, ssh_dir: Path, ssh_user: SSHUser) -> Iterator[SSHServer]:
    """The bastion: OpenSSH with TCP forwarding allowed, keys and passwords accepted."""
    yield from _serve_sshd(netns, ssh_dir, BASTION_PORT)


@pytest.fixture(scope="session")
def bastion_no_forwarding(
    netns: Namespace, ssh_dir: Path, ssh_user: SSHUser
) -> Iterator[SSHServer]:
    """The same bastion with ``AllowTcpForwarding no``."""
    yield from _serve_sshd(netns, ssh_dir, NO_FORWARDING_PORT, forwarding=False)


@pytest.fixture
def own_bastion(netns: Namespace, ssh_dir: Path, ssh_user: SSHUser) -> Iterator[SSHServer]:
    """A bastion for one test alone (which may kill and restart it)."""
    yield from _serve_sshd(netns, ssh_dir, OWN_BASTION_PORT)


@pytest.fixture(scope="session")
def internal_tls(tls_files: TLSFiles, ssh_dir: Path) -> TLSFiles:
    """The test CA, with a server certificate for redis.internal and *.redis.internal."""
    directory = ssh_dir / "tls"
    directory.mkdir()
    cert, key = _make_leaf(
        directory, "internal", "redis.internal", _INTERNAL_CERT, tls_files.ca_cert, tls_files.ca_key
    )
    return dataclasses.replace(tls_files, server_cert=cert, server_key=key)


def _serve(netns: Namespace, server: RedisServer) -> Iterator[RedisServer]:
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def inner_standalone(netns: Namespace, ssh_dir: Path) -> Iterator[RedisServer]:
    """A plain standalone server, reached as redis.internal from the bastion."""
    yield from _serve(netns, netns.run(start_redis_server, ssh_dir / "standalone"))


@pytest.fixture
def inner_clean(netns: Namespace, inner_standalone: RedisServer) -> RedisServer:
    """The standalone server emptied, notifications off."""

    def reset() -> None:
        with redis.Redis(**inner_standalone.client_kwargs()) as client:  # type: ignore[arg-type]
            client.flushall()
            client.config_set("notify-keyspace-events", "")

    netns.run(reset)
    return inner_standalone


@pytest.fixture(scope="session")
def inner_tls(netns: Namespace, ssh_dir: Path, internal_tls: TLSFiles) -> Iterator[RedisServer]:
    """A TLS-only server whose certificate names redis.internal (not 127.0.0.1's names)."""
    server = netns.run(start_redis_server, ssh_dir / "tls-server", tls=internal_tls, tls_only=True)
    yield from _serve(netns, server)


def announce_hostnames(nodes: Sequence[RedisServer], names: Sequence[str]) -> None:
    """Nodes announce host names (as ElastiCache's do); wait until every node lists them all."""
    for node, name in zip(nodes, names, strict=True):
        with redis.Redis(**node.client_kwargs()) as client:  # type: ignore[arg-type]
            client.config_set("cluster-announce-hostname", name)
            client.config_set("cluster-preferred-endpoint-type", "hostname")
    expected = {node.client_port: name for node, name in zip(nodes, names, strict=True)}
    deadline = time.monotonic() + DEADLINE
    while True:
        seen: list[dict[int, str]] = []
        for node in nodes:
            with redis.Redis(**node.client_kwargs()) as client:  # type: ignore[arg-type]
                slots = cast("list[list[Any]]", client.execute_command("CLUSTER", "SLOTS"))
            seen.append({int(row[2][1]): _text(row[2][0]) for row in slots})
        if all(view == expected for view in seen):
            return
        assert time.monotonic() < deadline, f"nodes never announced {expected}: {seen}"
        time.sleep(0.05)  # wait-on-condition poll interval (gossip spreads the names)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _serve_cluster(netns: Namespace, nodes: list[RedisServer]) -> Iterator[list[RedisServer]]:
    try:
        yield nodes
    finally:
        stop_servers(nodes)


def _start_named_cluster(
    directory: Path, names: Sequence[str], tls: TLSFiles | None = None
) -> list[RedisServer]:
    nodes = start_cluster(directory, primaries=len(names), tls=tls)
    try:
        announce_hostnames(nodes, names)
    except BaseException:
        stop_servers(nodes)
        raise
    return nodes


@pytest.fixture(scope="session")
def inner_cluster(netns: Namespace, ssh_dir: Path) -> Iterator[list[RedisServer]]:
    """3 primaries announcing node-N.redis.internal (names only the bastion resolves)."""
    nodes = netns.run(_start_named_cluster, ssh_dir / "cluster", NODE_NAMES)
    yield from _serve_cluster(netns, nodes)


@pytest.fixture(scope="session")
def inner_tls_cluster(
    netns: Namespace, ssh_dir: Path, internal_tls: TLSFiles
) -> Iterator[list[RedisServer]]:
    """3 TLS primaries announcing tls-N.redis.internal: ElastiCache's shape."""
    nodes = netns.run(_start_named_cluster, ssh_dir / "tls-cluster", TLS_NODE_NAMES, internal_tls)
    yield from _serve_cluster(netns, nodes)


@pytest.fixture(autouse=True)
def _no_tunnels_left() -> Iterator[None]:
    """In-process tests share nothing: each one's SSH connections close after it."""
    yield
    close_tunnels()
