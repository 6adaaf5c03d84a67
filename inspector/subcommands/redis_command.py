"""`session-inspector cli`: redis-cli's one-shot mode, its modes, pipe mode and REPL.

Output is byte for byte what redis-cli 7 prints: formatted on a terminal or
with ``--no-raw``, raw when piped or with ``--raw``, or ``--csv`` / ``--json``.
The options are redis-cli's, read by :mod:`inspector.subcommands.cli_options`
(connection options may come before or after ``cli``). The key and server
modes (``--scan``, ``--bigkeys``, ``--stat``, ``--latency``...) live in
:mod:`inspector.redis_io.cli_modes`. (The module is not named ``cli``:
:mod:`inspector.cli` is the whole command line.)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inspector import __version__
from inspector.exits import PROG, ExitCode
from inspector.redis_io.settings import ConnectionSettings, SettingsError
from inspector.subcommands.cli_options import CLI_HELP, CliOptions, parse_cli_args
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import settings_from_args
from inspector.subcommands.outcome import run_to_exit_code

if TYPE_CHECKING:
    from inspector.redis_io.console_session import ConsoleSession, ProtocolChoice
    from inspector.redis_io.redis_cli import OutputFormat, Push

__all__ = ["CliInvocation", "register", "resolve", "run", "run_cli"]


@dataclass(frozen=True, slots=True)
class CliInvocation:
    """What `cli` was asked: redis-cli's options, and where to connect (``None`` for --help)."""

    options: CliOptions
    settings: ConnectionSettings | None


def register(subparsers: Subparsers) -> None:
    """Add the ``cli`` subcommand."""
    add_command(
        subparsers,
        "cli",
        run=run,
        resolve=resolve,
        help="redis-cli, byte for byte: one command, its modes (--scan, --bigkeys, --stat...) "
        "or a REPL",
        description="redis-cli replacement (see `cli --help`).",
        verbatim="cli_args",
    )


def resolve(ns: argparse.Namespace, env: Mapping[str, str]) -> CliInvocation:
    """Read redis-cli's options, then the connection settings they and the globals make.

    Raises:
        SettingsError: A bad option or setting (exit 2).
    """
    options = parse_cli_args(ns.cli_args)
    if options.help or options.version:
        return CliInvocation(options, None)
    # Connection options typed after `cli` override the ones before it.
    for dest, value in options.connection.items():
        setattr(ns, dest, value)
    return CliInvocation(options, settings_from_args(ns, env))


def _stdout_is_tty() -> bool:
    # redis-cli honours FAKETTY (its own test suite uses it) as a terminal.
    return sys.stdout.isatty() or os.environ.get("FAKETTY") is not None


def run(ns: argparse.Namespace, invocation: CliInvocation) -> int:
    """Run the parsed ``cli`` subcommand."""
    options = invocation.options
    if options.help:
        sys.stdout.write(CLI_HELP)
        return int(ExitCode.OK)
    if options.version:
        sys.stdout.write(f"{PROG} {__version__}\n")
        return int(ExitCode.OK)
    settings = invocation.settings
    assert settings is not None
    if settings.ssh is not None:
        # As for every subcommand (outcome.run_command does it for plain
        # settings): the bastion first, its prompts on a plain terminal.
        from inspector.subcommands.options import open_tunnel_for

        open_tunnel_for(settings)
    return run_cli(settings, options)


def _output(options: CliOptions, tty: bool) -> OutputFormat:
    from inspector.redis_io.redis_cli import OutputFormat, OutputMode

    mode = OutputMode(options.output) if options.output else None
    if mode is None:
        mode = OutputMode.STANDARD if tty else OutputMode.RAW
    return OutputFormat(mode, options.bulk_delimiter, options.reply_delimiter)


def _protocol(options: CliOptions) -> ProtocolChoice:
    from inspector.redis_io.console_session import ProtocolChoice

    if options.resp2 or options.resp3 == 0:
        return ProtocolChoice.RESP2
    return ProtocolChoice.RESP3 if options.resp3 == 1 else ProtocolChoice.RESP3_PREFERRED


def run_cli(settings: ConnectionSettings, options: CliOptions) -> int:
    """A mode, one command (``-r``/``-i``/``-x``/``--eval``), commands piped on stdin, or the REPL.

    Args:
        settings: Where to connect.
        options: redis-cli's options; ``options.args`` is the command.
    """
    tty = _stdout_is_tty()
    output = _output(options, tty)
    mode = _first_mode(options)
    if mode is not None:
        return run_to_exit_code(lambda: _run_mode(mode, settings, options, output, tty), settings)
    args = _command_args(options)
    if args is not None:
        return run_to_exit_code(lambda: _run_one(settings, options, output, tty, args), settings)
    if not sys.stdin.isatty():
        return run_to_exit_code(
            lambda: _run_commands(settings, options, output, tty, _stdin_commands()), settings
        )
    from inspector.subcommands.repl import Repl

    # Synchronous: readline's input() cannot run inside an event loop.
    return Repl(
        settings,
        output=output,
        protocol=_protocol(options),
        show_pushes=options.show_pushes if options.show_pushes is not None else tty,
    ).run()


# redis-cli's main() tries the modes in this order and runs the first one set.
_MODE_ORDER = (
    "latency",
    "latency-history",
    "latency-dist",
    "bigkeys",
    "memkeys",
    "keystats",
    "hotkeys",
    "stat",
    "scan",
)


def _first_mode(options: CliOptions) -> str | None:
    return next((mode for mode in _MODE_ORDER if mode in options.modes), None)


async def _run_mode(
    mode: str, settings: ConnectionSettings, options: CliOptions, output: OutputFormat, tty: bool
) -> int:
    from inspector.redis_io import cli_modes

    mode_options = cli_modes.ModeOptions(
        pattern=options.pattern,
        count=options.count,
        scan_type=os.fsencode(options.scan_type) if options.scan_type else None,
        interval=options.interval,
        output=output.mode,
        samples=options.samples,
        cursor=options.cursor,
        top=options.top,
        tty=tty,
        mono=options.mono,
    )
    out, err = sys.stdout.buffer, sys.stderr.buffer
    if mode in ("latency", "latency-history"):
        history = "latency-history" in options.modes
        return await cli_modes.latency_mode(settings, mode_options, out, history=history)
    if mode == "latency-dist":
        return await cli_modes.latency_dist_mode(settings, mode_options, out)
    if mode in ("bigkeys", "memkeys"):
        memkeys = mode == "memkeys"
        return await cli_modes.bigkeys_mode(settings, mode_options, out, err, memkeys=memkeys)
    if mode == "keystats":
        return await cli_modes.keystats_mode(settings, mode_options, out, err)
    if mode == "hotkeys":
        return await cli_modes.hotkeys_mode(settings, mode_options, out, err)
    if mode == "stat":
        return await cli_modes.stat_mode(settings, mode_options, out)
    return await cli_modes.scan_mode(settings, mode_options, out)


def _command_args(options: CliOptions) -> list[bytes] | None:
    """The one-shot command as bytes (``--eval`` built, ``-x``/``-X`` read), or ``None``.

    Raises:
        SettingsError: ``--quoted-input`` with a bad string, ``--eval`` with a
            file that cannot be read, ``-X`` with no argument to replace.
    """
    # Arguments arrive decoded with the file system encoding; surrogateescape
    # gives back the exact bytes typed, binary included.
    typed = [os.fsencode(arg) for arg in options.args]
    if options.quoted_input:
        from inspector.redis_io.redis_cli import split_args

        unquoted: list[bytes] = []
        for arg in typed:
            words = split_args(arg)
            if words is None or len(words) != 1:
                raise SettingsError("cli: Invalid quoted string (--quoted-input)")
            unquoted.append(words[0])
        typed = unquoted
    if options.eval_file is not None:
        return _eval_args(options.eval_file, typed)
    if not typed:
        return None
    if options.stdin_last:
        typed.append(sys.stdin.buffer.read())
    elif options.stdin_tag is not None:
        tag = os.fsencode(options.stdin_tag)
        if tag not in typed:
            raise SettingsError("cli: Using -X option but stdin tag not match.")
        typed[typed.index(tag)] = sys.stdin.buffer.read()
    return typed


def _eval_args(path: str, args: list[bytes]) -> list[bytes]:
    """``EVAL script numkeys keys... args...`` from ``--eval FILE keys , args`` (evalMode)."""
    try:
        with open(path, "rb") as file:
            script = file.read()
    except OSError as exc:
        raise SettingsError(f"cli: Can't open file '{path}': {exc.strerror or exc}") from None
    keys: list[bytes] = []
    rest: list[bytes] = []
    comma = False
    for arg in args:
        if not comma and arg == b",":
            comma = True
        elif comma:
            rest.append(arg)
        else:
            keys.append(arg)
    return [b"EVAL", script, b"%d" % len(keys), *keys, *rest]


def _stdin_commands() -> Iterator[bytes]:
    """Lines piped in (``echo 'GET k' | session-inspector cli``), without their line ends."""
    for line in sys.stdin.buffer:
        yield line.rstrip(b"\r\n")


def _session(
    settings: ConnectionSettings,
    options: CliOptions,
    output: OutputFormat,
    tty: bool,
    *,
    interactive: bool,
) -> ConsoleSession:
    """A console session with redis-cli's protocol, push display and redirect notices."""
    from inspector.redis_io.console_session import ConsoleSession, format_push
    from inspector.redis_io.runner import Redirect

    show_pushes = options.show_pushes if options.show_pushes is not None else tty

    def pushed(push: Push) -> None:
        sys.stdout.buffer.write(format_push(push, output))
        sys.stdout.buffer.flush()

    def notice(line: str) -> None:
        sys.stderr.write(line + "\n")

    def redirected(redirect: Redirect) -> None:
        # redis-cli prints redirects only when it reads commands itself (its REPL,
        # which piped stdin goes through too).
        sys.stdout.write(
            f"-> Redirected to slot [{redirect.slot}] located at {redirect.host}:{redirect.port}\n"
        )
        sys.stdout.flush()

    return ConsoleSession(
        settings,
        protocol=_protocol(options),
        on_push=pushed if show_pushes else None,
        on_notice=notice,
        on_redirect=redirected if interactive else None,
    )


async def _run_one(
    settings: ConnectionSettings,
    options: CliOptions,
    output: OutputFormat,
    tty: bool,
    args: list[bytes],
) -> int:
    """One command, ``-r`` times with ``-i`` between (redis-cli's noninteractive mode).

    Raises:
        Failure: The connection failed (``run_to_exit_code`` prints it).
    """
    import asyncio

    from inspector.redis_io.console_session import execute_and_print

    out = sys.stdout.buffer
    session = _session(settings, options, output, tty, interactive=False)
    try:
        await session.runner.connect()
        if args[0].lower() in (b"help", b"?"):
            out.write(await session.help_text(args[1:]))
            return int(ExitCode.OK)
        done = 0
        # A negative -r repeats forever, as in redis-cli.
        while options.repeat < 0 or done < options.repeat:
            done += 1
            failed = await execute_and_print(
                session.runner,
                args,
                out,
                output=output,
                errors=sys.stderr.buffer if options.error_exit else None,
            )
            if failed and options.error_exit:
                return int(ExitCode.ERROR_REPLY)
            if options.interval:
                await asyncio.sleep(options.interval)
    finally:
        await session.aclose()
    return int(ExitCode.OK)


async def _run_commands(
    settings: ConnectionSettings,
    options: CliOptions,
    output: OutputFormat,
    tty: bool,
    lines: Iterable[bytes],
) -> int:
    """Commands piped on stdin: redis-cli reads them with its REPL, so its rules apply.

    Each line is split as typed, ``N COMMAND`` repeats, ``help`` and ``quit``
    are the console's, redirects are announced, and an error reply is output
    (``-e`` does not apply, as in redis-cli).

    Raises:
        Failure: The connection failed (``run_to_exit_code`` prints it).
    """
    import time

    from inspector.redis_io.console_session import (
        INVALID_REPEAT,
        ConsoleCommand,
        console_command,
        execute_and_print,
        split_repeat,
    )
    from inspector.redis_io.errors import Failure
    from inspector.redis_io.redis_cli import OutputMode, split_args

    out = sys.stdout.buffer
    session = _session(settings, options, output, tty, interactive=True)
    try:
        await session.runner.connect()
        for line in lines:
            args = split_args(line)
            if args is None:
                out.write(b"Invalid argument(s)\n")
                continue
            if not args:
                continue  # an empty line, as redis-cli skips it
            repeated = split_repeat(args)
            if repeated is None:
                out.write(INVALID_REPEAT)
                continue
            times, command = repeated
            local = console_command(command)
            if local is not None and local.kind is ConsoleCommand.QUIT:
                break
            if local is not None and local.kind is ConsoleCommand.HELP:
                out.write(await session.help_text(local.topic))
                continue
            if local is not None and local.kind is ConsoleCommand.CLEAR:
                continue
            if local is not None and local.kind is ConsoleCommand.CONNECT:
                try:
                    await session.switch(local.host, int(local.port))
                except (Failure, ValueError) as exc:
                    message = exc.message if isinstance(exc, Failure) else str(exc)
                    sys.stderr.write(f"Could not connect: {message}\n")
                continue
            started = time.monotonic()
            for _ in range(times):
                await execute_and_print(session.runner, command, out, output=output)
            elapsed = time.monotonic() - started
            if output.mode is OutputMode.STANDARD and elapsed >= 0.5:
                out.write(b"(%.2fs)\n" % elapsed)
            out.flush()
    finally:
        await session.aclose()
    return int(ExitCode.OK)
