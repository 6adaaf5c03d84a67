"""Shared by the framework tests: the fixtures written by real libraries, and the rule
for comparing what a framework reads back with what the adapters show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inspector.core.values import JsonValue

FRAMEWORKS = Path(__file__).parent / "data" / "frameworks"
"""tests/data/frameworks: bytes real libraries wrote, their generators, manifest.json."""


def manifest_entries() -> list[dict[str, Any]]:
    """The manifest's fixtures (see tests/data/frameworks/README.md)."""
    data = json.loads((FRAMEWORKS / "manifest.json").read_text())
    entries: list[dict[str, Any]] = data["fixtures"]
    return entries


def shown_as(expected: JsonValue, actual: JsonValue) -> bool:
    """Whether ``actual`` (the adapter's typed JSON) shows ``expected`` (the framework's view).

    Equal, except that a typed value on the expected side (``{"@class": ...}``)
    may list fewer keys than the decoder writes (an oracle that knows a date's
    epoch ms but not the decoder's text form of it).
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        if "@class" in expected:
            return all(k in actual and shown_as(v, actual[k]) for k, v in expected.items())
        return expected.keys() == actual.keys() and all(shown_as(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(shown_as, expected, actual))
    if isinstance(expected, float) and isinstance(actual, float | int):
        return expected == actual
    return type(expected) is type(actual) and expected == actual
