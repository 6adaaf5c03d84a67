"""Every ending of a subcommand becomes an exit code; failures print one line.

The one place that maps what a command can end with (a usage error in its
settings, a :class:`~inspector.redis_io.errors.Failure`, a closed stdout,
Ctrl-C, anything unexpected) to the README's exit codes. ``inspector.cli``
runs every subcommand through :func:`run_command`; async work inside a
subcommand uses :func:`run_to_exit_code` to name what it was doing.

Importing this module loads no redis-py: failures are described (which needs
it) only when one happened.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from inspector.exits import PROG, ExitCode
from inspector.redis_io.settings import ConnectionSettings, SettingsError, mask_url_passwords

if TYPE_CHECKING:
    from inspector.redis_io.errors import Failure
    from inspector.subcommands.command import Command

__all__ = ["NO_TERMINAL", "exit_code_of", "has_terminal", "run_command", "run_to_exit_code"]

S = TypeVar("S")

DEBUG_HINT = " (SESSION_INSPECTOR_DEBUG=1 shows the traceback)"
NO_TERMINAL = (
    "{command} needs a terminal (stdin and stdout are not one): use docker run -it, "
    "ssh -t, or a command for scripts (ls, show, watch)"
)


def has_terminal() -> bool:
    """Whether stdin and stdout are both terminals: a full-screen app reads keys and draws."""
    try:
        return os.isatty(sys.stdin.fileno()) and os.isatty(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # closed or replaced streams
        return False


def run_command(command: Command[S], ns: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Resolve a subcommand's settings, run it, and return its exit code however it ends.

    A settings error (a malformed URL, a missing certificate) is a usage error:
    one line, exit 2, before anything touches the network. Ctrl-C or Ctrl-D at
    the ``--askpass`` prompt gives 130. A full-screen command without a
    terminal (``docker run`` without ``-t``, ``tui </dev/null >file``) is one
    line and exit 2 before anything connects: it would stream escape sequences.
    """
    try:
        settings = command.resolve(ns, env)
    except SettingsError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return int(ExitCode.USAGE)
    except (KeyboardInterrupt, EOFError):
        return int(ExitCode.INTERRUPTED)
    if command.needs_terminal and not has_terminal():
        label = "the TUI" if command.name == "tui" else f"`{command.name}` (it opens the TUI)"
        sys.stderr.write(f"{PROG}: {NO_TERMINAL.format(command=label)}\n")
        return int(ExitCode.USAGE)
    server = settings if isinstance(settings, ConnectionSettings) else None

    def run() -> int:
        if server is not None and server.ssh is not None:
            # The bastion first: its prompts on a plain terminal, its failures
            # as such (one line naming the hop), before the command starts.
            from inspector.subcommands.options import open_tunnel_for

            open_tunnel_for(server)
        return command.run(ns, settings)

    return exit_code_of(run, server)


def _silence_stdout() -> None:
    # The reader left; later writes (and the interpreter's final flush) must
    # not fail again, so stdout now points at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _explain(exc: Exception, settings: ConnectionSettings | None, command: str | None) -> Failure:
    from inspector.redis_io.errors import Failure, Problem, describe_failure

    if settings is None:
        # Offline work (decode, the embedded demo's own server): there is no
        # endpoint to blame, so the exception speaks for itself.
        text = str(exc)
        return Failure(
            Problem.OTHER, f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        )
    return describe_failure(exc, settings, command=command)


def exit_code_of(
    run: Callable[[], int],
    settings: ConnectionSettings | None,
    *,
    command: str | None = None,
) -> int:
    """Call ``run()`` and return its exit code, however it ends.

    A :class:`Failure` prints its one line; a closed stdout (``| head``) ends
    quietly with 0; Ctrl-C gives 130; anything else is explained by
    ``describe_failure`` against ``settings`` (``None`` when no server is
    involved; ``command`` names what was running, for NOPERM messages).
    ``SESSION_INSPECTOR_DEBUG`` lets unexpected exceptions through, traceback
    and all.
    """
    try:
        code = run()
        # Output still buffered would meet a closed pipe at the interpreter's
        # final flush, outside any handler: flush while the handlers below apply.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except SettingsError as exc:  # a setting found wrong once the command runs
        sys.stderr.write(f"{PROG}: {exc}\n")
        return int(ExitCode.USAGE)
    except Exception as exc:
        # Imported only now: a Failure comes from redis_io, which is loaded by then.
        from inspector.redis_io.errors import Failure, Problem

        if isinstance(exc, Failure):
            sys.stderr.write(f"{PROG}: {mask_url_passwords(exc.message)}\n")
            return int(exc.exit_code)
        if os.environ.get("SESSION_INSPECTOR_DEBUG"):
            raise
        described = _explain(exc, settings, command)
        # Only a failure nobody foresaw needs the traceback to be understood.
        hint = DEBUG_HINT if described.problem is Problem.OTHER else ""
        sys.stderr.write(f"{PROG}: {mask_url_passwords(described.message)}{hint}\n")
        return int(described.exit_code)


def run_to_exit_code(
    main: Callable[[], Coroutine[Any, Any, int]],
    settings: ConnectionSettings | None,
    *,
    command: str | None = None,
) -> int:
    """Run ``main()`` in a fresh event loop; its endings as in :func:`exit_code_of`."""
    import asyncio

    return exit_code_of(lambda: asyncio.run(main()), settings, command=command)
