"""The console: redis-cli inside the app, with redis-cli's exact reply formatting.

Commands go through :class:`~inspector.redis_io.runner.CommandRunner` (the same
runner as the `cli` command) and replies print through
:func:`~inspector.redis_io.redis_cli.format_reply`, so what the pane shows is
what ``redis-cli --no-raw`` prints, line for line. Two deliberate differences:
every line passes through :func:`~inspector.core.render.safe_text` (a value is
never allowed to drive the terminal), and a line longer than
:data:`MAX_LINE_CHARS` is cut with a marker (rendering it would stall the UI).

What a console *is* (which lines stay out of the history, the console's own
commands, ``connect HOST PORT``, the server's command names and help table,
``N COMMAND`` repeats) is :mod:`inspector.redis_io.console_session`, shared
with the `cli` REPL: this module is the widgets and workers around a
:class:`~inspector.redis_io.console_session.ConsoleSession`.

All Redis I/O runs in one worker group; an :class:`asyncio.Lock` makes the
runner strictly sequential even while a cancelled worker is still cleaning up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Self

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Show
from textual.message import Message
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Label, Log
from textual.worker import Worker, get_current_worker

from inspector.core.render import safe_text
from inspector.redis_io.console_session import (
    INVALID_REPEAT,
    ConsoleCommand,
    ConsoleSession,
    HistoryFile,
    LocalCommand,
    console_command,
    split_repeat,
)
from inspector.redis_io.errors import Failure, describe_failure
from inspector.redis_io.redis_cli import COMMAND_NAMES, ErrorReply, Reply, format_reply, split_args
from inspector.redis_io.runner import STREAMING_COMMANDS, Redirect
from inspector.redis_io.settings import ConnectionSettings

__all__ = [
    "FLUSH_INTERVAL",
    "HELP",
    "HISTORY_LENGTH",
    "MAX_LINES",
    "MAX_LINE_CHARS",
    "QUIT_HINT",
    "STREAM_NOTE",
    "CommandInput",
    "CommandSuggester",
    "ConsolePane",
    "reply_lines",
]

MAX_LINES = 10_000
"""Lines the output keeps; older ones scroll away (MONITOR on a busy server)."""
MAX_LINE_CHARS = 1 << 20
"""Longest line shown in full: a 1 MB value still prints whole, a 50 MB one is cut."""
FLUSH_INTERVAL = 0.05
"""Seconds streamed lines are collected before they are written in one batch."""
HISTORY_LENGTH = 1000
"""Commands the Up/Down history keeps (in memory only)."""

STREAM_NOTE = "Streaming… press Ctrl+X to stop"
QUIT_HINT = "Use Escape or the tabs to leave the console."
HELP = """\
Type Redis commands as in redis-cli; replies print as redis-cli prints them.
  clear                clear the output
  connect HOST PORT    switch server
  help                 this help; help COMMAND, help @group: the server's
  N COMMAND            run a command N times
  Tab or → completes command names; ↑/↓ walk the history.
  MONITOR and (P|S)SUBSCRIBE stream here: Ctrl+X or Escape stops them,
  and so does the next command. Ctrl+X also cancels a blocking command."""
IDLE_PLACEHOLDER = "Redis command (Tab completes, ↑/↓ history, help)"
BUSY_PLACEHOLDER = "Running… Ctrl+X stops it; a new command stops it first"


def reply_lines(reply: Reply, args: Sequence[bytes]) -> list[str]:
    """A reply as the lines ``redis-cli --no-raw`` prints, made safe to display.

    Args:
        reply: The reply (or pushed message) to format.
        args: The command that produced it (INFO and a few others print verbatim).

    Returns:
        One string per output line, without line endings, each escaped with
        :func:`safe_text` and cut at :data:`MAX_LINE_CHARS`.
    """
    data = format_reply(reply, args, raw=False)
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()  # the final newline ends the last line, it starts no new one
    return [_display_line(line) for line in raw_lines]


def _display_line(raw: bytes) -> str:
    # Verbatim replies (INFO, CLIENT LIST) end lines with \r\n; a terminal shows
    # the \r as nothing, so drop it rather than print it escaped.
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    # Cut before decoding so a huge value is not decoded and escaped in full
    # (escaping only lengthens, so MAX_LINE_CHARS bytes cover the shown part).
    cut = len(raw) > MAX_LINE_CHARS
    text = safe_text(raw[:MAX_LINE_CHARS].decode("utf-8", "replace"))
    if cut or len(text) > MAX_LINE_CHARS:
        return f"{text[:MAX_LINE_CHARS]}… (line cut: {len(raw):,} bytes in all)"
    return text


def _lines(data: bytes) -> list[str]:
    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()
    return [_display_line(line) for line in raw_lines]


def _redirect_line(redirect: Redirect) -> str:
    return f"-> Redirected to slot [{redirect.slot}] located at {redirect.host}:{redirect.port}"


class CommandSuggester(Suggester):
    """Completes the command name (first word), in the case the user types it.

    Like :class:`textual.suggester.SuggestFromList` with ``case_sensitive=False``,
    but that one hands its matcher the casefolded value, so ``hgeta`` would be
    suggested as ``hgetaLL``; here lowercase input gets a lowercase completion
    (as the REPL's readline completer does). Names learned from the server
    (``COMMAND LIST``: module commands) can be added, so nothing is cached.
    """

    def __init__(self, names: Iterable[str] = COMMAND_NAMES) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names: list[str] = sorted({name.upper() for name in names})

    def add_names(self, names: Iterable[str]) -> None:
        """Add command names (e.g. ``JSON.GET`` from a module) to the completions."""
        self.names = sorted(set(self.names) | {name.upper() for name in names})

    def complete(self, value: str) -> str | None:
        """The completed text for ``value``, or ``None`` when there is nothing to add."""
        if not value or any(char.isspace() for char in value):
            return None  # only the command name is completed, as in redis-cli
        upper = value.upper()
        for name in self.names:
            if name.startswith(upper) and len(name) > len(value):
                rest = name[len(value) :]
                return value + (rest.lower() if value == value.lower() else rest)
        return None

    async def get_suggestion(self, value: str) -> str | None:
        return self.complete(value)


class CommandInput(Input):
    """The command line: Tab accepts the suggested completion, Up/Down walk the history.

    The history lives in memory only (the console writes no files), with the
    REPL's rules: commands that may carry a credential are never kept, a
    repeat is kept once.
    """

    BINDINGS = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("up", "history(-1)", "Previous command", show=False),
        Binding("down", "history(1)", "Next command", show=False),
    ]

    def __init__(
        self,
        suggester: CommandSuggester,
        *,
        id: str | None = None,  # noqa: A002 - Textual's name
    ) -> None:
        super().__init__(
            placeholder=IDLE_PLACEHOLDER,
            suggester=suggester,
            select_on_focus=False,
            compact=True,
            id=id,
        )
        self.completer = suggester
        self._history = HistoryFile(None, length=HISTORY_LENGTH)
        self._position = 0  # index into history; len(history) is the line being typed
        self._draft = ""

    @property
    def history(self) -> list[str]:
        """Commands entered, oldest first (secrets left out)."""
        return self._history.entries

    def remember(self, line: str, args: Sequence[bytes] | None) -> None:
        """Add a command to the history unless it may carry a secret (a repeat is kept once)."""
        self._history.add(line, args)
        self._position = len(self.history)
        self._draft = ""

    def action_complete(self) -> None:
        completion = self.completer.complete(self.value) if self.cursor_at_end else None
        if completion is None:
            # Nothing to complete: let Tab do its usual job (move the focus).
            raise SkipAction()
        self.value = completion
        self.cursor_position = len(completion)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._position == len(self.history):
            self._draft = self.value
        position = min(max(self._position + step, 0), len(self.history))
        if position == self._position:
            return
        self._position = position
        self.value = self._draft if position == len(self.history) else self.history[position]
        self.cursor_position = len(self.value)


class ConsolePane(Widget):
    """A redis-cli replacement: command line, history, completion, streaming.

    Replies print exactly as ``redis-cli --no-raw`` prints them (escaped with
    :func:`safe_text`); MONITOR and (P|S)SUBSCRIBE stream into the output until
    stopped with Ctrl+X or Escape, or by the next command.

    Args:
        settings: Where to connect; the pane connects when first shown (or on the
            first command) and reconnects on the next command after a failure.
        max_lines: Lines the output keeps.
        id: The widget id.
        name: The widget name.
        classes: CSS classes.
    """

    DEFAULT_CSS = """
    ConsolePane {
        height: 1fr;
    }
    ConsolePane > #console-bar {
        dock: bottom;
        height: auto;
    }
    ConsolePane #console-prompt {
        width: auto;
        max-width: 50%;
        padding: 0 0 0 1;
        color: $text-muted;
    }
    ConsolePane #console-input {
        width: 1fr;
    }
    ConsolePane > #console-log {
        height: 1fr;
    }
    """

    BINDINGS = [
        # Priority, because the focused Input binds Ctrl+X to "cut" and would
        # swallow it; check_action hands the key back to the Input when idle.
        Binding("ctrl+x", "stop", "Stop stream", priority=True),
        Binding("escape", "stop", "Stop stream", show=False),
    ]

    class CommandRan(Message):
        """Posted after each command entered in the console.

        Args:
            args: The command as split (empty when the line was invalid).
            error: The command did not end in a normal reply: an error reply,
                a connection failure, invalid quoting, or it was cancelled.
                For MONITOR/SUBSCRIBE it is posted once the stream has started.
            pane: The console that ran it.
        """

        def __init__(
            self, args: tuple[bytes, ...], error: bool, *, pane: ConsolePane | None = None
        ) -> None:
            super().__init__()
            self.args = args
            self.error = error
            self.pane = pane

        @property
        def control(self) -> ConsolePane | None:
            """The console that ran the command."""
            return self.pane

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        max_lines: int = MAX_LINES,
        id: str | None = None,  # noqa: A002 - Textual's name
        name: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, name=name, classes=classes)
        self._session = ConsoleSession(settings, on_redirect=self._redirected)
        self._reset_needed = False  # a cancelled command may have left a reply unread
        self._opened = False
        self._io_lock = asyncio.Lock()
        self._worker: Worker[None] | None = None  # the running command or stream
        self._streaming = False
        self._suggester = CommandSuggester()
        self._log = Log(max_lines=max_lines, id="console-log")
        self._input = CommandInput(self._suggester, id="console-input")
        self._prompt = Label(self._session.prompt, id="console-prompt", markup=False)
        self._pending: deque[str] = deque(maxlen=max_lines)
        self._dropped = 0
        self._flush_timer: Timer | None = None

    # ------------------------------------------------------------------ public

    @property
    def settings(self) -> ConnectionSettings:
        """The server in use (after ``connect HOST PORT``, ``SELECT``, redirects)."""
        return self._session.settings

    @property
    def prompt(self) -> str:
        """redis-cli's prompt: ``127.0.0.1:6379[2]> ``, or ``not connected> ``."""
        return self._session.prompt

    @property
    def busy(self) -> bool:
        """A command or a stream is running (Ctrl+X would stop it)."""
        return self._worker is not None and not self._worker.is_finished

    @property
    def streaming(self) -> bool:
        """MONITOR or a subscription is streaming into the output."""
        return self._streaming and self.busy

    @property
    def output_lines(self) -> Sequence[str]:
        """The lines shown in the output (as written; nothing pending)."""
        return self._log.lines

    @property
    def history(self) -> Sequence[str]:
        """Commands entered, oldest first (secrets left out)."""
        return self._input.history

    def focus(self, scroll_visible: bool = True) -> Self:
        """Focus the command line (the pane itself takes no focus)."""
        self._input.focus(scroll_visible)
        return self

    def clear(self) -> None:
        """Clear the output."""
        self._pending.clear()
        self._dropped = 0
        self._log.clear()
        self._log.refresh()

    def run_command(self, line: str) -> None:
        """Do what pressing Enter with ``line`` does: echo it, then run it.

        ``clear``, ``help``, ``quit``/``exit`` are handled here; ``connect HOST
        PORT`` and Redis commands run in a worker. A Redis command first stops a
        running stream or blocking command.
        """
        args = split_args(line.encode("utf-8", "replace"))
        if args is not None and not args:
            if not self.busy:
                self._write([safe_text(self.prompt + line)])
            return
        if args is None:
            self._write([safe_text(self.prompt + line), "Invalid argument(s)"])
            self._ran((), error=True)
            return
        self._input.remember(line, args)
        repeated = split_repeat(args)
        if repeated is None:
            self._write([safe_text(self.prompt + line), _lines(INVALID_REPEAT)[0]])
            self._ran(tuple(args), error=True)
            return
        times, command = repeated
        local = console_command(command)
        if local is not None and local.kind is ConsoleCommand.CLEAR:
            self.clear()  # leaves a running stream alone (clear during MONITOR)
            self._ran(tuple(command), error=False)
            return
        if local is not None and local.kind is ConsoleCommand.QUIT:
            self._write([safe_text(self.prompt + line), QUIT_HINT])
            self._ran(tuple(command), error=False)
            return
        if local is not None and local.kind is ConsoleCommand.HELP and not local.topic:
            self._write([safe_text(self.prompt + line), *HELP.splitlines()])
            self._ran(tuple(command), error=False)
            return
        # A Redis command, `help TOPIC` (the server's table) or `connect HOST PORT`.
        self.stop()
        self._write([safe_text(self.prompt + line)])
        self._worker = self._execute(tuple(command), local, times)
        self._update_bar()

    def stop(self) -> bool:
        """Stop the running stream or command; returns whether there was one.

        The worker is cancelled; the runner drops that connection (its reply
        stream is no longer usable) and the next command opens a new one.
        """
        worker = self._worker
        if worker is None or worker.is_finished:
            return False
        was_streaming = self._streaming
        self._worker = None
        self._streaming = False
        worker.cancel()
        self._flush()
        self._write(["Stream stopped." if was_streaming else "Cancelled."])
        self._update_bar()
        return True

    # ------------------------------------------------------------------ Textual

    def compose(self) -> ComposeResult:
        # The command bar comes first (docked at the bottom) so that it, not
        # the log, is what a screen's automatic focus picks.
        with Horizontal(id="console-bar"):
            yield self._prompt
            yield self._input
        yield self._log

    def on_show(self, _event: Show) -> None:
        # Connect when the console is first shown, not when the app starts: an
        # app with the console in a hidden tab opens no connection for it.
        if not self._opened:
            self._opened = True
            self._open()

    async def on_unmount(self) -> None:
        self._worker = None
        self.workers.cancel_node(self)
        # Wait for a cancelled worker's cleanup, then close what is left.
        async with self._io_lock:
            await self._session.aclose()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop" and not self.busy:
            # None: shown greyed in the footer, and the key goes on to the
            # Input (cut) or the app (Escape leaves the console there).
            return None
        return True

    def action_stop(self) -> None:
        if not self.stop():
            raise SkipAction()

    @on(Input.Submitted, "#console-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._input.value = ""
        self.run_command(event.value)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.node is self:
            self._update_bar()

    # ------------------------------------------------------------------ workers

    # Its own group: a command entered while this runs waits for it on the
    # lock instead of cancelling it, and Ctrl+X only stops commands.
    @work(exclusive=True, group="console-open", exit_on_error=False)
    async def _open(self) -> None:
        async with self._io_lock:
            try:
                await self._ensure_connected()
            except Failure as failure:
                self._write([f"Could not connect: {safe_text(failure.message)}"])
            except asyncio.CancelledError:
                self._reset_needed = True
                raise

    @work(exclusive=True, group="console", exit_on_error=False)
    async def _execute(
        self, args: tuple[bytes, ...], local: LocalCommand | None = None, times: int = 1
    ) -> None:
        me = get_current_worker()
        error = True
        posted = False
        async with self._io_lock:
            try:
                if local is not None and local.kind is ConsoleCommand.CONNECT:
                    error = await self._switch(local.host, local.port)
                    return
                await self._ensure_connected()
                if local is not None:  # help TOPIC: the server's help table, as redis-cli
                    self._write(_lines(await self._session.help_text(local.topic, colour=False)))
                    error = False
                    return
                name = args[0].lower()
                for _ in range(times):
                    reply = await self._session.runner.execute(args)
                    error = isinstance(reply, ErrorReply)
                    self._write(reply_lines(reply, args))
                    self._update_bar()
                    if name in STREAMING_COMMANDS and not error and self._worker is me:
                        self._streaming = True
                        self._write([STREAM_NOTE])
                        self._update_bar()
                        self._ran(args, error=False)
                        posted = True
                        async for pushed in self._session.runner.stream():
                            self._emit(reply_lines(pushed, args))
            except Failure as failure:
                self._session.connected = False
                error = True
                self._flush()
                self._write([f"Error: {safe_text(failure.message)}"])
            except asyncio.CancelledError:
                # The command may have been sent and its reply not read: that
                # connection must not serve the next command.
                self._reset_needed = True
                raise
            except Exception as exc:  # shown as a line, never a traceback on screen
                self._session.connected = False
                self._flush()
                message = describe_failure(exc, self._session.settings).message
                self._write([f"Error: {safe_text(message)}"])
            finally:
                self._finished(me)
                if not posted:
                    self._ran(args, error=error)

    async def _ensure_connected(self) -> None:
        if self._reset_needed:
            self._reset_needed = False
            await self._session.runner.aclose()  # the next command opens a fresh connection
        if self._session.connected:
            return
        # After a failure, from clean connections, as the REPL does.
        await self._session.connect()
        self._suggester.add_names(self._session.names)
        self._update_bar()

    async def _switch(self, host: str, port_text: str) -> bool:
        """``connect HOST PORT``: the REPL's server switch. Returns whether it failed."""
        try:
            port = int(port_text)
        except ValueError:
            self._write([f"Invalid port: {safe_text(port_text)}"])
            return True
        self._reset_needed = False
        try:
            await self._session.switch(host, port)
        except Failure as failure:
            self._write([f"Could not connect: {safe_text(failure.message)}"])
            return True
        finally:
            self._update_bar()
        self._suggester.add_names(self._session.names)
        return False

    # ------------------------------------------------------------------ helpers

    def _redirected(self, redirect: Redirect) -> None:
        # Called inside the worker, before the reply: same order as redis-cli -c.
        self._write([_redirect_line(redirect)])

    def _finished(self, worker: Worker[None]) -> None:
        # A cancelled worker cleans up after its successor may have started:
        # only the current worker may reset the shared state.
        self._flush()
        if self._worker is worker:
            self._worker = None
            self._streaming = False
        self._update_bar()

    def _ran(self, args: tuple[bytes, ...], *, error: bool) -> None:
        self.post_message(self.CommandRan(args, error, pane=self))

    def _write(self, lines: Sequence[str]) -> None:
        """Write lines now, after anything still pending (keeps the order)."""
        self._pending.extend(lines)
        self._flush()

    def _emit(self, lines: Sequence[str]) -> None:
        """Queue streamed lines; they are written in one batch per FLUSH_INTERVAL.

        Under a flood only the last ``max_lines`` pending lines are kept (the
        log would drop the others anyway) and a notice says how many were skipped.
        """
        pending = self._pending
        room = (pending.maxlen or 0) - len(pending)
        if len(lines) > room:
            self._dropped += len(lines) - room
        pending.extend(lines)
        if self._flush_timer is None and self.is_attached:
            self._flush_timer = self.set_timer(FLUSH_INTERVAL, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        if not self._pending:
            return
        lines = list(self._pending)
        self._pending.clear()
        if self._dropped:
            lines.insert(0, f"… {self._dropped:,} lines not shown (output too fast)")
            self._dropped = 0
        if not self._log.is_attached:
            return  # the pane is being removed: nowhere to write
        # Log.write_lines splits with str.splitlines, which drops a lone empty
        # string (INFO's blank lines): join first, so only "\n" separates lines
        # (safe_text has escaped every other line break) and blank lines stay.
        text = "\n".join(lines)
        if lines[-1] == "":
            text += "\n"
        self._log.write_lines([text])

    def _update_bar(self) -> None:
        busy = self.busy
        self._prompt.update(safe_text(self.prompt))
        self._input.placeholder = BUSY_PLACEHOLDER if busy else IDLE_PLACEHOLDER
        self.refresh_bindings()
