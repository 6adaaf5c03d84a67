"""redis-cli's key and server modes, byte for byte.

``--scan``, ``--bigkeys``, ``--memkeys``, ``--hotkeys``, ``--keystats``,
``--stat``, ``--latency``, ``--latency-history`` and ``--latency-dist``.

Each mode sends what redis-cli sends and prints what it prints (the text is
built by :mod:`inspector.redis_io.cli_reports`). Two differences, both on
purpose:

- in cluster mode (``-c`` or detected) ``--scan``, ``--bigkeys``,
  ``--memkeys``, ``--hotkeys`` and ``--keystats`` cover every primary, in slot
  order, where redis-cli covers only the node it is connected to;
- ``--scan`` asks for ``COUNT 1000`` keys per round trip unless ``--count`` is
  given (redis-cli 7.0 sends no COUNT, so the server returns about 10): the
  keys and their order are the same, in a hundredth of the round trips. The
  sampling modes keep redis-cli's page size unless ``--count`` is given,
  because their progress lines print the percentage reached at each page.

Ctrl-C ends the key modes as it ends redis-cli's: after the current page,
with the summary of what was seen; the server modes stop at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from inspector.redis_io.cli_reports import (
    BIGKEYS_HEADER,
    HOTKEYS_HEADER,
    KEYSTATS_HEADER,
    LATENCY_DIST_BUCKETS,
    STAT_HEADER,
    BigKeys,
    HotKeys,
    KeyStats,
    LatencyStats,
    TypeInfo,
    latency_dist_bucket,
    latency_dist_legend,
    latency_dist_line,
    latency_line,
    stat_line,
)
from inspector.redis_io.client import StandaloneClient, open_client, round_trip
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.pipeline import pack_commands, read_replies
from inspector.redis_io.redis_cli import ErrorReply, OutputMode, c_string, quote
from inspector.redis_io.resp import error_reply
from inspector.redis_io.runner import CommandRunner
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = [
    "SCAN_MODE_COUNT",
    "ModeOptions",
    "bigkeys_mode",
    "hotkeys_mode",
    "keystats_mode",
    "latency_dist_mode",
    "latency_mode",
    "primary_endpoints",
    "scan_mode",
    "stat_mode",
]

SCAN_MODE_COUNT = 1000
"""Keys asked per SCAN round trip by ``--scan`` without ``--count``."""
_LATENCY_SAMPLE_SECONDS = 0.010
_KEYSTATS_REFRESH_SECONDS = 0.3


@dataclass(frozen=True, slots=True)
class ModeOptions:
    """What the modes take from redis-cli's flags."""

    pattern: bytes | None = None
    """``--pattern`` / ``--quoted-pattern``: SCAN MATCH."""
    count: int | None = None
    """``--count``: SCAN COUNT."""
    scan_type: bytes | None = None
    """``--type``: SCAN TYPE (``--scan`` only)."""
    interval: float = 0.0
    """``-i`` in seconds."""
    output: OutputMode = OutputMode.STANDARD
    samples: int | None = None
    """``--memkeys-samples`` / ``--keystats-samples``: MEMORY USAGE ... SAMPLES."""
    cursor: int = 0
    """``--cursor``: where ``--keystats`` starts."""
    top: int = 10
    """``--top``: how many key sizes ``--keystats`` lists."""
    tty: bool = False
    """stdout is a terminal (or ``FAKETTY`` is set): progress is redrawn."""
    mono: bool = False
    """``--mono``: the grey palette of ``--latency-dist``."""


# ---------------------------------------------------------------- nodes


async def primary_endpoints(settings: ConnectionSettings) -> list[ConnectionSettings]:
    """The nodes a key mode visits: the server, or every primary of a cluster in slot order.

    Raises:
        Failure: The server cannot be reached, or the cluster's slots cannot be read.
    """
    runner = CommandRunner(settings)
    try:
        cluster = await runner.connect()
        if not cluster:
            return [runner.settings]
        reply = await runner.execute([b"CLUSTER", b"SLOTS"])
    finally:
        await runner.aclose()
    if isinstance(reply, ErrorReply) or not isinstance(reply, list):
        text = reply.message.decode("utf-8", "replace") if isinstance(reply, ErrorReply) else ""
        raise Failure(Problem.CLUSTER, f"CLUSTER SLOTS failed on {settings.endpoint}: {text}")
    ranges: list[tuple[int, str, int]] = []
    for entry in reply:
        if not (isinstance(entry, list) and len(entry) >= 3 and isinstance(entry[2], list)):
            continue
        start, primary = entry[0], entry[2]
        address, number = primary[0], primary[1]
        if isinstance(start, int) and isinstance(address, bytes) and isinstance(number, int):
            # An empty host means "the node you asked", as in redirects.
            ranges.append((start, address.decode() or settings.host, number))
    nodes: list[ConnectionSettings] = []
    seen: set[tuple[str, int]] = set()
    for _, host, port in sorted(ranges):
        if (host, port) not in seen:
            seen.add((host, port))
            nodes.append(with_endpoint(settings, host, port))
    return nodes


@contextlib.asynccontextmanager
async def _clients(nodes: Sequence[ConnectionSettings]) -> AsyncIterator[list[StandaloneClient]]:
    clients: list[StandaloneClient] = []
    try:
        for node in nodes:
            client = await open_client(node, single_node=True)
            assert isinstance(client, StandaloneClient)
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            await client.aclose()


class _Stop:
    """Ctrl-C while a key mode runs: finish the page, then stop (redis-cli's force_cancel_loop)."""

    def __init__(self) -> None:
        self.requested = False

    def __enter__(self) -> _Stop:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self._set)
        return self

    def _set(self) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)


def _error_text(error: ResponseError) -> str:
    """The error reply as the server sent it (``ERR ...``): redis-cli prints it whole."""
    return error_reply(error).message.decode("utf-8", "replace")


def _fail(client: StandaloneClient, error: ResponseError, text: str, command: str) -> Failure:
    """redis-cli's line for an error reply; NOPERM and unknown commands keep exit 4."""
    described = describe_failure(error, client.settings, command=command)
    if described.problem in (Problem.NO_PERMISSION, Problem.UNKNOWN_COMMAND):
        return Failure(described.problem, f"{text} ({described.message})")
    return Failure(Problem.OTHER, text)


async def _pipeline(client: StandaloneClient, commands: Sequence[tuple[bytes, ...]]) -> list[Any]:
    """One round trip of commands, replies parsed by hiredis straight off the socket.

    The sampling modes send two such pipelines per SCAN page, like redis-cli;
    reading each reply through redis-py's connection costs more than the server
    spends on it, so the whole batch is fed to one ``hiredis.Reader``
    (:func:`~inspector.redis_io.pipeline.read_replies`). Error replies come back
    in place as redis-py's exceptions (``NoPermissionError``...).
    """
    if not commands:
        return []
    pool = client.connection_pool
    connection = await pool.get_connection()
    try:
        await connection.send_packed_command(pack_commands(commands), check_health=False)
        replies = await read_replies(connection, len(commands))
    except BaseException:
        # Replies left unread would poison the next command on this connection.
        await connection.disconnect()
        raise
    finally:
        await pool.release(connection)
    return replies


async def _call(client: Redis, *args: Any) -> Any:
    return await client.execute_command(*args)


async def _dbsize(client: StandaloneClient) -> int:
    try:
        async with round_trip():
            size = await _call(client, "DBSIZE")
    except ResponseError as exc:
        raise _fail(
            client, exc, f"Couldn't determine DBSIZE: {_error_text(exc)}", "DBSIZE"
        ) from exc
    return int(size)


def _scan_args(cursor: int, options: ModeOptions, *, with_type: bool) -> list[Any]:
    args: list[Any] = ["SCAN", cursor]
    if options.pattern is not None:
        args += ["MATCH", options.pattern]
    if options.count is not None:
        args += ["COUNT", options.count]
    if with_type and options.scan_type is not None:
        args += ["TYPE", options.scan_type]
    return args


async def _scan_pages(
    client: StandaloneClient,
    options: ModeOptions,
    stop: _Stop,
    *,
    cursor: int = 0,
    with_type: bool = False,
    on_cursor: Callable[[int], None] | None = None,
) -> AsyncIterator[list[bytes]]:
    """SCAN one node page by page (redis-cli's ``sendScan``), until done or Ctrl-C."""
    while True:
        try:
            async with round_trip():
                cursor, keys = await _call(
                    client, *_scan_args(cursor, options, with_type=with_type)
                )
        except ResponseError as exc:
            raise _fail(client, exc, f"SCAN error: {_error_text(exc)}", "SCAN") from exc
        cursor = int(cursor)
        if on_cursor is not None:
            on_cursor(cursor)
        yield [bytes(key) for key in keys]
        if cursor == 0 or stop.requested:
            return


# ---------------------------------------------------------------- --scan


async def scan_mode(settings: ConnectionSettings, options: ModeOptions, out: BinaryIO) -> int:
    """``--scan``: every key name (matching ``--pattern``/``--type``), one per line.

    Quoted as redis-cli quotes them on a terminal; raw otherwise (up to a NUL
    byte, as redis-cli's ``printf("%s")``).
    """
    if options.count is None:
        options = _with_count(options, SCAN_MODE_COUNT)
    standard = options.output is OutputMode.STANDARD
    nodes = await primary_endpoints(settings)
    with _Stop() as stop:
        async with _clients(nodes) as clients:
            for client in clients:
                async for keys in _scan_pages(client, options, stop, with_type=True):
                    if keys:
                        if standard:
                            out.write(b"\n".join(map(quote, keys)) + b"\n")
                        else:
                            text = b"\n".join(keys) + b"\n"
                            if b"\0" in text:
                                text = b"".join(c_string(key) + b"\n" for key in keys)
                            out.write(text)
                    if options.interval:
                        out.flush()
                        await asyncio.sleep(options.interval)
                if stop.requested:
                    break
    out.flush()
    return 0


def _with_count(options: ModeOptions, count: int) -> ModeOptions:
    from dataclasses import replace

    return replace(options, count=count)


# ---------------------------------------------------------------- the sampling modes


@dataclass(slots=True)
class _Page:
    keys: list[bytes]
    cursor: int
    """The cursor SCAN returned with this page (0: the node's last page)."""
    types: list[TypeInfo | None] | None = None


def _scan_reply(client: StandaloneClient, reply: Any) -> tuple[int, list[bytes]]:
    if isinstance(reply, ResponseError):
        raise _fail(client, reply, f"SCAN error: {_error_text(reply)}", "SCAN")
    cursor, keys = reply
    return int(cursor), [bytes(key) for key in keys]


def _type_names(replies: list[Any], client: StandaloneClient) -> list[bytes]:
    for reply in replies:
        if not isinstance(reply, bytes):
            error = reply if isinstance(reply, ResponseError) else ResponseError(repr(reply))
            raise _fail(client, error, f"TYPE returned an error: {_error_text(error)}", "TYPE")
    return replies


async def _walk(
    client: StandaloneClient,
    options: ModeOptions,
    stop: _Stop,
    *,
    typed: Callable[[list[bytes]], list[TypeInfo | None]] | None,
    commands: Callable[[_Page], list[tuple[bytes, ...]]],
    consume: Callable[[_Page, list[Any]], None],
    cursor: int = 0,
) -> int:
    """SCAN one node and, per page, TYPE and then the per-key commands, as redis-cli does.

    redis-cli spends three round trips per page (SCAN, the TYPEs, the sizes),
    each waiting for the one before. The same commands are sent here, in the
    same order per page, but overlapped: one round trip carries the sizes of
    page N, the TYPEs of page N+1 and the SCAN of page N+2. Pages are still
    accounted for one after the other, so the output (progress percentages,
    the type table's order) is redis-cli's.

    Args:
        client: The node.
        options: ``--pattern``, ``--count``, ``-i``.
        stop: Ctrl-C: pages not yet typed are dropped, the page in hand is finished.
        typed: Looks up a page's TYPE replies (``None``: no TYPE stage).
        commands: The per-key commands of a page (after its types are known).
        consume: Accounts for a page, given the replies to its commands.
        cursor: Where the scan starts.

    Returns:
        The cursor after the last page accounted for (0 when the node is done).
    """
    last = cursor
    pages = 0
    scan_cursor: int | None = cursor  # the next SCAN to send; None: the node is done
    scanned: _Page | None = None  # keys known, TYPEs not asked yet
    ready: _Page | None = None  # TYPEs known, commands not asked yet
    while scan_cursor is not None or scanned is not None or ready is not None:
        if stop.requested:
            scan_cursor, scanned = None, None
            if ready is None:
                break
        planned = commands(ready) if ready is not None else []
        typing = scanned if typed is not None else None
        batch = list(planned)
        if typing is not None:
            batch += [(b"TYPE", key) for key in typing.keys]
        if scan_cursor is not None:
            batch.append(tuple(map(_arg, _scan_args(scan_cursor, options, with_type=False))))
        async with round_trip():
            replies = await _pipeline(client, batch)
        at = 0
        if ready is not None:
            consume(ready, replies[: len(planned)])
            at = len(planned)
            last = ready.cursor
            ready = None
            pages += 1
            if options.interval and pages % 100 == 0:
                await asyncio.sleep(options.interval)
        if typing is not None:
            assert typed is not None
            typing.types = typed(_type_names(replies[at : at + len(typing.keys)], client))
            at += len(typing.keys)
            ready, scanned = typing, None
        if scan_cursor is not None:
            page_cursor, keys = _scan_reply(client, replies[at])
            page = _Page(keys, page_cursor)
            scan_cursor = page_cursor or None
            if typed is None:
                ready = page
            else:
                scanned = page
    return last


def _arg(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def _memory_command(key: bytes, samples: int | None) -> tuple[bytes, ...]:
    if samples is None:
        return (b"MEMORY", b"USAGE", key)
    return (b"MEMORY", b"USAGE", key, b"SAMPLES", b"%d" % samples)


def _sizes(
    page: _Page,
    replies: Sequence[Any],
    asked: Sequence[int],
    label: Callable[[TypeInfo], bytes],
    err: BinaryIO,
) -> list[int]:
    """``getKeySizes``: each asked key's integer reply; a failed one warns and counts 0."""
    sizes = [0] * len(page.keys)
    assert page.types is not None
    for index, reply in zip(asked, replies, strict=True):
        if isinstance(reply, int) and not isinstance(reply, bool):
            sizes[index] = reply
        else:
            info = page.types[index]
            assert info is not None
            err.write(
                b"Warning:  %s on '%s' failed (may have changed type)\n"
                % (label(info), c_string(page.keys[index]))
            )
    return sizes


async def _total_keys(clients: Sequence[StandaloneClient]) -> int:
    total = 0
    for client in clients:
        total += await _dbsize(client)
    return total


# ---------------------------------------------------------------- --bigkeys / --memkeys


async def bigkeys_mode(
    settings: ConnectionSettings,
    options: ModeOptions,
    out: BinaryIO,
    err: BinaryIO,
    *,
    memkeys: bool,
) -> int:
    """``--bigkeys`` (sizes by element count) or ``--memkeys`` (by ``MEMORY USAGE``)."""
    nodes = await primary_endpoints(settings)
    async with _clients(nodes) as clients:
        report = BigKeys(await _total_keys(clients), memkeys=memkeys)
        out.write(BIGKEYS_HEADER)

        def label(info: TypeInfo) -> bytes:
            return b"MEMORY USAGE" if memkeys else info.size_command or b""

        def asked(page: _Page) -> list[int]:
            assert page.types is not None
            return [i for i, info in enumerate(page.types) if report.wants_size(info)]

        def commands(page: _Page) -> list[tuple[bytes, ...]]:
            assert page.types is not None
            planned: list[tuple[bytes, ...]] = []
            for i in asked(page):
                info = page.types[i]
                assert info is not None
                if memkeys:
                    planned.append(_memory_command(page.keys[i], options.samples))
                else:
                    assert info.size_command is not None
                    planned.append((info.size_command, page.keys[i]))
            return planned

        def consume(page: _Page, replies: list[Any]) -> None:
            assert page.types is not None
            sizes = _sizes(page, replies, asked(page), label, err)
            out.write(report.add_page(page.keys, page.types, sizes))

        with _Stop() as stop:
            for client in clients:
                await _walk(
                    client, options, stop, typed=report.types, commands=commands, consume=consume
                )
                if stop.requested:
                    break
            out.write(report.summary(interrupted=stop.requested))
    out.flush()
    return 0


# ---------------------------------------------------------------- --hotkeys


async def hotkeys_mode(
    settings: ConnectionSettings, options: ModeOptions, out: BinaryIO, err: BinaryIO
) -> int:
    """``--hotkeys``: the keys with the highest ``OBJECT FREQ`` (needs an LFU maxmemory-policy).

    Raises:
        Failure: ``OBJECT FREQ`` answered an error, typically ``ERR An LFU
            maxmemory policy is not selected...`` (printed as redis-cli prints it).
    """
    nodes = await primary_endpoints(settings)
    async with _clients(nodes) as clients:
        report = HotKeys(await _total_keys(clients))
        out.write(HOTKEYS_HEADER)
        current: list[StandaloneClient] = []

        def commands(page: _Page) -> list[tuple[bytes, ...]]:
            return [(b"OBJECT", b"FREQ", key) for key in page.keys]

        def consume(page: _Page, replies: list[Any]) -> None:
            freqs: list[int] = []
            for key, reply in zip(page.keys, replies, strict=True):
                if isinstance(reply, ResponseError):
                    out.flush()
                    raise _fail(current[0], reply, f"Error: {_error_text(reply)}", "OBJECT")
                if isinstance(reply, int):
                    freqs.append(reply)
                else:
                    err.write(
                        b"Warning: OBJECT freq on '%s' failed (may have been deleted)\n"
                        % quote(key)
                    )
                    freqs.append(0)
            out.write(report.add_page(page.keys, freqs))

        with _Stop() as stop:
            for client in clients:
                current[:] = [client]
                await _walk(client, options, stop, typed=None, commands=commands, consume=consume)
                if stop.requested:
                    break
            out.write(report.summary(interrupted=stop.requested))
    out.flush()
    return 0


# ---------------------------------------------------------------- --keystats


async def keystats_mode(
    settings: ConnectionSettings, options: ModeOptions, out: BinaryIO, err: BinaryIO
) -> int:
    """``--keystats`` as redis-cli 7.4 runs it.

    ``--memkeys`` and ``--bigkeys`` in one pass, the top key sizes, and the
    distributions of key sizes and name lengths. (redis-cli asks TYPE twice
    per key, once per table; one answer serves both here.)
    """
    nodes = await primary_endpoints(settings)
    async with _clients(nodes) as clients:
        stats = KeyStats(await _total_keys(clients), top=options.top)
        out.write(KEYSTATS_HEADER)
        refreshed = time.monotonic()
        length_types: dict[int, list[TypeInfo | None]] = {}

        def typed(names: list[bytes]) -> list[TypeInfo | None]:
            memory = [stats.memory.lookup(name) for name in names]
            length = [stats.length.lookup(name) for name in names]
            length_types[id(memory)] = length
            return memory

        def plan(page: _Page) -> tuple[list[int], list[int]]:
            assert page.types is not None
            lengths = length_types[id(page.types)]
            memory = [i for i, info in enumerate(page.types) if info is not None]
            sized = [i for i, info in enumerate(lengths) if info is not None and info.size_command]
            return memory, sized

        def commands(page: _Page) -> list[tuple[bytes, ...]]:
            memory, sized = plan(page)
            lengths = length_types[id(page.types)]
            return [_memory_command(page.keys[i], options.samples) for i in memory] + [
                (lengths[i].size_command or b"", page.keys[i])  # type: ignore[union-attr]
                for i in sized
            ]

        def consume(page: _Page, replies: list[Any]) -> None:
            nonlocal refreshed
            assert page.types is not None
            memory, sized = plan(page)
            lengths = length_types.pop(id(page.types))
            memory_sizes = _sizes(
                page, replies[: len(memory)], memory, lambda _: b"MEMORY USAGE", err
            )
            length_page = _Page(page.keys, page.cursor, lengths)
            length_sizes = _sizes(
                length_page,
                replies[len(memory) :],
                sized,
                lambda info: info.size_command or b"",
                err,
            )
            stats.add_page(page.keys, page.types, memory_sizes, lengths, length_sizes)
            if options.tty and time.monotonic() > refreshed + _KEYSTATS_REFRESH_SECONDS:
                lines = stats.progress(tty=True)
                out.write(b"".join(b"\x1b[2K\r" + line + b"\n" for line in lines))
                out.write(b"\x1b[%dA\r" % len(lines))
                out.flush()
                refreshed = time.monotonic()

        last_cursor = 0
        with _Stop() as stop:
            for number, client in enumerate(clients):
                last_cursor = await _walk(
                    client,
                    options,
                    stop,
                    typed=typed,
                    commands=commands,
                    consume=consume,
                    cursor=options.cursor if number == 0 else 0,
                )
                if stop.requested:
                    break
            out.write(stats.final(tty=options.tty, cursor=last_cursor if stop.requested else 0))
    out.flush()
    return 0


# ---------------------------------------------------------------- --stat and --latency


class _Reconnecting:
    """One connection for the server modes, re-opened as redis-cli re-opens it.

    Like ``reconnectingRedisCommand``: ``Reconnecting... N`` once a second.
    """

    def __init__(self, settings: ConnectionSettings, out: BinaryIO) -> None:
        self.settings = settings
        self.out = out
        self.client: StandaloneClient | None = None

    async def open(self) -> None:
        client = await open_client(self.settings, single_node=True)
        assert isinstance(client, StandaloneClient)
        # INFO as the server wrote it: getInfoField reads the text, not a dict.
        client.set_response_callback("INFO", lambda response, **_: response)
        self.client = client

    async def call(self, *args: Any) -> Any:
        tries = 0
        while True:
            if self.client is None:
                tries += 1
                self.out.write(b"\r\x1b[0KReconnecting... %d\r" % tries)
                self.out.flush()
                try:
                    await self.open()
                except Failure:
                    await asyncio.sleep(1)
                    continue
                self.out.write(b"\r\x1b[0K")
            try:
                async with round_trip():
                    return await self.client.execute_command(*args)  # type: ignore[union-attr]
            except ResponseError:
                raise
            except Exception as exc:
                if not _is_disconnect(exc):
                    raise
                await self.aclose()

    async def aclose(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            with contextlib.suppress(Exception):
                await client.aclose()


def _is_disconnect(exc: BaseException) -> bool:
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError))


async def stat_mode(settings: ConnectionSettings, options: ModeOptions, out: BinaryIO) -> int:
    """``--stat``: a line of keys, memory, clients, requests... every ``-i`` seconds (default 1)."""
    interval = options.interval or 1.0
    link = _Reconnecting(settings, out)
    await link.open()
    previous = 0
    lines = 0
    try:
        while True:
            try:
                info = await link.call("INFO")
            except ResponseError as exc:
                raise Failure(Problem.OTHER, f"ERROR: {_error_text(exc)}") from exc
            if lines % 20 == 0:
                out.write(STAT_HEADER)
            lines += 1
            line, previous = stat_line(bytes(info), previous)
            out.write(line)
            out.flush()
            await asyncio.sleep(interval)
    finally:
        await link.aclose()


def _ms() -> int:
    return time.time_ns() // 1_000_000


def _us() -> int:
    return time.time_ns() // 1_000


async def latency_mode(
    settings: ConnectionSettings, options: ModeOptions, out: BinaryIO, *, history: bool
) -> int:
    """``--latency`` / ``--latency-history``: PING round trips, min/max/avg in milliseconds.

    On a terminal the line is redrawn forever (``--latency-history`` starts a
    new line every ``-i`` seconds, default 15); otherwise ``--latency``
    samples for ``-i`` seconds (default 1), prints one line and exits.
    """
    mode = options.output.value
    interval_ms = int(options.interval * 1000) if options.interval else 1000
    history_ms = int(options.interval * 1000) if options.interval else 15000
    link = _Reconnecting(settings, out)
    await link.open()
    stats = LatencyStats()
    history_start = _ms()
    try:
        while True:
            start = _ms()
            await link.call("PING")
            stats.add(_ms() - start)
            if options.output is OutputMode.STANDARD:
                out.write(b"\x1b[0G\x1b[2K" + latency_line(stats, mode))
                out.flush()
            elif history:
                out.write(latency_line(stats, mode))
                out.flush()
            elif _ms() - history_start > interval_ms:
                out.write(latency_line(stats, mode))
                out.flush()
                return 0
            if history and _ms() - history_start > history_ms:
                out.write(b" -- %.2f seconds range\n" % ((_ms() - history_start) / 1000))
                out.flush()
                history_start = _ms()
                stats.reset()
            await asyncio.sleep(_LATENCY_SAMPLE_SECONDS)
    finally:
        await link.aclose()


async def latency_dist_mode(
    settings: ConnectionSettings, options: ModeOptions, out: BinaryIO
) -> int:
    """``--latency-dist``: a spectrum line per ``-i`` seconds (default 1), in 256-colour text."""
    interval_ms = int(options.interval * 1000) if options.interval else 1000
    link = _Reconnecting(settings, out)
    await link.open()
    counts = [0] * len(LATENCY_DIST_BUCKETS)
    count = 0
    outputs = 0
    history_start = _us()
    try:
        while True:
            start = _us()
            await link.call("PING")
            counts[latency_dist_bucket(_us() - start)] += 1
            count += 1
            if (_us() - history_start) // 1000 > interval_ms:
                if outputs % 20 == 0:
                    out.write(latency_dist_legend(mono=options.mono))
                outputs += 1
                out.write(latency_dist_line(counts, count, mono=options.mono))
                out.flush()
                counts = [0] * len(LATENCY_DIST_BUCKETS)
                history_start = _us()
                count = 0
            await asyncio.sleep(_LATENCY_SAMPLE_SECONDS)
    finally:
        await link.aclose()
