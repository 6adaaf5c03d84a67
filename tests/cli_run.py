"""Run ``python -m inspector`` as a subprocess, the way a user runs the command.

Every test names its endpoint with flags. An endpoint, URL or password in the
environment would fill the fields a flag leaves open and send the process
elsewhere, so those variables never reach it (``env`` can set them on purpose).
"""

from __future__ import annotations

import os
import subprocess
import sys

__all__ = ["ENDPOINT_VARIABLES", "inspector"]

ENDPOINT_VARIABLES = (
    "REDISCLUSTERENDPOINT",
    "REDIS_CLUSTER_ENDPOINT",
    "REDIS_URL",
    "REDISCLI_AUTH",
    "SESSION_INSPECTOR_PROFILE",
)
"""Environment variables that choose a server, a password or a saved profile; cleared for
the subprocess."""


def inspector(
    *args: str | bytes,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m inspector *args`` to completion and capture stdout/stderr (bytes).

    Args:
        args: Command-line arguments (bytes are passed through unchanged).
        env: Variables added to the cleaned environment.
        stdin: Bytes fed to the process's standard input.
        timeout: Seconds before the run is abandoned (a hang fails the test).
    """
    clean_env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    clean_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args],
        capture_output=True,
        env=clean_env,
        input=stdin,
        timeout=timeout,
    )
