"""Command line: redis-cli's connection flags, then a subcommand.

    session-inspector [connection options] [tui]          the TUI (default)
    session-inspector [connection options] cli [CMD ...]  redis-cli replacement
    session-inspector [connection options] demo           demo (embedded Redis without options)

Connection flags come before the subcommand and are spelled as in redis-cli
(``-h`` is the host; ``--help`` is help). Each subcommand is a module of
:mod:`inspector.subcommands` that adds its own parser and runs itself (the
contract is in :mod:`inspector.subcommands.command`); this module only puts
them together. Heavy modules (redis-py, Textual) are imported only by the
subcommand that runs, so ``--help`` and bad flags answer instantly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from inspector import __version__
from inspector.exits import PROG
from inspector.subcommands import (
    decode,
    demo,
    outcome,
    redis_command,
    sample_app,
    sessions,
    tui,
    watch,
)
from inspector.subcommands.options import Parser, add_connection_options

__all__ = ["DEFAULT_COMMAND", "main"]

SUBCOMMANDS = (tui, redis_command, sessions, watch, sample_app, decode, demo)
"""The subcommand modules, in the order ``--help`` lists them."""
DEFAULT_COMMAND = "tui"
"""What runs when no subcommand is named."""

DESCRIPTION = (
    "What is in a user's Spring (or any) session on Redis, and which container "
    "just served it.\nConnects like redis-cli: same flags, REDISCLI_AUTH, TLS, "
    "ACL users, cluster mode."
)
EPILOG = (
    "environment:\n"
    "  REDISCLI_AUTH          password (keeps it out of `ps`), used when -a is not given\n"
    "  REDIS_URL              redis://, rediss:// or unix:// URL of the server\n"
    "  REDISCLUSTERENDPOINT   host or host:port (also REDIS_CLUSTER_ENDPOINT), as set\n"
    "                         by the ECS task definitions of the Spring sample app\n"
    "  SSH_PASSWORD           password for --ssh (else asked at the terminal)\n"
    "  SSH_KEY_PASSPHRASE     passphrase of encrypted SSH keys (else asked)\n"
    "Flags beat the environment, which beats 127.0.0.1:6379.\n\n"
    "exit codes: 0 ok, 1 error reply (cli -e), 2 bad usage, 3 cannot connect or\n"
    "authenticate, 4 command refused by the server (NOPERM, unknown), 130 Ctrl-C"
)


def _parser() -> Parser:
    parser = Parser(
        prog=PROG,
        add_help=False,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    add_connection_options(parser)
    misc = parser.add_argument_group("other")
    misc.add_argument("--help", action="help", help="show this help and exit")
    misc.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.set_defaults(command=None)
    subparsers = parser.add_subparsers(metavar="COMMAND", parser_class=Parser)
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    ns = parser.parse_args(args)
    if ns.command is None:
        # Only connection options were given: they go before the subcommand,
        # so the default one simply follows them.
        ns = parser.parse_args([*args, DEFAULT_COMMAND])
    return outcome.run_command(ns.command, ns, os.environ)
