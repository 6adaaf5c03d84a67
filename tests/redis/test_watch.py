"""`watch` against real servers: notifications, polling, CONFIG refused, cluster, restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis

from inspector.core.changes import EventSource, diff, notify_flags_support, snapshot
from inspector.core.session import RawSession, Session
from inspector.sample_app.store import sample_session_json
from tests.cli_run import inspector
from tests.factories import raw_session
from tests.harness import RedisServer, free_port, start_redis_server
from tests.live_processes import OutputReader
from tests.spring_layouts import write_request

NOW = int(time.time() * 1000)


class Watch(OutputReader):
    """A running `session-inspector watch --json`, read event by event."""

    def __init__(self, port: int, *flags: str) -> None:
        self._start(["-p", str(port)], None, *flags)

    def _start(self, before: Sequence[str], env: dict[str, str] | None, *flags: str) -> None:
        """Start ``watch --json`` with the connection flags ``before`` it (and ``env``)."""
        # _start, not __init__: TunnelWatch starts one with other connection flags.
        OutputReader.__init__(
            self,
            subprocess.Popen(
                [sys.executable, "-m", "inspector", *before, "watch", "--json", *flags],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            ),
        )
        self._mark = 0

    def mark(self) -> None:
        """Only notices printed from now on count for the next `notice`."""
        self._mark = len(self.notices)

    def notice(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        seen = self._mark
        while True:
            for line in self.notices[seen:]:
                if needle in line:
                    return line
            seen = len(self.notices)
            self._pump(deadline)

    def event(self, timeout: float = 20.0) -> dict[str, object]:
        return self.json_line(timeout)

    def stop(self) -> tuple[int, bytes]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            # Say what it was doing: a second Ctrl-C, then its last words.
            self.process.send_signal(signal.SIGINT)
            try:
                _, err = self.process.communicate(timeout=10)
                verdict = f"needed a second Ctrl-C (exit {self.process.returncode})"
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, err = self.process.communicate()
                verdict = "ignored two Ctrl-C"
            raise AssertionError(f"watch {verdict}; stderr: {err[-3000:]!r}") from None
        return self.process.returncode, err


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        watch.kill()


def configure(server: RedisServer, flags: str) -> redis.Redis:
    client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
    client.config_set("notify-keyspace-events", flags)
    return client


def notifications_off(nodes: list[RedisServer]) -> None:
    """Keyspace notifications off on every node, as the other tests expect them."""
    for node in nodes:
        direct = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        direct.config_set("notify-keyspace-events", "")
        direct.close()


def alternate(
    client: redis.Redis | redis.RedisCluster, watch: Watch, sid: str, rounds: int, source: str
) -> None:
    """Requests alternating between two containers; each must show up, in order."""
    previous = None
    for i in range(rounds):
        host = f"container-{i % 2 + 1}"
        stamp = write_request(client, sid, host, created_ms=NOW)
        event = watch.event()
        assert event["session"] == sid
        assert event["host"] == host
        assert event["previousHost"] == previous
        assert event["lastAccessedTime"] == stamp
        assert event["source"] == source
        assert event["kind"] == ("created" if previous is None else "request")
        assert event["changed"] == ["scopedTarget.sampleSession"]
        previous = host


def test_notifications_show_every_request(redis_clean: RedisServer, watches: list[Watch]) -> None:
    client = configure(redis_clean, "KEA")
    watch = Watch(redis_clean.port)
    watches.append(watch)
    watch.notice("via keyspace notifications")
    alternate(client, watch, str(uuid.uuid4()), 8, "notification")
    code, err = watch.stop()
    assert code == 130
    assert b"Traceback" not in err
    client.close()


@pytest.mark.parametrize("flags", ["", "Egx"])
def test_polling_when_hash_events_are_off(
    redis_clean: RedisServer, watches: list[Watch], flags: str
) -> None:
    client = configure(redis_clean, flags)
    watch = Watch(redis_clean.port, "--poll", "0.2")
    watches.append(watch)
    howto = watch.notice("keyspace notifications for hashes are off")
    assert "CONFIG SET notify-keyspace-events" in howto
    assert "parameter group" in howto
    watch.notice("via polling every 0.2 s")
    alternate(client, watch, str(uuid.uuid4()), 4, "poll")
    # The server's configuration was left alone (Redis reorders the letters).
    value = str(client.config_get("notify-keyspace-events")["notify-keyspace-events"])
    assert sorted(value) == sorted(flags)
    client.close()


def test_enable_notifications_flag_writes_the_setting(
    redis_clean: RedisServer, watches: list[Watch]
) -> None:
    client = configure(redis_clean, "Egx")
    watch = Watch(redis_clean.port, "--enable-notifications")
    watches.append(watch)
    watch.notice("as --enable-notifications asked")
    watch.notice("via keyspace notifications")
    value = str(client.config_get("notify-keyspace-events")["notify-keyspace-events"])
    assert "K" in value
    assert "h" in value
    alternate(client, watch, str(uuid.uuid4()), 2, "notification")
    client.close()


def test_without_the_flag_the_setting_is_never_written(
    redis_clean: RedisServer, watches: list[Watch]
) -> None:
    client = configure(redis_clean, "")
    watch = Watch(redis_clean.port, "--poll", "0.2")
    watches.append(watch)
    watch.notice("via polling")
    alternate(client, watch, str(uuid.uuid4()), 1, "poll")
    assert client.config_get("notify-keyspace-events")["notify-keyspace-events"] == ""
    client.close()


def test_config_refused_polls_then_switches(tmp_path: Path, watches: list[Watch]) -> None:
    # ElastiCache: CONFIG is refused, but the parameter group has notifications on.
    server = start_redis_server(
        tmp_path, "--rename-command", "CONFIG", "", "--notify-keyspace-events", "KEA"
    )
    try:
        client = redis.Redis(**server.client_kwargs())  # type: ignore[arg-type]
        watch = Watch(server.port, "--poll", "0.2")
        watches.append(watch)
        watch.notice("cannot read notify-keyspace-events")
        watch.notice("listening as well")
        sid = str(uuid.uuid4())
        write_request(client, sid, "container-1", created_ms=NOW)
        first = watch.event()
        assert first["host"] == "container-1"
        watch.notice("now notifications")
        write_request(client, sid, "container-2", created_ms=NOW)
        second = watch.event()
        while second["host"] == "container-1":  # a poll may report the first write again: no
            second = watch.event()
        assert (second["host"], second["previousHost"], second["source"]) == (
            "container-2", "container-1", "notification"
        )  # fmt: skip
        client.close()
    finally:
        server.stop()


def test_cluster_sessions_on_every_primary(
    redis_cluster: list[RedisServer], watches: list[Watch]
) -> None:
    for node in redis_cluster:
        direct = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        direct.flushall()
        direct.config_set("notify-keyspace-events", "KEA")
        direct.close()
    cluster = redis.RedisCluster(host="127.0.0.1", port=redis_cluster[0].port)
    # One session id per primary.
    owners: dict[str, str] = {}
    while len(set(owners.values())) < 3:
        sid = str(uuid.uuid4())
        node = cluster.get_node_from_key(f"spring:session:sessions:{sid}")
        if node.name not in owners.values():
            owners[sid] = node.name
    try:
        watch = Watch(redis_cluster[0].port)
        watches.append(watch)
        watch.notice("on 3 primaries via keyspace notifications")
        for sid in owners:
            alternate(cluster, watch, sid, 2, "notification")
    finally:
        cluster.close()
        notifications_off(redis_cluster)  # the cluster is shared with later tests


def test_server_restart_is_reported_and_watch_goes_on(tmp_path: Path, watches: list[Watch]) -> None:
    server = start_redis_server(tmp_path / "a", "--notify-keyspace-events", "KEA")
    port = server.port
    try:
        client = redis.Redis(port=port, socket_connect_timeout=5)
        watch = Watch(port)
        watches.append(watch)
        watch.notice("via keyspace notifications")
        sid = str(uuid.uuid4())
        write_request(client, sid, "container-1", created_ms=NOW)
        assert watch.event()["host"] == "container-1"
        watch.mark()
        server.process.kill()
        server.process.wait()
        watch.notice("lost")
        server.stop()
        server = start_redis_server(tmp_path / "b", "--notify-keyspace-events", "KEA", port=port)
        client = redis.Redis(port=port)
        reconnected = watch.notice("reconnected to")
        assert "may be missing" in reconnected
        watch.notice("via keyspace notifications")  # subscribed again
        # The restart lost the data: the catch-up poll reports the session gone...
        gone = watch.event()
        assert (gone["session"], gone["kind"], gone["source"]) == (sid, "destroyed", "poll")
        assert gone["previousHost"] == "container-1"
        # ...and the next request creates it again, seen live.
        write_request(client, sid, "container-2", created_ms=NOW)
        event = watch.event()
        assert (event["host"], event["kind"], event["source"]) == (
            "container-2",
            "created",
            "notification",
        )
        code, err = watch.stop()
        assert code == 130
        assert b"Traceback" not in err
        client.close()
    finally:
        server.stop()


def test_count_and_timeout_end_cleanly(redis_clean: RedisServer, watches: list[Watch]) -> None:
    client = configure(redis_clean, "KEA")
    timed = inspector("-p", str(redis_clean.port), "watch", "--timeout", "0.5", timeout=30)
    assert timed.returncode == 0
    assert b"Traceback" not in timed.stderr
    counted = Watch(redis_clean.port, "--count", "2")
    watches.append(counted)
    counted.notice("via keyspace notifications")
    sid = str(uuid.uuid4())
    write_request(client, sid, "a", created_ms=NOW)
    counted.event()
    write_request(client, sid, "b", created_ms=NOW)
    counted.event()
    assert counted.process.wait(timeout=20) == 0
    counted.process.communicate()
    client.close()


def test_unreachable_server_fails_in_one_line() -> None:
    result = inspector("-p", str(free_port()), "watch", timeout=30)
    assert result.returncode == 3
    assert result.stderr.decode().count("\n") == 1
    assert "connection refused" in result.stderr.decode()


# ---------------------------------------------------------------- pure logic


def raw(fields: dict[str, bytes]) -> RawSession:
    return raw_session("s1", fields, observed_at_ms=NOW)


def test_diff_reports_host_switch_and_changed_attributes() -> None:
    before = Session.from_raw(raw({
        "lastAccessedTime": b"1", "maxInactiveInterval": b"1800",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json("c1", 1),
        "sessionAttr:cart": b"1",
    }))  # fmt: skip
    after = Session.from_raw(raw({
        "lastAccessedTime": b"2", "maxInactiveInterval": b"1800",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json("c2", 2),
        "sessionAttr:cart": b"1",
    }))  # fmt: skip
    event = diff(snapshot(before), after, source=EventSource.POLL, now_ms=5)
    assert event is not None
    assert (event.host, event.previous_host, event.changed) == (
        "c2",
        "c1",
        ("scopedTarget.sampleSession",),
    )
    assert diff(snapshot(after), after, source=EventSource.POLL, now_ms=6) is None


def test_diff_invalidation() -> None:
    before = Session.from_raw(raw({"lastAccessedTime": b"1", "maxInactiveInterval": b"1800"}))
    after = Session.from_raw(raw({"lastAccessedTime": b"1", "maxInactiveInterval": b"0"}))
    event = diff(snapshot(before), after, source=EventSource.NOTIFICATION, now_ms=5)
    assert event is not None
    assert event.kind.value == "invalidated"
    assert event.changed == ("maxInactiveInterval",)


@pytest.mark.parametrize(
    ("value", "usable", "fixed"),
    [("", False, "Kh"), ("Egx", False, "EgxKh"), ("KEA", True, "KEA"), ("Kh", True, "Kh"),
     ("Eh", True, "EhK"), ("AE", True, "AEK"), ("gxE", False, "gxEKh")],
)  # fmt: skip
def test_notify_flags(value: str, usable: bool, fixed: str) -> None:
    support = notify_flags_support(value)
    assert support.usable is usable
    assert support.with_hash_events() == fixed
