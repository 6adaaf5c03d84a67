"""Beaker's Redis namespace manager (``beaker.ext.redisnm``): ``beaker_cache:<id>:session``.

Beaker serialises the session dict (pickle protocol 2, or zlib-compressed JSON
with ``data_serializer="json"``), base64-encodes it, and the namespace manager
pickles that again; the codecs unwrap all three layers. ``_creation_time`` and
``_accessed_time`` (unix seconds) are Beaker's. The TTL is the session
``timeout`` when one is configured.
"""

from __future__ import annotations

import re

from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    decode,
    entries_of,
    epoch_ms,
    split_signed,
    text_of,
)
from inspector.core.values import Limits

__all__ = ["ADAPTERS", "BeakerSession"]


class BeakerSession(Adapter):
    """Beaker sessions in Redis."""

    name = "beaker"
    title = "Beaker (beaker.ext.redisnm)"
    prefixes = ("beaker_cache:",)
    ttl_rule = TtlRule(TtlKind.NONE, "the session timeout when configured, else none")
    bookkeeping_names = frozenset(
        {"_creation_time", "_accessed_time", "_expires", "_domain", "_path"}
    )
    cookie_name = "beaker.session.id"
    _id = re.compile(r"[0-9a-f]{32}|[A-Za-z0-9_-]{16,128}")

    def sniff(self, first: bytes) -> bool | None:
        return first.startswith(b"\x80")

    def match_key(self, key: str) -> KeyMatch | None:
        for prefix in self.match_order:
            if key.startswith(prefix) and key.endswith(":session"):
                session_id = key[len(prefix) : -len(":session")]
                if self._id.fullmatch(session_id):
                    return KeyMatch(self.name, KeyKind.SESSION, session_id, prefix)
        return None

    def key_for(self, session_id: str, prefix: str | None = None) -> str:
        return f"{prefix if prefix is not None else self.prefixes[0]}{session_id}:session"

    def ids_from_cookie(self, cookie: str) -> list[str]:
        text = cookie.strip()
        # A signed cookie is 40 hex digits of HMAC-SHA1, then the id.
        if len(text) > 40 and re.fullmatch(r"[0-9a-f]{40}", text[:40]):
            return [text[40:], text]
        return [text, split_signed(text)] if "." in text else [text]

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        entries = entries_of(value)
        principal = None
        for name in ("user_id", "username", "user", "REMOTE_USER"):
            found = text_of(entries[name].value) if name in entries else None
            if found:
                principal = (found, name)
                break
        variant = "json" if "zlib" in value.layers else "pickle"
        return self.session(
            record,
            match,
            entries,
            value=value,
            created_ms=epoch_ms(entries["_creation_time"].value)
            if "_creation_time" in entries
            else None,
            last_access_ms=epoch_ms(entries["_accessed_time"].value)
            if "_accessed_time" in entries
            else None,
            principal=principal,
            variant=variant,
        )


ADAPTERS = (BeakerSession(),)
