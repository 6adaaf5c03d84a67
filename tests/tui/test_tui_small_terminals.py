"""At 80x24 and below (issue 16 items 6, 7): Live's per-session paths newest first and
never cut off; the table's first columns, the rest reachable; the detail footer and
hex dump fit; a notice below the minimum size; the demo notice out of the way."""

from __future__ import annotations

import re

from rich.text import Text

from inspector.core.containers import PathStep
from inspector.core.session import Session
from inspector.tui.app import BANNER_SECONDS
from inspector.tui.screens.detail import DetailState, SessionDetailScreen
from inspector.tui.screens.too_small import TooSmallScreen
from inspector.tui.widgets.host_history import HostHistory, path_lines
from inspector.tui.widgets.raw_view import RawView, hex_dump_line, hex_row_width
from inspector.tui.widgets.session_table import SessionTable, TableHeader
from tests.factories import NOW_MS, request_event, spring_session
from tests.tui.test_tui_app import screen_text
from tests.tui_helpers import offline_app, settled, source_of, wait_until

PRINCIPAL = "org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME"
X = "\u00d7"  # the notice's multiplication sign
LONG = "ip-10-0-12-34.eu-west-1.compute.internal"


def rendered_rows(widget: HostHistory) -> list[str]:
    return [
        "".join(segment.text for segment in widget.render_line(y)).rstrip()
        for y in range(widget.size.height)
    ]


def steps(*names: str) -> tuple[PathStep, ...]:
    return tuple(PathStep(name, 1) for name in names)


def test_a_path_reads_newest_first_wrapped_then_summed_up() -> None:
    path = (PathStep("container-1", 3), *steps("container-2", "container-1", "container-2"))
    one = path_lines(path, 200)
    assert one.plain == "container-2 ← container-1 ← container-2 ← container-1 x3"
    narrow = path_lines(path, 25).plain.split("\n")
    assert narrow == ["container-2 ← container-1", "← container-2", "← container-1 x3"]
    assert all(len(line) <= 25 for line in narrow)
    many = path_lines(steps(*[f"c{i}" for i in range(40)]), 20, max_lines=2).plain.split("\n")
    assert len(many) == 2
    assert all(len(line) <= 20 for line in many)
    assert many[0].startswith("c39 ← c38")  # the newest first
    shown = len(re.findall(r"c\d+", "\n".join(many)))
    assert many[-1].endswith(f"… +{40 - shown}")  # every other step counted
    # A name longer than the column is cut with an ellipsis, never silently.
    assert path_lines(steps(LONG), 20).plain == LONG[:19] + "…"
    assert isinstance(path_lines((), 20), Text)


async def test_live_per_session_at_80_columns_shows_whole_names_newest_first() -> None:
    # What the issue saw: `container-1 → c` (oldest first, cut at the box's edge).
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        sid = "5f0c9a1e-5646-4382-aa12-41435ed09dc7"
        hosts = ["container-1", "container-1", "container-2", "container-1", "container-2"]
        source_of(app).events(
            [
                request_event(sid, host, time_ms=NOW_MS - (len(hosts) - i) * 1000)
                for i, host in enumerate(hosts)
            ]
        )
        await settled(pilot)
        await pilot.press("2")
        history = app.query_one(HostHistory)
        await wait_until(pilot, lambda: bool(history.paths), "the session's path")
        await pilot.pause()
        rows = rendered_rows(history)
        text = "\n".join(rows)
        assert rows[1].split()[:2] == ["5f0c9a1e", "container-2"]  # the newest first
        # Every name on screen is whole: the containers are all there, in order.
        names = re.findall(r"container-\S*", text)
        assert names == ["container-2", "container-1", "container-2", "container-1"]
        assert "x2" in text  # the first two requests, folded
        width = history.size.width
        assert all(len(row) <= width for row in rows)


def sessions(count: int) -> list[Session]:
    return [
        spring_session(
            f"{n:08x}-5646-4382-aa12-41435ed09dc7", "container-1", NOW_MS - n * 1000,
            attributes={PRINCIPAL: b'"alice"'},
        )
        for n in range(count)
    ]  # fmt: skip


async def test_the_table_at_80x24_keeps_its_first_columns_and_reaches_the_rest() -> None:
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        source_of(app).add(sessions(30))
        await settled(pilot)
        header = app.query_one(TableHeader)
        table = app.query_one(SessionTable)
        for title in ("SESSION", "HOST", "ACCESSED", "STATE", "TTL"):
            assert title in header.text
        row = "".join(segment.text for segment in table.render_line(0))
        assert row.split()[:4] == ["00000000", "container-1", "0s", "ago"]
        assert "active" in row
        assert "30:00" in row
        hidden = table.hidden_columns
        assert {"SIZE", "CREATED", "NAMESPACE"} <= set(hidden)
        assert header.text.rstrip().endswith("▸")  # more to the right
        seen = set(header.text.split())
        for _ in range(len(hidden) + 2):  # past the end: it stops there
            await pilot.press("right")
            seen |= set(header.text.split())
            assert header.text.startswith("SESSION")  # the id never scrolls away
        assert {"SIZE", "CREATED", "NAMESPACE"} <= {t.rstrip("▼▲") for t in seen}
        assert not header.text.rstrip().endswith("▸")
        assert "◂" in header.text
        assert all(len(c) <= 76 for c in [header.text.rstrip()])
        await pilot.press(*["left"] * 8)
        assert "HOST" in header.text


async def test_the_detail_footer_and_hex_dump_fit_80x24() -> None:
    app = offline_app()
    async with app.run_test(size=(80, 24)) as pilot:
        source_of(app).add(sessions(1))
        await settled(pilot)
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, SessionDetailScreen)
        await wait_until(pilot, lambda: detail.state is DetailState.SHOWN, "the detail")
        await pilot.press("r")
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        for key in ("esc Back", "r Raw", "c Copy id", "y Copy value", "e Export", "d Delete"):
            assert key in footer
        raw = detail.query_one(RawView)
        assert raw.per_row == 8  # 16 bytes a row (67 columns) would not fit
        width = raw.scrollable_content_region.width
        assert raw.virtual_size.width <= width  # nothing to scroll sideways
        rows = ["".join(s.text for s in raw._segments(i)) for i in range(raw.virtual_size.height)]
        hex_rows = [r for r in rows if re.match(r"[0-9a-f]{8}: ", r)]
        assert hex_rows
        assert all(len(r) <= width for r in hex_rows)


def test_hex_rows_of_eight_bytes_read_as_xxd_c_8() -> None:
    data = bytes(range(20))
    assert hex_dump_line(data, 8, 8) == "00000008: 0809 0a0b 0c0d 0e0f  ........"
    assert hex_row_width(8) == len(hex_dump_line(data, 0, 8)) == 39
    assert hex_row_width(16) == len(hex_dump_line(data, 0)) == 67


async def test_below_the_minimum_size_one_clear_notice_until_it_grows() -> None:
    app = offline_app()
    async with app.run_test(size=(50, 12)) as pilot:
        source_of(app).add(sessions(3))
        await settled(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, TooSmallScreen), "the notice")
        assert f"terminal too small (50{X}12, needs 60{X}15)" in screen_text(app)
        await pilot.resize_terminal(59, 30)
        await wait_until(pilot, lambda: f"(59{X}30, needs 60{X}15)" in screen_text(app), "59x30")
        await pilot.resize_terminal(60, 15)
        await wait_until(pilot, lambda: not isinstance(app.screen, TooSmallScreen), "the app")
        assert "SESSION" in screen_text(app)
        assert app.query_one(SessionTable).has_focus
        # Covered by the help while it shrank: it leaves once uncovered and large.
        await pilot.resize_terminal(40, 10)
        await wait_until(pilot, lambda: isinstance(app.screen, TooSmallScreen), "the notice")
        await pilot.press("question_mark")
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, TooSmallScreen), "uncovered")
        assert not any(isinstance(s, TooSmallScreen) for s in app.screen_stack)


async def test_the_demo_notice_leaves_the_table_soon() -> None:
    # What the issue saw: the URLs' toast covered the table for 20 s at 80x24.
    app = offline_app(banner="container-1: http://127.0.0.1:8081/index.html")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        (notice,) = list(app._notifications)
        assert notice.timeout == BANNER_SECONDS <= 6
        assert "Server tab" in notice.message
