"""``make stress-test``: the TUI and feed test modules, N times, while both cores are busy.

Flaky tests hide behind an idle machine. This runs the modules given (by default
every TUI module and the feed's) ``--runs`` times in a row, each run a fresh
``pytest`` with two workers, while one CPU-bound process per core spins, and
prints one line per run and a closing ``N passed, N failed`` line. It exits 1 if
any run failed. The burners stop when the runs do (and on their own after
``--max-seconds``, should this process be killed).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_MODULES = (
    "tests/tui",
    "tests/redis/test_redis_io_feed.py",
    "tests/redis/test_watch.py",
)
# A busy loop that also ends by itself: a stress run killed half-way leaves no burner.
_BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def main(argv: list[str] | None = None) -> int:
    """Run the modules ``--runs`` times under load; 0 when every run passed."""
    parser = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__)
    parser.add_argument("modules", nargs="*", default=list(DEFAULT_MODULES))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("STRESS_RUNS", "20")))
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--workers", default="2", help="pytest -n (default 2)")
    parser.add_argument("--max-seconds", type=int, default=4 * 3600)
    args = parser.parse_args(argv)
    # Started in the background (`make stress-test &`), SIGINT comes ignored and
    # every process below would inherit that: tests that stop `watch` with it hang.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logs = Path(".stress-logs")
    logs.mkdir(exist_ok=True)
    burners = [
        subprocess.Popen([sys.executable, "-c", _BURN.format(seconds=args.max_seconds)])
        for _ in range(args.burners)
    ]
    failed: list[int] = []
    started = time.monotonic()
    try:
        for run in range(1, args.runs + 1):
            began = time.monotonic()
            log = logs / f"run-{run:02d}.log"
            with log.open("wb") as out:
                code = subprocess.call(
                    [sys.executable, "-m", "pytest", "-q", "-n", args.workers,
                     "-p", "no:cacheprovider", *args.modules],
                    stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
            summary = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            verdict = "ok" if code == 0 else f"FAILED (exit {code}, see {log})"
            print(f"run {run}/{args.runs}: {verdict} in {time.monotonic() - began:.0f} s: "
                  f"{summary[0]}", flush=True)  # fmt: skip
            if code != 0:
                failed.append(run)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    minutes = (time.monotonic() - started) / 60
    print(f"stress: {args.runs} runs of {' '.join(args.modules)} with {args.burners} "
          f"CPU burners, {minutes:.1f} min; failed runs: {failed or 'none'}")  # fmt: skip
    print(f"{args.runs - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
