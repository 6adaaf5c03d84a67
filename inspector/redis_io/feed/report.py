"""What the feed's parts share: the output queue, the mode, the counters and the clock."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from inspector.core.changes import RequestEvent
from inspector.core.source import FeedHealth, FeedMode, FeedNotice, NoticeKind, SourceItem

__all__ = ["FeedStats", "Reporter", "clock", "now_ms"]


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
    subscriber_lag_ms: int = 0
    """How far the slowest subscriber was behind the server at its last PING."""
    last_complete_pass_ms: int = 0
    """When the last polling pass (or the baseline) ended, epoch ms; 0 before."""


class Reporter:
    """The feed's output: items in order, the current mode, and the counters.

    Every part of the feed reports through one Reporter, so a notice always
    carries the mode that applies once it is read.
    """

    def __init__(self) -> None:
        self.mode = FeedMode.POLLING
        self.stats = FeedStats()
        self.mode_changed = asyncio.Event()
        """Set when the mode changes (the poller sleeps on it while notifications flow)."""
        self._out: asyncio.Queue[SourceItem | BaseException] = asyncio.Queue()

    def emit(self, item: SourceItem) -> None:
        """Queue one item for the reader."""
        if isinstance(item, RequestEvent):
            self.stats.events += 1
        self._out.put_nowait(item)

    def notice(self, kind: NoticeKind, message: str, gap: tuple[int, int] | None = None) -> None:
        """Queue a notice stamped now, with the current mode."""
        self.emit(FeedNotice(now_ms(), kind, message, gap, mode=self.mode))

    def health(self, *, subscribed: bool) -> None:
        """Queue the measured state of the feed (:class:`FeedHealth`) from the counters."""
        stats = self.stats
        self.emit(
            FeedHealth(
                time_ms=now_ms(),
                mode=self.mode,
                events=stats.events,
                reads=stats.reads,
                reconnects=stats.reconnects,
                subscriber_lag_ms=stats.subscriber_lag_ms if subscribed else None,
                last_complete_pass_ms=stats.last_complete_pass_ms,
                last_pass_seconds=stats.last_poll_seconds,
            )
        )

    def fail(self, exc: BaseException) -> None:
        """End the feed with ``exc``: the reader gets what came before, then the exception."""
        self._out.put_nowait(exc)

    def set_mode(self, mode: FeedMode, *, announce: str | None = None) -> None:
        """Switch modes; ``announce`` is the notice to give (none when the change is silent)."""
        if mode is self.mode:
            return
        self.mode = mode
        self.mode_changed.set()
        if announce:
            self.notice(NoticeKind.MODE, announce)

    async def batch(self) -> list[SourceItem | BaseException]:
        """Wait for at least one item; return it with everything queued behind it."""
        batch = [await self._out.get()]
        while not self._out.empty():
            batch.append(self._out.get_nowait())
        return batch


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (what notices and gaps carry)."""
    return int(time.time() * 1000)


def clock(epoch_ms: int) -> str:
    """``HH:MM:SS`` local time, as notices print it."""
    return time.strftime("%H:%M:%S", time.localtime(epoch_ms / 1000))
