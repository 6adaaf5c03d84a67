"""The entry point itself: which settings each subcommand gets, and endings that are
not a server's fault (a closed pipe, Ctrl-C) giving exit codes, never tracebacks."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from inspector import cli
from inspector.core.session import HostField
from inspector.exits import ExitCode
from inspector.redis_io.settings import ConnectionSettings, SettingsError
from inspector.sample_app.demo import DemoOptions
from inspector.subcommands import demo, outcome
from inspector.subcommands.command import add_command
from inspector.subcommands.options import Parser, add_connection_options, positive_int
from inspector.tui.options import AppOptions

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
    monkeypatch.setattr(outcome, "has_terminal", lambda: True)  # as if typed in one
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


# ---------------------------------------------------------------- ids that start with '-'


@pytest.mark.parametrize(
    ("args", "hinted"),
    [
        (["show", "-gLpF3kq"], "-gLpF3kq"),  # a Flask-Session id as it was seen in CI
        (["-p", "7000", "show", "--json", "-x_9"], "-x_9"),
    ],
)
def test_an_id_taken_for_an_option_gets_the_double_dash_hint(
    capsys: pytest.CaptureFixture[str], args: list[str], hinted: str
) -> None:
    with pytest.raises(SystemExit) as ended:  # argparse's way out, as in the real program
        cli.main(args)
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{hinted!r} was read as an option" in err
    assert err.rstrip().endswith(f"session-inspector show -- {hinted}")


def test_a_missing_id_alone_gets_no_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        cli.main(["-p", "7000", "show", "--json"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "arguments are required: ID (see session-inspector show --help)" in err
    assert "was read as an option" not in err


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


# ---------------------------------------------------------------- the subcommand contract


@pytest.fixture
def tui_calls(monkeypatch: pytest.MonkeyPatch) -> list[AppOptions]:
    """run_tui replaced by a recorder: what the `tui` subcommand would have opened."""
    from inspector.tui import app

    calls: list[AppOptions] = []

    def record(options: AppOptions) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(app, "run_tui", record)
    monkeypatch.setattr(outcome, "has_terminal", lambda: True)  # as if typed in one
    for name in ("REDIS_URL", "REDISCLUSTERENDPOINT", "REDIS_CLUSTER_ENDPOINT", "REDISCLI_AUTH"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_without_a_subcommand_the_tui_opens_with_the_connection_options(
    tui_calls: list[AppOptions],
) -> None:
    assert cli.main(["-h", "cache.internal", "-p", "7000"]) == 0
    (call,) = tui_calls
    assert call == AppOptions(
        settings=ConnectionSettings(host="cache.internal", port=7000, source="flags"),
        namespace=None,
        host_field=None,
        poll_interval=1.0,
        allow_writes=False,
    )


def test_tui_options_reach_the_app(tui_calls: list[AppOptions]) -> None:
    argv = ["tui", "--poll", "2.5", "--namespace", "myapp", "--host-field", "a.host"]
    assert cli.main([*argv, "--allow-writes"]) == 0
    (call,) = tui_calls
    assert (call.poll_interval, call.namespace, call.allow_writes) == (2.5, "myapp", True)
    assert call.host_field == HostField("a.host")


@pytest.mark.parametrize("command", ["tui", "watch"])
def test_shared_options_are_checked_alike(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    # One definition of --poll: the same rule and message wherever it is taken.
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--poll", "nan"])
    assert caught.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err == (
        f"session-inspector: argument --poll: 'nan' is not a number of seconds above 0 "
        f"(see session-inspector {command} --help)\n"
    )


def test_a_subcommand_registers_its_parser_resolves_its_settings_and_runs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The contract other subcommands follow (inspector/subcommands/command.py),
    # on a parser built as inspector.cli builds it.
    parser = Parser(prog="session-inspector", add_help=False)
    add_connection_options(parser)
    subparsers = parser.add_subparsers(parser_class=Parser)
    seen: list[tuple[str, int]] = []

    def resolve(ns: argparse.Namespace, env: Mapping[str, str]) -> int:
        times: int = ns.times
        if times > 3:
            raise SettingsError("--times: at most 3")
        return times * 10

    def run(ns: argparse.Namespace, settings: int) -> int:
        seen.append((ns.word, settings))
        return 0

    sub = add_command(subparsers, "say", run=run, resolve=resolve, help="say a word")
    sub.add_argument("word")
    sub.add_argument("--times", type=positive_int, default=1)

    ns = parser.parse_args(["say", "hello", "--times", "2"])
    assert outcome.run_command(ns.command, ns, {}) == 0
    assert seen == [("hello", 20)]
    ns = parser.parse_args(["say", "hello", "--times", "4"])
    assert outcome.run_command(ns.command, ns, {}) == ExitCode.USAGE
    assert capsys.readouterr().err == "session-inspector: --times: at most 3\n"


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (SettingsError("-u: bad"), ExitCode.USAGE, "session-inspector: -u: bad\n"),
        (
            ValueError("no"),
            ExitCode.ERROR_REPLY,
            "session-inspector: ValueError: no (SESSION_INSPECTOR_DEBUG=1 shows the traceback)\n",
        ),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, ""),
    ],
)
def test_every_ending_of_a_run_is_one_line_and_an_exit_code(
    raised: BaseException,
    code: ExitCode,
    line: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SESSION_INSPECTOR_DEBUG", raising=False)

    def run() -> int:
        raise raised

    assert outcome.exit_code_of(run, None) == code
    assert capsys.readouterr().err == line


# ---------------------------------------------------------------- full screen needs a terminal


@pytest.mark.parametrize(
    "argv",
    [[], ["tui"], ["tui", "--namespace", "x"], ["demo"], ["demo", "--users", "1"]],
    ids=lambda argv: " ".join(argv) or "(default)",
)
def test_full_screen_commands_without_a_terminal_refuse_in_one_line(argv: list[str]) -> None:
    # `docker run` without -t, `tui </dev/null >file`: stdin and stdout are pipes
    # here. Nothing listens on the port: exit 2 (not 3) shows nothing connected.
    from tests.cli_run import inspector
    from tests.harness import free_port

    result = inspector("-p", str(free_port()), *argv, stdin=b"")
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == b""  # not one escape sequence
    err = result.stderr.decode()
    assert err.count("\n") == 1, err
    assert err.startswith("session-inspector: "), err
    assert "needs a terminal" in err
    assert "docker run -it" in err


def test_keys_from_a_terminal_but_output_to_a_file_is_refused_too(tmp_path: Path) -> None:
    # `session-inspector >file` in a terminal: the screen would go to the file.
    import pty

    from tests.cli_run import ENDPOINT_VARIABLES

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "inspector", "tui"],
            stdin=slave,
            capture_output=True,
            env=env,
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == b""
    assert b"needs a terminal" in result.stderr
