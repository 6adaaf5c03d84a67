"""Listening for keyspace notifications on one node, with a liveness check and lag measure.

Why not redis-py's own ``AsyncKeyspaceNotifications`` /
``AsyncClusterKeyspaceNotifications`` (redis 8.x): they do the subscribing
and parsing this module needs, but they repair trouble *silently*. A cluster
node whose subscription fails is logged and retried on the next refresh; a
connection error during ``get_message`` re-subscribes without telling the
caller. The feed must know of every lost subscription, because each one is a
window of missed requests that needs a catch-up poll and a notice naming the
gap. They also refuse nothing loudly (an ACL ``NOPERM`` on PSUBSCRIBE is only
logged in cluster mode, where the feed must fall back to polling and say why),
poll every node round-robin with 0.1 s timeouts instead of one reader per node,
and have no liveness check. So the feed keeps one plain :class:`PubSub` per
primary, and adds what they lack: a PING on the subscribed connection every
``ping_interval`` (a missing answer within ``silence_timeout`` means the link
is dead, even though TCP says nothing), and the PING's round trip as the
subscriber's lag: a PONG queues behind every notification Redis has not yet
delivered, so its delay is exactly how far behind the subscriber is.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from inspector.core.source import NoticeKind
from inspector.redis_io.client import round_trip
from inspector.redis_io.feed.report import Reporter, now_ms

__all__ = ["NodeListener", "SubscribeRefused", "SubscriberLost", "parse_notification"]

OnNotification = Callable[[bytes, bytes], None]
"""Called with ``(key, event)`` for every keyspace or keyevent notification."""


class SubscribeRefused(Exception):
    """The server refused SUBSCRIBE/PSUBSCRIBE (an ACL without pub/sub or channel rights)."""


class SubscriberLost(RedisConnectionError):
    """The subscribed connection stopped answering (no PONG within the silence timeout)."""


def parse_notification(channel: bytes, data: bytes) -> tuple[bytes, bytes]:
    """``(key, event)`` from a ``__keyspace@..`` or ``__keyevent@..`` message."""
    if channel.startswith(b"__keyspace@"):
        return channel.split(b"__:", 1)[1], data
    return data, channel.rsplit(b":", 1)[1]


class NodeListener:
    """One node's subscription: notifications to ``on_notification``, PINGs for liveness.

    Args:
        client: A client for this node only (its PubSub takes a connection of its own).
        endpoint: How to name the node in notices.
        reporter: Where lag warnings go, and the lag counter.
        on_notification: Called for each notification.
        ping_interval: Seconds between PINGs on the subscribed connection.
        silence_timeout: Seconds without any reply, a PING outstanding, after
            which the connection counts as lost.
        lag_warning: Seconds of lag after which the user is warned (Redis
            closes subscribers whose output buffer overflows).
    """

    def __init__(
        self,
        client: Redis,
        endpoint: str,
        reporter: Reporter,
        on_notification: OnNotification,
        *,
        ping_interval: float,
        silence_timeout: float,
        lag_warning: float,
    ) -> None:
        self.endpoint = endpoint
        self.reporter = reporter
        self.on_notification = on_notification
        self.ping_interval = ping_interval
        self.silence_timeout = silence_timeout
        self.lag_warning = lag_warning
        self.pubsub: PubSub = client.pubsub(ignore_subscribe_messages=False)
        self.lag_ms = 0
        """The subscriber's lag at the last PONG (or since the oldest unanswered PING)."""
        self.in_sync_ms = now_ms()
        """Every notification published before this time (epoch ms) was delivered promptly."""
        self._pings: collections.deque[int] = collections.deque()
        self._last_heard = time.monotonic()
        self._lag_said = False

    async def subscribe(self, patterns: list[bytes], channels: list[bytes]) -> None:
        """Subscribe and wait for every confirmation.

        Raises:
            SubscribeRefused: The server refused (command or channel permission).
        """
        try:
            async with round_trip():
                if patterns:
                    await self.pubsub.psubscribe(*patterns)
                if channels:
                    await self.pubsub.subscribe(*channels)
                confirmed = 0
                while confirmed < len(patterns) + len(channels):
                    message = await self.pubsub.get_message(timeout=None)
                    if message is not None and message["type"] in ("subscribe", "psubscribe"):
                        confirmed += 1
        except ResponseError as exc:
            raise SubscribeRefused(str(exc)) from exc
        self.in_sync_ms = now_ms()
        self._last_heard = time.monotonic()

    async def run(self) -> None:
        """Read notifications and PING until cancelled.

        Raises:
            SubscriberLost: No answer within ``silence_timeout``.
            redis.exceptions.ConnectionError: The connection closed.
        """
        async with asyncio.TaskGroup() as group:
            group.create_task(self._read(), name=f"feed-listen {self.endpoint}")
            group.create_task(self._ping(), name=f"feed-ping {self.endpoint}")

    def lag_now_ms(self) -> int:
        """The lag as known now: the last PONG's, or the age of the oldest unanswered PING."""
        oldest = self._pings[0] if self._pings else None
        return max(self.lag_ms, now_ms() - oldest if oldest is not None else 0)

    async def aclose(self) -> None:
        """Close the subscribed connection."""
        await self.pubsub.aclose()

    async def _read(self) -> None:
        while True:
            message = await self.pubsub.get_message(timeout=None)
            self._last_heard = time.monotonic()
            if message is None:
                continue
            kind = message["type"]
            if kind in ("message", "pmessage"):
                self.on_notification(*parse_notification(message["channel"], message["data"]))
            elif kind == "pong":
                self._ponged(message["data"])

    def _ponged(self, payload: bytes) -> None:
        try:
            sent = int(payload)
        except ValueError:
            return  # not one of ours
        while self._pings and self._pings[0] <= sent:
            self._pings.popleft()
        self.lag_ms = max(0, now_ms() - sent)
        self.reporter.stats.subscriber_lag_ms = self.lag_ms
        self.reporter.health(subscribed=True)
        if self.lag_ms <= self.lag_warning * 1000:
            self.in_sync_ms = sent
            if self._lag_said:
                self._lag_said = False
                self.reporter.notice(
                    NoticeKind.CURRENT, f"the subscriber on {self.endpoint} has caught up"
                )

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            now = now_ms()
            if self._pings:
                silent = time.monotonic() - self._last_heard
                if silent > self.silence_timeout:
                    raise SubscriberLost(
                        f"no answer on the subscriber connection for {silent:.0f} s"
                    )
                self.lag_ms = max(self.lag_ms, now - self._pings[0])
                self.reporter.stats.subscriber_lag_ms = self.lag_ms
                self.reporter.health(subscribed=True)
            if self.lag_ms > self.lag_warning * 1000 and not self._lag_said:
                self._lag_said = True
                self.reporter.notice(
                    NoticeKind.STALE,
                    f"the subscriber on {self.endpoint} is {self.lag_ms / 1000:.1f} s behind "
                    "the server: requests are shown late, and if its output buffer overflows "
                    "(client-output-buffer-limit pubsub) Redis closes it and requests are lost",
                )
            if not getattr(self.pubsub.connection, "is_connected", False):
                # redis-py would reconnect (and re-subscribe) silently on send.
                raise SubscriberLost("the subscriber connection closed")
            self._pings.append(now)
            await self.pubsub.ping(str(now).encode())
