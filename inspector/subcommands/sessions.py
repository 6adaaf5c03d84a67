"""`ls`, `show` and `stats`: sessions from the command line.

Output contract (README "Session commands"): ``--json`` prints JSON Lines for
``ls`` and one object for ``show``/``stats``; human output escapes every
control character, so a hostile value cannot restyle the terminal.

Decoders, renderers and redis-py are imported when a command runs, not when
the parser is built.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from inspector.core.spring import DEFAULT_NAMESPACE, session_id_from_input
from inspector.exits import PROG, ExitCode
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import (
    add_host_field,
    add_json,
    add_namespace,
    host_field_of,
    positive_int,
)
from inspector.subcommands.outcome import run_to_exit_code

if TYPE_CHECKING:
    from inspector.core.session import HostField, Session
    from inspector.core.values import JsonValue
    from inspector.redis_io.client import RedisClient

__all__ = [
    "SessionOptions",
    "add_session_options",
    "register",
    "run_ls",
    "run_show",
    "run_stats",
    "session_options",
]


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Options shared by the session commands (and ``watch``)."""

    namespace: str | None = None
    host_field: HostField | None = None
    json: bool = False


def add_session_options(parser: argparse.ArgumentParser, *, json_help: str) -> None:
    """``--json``, ``--namespace`` and ``--host-field``: read with :func:`session_options`."""
    add_json(parser, help=json_help)
    add_namespace(parser)
    add_host_field(parser)


def session_options(ns: argparse.Namespace) -> SessionOptions:
    """The options :func:`add_session_options` added, as parsed."""
    return SessionOptions(namespace=ns.namespace, host_field=host_field_of(ns), json=ns.json)


def register(subparsers: Subparsers) -> None:
    """Add ``ls``, ``show`` and ``stats``."""
    ls = add_command(subparsers, "ls", run=_run_ls, help="list sessions as they are found")
    ls.add_argument("--limit", metavar="N", type=positive_int, help="stop after N sessions")
    add_session_options(ls, json_help="JSON Lines: one object per session")

    show = add_command(
        subparsers, "show", run=_run_show, help="one session, every attribute decoded"
    )
    show.add_argument("session", metavar="ID", help="session id, SESSION cookie value or key")
    add_session_options(show, json_help="one JSON object, attributes included")

    stats = add_command(
        subparsers,
        "stats",
        run=_run_stats,
        help="sessions by state, host, namespace; principals; sizes",
    )
    add_session_options(stats, json_help="one JSON object")


def _run_ls(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    return run_ls(settings, session_options(ns), limit=ns.limit)


def _run_show(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    return run_show(settings, session_options(ns), ns.session)


def _run_stats(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    return run_stats(settings, session_options(ns))


def _write_json(out: BinaryIO, value: JsonValue, *, indent: bool = False) -> None:
    import orjson

    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    out.write(orjson.dumps(value, option=option))


def _run(settings: ConnectionSettings, work: Callable[[RedisClient], Awaitable[int]]) -> int:
    """Open a client, run the work, close it; failures become one line and an exit code."""
    from inspector.redis_io.client import open_client

    async def main() -> int:
        client = await open_client(settings)
        try:
            return await work(client)
        finally:
            await client.aclose()

    return run_to_exit_code(main, settings, command="SCAN")


def _ls_line(session: Session, tz: dt.tzinfo | None) -> str:
    from inspector.core.render import format_time, safe_text
    from inspector.core.session import ceil_seconds

    ttl = session.raw.hash_ttl_ms
    ttl_text = "-" if ttl < 0 else f"{ceil_seconds(ttl)}s"
    last = format_time(session.last_accessed_time, tz)[:19]
    return (
        f"{safe_text(session.id):<36}  {session.state.value:<13}  "
        f"{safe_text(session.host or '-'):<16}  {safe_text(session.principal or '-'):<16}  "
        f"{last:<19}  {ttl_text:>7}  {len(session.attribute_names):>3} attr  "
        f"{safe_text(session.namespace)}"
    )


LS_HEADER = (
    f"{'ID':<36}  {'STATE':<13}  {'HOST':<16}  {'PRINCIPAL':<16}  "
    f"{'LAST ACCESS':<19}  {'TTL':>7}  {'ATTRS':>8}  NAMESPACE"
)


def run_ls(settings: ConnectionSettings, options: SessionOptions, *, limit: int | None) -> int:
    """List sessions as they are found: one line (or JSON object) each."""
    from inspector.redis_io.discovery import SessionScanner

    async def work(client: RedisClient) -> int:
        scanner = SessionScanner(
            client,
            namespace=options.namespace,
            host_field=options.host_field,
        )
        out = sys.stdout.buffer
        if not options.json and sys.stdout.isatty():
            out.write(LS_HEADER.encode() + b"\n")
        shown = 0
        async for batch in scanner.batches():
            for session in batch:
                if options.json:
                    _write_json(out, session.to_json())
                else:
                    out.write(_ls_line(session, None).encode("utf-8", "replace") + b"\n")
                shown += 1
                if limit is not None and shown >= limit:
                    out.flush()
                    return int(ExitCode.OK)
            out.flush()
        return int(ExitCode.OK)

    return _run(settings, work)


def run_show(settings: ConnectionSettings, options: SessionOptions, session_ref: str) -> int:
    """Show one session by id, cookie value or key; exit 1 when it does not exist."""
    from inspector.core.render import render_session, safe_text
    from inspector.redis_io.discovery import find_session

    session_id = session_id_from_input(session_ref)

    async def work(client: RedisClient) -> int:
        session = await find_session(
            client,
            session_id,
            namespace=options.namespace,
            host_field=options.host_field,
        )
        if session is None:
            where = (
                f"namespace {options.namespace}"
                if options.namespace
                else f"{DEFAULT_NAMESPACE} or any other namespace"
            )
            sys.stderr.write(f"{PROG}: no session {safe_text(session_id)} in {where}\n")
            return int(ExitCode.ERROR_REPLY)
        out = sys.stdout.buffer
        if options.json:
            _write_json(out, session.to_json(attributes=True), indent=True)
        else:
            out.write("\n".join(render_session(session)).encode("utf-8", "replace") + b"\n")
        return int(ExitCode.OK)

    return _run(settings, work)


def _top(counter: Counter[str], n: int = 10) -> list[JsonValue]:
    return [[name, count] for name, count in counter.most_common(n)]


def run_stats(settings: ConnectionSettings, options: SessionOptions) -> int:
    """Scan everything, then summarise: states, hosts, namespaces, principals, sizes."""
    from inspector.redis_io.discovery import SessionScanner

    async def work(client: RedisClient) -> int:
        scanner = SessionScanner(
            client,
            namespace=options.namespace,
            host_field=options.host_field,
        )
        states: Counter[str] = Counter()
        hosts: Counter[str] = Counter()
        namespaces: Counter[str] = Counter()
        layouts: Counter[str] = Counter()
        attribute_names: Counter[str] = Counter()
        principals: Counter[str] = Counter()
        without_principal: list[str] = []
        largest: list[tuple[int, str, str]] = []
        total_bytes = 0
        count = 0
        async for batch in scanner.batches():
            for session in batch:
                count += 1
                states[session.state.value] += 1
                hosts[session.host or "(none)"] += 1
                namespaces[session.namespace] += 1
                layouts[session.layout.value] += 1
                attribute_names.update(session.attribute_names)
                if session.principal:
                    principals[session.principal] += 1
                else:
                    without_principal.append(session.id)
                total_bytes += session.size
                largest.append((session.size, session.id, session.host or "-"))
                if len(largest) > 200:
                    largest = sorted(largest, reverse=True)[:10]
        # Principal index sets can name owners that the attributes did not.
        owners = await scanner.principal_index()
        for session_id in without_principal:
            if session_id in owners:
                principals[owners[session_id]] += 1
        kinds: Counter[str] = Counter()
        for (_, kind), n in scanner.inventory.kinds.items():
            kinds[kind.value] += n
        report: dict[str, JsonValue] = {
            "sessions": count,
            "keysScanned": scanner.progress.keys_scanned,
            "byState": dict(states),
            "byHost": dict(hosts),
            "byNamespace": dict(namespaces),
            "byLayout": dict(layouts),
            "principals": {"distinct": len(principals), "top": _top(principals)},
            "attributes": dict(attribute_names.most_common()),
            "bytes": {"total": total_bytes, "average": total_bytes // count if count else 0},
            "largest": [
                {"id": sid, "size": size, "host": host}
                for size, sid, host in sorted(largest, reverse=True)[:10]
            ],
            "keys": dict(kinds),
        }
        out = sys.stdout.buffer
        if options.json:
            _write_json(out, report, indent=True)
        else:
            out.write(_stats_text(report).encode("utf-8", "replace"))
        return int(ExitCode.OK)

    return _run(settings, work)


def _stats_text(report: dict[str, JsonValue]) -> str:
    from inspector.core.render import safe_text

    lines = [f"{report['sessions']} sessions ({report['keysScanned']} keys scanned)"]
    for title, key in (
        ("by state", "byState"),
        ("by host", "byHost"),
        ("by namespace", "byNamespace"),
        ("by layout", "byLayout"),
        ("Spring keys", "keys"),
    ):
        section = report[key]
        if isinstance(section, dict) and section:
            lines.append(f"{title}:")
            for name, n in sorted(section.items(), key=lambda item: -int(str(item[1]))):
                lines.append(f"  {safe_text(name):<40} {n}")
    principals = report["principals"]
    if isinstance(principals, dict):
        lines.append(f"principals: {principals['distinct']} distinct")
        top = principals["top"]
        if isinstance(top, list):
            for pair in top:
                if isinstance(pair, list):
                    lines.append(f"  {safe_text(str(pair[0])):<40} {pair[1]} sessions")
    sizes = report["bytes"]
    if isinstance(sizes, dict):
        lines.append(f"size: {sizes['total']} B in all, {sizes['average']} B on average")
    largest = report["largest"]
    if isinstance(largest, list) and largest:
        lines.append("largest sessions:")
        for item in largest:
            if isinstance(item, dict):
                sid, host = safe_text(str(item["id"])), safe_text(str(item["host"]))
                lines.append(f"  {sid:<36}  {item['size']:>8} B  {host}")
    return "\n".join(lines) + "\n"
