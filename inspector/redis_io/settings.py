"""Connection settings, resolved like redis-cli from flags, URLs and the environment.

Precedence, field by field: command-line flags, then ``-u URL``, then the
environment (``REDIS_URL``, then ``REDISCLUSTERENDPOINT`` /
``REDIS_CLUSTER_ENDPOINT``; the password from ``REDISCLI_AUTH``), then the
default ``127.0.0.1:6379``. Everything here is pure: no sockets, no redis-py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ENDPOINT_ENV_VARS",
    "SSH_PASSPHRASE_ENV",
    "SSH_PASSWORD_ENV",
    "ConnectionFlags",
    "ConnectionSettings",
    "SSHSettings",
    "SettingsError",
    "TLSSettings",
    "mask_url_passwords",
    "parse_db",
    "parse_endpoint",
    "parse_port",
    "parse_ssh_target",
    "parse_url",
    "resolve_settings",
    "resolve_ssh",
    "with_endpoint",
    "with_ssh",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 6379
DEFAULT_CONNECT_TIMEOUT = 5.0
# The article's ECS task definitions set one of these to the ElastiCache endpoint.
ENDPOINT_ENV_VARS = ("REDISCLUSTERENDPOINT", "REDIS_CLUSTER_ENDPOINT")
# Secrets for the SSH hop come from the environment (or a prompt), never from a
# flag: a flag's value shows in `ps`.
SSH_PASSWORD_ENV = "SSH_PASSWORD"  # noqa: S105 - the variable's name, not a secret
SSH_PASSPHRASE_ENV = "SSH_KEY_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret


# scheme://userinfo@ inside any text: the userinfo runs to the last "@" of its
# word (a password may hold an unescaped "@" or "/"), quotes ending the word.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^\s'\"]*)@")


def mask_url_passwords(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``****``.

    ``redis://bob:Url5ecret@host`` becomes ``redis://bob:****@host``; a userinfo
    without a colon is masked whole, because redis-cli reads ``redis://pw@host``
    as a password. Every message that quotes a URL goes through this: stderr of
    an ECS task ends up in CloudWatch Logs.
    """

    def mask(match: re.Match[str]) -> str:
        user, colon, _ = match["info"].partition(":")
        return f"{match['scheme']}{user}:****@" if colon else f"{match['scheme']}****@"

    return _URL_USERINFO.sub(mask, text)


class SettingsError(ValueError):
    """A setting is invalid; the message says what is wrong and how to fix it.

    Its text never holds a URL's password (see :func:`mask_url_passwords`).
    """

    def __init__(self, message: str) -> None:
        super().__init__(mask_url_passwords(message))


@dataclass(frozen=True, slots=True)
class TLSSettings:
    """How to speak TLS to the server. Certificates are verified unless ``insecure``."""

    ca_cert: Path | None = None
    """PEM bundle of CAs to trust (``--cacert``); the system store when neither is given."""
    ca_dir: Path | None = None
    """Directory of hashed CA certificates (``--cacertdir``)."""
    cert: Path | None = None
    """Client certificate for mutual TLS (``--cert``)."""
    key: Path | None = None
    """Private key of the client certificate (``--key``)."""
    sni: str | None = None
    """Server name to send and verify instead of the host (``--sni``)."""
    insecure: bool = False
    """Skip certificate and host name verification (``--insecure``)."""


@dataclass(frozen=True, slots=True)
class SSHSettings:
    """How to reach Redis through an SSH bastion (``--ssh``).

    Fields left ``None`` come from the OpenSSH client configuration (``Host``
    blocks of ``config``), then from OpenSSH's defaults (port 22, the local user).
    """

    host: str
    """Bastion host name, address or ``Host`` alias of the SSH configuration."""
    port: int | None = None
    """SSH port; ``None``: the configuration's ``Port``, else 22."""
    user: str | None = None
    """Login name; ``None``: the configuration's ``User``, else the local user."""
    keys: tuple[Path, ...] = ()
    """Private keys to offer (``--ssh-key``), before the agent's and the configured ones."""
    config: Path | None = None
    """OpenSSH client configuration (``--ssh-config``); ``None``: ``~/.ssh/config`` if present."""
    accept_new: bool = False
    """Add an unknown host key to known_hosts (``StrictHostKeyChecking=accept-new``)."""
    password: str | None = field(default=None, repr=False)
    """Login password (``SSH_PASSWORD``); never printed."""
    passphrase: str | None = field(default=None, repr=False)
    """Passphrase of encrypted keys (``SSH_KEY_PASSPHRASE``); never printed."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    """Seconds for each SSH hop to connect and authenticate (``-t``)."""

    @property
    def target(self) -> str:
        """The bastion as given: ``[user@]host[:port]``, for messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"{user}{host}{port}"


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    """Everything needed to reach one Redis deployment."""

    host: str = DEFAULT_HOST
    """Host name or IP of the server, or of any node of a cluster."""
    port: int = DEFAULT_PORT
    """TCP port."""
    socket: str | None = None
    """Unix socket path; when set, host and port are ignored."""
    username: str | None = None
    """ACL user name (Redis 6+); ``None`` means the default user."""
    password: str | None = field(default=None, repr=False)
    """Password for AUTH; never printed."""
    db: int = 0
    """Database number (always 0 in cluster mode)."""
    tls: TLSSettings | None = None
    """TLS parameters, or ``None`` for a plain connection."""
    cluster: bool | None = None
    """``True`` forces cluster mode (``-c``); ``None`` detects it from ``INFO cluster``."""
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    """Seconds to wait for the TCP/TLS connection and the handshake."""
    source: str = "default"
    """Where the endpoint came from (``flags``, ``-u``, ``REDIS_URL``...), for messages."""
    ssh: SSHSettings | None = None
    """Reach the endpoint (and every cluster node) through this SSH bastion (``--ssh``)."""
    client_name: str | None = None
    """``CLIENT SETNAME`` for every connection (the sample app's ``--client-name``)."""
    source_address: str | None = None
    """Local address outgoing TCP connections come from (sample app ``--source-address``)."""

    @property
    def endpoint(self) -> str:
        """The endpoint as people write it: ``host:port``, ``[v6]:port`` or the socket path."""
        if self.socket:
            return self.socket
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def prompt(self) -> str:
        """redis-cli's prompt for these settings, e.g. ``127.0.0.1:6379[2]> ``."""
        base = f"redis {self.socket}" if self.socket else self.endpoint
        return f"{base}[{self.db}]> " if self.db else f"{base}> "


@dataclass(slots=True)
class ConnectionFlags:
    """Connection options as given on the command line; ``None`` means "not given"."""

    host: str | None = None
    port: int | None = None
    socket: str | None = None
    password: str | None = field(default=None, repr=False)
    username: str | None = None
    url: str | None = None
    db: int | None = None
    tls: bool = False
    ca_cert: str | None = None
    ca_dir: str | None = None
    cert: str | None = None
    key: str | None = None
    sni: str | None = None
    insecure: bool = False
    cluster: bool = False
    connect_timeout: float | None = None


@dataclass(slots=True)
class _Partial:
    """Fields of a URL or endpoint; ``None`` where the source says nothing."""

    host: str | None = None
    port: int | None = None
    socket: str | None = None
    username: str | None = None
    password: str | None = None
    db: int | None = None
    tls: bool | None = None


def parse_port(text: str, what: str) -> int:
    """A TCP port (1-65535) from text; ``what`` names its source in the error.

    Raises:
        SettingsError: Not a number, or out of range.
    """
    try:
        port = int(text)
    except ValueError:
        raise SettingsError(f"{what}: port {text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise SettingsError(f"{what}: port {port} is out of range (1-65535)")
    return port


def parse_db(text: str, what: str) -> int:
    """A database number (0 or more) from text; ``what`` names its source in the error.

    Raises:
        SettingsError: Not a number, or negative.
    """
    try:
        db = int(text)
    except ValueError:
        raise SettingsError(f"{what}: database {text!r} is not a number") from None
    if db < 0:
        raise SettingsError(f"{what}: database {db} must be 0 or more")
    return db


def parse_url(url: str, what: str = "-u") -> _Partial:
    """Parse a ``redis://``, ``rediss://`` or ``unix://`` URL as redis-cli and redis-py read it.

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]``,
            ``rediss://...`` (TLS) or ``unix://[[user]:password@]/path[?db=N]``.
        what: Where the URL came from, for error messages.

    Returns:
        The fields the URL sets.

    Raises:
        SettingsError: The scheme is unknown or a part is malformed.
    """
    try:
        parts = urlsplit(url)
        port_text = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        raise SettingsError(f"{what}: invalid URL {url!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss", "unix"):
        shown = f"{scheme}://" if scheme else "no scheme"
        raise SettingsError(
            f"{what}: unknown URL scheme ({shown}) in {url!r}; "
            "use redis://host:port, rediss://host:port (TLS) or unix:///path/to/socket"
        )
    result = _Partial(
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )
    query = parse_qs(parts.query)
    if "db" in query:
        result.db = parse_db(query["db"][-1], what)
    if scheme == "unix":
        if not parts.path:
            raise SettingsError(f"{what}: {url!r} names no socket path; use unix:///path/to/socket")
        result.socket = unquote(parts.path)
        return result
    result.tls = scheme == "rediss"
    if parts.hostname:
        result.host = unquote(parts.hostname)
    if port_text is not None:
        result.port = parse_port(str(port_text), what)
    path = parts.path.lstrip("/")
    if path:
        result.db = parse_db(path, what)
    return result


def parse_endpoint(value: str, what: str) -> _Partial:
    """Parse an endpoint variable: ``host``, ``host:port``, ``[v6]:port`` or a full URL.

    Args:
        value: The variable's value, e.g. ``clustercfg.x.cache.amazonaws.com:6379``.
        what: The variable's name, for error messages.

    Returns:
        The host and, when given, the port (or everything a URL sets).

    Raises:
        SettingsError: The value is empty or its port is invalid.
    """
    value = value.strip()
    if "://" in value:
        return parse_url(value, what)
    if not value:
        raise SettingsError(f"{what} is set but empty; unset it or give host[:port]")
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = parse_port(rest[1:], what) if rest.startswith(":") else None
        return _Partial(host=host, port=port)
    if value.count(":") == 1:
        host, port_text = value.split(":")
        return _Partial(host=host or None, port=parse_port(port_text, what))
    return _Partial(host=value)  # a bare name, or an IPv6 address without a port


def _merge(base: _Partial, top: _Partial) -> _Partial:
    values = {}
    for item in fields(_Partial):
        value = getattr(top, item.name)
        values[item.name] = value if value is not None else getattr(base, item.name)
    return _Partial(**values)


def _environment_endpoint(env: Mapping[str, str]) -> tuple[_Partial, str] | None:
    if env.get("REDIS_URL"):
        return parse_url(env["REDIS_URL"], "REDIS_URL"), "REDIS_URL"
    for name in ENDPOINT_ENV_VARS:
        if env.get(name):
            return parse_endpoint(env[name], name), name
    return None


def _readable_file(path: str, flag: str) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise SettingsError(f"{flag} {path}: no such file")
    if not os.access(resolved, os.R_OK):
        raise SettingsError(f"{flag} {path}: file is not readable (check its permissions)")
    return resolved


def resolve_settings(flags: ConnectionFlags, env: Mapping[str, str]) -> ConnectionSettings:
    """Combine flags and environment into settings: flags beat environment beats default.

    ``-u`` replaces the environment's endpoint as a whole; single flags (``-h``,
    ``-p``, ``-n``, ``-a``...) then override single fields. The password comes
    from ``-a``, else the URL given with ``-u``, else ``REDISCLI_AUTH``, else
    ``REDIS_URL``.

    Args:
        flags: What the command line said.
        env: The process environment (``os.environ``).

    Returns:
        Validated settings.

    Raises:
        SettingsError: Something is malformed or contradictory; the message
            names the flag or variable and the fix.
    """
    merged = _Partial()
    source = "default"
    from_env = _environment_endpoint(env)
    if from_env is not None:
        merged, source = from_env
    env_password = merged.password
    url_password: str | None = None
    if flags.url:
        merged = parse_url(flags.url, "-u")
        url_password = merged.password
        source = "-u"
    cli = _Partial(
        host=flags.host,
        port=flags.port,
        socket=flags.socket,
        username=flags.username,
        db=flags.db,
        tls=True if flags.tls else None,
    )
    if flags.host is not None or flags.port is not None or flags.socket is not None:
        source = "flags"
    if flags.host is not None or flags.port is not None:
        # -h/-p name a TCP endpoint: a socket from the environment no longer applies.
        merged.socket = None
    merged = _merge(merged, cli)

    if flags.port is not None and not 1 <= flags.port <= 65535:
        raise SettingsError(f"-p: port {flags.port} is out of range (1-65535)")
    if flags.db is not None and flags.db < 0:
        raise SettingsError(f"-n: database {flags.db} must be 0 or more")
    if flags.connect_timeout is not None and flags.connect_timeout <= 0:
        raise SettingsError(f"-t: timeout {flags.connect_timeout:g} must be more than 0 seconds")

    password = flags.password
    if password is None:
        password = url_password
    if password is None:
        password = env.get("REDISCLI_AUTH") or None
    if password is None:
        password = env_password
    if merged.username and password is None:
        raise SettingsError(
            f"--user {merged.username} needs a password: set REDISCLI_AUTH (or -a / --askpass, "
            "or a profile's password_env)"
        )

    tls_only_flags = [
        name
        for name, value in (
            ("--cacert", flags.ca_cert),
            ("--cacertdir", flags.ca_dir),
            ("--cert", flags.cert),
            ("--key", flags.key),
            ("--sni", flags.sni),
            ("--insecure", flags.insecure or None),
        )
        if value is not None
    ]
    tls: TLSSettings | None = None
    if merged.tls:
        if merged.socket:
            raise SettingsError("TLS is not available over a Unix socket; drop --tls or -s")
        if (flags.cert is None) != (flags.key is None):
            raise SettingsError("--cert and --key go together: give both for mutual TLS")
        tls = TLSSettings(
            ca_cert=_readable_file(flags.ca_cert, "--cacert") if flags.ca_cert else None,
            ca_dir=_ca_dir(flags.ca_dir) if flags.ca_dir else None,
            cert=_readable_file(flags.cert, "--cert") if flags.cert else None,
            key=_readable_file(flags.key, "--key") if flags.key else None,
            sni=flags.sni,
            insecure=flags.insecure,
        )
    elif tls_only_flags:
        raise SettingsError(
            f"{tls_only_flags[0]} is a TLS option: add --tls (or use a rediss:// URL)"
        )

    cluster: bool | None = True if flags.cluster else None
    db = merged.db or 0
    if merged.socket and cluster:
        raise SettingsError("cluster mode (-c) needs a TCP endpoint, not a Unix socket")
    if cluster and db:
        raise SettingsError(f"cluster mode (-c) has only database 0, not {db}; drop -n")

    return ConnectionSettings(
        host=merged.host or DEFAULT_HOST,
        port=merged.port or DEFAULT_PORT,
        socket=merged.socket,
        username=merged.username,
        password=password,
        db=db,
        tls=tls,
        cluster=cluster,
        connect_timeout=flags.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
        source=source,
    )


def _ca_dir(path: str) -> Path:
    resolved = Path(path).expanduser()
    if not resolved.is_dir():
        raise SettingsError(f"--cacertdir {path}: no such directory")
    return resolved


def with_endpoint(settings: ConnectionSettings, host: str, port: int) -> ConnectionSettings:
    """The same settings pointed at another node (a cluster redirect or REPL ``connect``)."""
    return replace(settings, host=host, port=port, socket=None, source="redirect")


def parse_ssh_target(text: str, what: str = "--ssh") -> tuple[str | None, str, int | None]:
    """Split ``[user@]host[:port]`` (``[v6]:port`` for IPv6) as ``ssh`` reads it.

    Returns:
        ``(user, host, port)``; ``None`` where the text gives none.

    Raises:
        SettingsError: No host, or a bad port.
    """
    user, at, rest = text.rpartition("@")
    if at and not user:
        raise SettingsError(f"{what} {text!r}: empty user name before '@'")
    port: int | None = None
    if rest.startswith("["):
        host, closed, tail = rest[1:].partition("]")
        if not closed or (tail and not tail.startswith(":")):
            raise SettingsError(f"{what} {text!r}: write an IPv6 bastion as [address]:port")
        if tail:
            port = parse_port(tail[1:], what)
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
        port = parse_port(port_text, what)
    else:
        host = rest  # a name, or an IPv6 address without a port
    if not host:
        raise SettingsError(f"{what} {text!r}: no host; use [user@]host[:port]")
    return (user or None), host, port


def resolve_ssh(
    target: str,
    env: Mapping[str, str],
    *,
    keys: Sequence[str] = (),
    config: str | None = None,
    accept_new: bool = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> SSHSettings:
    """The SSH hop from ``--ssh`` and its options; secrets from the environment.

    Args:
        target: ``[user@]host[:port]`` (``--ssh``).
        env: The process environment: ``SSH_PASSWORD``, ``SSH_KEY_PASSPHRASE``.
        keys: Private key files (``--ssh-key``, repeatable).
        config: OpenSSH client configuration file (``--ssh-config``).
        accept_new: ``--ssh-accept-new``.
        connect_timeout: Seconds per SSH hop (``-t``).

    Raises:
        SettingsError: A malformed target, or a key or configuration file
            that cannot be read.
    """
    user, host, port = parse_ssh_target(target)
    return SSHSettings(
        host=host,
        port=port,
        user=user,
        keys=tuple(_readable_file(key, "--ssh-key") for key in keys),
        config=_readable_file(config, "--ssh-config") if config else None,
        accept_new=accept_new,
        password=env.get(SSH_PASSWORD_ENV) or None,
        passphrase=env.get(SSH_PASSPHRASE_ENV) or None,
        connect_timeout=connect_timeout,
    )


def with_ssh(settings: ConnectionSettings, ssh: SSHSettings) -> ConnectionSettings:
    """The same settings, reached through an SSH bastion.

    Raises:
        SettingsError: The endpoint is a Unix socket, which a TCP tunnel cannot reach.
    """
    if settings.socket:
        raise SettingsError(
            "--ssh forwards TCP connections: give the server as -h HOST -p PORT "
            "(as the bastion reaches it), not -s / unix://"
        )
    return replace(settings, ssh=ssh)
