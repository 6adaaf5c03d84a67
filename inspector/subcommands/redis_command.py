"""`session-inspector cli`: redis-cli's one-shot mode, pipe mode and REPL.

Output is byte for byte what redis-cli 7 prints: formatted on a terminal or
with ``--no-raw``, raw when piped or with ``--raw``. (The module is not named
``cli``: :mod:`inspector.cli` is the whole command line.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator, Sequence

from inspector.exits import ExitCode
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.outcome import run_to_exit_code

__all__ = ["register", "run", "run_cli"]


def register(subparsers: Subparsers) -> None:
    """Add the ``cli`` subcommand."""
    parser = add_command(
        subparsers,
        "cli",
        run=run,
        help="run one Redis command (or a REPL) and print it as redis-cli does",
        description="redis-cli replacement: prints replies byte for byte as redis-cli does. "
        "Without COMMAND, opens a REPL (history, Tab completion).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--raw",
        dest="raw",
        action="store_const",
        const=True,
        help="raw output (default when stdout is not a terminal)",
    )
    mode.add_argument(
        "--no-raw",
        dest="raw",
        action="store_const",
        const=False,
        help="formatted output (default on a terminal)",
    )
    parser.add_argument(
        "-e",
        dest="error_exit",
        action="store_true",
        help="exit with code 1 when the server replies with an error",
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="COMMAND [ARG ...]")


def run(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    """Run the parsed ``cli`` subcommand."""
    return run_cli(settings, ns.args, raw=ns.raw, error_exit=ns.error_exit)


def _stdin_commands() -> Iterator[list[bytes] | None]:
    """Commands piped in, one per line (``echo 'GET k' | session-inspector cli``).

    ``None`` stands for a line that does not parse (an unterminated quote).
    """
    from inspector.redis_io.redis_cli import split_args

    for line in sys.stdin.buffer:
        yield split_args(line.rstrip(b"\r\n"))


async def _run_commands(
    settings: ConnectionSettings,
    commands: Iterable[list[bytes] | None],
    *,
    raw: bool,
    error_exit: bool,
    one_shot: bool = False,
) -> int:
    """Run commands on one connection, printing each reply as redis-cli does.

    Raises:
        Failure: The connection failed (``run_to_exit_code`` prints it).
    """
    from inspector.redis_io.console_session import execute_and_print
    from inspector.redis_io.runner import CommandRunner, Redirect

    def redirected(redirect: Redirect) -> None:
        # Commands read from stdin make redis-cli "interactive" (its REPL reads
        # the pipe), so it reports each redirect there too; one-shot commands do not.
        sys.stdout.buffer.write(
            f"-> Redirected to slot [{redirect.slot}] located at "
            f"{redirect.host}:{redirect.port}\n".encode()
        )

    runner = CommandRunner(settings, on_redirect=None if one_shot else redirected)
    failed = False
    try:
        await runner.connect()
        for args in commands:
            if args is None:
                sys.stdout.buffer.write(b"Invalid argument(s)\n")
                continue
            if not args:
                continue  # an empty line, as redis-cli skips it
            errors = sys.stderr.buffer if error_exit else None
            replied_error = await execute_and_print(
                runner, args, sys.stdout.buffer, raw=raw, errors=errors
            )
            failed = replied_error or failed
    finally:
        await runner.aclose()
    return int(ExitCode.ERROR_REPLY) if failed and error_exit else int(ExitCode.OK)


def run_cli(
    settings: ConnectionSettings, args: Sequence[str], *, raw: bool | None, error_exit: bool
) -> int:
    """One command from the arguments, commands piped on stdin, or the REPL on a terminal.

    Args:
        settings: Where to connect.
        args: The command and its arguments (a leading ``--`` is dropped).
        raw: ``--raw`` (``True``), ``--no-raw`` (``False``) or neither (raw
            when stdout is not a terminal, as redis-cli decides).
        error_exit: ``-e``: an error reply goes to stderr and the exit code is 1.
    """
    if args and args[0] == "--":
        args = args[1:]
    raw_output = not sys.stdout.isatty() if raw is None else raw
    if args:
        # Arguments arrive decoded with the file system encoding; surrogateescape
        # gives back the exact bytes typed, binary included.
        commands: Iterable[list[bytes] | None] = [[os.fsencode(arg) for arg in args]]
        one_shot = True
    elif not sys.stdin.isatty():
        commands = _stdin_commands()
        one_shot = False
    else:
        from inspector.subcommands.repl import Repl

        # Synchronous: readline's input() cannot run inside an event loop.
        return Repl(settings, raw=raw_output).run()
    return run_to_exit_code(
        lambda: _run_commands(
            settings, commands, raw=raw_output, error_exit=error_exit, one_shot=one_shot
        ),
        settings,
    )
