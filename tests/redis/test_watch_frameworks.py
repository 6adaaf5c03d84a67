"""`watch` on every framework's string sessions, on a real redis-server: keyspace events
(set / expire / del) when the server publishes them, polling (values compared) when it does
not, and Flask-Session writing live through its own request cycle."""

from __future__ import annotations

import pytest
import redis

from tests.frameworks_oracle import FRAMEWORKS, host_of, manifest_entries
from tests.harness import RedisServer
from tests.redis.test_watch import Watch, configure, notifications_off, watches

__all__ = ["watches"]  # the fixture, imported for the tests below

ENTRIES = manifest_entries()


def write(client: redis.Redis, entry: dict[str, object]) -> None:
    data = (FRAMEWORKS / str(entry["path"])).read_bytes()
    client.set(str(entry["key"]), data, px=int(str(entry["ttlMs"])))


@pytest.mark.parametrize(
    ("flags", "source"), [("KEA", "notification"), ("K$g", "notification"), ("", "poll")]
)
def test_every_framework_is_watched(
    redis_clean: RedisServer, watches: list[Watch], flags: str, source: str
) -> None:
    client = configure(redis_clean, flags)
    watch = Watch(redis_clean.port, "--poll", "0.2")
    watches.append(watch)
    watch.notice("watching 0 sessions")
    for entry in ENTRIES:
        write(client, entry)
        event = watch.event()
        assert event["framework"] == entry["framework"]
        assert event["kind"] == "created"
        assert event["session"] == entry["sessionId"]
        assert event["key"] == entry["key"]
        assert event["host"] == host_of(str(entry["framework"]))
        assert event["source"] == source
    if source == "poll":
        watch.notice("K$g")
    # A touch (connect-redis re-EXPIREs on every request): a request, nothing written.
    (express,) = [e for e in ENTRIES if e["framework"] == "express"]
    client.pexpire(express["key"], int(express["ttlMs"]) + 3_600_000)
    touched = watch.event()
    assert (touched["session"], touched["kind"]) == (express["sessionId"], "request")
    assert touched["changed"] == []
    assert touched["previousHost"] == "node-web-1"
    # A save that writes an attribute (PHP rewrites the whole value on each write).
    (php,) = [e for e in ENTRIES if e["name"] == "phpredis_php"]
    value = (FRAMEWORKS / php["path"]).read_bytes().replace(b'"php-web-1"', b'"php-web-2"')
    client.set(php["key"], value, ex=1440)
    saved = watch.event()
    assert (saved["session"], saved["host"], saved["previousHost"]) == (
        php["sessionId"],
        "php-web-2",
        "php-web-1",
    )
    assert saved["changed"] == ["host"]
    # Logout: the key is deleted.
    client.delete(php["key"])
    gone = watch.event()
    assert (gone["session"], gone["kind"], gone["framework"]) == (
        php["sessionId"],
        "destroyed",
        "php",
    )
    client.close()


def test_framework_filter_and_a_live_flask_app(
    redis_clean: RedisServer, watches: list[Watch]
) -> None:
    import flask
    from flask_session import Session

    client = configure(redis_clean, "KEA")
    for entry in ENTRIES:
        write(client, entry)
    watch = Watch(redis_clean.port, "--framework", "flask-session")
    watches.append(watch)
    watch.notice("watching 0 sessions")
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="x", SESSION_TYPE="redis", SESSION_REDIS=client)
    Session(app)

    @app.route("/visit/<host>")
    def visit(host: str) -> str:
        flask.session["server"] = {"hostname": host}
        flask.session["visits"] = flask.session.get("visits", 0) + 1
        return "ok"

    # Other frameworks' writes are not watch's business with --framework flask-session.
    (express,) = [e for e in ENTRIES if e["framework"] == "express"]
    client.pexpire(express["key"], 7_200_000)
    with app.test_client() as browser:
        browser.get("/visit/py-web-1")
        created = watch.event()
        assert (created["framework"], created["kind"], created["host"]) == (
            "flask-session",
            "created",
            "py-web-1",
        )
        browser.get("/visit/py-web-2")
        request = watch.event()
        assert request["session"] == created["session"]
        assert (request["host"], request["previousHost"]) == ("py-web-2", "py-web-1")
        assert sorted(request["changed"]) == ["server", "visits"]  # type: ignore[call-overload]
    client.close()


@pytest.mark.parametrize("flags", ["KEA", ""])
def test_cluster_every_primary(
    redis_cluster: list[RedisServer], watches: list[Watch], flags: str
) -> None:
    for node in redis_cluster:
        direct = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        direct.flushall()
        direct.config_set("notify-keyspace-events", flags)
        direct.close()
    cluster = redis.RedisCluster(host="127.0.0.1", port=redis_cluster[0].port)
    try:
        watch = Watch(redis_cluster[0].port, "--poll", "0.2")
        watches.append(watch)
        watch.notice("on 3 primaries")
        owners = {cluster.get_node_from_key(e["key"]).name for e in ENTRIES}
        assert len(owners) == 3  # the fixtures' keys land on every primary
        for entry in ENTRIES:
            cluster.set(entry["key"], (FRAMEWORKS / entry["path"]).read_bytes(), px=entry["ttlMs"])
            event = watch.event()
            assert (event["framework"], event["key"], event["kind"]) == (
                entry["framework"],
                entry["key"],
                "created",
            )
            assert event["source"] == ("notification" if flags else "poll")
    finally:
        cluster.close()
        notifications_off(redis_cluster)  # the cluster is shared with later tests


def test_enable_notifications_adds_the_string_events(
    redis_clean: RedisServer, watches: list[Watch]
) -> None:
    client = configure(redis_clean, "Egx")  # Spring's own setting: no h, no $
    watch = Watch(redis_clean.port, "--enable-notifications")
    watches.append(watch)
    watch.notice("as --enable-notifications asked")
    value = str(client.config_get("notify-keyspace-events")["notify-keyspace-events"])
    assert {"K", "h", "$", "g"} <= set(value)
    watch.notice("watching 0 sessions")
    (express,) = [e for e in ENTRIES if e["framework"] == "express"]
    write(client, express)
    event = watch.event()
    assert (event["framework"], event["source"]) == ("express", "notification")
    client.close()
