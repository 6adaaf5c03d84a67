"""ValueTree and RawView in a tiny host app (Textual pilot), plus their pure helpers."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets.tree import TreeNode

from inspector.core.decoders import decode_value
from inspector.core.render import format_time
from inspector.core.values import Decoded, JsonValue, ValueFormat
from inspector.redis_io.redis_cli import quote
from inspector.tui.widgets.raw_view import (
    ESCAPE_STEP,
    RawView,
    hex_dump,
    hex_dump_line,
    wrap_escaped,
)
from inspector.tui.widgets.value_tree import (
    EXPAND_ALL_BUDGET,
    ValueEntry,
    ValueTree,
    value_as_text,
)
from tests.spring_layouts import JVM, jvm_fixture

ROLES = {
    "value-tree--key",
    "value-tree--class",
    "value-tree--meta",
    "value-tree--string",
    "value-tree--number",
    "value-tree--keyword",
    "value-tree--scalar",
    "value-tree--note",
    "value-tree--error",
}
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class TreeApp(App[None]):
    """Hosts one ValueTree; dates in UTC so labels do not depend on the machine."""

    def __init__(
        self, label: str, decoded: Decoded, *, tz: dt.tzinfo | None = dt.UTC, expand_depth: int = 2
    ) -> None:
        super().__init__()
        self.animation_level = "none"
        self._args = (label, decoded, tz, expand_depth)

    def compose(self) -> ComposeResult:
        label, decoded, tz, expand_depth = self._args
        yield ValueTree(label, decoded, tz=tz, expand_depth=expand_depth, id="tree")

    @property
    def value_tree(self) -> ValueTree:
        return self.query_one(ValueTree)


class RawApp(App[None]):
    """Hosts one RawView."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.animation_level = "none"
        self._data = data

    def compose(self) -> ComposeResult:
        yield RawView(self._data, id="raw")

    @property
    def view(self) -> RawView:
        return self.query_one(RawView)


def label_text(node: TreeNode[ValueEntry]) -> str:
    label = node.label
    assert isinstance(label, Text)
    return label.plain


def visible_labels(tree: ValueTree) -> list[str]:
    """The label of every line the tree currently shows, top to bottom."""
    labels = []
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        assert node is not None
        labels.append(label_text(node))
    return labels


def all_nodes(node: TreeNode[ValueEntry]) -> list[TreeNode[ValueEntry]]:
    found = [node]
    for child in node.children:
        found.extend(all_nodes(child))
    return found


def find(tree: ValueTree, prefix: str) -> TreeNode[ValueEntry]:
    for node in all_nodes(tree.root):
        if label_text(node).startswith(prefix):
            return node
    raise AssertionError(f"no node starting with {prefix!r} in {visible_labels(tree)}")


def split_rows(text: str, starts: list[int]) -> list[str]:
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def screen_rows(widget: ValueTree | RawView) -> list[str]:
    return [
        "".join(segment.text for segment in widget.render_line(y))
        for y in range(widget.size.height)
    ]


# --- ValueTree --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("bin/sample_session.bin", "sample  java · SampleSession · 212 B"),
        ("jackson/everything_sample_session.json", "sample  jackson · SampleSession · 155 B"),
    ],
)
async def test_sample_session_shows_class_fields_and_a_readable_date(path: str, root: str) -> None:
    app = TreeApp("sample", decode_value((JVM / path).read_bytes()))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert visible_labels(app.value_tree) == [
            root,
            "SampleSession  (org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession)",
            'host: "c95883d5424d"',
            "lastUpdatedAt: 2019-03-09 10:57:54.569 +0000  (Date, 1552129074569)",
        ]


async def test_dates_default_to_local_time() -> None:
    app = TreeApp("sample", decode_value(jvm_fixture("sample_session")), tz=None)
    async with app.run_test() as pilot:
        await pilot.pause()
        label = label_text(find(app.value_tree, "lastUpdatedAt"))
        assert label == f"lastUpdatedAt: {format_time(1552129074569)}  (Date, 1552129074569)"


async def test_security_context_opens_to_the_principal_and_authorities() -> None:
    # issue 16.4: the token, its principal's name and the roles show without a key.
    app = TreeApp("SPRING_SECURITY_CONTEXT", decode_value(jvm_fixture("security_context")))
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        labels = visible_labels(tree)
        assert 'username: "alice"' in labels
        assert "principal: User  (org.springframework.security.core.userdetails.User)" in labels
        assert labels.count('role: "ROLE_ADMIN"') == 1  # the token's, not the principal's copy
        assert 'role: "ROLE_USER"' in labels
        # The details and the principal's own authorities stay shut.
        assert not find(tree, "details: ").is_expanded
        assert not find(tree, "authorities: Collections$UnmodifiableSet").is_expanded
        tree.move_cursor(find(tree, "username: "))
        assert tree.selected_text() == "alice"


async def test_right_and_left_expand_and_collapse_the_node_under_the_cursor() -> None:
    app = TreeApp("SPRING_SECURITY_CONTEXT", decode_value(jvm_fixture("security_context")))
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        tree.focus()
        details = find(tree, "details: ")
        # Collapsed levels have no nodes yet: they are made on expansion.
        assert len(details.children) == 0
        tree.move_cursor(details)
        await pilot.press("right")
        await pilot.pause()
        assert details.is_expanded
        assert 'remoteAddress: "203.0.113.7"' in visible_labels(tree)
        assert tree.scroll_x == 0  # → no longer scrolls sideways
        await pilot.press("right")  # open already: to its first child
        assert tree.cursor_node is details.children[0]
        await pilot.press("left")  # a leaf: to its parent
        assert tree.cursor_node is details
        await pilot.press("left")
        await pilot.pause()
        assert not find(tree, "details: ").is_expanded  # (a new name: mypy narrowed the old)
        assert 'remoteAddress: "203.0.113.7"' not in visible_labels(tree)


@pytest.mark.parametrize("key", ["asterisk", "shift+right"])
async def test_star_and_shift_right_expand_the_whole_subtree(key: str) -> None:
    app = TreeApp("SPRING_SECURITY_CONTEXT", decode_value(jvm_fixture("security_context")))
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        tree.focus()
        principal = find(tree, "principal: ")
        tree.move_cursor(principal)
        await pilot.press(key)
        await pilot.pause()
        inner = find(tree, "authorities: Collections$UnmodifiableSet")
        assert inner.is_expanded
        assert all(child.is_expanded for child in inner.children)
        assert not find(tree, "details: ").is_expanded  # outside the subtree
        tree.move_cursor(tree.root)
        await pilot.press(key)
        await pilot.pause()
        assert all(n.is_expanded for n in all_nodes(tree.root) if n.allow_expand)
        assert 'sessionId: "e1237df7-5646-4382-aa12-41435ed09dc7"' in visible_labels(tree)


async def test_expand_all_on_a_huge_list_stops_at_its_budget() -> None:
    items = ",".join(f'{{"a":{{"b":{i}}}}}' for i in range(5000))
    app = TreeApp("big", decode_value(f"[{items}]".encode()))
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        tree.focus()
        tree.move_cursor(tree.root)
        await pilot.press("asterisk")
        await pilot.pause()
        assert len(all_nodes(tree.root)) < 4 * EXPAND_ALL_BUDGET


async def test_cycle_hash_map_and_write_object_data() -> None:
    cases = {
        "cycle_list": [
            "ArrayList (2 items)",
            '[0]: "a"',
            "[1]: (cycle: back to ArrayList)",
        ],
        "hash_map": [
            "HashMap (4 entries)",
            "maxInactiveInterval: 1800",
            "creationTime: 1552128921707",
            "admin: false",
            'user: "alice"',
        ],
        "hash_map_int_keys": ["HashMap (2 entries)", '1: "one"', '20: "twenty"'],
        "custom_write_object": [
            "CustomData  (com.example.model.CustomData)",
            'name: "custom"',
            "(writeObject data): list (4 items)",
        ],
    }
    for name, expected in cases.items():
        app = TreeApp("attr", decode_value(jvm_fixture(name)))
        async with app.run_test() as pilot:
            await pilot.pause()
            assert visible_labels(app.value_tree)[1:] == expected, name
    app = TreeApp("attr", decode_value(jvm_fixture("custom_write_object")), expand_depth=3)
    async with app.run_test() as pilot:
        await pilot.pause()
        labels = visible_labels(app.value_tree)
        assert "[0]: hex 0000002a00056578747261" in labels
        assert "[3]: 2019-03-09 10:57:54.569 +0000  (Date, 1552129074569)" in labels


async def test_binary_undecodable_and_empty_values_show_preview_hex_and_note() -> None:
    png = decode_value(b"\x89PNG\r\n\x1a\n\x00\x01")
    assert png.format is ValueFormat.BINARY
    truncated = decode_value(b"\xac\xed\x00\x05sr\x00\x0ejava.lang.Lo")
    assert truncated.format is ValueFormat.UNDECODABLE
    assert truncated.error

    app = TreeApp("blob", png)
    async with app.run_test() as pilot:
        await pilot.pause()
        labels = visible_labels(app.value_tree)
        assert labels[0] == "blob  binary · 10 B"
        assert labels[1] == 'text: "\\x89PNG\\r\\n\\x1a\\n\\x00\\x01"'
        assert labels[2] == "hex:  89 50 4e 47 0d 0a 1a 0a 00 01"
        assert labels[3:] == ([f"note: {png.error}"] if png.error else [])

    app = TreeApp("broken", truncated)
    async with app.run_test() as pilot:
        await pilot.pause()
        labels = visible_labels(app.value_tree)
        assert labels[0] == "broken  undecodable · 20 B"
        assert labels[1] == 'text: "\\xac\\xed\\x00\\x05sr\\x00\\x0ejava.lang.Lo"'
        assert labels[2].startswith("hex:  ac ed 00 05 73 72 00 0e 6a 61")
        assert labels[3] == f"note: {truncated.error}"
        app.value_tree.move_cursor(find(app.value_tree, "hex:"))
        assert app.value_tree.selected_text() == truncated.hex

    app = TreeApp("gone", decode_value(b""))
    async with app.run_test() as pilot:
        await pilot.pause()
        assert visible_labels(app.value_tree) == [
            "gone  empty · 0 B",
            "(empty: removed attribute, shadow key or null)",
        ]


HOSTILE = "[bold red]x[/] \x1b[2J \x00 \u202eevil"
HOSTILE_SHOWN = "[bold red]x[/] \\x1b[2J \\x00 \\u202eevil"


def hostile_value() -> bytes:
    return json.dumps(
        {
            "@class": "com.evil.\x1b[2JBad",
            "[b]key\x1b[31m": HOSTILE,
            "list": ["java.util.ArrayList", [HOSTILE]],
        }
    ).encode()


async def test_hostile_strings_are_escaped_and_never_markup() -> None:
    decoded = decode_value(hostile_value())
    assert decoded.format is ValueFormat.JACKSON
    app = TreeApp("[red]name\x1b[0m", decoded, expand_depth=3)
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        nodes = all_nodes(tree.root)
        labels = [label_text(node) for node in nodes]
        assert labels[0].startswith("[red]name\\x1b[0m  jackson · \\x1b[2JBad · ")
        assert labels[1] == "\\x1b[2JBad  (com.evil.\\x1b[2JBad)"
        assert f'[b]key\\x1b[31m: "{HOSTILE_SHOWN}"' in labels
        assert f'[0]: "{HOSTILE_SHOWN}"' in labels
        for node in nodes:
            label = node.label
            # Plain Text whose only styles are the widget's roles: no markup was parsed.
            assert isinstance(label, Text)
            assert {span.style for span in label.spans} <= ROLES
            assert not UNSAFE.search(label.plain)
        # What reaches the terminal: no raw ESC, NUL or bidi override, brackets intact.
        rows = screen_rows(tree)
        assert any(f'"{HOSTILE_SHOWN}"' in row for row in rows)
        for row in rows:
            assert not UNSAFE.search(row)
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot
        assert "\x00" not in screenshot
        assert "\u202e" not in screenshot
        # Copies are escaped too (render leaves simple class names raw).
        for line in value_as_text(decoded).splitlines():
            assert not UNSAFE.search(line)
        tree.move_cursor(find(tree, "[0]: "))
        assert tree.selected_text() == HOSTILE_SHOWN
        # Even a str label from app code is taken literally.
        added = tree.root.add_leaf("[bold]literal[/bold] \x1b[2J")
        assert label_text(added) == "[bold]literal[/bold] \\x1b[2J"


async def test_selected_text_copies_values() -> None:
    decoded = decode_value(jvm_fixture("sample_session"))
    app = TreeApp("sample", decoded)
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        assert tree.selected_text() == value_as_text(decoded, dt.UTC)  # cursor on the root
        assert value_as_text(decoded, dt.UTC).splitlines()[1:] == [
            "  SampleSession  (org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession)",
            '    host: "c95883d5424d"',
            "    lastUpdatedAt: 2019-03-09 10:57:54.569 +0000  (Date, 1552129074569)",
        ]
        tree.move_cursor(find(tree, "host: "))
        assert tree.selected_text() == "c95883d5424d"
        tree.move_cursor(find(tree, "lastUpdatedAt: "))
        assert tree.selected_text() == "2019-03-09 10:57:54.569 +0000  (Date, 1552129074569)"
        tree.move_cursor(find(tree, "SampleSession  ("))
        assert tree.selected_text().splitlines()[1] == '  host: "c95883d5424d"'


async def test_set_value_reuses_the_widget() -> None:
    app = TreeApp("sample", decode_value(jvm_fixture("sample_session")))
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        tree.set_value("map", decode_value(jvm_fixture("hash_map")))
        await pilot.pause()
        assert visible_labels(tree)[:2] == ["map  java · HashMap · 313 B", "HashMap (4 entries)"]
        assert len(all_nodes(tree.root)) == 6


async def test_100k_item_list_is_shown_500_items_at_a_time() -> None:
    items: list[JsonValue] = list(range(100_000))
    decoded = Decoded(
        ValueFormat.JAVA,
        {"@class": "java.util.ArrayList", "@items": items},
        size=1_000_000,
        java_class="java.util.ArrayList",
    )
    app = TreeApp("big", decoded)
    async with app.run_test() as pilot:
        await pilot.pause()
        tree = app.value_tree
        tree.focus()
        labels = visible_labels(tree)
        assert labels[:3] == [
            "big  java · ArrayList · 1000000 B",
            "ArrayList (100000 items)",
            "[0]: 0",
        ]
        assert labels[-2:] == ["[499]: 499", "… 99,500 more (select to show 500)"]
        assert len(labels) == 503
        await pilot.press("down", "down")
        assert tree.cursor_line == 2
        assert tree.selected_text() == "0"
        await pilot.press("end", "enter")
        await pilot.pause()
        labels = visible_labels(tree)
        assert labels[-2:] == ["[999]: 999", "… 99,000 more (select to show 500)"]
        assert tree.cursor_node is not None
        assert label_text(tree.cursor_node) == "[500]: 500"


# --- RawView ----------------------------------------------------------------------

XXD_INPUT = b"Hello, world!\n\x00\x01\xff\x7f ~abcdefghijklmno"
# `printf 'Hello, world!\n\x00\x01\xff\x7f ~abcdefghijklmno' | xxd`
XXD_OUTPUT = [
    "00000000: 4865 6c6c 6f2c 2077 6f72 6c64 210a 0001  Hello, world!...",
    "00000010: ff7f 207e 6162 6364 6566 6768 696a 6b6c  .. ~abcdefghijkl",
    "00000020: 6d6e 6f                                  mno",
]


def test_hex_dump_matches_xxd() -> None:
    assert list(hex_dump(XXD_INPUT)) == XXD_OUTPUT
    assert hex_dump_line(XXD_INPUT, 32) == XXD_OUTPUT[2]
    assert list(hex_dump(b"")) == []


async def test_raw_view_rows() -> None:
    app = RawApp(XXD_INPUT)
    async with app.run_test(size=(80, 12)) as pilot:
        await pilot.pause()
        rows = [row.rstrip() for row in screen_rows(app.view)]
        assert rows[:8] == [
            "redis-cli · 35 B",
            '"Hello, world!\\n\\x00\\x01\\xff\\x7f ~abcdefghijklmno"',
            "",
            "hex",
            *XXD_OUTPUT,
            "",
        ]


async def test_raw_view_escapes_hostile_bytes_and_wraps_without_splitting_escapes() -> None:
    data = HOSTILE.encode() * 4 + b"\\" * 7
    app = RawApp(data)
    async with app.run_test(size=(30, 24)) as pilot:
        await pilot.pause()
        view = app.view
        escaped = quote(data).decode("ascii")
        assert view.escaped == escaped
        width = view.scrollable_content_region.width
        rows = screen_rows(view)
        wrapped = split_rows(escaped, wrap_escaped(escaped, 32))
        assert width < 32  # narrower than the minimum wrap: the view scrolls sideways
        assert [row.rstrip() for row in rows[1 : 1 + len(wrapped)]] == [
            line[:width].rstrip() for line in wrapped
        ]
        for row in rows:
            assert not UNSAFE.search(row)
        assert "[bold red]x[/]" in "".join(rows)


async def test_raw_view_set_data() -> None:
    app = RawApp(b"first")
    async with app.run_test() as pilot:
        await pilot.pause()
        app.view.set_data(b"\x00second")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = screen_rows(app.view)
        assert rows[1].rstrip() == '"\\x00second"'
        assert rows[4].rstrip() == "00000000: 0073 6563 6f6e 64                        .second"


async def test_raw_view_set_data_in_quick_succession_shows_the_last() -> None:
    app = RawApp(b"")
    async with app.run_test() as pilot:
        values = [bytes([byte]) * (ESCAPE_STEP * 2) for byte in (0, 0x41, 0x5C)]
        for data in values:  # large: each is escaped by a worker; superseded ones stop early
            app.view.set_data(data)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.view.escaped == quote(values[-1]).decode("ascii")
        assert app.view.text_for_copy() == app.view.escaped
        assert screen_rows(app.view)[1].startswith('"' + "\\\\" * 10)


async def test_one_megabyte_raw_view_mounts_and_scrolls() -> None:
    data = random.Random(5).randbytes(1 << 20)
    unmounted = RawView(data)
    assert unmounted.escaped is None  # large values are escaped in steps, once mounted...
    assert unmounted.text_for_copy() == quote(data).decode("ascii")  # ...or at once for a copy
    app = RawApp(data)
    async with app.run_test(size=(80, 24)) as pilot:
        view = app.view
        view.focus()
        await pilot.press("pagedown")  # handled while the escaping runs
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert view.escaped == quote(data).decode("ascii")
        assert view.text_for_copy() == view.escaped
        await pilot.press("end")
        await pilot.pause()
        rows = [row.rstrip() for row in screen_rows(view)]
        assert rows[-1] == hex_dump_line(data, (1 << 20) - 16)
        assert rows[-2] == hex_dump_line(data, (1 << 20) - 32)


ESCAPE_TOKENS = re.compile(r"(?:\\x[0-9a-f]{2}|\\[^x]|[^\\])*")


@given(st.binary(max_size=400), st.integers(min_value=4, max_value=90))
def test_wrap_never_splits_an_escape(data: bytes, width: int) -> None:
    text = quote(data).decode("ascii")
    rows = split_rows(text, wrap_escaped(text, width))
    assert "".join(rows) == text
    for row in rows[:-1]:
        assert width - 3 <= len(row) <= width
        assert ESCAPE_TOKENS.fullmatch(row)
    assert len(rows[-1]) <= width


# --- snapshots --------------------------------------------------------------------


def test_value_tree_snapshot(snap_compare: Callable[..., bool]) -> None:
    app = TreeApp(
        "SPRING_SECURITY_CONTEXT", decode_value(jvm_fixture("security_context")), expand_depth=4
    )
    assert snap_compare(app, terminal_size=(80, 24))


def test_raw_view_snapshot(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(RawApp(jvm_fixture("sample_session")), terminal_size=(80, 24))
