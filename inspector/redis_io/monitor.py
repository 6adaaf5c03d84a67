"""Attribution by connection: MONITOR on every primary, read fast, tied to the feed's events.

:class:`MonitorAttribution` keeps one MONITOR connection per primary (every
primary of a cluster, followed through failovers and resharding) and hands
what it reads to a pure :class:`~inspector.core.attribution.Attributor`.
:meth:`MonitorAttribution.attribute` then names the container behind each
request event the live feed produced.

Honest about its cost and limits:

* **Read fast or drop.** Chunks come straight off the socket into
  :class:`~inspector.core.monitor.MonitorStream`, which parses only the
  commands attribution needs. When the newest line read is more than
  ``lag_limit`` seconds older than the server's clock, the reader skips
  (counts) lines until it has caught up, and says how many it dropped; nothing
  is queued on our side.
* **Never buffered without bound on the server.** Redis keeps what a slow
  MONITOR client has not read in that client's output buffer (no limit by
  default). A watchdog reads our connection's ``omem`` and cuts the connection
  when it passes ``omem_limit``; when Redis itself closes it at its
  ``client-output-buffer-limit``, that is detected (INFO counters where the
  server has them, else how far behind we were) and said, and MONITOR
  re-attached.
* **Refused MONITOR** (an ACL user without ``+monitor``, a managed service
  that blocks or renames it): one notice, and every request is attributed by
  the session's host attribute instead.

Which write an event came from: before attributing a batch, an ``ECHO`` of a
sync marker is sent to every monitored primary; once each MONITOR stream has
shown its marker, everything the feed's read could have seen has been read
(see :mod:`inspector.core.attribution`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import os
import socket
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError, ResponseError

from inspector.core.attribution import (
    STREAM_COMMANDS,
    SYNC_PREFIX,
    AttributedItem,
    AttributedRequest,
    AttributionNotice,
    AttributionNoticeKind,
    Attributor,
    Decision,
    parse_client_list,
    parse_hosts,
)
from inspector.core.changes import EventKind, RequestEvent
from inspector.core.monitor import MONITOR_COSTS, MonitorCost, MonitorStream, monitor_cost_summary
from inspector.core.pinned import PinnedAPIError, require_members
from inspector.core.source import SourceItem
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.connection import connection_class_and_kwargs
from inspector.redis_io.errors import Failure, describe_failure
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = [
    "CHUNK",
    "AttributionMonitor",
    "MonitorAttribution",
    "MonitorStats",
    "MonitorStatus",
    "Resolver",
    "attribute_items",
    "hosts_file_resolver",
    "system_resolver",
]

CHUNK = 256 * 1024
"""Bytes read from a MONITOR socket at a time."""
_MONITOR = b"*1\r\n$7\r\nMONITOR\r\n"
_MAX_BACKOFF = 5.0
_FULL_READ = 64 * 1024
"""A read this large found the socket's buffer full (asyncio's stream limit): a backlog."""
_RELIST_EVERY = 1.0
"""Seconds between on-demand CLIENT LIST refreshes of one node (unknown connections)."""

Resolver = Callable[[str], Awaitable[str | None]]
"""IP -> host name (reverse DNS, a hosts file), ``None`` when it has none."""


async def system_resolver(ip: str) -> str | None:
    """Reverse lookup through the system (``/etc/hosts``, then DNS, as NSS says)."""
    loop = asyncio.get_running_loop()
    try:
        host, _ = await loop.getnameinfo((ip, 0), socket.NI_NAMEREQD)
    except OSError:
        return None
    return host or None


def hosts_file_resolver(path: Path) -> Resolver:
    """A resolver answering from one hosts-format file (read once), instead of the system."""
    names = parse_hosts(path.read_text(encoding="utf-8", errors="replace"))

    async def resolve(ip: str) -> str | None:
        return names.get(ip)

    return resolve


@dataclass(slots=True)
class MonitorStats:
    """Counters for ``watch``, the TUI's Server tab and the benchmarks."""

    lines: int = 0
    """MONITOR lines read (all nodes)."""
    parsed: int = 0
    """Lines parsed (the commands attribution looks at)."""
    writes: int = 0
    """Session writes seen."""
    dropped: int = 0
    """Lines skipped while behind."""
    disconnects: int = 0
    syncs: int = 0
    late_syncs: int = 0
    """Syncs that timed out (a stream too far behind or gone)."""


@dataclass(frozen=True, slots=True)
class MonitorStatus:
    """Attribution by connection at a glance (the TUI's Server tab, ``watch`` notices)."""

    attached: tuple[str, ...]
    """Primaries MONITOR runs on now."""
    primaries: int
    refused: bool
    """Refused everywhere: attribution is by host attribute."""
    lag_s: float
    """How far the slowest reader is behind the server."""
    stats: MonitorStats
    costs: tuple[MonitorCost, ...]
    """What MONITOR costs a server (the benchmark's figures, worst case first)."""
    cost_summary: str
    """The same in one line."""


class AttributionMonitor(Protocol):
    """What :func:`attribute_items` and the TUI's toggle use of :class:`MonitorAttribution`.

    A protocol so the TUI's tests can drive the toggle with a fake, no server.
    """

    @property
    def active(self) -> bool:
        """Whether MONITOR runs on at least one primary right now."""
        ...

    async def start(self) -> None:
        """Attach MONITOR (again); see :meth:`MonitorAttribution.start`."""
        ...

    async def aclose(self) -> None:
        """Detach MONITOR; events are by host attribute after."""
        ...

    async def wait_attached(self) -> bool:
        """Wait until every primary is attached, refused or failed once."""
        ...

    def status(self) -> MonitorStatus:
        """Where MONITOR runs, how far behind, its counters and cost."""
        ...

    def notices(self) -> AsyncGenerator[AttributionNotice, None]:
        """Notices as they happen."""
        ...

    async def attribute(self, events: Sequence[RequestEvent]) -> list[AttributedRequest]:
        """Name the container behind each event (in order)."""
        ...


class MonitorRefused(Exception):
    """MONITOR was answered with an error (NOPERM, unknown command)."""


class _Node:
    """One primary: its MONITOR connection, a command client, and the reader task."""

    def __init__(self, hub: MonitorAttribution, settings: ConnectionSettings) -> None:
        self.hub = hub
        self.settings = settings
        self.name = settings.endpoint
        self.client: Redis | None = None
        self.connection: AbstractConnection | None = None
        self.monitor_id: int | None = None
        self.offset_us = 0
        """Server clock minus ours, measured when attaching."""
        self.attached = asyncio.Event()
        self.attached_before = False
        self.refused = False
        self.failed = False
        """An attempt to attach failed (the node is retried; waiting for it is over)."""
        self.behind = False
        self.dropped_now = 0
        self.lag_s = 0.0
        self.omem = 0
        self.backlog = 0
        """Bytes read in a row in full chunks: a backlog the reader was working through."""
        self.cut_reason: str | None = None
        self.counters: dict[str, int] = {}
        self.waiters: dict[bytes, asyncio.Future[None]] = {}
        self.last_list = 0.0
        self.task: asyncio.Task[None] | None = None
        self._tokens = itertools.count(1)

    @property
    def settled(self) -> bool:
        """Attached, refused, or failed at least once: nothing more to wait for at start."""
        done = self.task is not None and self.task.done()
        return self.attached.is_set() or self.refused or self.failed or done

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        backoff = 0.5
        lost_said = False
        while True:
            reason: str | None = None
            try:
                await self._attach()
                backoff = 0.5
                lost_said = False
                await self._read()
                reason = await self._why_closed()
            except MonitorRefused as exc:
                self.refused = True
                self.hub.refused(self, str(exc))
                return
            except asyncio.CancelledError:
                raise
            except (OSError, RedisError, Failure, TimeoutError) as exc:
                self.failed = True
                if self.cut_reason is not None:
                    reason = self.cut_reason
                elif not lost_said:
                    failure = describe_failure(exc, self.settings)
                    reason = f"MONITOR connection to {self.name} lost ({failure.message})"
            except Exception as exc:  # a bug: said, and attribution keeps going
                if os.environ.get("SESSION_INSPECTOR_DEBUG"):
                    raise
                self.failed = True
                reason = f"MONITOR reader on {self.name} failed ({type(exc).__name__}: {exc})"
            finally:
                self.hub.settled()
                await self._detach()
            if reason is not None:
                lost_said = True
                self.hub.stats.disconnects += 1
                self.hub.notice(
                    AttributionNoticeKind.LOST,
                    f"{reason}; re-attaching MONITOR (requests meanwhile are attributed by "
                    "the host attribute)",
                    node=self.name,
                    dropped=self.dropped_now,
                )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _attach(self) -> None:
        if self.client is None:
            self.client = await _open_node(self.settings)
        connection_class, kwargs = connection_class_and_kwargs(self.settings)
        connection = connection_class(**kwargs)
        self.connection = connection
        try:
            async with asyncio.timeout(self.settings.connect_timeout):
                await connection.connect()
                self.monitor_id = await _client_id(connection)
                self.counters = await _info_counters(self.client)
                before = time.time_ns() // 1000
                server = await _server_time_us(self.client)
                after = time.time_ns() // 1000
                self.offset_us = 0 if server is None else server - (before + after) // 2
                await connection.send_packed_command(_MONITOR, check_health=False)
        except Exception as exc:
            raise describe_failure(exc, self.settings) from exc
        self.behind = False
        self.dropped_now = 0
        self.lag_s = 0.0
        self.omem = 0
        self.backlog = 0
        self.cut_reason = None

    async def _detach(self) -> None:
        self.attached.clear()
        self.hub.attributor.log.reset_node(self.name)
        for waiter in self.waiters.values():
            if not waiter.done():
                waiter.set_result(None)  # nobody waits on a stream that is gone
        self.waiters.clear()
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect()

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        await self._detach()
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    # ------------------------------------------------------------ reading

    async def _read(self) -> None:
        assert self.connection is not None
        reader = _stream_reader(self.connection)
        stream = MonitorStream(commands=STREAM_COMMANDS)
        attributor = self.hub.attributor
        stats = self.hub.stats
        lag_limit = self.hub.lag_limit * 1_000_000
        catch_up = self.hub.catch_up * 1_000_000
        watchdog = asyncio.create_task(self._watch(), name=f"monitor-watchdog {self.name}")
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    return
                # A read that fills the stream's buffer means more was waiting.
                self.backlog = self.backlog + len(data) if len(data) >= _FULL_READ else 0
                lines = stream.lines
                if not self.behind:
                    commands = stream.feed(data)
                    if not stream.started:
                        if stream.refused is not None:
                            raise MonitorRefused(stream.refused.decode("utf-8", "replace"))
                        continue
                    if not self.attached.is_set():
                        await self._attached()
                    writes = attributor.log.writes
                    self._release(attributor.observe(self.name, commands))
                    stats.writes += attributor.log.writes - writes
                    stats.parsed += len(commands)
                else:
                    skipped = stream.skip(data, SYNC_PREFIX)
                    self.dropped_now += skipped.lines
                    stats.dropped += skipped.lines
                    self._release(attributor.observe(self.name, skipped.marked))
                stats.lines += stream.lines - lines
                last = stream.last_time_us
                if last is None:
                    continue
                lag = time.time_ns() // 1000 + self.offset_us - last
                self.lag_s = lag / 1_000_000
                if not self.behind and lag > lag_limit:
                    self.behind = True
                    self.dropped_now = 0
                    self.hub.notice(
                        AttributionNoticeKind.BEHIND,
                        f"MONITOR on {self.name} is {self.lag_s:.1f} s behind the server: "
                        "skipping lines to catch up (those requests are attributed by the host "
                        "attribute)",
                        node=self.name,
                    )
                elif self.behind and lag < catch_up:
                    self.behind = False
                    attributor.log.reset_node(self.name)
                    self.hub.notice(
                        AttributionNoticeKind.CAUGHT_UP,
                        f"MONITOR on {self.name} caught up; {self.dropped_now:,} lines were "
                        "skipped",
                        node=self.name,
                        dropped=self.dropped_now,
                    )
                    self.last_list = 0.0  # names may have changed unseen: list again
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watchdog

    async def _attached(self) -> None:
        # MONITOR first, CLIENT LIST second: a connection named before the list
        # is in it, one named after shows its SETNAME in the stream.
        await self.relist()
        self.attached.set()
        self.hub.attached(self)

    def _release(self, markers: Iterable[bytes]) -> None:
        for marker in markers:
            waiter = self.waiters.pop(marker, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def _watch(self) -> None:
        """Watchdog: our connection's output buffer on the server, and periodic CLIENT LIST."""
        assert self.client is not None
        listed_at = time.monotonic()
        while True:
            await asyncio.sleep(self.hub.watch_interval)
            if self.monitor_id is not None:
                omem = await _omem(self.client, self.monitor_id)
                if omem is not None:
                    self.omem = omem
                    if omem > self.hub.omem_limit:
                        self.cut_reason = (
                            f"the server held {omem / 1e6:.1f} MB of MONITOR output for "
                            f"{self.name} that the inspector had not read (more than "
                            f"{self.hub.omem_limit / 1e6:.0f} MB): the inspector cut the "
                            "connection to spare the server's memory"
                        )
                        if self.connection is not None:
                            await self.connection.disconnect()
                        return
            if time.monotonic() - listed_at >= self.hub.list_interval:
                listed_at = time.monotonic()
                await self.relist()

    async def _why_closed(self) -> str:
        """Why the server closed our MONITOR connection, as well as can be told."""
        if self.cut_reason is not None:
            return self.cut_reason
        behind = f"{self.lag_s:.1f} s behind"
        assert self.client is not None
        try:
            async with asyncio.timeout(2.0):
                await self.client.execute_command("PING")
                counters = await _info_counters(self.client)
        except (OSError, RedisError, TimeoutError):
            return f"MONITOR connection to {self.name} lost (the server is not answering)"
        grew = {
            name: counters[name] - self.counters.get(name, 0)
            for name in counters
            if counters[name] > self.counters.get(name, 0)
        }
        if "client_output_buffer_limit_disconnections" in grew:
            return (
                f"Redis closed the MONITOR connection to {self.name} at its output buffer "
                f"limit (client-output-buffer-limit normal): the inspector was {behind}"
            )
        if "evicted_clients" in grew:
            return (
                f"Redis evicted the MONITOR connection to {self.name} (maxmemory-clients); "
                f"the inspector was {behind}"
            )
        if self.lag_s >= 1.0 or self.omem > 1_000_000 or self.backlog > 1_000_000:
            return (
                f"Redis closed the MONITOR connection to {self.name}, most likely at its "
                f"output buffer limit (client-output-buffer-limit normal): the inspector was "
                f"{behind}"
            )
        return (
            f"Redis closed the MONITOR connection to {self.name} (CLIENT KILL, a timeout "
            "or its output buffer limit)"
        )

    # ------------------------------------------------------------ commands

    async def relist(self, asked: Iterable[str] = ()) -> None:
        """Refresh client names from CLIENT LIST (refused: names come from MONITOR only)."""
        if self.client is None:
            return
        self.last_list = time.monotonic()
        namer = self.hub.attributor.namer
        since = namer.generation()
        try:
            async with asyncio.timeout(5.0):
                reply = await self.client.execute_command("CLIENT", "LIST")
        except ResponseError as exc:
            self.hub.names_refused(self, str(exc))
            return
        except (OSError, RedisError, TimeoutError):
            return
        if isinstance(reply, bytes):
            namer.replace_clients(self.name, parse_client_list(reply), since, asked)

    async def sync(self) -> None:
        """Wait until this node's MONITOR stream has shown everything up to now."""
        if self.client is None or not self.attached.is_set():
            return
        token = SYNC_PREFIX + f"{id(self):x}:{next(self._tokens)}".encode()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[token] = waiter
        self.hub.stats.syncs += 1
        try:
            async with asyncio.timeout(self.hub.sync_timeout):
                await self.client.execute_command("ECHO", token)
                await waiter
        except (OSError, RedisError, TimeoutError):
            self.hub.stats.late_syncs += 1
        finally:
            self.waiters.pop(token, None)


class MonitorAttribution:
    """MONITOR on every primary, feeding an :class:`Attributor`; names the feed's events.

    Use as ``async with MonitorAttribution(settings, attributor) as monitor:``
    and call :meth:`attribute` with each batch of request events; read
    :meth:`notices` for what to tell the user.

    Args:
        settings: Where to connect (standalone or cluster, detected).
        attributor: The pure model the readers feed.
        resolver: Reverse lookups for connections without a client name or map
            entry (``None``: no DNS names).
        lag_limit: Seconds behind the server after which lines are skipped.
        catch_up: Seconds behind under which reading resumes.
        omem_limit: Bytes of unread MONITOR output the server may hold for us.
        list_interval: Seconds between CLIENT LIST refreshes.
        topology_interval: Seconds between checks of a cluster's primaries.
        sync_timeout: Longest wait for a stream to show a sync marker.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        attributor: Attributor,
        *,
        resolver: Resolver | None = system_resolver,
        lag_limit: float = 2.0,
        catch_up: float = 0.5,
        omem_limit: int = 64 * 1024 * 1024,
        list_interval: float = 30.0,
        topology_interval: float = 5.0,
        watch_interval: float = 1.0,
        sync_timeout: float = 2.0,
    ) -> None:
        self.settings = settings
        self.attributor = attributor
        self.resolver = resolver
        self.lag_limit = lag_limit
        self.catch_up = catch_up
        self.omem_limit = omem_limit
        self.list_interval = list_interval
        self.topology_interval = topology_interval
        self.watch_interval = watch_interval
        self.sync_timeout = sync_timeout
        self.stats = MonitorStats()
        self.client: RedisClient | None = None
        self._nodes: dict[str, _Node] = {}
        self._notices: asyncio.Queue[AttributionNotice] = asyncio.Queue()
        self._refused_said = False
        self._names_said = False
        self._announced = False
        self._topology_hint = asyncio.Event()
        self._changed = asyncio.Event()
        """Set when a node attaches, is refused or its reader ends."""
        self._topology: asyncio.Task[None] | None = None
        self._closed = False
        if resolver is None:
            attributor.namer.use_dns = False

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> MonitorAttribution:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Connect and attach MONITOR to every primary (in the background).

        May be called again after :meth:`aclose` (the TUI's toggle): the
        readers start afresh, and notices say so again.

        Raises:
            Failure: The server cannot be reached at all.
        """
        if self.client is not None:
            return  # running already
        self._closed = False
        self._announced = self._refused_said = self._names_said = False
        self.client = await open_client(self.settings)
        for node_settings in self._primaries():
            self._start_node(node_settings)
        if isinstance(self.client, RedisCluster):
            self._topology = asyncio.create_task(self._follow_topology(), name="monitor-topology")

    async def aclose(self) -> None:
        """Stop every reader and close every connection; events are by host attribute after.

        Writes seen so far are forgotten: while stopped, nothing says whether
        they are still the newest.
        """
        self._closed = True
        if self._topology is not None:
            self._topology.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._topology
            self._topology = None
        for node in list(self._nodes.values()):
            await node.close()
        self._nodes.clear()
        self.attributor.log.clear()
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.aclose()
            self.client = None

    def _primaries(self) -> list[ConnectionSettings]:
        client = self.client
        if isinstance(client, RedisCluster):
            return [
                with_endpoint(self.settings, node.host, int(node.port))
                for node in client.get_primaries()
            ]
        return [self.settings]

    def _start_node(self, node_settings: ConnectionSettings) -> None:
        node = _Node(self, node_settings)
        self._nodes[node.name] = node
        node.task = asyncio.create_task(node.run(), name=f"monitor {node.name}")
        node.task.add_done_callback(lambda _: self._changed.set())

    async def _follow_topology(self) -> None:
        assert isinstance(self.client, RedisCluster)
        cluster = self.client
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.topology_interval):
                    await self._topology_hint.wait()
            self._topology_hint.clear()
            try:
                async with asyncio.timeout(10.0):
                    await cluster.nodes_manager.initialize()
            except (OSError, RedisError, TimeoutError):
                continue
            wanted = {settings.endpoint: settings for settings in self._primaries()}
            if set(wanted) == set(self._nodes):
                continue
            gone = [name for name in self._nodes if name not in wanted]
            for name in gone:
                await self._nodes.pop(name).close()
            for name, node_settings in wanted.items():
                if name not in self._nodes:
                    self._start_node(node_settings)
            self.notice(
                AttributionNoticeKind.TOPOLOGY,
                f"cluster primaries changed to {', '.join(sorted(wanted))}: MONITOR follows "
                f"(detached from {', '.join(sorted(gone)) or 'none'})",
            )

    # ------------------------------------------------------------ state

    @property
    def active(self) -> bool:
        """Whether MONITOR runs on at least one primary right now."""
        return any(node.attached.is_set() for node in self._nodes.values())

    @property
    def all_refused(self) -> bool:
        """MONITOR was refused everywhere: attribution is by host attribute only."""
        return bool(self._nodes) and all(node.refused for node in self._nodes.values())

    @property
    def lag_s(self) -> float:
        """How far the slowest attached reader is behind the server (seconds)."""
        return max((n.lag_s for n in self._nodes.values() if n.attached.is_set()), default=0.0)

    def status(self) -> MonitorStatus:
        """A snapshot of where MONITOR runs, how far behind, and its counters."""
        return MonitorStatus(
            attached=tuple(self.nodes()),
            primaries=len(self._nodes),
            refused=self.all_refused,
            lag_s=self.lag_s,
            stats=dataclasses.replace(self.stats),
            costs=MONITOR_COSTS,
            cost_summary=monitor_cost_summary(),
        )

    def nodes(self) -> list[str]:
        """The primaries MONITOR is attached to now."""
        return sorted(name for name, node in self._nodes.items() if node.attached.is_set())

    def settled(self) -> None:
        """A node's attempt ended one way or another (wakes :meth:`wait_attached`)."""
        self._changed.set()

    async def wait_attached(self) -> bool:
        """Wait until every primary is attached, refused or failed once; whether any is attached."""
        while not all(node.settled for node in self._nodes.values()):
            self._changed.clear()
            await self._changed.wait()
        return self.active

    # ------------------------------------------------------------ notices

    def notice(
        self,
        kind: AttributionNoticeKind,
        message: str,
        *,
        node: str | None = None,
        dropped: int = 0,
    ) -> None:
        """Queue a notice for :meth:`notices`."""
        self._notices.put_nowait(AttributionNotice(_now_ms(), kind, message, node, dropped))

    async def notices(self) -> AsyncGenerator[AttributionNotice, None]:
        """Notices as they happen (attached, refused, behind, lost, topology)."""
        while True:
            yield await self._notices.get()

    def attached(self, node: _Node) -> None:
        """A reader is attached (called by the node): one notice once all are, then per node."""
        self._changed.set()
        again, node.attached_before = node.attached_before, True
        if self._announced:
            what = (
                f"MONITOR re-attached to {node.name}"
                if again
                else (f"MONITOR attached to {node.name}, a new primary")
            )
            self.notice(AttributionNoticeKind.ATTACHED, what, node=node.name)
            return
        self._announce_if_settled()

    def _announce_if_settled(self) -> None:
        nodes = self._nodes.values()
        if self._announced or not all(n.attached.is_set() or n.refused for n in nodes):
            return
        attached = self.nodes()
        if not attached:
            return  # refused everywhere: the refusal was the news
        self._announced = True
        where = attached[0] if len(self._nodes) == 1 else f"{len(attached)} primaries"
        refused = sum(1 for n in nodes if n.refused)
        if refused:
            where += f" (refused by {refused})"
        self.notice(
            AttributionNoticeKind.ATTACHED,
            f"attributing requests by connection: MONITOR on {where}; names from client "
            f"names, {self._naming_text()}",
        )

    def _naming_text(self) -> str:
        namer = self.attributor.namer
        parts = []
        if len(namer.client_map):
            parts.append(f"the client map ({len(namer.client_map)} entries)")
        if namer.use_dns:
            parts.append("reverse DNS")
        parts.append("else the address")
        return ", ".join(parts)

    def refused(self, node: _Node, reason: str) -> None:
        """MONITOR was refused on a node (called by the node): one notice in all."""
        self._changed.set()
        self._announce_if_settled()
        if self._refused_said:
            return
        self._refused_said = True
        if "unknown command" in reason.lower():
            why = f"{reason} (a managed service or rename-command blocks it)"
        else:
            why = reason
        self.notice(
            AttributionNoticeKind.REFUSED,
            f"MONITOR refused by {node.name} ({why}): attributing requests by the session's "
            "host attribute instead (grant +monitor to name connections)",
            node=node.name,
        )

    def names_refused(self, node: _Node, reason: str) -> None:
        """CLIENT LIST was refused: client names come only from what MONITOR shows."""
        if self._names_said:
            return
        self._names_said = True
        self.notice(
            AttributionNoticeKind.NAMES,
            f"CLIENT LIST refused by {node.name} ({reason}): client names are known only for "
            "connections that set them while MONITOR runs",
            node=node.name,
        )

    # ------------------------------------------------------------ attribution

    async def sync(self) -> None:
        """Wait until every attached stream shows everything the server has run so far."""
        nodes = [node for node in self._nodes.values() if node.attached.is_set()]
        if nodes:
            await asyncio.gather(*(node.sync() for node in nodes))

    async def attribute(self, events: Sequence[RequestEvent]) -> list[AttributedRequest]:
        """Name the container behind each event (in order; one sync for the batch).

        Events MONITOR saw no write for (refused, skipped lines, not attached
        yet) are attributed by the session's host attribute.
        """
        if not events:
            return []
        if self.active:
            await self.sync()
        decisions = [self.attributor.decide(event) for event in events]
        await self._prepare(decisions)
        if self.active and any(
            d.write is None and d.event.kind is not EventKind.DESTROYED for d in decisions
        ):
            self._topology_hint.set()  # a write on a primary we do not watch (a failover)?
        return [self.attributor.finish(decision) for decision in decisions]

    async def _prepare(self, decisions: Sequence[Decision]) -> None:
        """CLIENT LIST for unknown connections and reverse lookups, before naming."""
        nodes, ips = self.attributor.lookups(decisions)
        jobs: list[Awaitable[None]] = []
        now = time.monotonic()
        for name in nodes:
            node = self._nodes.get(name)
            if node is not None and now - node.last_list >= _RELIST_EVERY:
                asked = {
                    d.write.client
                    for d in decisions
                    if d.write is not None and d.write.node == name
                }
                jobs.append(node.relist(asked))
        if ips and self.resolver is not None:
            jobs.extend(self._resolve(ip) for ip in ips)
        if jobs:
            await asyncio.gather(*jobs)

    async def _resolve(self, ip: str) -> None:
        assert self.resolver is not None
        name: str | None = None
        try:
            async with asyncio.timeout(2.0):
                name = await self.resolver(ip)
        except (OSError, TimeoutError):
            name = None
        self.attributor.namer.set_dns(ip, name)


# ----------------------------------------------------------------- the stream


async def attribute_items(
    items: AsyncIterator[Sequence[SourceItem]],
    attributor: Attributor,
    monitor: AttributionMonitor | None = None,
) -> AsyncGenerator[list[AttributedItem], None]:
    """A source's batches with every request event attributed, and MONITOR's notices.

    Each :class:`RequestEvent` becomes an :class:`AttributedRequest` in its
    place (the order of a batch is kept); without ``monitor`` the host
    attribute names the container. Notices from ``monitor`` arrive as batches
    of their own, as soon as they happen. What ``watch`` prints and what the
    TUI's Live view will show.

    Args:
        items: A :class:`~inspector.core.source.SessionSource`'s ``items()``.
        attributor: The attribution model (shared with ``monitor``).
        monitor: MONITOR readers, started (``None``: by host attribute only).
    """
    batches = aiter(items)
    next_batch: asyncio.Task[Sequence[SourceItem]] = asyncio.ensure_future(anext(batches))
    notices = monitor.notices() if monitor is not None else None
    next_notice = asyncio.ensure_future(anext(notices)) if notices is not None else None
    try:
        while True:
            waiting: set[asyncio.Future[Any]] = {next_batch}
            if next_notice is not None:
                waiting.add(next_notice)
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if next_notice is not None and next_notice in done:
                yield [next_notice.result()]
                assert notices is not None
                next_notice = asyncio.ensure_future(anext(notices))
            if next_batch not in done:
                continue
            try:
                batch = next_batch.result()
            except StopAsyncIteration:
                return
            next_batch = asyncio.ensure_future(anext(batches))
            events = [item for item in batch if isinstance(item, RequestEvent)]
            if not events:
                yield list(batch)
                continue
            if monitor is not None:
                attributed = iter(await monitor.attribute(events))
            else:
                attributed = iter([attributor.by_host(event) for event in events])
            yield [next(attributed) if isinstance(item, RequestEvent) else item for item in batch]
    finally:
        for task in (next_batch, next_notice):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                    await task
        if notices is not None:
            await notices.aclose()


# ----------------------------------------------------------------- helpers


async def _open_node(settings: ConnectionSettings) -> Redis:
    client = await open_client(settings, single_node=True)
    assert isinstance(client, Redis)  # single_node never gives a cluster client
    return client


_CONNECTION_MEMBERS = ("_reader",)
"""What :func:`_stream_reader` reads of a connected redis-py connection."""


def _stream_reader(connection: AbstractConnection) -> asyncio.StreamReader:
    """The connection's socket reader, read raw: MONITOR lines need no RESP parser.

    redis-py keeps it in ``_reader`` (8.x, not documented): an upgrade that
    moves it fails loudly here (and in tests/unit/test_pinned_privates.py).
    """
    require_members(connection, _CONNECTION_MEMBERS, library="redis", user=__name__)
    reader: Any = connection._reader
    if not isinstance(reader, asyncio.StreamReader):
        raise PinnedAPIError(f"redis-py's connection._reader is a {type(reader).__name__} now")
    return reader


async def _client_id(connection: AbstractConnection) -> int | None:
    await connection.send_command("CLIENT", "ID")
    try:
        reply = await connection.read_response()
    except ResponseError:
        return None
    return reply if isinstance(reply, int) else None


async def _server_time_us(client: Redis) -> int | None:
    try:
        reply = await client.execute_command("TIME")
    except ResponseError:
        return None
    if isinstance(reply, (list, tuple)) and len(reply) == 2:
        return int(reply[0]) * 1_000_000 + int(reply[1])
    return None


_COUNTERS = ("client_output_buffer_limit_disconnections", "evicted_clients")


async def _info_counters(client: Redis) -> dict[str, int]:
    """The INFO counters that say why a client was closed (those this server has)."""
    try:
        info = await client.execute_command("INFO", "stats")
    except ResponseError:
        return {}
    if not isinstance(info, dict):
        return {}
    return {name: int(info[name]) for name in _COUNTERS if isinstance(info.get(name), int)}


async def _omem(client: Redis, client_id: int) -> int | None:
    """``omem`` of one connection (``CLIENT LIST ID``, Redis 6.2+), ``None`` if unreadable."""
    try:
        reply = await client.execute_command("CLIENT", "LIST", "ID", client_id)
    except (ResponseError, OSError, RedisError):
        return None
    if not isinstance(reply, bytes):
        return None
    for part in reply.split():
        if part.startswith(b"omem="):
            with contextlib.suppress(ValueError):
                return int(part[5:])
    return None


def _now_ms() -> int:
    return int(time.time() * 1000)
