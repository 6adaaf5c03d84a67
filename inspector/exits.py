"""The program name and its exit codes, importable before anything heavy.

``inspector.cli`` answers ``--help`` and bad flags without loading redis-py,
so these live here rather than beside the failure descriptions in
:mod:`inspector.redis_io.errors`. Every module takes :class:`ExitCode` from
here (ruff's banned-api rule stops an import of it from anywhere else).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["PROG", "ExitCode"]

PROG = "session-inspector"


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    ERROR_REPLY = 1
    """The server answered with an error (``cli -e``), or an unexpected failure."""
    USAGE = 2
    """A flag, URL, file or setting is wrong; nothing was sent."""
    CONNECTION = 3
    """Unreachable, timed out, TLS mismatch or rejected certificate, authentication failed."""
    PERMISSION = 4
    """Connected, but the server refused a command the tool needs (NOPERM, unknown command)."""
    INTERRUPTED = 130
    """Ctrl-C."""
