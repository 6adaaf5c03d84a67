"""`python -m inspector` runs the same entry point as the `session-inspector` script."""

from inspector.cli import main

raise SystemExit(main())
