"""Issue 14, item 8: decoding costs are bounded per session, not per value.

The 515-byte Java ``Object[]`` of back-references from the issue (31 levels, each
holding the level below twice: 2^31 leaves as a tree) is a fixture,
``tests/data/hostile/java_backref_doubling.bin``. Thirty of them in one session
took ``show`` 102 s and 1.27 GB; now each level is shown once and its second
mention is ``{"@ref": "[Ljava.lang.Object; #n"}``. An ``Object[]`` claiming
5,000,000 elements is read to the budget and no further, and the attributes of
one session share one budget of values.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import redis

from inspector.core.decoders.java import decode_java
from inspector.core.session import SESSION_MAX_NODES, count_values
from inspector.core.values import DEFAULT_LIMITS
from tests.cli_run import inspector
from tests.harness import RedisServer

FIXTURE = Path(__file__).parent.parent / "data" / "hostile" / "java_backref_doubling.bin"
MAGIC = b"\xac\xed\x00\x05"
NS = "spring:session"


def _utf(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw


def _object_array_desc() -> bytes:
    return b"\x72" + _utf("[Ljava.lang.Object;") + struct.pack(">qbH", 1, 0x02, 0) + b"\x78\x70"


def _reference(handle: int) -> bytes:
    return b"\x71" + struct.pack(">i", 0x7E0000 + handle)


def backref_doubling(levels: int = 31) -> bytes:
    """``a[k] = {a[k-1], a[k-1]}``: the second element a reference to the first."""
    head = b"\x75" + _object_array_desc() + struct.pack(">i", 2)
    head += (b"\x75" + _reference(0) + struct.pack(">i", 2)) * (levels - 1)
    leaf = b"\x75" + _reference(0) + struct.pack(">i", 1) + b"\x74" + _utf("lea")
    # Handles: the class description is 0, the outermost array 1, the leaf levels + 1.
    tail = b"".join(_reference(levels - level + 2) for level in range(1, levels + 1))
    return MAGIC + head + leaf + tail


def huge_object_array(size: int = 5_000_000) -> bytes:
    """An ``Object[]`` of ``size`` nulls: one byte per element, 5 MB."""
    return MAGIC + b"\x75" + _object_array_desc() + struct.pack(">i", size) + b"\x70" * size


def test_the_fixture_is_the_issues_515_bytes() -> None:
    data = backref_doubling()
    assert len(data) == 515
    assert FIXTURE.read_bytes() == data


def test_shared_references_render_as_references() -> None:
    decoded = decode_java(FIXTURE.read_bytes())
    assert decoded.error is None
    text = json.dumps(decoded.value)
    assert count_values(decoded.value) < 1_000
    assert text.count('"@ref": "[Ljava.lang.Object; #') >= 25
    assert '"@id": 1' in text


def test_parsing_stops_at_the_budget() -> None:
    started = time.process_time()
    decoded = decode_java(huge_object_array())
    assert decoded.error is not None
    assert "stopped reading at an array of 5,000,000 elements" in decoded.error
    assert isinstance(decoded.value, dict)
    items = decoded.value["@items"]
    assert isinstance(items, list)
    assert len(items) <= DEFAULT_LIMITS.max_nodes
    # Not a speed assertion: a sanity bound 20x above what it takes, far below 19 s.
    assert time.process_time() - started < 10


def _store(client: redis.Redis, session_id: str, attributes: dict[str, bytes]) -> None:
    now = str(int(time.time() * 1000)).encode()
    fields = {"creationTime": now, "lastAccessedTime": now, "maxInactiveInterval": b"1800"}
    fields.update({f"sessionAttr:{name}": value for name, value in attributes.items()})
    client.hset(f"{NS}:sessions:{session_id}", mapping=fields)  # type: ignore[arg-type]


def test_show_of_thirty_doubling_attributes_is_small(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    value = FIXTURE.read_bytes()
    _store(client, "doubling-30", {f"a{i:02d}": value for i in range(30)} | {
        "huge": huge_object_array(),
    })  # fmt: skip
    client.close()
    # A limit above the 5 MB array, so that it is read (to the budget).
    limit = ("--max-value-bytes", str(8 << 20))
    as_json = inspector("-p", str(redis_clean.port), "show", "doubling-30", "--json", *limit)
    assert as_json.returncode == 0, as_json.stderr
    assert len(as_json.stdout) < 5_000_000  # 150 MB before
    attributes = json.loads(as_json.stdout)["attributes"]
    assert '"@ref"' in json.dumps(attributes["a00"])
    assert "stopped reading" in attributes["huge"]["error"]
    text = inspector("-p", str(redis_clean.port), "show", "doubling-30", *limit)
    assert text.returncode == 0, text.stderr
    assert b"(the same Object[] as @id" in text.stdout
    assert len(text.stdout) < 20_000_000


def test_one_budget_for_the_whole_session(redis_clean: RedisServer) -> None:
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    ints = MAGIC + b"\x75" + b"\x72" + _utf("[I") + struct.pack(">qbH", 1, 0x02, 0) + b"\x78\x70"
    ints += struct.pack(">i", 100_000) + struct.pack(">100000i", *range(100_000))
    _store(client, "budget-30", {f"ints{i:02d}": ints for i in range(30)})
    client.close()
    shown = inspector("-p", str(redis_clean.port), "show", "budget-30", "--json")
    assert shown.returncode == 0, shown.stderr
    attributes = json.loads(shown.stdout)["attributes"]
    total = sum(count_values(a["value"]) for a in attributes.values())
    assert total <= SESSION_MAX_NODES + 30 * 1_100
    assert any("session's budget" in (a["error"] or "") for a in attributes.values())
    assert all(a["value"]["@items"] for a in attributes.values())  # each still shows some
