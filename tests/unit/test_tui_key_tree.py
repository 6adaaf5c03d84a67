"""The Keys tab's lines: folders opened and closed, pages read on demand, rebuilt
after a scan keeping what was open, and the facts' ticking TTLs (no terminal)."""

from __future__ import annotations

from inspector.core.keyspace import KeyIndex, KeyTree
from inspector.redis_io.keys import KeyInfo
from inspector.tui.widgets.key_tree import KeyFacts, TreeRows, compact_bytes, countdown, layout


def tree() -> KeyTree:
    index = KeyIndex()
    index.add(b"big:%04d" % i for i in range(450))
    index.add([b"a:x:1", b"a:x:2", b"a:y", b"solo"])
    return KeyTree(index)


def paths(rows: TreeRows) -> list[bytes | None]:
    return [row.node.path if row.node else None for row in rows.rows]


def test_open_close_and_pages() -> None:
    rows = TreeRows(tree(), page=100)
    rows.reset()
    assert paths(rows) == [b"a:", b"big:", b"solo"]
    assert [row.node.key_count for row in rows.rows if row.node] == [3, 450, 1]
    assert rows.expand(1)
    assert len(rows) == 3 + 100 + 1  # a page and its "… more" line
    more = rows.rows[102]
    assert more.is_more
    assert more.parent == b"big:"
    assert rows.load_more(102)
    assert rows.rows[102].node is not None
    assert rows.rows[102].node.path == b"big:0100"
    assert rows.parent_index(150) == 1
    assert rows.expand(0)  # a: above big: — the lines below move down
    assert paths(rows)[:4] == [b"a:", b"a:x:", b"a:y", b"big:"]
    assert rows.expand(1)
    assert paths(rows)[:6] == [b"a:", b"a:x:", b"a:x:1", b"a:x:2", b"a:y", b"big:"]
    assert rows.collapse(0)
    assert paths(rows)[:2] == [b"a:", b"big:"]
    assert b"a:x:" not in rows.expanded  # closing a folder closes what is under it


def test_rebuild_keeps_open_folders_and_loaded_pages() -> None:
    keys = tree()
    rows = TreeRows(keys, page=100)
    rows.reset()
    rows.expand(1)
    rows.load_more(102)
    loaded = len(rows)
    keys.index.add([b"big:9999", b"b:new"])
    rows.rebuild()
    assert len(rows) == loaded + 1  # the new root folder b:; big: still shows 200 children
    assert rows.index_of(b"b:") == 1
    assert rows.rows[2].expanded
    assert rows.rows[2].node is not None
    assert rows.rows[2].node.key_count == 451


def test_facts_tick_and_expire() -> None:
    now = [1000.0]
    facts = KeyFacts(clock=lambda: now[0], kept=2)
    facts.put([KeyInfo(b"k", "string", 90_000, 3, "embstr")])
    fact = facts.get(b"k")
    assert fact is not None
    assert countdown(facts.ttl_left(fact)) == "1:30"
    now[0] += 30
    assert countdown(facts.ttl_left(fact)) == "1:00"
    assert facts.stale([b"k", b"other"], 60_000) == [b"other"]
    now[0] += 61
    assert facts.stale([b"k"], 120_000) == [b"k"]  # its TTL ran out: read again
    facts.put([KeyInfo(b"a", "hash", None, 1, None), KeyInfo(b"b", "set", None, 1, None)])
    assert facts.get(b"k") is None  # only the last `kept` are remembered


def test_formats_and_layout() -> None:
    assert countdown(None) == "-"
    assert countdown(3_600_000) == "1h00"
    assert countdown(90_000_000) == "1d01h"
    assert compact_bytes(512) == "512B"
    assert compact_bytes(12_600) == "12.3K"
    name, columns = layout(78)
    assert [c.title for c in columns] == ["TYPE", "TTL", "LEN", "SIZE", "ENCODING"]
    assert name == 78 - sum(c.width + 1 for c in columns)
    name, columns = layout(50)
    assert "ENCODING" not in [c.title for c in columns]
    assert name >= 24
