"""Running a subcommand's coroutine: every ending becomes an exit code, failures one line."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from inspector.redis_io.errors import ExitCode, Failure, describe_failure
from inspector.redis_io.settings import ConnectionSettings

__all__ = ["PROG", "run_to_exit_code"]

PROG = "session-inspector"


def run_to_exit_code(
    main: Callable[[], Coroutine[Any, Any, int]],
    settings: ConnectionSettings,
    *,
    command: str | None = None,
) -> int:
    """Run ``main()`` in a fresh event loop and return its exit code.

    A :class:`Failure` prints its one line; a closed stdout (``| head``) ends
    quietly with 0; anything else is explained by ``describe_failure`` against
    ``settings`` (``command`` names what was running, for NOPERM messages).
    ``SESSION_INSPECTOR_DEBUG`` lets unexpected exceptions through, traceback
    and all.
    """
    try:
        return asyncio.run(main())
    except Failure as failure:
        sys.stderr.write(f"{PROG}: {failure.message}\n")
        return int(failure.exit_code)
    except BrokenPipeError:
        # The reader left; later writes (and the interpreter's final flush)
        # must not fail again, so stdout now points at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except Exception as exc:
        if os.environ.get("SESSION_INSPECTOR_DEBUG"):
            raise
        described = describe_failure(exc, settings, command=command)
        sys.stderr.write(f"{PROG}: {described.message}\n")
        return int(described.exit_code)
