r"""``help COMMAND`` and ``help @group`` as redis-cli prints them, from ``COMMAND DOCS``.

redis-cli 7 builds its help table from ``COMMAND DOCS`` (``cliInitHelp``):
one entry per command and subcommand, with a parameter line assembled from
the argument specs (``cliAddArgument``), sorted by name. ``help GET`` prints
every entry whose words start with the words typed, ``help @string`` every
command of the group, each in redis-cli's colours and ``\r\n`` line ends.

Parsing and rendering are pure (:class:`CommandHelp`); :func:`load_help`
asks the server. A server without ``COMMAND DOCS`` (before 7.0) or an ACL
user without it gets entries built from ``COMMAND`` (names and arity only),
as redis-cli does on top of the help table it ships with.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from inspector.redis_io.redis_cli import Map, Reply, SetReply

__all__ = ["CommandHelp", "HelpEntry", "load_help"]

_Execute: TypeAlias = Callable[[Sequence[bytes]], Awaitable[Reply]]

_SIMPLE_TYPES = frozenset(
    {b"key", b"string", b"integer", b"double", b"pattern", b"unix-time", b"token"}
)


@dataclass(frozen=True, slots=True)
class HelpEntry:
    """One command or subcommand of the help table."""

    words: tuple[bytes, ...]
    """The name as typed, upper case: ``(b"GET",)``, ``(b"CLIENT", b"LIST")``."""
    params: bytes
    """The argument line: ``key [EX seconds|PX milliseconds|...]``."""
    summary: bytes | None
    since: bytes | None
    group: bytes | None

    @property
    def full(self) -> bytes:
        """The name as one string: ``CLIENT LIST``."""
        return b" ".join(self.words)


def _pairs(reply: Reply) -> list[tuple[Reply, Reply]]:
    """A map's pairs, whether it came as a RESP3 map or a RESP2 flat array."""
    if isinstance(reply, Map):
        return reply.pairs
    if isinstance(reply, list):
        return list(zip(reply[::2], reply[1::2], strict=False))
    return []


def _text(reply: Reply) -> bytes | None:
    return bytes(reply) if isinstance(reply, bytes) else None


def _or_empty(value: bytes) -> bytes:
    # sdscat_orempty: an empty name or token shows as "".
    return value if value else b'""'


def _arguments(arguments: Reply, separator: bytes) -> bytes:
    items = arguments if isinstance(arguments, list) else []
    return separator.join(_argument(item) for item in items)


def _argument(spec: Reply) -> bytes:
    """``cliAddArgument``: one argument spec as redis-cli writes it in a hint."""
    name = type_ = b""
    token: bytes | None = None
    nested: Reply = None
    optional = multiple = multiple_token = False
    for key, value in _pairs(spec):
        if key == b"name":
            name = _text(value) or b""
        elif key == b"token":
            token = _text(value) or b""
        elif key == b"type":
            type_ = _text(value) or b""
        elif key == b"arguments":
            nested = value
        elif key == b"flags":
            flags = value.items if isinstance(value, SetReply) else value
            for flag in flags if isinstance(flags, list) else []:
                optional = optional or flag == b"optional"
                multiple = multiple or flag == b"multiple"
                multiple_token = multiple_token or flag == b"multiple_token"
    token_part = _or_empty(token) if token is not None else b""
    if type_ in _SIMPLE_TYPES:
        repeat = _or_empty(name)
    elif type_ == b"oneof":
        repeat = _arguments(nested, b"|")
    elif type_ == b"block":
        repeat = _arguments(nested, b" ")
    else:  # pure-token, or a type this redis-cli does not know
        repeat = b""
    if token_part and type_ != b"pure-token":
        token_part += b" "
    out = b"[" if optional else b""
    out += token_part + repeat
    if multiple:
        out += b" [" + (token_part if multiple_token else b"") + repeat + b" ...]"
    return out + (b"]" if optional else b"")


def _entries(name: bytes, specs: Reply, words: tuple[bytes, ...]) -> Iterable[HelpEntry]:
    summary = since = group = None
    params = b""
    for key, value in _pairs(specs):
        if key == b"summary":
            summary = _text(value)
        elif key == b"since":
            since = _text(value)
        elif key == b"group":
            group = _text(value)
        elif key == b"arguments":
            params = _arguments(value, b" ")
        elif key == b"subcommands":
            for sub_name, sub_specs in _pairs(value):
                if isinstance(sub_name, bytes):
                    sub = sub_name.partition(b"|")[2].upper()
                    yield from _entries(sub_name, sub_specs, (*words, sub))
    yield HelpEntry(words, params, summary, since, group)


class CommandHelp:
    """redis-cli's help table: entries sorted by name, and the groups seen.

    Args:
        entries: The commands and subcommands (sorted here).
    """

    def __init__(self, entries: Iterable[HelpEntry]) -> None:
        self.entries = sorted(entries, key=lambda entry: entry.full)
        self.groups = sorted({entry.group for entry in self.entries if entry.group})

    @classmethod
    def from_docs(cls, reply: Reply) -> CommandHelp:
        """The table of a ``COMMAND DOCS`` reply (RESP2 or RESP3)."""
        entries: list[HelpEntry] = []
        for name, specs in _pairs(reply):
            if isinstance(name, bytes):
                entries.extend(_entries(name, specs, (name.upper(),)))
        return cls(entries)

    @classmethod
    def from_command(cls, reply: Reply) -> CommandHelp:
        """A table from ``COMMAND`` alone (servers before 7.0), as ``cliOldIntegrateHelp``."""
        entries: list[HelpEntry] = []
        for info in reply if isinstance(reply, list) else []:
            if not (isinstance(info, list) and len(info) >= 4):
                continue
            name, arity, _, first_key = info[:4]
            if not (isinstance(name, bytes) and isinstance(arity, int)):
                continue
            args = abs(arity) - 1
            params = b""
            if first_key == 1:
                params += b"key "
                args -= 1
            params += b"arg " * max(args, 0)
            if arity < 0:
                params += b"...options..."
            entries.append(
                HelpEntry((name.upper(),), params, b"Help not available", b"Not known", b"generic")
            )
        return cls(entries)

    def topics(self) -> list[bytes]:
        """What ``help <Tab>`` completes: ``@group`` names and command names."""
        return [b"@" + group for group in self.groups] + [entry.full for entry in self.entries]

    def render(self, topic: Sequence[bytes], *, colour: bool = True) -> bytes:
        r"""``cliOutputHelp`` for ``help WORD...`` or ``help @group`` (not for bare ``help``).

        Args:
            topic: The words after ``help`` (at least one).
            colour: redis-cli's bytes (bold name, grey arguments, yellow labels,
                ``\r\n`` line ends). ``False`` gives the same text without
                escape sequences and with ``\n`` line ends, for a screen that
                draws its own styles (the TUI's Console tab).

        Returns:
            An entry per match and a final blank line.
        """
        out = bytearray()
        group = topic[0][1:].lower() if topic and topic[0].startswith(b"@") else None
        words = [word.upper() for word in topic]
        for entry in self.entries:
            if group is None:
                if len(words) <= len(entry.words) and all(
                    word == entry.words[i] for i, word in enumerate(words)
                ):
                    out += _render_entry(entry, with_group=True)
            elif entry.group is not None and entry.group.lower() == group:
                out += _render_entry(entry, with_group=False)
        text = bytes(out) + b"\r\n"
        if colour:
            return text
        return _ESCAPES.sub(b"", text).replace(b"\r\n", b"\n")


_ESCAPES = re.compile(rb"\x1b\[[0-9;]*m")


def _render_entry(entry: HelpEntry, *, with_group: bool) -> bytes:
    # printf("%s") of a missing summary prints "(null)" in glibc.
    out = b"\r\n  \x1b[1m" + entry.full + b"\x1b[0m \x1b[90m" + entry.params + b"\x1b[0m\r\n"
    out += b"  \x1b[33msummary:\x1b[0m " + (entry.summary or b"(null)") + b"\r\n"
    if entry.since is not None:
        out += b"  \x1b[33msince:\x1b[0m " + entry.since + b"\r\n"
    if with_group:
        out += b"  \x1b[33mgroup:\x1b[0m " + (entry.group or b"(null)") + b"\r\n"
    return out


async def load_help(execute: _Execute) -> CommandHelp:
    """Ask the server for its help table: ``COMMAND DOCS``, else ``COMMAND``.

    Args:
        execute: Sends one command and returns its typed reply (a
            :class:`~inspector.redis_io.runner.CommandRunner`'s ``execute``).

    Returns:
        The table; empty when the server answers neither command.

    Raises:
        Failure: The connection failed.
    """
    docs = await execute([b"COMMAND", b"DOCS"])
    if isinstance(docs, (Map, list)):
        table = CommandHelp.from_docs(docs)
        if table.entries:
            return table
    return CommandHelp.from_command(await execute([b"COMMAND"]))
