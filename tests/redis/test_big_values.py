"""Issue 14, item 9: big values are bounded, against a real redis-server.

A 50 MB ``host`` attribute is not read by ``ls``/``show`` (``HSTRLEN`` first;
over ``--max-value-bytes``, 4 MiB by default, its size is shown instead), and a
host or string that is read is cut, in ``ls``, ``watch`` and ``show``, to a
documented width with its full length said.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from inspector.core.render import LIST_WIDTH, VALUE_WIDTH
from inspector.redis_io.client import open_client
from inspector.redis_io.discovery import Candidate, SpringFullReader, SpringProjection
from inspector.redis_io.settings import ConnectionSettings
from tests.cli_run import inspector
from tests.harness import RedisServer
from tests.spring_layouts import write_request
from tests.tui_helpers import WAIT_SECONDS

NS = "spring:session"


def _session(client: redis.Redis, session_id: str, host: bytes) -> None:
    now = str(int(time.time() * 1000)).encode()
    client.hset(f"{NS}:sessions:{session_id}", mapping={
        "creationTime": now, "lastAccessedTime": now, "maxInactiveInterval": b"1800",
        "sessionAttr:host": host,
    })  # fmt: skip


@contextmanager
def _watching(port: str, *flags: str) -> Iterator[subprocess.Popen[bytes]]:
    """`watch` on ``port`` as a process, yielded once it says it is watching (so that
    a write after it is seen); killed at the end."""
    watch = subprocess.Popen(
        [sys.executable, "-m", "inspector", "-p", port, "watch", *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert watch.stderr is not None
        err = b""
        deadline = time.monotonic() + WAIT_SECONDS
        while b"watching" not in err:
            ready, _, _ = select.select([watch.stderr], [], [], deadline - time.monotonic())
            assert ready, f"watch did not start: {err!r}"
            err += os.read(watch.stderr.fileno(), 65536)
        yield watch
    finally:
        watch.kill()
        watch.communicate()


def test_a_50_mb_value_is_not_read(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    size = 50 << 20
    _session(client, "huge-host-1", b'"' + b"h" * (size - 2) + b'"')
    client.close()
    port = str(redis_clean.port)
    listed = inspector("-p", port, "ls", "--framework", "spring")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout) < 1_000
    shown = inspector("-p", port, "show", "huge-host-1", "--json")
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout) < 10_000
    host = json.loads(shown.stdout)["attributes"]["host"]
    assert host["size"] == size
    assert host["error"] == f"not read: {size:,} bytes, more than --max-value-bytes 4,194,304"
    text = inspector("-p", port, "show", "huge-host-1")
    assert b"not read: 52,428,800 bytes" in text.stdout
    assert len(text.stdout) < 10_000
    # With a higher limit it is read, and cut when shown.
    whole = inspector("-p", port, "show", "huge-host-1", "--max-value-bytes", str(64 << 20))
    assert whole.returncode == 0, whole.stderr
    assert len(whole.stdout) < 10_000
    # (the decoder keeps the first 1 MiB characters of a string; that is cut again)
    assert b"chars)" in whole.stdout


def test_long_hosts_are_cut_in_lines_with_their_length(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    _session(client, "long-host-1", b'"' + b"h" * 100_000 + b'"')
    port = str(redis_clean.port)
    listed = inspector("-p", port, "ls", "--framework", "spring")
    line = listed.stdout.decode().strip()
    assert "…(100,000 chars)" in line
    assert len(line) < LIST_WIDTH + 200
    shown = inspector("-p", port, "show", "long-host-1").stdout.decode()
    assert "…(100,000 chars)" in shown
    assert max(len(row) for row in shown.splitlines()) < VALUE_WIDTH + 100
    client.config_set("notify-keyspace-events", "KEA")
    try:
        with _watching(port) as watch:
            assert watch.stdout is not None
            write_request(client, str(uuid.uuid4()), "w" * 100_000)
            ready, _, _ = select.select([watch.stdout], [], [], WAIT_SECONDS)
            assert ready, "no event from watch"
            event = watch.stdout.readline().decode()
            assert "…(100,000 chars)" in event
            assert len(event) < LIST_WIDTH + 300
    finally:
        client.config_set("notify-keyspace-events", "")
        client.close()


def _net_out(client: redis.Redis) -> int:
    return int(client.info("stats")["total_net_output_bytes"])


def test_watch_rereads_leave_a_big_value_unread(redis_clean: RedisServer) -> None:
    """A request on a session holding a 20 MB attribute: watch re-reads it without the value."""
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    size = 20 << 20
    sid = str(uuid.uuid4())
    write_request(client, sid, "container-1")
    client.hset(f"{NS}:sessions:{sid}", "sessionAttr:cart", b"c" * size)
    client.config_set("notify-keyspace-events", "KEA")
    port = str(redis_clean.port)
    before = _net_out(client)
    try:
        with _watching(port, "--json", "--count", "2") as watch:
            assert watch.stdout is not None
            for host in ("container-2", "container-1"):
                write_request(client, sid, host)
                ready, _, _ = select.select([watch.stdout], [], [], WAIT_SECONDS)
                assert ready, "no event from watch"
                event = json.loads(watch.stdout.readline())
                assert event["host"] == host
            assert watch.wait(WAIT_SECONDS) == 0
    finally:
        client.config_set("notify-keyspace-events", "")
    # The baseline and both re-reads asked lengths first: the 20 MB never left the server.
    assert _net_out(client) - before < size // 4
    client.close()


async def test_the_list_projection_measures_before_it_reads(redis_clean: RedisServer) -> None:
    """The projection reads what the host rule needs only once its length fits.

    Each session holds a 6 MB attribute that sorts before its host attribute,
    so the host rule needs its value: HSTRLEN says it is too long, it is not
    sent, and the host is found in the next attribute. Learning from sessions
    that hold it does not make the HMGET read it blind either.
    """
    sync = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    size = 6 << 20
    big = b'"' + b"a" * (size - 2) + b'"'
    candidates: list[Candidate] = []
    for index in range(12):
        sid = f"big-session-{index:03d}"
        _session(sync, sid, f'"container-{index % 3}"'.encode())
        sync.hset(f"{NS}:sessions:{sid}", "sessionAttr:aaa", big)
        candidates.append((f"{NS}:sessions:{sid}", NS, sid))
    client = await open_client(ConnectionSettings(port=redis_clean.port))
    try:
        full = await SpringFullReader().read(client, candidates[:2])
        taught = SpringProjection()
        taught.learn(full)
        assert "aaa" not in taught.attributes
        for projection in (SpringProjection(), taught):
            before = _net_out(sync)
            listed = await projection.read(client, candidates)
            assert _net_out(sync) - before < size
            assert [s.host for s in listed] == [f"container-{i % 3}" for i in range(12)]
            unread = listed[0].attribute("aaa")
            assert unread.size == size
            assert (
                unread.error == f"not read: {size:,} bytes, more than --max-value-bytes 4,194,304"
            )
    finally:
        await client.aclose()
        sync.close()
