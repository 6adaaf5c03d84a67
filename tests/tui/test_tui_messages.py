"""From the source's batches to the screens' messages: coalescing, order, bounds; the memory source."""

from __future__ import annotations

import threading
import uuid

import pytest

from inspector.core.changes import EventKind
from inspector.core.memory_source import MemorySource
from inspector.core.session import Session
from inspector.core.source import (
    FeedHealth,
    FeedMode,
    FeedNotice,
    NoticeKind,
    ScanProgressed,
    SessionsRead,
    SourceItem,
)
from inspector.tui.messages import (
    ConnectionRestored,
    FeedHealthRead,
    FeedReady,
    RequestsSeen,
    ScanProgress,
    SessionsChanged,
    batch_messages,
)
from inspector.tui.screens.detail import DetailState, SessionDetailScreen
from tests.factories import NOW_MS, request_event, spring_session
from tests.tui_helpers import offline_app, settled, source_of, wait_until


def progress(keys: int, *, done: bool = False) -> ScanProgressed:
    return ScanProgressed(keys, keys, 0, 1, done)


def test_a_batch_of_any_size_is_a_handful_of_messages() -> None:
    sessions = [spring_session(f"s{i}", "c1") for i in range(1000)]
    batch: list[SourceItem] = [
        *(SessionsRead((s,)) for s in sessions),
        *(request_event(f"s{i}", "c2") for i in range(1000)),
        *(progress(n) for n in range(50)),
    ]
    messages = batch_messages(batch)
    assert [type(m) for m in messages] == [SessionsChanged, RequestsSeen, ScanProgress]
    changed, seen, scanned = messages
    assert isinstance(changed, SessionsChanged)
    assert list(changed.sessions) == [s.key for s in sessions]
    assert isinstance(seen, RequestsSeen)
    assert len(seen.events) == 1000
    assert isinstance(scanned, ScanProgress)
    assert scanned.progress.keys_scanned == 49  # only the newest


def test_destroyed_then_read_again_is_back_and_read_then_destroyed_is_gone() -> None:
    back, gone = spring_session("back"), spring_session("gone")
    batch: list[SourceItem] = [
        request_event("back", kind=EventKind.DESTROYED),
        SessionsRead((back, gone)),
        request_event("gone", kind=EventKind.DESTROYED),
    ]
    (changed, seen) = batch_messages(batch)
    assert isinstance(changed, SessionsChanged)
    assert changed.sessions == {back.key: back}
    assert changed.gone == (gone.key,)
    assert changed.about(back.key) == (True, back)
    assert changed.about(gone.key) == (True, None)
    assert changed.about("other") == (False, None)
    assert isinstance(seen, RequestsSeen)
    assert len(seen.events) == 2


def test_a_notice_follows_the_data_before_it() -> None:
    first, second = spring_session("a"), spring_session("b")
    ready = FeedNotice(NOW_MS, NoticeKind.READY, "watching", mode=FeedMode.NOTIFICATIONS)
    back = FeedNotice(NOW_MS, NoticeKind.RECONNECTED, "back", gap=(1, 2))
    batch: list[SourceItem] = [
        SessionsRead((first,), baseline=True),
        progress(10, done=True),
        ready,
    ]
    batch += [SessionsRead((second,)), back]
    messages = batch_messages(batch)
    assert [type(m) for m in messages] == [
        SessionsChanged, ScanProgress, FeedReady, SessionsChanged, ConnectionRestored,
    ]  # fmt: skip
    assert isinstance(messages[0], SessionsChanged)
    assert messages[0].baseline
    assert isinstance(messages[2], FeedReady)
    assert messages[2].mode is FeedMode.NOTIFICATIONS
    assert isinstance(messages[4], ConnectionRestored)
    assert messages[4].gap == (1, 2)
    copy = messages[3].copy()
    assert isinstance(copy, SessionsChanged)
    assert copy is not messages[3]
    assert copy.sessions == {second.key: second}


def test_a_newer_scan_progress_replaces_a_queued_one() -> None:
    older, newer = ScanProgress(progress(1)), ScanProgress(progress(2))
    assert older.can_replace(newer)
    assert not older.can_replace(RequestsSeen(()))


async def test_the_memory_source_yields_what_was_fed_in_batches() -> None:
    source = MemorySource([spring_session("a")])
    items = source.items()
    (baseline,) = await anext(items)
    assert isinstance(baseline, SessionsRead)
    assert baseline.baseline
    source.add([spring_session("b")])
    source.events([request_event("a", kind=EventKind.DESTROYED)])
    batch = await anext(items)
    assert len(batch) == 2
    assert await source.find(spring_session("a").key) is None  # destroyed
    assert await source.find(spring_session("b").key) is not None
    source.fail(RuntimeError("gone"))
    with pytest.raises(RuntimeError):
        await anext(items)
    assert source.batches == 2


async def test_a_flood_is_one_batch_at_a_time_never_a_queue_of_batches() -> None:
    app = offline_app()
    source = source_of(app)
    async with app.run_test(size=(120, 36)) as pilot:
        for round_ in range(30):
            source.add([spring_session(f"{round_}-{i}", "c1") for i in range(100)])
            source.events([request_event(f"{round_}-{i}") for i in range(100)])
        await settled(pilot)
        # However the rounds fell into batches, each was handled before the next was taken.
        assert app.batches == source.batches <= 30
        assert len(app.store) == 3000


async def test_escape_leaves_a_detail_screen_while_it_decodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()
    attribute = Session.attribute

    def slow_attribute(self: Session, name: str):  # type: ignore[no-untyped-def]
        if name == "slow":
            started.set()
            release.wait(30)
        return attribute(self, name)

    monkeypatch.setattr(Session, "attribute", slow_attribute)
    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        session = spring_session(str(uuid.uuid4()), attributes={"slow": b'"x"'})
        screen = SessionDetailScreen(
            app.source, session.key, session.id, session.namespace, options=app.options,
            session=session,
        )  # fmt: skip
        await app.push_screen(screen)
        await wait_until(pilot, started.is_set, "the decode to start")
        assert screen.state is DetailState.LOADING
        await pilot.press("escape")  # the UI thread is free: the screen goes
        await wait_until(pilot, lambda: app.screen is not screen, "the screen to close")
        release.set()
        await wait_until(
            pilot,
            lambda: all(w.is_finished for w in app.workers if w.node is screen),
            "the superseded decode to end",
        )
        await pilot.pause()
        assert app.is_running
        assert screen.state is DetailState.LOADING  # the superseded result was dropped


def health(events: int, lag_ms: int | None = 300) -> FeedHealth:
    return FeedHealth(
        time_ms=NOW_MS,
        mode=FeedMode.NOTIFICATIONS,
        events=events,
        reads=2 * events,
        reconnects=0,
        subscriber_lag_ms=lag_ms,
        last_complete_pass_ms=NOW_MS,
        last_pass_seconds=0.25,
    )


def test_feed_health_is_one_message_per_batch_the_newest() -> None:
    batch: list[SourceItem] = [health(1), request_event("a", "c1"), health(2), health(3)]
    messages = batch_messages(batch)
    assert [type(m) for m in messages] == [RequestsSeen, FeedHealthRead]
    last = messages[-1]
    assert isinstance(last, FeedHealthRead)
    assert last.health.events == 3
    assert last.can_replace(FeedHealthRead(health(1)))


async def test_the_server_tab_shows_the_feeds_lag_and_last_pass_live() -> None:
    from inspector.tui.panes.server import ServerPane

    app = offline_app()
    async with app.run_test(size=(120, 36)) as pilot:
        source = source_of(app)
        source.health(health(5))
        pane = app.query_one(ServerPane)
        await wait_until(pilot, lambda: "feed" in pane.facts)
        assert pane.facts["feed"].startswith("5 requests, 10 re-reads, subscriber 0.3 s behind")
        assert "last complete pass at " in pane.facts["feed"]
        source.health(health(6, lag_ms=None))  # polling only: no subscriber to measure
        await wait_until(pilot, lambda: pane.facts["feed"].startswith("6 requests"))
        assert "subscriber" not in pane.facts["feed"]
