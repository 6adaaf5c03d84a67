"""Pure session logic: Spring key rules, cookies, JSON-family decoders, the model, rendering."""

from __future__ import annotations

import base64
import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core.decoders import decode_value, jdk_number
from inspector.core.render import render_decoded, render_session, render_value, safe_text
from inspector.core.session import HostField, RawSession, Session, ceil_seconds, find_host
from inspector.core.spring import (
    KeyKind,
    classify_key,
    expiration_bucket,
    session_id_from_input,
)
from inspector.core.values import JsonValue, Limits, ValueFormat
from inspector.sample_app.store import sample_session_json
from tests.factories import raw_session as factory_raw_session
from tests.spring_layouts import jdk_int, jdk_long, jdk_string

SID = "e1237df7-5646-4382-aa12-41435ed09dc7"
INDEX = "org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME"


# ---------------------------------------------------------------- key names


@pytest.mark.parametrize(
    ("name", "kind", "namespace", "extra"),
    [
        (f"spring:session:sessions:{SID}", KeyKind.SESSION, "spring:session", SID),
        (f"spring:session:sessions:expires:{SID}", KeyKind.SHADOW, "spring:session", SID),
        ("spring:session:expirations:1552130880000", KeyKind.MINUTE_SET, "spring:session", 1552130880000),
        ("spring:session:sessions:expirations", KeyKind.EXPIRATIONS_ZSET, "spring:session", None),
        (f"spring:session:index:{INDEX}:alice", KeyKind.PRINCIPAL_INDEX, "spring:session", "alice"),
        (f"spring:session:index:{INDEX}:user:with:colons", KeyKind.PRINCIPAL_INDEX, "spring:session", "user:with:colons"),
        ("spring:session:sessions:index:PRINCIPAL_NAME_INDEX_NAME:bob", KeyKind.PRINCIPAL_INDEX, "spring:session", "bob"),
        (f"spring:session:sessions:{SID}:idx", KeyKind.IDX_SET, "spring:session", SID),
        (f"spring:session:legacy:sessions:{SID}", KeyKind.SESSION, "spring:session:legacy", SID),
        (f"myapp:sessions:{SID}", KeyKind.SESSION, "myapp", SID),
        ("app:sessions:v2:sessions:custom-id-0001", KeyKind.SESSION, "app:sessions:v2", "custom-id-0001"),
    ],
)  # fmt: skip
def test_classify_key(name: str, kind: KeyKind, namespace: str, extra: object) -> None:
    key = classify_key(name)
    assert key is not None
    assert (key.kind, key.namespace) == (kind, namespace)
    assert extra in (key.session_id, key.principal, key.minute)


@pytest.mark.parametrize(
    "name",
    ["sess:abc", "user:42", "spring:session:sessions:", "sessions:" + SID, "x:sessions:ab",
     "spring:session:expirations:notanumber", f"spring:session:sessions:{SID}:other"],
)  # fmt: skip
def test_not_spring_keys(name: str) -> None:
    assert classify_key(name) is None


def test_expiration_bucket_matches_the_article() -> None:
    # session-formats §1.5: 1552129074379 + 1800 s -> spring:session:expirations:1552130880000
    assert expiration_bucket(1552129074379, 1800) == 1552130880000


@pytest.mark.parametrize(
    "text",
    [
        SID,
        base64.b64encode(SID.encode()).decode(),
        base64.b64encode(SID.encode()).decode().rstrip("="),
        f"SESSION={base64.b64encode(SID.encode()).decode()}; Path=/",
        f"spring:session:sessions:{SID}",
        f"  {SID}\n",
    ],
)
def test_session_id_from_input(text: str) -> None:
    assert session_id_from_input(text) == SID


# ---------------------------------------------------------------- decoders


def test_jdk_number_fast_path() -> None:
    assert jdk_number(jdk_long(1552128921707)) == 1552128921707
    assert jdk_number(jdk_long(-5)) == -5
    assert jdk_number(jdk_int(1800)) == 1800
    assert jdk_number(jdk_int(1800)[:-1]) is None
    assert jdk_number(b"1800") is None


def test_jackson_seed_app_value() -> None:
    decoded = decode_value(sample_session_json("c95883d5424d", 1552129074569))
    assert decoded.format is ValueFormat.JACKSON
    assert (
        decoded.java_class
        == "org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession"
    )
    assert decoded.value == {
        "@class": decoded.java_class,
        "host": "c95883d5424d",
        "lastUpdatedAt": {
            "@class": "java.util.Date",
            "@value": "2019-03-09T10:57:54.569Z",
            "@epochMillis": 1552129074569,
        },
    }


@pytest.mark.parametrize(
    ("raw", "value", "java_class"),
    [
        (b'["java.lang.Long",1552128921707]', 1552128921707, "java.lang.Long"),
        (b'["java.util.HashSet",["x"]]', {"@class": "java.util.HashSet", "@items": ["x"]}, "java.util.HashSet"),
        (b'{"@class":"java.util.HashMap","k":["java.lang.Long",1]}',
         {"@class": "java.util.HashMap", "@entries": {"k": 1}}, "java.util.HashMap"),
        (b'["[Ljava.lang.String;",["a","b"]]', {"@class": "[Ljava.lang.String;", "@items": ["a", "b"]},
         "[Ljava.lang.String;"),
        (b'["java.math.BigDecimal",12.5]', {"@class": "java.math.BigDecimal", "@value": "12.5"},
         "java.math.BigDecimal"),
    ],
)  # fmt: skip
def test_jackson_wrappers(raw: bytes, value: object, java_class: str) -> None:
    decoded = decode_value(raw)
    assert decoded.format is ValueFormat.JACKSON
    assert (decoded.value, decoded.java_class) == (value, java_class)


def test_fastjson_suffixes_and_type() -> None:
    decoded = decode_value(b'{"@type":"com.example.User","id":1L,"ratio":1.5F,"tags":["a",2S]}')
    assert decoded.format is ValueFormat.FASTJSON
    assert decoded.value == {"@class": "com.example.User", "id": 1, "ratio": 1.5, "tags": ["a", 2]}
    # A suffix-looking text inside a string is left alone.
    assert decode_value(b'{"@type":"X","s":"1L"}').value == {"@class": "X", "s": "1L"}


def test_fastjson_type_nested_in_plain_json() -> None:
    decoded = decode_value(b'{"user":{"@type":"com.example.User","id":1},"n":2}')
    assert decoded.format is ValueFormat.FASTJSON
    assert decoded.value == {"user": {"@class": "com.example.User", "id": 1}, "n": 2}
    # An @type that is no Java class name (JSON-LD) stays a plain key.
    plain = decode_value(b'{"thing":{"@type":"Person","name":"x"}}')
    assert plain.format is ValueFormat.JSON
    assert plain.value == {"thing": {"@type": "Person", "name": "x"}}


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b'["java.math.BigDecimal",10.50]', "10.50"),
        (b'["java.math.BigDecimal",1.2E-7]', "1.2E-7"),
        (b'["java.math.BigDecimal",1E+3]', "1E+3"),
        (b'["java.math.BigDecimal",0.000001]', "0.000001"),
        (b'["java.math.BigDecimal",100]', "100"),
        (b'["java.math.BigDecimal",-0.0]', "0.0"),
        (b'["java.math.BigDecimal",12345678901234567890.123456789]', "12345678901234567890.123456789"),
        (b'["java.math.BigInteger",123456789012345678901234567890]', "123456789012345678901234567890"),
        (b'["java.math.BigInteger",7]', "7"),
    ],
)  # fmt: skip
def test_big_numbers_keep_their_exact_text(raw: bytes, text: str) -> None:
    decoded = decode_value(raw)
    assert decoded.format is ValueFormat.JACKSON
    assert isinstance(decoded.value, dict)
    assert decoded.value["@value"] == text
    assert decoded.error is None


def test_big_decimal_inside_an_object_keeps_its_scale() -> None:
    decoded = decode_value(
        b'{"@class":"com.example.Order","total":["java.math.BigDecimal",10.50],'
        b'"at":["java.util.Date",1552129074569],"n":["java.lang.Long",5],"ratio":0.5}'
    )
    assert decoded.value == {
        "@class": "com.example.Order",
        "total": {"@class": "java.math.BigDecimal", "@value": "10.50"},
        "at": {"@class": "java.util.Date", "@value": "2019-03-09T10:57:54.569Z",
               "@epochMillis": 1552129074569},
        "n": 5,
        "ratio": 0.5,
    }  # fmt: skip


def test_json_integers_past_a_long_are_not_rounded() -> None:
    raw = (
        b'{"huge":123456789012345678901234567890,"u64":18446744073709551615,'
        b'"min":-9223372036854775808,"below":-9223372036854775809,"max":9223372036854775807,'
        b'"id":"12345678901234567890123","f":1.5e300}'
    )
    decoded = decode_value(raw)
    assert decoded.format is ValueFormat.JSON
    big = "java.math.BigInteger"
    assert decoded.value == {
        "huge": {"@class": big, "@value": "123456789012345678901234567890"},
        "u64": {"@class": big, "@value": "18446744073709551615"},
        "min": -9223372036854775808,
        "below": {"@class": big, "@value": "-9223372036854775809"},
        "max": 9223372036854775807,
        "id": "12345678901234567890123",
        "f": 1.5e300,
    }
    orjson.dumps(decoded.to_json())  # what show --json does: no int past 64 bits


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-(10**60), max_value=10**60))
def test_any_json_integer_keeps_every_digit(number: int) -> None:
    decoded = decode_value(json.dumps({"n": number}).encode())
    assert decoded.value in (
        {"n": number},
        {"n": {"@class": "java.math.BigInteger", "@value": str(number)}},
    )
    assert isinstance(decoded.value, dict)
    assert isinstance(decoded.value["n"], int) == (-(2**63) <= number < 2**63)


def test_node_budget_stops_instead_of_filling_nulls() -> None:
    decoded = decode_value(json.dumps(list(range(300_000))).encode())
    assert decoded.format is ValueFormat.JSON
    assert isinstance(decoded.value, list)
    assert decoded.value == list(range(99_999))  # the list itself is the 100,000th value
    assert decoded.error == "cut off after 100000 values"
    small = decode_value(
        b'{"a":[1,2,3],"b":["java.util.ArrayList",[4,5]],"c":6}', Limits(max_nodes=5)
    )
    assert small.value == {"a": [1, 2, 3]}
    assert small.error == "cut off after 5 values"
    wrapped = decode_value(b'["java.util.ArrayList",[1,2,3,4]]', Limits(max_nodes=3))
    assert wrapped.value == {"@class": "java.util.ArrayList", "@items": [1, 2]}


def test_depth_cut_keeps_empty_containers_and_classes() -> None:
    decoded = decode_value(b"[[[[1]]], 2]", Limits(max_depth=1))
    assert decoded.value == [[[]], 2]
    assert decoded.error == "cut off: deeper than 1 levels"
    typed = decode_value(
        b'{"@class":"X","a":{"@class":"Y","b":{"@class":"Z","c":1},"d":{"e":1},'
        b'"f":["java.util.ArrayList",[1]]}}',
        Limits(max_depth=1),
    )
    assert typed.value == {
        "@class": "X",
        "a": {"@class": "Y", "b": {"@class": "Z"}, "d": {}, "f": {"@class": "java.util.ArrayList"}},
    }
    both = decode_value(b'[[[1]],"' + b"x" * 20 + b'"]', Limits(max_depth=1, max_string=5))
    assert both.error == "cut off: deeper than 1 levels; string cut at 5 characters"


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        (b"", ValueFormat.EMPTY),
        (b"1800", ValueFormat.JSON),
        (b'"hello"', ValueFormat.JSON),
        (b"plain text\nline 2", ValueFormat.TEXT),
        (b'{"truncated":', ValueFormat.UNDECODABLE),
        (b"\x00\x01\x02binary", ValueFormat.BINARY),
        (b"\xff\xfe\xfd", ValueFormat.BINARY),
        (b"\x80\x04\x95\x10\x00", ValueFormat.BINARY),
        (b"\xac\xed\x00", ValueFormat.UNDECODABLE),
        (b"text with \x1b[2J escape", ValueFormat.BINARY),
    ],
)
def test_format_detection(raw: bytes, fmt: ValueFormat) -> None:
    decoded = decode_value(raw)
    assert decoded.format is fmt
    assert decoded.size == len(raw)
    if fmt in (ValueFormat.BINARY, ValueFormat.UNDECODABLE):
        assert decoded.preview is not None
        assert decoded.hex is not None


def test_pickle_is_named_never_loaded() -> None:
    decoded = decode_value(b"\x80\x04\x95\x10\x00\x00\x00")
    assert decoded.error is not None
    assert "never unpickled" in decoded.error


def test_deep_json_is_cut_not_crashed() -> None:
    deep = b"[" * 500 + b"]" * 500
    decoded = decode_value(deep, Limits(max_depth=20))
    assert decoded.error is not None
    assert "deeper than 20" in decoded.error
    too_deep = b"[" * 5000 + b"]" * 5000  # orjson's own limit
    assert decode_value(too_deep).format in (ValueFormat.UNDECODABLE, ValueFormat.JSON)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_without_exception(data: bytes) -> None:
    decoded = decode_value(data)
    assert decoded.size == len(data)
    json.dumps(decoded.to_json())  # always JSON-able


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_round_trips(value: object) -> None:
    raw = json.dumps(value).encode()
    decoded = decode_value(raw)
    assert decoded.format in (ValueFormat.JSON, ValueFormat.JACKSON, ValueFormat.FASTJSON)
    json.dumps(decoded.to_json())


@settings(max_examples=300, deadline=None)
@given(json_values, st.data())
def test_mutated_jackson_never_raises(value: object, data: st.DataObject) -> None:
    raw = bytearray(
        json.dumps({"@class": "com.example.Holder", "v": ["java.util.ArrayList", [value]]}).encode()
    )
    for _ in range(data.draw(st.integers(0, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    decoded = decode_value(bytes(raw[:cut]))
    json.dumps(decoded.to_json())


# ---------------------------------------------------------------- the model


def raw_session(fields: dict[str, bytes], *, hash_ttl: int = 2_000_000, shadow: int | None = 1_800_000,
                now: int = 1_552_129_100_000) -> RawSession:  # fmt: skip
    return factory_raw_session(
        SID, fields, hash_ttl_ms=hash_ttl, shadow_ttl_ms=shadow, observed_at_ms=now
    )


def test_article_session() -> None:
    session = Session.from_raw(
        raw_session(
            {
                "creationTime": b"1552128921707",
                "lastAccessedTime": b"1552129074379",
                "maxInactiveInterval": b"1800",
                "sessionAttr:scopedTarget.sampleSession": sample_session_json(
                    "c95883d5424d", 1552129074569
                ),
            }
        )
    )
    assert (session.creation_time, session.last_accessed_time, session.max_inactive_interval) == (
        1552128921707, 1552129074379, 1800
    )  # fmt: skip
    assert session.expires_at == 1552129074379 + 1_800_000
    assert (session.state.value, session.layout.value) == ("active", "indexed")
    assert (session.host, session.host_source) == ("c95883d5424d", "scopedTarget.sampleSession")
    out = session.to_json(attributes=True)
    assert out["ttl"] == 2000
    assert out["shadowTtl"] == 1800
    assert set(out) >= {
        "id", "namespace", "key", "creationTime", "lastAccessedTime", "maxInactiveInterval",
        "ttl", "state", "host", "principal", "attributeNames", "attributes",
    }  # fmt: skip
    json.dumps(out)


def test_host_field_override_with_dotted_attribute_names() -> None:
    fields = {
        "maxInactiveInterval": b"1800",
        "lastAccessedTime": b"1552129074379",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json("c1", 1),
        "sessionAttr:other": b'{"host":"wrong","node":{"name":"n-3"}}',
    }
    assert Session.from_raw(raw_session(fields)).host in ("c1", "wrong")
    chosen = Session.from_raw(raw_session(fields), host_field=HostField("other.node.name"))
    assert (chosen.host, chosen.host_source) == ("n-3", "other.node.name")
    dotted = Session.from_raw(
        raw_session(fields), host_field=HostField("scopedTarget.sampleSession.host")
    )
    assert dotted.host == "c1"
    assert Session.from_raw(raw_session(fields), host_field=HostField("nope.x")).host is None


@pytest.mark.parametrize(
    "path", ["list.\u00b2", "list.\u0661x", "list.-1", "list.99", "map.\u00b2.x"]
)
def test_host_field_path_with_odd_indexes_leads_nowhere(path: str) -> None:
    fields = {
        "maxInactiveInterval": b"1800",
        "sessionAttr:list": b'["java.util.ArrayList",["h0","h1"]]',
        "sessionAttr:map": b'{"\\u00b2":{"x":"sq"}}',
    }
    session = Session.from_raw(raw_session(fields), host_field=HostField(path))
    assert session.host == ("sq" if path.startswith("map") else None)


def test_host_field_path_indexes_lists() -> None:
    fields = {
        "maxInactiveInterval": b"1800",
        "sessionAttr:list": b'["java.util.ArrayList",["h0","h1"]]',
    }
    assert Session.from_raw(raw_session(fields), host_field=HostField("list.1")).host == "h1"
    assert HostField("a.b.c").attributes_on_path(["a", "a.b", "b", "ab"]) == ["a.b", "a"]


def test_ceil_seconds_rounds_up_and_keeps_sentinels() -> None:
    assert [ceil_seconds(ms) for ms in (-2, -1, 0, 1, 999, 1000, 1001)] == [-2, -1, 0, 1, 1, 1, 2]


def test_principal_from_index_attribute_and_security_context() -> None:
    base = {"maxInactiveInterval": b"1800", "lastAccessedTime": b"1552129074379"}
    indexed = Session.from_raw(raw_session({**base, f"sessionAttr:{INDEX}": jdk_string("alice")}))
    assert indexed.principal == "alice"
    context = (
        b'{"@class":"org.springframework.security.core.context.SecurityContextImpl",'
        b'"authentication":{"@class":"org.springframework.security.authentication.'
        b'UsernamePasswordAuthenticationToken","principal":{"@class":"org.springframework.'
        b'security.core.userdetails.User","username":"bob"},"authenticated":true}}'
    )
    jackson = Session.from_raw(
        raw_session({**base, "sessionAttr:SPRING_SECURITY_CONTEXT": context})
    )
    assert jackson.principal == "bob"


@pytest.mark.parametrize(
    ("interval", "shadow", "hash_ttl", "last_access", "state"),
    [
        (b"0", None, 300_000, 1_552_129_000_000, "invalidated"),
        (b"-1", -1, -1, 1_552_129_000_000, "never-expires"),
        (b"1800", None, 100_000, 1_552_127_000_000, "expired"),
        (b"1800", None, 1_799_000, 1_552_129_099_000, "active"),  # 3.x default layout
        (b"1800", None, 2_000_000, 1_552_129_099_000, "expired"),  # indexed, shadow gone
    ],
)
def test_states(
    interval: bytes, shadow: int | None, hash_ttl: int, last_access: int, state: str
) -> None:
    fields = {"maxInactiveInterval": interval, "lastAccessedTime": str(last_access).encode()}
    session = Session.from_raw(raw_session(fields, shadow=shadow, hash_ttl=hash_ttl))
    assert session.state.value == state


def test_tombstones() -> None:
    session = Session.from_raw(
        raw_session({"maxInactiveInterval": b"1", "sessionAttr:a": b"x", "sessionAttr:gone": b""})
    )
    assert (session.attribute_names, session.removed_attributes) == (["a"], ["gone"])


def test_find_host_prefers_shallow_fields() -> None:
    assert find_host({"@class": "X", "inner": {"host": "deep"}, "hostName": "top"}) == "top"
    assert find_host({"@class": "java.util.HashMap", "@entries": {"server": "s1"}}) == "s1"
    assert find_host({"@items": [{"container": "c"}]}) == "c"
    assert find_host({"host": ""}) is None


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    "hostile",
    ["\x1b[2J\x1b[H", "[bold red]x[/]", "line\nbreak", "bell\x07", "\u202eevil", "\x9b31m"],
)
def test_hostile_text_is_escaped(hostile: str) -> None:
    shown = safe_text(hostile)
    assert not any(ch in shown for ch in "\x1b\n\x07\u202e\x9b")
    lines = render_value({"@class": "X", "host": hostile})
    assert all("\x1b" not in line and "\n" not in line for line in lines)


def test_render_tree_has_class_names_and_dates() -> None:
    decoded = decode_value(sample_session_json("c95883d5424d", 1552129074569))
    text = "\n".join(render_decoded(decoded))
    assert "SampleSession" in text
    assert 'host: "c95883d5424d"' in text
    assert "(Date, 1552129074569)" in text


def test_render_session_lists_every_attribute() -> None:
    fields = {
        "creationTime": b"1552128921707",
        "lastAccessedTime": b"1552129074379",
        "maxInactiveInterval": b"1800",
        "sessionAttr:scopedTarget.sampleSession": sample_session_json("c9", 1552129074569),
        "sessionAttr:count": b"5",
        "sessionAttr:gone": b"",
    }
    text = "\n".join(render_session(Session.from_raw(raw_session(fields))))
    for needle in ("scopedTarget.sampleSession", "count", "gone", "removed", "1552128921707",
                   "1800 s (30 min 0 s)", "shadow key"):  # fmt: skip
        assert needle in text


def test_hostile_class_names_are_escaped_too() -> None:
    decoded = decode_value(b'{"@class":"com.evil.\\u001b[2JBad","x":["com.evil.\\u0007Date",1]}')
    text = "\n".join(render_decoded(decoded))
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\\x1b[2JBad" in text


@pytest.mark.parametrize(
    ("value", "needles"),
    [
        ({"@items": [1], "other": 2}, ["object (2 fields)", "@items: list (1 item)", "other: 2"]),
        ({"@hex": "00ff", "other": 2}, ["object (2 fields)", '@hex: "00ff"', "other: 2"]),
        ({"@ref": "X", "other": 2}, ["object (2 fields)", '@ref: "X"', "other: 2"]),
        ({"@entries": {"k": 1}, "other": 2}, ["object (2 fields)", "k: 1", "other: 2"]),
        ({"@class": "a.B", "@value": "v", "extra": 1}, ["B  (a.B)", '@value: "v"', "extra: 1"]),
        ({"@data": [1]}, ["object (1 field)", "@data: list (1 item)"]),
    ],
)  # fmt: skip
def test_reserved_keys_outside_their_shapes_are_plain_keys(
    value: dict[str, JsonValue], needles: list[str]
) -> None:
    text = "\n".join(render_value(value))
    for needle in needles:
        assert needle in text


def test_reserved_shapes_still_render_specially() -> None:
    assert render_value({"@ref": "a.Node"}) == ["(cycle: back to Node)"]
    assert render_value({"@class": "[B", "@hex": "00ff"}) == ["hex 00ff"]
    assert render_value({"@class": "java.util.UUID", "@value": "u"}) == ["u  (UUID)"]
    assert render_value(
        {"@class": "java.util.TreeSet", "@items": ["b"], "comparator": {"@class": "a.Rev"}}
    ) == ["TreeSet (1 item)", '  [0]: "b"', "  comparator: Rev  (a.Rev)"]
    assert render_value({"@class": "java.util.HashMap", "@entries": [[1, "x"]]}) == [
        "HashMap (1 entry)",
        '  1: "x"',
    ]
