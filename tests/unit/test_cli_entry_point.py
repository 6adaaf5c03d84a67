"""The entry point itself: which settings each subcommand gets, and endings that are
not a server's fault (a closed pipe, Ctrl-C) giving exit codes, never tracebacks."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector import cli
from inspector.sample_app.demo import DemoOptions
from inspector.subcommands import demo

# ---------------------------------------------------------------- demo: which Redis


@pytest.fixture
def demo_calls(monkeypatch: pytest.MonkeyPatch) -> list[DemoOptions]:
    """run_demo replaced by a recorder: what main would have started the demo with."""
    calls: list[DemoOptions] = []

    def record(options: DemoOptions | None = None) -> int:
        assert options is not None
        calls.append(options)
        return 0

    monkeypatch.setattr(demo, "run_demo", record)
    for name in ("REDIS_URL", "REDISCLUSTERENDPOINT", "REDIS_CLUSTER_ENDPOINT", "REDISCLI_AUTH"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_embedded_demo_ignores_the_environment_endpoint(
    demo_calls: list[DemoOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An ECS host exports the ElastiCache endpoint; the embedded demo needs none,
    # and a malformed one must not stop it.
    monkeypatch.setenv("REDISCLUSTERENDPOINT", "redis:notaport")
    assert cli.main(["demo", "--users", "2"]) == 0
    assert [(call.redis, call.users) for call in demo_calls] == [(None, 2)]


def test_connection_options_before_demo_pick_its_server(
    demo_calls: list[DemoOptions], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["-h", "myhost", "-p", "7000", "-n", "3", "demo"]) == 0
    (call,) = demo_calls
    assert call.redis is not None
    assert (call.redis.host, call.redis.port, call.redis.db) == ("myhost", 7000, 3)
    assert capsys.readouterr().err == ""


def test_connection_options_for_demo_are_checked_like_any_command(
    demo_calls: list[DemoOptions], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--tls", "--cacert", "/nonexistent/ca.pem", "demo"]) == 2
    assert capsys.readouterr().err.startswith("session-inspector: --cacert /nonexistent/ca.pem")
    assert demo_calls == []


def test_demo_redis_url_ignores_the_environment(
    demo_calls: list[DemoOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:1234/5")
    monkeypatch.setenv("REDISCLI_AUTH", "not-for-the-demo")
    assert cli.main(["demo", "--redis", "redis://given:6390"]) == 0
    (call,) = demo_calls
    assert call.redis is not None
    assert (call.redis.host, call.redis.port, call.redis.db) == ("given", 6390, 0)
    assert call.redis.password is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["demo", "--redis", "http://x"], "--redis: unknown URL scheme (http://)"),
        (["demo", "--redis", "redis://h:99999"], "--redis: invalid URL 'redis://h:99999'"),
        (
            ["-h", "h", "demo", "--redis", "redis://h"],
            "demo: give either --redis URL or connection",
        ),
    ],
)
def test_demo_usage_errors_name_the_option(
    demo_calls: list[DemoOptions],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"session-inspector: {needle}"), err
    assert "SESSION_INSPECTOR_DEBUG" not in err
    assert demo_calls == []


# ---------------------------------------------------------------- decode: pipes and Ctrl-C


def test_decode_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # Far more output than a pipe buffer holds: the write itself meets the
    # closed pipe, not only the final flush.
    value = tmp_path / "value.txt"
    value.write_bytes(os.urandom(1 << 20).hex().encode())
    result = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m inspector decode "{value}" | head -c1 >/dev/null; '
         'echo "${PIPESTATUS[0]}" >&2'],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.stderr == b"0\n"


def test_ctrl_c_while_decode_reads_stdin_is_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Interrupted(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise KeyboardInterrupt

    class Stdin:
        buffer = Interrupted()

    monkeypatch.setattr(sys, "stdin", Stdin())
    assert cli.main(["decode"]) == 130
    assert capsys.readouterr().err == ""
