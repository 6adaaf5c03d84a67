"""The live change feed: one event per request a session sees, from notifications or polling.

How it works:

1. A *baseline* pass reads every session once (SCAN + pipelined reads) and
   remembers a small snapshot of each (:mod:`inspector.core.changes`).
2. On every primary it subscribes to ``__keyspace@<db>__:<ns>sessions:*`` (and
   the ``__keyevent@<db>__:hset|del|expired`` channels when only ``E`` is on or
   the setting cannot be read). A notification on a session hash queues that
   session; a reader drains the queue in pipelined batches (bursts on one
   session coalesce into one read) and turns each re-read into an event by
   comparing it with the snapshot.
3. When hash notifications are off (Spring's own ``Egx`` has no ``h``), a
   poller runs instead: every ``poll`` seconds a SCAN with pipelined HMGET of
   ``lastAccessedTime`` finds the sessions that changed. Its cost is one SCAN
   per 1,000 keys plus one HMGET per session; a pass that takes long stretches
   the interval (at least 3x the pass time) instead of flooding the server.
   When ``CONFIG`` is refused (ElastiCache) the feed polls *and* listens, and
   switches to notifications as soon as one arrives.
4. A dropped connection (restart, failover, network, a subscriber closed for
   overflowing its output buffer) is reported, retried with backoff, and
   followed by a catch-up poll and a notice naming the gap.

The server's configuration is never changed, except by ``enable_notifications``
(``watch --enable-notifications``), which the user asks for explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError, ResponseError

from inspector.core.changes import (
    EventSource,
    NotifySupport,
    RequestEvent,
    Snapshot,
    destroyed_event,
    notify_flags_support,
    observe,
    snapshot,
)
from inspector.core.session import HostField, Session
from inspector.core.source import (
    FeedMode,
    FeedNotice,
    NoticeKind,
    ScanProgressed,
    SessionsRead,
    SourceItem,
)
from inspector.core.spring import KeyKind, classify_key, normalize_namespace
from inspector.exits import ExitCode
from inspector.redis_io.client import RedisClient, open_client, round_trip
from inspector.redis_io.discovery import (
    ScanProgress,
    SessionScanner,
    primaries,
    read_raw_sessions,
    scan_keys,
    session_candidates,
)
from inspector.redis_io.errors import Failure, describe_failure
from inspector.redis_io.pipeline import check_replies, run_pipeline
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = ["ChangeFeed", "FeedItem", "FeedStats"]

READ_BATCH = 500
POLL_STRETCH = 3.0
"""A polling pass is followed by a pause of at least this many times its own duration."""
MAX_BACKOFF = 5.0
WRITE_EVENTS = frozenset({b"hset", b"hdel", b"hincrby", b"hincrbyfloat", b"hsetnx", b"rename_to"})
GONE_EVENTS = frozenset({b"del", b"expired", b"evicted", b"rename_from"})
KEYEVENT_NAMES = (b"hset", b"hdel", b"del", b"expired")


FeedItem = RequestEvent | FeedNotice
"""What :meth:`ChangeFeed.events` yields (``watch``): requests and notices only."""


@dataclass(slots=True)
class FeedStats:
    """Counters for the TUI and the benchmarks."""

    events: int = 0
    notifications: int = 0
    reads: int = 0
    polls: int = 0
    last_poll_seconds: float = 0.0
    last_poll_commands: int = 0
    sessions: int = 0
    reconnects: int = 0


class _Restart(Exception):
    """Internal: the topology changed; start over with fresh connections."""


@dataclass(slots=True)
class _Node:
    settings: ConnectionSettings
    client: Redis | None = None
    owns_client: bool = True
    """False when ``client`` is the feed's main client (standalone), closed elsewhere."""
    pubsub: PubSub | None = None
    support: NotifySupport | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class ChangeFeed:
    """Yields a :class:`RequestEvent` per observed request, and :class:`FeedNotice` s.

    Args:
        settings: Where to connect (standalone or cluster, detected).
        namespace: Only this namespace; ``None`` watches every namespace.
        host_field: Where to read the host (``--host-field``).
        poll_interval: Seconds between polling passes (when polling).
        enable_notifications: Set ``notify-keyspace-events`` so hash events are
            published, if they are not (the only write this class may do).
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        namespace: str | None = None,
        host_field: HostField | None = None,
        poll_interval: float = 1.0,
        enable_notifications: bool = False,
    ) -> None:
        self.settings = settings
        self.namespace = normalize_namespace(namespace) if namespace else None
        self.host_field = host_field
        self.poll_interval = poll_interval
        self.enable_notifications = enable_notifications
        self.mode = FeedMode.POLLING
        self.stats = FeedStats()
        self._out: asyncio.Queue[SourceItem | BaseException] = asyncio.Queue()
        self._known: dict[str, tuple[str, str, Snapshot]] = {}
        self._pending: dict[str, tuple[str, str]] = {}
        self._wake = asyncio.Event()
        self._mode_changed = asyncio.Event()
        self._howto_said = False
        self._last_ok_ms = 0
        self._lost_at: int | None = None
        """Start of the current outage (epoch ms); ``None`` while connected."""
        self._ready_once = False
        self._backoff = 0.5

    # ---------------------------------------------------------------- public

    async def items(self) -> AsyncGenerator[list[SourceItem], None]:
        """Run the feed; yields batches of everything it has to report, until the caller stops.

        A batch holds what arrived since the caller last asked: sessions read
        (:class:`SessionsRead`), requests, notices and scan progress, in order.

        Raises:
            Failure: The first connection failed (later ones are retried).
        """
        supervisor = asyncio.create_task(self._supervise(), name="feed-supervisor")
        try:
            while True:
                batch = [await self._out.get()]
                while not self._out.empty():
                    batch.append(self._out.get_nowait())
                for index, item in enumerate(batch):
                    if isinstance(item, BaseException):
                        if index:
                            yield _items(batch[:index])  # what came before the failure
                        raise item
                yield _items(batch)
        finally:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor

    async def events(self) -> AsyncGenerator[FeedItem, None]:
        """Run the feed; yields requests and notices only (what ``watch`` prints).

        Raises:
            Failure: The first connection failed (later ones are retried).
        """
        async for batch in self.items():
            for item in batch:
                if isinstance(item, (RequestEvent, FeedNotice)):
                    yield item

    # ---------------------------------------------------------------- supervision

    def _emit(self, item: SourceItem) -> None:
        if isinstance(item, RequestEvent):
            self.stats.events += 1
        self._out.put_nowait(item)

    def _notice(self, kind: NoticeKind, message: str, gap: tuple[int, int] | None = None) -> None:
        self._emit(FeedNotice(_now_ms(), kind, message, gap, mode=self.mode))

    async def _supervise(self) -> None:
        while True:
            try:
                await self._run_connected()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # sorted out below: connection trouble, restart, or a bug
                problems = _flatten(exc)
                if any(isinstance(p, _Restart) for p in problems):
                    self._lost_at = self._lost_at or self._last_ok_ms or _now_ms()
                    continue
                failure = _connection_failure(problems, self.settings)
                if failure is None:
                    self._out.put_nowait(exc)  # a bug: end the feed with it, not silently
                    return
                if not self._ready_once or failure.exit_code is ExitCode.PERMISSION:
                    # Never connected, or refused a command it needs (an ACL
                    # change): reconnecting cannot help.
                    self._out.put_nowait(failure)
                    return
                # Mid-watch, the plain reason reads best ("Connection closed by
                # server."); the handshake-time advice (--tls...) would mislead.
                first = problems[0]
                reason = failure.message if isinstance(first, Failure) else str(first)
                self._lost(reason or failure.message)
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    def _lost(self, reason: str) -> None:
        if self._lost_at is None:  # once per outage, however many attempts fail
            self._lost_at = self._last_ok_ms or _now_ms()
            self._notice(
                NoticeKind.LOST,
                f"connection to {self.settings.endpoint} lost ({reason}); reconnecting",
            )

    async def _run_connected(self) -> None:
        client = await open_client(self.settings)
        nodes: list[_Node] = []
        try:
            nodes = self._nodes(client)
            await self._choose_mode(nodes)
            async with asyncio.TaskGroup() as group:
                # Subscribe before reading anything: a write landing while the
                # baseline or catch-up pass runs is then queued, not lost.
                for node in nodes:
                    group.create_task(self._listen(node))
                await self._all_ready(nodes)
                if not self._ready_once:
                    await self._baseline(client)
                else:
                    changed = await self._poll_pass(client)
                    self.stats.reconnects += 1
                    since = self._lost_at or self._last_ok_ms
                    self._notice(
                        NoticeKind.RECONNECTED,
                        f"reconnected to {self.settings.endpoint}; requests between "
                        f"{_clock(since)} and {_clock(_now_ms())} may be missing "
                        f"(a catch-up poll found {changed} changed sessions)",
                        gap=(since, _now_ms()),
                    )
                self._lost_at = None  # the outage is over: the next one gets its own notice
                self._ready_once = True
                self._backoff = 0.5
                self._last_ok_ms = _now_ms()
                self._notice(NoticeKind.READY, self._ready_text(len(nodes)))
                group.create_task(self._read_pending(client))
                group.create_task(self._poll_loop(client))
                if isinstance(client, RedisCluster):
                    group.create_task(self._watch_topology(client, nodes))
        finally:
            for node in nodes:
                await _close_node(node)
            with contextlib.suppress(Exception):
                await client.aclose()

    def _ready_text(self, nodes: int) -> str:
        where = f"{nodes} primaries" if nodes > 1 else self.settings.endpoint
        scope = f"namespace {self.namespace}" if self.namespace else "every namespace"
        how = {
            FeedMode.NOTIFICATIONS: "keyspace notifications",
            FeedMode.POLLING: f"polling every {self.poll_interval:g} s",
            FeedMode.PROBING: f"polling every {self.poll_interval:g} s, listening as well",
        }[self.mode]
        return f"watching {len(self._known)} sessions in {scope} on {where} via {how}"

    # ---------------------------------------------------------------- nodes, modes

    def _nodes(self, client: RedisClient) -> list[_Node]:
        if isinstance(client, RedisCluster):
            return [
                _Node(with_endpoint(self.settings, node.host, int(node.port)))
                for node in client.get_primaries()
            ]
        # Standalone: the main client serves the node too. Its subscriptions
        # take a connection of their own from the client's pool, and its
        # commands (CONFIG) are ordinary ones: no second client, no second probe.
        return [_Node(self.settings, client=client, owns_client=False)]

    async def _choose_mode(self, nodes: list[_Node]) -> None:
        async def prepare(node: _Node) -> None:
            if node.client is None:
                node.client = await _open_node(node.settings)
            async with round_trip():
                node.support = await _read_notify_config(node.client)

        async with asyncio.TaskGroup() as group:  # every primary at once
            for node in nodes:
                group.create_task(prepare(node))
        readable = all(node.support is not None for node in nodes)
        supports = [node.support for node in nodes if node.support is not None]
        if readable and all(s.usable for s in supports):
            self._set_mode(FeedMode.NOTIFICATIONS, announce=False)
            return
        if readable and self.enable_notifications:
            for node in nodes:
                assert node.client is not None
                assert node.support is not None
                if node.support.usable:
                    continue  # already publishes hash events: leave its setting alone
                wanted = node.support.with_hash_events()
                try:
                    await node.client.execute_command(
                        "CONFIG", "SET", "notify-keyspace-events", wanted
                    )
                except ResponseError as exc:
                    self._notice(
                        NoticeKind.HOWTO,
                        f"could not enable notifications on {node.settings.endpoint}: {exc}",
                    )
                    break
                self._notice(
                    NoticeKind.MODE,
                    f"set notify-keyspace-events on {node.settings.endpoint} to "
                    f"{wanted!r} (was {node.support.value!r}), as --enable-notifications asked",
                )
                node.support = notify_flags_support(wanted)
            else:
                self._set_mode(FeedMode.NOTIFICATIONS, announce=False)
                return
        if readable:
            value = supports[0].value if supports else ""
            self._set_mode(FeedMode.POLLING, announce=False)
            self._howto(
                f"keyspace notifications for hashes are off (notify-keyspace-events="
                f"{value!r}: {'no h' if 'h' not in value and 'A' not in value else 'no K or E'}), "
                f"so requests are found by polling. To see them as they happen: on a "
                f"self-managed server CONFIG SET notify-keyspace-events "
                f"{notify_flags_support(value).with_hash_events()!r} (or run watch "
                "--enable-notifications); on ElastiCache set notify-keyspace-events to KEA "
                "(or at least Kh) in a custom parameter group"
            )
            return
        self._set_mode(FeedMode.PROBING, announce=False)
        self._howto(
            "cannot read notify-keyspace-events (CONFIG is refused, as on ElastiCache): "
            "polling, and switching to notifications as soon as one arrives. To turn them "
            "on, set notify-keyspace-events to KEA (or at least Kh) in the cluster's "
            "ElastiCache parameter group"
        )

    def _howto(self, text: str) -> None:
        if not self._howto_said:
            self._howto_said = True
            self._notice(NoticeKind.HOWTO, text)

    def _set_mode(self, mode: FeedMode, *, announce: bool) -> None:
        if mode is self.mode:
            return
        self.mode = mode
        self._mode_changed.set()
        if announce:
            self._notice(NoticeKind.MODE, f"keyspace notifications are arriving: now {mode.value}")

    def _channels(self, node: _Node) -> tuple[list[bytes], list[bytes]]:
        """(patterns, channels) to subscribe to on one node."""
        db = self.settings.db
        scope = f"{self.namespace}:sessions:*" if self.namespace else "*sessions:*"
        keyspace = [f"__keyspace@{db}__:{scope}".encode()]
        keyevent = [b"__keyevent@%d__:%s" % (db, name) for name in KEYEVENT_NAMES]
        support = node.support
        if self.mode is FeedMode.NOTIFICATIONS and support is not None:
            return (keyspace, []) if support.keyspace else ([], keyevent)
        # Polling: listen anyway (cheap), to switch the moment notifications flow.
        return keyspace, keyevent

    # ---------------------------------------------------------------- listening

    async def _listen(self, node: _Node) -> None:
        assert node.client is not None  # opened by _choose_mode
        # A PubSub holds a connection of its own until closed.
        pubsub = node.client.pubsub(ignore_subscribe_messages=False)
        node.pubsub = pubsub
        patterns, channels = self._channels(node)
        if patterns:
            await pubsub.psubscribe(*patterns)
        if channels:
            await pubsub.subscribe(*channels)
        expected = len(patterns) + len(channels)
        confirmed = 0
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            if kind in ("subscribe", "psubscribe"):
                confirmed += 1
                if confirmed >= expected:
                    node.ready.set()
                continue
            self._on_message(message)

    async def _all_ready(self, nodes: Sequence[_Node]) -> None:
        async with round_trip():
            for node in nodes:
                await node.ready.wait()

    def _on_message(self, message: dict[str, Any]) -> None:
        channel: bytes = message["channel"]
        data: bytes = message["data"]
        if b"__keyspace@" in channel[:12]:
            key, event = channel.split(b"__:", 1)[1], data
        else:
            key, event = data, channel.rsplit(b":", 1)[1]
        if event not in WRITE_EVENTS and event not in GONE_EVENTS:
            return
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            return
        spring_key = classify_key(name)
        if spring_key is None or spring_key.kind is not KeyKind.SESSION:
            return
        if self.namespace and spring_key.namespace != self.namespace:
            return
        assert spring_key.session_id is not None
        self.stats.notifications += 1
        if self.mode is not FeedMode.NOTIFICATIONS:
            self._set_mode(FeedMode.NOTIFICATIONS, announce=True)
        self._pending[name] = (spring_key.namespace, spring_key.session_id)
        self._wake.set()

    # ---------------------------------------------------------------- reading

    async def _read_pending(self, client: RedisClient) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                keys = list(self._pending)[:READ_BATCH]
                batch = [(key, *self._pending.pop(key)) for key in keys]
                await self._read_and_emit(client, batch, EventSource.NOTIFICATION)
                self._last_ok_ms = _now_ms()

    async def _read_and_emit(
        self, client: RedisClient, batch: list[tuple[str, str, str]], source: EventSource
    ) -> int:
        raws = {raw.key: raw for raw in await read_raw_sessions(client, batch)}
        self.stats.reads += len(batch)
        now = _now_ms()
        emitted = 0
        for key, namespace, session_id in batch:
            known = self._known.get(key)
            raw = raws.get(key)
            if raw is None:
                if known is not None:
                    del self._known[key]
                    self._emit(
                        destroyed_event(
                            key, session_id, namespace, known[2], source=source, now_ms=now
                        )
                    )
                    emitted += 1
                continue
            session = Session.from_raw(raw, host_field=self.host_field)
            self._emit(SessionsRead((session,)))
            event, seen = observe(known[2] if known else None, session, source=source, now_ms=now)
            self._known[key] = (namespace, session_id, seen)
            if event is not None:
                self._emit(event)
                emitted += 1
        self.stats.sessions = len(self._known)
        return emitted

    # ---------------------------------------------------------------- polling

    async def _baseline(self, client: RedisClient) -> None:
        scanner = SessionScanner(client, namespace=self.namespace, host_field=self.host_field)
        progress = scanner.progress
        async for batch in scanner.batches():
            for session in batch:
                self._known[session.key] = (session.namespace, session.id, snapshot(session))
            self._emit(SessionsRead(tuple(batch), baseline=True))
            self._emit(_progressed(progress))
        self._emit(_progressed(progress))
        self.stats.sessions = len(self._known)

    async def _poll_loop(self, client: RedisClient) -> None:
        stretched_said = False
        while True:
            if not self._polling():
                self._mode_changed.clear()
                await self._mode_changed.wait()
                continue
            await asyncio.sleep(self.poll_interval)
            if not self._polling():
                continue
            started = time.monotonic()
            await self._poll_pass(client)
            self._last_ok_ms = _now_ms()
            took = time.monotonic() - started
            pause = max(0.0, took * POLL_STRETCH - self.poll_interval)
            if pause and not stretched_said:
                stretched_said = True
                self._notice(
                    NoticeKind.MODE,
                    f"a polling pass over {self.stats.sessions} sessions takes {took:.1f} s: "
                    f"polling every {self.poll_interval + pause:.1f} s to spare the server",
                )
            if pause:
                await asyncio.sleep(pause)

    async def _poll_pass(self, client: RedisClient) -> int:
        """One pass: SCAN, HMGET lastAccessedTime, re-read what changed. Returns events."""
        started = time.monotonic()
        # While polling and listening, a notification may add a session the
        # SCAN has already passed: only what was known before the pass (and
        # not re-read since) can be missing from it.
        known_before = dict(self._known)
        commands = 0
        seen: set[str] = set()
        emitted = 0
        pattern = f"{self.namespace}:sessions:*" if self.namespace else "*sessions:*"
        for node in primaries(client):
            async for keys in scan_keys(client, node, match=pattern):
                commands += 1
                candidates = session_candidates(keys, namespace=self.namespace, seen=seen)
                if not candidates:
                    continue
                reads = [(b"HMGET", c[0].encode(), b"lastAccessedTime") for c in candidates]
                stamps = await run_pipeline(client, reads)
                check_replies(client, reads, stamps, wrongtype_ok=True)
                commands += len(candidates)
                changed = [
                    candidate
                    for candidate, stamp in zip(candidates, stamps, strict=True)
                    if isinstance(stamp, list) and self._stamp_changed(candidate[0], stamp[0])
                ]
                if changed:
                    emitted += await self._read_and_emit(client, changed, EventSource.POLL)
                    commands += 3 * len(changed)
        # A new tuple in _known means a notification re-read the session during
        # the pass: it exists (or its removal was reported already).
        gone = [
            name
            for name, entry in known_before.items()
            if name not in seen and self._known.get(name) is entry
        ]
        now = _now_ms()
        for name in gone:
            namespace, session_id, known = self._known.pop(name)
            self._emit(
                destroyed_event(
                    name, session_id, namespace, known, source=EventSource.POLL, now_ms=now
                )
            )
            emitted += 1
        self.stats.polls += 1
        self.stats.last_poll_commands = commands
        self.stats.last_poll_seconds = time.monotonic() - started
        self.stats.sessions = len(self._known)
        return emitted

    def _stamp_changed(self, key: str, stamp: bytes | None) -> bool:
        known = self._known.get(key)
        return known is None or known[2].last_access != stamp

    def _polling(self) -> bool:
        return self.mode is not FeedMode.NOTIFICATIONS

    # ---------------------------------------------------------------- topology

    async def _watch_topology(self, client: RedisCluster, nodes: list[_Node]) -> None:
        # Events are node-local: a failover or resharding that changes the set of
        # primaries means new subscriptions. Start over (with a catch-up poll).
        known = sorted(node.settings.endpoint for node in nodes)
        while True:
            await asyncio.sleep(10)
            with contextlib.suppress(RedisError, OSError):
                await client.nodes_manager.initialize()
            current = sorted(
                with_endpoint(self.settings, n.host, int(n.port)).endpoint
                for n in client.get_primaries()
            )
            if current != known:
                self._notice(NoticeKind.MODE, f"cluster primaries changed to {', '.join(current)}")
                raise _Restart()


def _items(batch: list[SourceItem | BaseException]) -> list[SourceItem]:
    return [item for item in batch if not isinstance(item, BaseException)]


def _progressed(progress: ScanProgress) -> ScanProgressed:
    return ScanProgressed(
        keys_scanned=progress.keys_scanned,
        sessions_found=progress.sessions_found,
        nodes_done=progress.nodes_done,
        nodes_total=progress.nodes_total,
        done=progress.done,
    )


def _flatten(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or the exception itself."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _flatten(inner)]
    return [exc]


def _connection_failure(
    problems: Sequence[BaseException], settings: ConnectionSettings
) -> Failure | None:
    """The connection-level failure among ``problems``; ``None`` if any is something else."""
    failures: list[Failure] = []
    for problem in problems:
        if isinstance(problem, Failure):
            failures.append(problem)
        elif isinstance(problem, (RedisError, OSError, TimeoutError)):
            failures.append(describe_failure(problem, settings))
        else:
            return None
    return failures[0] if failures else None


async def _open_node(settings: ConnectionSettings) -> Redis:
    client = await open_client(settings, single_node=True)
    assert isinstance(client, Redis)  # single_node never gives a cluster client
    return client


async def _read_notify_config(client: Redis) -> NotifySupport | None:
    """``notify-keyspace-events`` of one node, or ``None`` when CONFIG is refused."""
    try:
        reply = await client.execute_command("CONFIG", "GET", "notify-keyspace-events")
    except ResponseError:
        return None
    if isinstance(reply, dict):
        values = list(reply.values())
    else:
        values = list(reply)[1::2] if isinstance(reply, list) else []
    value = values[0] if values else b""
    text = value.decode() if isinstance(value, bytes) else str(value)
    return notify_flags_support(text)


async def _close_node(node: _Node) -> None:
    if node.pubsub is not None:
        with contextlib.suppress(Exception):
            await node.pubsub.aclose()
    if node.client is not None and node.owns_client:
        with contextlib.suppress(Exception):
            await node.client.aclose()
    node.pubsub = None
    node.client = None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _clock(epoch_ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(epoch_ms / 1000))
