"""Issue 16.3: `/` finds values inside every attribute (Java-serialized ones included).

Pilot tests on a MemorySource (whose ``find_many`` is what the value search
reads) and one on a real redis-server with real JVM bytes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence

import redis
from textual.widgets import Input, Static

from inspector.core.memory_source import MemorySource
from inspector.core.session import Session
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.app import AppOptions, InspectorApp, make_app
from inspector.tui.panes.sessions import SEARCH_BATCH, SessionsPane
from tests.factories import NOW_MS, spring_session
from tests.harness import RedisServer
from tests.spring_layouts import jvm_fixture, write_request
from tests.tui_helpers import offline_app, settled, source_of, wait_until

CONTEXT = "SPRING_SECURITY_CONTEXT"
PRINCIPAL = "org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME"


def sid(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"


def population(plain: int = 2 * SEARCH_BATCH + 30) -> tuple[list[Session], dict[str, str]]:
    """Plain sessions, plus three whose Java-serialized attributes hold the issue's strings."""
    sessions = [
        spring_session(sid(n), f"container-{1 + n % 2}", NOW_MS - n * 1000) for n in range(plain)
    ]
    admin = spring_session(
        sid(900), "container-1", NOW_MS - 5, attributes={CONTEXT: jvm_fixture("security_context")}
    )
    dark = spring_session(
        sid(901), "container-2", NOW_MS - 6,
        attributes={"profile": jvm_fixture("user_profile"), "cart": b'{"items":[]}',
                    PRINCIPAL: b'"bob"'},
    )  # fmt: skip
    both = spring_session(
        sid(902), "container-2", NOW_MS - 7,
        attributes={CONTEXT: jvm_fixture("security_context"),
                    "profile": jvm_fixture("user_profile")},
    )  # fmt: skip
    sessions += [admin, dark, both]
    return sessions, {"admin": admin.key, "dark": dark.key, "both": both.key}


def pane_of(app: InspectorApp) -> SessionsPane:
    return app.query_one(SessionsPane)


def status(app: InspectorApp) -> str:
    return str(app.query_one("#status", Static).render())


async def search(app: InspectorApp, pilot: object, text: str) -> None:
    """Type a filter into `/` as a user does."""
    box = app.query_one("#filter", Input)
    if not box.has_focus:
        # Pressed in the open box, `/` is typed text: on a loaded machine the
        # debounce could fire on "<previous filter>/" before the new value is set.
        await pilot.press("slash")  # type: ignore[attr-defined]
    box.value = text


async def searched(app: InspectorApp, pilot: object, text: str) -> set[str]:
    """The keys shown once the value search of ``text`` is over."""
    pane = pane_of(app)
    await search(app, pilot, text)
    await wait_until(
        pilot,  # type: ignore[arg-type]
        lambda: pane.search is not None and pane.search.query == text.lower()
        and pane.search.finished,
        f"the value search of {text!r}",
    )  # fmt: skip
    return set(app.store.view)


async def test_values_inside_java_serialized_attributes_are_found() -> None:
    sessions, keys = population()
    app = offline_app(MemorySource(sessions))
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot)
        source = source_of(app)
        pane = pane_of(app)
        # The three strings of the issue, each past the first 160 bytes or deep in a map.
        assert await searched(app, pilot, "ROLE_ADMIN") == {keys["admin"], keys["both"]}
        assert pane.search is not None
        assert pane.search.total == len(sessions)
        assert pane.search.found == 2
        assert f"values of {len(sessions)} sessions searched, 2 found" in status(app)
        assert "2 match 'role_admin'" in status(app)
        # Read in pipelined batches, not one by one.
        assert source.finds == 0
        batches = source.finds_many
        assert batches == -(-len(sessions) // SEARCH_BATCH)
        assert await searched(app, pilot, "203.0.113.7") == {keys["admin"], keys["both"]}
        assert await searched(app, pilot, "dark") == {keys["dark"], keys["both"]}
        # field:value narrows: a host and a value, both must hold.
        assert await searched(app, pilot, "host:container-2 dark") == {keys["dark"], keys["both"]}
        assert await searched(app, pilot, "host:container-1 dark") == set()
        # user_profile is named alice too; principal:alice would match none (no principal)
        assert await searched(app, pilot, "value:alice") == {
            keys["admin"],
            keys["dark"],
            keys["both"],
        }
        assert await searched(app, pilot, "nothing-has-this") == set()
        # Escape: the whole table again, the search gone.
        before = pane.views_installed
        await pilot.press("escape")
        await wait_until(pilot, lambda: pane.views_installed > before, "the whole view")
        assert len(app.store.view) == len(sessions)
        assert pane.search is None


async def test_metadata_terms_need_no_reads() -> None:
    sessions, keys = population()
    app = offline_app(MemorySource(sessions))
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot)
        source = source_of(app)
        pane = pane_of(app)
        for text, expected in (
            ("host:container-1", {s.key for s in sessions if s.host == "container-1"}),
            ("principal:bob", {keys["dark"]}),
            ("attr:cart", {keys["dark"]}),
            ("attr:security_context", {keys["admin"], keys["both"]}),
            (f"id:{sid(901)[:8]}", {keys["dark"]}),
            ("principal:bob attr:profile host:container-2", {keys["dark"]}),
        ):
            before = pane.views_installed
            await search(app, pilot, text)
            await wait_until(
                pilot,
                lambda b=before, t=text: (
                    pane.views_installed > b  # type: ignore[misc]
                    and app.store.query == t.lower()
                ),
                text,
            )
            assert set(app.store.view) == expected, text
            assert pane.search is None, text
        assert source.finds_many == 0
        assert source.finds == 0
        # Plain text the metadata has (a principal) matches at once; only the
        # rest is read.
        await searched(app, pilot, "bob")
        assert set(app.store.view) == {keys["dark"]}
        assert pane.search is not None
        assert pane.search.total == len(sessions) - 1


class GatedSource(MemorySource):
    """A MemorySource whose reads in full wait for the test, one batch per release."""

    def __init__(self, sessions: Sequence[Session]) -> None:
        super().__init__(sessions)
        self.gate = asyncio.Semaphore(0)
        self.waiting = 0
        self.cancelled = 0

    async def find_many(self, keys: Sequence[str]) -> list[Session]:
        self.waiting += 1
        try:
            await self.gate.acquire()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.waiting -= 1
        return await super().find_many(keys)


async def test_results_stream_in_with_progress_and_a_new_query_cancels() -> None:
    sessions, keys = population()
    # The three interesting sessions first in the search's order: the first
    # batch finds them while the rest is unread.
    sessions = sessions[-3:] + sessions[:-3]
    source = GatedSource(sessions)
    app = offline_app(source)
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot)
        pane = pane_of(app)
        await search(app, pilot, "dark")
        await wait_until(pilot, lambda: source.waiting == 1, "the first read")
        assert pane.search is not None
        assert f"searching values: 0 of {len(sessions)} sessions, 0 found" in status(app)
        source.gate.release()
        await wait_until(pilot, lambda: pane.search is not None and pane.search.done == 100)
        await wait_until(pilot, lambda: source.waiting == 1, "the second read")
        # Streamed in while the search goes on, and said so.
        assert set(app.store.view) == {keys["dark"], keys["both"]}
        assert f"searching values: 100 of {len(sessions)} sessions, 2 found" in status(app)
        assert "2 match 'dark'" in status(app)
        # The UI is live meanwhile: the cursor moves.
        table = pane.table
        table.focus()
        await pilot.press("down")
        assert table.cursor == 1
        # A new query cancels the search at once, before its debounce.
        first = pane.search
        await search(app, pilot, "role_admin")
        await wait_until(pilot, lambda: source.cancelled == 1, "the old search's read cancelled")
        assert pane.search is not first
        await wait_until(pilot, lambda: source.waiting == 1, "the new search's first read")
        assert pane.search is not None
        assert pane.search.query == "role_admin"
        for _ in range(3):
            source.gate.release()
        await wait_until(pilot, lambda: pane.search is not None and pane.search.finished)
        assert set(app.store.view) == {keys["admin"], keys["both"]}
        # Nothing of the cancelled search leaked into the new view.
        assert keys["dark"] not in app.store.view


async def test_sessions_changed_under_a_value_filter_are_checked_again() -> None:
    sessions, keys = population(plain=10)
    app = offline_app(MemorySource(sessions))
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot)
        source = source_of(app)
        assert await searched(app, pilot, "dark") == {keys["dark"], keys["both"]}
        # A new session with the value, read by the feed (complete): found without a read.
        reads = source.finds_many
        new = spring_session(
            sid(950), "container-1", NOW_MS, attributes={"profile": jvm_fixture("user_profile")}
        )
        source.add([new])
        await settled(pilot)
        await wait_until(pilot, lambda: new.key in app.store.view, "the new session found")
        assert source.finds_many == reads
        # A session whose value no longer matches leaves the view.
        changed = spring_session(sid(901), "container-2", NOW_MS, attributes={"cart": b"{}"})
        source.add([changed])
        await settled(pilot)
        await wait_until(pilot, lambda: keys["dark"] not in app.store.view, "the changed session")
        assert set(app.store.view) == {keys["both"], new.key}


async def test_other_frameworks_values_are_searched(redis_clean: RedisServer) -> None:
    # An express session (JSON in a string) and Spring sessions with real JVM
    # bytes, on a real server: the value search reads Spring's in full with one
    # pipeline per batch, and searches the express session's decoded values.
    client = redis.Redis(**redis_clean.client_kwargs())  # type: ignore[arg-type]
    try:
        admin, plain = str(uuid.uuid4()), str(uuid.uuid4())
        now = int(time.time() * 1000)
        write_request(client, admin, "container-1", now)
        client.hset(
            f"spring:session:sessions:{admin}",
            mapping={
                f"sessionAttr:{CONTEXT}": jvm_fixture("security_context"),
                "sessionAttr:profile": jvm_fixture("user_profile"),
            },
        )
        write_request(client, plain, "container-2", now)
        express = "sess:Q2VvQ2VvQ2VvQ2VvQ2Vv"
        client.set(
            express,
            b'{"cookie":{"originalMaxAge":86400000,"expires":"2030-01-01T00:00:00.000Z"},'
            b'"theme":"dark-express"}',
            ex=600,
        )
        app = make_app(AppOptions(settings=ConnectionSettings(port=redis_clean.port)))
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: app.ready and len(app.store) >= 3, "the sessions")
            admin_key = f"spring:session:sessions:{admin}"
            assert await searched(app, pilot, "ROLE_ADMIN") == {admin_key}
            assert await searched(app, pilot, "203.0.113.7") == {admin_key}
            assert await searched(app, pilot, "dark") == {admin_key, express}
            assert await searched(app, pilot, "host:container-1 dark") == {admin_key}
    finally:
        client.close()
