"""The app's Redis connection: opened lazily, re-opened after an outage."""

from __future__ import annotations

import asyncio
import contextlib

from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["RedisHolder"]


class RedisHolder:
    """Hands out a connected client, connecting on first use.

    The app must start (and answer ``/health`` with 503) while Redis is down,
    and recover when it returns; redis-py reconnects a client's pool by itself,
    but the first connection (and cluster detection) needs a server.
    """

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._client: RedisClient | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> RedisClient:
        """A connected client.

        Raises:
            inspector.redis_io.errors.Failure: Redis cannot be reached (the
                caller answers 503).
        """
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                # A short read timeout: a page must fail fast, not hang, when
                # Redis stalls.
                self._client = await open_client(self.settings, read_timeout=2.0)
            return self._client

    async def aclose(self) -> None:
        """Close the client, if one was opened."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
