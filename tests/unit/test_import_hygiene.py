"""What each entry path loads at run time, checked in fresh interpreters so earlier
imports cannot hide a leak. (Which module may import which is import-linter's
job in `make lint`; this is what the contracts cannot see: what actually ends
up loaded, through lazy imports too.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("redis", "textual", "aiohttp", "fakeredis", "javaobj", "orjson", "asyncio")
"""What `--help` and a bad flag must not pay for (each costs tens of ms or more)."""
IO_AND_UI = ("redis", "textual", "aiohttp", "fakeredis", "asyncssh")


def loaded_after(code: str, *modules: str) -> list[str]:
    """Which of ``modules`` are in ``sys.modules`` after running ``code`` in a new interpreter."""
    probe = (
        f"{code}\nimport sys\n"
        f"sys.__stdout__.write('\\nloaded: ' + ' '.join(m for m in {modules!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    # The command's own output (help text) comes first; the probe's line is last.
    return out.stdout.rpartition("\nloaded: ")[2].split()


def test_every_core_module_imports_no_io_or_ui_library() -> None:
    # Every module, not the (empty) package: inspector.core's __init__ imports nothing.
    code = (
        "import importlib, pkgutil, inspector.core\n"
        "names = [m.name for m in pkgutil.walk_packages(inspector.core.__path__, 'inspector.core.')]\n"
        "assert len(names) > 5, names\n"
        "for name in names: importlib.import_module(name)"
    )
    assert loaded_after(code, *IO_AND_UI) == []


def run_main(*argv: str) -> str:
    return f"from inspector.cli import main\ntry:\n    main({list(argv)!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["-p", "notaport"],  # a bad flag
        ["--no-such-flag"],
        ["nosuchcommand"],
        ["-u", "http://host", "ls"],  # a bad URL: a settings error, before any connection
        ["--user", "bob", "ls"],  # a user without a password
        ["cli", "--count", "0", "--scan"],  # redis-cli's options are read before connecting
        ["cli", "--pipe"],  # an unsupported redis-cli option
        ["cli", "-r", "x", "PING"],
        *(
            [command, "--help"]
            for command in (
                "tui",
                "cli",
                "ls",
                "show",
                "stats",
                "watch",
                "sample-app",
                "decode",
                "demo",
                "profiles",
            )
        ),
    ],
    ids=" ".join,
)
def test_help_and_usage_errors_load_nothing_heavy(argv: list[str]) -> None:
    assert loaded_after(run_main(*argv), *HEAVY) == []


def test_the_command_line_modules_are_light_to_import() -> None:
    # Every subcommand module is imported to build the parser: heavy imports
    # belong in their run functions.
    code = (
        "import importlib, pkgutil, inspector.subcommands\n"
        "for m in pkgutil.iter_modules(inspector.subcommands.__path__):\n"
        "    if m.name != 'repl':\n"  # runs only inside `cli` on a terminal
        "        importlib.import_module('inspector.subcommands.' + m.name)\n"
        "import inspector.cli"
    )
    assert loaded_after(code, *HEAVY) == []


@pytest.mark.parametrize(
    "module",
    [
        "inspector.redis_io.settings",
        "inspector.redis_io.redis_cli",
        "inspector.redis_io.info",
        "inspector.redis_io.cli_reports",
        "inspector.redis_io.command_help",
    ],
)
def test_pure_redis_io_modules_import_no_redis(module: str) -> None:
    assert loaded_after(f"import {module}", *IO_AND_UI) == []


def test_decode_loads_no_redis_client() -> None:
    # Offline: decoding a value needs the decoders, not a Redis client.
    code = (
        "import io, sys\n"
        "sys.stdin = io.TextIOWrapper(io.BytesIO(b'\\xac\\xed\\x00\\x05t\\x00\\x02hi'))\n"
        "sys.stdout = io.TextIOWrapper(io.BytesIO())\n" + run_main("decode")
    )
    assert loaded_after(code, "redis", "textual", "aiohttp") == []


def test_asyncssh_only_with_ssh() -> None:
    # The SSH library loads when a connection goes through a bastion, not before.
    statement = "import inspector.cli, inspector.redis_io.client, inspector.redis_io.runner"
    assert loaded_after(statement, "asyncssh") == []


def test_cli_commands_name_the_modules_that_register_them() -> None:
    # cli.COMMANDS is what lets `ls` import only its own module: it must not go stale.
    import argparse
    import importlib

    from inspector import cli
    from inspector.subcommands.options import Parser

    for module in cli.SUBCOMMANDS:
        parser = Parser()
        subparsers = parser.add_subparsers()
        importlib.import_module(f"inspector.subcommands.{module}").register(subparsers)
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert {cli.COMMANDS[name] for name in action.choices} == {module}
    assert set(cli.COMMANDS.values()) == set(cli.SUBCOMMANDS)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ls", "--json"], ["sessions"]),
        (["-h", "127.0.0.1", "-p", "1", "-a", "cli", "--tls", "ls"], ["sessions"]),
        (["--user=bob", "cli", "PING"], ["redis_command", "cli_options"]),
        (["-p1", "ls"], None),  # not an exact spelling: every parser, as before
        (["--help"], None),
        ([], None),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_only_the_named_subcommand_module_is_imported(
    argv: list[str], expected: list[str] | None
) -> None:
    modules = [f"inspector.subcommands.{m}" for m in ("sessions", "redis_command", "watch",
                                                       "cli_options", "demo", "decode", "tui",
                                                       "sample_app")]  # fmt: skip
    code = f"from inspector import cli\ncli._parser({argv!r})"
    loaded = loaded_after(code, *modules)
    if expected is None:
        assert len(loaded) == len(modules)
    else:
        assert loaded == [f"inspector.subcommands.{m}" for m in expected]


def test_argv_parses_the_same_with_one_subcommand_registered() -> None:
    from inspector import cli

    for argv in (["-p", "7000", "ls", "--json", "--limit", "3"], ["-n", "2", "stats", "--json"]):
        whole = vars(cli._parser([]).parse_args(argv))
        alone = vars(cli._parser(argv).parse_args(argv))
        assert whole.keys() == alone.keys()
        assert {k: v for k, v in whole.items() if k != "command"} == {
            k: v for k, v in alone.items() if k != "command"
        }
        assert whole["command"].name == alone["command"].name
