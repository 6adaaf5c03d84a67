"""Issue 14, item 14: the sample app tells clients nothing about its Redis, and
listens on loopback unless the image says otherwise.

With Redis down (a real server, stopped), the 503 page and ``/health`` name no
address, port or error text; the log has them. ``sample-app`` without
``--bind`` listens on 127.0.0.1; ``SAMPLE_APP_BIND=0.0.0.0`` (the Dockerfile's)
on every interface.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.app import create_app
from inspector.sample_app.settings import SampleAppSettings
from tests.harness import free_port, start_redis_server
from tests.web.test_deploy import DOCKERFILE, wait_http


async def test_redis_down_publishes_no_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_redis_server(tmp_path / "a")
    port = server.port
    settings = SampleAppSettings(redis=ConnectionSettings(port=port), name="container-1")
    client: TestClient = TestClient(TestServer(create_app(settings)))  # type: ignore[type-arg]
    await client.start_server()
    try:
        assert (await client.get("/1")).status == 200
        server.stop()
        caplog.set_level(logging.WARNING, logger="inspector.sample_app")
        page = await client.get("/1")
        health = await client.get("/health")
        assert page.status == 503
        assert health.status == 503
        body = await health.json()
        assert body["status"] == "DOWN"
        assert body["redis"] == "DOWN"
        for text in (await page.text(), await health.text()):
            assert str(port) not in text
            assert "127.0.0.1" not in text
            assert "refused" not in text.lower()
        assert "Session store unavailable" in await page.text()
        # The operator still learns where and why, from the log.
        logged = "\n".join(record.getMessage() for record in caplog.records)
        assert f"127.0.0.1:{port}" in logged
        assert "health check: Redis is down" in logged
    finally:
        await client.close()
        server.stop()


def _listening_address(port: int) -> str:
    """The local address of the TCP socket listening on ``port`` (from /proc)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, _, state = line.split()[1:4]
        address, _, port_hex = local.partition(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            return ".".join(str(b) for b in reversed(bytes.fromhex(address)))
    raise AssertionError(f"nothing listens on {port}")


@pytest.mark.parametrize(
    ("env", "expected"), [({}, "127.0.0.1"), ({"SAMPLE_APP_BIND": "0.0.0.0"}, "0.0.0.0")]
)
def test_default_bind_is_loopback(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    port = free_port()
    app = subprocess.Popen(
        [sys.executable, "-m", "inspector", "-p", str(free_port()), "sample-app",
         "--port", str(port), "--name", "c1"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/index.html")
        assert _listening_address(port) == expected
    finally:
        app.terminate()
        app.wait(timeout=20)


def test_the_image_listens_on_every_interface() -> None:
    assert "SAMPLE_APP_BIND=0.0.0.0" in DOCKERFILE
