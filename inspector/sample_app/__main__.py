"""`python -m inspector.sample_app [options]`: the same as `session-inspector sample-app`."""

import sys

from inspector.cli import main

raise SystemExit(main(["sample-app", *sys.argv[1:]]))
