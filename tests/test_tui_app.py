"""The TUI's first screen against real servers (Textual pilot; waits on workers)."""

from __future__ import annotations

import socket

from textual.widgets import Static

from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.demo import SESSION_ID, embedded_redis
from inspector.tui.app import InspectorApp
from tests.harness import RedisServer


def status_text(app: InspectorApp) -> str:
    return str(app.query_one("#status", Static).render())


async def test_shows_the_server(redis_clean: RedisServer) -> None:
    app = InspectorApp(ConnectionSettings(port=redis_clean.port))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = status_text(app)
        assert f"Connected to 127.0.0.1:{redis_clean.port}: Redis 7." in text
        assert "standalone, 0 keys" in text
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_cluster_shows_its_primaries(redis_cluster: list[RedisServer]) -> None:
    app = InspectorApp(ConnectionSettings(port=redis_cluster[0].port))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "cluster (3 primaries)" in status_text(app)


async def test_unreachable_server_is_explained_not_crashed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = InspectorApp(ConnectionSettings(port=port))
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert status_text(app).startswith("Cannot connect: could not connect to Redis at")


async def test_demo_server_starts_seeded_and_stops() -> None:
    with embedded_redis() as settings:
        app = InspectorApp(settings)
        async with app.run_test() as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "1 keys" in status_text(app)
        import redis

        client = redis.Redis(host=settings.host, port=settings.port)
        assert client.exists(f"spring:session:sessions:{SESSION_ID}")
        client.close()
    with socket.socket() as again:  # the port is free again: nothing left listening
        again.bind(("127.0.0.1", settings.port))
