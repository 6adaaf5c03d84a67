"""`session-inspector demo`: the sample app's demo deployment with the TUI in front.

The deployment itself (embedded Redis, two containers, simulated users) is
:mod:`inspector.sample_app.demo`; this module picks its Redis from the
arguments and opens the TUI on it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from inspector.redis_io.settings import (
    ConnectionFlags,
    ConnectionSettings,
    SettingsError,
    parse_url,
    resolve_settings,
)
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import (
    checked,
    connection_flags,
    per_second,
    positive_int,
    settings_from_args,
    with_ssh_from_args,
)

if TYPE_CHECKING:
    from inspector.sample_app.demo import DemoOptions

__all__ = ["demo_settings", "register", "run", "run_demo"]


def register(subparsers: Subparsers) -> None:
    """Add the ``demo`` subcommand."""
    parser = add_command(
        subparsers,
        "demo",
        run=run,
        resolve=demo_settings,
        needs_terminal=True,
        help="embedded demo: needs no Redis server",
        description="Starts an embedded Redis, two sample-app containers and simulated users, "
        "then the TUI. Quitting stops everything. With --redis URL or connection options "
        "before `demo` (session-inspector -h HOST demo), the demo uses that server instead.",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="use this Redis (redis://, rediss://) instead of the embedded one; "
        "or give connection options before `demo`",
    )
    parser.add_argument(
        "--users",
        metavar="N",
        type=positive_int,
        default=6,
        help="simulated users, each with its own session (default 6)",
    )
    parser.add_argument(
        "--rate",
        metavar="PER_SECOND",
        type=per_second,
        default=3.0,
        help="requests per second, all users together (default 3)",
    )


def demo_settings(ns: argparse.Namespace, env: Mapping[str, str]) -> ConnectionSettings | None:
    """The server the demo uses, or ``None`` for its embedded Redis.

    Raises:
        SettingsError: ``--redis`` is malformed, or given with connection options.
    """
    # A profile typed as --profile is a request for its server; one named by
    # SESSION_INSPECTOR_PROFILE is the environment's, which the demo leaves alone.
    typed_profile = ns.profile is not None
    options_given = ns.askpass or typed_profile or connection_flags(ns) != ConnectionFlags()
    if ns.redis is not None:
        if options_given:
            raise SettingsError(
                "demo: give either --redis URL or connection options "
                "(-h, -p, -u, --profile...), not both"
            )
        # Parsed first so that errors name --redis; resolve_settings says -u.
        parse_url(ns.redis, "--redis")
        given = resolve_settings(ConnectionFlags(url=ns.redis), {})
        # --ssh is not an endpoint option: the URL's server, behind a bastion.
        return checked(with_ssh_from_args(ns, env, given), ns, typed_url=ns.redis)
    if options_given:
        # `session-inspector -h myhost demo`: the demo on that server, reached
        # exactly as every other command would reach it.
        return settings_from_args(ns, env)
    # The embedded Redis: an endpoint in the environment (REDISCLUSTERENDPOINT
    # on an ECS host) is not a request to leave it (and --ssh has nothing to reach).
    return with_ssh_from_args(ns, env, None)


def run(ns: argparse.Namespace, settings: ConnectionSettings | None) -> int:
    """Run the parsed ``demo`` subcommand."""
    from inspector.sample_app.demo import DemoOptions

    return run_demo(DemoOptions(redis=settings, users=ns.users, rate=ns.rate))


def _check_reachable(settings: ConnectionSettings) -> int:
    from inspector.redis_io.client import open_client
    from inspector.subcommands.outcome import run_to_exit_code

    async def connect() -> int:
        client = await open_client(settings)
        await client.aclose()
        return 0

    return run_to_exit_code(connect, settings)


def run_demo(options: DemoOptions | None = None) -> int:
    """Run the demo with the TUI in front; returns the TUI's exit code."""
    from inspector.sample_app.demo import DemoOptions, running_demo
    from inspector.tui.app import AppOptions, make_app

    options = options or DemoOptions()
    if options.redis is not None:
        # A server given with --redis must answer before anything starts: one
        # line and exit 3, as every other command, not a TUI full of 503s.
        code = _check_reachable(options.redis)
        if code:
            return code
    with running_demo(options) as demo:
        print("Demo — " + "   ".join(demo.banner().splitlines()), file=sys.stderr)
        app = make_app(AppOptions(settings=demo.redis, banner=demo.banner(), poll_interval=1.0))
        code = app.run() or 0
    print(f"Demo stopped: {demo.requests} requests served.", file=sys.stderr)
    return code
