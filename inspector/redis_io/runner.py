"""Raw commands as redis-cli sends them: one node at a time, following MOVED/ASK.

The `cli` command, its REPL and the TUI console run user-typed commands through
:class:`CommandRunner`. Replies keep their RESP types (see
:mod:`inspector.redis_io.resp`) so they print exactly as redis-cli prints them.
In cluster mode the runner behaves like ``redis-cli -c``: it sends the command
to the node it is on and, on ``MOVED``, moves to the node named and sends it
again; on ``ASK`` it sends ``ASKING`` first.

With ``protocol=3`` (redis-cli's ``-3``, implied by ``--json``) every
connection sends ``HELLO 3`` after AUTH and SELECT, as redis-cli does, and
out-of-band RESP3 pushes (client-side caching invalidations) are handed to
``on_push`` while the reply to the command is awaited.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace

from redis.asyncio.connection import AbstractConnection
from redis.exceptions import AuthenticationError, RedisError, ResponseError

from inspector.redis_io.connection import connection_class_and_kwargs
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.info import cluster_probe
from inspector.redis_io.redis_cli import ErrorReply, Push, Reply, Verbatim
from inspector.redis_io.resp import TypedRESPParser, error_reply
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = ["STREAMING_COMMANDS", "CommandRunner", "Redirect", "parse_redirect"]

# After these, the server pushes replies until the connection closes.
STREAMING_COMMANDS = frozenset({b"monitor", b"subscribe", b"psubscribe", b"ssubscribe"})
# In RESP3 the reply to these is itself a push (the subscription confirmation).
_PUSH_REPLY_COMMANDS = frozenset(
    {
        b"subscribe",
        b"psubscribe",
        b"ssubscribe",
        b"unsubscribe",
        b"punsubscribe",
        b"sunsubscribe",
    }
)
MAX_REDIRECTS = 16


def _pushes_reply(args: Sequence[bytes]) -> bool:
    return bool(args) and args[0].lower() in _PUSH_REPLY_COMMANDS


@dataclass(frozen=True, slots=True)
class Redirect:
    """A parsed ``MOVED``/``ASK`` error."""

    ask: bool
    slot: int
    host: str
    port: int


def parse_redirect(reply: ErrorReply, current_host: str) -> Redirect | None:
    """Parse ``MOVED 3999 127.0.0.1:6381`` or ``ASK ...``; ``None`` for other errors.

    An empty host (``MOVED 3999 :6381``, sent when the node does not know its
    address) means the host we are connected to.
    """
    parts = reply.message.split(b" ")
    if len(parts) != 3 or parts[0] not in (b"MOVED", b"ASK"):
        return None
    host, _, port = parts[2].decode("ascii", "replace").rpartition(":")
    try:
        return Redirect(parts[0] == b"ASK", int(parts[1]), host or current_host, int(port))
    except ValueError:
        return None


class CommandRunner:
    """Sends commands over one raw connection per node, like redis-cli.

    Args:
        settings: Where to connect first, and how (TLS, auth, db).
        follow_redirects: Follow ``MOVED``/``ASK``. ``None`` (the default)
            follows them with ``-c`` (``settings.cluster``) and, after
            :meth:`connect`, on a server that reports cluster mode.
        on_redirect: Called with each redirect that moves us to another node
            (the REPL prints redis-cli's ``-> Redirected to slot...`` line).
        protocol: 2, or 3 to send ``HELLO 3`` on every connection.
        require_protocol: With ``protocol=3``: a server that refuses ``HELLO
            3`` is a failure (``-3``); when ``False`` the refusal is reported
            through ``on_notice`` and the connection stays on RESP2 (what
            redis-cli does for ``--json``).
        on_push: Called with each RESP3 push that arrives while a reply is
            awaited; without it pushes are dropped (redis-cli's default when
            stdout is not a terminal).
        on_notice: Called with a line redis-cli prints on stderr (``HELLO 3
            failed: ...``).
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        follow_redirects: bool | None = None,
        on_redirect: Callable[[Redirect], None] | None = None,
        protocol: int = 2,
        require_protocol: bool = True,
        on_push: Callable[[Push], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.follow_redirects = (
            bool(settings.cluster) if follow_redirects is None else follow_redirects
        )
        self._on_redirect = on_redirect
        self.protocol = protocol
        self.require_protocol = require_protocol
        self.on_push = on_push
        self.on_notice = on_notice
        self._connections: dict[str, AbstractConnection] = {}

    async def _connection(self, settings: ConnectionSettings) -> AbstractConnection:
        key = settings.endpoint
        connection = self._connections.get(key)
        if connection is not None and connection.is_connected:
            return connection
        try:
            connection_class, kwargs = connection_class_and_kwargs(settings, read_timeout=None)
        except Exception as exc:  # a TLS file that cannot be read
            raise describe_failure(exc, settings) from exc
        connection = connection_class(parser_class=TypedRESPParser, **kwargs)
        try:
            # The connect timeout covers the whole handshake (TLS, AUTH, SELECT,
            # HELLO): an endpoint that accepts and then stays silent must not hang us.
            async with asyncio.timeout(settings.connect_timeout):
                await connection.connect()
                if self.protocol == 3:
                    await self._hello(connection)
        except Failure:
            await connection.disconnect()
            raise
        except Exception as exc:
            await connection.disconnect()
            failure = describe_failure(exc, settings)
            if failure.problem is not Problem.NO_PASSWORD_SET or settings.password is None:
                raise failure from exc
            # REDISCLI_AUTH (or -a) names a password the server does not have:
            # redis-cli prints the server's answer and goes on without one.
            if self.on_notice is not None:
                reply = error_reply(exc) if isinstance(exc, RedisError) else None
                text = reply.message.decode("utf-8", "replace") if reply else str(exc)
                self.on_notice(f"AUTH failed: {text}")
            unauthenticated = replace(settings, password=None)
            if self.settings.endpoint == key:
                self.settings = replace(self.settings, password=None)
            return await self._connection(unauthenticated)
        self._connections[key] = connection
        return connection

    async def _hello(self, connection: AbstractConnection) -> None:
        # redis-py authenticated and selected the database in RESP2; switch
        # the protocol afterwards, as redis-cli's cliSwitchProto does.
        await connection.send_command("HELLO", "3")
        try:
            await connection.read_response(timeout=math.inf)
        except ResponseError as exc:
            message = error_reply(exc).message.decode("utf-8", "replace")
            if self.require_protocol:
                raise Failure(Problem.UNKNOWN_COMMAND, f"HELLO 3 failed: {message}") from exc
            if self.on_notice is not None:
                self.on_notice(f"HELLO 3 failed: {message}")

    async def connect(self) -> bool:
        """Open and authenticate the first connection, and detect cluster mode.

        Sends ``INFO cluster`` (``PING`` when INFO answers with an error): it
        proves the link and the credentials, and tells whether to follow
        redirects when ``-c`` was not given. The rule is
        :func:`~inspector.redis_io.info.cluster_probe`, as for ``open_client``.

        Returns:
            Whether the server runs in cluster mode (redirects are then followed).

        Raises:
            Failure: Unreachable, TLS mismatch, wrong password...
        """
        info = await self._probe((b"INFO", b"cluster"))
        if isinstance(info, Verbatim):  # RESP3 sends INFO as a verbatim string
            info = info.text
        cluster = cluster_probe(info) if isinstance(info, (ErrorReply, bytes)) else False
        if cluster is None:
            # INFO denied or renamed: any answer to PING, even an error, proves
            # the link and the credentials.
            await self._probe((b"PING",))
            cluster = False
        self.follow_redirects = self.follow_redirects or cluster
        return cluster

    async def _probe(self, args: Sequence[bytes]) -> Reply:
        reply = await self._roundtrip(
            self.settings, args, asking=False, timeout=self.settings.connect_timeout
        )
        if isinstance(reply, ErrorReply) and reply.code in ("NOAUTH", "WRONGPASS"):
            await self._drop(self.settings)
            raise describe_failure(
                ResponseError(reply.message.decode("utf-8", "replace")), self.settings
            )
        return reply

    async def _drop(self, settings: ConnectionSettings) -> None:
        connection = self._connections.pop(settings.endpoint, None)
        if connection is not None:
            await connection.disconnect()

    async def _roundtrip(
        self,
        settings: ConnectionSettings,
        args: Sequence[bytes],
        *,
        asking: bool,
        timeout: float | None = None,  # noqa: ASYNC109 - first reply only, see below
    ) -> Reply:
        connection = await self._connection(settings)
        try:
            # No read timeout by default: BLPOP 0 or a slow KEYS may take as long
            # as they take, as in redis-cli. The first command of a connection
            # gets one, so a silent endpoint cannot hang us.
            async with asyncio.timeout(timeout):
                if asking:
                    await connection.send_command("ASKING")
                    await connection.read_response(timeout=math.inf)
                await connection.send_command(*args)
                try:
                    response: Reply = await connection.read_response(timeout=math.inf)
                    while isinstance(response, Push) and not _pushes_reply(args):
                        # Out-of-band (an invalidation): not this command's reply.
                        if self.on_push is not None:
                            self.on_push(response)
                        response = await connection.read_response(timeout=math.inf)
                except ResponseError as exc:
                    return error_reply(exc)
                except AuthenticationError as exc:
                    # redis-py raises WRONGPASS/NOAUTH replies as connection errors;
                    # to a typed `AUTH wrong` they are just an error reply. The
                    # connection was dropped; the next command reconnects.
                    if getattr(exc, "raw_reply", None) is None:
                        raise
                    return error_reply(exc)
                return response
        except Failure:
            raise
        except Exception as exc:
            await self._drop(settings)
            raise describe_failure(exc, settings) from exc

    async def execute(self, args: Sequence[bytes]) -> Reply:
        """Send one command and return its typed reply, following redirects.

        Error replies are returned as :class:`ErrorReply`, not raised: a wrong
        command is output, not a failure.

        Raises:
            Failure: The connection broke or could not be made.
        """
        target = self.settings
        asking = False
        for _ in range(MAX_REDIRECTS):
            reply = await self._roundtrip(target, args, asking=asking)
            if not (self.follow_redirects and isinstance(reply, ErrorReply)):
                self._after(args, reply)
                return reply
            redirect = parse_redirect(reply, target.host)
            if redirect is None:
                return reply
            target = with_endpoint(self.settings, redirect.host, redirect.port)
            asking = redirect.ask
            if not redirect.ask:
                # Like redis-cli, stay on the node that owns the slot.
                self.settings = target
            if self._on_redirect is not None:
                self._on_redirect(redirect)
        raise Failure(
            Problem.CLUSTER, f"too many redirects for {args[0]!r}; is the cluster resharding?"
        )

    def _after(self, args: Sequence[bytes], reply: Reply) -> None:
        # A successful SELECT or AUTH changes what reconnections must do (and
        # the db the prompt shows), as in redis-cli.
        if isinstance(reply, ErrorReply) or not args:
            return
        name = args[0].lower()
        if name == b"select" and len(args) == 2:
            try:
                self.settings = replace(self.settings, db=int(args[1]))
            except ValueError:
                return
        elif name == b"auth" and len(args) in (2, 3):
            text = [arg.decode("utf-8", "surrogateescape") for arg in args[1:]]
            user = text[0] if len(text) == 2 else self.settings.username
            self.settings = replace(self.settings, username=user, password=text[-1])

    async def stream(self) -> AsyncIterator[Reply]:
        """Yield the replies the current node pushes after MONITOR or (P|S)SUBSCRIBE.

        Runs until the caller stops iterating or the connection drops; the
        connection is then closed, since it is no longer usable for commands.
        """
        settings = self.settings
        connection = await self._connection(settings)
        try:
            while True:
                try:
                    reply: Reply = await connection.read_response(timeout=math.inf)
                except ResponseError as exc:
                    reply = error_reply(exc)
                yield reply
        except Exception as exc:
            raise describe_failure(exc, settings) from exc
        finally:
            await self._drop(settings)

    async def aclose(self) -> None:
        """Close every connection."""
        for key in list(self._connections):
            connection = self._connections.pop(key)
            await connection.disconnect()
