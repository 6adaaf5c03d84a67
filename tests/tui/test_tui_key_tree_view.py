"""KeyTreeView keeps its scrollbar and scrolling right while its lines change without
asking Textual for a layout of the screen (the Keys tab's 20 ms budget)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from inspector.core.keyspace import KeyIndex, KeyTree
from inspector.tui.widgets.key_tree import KeyFacts, KeyTreeView, TreeRows


def scrollbar(view: KeyTreeView) -> bool:
    """The vertical scrollbar is shown (a call: mypy keeps no narrowing across it)."""
    return view.show_vertical_scrollbar


class OneTree(App[None]):
    def __init__(self, rows: TreeRows) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield KeyTreeView(self.rows, KeyFacts(), delimiter=lambda: b":")


async def test_lines_coming_and_going_move_the_scrollbar_and_the_scroll_range() -> None:
    index = KeyIndex()
    index.add([b"a", b"b"])
    rows = TreeRows(KeyTree(index), page=100)
    rows.reset()
    app = OneTree(rows)
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(KeyTreeView)
        view.sync()
        await pilot.pause()
        assert not scrollbar(view)
        assert view.max_scroll_y == 0
        index.add(b"big:%04d" % i for i in range(300))
        rows.reset()
        rows.expand(rows.index_of(b"big:") or 0)
        view.sync()
        await pilot.pause()
        assert view.virtual_size.height == len(rows)
        assert scrollbar(view)  # came with the lines
        assert view.max_scroll_y == len(rows) - view.scrollable_content_region.height
        view.action_jump(-1)
        await pilot.pause()
        assert view.scroll_offset.y == view.max_scroll_y
        rows.collapse(rows.index_of(b"big:") or 0)
        view.sync()
        await pilot.pause()
        assert view.virtual_size.height == len(rows) == 3
        assert not scrollbar(view)  # went with them
        assert view.scroll_offset.y == 0  # the scroll clamped to what is left
