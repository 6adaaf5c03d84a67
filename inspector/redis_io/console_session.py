"""redis-cli's interactive mode without its screen, shared by the `cli` REPL and the TUI console.

What both front ends mean by "a console", so that they cannot drift apart:

- which commands never enter a history (:func:`is_secret`), and the history
  file itself (:class:`HistoryFile`: per user, 0600, in the XDG state directory);
- the console's own commands (``quit``, ``help``, ``clear``, ``connect HOST
  PORT``): :func:`console_command`; redis-cli's repeat prefix (``3 PING``):
  :func:`split_repeat`;
- a session on one server (:class:`ConsoleSession`): connect, switch server,
  learn the server's command names for completion, and its help table
  (``help GET``, ``help @string`` from ``COMMAND DOCS``, as redis-cli prints
  them: :meth:`ConsoleSession.help_text`);
- :func:`execute_and_print`: one command, its reply printed byte for byte as
  redis-cli prints it in any output mode (MONITOR and SUBSCRIBE streamed).

The front ends keep only what is theirs: readline and the prompt for the REPL
(:mod:`inspector.subcommands.repl`), widgets and workers for the Console tab.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from inspector import __version__
from inspector.redis_io.command_help import CommandHelp, load_help
from inspector.redis_io.errors import Failure, Problem
from inspector.redis_io.redis_cli import (
    COMMAND_NAMES,
    ErrorReply,
    OutputFormat,
    OutputMode,
    Push,
    format_invalidate,
    format_output,
    format_reply,
    is_invalidate,
    is_verbatim_command,
    split_args,
)
from inspector.redis_io.runner import STREAMING_COMMANDS, CommandRunner, Redirect
from inspector.redis_io.settings import ConnectionSettings, with_endpoint

__all__ = [
    "GENERIC_HELP",
    "HISTORY_ENV",
    "HISTORY_LENGTH",
    "INVALID_REPEAT",
    "SUBSCRIBE_BANNER",
    "ConsoleCommand",
    "ConsoleSession",
    "HistoryFile",
    "LocalCommand",
    "ProtocolChoice",
    "console_command",
    "execute_and_print",
    "format_push",
    "history_path",
    "is_secret",
    "split_repeat",
]

HISTORY_LENGTH = 1000
"""Commands a history keeps."""
HISTORY_ENV = "SESSION_INSPECTOR_HISTFILE"
"""Names the history file instead of the XDG default."""
SUBSCRIBE_BANNER = b"Reading messages... (press Ctrl-C to quit)\n"
INVALID_REPEAT = b"Invalid redis-cli repeat command option value.\n"
GENERIC_HELP = f"""\
session-inspector {__version__} (redis-cli's console)
To get help about Redis commands type:
      "help @<group>" to get a list of commands in <group>
      "help <command>" for help on <command>
      "help <tab>" to get a list of possible help topics
      "quit" to exit
Console commands:
      "connect HOST PORT" to switch server, "clear" to clear the screen,
      "N COMMAND" to run a command N times
"""
"""What bare ``help`` prints (redis-cli's text, with this console's own commands)."""


# ---------------------------------------------------------------- secrets

_SECRET_WORDS = (b"auth", b"pass")
"""A command with one of these in any argument may carry a credential:
``AUTH``, ``HELLO 3 AUTH``, ``MIGRATE ... AUTH``/``AUTH2``, ``CONFIG SET
requirepass``/``masterauth``/``tls-key-file-pass``, ``SENTINEL SET ...
auth-pass``, a script calling ``redis.call('AUTH', ...)``, a ``CLIENT`` or
module command taking a password."""
_SECRET_COMMANDS = frozenset({b"auth", b"migrate"})
_SECRET_SUBCOMMANDS = frozenset(
    {
        (b"acl", b"setuser"),  # rules such as >password and #<sha256>
        (b"module", b"load"),  # module arguments: API keys, passwords
        (b"module", b"loadex"),
    }
)


def is_secret(args: Sequence[bytes]) -> bool:
    """Whether a command may carry a credential and must stay out of every history.

    Conservative on purpose: a missing history line costs a retype, a recorded
    password leaks. Besides the commands that always take one (``AUTH``,
    ``MIGRATE``, ``ACL SETUSER``, ``MODULE LOAD``), any command with ``auth``
    or ``pass`` anywhere in its arguments is left out (case-insensitive, after
    redis-cli's unquoting, so an escaped ``a`` in ``auth`` counts too): ``HELLO 3 AUTH``,
    ``CONFIG SET requirepass``/``masterauth``, ``EVAL "...redis.call('auth'..."``,
    ``FCALL``, ``SCRIPT LOAD``, ``SENTINEL SET ... auth-pass``. A key that merely
    contains the word (``GET passport:1``) is left out as well.

    Args:
        args: The command as split by :func:`~inspector.redis_io.redis_cli.split_args`.
    """
    if not args:
        return False
    name = args[0].lower()
    if name in _SECRET_COMMANDS:
        return True
    if len(args) > 1 and (name, args[1].lower()) in _SECRET_SUBCOMMANDS:
        return True
    return any(word in arg.lower() for arg in args for word in _SECRET_WORDS)


def _line_is_secret(line: str) -> bool:
    args = split_args(line.encode("utf-8", "surrogateescape"))
    # A line that does not parse never ran; it is no history either.
    return args is None or not args or is_secret(args)


# ---------------------------------------------------------------- history file


def history_path(env: Mapping[str, str] | None = None) -> Path | None:
    """Where the REPL keeps its history, or ``None`` when there is no home to keep it in.

    ``$SESSION_INSPECTOR_HISTFILE`` when set; else
    ``$XDG_STATE_HOME/session-inspector/history`` (the XDG base directory
    specification's place for history; a relative ``XDG_STATE_HOME`` is
    ignored, as the specification says); else
    ``~/.local/state/session-inspector/history``.
    """
    env = os.environ if env is None else env
    configured = env.get(HISTORY_ENV)
    if configured:
        return Path(configured).expanduser()
    state = env.get("XDG_STATE_HOME", "")
    if state and Path(state).is_absolute():
        base = Path(state)
    else:
        try:
            base = Path.home() / ".local" / "state"
        except (RuntimeError, KeyError):  # no $HOME and no passwd entry (a bare container)
            return None
    return base / "session-inspector" / "history"


class HistoryFile:
    """A history of commands, one per line, kept in a file only its owner can read.

    The file is created ``0600`` (its directory ``0700``), tightened to ``0600``
    if it was looser, and left alone if it belongs to another user. Commands
    that may carry a credential (:func:`is_secret`) never reach it, and are
    dropped from it when it is loaded (an older version recorded some). When
    the file cannot be used (a read-only home in a container, a file that is
    not ours), the history lives in memory only and :attr:`problem` says why.

    Args:
        path: The file; ``None`` keeps the history in memory only.
        length: Commands kept.
    """

    def __init__(self, path: Path | None, *, length: int = HISTORY_LENGTH) -> None:
        self.path = path
        self.length = length
        self.entries: list[str] = []
        self.problem: str | None = None

    @classmethod
    def default(cls) -> HistoryFile:
        """The user's history file (:func:`history_path`)."""
        return cls(history_path())

    def load(self) -> list[str]:
        """Read the file: its last :attr:`length` commands, oldest first, secrets dropped."""
        if self.path is None:
            return self.entries
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return self.entries
        except OSError as exc:
            return self._give_up(exc)
        try:
            self._check_owner(fd)
            with os.fdopen(fd, "rb", closefd=False) as file:
                data = file.read()
        except OSError as exc:
            return self._give_up(exc)
        finally:
            os.close(fd)
        lines = [line for line in data.decode("utf-8", "surrogateescape").splitlines() if line]
        kept = [line for line in lines if not _line_is_secret(line)]
        self.entries = kept[-self.length :]
        if len(self.entries) != len(lines):
            self._rewrite()  # secrets scrubbed, and the file kept to its length
        return self.entries

    def add(self, line: str, args: Sequence[bytes] | None) -> bool:
        """Record a command unless it may carry a secret; returns whether it was recorded.

        Args:
            line: The line as typed.
            args: The line as split; ``None`` when it does not parse (never recorded).
        """
        if args is None or not args or is_secret(args) or "\n" in line or "\r" in line:
            return False
        if self.entries and self.entries[-1] == line:
            return True  # a repeat is kept once
        self.entries.append(line)
        del self.entries[: -self.length]
        if self.path is not None:
            try:
                self._append(line)
            except OSError as exc:
                self._give_up(exc)
        return True

    def _open_for_writing(self, path: Path, flags: int) -> int:
        assert self.path is not None
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, flags | os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            self._check_owner(fd)
            if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                os.fchmod(fd, 0o600)  # made by an older version or another tool
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _append(self, line: str) -> None:
        assert self.path is not None
        fd = self._open_for_writing(self.path, os.O_APPEND)
        try:
            os.write(fd, line.encode("utf-8", "surrogateescape") + b"\n")
        finally:
            os.close(fd)

    def _rewrite(self) -> None:
        assert self.path is not None
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = self._open_for_writing(temporary, os.O_TRUNC | os.O_EXCL)
            try:
                data = "".join(f"{line}\n" for line in self.entries)
                os.write(fd, data.encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            self._give_up(exc)

    @staticmethod
    def _check_owner(fd: int) -> None:
        owner = os.fstat(fd).st_uid
        if owner != os.geteuid():
            raise PermissionError(f"it belongs to user {owner}, not to you")

    def _give_up(self, exc: OSError) -> list[str]:
        self.problem = f"history not saved to {self.path}: {exc.strerror or exc}"
        self.path = None
        return self.entries


# ---------------------------------------------------------------- console commands


class ConsoleCommand(enum.Enum):
    """The commands a console answers itself, without the server."""

    QUIT = "quit"
    HELP = "help"
    CLEAR = "clear"
    CONNECT = "connect"


@dataclass(frozen=True, slots=True)
class LocalCommand:
    """A console command as typed; ``host`` and ``port`` for ``connect HOST PORT``."""

    kind: ConsoleCommand
    host: str = ""
    port: str = ""
    topic: tuple[bytes, ...] = ()
    """For ``help``: the words after it (``GET``, ``@string``); empty for bare ``help``."""


def console_command(args: Sequence[bytes]) -> LocalCommand | None:
    """The console command a line means, or ``None`` when it goes to the server.

    ``quit``/``exit``, ``help``/``?`` (with or without a topic), ``clear``
    (alone) and ``connect HOST PORT`` (exactly two arguments) are the
    console's, as in redis-cli; any other form (``CLEAR x``, ``connect h``) is
    sent to the server, which answers it.
    """
    if not args:
        return None
    name = args[0].lower()
    if name in (b"quit", b"exit"):
        return LocalCommand(ConsoleCommand.QUIT)
    if name in (b"help", b"?"):
        return LocalCommand(ConsoleCommand.HELP, topic=tuple(args[1:]))
    if name == b"clear" and len(args) == 1:
        return LocalCommand(ConsoleCommand.CLEAR)
    if name == b"connect" and len(args) == 3:
        host, port = (arg.decode("utf-8", "replace") for arg in args[1:])
        return LocalCommand(ConsoleCommand.CONNECT, host, port)
    return None


_REPEAT = re.compile(rb"\s*[+-]?\d*")
_LONG_MAX = 2**63 - 1


def split_repeat(args: Sequence[bytes]) -> tuple[int, list[bytes]] | None:
    """redis-cli's repeat prefix: ``3 PING`` runs PING three times.

    Args:
        args: A typed line, split.

    Returns:
        ``(times, command)``: ``(1, args)`` when the first word is not a
        number (or is the only word), ``None`` when it is a number that is
        not a valid repeat count (0, negative, too big): redis-cli then prints
        :data:`INVALID_REPEAT` and runs nothing.
    """
    if len(args) > 1 and _REPEAT.fullmatch(args[0]) is not None:
        digits = args[0].strip()
        try:
            times = int(digits) if digits not in (b"", b"+", b"-") else 0
        except ValueError:
            times = 0
        if times <= 0 or times > _LONG_MAX:
            return None
        return times, list(args[1:])
    return 1, list(args)


class ProtocolChoice(enum.Enum):
    """Which protocol a console speaks (redis-cli's ``-2``, ``-3`` and ``--json``)."""

    RESP2 = "resp2"
    RESP3 = "resp3"
    """``-3``: ``HELLO 3`` on connect; a server that refuses it cannot be used."""
    RESP3_PREFERRED = "resp3-preferred"
    """``--json``: ``HELLO 3`` on connect; on refusal a notice, and RESP2."""


# ---------------------------------------------------------------- one session


class ConsoleSession:
    """A console's link to the server: its runner, its state, its command names.

    Args:
        settings: Where to connect first.
        on_redirect: Called with each cluster redirect (redis-cli prints
            ``-> Redirected to slot [n] located at host:port``).
        protocol: RESP2 (default) or RESP3 (``-3``, ``--json``).
        on_push: Called with RESP3 pushes that arrive between replies.
        on_notice: Called with lines redis-cli prints on stderr (``HELLO 3 failed``).
    """

    def __init__(
        self,
        settings: ConnectionSettings,
        *,
        on_redirect: Callable[[Redirect], None] | None = None,
        protocol: ProtocolChoice = ProtocolChoice.RESP2,
        on_push: Callable[[Push], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self._on_redirect = on_redirect
        self._protocol = protocol
        self._on_push = on_push
        self._on_notice = on_notice
        self.runner = self._new_runner(settings)
        self.connected = False
        self.auth_pending = False
        """Connected to a server that wants a password, before any ``AUTH`` (``auth_later``)."""
        self.names: list[str] = sorted(COMMAND_NAMES)
        """Command names to complete: the built-in list plus what the server adds."""
        self.help: CommandHelp | None = None
        """The server's help table, once loaded (:meth:`load_help`)."""

    def _new_runner(self, settings: ConnectionSettings) -> CommandRunner:
        return CommandRunner(
            settings,
            on_redirect=self._on_redirect,
            protocol=2 if self._protocol is ProtocolChoice.RESP2 else 3,
            require_protocol=self._protocol is ProtocolChoice.RESP3,
            on_push=self._on_push,
            on_notice=self._on_notice,
        )

    @property
    def settings(self) -> ConnectionSettings:
        """The settings in use, after ``SELECT``, ``AUTH`` and redirects (as redis-cli)."""
        return self.runner.settings

    @property
    def prompt(self) -> str:
        """redis-cli's prompt: ``host:port[db]> ``, or ``not connected> ``."""
        return self.runner.settings.prompt if self.connected else "not connected> "

    async def connect(self, *, auth_later: bool = False) -> None:
        """(Re)connect from clean connections and learn the server's command names.

        Args:
            auth_later: A server that wants a password none was given for
                counts as connected (:attr:`auth_pending`): as in redis-cli,
                commands answer ``NOAUTH`` until ``AUTH`` is typed.

        Raises:
            Failure: Unreachable, TLS mismatch, wrong password...
        """
        await self.runner.aclose()
        self.connected = False
        self.auth_pending = False
        try:
            await self.runner.connect()
        except Failure as failure:
            if not auth_later or failure.problem is not Problem.AUTH_REQUIRED:
                raise
            self.connected = self.auth_pending = True
            return
        self.connected = True
        await self._learn_command_names()

    async def switch(self, host: str, port: int, *, auth_later: bool = False) -> None:
        """``connect HOST PORT``: the same settings (user, TLS, db) on another server.

        Args:
            host: The server's host.
            port: Its port.
            auth_later: As for :meth:`connect`.

        Raises:
            Failure: The new server cannot be reached; the session stays on it,
                not connected, as redis-cli does.
        """
        settings = with_endpoint(self.runner.settings, host, port)
        await self.runner.aclose()
        self.connected = False
        self.runner = self._new_runner(settings)
        self.help = None  # another server, maybe another version
        await self.connect(auth_later=auth_later)

    async def aclose(self) -> None:
        """Close the connections."""
        await self.runner.aclose()
        self.connected = False

    async def load_help(self) -> CommandHelp:
        """The server's help table, asked for once (``COMMAND DOCS``, else ``COMMAND``).

        Raises:
            Failure: The connection failed.
        """
        if self.help is None:
            self.help = await load_help(self.runner.execute)
            known = {name.upper() for name in self.names}
            extra = {entry.words[0].decode("utf-8", "replace") for entry in self.help.entries}
            self.names = sorted(known | extra)
        return self.help

    async def help_text(self, topic: Sequence[bytes], *, colour: bool = True) -> bytes:
        r"""What ``help`` prints: :data:`GENERIC_HELP` alone, else redis-cli's entries.

        Args:
            topic: The words after ``help`` (``GET``, ``CLIENT LIST``, ``@string``).
            colour: redis-cli's escape sequences and ``\r\n`` line ends; ``False``
                for plain text with ``\n`` (a screen with its own styles).

        Raises:
            Failure: The connection failed while the table was being loaded.
        """
        if not topic:
            return GENERIC_HELP.encode()
        table = await self.load_help()
        return table.render(topic, colour=colour)

    async def _learn_command_names(self) -> None:
        # Module commands (JSON.GET...) join the completions; servers before
        # 7.0 and ACL users without COMMAND keep the built-in list.
        try:
            reply = await self.runner.execute([b"COMMAND", b"LIST"])
        except Failure:
            return
        if isinstance(reply, list):
            learned = {n.decode("utf-8", "replace").upper() for n in reply if isinstance(n, bytes)}
            self.names = sorted(set(self.names) | learned)


def format_push(push: Push, output: OutputFormat) -> bytes:
    """A push that arrived between replies, as redis-cli's ``cliPushHandler`` prints it."""
    if output.mode is OutputMode.STANDARD and is_invalidate(push):
        return format_invalidate(push)
    return format_output(push, output)


async def execute_and_print(
    runner: CommandRunner,
    args: Sequence[bytes],
    out: BinaryIO,
    *,
    raw: bool | None = None,
    output: OutputFormat | None = None,
    errors: BinaryIO | None = None,
) -> bool:
    """Run one command, print its reply like redis-cli; stream MONITOR/SUBSCRIBE output.

    Args:
        runner: Where to send the command.
        args: The command.
        out: Where replies go (stdout).
        raw: redis-cli's ``--raw`` formatting instead of the formatted one
            (shorthand for ``output``).
        output: The output mode and delimiters (wins over ``raw``).
        errors: When given, an error reply goes there as bare text instead of
            to ``out`` (what redis-cli does with ``-e``).

    Returns:
        Whether the server replied with an error.

    Raises:
        Failure: The connection failed.
    """
    if output is None:
        output = OutputFormat(OutputMode.RAW if raw else OutputMode.STANDARD)
    streaming = args[0].lower() in STREAMING_COMMANDS
    if streaming and args[0].lower() != b"monitor" and output.mode is not OutputMode.RAW:
        # redis-cli prints this before it reads the subscription confirmation.
        out.write(SUBSCRIBE_BANNER)
    reply = await runner.execute(args)
    failed = isinstance(reply, ErrorReply)
    if isinstance(reply, ErrorReply) and errors is not None:
        errors.write(reply.message + b"\n")
        errors.flush()
        return True
    out.write(format_reply(reply, args, output=output))
    out.flush()
    if streaming and not failed:
        verbatim = is_verbatim_command(args)
        async for pushed in runner.stream():
            out.write(format_output(pushed, output, verbatim=verbatim))
            out.flush()
    return failed
