"""The interactive `cli` REPL: redis-cli's prompt, history and Tab completion."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path

from inspector.redis_io.errors import ExitCode, Failure
from inspector.redis_io.redis_cli import COMMAND_NAMES, split_args
from inspector.redis_io.runner import CommandRunner, Redirect
from inspector.redis_io.settings import ConnectionSettings, with_endpoint
from inspector.subcommands.cli import execute_and_print

__all__ = ["Repl", "history_path", "is_secret"]

HISTORY_LENGTH = 1000
HELP = """\
session-inspector cli: type Redis commands as in redis-cli; replies print as redis-cli prints them.
  quit | exit          leave (Ctrl-D too)
  connect HOST PORT    switch server
  clear                clear the screen
  Tab completes command names; Up/Down walk the history.
"""


def history_path() -> Path:
    """Where the REPL keeps its history (``SESSION_INSPECTOR_HISTFILE`` overrides)."""
    configured = os.environ.get("SESSION_INSPECTOR_HISTFILE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".session_inspector_history"


def is_secret(args: list[bytes]) -> bool:
    """Whether a command carries a password and must stay out of the history file."""
    if not args:
        return False
    name = args[0].lower()
    sub = args[1].lower() if len(args) > 1 else b""
    return (
        name in (b"auth", b"migrate")
        or (name == b"hello" and b"auth" in (a.lower() for a in args))
        or (name == b"acl" and sub == b"setuser")
        or (
            name == b"config"
            and sub == b"set"
            and any(a.lower() in (b"requirepass", b"masterauth") for a in args[2:])
        )
    )


class Repl:
    """Read-eval-print loop on top of :class:`CommandRunner`.

    Only for a terminal: ``run_cli`` sends piped stdin down the pipe-mode path,
    so the prompt, history, completion and timings here are always on.
    """

    def __init__(self, settings: ConnectionSettings, *, raw: bool) -> None:
        self.settings = settings
        self.raw = raw
        self.runner = self._runner(settings)
        self.connected = False
        self.names: list[str] = list(COMMAND_NAMES)

    def _runner(self, settings: ConnectionSettings) -> CommandRunner:
        return CommandRunner(settings, on_redirect=self._redirected)

    def _redirected(self, redirect: Redirect) -> None:
        print(f"-> Redirected to slot [{redirect.slot}] located at {redirect.host}:{redirect.port}")

    @property
    def prompt(self) -> str:
        """redis-cli's prompt: ``host:port[db]> ``, or ``not connected> ``."""
        return self.runner.settings.prompt if self.connected else "not connected> "

    def _setup_readline(self) -> None:
        try:
            import readline
        except ImportError:  # pragma: no cover - every Linux Python has it
            return
        with contextlib.suppress(OSError):
            readline.read_history_file(history_path())
        readline.set_history_length(HISTORY_LENGTH)
        readline.set_completer_delims(" \t")
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")
        readline.set_auto_history(False)

    def _complete(self, text: str, state: int) -> str | None:
        import readline

        if readline.get_line_buffer()[: readline.get_begidx()].strip():
            return None  # only the command name is completed
        upper = text.upper()
        matches = [name for name in self.names if name.startswith(upper)]
        if text and text == text.lower():
            matches = [name.lower() for name in matches]
        return matches[state] if state < len(matches) else None

    def _remember(self, line: str, args: list[bytes]) -> None:
        if is_secret(args):
            return
        import readline

        readline.add_history(line)
        try:
            path = history_path()
            path.touch(mode=0o600, exist_ok=True)
            readline.append_history_file(1, path)
            readline.set_history_length(HISTORY_LENGTH)
        except OSError:
            pass  # read-only home (a container): keep the history in memory

    async def _connect(self) -> None:
        await self.runner.aclose()
        self.connected = False
        await self.runner.connect()
        self.connected = True
        await self._learn_command_names()

    async def _learn_command_names(self) -> None:
        # Module commands (JSON.GET...) join the completion list; servers older
        # than 7.0 or ACL users without COMMAND keep the built-in list.
        try:
            reply = await self.runner.execute([b"COMMAND", b"LIST"])
        except Failure:
            return
        if isinstance(reply, list):
            learned = {n.decode("utf-8", "replace").upper() for n in reply if isinstance(n, bytes)}
            self.names = sorted(set(self.names) | learned)

    def run(self) -> int:
        """Run until ``quit``, Ctrl-D or Ctrl-C at the prompt; returns the exit code."""
        with asyncio.Runner() as loop:
            try:
                loop.run(self._connect())
            except Failure as failure:
                # redis-cli starts anyway and shows "not connected>"; do the same,
                # after saying why.
                print(f"Could not connect: {failure.message}", file=sys.stderr)
            self._setup_readline()
            try:
                return self._loop(loop)
            finally:
                loop.run(self.runner.aclose())

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
            name = args[0].lower()
            if name in (b"quit", b"exit"):
                return int(ExitCode.OK)
            if name in (b"help", b"?"):
                print(HELP, end="")
                continue
            if name == b"clear" and len(args) == 1:
                print("\x1b[H\x1b[2J", end="", flush=True)
                continue
            if name == b"connect" and len(args) == 3:
                self._switch(loop, args[1].decode(), args[2].decode())
                continue
            started = time.monotonic()
            try:
                if not self.connected:
                    loop.run(self._connect())
                loop.run(execute_and_print(self.runner, args, out, raw=self.raw))
            except Failure as failure:
                self.connected = False
                print(f"Error: {failure.message}", file=sys.stderr)
                continue
            except KeyboardInterrupt:
                # Ctrl-C stops a blocking command or a MONITOR/SUBSCRIBE stream;
                # its connection is dropped and re-opened on the next command.
                print()
                continue
            if name == b"select" and self.connected:
                self.settings = self.runner.settings
            elapsed = time.monotonic() - started
            if not self.raw and elapsed >= 0.5:
                print(f"({elapsed:.2f}s)")

    def _switch(self, loop: asyncio.Runner, host: str, port_text: str) -> None:
        try:
            port = int(port_text)
        except ValueError:
            print(f"Invalid port: {port_text}")
            return
        loop.run(self.runner.aclose())
        self.settings = with_endpoint(self.settings, host, port)
        self.runner = self._runner(self.settings)
        try:
            loop.run(self._connect())
        except Failure as failure:
            print(f"Could not connect: {failure.message}", file=sys.stderr)
