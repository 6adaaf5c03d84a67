"""`session-inspector cli`: redis-cli's one-shot mode, pipe mode and REPL.

Output is byte for byte what redis-cli 7 prints: formatted on a terminal or
with ``--no-raw``, raw when piped or with ``--raw``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO

from inspector.redis_io.errors import ExitCode
from inspector.redis_io.redis_cli import ErrorReply, format_reply, split_args
from inspector.redis_io.runner import STREAMING_COMMANDS, CommandRunner
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.outcome import run_to_exit_code

__all__ = ["execute_and_print", "run_cli"]

SUBSCRIBE_BANNER = b"Reading messages... (press Ctrl-C to quit)\n"


async def execute_and_print(
    runner: CommandRunner,
    args: Sequence[bytes],
    out: BinaryIO,
    *,
    raw: bool,
    errors: BinaryIO | None = None,
) -> bool:
    """Run one command, print its reply like redis-cli; stream MONITOR/SUBSCRIBE output.

    Args:
        runner: Where to send the command.
        args: The command.
        out: Where replies go (stdout).
        raw: redis-cli's ``--raw`` formatting instead of the formatted one.
        errors: When given, an error reply goes there as bare text instead of
            to ``out`` (what redis-cli does with ``-e``).

    Returns:
        Whether the server replied with an error.

    Raises:
        Failure: The connection failed.
    """
    streaming = args[0].lower() in STREAMING_COMMANDS
    if streaming and args[0].lower() != b"monitor" and not raw:
        # redis-cli prints this before it reads the subscription confirmation.
        out.write(SUBSCRIBE_BANNER)
    reply = await runner.execute(args)
    failed = isinstance(reply, ErrorReply)
    if failed and errors is not None:
        assert isinstance(reply, ErrorReply)
        errors.write(reply.message + b"\n")
        errors.flush()
        return True
    out.write(format_reply(reply, args, raw=raw))
    out.flush()
    if streaming and not failed:
        async for pushed in runner.stream():
            out.write(format_reply(pushed, args, raw=raw))
            out.flush()
    return failed


def _stdin_commands() -> Iterator[list[bytes] | None]:
    """Commands piped in, one per line (``echo 'GET k' | session-inspector cli``).

    ``None`` stands for a line that does not parse (an unterminated quote).
    """
    for line in sys.stdin.buffer:
        yield split_args(line.rstrip(b"\r\n"))


async def _run_commands(
    settings: ConnectionSettings,
    commands: Iterable[list[bytes] | None],
    *,
    raw: bool,
    error_exit: bool,
) -> int:
    """Run commands on one connection, printing each reply as redis-cli does.

    Raises:
        Failure: The connection failed (``run_to_exit_code`` prints it).
    """
    runner = CommandRunner(settings)
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
    """Entry point of the `cli` subcommand; returns the exit code."""
    if args and args[0] == "--":
        args = args[1:]
    raw_output = not sys.stdout.isatty() if raw is None else raw
    if args:
        # Arguments arrive decoded with the file system encoding; surrogateescape
        # gives back the exact bytes typed, binary included.
        commands: Iterable[list[bytes] | None] = [[os.fsencode(arg) for arg in args]]
    elif not sys.stdin.isatty():
        commands = _stdin_commands()
    else:
        from inspector.subcommands.repl import Repl

        # Synchronous: readline's input() cannot run inside an event loop.
        return Repl(settings, raw=raw_output).run()
    return run_to_exit_code(
        lambda: _run_commands(settings, commands, raw=raw_output, error_exit=error_exit), settings
    )
