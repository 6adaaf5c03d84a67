"""Private ``redis-server`` processes for the test suite.

Everything here starts real ``redis-server`` processes bound to free loopback
ports (never the shared server on 6379) and tears them down again.  Readiness is
always awaited on events, never with fixed sleeps:

* a daemon thread drains each server's stdout (the server logs there because of
  ``--logfile ""``) and signals when ``Ready to accept connections`` appears or
  the pipe closes (the process exited);
* cluster readiness is a wait-on-condition: ``CLUSTER INFO`` is polled on every
  node with a short interval until a deadline.

Port races (another process grabbing the port between :func:`free_port` and the
server's ``bind``) are handled by retrying with fresh ports.

The module is plain Python (no pytest import) so it can also be used from
scripts and benchmarks.  ``tests/`` is a package; always import this module as
``from tests.harness import ...`` (a second spelling such as ``from harness
import ...`` would load a second copy with distinct classes and makes mypy fail
with "Source file found twice under different module names").
"""

from __future__ import annotations

import atexit
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import redis
import redis.crc

__all__ = [
    "ACL_READER_PASSWORD",
    "ACL_READER_USER",
    "ADMIN_PASSWORD",
    "READY_MARKER",
    "HarnessError",
    "RedisServer",
    "TLSFiles",
    "add_replica",
    "emptied",
    "fail_over",
    "free_port",
    "generate_tls_files",
    "key_on",
    "key_slot",
    "slot_owner",
    "start_acl_server",
    "start_cluster",
    "start_redis_server",
    "stop_servers",
]

ADMIN_PASSWORD = "adminpass"
"""Password of the ``default`` user on the ACL server."""
ACL_READER_USER = "reader"
"""Read-only ACL user configured on the ACL server."""
ACL_READER_PASSWORD = "readerpass"
"""Password of :data:`ACL_READER_USER`."""

READY_MARKER = "Ready to accept connections"
"""Log line redis-server prints once it accepts clients (7.0 and 7.2+)."""
_PORT_IN_USE_MARKERS = ("Address already in use", "Failed listening on port")
_LOG_LINES_KEPT = 200
_START_ATTEMPTS = 5
_RESERVED_PORTS = frozenset({6379, 16379, 26379})
_CLUSTER_POLL_INTERVAL = 0.05


class HarnessError(RuntimeError):
    """A test Redis server (or cluster) could not be started or set up."""


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _require_binary(name: str) -> str:
    """Return the absolute path of *name* on ``PATH`` or fail with a clear message."""
    path = shutil.which(name)
    if path is None:
        raise HarnessError(
            f"`{name}` was not found on PATH. The Redis test harness needs real "
            "redis-server/redis-cli binaries (>= 7.0, built with TLS support); "
            "install them, e.g. `apt-get install redis-server redis-tools`."
        )
    return path


def _free_ports(count: int) -> list[int]:
    """Return *count* distinct currently-free TCP ports on 127.0.0.1.

    All sockets are held open until every port has been picked, so the ports
    are distinct from each other.  They can still be taken by someone else
    before the server binds them; callers retry in that case.
    """
    sockets: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in _RESERVED_PORTS:
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now (never 6379)."""
    return _free_ports(1)[0]


# ---------------------------------------------------------------------------
# TLS material
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TLSFiles:
    """PEM files produced by :func:`generate_tls_files`.

    ``server_cert`` is valid for ``DNS:localhost`` and ``IP:127.0.0.1`` and is
    signed by ``ca_cert``; ``client_cert`` is signed by the same CA and carries
    ``extendedKeyUsage=clientAuth``.  ``other_ca_cert`` is an unrelated CA that
    did not sign anything the servers use ("certificate rejected" tests).
    """

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path


_OPENSSL_REQ_CONFIG = """\
[req]
distinguished_name = dn
prompt = no

[dn]
CN = {cn}

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

_CLIENT_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

# EC P-256 keys: much faster to generate than RSA and accepted everywhere
# (redis-server, redis-cli, Python's ssl module).
_KEY_ARGS = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(*args: str) -> None:
    """Run the ``openssl`` CLI, raising :class:`HarnessError` with its output on failure."""
    exe = _require_binary("openssl")
    result = subprocess.run(
        [exe, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise HarnessError(
            f"openssl {' '.join(args)} failed with exit code {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )


def _make_ca(directory: Path, name: str, common_name: str) -> tuple[Path, Path]:
    """Create a self-signed CA ``<name>.crt``/``<name>.key``; return (cert, key)."""
    config = directory / f"{name}.cnf"
    config.write_text(_OPENSSL_REQ_CONFIG.format(cn=common_name))
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl(
        "req", "-x509", "-new", *_KEY_ARGS,
        "-keyout", str(key), "-out", str(cert),
        "-days", "2", "-config", str(config), "-extensions", "v3_ca",
    )  # fmt: skip
    return cert, key


def _make_leaf(
    directory: Path,
    name: str,
    common_name: str,
    extensions: str,
    ca_cert: Path,
    ca_key: Path,
) -> tuple[Path, Path]:
    """Create ``<name>.crt``/``<name>.key`` signed by the given CA; return (cert, key)."""
    config = directory / f"{name}.cnf"
    config.write_text(_OPENSSL_REQ_CONFIG.format(cn=common_name))
    extfile = directory / f"{name}.ext"
    extfile.write_text(extensions)
    csr = directory / f"{name}.csr"
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl(
        "req", "-new", *_KEY_ARGS,
        "-keyout", str(key), "-out", str(csr), "-config", str(config),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr),
        "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-set_serial", f"0x{secrets.token_hex(16)}",
        "-days", "2", "-sha256", "-extfile", str(extfile),
        "-out", str(cert),
    )  # fmt: skip
    return cert, key


def generate_tls_files(directory: Path) -> TLSFiles:
    """Generate a test PKI with the ``openssl`` CLI into *directory* (created if missing).

    Produces a CA, a server certificate (SAN ``DNS:localhost, IP:127.0.0.1``), a
    client certificate (``clientAuth``) both signed by that CA, and an unrelated
    second CA.  All certificates are valid for 2 days.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _make_ca(directory, "ca", "Inspector Test CA")
    server_cert, server_key = _make_leaf(
        directory, "server", "localhost", _SERVER_EXTENSIONS, ca_cert, ca_key
    )
    client_cert, client_key = _make_leaf(
        directory, "client", "inspector-test-client", _CLIENT_EXTENSIONS, ca_cert, ca_key
    )
    other_ca_cert, _ = _make_ca(directory, "other-ca", "Unrelated Test CA")
    return TLSFiles(
        ca_cert=ca_cert,
        ca_key=ca_key,
        server_cert=server_cert,
        server_key=server_key,
        client_cert=client_cert,
        client_key=client_key,
        other_ca_cert=other_ca_cert,
    )


# ---------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------


class _LogPump:
    """Daemon thread that drains a server's stdout so the pipe never blocks.

    Keeps the last :data:`_LOG_LINES_KEPT` lines and lets callers wait for the
    readiness line or for end-of-file (process exit).
    """

    def __init__(self, stream: IO[str], name: str) -> None:
        self._stream = stream
        self._lines: deque[str] = deque(maxlen=_LOG_LINES_KEPT)
        self._cond = threading.Condition()
        self._ready = False
        self._eof = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for line in self._stream:
                with self._cond:
                    self._lines.append(line.rstrip("\n"))
                    if READY_MARKER in line:
                        self._ready = True
                    self._cond.notify_all()
        except (OSError, ValueError):  # stream closed under us during stop()
            pass
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def wait_ready(self, timeout: float) -> bool | None:
        """Wait for the readiness line.

        Returns ``True`` when ready, ``False`` when the stream ended first
        (the process exited) and ``None`` on timeout.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._ready or self._eof, timeout=timeout)
            if self._ready:
                return True
            return False if self._eof else None

    def tail(self) -> str:
        """Return the retained log lines joined with newlines."""
        with self._cond:
            return "\n".join(self._lines)

    def join(self, timeout: float) -> None:
        """Wait for the pump thread to finish (after the process exited)."""
        self._thread.join(timeout)


_LIVE_SERVERS: set[RedisServer] = set()
_LIVE_LOCK = threading.Lock()


class RedisServer:
    """A running private ``redis-server`` process.

    ``port`` is the plain TCP port (``0`` when the server only listens for TLS),
    ``tls_port`` the TLS port (``None`` without TLS), ``cluster_bus_port`` the
    cluster bus port (``None`` unless cluster-enabled).  Use :meth:`client_kwargs`
    for ``redis.Redis(**kw)`` / ``redis.asyncio.Redis(**kw)`` and
    :meth:`redis_cli_args` for the ``redis-cli`` binary.
    """

    host: str
    port: int
    tls_port: int | None
    password: str | None
    directory: Path
    process: subprocess.Popen[str]
    tls: TLSFiles | None
    tls_auth_clients: str
    cluster_bus_port: int | None

    def __init__(
        self,
        *,
        port: int,
        tls_port: int | None,
        password: str | None,
        directory: Path,
        process: subprocess.Popen[str],
        tls: TLSFiles | None,
        tls_auth_clients: str,
        cluster_bus_port: int | None,
        log_pump: _LogPump,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.tls_port = tls_port
        self.password = password
        self.directory = directory
        self.process = process
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self.cluster_bus_port = cluster_bus_port
        self._log_pump = log_pump

    def __repr__(self) -> str:
        return (
            f"RedisServer(host={self.host!r}, port={self.port}, tls_port={self.tls_port}, "
            f"pid={self.process.pid}, running={self.process.poll() is None})"
        )

    @property
    def tls_only(self) -> bool:
        """True when the server has no plain TCP listener."""
        return self.port == 0

    @property
    def client_port(self) -> int:
        """The port clients should use: the TLS port for TLS-only servers, else ``port``."""
        if self.tls_only:
            assert self.tls_port is not None
            return self.tls_port
        return self.port

    @property
    def address(self) -> str:
        """``host:client_port``, e.g. for ``redis-cli --cluster`` or node lists."""
        return f"{self.host}:{self.client_port}"

    def log_tail(self) -> str:
        """Return the last ~200 lines the server logged (stdout + stderr)."""
        return self._log_pump.tail()

    def redis_cli_args(self) -> list[str]:
        """Argument list for ``redis-cli`` connecting to this server (append the command).

        TLS-only servers get ``--tls --cacert <ca>`` (plus ``--cert/--key`` when the
        server verifies client certificates); a password adds ``-a <pw> --no-auth-warning``.
        """
        args = ["redis-cli", "-h", self.host, "-p", str(self.client_port)]
        if self.tls_only and self.tls is not None:
            args += ["--tls", "--cacert", str(self.tls.ca_cert)]
            if self.tls_auth_clients != "no":
                args += ["--cert", str(self.tls.client_cert), "--key", str(self.tls.client_key)]
        if self.password is not None:
            args += ["-a", self.password, "--no-auth-warning"]
        return args

    def client_kwargs(self) -> dict[str, object]:
        """Keyword arguments for ``redis.Redis(**kw)`` / ``redis.asyncio.Redis(**kw)``.

        Includes ``ssl=True`` and ``ssl_ca_certs`` for TLS-only servers (plus the
        client certificate when the server verifies client certificates).
        """
        kwargs: dict[str, object] = {
            "host": self.host,
            "port": self.client_port,
            "password": self.password,
        }
        if self.tls_only and self.tls is not None:
            kwargs["ssl"] = True
            kwargs["ssl_ca_certs"] = str(self.tls.ca_cert)
            if self.tls_auth_clients != "no":
                kwargs["ssl_certfile"] = str(self.tls.client_cert)
                kwargs["ssl_keyfile"] = str(self.tls.client_key)
        return kwargs

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: SIGTERM, wait up to *timeout*, then SIGKILL. Idempotent."""
        proc = self.process
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=timeout)
        finally:
            self._log_pump.join(timeout=5.0)
            if proc.stdout is not None:
                proc.stdout.close()
            with _LIVE_LOCK:
                _LIVE_SERVERS.discard(self)


@atexit.register
def _stop_leftover_servers() -> None:
    """Safety net: stop servers whose owner forgot to (or could not) call ``stop()``."""
    with _LIVE_LOCK:
        leftovers = list(_LIVE_SERVERS)
    for server in leftovers:
        server.stop(timeout=5.0)


def stop_servers(servers: Iterable[RedisServer], timeout: float = 10.0) -> None:
    """Stop several servers concurrently (SIGTERM all first, then wait for each)."""
    servers = list(servers)
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    errors: list[BaseException] = []
    for server in servers:
        try:
            server.stop(timeout=timeout)
        except BaseException as exc:  # keep stopping the others
            errors.append(exc)
    if errors:
        raise errors[0]


def _launch(
    directory: Path,
    extra_args: Sequence[str],
    *,
    tls: TLSFiles | None,
    tls_only: bool,
    tls_auth_clients: str,
    password: str | None,
    timeout: float,
    cluster: bool = False,
    port: int | None = None,
) -> RedisServer:
    """Start one redis-server, retrying with new ports if a port was taken.

    With ``port``, that plain TCP port is used (one attempt): tests that
    restart a server need it back on the same port.

    With ``cluster=True`` the server is cluster-enabled with its config file in
    *directory* and an explicit, free ``--cluster-port`` (the default
    ``port + 10000`` overflows for ports above 55535, i.e. most ephemeral ports).
    """
    if tls_only and tls is None:
        raise ValueError("tls_only=True requires tls files")
    exe = _require_binary("redis-server")
    directory.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    fixed_port = port
    for attempt in range(1, _START_ATTEMPTS + 1):
        plain_candidate, tls_candidate, bus_candidate = _free_ports(3)
        if fixed_port is not None:
            plain_candidate = fixed_port
        port = 0 if tls_only else plain_candidate
        tls_port = tls_candidate if tls is not None else None
        client_port = tls_candidate if tls_only else plain_candidate
        bus_port = bus_candidate if cluster else None
        args = [
            exe,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--logfile", "",
            "--daemonize", "no",
        ]  # fmt: skip
        if tls is not None:
            args += [
                "--tls-port", str(tls_port),
                "--tls-cert-file", str(tls.server_cert),
                "--tls-key-file", str(tls.server_key),
                "--tls-ca-cert-file", str(tls.ca_cert),
                "--tls-auth-clients", tls_auth_clients,
            ]  # fmt: skip
        if password is not None:
            args += ["--requirepass", password]
        if cluster:
            args += [
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(directory / f"nodes-{client_port}.conf"),
                "--cluster-node-timeout", "5000",
                "--cluster-port", str(bus_port),
                # A replica's first sync starts at once: Redis 7 waits 5 s by default
                # for more replicas to share one diskless transfer (add_replica: 6 s -> 1 s).
                "--repl-diskless-sync-delay", "0",
            ]  # fmt: skip
            if tls is not None:
                args += ["--tls-cluster", "yes", "--tls-replication", "yes"]
        args += extra_args

        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=directory,
            text=True,
            errors="replace",
            bufsize=1,
        )
        assert process.stdout is not None  # stdout=PIPE
        server = RedisServer(
            port=port,
            tls_port=tls_port,
            password=password,
            directory=directory,
            process=process,
            tls=tls,
            tls_auth_clients=tls_auth_clients,
            cluster_bus_port=bus_port,
            log_pump=_LogPump(process.stdout, name=f"redis-log-{client_port}"),
        )
        with _LIVE_LOCK:
            _LIVE_SERVERS.add(server)
        try:
            state = server._log_pump.wait_ready(timeout)
        except BaseException:
            server.stop()
            raise
        if state is True:
            return server
        server.stop()
        log = server.log_tail()
        if state is None:
            raise HarnessError(
                f"redis-server on port {client_port} not ready within {timeout:.1f}s.\n"
                f"command: {args}\n--- log tail ---\n{log}"
            )
        failures.append(f"attempt {attempt} (port {client_port}):\n{log}")
        if fixed_port is not None or not any(marker in log for marker in _PORT_IN_USE_MARKERS):
            raise HarnessError(
                f"redis-server exited during startup (exit code {process.returncode}).\n"
                f"command: {args}\n--- log tail ---\n{log}"
            )
    raise HarnessError(
        f"redis-server could not bind a free port after {_START_ATTEMPTS} attempts:\n"
        + "\n".join(failures)
    )


def start_redis_server(
    directory: Path,
    *extra_args: str,
    tls: TLSFiles | None = None,
    tls_only: bool = False,
    tls_auth_clients: str = "no",
    password: str | None = None,
    timeout: float = 15.0,
    port: int | None = None,
) -> RedisServer:
    """Start a private redis-server with ``--dir directory`` on free loopback port(s).

    *extra_args* are appended to the command line (e.g. ``"--maxmemory", "10mb"``).
    With *tls*, a TLS port is added (``--tls-auth-clients`` = *tls_auth_clients*);
    ``tls_only=True`` disables the plain port (``--port 0``).  *password* sets
    ``--requirepass``.  Blocks until the server logs readiness (at most *timeout*
    seconds) and raises :class:`HarnessError` with the log tail on failure.
    The caller must call :meth:`RedisServer.stop`.
    """
    return _launch(
        directory,
        extra_args,
        tls=tls,
        tls_only=tls_only,
        tls_auth_clients=tls_auth_clients,
        password=password,
        timeout=timeout,
        port=port,
    )


def start_acl_server(directory: Path, timeout: float = 15.0) -> RedisServer:
    """Start a plain server with ``requirepass`` :data:`ADMIN_PASSWORD` and a read-only user.

    The user :data:`ACL_READER_USER` / :data:`ACL_READER_PASSWORD` may run read
    commands (plus connection commands, INFO, PING, SCAN, TYPE, TTL, PTTL, SELECT)
    on all keys; writes fail with ``NOPERM``.  The returned server's
    ``password`` is the admin (``default`` user) password.
    """
    return start_redis_server(
        directory,
        # redis 7.0 joins the argv words following ``--user`` into one config line.
        "--user", ACL_READER_USER, "on", f">{ACL_READER_PASSWORD}", "~*", "&*",
        "-@all", "+@read", "+@connection",
        "+info", "+ping", "+scan", "+type", "+ttl", "+pttl", "+select",
        password=ADMIN_PASSWORD,
        timeout=timeout,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# Cluster
# ---------------------------------------------------------------------------

CLUSTER_SLOTS = 16384


def _node_client(server: RedisServer) -> redis.Redis:
    """A short-timeout synchronous client for one node (caller closes it)."""
    return redis.Redis(
        **server.client_kwargs(),  # type: ignore[arg-type]
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        decode_responses=True,
    )


def _execute(client: redis.Redis, *args: str | int) -> object:
    """Typed wrapper around redis-py's (untyped) ``execute_command``."""
    execute = cast("Callable[..., object]", client.execute_command)
    return execute(*args)


def _cluster_info(server: RedisServer) -> dict[str, str]:
    """Return ``CLUSTER INFO`` of one node as a dict of strings."""
    client = _node_client(server)
    try:
        raw = _execute(client, "CLUSTER", "INFO")
    finally:
        client.close()
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _log_tails(nodes: Sequence[RedisServer]) -> str:
    """Format the log tails of several servers for an error message."""
    return "\n".join(
        f"--- log tail of {node.address} (pid {node.process.pid}) ---\n{node.log_tail()}"
        for node in nodes
    )


def _wait_cluster_ok(nodes: Sequence[RedisServer], timeout: float) -> None:
    """Poll CLUSTER INFO on every node until all agree the cluster is fully up."""
    expected = {
        "cluster_state": "ok",
        "cluster_slots_assigned": str(CLUSTER_SLOTS),
        "cluster_known_nodes": str(len(nodes)),
    }
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while True:
        ready = True
        for node in nodes:
            try:
                info: object = _cluster_info(node)
            except redis.RedisError as exc:
                info = exc
            last[node.address] = info
            if not isinstance(info, dict) or any(info.get(k) != v for k, v in expected.items()):
                ready = False
        if ready:
            return
        if time.monotonic() >= deadline:
            details = "\n".join(
                f"  {address}: "
                + (str({k: v.get(k) for k in expected}) if isinstance(v, dict) else repr(v))
                for address, v in last.items()
            )
            raise HarnessError(
                f"cluster not ready within {timeout:.1f}s (want {expected}):\n{details}\n"
                + _log_tails(nodes)
            )
        time.sleep(_CLUSTER_POLL_INTERVAL)  # wait-on-condition poll interval


def _slot_ranges(count: int) -> list[tuple[int, int]]:
    """Split the 16384 slots into *count* contiguous inclusive ranges."""
    bounds = [round(i * CLUSTER_SLOTS / count) for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(count)]


def _create_cluster_natively(nodes: Sequence[RedisServer]) -> None:
    """Assign slots and epochs, then full-mesh ``CLUSTER MEET`` all nodes.

    Equivalent to ``redis-cli --cluster create --cluster-replicas 0`` but without
    redis-cli's fixed one-second sleeps and its reliance on slow gossip to
    propagate node addresses (every node meets every other node directly).
    """
    for epoch, (node, (first, last)) in enumerate(
        zip(nodes, _slot_ranges(len(nodes)), strict=True), start=1
    ):
        client = _node_client(node)
        try:
            _execute(client, "CLUSTER", "ADDSLOTSRANGE", first, last)
            _execute(client, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
        finally:
            client.close()
    for node in nodes:
        client = _node_client(node)
        try:
            for other in nodes:
                if other is not node:
                    assert other.cluster_bus_port is not None
                    _execute(
                        client, "CLUSTER", "MEET", other.host, other.client_port,
                        other.cluster_bus_port,
                    )  # fmt: skip
        finally:
            client.close()


def _create_cluster_with_redis_cli(
    nodes: Sequence[RedisServer], tls: TLSFiles | None, timeout: float
) -> None:
    """Run ``redis-cli --cluster create ... --cluster-replicas 0 --cluster-yes``."""
    command = [_require_binary("redis-cli")]
    if tls is not None:
        command += [
            "--tls",
            "--cacert", str(tls.ca_cert),
            "--cert", str(tls.client_cert),
            "--key", str(tls.client_key),
        ]  # fmt: skip
    command += ["--cluster", "create", *(node.address for node in nodes)]
    command += ["--cluster-replicas", "0", "--cluster-yes"]
    try:
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(
            f"`{' '.join(command)}` timed out after {timeout:.1f}s:\n"
            f"{exc.stdout!r}\n{exc.stderr!r}\n" + _log_tails(nodes)
        ) from exc
    if result.returncode != 0 or "[ERR]" in result.stdout:
        raise HarnessError(
            f"`{' '.join(command)}` failed (exit code {result.returncode}):\n"
            f"{result.stdout}{result.stderr}\n" + _log_tails(nodes)
        )


def start_cluster(
    directory: Path,
    primaries: int = 3,
    tls: TLSFiles | None = None,
    *,
    timeout: float = 30.0,
    use_redis_cli: bool = False,
    extra_args: Sequence[str] = (),
) -> list[RedisServer]:
    """Start *primaries* cluster-enabled servers and join them into one cluster.

    Node *i* runs in ``directory/node-<i>`` with ``--cluster-enabled yes
    --cluster-config-file <dir>/nodes-<port>.conf --cluster-node-timeout 5000``
    and an explicit free ``--cluster-port``.  With *tls*, nodes are TLS-only,
    ``--tls-auth-clients no``, with ``--tls-cluster yes --tls-replication yes``.

    *extra_args* are appended to every node's command line.

    By default slots are assigned and nodes introduced directly with CLUSTER
    commands (~2 s, bounded by redis' built-in 2 s writable delay for new
    primaries).  ``use_redis_cli=True`` runs ``redis-cli --cluster create ...
    --cluster-replicas 0 --cluster-yes`` instead, which has fixed 1 s sleeps and
    gossip-dependent joins (observed 2-7 s).

    Returns once every node reports ``cluster_state:ok``, all 16384 slots
    assigned and *primaries* known nodes.  On failure every started node is
    stopped and :class:`HarnessError` (with log tails) is raised.
    """
    if primaries < 3:
        raise ValueError("a Redis cluster needs at least 3 primaries")
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return max(1.0, deadline - time.monotonic())

    nodes: list[RedisServer] = []
    try:
        for index in range(primaries):
            nodes.append(
                _launch(
                    directory / f"node-{index}",
                    extra_args,
                    tls=tls,
                    tls_only=tls is not None,
                    tls_auth_clients="no",
                    password=None,
                    timeout=remaining(),
                    cluster=True,
                )
            )
        try:
            if use_redis_cli:
                _create_cluster_with_redis_cli(nodes, tls, remaining())
            else:
                _create_cluster_natively(nodes)
        except redis.RedisError as exc:
            raise HarnessError(f"cluster setup failed: {exc!r}\n" + _log_tails(nodes)) from exc
        _wait_cluster_ok(nodes, remaining())
    except BaseException:
        stop_servers(nodes)
        raise
    return nodes


def _node_id(server: RedisServer) -> str:
    client = _node_client(server)
    try:
        return str(_execute(client, "CLUSTER", "MYID"))
    finally:
        client.close()


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds, or fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise HarnessError(f"{what}: not within {timeout:.1f}s")
        time.sleep(_CLUSTER_POLL_INTERVAL)  # wait-on-condition poll interval


def add_replica(
    nodes: Sequence[RedisServer],
    primary: RedisServer,
    directory: Path,
    *,
    extra_args: Sequence[str] = (),
    timeout: float = 30.0,
) -> RedisServer:
    """Start a plain cluster node, join it to the cluster of *nodes* as *primary*'s replica.

    Returns once the replica is in sync with its primary and every node knows it.
    """
    replica = _launch(
        directory,
        extra_args,
        tls=None,
        tls_only=False,
        tls_auth_clients="no",
        password=None,
        timeout=timeout,
        cluster=True,
    )
    try:
        assert primary.cluster_bus_port is not None
        client = _node_client(replica)
        try:
            _execute(
                client, "CLUSTER", "MEET", primary.host, primary.client_port,
                primary.cluster_bus_port,
            )  # fmt: skip
            everyone = [*nodes, replica]
            _wait_for(
                lambda: all(
                    _cluster_info(node).get("cluster_known_nodes") == str(len(everyone))
                    for node in everyone
                ),
                timeout,
                f"{replica.address} known to every node",
            )
            _execute(client, "CLUSTER", "REPLICATE", _node_id(primary))

            def in_sync() -> bool:
                info = _execute(client, "INFO", "replication")
                return isinstance(info, dict) and info.get("master_link_status") == "up"

            _wait_for(
                in_sync,
                timeout,
                f"{replica.address} in sync with {primary.address}",
            )
            # In sync is not yet known: the primary takes a CLUSTER FAILOVER only from
            # a node its table lists as its replica, news that travels by gossip
            # (without this wait a failover right after can be ignored: 30 s lost).
            replica_id, primary_id = _node_id(replica), _node_id(primary)
            _wait_for(
                lambda: all(_replica_of(node, replica_id) == primary_id for node in everyone),
                timeout,
                f"{replica.address} known as {primary.address}'s replica to every node",
            )
        finally:
            client.close()
    except BaseException:
        replica.stop()
        raise
    return replica


def _replica_of(node: RedisServer, replica_id: str) -> str | None:
    """The primary's id that *node*'s ``CLUSTER NODES`` gives for *replica_id*, if a replica."""
    client = _node_client(node)
    try:
        text = str(_execute(client, "CLUSTER", "NODES"))
    finally:
        client.close()
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == replica_id and "slave" in fields[2].split(","):
            return fields[3]
    return None


def fail_over(nodes: Sequence[RedisServer], replica: RedisServer, timeout: float = 30.0) -> None:
    """``CLUSTER FAILOVER`` on *replica*; returns once every node of *nodes* sees it as primary."""
    client = _node_client(replica)
    try:
        _execute(client, "CLUSTER", "FAILOVER")
    finally:
        client.close()
    replica_id = _node_id(replica)

    def promoted(node: RedisServer) -> bool:
        node_client = _node_client(node)
        try:
            text = str(_execute(node_client, "CLUSTER", "NODES"))
        finally:
            node_client.close()
        return any(
            line.startswith(replica_id) and "master" in line.split()[2]
            for line in text.splitlines()
        )

    _wait_for(lambda: all(promoted(node) for node in nodes), timeout, f"{replica.address} promoted")


# ---------------------------------------------------------------------------
# Which primary serves which slot
# ---------------------------------------------------------------------------


def _slot_owners(nodes: Sequence[RedisServer]) -> list[tuple[int, int, RedisServer]]:
    """``(first slot, last slot, primary)`` for every range ``CLUSTER SLOTS`` reports."""
    client = _node_client(nodes[0])
    try:
        reply = cast("list[list[Any]]", _execute(client, "CLUSTER", "SLOTS"))
    finally:
        client.close()
    by_port = {node.client_port: node for node in nodes}
    owners: list[tuple[int, int, RedisServer]] = []
    for start, end, primary, *_ in reply:
        port = int(primary[1])
        if port not in by_port:
            raise HarnessError(f"CLUSTER SLOTS names a primary on port {port}, not one of {nodes}")
        owners.append((int(start), int(end), by_port[port]))
    return owners


def key_slot(key: str) -> int:
    """The cluster slot of *key* (CRC16 of the key or its ``{hash tag}``, mod 16384)."""
    return redis.crc.key_slot(key.encode())


def slot_owner(nodes: Sequence[RedisServer], slot: int) -> RedisServer:
    """The node among *nodes* (one cluster) that serves *slot*, per ``CLUSTER SLOTS``."""
    for start, end, node in _slot_owners(nodes):
        if start <= slot <= end:
            return node
    raise HarnessError(f"no node owns slot {slot}")


def key_on(nodes: Sequence[RedisServer], owner: RedisServer, prefix: str = "key") -> str:
    """A key name ``<prefix>:<n>`` whose slot *owner* (one of *nodes*) serves."""
    ranges = [(start, end) for start, end, node in _slot_owners(nodes) if node is owner]
    for i in range(100_000):
        key = f"{prefix}:{i}"
        slot = key_slot(key)
        if any(start <= slot <= end for start, end in ranges):
            return key
    raise HarnessError(f"no key found for {owner.address}")


def emptied(
    deployment: RedisServer | list[RedisServer],
) -> tuple[redis.Redis | redis.RedisCluster, int]:
    """A client on a standalone server or a cluster (its nodes), every node flushed
    first; and the port a command under test connects to."""
    if isinstance(deployment, RedisServer):
        client: redis.Redis | redis.RedisCluster = redis.Redis(**deployment.client_kwargs())  # type: ignore[arg-type]
        client.flushall()
        return client, deployment.port
    for node in deployment:
        direct = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        direct.flushall()
        direct.close()
    return redis.RedisCluster(host="127.0.0.1", port=deployment[0].port), deployment[0].port
