"""The demo deployment: the article's whole picture on one machine, no Redis needed.

:func:`running_demo` starts an embedded Redis (fakeredis' TCP server on a free
loopback port, or uses a real server given in :class:`DemoOptions`), two
sample-app instances named ``container-1`` and ``container-2`` on free ports,
and a traffic simulator: virtual users, each with its own cookie, pressing
"Shared Session" with group 1 or 2 (path routing as the article's ALB does:
``/1`` to container-1, ``/2`` to container-2). Leaving the context stops
everything it started; nothing is left running or listening.
``session-inspector demo`` puts the TUI in front of it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from inspector.redis_io.settings import ConnectionSettings

__all__ = ["SESSION_ID", "DemoOptions", "RunningDemo", "embedded_redis", "running_demo"]

SESSION_ID = "e1237df7-5646-4382-aa12-41435ed09dc7"
"""The session seeded into the embedded Redis before any traffic (the article's id)."""


async def _seed(settings: ConnectionSettings) -> None:
    """The article's session as container-1 would have written it on its first request.

    Written by the sample app's own store, so the seed has exactly the app's
    layout: hash, shadow key, minute set and created event.
    """
    from inspector.redis_io.client import open_client
    from inspector.sample_app.store import (
        SAMPLE_ATTRIBUTE,
        SpringSessionStore,
        sample_session_json,
    )

    client = await open_client(settings)
    try:
        store = SpringSessionStore(client)
        session = store.create(session_id=SESSION_ID)
        session.set_attribute(
            SAMPLE_ATTRIBUTE, sample_session_json("container-1", session.last_accessed_time)
        )
        await store.save(session)
    finally:
        await client.aclose()


@contextlib.contextmanager
def embedded_redis() -> Iterator[ConnectionSettings]:
    """Run fakeredis' TCP server on a free loopback port, seeded; stop it on exit."""
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True)
    thread.start()
    try:
        settings = ConnectionSettings(host="127.0.0.1", port=port, source="embedded fakeredis")
        # A loop of its own in a thread of its own: the caller may already be
        # running one (the TUI tests are), and asyncio.run refuses to nest.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="demo-seed") as pool:
            pool.submit(lambda: asyncio.run(_seed(settings))).result()
        yield settings
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(slots=True)
class DemoOptions:
    """How much traffic, and where the sessions live."""

    redis: ConnectionSettings | None = None
    """A real server to use instead of the embedded one (``--redis URL``)."""
    users: int = 6
    """Virtual users, each with its own cookie (its own session)."""
    rate: float = 3.0
    """Requests per second, all users together."""
    invalidate_share: float = 0.03
    """Share of requests that press "Invalidate Session" (new sessions keep coming)."""


@dataclass(slots=True)
class RunningDemo:
    """What the demo started: where Redis and the two containers are."""

    redis: ConnectionSettings
    urls: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def banner(self) -> str:
        """The two app URLs, for people who want to click along in a browser."""
        return "\n".join(f"{name}: {url}/index.html" for name, url in self.urls.items())


class _Background:
    """An event loop in a thread running the two apps and the traffic."""

    def __init__(self, demo: RunningDemo, options: DemoOptions) -> None:
        self.demo = demo
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="demo", daemon=True)
        self.runners: list[object] = []
        self.traffic: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()

    async def _start(self) -> None:
        from aiohttp import web

        from inspector.sample_app.app import create_app
        from inspector.sample_app.settings import SampleAppSettings

        for name in ("container-1", "container-2"):
            # Named connections, as the sample-app command gives them by default,
            # so attribution by connection can tell the two apart.
            redis_settings = dataclasses.replace(self.demo.redis, client_name=name)
            settings = SampleAppSettings(redis=redis_settings, name=name, bind="127.0.0.1", port=0)
            runner = web.AppRunner(create_app(settings), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.demo.urls[name] = f"http://127.0.0.1:{port}"
            self.runners.append(runner)
        self.traffic = asyncio.create_task(self._traffic())

    async def _stop(self) -> None:
        if self.traffic is not None:
            self.traffic.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.traffic
        for runner in self.runners:
            await runner.cleanup()  # type: ignore[attr-defined]

    async def _traffic(self) -> None:
        await asyncio.gather(*(self._user(i) for i in range(self.options.users)))

    async def _user(self, index: int) -> None:
        from aiohttp import ClientError, ClientSession, ClientTimeout, CookieJar

        rng = random.Random(index)  # noqa: S311 - simulated users, not security
        # unsafe=True: cookies for an IP host (127.0.0.1), shared by both ports
        # as a browser shares them behind one load balancer name.
        jar = CookieJar(unsafe=True)
        per_user = self.options.rate / max(1, self.options.users)
        urls = self.demo.urls
        async with ClientSession(cookie_jar=jar, timeout=ClientTimeout(total=5)) as http:
            await asyncio.sleep(rng.random())  # users do not all start at once
            while True:
                group = rng.choice((1, 2))
                base = urls[f"container-{group}"]
                path = (
                    "/invalidateSession"
                    if rng.random() < self.options.invalidate_share
                    else f"/{group}"
                )
                with contextlib.suppress(ClientError, TimeoutError):
                    async with http.get(base + path) as response:
                        await response.read()
                    self.demo.requests += 1
                await asyncio.sleep(rng.expovariate(per_user) if per_user > 0 else 1.0)


@contextlib.contextmanager
def running_demo(options: DemoOptions) -> Iterator[RunningDemo]:
    """Start Redis (or use the given one), the two apps and the traffic; stop them on exit."""
    with contextlib.ExitStack() as stack:
        settings = options.redis or stack.enter_context(embedded_redis())
        demo = RunningDemo(redis=settings)
        background = _Background(demo, options)
        # Registered first: a failed start still stops what it had started.
        stack.callback(background.stop)
        background.start()
        yield demo
