"""One place that turns what a server or network can throw into one clear line.

Every front end (the `cli` command, other subcommands, the TUI) shows a
:class:`Failure`: a kind, a one-line message that says what happened and what
to do, and an exit code. Nothing else in the product formats connection errors.
"""

from __future__ import annotations

import ast
import asyncio
import errno
import re
import socket
import ssl
from collections.abc import Iterator
from enum import Enum
from typing import TypeVar

from redis import exceptions as rexc

from inspector.exits import ExitCode
from inspector.redis_io.settings import ConnectionSettings, SettingsError

__all__ = ["Failure", "Problem", "RoundTripTimeout", "describe_failure"]

_E = TypeVar("_E", bound=BaseException)


class Problem(Enum):
    """What went wrong, for callers that react differently (the TUI, retries)."""

    USAGE = "usage"
    REFUSED = "connection refused"
    DNS = "host not found"
    NO_SOCKET = "no such socket"
    UNREACHABLE = "network unreachable"
    TIMEOUT = "timeout"
    AUTH_FAILED = "authentication failed"
    AUTH_REQUIRED = "authentication required"
    NO_PASSWORD_SET = "no password set on server"  # noqa: S105 - a label, not a secret
    TLS_TO_PLAIN = "TLS to a plain-text port"
    PLAIN_TO_TLS = "plain text to a TLS port"
    CERT_REJECTED = "certificate rejected"
    TLS_FAILED = "TLS handshake failed"
    NO_PERMISSION = "permission denied"
    UNKNOWN_COMMAND = "unknown command"
    CLUSTER = "cluster error"
    CLOSED = "connection closed"
    SSH_UNREACHABLE = "SSH bastion unreachable"
    SSH_HOST_KEY = "SSH host key not trusted"
    SSH_AUTH = "SSH authentication refused"
    SSH_FORWARDING = "SSH forwarding refused"
    SSH_LOST = "SSH connection lost"
    OTHER = "error"

    @property
    def exit_code(self) -> ExitCode:
        """The exit code for this kind of problem."""
        if self is Problem.USAGE:
            return ExitCode.USAGE
        if self in (Problem.NO_PERMISSION, Problem.UNKNOWN_COMMAND):
            return ExitCode.PERMISSION
        if self is Problem.OTHER:
            return ExitCode.ERROR_REPLY
        return ExitCode.CONNECTION


class Failure(Exception):
    """A failure already explained for people: show ``str(failure)`` and exit."""

    def __init__(self, problem: Problem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message

    @property
    def exit_code(self) -> ExitCode:
        """The process exit code for this failure."""
        return self.problem.exit_code


class RoundTripTimeout(TimeoutError):
    """A connected server did not answer one round trip (a SCAN page, a pipeline) in time.

    Distinct from a connect timeout: ``-t`` bounds connecting only, so the
    advice differs (the server or the network is stalled or overloaded).
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no reply within {seconds:g}s")
        self.seconds = seconds


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first(exc: BaseException, kind: type[_E]) -> _E | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _who(settings: ConnectionSettings) -> str:
    return f"user '{settings.username}'" if settings.username else "the default user"


def _tls_hint(settings: ConnectionSettings) -> str:
    if settings.tls:
        return ""
    return "; if it is a TLS port (ElastiCache in-transit encryption), add --tls"


def _strerror(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    return str(exc.args[-1]) if exc.args else type(exc).__name__


def _from_reply(
    exc: BaseException, settings: ConnectionSettings, command: str | None
) -> Failure | None:
    """The server answered with an error: authentication, ACL, unknown command."""
    where, text = settings.endpoint, str(exc)
    lowered = text.lower()
    is_auth = isinstance(exc, rexc.AuthenticationError)
    if is_auth or "wrongpass" in lowered or text.startswith("NOAUTH"):
        if "without any password configured" in lowered or "no password is set" in lowered:
            return Failure(
                Problem.NO_PASSWORD_SET,
                f"{where} has no password set, but one was given; drop -a / REDISCLI_AUTH "
                "(or give --user for an ACL user)",
            )
        if "authentication required" in lowered:
            return Failure(
                Problem.AUTH_REQUIRED,
                f"{where} requires authentication: set REDISCLI_AUTH (or -a / --askpass), "
                "plus --user USER for an ACL user",
            )
        return Failure(
            Problem.AUTH_FAILED,
            f"authentication failed at {where} for {_who(settings)}: wrong password, or the "
            "user does not exist or is disabled",
        )
    what = f"'{command}'" if command else "a command it needs"
    if isinstance(exc, rexc.NoPermissionError):
        return Failure(
            Problem.NO_PERMISSION,
            f"{_who(settings)} may not run {what} at {where}: NOPERM {text}",
        )
    if isinstance(exc, rexc.ResponseError) and lowered.startswith("unknown command"):
        return Failure(
            Problem.UNKNOWN_COMMAND,
            f"{where} does not accept {what} (renamed or disabled, as ElastiCache does "
            f"with CONFIG): ERR {text}",
        )
    if "select is not allowed in cluster mode" in lowered:
        return Failure(
            Problem.USAGE,
            f"{where} runs in cluster mode, which has only database 0; drop -n (or /db in the URL)",
        )
    return None


_NOT_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER", "PACKET_LENGTH_TOO_LONG", "UNEXPECTED_EOF")
_CLIENT_CERT = ("CERTIFICATE_REQUIRED", "ALERT_CERTIFICATE", "HANDSHAKE_FAILURE")


def _from_tls(exc: BaseException, settings: ConnectionSettings) -> Failure | None:
    where = settings.endpoint
    cert = _first(exc, ssl.SSLCertVerificationError)
    if cert is not None:
        reason = str(cert.verify_message or cert.reason or "verification failed")
        if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
            fix = "connect by the name in the certificate, or give it with --sni"
        else:
            fix = "give the CA that signed it with --cacert (or skip checks with --insecure)"
        return Failure(
            Problem.CERT_REJECTED, f"TLS certificate of {where} rejected: {reason}; {fix}"
        )
    error = _first(exc, ssl.SSLError)
    if error is None:
        return None
    reason = str(error.reason or error).upper()
    if any(key in reason for key in _NOT_TLS):
        return Failure(
            Problem.TLS_TO_PLAIN,
            f"TLS handshake with {where} failed: the port does not speak TLS; drop --tls "
            "(or use redis:// instead of rediss://)",
        )
    if any(key in reason for key in _CLIENT_CERT):
        return Failure(
            Problem.TLS_FAILED,
            f"TLS handshake with {where} refused by the server ({error.reason}): it may "
            "require a client certificate (--cert and --key)",
        )
    return Failure(Problem.TLS_FAILED, f"TLS error with {where}: {error.reason or error}")


def _from_network(exc: BaseException, settings: ConnectionSettings) -> Failure | None:
    where = settings.endpoint
    gai = _first(exc, socket.gaierror)
    if gai is not None:
        return Failure(
            Problem.DNS,
            f"cannot resolve host '{settings.host}' ({_strerror(gai)}): check -h or the "
            "endpoint variable (REDISCLUSTERENDPOINT, REDIS_URL)",
        )
    error = _first(exc, OSError)
    if error is None or isinstance(error, TimeoutError):
        return None
    code = error.errno
    if isinstance(error, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        check = "" if settings.socket else " there? check -h/-p"
        return Failure(
            Problem.REFUSED,
            f"could not connect to Redis at {where}: connection refused "
            f"(is redis-server running{check})",
        )
    if isinstance(error, FileNotFoundError) or code == errno.ENOENT:
        return Failure(
            Problem.NO_SOCKET, f"could not connect to Redis at {where}: no such socket file"
        )
    if isinstance(error, PermissionError) or code == errno.EACCES:
        return Failure(
            Problem.NO_SOCKET, f"could not connect to Redis at {where}: permission denied"
        )
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return Failure(
            Problem.UNREACHABLE,
            f"could not connect to Redis at {where}: {_strerror(error)} (check the route "
            "and security groups)",
        )
    if code in (errno.ECONNRESET, errno.EPIPE):
        return Failure(
            Problem.CLOSED if settings.tls else Problem.PLAIN_TO_TLS,
            f"{where} closed the connection ({_strerror(error)}){_tls_hint(settings)}",
        )
    return None


_TIMEOUTS = (rexc.TimeoutError, asyncio.TimeoutError, TimeoutError, socket.timeout)


_GOT_BYTE = re.compile(r'got "(.*)" as reply type byte', re.DOTALL)
_GOT_LINE = re.compile(r"(?:Protocol Error: |unexpected reply )(b'.*'|b\".*\")", re.DOTALL)


def _answered(text: str) -> str:
    """What the server sent instead of RESP, as redis-cli says it (``got "H"``).

    hiredis names the first byte (``got "H" as reply type byte``), redis-py's
    own parser and :mod:`~inspector.redis_io.resp` the first line
    (``Protocol Error: b'HTTP/1.1 400 ...'``, ``unexpected reply b'...'``).
    """
    found = _GOT_BYTE.search(text)
    if found is not None:
        got = found[1]
    else:
        line = _GOT_LINE.search(text)
        if line is None:
            return f"it answered {text}"
        try:
            raw = ast.literal_eval(line[1])
        except (ValueError, SyntaxError):
            return f"it answered {line[1]}"
        got = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in got[:80])
    http = " (an HTTP server, not Redis)" if got == "H" or got.startswith("HTTP/") else ""
    return f'got "{shown}"{http}'


def _from_protocol(exc: BaseException, settings: ConnectionSettings) -> Failure | None:
    where, text = settings.endpoint, str(exc)
    stalled = _first(exc, RoundTripTimeout)
    if stalled is not None:
        # Connected and talking: neither -t (connecting only) nor --tls applies.
        return Failure(
            Problem.TIMEOUT,
            f"{where} did not answer within {stalled.seconds:g}s, the limit for one round "
            "trip (a SCAN page, a pipeline of reads): the server is busy with a slow "
            "command, or the network stalled",
        )
    if any(_first(exc, kind) is not None for kind in _TIMEOUTS):
        if settings.tls:
            hint = "; if the port does not speak TLS, drop --tls (redis:// instead of rediss://)"
        else:
            hint = _tls_hint(settings)
        return Failure(
            Problem.TIMEOUT,
            f"timed out after {settings.connect_timeout:g}s talking to {where}: check the host, "
            f"port and security groups, or wait longer with -t{hint}",
        )
    if isinstance(exc, rexc.InvalidResponse):
        if "\\x15\\x03" in text:  # a TLS alert record
            return Failure(
                Problem.PLAIN_TO_TLS, f"{where} answered with TLS: add --tls (or use rediss://)"
            )
        return Failure(
            Problem.CLOSED,
            f"{where} does not speak the Redis protocol: {_answered(text)}; check -h/-p",
        )
    if isinstance(exc, (rexc.ConnectionError, ConnectionError)):
        lowered = text.lower()
        # A TLS port drops a plain-text client: redis-py says "closed by server",
        # "reset" or "Connection lost" depending on whether it was reading or writing.
        if not settings.tls and any(word in lowered for word in ("closed", "reset", "lost")):
            return Failure(
                Problem.PLAIN_TO_TLS,
                f"{where} closed the connection without answering{_tls_hint(settings)}",
            )
        return Failure(
            Problem.CLOSED, f"connection to {where} failed: {text or type(exc).__name__}"
        )
    return None


def describe_failure(
    exc: BaseException,
    settings: ConnectionSettings,
    *,
    command: str | None = None,
) -> Failure:
    """Explain an exception from connecting or talking to Redis in one line.

    Args:
        exc: What redis-py, asyncio or the ssl module raised (any depth of chaining).
        settings: The settings in use, to name the endpoint and suggest fixes.
        command: The command that failed, when it was a command (for NOPERM).

    Returns:
        A :class:`Failure` with its kind, message and exit code.
    """
    if isinstance(exc, Failure):
        return exc
    # A failure explained where it happened (the SSH tunnel names its hop)
    # and wrapped since by redis-py ("ConnectionError(...) from failure"):
    # followed through explicit causes only, so an error raised while a
    # Failure was being handled is still described for itself.
    cause, seen = exc.__cause__, {id(exc)}
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, Failure):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__
    if isinstance(exc, SettingsError):
        return Failure(Problem.USAGE, str(exc))
    # A reply first (the network is fine then), TLS before plain sockets (an
    # SSLError is an OSError too).
    failure = _from_reply(exc, settings, command)
    for classify in (_from_tls, _from_network, _from_protocol):
        if failure is not None:
            return failure
        failure = classify(exc, settings)
    if failure is not None:
        return failure
    text = str(exc)
    # Cluster errors wrap the node's real failure (TLS, refused...), which the
    # classifiers above found in the chain; only a genuine cluster fault is left.
    if isinstance(exc, (rexc.ClusterError, rexc.ClusterDownError, rexc.RedisClusterException)):
        if "cluster mode is not enabled" in text.lower():
            return Failure(
                Problem.CLUSTER,
                f"{settings.endpoint} is not a cluster (cluster_enabled:0): drop -c, the "
                "command works without it",
            )
        return Failure(Problem.CLUSTER, f"cluster at {settings.endpoint}: {text}")
    if isinstance(exc, rexc.ResponseError):
        return Failure(Problem.OTHER, f"{settings.endpoint} answered with an error: {text}")
    return Failure(Problem.OTHER, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
