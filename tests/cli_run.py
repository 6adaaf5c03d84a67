"""Run ``python -m inspector`` as a subprocess, the way a user runs the command.

Every test names its endpoint with flags. An endpoint, URL or password in the
environment would fill the fields a flag leaves open and send the process
elsewhere, so those variables never reach it (``env`` can set them on purpose).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

__all__ = ["ENDPOINT_VARIABLES", "inspector", "inspector_in_process"]

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


def inspector_in_process(*args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    """Run ``main(args)`` in this process; stdout/stderr captured as bytes, as by
    :func:`inspector`.

    For tests that run one read-only command many times over (``show`` for each
    form of each session): a subprocess costs ~0.8 s, nearly all of it importing
    redis-py, where the call itself takes milliseconds. The environment is cleaned
    as for :func:`inspector`, and restored afterwards. Use :func:`inspector` for
    anything about the process itself (exit on a signal, a terminal, stdin). Bytes
    arguments are decoded as the interpreter decodes ``sys.argv`` (os.fsdecode).
    """
    from inspector.cli import main

    argv = [os.fsdecode(a) for a in args]
    saved = {k: os.environ.pop(k) for k in ENDPOINT_VARIABLES if k in os.environ}
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    # UTF-8 as the command's own streams are in the tests' locale; .buffer is there
    # for the code that writes bytes.
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", write_through=True)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
            out.flush()
            err.flush()
    finally:
        os.environ.update(saved)
    return subprocess.CompletedProcess(argv, code, out_bytes.getvalue(), err_bytes.getvalue())
