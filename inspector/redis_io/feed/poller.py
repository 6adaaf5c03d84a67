"""Finding requests by polling: SCAN + pipelined HMGET of ``lastAccessedTime``.

A pass costs one SCAN per 1,000 keys plus one HMGET per session, and a full
read of each session that changed. A pass that takes long stretches the pause
after it (at least :data:`POLL_STRETCH` times the pass) instead of flooding the
server; once passes are quick again the interval comes back down. A pass that
runs late says so while it runs, with the age of the data.
"""

from __future__ import annotations

import asyncio
import time

from inspector.core.changes import EventSource
from inspector.core.source import FeedMode, NoticeKind
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import primaries, scan_keys, session_candidates
from inspector.redis_io.feed.report import Reporter, now_ms
from inspector.redis_io.feed.tracker import Changes, SessionTracker
from inspector.redis_io.pipeline import check_replies, run_pipeline

__all__ = ["POLL_STRETCH", "Poller"]

POLL_STRETCH = 3.0
"""A polling pass is followed by a pause of at least this many times its own duration."""
LATE_FLOOR = 0.5
"""A pass is late once it has run this long, its interval, and twice the previous pass."""
STALE_REPEAT_MAX = 30.0
"""While a pass stays late, the age of the data is said again as it doubles, at least this often."""


class Poller:
    """Polling passes over every primary, on an interval, while the mode says to poll.

    Args:
        tracker: The known sessions (shared with the listener's reads).
        interval: Seconds between passes (``--poll``), before any stretch.
    """

    def __init__(self, tracker: SessionTracker, *, interval: float) -> None:
        self.tracker = tracker
        self.reporter: Reporter = tracker.reporter
        self.interval = interval
        self._pause = 0.0
        """Extra seconds after each pass, to spare a server that answers slowly."""
        self._last_took = 0.0
        self._late_said = False
        self._looping = False

    @property
    def effective_interval(self) -> float:
        """The interval in use now: ``interval`` plus the stretch after slow passes."""
        return self.interval + self._pause

    async def run(self, client: RedisClient) -> None:
        """Poll until cancelled; sleeps while notifications flow."""
        while True:
            if self._notifying() and not self._frameworks_unheard():
                self.reporter.mode_changed.clear()
                await self.reporter.mode_changed.wait()
                continue
            await asyncio.sleep(self.effective_interval)
            if self._notifying() and not self._frameworks_unheard():
                continue
            # A pass of the loop polls only what notifications do not bring; a
            # catch-up pass (after a reconnect) reads everything.
            self._looping = True
            try:
                await self.timed_pass(client)
            finally:
                self._looping = False

    def _notifying(self) -> bool:
        return self.reporter.mode is FeedMode.NOTIFICATIONS

    def _frameworks_unheard(self) -> bool:
        """Other frameworks' string sessions whose events the server does not publish."""
        frameworks = self.tracker.frameworks
        return frameworks is not None and not frameworks.string_events

    async def timed_pass(self, client: RedisClient) -> Changes:
        """One pass that says so if it runs late, then adjusts the interval to its duration."""
        started = time.monotonic()
        self._late_said = False
        watchdog = asyncio.create_task(self._say_when_late(started), name="feed-late-pass")
        try:
            changes = await self.run_pass(client)
        finally:
            # Not awaited: a cancel of this task arriving meanwhile would be swallowed.
            watchdog.cancel()
        self._settle(time.monotonic() - started)
        return changes

    async def run_pass(self, client: RedisClient) -> Changes:
        """One pass: SCAN, HMGET lastAccessedTime, re-read what changed, report what is gone."""
        started = time.monotonic()
        # While polling and listening, a notification may add a session the
        # SCAN has already passed: only what was known before the pass (and
        # not re-read since) can be missing from it.
        tracker = self.tracker
        before = tracker.entries()
        namespace = self.tracker.namespace
        commands = 0
        seen: set[str] = set()
        changes = Changes()
        pattern = f"{namespace}:sessions:*" if namespace else "*sessions:*"
        # Spring's hashes are polled unless their notifications flow (a catch-up
        # pass after a reconnect reads everything).
        spring = tracker.spring and not (self._looping and self._notifying())
        for node in primaries(client) if spring else []:
            async for keys in scan_keys(client, node, match=pattern):
                commands += 1
                candidates = session_candidates(keys, namespace=namespace, seen=seen)
                if not candidates:
                    continue
                reads = [(b"HMGET", c[0].encode(), b"lastAccessedTime") for c in candidates]
                stamps = await run_pipeline(client, reads)
                check_replies(client, reads, stamps, wrongtype_ok=True)
                commands += len(candidates)
                changed = [
                    candidate
                    for candidate, stamp in zip(candidates, stamps, strict=True)
                    if isinstance(stamp, list)
                    and self.tracker.stamp_changed(candidate[0], stamp[0])
                ]
                if changed:
                    changes.add(await self.tracker.reread(client, changed, EventSource.POLL))
                    commands += 3 * len(changed)
        if spring:
            changes.gone += self.tracker.drop_unseen(before, seen)
        frameworks = tracker.frameworks
        if frameworks is not None and not (self._looping and frameworks.string_events):
            more, sent = await frameworks.poll_pass(client)
            changes.add(more)
            commands += sent
        stats = self.reporter.stats
        stats.polls += 1
        stats.last_poll_commands = commands
        stats.last_poll_seconds = time.monotonic() - started
        stats.last_complete_pass_ms = now_ms()
        self.reporter.health(subscribed=self.reporter.mode is not FeedMode.POLLING)
        return changes

    async def _say_when_late(self, started: float) -> None:
        late_after = max(LATE_FLOOR, self.effective_interval, 2 * self._last_took)
        await asyncio.sleep(late_after)
        while True:
            running = time.monotonic() - started
            last = self.reporter.stats.last_complete_pass_ms
            age = (now_ms() - last) / 1000 if last else running
            self._late_said = True
            self.reporter.notice(
                NoticeKind.STALE,
                f"a polling pass has run for {running:.1f} s (server slow, paused or "
                f"unreachable): last complete pass {age:.0f} s ago",
            )
            await asyncio.sleep(min(max(age, late_after), STALE_REPEAT_MAX))

    def _settle(self, took: float) -> None:
        if not self._late_said:  # a stall would hide the next one for twice as long
            self._last_took = took
        # A late pass waited on a stalled server (paused, frozen, unreachable):
        # that says nothing of what a pass costs, so it stretches nothing.
        pause = 0.0 if self._late_said else max(0.0, took * POLL_STRETCH - self.interval)
        sessions = self.reporter.stats.sessions
        if self._late_said:
            self.reporter.notice(
                NoticeKind.CURRENT,
                f"polling caught up: the late pass over {sessions} sessions took {took:.1f} s",
            )
        if pause and not self._pause:
            self.reporter.notice(
                NoticeKind.MODE,
                f"a polling pass over {sessions} sessions takes {took:.1f} s: "
                f"polling every {self.interval + pause:.1f} s to spare the server",
            )
        elif self._pause and not pause:
            self.reporter.notice(
                NoticeKind.MODE,
                f"polling passes are quick again ({took:.2f} s): polling every {self.interval:g} s",
            )
        self._pause = pause
