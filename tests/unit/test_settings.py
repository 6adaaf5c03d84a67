"""Connection settings: redis-cli flags, URLs, environment, precedence, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.redis_io.settings import (
    ConnectionFlags,
    ConnectionSettings,
    SettingsError,
    parse_endpoint,
    parse_url,
    resolve_settings,
)


def resolve(env: dict[str, str] | None = None, **flags: object) -> ConnectionSettings:
    return resolve_settings(ConnectionFlags(**flags), env or {})  # type: ignore[arg-type]


def test_default_is_localhost_6379() -> None:
    settings = resolve()
    assert (settings.host, settings.port, settings.db, settings.tls) == ("127.0.0.1", 6379, 0, None)
    assert settings.cluster is None
    assert settings.prompt == "127.0.0.1:6379> "


@pytest.mark.parametrize("name", ["REDISCLUSTERENDPOINT", "REDIS_CLUSTER_ENDPOINT"])
def test_endpoint_variables(name: str) -> None:
    settings = resolve({name: "clustercfg.demo.abc123.apne1.cache.amazonaws.com:6380"})
    assert settings.host == "clustercfg.demo.abc123.apne1.cache.amazonaws.com"
    assert settings.port == 6380
    assert settings.source == name
    assert resolve({name: "master.demo.cache.amazonaws.com"}).port == 6379


def test_redis_url_beats_endpoint_variables() -> None:
    env = {"REDIS_URL": "redis://a:7000/3", "REDISCLUSTERENDPOINT": "b:7001"}
    settings = resolve(env)
    assert (settings.host, settings.port, settings.db) == ("a", 7000, 3)


def test_flags_beat_environment_field_by_field() -> None:
    env = {"REDISCLUSTERENDPOINT": "envhost:7001"}
    assert resolve(env, port=7002).endpoint == "envhost:7002"
    assert resolve(env, host="flaghost").endpoint == "flaghost:7001"
    assert resolve(env, host="h", port=1).source == "flags"


def test_u_replaces_environment_endpoint() -> None:
    settings = resolve({"REDIS_URL": "rediss://envhost:7000/2"}, url="redis://urlhost")
    assert (settings.host, settings.port, settings.db, settings.tls) == ("urlhost", 6379, 0, None)


def test_rediss_url_turns_tls_on_and_flags_refine_it(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = resolve(url="rediss://u:p%40ss@h:6380/1", ca_cert=str(ca), sni="cache.example")
    assert settings.tls is not None
    assert settings.tls.ca_cert == ca
    assert settings.tls.sni == "cache.example"
    assert (settings.username, settings.password, settings.db) == ("u", "p@ss", 1)


def test_unix_url_and_socket_flag() -> None:
    settings = resolve(url="unix:///run/redis.sock?db=4")
    assert (settings.socket, settings.db) == ("/run/redis.sock", 4)
    assert settings.prompt == "redis /run/redis.sock[4]> "
    assert resolve(socket="/tmp/r.sock").endpoint == "/tmp/r.sock"


def test_host_flag_drops_socket_from_environment() -> None:
    assert resolve({"REDIS_URL": "unix:///tmp/r.sock"}, host="h").socket is None


def test_password_precedence() -> None:
    env = {"REDISCLI_AUTH": "from-env", "REDIS_URL": "redis://:from-redis-url@h"}
    assert resolve(env, password="from-a").password == "from-a"
    assert resolve(env, url="redis://:from-u@h").password == "from-u"
    assert resolve(env).password == "from-env"
    assert resolve({"REDIS_URL": "redis://:from-redis-url@h"}).password == "from-redis-url"


def test_password_is_not_in_repr() -> None:
    assert "s3cret" not in repr(resolve(password="s3cret"))
    assert "s3cret" not in repr(ConnectionFlags(password="s3cret"))


def test_ipv6_endpoint() -> None:
    assert resolve({"REDISCLUSTERENDPOINT": "[::1]:7000"}).endpoint == "[::1]:7000"
    assert parse_endpoint("::1", "X").host == "::1"


def test_cluster_flag() -> None:
    assert resolve(cluster=True).cluster is True


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ({"port": 0}, {}, "-p: port 0 is out of range (1-65535)"),
        ({"port": 70000}, {}, "out of range"),
        ({"url": "http://h:1"}, {}, "unknown URL scheme (http://)"),
        ({"url": "redis://h:99999"}, {}, "invalid URL"),
        ({"url": "redis://h/abc"}, {}, "database 'abc' is not a number"),
        ({"url": "unix://"}, {}, "names no socket path"),
        ({}, {"REDISCLUSTERENDPOINT": "h:port"}, "REDISCLUSTERENDPOINT: port 'port'"),
        ({}, {"REDIS_URL": "memcached://h"}, "REDIS_URL: unknown URL scheme"),
        ({"db": -1}, {}, "must be 0 or more"),
        ({"connect_timeout": 0.0}, {}, "-t: timeout 0 must be more than 0"),
        ({"username": "reader"}, {}, "--user reader needs a password"),
        ({"ca_cert": "/etc/hosts"}, {}, "--cacert is a TLS option: add --tls"),
        ({"insecure": True}, {}, "--insecure is a TLS option"),
        (
            {"tls": True, "ca_cert": "/nonexistent/ca.pem"},
            {},
            "--cacert /nonexistent/ca.pem: no such file",
        ),
        (
            {"tls": True, "ca_dir": "/nonexistent"},
            {},
            "--cacertdir /nonexistent: no such directory",
        ),
        ({"tls": True, "cert": "/etc/hosts"}, {}, "--cert and --key go together"),
        ({"tls": True, "socket": "/tmp/s"}, {}, "TLS is not available over a Unix socket"),
        ({"cluster": True, "db": 2}, {}, "cluster mode (-c) has only database 0"),
        ({"cluster": True, "socket": "/tmp/s"}, {}, "needs a TCP endpoint"),
    ],
)
def test_bad_settings_say_what_and_how(
    flags: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        resolve(env, **flags)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_ca_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    from inspector.redis_io.tls import build_ssl_context

    ca = tmp_path / "ca.pem"
    ca.write_text("not a certificate")
    settings = resolve(tls=True, ca_cert=str(ca))
    assert settings.tls is not None
    with pytest.raises(SettingsError, match=r"--cacert .*ca.pem: cannot load CA certificates"):
        build_ssl_context(settings.tls)


def test_parse_url_forms() -> None:
    assert parse_url("redis://h").port is None
    assert parse_url("redis://user@h").username == "user"
    assert parse_url("redis://:pw@h").password == "pw"
    assert parse_url("rediss://h").tls is True
    assert parse_url("REDIS://h").host == "h"
