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
from inspector.core.decoders.pickle_skim import skim_pickle
from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    decode,
    entries_of,
    light_value,
    msgpack_entries,
    split_signed,
    text_of,
)
from inspector.core.frameworks.django import pickled_entries
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["ADAPTERS", "FlaskSession"]

_VARIANTS = {
    ValueFormat.MSGPACK: "msgpack, 0.7+",
    ValueFormat.JSON: "json, 0.7+",
    ValueFormat.PICKLE: "pickle, <= 0.6",
}
# What follows PROTO in a pickle that decode_value reads as one (protocols 2-5).
_PROTOCOLS = (b"\x02", b"\x03", b"\x04", b"\x05")
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
        if data[:1] == b"\x80" and data[1:2] in _PROTOCOLS:
            return self._light_pickle(record, match, data, bounds, ())
        if data[:2] == b"!\x80" and data[2:3] in _PROTOCOLS:
            return self._light_pickle(record, match, data[1:], bounds, ("cachelib",))
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

    def _light_pickle(
        self,
        record: RawRecord,
        match: KeyMatch,
        data: bytes,
        limits: Limits,
        layers: tuple[str, ...],
    ) -> FrameworkSession | None:
        """A pickled session (<= 0.6), or cachelib's ``"!"`` + pickle, read light.

        The value keeps the layers the full reading names (``stored as cachelib``).
        """
        skim = skim_pickle(data, limits)
        entries = (
            None
            if skim is None
            else pickled_entries(skim, limits, _PRINCIPALS, self.bookkeeping_names)
        )
        if entries is None:
            return None
        return self.session(
            record,
            match,
            entries,
            value=light_value(ValueFormat.PICKLE, record.value or b"", layers),
            principal=_principal(entries),
            variant="cachelib" if layers else _VARIANTS[ValueFormat.PICKLE],
            light=True,
        )


def _principal(entries: dict[str, Decoded]) -> tuple[str, str] | None:
    for name in _PRINCIPALS:
        found = text_of(entries[name].value) if name in entries else None
        if found:
            return found, name
    return None


ADAPTERS = (FlaskSession(),)
