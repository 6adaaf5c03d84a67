"""Every ending of a subcommand becomes an exit code; failures print one line.

The one place that maps what a command can end with (a :class:`Failure`, a
closed stdout, Ctrl-C, anything unexpected) to the README's exit codes.
``inspector.cli`` wraps every subcommand in :func:`exit_code_of`; async
subcommands use :func:`run_to_exit_code`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from inspector.exits import PROG
from inspector.redis_io.errors import ExitCode, Failure, Problem, describe_failure
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["exit_code_of", "run_to_exit_code"]

DEBUG_HINT = " (SESSION_INSPECTOR_DEBUG=1 shows the traceback)"


def _silence_stdout() -> None:
    # The reader left; later writes (and the interpreter's final flush) must
    # not fail again, so stdout now points at /dev/null.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _explain(exc: Exception, settings: ConnectionSettings | None, command: str | None) -> Failure:
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
    except Failure as failure:
        sys.stderr.write(f"{PROG}: {failure.message}\n")
        return int(failure.exit_code)
    except BrokenPipeError:
        _silence_stdout()
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        if os.environ.get("SESSION_INSPECTOR_DEBUG"):
            raise
        described = _explain(exc, settings, command)
        # Only a failure nobody foresaw needs the traceback to be understood.
        hint = DEBUG_HINT if described.problem is Problem.OTHER else ""
        sys.stderr.write(f"{PROG}: {described.message}{hint}\n")
        return int(described.exit_code)


def run_to_exit_code(
    main: Callable[[], Coroutine[Any, Any, int]],
    settings: ConnectionSettings | None,
    *,
    command: str | None = None,
) -> int:
    """Run ``main()`` in a fresh event loop; its endings as in :func:`exit_code_of`."""
    return exit_code_of(lambda: asyncio.run(main()), settings, command=command)
