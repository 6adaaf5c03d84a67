"""One session in full: metadata, each attribute as a tree or raw bytes, live.

The screen reads the source once, to open the session; after that it follows
the feed: every :class:`~inspector.tui.messages.SessionsChanged` the app's
source reader posts to it carries the newest copy (or says the session is
gone), so following a session costs no reads. Messages reach a screen only
once it is composed and mounted (Textual processes a screen's queue after its
Compose and Mount), so an update can never find the widgets missing.

Decoding (every attribute, for the list's formats and the tree) runs in a
worker thread: a large or slow value never freezes the screen, and Escape
leaves while it decodes (the superseded result is dropped).
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import orjson
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, get_current_worker

from inspector.core.render import safe_text, session_summary
from inspector.core.session import Session
from inspector.core.source import SessionSource
from inspector.core.spring import ATTRIBUTE_PREFIX
from inspector.core.values import Decoded, ValueFormat
from inspector.exits import ExitCode
from inspector.redis_io.errors import Failure, describe_failure
from inspector.tui.messages import SessionsChanged
from inspector.tui.options import AppOptions
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.widgets.footer import BindingsFooter
from inspector.tui.widgets.raw_view import RawView
from inspector.tui.widgets.value_tree import ValueTree

__all__ = ["DetailState", "SessionDetailScreen", "export_name"]

_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._+=-]")


def export_name(session_id: str) -> str:
    """``session-<id>.json`` with anything but letters, digits and ``._+=-`` as ``_``.

    Ids may be base64 tokens (``/`` would name a directory) or any text a
    custom id generator made; the file must land in the current directory.
    """
    return f"session-{_UNSAFE_IN_NAME.sub('_', session_id)[:128]}.json"


class DetailState(StrEnum):
    """What the screen shows."""

    LOADING = "loading"
    """Nothing yet: the session is being read or decoded."""
    SHOWN = "shown"
    """:attr:`SessionDetailScreen.session`, decoded."""
    GONE = "gone"
    """The session no longer exists (expired, destroyed, deleted)."""
    UNREADABLE = "unreadable"
    """It could not be read (not connected, refused); opening it again retries."""


class SessionDetailScreen(Screen[None]):
    """Metadata on top; attributes on the left; the chosen one as a tree or raw bytes."""

    DEFAULT_CSS = """
    SessionDetailScreen #meta {
        height: auto;
        max-height: 14;
        padding: 0 1;
        border-bottom: solid $primary;
    }
    SessionDetailScreen #body {
        height: 1fr;
    }
    SessionDetailScreen #attributes {
        width: 30%;
        min-width: 20;
        max-width: 48;
    }
    SessionDetailScreen #view {
        width: 1fr;
    }
    SessionDetailScreen #missing {
        padding: 1 2;
        color: $error;
    }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "toggle_raw", "Raw"),
        Binding("c", "copy_id", "Copy id"),
        Binding("y", "copy_value", "Copy value"),
        Binding("e", "export", "Export"),
        Binding("d", "delete", "Delete"),
    ]

    def __init__(
        self,
        source: SessionSource,
        key: str,
        session_id: str,
        namespace: str,
        *,
        options: AppOptions,
        session: Session | None = None,
    ) -> None:
        """Show one session.

        Args:
            source: Where to read it (once, when no copy is given) and delete it.
            key: The session's hash key.
            session_id: Its id.
            namespace: Its namespace.
            options: The app's options (writes allowed, clock, time zone, server).
            session: The session as already read; ``None`` reads it on mount.
        """
        super().__init__()
        self.source = source
        self.key = key
        self.session_id = session_id
        self.namespace = namespace
        self.options = options
        self.allow_writes = options.allow_writes
        self.clock = options.clock
        self.tz = options.tz
        self.session: Session | None = None
        """The session shown (decoded); ``None`` until then, or when gone."""
        self.state = DetailState.LOADING
        self._given = session
        self._listing: tuple[object, ...] | None = None
        """What the attribute list shows; rebuilt only when this changes."""
        self._shown: tuple[str, bytes] | None = None
        """Name and raw bytes in the tree and raw view; rebuilt only when these change."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"Loading session {safe_text(self.session_id)}…"), id="meta")
        with Horizontal(id="body"):
            yield OptionList(id="attributes")
            with ContentSwitcher(id="view", initial="tree"):
                yield ValueTree(
                    "attribute", Decoded(ValueFormat.EMPTY, None, 0), tz=self.tz, id="tree"
                )
                yield RawView(b"", id="raw")
        # Every key of the screen fits 80 columns; ctrl+p still opens the
        # palette (the main screen's footer says so).
        yield BindingsFooter(show_command_palette=False)

    def on_mount(self) -> None:
        if self._given is not None:
            self._prepare(self._given)
        else:
            self._load()

    # ---------------------------------------------------------------- loading

    def on_sessions_changed(self, message: SessionsChanged) -> None:
        """Follow the feed: show its newer copy, or that the session is gone."""
        changed, session = message.about(self.key)
        if not changed:
            return
        # The feed's copy is newer than what an opening read still in flight
        # would show: that read must not overwrite it.
        self.workers.cancel_group(self, "detail")
        if session is None:
            self._show(None)
        else:
            self._prepare(session)

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def _load(self) -> None:
        try:
            session = await self.source.find(self.key)
        except Exception as exc:
            # Shown, in one line, instead of "Loading…" forever; opening the
            # session again tries to connect again.
            self._unreadable(describe_failure(exc, self.options.settings))
            return
        if session is None:
            self._show(None)
        else:
            self._prepare(session)

    # A thread, exclusive: a newer copy supersedes a decode still running, and
    # the UI (Escape included) stays live however long a value takes.
    @work(thread=True, exclusive=True, group="decode", exit_on_error=False)
    def _prepare(self, session: Session) -> None:
        """Decode every attribute (cached in the session) off the UI thread, then show it."""
        worker = get_current_worker()
        for name in session.attribute_names:
            if worker.is_cancelled:
                return
            session.attribute(name)
        lines = session_summary(session, self.tz, now_ms=int(self.clock() * 1000))
        if worker.is_cancelled:
            return
        try:
            self.app.call_from_thread(self._install, worker, session, lines)
        except RuntimeError:
            return  # the app has closed meanwhile

    def _install(self, worker: Worker[None], session: Session, lines: list[str]) -> None:
        # Checked again on the UI thread, where workers are cancelled.
        if worker.is_cancelled or not self.is_attached:
            return
        self._show(session, lines)

    def _unreadable(self, failure: Failure) -> None:
        why = "not connected" if failure.exit_code is ExitCode.CONNECTION else "cannot read it"
        self.query_one("#meta", Static).update(
            Text(f"Session {safe_text(self.session_id)}: {why}: ")
            + Text(safe_text(failure.message), style="bold")
        )
        self.state = DetailState.UNREADABLE

    def _show(self, session: Session | None, lines: list[str] | None = None) -> None:
        meta = self.query_one("#meta", Static)
        options = self.query_one("#attributes", OptionList)
        if session is None:
            self.workers.cancel_group(self, "decode")
            self.session = None
            meta.update(
                Text(f"Session {safe_text(self.session_id)} no longer exists.", style="bold")
            )
            options.clear_options()
            self._listing = None
            self.state = DetailState.GONE
            return
        if lines is None:
            lines = session_summary(session, self.tz, now_ms=int(self.clock() * 1000))
        self.session = session
        meta.update(Text("\n".join(lines)))
        names = [*session.attribute_names, *session.removed_attributes]
        listing = (
            tuple((name, session.attribute(name).format) for name in session.attribute_names),
            tuple(session.removed_attributes),
        )
        previous = options.highlighted_option.id if options.highlighted_option else None
        if listing != self._listing:
            # Rebuilt only when names or formats change: a rebuild loses the
            # list's scroll position.
            self._listing = listing
            options.clear_options()
            labels = []
            for name, value_format in listing[0]:
                label = Text(safe_text(name))
                label.append(f"  {value_format.value}", style="dim")
                labels.append(Option(label, id=name))
            labels.extend(
                Option(Text(f"{safe_text(name)}  (removed)", style="dim"), id=name)
                for name in session.removed_attributes
            )
            options.add_options(labels)
            if names:
                # Posts OptionHighlighted, whose _select finds the value shown
                # already by the call below and does nothing.
                options.highlighted = names.index(previous) if previous in names else 0
        if names:
            self._select(names[options.highlighted or 0])
        self.state = DetailState.SHOWN

    @on(OptionList.OptionHighlighted, "#attributes")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._select(event.option.id)

    def _select(self, name: str) -> None:
        if self.session is None:
            return
        raw = self.session.raw.fields.get(ATTRIBUTE_PREFIX + name, b"")
        if self._shown == (name, raw):
            return  # unchanged: keep the tree's expansion, cursor and scroll
        self._shown = (name, raw)
        self.query_one("#tree", ValueTree).set_value(name, self.session.attribute(name))
        self.query_one("#raw", RawView).set_data(raw)

    # ---------------------------------------------------------------- actions

    def action_toggle_raw(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = "tree" if switcher.current == "raw" else "raw"

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.session_id)
        self.notify(f"Copied {safe_text(self.session_id)}", title="Clipboard", markup=False)

    def action_copy_value(self) -> None:
        if self.query_one(ContentSwitcher).current == "raw":
            text = self.query_one("#raw", RawView).text_for_copy()
        else:
            text = self.query_one("#tree", ValueTree).selected_text()
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {len(text)} characters", title="Clipboard")

    def action_export(self) -> None:
        if self.session is None:
            return
        path = Path.cwd() / export_name(self.session_id)
        try:
            path.write_bytes(
                orjson.dumps(self.session.to_json(attributes=True), option=orjson.OPT_INDENT_2)
            )
        except OSError as exc:
            self.notify(
                safe_text(f"Cannot write {path}: {exc.strerror or exc}"),
                severity="error",
                markup=False,
            )
            return
        self.notify(safe_text(str(path)), title="Exported", markup=False)

    def action_delete(self) -> None:
        if not self.allow_writes:
            self.notify(
                "Read-only: start session-inspector with --allow-writes to delete sessions.",
                severity="warning",
            )
            return
        if self.session is None:
            self.notify("The session is not loaded: nothing to delete.", severity="warning")
            return
        question = (
            f"Delete session {safe_text(self.session_id)}?\n\nIts hash, shadow key and index "
            "entries are removed from Redis. The user is logged out."
        )
        self.app.push_screen(ConfirmScreen(question), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self._delete()

    # Its own group: a newer copy from the feed must not cancel the deletion half-way.
    @work(exclusive=True, group="delete", exit_on_error=False)
    async def _delete(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            removed = await self.source.delete(session)
        except Exception as exc:
            # Failure: refused (ACL, a read-only replica...) or not connected.
            # Never "Deleted": some or all of the keys may still be there.
            failure = describe_failure(exc, self.options.settings)
            self.notify(
                safe_text(failure.message),
                title="Not deleted",
                severity="error",
                timeout=15,
                markup=False,
            )
            return
        self.notify(f"Deleted ({removed} keys and entries removed)", title="Session deleted")
        self._show(None)
