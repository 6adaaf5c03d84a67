"""The README's TUI keys and the help screen (``?``) name the same keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.tui.screens.help import HELP_TEXT

README = Path(__file__).resolve().parents[2] / "README.md"

# Keys that landed recently (issue 16 items 4, 5, 7 and the search forms);
# each must be in both texts, so one cannot drift from the other unnoticed.
KEYS = [
    "shift+→",  # expand the subtree (issue 16.4)
    "*",
    "→",
    "←",
    "host:",
    "principal:",
    "id:",
    "attr:",
    "ns:",
    "value:",
    "ctrl+c",  # quits everywhere, the Console's prompt included (issue 16.10)
]
# Single letters are checked as the README writes keys: `s`.
LETTERS = ["s", "S", "f", "r", "c", "y", "e", "d", "a", "q", "?"]


def _tui_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("`session-inspector [connection options]` (or `... tui`)")
    end = text.index("### The Keys tab")
    return text[start:end]


@pytest.mark.parametrize("key", KEYS)
def test_key_is_in_readme_and_help(key: str) -> None:
    assert key in _tui_section()
    if key.endswith(":"):  # the search forms, on their line ("in a value:" is elsewhere)
        assert any(key in line.split() for line in HELP_TEXT.splitlines() if "principal:" in line)
    else:
        assert key in HELP_TEXT


@pytest.mark.parametrize("letter", LETTERS)
def test_letter_key_is_in_readme_and_help(letter: str) -> None:
    assert f"`{letter}`" in _tui_section()
    assert any(
        line.strip().startswith(letter + " ") or f"  {letter}  " in line or f" {letter} " in line
        for line in HELP_TEXT.splitlines()
    )
