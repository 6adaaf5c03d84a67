"""Sessions from a Redis server (standalone or cluster): the TUI's source.

:class:`RedisSource` implements :class:`~inspector.core.source.SessionSource`
with two clients, as the TUI always has:

- the :class:`~inspector.redis_io.feed.ChangeFeed` (baseline scan, then
  notifications or polling, reconnects), whose batches :meth:`RedisSource.items`
  hands on unchanged;
- a *browse* client for reading one session in full, deleting one and the
  server summary. It is opened on first use and again after a failed attempt,
  so a server that was down at start is used once it is back.

Every failure leaves here as a :class:`~inspector.redis_io.errors.Failure`
already explained in one line, so a screen only shows ``failure.message``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from inspector.core.frameworks import Registry
from inspector.core.session import HostField, Session
from inspector.core.source import ServerSummary, SourceItem
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.discovery import (
    DEFAULT_MAX_VALUE_BYTES,
    find_session,
    read_raw_sessions,
)
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.feed import ChangeFeed
from inspector.redis_io.server import server_summary
from inspector.redis_io.settings import ConnectionSettings
from inspector.redis_io.writes import delete_session

__all__ = ["RedisSource", "split_key"]


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, id)`` of a session hash key ``<namespace>:sessions:<id>``.

    A key without the ``:sessions:`` part is taken as an id in no namespace.
    """
    namespace, separator, session_id = key.rpartition(":sessions:")
    if not separator:
        return "", key
    return namespace, session_id


class RedisSource:
    """The change feed plus a browse client, behind the SessionSource interface.

    Args:
        settings: Where to connect.
        namespace: Only this namespace; ``None`` watches every namespace.
        host_field: Where to read the host (``--host-field``).
        poll_interval: Seconds between polling passes (when polling).
        registry: Other frameworks' adapters whose sessions are shown too
            (``None``: Spring's only).
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        namespace: str | None = None,
        host_field: HostField | None = None,
        poll_interval: float = 1.0,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.namespace = namespace
        self.host_field = host_field
        self.poll_interval = poll_interval
        self.browse_client: RedisClient | None = None
        """The second client, once open (``None`` before and after)."""
        self._opening: asyncio.Task[RedisClient] | None = None
        self._closing = False

    # ---------------------------------------------------------------- the feed

    async def items(self) -> AsyncIterator[Sequence[SourceItem]]:
        """The feed's batches: sessions read, requests, notices and scan progress.

        A first connection that fails for want of a server (refused, unreachable,
        no such host yet) is retried with backoff, each attempt a CONNECTING
        notice: a TUI opened before its server comes up connects when it does.

        Raises:
            Failure: The first connection failed in a way retrying cannot mend (a
                password, TLS, an ACL refusal), or the server refused the feed later.
        """
        feed = ChangeFeed(
            self.settings,
            namespace=self.namespace,
            host_field=self.host_field,
            poll_interval=self.poll_interval,
            registry=self.registry,
            retry_first_connect=True,
        )
        async for batch in feed.items():
            yield batch

    # ---------------------------------------------------------------- the browse client

    async def browse(self) -> RedisClient:
        """The client for reads of one session, deletions and the summary, opened if needed.

        A failed attempt is not remembered: the next call tries again.

        Raises:
            Failure: Cannot connect (in one line), or the source is closing.
        """
        if self.browse_client is not None:
            return self.browse_client
        if self._closing:
            raise Failure(Problem.CLOSED, "session-inspector is closing")
        opening = self._opening
        if opening is None or opening.done():
            # A source-owned task, shielded below: a caller that gives up (a
            # detail screen closed while connecting) does not cancel it half-way,
            # and aclose can still cancel and await it.
            opening = asyncio.create_task(self._open())
            opening.add_done_callback(_retrieve)
            self._opening = opening
        return await asyncio.shield(opening)

    async def _open(self) -> RedisClient:
        client = await open_client(self.settings)
        if self._closing:
            await client.aclose()
            raise Failure(Problem.CLOSED, "session-inspector is closing")
        self.browse_client = client
        return client

    async def find(self, key: str) -> Session | None:
        """Read one session in full, or ``None`` when it is gone.

        Raises:
            Failure: Not connected, or refused (in one line).
        """
        namespace, session_id = split_key(key)
        try:
            client = await self.browse()
            return await find_session(
                client, session_id, namespace=namespace or None, host_field=self.host_field
            )
        except Exception as exc:
            raise describe_failure(exc, self.settings) from exc

    async def find_many(self, keys: Sequence[str]) -> list[Session]:
        """Read Spring sessions in full with one pipeline (HGETALL and both PTTLs each).

        Values over ``--max-value-bytes``' default stay unread (their sizes are
        known), as in :meth:`find`; sessions gone since are left out.

        Raises:
            Failure: Not connected, or refused (in one line).
        """
        if not keys:
            return []
        candidates = [(key, *split_key(key)) for key in keys]
        try:
            client = await self.browse()
            raws = await read_raw_sessions(
                client, candidates, max_value_bytes=DEFAULT_MAX_VALUE_BYTES
            )
        except Exception as exc:
            raise describe_failure(exc, self.settings) from exc
        host_field = self.host_field
        return [Session.from_raw(raw, host_field=host_field) for raw in raws]

    async def delete(self, session: Session) -> int:
        """Delete a session, its shadow key and index entries; returns how many were removed.

        Raises:
            Failure: Refused (ACL, a read-only replica...) or not connected; some
                keys may remain.
        """
        try:
            client = await self.browse()
            return await delete_session(client, session)
        except Exception as exc:
            raise describe_failure(exc, self.settings) from exc

    async def summary(self) -> ServerSummary | None:
        """Engine, version, mode, keys, memory and clients (one INFO, one DBSIZE per primary).

        Raises:
            Failure: Not connected.
        """
        try:
            return await server_summary(await self.browse())
        except Exception as exc:
            raise describe_failure(exc, self.settings) from exc

    async def aclose(self) -> None:
        """Close the browse client (the feed closes when its reader stops)."""
        self._closing = True
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            opening.cancel()
            # wait() does not raise: its outcome is _retrieve's to collect.
            await asyncio.wait({opening})
        client, self.browse_client = self.browse_client, None
        if client is not None:
            await client.aclose()


def _retrieve(task: asyncio.Task[RedisClient]) -> None:
    # Marks a failed opening's exception as seen when every caller gave up
    # waiting (asyncio would log it); the next caller opens again anyway.
    if not task.cancelled():
        task.exception()
