"""The sessions table's model: sessions in columns, filtered and sorted views of them.

No Textual here, so it is unit-tested without an app and can be filtered or
sorted in a worker thread. Rows are updated in place by key (never rebuilt),
which is what keeps the table's live updates cheap: the table only redraws the
rows on screen.

Memory: a session is a *slot*, an index into parallel columns (``array`` of
machine integers for the times, TTL, size and counts; small integer codes into
one table of strings for host, principal, namespace, state, framework, the
attribute names and the container), its key in one list and an index from key
to slot chained through arrays. A freed slot is reused by the next session.
The view is an ``array`` of slots, and a :class:`Row` is built only for what is
asked for by key or shown on screen. So a session costs ~230 bytes (its key
string is half of it) and the collector has a few dozen objects to walk, not
millions: at a million sessions the whole TUI peaks at ~313 MB RSS, filter and
sort included (591 MB with one Row object per session; benchmarks/bench_tui.py,
README). Values are not kept: the filter's value search
(:mod:`inspector.core.search`) reads sessions in full when a term needs them,
and marks the rows it found (:attr:`Row.hit`).

Removal: a session removed leaves the index at once, but the view sheds it a
step at a time (:meth:`SessionStore.remove_many`): its row stays there,
reading ``expired``, until a sweep has filtered the view :data:`SWEEP_STEP`
entries per call, and its slot is reused only after the new view is in
(:data:`FREE_STEP` freed per call). At 1M, removing 200 sessions holds the UI
thread 4.5 ms median, 7.4 at most (one pass over the view in C: 64 median,
82 at most), 2,000 sessions 12 median, 17 at most (87 and 204), a step 2-3 ms
median (load 4-4.5, the old figures at 1.6; 31 steps a sweep).

A slot removed after a worker's :meth:`SessionStore.compute_view` started is
not freed until that view is installed or dropped (its pin): installing it
needs no pass over it for freed slots (at 1M during a burst of 2,000
expiries: 0.9 ms median, 3.0 at most; that pass was 61 median, 96 at most).
"""

from __future__ import annotations

import heapq
import itertools
import math
import sys
import time
import weakref
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import filterfalse
from typing import Any, overload

from inspector.core.attribution import AttributedRequest
from inspector.core.changes import EventKind
from inspector.core.frameworks import FrameworkSession
from inspector.core.search import Field, names_text, parse_query
from inspector.core.session import Session

__all__ = ["KeyView", "Row", "SessionStore", "SortKey", "expiry_ms", "search_text"]

SORT_CHUNK = 8_192
"""Rows sorted in one C call (one hold of the GIL) by :meth:`SessionStore.compute_view`."""
FLASH_MS = 3000
"""How long a row whose host just changed stays highlighted."""
PACK_HOLES = 1 << 16
"""Holes in the discovery order (and half of it) before it is packed."""
PACK_STEP = 32_768
"""Entries of the discovery order a packing step goes through (a few ms)."""
GROWTH = 4096
"""Slots the columns grow by when every slot is taken."""
FEW_GONE = 16
"""Up to this many hits join a view one by one (a search in its bytes each), more in one pass."""
SWEEP_STEP = 32_768
"""View entries a step of the removal sweep filters (one C pass, a few ms)."""
FREE_STEP = 512
"""Swept slots freed per step (a few µs each: a burst of thousands is not freed at once)."""

NONE = -(1 << 63)
"""A missing time in an int64 column."""
_LOW, _HIGH = NONE + 1, (1 << 63) - 1
_INT_LOW, _INT_HIGH = -(1 << 31), (1 << 31) - 1
_SPRING_PREFIX = len(":sessions:")


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
    """What the table shows for one session (built from the store's columns when asked for)."""

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
        return self.key[len(self.namespace) + _SPRING_PREFIX :]

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
    application carry the same few sets of names: the store keeps each text
    once (a code in its table of strings), not once per row.
    """
    return sys.intern(names_text(names))


def _search_text(session: Session) -> str:
    return search_text(session.attribute_names)


def _other_search_text(session: FrameworkSession) -> str:
    return search_text([session.framework, *session.attributes])


def expiry_ms(row: Row) -> float | None:
    """When the session expires (epoch ms; infinite if never), for the TTL order."""
    if row.state == "never-expires":
        return math.inf
    if row.expires_at is not None:
        return row.expires_at
    if row.hash_ttl_ms >= 0:
        return row.observed_at + row.hash_ttl_ms
    return None


def _q(value: int | None) -> int:
    """A time for an int64 column: :data:`NONE` for none (or no number), extremes clamped."""
    if value is None:
        return NONE
    try:
        value = int(value)
    except (ValueError, OverflowError, TypeError):
        return NONE  # NaN, an infinity: no time
    return _LOW if value < _LOW else _HIGH if value > _HIGH else value


def _clamp(value: int, low: int = _LOW, high: int = _HIGH) -> int:
    try:
        value = int(value)
    except (ValueError, OverflowError, TypeError):
        return 0
    return low if value < low else high if value > high else value


def _clamp32(value: int) -> int:
    return _clamp(value, _INT_LOW, _INT_HIGH)


def _opt(value: int) -> int | None:
    return None if value == NONE else value


def _find_slot(slots: array[int], slot: int) -> int | None:
    """Where ``slot`` is in ``slots``: a search in the array's bytes (a few ms at a million).

    ``array.index`` makes an int object of each entry it compares.
    """
    return _find_in(slots.tobytes(), slot)


def _find_in(data: bytes, slot: int) -> int | None:
    """Where ``slot`` is in an ``array('i')``'s bytes (a match must start on an entry)."""
    pattern = array("i", [slot]).tobytes()
    at = data.find(pattern)
    while at >= 0 and at % 4:
        at = data.find(pattern, at + 1)
    return at // 4 if at >= 0 else None


def _merged(chunks: list[Any], *, key: Callable[[Any], Any] | None = None) -> Iterable[Any]:
    if len(chunks) == 1:
        only: Iterable[Any] = chunks[0]
        return only
    return heapq.merge(*chunks, key=key)


def _sorted_chunks(items: Sequence[Any], *, key: Callable[[Any], Any] | None = None) -> list[Any]:
    """``items`` sorted in chunks of :data:`SORT_CHUNK` (ready for ``heapq.merge``).

    ``list.sort`` compares in C and keeps the GIL until it is done: 0.5 s for a
    million rows, during which the UI thread cannot paint. Each chunk's sort
    takes a few ms, the merge is Python code the interpreter switches threads in.
    """
    chunks = []
    for start in range(0, len(items), SORT_CHUNK):
        chunk = list(items[start : start + SORT_CHUNK])
        chunk.sort(key=key)
        chunks.append(chunk)
    return chunks


class _Strings:
    """Every distinct text the columns hold, once, by a small integer code (``0``: none).

    Counted, so that a principal no session holds any more is dropped (a code
    freed is reused: :attr:`freed` says when one was).
    """

    def __init__(self) -> None:
        self.texts: list[str | None] = [None]
        self.codes: dict[str, int] = {}
        self.refs = array("q", [0])
        self.free: list[int] = []
        self.freed = 0

    def acquire(self, text: str | None) -> int:
        if text is None:
            return 0
        code = self.codes.get(text)
        if code is None:
            if self.free:
                code = self.free.pop()
                self.texts[code] = text
            else:
                code = len(self.texts)
                self.texts.append(text)
                self.refs.append(0)
            self.codes[text] = code
        self.refs[code] += 1
        return code

    def release(self, code: int) -> None:
        if code:
            refs = self.refs[code] - 1
            self.refs[code] = refs
            if refs == 0:
                text = self.texts[code]
                if text is not None:
                    del self.codes[text]
                self.texts[code] = None
                self.free.append(code)
                self.freed += 1


class _Index:
    """Session key to slot, chained through arrays: no int object, no dict entry per session.

    A dict from a million keys to their slots costs ~75 bytes a session (its
    table and an int object per slot); this is ~8 (a bucket head, and a link
    per slot to the next slot of the same bucket). Keys are compared in the
    store's list of keys (``hash`` of a str is kept in the str). When the
    table doubles, its buckets move to the new one a few per insertion (as
    Redis rehashes), not all at once on the UI thread.
    """

    STEPS = 4
    """Old buckets moved per insertion while the table doubles."""

    def __init__(self, keys: list[str | None]) -> None:
        self.keys = keys
        self.heads = array("i", [-1]) * 1024
        self.links = array("i")
        """Per slot: the next slot in its bucket (-1: none)."""
        self.old: array[int] | None = None
        self.moved = 0
        """Buckets of :attr:`old` moved to :attr:`heads` so far."""
        self.count = 0
        self.changes = 0
        """Bumped before and after every change (odd: one is under way): a reader
        in another thread that found nothing while the chains changed looks again."""

    def __len__(self) -> int:
        return self.count

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def grow(self, slots: int) -> None:
        self.links.extend(array("i", [-1]) * slots)

    def _bucket(self, code: int) -> tuple[array[int], int]:
        old = self.old
        if old is not None:
            bucket = code & (len(old) - 1)
            if bucket >= self.moved:
                return old, bucket
        return self.heads, code & (len(self.heads) - 1)

    def get(self, key: str) -> int | None:
        code = hash(key)
        keys, links = self.keys, self.links
        while True:
            changes = self.changes
            if changes & 1:
                time.sleep(0)  # the UI thread is in the middle of a change
                continue
            table, bucket = self._bucket(code)
            slot = table[bucket]
            steps = self.count + 1  # a chain changed mid-walk may lead astray, never forever
            while slot >= 0 and steps:
                if keys[slot] == key:
                    return slot
                slot = links[slot]
                steps -= 1
            if changes == self.changes:
                return None

    def add(self, key: str, slot: int) -> None:
        """Index a new key (not indexed yet) at ``slot`` (whose key is ``key`` already)."""
        if self.old is not None:
            self._move(self.STEPS)
        self.changes += 1
        if self.old is None and self.count >= len(self.heads):
            self.old, self.heads, self.moved = (
                self.heads,
                array("i", [-1]) * (2 * len(self.heads)),
                0,
            )
        table, bucket = self._bucket(hash(key))
        self.links[slot] = table[bucket]
        table[bucket] = slot
        self.count += 1
        self.changes += 1

    def _move(self, steps: int) -> None:
        old = self.old
        assert old is not None
        heads, links, keys = self.heads, self.links, self.keys
        mask = len(heads) - 1
        self.changes += 1
        end = min(len(old), self.moved + steps)
        for bucket in range(self.moved, end):
            slot = old[bucket]
            while slot >= 0:
                following = links[slot]
                target = hash(keys[slot]) & mask
                links[slot] = heads[target]
                heads[target] = slot
                slot = following
            old[bucket] = -1
        self.moved = end
        if end == len(old):
            self.old = None
        self.changes += 1

    def pop(self, key: str) -> int | None:
        """Unindex ``key``; its slot, if it was indexed."""
        self.changes += 1
        try:
            return self._pop(key)
        finally:
            self.changes += 1

    def _pop(self, key: str) -> int | None:
        table, bucket = self._bucket(hash(key))
        keys, links = self.keys, self.links
        slot, previous = table[bucket], -1
        while slot >= 0:
            if keys[slot] == key:
                if previous < 0:
                    table[bucket] = links[slot]
                else:
                    links[previous] = links[slot]
                links[slot] = -1
                self.count -= 1
                return slot
            previous, slot = slot, links[slot]
        return None


class _Memo(dict[int, bool]):
    """Whether a term's text is in the string of each code, worked out once per code."""

    def __init__(self, texts: list[str | None], needle: str, *, lower: bool) -> None:
        super().__init__()
        self.texts = texts
        self.needle = needle
        self.lower = lower
        self[0] = False

    def __missing__(self, code: int) -> bool:
        text = self.texts[code] if code < len(self.texts) else None
        if text is None:
            return False  # freed meanwhile (a worker's race): not kept
        found = self.needle in (text.lower() if self.lower else text)
        self[code] = found
        return found


class KeyView(Sequence[str]):
    """A view's session keys, over the array of slots the store keeps for it.

    What :meth:`SessionStore.compute_view` returns and :attr:`SessionStore.view`
    is: indexing, iteration, ``in`` and ``index`` give keys, ``==`` compares
    with a list of keys.
    """

    __slots__ = ("__weakref__", "_store", "pin", "since", "slots")

    def __init__(
        self, store: SessionStore, slots: array[int], since: int = 0, pin: int | None = None
    ) -> None:
        self._store = store
        self.slots = slots
        self.since = since
        """The store's :attr:`~SessionStore.sequence` the view was computed for."""
        self.pin = pin
        """The store's pin on freeing taken when the computation started (None: none)."""

    def __len__(self) -> int:
        return len(self.slots)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        keys = self._store._keys
        if isinstance(index, slice):
            return [keys[slot] or "" for slot in self.slots[index]]
        return keys[self.slots[index]] or ""

    def __iter__(self) -> Iterator[str]:
        keys = self._store._keys
        return (keys[slot] or "" for slot in self.slots)

    def __contains__(self, key: object) -> bool:
        slot = self._store._index.get(key) if isinstance(key, str) else None
        return slot is not None and _find_slot(self.slots, slot) is not None

    def index(self, key: Any, start: int = 0, stop: int | None = None) -> int:
        slot = self._store._index.get(key) if isinstance(key, str) else None
        at = None if slot is None else _find_slot(self.slots, slot)
        if at is None or at < start or (stop is not None and at >= stop):
            raise ValueError(f"{key!r} is not in the view")
        return at

    def __eq__(self, other: object) -> bool:
        if isinstance(other, KeyView):
            return list(self) == list(other)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KeyView({list(self)!r})"


class _Rows(Mapping[str, Row]):
    """The store's sessions by key, as :class:`Row` objects built when asked for."""

    __slots__ = ("_store",)

    def __init__(self, store: SessionStore) -> None:
        self._store = store

    def __getitem__(self, key: str) -> Row:
        row = self._store.row(key)
        if row is None:
            raise KeyError(key)
        return row

    def get(self, key: str, default: Any = None) -> Any:
        row = self._store.row(key)
        return default if row is None else row

    def __contains__(self, key: object) -> bool:
        return key in self._store._index

    def __len__(self) -> int:
        return len(self._store._index)

    def __iter__(self) -> Iterator[str]:
        """Keys in discovery order."""
        keys = self._store._keys
        return (key for slot in self._store._discovered() if (key := keys[slot]) is not None)


_Verdict = Callable[[int], bool | None]


class SessionStore:
    """All known sessions, plus the filtered and sorted view the table pages through."""

    def __init__(self) -> None:
        self._strings = _Strings()
        self._keys: list[str | None] = []
        self._index = _Index(self._keys)
        self._free: list[int] = []
        self._alive = bytearray()
        # Times (ms) and the other int64 columns; NONE where there is none.
        self._created = array("q")
        self._last = array("q")
        self._expires = array("q")
        self._hash_ttl = array("q")
        self._observed = array("q")
        self._order = array("q")
        self._size = array("q")
        self._attributes = array("i")
        # Codes into self._strings.
        self._namespace = array("i")
        self._host = array("i")
        self._principal = array("i")
        self._state = array("i")
        self._framework = array("i")
        self._search = array("i")
        self._served = array("i")
        self._via = array("i")
        self._hit = array("i")
        self._disagrees = bytearray()
        self._flash: dict[int, int] = {}
        """Slots whose host just changed: until when they flash (few at a time)."""
        self._ids: dict[int, str] = {}
        """Other frameworks' session ids (Spring's is the end of the key)."""
        self._by_order = array("i")
        """Slots in discovery order (-1: removed since), for ties and the newest rows."""
        self._position = array("i")
        """Each slot's place in :attr:`_by_order`."""
        self._holes = 0
        self._packing: tuple[int, int] | None = None
        """Where a packing of :attr:`_by_order` reads and writes next (None: not packing)."""
        self._retired = 0
        """Slots retired so far (bumped after the slot reads as not alive)."""
        self._pins: dict[int, int] = {}
        """Per view computed and not installed or dropped yet: :attr:`_retired` at its start.

        A slot retired after a pin was taken may be in that view: it is not
        freed until the pin goes, so :meth:`apply_view` needs no pass over the
        view for freed slots. Written by workers (one dict operation each)."""
        self._pin_tokens = itertools.count(1)
        self._slots = array("i")
        self._pending: set[int] = set()
        """Slots removed (out of the index) the sweep under way takes out of the view.

        They stay in the view until then, their row reading ``expired``; their
        slot is freed (for reuse) once the view the sweep built is installed."""
        self._later: set[int] = set()
        """Slots removed while a sweep is under way: the next sweep's."""
        self._swept: array[int] | None = None
        """The view being built by the sweep (None: no sweep)."""
        self._sweep_read = 0
        """How far in :attr:`_slots` the sweep has read."""
        self._unfreed: list[int] = []
        """Slots swept out of the view, freed :data:`FREE_STEP` per step, oldest first."""
        self._batches: list[list[int]] = []
        """``[count, retired]`` per group of :attr:`_unfreed`, in order: ``count`` slots,
        all retired by :attr:`_retired` = ``retired``, freed once no pin is older."""
        self.query = ""
        self.sort = SortKey.LAST_ACCESS
        self.reverse = False
        """The order's natural direction turned round (choosing the same order again)."""
        self._counter = 0
        self.frameworks_seen = False
        """Whether any other framework's session was added (the table then shows the column)."""
        self.others: dict[str, FrameworkSession] = {}
        """Other frameworks' sessions as last read (their detail screen shows them)."""
        self._attributed: set[int] = set()
        """Slots of rows a request named the container of (to forget on a switch)."""
        self._matcher: tuple[str, int, _Verdict] | None = None

    def __len__(self) -> int:
        return len(self._index)

    # ---------------------------------------------------------------- rows

    @property
    def rows(self) -> Mapping[str, Row]:
        """Every session by key (a :class:`Row` is built for each one asked for)."""
        return _Rows(self)

    @property
    def view(self) -> KeyView:
        """The keys the table shows, in its order."""
        return KeyView(self, self._slots, self._counter)

    def row(self, key: str) -> Row | None:
        """The session's row, if it is known."""
        slot = self._index.get(key)
        return None if slot is None else self._row(slot)

    def _row(self, slot: int) -> Row | None:
        key = self._keys[slot]
        if key is None:
            return None  # freed while a worker asked
        texts = self._strings.texts
        return Row(
            key=key, namespace=texts[self._namespace[slot]] or "",
            host=texts[self._host[slot]], principal=texts[self._principal[slot]],
            created=_opt(self._created[slot]), last_access=_opt(self._last[slot]),
            expires_at=_opt(self._expires[slot]), hash_ttl_ms=self._hash_ttl[slot],
            observed_at=self._observed[slot], attributes=self._attributes[slot],
            state=texts[self._state[slot]] or "", search=texts[self._search[slot]] or "",
            order=self._order[slot], flash_until=self._flash.get(slot, 0),
            framework=texts[self._framework[slot]] or "spring",
            session_id=self._ids.get(slot), served_by=texts[self._served[slot]],
            via=texts[self._via[slot]], disagrees=bool(self._disagrees[slot]),
            size=self._size[slot], hit=texts[self._hit[slot]] or "",
        )  # fmt: skip

    def row_at(self, index: int) -> Row | None:
        """The row shown at a view position, if any."""
        if 0 <= index < len(self._slots):
            return self._row(self._slots[index])
        return None

    def key_at(self, index: int) -> str | None:
        """The key shown at a view position, if any."""
        if 0 <= index < len(self._slots):
            return self._keys[self._slots[index]]
        return None

    def find(self, key: str, hint: int = 0) -> int | None:
        """The view position of ``key`` (looked for at ``hint`` and next to it first)."""
        slot = self._index.get(key)
        if slot is None:
            return None
        view = self._slots
        for near in (hint, hint - 1, hint + 1):  # one row came or went above it
            if 0 <= near < len(view) and view[near] == slot:
                return near
        return _find_slot(view, slot)

    def extend_view(self, keys: Iterable[str]) -> None:
        """Append to the view the sessions of ``keys`` it does not show yet."""
        slots = list(
            dict.fromkeys(slot for key in keys if (slot := self._index.get(key)) is not None)
        )
        if not slots:
            return
        if len(slots) <= FEW_GONE:
            # A search of the view's bytes each, not a pass over a million slots.
            data = self._slots.tobytes()
            self._slots.extend(slot for slot in slots if _find_in(data, slot) is None)
            return
        shown = bytearray(len(self._keys))
        for slot in self._slots:
            shown[slot] = 1
        self._slots.extend(slot for slot in slots if not shown[slot])

    # ---------------------------------------------------------------- columns

    def _set_text(self, column: array[int], slot: int, text: str | None) -> None:
        strings = self._strings
        old = column[slot]
        if strings.texts[old] == text and (old or text is None):
            return  # the same text: most updates change no host, principal or state
        code = strings.codes.get(text) if text is not None else 0
        if code:
            strings.refs[code] += 1
        else:
            code = strings.acquire(text)
        strings.release(old)
        column[slot] = code

    def _grow(self) -> None:
        """Room for :data:`GROWTH` more slots, in every column at once (one C call each)."""
        start = len(self._keys)
        self._keys.extend([None] * GROWTH)
        zeros = array("q", bytes(8 * GROWTH))
        for column in (
            self._created, self._last, self._expires, self._hash_ttl, self._observed,
            self._order, self._size,
        ):  # fmt: skip
            column.extend(zeros)
        small = array("i", bytes(4 * GROWTH))
        for column in (
            self._attributes, self._namespace, self._host, self._principal, self._state,
            self._framework, self._search, self._served, self._via, self._hit, self._position,
        ):  # fmt: skip
            column.extend(small)
        self._alive.extend(bytes(GROWTH))
        self._disagrees.extend(bytes(GROWTH))
        self._index.grow(GROWTH)
        # Popped from the end: the lowest slot first.
        self._free.extend(range(start + GROWTH - 1, start - 1, -1))

    def _new_slot(self, key: str) -> int:
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._counter += 1
        self._order[slot] = self._counter
        self._keys[slot] = key
        self._index.add(key, slot)
        self._alive[slot] = 1
        self._position[slot] = len(self._by_order)
        self._by_order.append(slot)
        return slot

    def _write(
        self,
        slot: int,
        *,
        host: str | None,
        principal: str | None,
        last: int | None,
        expires: int | None,
        hash_ttl: int,
        observed: int,
        attributes: int,
        state: str,
        search: str,
        size: int,
    ) -> None:
        text = self._set_text
        text(self._host, slot, host)
        text(self._principal, slot, principal)
        text(self._state, slot, state)
        text(self._search, slot, search)
        try:
            self._last[slot] = NONE if last is None else last
            self._expires[slot] = NONE if expires is None else expires
            self._hash_ttl[slot] = hash_ttl
            self._observed[slot] = observed
            self._attributes[slot] = attributes
            self._size[slot] = size
        except (OverflowError, TypeError, ValueError):
            # Hostile extremes (or a float from some framework's JSON): clamped.
            self._last[slot] = _q(last)
            self._expires[slot] = _q(expires)
            self._hash_ttl[slot] = _clamp(hash_ttl)
            self._observed[slot] = _clamp(observed)
            self._attributes[slot] = _clamp32(attributes)
            self._size[slot] = _clamp(size)

    def _retire(self, slot: int) -> None:
        """A removed slot (out of the index) leaves the discovery order; its row reads expired.

        It is not free yet: a view may hold it (:meth:`_free_slot` frees it).
        """
        self._alive[slot] = 0
        # After the slot reads as not alive: a computation whose pin saw this
        # count leaves the slot out, so the slot may be freed under that pin.
        self._retired += 1
        self._by_order[self._position[slot]] = -1
        self._holes += 1
        self._set_text(self._state, slot, "expired")

    def _free_slot(self, slot: int) -> None:
        """Free a retired slot (no view holds it any more) for the next session."""
        self._keys[slot] = None
        release = self._strings.release
        for column in (
            self._namespace, self._host, self._principal, self._state, self._framework,
            self._search, self._served, self._via, self._hit,
        ):  # fmt: skip
            release(column[slot])
            column[slot] = 0
        self._disagrees[slot] = 0
        self._flash.pop(slot, None)
        self._ids.pop(slot, None)
        self._attributed.discard(slot)
        self._free.append(slot)

    def _flash_slot(self, slot: int, now_ms: int) -> None:
        if len(self._flash) > 1024:
            self._flash = {s: t for s, t in self._flash.items() if t > now_ms}
        self._flash[slot] = now_ms + FLASH_MS

    def put(self, row: Row) -> None:
        """Add a row as given (benchmarks and tests build rows directly).

        It is the newest row: its ``order`` is the store's next, not the row's.
        """
        if row.key in self._index:
            self.remove(row.key)
        slot = self._new_slot(row.key)
        self._set_text(self._namespace, slot, row.namespace)
        self._set_text(self._framework, slot, row.framework)
        self._created[slot] = _q(row.created)
        self._write(
            slot, host=row.host, principal=row.principal, last=row.last_access,
            expires=row.expires_at, hash_ttl=row.hash_ttl_ms, observed=row.observed_at,
            attributes=row.attributes, state=row.state, search=row.search, size=row.size,
        )  # fmt: skip
        self._set_text(self._served, slot, row.served_by)
        self._set_text(self._via, slot, row.via)
        self._set_text(self._hit, slot, row.hit or None)
        self._disagrees[slot] = row.disagrees
        if row.served_by is not None or row.via is not None:
            self._attributed.add(slot)
        if row.flash_until:
            self._flash[slot] = row.flash_until
        if row.session_id is not None:
            self._ids[slot] = row.session_id
        if self._matches(slot):
            self._slots.append(slot)

    def upsert_others(self, sessions: Iterable[FrameworkSession], now_ms: int) -> list[str]:
        """Add or update other frameworks' sessions; returns keys whose host changed."""
        switched = []
        texts = self._strings.texts
        for session in sessions:
            self.frameworks_seen = True
            self.others[session.key] = session
            state = session.state(now_ms)
            last = session.last_access_ms or session.created_ms
            # The TTL is the session's remaining life, as `ls` and `show` count it:
            # its expiry by the framework's rule (express's cookie, the Rails
            # cache entry's own) where there is one, else the key's TTL.
            expires = session.expires_at_ms
            slot = self._index.get(session.key)
            new = slot is None
            if slot is None:
                slot = self._new_slot(session.key)
                self._set_text(self._namespace, slot, session.framework or "")
                self._set_text(self._framework, slot, session.framework)
                self._created[slot] = _q(session.created_ms)
                if session.session_id is not None:
                    self._ids[slot] = session.session_id
            else:
                host = texts[self._host[slot]]
                if host != session.host and host is not None:
                    self._flash_slot(slot, now_ms)
                    switched.append(session.key)
            self._write(
                slot, host=session.host, principal=session.principal, last=last,
                expires=expires, hash_ttl=session.ttl_ms, observed=now_ms,
                attributes=len(session.attributes), state=state,
                search=_other_search_text(session), size=session.size,
            )  # fmt: skip
            if new and self._matches(slot):
                self._slots.append(slot)
        self._sweep_step()
        return switched

    def upsert(self, sessions: Iterable[Session], now_ms: int) -> list[str]:
        """Add or update rows; returns keys whose host changed (they flash)."""
        switched = []
        texts = self._strings.texts
        for session in sessions:
            slot = self._index.get(session.key)
            new = slot is None
            if slot is None:
                slot = self._new_slot(session.key)
                self._set_text(self._namespace, slot, session.namespace)
                self._set_text(self._framework, slot, "spring")
                self._created[slot] = _q(session.creation_time)
            else:
                host = texts[self._host[slot]]
                if host != session.host and host is not None:
                    self._flash_slot(slot, now_ms)
                    switched.append(session.key)
            self._write(
                slot, host=session.host, principal=session.principal,
                last=session.last_accessed_time,
                expires=session.expires_at, hash_ttl=session.raw.hash_ttl_ms,
                observed=session.raw.observed_at_ms, attributes=len(session.attribute_names),
                state=session.state.value, search=_search_text(session), size=session.size,
            )  # fmt: skip
            if new and self._matches(slot):
                self._slots.append(slot)
        if self._packing is not None:
            self._pack_step()
        self._sweep_step()
        return switched

    def attribute(self, requests: Iterable[AttributedRequest], now_ms: int) -> bool:
        """Name the container of each request's session (its row); whether any is by connection.

        A row whose container changes flashes, as for a host attribute change.
        """
        by_connection = False
        texts = self._strings.texts
        for request in requests:
            if request.event.kind is EventKind.DESTROYED:
                continue
            slot = self._index.get(request.event.key)
            container = request.container
            if slot is None or container is None:
                continue
            name = container.name
            served = texts[self._served[slot]]
            if served is not None and served != name:
                self._flash_slot(slot, now_ms)
            self._set_text(self._served, slot, name)
            self._set_text(self._via, slot, container.source.value)
            self._disagrees[slot] = request.host_disagrees
            self._attributed.add(slot)
            by_connection = by_connection or container.source.value != "attribute"
        return by_connection

    def forget_attribution(self) -> None:
        """The attribution was switched: what rows say of their containers is stale."""
        served, via, release = self._served, self._via, self._strings.release
        for slot in self._attributed:
            release(served[slot])
            release(via[slot])
            served[slot] = via[slot] = 0
            self._disagrees[slot] = 0
        self._attributed.clear()

    @property
    def sequence(self) -> int:
        """The ``order`` of the newest row: rows above it were added after this was read."""
        return self._counter

    def remove(self, key: str) -> None:
        """Forget a session (deleted or expired)."""
        self.remove_many([key])

    def remove_many(self, keys: Iterable[str]) -> None:
        """Forget sessions (deleted or expired); the view sheds them a bounded step at a time.

        They leave the index (lookups, counts, a re-created key) at once. The
        view keeps their rows, reading ``expired``, until a sweep has filtered
        it :data:`SWEEP_STEP` entries per call (this one, the next upserts and
        removals, :meth:`sweep`): one pass in C over a view of a million held
        the GIL 65-120 ms, a UI stall on every burst of expiries. A view of up
        to :data:`SWEEP_STEP` entries is swept at once.
        """
        retired = []
        for key in keys:
            slot = self._index.pop(key)
            if slot is not None:
                self.others.pop(key, None)
                self._retire(slot)
                retired.append(slot)
        if retired:
            if self._swept is None:
                self._pending.update(retired)
                self._swept, self._sweep_read = array("i"), 0
            else:
                self._later.update(retired)  # the view read so far would keep them
        self._sweep_step()
        self._pack_step()

    def sweep(self) -> bool:
        """Take a step of the removal sweep (the pane's timer); whether the view changed."""
        return self._sweep_step()

    def _sweep_step(self) -> bool:
        """Filter the next :data:`SWEEP_STEP` entries of the view; at its end, install it.

        The view stays valid meanwhile, its indices stable: rows appended to it
        are read when the sweep gets there, a row taken out of it is taken out
        of the new one too (:meth:`found`). The slots it took out are freed
        :data:`FREE_STEP` per step after. Returns whether the view changed.
        """
        changed = False
        swept = self._swept
        if swept is not None:
            slots = self._slots
            read = self._sweep_read
            end = min(len(slots), read + SWEEP_STEP)
            swept.extend(filterfalse(self._pending.__contains__, slots[read:end]))
            self._sweep_read = end
            if end == len(slots):
                self._slots = swept
                self._hold(self._pending)  # in no view now but maybe a worker's
                self._pending, self._later = self._later, set()
                self._swept = array("i") if self._pending else None
                self._sweep_read = 0
                changed = True
        if self._unfreed:
            self._release(FREE_STEP)
        return changed

    def _hold(self, slots: Iterable[int]) -> None:
        """Retired slots in no view of the store: freed once no computation may hold them."""
        before = len(self._unfreed)
        self._unfreed.extend(slots)
        if len(self._unfreed) > before:
            self._batches.append([len(self._unfreed) - before, self._retired])

    def _release(self, budget: int) -> None:
        """Free up to ``budget`` held slots, oldest first, that no pinned computation may hold.

        A computation pinned at ``retired`` (:meth:`compute_view`) saw every
        slot retired by then as not alive: a group retired by then is free to go.
        """
        pins = self._pins
        oldest = min(pins.values(), default=None) if pins else None  # one C call: no switch
        freed = 0
        batches = self._batches
        while batches and freed < budget:
            batch = batches[0]
            if oldest is not None and batch[1] > oldest:
                break  # a worker's view may hold these (and every later group)
            take = min(batch[0], budget - freed)
            for slot in self._unfreed[freed : freed + take]:
                self._free_slot(slot)
            freed += take
            batch[0] -= take
            if not batch[0]:
                del batches[0]
        if freed:
            del self._unfreed[:freed]

    def _restart_sweep(self) -> None:
        """The view was replaced: sweep it from its start, for every slot removed not yet freed.

        A worker's view may hold any slot retired after its computation started
        (its pin kept them from being freed): they are swept again before they
        can be reused.
        """
        if self._swept is None and not self._unfreed:
            return
        self._pending |= self._later
        self._pending.update(self._unfreed)
        self._later = set()
        self._unfreed.clear()
        self._batches.clear()
        self._swept, self._sweep_read = array("i"), 0

    def _pack_step(self) -> None:
        """Pack the removed rows' holes out of the discovery order, a bounded part per call.

        Live entries move down over the holes, keeping their order, so the
        holes gather in a gap that travels to the end, where it is cut off:
        a million entries are never rewritten on the UI thread at once. The
        order is valid between two steps (holes are -1 wherever they are).
        """
        by_order, position = self._by_order, self._position
        if self._packing is None:
            if self._holes <= max(PACK_HOLES, len(by_order) // 2):
                return
            self._packing = (0, 0)
        read, write = self._packing
        end = min(len(by_order), read + PACK_STEP)
        for at in range(read, end):
            slot = by_order[at]
            if slot >= 0:
                if write != at:
                    by_order[write] = slot
                    position[slot] = write
                    by_order[at] = -1
                write += 1
        if end < len(by_order):
            self._packing = (end, write)
            return
        del by_order[write:]
        self._holes = by_order.count(-1)  # those made behind the sweep meanwhile
        self._packing = None

    # ---------------------------------------------------------------- filter

    def _verdict(self, needle: str) -> _Verdict:
        """``metadata_verdict`` of :mod:`inspector.core.search`, on a slot's columns.

        The same rules as ``inspector.core.search._in_metadata`` (a unit test
        holds them together), with each text column's answer worked out once
        per distinct string instead of once per row.
        """
        checks = [self._term_check(term.field, term.text) for term in parse_query(needle).terms]
        if len(checks) == 1:
            return checks[0]

        def verdict(slot: int) -> bool | None:
            result: bool | None = True
            for check in checks:
                found = check(slot)
                if found is False:
                    return False
                if found is None:
                    result = None
            return result

        return verdict

    def _term_check(self, field: Field, text: str) -> _Verdict:
        """One term's verdict on a slot (``None``: only a value can tell)."""
        texts, keys, ids = self._strings.texts, self._keys, self._ids
        namespace, host, served = self._namespace, self._host, self._served
        principal, search = self._principal, self._search
        lower = _Memo(texts, text, lower=True)
        exact = _Memo(texts, text, lower=False)  # the names are lower-cased already
        if field is Field.ANY:

            def anywhere(slot: int) -> bool | None:
                key = keys[slot]
                if key is None:
                    return False  # freed meanwhile (a worker's race)
                if (
                    text in key.lower()  # the id and the namespace
                    or lower[host[slot]]
                    or lower[served[slot]]
                    or lower[principal[slot]]
                    or exact[search[slot]]
                ):
                    return True
                return None

            return anywhere
        if field is Field.HOST:
            return lambda slot: lower[host[slot]] or lower[served[slot]]
        if field is Field.PRINCIPAL:
            return lambda slot: lower[principal[slot]]
        if field is Field.ATTR:
            return lambda slot: exact[search[slot]]
        if field is Field.NAMESPACE:
            return lambda slot: lower[namespace[slot]]
        if field is Field.ID:

            def in_id(slot: int) -> bool | None:
                key = keys[slot]
                if key is None:
                    return False
                sid = ids.get(slot)
                if sid is None:
                    sid = key[len(texts[namespace[slot]] or "") + _SPRING_PREFIX :]
                return text in sid.lower()

            return in_id
        return lambda slot: None  # Field.VALUE

    def _match(self, needle: str) -> Callable[[int], bool]:
        """Whether a slot matches a filter: by its metadata, or by a hit of the value search."""
        verdict = self._verdict(needle)
        texts, hit = self._strings.texts, self._hit

        def match(slot: int) -> bool:
            found = verdict(slot)
            return found is True or (found is None and texts[hit[slot]] == needle)

        return match

    def _matches(self, slot: int) -> bool:
        if not self.query:
            return True
        cached = self._matcher
        strings = self._strings
        if cached is None or cached[0] != self.query or cached[1] != strings.freed:
            # A code freed may come back as another text: the memos would lie.
            cached = self._matcher = (self.query, strings.freed, self._match(self.query))
        return cached[2](slot) is True

    def unsearched(self, query: str) -> list[str]:
        """Keys whose match on ``query`` only their values can tell (safe in a worker thread).

        The rows the metadata rules out, or that were found already, are left out.
        """
        needle = query.strip().lower()
        if not parse_query(needle).needs_values:
            return []
        verdict = self._verdict(needle)
        keys, texts, hit = self._keys, self._strings.texts, self._hit
        return [
            key
            for slot in self._discovered()
            if (key := keys[slot]) is not None
            and texts[hit[slot]] != needle
            and verdict(slot) is None
        ]

    def _discovered(self) -> Iterator[int]:
        """The slots in discovery order, as of now (safe in a worker thread).

        A copy (one memcpy), read once per slot: a packing step on the UI
        thread writes an entry where it moves to before it clears where it
        was, so a copy taken in between holds it twice, never not at all.
        """
        order = self._by_order[:]
        seen = bytearray(len(self._keys))
        for slot in order:
            if slot >= 0 and not seen[slot]:
                seen[slot] = 1
                yield slot

    def found(self, key: str, query: str, *, hit: bool) -> bool:
        """Record what the value search said of a session; whether the view changed.

        A hit on the current filter is appended to the view (results stream in);
        a session that no longer matches leaves it.
        """
        slot = self._index.get(key)
        if slot is None:
            return False
        needle = query.strip().lower()
        previous = self._strings.texts[self._hit[slot]]
        if hit:
            if previous == needle:
                return False  # found before: in the view already
            self._set_text(self._hit, slot, needle or None)
            if needle == self.query and self._verdict(needle)(slot) is not True:
                self._slots.append(slot)
                return True
            return False
        if previous == needle:
            self._set_text(self._hit, slot, None)
            if needle == self.query and not self._match(needle)(slot):
                at = _find_slot(self._slots, slot)
                if at is not None:
                    del self._slots[at]
                    swept = self._swept
                    if swept is not None and at < self._sweep_read:
                        # The sweep copied it already: out of the new view too.
                        self._sweep_read -= 1
                        copied = _find_slot(swept, slot)
                        if copied is not None:
                            del swept[copied]
                    return True
        return False

    # ---------------------------------------------------------------- views

    def compute_view(
        self, query: str, sort: SortKey, *, since: int | None = None, reverse: bool = False
    ) -> KeyView:
        """The keys to show for a filter and an order (pure; safe in a worker thread).

        ``reverse`` turns the order's natural direction (:attr:`SortKey.descending`) round.
        Rows without a value for the order (no principal, no TTL...) come last in
        either direction, newest access first; ties go newest access first too,
        then in discovery order.

        With ``since`` (:attr:`sequence` read when the computation was started),
        rows added later are left out: :meth:`apply_view` appends them, so a
        row found while a worker computed is neither lost nor shown twice.
        """
        # Pinned before anything is read: no slot retired from now on is freed
        # (and reused) until the view is installed or dropped.
        token = next(self._pin_tokens)
        self._pins[token] = self._retired
        try:
            if since is None:
                since = self._counter
            needle = query.strip().lower()
            order, alive = self._order, self._alive
            match = self._match(needle) if needle else None
            candidates = array("i")
            append = candidates.append
            for slot in self._discovered():
                if alive[slot] and order[slot] <= since and (match is None or match(slot)):
                    append(slot)
            view = KeyView(self, self._sorted(candidates, sort, reverse), since, token)
        except BaseException:
            self._pins.pop(token, None)
            raise
        # A view never installed (a cancelled worker's, one only read) unpins when dropped.
        weakref.finalize(view, self._pins.pop, token, None)
        return view

    def _sorted(self, candidates: array[int], sort: SortKey, reverse: bool) -> array[int]:
        """``candidates`` (in discovery order) in ``sort``'s order, without long holds of the GIL.

        Each candidate's sort key is one int: its value for the order (its
        rank among the distinct strings for a text order), then its last
        access, newest first, then its place in ``candidates``, which breaks
        the remaining ties by discovery order and says which slot it is. Ints
        compare in C with no key function (no tuple per row either); they are
        sorted in chunks of :data:`SORT_CHUNK` (a few ms each: ``list.sort``
        keeps the GIL until it is done, 0.5 s for a million rows) and merged
        by ``heapq.merge``, Python code the interpreter switches threads in.
        The id order compares strings: its key function makes them per chunk.
        """
        count = len(candidates)
        if count == 0:
            return candidates
        descending = sort.descending != reverse
        value = self._value_of(sort)
        by_text = sort in _TEXT_ORDERS and sort is not SortKey.ID
        by_id = sort is SortKey.ID
        last = self._last
        tie = sort not in (SortKey.LAST_ACCESS, SortKey.FOUND)
        # First pass: the spans of the values, for the widths of the packed keys.
        low: Any = None
        high: Any = None
        last_low = last_high = 0
        infinite = False
        distinct: set[str] = set()
        for slot in candidates:
            at = last[slot]
            if at != NONE:
                if at < last_low:
                    last_low = at
                elif at > last_high:
                    last_high = at
            if by_id:
                continue
            found = value(slot)
            if found is None:
                continue
            if by_text:
                distinct.add(found)
            elif found is math.inf:
                infinite = True
            else:
                if low is None or found < low:
                    low = found
                if high is None or found > high:
                    high = found
        ranks: dict[str, int] = {}
        if by_text:
            names = (
                sorted(distinct)
                if len(distinct) <= SORT_CHUNK
                else list(_merged(_sorted_chunks(list(distinct))))
            )
            ranks = {name: at for at, name in enumerate(names)}
            low, high = 0, max(0, len(names) - 1)
        if low is None or high is None:
            low = high = 0
        if infinite:
            high += 1  # never expires: after every time
        index_bits = max(1, (count - 1).bit_length())
        last_bits = (last_high - last_low).bit_length() if tie else 0
        shift = last_bits + index_bits
        last_span, span = last_high - last_low, high - low
        # The UI thread may change a row between the two passes: values out of
        # the first pass's spans are clamped into them, so that no field of a
        # packed key runs into the next (the slot it names stays the right one).

        present: list[Sequence[int]] = []
        missing: list[Sequence[int]] = []
        id_key = self._id_key(candidates, index_bits, descending)
        for start in range(0, count, SORT_CHUNK):
            these: list[int] = []
            absent: list[int] = []
            for at in range(start, min(count, start + SORT_CHUNK)):
                slot = candidates[at]
                newest = last[slot]
                newest = last_high - (0 if newest == NONE else newest)
                if not 0 <= newest <= last_span:
                    newest = 0 if newest < 0 else last_span
                found = value(slot)
                if found is None:
                    absent.append(newest << index_bits | at)
                    continue
                rest = (newest << index_bits | at) if tie else at
                if by_id:
                    these.append(rest)
                    continue
                if by_text:
                    found = ranks.get(found, 0)
                elif found is math.inf:
                    found = high
                primary = (high - found) if descending else (found - low)
                if not 0 <= primary <= span:
                    primary = 0 if primary < 0 else span
                these.append(primary << shift | rest)
            if by_id:
                these.sort(key=id_key, reverse=descending)
            else:
                these.sort()
            absent.sort()
            present.append(_compact(these))
            missing.append(_compact(absent))
        mask = (1 << index_bits) - 1
        out = array("i")
        append = out.append
        merged = (
            heapq.merge(*present, key=id_key, reverse=descending)
            if by_id and len(present) > 1
            else _merged(present)
        )
        for key in merged:
            append(candidates[key & mask])
        for key in _merged(missing):
            append(candidates[key & mask])
        return out

    def _id_key(
        self, candidates: array[int], index_bits: int, descending: bool
    ) -> Callable[[int], tuple[str, int]]:
        """The id order's key of a packed key: the id, then the packed key's own order.

        Sorted in reverse for the descending direction, the packed key is
        turned round so that its ties still go newest access, then first found, first.
        """
        keys, ids, namespace, texts = self._keys, self._ids, self._namespace, self._strings.texts
        mask = (1 << index_bits) - 1
        sign = -1 if descending else 1

        def key(packed: int) -> tuple[str, int]:
            slot = candidates[packed & mask]
            sid = ids.get(slot)
            if sid is None:
                sid = (keys[slot] or "")[len(texts[namespace[slot]] or "") + _SPRING_PREFIX :]
            return sid, sign * packed

        return key

    def _value_of(self, sort: SortKey) -> Callable[[int], Any]:
        """A slot's value for an order: an int, a string, ``math.inf`` or ``None`` (missing)."""
        texts = self._strings.texts
        numbers = {
            SortKey.LAST_ACCESS: self._last,
            SortKey.CREATED: self._created,
            SortKey.ATTRIBUTES: self._attributes,
            SortKey.SIZE: self._size,
            SortKey.FOUND: self._order,
        }
        if sort in numbers:
            col = numbers[sort]  # NONE only in the times: none there
            return lambda slot: _opt(col[slot])
        if sort is SortKey.TTL:
            state, expires = self._state, self._expires
            hash_ttl, observed = self._hash_ttl, self._observed

            def ttl(slot: int) -> float | None:
                if texts[state[slot]] == "never-expires":
                    return math.inf
                at = expires[slot]
                if at != NONE:
                    return at
                left = hash_ttl[slot]
                return observed[slot] + left if left >= 0 else None

            return ttl
        if sort is SortKey.HOST:
            host, served = self._host, self._served
            return lambda slot: texts[served[slot] or host[slot]]
        if sort is SortKey.ID:
            return lambda slot: True  # every session has one (compared by _id_key)
        if sort is SortKey.VIA:
            host, via = self._host, self._via

            def via_of(slot: int) -> str | None:
                name = texts[via[slot]]
                return name or ("attribute" if texts[host[slot]] else None)

            return via_of
        column = {
            SortKey.STATE: self._state,
            SortKey.PRINCIPAL: self._principal,
            SortKey.NAMESPACE: self._namespace,
            SortKey.FRAMEWORK: self._framework,
        }[sort]
        return lambda slot: texts[column[slot]]

    def apply_view(
        self,
        query: str,
        sort: SortKey,
        view: KeyView,
        *,
        since: int | None = None,
        reverse: bool = False,
    ) -> None:
        """Install a view computed by :meth:`compute_view` (rows gone since are skipped).

        With the ``since`` given to :meth:`compute_view` (without: the one it
        used), the matching rows added after it are appended, as :meth:`upsert`
        appends new rows.

        No slot retired since the computation started was freed (its pin), so
        the view holds live rows and rows removed not freed yet, which the
        sweep takes out again: no pass over the view here (one was 65-120 ms
        at a million on the UI thread).
        """
        self.query = query.strip().lower()
        self.sort = sort
        self.reverse = reverse
        if since is None:
            since = view.since
        slots = array("i", view.slots)
        if view.pin is None or self._pins.pop(view.pin, None) is None:
            # Not pinned (not from compute_view, or installed twice): slots may
            # have been freed and reused since, so every one is checked (rare).
            order, alive = self._order, self._alive
            slots = array("i", (s for s in slots if alive[s] and order[s] <= since))
        newer: list[int] = []
        order = self._order
        # The discovery order's tail holds the rows added since: no scan of a million.
        by_order = self._by_order
        for at in range(len(by_order) - 1, -1, -1):
            slot = by_order[at]
            if slot < 0:
                continue
            if order[slot] <= since:
                break
            if self._matches(slot):
                newer.append(slot)
        slots.extend(reversed(newer))
        self._slots = slots
        # It may hold rows removed meanwhile (still in no free list): swept again,
        # at once if the view is one step (small stores show no expired row).
        self._restart_sweep()
        if self._swept is not None and len(slots) <= SWEEP_STEP:
            self._sweep_step()

    def refresh_view(self) -> None:
        """Filter and sort again now, with the current filter and order (small stores)."""
        self._slots = self.compute_view(self.query, self.sort, reverse=self.reverse).slots
        if self._swept is not None or self._unfreed:
            # The removed rows are in no view now (compute_view leaves them out);
            # freed at once unless a worker's view started before may hold them.
            self._hold([*self._pending, *self._later])
            self._pending, self._later, self._swept = set(), set(), None
            self._release(len(self._unfreed))


_TEXT_ORDERS = frozenset(
    {
        SortKey.HOST,
        SortKey.ID,
        SortKey.STATE,
        SortKey.PRINCIPAL,
        SortKey.NAMESPACE,
        SortKey.FRAMEWORK,
        SortKey.VIA,
    }
)


def _compact(keys: list[int]) -> Sequence[int]:
    """A sorted chunk of packed keys, in 8 bytes each when they fit (not an int object each)."""
    try:
        return array("Q", keys)
    except OverflowError:
        return keys
