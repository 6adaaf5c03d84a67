"""Redis through an SSH bastion: one SSH connection per process, one channel per Redis connection.

ElastiCache answers only inside its VPC. ``--ssh bastion`` reaches it the way
``ssh -W`` would, but for every connection the tool makes, to every node:

* One :class:`Tunnel` per bastion and process holds the SSH connection
  (asyncssh) in a thread of its own with its own event loop, so every event
  loop of the process (the TUI's, the demo's background loop, each
  ``asyncio.run`` of the REPL) shares it.
* The connection classes of :mod:`inspector.redis_io.connection` ask the
  tunnel for a socket to ``(host, port)`` when they connect: the tunnel opens
  a ``direct-tcpip`` channel to that address *as the bastion resolves it* and
  bridges the channel to one end of a socket pair; redis-py gets the other
  end. Nothing listens on a local port, and redis-py keeps the real address:
  cluster nodes, MOVED/ASK targets, the Server tab and ``cli`` prompts name
  ``host:port`` as the cluster announces it, and TLS (SNI, certificate
  verification) runs end to end against that name.
* A dropped SSH connection closes every channel; the Redis connections then
  fail with a line that names the SSH hop, and whoever reconnects (``watch``,
  the TUI's feed, with their usual backoff) brings the tunnel back on demand.
  Concurrent reconnects share one SSH handshake.

Host keys are checked against ``known_hosts`` (``UserKnownHostsFile`` of the
configuration, else ``~/.ssh/known_hosts``); an unknown key is added only with
``accept_new``, a changed one never. ``ProxyJump`` hops are connected here one
by one, so each gets the same checks and names itself when it fails.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import errno
import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import asyncssh

from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.settings import SSHSettings

__all__ = [
    "Link",
    "Prompt",
    "Tunnel",
    "close_tunnels",
    "open_tunnel",
    "tunnel_for",
]

_T = TypeVar("_T")

Prompt = Callable[[str], str]
"""Asks the person at the terminal for a secret (``getpass.getpass``)."""

DEFAULT_SSH_PORT = 22
# asyncssh's defaults otherwise: no keepalives, so a bastion that vanished
# (laptop asleep, Wi-Fi gone) would only be noticed by the next write. With
# these, a dead SSH connection is noticed within ~45 s, like OpenSSH's
# ServerAliveInterval 15 / ServerAliveCountMax 3; the configuration's own
# ServerAlive* settings win.
KEEPALIVE_INTERVAL = 15.0
KEEPALIVE_COUNT_MAX = 3
PASSWORD_TRIES = 3  # as OpenSSH's NumberOfPasswordPrompts
# asyncssh puts chacha20-poly1305 first, as OpenSSH does; its AES-GCM runs in
# one OpenSSL call per packet (AES-NI) and moved 1.4-1.8x the bytes per
# second here (benchmarks/bench_ssh.py). Same strength; a Ciphers line in the
# SSH configuration still wins.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)

# Every failure is reported as one line of ours; asyncssh's own log records
# would otherwise reach stderr (logging's last-resort handler) and, under the
# TUI, the screen.
logging.getLogger("asyncssh").addHandler(logging.NullHandler())


# ----------------------------------------------------------------------------- the bastion


@dataclass(slots=True)
class _Hop:
    """One SSH server on the way (a ProxyJump host, then the bastion)."""

    role: str
    """``SSH bastion`` or ``SSH jump host``, for messages."""
    options: asyncssh.SSHClientConnectionOptions
    known_hosts: list[Path]
    """Files the host key is checked against; the first receives accepted keys."""

    @property
    def host(self) -> str:
        return str(self.options.host)

    @property
    def port(self) -> int:
        return int(self.options.port or DEFAULT_SSH_PORT)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def name(self) -> str:
        """``SSH bastion root@10.0.0.5:22``."""
        return f"{self.role} {self.options.username}@{self.address}"

    @property
    def key_host(self) -> str:
        """The host name known_hosts stores, as OpenSSH writes it."""
        alias = self.options.host_key_alias
        host = str(alias) if alias else self.host
        return host if self.port == DEFAULT_SSH_PORT else f"[{host}]:{self.port}"


@dataclass(slots=True, eq=False)
class Link:
    """One forwarded connection, as the Redis connection holding it sees it."""

    target: str
    """``host:port`` of the Redis node, as the bastion reaches it."""
    lost: str | None = None
    """Set (before the socket closes) when the SSH connection under it dropped."""


@dataclass(slots=True)
class _Secrets:
    """What was typed or given, kept in memory for reconnects (never written anywhere)."""

    password: str | None = field(default=None, repr=False)
    passphrases: dict[str, str] = field(default_factory=dict, repr=False)


class Tunnel:
    """The SSH connection to one bastion, shared by every Redis connection of the process.

    Args:
        settings: The bastion and how to log in.
    """

    def __init__(self, settings: SSHSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # Everything below is touched only in the tunnel's own loop.
        self._connection: asyncssh.SSHClientConnection | None = None
        self._jumps: list[asyncssh.SSHClientConnection] = []
        self._connecting: asyncio.Task[asyncssh.SSHClientConnection] | None = None
        self._secrets = _Secrets(password=settings.password)
        self._prompts: queue.Queue[tuple[str, concurrent.futures.Future[str | None]] | None]
        self._prompts = queue.Queue()
        self._prompting = False
        self._notice: Callable[[str], None] | None = None
        self._links: set[Link] = set()
        self._bastion: _Hop | None = None
        self.connects = 0
        """SSH handshakes completed (1 + reconnects)."""

    # ------------------------------------------------------------------ threads

    def _ensure_thread(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name=f"ssh-tunnel {self.settings.target}", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        return asyncio.run_coroutine_threadsafe(coro, self._ensure_thread())

    # ------------------------------------------------------------------ public

    def start(
        self, *, prompt: Prompt | None = None, notice: Callable[[str], None] | None = None
    ) -> None:
        """Connect now, from synchronous code, asking for secrets at the terminal if needed.

        Called once before a command starts (the TUI has not taken the terminal
        yet), so passwords and passphrases are asked for on a plain terminal,
        in the main thread. Reconnects later use what was given then.

        Args:
            prompt: Asks for a secret; ``None`` when nobody can answer (no terminal).
            notice: Shows a one-line notice (a host key added to known_hosts).

        Raises:
            Failure: The bastion cannot be reached, or refused us (one line, exit 3).
            KeyboardInterrupt: Ctrl-C at a prompt.
        """
        self._notice = notice
        self._prompting = prompt is not None
        future = self._submit(self._ensure_connected())
        future.add_done_callback(lambda _: self._prompts.put(None))
        try:
            while True:
                request = self._prompts.get()  # Ctrl-C interrupts this wait
                if request is None:
                    break
                text, answer = request
                try:
                    assert prompt is not None  # requests come only while prompting
                    answer.set_result(prompt(text))
                except BaseException:
                    answer.set_result(None)
                    future.cancel()
                    self._ensure_thread().call_soon_threadsafe(self._cancel_connecting)
                    raise
        finally:
            self._prompting = False
        future.result()

    async def open(
        self,
        host: str,
        port: int,
        *,
        timeout: float | None,  # noqa: ASYNC109 - bounds the bastion's connect, not ours
    ) -> tuple[socket.socket, Link]:
        """A connected socket whose other end is ``host:port`` as the bastion reaches it.

        Callable from any event loop. Reconnects the SSH connection first when
        it dropped (bounded by the SSH connect timeout); ``timeout`` bounds the
        bastion's own connection to ``host:port``.

        Raises:
            Failure: Which hop failed and why (bastion, forwarding, Redis from the bastion).
        """
        future = self._submit(self._open(host, port, timeout))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Close the SSH connection and stop the tunnel's thread (idempotent)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(timeout=2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)
        if not thread.is_alive():
            loop.close()

    @property
    def channels(self) -> int:
        """Forwarded connections open right now."""
        return len(self._links)

    # ------------------------------------------------------------------ in the tunnel's loop

    def _cancel_connecting(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()

    async def _disconnect(self) -> None:
        for connection in [self._connection, *reversed(self._jumps)]:
            if connection is not None:
                connection.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.wait_closed(), 1)
        self._connection = None
        self._jumps = []

    async def _open(
        self,
        host: str,
        port: int,
        timeout: float | None,  # noqa: ASYNC109 - see open()
    ) -> tuple[socket.socket, Link]:
        connection = await self._ensure_connected()
        link = Link(_address(host, port))
        try:
            async with asyncio.timeout(timeout):
                channel, session = await connection.create_connection(
                    lambda: _ChannelEnd(link, self._links), host, port
                )
        except asyncssh.Error as exc:
            if connection.is_closed() or not isinstance(exc, asyncssh.ChannelOpenError):
                # The SSH connection itself went away just now: the next
                # attempt (the caller's retry) reconnects it.
                raise Failure(
                    Problem.SSH_LOST,
                    f"SSH connection to {self.name} lost: {exc.reason or exc}",
                ) from None
            raise self._channel_refused(exc, host, port) from None
        except TimeoutError:
            raise Failure(
                Problem.TIMEOUT,
                f"timed out after {timeout:g}s waiting for {self._bastion_name()} to connect "
                f"to Redis at {link.target}: check -h/-p and the security groups between "
                "the bastion and Redis, or wait longer with -t",
            ) from None
        ours, theirs = socket.socketpair()
        try:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.connect_accepted_socket(
                lambda: _SocketEnd(channel), sock=ours
            )
        except BaseException:
            ours.close()
            theirs.close()
            channel.close()
            raise
        assert isinstance(session, _ChannelEnd)
        session.attach(transport)
        self._links.add(link)
        theirs.setblocking(False)
        return theirs, link

    async def _ensure_connected(self) -> asyncssh.SSHClientConnection:
        connection = self._connection
        if connection is not None and not connection.is_closed():
            return connection
        if self._connecting is None or self._connecting.done():
            # One handshake for everyone who needs the tunnel right now (a
            # cluster client discovering three nodes, a feed's subscribers).
            self._connecting = asyncio.create_task(self._connect())
            # Its failure is told to whoever waited; no "never retrieved" noise.
            self._connecting.add_done_callback(_retrieve)
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> asyncssh.SSHClientConnection:
        await self._disconnect()
        hops = self._hops()
        tunnel: asyncssh.SSHClientConnection | None = None
        jumps: list[asyncssh.SSHClientConnection] = []
        try:
            for hop in hops:
                connection = await self._connect_hop(hop, tunnel)
                if hop is not hops[-1]:
                    jumps.append(connection)
                tunnel = connection
        except BaseException:
            for jump in jumps:
                jump.close()
            raise
        assert tunnel is not None
        self._connection, self._jumps, self._bastion = tunnel, jumps, hops[-1]
        self.connects += 1
        return tunnel

    def _hops(self) -> list[_Hop]:
        """ProxyJump hosts (from the configuration), then the bastion."""
        settings = self.settings
        config: Any = [str(settings.config)] if settings.config else ()
        try:
            bastion, jump = self._options(
                "SSH bastion", settings.host, settings.port, settings.user, config, settings.keys
            )
            hops: list[_Hop] = []
            if isinstance(jump, str) and jump.lower() != "none":
                for spec in jump.split(","):
                    user, _, host_port = spec.strip().rpartition("@")
                    host, port = _split_host_port(host_port)
                    hop, _ = self._options("SSH jump host", host, port, user or None, config)
                    hops.append(hop)
        except asyncssh.ConfigParseError as exc:
            raise Failure(Problem.USAGE, f"SSH configuration: {exc}") from None
        except ValueError as exc:  # asyncssh's word for a bad option or key file
            raise Failure(Problem.USAGE, f"SSH options for {settings.target}: {exc}") from None
        return [*hops, bastion]

    def _options(
        self,
        role: str,
        host: str,
        port: int | None,
        user: str | None,
        config: Any,
        keys: tuple[Path, ...] = (),
    ) -> tuple[_Hop, object]:
        """One hop: the configuration's ``Host`` block, then ours; and its ProxyJump."""
        base = asyncssh.SSHClientConnectionOptions(
            host=host,
            port=port if port is not None else (),
            username=user if user is not None else (),
            config=config,
            passphrase=self._passphrase,
            client_keys=[str(key) for key in keys] if keys else (),
        )
        files = _known_hosts_files(base)
        readable = [str(path) for path in files if path.is_file()]
        extra: dict[str, Any] = {}
        if not base.keepalive_interval:
            extra.update(
                keepalive_interval=KEEPALIVE_INTERVAL, keepalive_count_max=KEEPALIVE_COUNT_MAX
            )
        if not base.config.get("Ciphers"):
            extra["encryption_algs"] = list(CIPHERS)
        if keys:
            # --ssh-key first, then what the agent holds (asyncssh offers the
            # agent's keys only when no keys are given, unless told).
            extra["agent_identities"] = None
        options = asyncssh.SSHClientConnectionOptions(
            base,
            # Our own timer bounds each hop (it pauses while a prompt waits).
            connect_timeout=None,
            # Nothing trusted at all when no file exists (asyncssh would skip
            # the check if told None); an untrusted key reaches _Client.
            known_hosts=readable or ([], [], []),
            # ProxyJump hops are connected by _connect, one by one.
            tunnel=None,
            **extra,
        )
        return _Hop(role, options, files), base.tunnel

    async def _connect_hop(
        self, hop: _Hop, tunnel: asyncssh.SSHClientConnection | None
    ) -> asyncssh.SSHClientConnection:
        client = _Client(self, hop)
        try:
            async with _deadline(self.settings.connect_timeout):
                connection = await asyncssh.connect(
                    hop.host,
                    hop.port,
                    tunnel=tunnel if tunnel is not None else (),
                    options=hop.options,
                    client_factory=lambda: client,
                )
        except Exception as exc:
            raise self._hop_failure(hop, client, exc) from None
        if client.added_key is not None:
            self._say(client.added_key)
        if client.password_used is not None:
            self._secrets.password = client.password_used
        return connection

    # ------------------------------------------------------------------ secrets

    def _ask(self, text: str) -> str | None:
        """Ask at the terminal (in the main thread, via :meth:`start`); ``None`` if nobody can."""
        if not self._prompting:
            return None
        loop = self._ensure_thread()
        answer: concurrent.futures.Future[str | None] = concurrent.futures.Future()
        _set_deadline(loop, paused=True)  # the person's typing time is not the network's
        self._prompts.put((text, answer))
        try:
            return answer.result()
        finally:
            _set_deadline(loop, paused=False)

    async def _ask_async(self, text: str) -> str | None:
        if not self._prompting:
            return None
        return await asyncio.get_running_loop().run_in_executor(None, self._ask, text)

    def _passphrase(self, filename: str) -> str | None:
        """The passphrase of an encrypted key, when asyncssh is about to use it."""
        if self.settings.passphrase is not None:
            return self.settings.passphrase
        known = self._secrets.passphrases.get(filename)
        if known is not None:
            return known
        # Blocks the tunnel's loop while the person types: nothing else can
        # use the tunnel before it is up anyway.
        answer = self._ask(f"Enter passphrase for key '{filename}': ")
        if answer is not None:
            self._secrets.passphrases[filename] = answer
        return answer

    def _say(self, text: str) -> None:
        if self._notice is not None:
            self._notice(text)

    # ------------------------------------------------------------------ failures

    @property
    def name(self) -> str:
        """``bastion root@10.0.0.5:22`` once connected, else the bastion as given."""
        if self._bastion is not None:
            return self._bastion.name.removeprefix("SSH ")
        return f"bastion {self.settings.target}"

    def _bastion_name(self) -> str:
        return f"SSH {self.name}"

    def _channel_refused(self, exc: asyncssh.ChannelOpenError, host: str, port: int) -> Failure:
        bastion = self._bastion_name()
        target = _address(host, port)
        reason = exc.reason or "no reason given"
        if exc.code == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED:
            return Failure(
                Problem.SSH_FORWARDING,
                f"{bastion} refused to forward to {target} ({reason}): its sshd_config "
                "has AllowTcpForwarding no, or a PermitOpen that does not list this address",
            )
        if exc.code == asyncssh.OPEN_CONNECT_FAILED:
            lowered = reason.lower()
            if "name" in lowered or "unknown host" in lowered or "resolution" in lowered:
                return Failure(
                    Problem.DNS,
                    f"{bastion} cannot resolve '{host}' ({reason}): check -h; with --ssh "
                    "names are resolved on the bastion",
                )
            if "refused" in lowered:
                hint = "is redis-server running there? check -h/-p"
                problem = Problem.REFUSED
            else:
                hint = "check -h/-p and the security groups between the bastion and Redis"
                problem = Problem.UNREACHABLE
            return Failure(
                problem,
                f"could not connect to Redis at {target} from {bastion}: {reason} ({hint})",
            )
        return Failure(
            Problem.SSH_FORWARDING, f"{bastion} could not open a channel to {target}: {reason}"
        )

    def _hop_failure(self, hop: _Hop, client: _Client, exc: BaseException) -> Failure:
        name = hop.name
        if isinstance(exc, asyncssh.HostKeyNotVerifiable) or client.refused_key is not None:
            return _host_key_failure(hop, client, exc)
        if isinstance(exc, asyncssh.PermissionDenied):
            return Failure(
                Problem.SSH_AUTH,
                f"{name} refused authentication (tried {client.tried()}): check the user, "
                "give a key with --ssh-key or add it to ssh-agent, or set SSH_PASSWORD",
            )
        if isinstance(exc, asyncssh.KeyImportError):
            return Failure(
                Problem.SSH_AUTH,
                f"cannot use an SSH key for {name}: {exc}; set SSH_KEY_PASSPHRASE for an "
                "encrypted key (or run in a terminal to be asked)",
            )
        if isinstance(exc, asyncssh.ChannelOpenError):
            # The previous hop (a jump host) could not reach this one.
            return Failure(
                Problem.SSH_UNREACHABLE,
                f"cannot reach {name} through the jump host before it: {exc.reason}",
            )
        if isinstance(exc, socket.gaierror):
            return Failure(
                Problem.SSH_UNREACHABLE,
                f"cannot resolve {hop.role} '{hop.host}' ({exc.strerror or exc}): check --ssh "
                "and the SSH configuration",
            )
        if isinstance(exc, TimeoutError):
            return Failure(
                Problem.SSH_UNREACHABLE,
                f"timed out after {self.settings.connect_timeout:g}s connecting to {name}: "
                "check the address, the port and the firewall, or wait longer with -t",
            )
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            # strerror is capitalised ("Connection reset by peer"); our lines are not.
            reason = reason[:1].lower() + reason[1:]
            if exc.errno == errno.ECONNREFUSED:
                reason = "connection refused (is sshd running there? check the port)"
            return Failure(Problem.SSH_UNREACHABLE, f"cannot reach {name}: {reason}")
        if isinstance(exc, asyncssh.Error):
            return Failure(
                Problem.SSH_UNREACHABLE,
                f"SSH handshake with {name} failed: {exc.reason} (is it an SSH server?)",
            )
        if isinstance(exc, ValueError):  # asyncssh's word for a bad option or file
            return Failure(Problem.USAGE, f"SSH options for {name}: {exc}")
        return Failure(Problem.SSH_UNREACHABLE, f"cannot connect to {name}: {exc!r}")


def _host_key_failure(hop: _Hop, client: _Client, exc: BaseException) -> Failure:
    key = client.refused_key
    if key is None:  # refused by asyncssh itself: a revoked key or a bad certificate
        reason = getattr(exc, "reason", "") or str(exc)
        return Failure(Problem.SSH_HOST_KEY, f"host key of {hop.name} is not trusted: {reason}")
    files = ", ".join(str(path) for path in hop.known_hosts) or "~/.ssh/known_hosts"
    shown = f" ({key.get_algorithm()} {key.get_fingerprint()})" if key is not None else ""
    if client.host_known:
        return Failure(
            Problem.SSH_HOST_KEY,
            f"host key of {hop.name} has CHANGED{shown} and does not match {files}: someone "
            "may be intercepting the connection, or the host was rebuilt; if you know it "
            f"was, remove the old key with ssh-keygen -R '{hop.key_host}'",
        )
    return Failure(
        Problem.SSH_HOST_KEY,
        f"host key of {hop.name} is unknown{shown}, not in {files}: check the fingerprint "
        "and connect once with ssh to add it, or pass --ssh-accept-new",
    )


class _Client(asyncssh.SSHClient):
    """One hop's callbacks: host key check, password and keyboard-interactive answers."""

    def __init__(self, tunnel: Tunnel, hop: _Hop) -> None:
        self._tunnel = tunnel
        self._hop = hop
        self.refused_key: asyncssh.SSHKey | None = None
        self.host_known = False
        self.added_key: str | None = None
        self.password_used: str | None = None
        self._password_tries = 0
        self._offered_password = False

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        hop = self._hop
        trusted, ca_keys, revoked = _known_keys(hop.known_hosts, host, addr, port)
        if key in trusted and key not in revoked:
            return True
        self.host_known = bool(trusted or ca_keys or revoked)
        if self.host_known or not self._tunnel.settings.accept_new:
            self.refused_key = key
            return False
        # accept-new: an unknown host's key is trusted from now on, as OpenSSH does.
        path = hop.known_hosts[0] if hop.known_hosts else _default_known_hosts()
        _append_known_host(path, hop.key_host, key)
        self.added_key = (
            f"added {hop.key_host} ({key.get_algorithm()} {key.get_fingerprint()}) "
            f"to {path} (--ssh-accept-new)"
        )
        return True

    def validate_host_ca_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return False  # CA keys come from @cert-authority lines only

    def password_auth_requested(self) -> Any:
        return self._password("password")

    def kbdint_auth_requested(self) -> str | None:
        # Bastions with PAM ask for the password through keyboard-interactive.
        return "" if self._tunnel._prompting or self._known_password() else None

    async def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str] | None:
        answers: list[str] = []
        for text, echo in prompts:
            if echo:
                return None  # not a password: nothing we could answer for the user
            answer = await self._password(text.strip().rstrip(":") or "password")
            if answer is None:
                return None
            answers.append(answer)
        return answers

    def _known_password(self) -> str | None:
        return self._tunnel._secrets.password

    async def _password(self, label: str) -> str | None:
        self._password_tries += 1
        if self._password_tries > PASSWORD_TRIES:
            return None
        known = self._known_password()
        if self._password_tries == 1 and known is not None:
            self._offered_password = True
            self.password_used = known
            return known
        hop = self._hop
        prompt = f"{hop.options.username}@{hop.host}'s {label}: "
        answer = await self._tunnel._ask_async(prompt)
        if answer is not None:
            self._offered_password = True
            self.password_used = answer
        return answer

    def tried(self) -> str:
        """What was offered, for the refusal message."""
        offered: list[str] = []
        if os.environ.get("SSH_AUTH_SOCK"):
            offered.append("ssh-agent")
        keys = self._tunnel.settings.keys if self._hop.role == "SSH bastion" else ()
        for key in keys:
            locked = self._tunnel.settings.passphrase is None and _encrypted(key)
            # A passphrase that was wrong or missing makes asyncssh skip the key.
            offered.append(f"{key} (encrypted: check SSH_KEY_PASSPHRASE)" if locked else str(key))
        if not keys:
            offered.append("the configured and default keys")
        if self._offered_password:
            offered.append("a password")
        return ", ".join(offered)


# The timer of the hop being connected (touched only in the tunnel's loop): it
# stops while a prompt waits for the person and starts afresh once answered.
_CURRENT_DEADLINE: list[tuple[asyncio.Timeout, float]] = []


@contextlib.asynccontextmanager
async def _deadline(seconds: float) -> Any:
    async with asyncio.timeout(seconds) as timer:
        _CURRENT_DEADLINE.append((timer, seconds))
        try:
            yield
        finally:
            _CURRENT_DEADLINE.pop()


def _set_deadline(loop: asyncio.AbstractEventLoop, *, paused: bool) -> None:
    """Pause or restart the current hop's timer; callable from any thread."""

    def apply() -> None:
        if _CURRENT_DEADLINE:
            timer, seconds = _CURRENT_DEADLINE[-1]
            timer.reschedule(None if paused else loop.time() + seconds)

    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        apply()
    else:
        loop.call_soon_threadsafe(apply)


# ----------------------------------------------------------------------------- known_hosts


def _default_known_hosts() -> Path:
    return Path("~", ".ssh", "known_hosts").expanduser()


def _encrypted(path: Path) -> bool:
    try:
        asyncssh.read_private_key(path)
    except (OSError, asyncssh.KeyImportError) as exc:
        return str(exc).startswith("Passphrase")
    return False


def _known_hosts_files(options: asyncssh.SSHClientConnectionOptions) -> list[Path]:
    """UserKnownHostsFile (+ GlobalKnownHostsFile) of the configuration, else ~/.ssh/known_hosts."""
    config = options.config
    user_files = cast("Sequence[str] | tuple[()]", config.get("UserKnownHostsFile", ()))
    if user_files == ():
        files = [_default_known_hosts()]
    else:
        files = [Path(name).expanduser() for name in user_files]
    global_files = cast("Sequence[str]", config.get("GlobalKnownHostsFile", []))
    return files + [Path(name).expanduser() for name in global_files]


def _known_keys(
    files: list[Path], host: str, addr: str, port: int
) -> tuple[list[asyncssh.SSHKey], list[asyncssh.SSHKey], list[asyncssh.SSHKey]]:
    """Trusted host keys, CA keys and revoked keys that known_hosts lists for this host."""
    readable = [str(path) for path in files if path.is_file()]
    if not readable:
        return [], [], []
    trusted, ca_keys, revoked, *_ = asyncssh.match_known_hosts(
        readable, host, addr, port if port != DEFAULT_SSH_PORT else None
    )
    return list(trusted), list(ca_keys), list(revoked)


def _append_known_host(path: Path, host: str, key: asyncssh.SSHKey) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{host} {key.export_public_key('openssh').decode('ascii').strip()}\n"
    existing = path.read_bytes() if path.is_file() else b""
    with path.open("ab") as out:
        if existing and not existing.endswith(b"\n"):
            out.write(b"\n")
        out.write(line.encode("ascii"))


# ----------------------------------------------------------------------------- the bridge


class _ChannelEnd(asyncssh.SSHTCPSession[bytes]):
    """The SSH channel's side of one forwarded connection: Redis's bytes to the socket pair."""

    def __init__(self, link: Link, links: set[Link]) -> None:
        self._link = link
        self._links = links
        self._transport: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self._eof = False

    def attach(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        for data in self._pending:
            transport.write(data)
        self._pending.clear()
        if self._eof:
            transport.write_eof()

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if self._transport is None:
            self._pending.append(data)
        else:
            self._transport.write(data)

    def eof_received(self) -> bool:
        if self._transport is None:
            self._eof = True
        else:
            self._transport.write_eof()
        return True  # half-open: the client may still be sending

    def pause_writing(self) -> None:
        # The channel's window is full: stop reading what the client sends.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            # Recorded before the socket closes: the Redis connection reads
            # this when it sees the end of its stream.
            reason = getattr(exc, "reason", "") or str(exc) or type(exc).__name__
            self._link.lost = reason
        self._links.discard(self._link)
        if self._transport is not None:
            self._transport.close()


class _SocketEnd(asyncio.Protocol):
    """The socket pair's side: the Redis client's bytes into the SSH channel."""

    def __init__(self, channel: asyncssh.SSHTCPChannel[bytes]) -> None:
        self._channel = channel

    def data_received(self, data: bytes) -> None:
        self._channel.write(data)

    def eof_received(self) -> bool:
        self._channel.write_eof()
        return True

    def pause_writing(self) -> None:
        # The client reads slower than Redis sends: stop reading the channel.
        self._channel.pause_reading()

    def resume_writing(self) -> None:
        self._channel.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._channel.close()


# ----------------------------------------------------------------------------- registry

_TUNNELS: dict[SSHSettings, Tunnel] = {}
_TUNNELS_LOCK = threading.Lock()


def tunnel_for(settings: SSHSettings) -> Tunnel:
    """The process's tunnel to this bastion (created, not yet connected, on first use)."""
    with _TUNNELS_LOCK:
        tunnel = _TUNNELS.get(settings)
        if tunnel is None:
            tunnel = _TUNNELS[settings] = Tunnel(settings)
        return tunnel


def open_tunnel(
    settings: SSHSettings,
    *,
    prompt: Prompt | None = None,
    notice: Callable[[str], None] | None = None,
) -> Tunnel:
    """Connect the process's tunnel to this bastion now (see :meth:`Tunnel.start`).

    Raises:
        Failure: One line naming the hop that failed (exit 3).
    """
    tunnel = tunnel_for(settings)
    tunnel.start(prompt=prompt, notice=notice)
    return tunnel


@atexit.register
def close_tunnels() -> None:
    """Close every tunnel of the process (at exit; tests call it between servers)."""
    with _TUNNELS_LOCK:
        tunnels = list(_TUNNELS.values())
        _TUNNELS.clear()
    for tunnel in tunnels:
        tunnel.close()


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, None
