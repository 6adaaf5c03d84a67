"""One key's value, by its type, a page at a time; the key browser's only writes.

- A string is read up to :data:`~inspector.redis_io.keys.STRING_LIMIT` and
  decoded as session attributes are (JDK, Jackson, JSON, msgpack, pickle by
  name, PHP, Marshal, text, hex): the same tree and raw view as the session
  detail screen (``r`` switches).
- Hashes, lists, sets, sorted sets and streams are tables read through
  HSCAN/LRANGE/SSCAN/ZRANGE/XRANGE a page at a time, the next page when the
  cursor nears the end: a 10M-member key is never loaded whole. Enter decodes
  one element.
- A Spring Session key (the session hash, its shadow key or ``:idx`` set)
  opens the session's detail screen with ``s``; Escape comes back here.
- With ``--allow-writes`` only: ``d`` deletes (UNLINK), ``t`` sets a TTL,
  ``p`` removes it, ``e`` edits a string or the selected hash field, each
  after a confirmation whose focused answer is Cancel. Without it, those keys
  say so and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, Static

from inspector.core.decoders import decode_value
from inspector.core.render import safe_text
from inspector.core.session import HostField
from inspector.core.spring import KeyKind, classify_key, session_key
from inspector.core.values import Decoded, ValueFormat
from inspector.redis_io.client import RedisClient
from inspector.redis_io.errors import Failure, describe_failure
from inspector.redis_io.keys import (
    KeyInfo,
    KeyWriter,
    MemoryUsage,
    StringValue,
    describe_keys,
    memory_usage,
    read_hash,
    read_list,
    read_set,
    read_stream,
    read_string,
    read_zset,
)
from inspector.redis_io.settings import ConnectionSettings
from inspector.tui.messages import OpenSession
from inspector.tui.screens.confirm import ConfirmScreen
from inspector.tui.screens.prompt import PromptScreen
from inspector.tui.widgets.footer import BindingsFooter
from inspector.tui.widgets.key_tree import compact_bytes, countdown, key_text
from inspector.tui.widgets.paged_table import PagedColumn, PagedTable
from inspector.tui.widgets.raw_view import RawView
from inspector.tui.widgets.value_tree import ValueTree

__all__ = ["ElementScreen", "KeyValueScreen", "preview"]

PREVIEW = 200
"""Characters of an element shown in a table cell."""

_COLUMNS: dict[str, list[PagedColumn]] = {
    "hash": [PagedColumn("FIELD", 24), PagedColumn("VALUE")],
    "list": [PagedColumn("INDEX", 8, right=True), PagedColumn("ELEMENT")],
    "set": [PagedColumn("MEMBER")],
    "zset": [
        PagedColumn("RANK", 8, right=True),
        PagedColumn("SCORE", 14, right=True),
        PagedColumn("MEMBER"),
    ],
    "stream": [PagedColumn("ID", 16), PagedColumn("FIELDS")],
}
_UNITS = {"string": "bytes", "hash": "fields", "list": "elements", "set": "members",
          "zset": "members", "stream": "entries"}  # fmt: skip
_SESSION_KINDS = (KeyKind.SESSION, KeyKind.SHADOW, KeyKind.IDX_SET)


def preview(data: bytes, limit: int = PREVIEW) -> str:
    r"""An element's first characters as safe text (invalid UTF-8 as ``\\xNN``)."""
    return safe_text(data[: limit * 4].decode("utf-8", "backslashreplace")[:limit])


def _editable(data: bytes) -> str | None:
    """The value as text when a one-line input can edit it without changing its bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ch in text for ch in "\n\r") or safe_text(text) != text:
        return None
    return text


class ElementScreen(Screen[None]):
    """One element of a value (a hash field's value, a list item), decoded, and its raw bytes."""

    BINDINGS = [Binding("escape", "back", "Back"), Binding("r", "raw", "Raw/decoded")]

    def __init__(self, label: str, data: bytes, *, tz: dt.tzinfo | None = None) -> None:
        super().__init__()
        self.label = label
        self.data = data
        self.tz = tz

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(self.label), id="kv-key")
        with ContentSwitcher(id="kv-body", initial="kv-tree"):
            yield ValueTree(self.label, decode_value(self.data), tz=self.tz, id="kv-tree")
            yield RawView(self.data, id="kv-raw")
        yield BindingsFooter()

    def on_mount(self) -> None:
        self.query_one("#kv-tree").focus()

    def action_raw(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        switcher.current = "kv-raw" if switcher.current == "kv-tree" else "kv-tree"
        self.query_one(f"#{switcher.current}").focus()

    def action_back(self) -> None:
        self.dismiss(None)


class KeyValueScreen(Screen[bytes | None]):
    """A key's facts and value; dismisses with the key when it was written, else ``None``."""

    DEFAULT_CSS = """
    KeyValueScreen #kv-key {
        height: auto;
        max-height: 3;
        padding: 0 1;
        text-style: bold;
    }
    KeyValueScreen #kv-facts {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    KeyValueScreen #kv-body {
        height: 1fr;
    }
    KeyValueScreen #kv-message {
        padding: 1 2;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "raw", "Raw"),
        Binding("s", "session", "Session"),
        Binding("e", "edit", "Edit"),
        Binding("t", "ttl", "TTL"),
        Binding("p", "persist", "Persist"),
        Binding("d", "delete", "Delete"),
    ]

    def __init__(
        self,
        client: Callable[[], Awaitable[RedisClient]],
        key: bytes,
        *,
        settings: ConnectionSettings,
        info: KeyInfo | None = None,
        allow_writes: bool = False,
        host_field: HostField | None = None,
        clock: Callable[[], float] = time.time,
        tz: dt.tzinfo | None = None,
    ) -> None:
        """Show one key.

        Args:
            client: Returns the connected client (the Keys tab's).
            key: The key.
            settings: The connection, to explain failures in one line.
            info: Its facts as the tree read them (read again on open anyway).
            allow_writes: ``--allow-writes``: whether d/t/p/e may write.
            host_field: Where sessions keep their host (for the session link).
            clock: Time source (TTL countdown).
            tz: Time zone of decoded dates.
        """
        super().__init__()
        self._client = client
        self.key = key
        self.settings = settings
        self.info = info
        self.allow_writes = allow_writes
        self.host_field = host_field
        self.clock = clock
        self.tz = tz
        self.read_ms = int(clock() * 1000)
        self.memory: MemoryUsage | None = None
        self.string: StringValue | None = None
        self.elements: list[bytes] = []
        """What Enter decodes, per table row."""
        self.fields: list[bytes] = []
        """A hash's field names, per table row."""
        self._seen: set[bytes] = set()
        self._next: Any = None
        self.changed = False
        self.reads = 0
        """How many times the key was read and shown (on open, and again after each write)."""
        self.pages = 0
        """How many further pages of the value were read (the cursor neared the end)."""
        spring = classify_key(key.decode("utf-8", "surrogateescape"))
        self.session = (
            spring if spring is not None and spring.kind in _SESSION_KINDS and spring.session_id
            else None
        )  # fmt: skip

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(key_text(self.key)), id="kv-key")
        yield Static("", id="kv-facts", markup=False)
        with ContentSwitcher(id="kv-body", initial="kv-message"):
            yield Static("Reading…", id="kv-message", markup=False)
            yield ValueTree("value", Decoded(ValueFormat.EMPTY, None, 0), tz=self.tz, id="kv-tree")
            yield RawView(b"", id="kv-raw")
        yield BindingsFooter()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._show_facts)
        self._load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The footer offers only what applies to this key.
        if action == "session":
            return self.session is not None
        if action == "raw":
            return self.string is not None
        return True

    # ---------------------------------------------------------------- reading

    def reload(self) -> None:
        """Read the key again (after a write)."""
        self._load()

    async def _table(self, kind: str) -> PagedTable:
        for old in self.query(PagedTable):
            await old.remove()
        table = PagedTable(_COLUMNS[kind], id="kv-table")
        await self.query_one(ContentSwitcher).mount(table)
        return table

    @work(exclusive=True, group="kv-load", exit_on_error=False)
    async def _load(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        message = self.query_one("#kv-message", Static)
        try:
            client = await self._client()
            (self.info,) = await describe_keys(client, [self.key])
            (self.memory,) = await memory_usage(client, [self.key])
            self.read_ms = int(self.clock() * 1000)
            self._show_facts()
            kind = self.info.type
            if not self.info.exists:
                message.update("The key no longer exists.")
                switcher.current = "kv-message"
            elif kind == "string":
                self.string = value = await read_string(client, self.key)
                label = f"string, {value.length:,} bytes" + (
                    f" (first {len(value.data):,} read)" if value.truncated else ""
                )
                self.query_one(ValueTree).set_value(label, value.decoded)
                self.query_one(RawView).set_data(value.data)
                switcher.current = "kv-tree"
                self.query_one(ValueTree).focus()
                self.refresh_bindings()
            elif kind in _COLUMNS:
                self.elements, self.fields, self._seen, self._next = [], [], set(), None
                table = await self._table(kind)
                switcher.current = "kv-table"
                table.focus()
                await self._read_page(client, table, first=True)
            else:
                message.update(f"{kind}: a module's type; nothing here reads its value.")
                switcher.current = "kv-message"
        except Exception as exc:  # refused, or the connection dropped: one line
            failure = exc if isinstance(exc, Failure) else describe_failure(exc, self.settings)
            message.update(f"Cannot read the key: {safe_text(failure.message)}")
            switcher.current = "kv-message"
        self.reads += 1

    @on(PagedTable.NeedMore)
    def _more(self) -> None:
        self._page()

    @work(group="kv-page", exit_on_error=False)
    async def _page(self) -> None:
        try:
            table = self.query_one(PagedTable)
            await self._read_page(await self._client(), table, first=False)
        except Exception as exc:
            failure = exc if isinstance(exc, Failure) else describe_failure(exc, self.settings)
            self.notify(safe_text(failure.message), title="Reading", severity="error", markup=False)
        self.pages += 1

    async def _read_page(self, client: RedisClient, table: PagedTable, *, first: bool) -> None:
        kind = self.info.type if self.info is not None else ""
        position = self._next
        rows: list[tuple[str, ...]] = []
        if kind == "hash":
            hash_page = await read_hash(client, self.key, cursor=int(position or 0))
            for name, value in hash_page.items:
                if name not in self._seen:  # HSCAN may return a field twice
                    self._seen.add(name)
                    self.fields.append(name)
                    self.elements.append(value)
                    rows.append((preview(name), preview(value)))
            self._next = hash_page.next
        elif kind == "set":
            set_page = await read_set(client, self.key, cursor=int(position or 0))
            for member in set_page.items:
                if member not in self._seen:
                    self._seen.add(member)
                    self.elements.append(member)
                    rows.append((preview(member),))
            self._next = set_page.next
        elif kind == "list":
            start = int(position or 0)
            list_page = await read_list(client, self.key, start=start)
            for offset, element in enumerate(list_page.items):
                self.elements.append(element)
                rows.append((f"{start + offset:,}", preview(element)))
            self._next = list_page.next
        elif kind == "zset":
            start = int(position or 0)
            zset_page = await read_zset(client, self.key, start=start)
            for offset, (member, score) in enumerate(zset_page.items):
                self.elements.append(member)
                rows.append((f"{start + offset:,}", preview(score), preview(member)))
            self._next = zset_page.next
        elif kind == "stream":
            stream_page = await read_stream(client, self.key, after=position)
            for entry in stream_page.items:
                text = b"  ".join(name + b"=" + value for name, value in entry.fields)
                self.elements.append(text)
                rows.append((preview(entry.id), preview(text)))
            self._next = stream_page.next
        table.add_rows(rows, more=self._next is not None)

    def _show_facts(self) -> None:
        info = self.info
        if info is None or not self.is_attached:
            return
        if not info.exists:
            self.query_one("#kv-facts", Static).update("gone")
            return
        parts = [info.type]
        if info.ttl_ms is None:
            parts.append("no TTL")
        else:
            left = info.ttl_ms - (int(self.clock() * 1000) - self.read_ms)
            parts.append(f"TTL {countdown(left)}")
        if info.length is not None:
            parts.append(f"{info.length:,} {_UNITS.get(info.type, 'long')}")
        if info.encoding:
            parts.append(info.encoding)
        if self.memory is not None:
            if self.memory.bytes is not None:
                parts.append(f"{compact_bytes(self.memory.bytes)} (MEMORY USAGE)")
            elif self.memory.refused:
                # The server's reason can be long (fakeredis quotes the command):
                # the facts stay on one line.
                parts.append("no MEMORY USAGE (refused)")
        if self.session is not None:
            parts.append("s: its session")
        self.query_one("#kv-facts", Static).update("  ·  ".join(parts))

    # ---------------------------------------------------------------- moving

    @on(PagedTable.Chosen)
    def _chosen(self, event: PagedTable.Chosen) -> None:
        data = self.elements[event.index]
        label = key_text(self.key)
        if self.fields:
            label += f"  >  {preview(self.fields[event.index], 60)}"
        else:
            label += f"  >  #{event.index:,}"
        self.app.push_screen(ElementScreen(label, data, tz=self.tz))

    def action_raw(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        if switcher.current in ("kv-tree", "kv-raw"):
            switcher.current = "kv-raw" if switcher.current == "kv-tree" else "kv-tree"
            self.query_one(f"#{switcher.current}").focus()

    def action_session(self) -> None:
        spring = self.session
        if spring is None or spring.session_id is None:
            self.notify("Not a Spring Session key.", severity="warning")
            return
        # The app opens it, on its session source (as from the sessions table).
        self.post_message(
            OpenSession(
                session_key(spring.namespace, spring.session_id),
                spring.session_id,
                spring.namespace,
            )
        )

    def action_back(self) -> None:
        self.dismiss(self.key if self.changed else None)

    # ---------------------------------------------------------------- writes

    def _read_only(self) -> bool:
        if self.allow_writes:
            return False
        self.notify(
            "Read-only: start session-inspector with --allow-writes to change keys.",
            severity="warning",
        )
        return True

    async def _confirmed(self, question: str, yes: str) -> bool:
        # ConfirmScreen dismisses with a bool; mypy does not solve the overload for it.
        screen: Any = ConfirmScreen(question, yes=yes)
        return bool(await self.app.push_screen_wait(screen))

    async def _write(self, what: str, call: Callable[[KeyWriter], Awaitable[object]]) -> None:
        try:
            writer = KeyWriter(await self._client(), allow_writes=self.allow_writes)
            await call(writer)
        except Exception as exc:  # refused, or a dropped connection: one line, no traceback
            problem = exc if isinstance(exc, Failure) else describe_failure(exc, self.settings)
            self.notify(safe_text(problem.message), title=what, severity="error", markup=False)
            return
        self.changed = True
        self.notify(f"{what}: done", title="Keys")
        self.reload()

    def action_delete(self) -> None:
        if not self._read_only():
            self._delete()

    @work(group="kv-write", exit_on_error=False)
    async def _delete(self) -> None:
        question = f"Delete the key {key_text(self.key)}?\n\nUNLINK removes it and its value."
        if await self._confirmed(question, "Delete"):
            await self._write("Deleted", lambda writer: writer.delete(self.key))

    def action_persist(self) -> None:
        if not self._read_only():
            self._persist()

    @work(group="kv-write", exit_on_error=False)
    async def _persist(self) -> None:
        question = f"Remove the TTL of {key_text(self.key)}?\n\nPERSIST: it never expires then."
        if await self._confirmed(question, "Persist"):
            await self._write("TTL removed", lambda writer: writer.remove_ttl(self.key))

    def action_ttl(self) -> None:
        if not self._read_only():
            self._ttl()

    @work(group="kv-write", exit_on_error=False)
    async def _ttl(self) -> None:
        current = ""
        if self.info is not None and self.info.ttl_ms is not None:
            current = str(max(1, self.info.ttl_ms // 1000))
        answer = await self.app.push_screen_wait(
            PromptScreen(f"New TTL of {key_text(self.key)}, in seconds:", current, "seconds")
        )
        if answer is None:
            return
        try:
            seconds = float(answer)
        except ValueError:
            seconds = 0.0
        if not seconds > 0 or seconds > 10**10:
            self.notify(f"Not a TTL in seconds: {safe_text(answer)}", severity="warning")
            return
        question = f"Expire {key_text(self.key)} in {seconds:g} s?\n\nPEXPIRE sets its TTL."
        if await self._confirmed(question, "Set TTL"):
            await self._write("TTL set", lambda writer: writer.set_ttl(self.key, seconds))

    def action_edit(self) -> None:
        if not self._read_only():
            self._edit()

    @work(group="kv-write", exit_on_error=False)
    async def _edit(self) -> None:
        kind = self.info.type if self.info is not None else None
        if kind == "string" and self.string is not None:
            text = None if self.string.truncated else _editable(self.string.data)
            if text is None:
                self.notify("Binary or multi-line value: not editable here.", severity="warning")
                return
            answer = await self.app.push_screen_wait(
                PromptScreen(f"New value of {key_text(self.key)}:", text)
            )
            if answer is None or answer == text:
                return
            new = answer.encode()
            question = f"Set {key_text(self.key)} to {preview(new, 80)!r}?\n\nSET ... KEEPTTL."
            if await self._confirmed(question, "Set"):
                await self._write("Value set", lambda writer: writer.set_string(self.key, new))
        elif kind == "hash" and self.fields:
            index = self.query_one(PagedTable).cursor
            name, value = self.fields[index], self.elements[index]
            text = _editable(value)
            if text is None:
                self.notify("Binary or multi-line value: not editable here.", severity="warning")
                return
            answer = await self.app.push_screen_wait(
                PromptScreen(f"New value of field {preview(name, 60)}:", text)
            )
            if answer is None or answer == text:
                return
            new = answer.encode()
            question = (
                f"Set field {preview(name, 60)} of {key_text(self.key)} to {preview(new, 60)!r}?"
                "\n\nHSET one field."
            )
            if await self._confirmed(question, "Set"):
                await self._write(
                    "Field set", lambda writer: writer.set_hash_field(self.key, name, new)
                )
        else:
            self.notify("Only strings and hash fields can be edited.", severity="warning")
