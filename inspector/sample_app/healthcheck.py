"""The image's HEALTHCHECK: ``/health`` of the sample app, when the container runs it.

The same image runs the TUI (``docker run -it IMAGE -h host``) and the sample
app (``IMAGE sample-app --port 8080``). The sample app leaves a marker file
naming its port; without it the container is not a web server and counts as
healthy, so interactive use is never reported unhealthy.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["MARKER", "check", "write_marker"]

MARKER = Path(os.environ.get("SAMPLE_APP_MARKER", Path(tempfile.gettempdir()) / "sample-app.port"))


def write_marker(port: int) -> None:
    """Record that this container serves the sample app on ``port``."""
    # A read-only /tmp only costs the health check its precision.
    with contextlib.suppress(OSError):
        MARKER.write_text(str(port))


def check(timeout: float = 3.0) -> int:
    """0 when healthy (or not a web container), 1 when ``/health`` fails."""
    try:
        port = int(MARKER.read_text().strip())
    except (OSError, ValueError):
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
            return 0 if response.status == 200 and body.get("status") == "UP" else 1
    except (urllib.error.URLError, OSError, ValueError):
        return 1


if __name__ == "__main__":
    sys.exit(check())
