"""starsessions (Starlette / FastAPI) with its ``RedisStore``: ``starsessions.<id>`` JSON.

The session dict carries ``__metadata__`` (``lifetime``, ``created``,
``last_access``, unix seconds as floats): the framework's bookkeeping. The key's
TTL is the remaining lifetime (``gc_ttl``, 30 days, for session-only cookies).
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
    text_of,
    walk,
)
from inspector.core.values import Limits

__all__ = ["ADAPTERS", "Starsessions"]


class Starsessions(Adapter):
    """starsessions ``RedisStore`` with the JSON serializer."""

    name = "starsessions"
    title = "starsessions (Starlette/FastAPI) RedisStore"
    prefixes = ("starsessions.",)
    id_pattern = re.compile(r"[0-9a-f]{32}|[A-Za-z0-9_-]{16,128}")
    ttl_rule = TtlRule(
        TtlKind.KEY, "the remaining lifetime, set on each save (gc_ttl for session-only cookies)"
    )
    bookkeeping_names = frozenset({"__metadata__"})
    cookie_name = "session"

    def sniff(self, first: bytes) -> bool | None:
        return first.startswith(b"{")

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        entries = entries_of(value)
        meta = entries.get("__metadata__")
        meta_value = meta.value if meta else None
        principal = None
        for name in ("user_id", "username", "user"):
            found = text_of(entries[name].value) if name in entries else None
            if found:
                principal = (found, name)
                break
        return self.session(
            record,
            match,
            entries,
            value=value,
            created_ms=epoch_ms(walk(meta_value, ["created"])),
            last_access_ms=epoch_ms(walk(meta_value, ["last_access"])),
            principal=principal,
        )


ADAPTERS = (Starsessions(),)
