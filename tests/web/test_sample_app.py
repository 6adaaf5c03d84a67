"""The sample app against real redis-server: exact Redis contents after every route,
two "containers" sharing one session, bad input, Redis outages, Spring interop."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from inspector.core.spring import expiration_bucket
from inspector.redis_io.runner import CommandRunner
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.app import COOKIE, create_app
from inspector.sample_app.settings import SampleAppSettings
from inspector.sample_app.store import SAMPLE_SESSION_CLASS, Layout
from tests.cli_run import inspector
from tests.harness import RedisServer, free_port, start_redis_server
from tests.spring_layouts import JVM, write_request

Client = TestClient[web.Request, web.Application]


async def app_client(port: int, name: str, **options: object) -> Client:
    settings = SampleAppSettings(redis=ConnectionSettings(port=port), name=name, **options)  # type: ignore[arg-type]
    client: Client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


@pytest.fixture
async def containers(
    redis_clean: RedisServer,
) -> AsyncIterator[tuple[Client, Client, redis.Redis]]:
    apps: list[Client] = []
    data = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    try:
        apps.append(await app_client(redis_clean.port, "container-1"))
        apps.append(await app_client(redis_clean.port, "container-2"))
        yield apps[0], apps[1], data
    finally:
        for app in apps:
            await app.close()
        data.close()


def cookie_of(response: object) -> str:
    cookie = response.cookies[COOKIE]  # type: ignore[attr-defined]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    return str(cookie.value)


def session_id(cookie: str) -> str:
    return base64.b64decode(cookie).decode()


async def test_first_request_writes_what_spring_writes(
    containers: tuple[Client, Client, redis.Redis],
) -> None:
    one, _, data = containers
    pubsub = data.pubsub()
    pubsub.psubscribe("spring:session:event:0:created:*")
    assert pubsub.get_message(timeout=5)["type"] == "psubscribe"
    response = await one.get("/1")
    assert response.status == 200
    assert "container-1" in await response.text()
    sid = session_id(cookie_of(response))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sid)
    fields = data.hgetall(f"spring:session:sessions:{sid}")
    last = int(fields[b"lastAccessedTime"])
    assert fields == {
        b"creationTime": fields[b"creationTime"],
        b"lastAccessedTime": str(last).encode(),
        b"maxInactiveInterval": b"1800",
        b"sessionAttr:scopedTarget.sampleSession": (
            b'{"@class":"' + SAMPLE_SESSION_CLASS.encode() + b'","host":"container-1",'
            b'"lastUpdatedAt":["java.util.Date",' + str(last).encode() + b"]}"
        ),
    }
    creation = fields[b"creationTime"]
    assert isinstance(creation, bytes)
    assert re.fullmatch(rb"\d{13}", creation)
    bucket = f"spring:session:expirations:{expiration_bucket(last, 1800)}"
    assert sorted(data.scan_iter(count=1000)) == sorted(
        [
            f"spring:session:sessions:{sid}".encode(),
            f"spring:session:sessions:expires:{sid}".encode(),
            bucket.encode(),
        ]
    )
    assert data.get(f"spring:session:sessions:expires:{sid}") == b""
    # TTLs as set, less the seconds this test has taken since.
    assert 1790 <= data.ttl(f"spring:session:sessions:expires:{sid}") <= 1800
    assert 2090 <= data.ttl(f"spring:session:sessions:{sid}") <= 2100
    assert 2090 <= data.ttl(bucket) <= 2100
    assert data.smembers(bucket) == {json.dumps(f"expires:{sid}").encode()}
    message = pubsub.get_message(timeout=5)
    assert message is not None
    assert message["channel"] == f"spring:session:event:0:created:{sid}".encode()
    assert message["data"] == b'{"@class":"java.util.HashMap"}'
    pubsub.close()


async def test_two_containers_share_one_session(
    containers: tuple[Client, Client, redis.Redis], redis_clean: RedisServer
) -> None:
    one, two, data = containers
    first = await one.get("/1")
    cookie = cookie_of(first)
    sid = session_id(cookie)
    key = f"spring:session:sessions:{sid}"
    created = data.hget(key, "creationTime")
    # Watch what the second request writes: only the delta.
    monitor = CommandRunner(ConnectionSettings(port=redis_clean.port))
    await monitor.connect()
    await monitor.execute([b"MONITOR"])
    second = await two.get("/2", cookies={COOKIE: cookie})
    assert second.status == 200
    assert "container-2" in await second.text()
    assert COOKIE not in second.cookies  # the same session: no new cookie
    hset = b""
    async with asyncio.timeout(10):
        async for line in monitor.stream():
            if isinstance(line, bytes) and b'"HSET"' in line:
                hset = line
                break
    await monitor.aclose()
    assert b'"lastAccessedTime"' in hset
    assert b'"sessionAttr:scopedTarget.sampleSession"' in hset
    assert b'"creationTime"' not in hset
    assert b'"maxInactiveInterval"' not in hset
    assert data.hget(key, "creationTime") == created
    attribute = json.loads(data.hget(key, "sessionAttr:scopedTarget.sampleSession") or b"")
    assert attribute["host"] == "container-2"
    third = await one.get("/1", cookies={COOKIE: cookie})
    assert "container-1" in await third.text()
    assert (
        json.loads(data.hget(key, "sessionAttr:scopedTarget.sampleSession") or b"")["host"]
        == "container-1"
    )
    assert data.hget(key, "creationTime") == created


async def test_invalidation_as_the_indexed_repository(
    containers: tuple[Client, Client, redis.Redis],
) -> None:
    one, _, data = containers
    cookie = cookie_of(await one.get("/1"))
    sid = session_id(cookie)
    response = await one.get("/invalidateSession", cookies={COOKIE: cookie}, allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/index.html"
    assert response.cookies[COOKIE].value == ""  # expired
    assert not data.exists(f"spring:session:sessions:expires:{sid}")
    key = f"spring:session:sessions:{sid}"
    assert data.hget(key, "maxInactiveInterval") == b"0"
    assert 295 <= data.ttl(key) <= 300
    # Using the old cookie again starts a new session.
    again = await one.get("/1", cookies={COOKIE: cookie})
    assert session_id(cookie_of(again)) != sid


@pytest.mark.parametrize("cookie", [None, "garbage!!", "%%%", base64.b64encode(b"28e0a1a1-5f45-44e2-a9a8-8b9585d22f3b").decode(),  # unknown id
                                    base64.b64encode(b"spring:session:sessions:x").decode()])  # fmt: skip
async def test_bad_cookies_start_a_fresh_session(
    containers: tuple[Client, Client, redis.Redis], cookie: str | None
) -> None:
    one, _, data = containers
    response = await one.get("/1", cookies={COOKIE: cookie} if cookie else None)
    assert response.status == 200
    sid = session_id(cookie_of(response))
    assert data.exists(f"spring:session:sessions:{sid}")


async def test_a_raw_id_cookie_is_not_a_session(
    containers: tuple[Client, Client, redis.Redis],
) -> None:
    """Spring reads the cookie as Base64 only; a raw id (not Base64) starts afresh."""
    one, _, _ = containers
    sid = session_id(cookie_of(await one.get("/1")))
    again = await one.get("/1", cookies={COOKIE: sid})
    assert session_id(cookie_of(again)) != sid


async def test_routes_and_pages(containers: tuple[Client, Client, redis.Redis]) -> None:
    one, _, data = containers
    for path in ("/", "/index.html"):
        page = await one.get(path)
        assert page.status == 200
        text = await page.text()
        assert "Shared Session" in text
        assert "Invalidate Session" in text
        assert COOKIE not in page.cookies
    assert data.dbsize() == 0  # the index page does not touch the session
    assert (await one.get("/abc")).status == 404
    assert (await one.get("/1x")).status == 404
    health = await one.get("/health")
    assert health.status == 200
    assert (await health.json())["status"] == "UP"


async def test_redis_down_gives_503_and_recovers(tmp_path: Path) -> None:
    server = start_redis_server(tmp_path / "a")
    port = server.port
    client: Client | None = None
    try:
        client = await app_client(port, "container-1")
        assert (await client.get("/1")).status == 200
        server.stop()
        down = await client.get("/1")
        assert down.status == 503
        assert "Session store unavailable" in await down.text()
        health = await client.get("/health")
        assert health.status == 503
        assert (await health.json())["status"] == "DOWN"
        server = start_redis_server(tmp_path / "b", port=port)
        assert (await client.get("/health")).status == 200
        assert (await client.get("/1")).status == 200
    finally:
        if client is not None:
            await client.close()
        server.stop()


async def test_app_starts_while_redis_is_down(tmp_path: Path) -> None:
    client = await app_client(free_port(), "container-1")  # nothing listens there
    try:
        assert (await client.get("/index.html")).status == 200
        assert (await client.get("/health")).status == 503
        assert (await client.get("/1")).status == 503
    finally:
        await client.close()


async def test_reads_a_session_written_by_spring(
    containers: tuple[Client, Client, redis.Redis],
) -> None:
    # A session exactly as the seed app's Spring Boot wrote it (real Jackson output).
    _, two, data = containers
    sid = str(uuid.uuid4())
    key = f"spring:session:sessions:{sid}"
    spring_wrote = (JVM / "jackson" / "non_final_sample_session.json").read_bytes().strip()
    now = int(time.time() * 1000)
    write_request(
        data, sid, "c95883d5424d", now - 5000, created_ms=1552128921707, sample=spring_wrote
    )
    cookie = base64.b64encode(sid.encode()).decode()
    response = await two.get("/2", cookies={COOKIE: cookie})
    assert response.status == 200
    assert COOKIE not in response.cookies  # Spring's session was adopted
    assert data.hget(key, "creationTime") == b"1552128921707"
    assert (
        json.loads(data.hget(key, "sessionAttr:scopedTarget.sampleSession") or b"")["host"]
        == "container-2"
    )


async def test_spring3_layout_is_one_hash(redis_clean: RedisServer) -> None:
    client = await app_client(
        redis_clean.port, "container-1", layout=Layout.SPRING3, namespace="myapp"
    )
    data = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    try:
        pubsub = data.pubsub()
        pubsub.psubscribe("*")
        pubsub.get_message(timeout=5)
        cookie = cookie_of(await client.get("/1"))
        sid = session_id(cookie)
        key = f"myapp:sessions:{sid}"
        assert list(data.scan_iter(count=1000)) == [key.encode()]
        last = int(data.hget(key, "lastAccessedTime") or 0)
        assert abs(data.pexpiretime(key) - (last + 1_800_000)) <= 1
        # No created event in this layout: the next message is our own marker.
        data.publish("test:marker", b"after the request")
        message = pubsub.get_message(timeout=5)
        assert message is not None
        assert message["channel"] == b"test:marker"
        await client.get("/invalidateSession", cookies={COOKIE: cookie}, allow_redirects=False)
        assert not data.exists(key)
        pubsub.close()
    finally:
        await client.close()
        data.close()


async def test_cluster(redis_cluster: list[RedisServer]) -> None:
    for node in redis_cluster:
        direct = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        direct.flushall()
        direct.close()
    apps: list[Client] = []
    try:
        apps.append(await app_client(redis_cluster[0].port, "container-1"))
        apps.append(await app_client(redis_cluster[1].port, "container-2"))
        one, two = apps
        for _ in range(5):  # new sessions each time: they land on different primaries
            one.session.cookie_jar.clear()
            cookie = cookie_of(await one.get("/1"))
            assert "container-2" in await (await two.get("/2", cookies={COOKIE: cookie})).text()
    finally:
        for app in apps:
            await app.close()


async def test_the_inspector_reads_what_the_app_wrote(
    containers: tuple[Client, Client, redis.Redis], redis_clean: RedisServer
) -> None:
    one, two, _ = containers
    cookie = cookie_of(await one.get("/1"))
    await two.get("/2", cookies={COOKIE: cookie})
    sid = session_id(cookie)
    listed = await asyncio.to_thread(inspector, "-p", str(redis_clean.port), "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["host"], r["state"], r["layout"]) for r in rows] == [
        (sid, "container-2", "active", "indexed")
    ]
    shown = await asyncio.to_thread(inspector, "-p", str(redis_clean.port), "show", cookie)
    assert shown.returncode == 0, shown.stderr
    assert 'host: "container-2"' in shown.stdout.decode()
    assert "SampleSession" in shown.stdout.decode()
