"""`session-inspector sample-app`: the sample web app, sessions stored exactly as Spring does.

The command line calls into :mod:`inspector.sample_app`, never the reverse:
the app package knows nothing of arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import os

from inspector.core.spring import DEFAULT_NAMESPACE
from inspector.redis_io.settings import ConnectionSettings
from inspector.subcommands.command import Subparsers, add_command
from inspector.subcommands.options import port_number

__all__ = ["BIND_ENV", "register", "run"]

BIND_ENV = "SAMPLE_APP_BIND"
"""The default of ``--bind`` when set: the image sets it to ``0.0.0.0``."""


def register(subparsers: Subparsers) -> None:
    """Add the ``sample-app`` subcommand."""
    parser = add_command(
        subparsers,
        "sample-app",
        run=run,
        help="the sample web app: sessions stored exactly as Spring Session does",
    )
    parser.add_argument(
        "--port",
        dest="http_port",
        metavar="N",
        type=port_number,
        default=8080,
        help="HTTP port (default 8080)",
    )
    parser.add_argument(
        "--bind",
        metavar="ADDR",
        # Loopback on a laptop; the image sets SAMPLE_APP_BIND=0.0.0.0, where
        # the container's own network is the boundary and the ALB must reach it.
        default=os.environ.get(BIND_ENV, "127.0.0.1"),
        help=f"address to listen on (default 127.0.0.1, or ${BIND_ENV}: 0.0.0.0 in the image)",
    )
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="container name shown and stored as the session's host "
        "(default $HOSTNAME, else the host name)",
    )
    parser.add_argument(
        "--no-host-attribute",
        dest="host_attribute",
        action="store_false",
        help="store no host in the session (like most real apps), so only the Redis "
        "connection says which container served a request",
    )
    names = parser.add_mutually_exclusive_group()
    names.add_argument(
        "--client-name",
        metavar="NAME",
        help="CLIENT SETNAME of the app's Redis connections (default: its --name), as "
        "spring.data.redis.client-name does",
    )
    names.add_argument(
        "--no-client-name",
        dest="client_name",
        action="store_const",
        const="",
        help="no CLIENT SETNAME",
    )
    parser.add_argument(
        "--source-address",
        metavar="ADDR",
        help="the local address the app's Redis connections come from (e.g. 127.0.0.2), "
        "to reproduce awsvpc's address per task on one machine",
    )
    parser.add_argument(
        "--layout",
        choices=("indexed", "spring3"),
        default="indexed",
        help="Spring Session 2.x indexed repository (default) or 3.x default",
    )
    # Not add_namespace: this is where the app writes, not a filter.
    parser.add_argument(
        "--namespace",
        metavar="NS",
        default=DEFAULT_NAMESPACE,
        help=f"key namespace (default {DEFAULT_NAMESPACE})",
    )


def run(ns: argparse.Namespace, settings: ConnectionSettings) -> int:
    """Serve the app until Ctrl-C."""
    from inspector.sample_app.app import run_sample_app
    from inspector.sample_app.settings import SampleAppSettings, default_name
    from inspector.sample_app.store import Layout

    name = ns.name or default_name()
    client_name = name if ns.client_name is None else ns.client_name
    return run_sample_app(
        SampleAppSettings(
            redis=dataclasses.replace(
                settings, client_name=client_name or None, source_address=ns.source_address
            ),
            name=name,
            host_attribute=ns.host_attribute,
            port=ns.http_port,
            bind=ns.bind,
            namespace=ns.namespace,
            layout=Layout(ns.layout),
        )
    )
