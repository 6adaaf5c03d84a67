"""A RESP2 and RESP3 parser that keeps what redis-cli's output depends on.

redis-py's parsers return ``b"OK"`` for both the status reply ``+OK`` and the
bulk string ``$2 OK``, strip the prefix off error messages, and turn RESP3
maps, sets and doubles into Python dicts, sets and floats. redis-cli prints
each of them differently (``OK`` vs ``"OK"``, ``1#`` vs ``1)``, ``(double)
3.141`` with the server's digits), so the `cli` command and the TUI console
read replies with this parser, which returns the reply model of
:mod:`inspector.redis_io.redis_cli`.

One parser reads both protocols: a server speaking RESP2 never sends the RESP3
markers, and after ``HELLO 3`` every reply is read the same way.

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
from inspector.redis_io.redis_cli import (
    Attributed,
    BigNumber,
    Boolean,
    Double,
    ErrorReply,
    Map,
    Push,
    Reply,
    SetReply,
    Status,
    Verbatim,
)

__all__ = ["PARSER_MEMBERS", "TypedRESP2Parser", "TypedRESPParser", "error_reply"]

PARSER_MEMBERS = ("read_response", "_read_response", "_readline", "_read", "_clear", "parse_error")
"""What :class:`TypedRESPParser` overrides (``_read_response``, which redis-py's
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


class TypedRESPParser(_AsyncRESP2Parser):
    """RESP2/RESP3 parser returning redis-cli's reply model instead of redis-py's.

    Top-level errors stay ``ResponseError`` instances (redis-py raises them, and
    its AUTH/HELLO handshake relies on that); each carries the raw reply in
    ``raw_reply``. Errors nested in aggregates (EXEC) become ``ErrorReply``.
    """

    async def _read_response(self, disable_decoding: bool = False) -> Any:
        return await self._read_typed(top_level=True)

    async def _error(self, message: bytes, *, top_level: bool) -> Reply | ResponseError:
        if not top_level:
            return ErrorReply(message)
        error: ResponseError = self.parse_error(  # type: ignore[no-untyped-call]
            message.decode("utf-8", errors="replace")
        )
        error.raw_reply = message  # type: ignore[attr-defined]
        # redis-py treats WRONGPASS/NOAUTH as connection errors and raises them
        # at once; keep that, since its AUTH handshake depends on it.
        if isinstance(error, RedisConnectionError):
            self._clear()  # type: ignore[no-untyped-call]
            raise error
        return error

    async def _items(self, count: int) -> list[Reply]:
        items: list[Reply] = []
        for _ in range(count):
            item = await self._read_typed(top_level=False)
            assert not isinstance(item, ResponseError)
            items.append(item)
        return items

    async def _read_typed(self, *, top_level: bool) -> Reply | ResponseError:
        raw = await self._readline()
        marker, rest = raw[:1], bytes(raw[1:])
        if marker == b"$":
            length = int(rest)
            return None if length < 0 else bytes(await self._read(length))
        if marker == b"*":
            count = int(rest)
            return None if count < 0 else await self._items(count)
        if marker == b":":
            return int(rest)
        if marker == b"+":
            return Status(rest)
        if marker == b"-":
            return await self._error(rest, top_level=top_level)
        # RESP3 (after HELLO 3)
        if marker == b"%":
            flat = await self._items(2 * int(rest))
            return Map(list(zip(flat[::2], flat[1::2], strict=True)))
        if marker == b"~":
            return SetReply(await self._items(int(rest)))
        if marker == b">":
            return Push(await self._items(int(rest)))
        if marker == b",":
            return Double(rest)
        if marker == b"#":
            if rest not in (b"t", b"f", b"T", b"F"):
                raise InvalidResponse(f"Protocol error: bad boolean {raw[:40]!r}")
            return Boolean(rest in (b"t", b"T"))
        if marker == b"_":
            return None
        if marker == b"(":
            return BigNumber(rest)
        if marker == b"=":
            text = bytes(await self._read(int(rest)))
            if len(text) < 4 or text[3:4] != b":":
                raise InvalidResponse("Protocol error: verbatim string without its format")
            return Verbatim(text[:3], text[4:])
        if marker == b"!":
            return await self._error(bytes(await self._read(int(rest))), top_level=top_level)
        if marker == b"|":
            flat = await self._items(2 * int(rest))
            attributes = Map(list(zip(flat[::2], flat[1::2], strict=True)))
            reply = await self._read_typed(top_level=top_level)
            if isinstance(reply, ResponseError):
                return reply  # an error stays an error; its metadata goes
            return Attributed(attributes, reply)
        raise InvalidResponse(f"Protocol error: unexpected reply {raw[:40]!r}")


TypedRESP2Parser = TypedRESPParser
"""The former name (the parser reads RESP3 too now)."""
