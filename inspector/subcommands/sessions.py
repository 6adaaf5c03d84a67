"""`ls`, `show` and `stats`: sessions from the command line.

Output contract (README "Session commands"): ``--json`` prints JSON Lines for
``ls`` and one object for ``show``/``stats``; human output escapes every
control character, so a hostile value cannot restyle the terminal.

Every framework's sessions are listed, not only Spring's: one SCAN pass reads
Spring's hashes and, through the adapters of :mod:`inspector.core.frameworks`,
Express, Flask, Django, PHP, Rails... sessions (``--framework NAME`` restricts
it). What the pass passed over, or could not read, is said on stderr: an empty
listing is never silent.

Decoders, renderers and redis-py are imported when a command runs, not when
the parser is built.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
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
    from inspector.core.frameworks import FrameworkSession, Registry
    from inspector.core.listing import ListRow
    from inspector.core.session import HostField, Session
    from inspector.core.values import JsonValue
    from inspector.redis_io.client import RedisClient
    from inspector.redis_io.discovery import SessionScanner
    from inspector.redis_io.prefix_lookup import PrefixMatch

__all__ = [
    "SPRING",
    "SessionOptions",
    "add_session_options",
    "framework_selection",
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
    frameworks: tuple[str, ...] = ()
    """``--framework`` names given (empty: all; ``--namespace`` alone: Spring's)."""
    max_value_bytes: int | None = 4 << 20
    """``--max-value-bytes``: longer hash values are not read (``None``: 0 was given)."""


SPRING = "spring"
"""Spring Session's own layout, as ``--framework`` names it."""


def add_session_options(parser: argparse.ArgumentParser, *, json_help: str) -> None:
    """``--json``, ``--namespace``, ``--host-field``, ``--framework``: :func:`session_options`."""
    add_json(parser, help=json_help)
    add_namespace(parser)
    add_host_field(parser)
    parser.add_argument(
        "--framework",
        metavar="NAME",
        action="append",
        default=[],
        help="only this framework's sessions (repeatable; default all): spring, express, "
        "fastify, flask-session, django, aiohttp-session, starsessions, beaker, php, symfony, "
        "redis-rack, redis-actionpack, rails-cache, micronaut, redisson",
    )
    parser.add_argument(
        "--max-value-bytes",
        metavar="N",
        type=int,
        default=4 << 20,
        help="do not read session values longer than N bytes (HSTRLEN first; their size is "
        "shown instead; default 4194304, 0 for no limit)",
    )


def session_options(ns: argparse.Namespace) -> SessionOptions:
    """The options :func:`add_session_options` added, as parsed."""
    return SessionOptions(
        namespace=ns.namespace,
        host_field=host_field_of(ns),
        json=ns.json,
        frameworks=tuple(ns.framework),
        max_value_bytes=ns.max_value_bytes if ns.max_value_bytes > 0 else None,
    )


class FrameworkChoiceError(ValueError):
    """A ``--framework`` name no adapter has."""


def framework_selection(options: SessionOptions) -> tuple[Registry | None, bool]:
    """The adapters ``--framework`` selects (``None``: none) and whether Spring's are read.

    ``--namespace`` without ``--framework`` names Spring's namespace: Spring only.

    Raises:
        FrameworkChoiceError: An unknown name (the message lists the known ones).
    """
    from inspector.core.frameworks import Registry, adapters

    names = {name.strip() for given in options.frameworks for name in given.split(",")}
    names.discard("")
    if not names or "all" in names:
        if options.namespace and not names:
            return None, True
        return Registry(), True
    known = {a.name for a in adapters()}
    unknown = names - known - {SPRING}
    if unknown:
        raise FrameworkChoiceError(
            f"unknown framework {', '.join(sorted(unknown))} (known: all, "
            f"{', '.join([SPRING, *sorted(known)])})"
        )
    others = names - {SPRING}
    return (Registry(only=others) if others else None), SPRING in names


def _scanner(
    client: RedisClient, options: SessionOptions, *, projection: bool = True
) -> SessionScanner:
    """The scan ``ls``/``stats`` run; ``projection``: read only what a list shows."""
    from inspector.redis_io.discovery import SessionScanner

    registry, spring = framework_selection(options)
    scanner = SessionScanner(
        client,
        namespace=options.namespace,
        host_field=options.host_field,
        registry=registry,
        spring=spring,
        projection=projection,
        max_value_bytes=options.max_value_bytes,
    )
    scanner.notice = _notice
    return scanner


def _notice(text: str) -> None:
    from inspector.core.render import safe_text

    sys.stderr.write(f"# {safe_text(text)}\n")
    sys.stderr.flush()


def _usage(message: str) -> int:
    from inspector.core.render import safe_text

    sys.stderr.write(f"{PROG}: {safe_text(message)}\n")
    return int(ExitCode.USAGE)


def _tell(
    scanner: SessionScanner, shown: int, *, found: int | None = None, filtered: bool = False
) -> None:
    """Say on stderr what the scan passed over or could not read, and when nothing was found."""
    from inspector.core.render import safe_text

    lines = scanner.skipped_lines()
    if scanner.reconnects:
        lines.append(
            f"the connection was lost {scanner.reconnects} time(s); the scan went on over a "
            "new one each time, so every session was read once"
        )
    scanned = scanner.progress.keys_scanned
    if filtered and found:
        if not shown:
            lines.insert(0, f"no session of the {found:,} found matches the filters")
    elif not shown and scanner.namespace:
        lines.insert(
            0,
            f"no sessions in namespace {scanner.namespace} ({scanned:,} keys scanned)",
        )
    elif not shown and not scanned:
        db = scanner.client.settings.db
        lines.insert(0, f"no sessions found: the database (db {db}) has no keys at all")
    elif not shown:
        lines.insert(0, f"no sessions found ({scanned:,} keys scanned)")
    for line in lines:
        sys.stderr.write(f"# {safe_text(line)}\n")
    sys.stderr.flush()


def register(subparsers: Subparsers) -> None:
    """Add ``ls``, ``show`` and ``stats``."""
    ls = add_command(subparsers, "ls", run=_run_ls, help="list sessions as they are found")
    ls.add_argument(
        "--limit", metavar="N", type=positive_int, help="stop after N sessions (after filters)"
    )
    ls.add_argument(
        "--host",
        metavar="GLOB",
        action="append",
        default=[],
        dest="filter_host",
        help="only sessions whose host matches (container-1, 'container-*'; repeatable)",
    )
    ls.add_argument(
        "--state",
        metavar="STATE",
        action="append",
        default=[],
        help="only sessions in this state (active, expired, invalidated, never-expires, "
        "unknown; repeatable or comma-separated)",
    )
    ls.add_argument(
        "--principal",
        metavar="GLOB",
        action="append",
        default=[],
        help="only sessions whose principal (user) matches (repeatable)",
    )
    ls.add_argument(
        "--match", metavar="GLOB", help="only sessions whose id or key matches ('abcd*')"
    )
    ls.add_argument(
        "--sort",
        metavar="FIELD",
        choices=sorted(SORT_FIELD_NAMES),
        help="sort by FIELD, ascending (reads the whole scan first): "
        + ", ".join(SORT_FIELD_NAMES),
    )
    ls.add_argument(
        "--reverse",
        action="store_true",
        help="the other way round (newest first with --sort accessed)",
    )
    ls.add_argument(
        "--attributes",
        action="store_true",
        help="read every value and add each attribute, decoded, to the --json objects "
        "(without it only what the list shows is read)",
    )
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
        help="sessions by framework, state, host, namespace; principals; sizes",
    )
    add_session_options(stats, json_help="one JSON object")


SORT_FIELD_NAMES = (
    "accessed", "attributes", "created", "framework", "host", "id", "key-ttl", "principal",
    "size", "state", "ttl",
)  # fmt: skip
"""``ls --sort`` fields (:data:`inspector.core.listing.SORT_FIELDS`; kept here so
``--help`` needs no import of the listing code)."""


@dataclass(frozen=True, slots=True)
class ListOrder:
    """``ls``'s filters, order and limit."""

    hosts: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    match: str | None = None
    sort: str | None = None
    reverse: bool = False
    limit: int | None = None


def _run_ls(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    states = tuple(s.strip() for given in ns.state for s in given.split(",") if s.strip())
    order = ListOrder(
        hosts=tuple(ns.filter_host),
        states=states,
        principals=tuple(ns.principal),
        match=ns.match,
        sort=ns.sort,
        reverse=ns.reverse,
        limit=ns.limit,
    )
    return run_ls(
        settings, session_options(ns), limit=ns.limit, attributes=ns.attributes, order=order
    )


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
    from inspector.redis_io.discovery import is_connection_lost
    from inspector.redis_io.errors import Failure, Problem

    async def main() -> int:
        client = await open_client(settings, on_notice=_notice)
        try:
            return await work(client)
        except Exception as exc:
            # The server has answered (open_client probed it): a connection
            # lost now is not a TLS port refusing plain text, so no --tls hint.
            if is_connection_lost(exc):
                raise Failure(
                    Problem.CLOSED,
                    f"connection to {settings.endpoint} lost after it had answered "
                    f"({exc or type(exc).__name__})",
                ) from exc
            raise
        finally:
            await client.aclose()

    return run_to_exit_code(main, settings, command="SCAN")


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def session_json(session: Session | FrameworkSession, *, attributes: bool = False) -> JsonValue:
    """The JSON of any framework's session, with ``framework`` and ``state`` in both forms."""
    from inspector.core.session import Session

    if isinstance(session, Session):
        out = session.to_json(attributes=attributes)
        out["framework"] = SPRING
        return out
    out = session.to_json(attributes=attributes)
    out["state"] = session.state(_now_ms())
    return out


def _terminal_width() -> int | None:
    """The terminal's width when stdout is one (``None``: piped, every column)."""
    if not sys.stdout.isatty():
        return None
    import shutil

    return shutil.get_terminal_size().columns


def run_ls(
    settings: ConnectionSettings,
    options: SessionOptions,
    *,
    limit: int | None,
    attributes: bool = False,
    order: ListOrder | None = None,
) -> int:
    """List sessions of every framework as they are found: one line (or JSON object) each.

    Without ``attributes`` only what the list shows of Spring's hashes is read
    (:class:`~inspector.redis_io.discovery.SpringProjection`); with it every
    value is read and ``--json`` objects carry every attribute, decoded.
    ``order`` filters (``--host``, ``--state``...); with a sort (or
    ``--reverse``) every session is read before the first line.
    """
    try:
        framework_selection(options)
    except ValueError as exc:
        return _usage(str(exc))
    order = order or ListOrder(limit=limit)
    limit = order.limit if order.limit is not None else limit

    async def work(client: RedisClient) -> int:
        from inspector.core.listing import (
            ListFilter,
            columns_for,
            header,
            line,
            list_row,
            sort_rows,
        )

        scanner = _scanner(client, options, projection=not attributes)
        out = sys.stdout.buffer
        width = _terminal_width()
        columns = columns_for(width)
        # On a terminal the header waits for the first sessions: the id column
        # takes the width of their ids (frameworks' ids run from 26 to 67 characters).
        header_due = not options.json and sys.stdout.isatty()
        keep = ListFilter(order.hosts, order.states, order.principals, order.match)
        buffered = order.sort is not None or order.reverse
        from inspector.core.session import json_line

        # --json without --attributes, filters or an order: the projection's
        # pages come as JSON lines (no Session built per session), the same
        # bytes session_json gives.
        scanner.json_lines = options.json and not attributes and not keep.active and not buffered
        held: list[tuple[ListRow, Session | FrameworkSession]] = []
        shown = found = 0

        def encoded(batch: Sequence[tuple[ListRow, Session | FrameworkSession]]) -> list[bytes]:
            if options.json:
                return [
                    json_line(session_json(session, attributes=attributes)) for _, session in batch
                ]
            return [line(row, columns).encode("utf-8", "replace") + b"\n" for row, _ in batch]

        def emit(lines: list[bytes]) -> None:
            # One write per batch: the lines of a thousand sessions in one buffer.
            out.write(b"".join(lines))
            out.flush()

        def fit(rows: Sequence[tuple[ListRow, Session | FrameworkSession]]) -> None:
            """The first rows a terminal shows set the id column, then the header goes."""
            nonlocal columns, header_due
            if header_due:
                longest = max((len(row.session_id) for row, _ in rows), default=None)
                columns = columns_for(width, longest)
                out.write(header(columns).encode() + b"\n")
                header_due = False

        async for given, sessions in scanner.json_pages():
            found += len(given) + len(sessions)
            now = _now_ms()
            rows = [(list_row(session, now), session) for session in sessions]
            if keep.active:
                rows = [pair for pair in rows if keep.accepts(pair[0])]
            if buffered:
                held.extend(rows)
                continue
            if rows:
                fit(rows)
            lines = given + encoded(rows)
            if limit is not None and shown + len(lines) >= limit:
                lines = lines[: limit - shown]
            emit(lines)
            shown += len(lines)
            if limit is not None and shown >= limit:
                return int(ExitCode.OK)
        if buffered:
            by_row = {id(row): session for row, session in held}
            ordered = sort_rows([row for row, _ in held], order.sort, reverse=order.reverse)
            if limit is not None:
                ordered = ordered[:limit]
            pairs = [(row, by_row[id(row)]) for row in ordered]
            fit(pairs)
            emit(encoded(pairs))
            shown = len(ordered)
        fit([])  # nothing listed: the header alone, as before
        _tell(scanner, shown, found=found, filtered=keep.active)
        return int(ExitCode.OK)

    return _run(settings, work)


def run_show(settings: ConnectionSettings, options: SessionOptions, session_ref: str) -> int:
    """Show one session by id, cookie value or key (any framework); exit 1 when there is none."""
    from inspector.core.render import render_framework_session, render_session, safe_text
    from inspector.core.session import Session
    from inspector.redis_io.discovery import find_session
    from inspector.redis_io.framework_reads import find_framework_session
    from inspector.redis_io.prefix_lookup import find_by_prefix, read_match

    try:
        registry, spring = framework_selection(options)
    except ValueError as exc:
        return _usage(str(exc))
    session_id = session_id_from_input(session_ref)

    async def work(client: RedisClient) -> int:
        found: Session | FrameworkSession | None = None
        if spring:
            # The id in Spring's default (or given) namespace: one read.
            found = await find_session(
                client,
                session_id,
                namespace=options.namespace,
                host_field=options.host_field,
                scan=False,
                max_value_bytes=options.max_value_bytes,
            )
        if found is None and registry is not None:
            found = await find_framework_session(
                client, session_ref, registry, host_field=options.host_field
            )
        if found is None and spring and options.namespace is None:
            # Last, every Spring namespace: a SCAN of the keyspace.
            found = await find_session(
                client,
                session_id,
                host_field=options.host_field,
                max_value_bytes=options.max_value_bytes,
            )
        if found is None and session_id.strip():
            matches = await find_by_prefix(
                client,
                session_id.strip(),
                registry=registry,
                spring=spring,
                namespace=options.namespace,
            )
            if len(matches) > 1:
                return _ambiguous(session_ref, matches)
            if matches:
                found = await read_match(
                    client,
                    matches[0],
                    registry,
                    host_field=options.host_field,
                    max_value_bytes=options.max_value_bytes,
                )
        if found is None:
            where = (
                f"namespace {options.namespace}"
                if options.namespace
                else f"{DEFAULT_NAMESPACE}, any other namespace or any framework's keys"
            )
            sys.stderr.write(f"{PROG}: no session {safe_text(session_ref.strip())} in {where}\n")
            return int(ExitCode.ERROR_REPLY)
        out = sys.stdout.buffer
        if options.json:
            _write_json(out, session_json(found, attributes=True), indent=True)
        else:
            lines = (
                render_session(found)
                if isinstance(found, Session)
                else render_framework_session(found, now_ms=_now_ms())
            )
            out.write("\n".join(lines).encode("utf-8", "replace") + b"\n")
        return int(ExitCode.OK)

    return _run(settings, work)


def _ambiguous(session_ref: str, matches: Sequence[PrefixMatch]) -> int:
    """Say which sessions an id prefix matches (exit 1): the user picks one."""
    from inspector.core.render import safe_text
    from inspector.redis_io.prefix_lookup import MAX_MATCHES

    more = " or more" if len(matches) >= MAX_MATCHES else ""
    lines = [
        f"{PROG}: {safe_text(session_ref.strip())} is the start of {len(matches)}{more} "
        "session ids; give more of the id:"
    ]
    lines += [f"  {safe_text(m.session_id)}  {m.framework}  {safe_text(m.key)}" for m in matches]
    sys.stderr.write("\n".join(lines) + "\n")
    return int(ExitCode.ERROR_REPLY)


def _top(counter: Counter[str], n: int = 10) -> list[JsonValue]:
    return [[name, count] for name, count in counter.most_common(n)]


def run_stats(settings: ConnectionSettings, options: SessionOptions) -> int:
    """Scan everything, then summarise: frameworks, states, hosts, namespaces, principals, sizes."""
    from inspector.core.session import Session

    try:
        framework_selection(options)
    except ValueError as exc:
        return _usage(str(exc))

    async def work(client: RedisClient) -> int:
        scanner = _scanner(client, options)
        frameworks: Counter[str] = Counter()
        states: Counter[str] = Counter()
        hosts: Counter[str] = Counter()
        namespaces: Counter[str] = Counter()
        layouts: Counter[str] = Counter()
        attribute_names: Counter[str] = Counter()
        principals: Counter[str] = Counter()
        without_principal: list[str] = []
        largest: list[tuple[int, str, str, str]] = []
        total_bytes = 0
        count = 0
        now = _now_ms()
        async for batch in scanner.mixed_batches():
            for session in batch:
                count += 1
                if isinstance(session, Session):
                    framework, session_id = SPRING, session.id
                    states[session.state.value] += 1
                    namespaces[session.namespace] += 1
                    layouts[session.layout.value] += 1
                    attribute_names.update(session.attribute_names)
                    if not session.principal:
                        without_principal.append(session.id)
                else:
                    framework, session_id = session.framework, session.session_id
                    states[session.state(now)] += 1
                    attribute_names.update(list(session.attributes))
                frameworks[framework] += 1
                hosts[session.host or "(none)"] += 1
                if session.principal:
                    principals[session.principal] += 1
                total_bytes += session.size
                largest.append((session.size, session_id, session.host or "-", framework))
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
        tally = scanner.tally
        report: dict[str, JsonValue] = {
            "sessions": count,
            "keysScanned": scanner.progress.keys_scanned,
            "byFramework": dict(frameworks),
            "byState": dict(states),
            "byHost": dict(hosts),
            "byNamespace": dict(namespaces),
            "byLayout": dict(layouts),
            "principals": {"distinct": len(principals), "top": _top(principals)},
            "attributes": dict(attribute_names.most_common()),
            "bytes": {"total": total_bytes, "average": total_bytes // count if count else 0},
            "largest": [
                {"id": sid, "size": size, "host": host, "framework": framework}
                for size, sid, host, framework in sorted(largest, reverse=True)[:10]
            ],
            "keys": dict(kinds),
            "frameworkHelperKeys": dict(tally.helpers),
            "unreadable": {
                name: {"keys": n, "example": tally.examples.get(name, ("", ""))[0],
                       "reason": tally.examples.get(name, ("", ""))[1]}
                for name, n in tally.unreadable.items()
            },
            "undecodable": dict(tally.undecodable),
            "notSessionKeys": tally.not_sessions,
        }  # fmt: skip
        out = sys.stdout.buffer
        if options.json:
            _write_json(out, report, indent=True)
        else:
            out.write(_stats_text(report).encode("utf-8", "replace"))
        _tell(scanner, count)
        return int(ExitCode.OK)

    return _run(settings, work)


def _stats_text(report: dict[str, JsonValue]) -> str:
    from inspector.core.render import safe_text

    lines = [f"{report['sessions']} sessions ({report['keysScanned']} keys scanned)"]
    for title, key in (
        ("by framework", "byFramework"),
        ("by state", "byState"),
        ("by host", "byHost"),
        ("by namespace", "byNamespace"),
        ("by layout", "byLayout"),
        ("Spring keys", "keys"),
        ("framework helper keys", "frameworkHelperKeys"),
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
        items = [item for item in largest if isinstance(item, dict)]
        # As wide as the longest id listed (Rails' are 67 characters), 36 at least.
        width = max([36, *(len(safe_text(str(item["id"]))) for item in items)])
        for item in items:
            sid, host = safe_text(str(item["id"])), safe_text(str(item["host"]))
            framework = safe_text(str(item["framework"]))
            lines.append(f"  {sid:<{width}}  {item['size']:>8} B  {host:<16}  {framework}")
    return "\n".join(lines) + "\n"
