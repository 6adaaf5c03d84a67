"""At 80x24 and below (issue 16 items 6, 7): Live's per-session paths newest first and
never cut off; the table's first columns, the rest reachable; the detail footer and
hex dump fit; a notice below the minimum size; the demo notice out of the way."""

from __future__ import annotations

import re

from rich.text import Text

from inspector.core.containers import PathStep
from inspector.tui.widgets.host_history import HostHistory, path_lines
from tests.factories import NOW_MS, request_event
from tests.tui_helpers import offline_app, settled, source_of, wait_until

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
