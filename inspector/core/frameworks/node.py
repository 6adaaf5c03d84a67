"""Node.js: express-session with connect-redis, and @fastify/session on the same store.

Both keep ``sess:<id>`` strings holding ``JSON.stringify(session)`` with a
``cookie`` object (the framework's bookkeeping); connect-redis sets the key's TTL
to the cookie's expiry (else its ``ttl`` option, 86400 s) on every save and touch.
The browser's cookie is ``s:<id>.<HMAC>`` URL-encoded for express (``s%3A...``)
and ``<id>.<HMAC>`` for fastify; the key uses the bare id.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from inspector.core.decoders.jsonish import skim_json_object
from inspector.core.frameworks.base import (
    HOST_NAMES,
    Adapter,
    FrameworkSession,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    chosen_entries,
    decode,
    entries_of,
    epoch_ms,
    holds_host_name,
    light_value,
    mentions_host,
    split_signed,
    text_of,
    walk,
)
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["ADAPTERS", "Express", "Fastify"]

_TTL = TtlRule(
    TtlKind.KEY,
    "set on each save and touch: the cookie's expiry, else the store's ttl (86400 s)",
)


class Express(Adapter):
    """express-session + connect-redis."""

    name = "express"
    title = "express-session + connect-redis"
    prefixes = ("sess:",)
    ttl_rule = _TTL
    bookkeeping_names = frozenset({"cookie"})
    cookie_name = "connect.sid"

    def sniff(self, first: bytes) -> bool | None:
        # express writes the cookie first, its originalMaxAge first within it.
        return first.startswith(b'{"cookie":{"originalMaxAge"')

    def ids_from_cookie(self, cookie: str) -> list[str]:
        text = urllib.parse.unquote(cookie.strip())
        if text.startswith("s:"):
            return [split_signed(text[2:])]
        return [text, split_signed(text)] if "." in text else [text]

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        return self._session(record, match, entries_of(value), value, light=False)

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        data = record.value or b""
        skim = skim_json_object(data, limits or DEFAULT_LIMITS)
        if skim is None:
            return None
        parsed = skim.parsed
        hosted = mentions_host(data)

        if hosted:
            chosen = [
                name in ("cookie", "passport")
                or name in HOST_NAMES
                or holds_host_name(parsed[name])
                for name in parsed
            ]
        else:
            chosen = [name in ("cookie", "passport") for name in parsed]
        entries = chosen_entries([(n, n) for n in parsed], ValueFormat.JSON, chosen, skim.member)
        if entries is None:
            return None
        return self._session(
            record, match, entries, light_value(ValueFormat.JSON, data), light=True
        )

    def _session(
        self,
        record: RawRecord,
        match: KeyMatch,
        entries: dict[str, Decoded],
        value: Decoded,
        *,
        light: bool,
    ) -> FrameworkSession:
        cookie = entries.get("cookie")
        expires = epoch_ms(walk(cookie.value, ["expires"])) if cookie else None
        if light and cookie:  # no notes: the one-step assembly of a light reading
            return self.light_session(
                record,
                match,
                entries,
                value.format,
                expires_at_ms=expires,
                principal=_passport(entries),
            )
        notes = [] if cookie else ["no cookie object: not written by express-session?"]
        return self.session(
            record,
            match,
            entries,
            value=value,
            expires_at_ms=expires if expires is not None else None,
            principal=_passport(entries),
            notes=notes,
            light=light,
        )


class Fastify(Express):
    """@fastify/session with a connect-redis-compatible store."""

    name = "fastify"
    title = "@fastify/session (Redis store)"
    cookie_name = "sessionId"

    def sniff(self, first: bytes) -> bool | None:
        # fastify's Cookie serialises without originalMaxAge first.
        return first.startswith(b'{"cookie":{') and not first.startswith(
            b'{"cookie":{"originalMaxAge"'
        )

    def ids_from_cookie(self, cookie: str) -> list[str]:
        text = urllib.parse.unquote(cookie.strip())
        return [split_signed(text), text] if "." in text else [text]


def _passport(entries: Mapping[str, Decoded]) -> tuple[str, str] | None:
    passport = entries.get("passport")
    value = passport.value if passport is not None else None
    user = text_of(walk(value, ["user"])) if isinstance(value, dict) else None
    if user is None and isinstance(value, dict):
        user = text_of(walk(value, ["user", "username"])) or text_of(walk(value, ["user", "id"]))
    return (user, "passport.user") if user else None


ADAPTERS = (Express(), Fastify())
