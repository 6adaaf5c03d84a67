"""Command line: redis-cli's connection flags, then a subcommand.

    session-inspector [connection options] [tui]          the TUI (default)
    session-inspector [connection options] cli [CMD ...]  redis-cli replacement
    session-inspector [connection options] demo           demo (embedded Redis without options)
    session-inspector profiles                            the saved connection profiles

Connection flags come before the subcommand and are spelled as in redis-cli
(``-h`` is the host; ``--help`` is help). Each subcommand is a module of
:mod:`inspector.subcommands` that adds its own parser and runs itself (the
contract is in :mod:`inspector.subcommands.command`); this module only puts
them together. Heavy modules (redis-py, Textual) are imported only by the
subcommand that runs, so ``--help`` and bad flags answer instantly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from inspector import __version__
from inspector.exits import PROG
from inspector.subcommands import outcome
from inspector.subcommands.options import Parser, add_connection_options

__all__ = ["COMMANDS", "DEFAULT_COMMAND", "SUBCOMMANDS", "main"]

SUBCOMMANDS = (
    "tui",
    "redis_command",
    "sessions",
    "watch",
    "sample_app",
    "decode",
    "demo",
    "profiles",
)
"""The subcommand modules of :mod:`inspector.subcommands`, in the order ``--help`` lists them."""
COMMANDS = {
    "tui": "tui",
    "cli": "redis_command",
    "ls": "sessions",
    "show": "sessions",
    "stats": "sessions",
    "watch": "watch",
    "sample-app": "sample_app",
    "decode": "decode",
    "demo": "demo",
    "profiles": "profiles",
}
"""Each subcommand's name and the module that registers it (a test checks they agree):
the one named on the command line is the only one imported, so ``ls`` does not
pay for the parsers of the others."""
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
    "  SESSION_INSPECTOR_PROFILE  profile to use when --profile is not given\n"
    "  XDG_CONFIG_HOME        profiles are in $XDG_CONFIG_HOME/session-inspector/\n"
    "                         profiles.toml (default ~/.config/...)\n"
    "Flags beat a --profile, which beats the environment, which beats 127.0.0.1:6379.\n\n"
    "exit codes: 0 ok, 1 error reply (cli -e), 2 bad usage, 3 cannot connect or\n"
    "authenticate, 4 command refused by the server (NOPERM, unknown), 130 Ctrl-C"
)


def _named_command(parser: Parser, args: Sequence[str]) -> str | None:
    """The subcommand ``args`` name after the connection options; ``None`` when unsure.

    Only exact option spellings are walked over (``-p 6380``, ``--port=6380``);
    anything else (``-p6380``, ``--help``, a stray word) answers ``None``, and
    every subcommand is registered, so the parse is exactly as without this.
    """
    # argparse keeps no public list of its actions. --help and --version list
    # or answer without a subcommand: not walked over.
    options = {
        spelling: action.nargs is None
        for action in parser._actions
        if action.nargs in (None, 0) and action.dest not in ("help", "version")
        for spelling in action.option_strings
    }
    index = 0
    while index < len(args):
        token = args[index]
        if token in COMMANDS:
            return token
        if token.startswith("--") and "=" in token and token.split("=", 1)[0] in options:
            index += 1
        elif token in options:
            index += 2 if options[token] else 1
        else:
            return None
    return None


def _parser(args: Sequence[str] = ()) -> Parser:
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
    named = _named_command(parser, args)
    subparsers = parser.add_subparsers(metavar="COMMAND", parser_class=Parser)
    for name in (COMMANDS[named],) if named else SUBCOMMANDS:
        importlib.import_module(f"inspector.subcommands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(args)
    ns = parser.parse_args(args)
    if ns.command is None:
        # Only connection options were given: they go before the subcommand,
        # so the default one simply follows them.
        ns = parser.parse_args([*args, DEFAULT_COMMAND])
    return outcome.run_command(ns.command, ns, os.environ)
