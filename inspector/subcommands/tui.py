"""`session-inspector [tui]`: the terminal UI (the default subcommand)."""

from __future__ import annotations

import argparse

from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import (
    add_attribution,
    add_host_field,
    add_namespace,
    add_poll,
    host_field_of,
)

__all__ = ["register", "run"]


def register(subparsers: Subparsers) -> None:
    """Add the ``tui`` subcommand."""
    parser = add_command(
        subparsers, "tui", run=run, help="open the terminal UI (the default)", needs_terminal=True
    )
    add_poll(parser)
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="allow deleting sessions from the detail screen (asks first)",
    )
    add_namespace(parser)
    add_host_field(parser)
    add_attribution(
        parser,
        monitor_help="monitor: from the start, the connection that wrote the session "
        "(MONITOR on every primary; needs +monitor; 'a' switches it on and off)",
    )


def run(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    """Run the app until the user quits."""
    from inspector.tui.app import AppOptions, run_tui

    return run_tui(
        AppOptions(
            settings=settings,
            namespace=ns.namespace,
            host_field=host_field_of(ns),
            poll_interval=ns.poll,
            allow_writes=ns.allow_writes,
            attribute_by=ns.attribute_by,
            client_map=ns.client_map,
            dns=ns.dns,
        )
    )
