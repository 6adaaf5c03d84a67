"""redis-cli's reply formatting and argument splitting, byte for byte.

This module is pure (no redis-py import) so the `cli` command, its REPL and the
TUI console share one implementation. It follows redis-cli 7.x
(`src/redis-cli.c`: ``cliFormatReplyTTY``, ``cliFormatReplyRaw``;
`src/sds.c`: ``sdscatrepr``, ``sdssplitargs``), and tests compare its output
with the real `redis-cli` binary.

Replies are modelled with plain Python values, which keeps them cheap and easy
to build in tests:

=========================  ==========================================
RESP2 reply                Python value
=========================  ==========================================
simple string ``+OK``      :class:`Status` (a ``bytes`` subclass)
error ``-ERR ...``         :class:`ErrorReply`
integer ``:1``             ``int``
bulk string ``$3 foo``     ``bytes``
nil (``$-1``, ``*-1``)     ``None``
array ``*2 ...``           ``list`` of replies
=========================  ==========================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from inspector.core.values import REDIS_CLI_ESCAPES

__all__ = [
    "COMMAND_NAMES",
    "ErrorReply",
    "Reply",
    "Status",
    "format_raw",
    "format_reply",
    "format_tty",
    "is_verbatim_command",
    "quote",
    "split_args",
]


class Status(bytes):
    """A RESP simple string such as ``+OK``: redis-cli prints it without quotes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Status({bytes(self)!r})"


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error reply, kept as the exact bytes the server sent (prefix included)."""

    message: bytes

    @property
    def code(self) -> str:
        """The error prefix (``ERR``, ``WRONGTYPE``, ``NOPERM``, ``MOVED``...)."""
        return self.message.split(b" ", 1)[0].decode("ascii", "replace")


Reply: TypeAlias = "Status | bytes | int | ErrorReply | list[Reply] | None"

# sdscatrepr's escaping, kept once in core (decoded-value previews use it too).
_REPR_TABLE: tuple[bytes, ...] = tuple(text.encode("ascii") for text in REDIS_CLI_ESCAPES)
_NEEDS_ESCAPE = re.compile(rb"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def quote(data: bytes) -> bytes:
    r"""Quote bytes the way redis-cli does (``sdscatrepr``).

    Args:
        data: Any bytes, e.g. a bulk string reply.

    Returns:
        The double-quoted, escaped representation, e.g. ``b'"\\xc3\\xa9"'`` for
        the UTF-8 bytes of ``é``.
    """
    if _NEEDS_ESCAPE.search(data) is None:
        return b'"' + data + b'"'
    # Mostly-binary data: a table lookup per byte beats a regex callback per byte.
    return b'"' + b"".join(map(_REPR_TABLE.__getitem__, data)) + b'"'


def _c_string(data: bytes) -> bytes:
    # redis-cli prints status and error replies with printf("%s"), which stops
    # at the first NUL byte.
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def format_tty(reply: Reply, prefix: bytes = b"") -> bytes:
    """Format a reply as redis-cli does on a terminal (``--no-raw``).

    Args:
        reply: The reply to format.
        prefix: Indentation inherited from enclosing arrays (used in recursion).

    Returns:
        The formatted text, ending with a newline.
    """
    if isinstance(reply, ErrorReply):
        return b"(error) " + _c_string(reply.message) + b"\n"
    if isinstance(reply, Status):
        return _c_string(bytes(reply)) + b"\n"
    if isinstance(reply, bytes):
        return quote(reply) + b"\n"
    if reply is None:
        return b"(nil)\n"
    if isinstance(reply, int):
        return b"(integer) %d\n" % reply
    if not reply:
        return b"(empty array)\n"
    width = len(str(len(reply)))
    child_prefix = prefix + b" " * (width + 2)
    out = bytearray()
    for index, element in enumerate(reply, start=1):
        # The first element goes on the line the parent already started.
        if index > 1:
            out += prefix
        out += b"%*d) " % (width, index)
        out += format_tty(element, child_prefix)
    return bytes(out)


def format_raw(reply: Reply, delimiter: bytes = b"\n") -> bytes:
    """Format a reply as redis-cli does when piped (``--raw``), without the final newline.

    Args:
        reply: The reply to format.
        delimiter: What separates array elements (redis-cli's ``-d``).

    Returns:
        The raw bytes: strings verbatim, integers bare, nil as nothing, arrays
        flattened with ``delimiter``; errors end with their own newline.
    """
    if isinstance(reply, ErrorReply):
        return reply.message + b"\n"
    if isinstance(reply, bytes):  # also Status
        return bytes(reply)
    if reply is None:
        return b""
    if isinstance(reply, int):
        return b"%d" % reply
    return delimiter.join(format_raw(element, delimiter) for element in reply)


def is_verbatim_command(args: Sequence[bytes]) -> bool:
    """Whether redis-cli prints this command's reply raw even on a terminal.

    INFO, CLIENT LIST, CLUSTER NODES and a few others return human-formatted
    text, so redis-cli never quotes them (``cliSendCommand``'s ``output_raw``).
    """
    if not args:
        return False
    name = args[0].lower()
    sub = args[1].lower() if len(args) > 1 else b""
    argc = len(args)
    return (
        name in (b"info", b"lolwut")
        or (
            name == b"debug"
            and argc >= 2
            and sub in (b"htstats", b"htstats-key", b"client-eviction")
        )
        or (name == b"memory" and argc >= 2 and sub in (b"malloc-stats", b"doctor"))
        or (name == b"cluster" and argc == 2 and sub in (b"nodes", b"info"))
        or (name == b"client" and argc >= 2 and sub in (b"list", b"info"))
        or (name == b"latency" and argc == 3 and sub == b"graph")
        or (name == b"latency" and argc == 2 and sub == b"doctor")
        or (name == b"proxy" and argc >= 2 and sub == b"info")
    )


def format_reply(reply: Reply, args: Sequence[bytes], *, raw: bool) -> bytes:
    """Format one reply exactly as redis-cli prints it, trailing newline included.

    Args:
        reply: The reply to the command.
        args: The command that produced it (some commands print verbatim).
        raw: ``True`` for ``--raw`` output, ``False`` for the formatted one.

    Returns:
        The bytes redis-cli writes to stdout for this reply.
    """
    if is_verbatim_command(args):
        return format_raw(reply)
    if raw:
        return format_raw(reply) + b"\n"
    return format_tty(reply)


_HEX = b"0123456789abcdefABCDEF"
_SPACE = b" \t\n\v\f\r"


def split_args(line: bytes) -> list[bytes] | None:
    r"""Split a command line into arguments the way redis-cli does (``sdssplitargs``).

    Double quotes understand ``\\n \\r \\t \\b \\a \\xNN`` and backslash escapes;
    single quotes only ``\\'``. A closing quote must be followed by a space or the
    end of the line.

    Args:
        line: What the user typed.

    Returns:
        The arguments, or ``None`` when quotes are unbalanced (redis-cli then
        prints ``Invalid argument(s)``).
    """
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_double = in_single = False
        while True:
            c = line[i] if i < n else 0
            nxt = line[i + 1] if i + 1 < n else 0
            if in_double:
                if (
                    c == 0x5C
                    and nxt == 0x78  # \x
                    and i + 3 < n
                    and line[i + 2] in _HEX
                    and line[i + 3] in _HEX
                ):
                    current.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    current += {
                        0x6E: b"\n",
                        0x72: b"\r",
                        0x74: b"\t",
                        0x62: b"\b",
                        0x61: b"\a",
                    }.get(line[i], bytes([line[i]]))
                elif c == 0x22 and i < n:
                    if i + 1 < n and nxt not in _SPACE:
                        return None
                    in_double = False
                    i += 1
                    break
                elif i >= n:
                    return None
                else:
                    current.append(c)
            elif in_single:
                if c == 0x5C and nxt == 0x27:
                    i += 1
                    current.append(0x27)
                elif c == 0x27 and i < n:
                    if i + 1 < n and nxt not in _SPACE:
                        return None
                    in_single = False
                    i += 1
                    break
                elif i >= n:
                    return None
                else:
                    current.append(c)
            elif i >= n or c in b" \n\r\t":
                break
            elif c == 0x22:
                in_double = True
            elif c == 0x27:
                in_single = True
            else:
                current.append(c)
            i += 1
        args.append(bytes(current))


# Top-level command names of Redis 7.0 (`COMMAND LIST` without subcommands), for
# completion when the server does not let us ask it (ACL users, renamed COMMAND).
COMMAND_NAMES: tuple[str, ...] = (
    "ACL", "APPEND", "ASKING", "AUTH", "BGREWRITEAOF", "BGSAVE", "BITCOUNT", "BITFIELD",
    "BITFIELD_RO", "BITOP", "BITPOS", "BLMOVE", "BLMPOP", "BLPOP", "BRPOP", "BRPOPLPUSH",
    "BZMPOP", "BZPOPMAX", "BZPOPMIN", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "COPY",
    "DBSIZE", "DEBUG", "DECR", "DECRBY", "DEL", "DISCARD", "DUMP", "ECHO", "EVAL",
    "EVALSHA", "EVALSHA_RO", "EVAL_RO", "EXEC", "EXISTS", "EXPIRE", "EXPIREAT",
    "EXPIRETIME", "FAILOVER", "FCALL", "FCALL_RO", "FLUSHALL", "FLUSHDB", "FUNCTION",
    "GEOADD", "GEODIST", "GEOHASH", "GEOPOS", "GEORADIUS", "GEORADIUSBYMEMBER",
    "GEORADIUSBYMEMBER_RO", "GEORADIUS_RO", "GEOSEARCH", "GEOSEARCHSTORE", "GET",
    "GETBIT", "GETDEL", "GETEX", "GETRANGE", "GETSET", "HDEL", "HELLO", "HEXISTS", "HGET",
    "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HKEYS", "HLEN", "HMGET", "HMSET", "HRANDFIELD",
    "HSCAN", "HSET", "HSETNX", "HSTRLEN", "HVALS", "INCR", "INCRBY", "INCRBYFLOAT", "INFO",
    "KEYS", "LASTSAVE", "LATENCY", "LCS", "LINDEX", "LINSERT", "LLEN", "LMOVE", "LMPOP",
    "LOLWUT", "LPOP", "LPOS", "LPUSH", "LPUSHX", "LRANGE", "LREM", "LSET", "LTRIM",
    "MEMORY", "MGET", "MIGRATE", "MODULE", "MONITOR", "MOVE", "MSET", "MSETNX", "MULTI",
    "OBJECT", "PERSIST", "PEXPIRE", "PEXPIREAT", "PEXPIRETIME", "PFADD", "PFCOUNT",
    "PFDEBUG", "PFMERGE", "PFSELFTEST", "PING", "PSETEX", "PSUBSCRIBE", "PSYNC", "PTTL",
    "PUBLISH", "PUBSUB", "PUNSUBSCRIBE", "QUIT", "RANDOMKEY", "READONLY", "READWRITE",
    "RENAME", "RENAMENX", "REPLCONF", "REPLICAOF", "RESET", "RESTORE", "RESTORE-ASKING",
    "ROLE", "RPOP", "RPOPLPUSH", "RPUSH", "RPUSHX", "SADD", "SAVE", "SCAN", "SCARD",
    "SCRIPT", "SDIFF", "SDIFFSTORE", "SELECT", "SET", "SETBIT", "SETEX", "SETNX",
    "SETRANGE", "SHUTDOWN", "SINTER", "SINTERCARD", "SINTERSTORE", "SISMEMBER", "SLAVEOF",
    "SLOWLOG", "SMEMBERS", "SMISMEMBER", "SMOVE", "SORT", "SORT_RO", "SPOP", "SPUBLISH",
    "SRANDMEMBER", "SREM", "SSCAN", "SSUBSCRIBE", "STRLEN", "SUBSCRIBE", "SUBSTR",
    "SUNION", "SUNIONSTORE", "SUNSUBSCRIBE", "SWAPDB", "SYNC", "TIME", "TOUCH", "TTL",
    "TYPE", "UNLINK", "UNSUBSCRIBE", "UNWATCH", "WAIT", "WATCH", "XACK", "XADD",
    "XAUTOCLAIM", "XCLAIM", "XDEL", "XGROUP", "XINFO", "XLEN", "XPENDING", "XRANGE",
    "XREAD", "XREADGROUP", "XREVRANGE", "XSETID", "XTRIM", "ZADD", "ZCARD", "ZCOUNT",
    "ZDIFF", "ZDIFFSTORE", "ZINCRBY", "ZINTER", "ZINTERCARD", "ZINTERSTORE", "ZLEXCOUNT",
    "ZMPOP", "ZMSCORE", "ZPOPMAX", "ZPOPMIN", "ZRANDMEMBER", "ZRANGE", "ZRANGEBYLEX",
    "ZRANGEBYSCORE", "ZRANGESTORE", "ZRANK", "ZREM", "ZREMRANGEBYLEX", "ZREMRANGEBYRANK",
    "ZREMRANGEBYSCORE", "ZREVRANGE", "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZREVRANK",
    "ZSCAN", "ZSCORE", "ZUNION", "ZUNIONSTORE",
)  # fmt: skip
