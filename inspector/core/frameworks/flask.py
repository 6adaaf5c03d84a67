"""Flask-Session: ``session:<sid>`` strings, msgpack (0.7+ default), JSON, cachelib, pickle.

0.7+ writes ``msgspec`` MessagePack (or JSON with ``SESSION_SERIALIZATION_FORMAT``);
its cachelib backend stores ``"!" + pickle``; 0.6 and older pickled the dict.
``_permanent`` is Flask's own flag. The key's TTL is ``PERMANENT_SESSION_LIFETIME``
(31 days by default), set on every save. With ``SESSION_USE_SIGNER`` the cookie is
``<sid>.<signature>`` (itsdangerous).
"""

from __future__ import annotations

import re

from inspector.core.decoders.msgpacked import skim_msgpack_map
from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    decode,
    entries_of,
    msgpack_entries,
    split_signed,
    text_of,
)
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["ADAPTERS", "FlaskSession"]

_VARIANTS = {
    ValueFormat.MSGPACK: "msgpack (0.7+)",
    ValueFormat.JSON: "json (0.7+)",
    ValueFormat.PICKLE: "pickle (<= 0.6)",
}
# Common places apps keep the user (Flask-Login's _user_id first).
_PRINCIPALS = ("_user_id", "user_id", "username", "user")


class FlaskSession(Adapter):
    """Flask-Session's Redis and cachelib backends."""

    name = "flask-session"
    title = "Flask-Session (redis: msgpack/json/pickle; cachelib)"
    prefixes = ("session:",)
    # token_urlsafe(32) since 0.6, uuid4 before: never "2::" (that is Rails).
    id_pattern = re.compile(r"(?!2::)[A-Za-z0-9_-]{16,128}")
    ttl_rule = TtlRule(TtlKind.KEY, "PERMANENT_SESSION_LIFETIME (31 days), set on each save")
    bookkeeping_names = frozenset({"_permanent", "_fresh", "_id"})
    cookie_name = "session"

    def sniff(self, first: bytes) -> bool | None:
        if not first:
            return None
        # JSON, "!" + pickle (cachelib), a pickle or a msgpack map (8x, DE, DF).
        return (
            first[:1] == b"{"
            or first.startswith(b"!\x80")
            or 0x80 <= first[0] <= 0x8F
            or first[0] in (0xDE, 0xDF)
        )

    def ids_from_cookie(self, cookie: str) -> list[str]:
        text = cookie.strip()
        return [text, split_signed(text)] if "." in text else [text]

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        variant = "cachelib" if "cachelib" in value.layers else _VARIANTS.get(value.format)
        entries = entries_of(value)
        return self.session(
            record, match, entries, value=value, principal=_principal(entries), variant=variant
        )

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        data = record.value or b""
        bounds = limits or DEFAULT_LIMITS
        skim = skim_msgpack_map(data, bounds)
        entries = (
            None
            if skim is None
            else msgpack_entries(skim, bounds, _PRINCIPALS, self.bookkeeping_names)
        )
        if entries is None:
            return None
        return self.light_session(
            record,
            match,
            entries,
            ValueFormat.MSGPACK,
            principal=_principal(entries),
            variant=_VARIANTS[ValueFormat.MSGPACK],
        )


def _principal(entries: dict[str, Decoded]) -> tuple[str, str] | None:
    for name in _PRINCIPALS:
        found = text_of(entries[name].value) if name in entries else None
        if found:
            return found, name
    return None


ADAPTERS = (FlaskSession(),)
