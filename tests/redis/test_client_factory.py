"""open_client: standalone, cluster detection, TLS clusters, bytes end to end."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis, RedisCluster

from inspector.exits import ExitCode
from inspector.redis_io.client import ClusterClient, StandaloneClient, open_client
from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.server import server_summary
from inspector.redis_io.settings import ConnectionSettings, TLSSettings
from tests.harness import ACL_READER_PASSWORD, ACL_READER_USER, RedisServer, TLSFiles


async def test_standalone_returns_bytes(redis_clean: RedisServer) -> None:
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        assert isinstance(client, Redis)
        await client.set("k", "é")
        assert await client.get("k") == "é".encode()
        summary = await server_summary(client)
        assert (summary.engine, summary.mode, summary.nodes, summary.keys) == (
            "Redis",
            "standalone",
            1,
            1,
        )
        assert summary.version is not None
        assert summary.version.startswith(("6.", "7.", "8."))
    finally:
        await client.aclose()


async def test_cluster_is_detected_without_c(redis_cluster: list[RedisServer]) -> None:
    client = await open_client(ConnectionSettings(port=redis_cluster[1].port))
    try:
        assert isinstance(client, RedisCluster)
        assert len(client.get_primaries()) == 3
        for i in range(30):
            await client.set(f"detect:{i}", i)
        summary = await server_summary(client)
        assert (summary.mode, summary.nodes) == ("cluster", 3)
        assert summary.keys is not None
        assert summary.keys >= 30
    finally:
        await client.aclose()


async def test_the_client_carries_the_settings_it_used(
    redis_clean: RedisServer, redis_cluster: list[RedisServer]
) -> None:
    # What failure messages far from the caller (a pipeline's NOPERM) name:
    # nothing is rebuilt from redis-py's keyword arguments. The mode found is
    # in them too.
    settings = ConnectionSettings(port=redis_clean.port, connect_timeout=2.5)
    standalone = await open_client(settings)
    try:
        assert isinstance(standalone, StandaloneClient)
        assert standalone.settings == ConnectionSettings(
            port=redis_clean.port, connect_timeout=2.5, cluster=False
        )
    finally:
        await standalone.aclose()
    seed = ConnectionSettings(port=redis_cluster[2].port)
    cluster = await open_client(seed)
    try:
        assert isinstance(cluster, ClusterClient)
        assert cluster.settings == ConnectionSettings(port=redis_cluster[2].port, cluster=True)
    finally:
        await cluster.aclose()
    node = await open_client(seed, single_node=True)
    try:
        assert isinstance(node, StandaloneClient)
        assert node.settings is seed  # the caller knows the mode
    finally:
        await node.aclose()


async def test_cluster_with_db_is_refused(redis_cluster: list[RedisServer]) -> None:
    with pytest.raises(Failure) as caught:
        await open_client(ConnectionSettings(port=redis_cluster[0].port, db=1))
    assert caught.value.exit_code is ExitCode.USAGE
    assert "only database 0" in caught.value.message


async def test_tls_cluster_with_our_tls_connection_class(
    redis_tls_cluster: list[RedisServer], tls_files: TLSFiles
) -> None:
    tls = TLSSettings(ca_cert=tls_files.ca_cert)
    entry = redis_tls_cluster[0]
    for forced in (True, None):
        client = await open_client(
            ConnectionSettings(port=entry.tls_port or 0, tls=tls, cluster=forced)
        )
        try:
            assert isinstance(client, RedisCluster)
            for i in range(30):
                await client.set(f"tls:{i}", i)
            assert await client.get("tls:7") == b"7"
            assert (await server_summary(client)).nodes == 3
        finally:
            await client.aclose()


async def test_tls_cluster_rejects_an_unknown_ca(
    redis_tls_cluster: list[RedisServer], tls_files: TLSFiles
) -> None:
    settings = ConnectionSettings(
        port=redis_tls_cluster[0].tls_port or 0,
        tls=TLSSettings(ca_cert=tls_files.other_ca_cert),
        cluster=True,
    )
    with pytest.raises(Failure) as caught:
        await open_client(settings)
    assert caught.value.problem is Problem.CERT_REJECTED


async def test_acl_reader_can_connect(redis_acl: RedisServer) -> None:
    settings = ConnectionSettings(
        port=redis_acl.port, username=ACL_READER_USER, password=ACL_READER_PASSWORD
    )
    client = await open_client(settings)
    try:
        assert await client.get("missing") is None
    finally:
        await client.aclose()


async def test_wrong_password_is_a_failure(redis_acl: RedisServer) -> None:
    with pytest.raises(Failure) as caught:
        await open_client(ConnectionSettings(port=redis_acl.port, password="nope"))
    assert caught.value.problem is Problem.AUTH_FAILED
    assert caught.value.exit_code is ExitCode.CONNECTION
