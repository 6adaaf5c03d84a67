"""A TCP proxy in front of a test redis-server that drops connections on cue.

It forwards bytes both ways and counts, over all its connections, the commands
the client sends (``SCAN``, ``HGETALL``...). ``drop`` decides, per chunk from
the client, whether to cut that connection (both sides, abruptly) before the
chunk reaches the server: "the 3rd SCAN of the run", "every SCAN from the 3rd
on". New connections are accepted as before, so a client that reconnects gets
through. Runs its own event loop in a thread; loopback only.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable

__all__ = ["DroppingProxy"]

COMMANDS = (
    b"SCAN",
    b"HGETALL",
    b"HMGET",
    b"PTTL",
    b"INFO",
    b"PING",
    b"STRLEN",
    b"GETRANGE",
    b"GET",
)


class DroppingProxy:
    """``127.0.0.1:port`` -> ``127.0.0.1:upstream``, cutting connections when ``drop`` says."""

    def __init__(self, upstream: int, drop: Callable[[Counter[bytes], bytes], bool]) -> None:
        self.upstream = upstream
        self.drop = drop
        self.seen: Counter[bytes] = Counter()
        """Commands the clients sent so far, over every connection."""
        self.dropped = 0
        self.connections = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="dropping-proxy", daemon=True)

    def __enter__(self) -> DroppingProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return

        def cut() -> None:
            writer.transport.abort()
            up_writer.transport.abort()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                for command in COMMANDS:
                    self.seen[command] += data.count(b"\r\n" + command + b"\r\n")
                if self.drop(self.seen, data):
                    self.dropped += 1
                    cut()
                    return
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        pumps = [asyncio.ensure_future(p()) for p in (client_to_server, server_to_client)]
        _, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)
        cut()
