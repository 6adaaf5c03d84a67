r"""The keyspace as a tree by a delimiter: a virtual list of folders and keys.

A million keys never become a million widgets, nor a million rows: the lines
are the children of the *expanded* folders only, read from the
:class:`~inspector.core.keyspace.KeyTree` a page at a time (a "… more" line
ends a folder that has more), and the widget paints only the lines on screen
(Line API). Expanding a folder of 600,000 keys costs one page.

Per key the line shows its type, TTL (ticking from when it was read), length,
encoding and, once asked for, its ``MEMORY USAGE``; these facts live with the
pane (:class:`KeyFacts`), fetched for the visible lines only.

Names are bytes from Redis: they are shown through
:func:`~inspector.core.render.safe_text` (control characters escaped) and
never parsed as markup.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from inspector.core.keyspace import KeyTree, TreeNode, prefix_upper_bound
from inspector.core.listing import countdown
from inspector.core.render import safe_text
from inspector.redis_io.keys import KeyInfo, MemoryUsage
from inspector.tui.widgets.cursor_keys import CURSOR_BINDINGS

__all__ = [
    "KeyFacts",
    "KeyTreeView",
    "TreeRow",
    "TreeRows",
    "compact_bytes",
    "countdown",  # core.listing's: a key's TTL reads as a session's in `ls`
    "key_text",
]

PAGE = 200
"""Children read per page of a folder."""
KEEP_LOADED = 2000
"""A rebuild (after the scan, a new delimiter) re-reads at most this many children per folder."""
FACTS_KEPT = 4096
"""Keys whose facts are remembered (least recently shown dropped first)."""


def key_text(name: bytes) -> str:
    r"""A key name (or a segment of one) as safe text: invalid UTF-8 as ``\\xNN``."""
    return safe_text(name.decode("utf-8", "backslashreplace"))


def compact_bytes(size: int) -> str:
    """Bytes as ``512B``, ``12.3K``, ``4.5M``, ``1.2G``."""
    value = float(size)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{int(value)}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{size}B"  # pragma: no cover - the loop always returns


def _compact_count(count: int) -> str:
    if count < 1_000_000:
        return f"{count:,}"
    return f"{count / 1_000_000:.1f}M"


@dataclass(slots=True)
class TreeRow:
    """One line: a folder, a key, or the "… more" line closing a folder's loaded page(s)."""

    depth: int
    node: TreeNode | None
    """``None`` for a "… more" line."""
    parent: bytes
    """The folder this line belongs to (``b""``: the root)."""
    expanded: bool = False
    after: TreeNode | None = None
    """For a "… more" line: the last child loaded before it."""

    @property
    def is_more(self) -> bool:
        """The "… more" line of a folder."""
        return self.node is None


class TreeRows:
    """The lines of a key tree: the root's children, and those of every expanded folder.

    Args:
        tree: The folder view (its index may still be growing: a scan).
        page: Children read per page.
    """

    def __init__(self, tree: KeyTree, page: int = PAGE) -> None:
        self.tree = tree
        self.page = page
        self.rows: list[TreeRow] = []
        self.expanded: set[bytes] = set()
        self.exact = True
        """Exact folder counts; ``False`` while a scan runs (lower bounds, no merging)."""

    def __len__(self) -> int:
        return len(self.rows)

    def _read(self, prefix: bytes, depth: int, want: int, after: TreeNode | None) -> list[TreeRow]:
        """Up to ``want`` children of ``prefix`` after ``after``; a "more" line if any remain."""
        out: list[TreeRow] = []
        while True:
            step = min(self.page, want - len(out))
            nodes = self.tree.children(prefix, after=after, limit=step + 1, exact=self.exact)
            more = len(nodes) > step
            nodes = nodes[:step]
            out.extend(TreeRow(depth, node, prefix) for node in nodes)
            if nodes:
                after = nodes[-1]
            if not more:
                return out
            if len(out) >= want:
                out.append(TreeRow(depth, None, prefix, after=after))
                return out

    def rebuild(self) -> None:
        """Read every line again (new keys, new counts), keeping what was expanded and loaded."""
        loaded: dict[bytes, int] = {}
        for row in self.rows:
            if not row.is_more:
                loaded[row.parent] = loaded.get(row.parent, 0) + 1
        rows: list[TreeRow] = []

        def fill(prefix: bytes, depth: int) -> None:
            want = max(self.page, min(loaded.get(prefix, 0), KEEP_LOADED))
            for row in self._read(prefix, depth, want, None):
                rows.append(row)
                node = row.node
                if node is not None and not node.is_key and node.path in self.expanded:
                    row.expanded = True
                    fill(node.path, depth + 1)

        fill(b"", 0)
        self.rows = rows

    def reset(self, tree: KeyTree | None = None) -> None:
        """Start over from the root, all folders closed (a new scan or delimiter)."""
        if tree is not None:
            self.tree = tree
        self.expanded.clear()
        self.rows = []
        self.rebuild()

    def expand(self, index: int) -> bool:
        """Open the folder at ``index`` (its first page). Returns whether anything changed."""
        row = self.rows[index]
        node = row.node
        if node is None or node.is_key or row.expanded:
            return False
        row.expanded = True
        self.expanded.add(node.path)
        self.rows[index + 1 : index + 1] = self._read(node.path, row.depth + 1, self.page, None)
        return True

    def collapse(self, index: int) -> bool:
        """Close the folder at ``index`` and everything under it."""
        row = self.rows[index]
        node = row.node
        if node is None or not row.expanded:
            return False
        end = index + 1
        while end < len(self.rows) and self.rows[end].depth > row.depth:
            end += 1
        del self.rows[index + 1 : end]
        row.expanded = False
        path = node.path
        self.expanded = {p for p in self.expanded if not p.startswith(path)}
        return True

    def load_more(self, index: int) -> bool:
        """Replace the "… more" line at ``index`` with the folder's next page."""
        row = self.rows[index]
        if not row.is_more:
            return False
        self.rows[index : index + 1] = self._read(row.parent, row.depth, self.page, row.after)
        return True

    def parent_index(self, index: int) -> int | None:
        """The line of the folder holding line ``index`` (``None`` at the root)."""
        depth = self.rows[index].depth
        for at in range(index - 1, -1, -1):
            if self.rows[at].depth < depth:
                return at
        return None

    def index_of(self, path: bytes) -> int | None:
        """The line showing ``path`` (a key or a folder), if loaded."""
        for at, row in enumerate(self.rows):
            if row.node is not None and row.node.path == path:
                return at
        return None

    def recount(self, start: int, end: int) -> None:
        """Fresh counts for the folders on lines ``start`` to ``end`` (while a scan grows them)."""
        index = self.tree.index
        for row in self.rows[start:end]:
            node = row.node
            if node is None or node.is_key:
                continue
            upper = prefix_upper_bound(node.path)
            count = (
                index.count(node.path, upper)
                if self.exact
                else index.count_merged(node.path, upper)
            )
            if count != node.key_count:
                row.node = TreeNode(node.name, node.path, False, max(1, count))


@dataclass(slots=True)
class _Fact:
    info: KeyInfo
    read_ms: int
    memory: MemoryUsage | None = None


@dataclass
class KeyFacts:
    """Type, TTL, length, encoding and size per key, for the keys lately on screen (bounded)."""

    clock: Callable[[], float] = time.time
    kept: int = FACTS_KEPT
    _facts: OrderedDict[bytes, _Fact] = field(default_factory=OrderedDict)

    def get(self, key: bytes) -> _Fact | None:
        """What is known of ``key``."""
        return self._facts.get(key)

    def put(self, infos: Iterable[KeyInfo]) -> None:
        """Remember freshly read facts (their TTLs tick from now)."""
        now = int(self.clock() * 1000)
        for info in infos:
            old = self._facts.pop(info.key, None)
            self._facts[info.key] = _Fact(info, now, old.memory if old else None)
        while len(self._facts) > self.kept:
            self._facts.popitem(last=False)

    def put_memory(self, keys: Iterable[bytes], usages: Iterable[MemoryUsage]) -> None:
        """Remember ``MEMORY USAGE`` answers (for keys whose facts are known)."""
        for key, usage in zip(keys, usages, strict=False):
            fact = self._facts.get(key)
            if fact is not None:
                fact.memory = usage

    def forget(self, key: bytes) -> None:
        """Drop a key's facts (it was deleted or changed)."""
        self._facts.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self._facts.clear()

    def stale(self, keys: Iterable[bytes], max_age_ms: int) -> list[bytes]:
        """The keys among ``keys`` with no facts, old facts (``max_age_ms``), or a TTL run out."""
        now = int(self.clock() * 1000)
        out: list[bytes] = []
        for key in keys:
            fact = self._facts.get(key)
            ttl = fact.info.ttl_ms if fact is not None else None
            if (
                fact is None
                or now - fact.read_ms > max_age_ms
                or (ttl is not None and ttl - (now - fact.read_ms) <= 0)
            ):
                out.append(key)
        return out

    def ttl_left(self, fact: _Fact) -> int | None:
        """Milliseconds left now, counted down from when the TTL was read."""
        if fact.info.ttl_ms is None:
            return None
        return fact.info.ttl_ms - (int(self.clock() * 1000) - fact.read_ms)


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    width: int
    right: bool
    priority: int


_COLUMNS = (
    _Column("TYPE", 6, False, 100),
    _Column("TTL", 7, True, 90),
    _Column("LEN", 7, True, 80),
    _Column("SIZE", 6, True, 60),
    _Column("ENCODING", 10, False, 40),
)
_GAP = 1
_NAME_MIN = 24


def layout(width: int) -> tuple[int, list[_Column]]:
    """The name column's width and the fact columns that fit beside it (lowest priority dropped)."""
    chosen = list(_COLUMNS)
    while chosen and width - sum(c.width + _GAP for c in chosen) < _NAME_MIN:
        chosen.remove(min(chosen, key=lambda c: c.priority))
    return width - sum(c.width + _GAP for c in chosen), chosen


def _fit(text: str, width: int, right: bool = False) -> str:
    if len(text) > width:
        text = text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


class KeyTreeView(ScrollView, can_focus=True):
    """The lines of a :class:`TreeRows`, drawn on demand, with a cursor."""

    DEFAULT_CSS = """
    KeyTreeView {
        height: 1fr;
        padding: 0 1;
        overflow-x: hidden;
    }
    KeyTreeView > .key-tree--cursor {
        background: $accent 40%;
        text-style: bold;
    }
    KeyTreeView:focus > .key-tree--cursor {
        background: $accent;
        color: $text;
    }
    KeyTreeView > .key-tree--folder {
        text-style: bold;
    }
    KeyTreeView > .key-tree--dim {
        color: $text-muted;
        text-style: italic;
    }
    """
    COMPONENT_CLASSES = {"key-tree--cursor", "key-tree--folder", "key-tree--dim"}
    BINDINGS = [
        *CURSOR_BINDINGS,
        Binding("right,l", "expand", "Open", show=False),
        Binding("left,h", "collapse", "Close", show=False),
        Binding("enter", "open", "Open"),
    ]

    cursor = reactive(0, always_update=True)

    class Opened(Message):
        """Enter (or a double click) on a key."""

        def __init__(self, key: bytes) -> None:
            super().__init__()
            self.key = key

    class Moved(Message):
        """The cursor or the scroll position changed: other keys are on screen."""

    def __init__(
        self,
        rows: TreeRows,
        facts: KeyFacts,
        *,
        delimiter: Callable[[], bytes],
        id: str | None = None,  # noqa: A002 - Textual's parameter name
    ) -> None:
        super().__init__(id=id)
        self.rows = rows
        self.facts = facts
        self._delimiter = delimiter
        self._laid_out = 78
        self.name_width, self.columns = layout(78)

    # ---------------------------------------------------------------- data

    def sync(self, keep: bytes | None = None) -> None:
        """Pick up changed lines; ``keep``: put the cursor back on this path."""
        if keep is not None:
            at = self.rows.index_of(keep)
            if at is not None:
                self.cursor = at
        size = Size(self.size.width, len(self.rows))
        if size != self.virtual_size:
            # Not through the reactive: it asks for a layout of the whole
            # screen (10-20 ms at 80x24) on every change, and this widget's
            # size does not depend on its lines. The scrollbars are updated
            # here; one coming or going asks for its layout itself.
            self.set_reactive(KeyTreeView.virtual_size, size)
            self._scroll_update(size)
        if self.cursor >= len(self.rows):
            self.cursor = max(0, len(self.rows) - 1)
        self.refresh()

    @property
    def selected(self) -> TreeRow | None:
        """The line under the cursor."""
        if 0 <= self.cursor < len(self.rows):
            return self.rows.rows[self.cursor]
        return None

    def visible_range(self) -> tuple[int, int]:
        """The first line on screen and the one after the last."""
        top = self.scroll_offset.y
        return top, min(len(self.rows), top + max(1, self.size.height))

    def visible_keys(self) -> list[bytes]:
        """The keys (not folders) on screen."""
        start, end = self.visible_range()
        return [
            row.node.path
            for row in self.rows.rows[start:end]
            if row.node is not None and row.node.is_key
        ]

    # ---------------------------------------------------------------- drawing

    def _layout(self) -> None:
        # The content width: without the padding, and without the scrollbar
        # once there are more lines than fit.
        width = max(30, self.size.width)
        if width != self._laid_out:
            self._laid_out = width
            self.name_width, self.columns = layout(width)

    def on_resize(self, event: events.Resize) -> None:
        self._layout()
        self.sync()

    def header_text(self) -> str:
        """Column titles, aligned with the lines."""
        self._layout()
        parts = [_fit("KEY", self.name_width)]
        parts += [_fit(c.title, c.width, c.right) for c in self.columns]
        return (" " * _GAP).join(parts)

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        base = self.rich_style
        if index >= len(self.rows):
            return Strip.blank(width, base)
        self._layout()
        row = self.rows.rows[index]
        style = base
        text = self._line(row)
        if row.node is None:
            style += self.get_component_rich_style("key-tree--dim")
        elif not row.node.is_key:
            style += self.get_component_rich_style("key-tree--folder")
        if index == self.cursor:
            style += self.get_component_rich_style("key-tree--cursor")
        return Strip([Segment(_fit(text, width), style)], width)

    def _line(self, row: TreeRow) -> str:
        indent = "  " * row.depth
        node = row.node
        if node is None:
            return f"{indent}  … more (Enter)"
        if not node.is_key:
            marker = "▾ " if row.expanded else "▸ "
            name = indent + marker + key_text(node.name + self._delimiter())
            count = _compact_count(node.key_count)
            unit = "key" if node.key_count == 1 else "keys"
            count = f"{count} {unit}" if self.rows.exact else f"≥{count} {unit}"
            right = sum(c.width + _GAP for c in self.columns[:3]) - _GAP
            return _fit(name, self.name_width) + " " + _fit(count, max(0, right), True)
        name = indent + "  " + key_text(node.name)
        cells = [_fit(name, self.name_width)]
        fact = self.facts.get(node.path)
        for column in self.columns:
            cells.append(_fit(self._cell(column.title, fact), column.width, column.right))
        return (" " * _GAP).join(cells)

    def _cell(self, title: str, fact: _Fact | None) -> str:
        if fact is None:
            return "…" if title == "TYPE" else ""
        info = fact.info
        if title == "TYPE":
            return info.type if info.exists else "gone"
        if title == "TTL":
            return countdown(self.facts.ttl_left(fact))
        if title == "LEN":
            return "" if info.length is None else _compact_count(info.length)
        if title == "ENCODING":
            return info.encoding or ""
        if title == "SIZE":
            if fact.memory is None:
                return ""
            if fact.memory.bytes is None:
                return "?" if fact.memory.refused else "-"
            return compact_bytes(fact.memory.bytes)
        return ""

    # ---------------------------------------------------------------- moving

    def watch_cursor(self, cursor: int) -> None:
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False)
        self.refresh()
        self.post_message(self.Moved())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.post_message(self.Moved())

    def action_cursor(self, delta: int) -> None:
        if not len(self.rows):
            return
        target = min(max(0, self.cursor + delta), len(self.rows) - 1)
        if delta > 0:
            # Passing a "… more" line going down reads the next page there:
            # paging through a big folder needs no extra key.
            rows = self.rows.rows
            passed = next(
                (at for at in range(self.cursor + 1, target + 1) if rows[at].is_more), None
            )
            if passed is not None and self.rows.load_more(passed):
                target = min(self.cursor + delta, len(self.rows) - 1)
                self.sync()
        self.cursor = target

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        if len(self.rows):
            self.cursor = 0 if where == 0 else len(self.rows) - 1

    def action_expand(self) -> None:
        row = self.selected
        if row is None or row.node is None:
            return
        if not row.node.is_key and not row.expanded:
            self.rows.expand(self.cursor)
            self.sync()
        elif row.expanded and self.cursor + 1 < len(self.rows):
            self.cursor += 1

    def action_collapse(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.expanded:
            self.rows.collapse(self.cursor)
            self.sync()
            return
        parent = self.rows.parent_index(self.cursor)
        if parent is not None:
            self.cursor = parent

    def action_open(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.node is None:
            self.rows.load_more(self.cursor)
            self.sync()
        elif row.node.is_key:
            self.post_message(self.Opened(row.node.path))
        elif row.expanded:
            self.rows.collapse(self.cursor)
            self.sync()
        else:
            self.rows.expand(self.cursor)
            self.sync()

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < len(self.rows):
            self.cursor = index
            node = self.rows.rows[index].node
            if event.chain >= 2 or node is None or not node.is_key:
                self.action_open()  # one click opens a folder; a key takes two
