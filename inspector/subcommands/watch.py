"""`session-inspector watch`: one line per request, showing which container served it.

Events go to stdout (a line each, or JSON Lines with ``--json``); notices (how
events are found, gaps after a reconnect, how to turn notifications on) go to
stderr as ``# ...`` lines, so a pipe only ever sees events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from inspector.exits import ExitCode
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import add_poll, positive_int, positive_seconds
from inspector.subcommands.outcome import run_to_exit_code
from inspector.subcommands.sessions import SessionOptions, add_session_options, session_options

if TYPE_CHECKING:
    from inspector.core.changes import RequestEvent

__all__ = ["format_event", "register", "run_watch"]


def register(subparsers: Subparsers) -> None:
    """Add the ``watch`` subcommand."""
    parser = add_command(
        subparsers,
        "watch",
        run=run,
        help="one line per request: which container served which session, live",
    )
    add_poll(parser)
    parser.add_argument(
        "--timeout", metavar="SECONDS", type=positive_seconds, help="stop after this long (exit 0)"
    )
    parser.add_argument(
        "--count", metavar="N", type=positive_int, help="stop after N events (exit 0)"
    )
    parser.add_argument(
        "--enable-notifications",
        action="store_true",
        help="CONFIG SET notify-keyspace-events so hash events are published "
        "(a write to the server's configuration; never done without this flag)",
    )
    add_session_options(
        parser,
        json_help="JSON Lines: time, session, host, previousHost, changed, "
        "lastAccessedTime, source, kind",
    )


def run(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    """Run the parsed ``watch`` subcommand."""
    return run_watch(
        settings,
        session_options(ns),
        poll=ns.poll,
        timeout=ns.timeout,
        count=ns.count,
        enable_notifications=ns.enable_notifications,
    )


def format_event(event: RequestEvent, tz: dt.tzinfo | None = None) -> str:
    """``10:31:02.114  e1237df7  container-2  ← container-1  [scopedTarget.sampleSession]``."""
    from inspector.core.changes import EventKind, EventSource
    from inspector.core.render import safe_text

    marks = {
        EventKind.CREATED: "(new session)",
        EventKind.DESTROYED: "(gone)",
        EventKind.INVALIDATED: "(invalidated)",
    }
    moment = dt.datetime.fromtimestamp(event.time_ms / 1000, tz=dt.UTC).astimezone(tz)
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    host = safe_text(event.host or "-")
    parts = [clock, safe_text(event.session_id[:8]), f"{host:<16}"]
    if event.kind in marks:
        parts.append(marks[event.kind])
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
    import asyncio

    import orjson

    from inspector.core.render import safe_text
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
