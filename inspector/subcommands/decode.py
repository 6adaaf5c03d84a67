"""`session-inspector decode`: one raw value decoded offline, from a file or stdin.

Human output escapes every control character (a hostile value cannot restyle
the terminal); ``--json`` prints one object.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.exits import PROG, ExitCode
from inspector.subcommands.command import Subparsers, add_command, no_server
from inspector.subcommands.options import add_json

__all__ = ["read_value", "register", "run_decode"]


def register(subparsers: Subparsers) -> None:
    """Add the ``decode`` subcommand (it needs no server)."""
    parser = add_command(
        subparsers,
        "decode",
        run=run,
        resolve=no_server,
        help="decode one raw value offline (file or stdin)",
    )
    parser.add_argument("file", metavar="FILE", nargs="?", help="raw bytes; - or nothing for stdin")
    add_json(parser, help="one JSON object")
    form = parser.add_mutually_exclusive_group()
    form.add_argument(
        "--hex", dest="encoding", action="store_const", const="hex", help="the input is hex text"
    )
    form.add_argument(
        "--redis-cli",
        dest="encoding",
        action="store_const",
        const="redis-cli",
        help='the input is redis-cli quoted text, e.g. "\\xac\\xed\\x00\\x05t..."',
    )


def run(ns: argparse.Namespace, settings: None) -> int:
    """Run the parsed ``decode`` subcommand."""
    return run_decode(ns.file, json=ns.json, encoding=ns.encoding or "raw")


def read_value(source: str | None, *, encoding: str) -> bytes:
    """Read a raw value from a file or stdin: as bytes, hex, or redis-cli's quoted text.

    Raises:
        ValueError: The hex or quoted text is malformed.
        OSError: The file cannot be read.
    """
    data = sys.stdin.buffer.read() if source in (None, "-") else Path(source).read_bytes()
    if encoding == "hex":
        return bytes.fromhex("".join(data.decode("ascii").split()))
    if encoding == "redis-cli":
        from inspector.redis_io.redis_cli import split_args

        text = data.strip()
        args = split_args(text)
        if args is None or len(args) != 1:
            raise ValueError('expected one redis-cli quoted value, like "\\xac\\xed\\x00\\x05..."')
        return args[0]
    return data


def run_decode(source: str | None, *, json: bool, encoding: str) -> int:
    """Decode one value offline (a dump, a paste) and print it."""
    import orjson

    from inspector.core.decoders import decode_value
    from inspector.core.render import render_decoded

    try:
        data = read_value(source, encoding=encoding)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"{PROG}: cannot read {source or 'stdin'}: {exc}\n")
        return int(ExitCode.USAGE)
    decoded = decode_value(data)
    out = sys.stdout.buffer
    if json:
        out.write(
            orjson.dumps(decoded.to_json(), option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2)
        )
    else:
        out.write("\n".join(render_decoded(decoded)).encode("utf-8", "replace") + b"\n")
    return int(ExitCode.OK)
