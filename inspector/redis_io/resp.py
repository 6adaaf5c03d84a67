"""A RESP2 parser that keeps what redis-cli's output depends on.

redis-py's parsers return ``b"OK"`` for both the status reply ``+OK`` and the
bulk string ``$2 OK``, and strip the prefix off error messages. redis-cli prints
the two differently (``OK`` vs ``"OK"``) and shows errors whole, so the `cli`
command and the TUI console read replies with this parser, which returns
:class:`~inspector.redis_io.redis_cli.Status` for status replies and keeps the
exact error bytes.

It plugs into redis-py's own connection classes (``parser_class=``), so TLS,
AUTH, timeouts and socket handling stay redis-py's. It subclasses redis-py's
pure-Python RESP2 parser, a private class: pyproject pins redis below 9 for
that, and the import fails with a clear message if the members it overrides
or calls are gone (:mod:`inspector.core.pinned`).
"""

from __future__ import annotations

from typing import Any

from redis._parsers import _AsyncRESP2Parser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, RedisError, ResponseError

from inspector.core.pinned import require_members
from inspector.redis_io.redis_cli import ErrorReply, Reply, Status

__all__ = ["PARSER_MEMBERS", "TypedRESP2Parser", "error_reply"]

PARSER_MEMBERS = ("read_response", "_read_response", "_readline", "_read", "_clear", "parse_error")
"""What :class:`TypedRESP2Parser` overrides (``_read_response``, which redis-py's
``read_response`` calls) and calls of redis-py's private ``_AsyncRESP2Parser``."""
require_members(
    _AsyncRESP2Parser, PARSER_MEMBERS, library="redis", user="inspector/redis_io/resp.py"
)


def error_reply(error: RedisError) -> ErrorReply:
    """The exact error reply behind a redis-py error raised for a server reply."""
    raw = getattr(error, "raw_reply", None)
    if isinstance(raw, bytes):
        return ErrorReply(raw)
    code = getattr(error, "status_code", None)
    text = str(error)
    return ErrorReply(f"{code} {text}".encode() if code else text.encode())


class TypedRESP2Parser(_AsyncRESP2Parser):
    """RESP2 parser returning redis-cli's reply model instead of redis-py's.

    Top-level errors stay ``ResponseError`` instances (redis-py raises them, and
    its AUTH/HELLO handshake relies on that); each carries the raw reply in
    ``raw_reply``. Errors nested in arrays (EXEC) become ``ErrorReply``.
    """

    async def _read_response(self, disable_decoding: bool = False) -> Any:
        return await self._read_typed(top_level=True)

    async def _read_typed(self, *, top_level: bool) -> Reply | ResponseError:
        raw = await self._readline()
        marker, rest = raw[:1], bytes(raw[1:])
        if marker == b"+":
            return Status(rest)
        if marker == b":":
            return int(rest)
        if marker == b"$":
            length = int(rest)
            return None if length < 0 else bytes(await self._read(length))
        if marker == b"*":
            count = int(rest)
            if count < 0:
                return None
            items: list[Reply] = []
            for _ in range(count):
                item = await self._read_typed(top_level=False)
                assert not isinstance(item, ResponseError)
                items.append(item)
            return items
        if marker == b"-":
            if not top_level:
                return ErrorReply(rest)
            error: ResponseError = self.parse_error(  # type: ignore[no-untyped-call]
                rest.decode("utf-8", errors="replace")
            )
            error.raw_reply = rest  # type: ignore[attr-defined]
            # redis-py treats WRONGPASS/NOAUTH as connection errors and raises them
            # at once; keep that, since its AUTH handshake depends on it.
            if isinstance(error, RedisConnectionError):
                self._clear()  # type: ignore[no-untyped-call]
                raise error
            return error
        raise InvalidResponse(f"Protocol error: unexpected reply {raw[:40]!r}")
