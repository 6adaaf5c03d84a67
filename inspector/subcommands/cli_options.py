"""The options of `session-inspector cli`: redis-cli's, read the way redis-cli reads them.

Everything after ``cli`` is read by :func:`parse_cli_args`, not argparse:
redis-cli's options stop at the first word that is not an option (the command
name), take negative numbers as values (``-r -1`` repeats forever) and include
``-2``/``-3``, which argparse would mistake for numbers. Connection options
may come before ``cli`` (the tool's convention) or after it (what a redis-cli
user types): ``session-inspector -p 7000 cli --scan`` and ``session-inspector
cli -p 7000 --scan`` are the same.

Only light modules are imported here: ``--help`` and bad flags must answer
without loading redis-py.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inspector.exits import PROG
from inspector.redis_io.settings import SettingsError
from inspector.subcommands.options import db_number, port_number, seconds

__all__ = ["CLI_HELP", "KEY_MODES", "UNSUPPORTED", "CliOptions", "parse_cli_args"]

KEY_MODES = ("scan", "bigkeys", "memkeys", "keystats", "hotkeys")
"""The modes that walk the keyspace (every primary in a cluster)."""

UNSUPPORTED: dict[str, str] = {
    "--pipe": "mass insertion of raw protocol is a loading tool; use redis-cli --pipe",
    "--pipe-timeout": "it belongs to --pipe, which is not supported",
    "--rdb": "it dumps the dataset over the replication protocol (SYNC), which ElastiCache "
    "refuses; use a snapshot",
    "--functions-rdb": "it uses the replication protocol (SYNC), which ElastiCache refuses",
    "--replica": "it follows the replication stream (SYNC), which ElastiCache refuses; "
    "MONITOR shows live commands",
    "--slave": "it follows the replication stream (SYNC), which ElastiCache refuses; "
    "MONITOR shows live commands",
    "--lru-test": "it writes a synthetic workload into the server",
    "--intrinsic-latency": "it measures the client machine's scheduler, not Redis; run "
    "redis-cli --intrinsic-latency on the host itself",
    "--cluster": "cluster management (create, reshard, fix) changes the topology; use "
    "redis-cli --cluster",
    "--ldb": "the Lua debugger (SCRIPT DEBUG) is not implemented; --eval runs scripts",
    "--ldb-sync-mode": "the Lua debugger (SCRIPT DEBUG) is not implemented; --eval runs scripts",
    "--tls-ciphers": "the cipher list is Python's ssl default",
    "--tls-ciphersuites": "the cipher list is Python's ssl default",
}
"""redis-cli options `cli` refuses, and why (the reason is part of the error)."""


@dataclass
class CliOptions:
    """What redis-cli's options asked for."""

    connection: dict[str, Any] = field(default_factory=dict)
    """Connection options given after ``cli``, by the global option's ``dest``."""
    output: str | None = None
    """``standard``, ``raw``, ``csv``, ``json``, ``quoted-json``; ``None``: by the terminal."""
    bulk_delimiter: bytes = b"\n"
    reply_delimiter: bytes = b"\n"
    show_pushes: bool | None = None
    resp2: bool = False
    resp3: int = 0
    """1 with ``-3``; 2 when ``--json``/``--quoted-json`` implied it (a refusal is tolerated)."""
    error_exit: bool = False
    repeat: int = 1
    interval: float = 0.0
    stdin_last: bool = False
    stdin_tag: str | None = None
    quoted_input: bool = False
    modes: list[str] = field(default_factory=list)
    pattern: bytes | None = None
    count: int | None = None
    scan_type: str | None = None
    samples: int | None = None
    cursor: int = 0
    top: int = 10
    mono: bool = False
    eval_file: str | None = None
    help: bool = False
    version: bool = False
    args: list[str] = field(default_factory=list)
    """The command and its arguments (or, with ``--eval``, the keys and arguments)."""


class _Usage(Exception):
    pass


def _int(text: str, *, minimum: int | None = None, what: str = "a whole number") -> int:
    try:
        value = int(text)
    except ValueError:
        raise _Usage(f"{text!r} is not {what}") from None
    if minimum is not None and value < minimum:
        raise _Usage(f"{text!r} is not {what}")
    return value


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise _Usage(f"{text!r} is not a number of seconds")
    return value


def _checked(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    def run(text: str) -> Any:
        try:
            return convert(text)
        except argparse.ArgumentTypeError as exc:
            raise _Usage(str(exc)) from None

    return run


def _unquote(text: str) -> bytes:
    r"""``unquoteCString``: one redis-cli-quoted word (``"a\x00b"``) to its bytes."""
    import os

    from inspector.redis_io.redis_cli import split_args

    words = split_args(os.fsencode(text))
    if words is None or len(words) != 1:
        raise _Usage("Invalid quoted string specified for --quoted-pattern")
    return words[0]


# Connection options after `cli`: name -> (dest, converter or None for a switch).
_CONNECTION: dict[str, tuple[str, Callable[[str], Any] | None]] = {
    "-h": ("host", str),
    "-p": ("port", _checked(port_number)),
    "-s": ("socket", str),
    "-a": ("password", str),
    "--pass": ("password", str),
    "--user": ("username", str),
    "--askpass": ("askpass", None),
    "-u": ("url", str),
    "-n": ("db", _checked(db_number)),
    "-c": ("cluster", None),
    "-t": ("connect_timeout", _checked(seconds)),
    "--timeout": ("connect_timeout", _checked(seconds)),
    "--no-auth-warning": ("no_auth_warning", None),
    "--tls": ("tls", None),
    "--sni": ("sni", str),
    "--cacert": ("cacert", str),
    "--cacertdir": ("cacertdir", str),
    "--cert": ("cert", str),
    "--key": ("key", str),
    "--insecure": ("insecure", None),
    "--profile": ("profile", str),
}

_SWITCHES: dict[str, Callable[[CliOptions], None]] = {
    "--raw": lambda o: setattr(o, "output", "raw"),
    "--no-raw": lambda o: setattr(o, "output", "standard"),
    "--csv": lambda o: setattr(o, "output", "csv"),
    "--json": lambda o: _json(o, "json"),
    "--quoted-json": lambda o: _json(o, "quoted-json"),
    "--quoted-input": lambda o: setattr(o, "quoted_input", True),
    "-2": lambda o: setattr(o, "resp2", True),
    "-3": lambda o: setattr(o, "resp3", 1),
    "-e": lambda o: setattr(o, "error_exit", True),
    "-x": lambda o: setattr(o, "stdin_last", True),
    "--verbose": lambda o: None,  # only the cluster manager is verbose
    "--mono": lambda o: setattr(o, "mono", True),
    "--help": lambda o: setattr(o, "help", True),
    "-v": lambda o: setattr(o, "version", True),
    "--version": lambda o: setattr(o, "version", True),
    "--scan": lambda o: o.modes.append("scan"),
    "--bigkeys": lambda o: o.modes.append("bigkeys"),
    "--memkeys": lambda o: _memkeys(o, None),
    "--keystats": lambda o: o.modes.append("keystats"),
    "--hotkeys": lambda o: o.modes.append("hotkeys"),
    "--stat": lambda o: o.modes.append("stat"),
    "--latency": lambda o: o.modes.append("latency"),
    "--latency-history": lambda o: o.modes.append("latency-history"),
    "--latency-dist": lambda o: o.modes.append("latency-dist"),
}

_VALUES: dict[str, Callable[[CliOptions, str], None]] = {
    "-r": lambda o, v: setattr(o, "repeat", _int(v)),
    "-i": lambda o, v: setattr(o, "interval", _interval(v)),
    "-X": lambda o, v: setattr(o, "stdin_tag", v),
    "-d": lambda o, v: setattr(o, "bulk_delimiter", _raw(v)),
    "-D": lambda o, v: setattr(o, "reply_delimiter", _raw(v)),
    "--show-pushes": lambda o, v: setattr(o, "show_pushes", _yes_no(v)),
    "--pattern": lambda o, v: setattr(o, "pattern", _raw(v)),
    "--quoted-pattern": lambda o, v: setattr(o, "pattern", _unquote(v)),
    "--count": lambda o, v: setattr(o, "count", _int(v, minimum=1, what="a positive count")),
    "--type": lambda o, v: setattr(o, "scan_type", v),
    "--memkeys-samples": lambda o, v: _memkeys(o, _int(v, minimum=0, what="a sample count")),
    "--keystats-samples": lambda o, v: _keystats(o, _int(v, minimum=0, what="a sample count")),
    "--cursor": lambda o, v: setattr(o, "cursor", _int(v, minimum=0, what="a SCAN cursor")),
    "--top": lambda o, v: setattr(o, "top", _int(v, minimum=1, what="a positive count")),
    "--eval": lambda o, v: setattr(o, "eval_file", v),
}


def _raw(text: str) -> bytes:
    import os

    return os.fsencode(text)


def _json(options: CliOptions, mode: str) -> None:
    options.output = mode
    if options.resp3 == 0:
        options.resp3 = 2  # RESP3 by default, unless -2


def _memkeys(options: CliOptions, samples: int | None) -> None:
    options.modes.append("memkeys")
    options.samples = samples


def _keystats(options: CliOptions, samples: int) -> None:
    options.modes.append("keystats")
    options.samples = samples


def _yes_no(text: str) -> bool:
    if text[:1].lower() == "y":
        return True
    if text[:1].lower() == "n":
        return False
    raise _Usage(f"Unknown --show-pushes value '{text}' (valid: '[y]es', '[n]o')")


def parse_cli_args(argv: Sequence[str]) -> CliOptions:
    """Read redis-cli's options up to the command, as redis-cli's ``parseOptions`` does.

    Args:
        argv: Everything after ``cli`` on the command line.

    Returns:
        The options; ``args`` holds the command and its arguments.

    Raises:
        SettingsError: An unknown option, a missing or bad value, or an option
            `cli` does not support (the message says why); exit code 2.
    """
    options = CliOptions()
    i = 0
    try:
        while i < len(argv):
            word = argv[i]
            if word == "--":  # everything after it is the command, options or not
                i += 1
                break
            if not word.startswith("-") or word == "-":
                break
            if word in _SWITCHES:
                _SWITCHES[word](options)
            elif word in _VALUES or (word in _CONNECTION and _CONNECTION[word][1] is not None):
                if i + 1 >= len(argv):
                    raise _Usage(f"option {word} needs a value")
                value = argv[i + 1]
                i += 1
                if word in _VALUES:
                    _VALUES[word](options, value)
                else:
                    dest, convert = _CONNECTION[word]
                    assert convert is not None
                    options.connection[dest] = convert(value)
            elif word in _CONNECTION:
                options.connection[_CONNECTION[word][0]] = True
            elif word in UNSUPPORTED or word.startswith("--cluster-"):
                reason = UNSUPPORTED.get(word, UNSUPPORTED["--cluster"])
                raise _Usage(f"{word} is not supported by `{PROG} cli`: {reason}")
            else:
                raise _Usage(f"unrecognized option {word!r}")
            i += 1
        if options.resp2 and options.resp3 == 1:
            raise _Usage("options -2 and -3 are mutually exclusive")
        if options.stdin_last and options.stdin_tag is not None:
            raise _Usage("options -x and -X are mutually exclusive")
        if options.connection.get("socket") and options.connection.get("cluster"):
            raise _Usage("options -c and -s are mutually exclusive")
    except _Usage as exc:
        raise SettingsError(f"cli: {exc} (see {PROG} cli --help)") from None
    options.args = list(argv[i:])
    return options


CLI_HELP = f"""\
usage: {PROG} [connection options] cli [options] [COMMAND [ARG ...]]

redis-cli replacement: replies print byte for byte as redis-cli 7 prints them.
Without COMMAND, commands are read from stdin (one per line) or, on a
terminal, typed at a REPL (history, Tab completion, help COMMAND).
Connection options (-h -p -s -a --user --askpass -u -n -c -t --tls --sni
--cacert --cacertdir --cert --key --insecure --no-auth-warning --profile) may
also come here, after `cli`, as redis-cli users type them.

output:
  --raw                raw replies (default when stdout is not a terminal)
  --no-raw             formatted replies even when stdout is not a terminal
  --csv                CSV output
  --json               JSON output (RESP3 by default; -2 keeps RESP2)
  --quoted-json        like --json, ASCII only (redis-cli's quoting)
  -d DELIMITER         between the elements of a raw reply (default \\n)
  -D DELIMITER         after each raw reply (default \\n)
  --show-pushes y|n    print RESP3 pushes (default: on a terminal)
  -2 | -3              RESP2 (default) or RESP3 (HELLO 3 on connect)
  -e                   exit 1 on an error reply (one-shot commands)
  --quoted-input       arguments are redis-cli-quoted strings ("a\\x00b")

repetition and input:
  -r N                 run the command N times (-1: forever)
  -i SECONDS           wait between repetitions; per SCAN in --scan and per
                       line in --stat; per 100 SCANs in the sampling modes
  -x                   the last argument is read from stdin
  -X TAG               the argument TAG is replaced by stdin
  --eval FILE [KEY ...] [, ARG ...]
                       run the Lua script in FILE (EVAL) with these keys and args

key modes (every primary in cluster mode):
  --scan               list keys with SCAN (COUNT 1000 per round trip)
  --pattern PAT        SCAN MATCH pattern for the key modes (default *)
  --quoted-pattern PAT the same, redis-cli-quoted for binary patterns
  --count N            SCAN COUNT (the sampling modes default to the server's)
  --type TYPE          only keys of this type (--scan; SCAN ... TYPE)
  --bigkeys            biggest keys by length/cardinality, per type
  --memkeys            biggest keys by MEMORY USAGE, per type
  --memkeys-samples N  MEMORY USAGE ... SAMPLES N
  --keystats           --memkeys and --bigkeys at once, with distributions (redis-cli 7.4)
  --keystats-samples N like --keystats, with MEMORY USAGE ... SAMPLES N
  --cursor N           --keystats starts at this SCAN cursor
  --top N              --keystats lists the N biggest keys (default 10)
  --hotkeys            hottest keys by OBJECT FREQ (needs an LFU maxmemory-policy)

server modes (the node connected to):
  --stat               rolling stats: keys, memory, clients, requests, connections
  --latency            PING latency (one line after -i seconds when not a terminal)
  --latency-history    like --latency, a new line every -i seconds (default 15)
  --latency-dist       latency spectrum in 256-colour text (--mono: greys)

  --help               show this help and exit
  -v, --version        show the version and exit

not supported (each says why when given): --pipe, --rdb, --functions-rdb,
--replica, --lru-test, --intrinsic-latency, --cluster, --ldb, --tls-ciphers.

examples:
  {PROG} -h HOST cli --scan --pattern 'spring:session:*'
  {PROG} cli -r -1 -i 1 INFO memory
  cat value.bin | {PROG} cli -x SET key
  {PROG} cli --eval script.lua key1 key2 , arg1
"""
"""What ``cli --help`` prints."""
