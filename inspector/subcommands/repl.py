"""The interactive `cli` REPL: redis-cli's prompt, history and Tab completion.

The console itself (history rules, ``connect``, the server's command names,
how replies print) is :mod:`inspector.redis_io.console_session`, shared with
the TUI's Console tab; this module is readline and the terminal around it.
"""

from __future__ import annotations

import asyncio
import sys
import time

from inspector.exits import ExitCode
from inspector.redis_io.console_session import (
    GENERIC_HELP,
    INVALID_REPEAT,
    ConsoleCommand,
    ConsoleSession,
    HistoryFile,
    ProtocolChoice,
    console_command,
    execute_and_print,
    format_push,
    split_repeat,
)
from inspector.redis_io.errors import Failure
from inspector.redis_io.redis_cli import OutputFormat, OutputMode, Push, split_args
from inspector.redis_io.runner import Redirect
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["HELP", "Repl"]

HELP = GENERIC_HELP
"""What bare ``help`` prints (``help GET`` and ``help @group`` come from the server)."""


class Repl:
    """Read-eval-print loop on top of a :class:`ConsoleSession`.

    Only for a terminal: the `cli` subcommand sends piped stdin down the
    pipe-mode path, so the prompt, history, completion and timings here are
    always on.

    Args:
        settings: Where to connect first.
        raw: Print replies as ``redis-cli --raw`` does (shorthand for ``output``).
        output: The output mode and delimiters (``--csv``, ``--json``...).
        protocol: RESP2, or RESP3 (``-3``, ``--json``).
        show_pushes: Print RESP3 pushes that arrive between replies.
        history: Where commands are remembered (default: the user's history file).
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        raw: bool = False,
        output: OutputFormat | None = None,
        protocol: ProtocolChoice = ProtocolChoice.RESP2,
        show_pushes: bool = True,
        history: HistoryFile | None = None,
    ) -> None:
        self.output = output or OutputFormat(OutputMode.RAW if raw else OutputMode.STANDARD)
        self.raw = self.output.mode is OutputMode.RAW
        self.session = ConsoleSession(
            settings,
            on_redirect=self._redirected,
            protocol=protocol,
            on_push=self._pushed if show_pushes else None,
            on_notice=lambda line: print(line, file=sys.stderr),
        )
        self.history = history if history is not None else HistoryFile.default()

    def _pushed(self, push: Push) -> None:
        sys.stdout.buffer.write(format_push(push, self.output))
        sys.stdout.buffer.flush()

    def _redirected(self, redirect: Redirect) -> None:
        print(f"-> Redirected to slot [{redirect.slot}] located at {redirect.host}:{redirect.port}")

    @property
    def prompt(self) -> str:
        """redis-cli's prompt: ``host:port[db]> ``, or ``not connected> ``."""
        return self.session.prompt

    def _setup_readline(self) -> None:
        entries = self.history.load()
        if self.history.problem:
            print(f"Note: {self.history.problem}", file=sys.stderr)
        try:
            import readline
        except ImportError:  # pragma: no cover - every Linux Python has it
            return
        # readline only shows and edits the history; the file is ours, so
        # secrets and permissions follow our rules, not readline's.
        readline.clear_history()
        for entry in entries:
            readline.add_history(entry)
        readline.set_completer_delims(" \t")
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")
        readline.set_auto_history(False)

    def _complete(self, text: str, state: int) -> str | None:
        import readline

        before = readline.get_line_buffer()[: readline.get_begidx()].strip()
        if before.lower() in ("help", "?"):
            # help <Tab>: the groups and commands of the server's help table.
            topics = [t.decode("utf-8", "replace") for t in self._help_topics()]
            matches = [t for t in topics if t.upper().startswith(text.upper())]
            return matches[state] if state < len(matches) else None
        if before:
            return None  # only the command name is completed
        upper = text.upper()
        matches = [name for name in self.session.names if name.startswith(upper)]
        if text and text == text.lower():
            matches = [name.lower() for name in matches]
        return matches[state] if state < len(matches) else None

    def _help_topics(self) -> list[bytes]:
        table = self.session.help
        return table.topics() if table is not None else []

    def _remember(self, line: str, args: list[bytes]) -> None:
        before = list(self.history.entries[-1:])
        if not self.history.add(line, args):
            return
        if before == [line]:
            return  # a repeat: readline already shows it last
        try:
            import readline
        except ImportError:  # pragma: no cover
            return
        readline.add_history(line)

    def run(self) -> int:
        """Run until ``quit``, Ctrl-D or Ctrl-C at the prompt; returns the exit code."""
        with asyncio.Runner() as loop:
            try:
                loop.run(self.session.connect(auth_later=True))
                if self.session.auth_pending:
                    self._say_auth()
                else:
                    # redis-cli loads its help table (and help <Tab>) at start.
                    loop.run(self.session.load_help())
            except Failure as failure:
                # redis-cli starts anyway and shows "not connected>"; do the same,
                # after saying why.
                print(f"Could not connect: {failure.message}", file=sys.stderr)
            self._setup_readline()
            try:
                return self._loop(loop)
            finally:
                loop.run(self.session.aclose())

    def _loop(self, loop: asyncio.Runner) -> int:
        out = sys.stdout.buffer
        while True:
            try:
                line = input(self.prompt)
            except EOFError:
                return int(ExitCode.OK)
            except KeyboardInterrupt:
                print()
                return int(ExitCode.OK)
            args = split_args(line.encode("utf-8", "surrogateescape"))
            if args is None:
                print("Invalid argument(s)")
                continue
            if not args:
                continue
            repeated = split_repeat(args)
            if repeated is None:
                out.write(INVALID_REPEAT)
                out.flush()
                continue
            times, command = repeated
            self._remember(line, args)
            local = console_command(command)
            if local is not None:
                if local.kind is ConsoleCommand.QUIT:
                    return int(ExitCode.OK)
                if local.kind is ConsoleCommand.HELP:
                    self._help(loop, local.topic)
                elif local.kind is ConsoleCommand.CLEAR:
                    print("\x1b[H\x1b[2J", end="", flush=True)
                else:
                    self._switch(loop, local.host, local.port)
                continue
            started = time.monotonic()
            try:
                if not self.session.connected:
                    loop.run(self.session.connect())
                for _ in range(times):
                    loop.run(
                        execute_and_print(self.session.runner, command, out, output=self.output)
                    )
            except Failure as failure:
                self.session.connected = False
                print(f"Error: {failure.message}", file=sys.stderr)
                continue
            except KeyboardInterrupt:
                # Ctrl-C stops a blocking command or a MONITOR/SUBSCRIBE stream;
                # its connection is dropped and re-opened on the next command.
                print()
                continue
            elapsed = time.monotonic() - started
            if self.output.mode is OutputMode.STANDARD and elapsed >= 0.5:
                print(f"({elapsed:.2f}s)")

    def _help(self, loop: asyncio.Runner, topic: tuple[bytes, ...]) -> None:
        try:
            if topic and not self.session.connected:
                loop.run(self.session.connect())
            text = loop.run(self.session.help_text(topic))
        except Failure as failure:
            self.session.connected = False
            print(f"Error: {failure.message}", file=sys.stderr)
            return
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()

    def _switch(self, loop: asyncio.Runner, host: str, port_text: str) -> None:
        try:
            port = int(port_text)
        except ValueError:
            print(f"Invalid port: {port_text}")
            return
        try:
            loop.run(self.session.switch(host, port, auth_later=True))
        except Failure as failure:
            print(f"Could not connect: {failure.message}", file=sys.stderr)
            return
        if self.session.auth_pending:
            self._say_auth()

    def _say_auth(self) -> None:
        # redis-cli says nothing and lets AUTH be typed; one line saying so
        # beats a first command's bare NOAUTH.
        endpoint = self.session.settings.endpoint
        print(
            f"{endpoint} requires a password: type AUTH <password> (or AUTH <user> <password>)",
            file=sys.stderr,
        )
