"""Parsing of INFO replies (pure)."""

from __future__ import annotations

__all__ = ["parse_info"]


def parse_info(payload: bytes | str) -> dict[str, str]:
    """Parse an ``INFO`` reply into ``{field: value}`` (section headers dropped).

    Args:
        payload: The bulk reply of ``INFO`` or ``INFO <section>``.

    Returns:
        The fields, e.g. ``{"redis_version": "7.0.15", "cluster_enabled": "0"}``.
    """
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            name, _, value = line.partition(":")
            fields[name] = value
    return fields
