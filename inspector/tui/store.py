"""The sessions table's model: one compact row per session, filtered and sorted views.

No Textual here, so it is unit-tested without an app and can be filtered or
sorted in a worker thread. Rows are updated in place by key (never rebuilt),
which is what keeps the table's live updates cheap: the table only redraws the
rows on screen.

Memory: a row keeps a dozen small fields plus its attribute names (lower-cased,
for the filter), so a million sessions stay under a gigabyte
(benchmarks/bench_tui.py). Values are not kept: the filter's value search
(:mod:`inspector.core.search`) reads sessions in full when a term needs them,
and marks the rows it found (:attr:`Row.hit`).
"""

from __future__ import annotations

import heapq
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inspector.core.attribution import AttributedRequest
from inspector.core.changes import EventKind
from inspector.core.collection import BulkLoad
from inspector.core.frameworks import FrameworkSession
from inspector.core.search import names_text, parse_query
from inspector.core.session import Session

__all__ = ["Row", "SessionStore", "SortKey", "expiry_ms", "search_text", "sorted_keys"]

SORT_CHUNK = 8_192
"""Rows sorted in one C call (one hold of the GIL) by :meth:`SessionStore.compute_view`."""
FLASH_MS = 3000
"""How long a row whose host just changed stays highlighted."""


class SortKey(StrEnum):
    """Orders the table can show: one per column, and the order sessions were found in."""

    LAST_ACCESS = "last access"
    CREATED = "created"
    HOST = "host"
    FOUND = "discovery order"
    ID = "id"
    STATE = "state"
    TTL = "TTL"
    PRINCIPAL = "principal"
    ATTRIBUTES = "attributes"
    SIZE = "size"
    NAMESPACE = "namespace"
    FRAMEWORK = "framework"
    VIA = "via"

    @property
    def descending(self) -> bool:
        """Whether this order, not reversed, puts the biggest first (newest, largest)."""
        return self in _DESCENDING


_DESCENDING = frozenset({SortKey.LAST_ACCESS, SortKey.CREATED, SortKey.ATTRIBUTES, SortKey.SIZE})
"""Orders whose natural direction is the highest first (the newest, the largest); the others
go A to Z, soonest to expire, first found first."""


@dataclass(slots=True)
class Row:
    """What the table shows for one session."""

    key: str
    namespace: str
    host: str | None
    principal: str | None
    created: int | None
    last_access: int | None
    expires_at: int | None
    hash_ttl_ms: int
    observed_at: int
    attributes: int
    state: str
    search: str
    order: int
    flash_until: int = 0
    framework: str = "spring"
    """``spring``, or the adapter that read it (``express``, ``php``...)."""
    session_id: str | None = None
    """Another framework's session id (Spring's is kept once, in the key, to save memory)."""
    served_by: str | None = None
    """The container of the session's last request, by the active attribution."""
    via: str | None = None
    """Where that name came from (a :class:`~inspector.core.attribution.NameSource` value)."""
    disagrees: bool = False
    """The session's host attribute names another container than its connection."""
    size: int = 0
    """Bytes of the session's field names and values, as last read."""
    hit: str = ""
    """The filter (as :attr:`SessionStore.query` holds it) whose value search found this
    session; a value term matches only through it."""

    @property
    def container(self) -> str | None:
        """What the container column shows: the attributed container, else the host attribute."""
        return self.served_by if self.served_by is not None else self.host

    @property
    def id(self) -> str:
        """The session id: the end of the key for Spring's."""
        if self.session_id is not None:
            return self.session_id
        return self.key[len(self.namespace) + len(":sessions:") :]

    def ttl_left_ms(self, now_ms: int) -> int | None:
        """Time until expiry; the hash TTL (as of the last read) when there is no expiry time."""
        if self.expires_at is not None:
            return self.expires_at - now_ms
        if self.hash_ttl_ms >= 0:
            return self.hash_ttl_ms - (now_ms - self.observed_at)
        return None


def search_text(names: Iterable[str]) -> str:
    """What a row keeps for the filter: its attribute names, lower-cased, one string shared.

    Only the names: id, host and principal are matched from their own fields,
    values by the value search (which reads them in full). Sessions of one
    application carry the same few sets of names, so the text is interned: a
    million rows hold a handful of these strings, not a million copies
    (~200 bytes each at 1M sessions: benchmarks/bench_tui.py).
    """
    return sys.intern(names_text(names))


def _search_text(session: Session) -> str:
    return search_text(session.attribute_names)


def _other_search_text(session: FrameworkSession) -> str:
    return search_text([session.framework, *session.attributes])


def _shared(text: str | None) -> str | None:
    # A million rows name a handful of hosts, principals and namespaces: one
    # string object each instead of one per row.
    return sys.intern(text) if text is not None else None


def _sorted(rows: list[Row], key: Callable[[Row], Any], *, reverse: bool) -> Iterable[Row]:
    """``sorted(rows)``, without holding the GIL for long (this runs in a worker thread).

    ``list.sort`` compares in C and keeps the GIL until it is done: 0.5 s for a
    million rows, during which the UI thread cannot paint. Chunks of
    :data:`SORT_CHUNK` rows are sorted one by one (a few ms each) and merged by
    ``heapq.merge``, Python code the interpreter switches threads in. The
    merge is stable, so the order is exactly the one sort would give.
    """
    if len(rows) <= SORT_CHUNK:
        rows.sort(key=key, reverse=reverse)
        return rows
    chunks = [rows[i : i + SORT_CHUNK] for i in range(0, len(rows), SORT_CHUNK)]
    for chunk in chunks:
        chunk.sort(key=key, reverse=reverse)
    return heapq.merge(*chunks, key=key, reverse=reverse)


def expiry_ms(row: Row) -> float | None:
    """When the session expires (epoch ms; infinite if never), for the TTL order."""
    if row.state == "never-expires":
        return math.inf
    if row.expires_at is not None:
        return row.expires_at
    if row.hash_ttl_ms >= 0:
        return row.observed_at + row.hash_ttl_ms
    return None


_NUMBERS: dict[SortKey, Callable[[Row], float | None]] = {
    SortKey.LAST_ACCESS: lambda r: r.last_access,
    SortKey.CREATED: lambda r: r.created,
    SortKey.TTL: expiry_ms,
    SortKey.ATTRIBUTES: lambda r: r.attributes,
    SortKey.SIZE: lambda r: r.size,
    SortKey.FOUND: lambda r: r.order,
}
_TEXTS: dict[SortKey, Callable[[Row], str | None]] = {
    SortKey.HOST: lambda r: r.container,
    SortKey.ID: lambda r: r.id,
    SortKey.STATE: lambda r: r.state,
    SortKey.PRINCIPAL: lambda r: r.principal,
    SortKey.NAMESPACE: lambda r: r.namespace,
    SortKey.FRAMEWORK: lambda r: r.framework,
    SortKey.VIA: lambda r: r.via or ("attribute" if r.host else None),
}


def sorted_keys(rows: list[Row], sort: SortKey, *, reverse: bool = False) -> list[str]:
    """The keys of ``rows`` in ``sort``'s order (``reverse``: the other direction).

    Rows without a value for the order (no principal, no TTL...) come last in
    either direction, newest access first; ties go newest access first too,
    then in discovery order (the sort is stable).
    """
    descending = sort.descending != reverse
    key: Callable[[Row], Any]
    number = _NUMBERS.get(sort)
    if number is not None:
        value: Callable[[Row], Any] = number
        sign = -1 if descending else 1
        if sort in (SortKey.LAST_ACCESS, SortKey.FOUND):
            key = lambda r: sign * (number(r) or 0)  # noqa: E731 - no tie to break
        else:
            key = lambda r: (sign * (number(r) or 0), -(r.last_access or 0))  # noqa: E731
        flip = False
    else:
        text = _TEXTS[sort]
        value = text
        if descending:
            # reverse=True turns the tie-break round too: newest access first again.
            key = lambda r: (text(r), r.last_access or 0)  # noqa: E731
        else:
            key = lambda r: (text(r), -(r.last_access or 0))  # noqa: E731
        flip = descending
    present = [row for row in rows if value(row) is not None]
    missing = [row for row in rows if value(row) is None]
    ordered = [row.key for row in _sorted(present, key, reverse=flip)]
    if missing:
        ordered.extend(
            row.key for row in _sorted(missing, lambda r: -(r.last_access or 0), reverse=False)
        )
    return ordered


def _match(row: Row, needle: str) -> bool:
    """Whether a row matches a filter (:mod:`inspector.core.search`), by metadata or by a hit.

    A term only a value can satisfy matches once the value search has found
    the session for this very filter (``row.hit``).
    """
    verdict = parse_query(needle).metadata_verdict(row)
    return verdict is True or (verdict is None and row.hit == needle)


def _match_by_metadata(row: Row, needle: str) -> bool:
    return parse_query(needle).metadata_verdict(row) is True


class SessionStore:
    """All known sessions, plus the filtered and sorted view the table pages through."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.view: list[str] = []
        self.query = ""
        self.sort = SortKey.LAST_ACCESS
        self.reverse = False
        """The order's natural direction turned round (choosing the same order again)."""
        self._counter = 0
        self.frameworks_seen = False
        """Whether any other framework's session was added (the table then shows the column)."""
        self.others: dict[str, FrameworkSession] = {}
        """Other frameworks' sessions as last read (their detail screen shows them)."""
        self._attributed: set[str] = set()
        """Keys of rows a request named the container of (to forget on a switch)."""

    def __len__(self) -> int:
        return len(self.rows)

    def upsert_others(self, sessions: Iterable[FrameworkSession], now_ms: int) -> list[str]:
        """Add or update other frameworks' sessions; returns keys whose host changed."""
        switched = []
        for session in sessions:
            self.frameworks_seen = True
            self.others[session.key] = session
            state = session.state(now_ms)
            last = session.last_access_ms or session.created_ms
            # The TTL counts down from the key's (most frameworks' expiry).
            expires = session.expires_at_ms if session.ttl_ms < 0 else None
            row = self.rows.get(session.key)
            search = _other_search_text(session)
            if row is None:
                self._counter += 1
                row = Row(
                    key=session.key, namespace=_shared(session.framework) or "",
                    host=_shared(session.host), principal=_shared(session.principal),
                    created=session.created_ms, last_access=last, expires_at=expires,
                    hash_ttl_ms=session.ttl_ms, observed_at=now_ms,
                    attributes=len(session.attributes), state=state, search=search,
                    order=self._counter, framework=sys.intern(session.framework),
                    session_id=session.session_id, size=session.size,
                )  # fmt: skip
                self.rows[session.key] = row
                if self._matches(row):
                    self.view.append(row.key)
                continue
            if row.host != session.host and row.host is not None:
                row.flash_until = now_ms + FLASH_MS
                switched.append(row.key)
            row.host = _shared(session.host)
            row.principal = _shared(session.principal)
            row.last_access = last
            row.expires_at = expires
            row.hash_ttl_ms = session.ttl_ms
            row.observed_at = now_ms
            row.attributes = len(session.attributes)
            row.state = state
            row.search = search
            row.size = session.size
        return switched

    def upsert(self, sessions: Iterable[Session], now_ms: int) -> list[str]:
        """Add or update rows; returns keys whose host changed (they flash)."""
        switched = []
        for session in sessions:
            row = self.rows.get(session.key)
            if row is None:
                self._counter += 1
                row = Row(
                    key=session.key, namespace=sys.intern(session.namespace),
                    host=_shared(session.host), principal=_shared(session.principal),
                    created=session.creation_time, last_access=session.last_accessed_time,
                    expires_at=session.expires_at, hash_ttl_ms=session.raw.hash_ttl_ms,
                    observed_at=session.raw.observed_at_ms,
                    attributes=len(session.attribute_names), state=session.state.value,
                    search=_search_text(session), order=self._counter, size=session.size,
                )  # fmt: skip
                self.rows[session.key] = row
                if self._matches(row):
                    self.view.append(row.key)
                continue
            if row.host != session.host and row.host is not None:
                row.flash_until = now_ms + FLASH_MS
                switched.append(row.key)
            row.host = _shared(session.host)
            row.principal = _shared(session.principal)
            row.last_access = session.last_accessed_time
            row.expires_at = session.expires_at
            row.hash_ttl_ms = session.raw.hash_ttl_ms
            row.observed_at = session.raw.observed_at_ms
            row.attributes = len(session.attribute_names)
            row.state = session.state.value
            row.search = _search_text(session)
            row.size = session.size
        return switched

    def attribute(self, requests: Iterable[AttributedRequest], now_ms: int) -> bool:
        """Name the container of each request's session (its row); whether any is by connection.

        A row whose container changes flashes, as for a host attribute change.
        """
        by_connection = False
        for request in requests:
            if request.event.kind is EventKind.DESTROYED:
                continue
            row = self.rows.get(request.event.key)
            container = request.container
            if row is None or container is None:
                continue
            name = _shared(container.name)
            if row.served_by is not None and row.served_by != name:
                row.flash_until = now_ms + FLASH_MS
            row.served_by = name
            row.via = container.source.value
            row.disagrees = request.host_disagrees
            self._attributed.add(row.key)
            by_connection = by_connection or row.via != "attribute"
        return by_connection

    def forget_attribution(self) -> None:
        """The attribution was switched: what rows say of their containers is stale."""
        for key in self._attributed:
            row = self.rows.get(key)
            if row is not None:
                row.served_by = row.via = None
                row.disagrees = False
        self._attributed.clear()

    @property
    def sequence(self) -> int:
        """The ``order`` of the newest row: rows above it were added after this was read."""
        return self._counter

    def remove(self, key: str) -> None:
        """Forget a session (deleted or expired)."""
        self.remove_many([key])

    def remove_many(self, keys: Iterable[str]) -> None:
        """Forget sessions (deleted or expired), rebuilding the view once.

        A burst of expiries is thousands of keys; removing each from a view of a
        million keys would be a scan per key, this is one scan in all.
        """
        gone = {key for key in keys if self.rows.pop(key, None) is not None}
        for key in gone:
            self.others.pop(key, None)
        self._attributed.difference_update(gone)
        if gone:
            self.view = [key for key in self.view if key not in gone]

    def _matches(self, row: Row) -> bool:
        return not self.query or _match(row, self.query)

    def unsearched(self, query: str) -> list[str]:
        """Keys whose match on ``query`` only their values can tell (safe in a worker thread).

        The rows the metadata rules out, or that were found already, are left out.
        """
        needle = query.strip().lower()
        parsed = parse_query(needle)
        if not parsed.needs_values:
            return []
        return [
            row.key
            for row in list(self.rows.values())
            if row.hit != needle and parsed.metadata_verdict(row) is None
        ]

    def found(self, key: str, query: str, *, hit: bool) -> bool:
        """Record what the value search said of a session; whether the view changed.

        A hit on the current filter is appended to the view (results stream in);
        a session that no longer matches leaves it.
        """
        row = self.rows.get(key)
        if row is None:
            return False
        needle = query.strip().lower()
        if hit:
            if row.hit == needle:
                return False  # found before: in the view already
            row.hit = needle
            if needle == self.query and not _match_by_metadata(row, needle):
                self.view.append(key)
                return True
            return False
        if row.hit == needle:
            row.hit = ""
            if needle == self.query and key in self.view and not _match(row, needle):
                self.view.remove(key)
                return True
        return False

    def compute_view(
        self, query: str, sort: SortKey, *, since: int | None = None, reverse: bool = False
    ) -> list[str]:
        """The keys to show for a filter and an order (pure; safe in a worker thread).

        ``reverse`` turns the order's natural direction (:attr:`SortKey.descending`) round.

        With ``since`` (:attr:`sequence` read when the computation was started),
        rows added later are left out: :meth:`apply_view` appends them, so a
        row found while a worker computed is neither lost nor shown twice.
        """
        # The sort keys (a million tuples for the host order) would set off
        # full collections, each walking every young object with the GIL held:
        # paused while the view is computed (it makes no cycles).
        with BulkLoad(freeze=False):
            return self._compute_view(query, sort, since, reverse)

    def _compute_view(
        self, query: str, sort: SortKey, since: int | None, reverse: bool
    ) -> list[str]:
        needle = query.strip().lower()
        rows = [
            row
            for row in list(self.rows.values())
            if (since is None or row.order <= since) and (not needle or _match(row, needle))
        ]
        return sorted_keys(rows, sort, reverse=reverse)

    def apply_view(
        self,
        query: str,
        sort: SortKey,
        view: list[str],
        *,
        since: int | None = None,
        reverse: bool = False,
    ) -> None:
        """Install a view computed by :meth:`compute_view` (keys gone since are skipped).

        With the ``since`` given to :meth:`compute_view`, the matching rows
        added after it are appended, as :meth:`upsert` appends new rows.
        """
        self.query = query.strip().lower()
        self.sort = sort
        self.reverse = reverse
        if since is None:
            installed = [key for key in view if key in self.rows]
        else:
            # A key whose row is newer than `since` was removed and added again
            # meanwhile: it is appended below, like any new row, not kept here.
            installed = [
                key
                for key in view
                if (row := self.rows.get(key)) is not None and row.order <= since
            ]
            newer: list[str] = []
            # Rows enter the dict in ``order`` (a re-added key is a new entry at
            # the end), so the newer rows are its tail: no scan of a million.
            for row in reversed(self.rows.values()):
                if row.order <= since:
                    break
                if self._matches(row):
                    newer.append(row.key)
            installed.extend(reversed(newer))
        self.view = installed

    def refresh_view(self) -> None:
        """Filter and sort again now, with the current filter and order (small stores)."""
        self.view = self.compute_view(self.query, self.sort, reverse=self.reverse)

    def row_at(self, index: int) -> Row | None:
        """The row shown at a view position, if any."""
        if 0 <= index < len(self.view):
            return self.rows.get(self.view[index])
        return None
