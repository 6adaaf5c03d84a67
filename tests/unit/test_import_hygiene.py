"""Layering rules checked in fresh interpreters, so earlier imports cannot hide a leak."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str, *modules: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_core_imports_no_io_or_ui_library() -> None:
    assert loaded_after("import inspector.core", "textual", "redis", "aiohttp") == []


@pytest.mark.parametrize(
    "module",
    ["inspector.redis_io.settings", "inspector.redis_io.redis_cli", "inspector.redis_io.info"],
)
def test_pure_redis_io_modules_import_no_redis(module: str) -> None:
    assert loaded_after(f"import {module}", "textual", "redis", "aiohttp") == []


def test_redis_io_never_imports_textual() -> None:
    statement = (
        "import inspector.redis_io.client, inspector.redis_io.runner, "
        "inspector.redis_io.errors, inspector.redis_io.server"
    )
    assert loaded_after(statement, "textual", "aiohttp") == []


def test_cli_entry_point_is_light() -> None:
    # `--help` and bad flags must answer without loading redis-py or Textual.
    assert loaded_after("import inspector.cli", "textual", "redis", "aiohttp") == []
