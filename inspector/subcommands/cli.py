"""`session-inspector cli`: redis-cli's one-shot mode, pipe mode and REPL.

Output is byte for byte what redis-cli 7 prints: formatted on a terminal or
with ``--no-raw``, raw when piped or with ``--raw``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO

from inspector.redis_io.errors import ExitCode, Failure
from inspector.redis_io.redis_cli import ErrorReply, format_reply, split_args
from inspector.redis_io.runner import STREAMING_COMMANDS, CommandRunner
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.outcome import PROG

__all__ = ["execute_and_print", "run_cli"]

SUBSCRIBE_BANNER = b"Reading messages... (press Ctrl-C to quit)\n"


def _fail(failure: Failure) -> int:
    sys.stderr.write(f"{PROG}: {failure.message}\n")
    return int(failure.exit_code)


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


async def _one_shot(
    settings: ConnectionSettings, args: list[bytes], *, raw: bool, error_exit: bool
) -> int:
    runner = CommandRunner(settings, follow_redirects=bool(settings.cluster))
    try:
        await runner.connect()
        failed = await execute_and_print(
            runner,
            args,
            sys.stdout.buffer,
            raw=raw,
            errors=sys.stderr.buffer if error_exit else None,
        )
    except Failure as failure:
        return _fail(failure)
    finally:
        await runner.aclose()
    return int(ExitCode.ERROR_REPLY) if failed and error_exit else int(ExitCode.OK)


async def _from_stdin(settings: ConnectionSettings, *, raw: bool, error_exit: bool) -> int:
    """Commands piped in, one per line (``echo 'GET k' | session-inspector cli``)."""
    runner = CommandRunner(settings, follow_redirects=bool(settings.cluster))
    failed = False
    try:
        await runner.connect()
        for line in sys.stdin.buffer:
            args = split_args(line.rstrip(b"\r\n"))
            if args is None:
                sys.stdout.buffer.write(b"Invalid argument(s)\n")
                continue
            if args:
                failed = (
                    await execute_and_print(
                        runner,
                        args,
                        sys.stdout.buffer,
                        raw=raw,
                        errors=sys.stderr.buffer if error_exit else None,
                    )
                    or failed
                )
    except Failure as failure:
        return _fail(failure)
    finally:
        await runner.aclose()
    return int(ExitCode.ERROR_REPLY) if failed and error_exit else int(ExitCode.OK)


def run_cli(
    settings: ConnectionSettings, args: Sequence[str], *, raw: bool | None, error_exit: bool
) -> int:
    """Entry point of the `cli` subcommand; returns the exit code."""
    if args and args[0] == "--":
        args = args[1:]
    if raw is None:
        raw = not sys.stdout.isatty()
    try:
        if args:
            # Arguments arrive decoded with the file system encoding; surrogateescape
            # gives back the exact bytes typed, binary included.
            argv = [os.fsencode(arg) for arg in args]
            return asyncio.run(_one_shot(settings, argv, raw=raw, error_exit=error_exit))
        if not sys.stdin.isatty():
            return asyncio.run(_from_stdin(settings, raw=raw, error_exit=error_exit))
        from inspector.subcommands.repl import Repl

        return Repl(settings, raw=raw).run()
    except BrokenPipeError:
        # `session-inspector cli MONITOR | head`: the reader left; not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.OK)
