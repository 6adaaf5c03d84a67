"""`ls`'s columns, sort and filters (inspector.core.listing), without a server (issue 16.12)."""

from __future__ import annotations

import datetime as dt

from inspector.core.listing import (
    SORT_FIELDS,
    ListFilter,
    ListRow,
    columns_for,
    countdown,
    header,
    line,
    list_time,
    sort_rows,
)
from inspector.subcommands.sessions import SORT_FIELD_NAMES


def row(session_id: str, **changes: object) -> ListRow:
    values: dict[str, object] = {
        "session_id": session_id,
        "key": f"spring:session:sessions:{session_id}",
        "framework": "spring spring:session",
        "state": "active",
        "host": "container-1",
        "principal": None,
        "last_access_ms": 1_764_800_000_000,
        "created_ms": 1_764_790_000_000,
        "remaining_ms": 1_799_000,
        "key_ttl_ms": 2_099_000,
        "attributes": 3,
        "size": 100,
    }
    values.update(changes)
    return ListRow(**values)  # type: ignore[arg-type]


def test_the_sort_names_of_the_parser_are_the_listings() -> None:
    assert sorted(SORT_FIELD_NAMES) == sorted(SORT_FIELDS)


def test_columns_fit_the_terminal_and_pipes_get_them_all() -> None:
    sample = row("abcd1234-1111-4111-8111-111111111111", principal="alice")
    piped = columns_for(None)
    assert header(piped).split() == [
        "ID", "STATE", "HOST", "PRINCIPAL", "LAST", "ACCESS", "TTL", "KEY", "TTL", "ATTRS",
        "FRAMEWORK",
    ]  # fmt: skip
    for width in (60, 80, 100, 120, 140, 200):
        columns = columns_for(width)
        assert len(header(columns)) <= width
        assert len(line(sample, columns, dt.UTC)) <= width
        assert {"ID", "STATE", "HOST", "TTL"} <= set(header(columns).split())
    assert line(sample, columns_for(80), dt.UTC).startswith("abcd1234  active")
    assert "abcd1234-1111-4111-8111-111111111111" in line(sample, columns_for(140), dt.UTC)


def test_ttl_is_the_sessions_life_and_times_carry_the_offset() -> None:
    assert countdown(1_799_000) == "29:59"
    assert countdown(-5) == "0:00"
    assert countdown(None) == "-"
    assert countdown(7_200_000) == "2h00"
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert list_time(0, tokyo) == "1970-01-01 09:00:00 +0900"
    assert list_time(None) == "-"
    text = line(row("x", key_ttl_ms=-1), columns_for(None), dt.UTC)
    assert "  29:59     none      3  spring spring:session" in text


def test_sort_keeps_missing_values_last_both_ways() -> None:
    rows = [row("a", principal="bob"), row("b"), row("c", principal="alice")]
    assert [r.session_id for r in sort_rows(rows, "principal")] == ["c", "a", "b"]
    assert [r.session_id for r in sort_rows(rows, "principal", reverse=True)] == ["a", "c", "b"]
    assert [r.session_id for r in sort_rows(rows, None, reverse=True)] == ["c", "b", "a"]


def test_filters_are_globs_and_all_must_match() -> None:
    keep = ListFilter(hosts=("container-*",), states=("active",), match="ab*")
    assert keep.accepts(row("abc"))
    assert not keep.accepts(row("xyz"))
    assert not keep.accepts(row("abc", state="expired"))
    assert not keep.accepts(row("abc", host=None))
    assert ListFilter(match="spring:*").accepts(row("zzz"))  # the key counts too
    assert not ListFilter(principals=("alice",)).accepts(row("abc"))


def test_a_terminal_fits_the_id_column_to_the_ids_listed() -> None:
    rails = row("2::" + "ab" * 32, framework="redis-rack")
    php = row("6admi2kpmf5a8gu948hpi796tb", framework="php (php)")
    wide = columns_for(200, len(rails.session_id))
    lines = [line(r, wide, dt.UTC) for r in (rails, php)]
    # Every column after the id starts where the header's title does.
    state_at = header(wide).index("STATE")
    assert [text.index("active") for text in lines] == [state_at, state_at]
    assert rails.session_id in lines[0]
    narrow = columns_for(200, len(php.session_id))
    assert header(narrow).index("STATE") == len(php.session_id) + 2
    # Too wide for the terminal: the same leaving out and shortening as ever.
    assert line(rails, columns_for(80, len(rails.session_id)), dt.UTC).startswith(
        "2::ababa  active"
    )
    # A pipe keeps the fixed width whatever the ids.
    assert columns_for(None, 67) == columns_for(None)
