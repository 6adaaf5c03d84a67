"""redis-cli's reply formatting and argument splitting, byte for byte.

This module is pure (no redis-py import) so the `cli` command, its REPL and the
TUI console share one implementation. It follows redis-cli 7.0
(`src/redis-cli.c`: ``cliFormatReplyTTY``, ``cliFormatReplyRaw``,
``cliFormatReplyCSV``, ``cliFormatReplyJson``; `src/sds.c`: ``sdscatrepr``,
``sdssplitargs``; `src/cli_common.c`: ``escapeJsonString``), and tests compare
its output with the real `redis-cli` binary.

Replies are modelled with plain Python values, which keeps them cheap and easy
to build in tests:

=============================  ==========================================
RESP reply                     Python value
=============================  ==========================================
simple string ``+OK``          :class:`Status` (a ``bytes`` subclass)
error ``-ERR ...``             :class:`ErrorReply`
integer ``:1``                 ``int``
bulk string ``$3 foo``         ``bytes``
nil (``$-1``, ``*-1``, ``_``)  ``None``
array ``*2 ...``               ``list`` of replies
RESP3 double ``,3.14``         :class:`Double` (the text as sent)
RESP3 boolean ``#t``           :class:`Boolean`
RESP3 big number ``(123``      :class:`BigNumber`
RESP3 verbatim ``=15 txt:..``  :class:`Verbatim`
RESP3 map ``%2 ...``           :class:`Map` (pairs in server order)
RESP3 set ``~2 ...``           :class:`SetReply`
RESP3 push ``>2 ...``          :class:`Push`
RESP3 attribute ``|1 ...``     :class:`Attributed` (the attributes and the reply after them)
=============================  ==========================================

Where redis-cli 7.0 has no output for a RESP3 type (it stops with ``Unknown
reply type: 13`` on a big number and with a protocol error on an attribute),
the choice made here is documented on the function and in the README.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from inspector.core.values import REDIS_CLI_ESCAPES

__all__ = [
    "COMMAND_NAMES",
    "Attributed",
    "BigNumber",
    "Boolean",
    "Double",
    "ErrorReply",
    "Map",
    "OutputFormat",
    "OutputMode",
    "Push",
    "Reply",
    "SetReply",
    "Status",
    "Verbatim",
    "c_string",
    "format_csv",
    "format_invalidate",
    "format_json",
    "format_output",
    "format_raw",
    "format_reply",
    "format_tty",
    "is_invalidate",
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


@dataclass(frozen=True, slots=True)
class Double:
    """A RESP3 double, kept as the text the server sent (``3.141``, ``inf``)."""

    text: bytes


@dataclass(frozen=True, slots=True)
class Boolean:
    """A RESP3 boolean (``#t`` / ``#f``)."""

    value: bool


@dataclass(frozen=True, slots=True)
class BigNumber:
    """A RESP3 big number, as its decimal text."""

    text: bytes


@dataclass(frozen=True, slots=True)
class Verbatim:
    """A RESP3 verbatim string: its three-letter format (``txt``, ``mkd``) and text."""

    format: bytes
    text: bytes


@dataclass(frozen=True, slots=True)
class Map:
    """A RESP3 map: key/value pairs in the order the server sent them."""

    pairs: list[tuple[Reply, Reply]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SetReply:
    """A RESP3 set: its members in the order the server sent them."""

    items: list[Reply] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Push:
    """A RESP3 push (out-of-band data: pub/sub messages, client-side caching)."""

    items: list[Reply] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Attributed:
    """A reply preceded by RESP3 attributes (metadata the server may add)."""

    attributes: Map
    reply: Reply


Reply: TypeAlias = (
    "Status | bytes | int | ErrorReply | list[Reply] | Double | Boolean | BigNumber"
    " | Verbatim | Map | SetReply | Push | Attributed | None"
)


class OutputMode(enum.Enum):
    """redis-cli's output modes (``config.output``)."""

    STANDARD = "standard"
    """Formatted, as on a terminal (``--no-raw``)."""
    RAW = "raw"
    """``--raw``, the default when stdout is not a terminal."""
    CSV = "csv"
    JSON = "json"
    QUOTED_JSON = "quoted-json"


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """How replies are printed: the mode and redis-cli's ``-d`` / ``-D`` delimiters."""

    mode: OutputMode = OutputMode.STANDARD
    bulk_delimiter: bytes = b"\n"
    """``-d``: between the elements of an aggregate in raw mode."""
    reply_delimiter: bytes = b"\n"
    """``-D``: after each reply in raw mode."""


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


def c_string(data: bytes) -> bytes:
    """``data`` up to its first NUL byte, as C's ``printf("%s")`` and ``strlen`` see it.

    redis-cli prints status and error replies, and ``--scan`` prints raw key
    names, as C strings.
    """
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


_c_string = c_string


# ---------------------------------------------------------------- standard (tty)


def _is_multiline_tty(reply: Reply) -> bool:
    """``cliIsMultilineValueTTY``: whether a map value goes on its own lines."""
    if isinstance(reply, (list, SetReply, Push)):
        items = reply if isinstance(reply, list) else reply.items
        if not items:
            return False
        if len(items) > 1:
            return True
        return _is_multiline_tty(items[0])
    if isinstance(reply, Map):
        if not reply.pairs:
            return False
        if len(reply.pairs) > 1:
            return True
        return _is_multiline_tty(reply.pairs[0][1])
    return False


def _tty_items(items: Sequence[Reply], marker: bytes, prefix: bytes) -> bytes:
    width = len(str(len(items)))
    child_prefix = prefix + b" " * (width + 2)
    out = bytearray()
    for index, element in enumerate(items, start=1):
        # The first element goes on the line the parent already started.
        if index > 1:
            out += prefix
        out += b"%*d" % (width, index) + marker + b" "
        out += format_tty(element, child_prefix)
    return bytes(out)


def _tty_pairs(pairs: Sequence[tuple[Reply, Reply]], marker: bytes, prefix: bytes) -> bytes:
    width = len(str(len(pairs)))
    child_prefix = prefix + b" " * (width + 2)
    out = bytearray()
    for index, (key, value) in enumerate(pairs, start=1):
        if index > 1:
            out += prefix
        out += b"%*d" % (width, index) + marker + b" "
        out += format_tty(key, child_prefix)[:-1]  # the key's newline goes
        out += b" => "
        if _is_multiline_tty(value):
            # redis-cli breaks the line so the value's elements line up.
            out += b"\n" + child_prefix
        out += format_tty(value, child_prefix)
    return bytes(out)


def format_tty(reply: Reply, prefix: bytes = b"") -> bytes:
    """Format a reply as redis-cli does on a terminal (``--no-raw``).

    Sets number their members ``1~``, maps ``1#`` (``key => value``), arrays
    and pushes ``1)``. Not in redis-cli 7.0, which cannot print them: a big
    number prints as ``(big number) 123``, and attributes print before their
    reply as a map numbered ``1|``.

    Args:
        reply: The reply to format.
        prefix: Indentation inherited from enclosing aggregates (used in recursion).

    Returns:
        The formatted text, ending with a newline.
    """
    if isinstance(reply, ErrorReply):
        return b"(error) " + c_string(reply.message) + b"\n"
    if isinstance(reply, Status):
        return c_string(bytes(reply)) + b"\n"
    if isinstance(reply, bytes):
        return quote(reply) + b"\n"
    if reply is None:
        return b"(nil)\n"
    if isinstance(reply, int):
        return b"(integer) %d\n" % reply
    if isinstance(reply, list):
        return _tty_items(reply, b")", prefix) if reply else b"(empty array)\n"
    if isinstance(reply, Double):
        return b"(double) " + c_string(reply.text) + b"\n"
    if isinstance(reply, Boolean):
        return b"(true)\n" if reply.value else b"(false)\n"
    if isinstance(reply, Verbatim):
        return reply.text + b"\n"
    if isinstance(reply, Map):
        return _tty_pairs(reply.pairs, b"#", prefix) if reply.pairs else b"(empty hash)\n"
    if isinstance(reply, SetReply):
        return _tty_items(reply.items, b"~", prefix) if reply.items else b"(empty set)\n"
    if isinstance(reply, Push):
        return _tty_items(reply.items, b")", prefix) if reply.items else b"(empty push)\n"
    if isinstance(reply, BigNumber):
        return b"(big number) " + reply.text + b"\n"
    # Attributed: the metadata first, then the reply itself.
    attributes = _tty_pairs(reply.attributes.pairs, b"|", prefix)
    return attributes + prefix + format_tty(reply.reply, prefix)


# ---------------------------------------------------------------- raw


def format_raw(reply: Reply, delimiter: bytes = b"\n") -> bytes:
    """Format a reply as redis-cli does when piped (``--raw``), without the final newline.

    Args:
        reply: The reply to format.
        delimiter: What separates aggregate elements (redis-cli's ``-d``).

    Returns:
        The raw bytes: strings verbatim, integers bare, nil as nothing,
        aggregates flattened with ``delimiter`` (a map's key and value are
        separated by a space); errors end with their own newline.
    """
    if isinstance(reply, ErrorReply):
        return reply.message + b"\n"
    if isinstance(reply, bytes):  # also Status
        return bytes(reply)
    if reply is None:
        return b""
    if isinstance(reply, int):
        return b"%d" % reply
    if isinstance(reply, list):
        return delimiter.join(format_raw(element, delimiter) for element in reply)
    if isinstance(reply, (SetReply, Push)):
        return delimiter.join(format_raw(element, delimiter) for element in reply.items)
    if isinstance(reply, Map):
        return delimiter.join(
            format_raw(key, delimiter) + b" " + format_raw(value, delimiter)
            for key, value in reply.pairs
        )
    if isinstance(reply, (Double, BigNumber)):
        return c_string(reply.text)
    if isinstance(reply, Boolean):
        return b"(true)" if reply.value else b"(false)"
    if isinstance(reply, Verbatim):
        return reply.text
    return format_raw(reply.reply, delimiter)  # attributes are metadata: left out


# ---------------------------------------------------------------- csv


def format_csv(reply: Reply) -> bytes:
    """Format a reply as ``redis-cli --csv`` does, without the final newline.

    Strings are quoted and escaped as in :func:`quote`, nil is ``NULL``, errors
    are ``ERROR,"..."``, aggregates (maps too) are flattened with commas.
    """
    if isinstance(reply, ErrorReply):
        return b"ERROR," + quote(c_string(reply.message))
    if isinstance(reply, bytes):  # status and bulk strings alike
        return quote(bytes(reply))
    if reply is None:
        return b"NULL"
    if isinstance(reply, int):
        return b"%d" % reply
    if isinstance(reply, list):
        return b",".join(format_csv(element) for element in reply)
    if isinstance(reply, (SetReply, Push)):
        return b",".join(format_csv(element) for element in reply.items)
    if isinstance(reply, Map):
        return b",".join(format_csv(item) for pair in reply.pairs for item in pair)
    if isinstance(reply, (Double, BigNumber)):
        return c_string(reply.text)
    if isinstance(reply, Boolean):
        return b"true" if reply.value else b"false"
    if isinstance(reply, Verbatim):
        return quote(reply.text)
    return format_csv(reply.reply)


# ---------------------------------------------------------------- json

_JSON_ESCAPES: tuple[bytes, ...] = tuple(
    {
        0x5C: b"\\\\",
        0x22: b'\\"',
        0x0A: b"\\n",
        0x0C: b"\\f",
        0x0D: b"\\r",
        0x09: b"\\t",
        0x08: b"\\b",
    }.get(byte, b"\\u%04x" % byte if byte <= 0x1F else bytes([byte]))
    for byte in range(256)
)
_JSON_NEEDS_ESCAPE = re.compile(rb'[\x00-\x1f"\\]')


def _json_string(data: bytes, quoted: bool) -> bytes:
    if quoted:
        # --quoted-json: redis-cli's quoting, then every backslash doubled.
        return quote(data).replace(b"\\", b"\\\\")
    # escapeJsonString: bytes of 0x80 and above pass through unchanged.
    if _JSON_NEEDS_ESCAPE.search(data) is None:
        return b'"' + data + b'"'
    return b'"' + b"".join(map(_JSON_ESCAPES.__getitem__, data)) + b'"'


def _json_key(key: Reply, quoted: bool) -> bytes:
    if isinstance(key, (ErrorReply, bytes, Verbatim)):
        return format_json(key, quoted=quoted)
    # JSON keys must be strings: other RESP3 types are wrapped in quotes,
    # unescaped, exactly as redis-cli does.
    text = format_json(key, quoted=quoted)
    return text if text.startswith(b'"') else b'"' + text + b'"'


def format_json(reply: Reply, *, quoted: bool = False) -> bytes:
    """Format a reply as ``redis-cli --json`` (``--quoted-json``) does, without the final newline.

    Maps become objects (non-string keys are quoted), nil is ``null``, errors
    are ``error:"..."`` (redis-cli's form, which is not valid JSON). Strings
    are JSON-escaped with bytes above 0x7f passed through; ``--quoted-json``
    keeps the output ASCII by using redis-cli's quoting with doubled
    backslashes.

    Args:
        reply: The reply to format.
        quoted: ``--quoted-json`` instead of ``--json``.
    """
    if isinstance(reply, ErrorReply):
        return b"error:" + _json_string(c_string(reply.message), quoted)
    if isinstance(reply, bytes):
        return _json_string(bytes(reply), quoted)
    if reply is None:
        return b"null"
    if isinstance(reply, int):
        return b"%d" % reply
    if isinstance(reply, list):
        return b"[" + b",".join(format_json(item, quoted=quoted) for item in reply) + b"]"
    if isinstance(reply, (SetReply, Push)):
        return b"[" + b",".join(format_json(item, quoted=quoted) for item in reply.items) + b"]"
    if isinstance(reply, Map):
        return (
            b"{"
            + b",".join(
                _json_key(key, quoted) + b":" + format_json(value, quoted=quoted)
                for key, value in reply.pairs
            )
            + b"}"
        )
    if isinstance(reply, (Double, BigNumber)):
        return c_string(reply.text)
    if isinstance(reply, Boolean):
        return b"true" if reply.value else b"false"
    if isinstance(reply, Verbatim):
        return _json_string(reply.text, quoted)
    return format_json(reply.reply, quoted=quoted)


# ---------------------------------------------------------------- dispatch


def is_verbatim_command(args: Sequence[bytes]) -> bool:
    """Whether redis-cli prints this command's reply raw in every output mode.

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


def format_output(reply: Reply, output: OutputFormat, *, verbatim: bool = False) -> bytes:
    """Format one reply for an output mode, as ``cliFormatReply`` does.

    Args:
        reply: The reply.
        output: The mode and delimiters.
        verbatim: The command prints raw in every mode (:func:`is_verbatim_command`).

    Returns:
        The bytes redis-cli writes for this reply (the reply delimiter or
        newline included).
    """
    mode = output.mode
    if verbatim:
        return format_raw(reply, output.bulk_delimiter)
    if mode is OutputMode.STANDARD:
        return format_tty(reply)
    if mode is OutputMode.RAW:
        return format_raw(reply, output.bulk_delimiter) + output.reply_delimiter
    if mode is OutputMode.CSV:
        return format_csv(reply) + b"\n"
    return format_json(reply, quoted=mode is OutputMode.QUOTED_JSON) + b"\n"


_RAW = OutputFormat(OutputMode.RAW)
_STANDARD = OutputFormat(OutputMode.STANDARD)


def format_reply(
    reply: Reply,
    args: Sequence[bytes],
    *,
    raw: bool | None = None,
    output: OutputFormat | None = None,
) -> bytes:
    """Format one reply exactly as redis-cli prints it, trailing newline included.

    Args:
        reply: The reply to the command.
        args: The command that produced it (some commands print verbatim).
        raw: ``True`` for ``--raw`` output, ``False`` for the formatted one
            (shorthand for ``output``).
        output: The output mode and delimiters; wins over ``raw``.

    Returns:
        The bytes redis-cli writes to stdout for this reply.
    """
    if output is None:
        output = _RAW if raw else _STANDARD
    return format_output(reply, output, verbatim=is_verbatim_command(args))


def is_invalidate(reply: Reply) -> bool:
    """Whether a push is a client-side caching invalidation (``invalidate`` + key list)."""
    return (
        isinstance(reply, Push)
        and len(reply.items) == 2
        and isinstance(reply.items[0], bytes)
        and reply.items[0].startswith(b"invalidate")
        and isinstance(reply.items[1], list)
    )


def format_invalidate(reply: Push) -> bytes:
    """redis-cli's line for an invalidation push on a terminal: ``-> invalidate: 'k1', 'k2'``."""
    keys = reply.items[1]
    assert isinstance(keys, list)
    names = [b"'" + c_string(key) + b"'" for key in keys if isinstance(key, bytes)]
    return b"-> invalidate: " + b", ".join(names) + b"\n"


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
