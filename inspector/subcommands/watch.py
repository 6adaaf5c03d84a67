"""`session-inspector watch`: one line per request, showing which container served it.

Events go to stdout (a line each, or JSON Lines with ``--json``); notices (how
events are found, gaps after a reconnect, how to turn notifications on, what
MONITOR is doing) go to stderr as ``# ...`` lines, so a pipe only ever sees
events. ``--summary`` adds per-container figures to stdout now and then.

Which container served a request: the session's host attribute (the default),
or with ``--attribute-by monitor`` the connection that wrote the session
(:mod:`inspector.redis_io.monitor`), named by its client name, the
``--client-map``, reverse DNS, else its address.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspector.exits import PROG, ExitCode
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import (
    add_attribution,
    add_poll,
    positive_int,
    positive_seconds,
)
from inspector.subcommands.outcome import run_to_exit_code
from inspector.subcommands.sessions import (
    SessionOptions,
    add_session_options,
    framework_selection,
    session_options,
)

if TYPE_CHECKING:
    from inspector.core.attribution import AttributedRequest, Attributor, ClientMap
    from inspector.core.changes import RequestEvent
    from inspector.core.containers import StatsSummary
    from inspector.redis_io.monitor import MonitorAttribution

__all__ = [
    "AttributeOptions",
    "format_attributed",
    "format_event",
    "format_summary",
    "register",
    "run_watch",
]


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
    add_attribution(
        parser,
        monitor_help="monitor: the connection that wrote the session (MONITOR on every "
        "primary; needs +monitor)",
    )
    parser.add_argument(
        "--summary",
        metavar="SECONDS",
        type=positive_seconds,
        help="every SECONDS (and at the end): requests per container per second, sessions "
        "each served, sessions that switched containers",
    )
    add_session_options(
        parser,
        json_help="JSON Lines: time, session, host, previousHost, via, address, "
        "hostAttribute, hostDisagrees, changed, lastAccessedTime, source, kind "
        "(summaries: kind summary)",
    )


@dataclass(frozen=True, slots=True)
class AttributeOptions:
    """How ``watch`` tells which container served a request."""

    by: str = "attribute"
    """``attribute`` (the session's host attribute) or ``monitor`` (the connection)."""
    client_map: ClientMap | None = None
    dns: bool = True
    summary: float | None = None
    """Seconds between per-container summaries (``None``: none)."""


def run(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    """Run the parsed ``watch`` subcommand."""
    if ns.attribute_by != "monitor":
        named = (("--client-map", ns.client_map is not None), ("--no-dns", not ns.dns))
        given = [flag for flag, on in named if on]
        if given:
            sys.stderr.write(
                f"{PROG}: {' and '.join(given)} names connections, which needs "
                f"--attribute-by monitor (see {PROG} watch --help)\n"
            )
            return int(ExitCode.USAGE)
    return run_watch(
        settings,
        session_options(ns),
        poll=ns.poll,
        timeout=ns.timeout,
        count=ns.count,
        enable_notifications=ns.enable_notifications,
        attribute=AttributeOptions(
            by=ns.attribute_by, client_map=ns.client_map, dns=ns.dns, summary=ns.summary
        ),
    )


def format_event(event: RequestEvent, tz: dt.tzinfo | None = None) -> str:
    """``10:31:02.114  e1237df7  container-2  ← container-1  [scopedTarget.sampleSession]``."""
    from inspector.core.changes import EventKind, EventSource
    from inspector.core.render import cut_scalar, safe_text

    marks = {
        EventKind.CREATED: "(new session)",
        EventKind.DESTROYED: "(gone)",
        EventKind.INVALIDATED: "(invalidated)",
    }
    moment = dt.datetime.fromtimestamp(event.time_ms / 1000, tz=dt.UTC).astimezone(tz)
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    host = cut_scalar(event.host or "-")
    parts = [clock, safe_text(event.session_id[:8]), f"{host:<16}"]
    if event.framework != "spring":
        parts.insert(2, safe_text(event.framework))
    if event.kind in marks:
        parts.append(marks[event.kind])
        if event.kind is EventKind.DESTROYED and event.previous_host:
            parts.append(f"← {cut_scalar(event.previous_host)}")
    elif event.previous_host is not None:
        parts.append(f"← {cut_scalar(event.previous_host):<14}")
    if event.changed:
        parts.append("[" + ", ".join(safe_text(name) for name in event.changed) + "]")
    if event.source is EventSource.POLL:
        parts.append("(poll)")
    return "  ".join(parts)


def format_attributed(request: AttributedRequest, tz: dt.tzinfo | None = None) -> str:
    """An event line naming the attributed container; by connection, also how it was named.

    ``10:31:02.114  e1237df7  container-2  ← container-1  [attr]  (client-name)``;
    a host attribute naming another container is shown as ``(attribute: container-1)``.
    """
    from inspector.core.attribution import NameSource
    from inspector.core.render import cut_scalar

    event = request.event
    shown = dataclasses.replace(
        event,
        host=request.container.name if request.container else None,
        previous_host=request.previous.name if request.previous else None,
    )
    line = format_event(shown, tz)
    via = request.via
    if via is not None and via is not NameSource.ATTRIBUTE:
        line += f"  ({via.value})"
        if request.host_disagrees and event.host:
            line += f"  (attribute: {cut_scalar(event.host)})"
    return line


def format_summary(summary: StatsSummary, tz: dt.tzinfo | None = None) -> list[str]:
    """Per-container figures as ``watch --summary`` prints them (one block of lines)."""
    from inspector.core.render import safe_text

    moment = dt.datetime.fromtimestamp(summary.time_ms / 1000, tz=dt.UTC).astimezone(tz)
    lines = [
        f"== {moment:%H:%M:%S} {summary.requests} requests, {len(summary.containers)} "
        f"containers, {summary.sessions} sessions ({summary.switched} switched containers, "
        f"{summary.switches} switches); rates over {summary.window_s} s"
    ]
    for figures in summary.containers:
        lines.append(
            f"   {safe_text(figures.name):<24} {figures.per_second:8.2f}/s "
            f"{figures.requests:8d} requests {figures.sessions:6d} sessions  "
            f"({figures.source.value})"
        )
    if summary.unattributed:
        lines.append(f"   {'(unknown)':<24} {summary.unattributed:19d} requests")
    for key, path in summary.paths:
        steps = " -> ".join(f"{safe_text(step.container)} x{step.requests}" for step in path)
        lines.append(f"   {safe_text(key.rsplit(':', 1)[-1][:8])}  {steps}")
    return lines


def run_watch(
    settings: ConnectionSettings,
    options: SessionOptions,
    *,
    poll: float,
    timeout: float | None,
    count: int | None,
    enable_notifications: bool,
    attribute: AttributeOptions | None = None,
) -> int:
    """Print requests as they happen until ``timeout``, ``count`` or Ctrl-C."""
    import asyncio
    import contextlib

    import orjson

    from inspector.core.attribution import (
        AttributedRequest,
        AttributionNotice,
        Attributor,
        ConnectionNamer,
    )
    from inspector.core.containers import ContainerStats
    from inspector.core.source import FeedNotice
    from inspector.redis_io.feed import ChangeFeed
    from inspector.redis_io.monitor import attribute_items

    try:
        registry, spring = framework_selection(options)
    except ValueError as exc:
        from inspector.core.render import safe_text

        sys.stderr.write(f"{PROG}: {safe_text(str(exc))}\n")
        return int(ExitCode.USAGE)
    attribute = attribute or AttributeOptions()
    attributor = Attributor(namer=ConnectionNamer(attribute.client_map, use_dns=attribute.dns))
    stats = ContainerStats()
    out = sys.stdout.buffer

    def summarize() -> None:
        summary = stats.summary(_now_ms())
        if options.json:
            out.write(orjson.dumps(summary.to_json(), option=orjson.OPT_APPEND_NEWLINE))
        else:
            out.write("\n".join(format_summary(summary)).encode("utf-8", "replace") + b"\n")
        out.flush()

    async def summaries(every: float) -> None:
        while True:
            await asyncio.sleep(every)
            summarize()

    async def main() -> int:
        monitor = await _start_monitor(settings, attributor, attribute)
        feed = ChangeFeed(
            settings,
            namespace=options.namespace,
            host_field=options.host_field,
            poll_interval=poll,
            enable_notifications=enable_notifications,
            registry=registry,
            spring=spring,
            max_value_bytes=options.max_value_bytes,
        )
        shown = 0
        deadline = asyncio.timeout(timeout)
        ticker = None
        if attribute.summary is not None:
            ticker = asyncio.create_task(summaries(attribute.summary))
        try:
            async with deadline:
                async for batch in attribute_items(feed.items(), attributor, monitor):
                    for item in batch:
                        if isinstance(item, (FeedNotice, AttributionNotice)):
                            _notice(item.time_ms, item.message)
                            continue
                        if not isinstance(item, AttributedRequest):
                            continue  # sessions read, scan progress: not watch's business
                        stats.add(item)
                        if options.json:
                            out.write(
                                orjson.dumps(item.to_json(), option=orjson.OPT_APPEND_NEWLINE)
                            )
                        else:
                            out.write(format_attributed(item).encode("utf-8", "replace") + b"\n")
                        out.flush()
                        shown += 1
                        if count is not None and shown >= count:
                            return int(ExitCode.OK)
        except TimeoutError:
            if not deadline.expired():
                raise
            # --timeout: the watch simply ends, successfully.
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                summarize()  # the figures as they stand at the end
            if monitor is not None:
                await monitor.aclose()
        return int(ExitCode.OK)

    return run_to_exit_code(main, settings)


async def _start_monitor(
    settings: ConnectionSettings, attributor: Attributor, attribute: AttributeOptions
) -> MonitorAttribution | None:
    """MONITOR readers for ``--attribute-by monitor``, attached before the feed starts."""
    if attribute.by != "monitor":
        return None
    from inspector.redis_io.monitor import MonitorAttribution, Resolver, system_resolver

    resolver: Resolver | None = system_resolver if attribute.dns else None
    monitor = MonitorAttribution(settings, attributor, resolver=resolver)
    await monitor.start()
    # Requests before MONITOR runs could not be attributed by connection.
    await monitor.wait_attached()
    return monitor


def _notice(time_ms: int, message: str) -> None:
    from inspector.core.render import safe_text

    clock = dt.datetime.fromtimestamp(time_ms / 1000).strftime("%H:%M:%S")
    sys.stderr.write(f"# {clock} {safe_text(message)}\n")
    sys.stderr.flush()


def _now_ms() -> int:
    return int(time.time() * 1000)
