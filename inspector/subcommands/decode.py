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

__all__ = ["parse_hex", "read_value", "register", "run_decode", "without_cli_newline"]

_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


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
    parser.add_argument(
        "--keep-newline",
        action="store_true",
        help="keep a trailing newline that is otherwise taken as redis-cli --raw's "
        "(when the value without it decodes cleanly)",
    )


def run(ns: argparse.Namespace, settings: None) -> int:
    """Run the parsed ``decode`` subcommand."""
    return run_decode(
        ns.file, json=ns.json, encoding=ns.encoding or "raw", keep_newline=ns.keep_newline
    )


def parse_hex(text: str) -> bytes:
    """Hex text as bytes: whitespace anywhere (``xxd -p``), an optional ``0x`` prefix.

    Raises:
        ValueError: One line saying what is wrong and where (never Python's own text).
    """
    digits = "".join(text.split())
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    for position, char in enumerate(digits):
        if ord(char) not in _HEX_DIGITS:
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            raise ValueError(
                f"--hex: {shown} (digit {position + 1}) is not a hex digit; "
                "expected text like ACED0005 (spaces and newlines are ignored)"
            )
    if len(digits) % 2:
        raise ValueError(
            f"--hex: an odd number of hex digits ({len(digits)}): each byte is two digits"
        )
    return bytes.fromhex(digits)


def without_cli_newline(data: bytes) -> bytes | None:
    """The value without the newline ``redis-cli --raw`` prints after it, when that is clear.

    Clear means: the bytes end with one newline and, without it, decode
    cleanly as a structured format (JDK serialization, JSON, pickle, PHP...),
    which a newline would have broken or does not belong to. Plain text keeps
    its newline: there it may be the value's own.

    Returns:
        The value without the newline, or ``None`` to keep the bytes as they are.
    """
    from inspector.core.decoders import decode_value
    from inspector.core.values import ValueFormat

    if not data.endswith(b"\n") or data.endswith(b"\r\n"):
        return None
    candidate = data[:-1]
    decoded = decode_value(candidate)
    plain = (ValueFormat.TEXT, ValueFormat.EMPTY, ValueFormat.BINARY, ValueFormat.UNDECODABLE)
    if decoded.error is not None or decoded.format in plain:
        return None
    return candidate


def read_value(source: str | None, *, encoding: str) -> bytes:
    """Read a raw value from a file or stdin: as bytes, hex, or redis-cli's quoted text.

    Raises:
        ValueError: The hex or quoted text is malformed.
        OSError: The file cannot be read.
    """
    data = sys.stdin.buffer.read() if source in (None, "-") else Path(source).read_bytes()
    if encoding == "hex":
        return parse_hex(data.decode("utf-8", "replace"))
    if encoding == "redis-cli":
        from inspector.redis_io.redis_cli import split_args

        text = data.strip()
        args = split_args(text)
        if args is None or len(args) != 1:
            raise ValueError('expected one redis-cli quoted value, like "\\xac\\xed\\x00\\x05..."')
        return args[0]
    return data


def run_decode(source: str | None, *, json: bool, encoding: str, keep_newline: bool = False) -> int:
    """Decode one value offline (a dump, a paste) and print it.

    A trailing newline that is clearly ``redis-cli --raw``'s (see
    :func:`without_cli_newline`) is not counted as a byte of the value, and a
    line on stderr says so, unless ``keep_newline``.
    """
    import orjson

    from inspector.core.decoders import decode_value
    from inspector.core.render import render_decoded

    try:
        data = read_value(source, encoding=encoding)
    except ValueError as exc:
        sys.stderr.write(f"{PROG}: decode: {exc}\n")
        return int(ExitCode.USAGE)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        sys.stderr.write(f"{PROG}: decode: cannot read {source or 'stdin'}: {reason}\n")
        return int(ExitCode.USAGE)
    if encoding == "raw" and not keep_newline:
        stripped = without_cli_newline(data)
        if stripped is not None:
            data = stripped
            sys.stderr.write(
                f"{PROG}: decode: the trailing newline is not counted (redis-cli --raw adds "
                "one); --keep-newline counts it\n"
            )
    decoded = decode_value(data)
    out = sys.stdout.buffer
    if json:
        out.write(
            orjson.dumps(decoded.to_json(), option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2)
        )
    else:
        out.write("\n".join(render_decoded(decoded)).encode("utf-8", "replace") + b"\n")
    return int(ExitCode.OK)
