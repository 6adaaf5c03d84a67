"""One session in full: metadata, each attribute as a tree or raw bytes, live."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from inspector.core.render import safe_text, session_summary
from inspector.core.session import HostField, Session
from inspector.core.spring import ATTRIBUTE_PREFIX
from inspector.core.values import Decoded, ValueFormat
from inspector.redis_io.client import RedisClient
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.widgets.raw_view import RawView
from inspector.tui.widgets.value_tree import ValueTree

__all__ = ["SessionDetailScreen"]


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
        Binding("r", "toggle_raw", "Raw/tree"),
        Binding("c", "copy_id", "Copy id"),
        Binding("y", "copy_value", "Copy value"),
        Binding("e", "export", "Export JSON"),
        Binding("d", "delete", "Delete"),
    ]

    def __init__(
        self,
        client: Callable[[], RedisClient | None],
        key: str,
        session_id: str,
        namespace: str,
        *,
        host_field: HostField | None = None,
        allow_writes: bool = False,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        self.key = key
        self.session_id = session_id
        self.namespace = namespace
        self.host_field = host_field
        self.allow_writes = allow_writes
        self.clock = clock
        self.tz = tz
        self.session: Session | None = None
        self.raw_mode = False
        self.attribute_name: str | None = None
        self.loaded = asyncio.Event()
        """Set each time the session has been (re)read and shown (tests wait on it)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"Loading session {safe_text(self.session_id)}…"), id="meta")
        with Horizontal(id="body"):
            yield OptionList(id="attributes")
            with ContentSwitcher(id="view", initial="tree"):
                yield ValueTree("attribute", Decoded(ValueFormat.EMPTY, None, 0), id="tree")
                yield RawView(b"", id="raw")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    # ---------------------------------------------------------------- loading

    def reload(self) -> None:
        """Read the session again (on open, and when a request changes it)."""
        self._load()

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def _load(self) -> None:
        from inspector.redis_io.discovery import find_session

        client = self._client()
        if client is None:
            return
        session = await find_session(
            client, self.session_id, namespace=self.namespace, host_field=self.host_field
        )
        self._show(session)

    def _show(self, session: Session | None) -> None:
        meta = self.query_one("#meta", Static)
        options = self.query_one("#attributes", OptionList)
        if session is None:
            self.session = None
            meta.update(
                Text(f"Session {safe_text(self.session_id)} no longer exists.", style="bold")
            )
            options.clear_options()
            self.loaded.set()
            return
        previous = options.highlighted_option.id if options.highlighted_option else None
        self.session = session
        meta.update(
            Text("\n".join(session_summary(session, self.tz, now_ms=int(self.clock() * 1000))))
        )
        options.clear_options()
        for name in session.attribute_names:
            decoded = session.attribute(name)
            label = Text(safe_text(name))
            label.append(f"  {decoded.format.value}", style="dim")
            options.add_option(Option(label, id=name))
        for name in session.removed_attributes:
            options.add_option(Option(Text(f"{safe_text(name)}  (removed)", style="dim"), id=name))
        if options.option_count:
            names = [*session.attribute_names, *session.removed_attributes]
            options.highlighted = names.index(previous) if previous in names else 0
            self._select(names[options.highlighted or 0])
        self.loaded.set()

    @on(OptionList.OptionHighlighted, "#attributes")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self._select(event.option.id)

    def _select(self, name: str) -> None:
        if self.session is None:
            return
        self.attribute_name = name
        self.query_one("#tree", ValueTree).set_value(name, self.session.attribute(name))
        raw = self.session.raw.fields.get(ATTRIBUTE_PREFIX + name, b"")
        self.query_one("#raw", RawView).set_data(raw)

    # ---------------------------------------------------------------- actions

    def action_toggle_raw(self) -> None:
        self.raw_mode = not self.raw_mode
        self.query_one(ContentSwitcher).current = "raw" if self.raw_mode else "tree"

    def action_copy_id(self) -> None:
        self.app.copy_to_clipboard(self.session_id)
        self.notify(f"Copied {self.session_id}", title="Clipboard")

    def action_copy_value(self) -> None:
        if self.raw_mode:
            text = self.query_one("#raw", RawView).text_for_copy()
        else:
            text = self.query_one("#tree", ValueTree).selected_text()
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {len(text)} characters", title="Clipboard")

    def action_export(self) -> None:
        if self.session is None:
            return
        path = Path.cwd() / f"session-{self.session_id}.json"
        try:
            path.write_bytes(
                orjson.dumps(self.session.to_json(attributes=True), option=orjson.OPT_INDENT_2)
            )
        except OSError as exc:
            self.notify(f"Cannot write {path}: {exc.strerror}", severity="error")
            return
        self.notify(str(path), title="Exported")

    def action_delete(self) -> None:
        if not self.allow_writes:
            self.notify(
                "Read-only: start session-inspector with --allow-writes to delete sessions.",
                severity="warning",
            )
            return
        if self.session is None:
            return
        question = (
            f"Delete session {safe_text(self.session_id)}?\n\nIts hash, shadow key and index "
            "entries are removed from Redis. The user is logged out."
        )
        self.app.push_screen(ConfirmScreen(question), self._confirmed)

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self._delete()

    # Its own group: the deletion's keyspace events trigger a reload, which must
    # not cancel the deletion half-way.
    @work(exclusive=True, group="delete", exit_on_error=False)
    async def _delete(self) -> None:
        from inspector.redis_io.writes import delete_session

        client = self._client()
        if client is None or self.session is None:
            return
        removed = await delete_session(client, self.session)
        self.notify(f"Deleted ({removed} keys and entries removed)", title="Session deleted")
        self.reload()
