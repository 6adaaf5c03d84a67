"""What ``ls`` prints: one row per session of any framework, filtered, sorted, in columns.

Pure: no I/O. One meaning of TTL everywhere: the ``TTL`` column is the
session's remaining life, as ``show`` and the TUI count it down (its expiry
time less now: last access + max inactive interval for Spring, the
framework's rule for the others; the key's TTL only when there is no expiry
time); ``KEY TTL`` is the Redis key's own TTL (Spring's indexed layout keeps
the hash 5 minutes past the session's end, so the two differ by design).

Times carry their UTC offset (``2026-12-03 22:11:47 +0000``). Piped output
keeps every column at a fixed width (scripts cut it); on a terminal a header
comes first and the columns that do not fit its width are left out, least
useful first, the id shortened to the 8 characters ``show`` accepts last.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from inspector.core.frameworks import FrameworkSession
from inspector.core.render import cut_scalar, format_time, safe_text
from inspector.core.session import Session

__all__ = [
    "COLUMNS",
    "SHORT_ID",
    "SORT_FIELDS",
    "Column",
    "ListFilter",
    "ListRow",
    "columns_for",
    "countdown",
    "header",
    "line",
    "list_row",
    "list_time",
    "sort_rows",
]

SHORT_ID = 8
"""The id's length on a narrow terminal: what the TUI and ``watch`` print, and ``show`` takes."""


@dataclass(frozen=True, slots=True)
class ListRow:
    """What ``ls`` knows of one session, whatever wrote it."""

    session_id: str
    key: str
    framework: str
    """``spring spring:session`` (with the namespace), ``express``, ``php (variant)``."""
    state: str
    host: str | None
    principal: str | None
    last_access_ms: int | None
    created_ms: int | None
    remaining_ms: int | None
    """The session's remaining life (negative: past it); ``None``: it never ends."""
    key_ttl_ms: int
    """The key's PTTL as read: -1 none, -2 gone."""
    attributes: int
    size: int


def list_row(session: Session | FrameworkSession, now_ms: int) -> ListRow:
    """The row of a Spring session or another framework's, as of ``now_ms``."""
    if isinstance(session, Session):
        key_ttl = session.raw.hash_ttl_ms
        expires = session.expires_at
        return ListRow(
            session_id=session.id,
            key=session.key,
            framework=f"spring {session.namespace}",
            state=session.state.value,
            host=session.host,
            principal=session.principal,
            last_access_ms=session.last_accessed_time,
            created_ms=session.creation_time,
            remaining_ms=_remaining(expires, key_ttl, now_ms),
            key_ttl_ms=key_ttl,
            attributes=len(session.attribute_names),
            size=session.size,
        )
    return ListRow(
        session_id=session.session_id,
        key=session.key,
        framework=session.framework + (f" ({session.variant})" if session.variant else ""),
        state=session.state(now_ms),
        host=session.host,
        principal=session.principal,
        last_access_ms=session.last_access_ms or session.created_ms,
        created_ms=session.created_ms,
        remaining_ms=_remaining(session.expires_at_ms, session.ttl_ms, now_ms),
        key_ttl_ms=session.ttl_ms,
        attributes=len(session.attributes),
        size=session.size,
    )


def _remaining(expires_at_ms: int | None, key_ttl_ms: int, now_ms: int) -> int | None:
    # As the TUI's countdown: the expiry time, else the key's TTL, else none.
    if expires_at_ms is not None:
        return expires_at_ms - now_ms
    return key_ttl_ms if key_ttl_ms >= 0 else None


def countdown(ms: int | None) -> str:
    """A time left as the TUI shows it: ``m:ss``, ``1h05``, ``2d03h``; ``0:00`` past it; ``-``."""
    if ms is None:
        return "-"
    if ms <= 0:
        return "0:00"
    seconds = (ms + 999) // 1000
    if seconds >= 86400:
        return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


def _key_ttl(ms: int) -> str:
    if ms == -1:
        return "none"
    if ms < 0:
        return "gone"
    return countdown(ms)


def list_time(epoch_ms: int | None, tz: dt.tzinfo | None = None) -> str:
    """``2026-12-03 22:11:47 +0000``: to the second, with the UTC offset (``-`` for none)."""
    text = format_time(epoch_ms, tz)
    # format_time gives milliseconds before the offset; a list needs seconds.
    if len(text) == 29 and text[19] == ".":
        return text[:19] + text[23:]
    return text


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its title, width, which side it is aligned to and how it reads a row."""

    name: str
    title: str
    width: int
    cell: Callable[[ListRow, dt.tzinfo | None], str]
    right: bool = False
    drop: int = 0
    """Order of leaving out on a narrow terminal (1 first); 0: always shown."""


COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", 36, lambda r, _: safe_text(r.session_id)),
    Column("state", "STATE", 13, lambda r, _: r.state),
    Column("host", "HOST", 16, lambda r, _: cut_scalar(r.host or "-")),
    Column("principal", "PRINCIPAL", 16, lambda r, _: cut_scalar(r.principal or "-"), drop=4),
    Column("accessed", "LAST ACCESS", 25, lambda r, tz: list_time(r.last_access_ms, tz), drop=5),
    Column("ttl", "TTL", 7, lambda r, _: countdown(r.remaining_ms), right=True),
    Column("key-ttl", "KEY TTL", 7, lambda r, _: _key_ttl(r.key_ttl_ms), right=True, drop=2),
    Column("attributes", "ATTRS", 5, lambda r, _: str(r.attributes), right=True, drop=1),
    Column("framework", "FRAMEWORK", 0, lambda r, _: safe_text(r.framework), drop=3),
)
"""Every column, in order; the last one is not padded."""

_GAP = "  "


def _width(columns: Sequence[Column]) -> int:
    # The last column is unpadded: count its title, a fair guess of its cells.
    return sum(c.width or len(c.title) + 8 for c in columns) + len(_GAP) * (len(columns) - 1)


_SHORT_ID_COLUMN = Column("id", "ID", SHORT_ID, lambda r, _: safe_text(r.session_id[:SHORT_ID]))
_SHORTEN_ID_AFTER = 3
"""The id is shortened once the columns of ranks up to this one are gone, before the time."""


def columns_for(terminal_width: int | None, id_width: int | None = None) -> list[Column]:
    """The columns to print: all for a pipe (``None``), those that fit a terminal's width.

    ``id_width`` (a terminal only): the longest id of the first sessions listed,
    so a store of 64-character Rails ids (``2::<sha256>``) or 26-character PHP
    ones keeps its columns lined up; a pipe keeps the fixed width scripts cut.
    """
    columns = list(COLUMNS)
    if terminal_width is None:
        return columns
    if id_width is not None:
        columns[0] = dataclasses.replace(columns[0], width=max(id_width, SHORT_ID))
    for rank in sorted({c.drop for c in COLUMNS if c.drop}):
        if _width(columns) <= terminal_width:
            break
        if rank > _SHORTEN_ID_AFTER and columns[0].width > SHORT_ID:
            columns[0] = _SHORT_ID_COLUMN
            if _width(columns) <= terminal_width:
                break
        columns = [c for c in columns if c.drop != rank]
    if _width(columns) > terminal_width:
        columns[0] = _SHORT_ID_COLUMN
    return columns


def _cells(values: Iterable[tuple[Column, str]]) -> str:
    parts = []
    items = list(values)
    for index, (column, text) in enumerate(items):
        if column.right:
            parts.append(f"{text:>{column.width}}")
        elif index == len(items) - 1:
            parts.append(text)
        else:
            parts.append(f"{text:<{column.width}}")
    return _GAP.join(parts).rstrip()


def header(columns: Sequence[Column]) -> str:
    """The titles line for ``columns``."""
    return _cells((c, c.title) for c in columns)


def line(row: ListRow, columns: Sequence[Column], tz: dt.tzinfo | None = None) -> str:
    """One session's line (every value escaped, long hosts cut with their length)."""
    return _cells((c, c.cell(row, tz)) for c in columns)


SORT_FIELDS: dict[str, Callable[[ListRow], Any]] = {
    "id": lambda r: r.session_id,
    "state": lambda r: r.state,
    "host": lambda r: r.host,
    "principal": lambda r: r.principal,
    "accessed": lambda r: r.last_access_ms,
    "created": lambda r: r.created_ms,
    "ttl": lambda r: r.remaining_ms,
    "key-ttl": lambda r: r.key_ttl_ms if r.key_ttl_ms >= 0 else None,
    "size": lambda r: r.size,
    "attributes": lambda r: r.attributes,
    "framework": lambda r: r.framework,
}
"""``--sort`` fields: each reads one value of a row (``None``: sorted last)."""


def sort_rows(rows: list[ListRow], field: str | None, *, reverse: bool = False) -> list[ListRow]:
    """``rows`` by ``field`` (ascending; ``None``: as found), stable; missing values last."""
    if field is None:
        return rows[::-1] if reverse else rows
    read = SORT_FIELDS[field]
    known = [r for r in rows if read(r) is not None]
    missing = [r for r in rows if read(r) is None]
    known.sort(key=read, reverse=reverse)
    return known + missing


@dataclass(frozen=True, slots=True)
class ListFilter:
    """``--host``, ``--state``, ``--principal``, ``--match``: every one given must match.

    Hosts, principals and ``--match`` are globs (``container-*``; a plain word
    matches itself only), case-sensitive as Redis is; ``--match`` is tried on
    the session id and on the key. A value given twice (or comma-separated
    states) is either one.
    """

    hosts: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    match: str | None = None

    @property
    def active(self) -> bool:
        """Whether any filter was given."""
        return bool(self.hosts or self.states or self.principals or self.match)

    def accepts(self, row: ListRow) -> bool:
        """Whether ``row`` passes every filter given."""
        if self.states and row.state not in self.states:
            return False
        if self.hosts and not _any_glob(row.host, self.hosts):
            return False
        if self.principals and not _any_glob(row.principal, self.principals):
            return False
        return self.match is None or (
            fnmatchcase(row.session_id, self.match) or fnmatchcase(row.key, self.match)
        )


def _any_glob(value: str | None, patterns: Sequence[str]) -> bool:
    return value is not None and any(fnmatchcase(value, p) for p in patterns)
