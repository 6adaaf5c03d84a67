"""Run every benchmark (`make bench`), or the ones named: `python -m benchmarks sessions tui`.

Each runs in its own interpreter, so one benchmark's peak RSS (the TUI's
million rows) does not leak into the next one's numbers.
"""

import subprocess
import sys

ALL = (
    "cli",
    "decoders",
    "sessions",
    "frameworks",
    "watch",
    "monitor",
    "tui",
    "attribution",
    "messages",
    "ssh",
    "keys",
)

names = sys.argv[1:] or list(ALL)
unknown = sorted(set(names) - set(ALL))
if unknown:
    sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}")
failed = []
for name in names:
    print(f"=== bench_{name}", flush=True)
    if subprocess.run([sys.executable, "-m", f"benchmarks.bench_{name}"]).returncode:
        failed.append(name)
if failed:
    sys.exit(f"failed: {', '.join(failed)}")
