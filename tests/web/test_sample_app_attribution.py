"""The sample app like a real app: no host attribute, a client name, a source address."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.app import COOKIE, create_app
from inspector.sample_app.settings import SampleAppSettings
from inspector.sample_app.store import SAMPLE_SESSION_CLASS, sample_session_json
from tests.cli_run import inspector
from tests.factories import spring_session
from tests.harness import RedisServer, start_redis_server
from tests.live_processes import App

Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    # Protected mode off: connections from 127.0.0.2 (bound to 127.0.0.1 only).
    server = start_redis_server(tmp_path_factory.mktemp("sample-names"), "--protected-mode", "no")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def data(open_server: RedisServer) -> AsyncIterator[redis.Redis]:
    client = redis.Redis(**open_server.client_kwargs())  # type: ignore[arg-type]
    client.flushall()
    try:
        yield client
    finally:
        client.close()


async def app(settings: SampleAppSettings) -> Client:
    client: Client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    return client


def test_the_bean_without_its_host_is_what_jackson_writes() -> None:
    assert sample_session_json(None, 1552129074569) == (
        b'{"@class":"' + SAMPLE_SESSION_CLASS.encode() + b'",'
        b'"lastUpdatedAt":["java.util.Date",1552129074569]}'
    )
    assert sample_session_json("c1", 5).endswith(
        b'"host":"c1","lastUpdatedAt":["java.util.Date",5]}'
    )


async def test_no_host_attribute_leaves_nothing_that_names_the_container(
    open_server: RedisServer, data: redis.Redis
) -> None:
    redis_settings = ConnectionSettings(port=open_server.port)
    one = await app(
        SampleAppSettings(redis=redis_settings, name="container-1", host_attribute=False)
    )
    try:
        response = await one.get("/1")
        assert response.status == 200
        assert "container-1" in await response.text()  # the page still says who served it
        sid = base64.b64decode(response.cookies[COOKIE].value).decode()
    finally:
        await one.close()
    key = f"spring:session:sessions:{sid}"
    fields: dict[bytes, bytes] = data.hgetall(key)  # type: ignore[assignment]
    last = int(fields[b"lastAccessedTime"])
    assert fields[b"sessionAttr:scopedTarget.sampleSession"] == sample_session_json(None, last)
    assert b"container-1" not in b"".join(k + v for k, v in fields.items())
    decoded = {k.decode(): v for k, v in fields.items()}
    assert spring_session(sid, last=last, fields=decoded).host is None


async def test_client_name_and_source_address_reach_the_server(
    open_server: RedisServer, data: redis.Redis
) -> None:
    redis_settings = dataclasses.replace(
        ConnectionSettings(port=open_server.port),
        client_name="container-7",
        source_address="127.0.0.2",
    )
    one = await app(SampleAppSettings(redis=redis_settings, name="container-7"))
    try:
        assert (await one.get("/1")).status == 200
        clients = [c for c in data.client_list() if c["name"] == "container-7"]
    finally:
        await one.close()
    assert clients
    assert all(c["addr"].startswith("127.0.0.2:") for c in clients)


@pytest.mark.parametrize(
    ("flags", "names"),
    [((), {"web-7"}), (("--client-name", "other"), {"other"}), (("--no-client-name",), set())],
)
def test_the_client_name_defaults_to_the_container_name(
    open_server: RedisServer, tmp_path: Path, flags: tuple[str, ...], names: set[str]
) -> None:
    # The same settings the sample-app command builds, checked through its own
    # Redis connection: `cli CLIENT LIST` would be another connection, so the
    # app's own is found by asking the server while the app runs.
    process = App(["-p", str(open_server.port)], "web-7", *flags)
    try:
        process.wait_ready()
        client = redis.Redis(**open_server.client_kwargs())  # type: ignore[arg-type]
        try:
            listed = {c["name"] for c in client.client_list()} - {""}
        finally:
            client.close()
    finally:
        process.stop()
    assert listed == names


def test_client_name_flags_exclude_each_other() -> None:
    result = inspector("sample-app", "--client-name", "a", "--no-client-name")
    assert result.returncode == 2
    assert b"not allowed with argument" in result.stderr
    help_text = inspector("sample-app", "--help").stdout
    for flag in (
        b"--no-host-attribute",
        b"--client-name",
        b"--no-client-name",
        b"--source-address",
    ):
        assert flag in help_text
