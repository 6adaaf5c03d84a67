"""The JDK serialization decoder against real JVM output (tests/data/jvm) and edge cases.

The fixtures and their expected values come from ``tests/data/jvm/src/Fixtures.java``
(see the README there); the hand-built streams below cover what a JVM would not write:
truncation, hostile lengths, loops, garbage.
"""

from __future__ import annotations

import hashlib
import json
import struct
import tracemalloc
from typing import Any

import orjson
import pytest

from inspector.core.decoders import decode_value
from inspector.core.decoders.java import decode_java
from inspector.core.values import Decoded, JsonValue, Limits, ValueFormat, date_value
from tests.spring_layouts import JVM, jvm_fixture

MANIFEST: dict[str, Any] = json.loads((JVM / "manifest.json").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = MANIFEST["fixtures"]
JDK_ENTRIES = [entry for entry in ENTRIES if entry["format"] == "java"]
JSON_ENTRIES = [entry for entry in ENTRIES if entry["format"] != "java"]

MAGIC = b"\xac\xed\x00\x05"
SAMPLE_SESSION = "org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession"


def decode(name: str, limits: Limits | None = None) -> Decoded:
    data = jvm_fixture(name)
    return decode_java(data) if limits is None else decode_java(data, limits)


def dig(value: JsonValue, *path: str | int) -> JsonValue:
    """``value[a][b]...`` for typed JSON, asserting each step exists."""
    for step in path:
        if isinstance(step, int):
            assert isinstance(value, list)
        else:
            assert isinstance(value, dict)
        value = value[step]  # type: ignore[index]
    return value


def check_against_manifest(decoded: Decoded, entry: dict[str, Any]) -> None:
    assert decoded.format.value == entry["format"], decoded.error
    assert decoded.java_class == entry["expectedClass"]
    if "expectedStringSha256" in entry:
        assert isinstance(decoded.value, str)
        digest = hashlib.sha256(decoded.value.encode("utf-8")).hexdigest()
        assert digest == entry["expectedStringSha256"]
        assert len(decoded.value) == entry["expectedStringLength"]
    else:
        assert decoded.value == entry["expected"]
    if "expectedError" in entry:
        assert decoded.error is not None
        assert entry["expectedError"] in decoded.error
    else:
        assert decoded.error is None


# ---------------------------------------------------------------- the manifest


def test_manifest_lists_every_fixture_file() -> None:
    listed = {entry["path"] for entry in ENTRIES}
    on_disk = {
        path.relative_to(JVM).as_posix()
        for folder in ("bin", "jackson")
        for path in (JVM / folder).iterdir()
    }
    assert listed == on_disk
    assert len(JDK_ENTRIES) >= 90


@pytest.mark.parametrize("entry", JDK_ENTRIES, ids=lambda entry: entry["name"])
def test_jdk_fixture_decodes_as_manifest_says(entry: dict[str, Any]) -> None:
    data = (JVM / entry["path"]).read_bytes()
    decoded = decode_java(data)
    check_against_manifest(decoded, entry)
    assert decoded.size == len(data)
    assert decoded.preview is None
    # The value is the --json output: plain JSON, also for the strict orjson writer.
    json.dumps(decoded.value, allow_nan=False)
    orjson.dumps(decoded.to_json())


@pytest.mark.parametrize("entry", JSON_ENTRIES, ids=lambda entry: entry["name"])
def test_jackson_fixture_decodes_as_manifest_says(entry: dict[str, Any]) -> None:
    # The same Java values written by Jackson as Spring Data Redis configures it,
    # read through the top-level dispatcher (the Jackson decoder's contract).
    check_against_manifest(decode_value((JVM / entry["path"]).read_bytes()), entry)


def test_dispatcher_sends_java_magic_here() -> None:
    data = jvm_fixture("sample_session")
    assert decode_value(data) == decode_java(data)


def test_jdk_and_jackson_agree_on_the_seed_session() -> None:
    jdk = decode("sample_session")
    jackson = decode_value((JVM / "jackson" / "non_final_sample_session.json").read_bytes())
    assert jdk.value == jackson.value
    assert jdk.java_class == jackson.java_class == SAMPLE_SESSION


# ---------------------------------------------------------------- specific values


def test_spring_session_metadata() -> None:
    assert decode("creation_time").value == 1552128921707
    assert decode("max_inactive_interval").value == 1800
    assert decode("max_inactive_interval").java_class == "java.lang.Integer"


def test_seed_session_bytes_and_value() -> None:
    data = jvm_fixture("sample_session")
    assert len(data) == 212  # as in the reference notes (section 2.2)
    assert decode_java(data).value == {
        "@class": SAMPLE_SESSION,
        "host": "c95883d5424d",
        "lastUpdatedAt": date_value("java.util.Date", 1552129074569),
    }


def test_date_is_iso_utc_with_epoch_millis() -> None:
    assert decode("date").value == {
        "@class": "java.util.Date",
        "@value": "2019-03-09T10:57:54.569Z",
        "@epochMillis": 1552129074569,
    }
    # Timestamp keeps whole seconds in Date's millis and the fraction in its nanos.
    timestamp = decode("sql_timestamp").value
    assert isinstance(timestamp, dict)
    assert timestamp["@epochMillis"] == 1552129074569


@pytest.mark.parametrize(
    ("name", "java_class", "text"),
    [
        ("instant", "java.time.Instant", "2019-03-09T10:57:54.569Z"),
        ("instant_nanos", "java.time.Instant", "2019-03-09T10:57:54.569123456Z"),
        ("local_date", "java.time.LocalDate", "2019-03-09"),
        ("local_date_time", "java.time.LocalDateTime", "2019-03-09T19:57:54.569"),
        ("local_time", "java.time.LocalTime", "19:57"),
        ("local_time_midnight", "java.time.LocalTime", "00:00"),
        ("local_time_nanos", "java.time.LocalTime", "19:57:54.123456789"),
        ("zoned_date_time", "java.time.ZonedDateTime", "2019-03-09T19:57:54.569+09:00[Asia/Tokyo]"),
        ("zoned_date_time_utc", "java.time.ZonedDateTime", "2019-03-09T19:57:54.569Z"),
        ("offset_date_time", "java.time.OffsetDateTime", "2019-03-09T19:57:54.569+05:30"),
        ("offset_time", "java.time.OffsetTime", "10:15:30+01:02:03"),
        ("duration", "java.time.Duration", "PT8H7M0.345S"),
        ("duration_negative", "java.time.Duration", "PT-1.5S"),
        ("period", "java.time.Period", "P1Y2M3D"),
        ("zone_id", "java.time.ZoneRegion", "Asia/Tokyo"),
        ("zone_offset", "java.time.ZoneOffset", "+09:00"),
        ("year", "java.time.Year", "2019"),
        ("year_month", "java.time.YearMonth", "2019-03"),
        ("month_day", "java.time.MonthDay", "--03-09"),
    ],
)
def test_java_time_through_ser(name: str, java_class: str, text: str) -> None:
    decoded = decode(name)
    assert b"java.time.Ser" in jvm_fixture(name)
    assert decoded.java_class == java_class
    assert isinstance(decoded.value, dict)
    assert decoded.value["@class"] == java_class
    assert decoded.value["@value"] == text


def test_instant_has_epoch_millis() -> None:
    value = decode("instant_nanos").value
    assert isinstance(value, dict)
    assert value["@epochMillis"] == 1552129074569


def test_unreadable_java_time_kept_as_hex() -> None:
    data = jvm_fixture("local_date")
    # Ser payload: 03 (LocalDate), int year, byte month, byte day -> make the month 13.
    index = data.rindex(b"\x03\x00\x00\x07\xe3\x03")
    broken = data[: index + 5] + b"\x0d" + data[index + 6 :]
    decoded = decode_java(broken)
    assert decoded.format is ValueFormat.JAVA
    assert decoded.value == {"@class": "java.time.Ser", "@hex": "03000007e30d09"}
    assert decoded.error is not None
    assert "java.time" in decoded.error


def test_numbers_and_text_like_values() -> None:
    assert decode("big_decimal").value == {"@class": "java.math.BigDecimal", "@value": "12345.6789"}
    assert decode("big_decimal_small").value == {
        "@class": "java.math.BigDecimal",
        "@value": "-1.234E-7",
    }
    assert decode("big_decimal_exponent").value == {
        "@class": "java.math.BigDecimal",
        "@value": "1E+10",
    }
    big = decode("big_integer").value
    assert big == {"@class": "java.math.BigInteger", "@value": "123456789012345678901234567890"}
    assert decode("uuid").value == {
        "@class": "java.util.UUID",
        "@value": "e1237df7-5646-4382-aa12-41435ed09dc7",
    }
    assert decode("float").value == 1.1  # Java prints 1.1f as 1.1, not 1.100000023841858
    assert decode("double_nan").value == {"@class": "java.lang.Double", "@value": "NaN"}
    assert decode("character").value == {"@class": "java.lang.Character", "@value": "x"}
    assert decode("class_object").value == {
        "@class": "java.lang.Class",
        "@value": "java.lang.String",
    }


def test_huge_big_integer_is_shown_in_hex() -> None:
    data = jvm_fixture("big_integer")
    magnitude = (123456789012345678901234567890).to_bytes(13, "big")
    index = data.index(struct.pack(">i", 13) + magnitude)
    huge = data[:index] + struct.pack(">i", 2000) + b"\x01" * 2000 + data[index + 4 + 13 :]
    decoded = decode_java(huge)
    assert decoded.format is ValueFormat.JAVA
    assert isinstance(decoded.value, dict)
    assert decoded.value["@value"] == "0x1" + "01" * 1999
    assert decoded.error == "a huge BigInteger is shown in hex"


def test_enum_constant_with_a_body_is_its_enum() -> None:
    # Java writes the enum type's descriptor even for Color$1; a hand-built stream naming
    # the body class (extending Color, extending Enum) reads the same.
    decoded = decode("enum_constant_body")
    assert decoded.value == {"@class": "com.example.model.Color", "@value": "GREEN"}
    enum = class_desc("java.lang.Enum", flags=0x12)
    color = b"\x72" + utf("com.example.model.Color") + struct.pack(">qbH", 0, 0x12, 0) + b"\x78"
    body = b"\x72" + utf("com.example.model.Color$1") + struct.pack(">qbH", 0, 0x12, 0) + b"\x78"
    decoded = decode_java(MAGIC + b"\x7e" + body + color + enum + b"\x74" + utf("GREEN"))
    assert decoded.value == {"@class": "com.example.model.Color", "@value": "GREEN"}


def test_arrays() -> None:
    assert decode("int_array").value == {"@class": "[I", "@items": [1, -2, 2147483647]}
    assert decode("byte_array").value == {"@class": "[B", "@hex": "0001ff7f80"}
    assert decode("string_array").java_class == "[Ljava.lang.String;"
    assert decode("int_array_2d").value == {
        "@class": "[[I",
        "@items": [
            {"@class": "[I", "@items": [1, 2]},
            {"@class": "[I", "@items": [3]},
            {"@class": "[I", "@items": []},
        ],
    }


def test_maps_with_string_keys_are_objects_others_pairs() -> None:
    assert decode("hash_map").value == {
        "@class": "java.util.HashMap",
        "@entries": {
            "creationTime": 1552128921707,
            "maxInactiveInterval": 1800,
            "user": "alice",
            "admin": False,
        },
    }
    assert decode("hash_map_int_keys").value == {
        "@class": "java.util.HashMap",
        "@entries": [[1, "one"], [20, "twenty"]],
    }


def test_spring_security_context() -> None:
    value = decode("security_context").value
    assert isinstance(value, dict)
    token = value["authentication"]
    assert isinstance(token, dict)
    # Superclass (AbstractAuthenticationToken) fields and subclass fields together.
    assert token["authenticated"] is True
    assert token["credentials"] is None
    principal = token["principal"]
    assert isinstance(principal, dict)
    assert principal["@class"] == "org.springframework.security.core.userdetails.User"
    assert principal["username"] == "alice"
    # The same SimpleGrantedAuthority objects are shared by the user and the token.
    assert token["authorities"] == {
        "@class": "java.util.Collections$UnmodifiableList",
        "@items": [
            {
                "@class": "org.springframework.security.core.authority.SimpleGrantedAuthority",
                "role": role,
            }
            for role in ("ROLE_ADMIN", "ROLE_USER")
        ],
    }


# ---------------------------------------------------------------- strings


def test_long_string_uses_tc_longstring() -> None:
    data = jvm_fixture("string_long")
    assert data[4] == 0x7C  # TC_LONGSTRING: more than 65535 bytes of modified UTF-8
    decoded = decode_java(data)
    assert isinstance(decoded.value, str)
    assert decoded.value == "0123456789" * 7000 + "\u00e9\U0001f600"


def test_long_string_cut_at_max_string() -> None:
    decoded = decode("string_long", Limits(max_string=1000))
    assert decoded.format is ValueFormat.JAVA
    assert decoded.value == "0123456789" * 100
    assert decoded.error == "a string of 70002 characters cut at 1000"


def test_modified_utf8() -> None:
    data = jvm_fixture("string_unicode")
    assert b"\xc0\x80" in data  # NUL
    assert b"\xed\xa0\xbd\xed\xb8\x80" in data  # U+1F600 as two 3-byte surrogates
    assert b"\xed\x95\x9c" in data  # Hangul U+D55C: an ED lead byte that is not a surrogate
    expected = (
        "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4 \U0001f600 nul:\x00 end"
    )
    assert decode_java(data).value == expected


def utf(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def class_desc(name: str, fields: bytes = b"", count: int = 0, flags: int = 0x02) -> bytes:
    return b"\x72" + utf(name) + struct.pack(">qbH", 1, flags, count) + fields + b"\x78\x70"


def test_non_ascii_class_and_field_names() -> None:
    # javaobj reads these names with its own decoder, which rejects U+D000-U+D7FF.
    field = b"L" + utf("\uc774\ub984") + b"\x74" + utf("Ljava/lang/String;")
    data = MAGIC + b"\x73" + class_desc("\ud55c\uad6d.\ubaa8\ub378", field, 1) + b"\x74" + utf("v")
    decoded = decode_java(data)
    assert decoded.value == {"@class": "\ud55c\uad6d.\ubaa8\ub378", "\uc774\ub984": "v"}


def test_lone_surrogate_becomes_replacement_character() -> None:
    decoded = decode_java(MAGIC + b"\x74\x00\x04\xed\xa0\x80A")
    assert decoded.value == "\ufffdA"
    orjson.dumps(decoded.value)  # a lone surrogate would not be valid JSON text


def test_invalid_modified_utf8_is_replaced_with_a_note() -> None:
    decoded = decode_java(MAGIC + b"\x74\x00\x02A\xff")
    assert decoded.format is ValueFormat.JAVA
    assert decoded.value == "A\ufffd"
    assert decoded.error is not None
    assert "modified UTF-8" in decoded.error


# ---------------------------------------------------------------- graphs


def test_shared_reference_renders_twice() -> None:
    value = decode("shared_reference").value
    shared = {"@class": "java.util.ArrayList", "@items": ["shared"]}
    assert value == {"@class": "com.example.model.Holder", "first": shared, "second": shared}


def test_cycles_render_as_ref() -> None:
    tree = decode("cycle_tree").value
    assert dig(tree, "children", "@items", 0, "parent") == {"@ref": "com.example.model.TreeNode"}
    assert decode("cycle_list").value == {
        "@class": "java.util.ArrayList",
        "@items": ["a", {"@ref": "java.util.ArrayList"}],
    }
    # javaobj alone fails here (it registers an array after reading its elements).
    assert decode("cycle_array").value == {
        "@class": "[Ljava.lang.Object;",
        "@items": ["a", {"@ref": "[Ljava.lang.Object;"}],
    }


def test_custom_write_object_data_is_kept() -> None:
    value = decode("custom_write_object").value
    assert isinstance(value, dict)
    assert value["name"] == "custom"
    assert value["@data"] == [
        {"@hex": "0000002a00056578747261"},  # writeInt(42), writeUTF("extra")
        {"@class": "java.util.ArrayList", "@items": ["x", "y"]},
        {"@hex": "0000000000000007"},  # writeLong(7)
        date_value("java.util.Date", 1552129074569),
    ]
    assert decode("externalizable").value == {
        "@class": "com.example.model.Point",
        "@data": [{"@hex": "0000000300000004"}, "p"],
    }


def test_wrapper_around_a_non_collection_renders_its_inner_value_once() -> None:
    # Collections$UnmodifiableCollection whose c field is a String: not a collection,
    # so the wrapper shows as an object, reusing the rendering of c.
    field = b"L" + utf("c") + b"\x74" + utf("Ljava/util/Collection;")
    name = "java.util.Collections$UnmodifiableCollection"
    data = MAGIC + b"\x73" + class_desc(name, field, 1) + b"\x74" + utf("x")
    assert decode_java(data).value == {"@class": name, "c": "x"}
    # Two values in all (the wrapper and c): rendering c twice would need a third.
    tight = decode_java(data, Limits(max_nodes=2))
    assert (tight.value, tight.error) == ({"@class": name, "c": "x"}, None)


def test_superclass_fields_first_and_shadowed_name_qualified() -> None:
    value = decode("superclass_fields").value
    assert isinstance(value, dict)
    assert list(value) == ["@class", "legs", "Animal.name", "goodBoy", "collar", "name"]
    assert value["Animal.name"] == "dog"
    assert value["name"] == "Rex"


def test_null() -> None:
    data = jvm_fixture("null")
    assert data == MAGIC + b"\x70"
    decoded = decode_java(data)
    assert decoded == Decoded(format=ValueFormat.JAVA, value=None, size=5)


def test_more_objects_after_the_value_are_mentioned() -> None:
    decoded = decode("two_objects")
    assert decoded.value == "first"
    assert decoded.error == "1 more object after the value (not shown)"


def test_trailing_garbage_keeps_the_value() -> None:
    decoded = decode_java(jvm_fixture("sample_session") + b"\x00\x01")
    assert decoded.format is ValueFormat.JAVA
    assert decoded.java_class == SAMPLE_SESSION
    assert decoded.error == "2 trailing byte(s) that could not be read"


# ---------------------------------------------------------------- limits


def test_depth_limit_gives_a_partial_value() -> None:
    decoded = decode("nested_collections", Limits(max_depth=2))
    assert decoded.format is ValueFormat.JAVA
    assert decoded.error == "cut off below 2 levels of nesting"
    assert decoded.value == {
        "@class": "java.util.LinkedHashMap",
        "@entries": {
            "list": {
                "@class": "java.util.ArrayList",
                "@items": [{"@class": "java.util.HashMap"}, {"@class": "java.util.HashSet"}],
            },
            "map": {
                "@class": "java.util.TreeMap",
                "@entries": {"inner": {"@class": "java.util.LinkedList"}},
            },
        },
    }


def test_node_limit_gives_a_partial_value() -> None:
    decoded = decode("array_list", Limits(max_nodes=3))
    assert decoded.format is ValueFormat.JAVA
    assert decoded.value == {"@class": "java.util.ArrayList", "@items": ["a", 1]}
    assert decoded.error == "cut off after 3 values"
    primitive = decode("int_array", Limits(max_nodes=2))
    assert primitive.value == {"@class": "[I", "@items": [1]}


def object_array(size: int) -> bytes:
    return b"\x75" + class_desc("[Ljava.lang.Object;") + struct.pack(">i", size)


def reference(handle: int) -> bytes:
    return b"\x71" + struct.pack(">i", 0x7E0000 + handle)


def test_exponential_sharing_renders_references() -> None:
    # a[k] = {a[k-1], a[k-1]}: 60 levels of two references each is 2^60 values as a tree.
    levels = 60
    head = object_array(2) + (b"\x75" + reference(0) + struct.pack(">i", 2)) * (levels - 1)
    leaf = b"\x75" + reference(0) + struct.pack(">i", 1) + b"\x74" + utf("leaf")
    # Array handles: the outermost is 1, the leaf levels + 1; each closes with a
    # reference to the one it just wrote.
    tail = b"".join(reference(levels - level + 2) for level in range(1, levels + 1))
    decoded = decode_java(MAGIC + head + leaf + tail)
    assert decoded.format is ValueFormat.JAVA
    # Each level is shown once; its second mention points back to the first.
    assert decoded.error is None
    assert len(json.dumps(decoded.value)) < 20_000
    assert '"@ref": "[Ljava.lang.Object; #' in json.dumps(decoded.value)


# ---------------------------------------------------------------- hostile bytes


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("long string 2^62", MAGIC + b"\x7c" + struct.pack(">q", 1 << 62) + b"abc"),
        ("negative long string", MAGIC + b"\x7c" + struct.pack(">q", -1) + b"abc"),
        ("int[2^31-1]", MAGIC + b"\x75" + class_desc("[I") + struct.pack(">i", 2**31 - 1)),
        ("Object[2^31-1]", MAGIC + object_array(2**31 - 1) + b"\x70" * 100),
        (
            "block data 2^31-1",
            MAGIC + b"\x73" + class_desc("java.util.Date", flags=0x03) + b"\x7a\x7f\xff\xff\xff",
        ),
        ("string cut short", MAGIC + b"\x74\x00\x05hel"),
    ],
)
def test_claimed_lengths_past_the_end_allocate_nothing(name: str, data: bytes) -> None:
    # A claimed 2^62-byte string must be refused before anything is allocated:
    # checked on memory (deterministic), not on time (benchmarks measure time).
    tracemalloc.start()
    try:
        decoded = decode_java(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024
    assert decoded.format is ValueFormat.UNDECODABLE
    assert decoded.value is None
    assert decoded.preview is not None


def test_every_truncation_of_the_seed_session_is_undecodable() -> None:
    data = jvm_fixture("sample_session")
    for end in range(len(data)):
        decoded = decode_java(data[:end])
        assert decoded.format is ValueFormat.UNDECODABLE, end
        assert decoded.hex is not None
        if end >= 8 + len(SAMPLE_SESSION):
            assert decoded.java_class == SAMPLE_SESSION


def test_truncation_reason() -> None:
    decoded = decode_java(jvm_fixture("sample_session")[:-3])
    assert decoded.error == "truncated: the data ends inside a value"
    assert decode_java(MAGIC).error == "no object after the stream header"
    assert decode_java(b"{}").error == "not a Java serialization stream"


def test_deep_nesting_is_undecodable_not_a_crash() -> None:
    nested = object_array(1) + (b"\x75" + reference(0) + struct.pack(">i", 1)) * 50_000
    decoded = decode_java(MAGIC + nested + b"\x70")
    assert decoded.format is ValueFormat.UNDECODABLE
    assert decoded.error == "nested too deeply to read"
    assert decoded.java_class == "[Ljava.lang.Object;"


def test_class_that_is_its_own_superclass() -> None:
    desc = b"\x72" + utf("Loop") + struct.pack(">qbH", 1, 2, 0) + b"\x78" + reference(0)
    decoded = decode_java(MAGIC + b"\x73" + desc)
    assert decoded.format is ValueFormat.UNDECODABLE
    assert decoded.error == "corrupt stream: class hierarchy loops or is too deep"


def test_many_objects_sharing_a_deep_hierarchy_decode_to_the_last_item() -> None:
    # 64 field-less classes and 50 000 six-byte objects: without skipping the classes
    # that carry no data this is 3.2 million steps in the parser and the renderer.
    chain = b"".join(
        b"\x72" + utf(f"C{level}") + struct.pack(">qbH", 1, 2, 0) + b"\x78" for level in range(63)
    )
    chain += b"\x72" + utf("C63") + struct.pack(">qbH", 1, 2, 0) + b"\x78\x70"
    count = 50_000
    body = object_array(count) + b"\x73" + chain + (b"\x73" + reference(2)) * (count - 1)
    # Its speed is measured in benchmarks/bench_decoders.py; here: it completes, right.
    decoded = decode_java(MAGIC + body)
    assert decoded.format is ValueFormat.JAVA
    assert dig(decoded.value, "@items", -1) == {"@class": "C0"}


def test_reset_markers_are_skipped() -> None:
    assert decode_java(MAGIC + b"\x79\x79" + b"\x74" + utf("x")).value == "x"
