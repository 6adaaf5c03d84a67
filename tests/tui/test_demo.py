"""The demo: embedded Redis, two containers, simulated users; `make demo` in a terminal."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import redis

from inspector.core.spring import expiration_bucket
from inspector.redis_io.settings import ConnectionSettings
from inspector.sample_app.demo import SESSION_ID, DemoOptions, embedded_redis, running_demo
from inspector.sample_app.store import sample_session_json
from tests.harness import RedisServer
from tests.tmux import Tmux
from tests.tui_helpers import WAIT_SECONDS

ROOT = Path(__file__).resolve().parents[2]


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def wait_for_both_containers(port: int) -> None:
    """Until sessions in Redis name both containers as the one that served them."""
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 2 * WAIT_SECONDS
    hosts: set[str] = set()
    try:
        while hosts != {"container-1", "container-2"}:
            assert time.monotonic() < deadline, hosts
            for key in client.scan_iter(match="spring:session:sessions:*", count=100):
                if b"expires" in key:
                    continue
                value = client.hget(key, "sessionAttr:scopedTarget.sampleSession")
                if value:
                    hosts.add(json.loads(value)["host"])
    finally:
        client.close()


def test_demo_serves_both_containers_and_stops_everything() -> None:
    before = {t.name for t in threading.enumerate()}
    with running_demo(DemoOptions(users=4, rate=40)) as demo:
        ports = [demo.redis.port] + [int(url.rsplit(":", 1)[1]) for url in demo.urls.values()]
        for url in demo.urls.values():
            with urllib.request.urlopen(url + "/health", timeout=5) as response:
                assert json.loads(response.read())["status"] == "UP"
        wait_for_both_containers(demo.redis.port)
        assert demo.requests > 0
    assert all(refused(port) for port in ports)
    leftover = {t.name for t in threading.enumerate()} - before
    assert not {"demo", "fakeredis"} & leftover


def test_embedded_redis_is_seeded_as_the_sample_app_writes() -> None:
    with embedded_redis() as settings, redis.Redis(port=settings.port) as client:
        key = f"spring:session:sessions:{SESSION_ID}"
        fields = client.hgetall(key)
        last = int(fields[b"lastAccessedTime"])
        assert fields == {
            b"creationTime": str(last).encode(),
            b"lastAccessedTime": str(last).encode(),
            b"maxInactiveInterval": b"1800",
            b"sessionAttr:scopedTarget.sampleSession": sample_session_json("container-1", last),
        }
        # The app's whole layout, the minute set included (a hand-made seed had none).
        minute_set = f"spring:session:expirations:{expiration_bucket(last, 1800)}"
        assert sorted(client.keys("*")) == sorted(
            [key.encode(), f"spring:session:sessions:expires:{SESSION_ID}".encode(),
             minute_set.encode()]
        )  # fmt: skip
        assert client.smembers(minute_set) == {json.dumps(f"expires:{SESSION_ID}").encode()}
        assert client.get(f"spring:session:sessions:expires:{SESSION_ID}") == b""
        assert 2090 <= client.ttl(key) <= 2100
        assert 1790 <= client.ttl(f"spring:session:sessions:expires:{SESSION_ID}") <= 1800
        assert 2090 <= client.ttl(minute_set) <= 2100


def test_demo_on_a_real_server_leaves_it_running(redis_clean: RedisServer) -> None:
    settings = ConnectionSettings(host="127.0.0.1", port=redis_clean.port)
    with running_demo(DemoOptions(redis=settings, users=3, rate=30)) as demo:
        assert demo.redis is settings
        wait_for_both_containers(redis_clean.port)
    # The demo stops what it started, not the server it was given.
    with redis.Redis(host="127.0.0.1", port=redis_clean.port) as client:
        assert client.ping()


@pytest.mark.slow
def test_make_demo_in_a_terminal() -> None:
    terminal = Tmux(f"cd {ROOT} && make -s demo; echo EXITED=$?; sleep 30")
    try:
        terminal.wait_for("container-1", "container-2", timeout=4 * WAIT_SECONDS)
        terminal.keys("q")
        text = terminal.wait_for("EXITED=0", timeout=2 * WAIT_SECONDS)
    finally:
        terminal.close()
    ports = [int(port) for port in re.findall(r"http://127\.0\.0\.1:(\d+)/index\.html", text)]
    assert len(ports) == 2
    assert all(refused(port) for port in ports)
    left = subprocess.run(["pgrep", "-f", "session-inspector demo"], capture_output=True)
    assert left.stdout == b""
