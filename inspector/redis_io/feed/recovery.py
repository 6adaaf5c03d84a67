"""Outages: where to reconnect, when the gap began, and how to say what it cost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisError

from inspector.core.source import FeedMode, FeedNotice, NoticeKind
from inspector.redis_io.client import RedisClient, open_client, round_trip
from inspector.redis_io.errors import Failure
from inspector.redis_io.feed.listener import NodeListener
from inspector.redis_io.feed.report import Reporter, clock, now_ms
from inspector.redis_io.feed.tracker import Changes
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = ["MAX_BACKOFF", "Recovery", "run_ids"]

MAX_BACKOFF = 5.0


class Recovery:
    """The supervisor's memory across connections: nodes, run ids, the current outage.

    Args:
        reporter: Where LOST / RECONNECTED / READY notices go.
        settings: The seed (``-h/-p``, a configuration endpoint's name).
    """

    def __init__(self, reporter: Reporter, settings: ConnectionSettings) -> None:
        self.reporter = reporter
        self.settings = settings
        self.endpoint = settings.endpoint
        """The endpoint the current connection came through."""
        self.ready_once = False
        self._nodes: list[tuple[str, int]] = []
        """Every cluster node seen (primaries first): where to reconnect when the seed is gone."""
        self._run_ids: dict[str, str] = {}
        self._previous_run_ids: dict[str, str] = {}
        self._listeners: Sequence[NodeListener] = ()
        self._lost_at: int | None = None
        """Start of the current outage (epoch ms); ``None`` while connected."""
        self._lag_at_loss = 0
        self._delay = 0.5

    async def connect(self) -> RedisClient:
        """Connect through the seed; after an outage, through every known node, then the seed.

        Raises:
            Failure: No endpoint answered (the last one's failure).
        """
        candidates = [self.settings]
        if self.ready_once and self._nodes:
            seed = (self.settings.host, self.settings.port)
            others = [with_endpoint(self.settings, h, p) for h, p in self._nodes if (h, p) != seed]
            candidates = [*others, self.settings]  # the seed last: its name may point anew
        failure: Failure | None = None
        for settings in candidates:
            try:
                client = await open_client(settings)
            except Failure as exc:
                failure = failure or exc  # the seed's own reason reads best, when it is first
                if settings is self.settings:
                    failure = exc
                continue
            self.endpoint = settings.endpoint
            return client
        assert failure is not None
        raise failure

    def connected(
        self, client: RedisClient, listeners: Sequence[NodeListener], ids: dict[str, str]
    ) -> None:
        """Subscribed on a fresh connection: remember its nodes, listeners and run ids."""
        self._listeners = listeners
        self._previous_run_ids, self._run_ids = self._run_ids, ids
        self.remember_nodes(client)

    def remember_nodes(self, client: Redis | RedisCluster) -> None:
        """Note every node of a cluster (a later reconnect may need any of them)."""
        if not isinstance(client, RedisCluster):
            return
        primaries = {(n.host, int(n.port)) for n in client.get_primaries()}
        every = [(n.host, int(n.port)) for n in client.get_nodes()]
        self._nodes = sorted(every, key=lambda node: node not in primaries)

    def sync_point(self) -> int:
        """Until when (epoch ms) every request was seen: where a gap starts."""
        if self.reporter.mode is FeedMode.NOTIFICATIONS and self._listeners:
            return min(listener.in_sync_ms for listener in self._listeners)
        return self.reporter.stats.last_complete_pass_ms or now_ms()

    def lost(self, reason: str) -> None:
        """Report the loss, once per outage however many attempts fail."""
        if self._lost_at is not None:
            return
        self._lost_at = self.sync_point()
        self._lag_at_loss = max((lsn.lag_now_ms() for lsn in self._listeners), default=0)
        self.reporter.notice(
            NoticeKind.LOST, f"connection to {self.endpoint} lost ({reason}); reconnecting"
        )

    def not_yet(self, failure: Failure) -> None:
        """Never connected, and this attempt failed: say why and when the next one is."""
        self.reporter.emit(
            FeedNotice(
                now_ms(),
                NoticeKind.CONNECTING,
                f"{failure.message}; next attempt in {self._delay:g} s",
                mode=self.reporter.mode,
                retry_in=self._delay,
                exit_code=int(failure.exit_code),
            )
        )

    def restarting(self) -> None:
        """The topology changed: the reconnect that follows has a gap too."""
        if self._lost_at is None:
            self._lost_at = self.sync_point()

    async def backoff(self) -> None:
        """Wait before the next attempt (0.5 s, doubling up to :data:`MAX_BACKOFF`)."""
        await asyncio.sleep(self._delay)
        self._delay = min(self._delay * 2, MAX_BACKOFF)

    def caught_up(self, changes: Changes) -> None:
        """The catch-up poll after a reconnect is done: name the gap and what it changed."""
        self.reporter.stats.reconnects += 1
        since = self._lost_at or now_ms()
        until = now_ms()
        lag = self._lag_at_loss / 1000
        lost = lag > max((listener.lag_warning for listener in self._listeners), default=2.0)
        text = (
            f"reconnected to {self.endpoint}; requests between {clock(since)} and "
            f"{clock(until)} {'are lost' if lost else 'may be missing'}"
        )
        if lost:
            text += (
                f" (the subscriber was {lag:.1f} s behind when its connection closed: Redis "
                "closes a subscriber whose output buffer overflows)"
            )
        restarted = [
            endpoint
            for endpoint, run_id in self._run_ids.items()
            if self._previous_run_ids.get(endpoint, run_id) != run_id
        ]
        if restarted and changes.gone:
            text += f"; {changes.gone} sessions disappeared (server restarted: run_id changed)"
        elif restarted:
            text += "; the server restarted (run_id changed)"
        text += (
            f"; a catch-up poll found {changes.total} changed sessions ({changes.created} new, "
            f"{changes.changed} changed, {changes.gone} gone): it sees each session's latest "
            "state only, requests in between are not recoverable"
        )
        self.reporter.notice(NoticeKind.RECONNECTED, text, gap=(since, until))

    def ready(self, text: str) -> None:
        """The data is complete (baseline or catch-up done): the outage is over."""
        self._lost_at = None  # the next outage gets its own notice
        self._lag_at_loss = 0
        self.ready_once = True
        self._delay = 0.5
        self.reporter.stats.subscriber_lag_ms = 0
        self.reporter.notice(NoticeKind.READY, text)


async def run_ids(clients: Sequence[Redis | None]) -> dict[str, str]:
    """``run_id`` (INFO server) of each node by endpoint; nodes refusing INFO are left out.

    A node answering with a new run id restarted: its data may be gone.
    """
    ids: dict[str, str] = {}
    for client in clients:
        if client is None:
            continue
        with contextlib.suppress(RedisError):
            async with round_trip():
                info = await client.execute_command("INFO", "server")
            run_id = info.get("run_id") if isinstance(info, dict) else None
            if run_id:
                settings = getattr(client, "settings", None)
                endpoint = settings.endpoint if settings is not None else str(id(client))
                ids[endpoint] = run_id.decode() if isinstance(run_id, bytes) else str(run_id)
    return ids
