"""The feed's supervisor: connect, choose the mode, run listeners and poller, recover.

A dropped connection (restart, failover, network, a silent subscriber, one
closed for overflowing its output buffer) is reported once, retried with
backoff (on a cluster: every node it knew, then the seed's name again), and
followed by a catch-up poll and a notice naming the gap and what it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisError

from inspector.core.changes import RequestEvent
from inspector.core.frameworks import Registry
from inspector.core.session import HostField
from inspector.core.source import FeedMode, FeedNotice, NoticeKind, SourceItem
from inspector.core.spring import normalize_namespace
from inspector.exits import ExitCode
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.discovery import DEFAULT_MAX_VALUE_BYTES
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.feed.frameworks import (
    KEYEVENT_NAMES,
    FrameworkWatch,
    keyspace_patterns,
    string_events_on,
)
from inspector.redis_io.feed.listener import NodeListener, SubscribeRefused
from inspector.redis_io.feed.mode import acl_grants, choose_mode, probe_nodes, subscriptions
from inspector.redis_io.feed.pending import PendingReads
from inspector.redis_io.feed.poller import Poller
from inspector.redis_io.feed.recovery import Recovery, run_ids
from inspector.redis_io.feed.report import FeedStats, Reporter, now_ms
from inspector.redis_io.feed.tracker import SessionTracker
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = ["ChangeFeed", "FeedItem"]

FeedItem = RequestEvent | FeedNotice
"""What :meth:`ChangeFeed.events` yields (``watch``): requests and notices only."""


class _Restart(Exception):
    """Internal: the topology changed; start over with fresh connections."""


@dataclass(slots=True)
class _Node:
    settings: ConnectionSettings
    client: Redis | None = None
    owns_client: bool = True
    """False when ``client`` is the feed's main client (standalone), closed elsewhere."""
    listener: NodeListener | None = None


RETRYABLE_FIRST = frozenset(
    {
        Problem.REFUSED,
        Problem.DNS,  # a compose/ECS service name appears when its container starts
        Problem.NO_SOCKET,
        Problem.UNREACHABLE,
        Problem.TIMEOUT,
        Problem.CLOSED,
        Problem.CLUSTER,  # a cluster still forming (CLUSTERDOWN)
        Problem.SSH_UNREACHABLE,
        Problem.SSH_LOST,
    }
)
"""First-connection failures that waiting can mend. A wrong password, a TLS
mismatch or an ACL refusal stay as they are however often one tries."""


class ChangeFeed:
    """Yields a :class:`RequestEvent` per observed request, and :class:`FeedNotice` s.

    Args:
        settings: Where to connect (standalone or cluster, detected).
        namespace: Only this namespace; ``None`` watches every namespace.
        host_field: Where to read the host (``--host-field``).
        poll_interval: Seconds between polling passes (when polling).
        enable_notifications: Set ``notify-keyspace-events`` so hash events are
            published, if they are not (the only write this class may do).
        ping_interval: Seconds between PINGs on each subscribed connection.
        silence_timeout: Seconds without an answer after which a subscriber is lost.
        lag_warning: Seconds of subscriber lag that earn a warning.
        topology_interval: Seconds between checks of a cluster's primaries.
        registry: Other frameworks' adapters whose sessions are watched too
            (``None``: Spring's only).
        spring: Whether Spring's sessions are watched.
        max_value_bytes: Session values longer than this are not read
            (``--max-value-bytes``; ``None``: all are).
        retry_first_connect: Keep trying when the first connection fails in a way
            a later attempt may not (refused, unreachable, no such host yet, a
            timeout), with a CONNECTING notice per attempt: the TUI, started before
            its server. ``watch`` fails at once instead, as scripts expect.
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        namespace: str | None = None,
        host_field: HostField | None = None,
        poll_interval: float = 1.0,
        enable_notifications: bool = False,
        ping_interval: float = 5.0,
        silence_timeout: float = 15.0,
        lag_warning: float = 2.0,
        topology_interval: float = 10.0,
        registry: Registry | None = None,
        spring: bool = True,
        max_value_bytes: int | None = DEFAULT_MAX_VALUE_BYTES,
        retry_first_connect: bool = False,
    ) -> None:
        self.settings = settings
        self.retry_first_connect = retry_first_connect
        self.namespace = normalize_namespace(namespace) if namespace else None
        self.poll_interval = poll_interval
        self.enable_notifications = enable_notifications
        self.ping = (ping_interval, silence_timeout, lag_warning)
        self.topology_interval = topology_interval
        self._reporter = Reporter()
        self._frameworks = (
            FrameworkWatch(registry, self._reporter, host_field=host_field)
            if registry is not None
            else None
        )
        self._tracker = SessionTracker(
            self._reporter,
            namespace=self.namespace,
            host_field=host_field,
            frameworks=self._frameworks,
            spring=spring,
            max_value_bytes=max_value_bytes,
        )
        self._poller = Poller(self._tracker, interval=poll_interval)
        self._pending = PendingReads(self._tracker)
        self._recovery = Recovery(self._reporter, settings)
        self._howto_said = False

    @property
    def mode(self) -> FeedMode:
        """How requests are found now."""
        return self._reporter.mode

    @property
    def stats(self) -> FeedStats:
        """Counters (events, reads, polls, lag...)."""
        return self._reporter.stats

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
                batch = await self._reporter.batch()
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

    async def _supervise(self) -> None:
        recovery = self._recovery
        while True:
            try:
                await self._run_connected()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # sorted out below: connection trouble, restart, or a bug
                problems = _flatten(exc)
                if any(isinstance(p, _Restart) for p in problems):
                    recovery.restarting()
                    continue
                failure = _connection_failure(problems, self.settings)
                if failure is None:
                    self._reporter.fail(exc)  # a bug: end the feed with it, not silently
                    return
                if (
                    not recovery.ready_once
                    and self.retry_first_connect
                    and failure.problem in RETRYABLE_FIRST
                ):
                    recovery.not_yet(failure)
                    await recovery.backoff()
                    continue
                if not recovery.ready_once or failure.exit_code is ExitCode.PERMISSION:
                    # Never connected, or refused a command it needs (an ACL
                    # change): reconnecting cannot help.
                    self._reporter.fail(failure)
                    return
                # Mid-watch, the plain reason reads best ("Connection closed by
                # server."); the handshake-time advice (--tls...) would mislead.
                first = problems[0]
                recovery.lost(failure.message if isinstance(first, Failure) else str(first))
            await recovery.backoff()

    async def _run_connected(self) -> None:
        recovery = self._recovery
        client = await recovery.connect()
        nodes: list[_Node] = []
        try:
            nodes = await _open_nodes(self.settings, client)
            listeners = await _choose_mode(self, nodes)
            recovery.connected(client, listeners, await run_ids([n.client for n in nodes]))
            async with asyncio.TaskGroup() as group:
                # Subscribed before reading anything: a write landing while the
                # baseline or catch-up pass runs is then queued, not lost.
                for listener in listeners:
                    group.create_task(listener.run())
                if not recovery.ready_once:
                    await self._tracker.baseline(client)
                    self.stats.last_complete_pass_ms = now_ms()
                else:
                    recovery.caught_up(await self._poller.run_pass(client))
                recovery.ready(_ready_text(self, len(nodes)))
                self._reporter.health(subscribed=bool(listeners))
                group.create_task(self._pending.run(client))
                group.create_task(self._poller.run(client))
                if isinstance(client, RedisCluster):
                    group.create_task(_watch_topology(self, client, nodes))
        finally:
            for node in nodes:
                await _close_node(node)
            with contextlib.suppress(Exception):
                await client.aclose()


async def _choose_mode(feed: ChangeFeed, nodes: Sequence[_Node]) -> list[NodeListener]:
    """Read the setting, subscribe, and settle the mode; returns the listeners."""
    clients = [(node.settings.endpoint, _client(node)) for node in nodes]
    supports = await probe_nodes(
        clients,
        feed._reporter,
        enable_notifications=feed.enable_notifications,
        strings=feed._frameworks is not None,
    )
    choice = choose_mode(supports)
    frameworks = feed._frameworks
    extra: list[bytes] = []
    if frameworks is not None:
        frameworks.string_events = all(string_events_on(s) for s in supports)
        extra = keyspace_patterns(frameworks.registry, feed.settings.db)

    try:
        for node, support in zip(nodes, supports, strict=True):
            node.listener = _listener(feed, node)
            patterns, channels = subscriptions(
                support,
                choice.mode,
                db=feed.settings.db,
                namespace=feed.namespace,
                patterns=extra,
                events=KEYEVENT_NAMES if frameworks is not None else (),
            )
            await node.listener.subscribe(patterns, channels)
    except SubscribeRefused as refused:
        # An ACL without pub/sub (ElastiCache's read-only string): poll only.
        every, _ = subscriptions(
            None, FeedMode.PROBING, db=feed.settings.db, namespace=feed.namespace,
            patterns=extra,
        )  # fmt: skip
        grants = acl_grants(every, db=feed.settings.db)
        choice = choose_mode(supports, subscribe_refused=str(refused), grants=grants)
        for node in nodes:
            await _close_listener(node)
    feed._reporter.set_mode(choice.mode)
    if choice.explanation and not feed._howto_said:
        feed._howto_said = True
        feed._reporter.notice(NoticeKind.HOWTO, choice.explanation)
    return [node.listener for node in nodes if node.listener is not None]


def _listener(feed: ChangeFeed, node: _Node) -> NodeListener:
    ping_interval, silence_timeout, lag_warning = feed.ping
    return NodeListener(
        _client(node),
        node.settings.endpoint,
        feed._reporter,
        feed._pending.notified,
        ping_interval=ping_interval,
        silence_timeout=silence_timeout,
        lag_warning=lag_warning,
    )


def _ready_text(feed: ChangeFeed, nodes: int) -> str:
    where = f"{nodes} primaries" if nodes > 1 else feed._recovery.endpoint
    scope = f"namespace {feed.namespace}" if feed.namespace else "every namespace"
    how = {
        FeedMode.NOTIFICATIONS: "keyspace notifications",
        FeedMode.POLLING: f"polling every {feed.poll_interval:g} s",
        FeedMode.PROBING: f"polling every {feed.poll_interval:g} s, listening as well",
    }[feed.mode]
    return f"watching {len(feed._tracker)} sessions in {scope} on {where} via {how}"


async def _watch_topology(feed: ChangeFeed, client: RedisCluster, nodes: list[_Node]) -> None:
    # Events are node-local: a failover or resharding that changes the set of
    # primaries means new subscriptions. Start over (with a catch-up poll).
    known = sorted(node.settings.endpoint for node in nodes)
    while True:
        await asyncio.sleep(feed.topology_interval)
        with contextlib.suppress(RedisError, OSError):
            await client.nodes_manager.initialize()
        feed._recovery.remember_nodes(client)
        current = sorted(
            with_endpoint(feed.settings, n.host, int(n.port)).endpoint
            for n in client.get_primaries()
        )
        if current != known:
            feed._reporter.notice(
                NoticeKind.MODE, f"cluster primaries changed to {', '.join(current)}"
            )
            raise _Restart()


async def _open_nodes(settings: ConnectionSettings, client: RedisClient) -> list[_Node]:
    """The primaries to subscribe on, each with a client of its own (standalone: the main one)."""
    if not isinstance(client, RedisCluster):
        # Standalone: the main client serves the node too. Its subscriptions
        # take a connection of their own from the client's pool, and its
        # commands (CONFIG) are ordinary ones: no second client, no second probe.
        return [_Node(client.settings, client=client, owns_client=False)]
    nodes = [
        _Node(with_endpoint(settings, node.host, int(node.port))) for node in client.get_primaries()
    ]
    opened = await asyncio.gather(
        *(_open_node(node.settings) for node in nodes), return_exceptions=True
    )  # every primary at once
    for node, result in zip(nodes, opened, strict=True):
        if not isinstance(result, BaseException):
            node.client = result
    failed = [result for result in opened if isinstance(result, BaseException)]
    if failed:
        for node in nodes:
            await _close_node(node)
        raise failed[0]
    return nodes


def _client(node: _Node) -> Redis:
    assert node.client is not None  # opened by _open_nodes
    return node.client


def _items(batch: list[SourceItem | BaseException]) -> list[SourceItem]:
    return [item for item in batch if not isinstance(item, BaseException)]


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


async def _close_listener(node: _Node) -> None:
    if node.listener is not None:
        with contextlib.suppress(Exception):
            await node.listener.aclose()
    node.listener = None


async def _close_node(node: _Node) -> None:
    await _close_listener(node)
    if node.client is not None and node.owns_client:
        with contextlib.suppress(Exception):
            await node.client.aclose()
    node.client = None
