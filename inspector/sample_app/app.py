"""The aiohttp application: the seed app's routes, sessions in Redis the Spring way.

Routes (as the Spring app, article 4-3):

* ``GET /``, ``GET /index.html`` — the page with the container-group input and
  the "Shared Session" and "Invalidate Session" buttons;
* ``GET /{group}`` (digits) — sets the session attribute
  ``scopedTarget.sampleSession`` to ``{host: NAME, lastUpdatedAt: now}`` (no
  ``host`` with ``--no-host-attribute``) and shows which container served it;
* ``GET /invalidateSession`` — invalidates, then redirects to ``/index.html``;
* ``GET /health`` — for ALB/ECS health checks: 200 when Redis answers, 503 when not.

The ``SESSION`` cookie is Base64 of the session id, ``HttpOnly``,
``SameSite=Lax``, ``Path=/``, as Spring Session 2+ sets it. A missing, garbage
or unknown cookie starts a fresh session; Redis being down gives a 503 page,
and the app recovers when Redis returns.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from redis.exceptions import RedisError

from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.sample_app.keys import HOLDER, SETTINGS
from inspector.sample_app.pages import error_page, index_page, shared_session_page
from inspector.sample_app.settings import SampleAppSettings
from inspector.sample_app.state import RedisHolder
from inspector.sample_app.store import (
    SAMPLE_ATTRIBUTE,
    SpringSessionStore,
    StoredSession,
    sample_session_json,
)

__all__ = ["COOKIE", "create_app", "run_sample_app"]

COOKIE = "SESSION"
log = logging.getLogger("inspector.sample_app")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _cookie_id(request: web.Request) -> str | None:
    """The session id from the SESSION cookie (Base64 of the id), or ``None``.

    Strictly as Spring's DefaultCookieSerializer reads it: a value that is not
    Base64 (a raw id included) means no session, so a fresh one starts. The
    store then refuses decoded text that is not an id.
    """
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None  # garbage: a fresh session, never a 500


def _set_cookie(response: web.StreamResponse, session_id: str) -> None:
    value = base64.b64encode(session_id.encode()).decode()
    response.set_cookie(COOKIE, value, path="/", httponly=True, samesite="Lax")


def _store(request: web.Request, client: object) -> SpringSessionStore:
    settings = request.app[SETTINGS]
    return SpringSessionStore(
        client,  # type: ignore[arg-type]
        namespace=settings.namespace,
        layout=settings.layout,
        db=settings.redis.db,
        interval=settings.interval,
    )


PUBLIC_UNAVAILABLE = (
    "The session store cannot be reached right now; the details are in the app's log."
)
"""What a 503 tells any client: nothing about where Redis is or why it failed."""


@web.middleware
async def redis_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Redis down or failing: a 503 page, never a traceback."""
    try:
        return await handler(request)
    except (Failure, RedisError, OSError, TimeoutError) as exc:
        settings = request.app[SETTINGS]
        message = describe_failure(exc, settings.redis).message
        log.warning("session store unavailable: %s", message)
        # The details (Redis's address, its error) go to the log only: any
        # client can read this page.
        return web.Response(
            status=503,
            text=error_page("Session store unavailable", PUBLIC_UNAVAILABLE),
            content_type="text/html",
        )


async def index(request: web.Request) -> web.Response:
    """The start page; it does not touch the session (no cookie, no Redis)."""
    return web.Response(text=index_page(request.app[SETTINGS].name), content_type="text/html")


async def shared_session(request: web.Request) -> web.Response:
    """Record that this container served the session, and say so."""
    settings = request.app[SETTINGS]
    store = _store(request, await request.app[HOLDER].client())
    session_id = _cookie_id(request)
    session: StoredSession | None = await store.load(session_id) if session_id else None
    if session is None:
        session = store.create()
    else:
        store.touch(session)
    # The bean's lastUpdatedAt is the request's time, the session's last access.
    now = session.last_accessed_time
    # Spring re-sets a session-scoped bean's attribute at the end of every
    # request that used it, so the attribute is in every delta.
    host = settings.name if settings.host_attribute else None
    session.set_attribute(SAMPLE_ATTRIBUTE, sample_session_json(host, now))
    created = session.is_new
    await store.save(session)
    response = web.Response(text=shared_session_page(settings.name, now), content_type="text/html")
    if created:
        _set_cookie(response, session.id)
    return response


async def invalidate_session(request: web.Request) -> web.StreamResponse:
    """``HttpSession.invalidate()``, then back to the start page."""
    session_id = _cookie_id(request)
    if session_id:
        store = _store(request, await request.app[HOLDER].client())
        session = await store.load(session_id)
        if session is not None:
            await store.invalidate(session)
    redirect = web.HTTPFound("/index.html")
    redirect.del_cookie(COOKIE, path="/")
    raise redirect


async def health(request: web.Request) -> web.Response:
    """200 when Redis answers PING within a second, 503 otherwise."""
    settings = request.app[SETTINGS]
    body: dict[str, str] = {"status": "UP", "name": settings.name, "redis": "UP"}
    try:
        async with asyncio.timeout(1.0):
            client = await request.app[HOLDER].client()
            await client.ping()
    except (Failure, RedisError, OSError, TimeoutError) as exc:
        # The load balancer needs the status, not Redis's address or error text.
        log.warning(
            "health check: Redis is down: %s", describe_failure(exc, settings.redis).message
        )
        body.update(status="DOWN", redis="DOWN")
        return web.json_response(body, status=503)
    return web.json_response(body)


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    holder = RedisHolder(app[SETTINGS].redis)
    app[HOLDER] = holder
    try:
        await holder.client()  # connect early when we can; not required to start
    except Failure as failure:
        log.warning(
            "Redis is not reachable yet (%s); pages answer 503 until it is", failure.message
        )
    yield
    await holder.aclose()


def create_app(settings: SampleAppSettings) -> web.Application:
    """Build the application (the tests and ``run_sample_app`` both use this)."""
    app = web.Application(middlewares=[redis_errors])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(_redis_ctx)
    app.router.add_get("/", index)
    app.router.add_get("/index.html", index)
    app.router.add_get("/health", health)
    app.router.add_get("/invalidateSession", invalidate_session)
    app.router.add_get("/{group:[0-9]+}", shared_session)
    return app


async def _serve(settings: SampleAppSettings) -> None:
    """Serve until SIGINT/SIGTERM, then close connections and the Redis client.

    Raises:
        Failure: The address cannot be bound (in use, not allowed); nothing
            was left behind.
    """
    from inspector.sample_app.healthcheck import write_marker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.bind, settings.port).start()
        except OSError as exc:
            raise Failure(
                Problem.USAGE,
                f"sample-app cannot listen on {settings.bind}:{settings.port}: "
                # asyncio's strerror repeats the address; the errno's text does not.
                f"{os.strerror(exc.errno) if exc.errno else exc}; choose another --port or --bind",
            ) from exc
        # Only now: the health check must not find a marker for a server that
        # never bound its port (the marker makes a container count as a web server).
        write_marker(settings.port)
        log.info(
            "sample app %s on http://%s:%d (sessions: %s, %s layout, namespace %s; "
            "host attribute %s, client name %s, connections from %s)",
            settings.name, settings.bind, settings.port, settings.redis.endpoint,
            settings.layout.value, settings.namespace,
            "on" if settings.host_attribute else "off",
            settings.redis.client_name or "none", settings.redis.source_address or "any address",
        )  # fmt: skip
        await stop.wait()
    finally:
        await runner.cleanup()


def run_sample_app(settings: SampleAppSettings) -> int:
    """Run the app as a server (``session-inspector sample-app``); returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_serve(settings))
    return 0
