"""How a subcommand declares itself: its parser, its settings, its run function.

Each module of :mod:`inspector.subcommands` that is a subcommand has a
``register(subparsers)`` function. It calls :func:`add_command` once per
subcommand it provides, adds its own arguments to the parser it gets back and
names the function that runs it::

    def register(subparsers: Subparsers) -> None:
        parser = add_command(subparsers, "ls", run=run, help="list sessions")
        parser.add_argument("--limit", type=positive_int)

    def run(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
        ...  # import heavy modules here, not at the top of the module

``inspector.cli`` imports every subcommand module to build the parser, so
those modules import only light modules at their top: ``--help`` and bad
flags must answer without loading redis-py, Textual or aiohttp.

``run`` gets the parsed arguments and the settings ``resolve`` made of them
(by default :func:`~inspector.subcommands.options.settings_from_args`: the
global connection options and the environment; ``resolve=no_server`` for
offline commands). It returns the exit code; whatever it raises is turned
into one line and an exit code by :mod:`inspector.subcommands.outcome`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar, overload

from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.options import Parser, settings_from_args

__all__ = ["Command", "Subparsers", "add_command", "no_server"]

S = TypeVar("S")

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[Parser]
else:
    Subparsers: TypeAlias = argparse._SubParsersAction


@dataclass(frozen=True, slots=True)
class Command(Generic[S]):
    """One subcommand as the entry point runs it: settings first, then the work."""

    name: str
    """The subcommand as typed (``ls``, ``sample-app``)."""
    run: Callable[[argparse.Namespace, S], int]
    """Does the work and returns the exit code."""
    resolve: Callable[[argparse.Namespace, Mapping[str, str]], S]
    """Makes ``run``'s settings from the arguments and the environment; raises
    ``SettingsError`` for a usage error."""
    needs_terminal: bool = False
    """A full-screen command (the TUI, the demo): refused, before anything else,
    when stdin or stdout is not a terminal."""


def no_server(ns: argparse.Namespace, env: Mapping[str, str]) -> None:
    """The ``resolve`` of commands that need no Redis (``decode``): no settings at all."""
    return None


@overload
def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    run: Callable[[argparse.Namespace, ConnectionSettings], int],
    help: str,
    description: str | None = None,
    verbatim: str | None = None,
    needs_terminal: bool = False,
) -> Parser: ...


@overload
def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    run: Callable[[argparse.Namespace, S], int],
    resolve: Callable[[argparse.Namespace, Mapping[str, str]], S],
    help: str,
    description: str | None = None,
    verbatim: str | None = None,
    needs_terminal: bool = False,
) -> Parser: ...


def add_command(
    subparsers: Subparsers,
    name: str,
    *,
    run: Callable[[argparse.Namespace, Any], int],
    resolve: Callable[[argparse.Namespace, Mapping[str, str]], Any] = settings_from_args,
    help: str,  # noqa: A002 - argparse's name
    description: str | None = None,
    verbatim: str | None = None,
    needs_terminal: bool = False,
) -> Parser:
    """Add a subcommand's parser (with ``--help``; ``-h`` is the host) and what runs it.

    Args:
        subparsers: What ``register`` was given.
        name: The subcommand as typed.
        run: Runs it: ``run(ns, settings) -> exit code``.
        resolve: Makes the settings ``run`` gets (default: the connection
            options and the environment).
        help: One line for the main ``--help``.
        description: A paragraph for the subcommand's own ``--help``.
        verbatim: The subcommand reads its own arguments: all of them, as
            typed, go to this attribute (and ``--help`` is the subcommand's).
        needs_terminal: Full screen: refused without a terminal (see
            :attr:`Command.needs_terminal`).

    Returns:
        The subcommand's parser, for its own arguments.
    """
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        add_help=False,
        allow_abbrev=False,
        verbatim=verbatim,
    )
    if verbatim is None:
        parser.add_argument("--help", action="help", help="show this help and exit")
    parser.set_defaults(command=Command(name, run, resolve, needs_terminal))
    return parser
