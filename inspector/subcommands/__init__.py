"""The subcommands: one module each, adding its own parser and running itself (see command.py)."""
