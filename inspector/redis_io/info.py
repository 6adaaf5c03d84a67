"""Parsing of INFO replies (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspector.redis_io.redis_cli import ErrorReply

__all__ = ["cluster_probe", "parse_info"]


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


def cluster_probe(reply: ErrorReply | bytes | str | Mapping[str, Any]) -> bool | None:
    """What the answer to ``INFO cluster``, the probe sent on connecting, says about cluster mode.

    The one rule for :func:`~inspector.redis_io.client.open_client` and the
    `cli` command's runner, so both always agree on the mode.

    Args:
        reply: The INFO payload, raw or as redis-py parses it (a dict), or the
            error reply INFO got.

    Returns:
        Whether ``cluster_enabled`` is 1. ``None`` for any error reply: INFO
        denied to an ACL user (NOPERM), renamed away (as ElastiCache does with
        CONFIG) or refused by a proxy. The caller then sends PING to prove the
        link, and only ``-c`` can ask for cluster mode. Authentication errors
        are not INFO's to judge: callers raise them before asking.
    """
    if isinstance(reply, ErrorReply):
        return None
    fields: Mapping[str, Any] = reply if isinstance(reply, Mapping) else parse_info(reply)
    # redis-py's parser turns the value into the int 1; the raw text is "1".
    return str(fields.get("cluster_enabled", "0")) == "1"
