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
    ConsoleCommand,
    ConsoleSession,
    HistoryFile,
    console_command,
    execute_and_print,
)
from inspector.redis_io.errors import Failure
from inspector.redis_io.redis_cli import split_args
from inspector.redis_io.runner import Redirect
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["HELP", "Repl"]

HELP = """\
session-inspector cli: type Redis commands as in redis-cli; replies print as redis-cli prints them.
  quit | exit          leave (Ctrl-D too)
  connect HOST PORT    switch server
  clear                clear the screen
  Tab completes command names; Up/Down walk the history.
"""


class Repl:
    """Read-eval-print loop on top of a :class:`ConsoleSession`.

    Only for a terminal: the `cli` subcommand sends piped stdin down the
    pipe-mode path, so the prompt, history, completion and timings here are
    always on.

    Args:
        settings: Where to connect first.
        raw: Print replies as ``redis-cli --raw`` does.
        history: Where commands are remembered (default: the user's history file).
    """

    def __init__(
        self, settings: ConnectionSettings, *, raw: bool, history: HistoryFile | None = None
    ) -> None:
        self.raw = raw
        self.session = ConsoleSession(settings, on_redirect=self._redirected)
        self.history = history if history is not None else HistoryFile.default()

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

        if readline.get_line_buffer()[: readline.get_begidx()].strip():
            return None  # only the command name is completed
        upper = text.upper()
        matches = [name for name in self.session.names if name.startswith(upper)]
        if text and text == text.lower():
            matches = [name.lower() for name in matches]
        return matches[state] if state < len(matches) else None

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
                loop.run(self.session.connect())
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
            self._remember(line, args)
            local = console_command(args)
            if local is not None:
                if local.kind is ConsoleCommand.QUIT:
                    return int(ExitCode.OK)
                if local.kind is ConsoleCommand.HELP:
                    print(HELP, end="")
                elif local.kind is ConsoleCommand.CLEAR:
                    print("\x1b[H\x1b[2J", end="", flush=True)
                else:
                    self._switch(loop, local.host, local.port)
                continue
            started = time.monotonic()
            try:
                if not self.session.connected:
                    loop.run(self.session.connect())
                loop.run(execute_and_print(self.session.runner, args, out, raw=self.raw))
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
            if not self.raw and elapsed >= 0.5:
                print(f"({elapsed:.2f}s)")

    def _switch(self, loop: asyncio.Runner, host: str, port_text: str) -> None:
        try:
            port = int(port_text)
        except ValueError:
            print(f"Invalid port: {port_text}")
            return
        try:
            loop.run(self.session.switch(host, port))
        except Failure as failure:
            print(f"Could not connect: {failure.message}", file=sys.stderr)
