"""The sessions table keeps its place (issue 16 items 1, 5): the cursor is on a session,
not on a line, through re-sorts, inserts and removals; Enter opens the one highlighted;
any column sorts, either way, shown in the header."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import Footer, OptionList

from inspector.core.changes import EventKind
from inspector.core.session import Session
from inspector.tui.app import InspectorApp
from inspector.tui.panes.sessions import SessionsPane
from inspector.tui.screens.detail import SessionDetailScreen
from inspector.tui.screens.sort import SORT_CHOICES, SortScreen
from inspector.tui.store import SortKey
from inspector.tui.widgets.session_table import SessionTable, TableHeader, table_columns
from tests.factories import NOW_MS, request_event, spring_session
from tests.tui_helpers import offline_app, settled, source_of, wait_until


def sid(n: int) -> str:
    return f"{n:08x}-5646-4382-aa12-41435ed09dc7"


def accessed(n: int, last: int, host: str = "container-1", **extra: bytes) -> Session:
    """Session ``n`` as of a request at ``last`` (epoch ms)."""
    return spring_session(sid(n), host, last, created=NOW_MS - 600_000 + n, attributes=extra)


def destroyed(app: InspectorApp, keys: list[str]) -> None:
    """These sessions expired or were deleted (the feed's DESTROYED events)."""
    source_of(app).events(
        [request_event(app.store.rows[key].id, kind=EventKind.DESTROYED) for key in keys]
    )


def parts(app: InspectorApp) -> tuple[SessionsPane, SessionTable]:
    pane = app.query_one(SessionsPane)
    return pane, pane.table


def screen_line(table: SessionTable) -> int:
    """The line of the table (from its top) the cursor is on."""
    return table.cursor - table.scroll_offset.y


async def test_the_cursor_stays_on_its_session_through_resorts_inserts_and_removals() -> None:
    # What the issue saw: in the default order (last access) with live traffic,
    # row 4 held three different sessions within seconds, and Enter opened
    # whichever was there.
    app = offline_app()
    async with app.run_test(size=(120, 24)) as pilot:
        source = source_of(app)
        source.add([accessed(n, NOW_MS - n * 1000) for n in range(40)])
        await settled(pilot)
        _, table = parts(app)
        await pilot.press("pagedown", "down", "down", "down")  # a line low on the screen
        await pilot.pause()
        key = table.cursor_key
        assert key is not None
        line, index = screen_line(table), table.cursor
        assert line > 3
        held = {app.store.view[index]}
        for step in range(3):
            # Three requests to sessions below it: each moves to the top, the
            # rows above it shift down by one.
            source.add([accessed(30 + step, NOW_MS + 1000 * (step + 1))])
            await settled(pilot)
            held.add(app.store.view[index])
            assert table.cursor_key == key, step
            assert table.selected is not None
            assert table.selected.key == key
            assert screen_line(table) == line  # the viewport moved, not the row
        assert len(held) > 2  # the line held other sessions: the cursor did not stay on it
        # New sessions (the newest: on top) and removals above it.
        source.add([accessed(100 + n, NOW_MS + 10_000 + n) for n in range(5)])
        await settled(pilot)
        assert (table.cursor_key, screen_line(table)) == (key, line)
        above = app.store.view[: table.cursor][:3]
        destroyed(app, above)
        await settled(pilot)
        assert (table.cursor_key, screen_line(table)) == (key, line)
        # A re-sort (TTL order, worker thread) keeps it too.
        pane = app.query_one(SessionsPane)
        before = pane.views_installed
        pane.sort_by(SortKey.TTL)
        await wait_until(pilot, lambda: pane.views_installed > before, "the TTL order")
        assert table.cursor_key == key
        assert app.store.view[table.cursor] == key
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, SessionDetailScreen)
        assert detail.key == key  # the session highlighted, not the row's newest occupant


async def test_the_session_under_the_cursor_gone_leaves_the_cursor_on_its_line() -> None:
    app = offline_app()
    async with app.run_test(size=(120, 24)) as pilot:
        source = source_of(app)
        source.add([accessed(n, NOW_MS - n * 1000) for n in range(10)])
        await settled(pilot)
        _, table = parts(app)
        await pilot.press("down", "down")
        gone = table.cursor_key
        assert gone is not None
        destroyed(app, [gone])
        await settled(pilot)
        assert table.cursor == 2
        assert table.cursor_key == app.store.view[2] != gone


async def test_follow_newest_keeps_the_old_behaviour_on_request() -> None:
    app = offline_app()
    async with app.run_test(size=(120, 24)) as pilot:
        source = source_of(app)
        source.add([accessed(n, NOW_MS - n * 1000) for n in range(10)])
        await settled(pilot)
        pane, table = parts(app)
        shown = {key for key, active in app.screen.active_bindings.items() if active.binding.show}
        assert app.query_one(Footer)
        assert "f" in shown
        await pilot.press("down", "down", "f")
        assert table.follow_newest
        assert table.cursor == 0
        assert "following newest" in str(pane.query_one("#status").render())
        source.add([accessed(50, NOW_MS + 5000)])
        await settled(pilot)
        assert (table.cursor, table.cursor_key) == (0, app.store.view[0])
        assert table.cursor_key is not None
        assert sid(50) in table.cursor_key
        # Enter opens what was painted under the cursor, even if a batch moved
        # another session onto that line since (before the next repaint).
        seen = table.cursor_key
        app.store.upsert([accessed(51, NOW_MS + 9000)], NOW_MS)
        app.store.refresh_view()
        table.sync()
        assert app.store.view[0] != seen
        table.action_open()
        await wait_until(pilot, lambda: isinstance(app.screen, SessionDetailScreen), "detail")
        assert isinstance(app.screen, SessionDetailScreen)
        assert app.screen.key == seen
        await pilot.press("escape")
        await pilot.press("f")  # back to following the session
        assert not table.follow_newest


def header_text(app: InspectorApp) -> str:
    return app.query_one(TableHeader).text


async def test_sort_by_any_column_either_way_shown_in_the_header() -> None:
    app = offline_app()
    async with app.run_test(size=(160, 30)) as pilot:
        source = source_of(app)
        source.add(
            [
                accessed(1, NOW_MS - 3000, "b-host", cart=b"x" * 900),
                accessed(2, NOW_MS - 1000, "c-host"),
                accessed(3, NOW_MS - 2000, "a-host", cart=b"x" * 90),
            ]
        )
        await settled(pilot)
        pane, _table = parts(app)
        assert "ACCESSED▼" in header_text(app)  # the default: newest access first

        def ids() -> list[str]:
            return [app.store.rows[k].id[:8] for k in app.store.view]

        assert ids() == [sid(2)[:8], sid(3)[:8], sid(1)[:8]]

        async def choose(sort: SortKey) -> None:
            before = pane.views_installed
            await pilot.press("s")
            assert isinstance(app.screen, SortScreen)
            options = app.screen.query_one(OptionList)
            target = [s for s, _ in SORT_CHOICES].index(sort)
            steps = target - (options.highlighted or 0)
            await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
            await wait_until(pilot, lambda: pane.views_installed > before, f"order {sort}")

        await choose(SortKey.SIZE)
        assert ids() == [sid(1)[:8], sid(3)[:8], sid(2)[:8]]
        assert "SIZE▼" in header_text(app)
        await choose(SortKey.SIZE)  # the same again: reversed
        assert ids() == [sid(2)[:8], sid(3)[:8], sid(1)[:8]]
        assert "SIZE▲" in header_text(app)
        await choose(SortKey.HOST)
        assert ids() == [sid(3)[:8], sid(1)[:8], sid(2)[:8]]
        assert "HOST▲" in header_text(app)
        assert "SIZE▲" not in header_text(app)
        before = pane.views_installed
        await pilot.press("S")  # reverse at once
        await wait_until(pilot, lambda: pane.views_installed > before, "reversed")
        assert ids() == [sid(2)[:8], sid(1)[:8], sid(3)[:8]]
        assert "HOST▼" in header_text(app)
        assert "by host ▼" in str(pane.query_one("#status").render())
        # A click on a title sorts by that column.
        header = app.query_one(TableHeader)
        start = next(start for start, _, sort in header.spans if sort is SortKey.CREATED)
        before = pane.views_installed
        await pilot.click(TableHeader, offset=(start + 2, 0))
        await wait_until(pilot, lambda: pane.views_installed > before, "by created")
        assert app.store.sort is SortKey.CREATED
        assert ids() == [sid(3)[:8], sid(2)[:8], sid(1)[:8]]  # newest created first


async def test_every_column_sorts_and_the_palette_offers_each_order() -> None:
    choices = {sort for sort, _ in SORT_CHOICES}
    assert choices == set(SortKey)
    assert {c.sort for c in table_columns(frameworks=True, via=True)} <= choices
    app = offline_app()
    async with app.run_test(size=(120, 30)) as pilot:
        source_of(app).add([accessed(n, NOW_MS - n) for n in range(3)])
        await settled(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for sort in SortKey:
            assert f"Sort sessions by {sort.value}" in titles
        pane = app.query_one(SessionsPane)
        command = next(
            c for c in app.get_system_commands(app.screen) if c.title == "Sort sessions by TTL"
        )
        before = pane.views_installed
        command.callback()
        await wait_until(pilot, lambda: pane.views_installed > before, "by TTL")
        assert app.store.sort is SortKey.TTL
        assert not app.store.reverse
        # Through the palette itself, typed.
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        before = pane.views_installed
        await pilot.press(*"Sort sessions by TTL")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: pane.views_installed > before, "reversed by TTL")
        assert app.store.sort is SortKey.TTL
        assert app.store.reverse
