r"""MONITOR's output, parsed incrementally: one typed command per line, at stream speed.

What Redis sends a MONITOR client (``replicationFeedMonitors`` in
``replication.c``, the same in Redis 6.x-8.x and Valkey): ``+OK``, then one
RESP status line per command it executes::

    +1700000000.123456 [0 127.0.0.1:50312] "hset" "spring:session:sessions:e1..." "k" "v"
    +1700000000.123500 [0 [::1]:50313] "get" "k"
    +1700000000.123600 [0 unix:/run/redis.sock] "set" "a" "1"
    +1700000000.123700 [0 lua] "set" "k" "v"

The address is ``ip:port`` (``[v6]:port``), ``unix:<socket path>`` or ``lua``
(a command run by a script, on behalf of the connection that called it).
Each argument is quoted by ``sdscatrepr``: ``\\``, ``\"``, ``\n``, ``\r``,
``\t``, ``\a``, ``\b`` and ``\xHH`` for every other byte outside 0x20-0x7e, so a
line never holds a raw CR or LF and data arrives in chunks that split lines
anywhere.

:class:`MonitorStream` takes those chunks as they come off the socket. It can
restrict itself to the commands the caller cares about (a regular expression
finds them at C speed; every other line is only counted), skip chunks
wholesale when the reader has fallen behind (counting lines, keeping the
newest timestamp and any line holding a marker), and bounds the partial line it
keeps: a line longer than ``max_line`` is parsed from its first ``max_line``
bytes (marked truncated) and the rest thrown away. Pure: bytes in, typed
commands out; never raises on what the server sends.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Collection
from dataclasses import dataclass, field

__all__ = [
    "MAX_LINE",
    "MONITOR_COST",
    "MONITOR_COSTS",
    "MonitorCommand",
    "MonitorCost",
    "MonitorStream",
    "Skipped",
    "monitor_cost_summary",
    "parse_monitor_line",
    "split_address",
    "unquote",
]

MAX_LINE = 1 << 20
"""Longest partial line kept (bytes); longer lines are parsed from their start."""

_OK = b"+OK\r\n"
_CRLF = b"\r\n"

# The start of a line: time, db and address (an IPv6 address brings brackets of
# its own: `[::1]:6379`). The quoted words follow, each with a leading space.
_HEAD = rb"\+?(\d+)\.(\d+) \[(\d+) (\[[^\]]*\]:\d+|[^\]]*)\]"
_LINE = re.compile(_HEAD, re.DOTALL)
# One quoted argument with its leading space (unrolled: no backtracking).
_ARG = re.compile(rb' "([^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL)
_ESCAPE = re.compile(rb"\\(?:x([0-9a-fA-F]{2})|(.))", re.DOTALL)
# What sdscatrepr never writes: an escape outside its set, a short \x. Such
# text takes the slow path (codecs.escape_decode would read octal or warn).
_UNUSUAL_ESCAPE = re.compile(rb"\\[^\\\"nrtabx]|\\x(?![0-9a-fA-F]{2})|\\$")
_SIMPLE_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}
_TIME = re.compile(rb"\+?(\d+)\.(\d+) ")


@dataclass(frozen=True, slots=True)
class MonitorCommand:
    """One command as MONITOR reported it."""

    time_us: int
    """Server time the command ran, in microseconds since the epoch."""
    db: int
    client: str
    """The connection, as Redis printed it: ``ip:port``, ``[v6]:port``, ``unix:<path>``, ``lua``."""
    args: tuple[bytes, ...]
    """Command name and arguments, unescaped (the name as the client spelled it)."""
    truncated: bool = False
    """The line was longer than the stream keeps: ``args`` holds the ones that fit."""
    name: bytes = field(init=False, compare=False, repr=False)
    """The command name in lower case (``b"hset"``), ``b""`` if there is none."""

    def __post_init__(self) -> None:
        # Asked for several times per command on the hot path: computed once.
        object.__setattr__(self, "name", self.args[0].lower() if self.args else b"")

    @property
    def from_script(self) -> bool:
        """Run by a Lua script (or function), not directly by a connection."""
        return self.client == "lua"


@dataclass(frozen=True, slots=True)
class Skipped:
    """What :meth:`MonitorStream.skip` passed over."""

    lines: int
    last_time_us: int | None
    """Server time of the newest complete line skipped, when there was one."""
    marked: tuple[MonitorCommand, ...]
    """The lines that held the marker, parsed anyway."""


def unquote(data: bytes) -> bytes:
    r"""Undo ``sdscatrepr``'s escaping of one argument (without its quotes).

    ``\xHH`` is a byte, ``\n \r \t \a \b`` their control characters, and any
    other escaped character stands for itself (``\\`` and ``\"``), as
    ``sdssplitargs`` reads them.
    """
    if b"\\" not in data:
        return data
    if _UNUSUAL_ESCAPE.search(data) is None:
        # C speed, 30x the regex below; exactly sdscatrepr's inverse on its own output.
        return codecs.escape_decode(data)[0]
    return _ESCAPE.sub(_unescape, data)


def _unescape(match: re.Match[bytes]) -> bytes:
    hex_digits, char = match.group(1), match.group(2)
    if hex_digits is not None:
        return bytes((int(hex_digits, 16),))
    return _SIMPLE_ESCAPES.get(char, char)


def split_address(client: str) -> tuple[str, int] | None:
    """``("10.0.1.23", 50312)`` from ``10.0.1.23:50312`` or ``[fd00::1]:50312``.

    ``None`` for ``lua``, ``unix:...`` and anything else without a TCP port.
    """
    host, sep, port = client.rpartition(":")
    if not sep or not port.isdigit() or not host or client.startswith("unix:"):
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def parse_monitor_line(line: bytes) -> MonitorCommand | None:
    """Parse one line (with or without its leading ``+`` and trailing CRLF).

    Returns:
        The command, or ``None`` when the line is not a MONITOR line (``+OK``,
        an error, garbage).
    """
    if line.endswith(_CRLF):
        line = line[:-2]
    head = _LINE.match(line)
    if head is None:
        return None
    return _command(head, line, len(line), truncated=False)


def _micros(seconds: bytes, fraction: bytes) -> int:
    """Epoch microseconds from MONITOR's ``%ld.%06ld``."""
    if len(fraction) != 6:  # never from Redis; read it as a decimal fraction anyway
        fraction = fraction[:6].ljust(6, b"0")
    return int(seconds) * 1_000_000 + int(fraction)


def _line_start(data: bytes, at: int) -> int:
    """Where the line holding position ``at`` starts."""
    previous = data.rfind(_CRLF, 0, at)
    return 0 if previous < 0 else previous + 2


def _command(
    head: re.Match[bytes], line: bytes, end: int, *, truncated: bool
) -> MonitorCommand | None:
    """The command whose header ``head`` matched in ``line``, arguments up to ``end``."""
    position = head.end()
    args = _ARG.findall(line, position, end)
    # Each match spans its word plus three bytes (` "` and `"`): anything left
    # over means a malformed line, unless it was cut short on purpose.
    if not args or (sum(map(len, args)) + 3 * len(args) != end - position and not truncated):
        return None
    seconds, fraction, db, client = head.groups()
    return MonitorCommand(
        time_us=_micros(seconds, fraction),
        db=int(db),
        client=client.decode("latin-1"),  # an address: ASCII, but never a reason to fail
        args=tuple(args) if line.find(b"\\", position, end) < 0 else tuple(map(unquote, args)),
        truncated=truncated,
    )


class MonitorStream:
    """Turns MONITOR's byte stream into commands, chunk by chunk.

    Args:
        commands: Only these command names (lower case, e.g. ``{b"hset"}``) are
            parsed; every other line is counted in :attr:`lines` and passed over
            without building anything. ``None`` parses every line.
        expect_ok: The stream starts with the reply to ``MONITOR`` itself:
            ``+OK`` is consumed, and an error reply (``-NOPERM ...``, ``-ERR
            unknown command``) is kept in :attr:`refused` and ends the stream.
        max_line: Longest partial line kept between chunks (bytes).
    """

    def __init__(
        self,
        *,
        commands: Collection[bytes] | None = None,
        expect_ok: bool = True,
        max_line: int = MAX_LINE,
    ) -> None:
        self.lines = 0
        """Complete lines seen (parsed, passed over or skipped)."""
        self.parsed = 0
        """Commands returned."""
        self.malformed = 0
        """Lines that looked like none of MONITOR's (only counted when parsing every line)."""
        self.truncated = 0
        """Lines longer than ``max_line``."""
        self.refused: bytes | None = None
        """The error MONITOR itself was answered with, if it was refused."""
        self.started = not expect_ok
        """The ``+OK`` arrived (or was not expected)."""
        self.last_time_us: int | None = None
        """Server time of the newest complete line (parsed or not): how far the reader is."""
        self._max_line = max_line
        self._pending = b""
        self._discarding = False
        """Inside a too-long line whose start was already parsed."""
        self._filter: re.Pattern[bytes] | None = None
        if commands is not None:
            names = b"|".join(re.escape(name) for name in sorted(commands, key=len, reverse=True))
            # The header's groups, then the name as a lookahead: a match ends
            # where _LINE's does, so the line is parsed without matching twice.
            self._filter = re.compile(
                rb"^" + _HEAD + rb'(?= "(?:' + names + rb')"(?: |\r|$))',
                re.MULTILINE | re.IGNORECASE,
            )

    # ------------------------------------------------------------ public

    def feed(self, data: bytes) -> list[MonitorCommand]:
        """Parse a chunk; returns the commands its complete lines hold, in order."""
        out: list[MonitorCommand] = []
        buffer = self._take(data)
        if buffer is not None:
            complete = self._split(buffer, out)
            if complete:
                self.lines += complete.count(_CRLF)
                self._note_time(complete)
                if self._filter is not None:
                    self._feed_filtered(complete, out)
                else:
                    self._feed_all(complete, out)
        self.parsed += len(out)
        return out

    def skip(self, data: bytes, marker: bytes | None = None) -> Skipped:
        """Pass over a chunk without parsing it (the reader is behind and drops lines).

        Lines are counted; the newest complete line's time is read so the
        caller knows when it has caught up; lines holding ``marker`` are parsed
        and returned anyway (a reader's own sync markers must not be lost).
        """
        buffer = self._take(data)
        if buffer is None:
            return Skipped(0, None, ())
        complete = self._split(buffer, None)
        if not complete:
            return Skipped(0, None, ())
        count = complete.count(_CRLF)
        self.lines += count
        last = self._note_time(complete)
        marked: list[MonitorCommand] = []
        if marker is not None:
            at = complete.find(marker)
            while at >= 0:
                line_end = complete.find(_CRLF, at)
                command = parse_monitor_line(complete[_line_start(complete, at) : line_end])
                if command is not None:
                    marked.append(command)
                at = complete.find(marker, line_end)
        self.parsed += len(marked)
        return Skipped(count, last, tuple(marked))

    # ------------------------------------------------------------ internals

    def _take(self, data: bytes) -> bytes | None:
        """The bytes to work on (pending + data), after the MONITOR reply; ``None`` to wait."""
        buffer = self._pending + data if self._pending else data
        self._pending = b""
        if self._discarding:
            end = buffer.find(_CRLF)
            if end < 0:
                if buffer.endswith(b"\r"):
                    self._pending = b"\r"  # the CR of the CRLF that ends it may be here
                return None
            self._discarding = False
            self.lines += 1
            buffer = buffer[end + 2 :]
        if not self.started:
            if self.refused is not None:
                return None
            end = buffer.find(_CRLF)
            if end < 0:
                self._pending = buffer[: self._max_line]
                return None
            reply, buffer = buffer[:end], buffer[end + 2 :]
            if reply.startswith(b"-"):
                self.refused = reply[1:]
                return None
            self.started = True  # `+OK` (anything else would be a protocol surprise: go on)
        return buffer

    def _note_time(self, complete: bytes) -> int | None:
        """Read the newest line's time (complete lines only), keep it, return it."""
        stamp = _TIME.match(complete, _line_start(complete, len(complete) - 2))
        if stamp is None:
            return None
        self.last_time_us = _micros(stamp.group(1), stamp.group(2))
        return self.last_time_us

    def _split(self, buffer: bytes, out: list[MonitorCommand] | None) -> bytes:
        """The complete lines of ``buffer``; the partial last line is kept for later.

        A partial line longer than ``max_line`` is not kept: its start is parsed
        (into ``out``, when given) and the rest of it thrown away as it arrives.
        """
        end = buffer.rfind(_CRLF)
        complete, partial = (b"", buffer) if end < 0 else (buffer[: end + 2], buffer[end + 2 :])
        if len(partial) <= self._max_line:
            self._pending = partial
            return complete
        self._discarding = True
        self.truncated += 1
        self._pending = b"\r" if partial.endswith(b"\r") else b""  # half of the CRLF
        if out is not None and (self._filter is None or self._filter.match(partial)):
            head = _LINE.match(partial)
            if head is not None:
                command = _command(head, partial, len(partial), truncated=True)
                if command is not None:
                    out.append(command)
        return complete

    def _feed_all(self, complete: bytes, out: list[MonitorCommand]) -> None:
        for line in complete.split(_CRLF)[:-1]:
            command = parse_monitor_line(line)
            if command is None:
                self.malformed += 1
            else:
                out.append(command)

    def _feed_filtered(self, complete: bytes, out: list[MonitorCommand]) -> None:
        assert self._filter is not None
        find = complete.find
        for head in self._filter.finditer(complete):
            command = _command(head, complete, find(_CRLF, head.end()), truncated=False)
            if command is not None:
                out.append(command)


@dataclass(frozen=True, slots=True)
class MonitorCost:
    """What MONITOR costs a server, as ``benchmarks/bench_monitor.py`` measured it.

    Capacity is one second over the server's CPU time per command (its main
    thread, ``INFO cpu``): the rate one core sustains. Measured wall-clock
    throughput says the same on a quiet machine, but swings with every other
    process on a shared one.
    """

    baseline_ops: int
    """Server capacity without any MONITOR client (requests/s)."""
    monitored_ops: int
    """The same load with the inspector's MONITOR reader attached."""
    load: str
    """The load that was measured."""

    @property
    def percent(self) -> int:
        """Capacity lost, in percent."""
        return round(100 * (1 - self.monitored_ops / self.baseline_ops))


MONITOR_COSTS = (
    MonitorCost(366_000, 108_000, "pipelined session writes (HSET, -P 16)"),
    MonitorCost(55_000, 38_000, "50 clients, one request at a time"),
)
"""Worst case first (every command is a write MONITOR must format and send), then a
web app's kind of load; redis-server 7.0 on a 2-core VM (README "What MONITOR costs")."""
MONITOR_COST = MONITOR_COSTS[0]


def monitor_cost_summary() -> str:
    """One line for help texts and the TUI's Server tab."""
    worst, typical = MONITOR_COSTS
    return (
        f"MONITOR cost the server {worst.percent}% of its capacity in our benchmark "
        f"({worst.baseline_ops:,} -> {worst.monitored_ops:,} requests/s on {worst.load}), "
        f"{typical.percent}% with {typical.load}"
    )
