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


_HOSTS = {
    "express": "node-web-1",
    "fastify": "node-web-1",
    "php": "php-web-1",
    "symfony": "php-web-1",
}
_PRINCIPALS = {"express": "alice", "fastify": "alice"}


def host_of(framework: str) -> str:
    """The host a framework's fixtures were written with (the generators' choice)."""
    return _HOSTS.get(framework, "ruby-web-1")


def principal_of(framework: str) -> str:
    """The principal (user) a framework's fixtures were written with."""
    return _PRINCIPALS.get(framework, "42")


def shown_as(expected: JsonValue, actual: JsonValue) -> bool:
    """Whether ``actual`` (the adapter's typed JSON) shows ``expected`` (the framework's view).

    Equal, except that a typed value on the expected side (``{"@class": ...}``)
    may list fewer keys than the decoder writes (an oracle that knows a date's
    epoch ms but not the decoder's text form of it; ``{"@epochMillis": ms}`` alone
    matches any instant at that millisecond).
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        if "@class" in expected or "@epochMillis" in expected:
            return all(k in actual and shown_as(v, actual[k]) for k, v in expected.items())
        return expected.keys() == actual.keys() and all(
            shown_as(v, actual[k]) for k, v in expected.items()
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(shown_as, expected, actual))
    if isinstance(expected, float) and isinstance(actual, float | int):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def py_typed(value: Any) -> JsonValue:
    """A Python session value in the inspector's typed JSON, for comparing read-backs."""
    import datetime as dt
    import decimal
    import uuid

    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: py_typed(v) for k, v in value.items()}
        return {
            "@class": "dict",
            "@entries": [[py_typed(k), py_typed(v)] for k, v in value.items()],
        }
    if isinstance(value, list):
        return [py_typed(v) for v in value]
    if isinstance(value, tuple):
        return {"@class": "tuple", "@items": [py_typed(v) for v in value]}
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return {"@class": "datetime.datetime", "@value": value.isoformat()}
        epoch = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return {"@epochMillis": epoch // dt.timedelta(milliseconds=1)}
    if isinstance(value, dt.date):
        return {"@class": "datetime.date", "@value": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"@class": "decimal.Decimal", "@value": str(value)}
    if isinstance(value, uuid.UUID):
        return {"@class": "uuid.UUID", "@value": str(value)}
    if isinstance(value, bytes):
        return {"@class": "bytes", "@hex": value.hex()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return {
        "@class": f"{type(value).__module__}.{type(value).__qualname__}",
        **{k: py_typed(v) for k, v in vars(value).items()},
    }
