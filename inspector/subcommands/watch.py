"""`session-inspector watch`: one line per request, showing which container served it.

Events go to stdout (a line each, or JSON Lines with ``--json``); notices (how
events are found, gaps after a reconnect, how to turn notifications on) go to
stderr as ``# ...`` lines, so a pipe only ever sees events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

import orjson

from inspector.core.changes import EventKind, EventSource, RequestEvent
from inspector.core.render import safe_text
from inspector.redis_io.errors import ExitCode
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.outcome import run_to_exit_code
from inspector.subcommands.sessions import SessionOptions

__all__ = ["format_event", "run_watch"]

_MARKS = {
    EventKind.CREATED: "(new session)",
    EventKind.DESTROYED: "(gone)",
    EventKind.INVALIDATED: "(invalidated)",
}


def format_event(event: RequestEvent, tz: dt.tzinfo | None = None) -> str:
    """``10:31:02.114  e1237df7  container-2  ← container-1  [scopedTarget.sampleSession]``."""
    moment = dt.datetime.fromtimestamp(event.time_ms / 1000, tz=dt.UTC).astimezone(tz)
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    host = safe_text(event.host or "-")
    parts = [clock, safe_text(event.session_id[:8]), f"{host:<16}"]
    if event.kind in _MARKS:
        parts.append(_MARKS[event.kind])
        if event.kind is EventKind.DESTROYED and event.previous_host:
            parts.append(f"← {safe_text(event.previous_host)}")
    elif event.previous_host is not None:
        parts.append(f"← {safe_text(event.previous_host):<14}")
    if event.changed:
        parts.append("[" + ", ".join(safe_text(name) for name in event.changed) + "]")
    if event.source is EventSource.POLL:
        parts.append("(poll)")
    return "  ".join(parts)


def run_watch(
    settings: ConnectionSettings,
    options: SessionOptions,
    *,
    poll: float,
    timeout: float | None,
    count: int | None,
    enable_notifications: bool,
) -> int:
    """Print requests as they happen until ``timeout``, ``count`` or Ctrl-C."""
    from inspector.core.source import FeedNotice
    from inspector.redis_io.feed import ChangeFeed

    async def main() -> int:
        feed = ChangeFeed(
            settings,
            namespace=options.namespace,
            host_field=options.host_field,
            poll_interval=poll,
            enable_notifications=enable_notifications,
        )
        out = sys.stdout.buffer
        shown = 0
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                async for item in feed.events():
                    if isinstance(item, FeedNotice):
                        clock = dt.datetime.fromtimestamp(item.time_ms / 1000).strftime("%H:%M:%S")
                        sys.stderr.write(f"# {clock} {safe_text(item.message)}\n")
                        sys.stderr.flush()
                        continue
                    if options.json:
                        out.write(orjson.dumps(item.to_json(), option=orjson.OPT_APPEND_NEWLINE))
                    else:
                        out.write(format_event(item).encode("utf-8", "replace") + b"\n")
                    out.flush()
                    shown += 1
                    if count is not None and shown >= count:
                        break
        except TimeoutError:
            if not deadline.expired():
                raise
            # --timeout: the watch simply ends, successfully.
        return int(ExitCode.OK)

    return run_to_exit_code(main, settings)
