"""Arguments shared by the subcommands: each option is defined once, here.

The global connection options (redis-cli's flags, given before the
subcommand) are added by :func:`add_connection_options` and turned into
settings by :func:`settings_from_args`; a new connection option goes in both,
as the SSH bastion's did (:func:`add_ssh_options`, :func:`with_ssh_from_args`).
Options several subcommands take (``--poll``, ``--namespace``,
``--host-field``, ``--json``) have one helper each.

Only light modules are imported here: ``--help`` and bad flags must answer
without loading redis-py, Textual or aiohttp.
"""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn, overload

from inspector.core.spring import DEFAULT_NAMESPACE
from inspector.exits import PROG, ExitCode
from inspector.redis_io.profiles import PROFILE_ENV, Profile, load_profile
from inspector.redis_io.settings import (
    DEFAULT_CONNECT_TIMEOUT,
    ENDPOINT_ENV_VARS,
    SSH_PASSPHRASE_ENV,
    SSH_PASSWORD_ENV,
    ConnectionFlags,
    ConnectionSettings,
    SettingsError,
    mask_url_passwords,
    parse_db,
    parse_port,
    parse_url,
    resolve_settings,
    resolve_ssh,
    with_ssh,
)

if TYPE_CHECKING:
    from inspector.core.attribution import ClientMap
    from inspector.core.session import HostField

__all__ = [
    "AUTH_WARNING",
    "DEFAULT_POLL",
    "Parser",
    "add_attribution",
    "add_connection_options",
    "add_host_field",
    "add_json",
    "add_namespace",
    "add_poll",
    "add_ssh_options",
    "checked",
    "client_map_file",
    "connection_flags",
    "db_number",
    "host_field_of",
    "open_tunnel_for",
    "per_second",
    "port_number",
    "positive_int",
    "positive_seconds",
    "seconds",
    "selected_profile",
    "settings_from_args",
    "with_ssh_from_args",
]

AUTH_WARNING = (
    "Warning: Using a password with '-a' or '-u' option on the command line interface "
    "may not be safe.\n"
)
DEFAULT_POLL = 1.0
"""Seconds between polling passes when keyspace notifications are off."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where to look, exit 2.

    Args:
        verbatim: Name of an attribute that receives every argument after the
            subcommand untouched, for a subcommand that reads its own
            arguments (`cli` reads redis-cli's, which argparse cannot: ``-r
            -1``, ``-3``, options that stop at the command name).
    """

    def __init__(self, *args: Any, verbatim: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.verbatim = verbatim
        self._given: list[str] = []  # the arguments last parsed, for error()'s hint

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """argparse's, except that a ``verbatim`` parser keeps its arguments as they are."""
        self._given = list(sys.argv[1:] if args is None else args)
        if self.verbatim is None:
            return super().parse_known_args(args, namespace)
        parsed, _ = super().parse_known_args([], namespace)  # the defaults (the command)
        setattr(parsed, self.verbatim, list(sys.argv[1:] if args is None else args))
        return parsed, []

    def error(self, message: str) -> NoReturn:
        """Print ``message`` on one line and exit with the usage code."""
        # argparse quotes the arguments it refused, which may be a URL with a password.
        message = mask_url_passwords(message)
        hint = self._dash_value_hint() if "arguments are required" in message else None
        if hint is not None:
            # An id may start with '-' (Flask's and Express's are URL-safe tokens):
            # argparse took it for an option and then missed the value.
            hint = mask_url_passwords(hint)
            self.exit(
                ExitCode.USAGE,
                f"{PROG}: {message}: {hint!r} was read as an option; a value that starts "
                f"with '-' goes after '--': {self.prog} -- {hint}\n",
            )
        self.exit(ExitCode.USAGE, f"{PROG}: {message} (see {self.prog} --help)\n")

    def _dash_value_hint(self) -> str | None:
        """The first given argument that starts with '-' and is no option of this parser."""
        known = list(self._option_string_actions)
        for arg in self._given:
            if arg == "--":
                return None  # what follows is positional already
            if not arg.startswith("-") or arg == "-":
                continue
            name = arg.split("=", 1)[0]
            if name in known or any(
                # a short option with its value attached: -p6379, -n1
                len(option) == 2 and not option.startswith("--") and arg.startswith(option)
                for option in known
            ):
                continue
            return arg
        return None


# ---------------------------------------------------------------- argument types


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
port_number = _argument_type(parse_port)
db_number = _argument_type(parse_db)


def positive_int(text: str) -> int:
    """A whole number of 1 or more (``--limit``, ``--count``, ``--users``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def seconds(text: str) -> float:
    """A number of seconds (``-t``)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0 (``--poll``, ``watch --timeout``)."""
    value = seconds(text)
    # "nan" and "inf" parse as floats but make no sense as an interval.
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def per_second(text: str) -> float:
    """A finite rate above 0 (``demo --rate``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate above 0 (requests per second)")
    return value


# ---------------------------------------------------------------- connection options


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """redis-cli's connection flags (and TLS), given before the subcommand."""
    conn = parser.add_argument_group("connection (as redis-cli)")
    conn.add_argument(
        "--profile",
        metavar="NAME",
        help=f"saved connection from profiles.toml (also {PROFILE_ENV}); flags typed here "
        "beat it, it beats the environment (see `profiles`)",
    )
    conn.add_argument("-h", dest="host", metavar="HOST", help="server host (default 127.0.0.1)")
    conn.add_argument(
        "-p", dest="port", metavar="PORT", type=port_number, help="server port (default 6379)"
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
    conn.add_argument("-n", dest="db", metavar="DB", type=db_number, help="database number")
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
        type=seconds,
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
    add_ssh_options(parser)


def add_ssh_options(parser: argparse.ArgumentParser) -> None:
    """``--ssh`` and its options, beside redis-cli's connection options."""
    ssh = parser.add_argument_group(
        "SSH bastion (Redis, and every cluster node, through one SSH connection)"
    )
    ssh.add_argument(
        "--ssh",
        metavar="[USER@]HOST[:PORT]",
        help="reach Redis through this SSH server (a Host of the SSH config works); "
        "-h names Redis as the bastion resolves it",
    )
    ssh.add_argument(
        "--ssh-key",
        metavar="FILE",
        action="append",
        default=[],
        help="private key to log in with (repeatable; ssh-agent and configured keys too)",
    )
    ssh.add_argument(
        "--ssh-config",
        metavar="FILE",
        help="OpenSSH client config (default ~/.ssh/config): Host, HostName, User, Port, "
        "IdentityFile, ProxyJump",
    )
    ssh.add_argument(
        "--ssh-accept-new",
        action="store_true",
        help="add an unknown host key to known_hosts, never a changed one "
        "(StrictHostKeyChecking=accept-new)",
    )


def connection_flags(ns: argparse.Namespace, password: str | None = None) -> ConnectionFlags:
    """The connection options as given (``None`` where not given); ``password`` replaces ``-a``."""
    return ConnectionFlags(
        host=ns.host,
        port=ns.port,
        socket=ns.socket,
        password=password if password is not None else ns.password,
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


def checked(
    settings: ConnectionSettings, ns: argparse.Namespace, *, typed_url: str | None
) -> ConnectionSettings:
    """Settings ready to use: TLS files loaded, redis-cli's warning for a typed password.

    Args:
        settings: Resolved settings.
        ns: The parsed arguments (``-a``, ``--no-auth-warning``).
        typed_url: The URL given on the command line, if any (``-u``, ``demo --redis``).

    Raises:
        SettingsError: A certificate or key cannot be loaded.
    """
    if settings.tls:
        # Load the CA and client certificate now: a bad file is a usage error
        # (exit 2), reported before anything touches the network.
        from inspector.redis_io.tls import build_ssl_context

        build_ssl_context(settings.tls)
    # redis-cli warns about a password typed on the command line: -a, or a URL
    # that carries one (redis://user@host has none: it comes from REDISCLI_AUTH).
    typed = ns.password is not None or (
        typed_url is not None and parse_url(typed_url).password is not None
    )
    if typed and not ns.no_auth_warning:
        sys.stderr.write(AUTH_WARNING)
    return settings


def settings_from_args(ns: argparse.Namespace, env: Mapping[str, str]) -> ConnectionSettings:
    """The connection settings of the global options and the environment.

    What every subcommand that talks to Redis runs before it starts: asks for the
    password with ``--askpass``, resolves flags over the environment, loads the
    TLS files and warns about a password typed on the command line.

    Raises:
        SettingsError: A value is invalid; the message names it and the fix.
        KeyboardInterrupt, EOFError: At the ``--askpass`` prompt.
    """
    profile = selected_profile(ns, env)
    typed_url = ns.url
    password = getpass.getpass("Please input password: ") if ns.askpass else None
    if profile is None:
        settings = resolve_settings(connection_flags(ns, password), env)
        return checked(with_ssh_from_args(ns, env, settings), ns, typed_url=typed_url)
    typed = connection_flags(ns, password)
    ns, env = _with_profile(ns, env, profile)
    url_password = parse_url(typed_url).password if typed_url else None
    if typed.password is None and url_password is None and profile.password is not None:
        # Read only when nothing typed beats it: the command may ask for a PIN.
        password = profile.password.read(env)
    settings = resolve_settings(connection_flags(ns, password), env)
    if profile.names_endpoint and not (typed.url or typed.socket or typed.host or typed.port):
        settings = replace(settings, source=f"profile {profile.name}")
    return checked(with_ssh_from_args(ns, env, settings), ns, typed_url=typed_url)


def selected_profile(ns: argparse.Namespace, env: Mapping[str, str]) -> Profile | None:
    """The profile ``--profile`` (else ``SESSION_INSPECTOR_PROFILE``) names; ``None`` for none.

    Raises:
        SettingsError: No such profile (the message lists them), or a bad file or profile.
    """
    name = ns.profile or env.get(PROFILE_ENV) or None
    return load_profile(name, env) if name else None


def _with_profile(
    ns: argparse.Namespace, env: Mapping[str, str], profile: Profile
) -> tuple[argparse.Namespace, Mapping[str, str]]:
    """The arguments with the profile filling what was not typed, and the environment under it.

    Typed flags win field by field, except that a typed ``-u`` or ``-s`` names
    the server as a whole (the profile's host, port, URL and socket go, and its
    user and database where the URL has its own), and ``-h``/``-p`` drop the
    profile's socket. A profile that names the server hides the environment's
    (``REDIS_URL``, ``REDISCLUSTERENDPOINT``); its SSH secrets beat
    ``SSH_PASSWORD``/``SSH_KEY_PASSPHRASE``.
    """
    saved = profile.flags
    if ns.url or ns.socket:
        typed_url = parse_url(ns.url) if ns.url else None
        saved = replace(saved, url=None, host=None, port=None, socket=None)
        if typed_url is not None and typed_url.username is not None:
            saved = replace(saved, username=None)
        if typed_url is not None and typed_url.db is not None:
            saved = replace(saved, db=None)
    elif ns.host is not None or ns.port is not None:
        saved = replace(saved, socket=None)
    filled = argparse.Namespace(**vars(ns))
    for attr, value in (
        ("host", saved.host),
        ("port", saved.port),
        ("socket", saved.socket),
        ("url", saved.url),
        ("username", saved.username),
        ("db", saved.db),
        ("cacert", saved.ca_cert),
        ("cacertdir", saved.ca_dir),
        ("cert", saved.cert),
        ("key", saved.key),
        ("sni", saved.sni),
        ("connect_timeout", saved.connect_timeout),
        ("ssh", profile.ssh),
        ("ssh_config", profile.ssh_config),
    ):
        if getattr(filled, attr) is None:
            setattr(filled, attr, value)
    filled.tls = ns.tls or saved.tls
    filled.insecure = ns.insecure or saved.insecure
    filled.cluster = ns.cluster or saved.cluster
    filled.ssh_accept_new = ns.ssh_accept_new or profile.ssh_accept_new
    filled.ssh_key = ns.ssh_key or list(profile.ssh_keys)
    under = dict(env)
    if profile.names_endpoint:
        for name in ("REDIS_URL", *ENDPOINT_ENV_VARS):
            under.pop(name, None)
    for variable, secret in (
        (SSH_PASSWORD_ENV, profile.ssh_password),
        (SSH_PASSPHRASE_ENV, profile.ssh_passphrase),
    ):
        if secret is not None:
            under[variable] = secret.read(env)
    return filled, under


@overload
def with_ssh_from_args(
    ns: argparse.Namespace, env: Mapping[str, str], settings: ConnectionSettings
) -> ConnectionSettings: ...


@overload
def with_ssh_from_args(ns: argparse.Namespace, env: Mapping[str, str], settings: None) -> None: ...


def with_ssh_from_args(
    ns: argparse.Namespace, env: Mapping[str, str], settings: ConnectionSettings | None
) -> ConnectionSettings | None:
    """The settings reached through ``--ssh`` when it was given; the settings as they are if not.

    Raises:
        SettingsError: An SSH option without ``--ssh``, a bad target or key
            file, a Unix socket, or ``--ssh`` where nothing connects (``None``).
    """
    if ns.ssh is None:
        stray = [
            flag
            for flag, value in (
                ("--ssh-key", ns.ssh_key),
                ("--ssh-config", ns.ssh_config),
                ("--ssh-accept-new", ns.ssh_accept_new),
            )
            if value
        ]
        if stray:
            raise SettingsError(f"{stray[0]} is an SSH option: add --ssh [user@]host[:port]")
        return settings
    if settings is None:
        raise SettingsError(
            "--ssh: the embedded demo is local; give --redis URL or -h HOST to reach a "
            "server through the bastion"
        )
    ssh = resolve_ssh(
        ns.ssh,
        env,
        keys=ns.ssh_key,
        config=ns.ssh_config,
        accept_new=ns.ssh_accept_new,
        connect_timeout=settings.connect_timeout,
    )
    return with_ssh(settings, ssh)


def open_tunnel_for(settings: ConnectionSettings) -> None:
    """Connect the SSH bastion of these settings now, asking for secrets if need be.

    Before the command starts, so prompts meet a plain terminal (not the TUI)
    and an unreachable bastion is reported as such, before any Redis error.

    Raises:
        Failure: The bastion failed (one line naming the hop, exit 3).
    """
    from inspector.redis_io.tunnel import open_tunnel

    assert settings.ssh is not None

    def notice(text: str) -> None:
        sys.stderr.write(f"{PROG}: {mask_url_passwords(text)}\n")

    open_tunnel(settings.ssh, prompt=getpass.getpass if _has_terminal() else None, notice=notice)


def _has_terminal() -> bool:
    """Whether someone can be asked: getpass talks to the controlling terminal."""
    try:
        descriptor = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(descriptor)
    return True


# ---------------------------------------------------------------- shared subcommand options


def add_poll(parser: argparse.ArgumentParser) -> None:
    """``--poll SECONDS``: the polling interval of the change feed (``ns.poll``)."""
    parser.add_argument(
        "--poll",
        metavar="SECONDS",
        type=positive_seconds,
        default=DEFAULT_POLL,
        help=f"polling interval when notifications are off (default {DEFAULT_POLL:g})",
    )


def add_namespace(parser: argparse.ArgumentParser) -> None:
    """``--namespace NS``: only sessions of that namespace (``ns.namespace``, else ``None``)."""
    parser.add_argument(
        "--namespace",
        metavar="NS",
        help=f"only this namespace (default: every namespace found, e.g. {DEFAULT_NAMESPACE})",
    )


def add_host_field(parser: argparse.ArgumentParser) -> None:
    """``--host-field ATTR.PATH``: where the container name is; read with :func:`host_field_of`."""
    parser.add_argument(
        "--host-field",
        metavar="ATTR.PATH",
        help="where the container name is, e.g. scopedTarget.sampleSession.host "
        "(default: the first host/hostname/container/instance/server field)",
    )


def add_attribution(parser: argparse.ArgumentParser, *, monitor_help: str) -> None:
    """``--attribute-by attribute|monitor``, ``--client-map FILE`` and ``--no-dns``.

    Read as ``ns.attribute_by``, ``ns.client_map`` (a checked
    :class:`~inspector.core.attribution.ClientMap` or ``None``) and ``ns.dns``.
    ``monitor_help`` says what ``monitor`` does for this subcommand; the
    measured cost of MONITOR follows it.
    """
    from inspector.core.monitor import monitor_cost_summary

    parser.add_argument(
        "--attribute-by",
        choices=("attribute", "monitor"),
        default="attribute",
        help="how the container of a request is found: the session's host attribute "
        f"(default), or {monitor_help}, named by its client name, --client-map, reverse DNS, "
        # argparse expands % in help texts.
        f"else its address. {monitor_cost_summary()}".replace("%", "%%"),
    )
    parser.add_argument(
        "--client-map",
        metavar="FILE",
        type=client_map_file,
        help="for attribution by connection: names for connection addresses, one per line, "
        "'<IP|CIDR|IP:PORT> <name>' (an /etc/hosts file works), e.g. an ECS task's IP and "
        "its service/task id",
    )
    parser.add_argument(
        "--no-dns",
        dest="dns",
        action="store_false",
        help="for attribution by connection: no reverse DNS / hosts-file names",
    )


def client_map_file(path: str) -> ClientMap:
    """``--client-map FILE``: read and check it now, so a bad line is a usage error."""
    from pathlib import Path

    from inspector.core.attribution import ClientMap, ClientMapError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise argparse.ArgumentTypeError(f"cannot read {path}: {reason}") from None
    try:
        return ClientMap(text, origin=path)
    except ClientMapError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_json(parser: argparse.ArgumentParser, *, help: str) -> None:  # noqa: A002 - argparse's name
    """``--json``, with what it prints (``ns.json``)."""
    parser.add_argument("--json", action="store_true", help=help)


def host_field_of(ns: argparse.Namespace) -> HostField | None:
    """The ``--host-field`` given, parsed; ``None`` for the built-in search."""
    if not ns.host_field:
        return None
    from inspector.core.session import HostField

    return HostField(ns.host_field)
