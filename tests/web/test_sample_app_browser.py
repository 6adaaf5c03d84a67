"""A real browser (headless Debian Chromium via Selenium) using the sample app through a
load balancer that routes like the article's ALB: /1 -> container-1, /2 -> container-2."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.app import create_app
from inspector.sample_app.settings import SampleAppSettings
from tests.harness import RedisServer

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(
    os.environ.get(
        "TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
    )
)


def balancer(app1: str, app2: str) -> web.Application:
    """Path routing as the ALB does it: /1 to app1, /2 to app2, the rest to app1."""

    async def forward(request: web.Request) -> web.StreamResponse:
        target = app2 if request.path.startswith("/2") else app1
        async with (
            ClientSession(auto_decompress=False) as session,
            session.get(
                target + request.path_qs,
                headers={
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() not in ("host", "accept-encoding")
                },
                allow_redirects=False,
            ) as upstream,
        ):
            body = await upstream.read()
            response = web.Response(status=upstream.status, body=body)
            for name, value in upstream.headers.items():
                if name.lower() not in (
                    "content-length",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                ):
                    response.headers.add(name, value)
            return response

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", forward)
    return app


@pytest.fixture
async def site(redis_clean: RedisServer) -> AsyncIterator[str]:
    servers = []
    for name in ("container-1", "container-2"):
        settings = SampleAppSettings(redis=ConnectionSettings(port=redis_clean.port), name=name)
        server = TestServer(create_app(settings))
        await server.start_server()
        servers.append(server)
    lb = TestServer(
        balancer(str(servers[0].make_url("")).rstrip("/"), str(servers[1].make_url("")).rstrip("/"))
    )
    await lb.start_server()
    yield str(lb.make_url("")).rstrip("/")
    for server in [lb, *servers]:
        await server.close()


def chrome(profile: Path) -> WebDriver:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1000,800",
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def press_shared_session(driver: WebDriver, base: str, group: str) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    box = driver.find_element(By.ID, "containerGroup")
    box.clear()
    box.send_keys(group)
    driver.find_element(By.ID, "sharedSessionButton").click()
    WebDriverWait(driver, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "host"))
    )
    return str(driver.find_element(By.ID, "host").text)


async def test_browser_sees_both_containers(
    site: str, redis_clean: RedisServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    driver = await asyncio.to_thread(chrome, tmp_path / "profile")
    try:
        await asyncio.to_thread(driver.get, site + "/index.html")
        first = await asyncio.to_thread(press_shared_session, driver, site, "1")
        assert first == "container-1"
        await asyncio.to_thread(driver.back)
        await asyncio.to_thread(driver.find_element, By.ID, "containerGroup")
        second = await asyncio.to_thread(press_shared_session, driver, site, "2")
        assert second == "container-2"
        shot = ARTIFACTS / "sample-app-shared-session.png"
        await asyncio.to_thread(shot.parent.mkdir, parents=True, exist_ok=True)
        assert await asyncio.to_thread(driver.save_screenshot, str(shot))
        cookies = await asyncio.to_thread(driver.get_cookies)
        assert [c["name"] for c in cookies] == ["SESSION"]
        assert cookies[0]["httpOnly"] is True
    finally:
        await asyncio.to_thread(driver.quit)
    # One shared session, last served by container-2.
    data = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    keys = [k for k in data.scan_iter(match="spring:session:sessions:*") if b"expires" not in k]
    assert len(keys) == 1
    attribute = json.loads(data.hget(keys[0], "sessionAttr:scopedTarget.sampleSession") or b"")
    assert attribute["host"] == "container-2"
    data.close()
