"""aiohttp-session's ``RedisStorage``: ``AIOHTTP_SESSION_<uuid hex>`` JSON strings.

The value is ``{"created": <unix seconds>, "session": {...}}`` (an emptied
session is ``{}``); ``created`` is the framework's. The key is
``cookie_name + "_" + key``, the cookie holds the key. ``max_age=None`` (the
default) writes the key without a TTL.
"""

from __future__ import annotations

import re

from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    decode,
    entries_of,
    epoch_ms,
    part,
    text_of,
)
from inspector.core.values import Limits

__all__ = ["ADAPTERS", "AiohttpSession"]


class AiohttpSession(Adapter):
    """aiohttp-session ``RedisStorage``."""

    name = "aiohttp-session"
    title = "aiohttp-session RedisStorage"
    prefixes = ("AIOHTTP_SESSION_",)
    id_pattern = re.compile(r"[0-9a-f]{32}|[A-Za-z0-9_-]{16,128}")
    ttl_rule = TtlRule(TtlKind.NONE, "max_age, set on each save; none by default (max_age=None)")
    bookkeeping_names = frozenset({"created"})
    cookie_name = "AIOHTTP_SESSION"

    def sniff(self, first: bytes) -> bool | None:
        return first.startswith((b'{"created":', b"{}"))

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        outer = entries_of(value)
        entries = {}
        created = outer.get("created")
        if created is not None:
            entries["created"] = created
        inner = outer.get("session")
        if inner is not None:
            entries.update(
                entries_of(inner)
                if isinstance(inner.value, dict)
                else {"session": part(value, inner.value)}
            )
        principal = None
        for name in ("user_id", "username", "user", "AIOHTTP_SECURITY"):
            found = text_of(entries[name].value) if name in entries else None
            if found:
                principal = (found, name)
                break
        return self.session(
            record,
            match,
            entries,
            value=value,
            created_ms=epoch_ms(created.value) if created else None,
            principal=principal,
        )


ADAPTERS = (AiohttpSession(),)
