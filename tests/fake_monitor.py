"""A MONITOR without a server, for the TUI's attribution tests and snapshots.

:class:`FakeMonitor` implements :class:`~inspector.redis_io.monitor.AttributionMonitor`
around the real, pure :class:`~inspector.core.attribution.Attributor`: a test
says which connection wrote a session (:meth:`FakeMonitor.write`, as a MONITOR
line would) and the app's events are attributed exactly as by the real
readers. Refusal is a notice, as the real one's.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Sequence

from inspector.core.attribution import (
    AttributedRequest,
    AttributionNotice,
    AttributionNoticeKind,
    Attributor,
)
from inspector.core.changes import RequestEvent
from inspector.core.monitor import MONITOR_COSTS, MonitorCommand, monitor_cost_summary
from inspector.redis_io.monitor import MonitorStats, MonitorStatus
from tests.factories import NOW_MS

__all__ = ["NODE", "FakeMonitor"]

NODE = "127.0.0.1:6379"


class FakeMonitor:
    """MONITOR attribution's interface, fed by the test instead of a server.

    Args:
        attributor: Shared with the app (``make_app(..., attributor=, monitor=)``).
        refuse: The server's error, when MONITOR is to be refused.
    """

    def __init__(self, attributor: Attributor, *, refuse: str | None = None) -> None:
        self.attributor = attributor
        self.refuse = refuse
        self.running = False
        self.starts = 0
        self.stats = MonitorStats()
        self._notices: asyncio.Queue[AttributionNotice] = asyncio.Queue()
        self._time_us = NOW_MS * 1000

    @property
    def active(self) -> bool:
        return self.running and self.refuse is None

    async def start(self) -> None:
        self.starts += 1
        self.running = True
        if self.refuse is not None:
            self._notice(
                AttributionNoticeKind.REFUSED,
                f"MONITOR refused by {NODE} ({self.refuse}): attributing requests by the "
                "session's host attribute instead (grant +monitor to name connections)",
            )
        else:
            self._notice(
                AttributionNoticeKind.ATTACHED,
                f"attributing requests by connection: MONITOR on {NODE}",
            )

    async def aclose(self) -> None:
        self.running = False
        self.attributor.log.clear()

    async def wait_attached(self) -> bool:
        return self.active

    def status(self) -> MonitorStatus:
        return MonitorStatus(
            attached=(NODE,) if self.active else (),
            primaries=1,
            refused=self.running and self.refuse is not None,
            lag_s=0.0,
            stats=dataclasses.replace(self.stats),
            costs=MONITOR_COSTS,
            cost_summary=monitor_cost_summary(),
        )

    async def notices(self) -> AsyncGenerator[AttributionNotice, None]:
        while True:
            yield await self._notices.get()

    async def attribute(self, events: Sequence[RequestEvent]) -> list[AttributedRequest]:
        decisions = [self.attributor.decide(event) for event in events]
        return [self.attributor.finish(decision) for decision in decisions]

    # ------------------------------------------------------------ the test's side

    def write(self, key: str, client: str, stamp: int, *, name: str | None = None) -> None:
        """Connection ``client`` wrote session ``key`` (HSET lastAccessedTime), named ``name``."""
        if not self.active:
            return  # MONITOR does not run: nobody sees the write
        commands = []
        self._time_us += 1
        if name is not None:
            commands.append(
                MonitorCommand(self._time_us, 0, client, (b"client", b"setname", name.encode()))
            )
        commands.append(
            MonitorCommand(
                self._time_us,
                0,
                client,
                (b"hset", key.encode(), b"lastAccessedTime", b"%d" % stamp),
            )
        )
        self.stats.lines += len(commands)
        self.stats.parsed += len(commands)
        self.stats.writes += 1
        self.attributor.observe(NODE, commands)

    def _notice(self, kind: AttributionNoticeKind, message: str) -> None:
        self._notices.put_nowait(AttributionNotice(NOW_MS, kind, message, NODE))
