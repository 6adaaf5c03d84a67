"""Subcommand implementations; `inspector.cli` parses arguments and calls into these."""
