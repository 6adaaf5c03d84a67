"""Screenshots of the main screens at 80x24 and 120x36 (pytest-textual-snapshot).

The app runs offline (no Redis) with fixed sessions, a frozen clock and UTC, so
the pictures only change when the UI does. Update with `--snapshot-update`
after checking the new pictures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace

import pytest
from textual.pilot import Pilot

from inspector.core.changes import EventKind, RequestEvent
from inspector.core.session import Session
from inspector.core.source import FeedNotice, NoticeKind
from inspector.sample_app.store import sample_session_json
from inspector.tui.app import InspectorApp
from inspector.tui.screens.detail import DetailState, SessionDetailScreen
from tests.factories import raw_session, request_event
from tests.spring_layouts import jdk_int, jdk_long, jvm_fixture
from tests.tui_helpers import offline_app as frozen_app
from tests.tui_helpers import settled, source_of, wait_until

FROZEN = 1_795_000_000.0
NOW_MS = int(FROZEN * 1000)
SIZES = [(80, 24), (120, 36)]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


def session(
    n: int, host: str, *, jdk: bool = False, interval: bytes = b"1800", principal: str | None = None
) -> Session:
    sid = f"{n:08x}-5646-4382-aa12-41435ed09dc7"
    last = NOW_MS - n * 7_000
    fields: dict[str, bytes] = {
        "creationTime": jdk_long(last - 600_000) if jdk else str(last - 600_000).encode(),
        "lastAccessedTime": jdk_long(last) if jdk else str(last).encode(),
        "maxInactiveInterval": jdk_int(int(interval)) if jdk else interval,
        "sessionAttr:scopedTarget.sampleSession": jvm_fixture("sample_session")
        if jdk
        else sample_session_json(host, last),
    }
    if principal:
        fields["sessionAttr:SPRING_SECURITY_CONTEXT"] = jvm_fixture("security_context")
    raw = raw_session(
        sid,
        fields,
        hash_ttl_ms=2_100_000 - n * 7_000,
        shadow_ttl_ms=1_800_000 - n * 7_000,
        observed_at_ms=NOW_MS,
    )
    return Session.from_raw(raw)


SESSIONS = [
    session(1, "container-1"),
    session(2, "container-2"),
    session(3, "c95883d5424d", jdk=True, principal="alice"),
    session(4, "container-2", interval=b"0"),
    session(5, "container-1"),
]


def events() -> list[RequestEvent]:
    out = []
    hosts = ["container-1", "container-2"] * 3
    for i, host in enumerate(hosts):
        out.append(replace(
            request_event(
                SESSIONS[0].id, host, time_ms=NOW_MS - (len(hosts) - i) * 1000,
                previous_host=None if i == 0 else hosts[i - 1],
                changed=("scopedTarget.sampleSession",),
                kind=EventKind.CREATED if i == 0 else EventKind.REQUEST,
            ),
            last_accessed_time=NOW_MS,
        ))  # fmt: skip
    return out


def offline_app() -> InspectorApp:
    return frozen_app(clock=lambda: FROZEN)


async def fill(pilot: Pilot[int], *, with_events: bool = False) -> None:
    app = pilot.app
    assert isinstance(app, InspectorApp)
    source = source_of(app)
    source.notice(
        FeedNotice(
            NOW_MS,
            NoticeKind.READY,
            "watching 5 sessions on 127.0.0.1:6379 via keyspace notifications",
        )
    )
    source.add(SESSIONS)
    if with_events:
        source.events(events())
    await settled(pilot)


def tab(name: str, *, with_events: bool = False) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await fill(pilot, with_events=with_events)
        await pilot.press(name)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sessions_screen(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert snap_compare(offline_app(), terminal_size=size, run_before=tab("1"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_live_screen(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert snap_compare(offline_app(), terminal_size=size, run_before=tab("2", with_events=True))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_server_screen(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    assert snap_compare(offline_app(), terminal_size=size, run_before=tab("4"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail_screen(snap_compare: Callable[..., bool], size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await fill(pilot)
        app = pilot.app
        target = SESSIONS[2]
        assert isinstance(app, InspectorApp)
        screen = SessionDetailScreen(
            app.source, target.key, target.id, target.namespace, options=app.options, session=target
        )
        await app.push_screen(screen)
        await wait_until(pilot, lambda: screen.state is DetailState.SHOWN, "the detail screen")
        await pilot.pause()

    assert snap_compare(offline_app(), terminal_size=size, run_before=run_before)


def test_help_screen(snap_compare: Callable[..., bool]) -> None:
    async def run_before(pilot: Pilot[int]) -> None:
        await fill(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(offline_app(), terminal_size=(80, 24), run_before=run_before)
