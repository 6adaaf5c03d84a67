"""JVM stores beyond Spring Session's own layout: Micronaut, and Redisson's Spring Session.

Micronaut (micronaut-redis) keeps a hash ``micronaut:session:sessions:<id>`` with
``Creation-Time`` and ``Last-Accessed`` (epoch ms as text),
``Max-Inactive-Interval`` (seconds) and ``attr:<name>`` values (JDK serialization
by default); the hash expires ``interval + 300`` s after the last access, the
string ``micronaut:session:expiry:<id>`` at the expiry itself, and
``micronaut:session:active-sessions`` indexes them (helper keys).

Redisson's (deprecated) Spring Session repository keeps ``spring:session:<id>``
(no ``sessions:`` segment) with ``session:creationTime``,
``session:lastAccessedTime``, ``session:maxInactiveInterval`` and
``session-attr:<name>`` fields, values in the client's Redisson codec.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Iterable, Mapping

from inspector.core.decoders import decode_value, jdk_number
from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    RedisType,
    TtlKind,
    TtlRule,
)
from inspector.core.values import Decoded, Limits

__all__ = ["ADAPTERS", "Micronaut", "RedissonSpring"]

_DIGITS = re.compile(rb"-?\d{1,19}")
_UUIDISH = re.compile(r"[0-9A-Za-z_-]{8,128}")


def _number(data: bytes | None) -> int | None:
    if not data:
        return None
    if _DIGITS.fullmatch(data):
        return int(data)
    number = jdk_number(data)
    if number is not None:
        return number
    value = decode_value(data).value
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _spring_principal(attrs: Mapping[str, Decoded]) -> tuple[str, str] | None:
    context = attrs.get("SPRING_SECURITY_CONTEXT")
    value = context.value if context else None
    if isinstance(value, dict):
        auth = value.get("authentication")
        if isinstance(auth, dict):
            principal = auth.get("principal")
            if isinstance(principal, dict):
                principal = principal.get("username") or principal.get("name")
            if isinstance(principal, str) and principal:
                return principal, "SPRING_SECURITY_CONTEXT"
    return None


def _cookie_ids(cookie: str) -> list[str]:
    # The SESSION cookie is base64 of the id in Spring Session 2+ (and optionally Micronaut).
    text = cookie.strip()
    out = [text]
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("ascii")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return out
    if _UUIDISH.fullmatch(decoded):
        out.insert(0, decoded)
    return out


class _HashSession(Adapter):
    redis_type = RedisType.HASH
    creation_field = ""
    access_field = ""
    interval_field = ""
    attribute_prefix = ""

    def sniff_fields(self, names: Iterable[str]) -> bool | None:
        return self.creation_field in set(names)

    def ids_from_cookie(self, cookie: str) -> list[str]:
        return _cookie_ids(cookie)

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        fields = record.fields or {}
        attrs: dict[str, Decoded] = {}
        books: dict[str, Decoded] = {}
        for name, raw in fields.items():
            decoded = decode_value(raw) if limits is None else decode_value(raw, limits)
            if name.startswith(self.attribute_prefix):
                attrs[name[len(self.attribute_prefix) :]] = decoded
            else:
                books[name] = decoded
        created = _number(fields.get(self.creation_field))
        access = _number(fields.get(self.access_field))
        interval = _number(fields.get(self.interval_field))
        expires = (
            access + interval * 1000 if access is not None and interval and interval > 0 else None
        )
        entries = {**attrs, **books}
        notes = [] if created is not None else [f"no {self.creation_field} field"]
        unreadable = [n for n, d in attrs.items() if d.error and d.value is None]
        if unreadable:
            notes.append(f"{len(unreadable)} attribute(s) in a codec we cannot read (Kryo, FST...)")
        return self.session(
            record,
            match,
            entries,
            value=None,
            created_ms=created,
            last_access_ms=access,
            expires_at_ms=expires,
            principal=_spring_principal(attrs),
            notes=notes,
            bookkeeping=books,
        )


class Micronaut(_HashSession):
    """micronaut-redis ``RedisSessionStore``."""

    name = "micronaut"
    title = "Micronaut Redis sessions"
    prefixes = ("micronaut:session:",)
    ttl_rule = TtlRule(
        TtlKind.FIELDS,
        "Last-Accessed + Max-Inactive-Interval; the hash lives 300 s longer",
        300_000,
    )
    creation_field = "Creation-Time"
    access_field = "Last-Accessed"
    interval_field = "Max-Inactive-Interval"
    attribute_prefix = "attr:"
    cookie_name = "SESSION"

    def match_key(self, key: str) -> KeyMatch | None:
        for prefix in self.match_order:
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            for segment, kind in (("sessions:", KeyKind.SESSION), ("expiry:", KeyKind.HELPER)):
                if rest.startswith(segment) and _UUIDISH.fullmatch(rest[len(segment) :]):
                    return KeyMatch(self.name, kind, rest[len(segment) :], prefix)
            if rest == "active-sessions":
                return KeyMatch(self.name, KeyKind.HELPER, "", prefix)
        return None

    def key_for(self, session_id: str, prefix: str | None = None) -> str:
        return f"{prefix if prefix is not None else self.prefixes[0]}sessions:{session_id}"

    def related_keys(self, match: KeyMatch) -> tuple[str, ...]:
        # The expiry string dies at the expiry itself; the hash lives 300 s longer.
        return (f"{match.prefix}expiry:{match.session_id}",)

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        session = super().parse(record, match, limits)
        expiry_ttl = record.related_ttl_ms.get(f"{match.prefix}expiry:{match.session_id}")
        if expiry_ttl == -2:
            # The store treats the session as expired once its expiry key is gone.
            return dataclasses.replace(
                session,
                expires_at_ms=min(
                    session.expires_at_ms or record.observed_at_ms, record.observed_at_ms
                ),
                notes=(*session.notes, "expiry key gone: expired, the hash lingers"),
            )
        return session


class RedissonSpring(_HashSession):
    """Redisson's ``RedissonSessionRepository`` (Spring Session on Redisson)."""

    name = "redisson"
    title = "Redisson Spring Session repository"
    prefixes = ("spring:session:",)
    ttl_rule = TtlRule(TtlKind.FIELDS, "lastAccessedTime + maxInactiveInterval")
    creation_field = "session:creationTime"
    access_field = "session:lastAccessedTime"
    interval_field = "session:maxInactiveInterval"
    attribute_prefix = "session-attr:"
    cookie_name = "SESSION"

    def gate(self) -> str:
        # Spring Session's own keys share the prefix but have a ":" after it.
        return "|".join(f"{re.escape(prefix)}[^:]+$" for prefix in self.match_order)

    def match_key(self, key: str) -> KeyMatch | None:
        for prefix in self.match_order:
            rest = key[len(prefix) :] if key.startswith(prefix) else None
            # Spring Session's own keys have a segment after the namespace (sessions:...).
            if (
                rest
                and ":" not in rest
                and rest not in ("sessions", "expirations")
                and _UUIDISH.fullmatch(rest)
            ):
                return KeyMatch(self.name, KeyKind.SESSION, rest, prefix)
        return None


ADAPTERS = (Micronaut(), RedissonSpring())
