"""The Keys tab: every key (not only sessions) as a tree by a delimiter, with type, TTL, size.

Self-contained: the pane opens its own client from the connection settings
when it is first shown (a keyspace scan is not free, so nothing is read before
someone looks), does all its I/O in workers, and closes the client when it is
unmounted. Hooking it into an app is one ``TabPane`` holding a
:class:`KeysPane`.

- The tree is built from ``SCAN ... COUNT 1000`` on every primary
  (:class:`~inspector.redis_io.keys.KeyspaceScan`) in a worker on the app's
  event loop; the first level is shown as soon as the first page is indexed
  and refreshed twice a second while the scan runs, with lower-bound counts
  (``≥``) that cost no merging; exact once the scan is done.
- Type, TTL, length and encoding are read for the keys on screen only (two
  pipelined round trips), again when older than :data:`FACTS_MAX_AGE_MS`; the
  TTL ticks in between. ``m`` asks ``MEMORY USAGE`` for the keys on screen.
- ``/`` sets a pattern (``SCAN MATCH``, on the server), ``t`` cycles a type
  (``SCAN TYPE``); both scan again. ``D`` changes the delimiter, which costs
  no scan (the tree is a view over the same index).
- Enter on a key opens :class:`~inspector.tui.screens.key_value.KeyValueScreen`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import var
from textual.timer import Timer
from textual.widgets import Input, Static

from inspector.core.collection import BulkLoad
from inspector.core.keyspace import DEFAULT_DELIMITER, KeyIndex, KeyTree
from inspector.core.render import safe_text
from inspector.core.session import HostField
from inspector.redis_io.client import RedisClient, open_client
from inspector.redis_io.errors import Failure, Problem, describe_failure
from inspector.redis_io.keys import KeyspaceScan, describe_keys, memory_usage
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.screens.key_value import KeyValueScreen
from inspector.tui.widgets.key_tree import KeyFacts, KeyTreeView, TreeRows, key_text

__all__ = ["FACTS_MAX_AGE_MS", "KEY_TYPES", "KeysPane", "ScanState"]

KEY_TYPES: tuple[str | None, ...] = (None, "string", "hash", "list", "set", "zset", "stream")
"""What ``t`` cycles through (``SCAN TYPE``); ``None``: every type."""
FACTS_MAX_AGE_MS = 15_000
"""Facts of a key on screen are read again after this long (a TTL changed, a value grew)."""
SCAN_REFRESH = 0.5
"""Seconds between tree refreshes while the scan runs."""
REBUILD_ROWS = 1000
"""While scanning, up to this many lines are re-read on each refresh; more: the visible counts."""


class ScanState(StrEnum):
    """Where the current scan of the Keys tab is."""

    STARTING = "starting"
    """Connecting, or waiting for the first page: the tree is empty."""
    LISTING = "listing"
    """The first level is shown; the scan runs on, counts are lower bounds (``≥``)."""
    DONE = "done"
    """Every key is indexed: the counts are exact."""
    FAILED = "failed"
    """Refused or disconnected: :attr:`KeysPane.problem` says why in one line."""


class KeysPane(Vertical):
    """Filter bar, column titles, the key tree and a status line."""

    DEFAULT_CSS = Path(__file__).with_suffix(".tcss").read_text(encoding="utf-8")
    BINDINGS = [
        Binding("slash", "pattern", "Pattern"),
        Binding("t", "cycle_type", "Type"),
        Binding("D", "delimiter", "Delimiter"),
        Binding("m", "memory", "Size"),
        Binding("r", "rescan", "Rescan"),
        Binding("escape", "close_inputs", "Close", show=False),
    ]
    scan_state: var[ScanState] = var(ScanState.STARTING)
    """Where scan number :attr:`scans` is (a Textual var: watchable)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        allow_writes: bool = False,
        host_field: HostField | None = None,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo | None = None,
        id: str | None = None,  # noqa: A002 - Textual's parameter name
    ) -> None:
        super().__init__(id=id)
        self.settings = settings
        self.allow_writes = allow_writes
        self.host_field = host_field
        self.clock = clock
        self.tz = tz
        self.pattern: bytes | None = None
        self.key_type: str | None = None
        self.delimiter = DEFAULT_DELIMITER
        self.scan: KeyspaceScan | None = None
        self.facts = KeyFacts(clock=clock)
        self.rows = TreeRows(KeyTree(KeyIndex(), self.delimiter))
        self.problem: str | None = None
        self._client: RedisClient | None = None
        self._opening: asyncio.Lock = asyncio.Lock()
        self._started = False
        self._scan_started = 0.0
        self._scan_seconds: float | None = None
        self._moved: Timer | None = None
        self._describing = False
        self._describe_again = False
        self._load: BulkLoad | None = None
        self.scans = 0
        """How many scans this pane started (``r``, a pattern, a type each start one)."""

    def compose(self) -> ComposeResult:
        yield Static("", id="keys-bar", markup=False)
        yield Input(placeholder="SCAN MATCH pattern (glob: user:*), Enter scans", id="keys-pattern")
        yield Input(placeholder="delimiter (default ':')", id="keys-delimiter")
        yield Static("", id="keys-header", markup=False)
        yield KeyTreeView(self.rows, self.facts, delimiter=lambda: self.delimiter, id="keys-tree")
        yield Static("", id="keys-status", markup=False)

    @property
    def tree_view(self) -> KeyTreeView:
        """The tree widget."""
        return self.query_one(KeyTreeView)

    def on_mount(self) -> None:
        self.set_interval(SCAN_REFRESH, self._tick)
        self._update_bar()

    def on_show(self) -> None:
        # Nothing is read before the tab is first shown: a scan of a big
        # keyspace is work for the server that nobody asked for otherwise.
        if not self._started:
            self._started = True
            self.start_scan()
        self.tree_view.focus()

    async def on_unmount(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def client(self) -> RedisClient:
        """The pane's own client, opened on first use (and again after a failed attempt).

        Raises:
            Failure: Cannot connect (in one line).
        """
        async with self._opening:
            if self._client is None:
                if not self.is_attached:
                    raise Failure(Problem.CLOSED, "session-inspector is closing")
                self._client = await open_client(self.settings)
            return self._client

    # ---------------------------------------------------------------- the scan

    def start_scan(self) -> None:
        """(Re)build the tree from a new scan with the current pattern and type."""
        self.scans += 1
        self.scan_state = ScanState.STARTING
        self.facts.clear()
        self.problem = None
        self._scan_seconds = None
        self.scan = None
        self.rows.exact = False
        self.rows.reset(KeyTree(KeyIndex(), self.delimiter))
        self.tree_view.cursor = 0
        self.tree_view.sync()
        self._run_scan()

    @work(exclusive=True, group="keys-scan", exit_on_error=False)
    async def _run_scan(self) -> None:
        # The collector's full passes walk every object alive: 45-180 ms with a
        # million-key index and the app (measured), a frozen screen. During the
        # scan it runs young passes on a budget only (the refresh tick calls
        # them); afterwards what is alive (the index) is frozen, and later
        # passes no longer walk it.
        load = self._load = BulkLoad()
        try:
            with load:
                await self._scan_to_the_end()
        finally:
            if self._load is load:  # a newer scan may have its own by now
                self._load = None
        gc.freeze()

    async def _scan_to_the_end(self) -> None:
        try:
            client = await self.client()
            scan = KeyspaceScan(client, pattern=self.pattern, key_type=self.key_type)
            self.scan = scan
            self._scan_started = time.perf_counter()
            self.rows.tree = scan.tree(self.delimiter)
            task = asyncio.ensure_future(scan.run())
            try:
                first = asyncio.ensure_future(scan.first_page.wait())
                await asyncio.wait({task, first}, return_when=asyncio.FIRST_COMPLETED)
                first.cancel()
                if not task.done():
                    self._refresh_tree()
                    self.scan_state = ScanState.LISTING
                await task  # raises what the scan raised
            finally:
                if not task.done():
                    task.cancel()
        except Exception as exc:  # refused, or the connection dropped: one line
            failure = _failure(exc, self.settings)
            self.problem = failure.message
            self._update_bar()
            self.notify(safe_text(failure.message), title="Keys", severity="error", markup=False)
            self.scan_state = ScanState.FAILED
            return
        self._scan_seconds = time.perf_counter() - self._scan_started
        self.rows.exact = True
        self._refresh_tree()
        self.scan_state = ScanState.DONE

    def _refresh_tree(self) -> None:
        """Read the lines again (new keys and counts), the cursor staying on its key or folder."""
        view = self.tree_view
        selected = view.selected
        keep = selected.node.path if selected is not None and selected.node is not None else None
        self.rows.rebuild()
        view.sync(keep)
        self._update_bar()
        self._want_facts()

    def _tick(self) -> None:
        if not self.is_attached or not self._started:
            return
        if self._load is not None:
            self._load.tick()
        view = self.tree_view
        scan = self.scan
        if scan is not None and not scan.progress.done and self.scan_state is ScanState.LISTING:
            if len(self.rows) <= REBUILD_ROWS:
                self._refresh_tree()
            else:
                start, end = view.visible_range()
                self.rows.recount(start, end)
                self._update_bar()
        view.refresh()  # TTLs tick
        # The scrollbar comes and goes with the lines: the titles follow the
        # columns (one row, the pane's width: no layout needed).
        self.query_one("#keys-header", Static).update(view.header_text(), layout=False)
        self._want_facts()

    def _update_bar(self) -> None:
        if not self.is_mounted:
            return
        pattern = key_text(self.pattern) if self.pattern else "*"
        delimiter = key_text(self.delimiter)
        bar = f"match {pattern}  ·  type {self.key_type or 'any'}  ·  delimiter '{delimiter}'"
        if self.allow_writes:
            bar += "  ·  writes allowed"
        # layout=False: these lines are one row high and as wide as the pane
        # whatever they say; a layout is the whole screen's (10-20 ms at 80x24).
        self.query_one("#keys-bar", Static).update(bar, layout=False)
        self.query_one("#keys-header", Static).update(self.tree_view.header_text(), layout=False)
        self.query_one("#keys-status", Static).update(self.status_text(), layout=False)

    def status_text(self) -> str:
        """Keys indexed, scan progress, and the keys' meaning."""
        if self.problem is not None:
            return f"cannot list keys: {self.problem}"
        scan = self.scan
        if scan is None:
            return "connecting…"
        progress = scan.progress
        nodes = f" on {progress.nodes_total} primaries" if progress.nodes_total > 1 else ""
        if not progress.done:
            fraction = progress.fraction
            done = f" {fraction:.0%}" if fraction is not None else ""
            return f"scanning{done}: {progress.keys_seen:,} keys{nodes}"
        seconds = ""
        if self._scan_seconds is not None and self._scan_seconds >= 1:
            seconds = f" in {self._scan_seconds:.1f} s"  # worth saying for big keyspaces
        text = f"{len(scan.index):,} keys{nodes}{seconds}"
        if progress.truncated:
            text += f" (stopped at {scan.max_keys:,}: narrow with a pattern)"
        return text + "  ·  Enter: open  →/←: folder  m: size"

    # ---------------------------------------------------------------- facts

    @on(KeyTreeView.Moved)
    def _moved_view(self) -> None:
        # Scrolling fast moves many times per frame: read once it settles.
        if self._moved is not None:
            self._moved.stop()
        self._moved = self.set_timer(0.08, self._want_facts)

    def _want_facts(self) -> None:
        if not self._started or not self.is_attached:
            return
        if self._describing:
            self._describe_again = True
            return
        keys = self.facts.stale(self.tree_view.visible_keys(), FACTS_MAX_AGE_MS)
        if keys:
            self._describing = True
            self._describe(keys)

    @work(group="keys-facts", exit_on_error=False)
    async def _describe(self, keys: list[bytes]) -> None:
        try:
            self.facts.put(await describe_keys(await self.client(), keys))
            self.tree_view.refresh()
        except Exception as exc:
            failure = _failure(exc, self.settings)
            self.notify(safe_text(failure.message), title="Keys", severity="error", markup=False)
        finally:
            self._describing = False
        if self._describe_again:
            self._describe_again = False
            self._want_facts()

    def action_memory(self) -> None:
        keys = [key for key in self.tree_view.visible_keys() if self.facts.get(key) is not None]
        if keys:
            self._measure(keys)

    @work(group="keys-memory", exit_on_error=False)
    async def _measure(self, keys: list[bytes]) -> None:
        try:
            usages = await memory_usage(await self.client(), keys)
        except Exception as exc:
            failure = _failure(exc, self.settings)
            self.notify(safe_text(failure.message), title="Keys", severity="error", markup=False)
            return
        self.facts.put_memory(keys, usages)
        refused = next((u.refused for u in usages if u.refused), None)
        if refused:
            self.notify(f"MEMORY USAGE refused: {safe_text(refused)}", title="Keys", markup=False)
        self.tree_view.refresh()

    # ---------------------------------------------------------------- filters

    def action_pattern(self) -> None:
        box = self.query_one("#keys-pattern", Input)
        box.add_class("-open")
        box.focus()

    def action_delimiter(self) -> None:
        box = self.query_one("#keys-delimiter", Input)
        box.value = self.delimiter.decode("utf-8", "backslashreplace")
        box.add_class("-open")
        box.focus()

    def action_close_inputs(self) -> None:
        boxes = [box for box in self.query(Input) if box.has_class("-open")]
        if not boxes:
            raise SkipAction()  # Escape means what the app says (back to the sessions)
        for box in boxes:
            box.remove_class("-open")
        self.tree_view.focus()

    @on(Input.Submitted, "#keys-pattern")
    def _pattern_given(self, event: Input.Submitted) -> None:
        self.set_pattern(event.value)

    def _close_inputs(self) -> None:
        for box in self.query(Input):
            box.remove_class("-open")
        self.tree_view.focus()

    def set_pattern(self, text: str) -> None:
        """Scan again with ``SCAN MATCH text`` (empty: every key)."""
        self.pattern = text.encode() if text and text != "*" else None
        self._close_inputs()
        self.start_scan()

    def action_cycle_type(self) -> None:
        self.set_type(KEY_TYPES[(KEY_TYPES.index(self.key_type) + 1) % len(KEY_TYPES)])

    def set_type(self, key_type: str | None) -> None:
        """Scan again with ``SCAN TYPE key_type`` (``None``: every type)."""
        self.key_type = key_type
        self.start_scan()

    @on(Input.Submitted, "#keys-delimiter")
    def _delimiter_given(self, event: Input.Submitted) -> None:
        self.set_delimiter(event.value)

    def set_delimiter(self, text: str) -> None:
        """Show the tree by another delimiter: no new scan, the same index."""
        self.delimiter = text.encode() or DEFAULT_DELIMITER
        self._close_inputs()
        index = self.scan.index if self.scan is not None else KeyIndex()
        self.rows.reset(KeyTree(index, self.delimiter))
        self.tree_view.cursor = 0
        self.tree_view.sync()
        self._update_bar()
        self._want_facts()

    def action_rescan(self) -> None:
        self.start_scan()

    # ---------------------------------------------------------------- a key

    @on(KeyTreeView.Opened)
    def _open_key(self, event: KeyTreeView.Opened) -> None:
        fact = self.facts.get(event.key)
        screen = KeyValueScreen(
            self.client,
            event.key,
            settings=self.settings,
            info=fact.info if fact is not None else None,
            allow_writes=self.allow_writes,
            host_field=self.host_field,
            clock=self.clock,
            tz=self.tz,
        )
        self.app.push_screen(screen, lambda changed: self._closed_key(screen, changed))

    def _closed_key(self, screen: KeyValueScreen, changed: bytes | None) -> None:
        # The key was written (deleted, a new TTL): its facts are read again,
        # and a key that is gone leaves the tree.
        if changed is None:
            return
        self.facts.forget(changed)
        if screen.info is not None and not screen.info.exists:
            self.rows.tree.index.discard(changed)
        if self.scan is not None and self.scan.progress.done:
            self._refresh_tree()
        self._want_facts()


def _failure(exc: Exception, settings: ConnectionSettings) -> Failure:
    """Any error of a read as one line (a Failure as it is)."""
    return exc if isinstance(exc, Failure) else describe_failure(exc, settings)
