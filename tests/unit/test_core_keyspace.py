"""The key index and tree (pure): compared with a plain sorted list, on any input."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import keyspace
from inspector.core.keyspace import KeyIndex, KeyTree, TreeNode, prefix_upper_bound

names = st.lists(
    st.lists(st.sampled_from([b"a", b"b", b":", b"\xff", b"\x00", b"zz", b"::"]), max_size=6).map(
        b"".join
    ),
    max_size=60,
)


def naive_children(keys: list[bytes], prefix: bytes, delimiter: bytes) -> list[TreeNode]:
    out: list[TreeNode] = []
    seen: dict[bytes, int] = {}
    for key in sorted(set(keys)):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix))
        if cut < 0:
            out.append(TreeNode(key[len(prefix) :], key, True, 1))
        else:
            folder = key[: cut + len(delimiter)]
            if folder not in seen:
                seen[folder] = len(out)
                out.append(TreeNode(key[len(prefix) : cut], folder, False, 0))
            node = out[seen[folder]]
            out[seen[folder]] = TreeNode(node.name, node.path, False, node.key_count + 1)
    return out


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny chunks and merge thresholds: every path (split, merge, waiting keys) runs.
    monkeypatch.setattr(keyspace, "_CHUNK_MAX", 4)
    monkeypatch.setattr(keyspace, "_PENDING_MIN", 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(names, max_size=6), st.sampled_from([b":", b"::", b"a"]))
def test_index_and_tree_match_a_sorted_list(batches: list[list[bytes]], delimiter: bytes) -> None:
    index = KeyIndex()
    everything: list[bytes] = []
    for batch in batches:
        index.add(batch)
        everything += batch
        expected = sorted(set(everything))
        # peek answers as seek would, from the waiting keys too, merging nothing.
        for probe in [b"", b"a", b"b:", b"\xff\xff", *batch]:
            at = bisect_left(expected, probe)
            assert index.peek(probe) == (expected[at] if at < len(expected) else None)
        assert list(index.iter_from()) == expected
    expected = sorted(set(everything))
    assert len(index) == len(expected)
    tree = KeyTree(index, delimiter)
    for prefix in [b"", b"a", b"a:", b"b:", b"\xff", *expected[:5]]:
        assert index.count_prefix(prefix) == sum(1 for k in expected if k.startswith(prefix))
        assert tree.children(prefix, limit=1000) == naive_children(expected, prefix, delimiter)
        # Paging gives the same children, a page at a time.
        paged: list[TreeNode] = []
        page = tree.children(prefix, limit=2)
        while page:
            paged += page
            page = tree.children(prefix, after=page[-1], limit=2)
        assert paged == naive_children(expected, prefix, delimiter)
    for probe in [b"", b"a", b"b:", b"\xff\xff", *expected]:
        at = bisect_left(expected, probe)
        assert index.seek(probe) == (expected[at] if at < len(expected) else None)
        assert list(index.iter_from(probe)) == expected[at:]
        assert (probe in index) == (probe in expected)


def test_upper_bound() -> None:
    assert prefix_upper_bound(b"user:") == b"user;"
    assert prefix_upper_bound(b"a\xff") == b"b"
    assert prefix_upper_bound(b"\xff\xff") is None


def test_tree_of_sessions() -> None:
    index = KeyIndex()
    index.add(
        [
            b"spring:session:sessions:1",
            b"spring:session:sessions:2",
            b"spring:session:sessions:expires:1",
            b"spring:session:expirations:123",
            b"user:1",
            b"user",
        ]
    )
    tree = KeyTree(index)
    assert tree.children() == [
        TreeNode(b"spring", b"spring:", False, 4),
        TreeNode(b"user", b"user", True, 1),
        TreeNode(b"user", b"user:", False, 1),
    ]
    sessions = tree.children(b"spring:session:sessions:")
    assert [node.name for node in sessions] == [b"1", b"2", b"expires"]
    assert tree.count(b"spring:session:") == 4
    assert KeyTree(index, b"/").children() == [
        TreeNode(key, key, True, 1) for key in sorted(set(index.iter_from()))
    ]
    assert tree.keys(b"spring:", limit=2) == [
        b"spring:session:expirations:123",
        b"spring:session:sessions:1",
    ]
    with pytest.raises(ValueError, match="delimiter"):
        KeyTree(index, b"")


def test_duplicates_from_scan_are_counted_once() -> None:
    index = KeyIndex()
    index.add([b"a", b"b", b"a"])
    index.add([b"b", b"c"])
    assert index.size >= 3
    assert len(index) == 3
    assert index.size == 3


def test_merged_counts_are_lower_bounds_and_steps_flush() -> None:
    index = KeyIndex()
    tree = KeyTree(index)
    for start in range(0, 20_000, 1000):
        index.add(b"a:%05d" % i for i in range(start, start + 1000))
        index.add([b"b:%05d" % start])
        merged = index.count_merged(b"a:", b"a;")
        assert 0 <= merged <= index.count(b"a:", b"a;")
        rough = tree.children(exact=False)
        assert [node.path for node in rough] == [b"a:", b"b:"]
        for probe in (b"", b"a:00500", b"a:%05d" % (start + 999), b"a;", b"b:", b"c"):
            assert index.peek(probe) == index.seek(probe)
        assert all(node.key_count >= 1 for node in rough)
    index.add([b"a:%05d" % i for i in range(20_000, 20_010)])
    steps = 0
    while index.merge_step():
        steps += 1
    assert index.count_merged(b"a:", b"a;") == index.count(b"a:", b"a;") == 20_010
    assert index.count_merged(b"", None) == len(index) == 20_030
    assert [node.key_count for node in tree.children(exact=False)] == [20_010, 20]


def test_discard() -> None:
    index = KeyIndex()
    index.add([b"a:1", b"a:2", b"b:1"])
    index.add([b"c:%d" % i for i in range(20)])
    assert index.discard(b"a:2")
    assert not index.discard(b"a:2")
    assert not index.discard(b"zzz")
    assert list(index.iter_from()) == sorted([b"a:1", b"b:1", *(b"c:%d" % i for i in range(20))])
    for key in list(index.iter_from()):
        assert index.discard(key)
    assert len(index) == 0
    assert index.seek(b"") is None
    index.add([b"again"])
    assert list(index.iter_from()) == [b"again"]
