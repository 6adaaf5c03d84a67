"""Command line: redis-cli's connection flags, then a subcommand.

    session-inspector [connection options] [tui]          the TUI (default)
    session-inspector [connection options] cli [CMD ...]  redis-cli replacement
    session-inspector [connection options] demo           demo (embedded Redis without options)

Connection flags come before the subcommand and are spelled as in redis-cli
(``-h`` is the host; ``--help`` is help). Heavy modules (redis-py, Textual) are
imported only by the subcommand that needs them, so ``--help`` and bad flags
answer instantly.
"""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn

from inspector import __version__
from inspector.core.spring import DEFAULT_NAMESPACE
from inspector.exits import PROG, ExitCode
from inspector.redis_io.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    ConnectionFlags,
    ConnectionSettings,
    SettingsError,
    parse_db,
    parse_port,
    parse_url,
    resolve_settings,
)

if TYPE_CHECKING:
    from inspector.core.session import HostField
    from inspector.subcommands.sessions import SessionOptions

__all__ = ["build_parser", "main", "settings_from_args"]

AUTH_WARNING = (
    "Warning: Using a password with '-a' or '-u' option on the command line interface "
    "may not be safe.\n"
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where to look, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitCode.USAGE, f"{PROG}: {message} (see {self.prog} --help)\n")


def _argument_type(check: Callable[[str, str], int]) -> Callable[[str], int]:
    """An argparse type from a settings validator: its message, in argparse's form."""

    def convert(text: str) -> int:
        try:
            # No source name: argparse puts "argument -p: " in front itself.
            return check(text, "")
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(": ")) from None

    return convert


# One definition of a valid port and database number: flags are checked by the
# same rules as URLs and environment variables.
_port = _argument_type(parse_port)
_db = _argument_type(parse_db)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    # "nan" and "inf" parse as floats but make no sense as an interval.
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _per_second(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate above 0 (requests per second)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (global connection flags plus subcommands)."""
    parser = _Parser(
        prog=PROG,
        add_help=False,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "What is in a user's Spring (or any) session on Redis, and which container "
            "just served it.\nConnects like redis-cli: same flags, REDISCLI_AUTH, TLS, "
            "ACL users, cluster mode."
        ),
        epilog=(
            "environment:\n"
            "  REDISCLI_AUTH          password (keeps it out of `ps`), used when -a is not given\n"
            "  REDIS_URL              redis://, rediss:// or unix:// URL of the server\n"
            "  REDISCLUSTERENDPOINT   host or host:port (also REDIS_CLUSTER_ENDPOINT), as set\n"
            "                         by the ECS task definitions of the Spring sample app\n"
            "Flags beat the environment, which beats 127.0.0.1:6379.\n\n"
            "exit codes: 0 ok, 1 error reply (cli -e), 2 bad usage, 3 cannot connect or\n"
            "authenticate, 4 command refused by the server (NOPERM, unknown), 130 Ctrl-C"
        ),
    )
    conn = parser.add_argument_group("connection (as redis-cli)")
    conn.add_argument("-h", dest="host", metavar="HOST", help="server host (default 127.0.0.1)")
    conn.add_argument(
        "-p", dest="port", metavar="PORT", type=_port, help="server port (default 6379)"
    )
    conn.add_argument(
        "-s", dest="socket", metavar="SOCKET", help="Unix socket (overrides -h and -p)"
    )
    conn.add_argument(
        "-a",
        "--pass",
        dest="password",
        metavar="PASSWORD",
        help="password; prefer REDISCLI_AUTH, which does not show in `ps`",
    )
    conn.add_argument("--askpass", action="store_true", help="read the password from the terminal")
    conn.add_argument("--user", dest="username", metavar="USER", help="ACL user (needs a password)")
    conn.add_argument(
        "-u",
        dest="url",
        metavar="URL",
        help="redis://[user:pass@]host[:port][/db], rediss://... (TLS) or unix:///path[?db=N]",
    )
    conn.add_argument("-n", dest="db", metavar="DB", type=_db, help="database number")
    conn.add_argument(
        "-c",
        dest="cluster",
        action="store_true",
        help="cluster mode (also detected from INFO cluster)",
    )
    conn.add_argument(
        "-t",
        "--timeout",
        dest="connect_timeout",
        metavar="SECONDS",
        type=_seconds,
        help=f"connect timeout (default {DEFAULT_CONNECT_TIMEOUT:g})",
    )
    conn.add_argument(
        "--no-auth-warning",
        action="store_true",
        help="no warning when a password is given on the command line",
    )
    tls = parser.add_argument_group("TLS (certificates are verified unless --insecure)")
    tls.add_argument("--tls", action="store_true", help="connect with TLS")
    tls.add_argument("--sni", metavar="HOST", help="server name for SNI and verification")
    tls.add_argument("--cacert", metavar="FILE", help="CA bundle to trust (default: system store)")
    tls.add_argument("--cacertdir", metavar="DIR", help="directory of trusted CA certificates")
    tls.add_argument("--insecure", action="store_true", help="do not verify the server certificate")
    tls.add_argument("--cert", metavar="FILE", help="client certificate (mutual TLS)")
    tls.add_argument("--key", metavar="FILE", help="client private key (mutual TLS)")
    misc = parser.add_argument_group("other")
    misc.add_argument("--help", action="help", help="show this help and exit")
    misc.add_argument("--version", action="version", version=f"{PROG} {__version__}")

    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    tui = commands.add_parser(
        "tui", help="open the terminal UI (the default)", add_help=False, allow_abbrev=False
    )
    tui.add_argument(
        "--poll",
        metavar="SECONDS",
        type=_positive_seconds,
        default=1.0,
        help="polling interval when notifications are off (default 1)",
    )
    tui.add_argument(
        "--allow-writes",
        action="store_true",
        help="allow deleting sessions from the detail screen (asks first)",
    )
    tui.add_argument("--namespace", metavar="NS", help="only this namespace")
    tui.add_argument("--host-field", metavar="ATTR.PATH", help="where the container name is")
    tui.add_argument("--help", action="help", help="show this help and exit")

    cli = commands.add_parser(
        "cli",
        help="run one Redis command (or a REPL) and print it as redis-cli does",
        add_help=False,
        allow_abbrev=False,
        description=(
            "redis-cli replacement: prints replies byte for byte as redis-cli does. "
            "Without COMMAND, opens a REPL (history, Tab completion)."
        ),
    )
    mode = cli.add_mutually_exclusive_group()
    mode.add_argument(
        "--raw",
        dest="raw",
        action="store_const",
        const=True,
        help="raw output (default when stdout is not a terminal)",
    )
    mode.add_argument(
        "--no-raw",
        dest="raw",
        action="store_const",
        const=False,
        help="formatted output (default on a terminal)",
    )
    cli.add_argument(
        "-e",
        dest="error_exit",
        action="store_true",
        help="exit with code 1 when the server replies with an error",
    )
    cli.add_argument("--help", action="help", help="show this help and exit")
    cli.add_argument("args", nargs=argparse.REMAINDER, metavar="COMMAND [ARG ...]")

    def session_options(sub: argparse.ArgumentParser, *, json_help: str) -> None:
        sub.add_argument("--json", action="store_true", help=json_help)
        sub.add_argument(
            "--namespace",
            metavar="NS",
            help=f"only this namespace (default: every namespace found, e.g. {DEFAULT_NAMESPACE})",
        )
        sub.add_argument(
            "--host-field",
            metavar="ATTR.PATH",
            help="where the container name is, e.g. scopedTarget.sampleSession.host "
            "(default: the first host/hostname/container/instance/server field)",
        )
        sub.add_argument("--help", action="help", help="show this help and exit")

    ls = commands.add_parser(
        "ls", help="list sessions as they are found", add_help=False, allow_abbrev=False
    )
    ls.add_argument("--limit", metavar="N", type=_positive_int, help="stop after N sessions")
    session_options(ls, json_help="JSON Lines: one object per session")

    show = commands.add_parser(
        "show", help="one session, every attribute decoded", add_help=False, allow_abbrev=False
    )
    show.add_argument("session", metavar="ID", help="session id, SESSION cookie value or key")
    session_options(show, json_help="one JSON object, attributes included")

    stats = commands.add_parser(
        "stats",
        help="sessions by state, host, namespace; principals; sizes",
        add_help=False,
        allow_abbrev=False,
    )
    session_options(stats, json_help="one JSON object")

    watch = commands.add_parser(
        "watch",
        help="one line per request: which container served which session, live",
        add_help=False,
        allow_abbrev=False,
    )
    watch.add_argument(
        "--poll",
        metavar="SECONDS",
        type=_positive_seconds,
        default=1.0,
        help="polling interval when notifications are off (default 1)",
    )
    watch.add_argument(
        "--timeout", metavar="SECONDS", type=_positive_seconds, help="stop after this long (exit 0)"
    )
    watch.add_argument(
        "--count", metavar="N", type=_positive_int, help="stop after N events (exit 0)"
    )
    watch.add_argument(
        "--enable-notifications",
        action="store_true",
        help="CONFIG SET notify-keyspace-events so hash events are published "
        "(a write to the server's configuration; never done without this flag)",
    )
    session_options(
        watch,
        json_help="JSON Lines: time, session, host, previousHost, changed, "
        "lastAccessedTime, source, kind",
    )

    sample = commands.add_parser(
        "sample-app",
        help="the sample web app: sessions stored exactly as Spring Session does",
        add_help=False,
        allow_abbrev=False,
    )
    sample.add_argument(
        "--port",
        dest="http_port",
        metavar="N",
        type=_port,
        default=8080,
        help="HTTP port (default 8080)",
    )
    sample.add_argument(
        "--bind",
        metavar="ADDR",
        default="0.0.0.0",  # noqa: S104
        help="address to listen on (default all)",
    )
    sample.add_argument(
        "--name",
        metavar="NAME",
        help="container name shown and stored as the session's host "
        "(default $HOSTNAME, else the host name)",
    )
    sample.add_argument(
        "--layout",
        choices=("indexed", "spring3"),
        default="indexed",
        help="Spring Session 2.x indexed repository (default) or 3.x default",
    )
    sample.add_argument(
        "--namespace",
        metavar="NS",
        default=DEFAULT_NAMESPACE,
        help=f"key namespace (default {DEFAULT_NAMESPACE})",
    )
    sample.add_argument("--help", action="help", help="show this help and exit")

    decode = commands.add_parser(
        "decode",
        help="decode one raw value offline (file or stdin)",
        add_help=False,
        allow_abbrev=False,
    )
    decode.add_argument("file", metavar="FILE", nargs="?", help="raw bytes; - or nothing for stdin")
    decode.add_argument("--json", action="store_true", help="one JSON object")
    form = decode.add_mutually_exclusive_group()
    form.add_argument(
        "--hex", dest="encoding", action="store_const", const="hex", help="the input is hex text"
    )
    form.add_argument(
        "--redis-cli",
        dest="encoding",
        action="store_const",
        const="redis-cli",
        help='the input is redis-cli quoted text, e.g. "\\xac\\xed\\x00\\x05t..."',
    )
    decode.add_argument("--help", action="help", help="show this help and exit")

    demo = commands.add_parser(
        "demo",
        help="embedded demo: needs no Redis server",
        add_help=False,
        allow_abbrev=False,
        description="Starts an embedded Redis, two sample-app containers and simulated users, "
        "then the TUI. Quitting stops everything. With --redis URL or connection options "
        "before `demo` (session-inspector -h HOST demo), the demo uses that server instead.",
    )
    demo.add_argument(
        "--redis",
        metavar="URL",
        help="use this Redis (redis://, rediss://) instead of the embedded one; "
        "or give connection options before `demo`",
    )
    demo.add_argument(
        "--users",
        metavar="N",
        type=_positive_int,
        default=6,
        help="simulated users, each with its own session (default 6)",
    )
    demo.add_argument(
        "--rate",
        metavar="PER_SECOND",
        type=_per_second,
        default=3.0,
        help="requests per second, all users together (default 3)",
    )
    demo.add_argument("--help", action="help", help="show this help and exit")
    return parser


def _connection_flags(ns: argparse.Namespace, password: str | None) -> ConnectionFlags:
    return ConnectionFlags(
        host=ns.host,
        port=ns.port,
        socket=ns.socket,
        password=password,
        username=ns.username,
        url=ns.url,
        db=ns.db,
        tls=ns.tls,
        ca_cert=ns.cacert,
        ca_dir=ns.cacertdir,
        cert=ns.cert,
        key=ns.key,
        sni=ns.sni,
        insecure=ns.insecure,
        cluster=ns.cluster,
        connect_timeout=ns.connect_timeout,
    )


def settings_from_args(ns: argparse.Namespace, env: Mapping[str, str]) -> ConnectionSettings:
    """Turn parsed arguments and the environment into connection settings.

    Raises:
        SettingsError: A value is invalid; the message names it and the fix.
    """
    password = ns.password
    if ns.askpass:
        password = getpass.getpass("Please input password: ")
    return resolve_settings(_connection_flags(ns, password), env)


def _demo_settings(ns: argparse.Namespace, env: Mapping[str, str]) -> ConnectionSettings | None:
    """The server the demo uses, or ``None`` for its embedded Redis.

    Raises:
        SettingsError: ``--redis`` is malformed, or given with connection options.
    """
    options_given = ns.askpass or _connection_flags(ns, ns.password) != ConnectionFlags()
    if ns.redis is not None:
        if options_given:
            raise SettingsError(
                "demo: give either --redis URL or connection options (-h, -p, -u...), not both"
            )
        # Parsed first so that errors name --redis; resolve_settings says -u.
        parse_url(ns.redis, "--redis")
        return resolve_settings(ConnectionFlags(url=ns.redis), {})
    if options_given:
        # `session-inspector -h myhost demo`: the demo on that server, reached
        # exactly as every other command would reach it.
        return settings_from_args(ns, env)
    # The embedded Redis: an endpoint in the environment (REDISCLUSTERENDPOINT
    # on an ECS host) is not a request to leave it.
    return None


def _settings_for(ns: argparse.Namespace, env: Mapping[str, str]) -> ConnectionSettings | None:
    """Resolved and checked settings; ``None`` when the command needs no server.

    Raises:
        SettingsError: A flag, URL, variable or certificate file is wrong.
    """
    if ns.command == "decode":  # offline: no connection settings involved
        return None
    settings = _demo_settings(ns, env) if ns.command == "demo" else settings_from_args(ns, env)
    if settings is not None and settings.tls:
        # Load the CA and client certificate now: a bad file is a usage error
        # (exit 2), reported before anything touches the network.
        from inspector.redis_io.tls import build_ssl_context

        build_ssl_context(settings.tls)
    return settings


def _password_on_command_line(ns: argparse.Namespace) -> bool:
    """Whether the password in use was typed on the command line, as redis-cli warns.

    That is ``-a``, or a URL (``-u``, ``demo --redis``) that carries one: the
    password decides, not an ``@`` (``redis://user@host`` has none; it comes
    from REDISCLI_AUTH then). Call after the settings resolved: the URL is valid.
    """
    if ns.password is not None:
        return True
    url = ns.url or getattr(ns, "redis", None)
    return url is not None and parse_url(url).password is not None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        settings = _settings_for(ns, os.environ)
    except SettingsError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return ExitCode.USAGE
    except (KeyboardInterrupt, EOFError):  # at the --askpass prompt
        return ExitCode.INTERRUPTED
    if settings is not None and _password_on_command_line(ns) and not ns.no_auth_warning:
        sys.stderr.write(AUTH_WARNING)
    try:
        # Only now: it loads redis-py, which --help and bad flags never need.
        from inspector.subcommands.outcome import exit_code_of

        return exit_code_of(lambda: _dispatch(ns, settings), settings)
    except KeyboardInterrupt:  # while that import was still running
        return ExitCode.INTERRUPTED


def _host_field(ns: argparse.Namespace) -> HostField | None:
    from inspector.core.session import HostField

    path = getattr(ns, "host_field", None)  # absent when no subcommand was named
    return HostField(path) if path else None


def _session_options(ns: argparse.Namespace) -> SessionOptions:
    from inspector.subcommands.sessions import SessionOptions

    return SessionOptions(namespace=ns.namespace, host_field=_host_field(ns), json=ns.json)


def _dispatch(ns: argparse.Namespace, settings: ConnectionSettings | None) -> int:
    if ns.command == "decode":
        from inspector.subcommands.sessions import run_decode

        return run_decode(ns.file, json=ns.json, encoding=ns.encoding or "raw")
    if ns.command == "demo":
        from inspector.subcommands.demo import DemoOptions, run_demo

        return run_demo(DemoOptions(redis=settings, users=ns.users, rate=ns.rate))
    assert settings is not None  # only decode and the embedded demo go without
    if ns.command == "cli":
        from inspector.subcommands.cli import run_cli

        return run_cli(settings, ns.args, raw=ns.raw, error_exit=ns.error_exit)
    if ns.command == "watch":
        from inspector.subcommands.watch import run_watch

        return run_watch(
            settings,
            _session_options(ns),
            poll=ns.poll,
            timeout=ns.timeout,
            count=ns.count,
            enable_notifications=ns.enable_notifications,
        )
    if ns.command in ("ls", "show", "stats"):
        from inspector.subcommands import sessions

        options = _session_options(ns)
        if ns.command == "ls":
            return sessions.run_ls(settings, options, limit=ns.limit)
        if ns.command == "show":
            return sessions.run_show(settings, options, ns.session)
        return sessions.run_stats(settings, options)
    if ns.command == "sample-app":
        from inspector.sample_app.app import run_sample_app
        from inspector.sample_app.settings import SampleAppSettings, default_name
        from inspector.sample_app.store import Layout

        return run_sample_app(
            SampleAppSettings(
                redis=settings,
                name=ns.name or default_name(),
                port=ns.http_port,
                bind=ns.bind,
                namespace=ns.namespace,
                layout=Layout(ns.layout),
            )
        )
    from inspector.tui.app import run_tui

    return run_tui(
        settings,
        namespace=getattr(ns, "namespace", None),
        host_field=_host_field(ns),
        poll_interval=getattr(ns, "poll", 1.0),
        allow_writes=getattr(ns, "allow_writes", False),
    )
