"""The sessions table's model: upserts by key, flashing host changes, filter and sort."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from inspector.core.render import format_time
from inspector.core.search import parse_query, session_text
from inspector.core.session import Session
from inspector.tui import store as store_module
from inspector.tui.store import FLASH_MS, Row, SessionStore, SortKey, expiry_ms, search_text
from inspector.tui.widgets.session_table import (
    cell_text,
    last_first,
    layout_columns,
    table_columns,
)
from tests.factories import NOW_MS, spring_session
from tests.spring_layouts import jvm_fixture

NOW = NOW_MS


PRINCIPAL = "org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME"


def session(
    sid: str, host: str, last: int, *, principal: bytes | None = None, extra: bytes = b""
) -> Session:
    attributes = {"cart": extra} if extra else {}
    if principal:
        attributes[PRINCIPAL] = principal
    return spring_session(
        sid, host, last, created=last - 1000, sample_updated=last, attributes=attributes,
        observed_at_ms=NOW,
    )  # fmt: skip


def test_upsert_updates_in_place_and_flashes_host_changes() -> None:
    store = SessionStore()
    assert (
        store.upsert([session("a" * 8, "c1", NOW - 5000), session("b" * 8, "c2", NOW - 1000)], NOW)
        == []
    )
    assert len(store) == 2
    switched = store.upsert([session("a" * 8, "c2", NOW)], NOW)
    assert switched == [f"spring:session:sessions:{'a' * 8}"]
    row = store.rows[switched[0]]
    assert (row.host, row.last_access, row.flash_until) == ("c2", NOW, NOW + FLASH_MS)
    assert len(store) == 2
    store.remove(switched[0])
    assert len(store) == 1
    assert store.view == [f"spring:session:sessions:{'b' * 8}"]


def test_filter_by_id_host_principal_attribute_name_and_value() -> None:
    store = SessionStore()
    sessions = [
        session("11111111-aaaa", "container-1", NOW - 3, principal=b'"alice"'),
        session("22222222-bbbb", "container-2", NOW - 2, extra=b'{"item":"Blue Widget"}'),
        session("33333333-cccc", "container-2", NOW - 1, extra=jvm_fixture("sample_session")),
    ]
    store.upsert(sessions, NOW)
    full = {s.key: s for s in sessions}

    def ids(query: str) -> list[str]:
        """What the metadata alone matches (the view before any value is searched)."""
        return [store.rows[key].id[:8] for key in store.compute_view(query, SortKey.FOUND)]

    def searched(query: str) -> list[str]:
        """The view once the value search has checked what the metadata could not decide."""
        store.apply_view(query, SortKey.FOUND, store.compute_view(query, SortKey.FOUND))
        parsed = parse_query(query)
        for key in store.unsearched(query):
            hit = parsed.matches(store.rows[key], session_text(full[key]))
            store.found(key, query, hit=hit)
        store.refresh_view()
        return [store.rows[key].id[:8] for key in store.view]

    assert ids("2222") == ["22222222"]
    assert ids("id:2222") == ["22222222"]
    # Session 3's host is the one in its JDK-serialized cart (c95883d5424d); the
    # sample attribute's "container-2" is a value.
    assert ids("container-2") == ["22222222"]
    assert searched("container-2") == ["22222222", "33333333"]
    assert ids("host:container-2") == ["22222222"]
    assert store.unsearched("host:container-2") == []  # metadata-only: nothing to read
    assert ids("ALICE") == ["11111111"]
    assert ids("principal:alice") == ["11111111"]
    assert ids("principal:container") == []
    assert ids("cart") == ["22222222", "33333333"]
    assert ids("attr:cart") == ["22222222", "33333333"]
    assert ids("blue widget") == []  # values only once searched
    assert searched('"blue widget"') == ["22222222"]
    assert searched("blue widget") == ["22222222"]  # two terms, both in the cart
    assert searched("c95883d5424d") == ["33333333"]  # the host, from JDK-serialized bytes
    assert searched("value:c95883d5424d") == ["33333333"]
    assert searched("attr:cart widget") == ["22222222"]
    assert searched("nothing-matches") == []
    # A hit counts for its own filter only.
    assert ids("widget") == []
    assert searched("widget") == ["22222222"]
    # A session whose values no longer match leaves the view.
    key = sessions[1].key
    store.found(key, "widget", hit=False)
    assert store.rows[key].hit == ""
    assert store.view == []


def test_sort_orders() -> None:
    store = SessionStore()
    store.upsert(
        [
            session("b", "z-host", NOW - 10),
            session("a", "a-host", NOW - 20),
            session("c", "m", NOW),
        ],
        NOW,
    )

    def ids(sort: SortKey) -> list[str]:
        return [store.rows[k].id for k in store.compute_view("", sort)]

    assert ids(SortKey.LAST_ACCESS) == ["c", "b", "a"]
    assert ids(SortKey.HOST) == ["a", "c", "b"]
    assert ids(SortKey.FOUND) == ["b", "a", "c"]


def test_columns_scroll_sideways_after_the_id() -> None:
    # 80 columns (76 inside the padding and the scrollbar's gutter) keep what an
    # operator needs first; the others are reached by scrolling, the id stays.
    assert [c.key for c in layout_columns(76)] == [
        "id",
        "host",
        "last",
        "state",
        "ttl",
        "principal",
    ]
    assert [c.key for c in layout_columns(76, via=True)] == [
        "id", "host", "via", "last", "state", "ttl",
    ]  # fmt: skip
    every = [c.key for c in table_columns()]
    assert every[-4:] == ["attrs", "size", "created", "namespace"]
    limit = last_first(table_columns(), 76)
    assert [c.key for c in layout_columns(76, first=limit)][-1] == "namespace"
    assert layout_columns(76, first=limit)[0].key == "id"
    shown = {c.key for first in range(limit + 1) for c in layout_columns(76, first=first)}
    assert shown == set(every)  # every column is reachable
    assert "framework" in [c.key for c in table_columns(frameworks=True)]
    assert [c.key for c in layout_columns(30)] == ["id", "host"]


def test_cells_are_escaped_and_count_down() -> None:
    store = SessionStore()
    base = session("\x1b[2Jabcdef", "x", NOW - 65_000).raw
    evil = json.dumps({"host": "[bold]x\x07"}).encode()
    fields = {**base.fields, "sessionAttr:scopedTarget.sampleSession": evil}
    hostile = dataclasses.replace(base, fields=fields)
    store.upsert([Session.from_raw(hostile)], NOW)
    row = next(iter(store.rows.values()))
    assert cell_text(row, "host", NOW) == "[bold]x\\x07"
    assert "\x1b" not in cell_text(row, "id", NOW)
    assert cell_text(row, "last", NOW) == "1m ago"
    assert cell_text(row, "ttl", NOW) == "28:55"


def test_remove_many_drops_rows_and_view_entries_in_one_pass() -> None:
    store = SessionStore()
    store.upsert([session(f"{i:08d}", "c1", NOW - i) for i in range(6)], NOW)
    keys = [f"spring:session:sessions:{i:08d}" for i in range(6)]
    store.remove_many([keys[1], keys[4], "spring:session:sessions:unknown"])
    assert len(store) == 4
    assert store.view == [keys[0], keys[2], keys[3], keys[5]]
    store.remove_many([])  # nothing gone: the view stays as it is
    assert store.view == [keys[0], keys[2], keys[3], keys[5]]


def test_rows_found_while_a_view_is_computed_are_appended_once() -> None:
    store = SessionStore()
    store.upsert([session("aaaa", "container-1", NOW - 20), session("bbbb", "edge", NOW - 10)], NOW)
    since = store.sequence  # what SessionsPane.recompute reads before starting its worker
    # Found after the worker started, before it copied the rows: left out of its view...
    store.upsert([session("cccc", "container-2", NOW)], NOW)
    view = store.compute_view("container", SortKey.LAST_ACCESS, since=since)
    assert [store.rows[k].id for k in view] == ["aaaa"]
    # ...and found while it sorted, appended by upsert to the view being replaced.
    store.upsert([session("dddd", "container-3", NOW), session("eeee", "edge", NOW)], NOW)
    store.apply_view("container", SortKey.LAST_ACCESS, view, since=since)
    assert [store.rows[k].id for k in store.view] == ["aaaa", "cccc", "dddd"]
    # Without `since` (the UI thread's synchronous path) nothing is appended twice.
    store.refresh_view()
    assert sorted(store.rows[k].id for k in store.view) == ["aaaa", "cccc", "dddd"]


def test_a_re_added_session_counts_as_new_for_a_running_computation() -> None:
    store = SessionStore()
    store.upsert([session("aaaa", "c1", NOW - 20), session("bbbb", "c1", NOW - 10)], NOW)
    since = store.sequence
    view = store.compute_view("", SortKey.FOUND, since=since)
    key = "spring:session:sessions:aaaa"
    store.remove(key)
    store.upsert([session("aaaa", "c1", NOW)], NOW)  # expired and came back meanwhile
    store.apply_view("", SortKey.FOUND, view, since=since)
    assert store.view == [key.replace("aaaa", "bbbb"), key]


def test_created_column_uses_the_given_time_zone() -> None:
    store = SessionStore()
    store.upsert([session("aaaa", "c1", NOW)], NOW)
    row = next(iter(store.rows.values()))
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert cell_text(row, "created", NOW, dt.UTC) == format_time(row.created, dt.UTC)[5:16]
    assert cell_text(row, "created", NOW, tokyo) == format_time(row.created, tokyo)[5:16]
    assert cell_text(row, "created", NOW, tokyo) != cell_text(row, "created", NOW, dt.UTC)


def reference_order(rows: list[Row], value: Callable[[Row], Any], *, descending: bool) -> list[str]:
    """What the table's orders promise, by plain stable sorts: ``value`` in its direction,
    ties newest access first then in discovery order, rows without a value last."""
    present = [r for r in rows if value(r) is not None]
    missing = [r for r in rows if value(r) is None]
    present = sorted(present, key=lambda r: -(r.last_access or 0))
    present = sorted(present, key=value, reverse=descending)
    missing = sorted(missing, key=lambda r: -(r.last_access or 0))
    return [r.key for r in present + missing]


VALUES: dict[SortKey, Callable[[Row], Any]] = {
    SortKey.LAST_ACCESS: lambda r: r.last_access,
    SortKey.CREATED: lambda r: r.created,
    SortKey.HOST: lambda r: r.container,
    SortKey.FOUND: lambda r: r.order,
    SortKey.ID: lambda r: r.id,
    SortKey.STATE: lambda r: r.state,
    SortKey.TTL: expiry_ms,
    SortKey.PRINCIPAL: lambda r: r.principal,
    SortKey.ATTRIBUTES: lambda r: r.attributes,
    SortKey.SIZE: lambda r: r.size,
    SortKey.NAMESPACE: lambda r: r.namespace,
    SortKey.FRAMEWORK: lambda r: r.framework,
    SortKey.VIA: lambda r: r.via or ("attribute" if r.host else None),
}


def test_big_views_sort_in_chunks_to_the_order_one_sort_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # compute_view sorts chunk by chunk and merges (the GIL is never held for
    # the whole sort); ties keep their discovery order, as a stable sort does.
    monkeypatch.setattr(store_module, "SORT_CHUNK", 7)
    rows = {}
    states = ("active", "expired", "invalidated", "never-expires")
    for i in range(100):
        key = f"spring:session:sessions:{i % 13:08x}-{i:04x}-4382-aa12-41435ed09dc7"
        rows[key] = Row(
            key=key, namespace=f"ns{i % 2}", host=f"c{i % 3}" if i % 5 else None,
            principal=f"p{i % 4}" if i % 3 else None, created=i % 4 if i % 7 else None,
            last_access=i % 9 if i % 11 else None, expires_at=i % 6 if i % 2 else None,
            hash_ttl_ms=-1 if i % 4 else i, observed_at=i % 3, attributes=i % 5,
            state=states[i % 4], search="", order=i, size=i % 8,
            via=("client-name" if i % 6 == 0 else None),
        )  # fmt: skip
    store = SessionStore()
    for row in rows.values():
        store.put(row)
    rows = {key: store.rows[key] for key in rows}  # as the store holds them (its `order`)
    assert set(VALUES) == set(SortKey)
    for sort, value in VALUES.items():
        for reverse in (False, True):
            want = reference_order(
                list(rows.values()), value, descending=sort.descending != reverse
            )
            assert store.compute_view("", sort, reverse=reverse) == want, (sort, reverse)
    assert store.compute_view("c1", SortKey.HOST) == [
        key
        for key in reference_order(list(rows.values()), VALUES[SortKey.HOST], descending=False)
        if rows[key].host == "c1"
    ]


def test_every_order_and_its_reverse_on_real_sessions() -> None:
    # Newest first by access and creation; soonest to expire first; A to Z; and
    # choosing the same order again (reverse) turns it round, missing values last.
    store = SessionStore()
    store.upsert(
        [
            session("b", "z-host", NOW - 10, principal=b'"bob"', extra=b"x" * 500),
            session("a", "a-host", NOW - 20),
            session("c", "m", NOW, principal=b'"alice"'),
        ],
        NOW,
    )

    def ids(sort: SortKey, reverse: bool = False) -> list[str]:
        return [store.rows[k].id for k in store.compute_view("", sort, reverse=reverse)]

    assert ids(SortKey.LAST_ACCESS) == ["c", "b", "a"]
    assert ids(SortKey.LAST_ACCESS, True) == ["a", "b", "c"]
    assert ids(SortKey.TTL) == ["a", "b", "c"]  # expires 30 min after its last access
    assert ids(SortKey.TTL, True) == ["c", "b", "a"]
    assert ids(SortKey.SIZE) == ["b", "c", "a"]
    assert ids(SortKey.PRINCIPAL) == ["c", "b", "a"]  # alice, bob, then none
    assert ids(SortKey.PRINCIPAL, True) == ["b", "c", "a"]  # none stays last
    assert ids(SortKey.ID) == ["a", "b", "c"]
    assert ids(SortKey.ID, True) == ["c", "b", "a"]
    assert ids(SortKey.HOST, True) == ["b", "c", "a"]


# ---------------------------------------------------------------- the columnar store


def made_row(i: int, **changes: Any) -> Row:
    """A varied row: hosts, principals, namespaces and frameworks shared by some, times missing."""
    namespace = f"ns{i % 3}"
    fields: dict[str, Any] = dict(
        key=f"{namespace}:sessions:{i % 17:04x}-{i:05d}-Ab", namespace=namespace,
        host=f"Host-{i % 4}" if i % 5 else None, principal=f"User{i % 6}" if i % 3 else None,
        created=NOW - i * 7 if i % 7 else None, last_access=NOW - (i % 9) if i % 11 else None,
        expires_at=NOW + i % 6 if i % 2 else None, hash_ttl_ms=-1 if i % 4 else i,
        observed_at=NOW - i % 3, attributes=i % 5,
        state=("active", "expired", "invalidated", "never-expires")[i % 4],
        search=search_text(["cart", "SPRING_SECURITY_CONTEXT"] if i % 2 else ["theme"]),
        order=0, size=i % 8, served_by=f"task-{i % 3}" if i % 6 == 0 else None,
        via="client-name" if i % 6 == 0 else None,
    )  # fmt: skip
    if i % 10 == 9:
        fields.update(framework="express", session_id=f"Sid{i}", namespace="express")
    fields.update(changes)
    return Row(**fields)


def test_rows_read_back_as_they_were_put_and_freed_slots_are_reused() -> None:
    store = SessionStore()
    rows = [made_row(i) for i in range(40)]
    for row in rows:
        store.put(row)
    for row in rows:
        assert store.rows[row.key] == dataclasses.replace(row, order=store.rows[row.key].order)
    slots = {row.key: store._index.get(row.key) for row in rows}
    gone = [rows[i].key for i in (3, 4, 20)]
    store.remove_many(gone)
    assert len(store) == 37
    assert all(key not in store.rows and store.row(key) is None for key in gone)
    assert store.view == [row.key for row in rows if row.key not in gone]
    # New sessions take the freed slots; the view and the discovery order know them as new.
    fresh = [made_row(100 + i) for i in range(3)]
    for row in fresh:
        store.put(row)
    assert {store._index.get(row.key) for row in fresh} == {slots[key] for key in gone}
    assert store.view[-3:] == [row.key for row in fresh]
    assert store.compute_view("", SortKey.FOUND)[-3:] == [row.key for row in fresh]
    assert list(store.rows)[-3:] == [row.key for row in fresh]
    # A key that comes back is a new row (its discovery order too), nothing left of the old one.
    store.remove(rows[0].key)
    store.put(dataclasses.replace(rows[0], principal="carol", hit="x"))
    back = store.rows[rows[0].key]
    assert (back.principal, back.hit, back.order) == ("carol", "x", store.sequence)
    assert store.compute_view("", SortKey.FOUND)[-1] == rows[0].key
    # A text no row holds any more leaves the store's table of strings.
    store.remove_many([row.key for row in [*rows, *fresh]])
    assert len(store) == 0
    assert store.view == []
    assert set(store._strings.codes) == set()


def test_hostile_extremes_are_clamped_not_raised() -> None:
    store = SessionStore()
    store.put(
        made_row(1, created=1 << 70, last_access=-(1 << 70), size=1 << 64, attributes=1 << 40)
    )
    row = store.rows[made_row(1).key]
    assert (row.created, row.last_access) == ((1 << 63) - 1, -(1 << 63) + 1)
    assert row.attributes == (1 << 31) - 1
    assert store.compute_view("", SortKey.CREATED) == [row.key]
    odd = made_row(2, created=float("nan"), last_access=float("inf"), size=2.5, hash_ttl_ms=7.0)
    store.put(odd)
    row = store.rows[odd.key]
    assert (row.created, row.last_access, row.size, row.hash_ttl_ms) == (None, None, 2, 7)


QUERIES = [
    "", "host-1", "HOST:host-2", "host:task", "user3", "principal:user", "principal:host",
    "id:00", "id:sid1", "attr:cart", "cart", "ns:ns1", "ns:express", "ab", "sessions",
    "value:anything", "host:host-1 cart", "nothing", "ns1 user2", "task-0",
]  # fmt: skip


def test_the_columnar_filter_agrees_with_the_metadata_rules() -> None:
    # The store answers each term on its columns (inspector.tui.store._term_check);
    # inspector.core.search.Query.metadata_verdict on a Row is the reference.
    store = SessionStore()
    for i in range(120):
        store.put(made_row(i, hit="cart" if i % 13 == 0 else ""))
    store.remove_many([made_row(i).key for i in range(0, 120, 9)])
    rows = [store.rows[key] for key in store.rows]
    for query in QUERIES:
        parsed = parse_query(query)
        shown = [
            row.key
            for row in rows
            if (verdict := parsed.metadata_verdict(row)) is True
            or (verdict is None and row.hit == query)
        ]
        assert store.compute_view(query, SortKey.FOUND) == shown, query
        unsearched = [
            row.key for row in rows if row.hit != query and parsed.metadata_verdict(row) is None
        ]
        assert store.unsearched(query) == (unsearched if parsed.needs_values else []), query


def test_orders_hold_when_slots_are_reused_out_of_discovery_order() -> None:
    # Ties go newest access first, then by discovery order, which a reused slot's
    # number no longer follows.
    store = SessionStore()
    rows = [made_row(i, last_access=NOW - i % 3) for i in range(60)]
    for row in rows:
        store.put(row)
    store.remove_many([row.key for row in rows[:30:2]])
    for row in reversed(rows[:30:2]):
        store.put(row)  # back in the freed slots, in the other order
    held = [store.rows[key] for key in store.rows]
    for sort, value in VALUES.items():
        for reverse in (False, True):
            want = reference_order(held, value, descending=sort.descending != reverse)
            assert store.compute_view("", sort, reverse=reverse) == want, (sort, reverse)


def test_a_view_after_since_skips_slots_freed_and_reused_meanwhile() -> None:
    store = SessionStore()
    rows = [made_row(i, host="c1", served_by=None) for i in range(8)]
    for row in rows:
        store.put(row)
    since = store.sequence
    view = store.compute_view("host:c1", SortKey.FOUND, since=since)
    # Meanwhile: two sessions expire, one new (matching) session takes a freed slot.
    store.remove_many([rows[2].key, rows[5].key])
    newcomer = made_row(50, host="c1", served_by=None)
    store.put(newcomer)
    store.put(made_row(51, host="elsewhere", served_by=None))
    store.apply_view("host:c1", SortKey.FOUND, view, since=since)
    assert store.view == [r.key for r in rows if r not in (rows[2], rows[5])] + [newcomer.key]
    assert len(set(store.view)) == len(store.view)


def test_the_key_index_through_doublings_and_removals() -> None:
    # The index moves its buckets to a doubled table a few at a time: lookups,
    # insertions and removals in the middle of a move.
    store = SessionStore()
    want: dict[str, int] = {}
    for i in range(5000):
        row = made_row(i, key=f"k:{i}")
        store.put(row)
        want[row.key] = i
        if i % 3 == 0:
            gone = f"k:{i // 2}"
            store.remove(gone)
            want.pop(gone, None)
        if i % 97 == 0:
            assert all(key in store.rows for key in want)
            assert f"k:{i // 2}" not in store.rows or f"k:{i // 2}" in want
    assert len(store) == len(want) == len(store._index)
    assert set(store.rows) == set(want)
    assert store.view == [key for key in want]
    assert store.find("k:4999", 0) == len(want) - 1
    assert store.view.index("k:4999") == len(want) - 1
    assert "k:1" not in store.view


def test_a_switch_of_attribution_forgets_every_container_named_by_requests() -> None:
    store = SessionStore()
    for i in range(12):
        store.put(made_row(i))  # every sixth named by a request (served_by, via)
    named = [key for key in store.rows if store.rows[key].served_by is not None]
    assert len(named) == 2
    store.remove(named[0])
    store.put(made_row(99, served_by=None, via=None))  # in the freed slot, named by nothing
    store.forget_attribution()
    rows = [store.rows[key] for key in store.rows]
    assert all((r.served_by, r.via, r.disagrees) == (None, None, False) for r in rows)
    assert [r.container for r in rows] == [r.host for r in rows]
    assert not any(text.startswith("task-") for text in store._strings.codes)


def test_the_discovery_order_is_packed_a_step_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Removed rows leave holes in the discovery order; a packing sweep moves
    # the live entries down a few per call, and the order stays right between
    # two steps: for the rows, the views, and a worker's copy taken mid-sweep.
    monkeypatch.setattr(store_module, "PACK_HOLES", 10)
    monkeypatch.setattr(store_module, "PACK_STEP", 7)
    store = SessionStore()
    want: list[str] = []
    for i in range(120):
        row = made_row(i, key=f"k:{i:03d}")
        store.put(row)
        want.append(row.key)
    swept = False
    for burst in range(12):
        gone = want[burst::5][:6]
        store.remove_many(gone)
        want = [key for key in want if key not in gone]
        row = made_row(500 + burst, key=f"n:{burst:02d}")
        store.put(row)
        want.append(row.key)
        swept = swept or store._packing is not None
        # Mid-sweep, a worker's copy may hold the entry being moved twice (written
        # where it goes, not yet cleared where it was): it counts once.
        if store._packing is not None:
            read, write = store._packing
            by_order = store._by_order
            ahead = next((at for at in range(read, len(by_order)) if by_order[at] >= 0), None)
            if ahead is not None and by_order[write] < 0:
                by_order[write] = by_order[ahead]
                assert list(store.rows) == want, burst
                by_order[write] = -1
        assert list(store.rows) == want, burst
        assert store.compute_view("", SortKey.FOUND) == want, burst
        assert store.view == want, burst
        for at, slot in enumerate(store._by_order):
            assert slot < 0 or store._position[slot] == at
    assert swept
    while store._packing is not None:
        store.remove_many([want.pop(0)])
    # Only the holes made behind the sweep are left.
    assert len(store._by_order) - store._by_order.count(-1) == len(store) == len(want)
    assert store._holes == store._by_order.count(-1) <= len(store._by_order) // 2
    assert list(store.rows) == want == store.compute_view("", SortKey.FOUND)


@pytest.mark.parametrize("few", [16, 0])
def test_hits_missing_from_a_view_are_appended_once(
    monkeypatch: pytest.MonkeyPatch, few: int
) -> None:
    # What SessionsPane does when the same value filter is sorted again: hits
    # found while the view was computed may be missing from it.
    monkeypatch.setattr(store_module, "FEW_GONE", few)
    store = SessionStore()
    rows = [made_row(i, key=f"k:{i}") for i in range(10)]
    for row in rows:
        store.put(row)
    store.apply_view("k:1", SortKey.FOUND, store.compute_view("k:1", SortKey.FOUND))
    assert store.view == ["k:1"]
    store.extend_view(["k:3", "k:1", "gone", "k:3", "k:5"])
    assert store.view == ["k:1", "k:3", "k:5"]


def _drain(store: SessionStore) -> None:
    while store._swept is not None or store._unfreed:
        store.sweep()


def _check_sweep_invariants(store: SessionStore, want: list[str]) -> None:
    pending = store._pending | store._later
    free = set(store._free)
    assert not free & set(store._unfreed)
    assert not set(store._unfreed) & (set(store._slots) | set(store._swept or []) | pending)
    # No slot is reused (or free to be) while a view holds it.
    assert not free & pending
    assert not free & set(store._slots)
    assert not free & set(store._swept or [])
    assert set(store._swept or []) <= set(store._slots)
    # What the view shows, less the removed rows it still holds, is the model's view.
    alive = [store._keys[slot] for slot in store._slots if store._alive[slot]]
    assert alive == want
    for at, slot in enumerate(store._slots):
        if not store._alive[slot]:
            assert slot in pending
            row = store.row_at(at)  # a removed row reads as gone, not as another session
            assert row is not None
            assert row.state == "expired"
            assert store.find(row.key) != at


@pytest.mark.parametrize("query", ["", "value:x"])
@pytest.mark.parametrize("seed", range(25))
def test_a_burst_of_removals_leaves_the_view_a_step_at_a_time(
    monkeypatch: pytest.MonkeyPatch, seed: int, query: str
) -> None:
    # The view after the sweep is what removing the keys at once gave (a model
    # list), with rows added, re-added, found, unfound and views installed
    # between its steps; removed slots are reused only once no view holds them.
    import random

    # The value filter's view holds the few hits: a step of 2 spreads it over steps too.
    monkeypatch.setattr(store_module, "SWEEP_STEP", 2 if query else 7)
    monkeypatch.setattr(store_module, "FREE_STEP", 1)
    rng = random.Random(seed)
    store = SessionStore()
    order: list[str] = []  # live keys, in discovery order
    hits: set[str] = set()
    want: list[str] = []  # the view, as removing at once kept it
    made = 0

    def put(i: int) -> None:
        key = made_row(i).key
        store.put(made_row(i))
        if key in order:
            order.remove(key)
            hits.discard(key)
            if key in want:
                want.remove(key)
        order.append(key)
        if not query:
            want.append(key)

    def installed() -> list[str]:
        return [k for k in order if k in hits] if query else list(order)

    for _ in range(60):
        put(made)
        made += 1
    store.apply_view(query, SortKey.FOUND, store.compute_view(query, SortKey.FOUND))
    want[:] = installed()
    for _ in range(250):
        op = rng.random()
        if op < 0.25:
            gone = rng.sample(order, min(len(order), rng.randint(1, 40)))
            if rng.random() < 0.2:
                gone.append("ns0:sessions:unknown")
            store.remove_many(gone)
            for key in gone:
                if key in order:
                    order.remove(key)
                    hits.discard(key)
                    if key in want:
                        want.remove(key)
        elif op < 0.45:
            # A new session, or one removed before (re-created), or one re-put.
            put(made if rng.random() < 0.6 else rng.randrange(made + 1))
            made += 1
        elif op < 0.6:
            store.sweep()
        elif op < 0.68:
            # A worker's view, with changes made while it was computed (bursts
            # of removals swept and freed meanwhile); sometimes dropped (cancelled).
            since = store.sequence
            view = store.compute_view(query, SortKey.FOUND, since=since)
            held = set(view.slots)
            for _ in range(rng.randint(0, 6)):
                if order and rng.random() < 0.5:
                    gone = rng.sample(order, min(len(order), rng.randint(1, 8)))
                    store.remove_many(gone)
                    for key in gone:
                        order.remove(key)
                        hits.discard(key)
                        if key in want:
                            want.remove(key)
                else:
                    put(made)
                    made += 1
                for _ in range(rng.randint(1, 5)):
                    store.sweep()
                # No slot the worker's view holds is freed (it could be reused).
                assert not held & set(store._free)
            if rng.random() < 0.8:
                store.apply_view(query, SortKey.FOUND, view, since=since)
                want[:] = installed()
            del view  # installed or dropped: either unpins
            assert not store._pins
        elif op < 0.72:
            store.refresh_view()
            want[:] = installed()
        elif query and order:
            key = rng.choice(sorted(hits) if hits and rng.random() < 0.4 else order)
            if key in hits:
                store.found(key, query, hit=False)
                hits.discard(key)
                want.remove(key)
            else:
                store.found(key, query, hit=True)
                hits.add(key)
                want.append(key)
        _check_sweep_invariants(store, want)
        assert len(store) == len(order)
        assert list(store.rows) == order
        if rng.random() < 0.1:
            _drain(store)
            assert list(store.view) == want
            assert not store._pending
            assert not store._later
    _drain(store)
    assert list(store.view) == want
    assert store.compute_view(query, SortKey.FOUND) == installed()
    # Every slot not holding a live row is free once the sweep is over.
    assert len(store._free) + len(order) == len(store._keys)


def test_removed_rows_stay_in_a_big_view_as_expired_until_swept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_module, "SWEEP_STEP", 10)
    store = SessionStore()
    rows = [made_row(i) for i in range(35)]
    for row in rows:
        store.put(row)
    gone = [row.key for row in rows[3:30:3]]
    store.remove_many(gone)
    # Out of the index at once; a step of the view done.
    assert len(store) == 35 - len(gone)
    assert all(store.row(key) is None for key in gone)
    assert store.compute_view("", SortKey.FOUND) == [r.key for r in rows if r.key not in gone]
    assert store.unsearched("value:x") == [r.key for r in rows if r.key not in gone]
    assert len(store.view) == 35
    shown = store.row_at(3)
    assert shown is not None
    assert shown.state == "expired"
    # A re-created key gets a new slot: the pending ones are not free.
    store.put(made_row(3))
    assert store.row(rows[3].key) is not None
    steps = 0
    while not store.sweep():
        steps += 1
    assert steps == 2
    assert store.view == [r.key for r in rows if r.key not in gone] + [rows[3].key]
    assert store._swept is None


def test_a_row_the_value_search_unfinds_leaves_the_view_being_swept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_module, "SWEEP_STEP", 3)
    store = SessionStore()
    rows = [made_row(i) for i in range(20)]
    for row in rows:
        store.put(row)
    query = "value:x"
    store.apply_view(query, SortKey.FOUND, store.compute_view(query, SortKey.FOUND))
    hits = [row.key for row in rows[:10]]
    for key in hits:
        assert store.found(key, query, hit=True)
    store.remove_many(hits[6:9])  # a step read the first 3 of the view
    assert store._swept is not None
    assert store._sweep_read == 3
    assert store.found(hits[1], query, hit=False)  # behind the sweep
    assert store.found(hits[4], query, hit=False)  # ahead of it
    _drain(store)
    assert store.view == [hits[0], hits[2], hits[3], hits[5], hits[9]]


def test_a_worker_view_holding_swept_slots_not_yet_freed_is_swept_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_module, "FREE_STEP", 1)
    store = SessionStore()
    rows = [made_row(i) for i in range(30)]
    for row in rows:
        store.put(row)
    since = store.sequence
    view = store.compute_view("", SortKey.FOUND, since=since)  # a worker's
    gone = [row.key for row in rows[5:25:4]]
    store.remove_many(gone)  # swept at once (a small view), none freed: the worker's pin
    assert len(store._unfreed) == len(gone)
    store.sweep()
    assert len(store._unfreed) == len(gone)
    store.apply_view("", SortKey.FOUND, view, since=since)
    want = [row.key for row in rows if row.key not in gone]
    _check_sweep_invariants(store, want)
    for i in range(30, 40):  # new rows: none may take a slot the view holds
        store.put(made_row(i))
        want.append(made_row(i).key)
        _check_sweep_invariants(store, want)
    _drain(store)
    assert store.view == want


def _free_all(store: SessionStore) -> None:
    """Sweep to the end, and free every slot the sweep let go (none pinned)."""
    assert not store._pins
    _drain(store)


def test_a_worker_view_computed_before_a_burst_shows_no_freed_slot_once_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Computed before a burst of expiries, installed after several sweep steps
    # (each freeing slots): nothing it holds was freed, no pass over it is made,
    # the removed rows it holds are swept out, and new rows reuse their slots.
    monkeypatch.setattr(store_module, "SWEEP_STEP", 8)
    monkeypatch.setattr(store_module, "FREE_STEP", 3)
    store = SessionStore()
    rows = [made_row(i) for i in range(100)]
    for row in rows:
        store.put(row)
    store.remove_many([rows[1].key, rows[2].key])
    _free_all(store)  # two free slots, retired before the worker starts
    since = store.sequence
    view = store.compute_view("", SortKey.FOUND, since=since)
    held = set(view.slots)
    want = [rows[0].key] + [row.key for row in rows[3:]]
    gone: list[str] = []
    made = 100
    for burst in range(5):
        keys = [row.key for row in rows[3 + burst * 10 : 8 + burst * 10]]
        store.remove_many(keys)
        gone += keys
        store.put(made_row(made))  # the two slots freed before: reused
        want.append(made_row(made).key)
        made += 1
        for _ in range(12):
            store.sweep()
        assert not held & set(store._free)
    want = [key for key in want if key not in gone]
    assert store._unfreed  # swept out of the pane's view, held for the worker's
    store.apply_view("", SortKey.FOUND, view, since=since)
    assert not store._pins
    shown = store._slots
    assert not set(shown) & set(store._free)
    assert all(store._alive[slot] or slot in store._pending for slot in shown)
    assert [store._keys[slot] for slot in shown if store._alive[slot]] == want
    _check_sweep_invariants(store, want)
    _free_all(store)
    assert store.view == want
    assert len(store._free) + len(want) == len(store._keys)
    # New rows take the freed slots: each shown once, in its place.
    freed = set(store._free)
    for i in range(200, 230):
        store.put(made_row(i))
        want.append(made_row(i).key)
    assert freed & set(store._slots)
    assert store.view == want
    assert store.compute_view("", SortKey.FOUND) == want


def test_a_view_never_installed_does_not_stop_freeing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "FREE_STEP", 2)
    store = SessionStore()
    rows = [made_row(i) for i in range(20)]
    for row in rows:
        store.put(row)
    view = store.compute_view("", SortKey.FOUND)  # a worker's, then cancelled
    store.remove_many([row.key for row in rows[:6]])
    for _ in range(5):
        store.sweep()
    assert len(store._unfreed) == 6  # pinned
    del view  # the cancelled worker drops it
    assert not store._pins
    store.sweep()
    assert len(store._unfreed) == 4
    _drain(store)
    # A computation that fails unpins too.
    monkeypatch.setattr(store, "_sorted", lambda *_: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        store.compute_view("", SortKey.HOST)
    assert not store._pins
    # Slots retired before a worker started are freed while it computes.
    monkeypatch.undo()
    monkeypatch.setattr(store_module, "FREE_STEP", 2)
    store.remove_many([row.key for row in rows[6:10]])
    _drain(store)
    store.remove_many([row.key for row in rows[10:14]])
    assert len(store._unfreed) == 2  # the view is one step: swept at once, 2 freed per step
    early = store.compute_view("", SortKey.FOUND)
    store.sweep()
    assert not store._unfreed
    store.remove_many([rows[14].key])
    for _ in range(5):
        store.sweep()
    assert len(store._unfreed) == 1  # retired after the pin: held
    store.apply_view("", SortKey.FOUND, early)
    _drain(store)
    assert store.view == [row.key for row in rows[15:]]


def test_a_view_installed_again_unpinned_leaves_out_slots_freed_and_reused() -> None:
    # The rare path: a view whose pin is gone (installed before) is checked in full.
    store = SessionStore()
    rows = [made_row(i) for i in range(12)]
    for row in rows:
        store.put(row)
    since = store.sequence
    view = store.compute_view("", SortKey.FOUND, since=since)
    store.apply_view("", SortKey.FOUND, view, since=since)
    store.remove_many([row.key for row in rows[:4]])
    _drain(store)
    for i in range(12, 15):
        store.put(made_row(i))  # in freed slots the view still names
    assert set(view.slots) & {store._index.get(made_row(i).key) for i in range(12, 15)}
    store.apply_view("", SortKey.FOUND, view, since=since)
    want = [row.key for row in rows[4:]] + [made_row(i).key for i in range(12, 15)]
    assert store.view == want
    _check_sweep_invariants(store, want)


def test_another_frameworks_ttl_is_the_sessions_life_as_ls_counts_it() -> None:
    from inspector.core.frameworks.base import FrameworkSession, TtlKind, TtlRule
    from inspector.core.listing import list_row

    rule = TtlRule(TtlKind.KEY, "the cookie's expiry")
    # express: the cookie expired 10 s ago while the key lingers a day; PHP: the key's TTL.
    express = FrameworkSession(
        "express", "sess:abc", "abc", {}, {}, None, None, NOW - 10_000, 86_400_000, rule
    )
    php = FrameworkSession(
        "php", "PHPREDIS_SESSION:def", "def", {}, {}, None, None, NOW + 1_440_000, 1_440_000, rule
    )
    store = SessionStore()
    store.upsert_others([express, php], NOW)
    for framework_session in (express, php):
        row = store.rows[framework_session.key]
        assert row.ttl_left_ms(NOW) == list_row(framework_session, NOW).remaining_ms
    assert store.rows["sess:abc"].state == "expired"
    assert store.rows["sess:abc"].ttl_left_ms(NOW) == -10_000
