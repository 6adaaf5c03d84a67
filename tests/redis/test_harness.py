"""Tests proving the Redis harness (tests/harness.py) and its fixtures work.

Synchronous ``redis.Redis`` and the ``redis-cli`` binary only: nothing here
depends on the asyncio configuration.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests import harness
from tests.harness import (
    ACL_READER_PASSWORD,
    ACL_READER_USER,
    ADMIN_PASSWORD,
    READY_MARKER,
    RedisServer,
    TLSFiles,
    free_port,
    key_on,
    start_redis_server,
)


def run_cli(args: Sequence[str], *command: str) -> subprocess.CompletedProcess[str]:
    """Run ``redis-cli`` (``args`` from ``RedisServer.redis_cli_args()``) with a command."""
    return subprocess.run(
        [*args, *command], capture_output=True, text=True, timeout=10, check=False
    )


def cli_output(args: Sequence[str], *command: str) -> str:
    """Run ``redis-cli`` and return its stripped stdout, asserting success."""
    result = run_cli(args, *command)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@contextmanager
def connect(server: RedisServer, **overrides: object) -> Iterator[redis.Redis]:
    """Sync client for *server* (no retries, so expected failures fail fast)."""
    kwargs: dict[str, object] = {
        **server.client_kwargs(),
        "socket_timeout": 5.0,
        "socket_connect_timeout": 5.0,
        "retry": Retry(NoBackoff(), 0),
        **overrides,
    }
    client = redis.Redis(**kwargs)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


def test_free_port_is_bindable() -> None:
    port = free_port()
    assert port != 6379
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_tls_files_form_a_valid_pki(tls_files: TLSFiles) -> None:
    def verify(ca: Path, cert: Path, purpose: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "verify", "-CAfile", str(ca), "-purpose", purpose, str(cert)],
            capture_output=True,
            text=True,
            check=False,
        )

    assert verify(tls_files.ca_cert, tls_files.server_cert, "sslserver").returncode == 0
    assert verify(tls_files.ca_cert, tls_files.client_cert, "sslclient").returncode == 0
    assert verify(tls_files.other_ca_cert, tls_files.server_cert, "sslserver").returncode != 0
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in", str(tls_files.server_cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:localhost" in text
    assert "IP Address:127.0.0.1" in text


def test_standalone_ping(redis_standalone: RedisServer) -> None:
    assert redis_standalone.port not in (0, 6379)
    assert redis_standalone.tls_port is None
    with connect(redis_standalone) as client:
        assert client.ping()
        assert client.config_get("port") == {"port": str(redis_standalone.port)}
    assert cli_output(redis_standalone.redis_cli_args(), "PING") == "PONG"
    assert READY_MARKER in redis_standalone.log_tail()


@pytest.mark.parametrize("run", [1, 2])
def test_redis_clean_starts_empty(redis_clean: RedisServer, run: int) -> None:
    with connect(redis_clean) as client:
        assert client.dbsize() == 0  # whichever run is second proves FLUSHALL ran
        client.set(f"harness:leftover:{run}", "x")


def test_tls_only_server_accepts_client_trusting_the_ca(redis_tls: RedisServer) -> None:
    assert redis_tls.port == 0
    assert redis_tls.tls_port is not None
    with connect(redis_tls) as client:
        assert client.ping()
    assert cli_output(redis_tls.redis_cli_args(), "PING") == "PONG"


def test_tls_rejects_client_trusting_another_ca(
    redis_tls: RedisServer, tls_files: TLSFiles
) -> None:
    with (
        connect(redis_tls, ssl_ca_certs=str(tls_files.other_ca_cert)) as client,
        pytest.raises(redis.ConnectionError, match="certificate verify failed"),
    ):
        client.ping()


def test_mtls_requires_a_client_certificate(redis_mtls: RedisServer) -> None:
    with (
        connect(redis_mtls, ssl_certfile=None, ssl_keyfile=None) as client,
        pytest.raises(redis.ConnectionError),
    ):
        client.ping()
    with connect(redis_mtls) as client:  # client_kwargs() include the client cert
        assert client.ping()
    assert cli_output(redis_mtls.redis_cli_args(), "PING") == "PONG"


def test_acl_reader_can_read_but_not_write(redis_acl: RedisServer) -> None:
    assert redis_acl.password == ADMIN_PASSWORD
    with connect(redis_acl) as admin:
        admin.set("harness:acl", "value")
    with connect(redis_acl, username=ACL_READER_USER, password=ACL_READER_PASSWORD) as reader:
        assert reader.get("harness:acl") == b"value"
        # NOPERM reply; redis-py strips the error code into the exception class
        with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
            reader.set("harness:acl", "other")
    with (
        connect(redis_acl, password=None) as anonymous,
        pytest.raises(redis.AuthenticationError),
    ):
        anonymous.get("harness:acl")
    assert cli_output(redis_acl.redis_cli_args(), "GET", "harness:acl") == "value"


def test_port_in_use_is_retried(redis_harness_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        busy_port = int(busy.getsockname()[1])
        real_free_ports = harness._free_ports
        calls: list[int] = []

        def first_pick_is_busy(count: int) -> list[int]:
            calls.append(count)
            ports = real_free_ports(count)
            return [busy_port, *ports[1:]] if len(calls) == 1 else ports

        monkeypatch.setattr(harness, "_free_ports", first_pick_is_busy)
        server = start_redis_server(redis_harness_dir / "retry")
        try:
            assert len(calls) == 2
            assert server.port != busy_port
            with connect(server) as client:
                assert client.ping()
        finally:
            server.stop()
    assert server.process.returncode is not None


def _check_cluster(nodes: list[RedisServer], prefix: str) -> None:
    assert len(nodes) == 3
    for node in nodes:
        with connect(node, decode_responses=True) as client:
            info = client.cluster("INFO")
            assert info["cluster_state"] == "ok"
            assert int(info["cluster_slots_assigned"]) == 16384
            assert int(info["cluster_known_nodes"]) == 3
            assert int(info["cluster_size"]) == 3
    masters = [
        line
        for line in cli_output(nodes[0].redis_cli_args(), "CLUSTER", "NODES").splitlines()
        if "master" in line.split()[2]
    ]
    assert len(masters) == 3

    for index, owner in enumerate(nodes):
        key = key_on(nodes, owner, prefix)
        writer = nodes[(index + 1) % len(nodes)]  # never the owner: forces a redirect
        reader = nodes[(index + 2) % len(nodes)]
        assert cli_output([*writer.redis_cli_args(), "-c"], "SET", key, key) == "OK"
        assert cli_output([*reader.redis_cli_args(), "-c"], "GET", key) == key
        with connect(owner) as client:  # it really landed on the owner
            assert client.get(key) == key.encode()


@pytest.mark.slow
def test_cluster_has_three_primaries_and_routes_keys(redis_cluster: list[RedisServer]) -> None:
    assert all(node.tls_port is None and node.port != 0 for node in redis_cluster)
    _check_cluster(redis_cluster, "harness:cluster")


@pytest.mark.slow
def test_tls_cluster_has_three_primaries_and_routes_keys(
    redis_tls_cluster: list[RedisServer],
) -> None:
    assert all(node.port == 0 and node.tls_port for node in redis_tls_cluster)
    assert "--tls" in redis_tls_cluster[0].redis_cli_args()
    _check_cluster(redis_tls_cluster, "harness:tls-cluster")
