"""Python frameworks write fresh sessions through their real request cycle (their test
clients) into a real redis-server; the adapters read the key's bytes and show every
attribute the framework itself reads back, with its type, plus principal and host."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis

from inspector.core.frameworks import FrameworkSession, RawRecord, RedisType, parse, recognize
from tests.frameworks_oracle import py_typed, shown_as
from tests.harness import RedisServer

# The frameworks' own deprecations (and aiohttp-session's str request keys) are
# theirs, not ours: the test is that what they write is read back.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey"),
]

# What every app stores: unicode, numbers, nesting, a date, a host-like field.
DATA: dict[str, Any] = {
    "user_id": 7,
    "greeting": "ünï 😀 日本",
    "ratio": 0.25,
    "flags": [True, False, None],
    "server": {"hostname": "py-web-1"},
    "cart": {"items": [{"sku": "A-1", "qty": 2}]},
}
# Values only pickle keeps (the msgpack and JSON formats cannot hold them).
PICKLED: dict[str, Any] = {
    "last_login": dt.datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=dt.UTC),
    "birthday": dt.date(1990, 7, 14),
    "balance": decimal.Decimal("10.50"),
    "token": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "pair": (1, "x"),
}


@pytest.fixture
def server(redis_clean: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    yield client
    client.close()


def only_session(client: redis.Redis, skip: tuple[bytes, ...] = ()) -> FrameworkSession:
    keys = [k for k in client.scan_iter(count=100) if not k.endswith(skip)]
    assert len(keys) == 1, keys
    key = keys[0]
    value = client.get(key)
    assert isinstance(key, bytes)
    assert isinstance(value, bytes)
    kind = client.type(key)
    found = recognize(key, kind.decode() if isinstance(kind, bytes) else kind, value[:32])
    assert found is not None, key
    assert found.confirmed, key
    session = parse(
        RawRecord(
            key.decode(), RedisType.STRING, value, None, client.pttl(key), int(time.time() * 1000)
        ),
        found,
    )
    assert session is not None
    assert session.readable, session.notes
    return session


def assert_shown(session: FrameworkSession, read_back: dict[str, Any]) -> None:
    shown = {k: v.value for k, v in {**session.attributes, **session.bookkeeping}.items()}
    for name, value in read_back.items():
        assert name in shown, f"{name} not shown"
        assert shown_as(py_typed(value), shown[name]), (name, py_typed(value), shown[name])
    assert session.host == "py-web-1"
    assert session.host_source == "server.hostname"


# ------------------------------------------------------------------ Flask-Session


@pytest.mark.parametrize("backend", ["msgpack", "json", "cachelib"])
def test_flask_session(server: redis.Redis, backend: str) -> None:
    import flask
    from flask_session import Session

    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="x", SESSION_PERMANENT=True)
    if backend == "cachelib":
        from cachelib.redis import RedisCache

        kwargs = server.connection_pool.connection_kwargs
        app.config.update(
            SESSION_TYPE="cachelib",
            SESSION_CACHELIB=RedisCache(host=kwargs["host"], port=kwargs["port"]),
        )
    else:
        app.config.update(
            SESSION_TYPE="redis", SESSION_REDIS=server, SESSION_SERIALIZATION_FORMAT=backend
        )
    Session(app)
    values = {**DATA, **(PICKLED if backend == "cachelib" else {})}
    read_back: list[dict[str, Any]] = []

    @app.route("/login")
    def login() -> str:
        flask.session.update(values)
        return "ok"

    @app.route("/read")
    def read() -> str:
        read_back.append(dict(flask.session))
        return "ok"

    with app.test_client() as client:
        client.get("/login")
        client.get("/read")
    session = only_session(server)
    assert session.framework == "flask-session"
    assert (
        session.variant
        == {"msgpack": "msgpack, 0.7+", "json": "json, 0.7+", "cachelib": "cachelib"}[backend]
    )
    assert_shown(session, read_back[0])
    assert "_permanent" in session.bookkeeping
    assert "_permanent" not in session.attributes
    assert session.principal == "7"
    # PERMANENT_SESSION_LIFETIME (31 days) is the key's TTL.
    assert session.ttl_ms > 30 * 86400 * 1000


# ------------------------------------------------------------------ Django


@pytest.fixture(scope="module")
def django_setup() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="x",
            ROOT_URLCONF=__name__,
            ALLOWED_HOSTS=["testserver"],
            INSTALLED_APPS=[
                "django.contrib.auth",
                "django.contrib.contenttypes",
                "django.contrib.sessions",
            ],
            MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
        )
        django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, run_syncdb=True)


def django_login(request: Any) -> Any:
    from django.contrib.auth import login
    from django.contrib.auth.models import User
    from django.http import HttpResponse

    user, _ = User.objects.get_or_create(username="alice")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    # cached_db also writes the database row, through Django's JSON serializer.
    json_only = request.session.__module__.endswith("cached_db")
    request.session.update({**DATA, **({} if json_only else PICKLED)})
    return HttpResponse("ok")


DJANGO_READ: list[dict[str, Any]] = []


def django_read(request: Any) -> Any:
    from django.http import HttpResponse

    DJANGO_READ.append(dict(request.session.items()))
    return HttpResponse("ok")


def _urlpatterns() -> list[Any]:
    try:
        from django.urls import path
    except ImportError:  # pragma: no cover
        return []
    return [path("login", django_login), path("read", django_read)]


urlpatterns = _urlpatterns()


@pytest.mark.parametrize(
    "backend", ["django.core.cache.backends.redis.RedisCache", "django_redis.cache.RedisCache"]
)
@pytest.mark.parametrize("engine", ["cache", "cached_db"])
def test_django(server: redis.Redis, django_setup: None, backend: str, engine: str) -> None:
    from django.contrib.auth.models import User
    from django.test import Client, override_settings

    kwargs = server.connection_pool.connection_kwargs
    caches = {
        "default": {"BACKEND": backend, "LOCATION": f"redis://{kwargs['host']}:{kwargs['port']}/0"}
    }
    DJANGO_READ.clear()
    with override_settings(
        CACHES=caches, SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"
    ):
        client = Client()
        client.get("/login")
        client.get("/read")
    session = only_session(server)
    assert session.framework == "django"
    assert session.variant == engine
    assert_shown(session, DJANGO_READ[0])
    assert {"_auth_user_id", "_auth_user_backend", "_auth_user_hash"} <= set(session.bookkeeping)
    assert session.principal == str(User.objects.get(username="alice").pk)
    assert session.principal_source == "_auth_user_id"
    # SESSION_COOKIE_AGE: two weeks.
    assert 1_209_000_000 < session.ttl_ms <= 1_209_600_000


# ------------------------------------------------------------------ aiohttp-session


async def test_aiohttp_session(redis_clean: RedisServer, server: redis.Redis) -> None:
    import redis.asyncio as aioredis
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer
    from aiohttp_session import get_session, setup
    from aiohttp_session.redis_storage import RedisStorage

    pool = aioredis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    read_back: list[dict[str, Any]] = []

    async def login(request: web.Request) -> web.Response:
        session = await get_session(request)
        session.update(DATA)
        return web.Response(text="ok")

    async def read(request: web.Request) -> web.Response:
        read_back.append(dict(await get_session(request)))
        return web.Response(text="ok")

    app = web.Application()
    setup(app, RedisStorage(pool, max_age=600))
    app.router.add_get("/login", login)
    app.router.add_get("/read", read)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        await (await client.get("/login")).release()
        await (await client.get("/read")).release()
    finally:
        await client.close()
        await pool.aclose()
    session = only_session(server)
    assert session.framework == "aiohttp-session"
    assert_shown(session, read_back[0])
    assert list(session.bookkeeping) == ["created"]
    assert session.created_ms is not None
    assert abs(session.created_ms - time.time() * 1000) < 60_000
    assert 0 < session.ttl_ms <= 600_000


# ------------------------------------------------------------------ starsessions


def test_starsessions(redis_clean: RedisServer, server: redis.Redis) -> None:
    import redis.asyncio as aioredis
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware
    from starsessions.stores.redis import RedisStore

    read_back: list[dict[str, Any]] = []

    async def login(request: Request) -> PlainTextResponse:
        request.session.update(DATA)
        return PlainTextResponse("ok")

    async def read(request: Request) -> PlainTextResponse:
        read_back.append(dict(request.session))
        return PlainTextResponse("ok")

    connection = aioredis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    store = RedisStore(connection=connection)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await connection.aclose()  # inside the test client's loop, which owns the sockets

    app = Starlette(
        routes=[Route("/login", login), Route("/read", read)],
        middleware=[
            Middleware(SessionMiddleware, store=store, lifetime=900),
            Middleware(SessionAutoloadMiddleware),
        ],
        lifespan=lifespan,
    )
    with TestClient(app) as client:
        client.get("/login")
        client.get("/read")
    session = only_session(server)
    assert session.framework == "starsessions"
    assert_shown(session, {k: v for k, v in read_back[0].items() if k != "__metadata__"})
    assert list(session.bookkeeping) == ["__metadata__"]
    assert session.created_ms is not None
    assert session.last_access_ms is not None


# ------------------------------------------------------------------ Beaker


@pytest.mark.parametrize("serializer", ["pickle", "json"])
def test_beaker(server: redis.Redis, serializer: str) -> None:
    from beaker.middleware import SessionMiddleware
    from werkzeug.test import Client

    read_back: list[dict[str, Any]] = []
    values = {**DATA, **(PICKLED if serializer == "pickle" else {})}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ["beaker.session"]
        if environ["PATH_INFO"] == "/login":
            session.update(values)
            session.save()
        else:
            read_back.append(dict(session))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    kwargs = server.connection_pool.connection_kwargs
    wrapped = SessionMiddleware(
        app,
        {
            "session.type": "ext:redis",
            "session.url": f"redis://{kwargs['host']}:{kwargs['port']}",
            "session.timeout": 600,
            "session.data_serializer": serializer,
        },
    )
    client = Client(wrapped)
    client.get("/login")
    client.get("/read")
    session = only_session(server, skip=(b"_lock",))
    assert session.framework == "beaker"
    assert session.variant == serializer
    assert_shown(session, {k: v for k, v in read_back[0].items() if not k.startswith("_")})
    assert {"_creation_time", "_accessed_time"} <= set(session.bookkeeping)
    assert session.created_ms is not None


# ------------------------------------------------------------------ the commands


def test_ls_and_show_list_python_frameworks_written_live(
    redis_clean: RedisServer, server: redis.Redis, django_setup: None
) -> None:
    """Flask-Session and Django write through their request cycles; `ls` lists both in one
    pass and `show` finds each by the cookie its browser got."""
    import json

    import flask
    from django.test import Client, override_settings
    from flask_session import Session

    from tests.cli_run import inspector

    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="x", SESSION_TYPE="redis", SESSION_REDIS=server)
    Session(app)

    @app.route("/login")
    def login() -> str:
        flask.session.update(DATA)
        return "ok"

    with app.test_client() as browser:
        browser.get("/login")
        cookie = browser.get_cookie("session")
        assert cookie is not None
        flask_cookie = cookie.value
    kwargs = server.connection_pool.connection_kwargs
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{kwargs['host']}:{kwargs['port']}/0",
        }
    }
    with override_settings(CACHES=caches, SESSION_ENGINE="django.contrib.sessions.backends.cache"):
        client = Client()
        client.get("/login")
        django_cookie = client.cookies["sessionid"].value

    listed = inspector("-p", str(redis_clean.port), "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["framework"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert set(rows) == {"flask-session", "django"}
    for row in rows.values():
        assert row["host"] == "py-web-1"
        assert row["state"] == "active"
        assert row["ttl"] > 0
    assert rows["flask-session"]["principal"] == "7"
    assert rows["django"]["principalSource"] == "_auth_user_id"
    for framework, cookie_value in (("flask-session", flask_cookie), ("django", django_cookie)):
        # Flask's ids are URL-safe tokens: one may start with "-" (CI red once,
        # argparse took "-gLp..." for a flag), so the id goes after "--".
        shown = inspector("-p", str(redis_clean.port), "show", "--json", "--", cookie_value)
        assert shown.returncode == 0, shown.stderr
        session = json.loads(shown.stdout)
        assert session["framework"] == framework
        assert session["attributes"]["greeting"]["value"] == "ünï 😀 日本"
