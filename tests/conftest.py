"""Shared pytest configuration and fixtures for the test suite."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TypeVar

import hypothesis  # noqa: F401 - imported now, see below
import pytest
import redis

from tests.harness import (
    HarnessError,
    RedisServer,
    TLSFiles,
    generate_tls_files,
    start_acl_server,
    start_cluster,
    start_redis_server,
    stop_servers,
)
from tests.live_processes import Running

# =============================================================================
# Redis server harness (see tests/harness.py)
#
# Session-scoped private redis-server processes on free 127.0.0.1 ports; the
# shared server on port 6379 is never used.  Each fixture starts its server(s)
# lazily on first use and stops them at session end; all files live in one
# temporary directory that is removed afterwards.  If a test that used one of
# these servers fails, the servers' log tails are attached to the report.
# =============================================================================

_T = TypeVar("_T")

# A run started in the background by a non-interactive shell inherits SIGINT
# ignored, and so would every `watch` a test starts: its Ctrl-C (the tests'
# SIGINT) would then do nothing. The default comes back here, for the children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# hypothesis is imported above, before filterwarnings=error applies: its pytest
# plugin imports it late otherwise (at the terminal summary of a run that did not
# use it), and trio's hypothesis hook then warns, which that setting turns into a
# crash of a run whose tests all passed.

# Every test names its endpoint with flags. An endpoint, URL or password in the
# environment (an ECS host exports REDISCLUSTERENDPOINT) would fill the fields a
# flag leaves open and send subprocesses elsewhere, so none reaches the tests.
for _variable in (
    "REDISCLUSTERENDPOINT",
    "REDIS_CLUSTER_ENDPOINT",
    "REDIS_URL",
    "REDISCLI_AUTH",
    "SESSION_INSPECTOR_DEBUG",
    # A saved profile (issue 16.14) would fill them too; tests point
    # XDG_CONFIG_HOME at their own profiles.toml.
    "SESSION_INSPECTOR_PROFILE",
    # The --ssh tests bring their own keys, agent and secrets.
    "SSH_AUTH_SOCK",
    "SSH_PASSWORD",
    "SSH_KEY_PASSPHRASE",
):
    os.environ.pop(_variable, None)


def _started(start: Callable[[], _T]) -> _T:
    """Run a harness start function, turning harness errors into a clear fixture failure."""
    try:
        return start()
    except HarnessError as exc:
        message = str(exc)
    pytest.fail(f"Redis test harness: {message}", pytrace=False)  # outside `except`: no chaining


@pytest.fixture(scope="session")
def redis_harness_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Directory holding TLS files and server data dirs; removed at session end."""
    path = tmp_path_factory.mktemp("redis-harness", numbered=False)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_files(redis_harness_dir: Path) -> TLSFiles:
    """Test PKI: CA, server cert (localhost/127.0.0.1), client cert, unrelated CA."""
    return _started(lambda: generate_tls_files(redis_harness_dir / "tls"))


def _serve(start: Callable[[], RedisServer]) -> Iterator[RedisServer]:
    """Start a server for a fixture, yield it, stop it afterwards."""
    server = _started(start)
    try:
        yield server
    finally:
        server.stop()


def _serve_cluster(start: Callable[[], list[RedisServer]]) -> Iterator[list[RedisServer]]:
    """Start a cluster for a fixture, yield its nodes, stop them afterwards."""
    nodes = _started(start)
    try:
        yield nodes
    finally:
        stop_servers(nodes)


@pytest.fixture(scope="session")
def redis_standalone(redis_harness_dir: Path) -> Iterator[RedisServer]:
    """Plain-TCP standalone server without a password."""
    yield from _serve(lambda: start_redis_server(redis_harness_dir / "standalone"))


@pytest.fixture(scope="session")
def redis_tls(redis_harness_dir: Path, tls_files: TLSFiles) -> Iterator[RedisServer]:
    """TLS-only server (``port == 0``); client certificates are not required."""
    directory = redis_harness_dir / "tls-server"
    yield from _serve(
        lambda: start_redis_server(directory, tls=tls_files, tls_only=True, tls_auth_clients="no")
    )


@pytest.fixture(scope="session")
def redis_mtls(redis_harness_dir: Path, tls_files: TLSFiles) -> Iterator[RedisServer]:
    """TLS-only server that requires a client certificate signed by the test CA."""
    directory = redis_harness_dir / "mtls-server"
    yield from _serve(
        lambda: start_redis_server(directory, tls=tls_files, tls_only=True, tls_auth_clients="yes")
    )


@pytest.fixture(scope="session")
def redis_acl(redis_harness_dir: Path) -> Iterator[RedisServer]:
    """Server with ``requirepass`` ADMIN_PASSWORD and the read-only ACL user ``reader``."""
    yield from _serve(lambda: start_acl_server(redis_harness_dir / "acl"))


@pytest.fixture(scope="session")
def redis_cluster(redis_harness_dir: Path) -> Iterator[list[RedisServer]]:
    """Plain-TCP cluster of 3 primaries (no replicas) covering all 16384 slots.

    Created with `redis-cli --cluster create`, the way operators build one; the
    TLS cluster below uses the harness's faster native bootstrap.
    """
    directory = redis_harness_dir / "cluster"
    yield from _serve_cluster(lambda: start_cluster(directory, primaries=3, use_redis_cli=True))


@pytest.fixture(scope="session")
def redis_tls_cluster(redis_harness_dir: Path, tls_files: TLSFiles) -> Iterator[list[RedisServer]]:
    """TLS-only cluster of 3 primaries (TLS cluster bus, tls-auth-clients no)."""
    directory = redis_harness_dir / "tls-cluster"
    yield from _serve_cluster(lambda: start_cluster(directory, primaries=3, tls=tls_files))


@pytest.fixture(params=["standalone", "cluster"])
def standalone_or_cluster(
    request: pytest.FixtureRequest, redis_standalone: RedisServer
) -> RedisServer | list[RedisServer]:
    """The standalone server, then the cluster's nodes: a test runs once on each
    (the cluster is started only when a test asks for it)."""
    if request.param == "standalone":
        return redis_standalone
    cluster: list[RedisServer] = request.getfixturevalue("redis_cluster")
    return cluster


@pytest.fixture
def redis_clean(redis_standalone: RedisServer) -> RedisServer:
    """The standalone server as new: all databases empty, keyspace notifications off."""
    client = redis.Redis(**redis_standalone.client_kwargs())  # type: ignore[arg-type]
    try:
        client.flushall()
        # Tests that turn notifications on share this server; a test that
        # expects silence on a channel must not inherit them.
        client.config_set("notify-keyspace-events", "")
    finally:
        client.close()
    return redis_standalone


@pytest.fixture
def running() -> Iterator[Running]:
    """Sample apps and watches started as processes (tests/live_processes.py), all
    stopped when the test ends, however it ends."""
    started = Running()
    try:
        yield started
    finally:
        started.stop()


LAYERS = ("unit", "redis", "tui", "web", "ssh")
"""Test directories, each a marker of the same name (``pytest -m unit``)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its layer, from the directory it lives in."""
    for item in items:
        layer = next((part for part in item.path.parts if part in LAYERS), None)
        if layer is not None:
            item.add_marker(layer)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log tail of every RedisServer a failed test used to its report."""
    report = yield
    if report.failed:
        funcargs: dict[str, object] = getattr(item, "funcargs", {})
        for name, value in funcargs.items():
            servers = value if isinstance(value, list) else [value]
            for server in servers:
                if isinstance(server, RedisServer):
                    report.sections.append(
                        (f"redis-server log: {name} {server.address}", server.log_tail())
                    )
    return report


# ============================ end of Redis harness ============================


@pytest.fixture(scope="session")
def redis_restricted(redis_harness_dir: Path) -> Iterator[RedisServer]:
    """An ElastiCache-like server: CONFIG and INFO renamed away (unknown commands).

    Also listens on a Unix socket, at ``directory / "redis.sock"``.
    """
    directory = redis_harness_dir / "restricted"
    directory.mkdir(parents=True, exist_ok=True)
    args = (
        "--rename-command", "CONFIG", "",
        "--rename-command", "INFO", "",
        "--unixsocket", str(directory / "redis.sock"),
        "--unixsocketperm", "700",
    )  # fmt: skip
    yield from _serve(lambda: start_redis_server(directory, *args))
