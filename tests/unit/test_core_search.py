"""The sessions filter's query language and the decoded text it searches (real JVM bytes)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from inspector.core.decoders import decode_value
from inspector.core.search import (
    Field,
    Term,
    decoded_text,
    names_text,
    parse_query,
    session_text,
)
from tests.factories import spring_session
from tests.spring_layouts import jvm_fixture

CONTEXT = "SPRING_SECURITY_CONTEXT"


@dataclass
class Listed:
    """A list row as the filter sees it."""

    key: str
    id: str
    namespace: str
    host: str | None
    served_by: str | None
    principal: str | None
    search: str


def listed(
    sid: str = "abc-123",
    host: str | None = "container-1",
    principal: str | None = "Alice",
    names: tuple[str, ...] = ("cart", CONTEXT),
    served_by: str | None = None,
) -> Listed:
    return Listed(
        key=f"spring:session:sessions:{sid}",
        id=sid,
        namespace="spring:session",
        host=host,
        served_by=served_by,
        principal=principal,
        search=names_text(names),
    )


def test_terms_and_fields() -> None:
    query = parse_query('host:Container-1 "Blue Widget" http://x 203.0.113.7:8080 id:ABC attr:')
    assert query.terms == (
        Term(Field.HOST, "container-1"),
        Term(Field.ANY, "blue widget"),
        Term(Field.ANY, "http://x"),  # no field named http: plain text
        Term(Field.ANY, "203.0.113.7:8080"),
        Term(Field.ID, "abc"),
    )  # "attr:" alone, still being typed, narrows nothing
    assert parse_query('"unbalanced').terms == (Term(Field.ANY, '"unbalanced'),)
    assert not parse_query("   ")
    assert not parse_query("host:").needs_values
    assert parse_query("principal:alice attr:cart").needs_values is False
    assert parse_query("principal:alice dark").needs_values is True
    assert parse_query("value:dark").needs_values is True


@given(st.text(max_size=40))
def test_any_text_parses(text: str) -> None:
    parse_query.cache_clear()
    query = parse_query(text)
    assert all(term.text for term in query.terms)


def test_metadata_decides_what_it_can() -> None:
    row = listed()
    assert parse_query("host:container-1").metadata_verdict(row) is True
    assert parse_query("host:container-2").metadata_verdict(row) is False
    assert parse_query("principal:alice").metadata_verdict(row) is True
    assert parse_query("principal:container").metadata_verdict(row) is False
    assert parse_query("attr:cart").metadata_verdict(row) is True
    assert parse_query("attr:security_context").metadata_verdict(row) is True
    assert parse_query("attr:alice").metadata_verdict(row) is False
    assert parse_query("id:abc").metadata_verdict(row) is True
    assert parse_query("id:spring").metadata_verdict(row) is False  # the id, not the key
    assert parse_query("ns:spring").metadata_verdict(row) is True
    # Plain text: true when the metadata has it, else only a value can tell.
    assert parse_query("alice").metadata_verdict(row) is True
    assert parse_query("role_admin").metadata_verdict(row) is None
    assert parse_query("value:alice").metadata_verdict(row) is None
    # Every term must hold: one false term is enough, whatever the values say.
    assert parse_query("host:container-2 role_admin").metadata_verdict(row) is False
    assert parse_query("host:container-1 role_admin").metadata_verdict(row) is None
    # host: matches the container that served the session too.
    moved = listed(host=None, served_by="Container-3")
    assert parse_query("host:container-3").metadata_verdict(moved) is True
    assert parse_query("principal:x").metadata_verdict(listed(principal=None)) is False


def test_values_inside_java_serialization_are_searched_in_full() -> None:
    # The strings the issue names sit past the first 160 bytes of real JVM bytes.
    context = jvm_fixture("security_context")
    profile = jvm_fixture("user_profile")
    assert context.find(b"ROLE_ADMIN") > 160
    session = spring_session(
        "f" * 8, attributes={CONTEXT: context, "profile": profile, "count": b"42"}
    )
    text = session_text(session)
    for needle in ("role_admin", "203.0.113.7", "dark", "alice", "simplegrantedauthority", "42"):
        assert needle in text, needle
    assert "@class" not in text  # typed JSON's own keys are not the application's text
    row = listed(principal=None)
    for typed in ("ROLE_ADMIN", "203.0.113.7", "dark", "value:alice"):
        assert parse_query(typed).matches(row, text), typed
    assert not parse_query("ROLE_ROOT").matches(row, text)
    assert not parse_query("host:container-2 dark").matches(row, text)


def test_undecodable_values_are_searched_in_their_bytes() -> None:
    data = b"\xac\xed\x00\x05 truncated but says SECRET-TOKEN here"
    decoded = decode_value(data)
    assert "secret-token" in decoded_text(decoded, data)
    assert decoded_text(decode_value(b"")) == ""
    assert decoded_text(decode_value(b'{"a": "x"}')) == "a\nx"
