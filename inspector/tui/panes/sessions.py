"""The first tab: every session, filtered and sorted, updating live.

The pane owns the :class:`~inspector.tui.store.SessionStore`'s updates: it
applies each :class:`~inspector.tui.messages.SessionsChanged` the source reader
posts (one per batch, however many sessions changed) and redraws the visible rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker, get_current_worker

from inspector.core.frameworks import FrameworkSession
from inspector.core.render import safe_text
from inspector.core.search import Query, framework_text, parse_query, session_text
from inspector.core.session import Session
from inspector.core.source import SessionSource
from inspector.redis_io.errors import Failure
from inspector.tui.messages import (
    AttributionSwitched,
    ConnectionRetrying,
    FeedReady,
    KeysSkipped,
    RequestsSeen,
    ScanProgress,
    SessionsChanged,
    SourceFailed,
)
from inspector.tui.screens.sort import SORT_CHOICES, SortScreen, sort_label
from inspector.tui.store import KeyView, SessionStore, SortKey
from inspector.tui.widgets.session_table import SessionTable, TableHeader

__all__ = ["SessionsPane"]

LIVE_SORT_ROWS = 20_000
"""Up to this many sessions the table is re-sorted on every change; above, on `s` or `/`."""
SWEEP_TICK = 0.05
"""Seconds between two steps of the store's removal sweep (a few ms each) when no batch comes."""
SEARCH_BATCH = 100
"""Sessions the value search reads in one pipeline (then decodes in a thread)."""


@dataclass(slots=True)
class SearchProgress:
    """How far the value search of one filter has come (the status line shows it)."""

    query: str
    total: int = 0
    """Sessions whose values are searched (those the metadata alone could not decide)."""
    done: int = 0
    found: int = 0
    finished: bool = False
    error: str | None = None

    def describe(self) -> str:
        """E.g. ``searching values: 1,200 of 5,000 sessions, 3 found``."""
        if self.error is not None:
            return f"value search stopped after {self.done:,} sessions: {self.error}"
        if self.finished:
            return f"values of {self.total:,} sessions searched, {self.found:,} found"
        return f"searching values: {self.done:,} of {self.total:,} sessions, {self.found:,} found"


_Checked = Session | FrameworkSession | None
"""A session to check against the filter's values: as read (complete), or ``None``: read it."""


def _verdicts(
    store: SessionStore, query: Query, sessions: Sequence[Session | FrameworkSession]
) -> list[tuple[str, bool]]:
    """Whether each session matches ``query`` on its row and its decoded values (a thread)."""
    verdicts = []
    for session in sessions:
        row = store.rows.get(session.key)
        if row is None:
            continue  # gone meanwhile
        text = session_text(session) if isinstance(session, Session) else framework_text(session)
        verdicts.append((session.key, query.matches(row, text)))
    return verdicts


class SessionsPane(Vertical):
    """Filter box, column titles, the virtual table and a status line."""

    DEFAULT_CSS = """
    SessionsPane #filter {
        display: none;
        border: tall $accent;
        height: 3;
    }
    SessionsPane #filter.-open {
        display: block;
    }
    SessionsPane #status {
        height: 1;
        color: $text-muted;
        padding: 0 1;
    }
    """
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("S", "reverse", "Reverse order", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(
        self,
        store: SessionStore,
        *,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo | None = None,
        source: SessionSource | None = None,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.store = store
        self.source = source
        """Where the value search reads sessions in full (``None``: values are not searched)."""
        self.search: SearchProgress | None = None
        """The value search of the current filter, running or done."""
        self._hits: list[str] = []
        """Keys the running value search found (re-added to a view computed meanwhile)."""
        self._rechecks: dict[str, _Checked] = {}
        """Sessions changed under a value filter, to check again (:meth:`_recheck`)."""
        self._rechecking = False
        self.clock = clock
        self.tz = tz
        self.progress_text = "connecting…"
        self.skipped: list[str] = []
        """What the first full read passed over (shown in the status line)."""
        self._debounce: Timer | None = None
        self.views_installed = 0
        """Filtered/sorted views installed so far."""

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: id prefix, host, principal, attribute name or value", id="filter"
        )
        header = TableHeader(id="header")
        yield header
        yield SessionTable(self.store, clock=self.clock, tz=self.tz, header=header, id="table")
        yield Static("", id="status", markup=False)

    def on_mount(self) -> None:
        # Removed rows leave a big view a step at a time (SessionStore.sweep):
        # between feed batches this timer takes the steps.
        self.set_interval(SWEEP_TICK, self._sweep)

    def _sweep(self) -> None:
        if self.store.sweep():
            self.table.sync()
            self.update_status()

    @property
    def table(self) -> SessionTable:
        """The sessions table."""
        return self.query_one(SessionTable)

    def update_status(self) -> None:
        """Counts, scan progress, filter and order in one line."""
        shown, total = len(self.store.view), len(self.store)
        parts = [f"{total:,} sessions"]
        if self.store.query:
            parts.append(f"{shown:,} match '{safe_text(self.store.query)}'")
        parts.append(f"by {sort_label(self.store.sort, self.store.reverse)}")
        table = self.table
        if table.follow_newest:
            parts.append("following newest (f: stay on the session)")
        hidden = len(table.hidden_columns)
        if hidden:
            parts.append(f"← → {hidden} more column{'s' if hidden > 1 else ''}")
        if self.progress_text:
            parts.append(self.progress_text)
        if self.search is not None:
            parts.append(self.search.describe())
        parts.extend(self.skipped)
        self.query_one("#status", Static).update("  ·  ".join(parts))

    # ---------------------------------------------------------------- from the source

    def on_sessions_changed(self, message: SessionsChanged) -> None:
        now_ms = int(self.clock() * 1000)
        if message.sessions:
            self.store.upsert(message.sessions.values(), now_ms)
        if message.others:
            self.store.upsert_others(message.others.values(), now_ms)
        if message.gone:
            self.store.remove_many(message.gone)
        self._changed_under_filter(message.sessions, message.others)
        # Small stores re-sort live (updated rows move; the cursor follows its
        # session); big ones keep their order until `s` or `/`, new rows appended.
        if len(self.store) <= LIVE_SORT_ROWS:
            self.store.refresh_view()
        self.table.sync()
        self.update_status()

    def on_requests_seen(self, message: RequestsSeen) -> None:
        # The host column names the container of each session's last request,
        # by the active attribution (the VIA column says how, once by connection).
        if self.store.attribute(message.requests, int(self.clock() * 1000)):
            self.table.set_show_via(True)
        self.table.sync()

    def on_attribution_switched(self, message: AttributionSwitched) -> None:
        self.store.forget_attribution()
        self.table.set_show_via(message.by_connection)
        self.table.sync()

    def on_scan_progress(self, message: ScanProgress) -> None:
        progress = message.progress
        if not progress.done and progress.keys_scanned:
            self.progress_text = f"scanning: {progress.keys_scanned:,} keys read"
            self.update_status()

    def on_feed_ready(self, _message: FeedReady) -> None:
        # The first scan is over: what is alive now (the index of every
        # session) lives as long as the app. Frozen, no collection walks it
        # again; at a million rows one full collection would stall the UI.
        gc.freeze()
        self.progress_text = ""
        self.update_status()

    def on_keys_skipped(self, message: KeysSkipped) -> None:
        # Never silent: keys named like sessions that could not be listed.
        self.skipped.append(safe_text(message.text))
        self.update_status()

    def on_connection_retrying(self, message: ConnectionRetrying) -> None:
        # The notice's text ends "next attempt in N s": the user sees it is trying.
        self.progress_text = f"cannot connect: {safe_text(message.text)}"
        self.update_status()

    def on_source_failed(self, message: SourceFailed) -> None:
        what = "refused" if message.refused else "cannot connect"
        self.progress_text = f"{what}: {message.message}"
        self.update_status()

    # ---------------------------------------------------------------- filter & sort

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-open")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value or box.has_class("-open"):
            box.value = ""
            box.remove_class("-open")
            self.table.focus()
            self.recompute()

    def action_sort(self) -> None:
        """``s``: choose the order in a list (the current one again reverses it)."""

        def chosen(sort: SortKey | None) -> None:
            if sort is not None:
                self.sort_by(sort)

        self.app.push_screen(SortScreen(self.store.sort, self.store.reverse), chosen)

    def action_reverse(self) -> None:
        """``S``: the current order, the other way round."""
        self.sort_by(self.store.sort)

    def sort_by(self, sort: SortKey) -> None:
        """Sort by ``sort``; if it is the current order, reverse its direction."""
        if sort is self.store.sort:
            self.store.reverse = not self.store.reverse
        else:
            self.store.sort, self.store.reverse = sort, False
        self.table.sync()  # the header's arrow now; the rows once sorted
        self.update_status()
        self.recompute()

    def sort_commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        """The command palette's entries: sort by each order (again: reversed)."""
        commands: list[tuple[str, str, Callable[[], None]]] = []
        for sort, natural in SORT_CHOICES:
            title = f"Sort sessions by {sort.value}"
            commands.append(
                (title, f"{natural}; chosen again: reversed", partial(self.sort_by, sort))
            )
        commands.append(
            ("Sort sessions the other way round", "reverse the current order", self.action_reverse)
        )
        return commands

    @on(TableHeader.Clicked)
    def _title_clicked(self, event: TableHeader.Clicked) -> None:
        self.sort_by(event.sort)

    @on(SessionTable.Shown)
    def _table_shown(self, _event: SessionTable.Shown) -> None:
        self.update_status()

    @on(Input.Changed, "#filter")
    def _typed(self, event: Input.Changed) -> None:
        # Recompute once typing pauses: a million rows take a moment to filter.
        if self._debounce is not None:
            self._debounce.stop()
        self._stop_search()  # what it would find is for another filter
        self._debounce = self.set_timer(0.15, self.recompute)

    @on(Input.Submitted, "#filter")
    def _done(self, event: Input.Submitted) -> None:
        self.table.focus()

    def recompute(self) -> None:
        """Filter and sort in a worker thread; the table keeps painting meanwhile."""
        # Read here, on the UI thread: rows the tick adds after this point are
        # appended when the view is installed instead of being dropped by it.
        since = self.store.sequence
        query = self.query_one("#filter", Input).value
        self._compute(query, self.store.sort, since, self.store.reverse)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def _compute(self, query: str, sort: SortKey, since: int, reverse: bool = False) -> None:
        worker = get_current_worker()
        view = self.store.compute_view(query, sort, since=since, reverse=reverse)
        # A thread cannot be interrupted: a superseded computation runs to its
        # end, and must not then install its outdated view.
        if not worker.is_cancelled:
            self.app.call_from_thread(self._install, worker, query, (sort, reverse), view, since)

    def _install(
        self,
        worker: Worker[None],
        query: str,
        order: tuple[SortKey, bool],
        view: KeyView,
        since: int,
    ) -> None:
        # Checked again here, on the UI thread where workers are cancelled: the
        # worker may have been superseded after it posted this call.
        if worker.is_cancelled or not self.is_attached:
            return  # superseded, or the app closed while the view was computed
        sort, reverse = order
        self.store.apply_view(query, sort, view, since=since, reverse=reverse)
        self._after_view()
        self.views_installed += 1
        self.table.sync()
        self.update_status()

    # ---------------------------------------------------------------- value search

    def _stop_search(self) -> None:
        self.workers.cancel_group(self, "search")
        self.search = None
        self._hits = []
        self._rechecks.clear()

    def _after_view(self) -> None:
        """A view was installed: start the value search its filter needs (once per filter)."""
        needle = self.store.query
        if self.source is None or not parse_query(needle).needs_values:
            if self.search is not None:
                self._stop_search()
            return
        if self.search is not None and self.search.query == needle:
            # The same filter re-sorted: hits found while the view was computed
            # may be missing from it.
            if self._hits:
                self.store.extend_view(self._hits)
            return
        self._stop_search()
        self.search = SearchProgress(needle)
        self._search_values(needle)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def _search_values(self, needle: str) -> None:
        """Read every session the metadata cannot decide, in pipelined batches; stream hits.

        Reads run on the UI loop (I/O), decoding and matching in a thread; a
        newer filter cancels this worker at its next read.
        """
        progress = self.search
        source = self.source
        assert progress is not None
        assert source is not None
        query = parse_query(needle)
        keys = await asyncio.to_thread(self.store.unsearched, needle)
        progress.total = len(keys)
        self.update_status()
        for start in range(0, len(keys), SEARCH_BATCH):
            chunk = keys[start : start + SEARCH_BATCH]
            others = self.store.others
            sessions: list[Session | FrameworkSession] = [
                others[key] for key in chunk if key in others
            ]
            spring = [key for key in chunk if key not in others]
            try:
                if spring:
                    sessions.extend(await source.find_many(spring))
            except Exception as exc:
                # Said in the status line; the filter keeps what it found.
                progress.error = exc.message if isinstance(exc, Failure) else str(exc)
                self.update_status()
                return
            verdicts = await asyncio.to_thread(_verdicts, self.store, query, sessions)
            if self.search is not progress:
                return  # superseded while this batch was decoded
            progress.done += len(chunk)
            self._apply(needle, verdicts, progress)
        progress.finished = True
        if len(self.store) > LIVE_SORT_ROWS:
            self.recompute()  # the hits streamed in at the end: now in order
        self.update_status()

    def _apply(
        self, needle: str, verdicts: list[tuple[str, bool]], progress: SearchProgress
    ) -> None:
        changed = False
        for key, hit in verdicts:
            if hit:
                progress.found += 1
                self._hits.append(key)
            changed = self.store.found(key, needle, hit=hit) or changed
        if changed and len(self.store) <= LIVE_SORT_ROWS:
            self.store.refresh_view()
        self.table.sync()
        self.update_status()

    def _changed_under_filter(
        self, sessions: Mapping[str, Session], others: Mapping[str, FrameworkSession]
    ) -> None:
        """Sessions read while a value filter is on: check them (values may have changed)."""
        progress = self.search
        if progress is None:
            return
        query = parse_query(progress.query)
        for group in (sessions, others):
            for key, session in group.items():
                row = self.store.rows.get(key)
                if row is None or query.metadata_verdict(row) is not None:
                    continue  # the metadata decides
                complete = not isinstance(session, Session) or session.raw.complete
                self._rechecks[key] = session if complete else None
        if self._rechecks and not self._rechecking:
            self._rechecking = True
            self._recheck(progress)

    @work(group="recheck", exit_on_error=False)
    async def _recheck(self, progress: SearchProgress) -> None:
        """Check changed sessions against the value filter until none is left to check."""
        source = self.source
        assert source is not None
        query = parse_query(progress.query)
        try:
            await self._recheck_all(source, query, progress)
        finally:
            self._rechecking = False

    async def _recheck_all(
        self, source: SessionSource, query: Query, progress: SearchProgress
    ) -> None:
        while self._rechecks and self.search is progress:
            batch, self._rechecks = self._rechecks, {}
            given = [session for session in batch.values() if session is not None]
            unread = [key for key, session in batch.items() if session is None]
            try:
                for start in range(0, len(unread), SEARCH_BATCH):
                    given.extend(await source.find_many(unread[start : start + SEARCH_BATCH]))
            except Exception as exc:
                # Not connected: the next change of these sessions brings them again.
                self.progress_text = exc.message if isinstance(exc, Failure) else str(exc)
            verdicts = await asyncio.to_thread(_verdicts, self.store, query, given)
            if self.search is not progress:
                return
            self._apply(progress.query, verdicts, SearchProgress(progress.query))
