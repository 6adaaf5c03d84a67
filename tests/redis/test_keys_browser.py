"""The key browser's data layer against real servers: standalone and a 3-primary cluster.

The tree is built by SCAN on every primary (MATCH/TYPE pushed to the server);
each key's type/TTL/length/encoding and memory; values a page at a time; the
writes behind --allow-writes only, and none at all from the readers
(MONITOR-checked).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis

from inspector.core.keyspace import TreeNode
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.errors import Failure
from inspector.redis_io.keys import (
    KeyspaceScan,
    KeyWriter,
    WritesDisabled,
    describe_keys,
    memory_usage,
    read_hash,
    read_list,
    read_set,
    read_stream,
    read_string,
    read_zset,
)
from inspector.redis_io.runner import CommandRunner
from inspector.redis_io.settings import ConnectionSettings
from tests.harness import ACL_READER_PASSWORD, ACL_READER_USER, RedisServer
from tests.spring_layouts import jdk_string


def fill(client: redis.Redis | redis.RedisCluster) -> None:
    client.set("app:config", b'{"feature": true}')
    client.set("app:blob", jdk_string("hello"))
    client.set("app:big", b"x" * 5000)
    client.expire("app:config", 3600)
    client.rpush("app:queue", *[f"job-{i}" for i in range(450)])
    client.sadd("app:tags", *[f"t{i}" for i in range(300)])
    client.hset("user:1:profile", mapping={f"field{i}": f"value{i}" for i in range(520)})
    client.hset("user:2:profile", mapping={"name": "two"})
    client.zadd("board", {f"player{i}": i * 1.5 for i in range(250)})
    for i in range(230):
        client.xadd("events", {"n": str(i)}, id=f"{1000 + i}-0")
    for i in range(40):
        client.set(f"spring:session:sessions:{i:04d}", "s")


def flush(nodes: list[RedisServer]) -> None:
    for node in nodes:
        plain = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        plain.flushall()
        plain.close()


@pytest.fixture(params=["standalone", "cluster"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[RedisClient]:
    """The same data on a standalone server and on the 3-primary cluster."""
    if request.param == "standalone":
        server: RedisServer = request.getfixturevalue("redis_clean")
        nodes = [server]
        seed: redis.Redis | redis.RedisCluster = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    else:
        nodes = request.getfixturevalue("redis_cluster")
        flush(nodes)
        seed = redis.RedisCluster(host="127.0.0.1", port=nodes[0].port)
    fill(seed)
    seed.close()
    opened = await open_client(ConnectionSettings(port=nodes[0].port))
    yield opened
    await opened.aclose()
    if request.param == "cluster":
        flush(nodes)


async def test_tree_from_scan_on_every_primary(client: RedisClient) -> None:
    scan = KeyspaceScan(client, count=7)
    await scan.run()
    assert scan.progress.done
    assert not scan.progress.truncated
    assert scan.progress.estimated_total == 49
    assert scan.progress.fraction == 1.0
    tree = scan.tree()
    assert tree.count() == 49
    root = tree.children()
    assert [(node.name, node.is_key, node.key_count) for node in root] == [
        (b"app", False, 5),
        (b"board", True, 1),
        (b"events", True, 1),
        (b"spring", False, 40),
        (b"user", False, 2),
    ]
    sessions = tree.children(b"spring:session:sessions:", limit=15)
    assert len(sessions) == 15
    assert sessions[0] == TreeNode(b"0000", b"spring:session:sessions:0000", True, 1)
    rest = tree.children(b"spring:session:sessions:", after=sessions[-1], limit=100)
    assert len(rest) == 25
    # Another delimiter is another view of the same index.
    assert [node.name for node in scan.tree(b"_").children()][:2] == [b"app:big", b"app:blob"]


async def test_pattern_and_type_are_pushed_to_the_server(client: RedisClient) -> None:
    scan = KeyspaceScan(client, pattern=b"app:*", key_type="string")
    await scan.run()
    assert list(scan.index.iter_from()) == [b"app:big", b"app:blob", b"app:config"]


async def test_max_keys_bounds_the_index(client: RedisClient) -> None:
    scan = KeyspaceScan(client, count=5, max_keys=10)
    await scan.run()
    assert scan.progress.truncated
    assert 10 <= scan.progress.keys_seen < 49


async def test_key_facts_and_memory(client: RedisClient) -> None:
    keys = [b"app:config", b"app:queue", b"user:1:profile", b"board", b"events", b"gone"]
    infos = await describe_keys(client, keys)
    by_key = {info.key: info for info in infos}
    assert [info.type for info in infos] == ["string", "list", "hash", "zset", "stream", "none"]
    assert by_key[b"app:config"].ttl_ms is not None
    assert 0 < by_key[b"app:config"].ttl_ms <= 3600_000
    assert by_key[b"app:queue"].ttl_ms is None
    assert [info.length for info in infos] == [17, 450, 520, 250, 230, None]
    assert by_key[b"app:config"].encoding == "embstr"
    assert by_key[b"user:1:profile"].encoding == "hashtable"
    assert not by_key[b"gone"].exists
    sizes = await memory_usage(client, [b"app:big", b"gone"], samples=5)
    assert sizes[0].bytes is not None
    assert sizes[0].bytes > 5000
    assert sizes[1].bytes is None
    assert sizes[1].refused is None


async def test_values_page_by_page(client: RedisClient) -> None:
    text = await read_string(client, b"app:config")
    assert text.decoded.format.value == "json"
    assert not text.truncated
    java = await read_string(client, b"app:blob")
    assert java.decoded.value == "hello"
    cut = await read_string(client, b"app:big", limit=100)
    assert cut.truncated
    assert cut.length == 5000
    assert len(cut.data) == 100

    fields: dict[bytes, bytes] = {}
    page = await read_hash(client, b"user:1:profile", count=100)
    assert page.total == 520
    while True:
        fields.update(page.items)
        if page.next is None:
            break
        page = await read_hash(client, b"user:1:profile", cursor=page.next, count=100)
    assert len(fields) == 520
    assert fields[b"field7"] == b"value7"

    items: list[bytes] = []
    window = await read_list(client, b"app:queue", count=200)
    while True:
        items += window.items
        if window.next is None:
            break
        window = await read_list(client, b"app:queue", start=window.next, count=200)
    assert items == [f"job-{i}".encode() for i in range(450)]
    assert window.total == 450

    members: set[bytes] = set()
    page_set = await read_set(client, b"app:tags", count=50)
    while True:
        members.update(page_set.items)
        if page_set.next is None:
            break
        page_set = await read_set(client, b"app:tags", cursor=page_set.next, count=50)
    assert len(members) == 300

    ranks = await read_zset(client, b"board", start=240, count=20)
    assert ranks.items[0] == (b"player240", b"360")
    assert len(ranks.items) == 10
    assert ranks.next is None
    assert ranks.total == 250

    entries = []
    stream = await read_stream(client, b"events", count=100)
    while True:
        entries += stream.items
        if stream.next is None:
            break
        stream = await read_stream(client, b"events", after=stream.next, count=100)
    assert len(entries) == 230
    assert entries[0].id == b"1000-0"
    assert entries[-1].fields == [(b"n", b"229")]


async def test_writes_need_allow_writes(client: RedisClient) -> None:
    refused = KeyWriter(client, allow_writes=False)
    with pytest.raises(WritesDisabled, match="--allow-writes"):
        await refused.delete(b"app:config")
    writer = KeyWriter(client, allow_writes=True)
    assert await writer.set_ttl(b"app:queue", 100)
    assert (await describe_keys(client, [b"app:queue"]))[0].ttl_ms is not None
    assert await writer.remove_ttl(b"app:queue")
    await writer.set_string(b"app:config", b"new")
    config = (await describe_keys(client, [b"app:config"]))[0]
    assert config.length == 3
    assert config.ttl_ms is not None
    assert await writer.set_hash_field(b"user:2:profile", b"mail", b"x@y")
    assert await writer.delete(b"app:tags")
    assert not await writer.delete(b"app:tags")


async def test_readers_send_no_write(redis_clean: RedisServer) -> None:
    seed = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    fill(seed)
    seed.close()
    monitor = CommandRunner(ConnectionSettings(port=redis_clean.port))
    await monitor.connect()
    await monitor.execute([b"MONITOR"])
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        scan = KeyspaceScan(client)
        await scan.run()
        keys = list(scan.index.iter_from())
        await describe_keys(client, keys)
        await memory_usage(client, keys)
        await read_string(client, b"app:config")
        await read_hash(client, b"user:1:profile")
        await read_list(client, b"app:queue")
        await read_set(client, b"app:tags")
        await read_zset(client, b"board")
        await read_stream(client, b"events")
        with pytest.raises(WritesDisabled):
            await KeyWriter(client, allow_writes=False).delete(b"app:config")
        await client.execute_command("ECHO", "readers-done")
    finally:
        await client.aclose()
    seen: list[bytes] = []
    async with asyncio.timeout(30):
        async for line in monitor.stream():
            assert isinstance(line, bytes)
            seen.append(line)
            if b'"readers-done"' in line:
                break
    await monitor.aclose()
    commands = {line.split(b'"')[1].upper() for line in seen if line.count(b'"') >= 2}
    allowed = {
        b"SCAN", b"DBSIZE", b"TYPE", b"PTTL", b"OBJECT", b"MEMORY", b"GETRANGE", b"STRLEN",
        b"HSCAN", b"HLEN", b"LRANGE", b"LLEN", b"SSCAN", b"SCARD", b"ZRANGE", b"ZCARD",
        b"XRANGE", b"XLEN", b"ECHO", b"INFO", b"PING", b"CLIENT", b"HELLO", b"SELECT",
    }  # fmt: skip
    assert commands <= allowed, commands - allowed


async def test_a_user_without_memory_or_object_still_browses(redis_clean: RedisServer) -> None:
    admin = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    admin.set("k", "v")
    admin.execute_command(
        "ACL", "SETUSER", "browser", "on", ">pw", "~*", "+@all", "-memory", "-object"
    )
    client = await open_client(
        ConnectionSettings(port=redis_clean.port, username="browser", password="pw")
    )
    try:
        (usage,) = await memory_usage(client, [b"k"])
        assert usage.bytes is None
        assert usage.refused
        assert "NOPERM" in usage.refused.upper()
        (info,) = await describe_keys(client, [b"k"])
        assert (info.type, info.length, info.encoding) == ("string", 1, None)
    finally:
        await client.aclose()
        admin.execute_command("ACL", "DELUSER", "browser")
        admin.close()


async def test_a_read_only_user_cannot_write(redis_acl: RedisServer) -> None:
    admin = redis.Redis(**redis_acl.client_kwargs())  # type: ignore[arg-type]
    admin.set("browser:k", "v")
    admin.close()
    settings = ConnectionSettings(
        port=redis_acl.port, username=ACL_READER_USER, password=ACL_READER_PASSWORD
    )
    client = await open_client(settings)
    try:
        with pytest.raises(Failure) as raised:
            await KeyWriter(client, allow_writes=True).delete(b"browser:k")
        assert raised.value.exit_code == 4
    finally:
        await client.aclose()
