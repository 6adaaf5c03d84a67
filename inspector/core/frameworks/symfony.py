"""Symfony's ``RedisSessionHandler``: ``sf_s<id>`` strings in PHP's session encoding.

Symfony keeps the app's attributes in ``_sf2_attributes``, flashes in
``_symfony_flashes`` and its metadata bag in ``_sf2_meta`` (``u`` last used,
``c`` created, unix seconds; ``l`` the cookie lifetime). The attributes are shown
unwrapped; the other two are bookkeeping. A logged-in user is the token
serialized in ``_security_<firewall>``. The TTL is the ``ttl`` option or
``session.gc_maxlifetime``, set on each write.
"""

from __future__ import annotations

import re

from inspector.core.decoders.php import PhpError, decode_php_serialized
from inspector.core.decoders.php_skim import split_array
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
    walk,
)
from inspector.core.frameworks.php import (
    PRINCIPALS,
    VARIANTS,
    PhpSpan,
    php_principal,
    skim_php,
    skimmed_entries,
    sniff_php,
)
from inspector.core.values import CLASS, DEFAULT_LIMITS, Decoded, JsonValue, Limits

__all__ = ["ADAPTERS", "SymfonySession"]

_BAG = frozenset({"_sf2_attributes"})
_USER_FIELDS = ("userIdentifier", "username", "email", "identifier")


class SymfonySession(Adapter):
    r"""``Symfony\\Component\\HttpFoundation\\Session\\Storage\\Handler\\RedisSessionHandler``."""

    name = "symfony"
    title = "Symfony RedisSessionHandler"
    prefixes = ("sf_s",)
    id_pattern = re.compile(r"[0-9A-Za-z,-]{16,256}")
    ttl_rule = TtlRule(
        TtlKind.KEY, "the handler's ttl or session.gc_maxlifetime, set on each write"
    )
    bookkeeping_names = frozenset({"_sf2_meta", "_symfony_flashes"})
    cookie_name = "PHPSESSID"

    def sniff(self, first: bytes) -> bool | None:
        return sniff_php(first)

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        outer = entries_of(value)
        entries: dict[str, Decoded] = {}
        for name, decoded in outer.items():
            if name == "_sf2_attributes" and isinstance(decoded.value, dict):
                entries.update(entries_of(decoded))
            else:
                entries[name] = decoded
        meta = outer.get("_sf2_meta")
        meta_value = meta.value if meta else None
        principal = _security_user(entries, limits) or php_principal(dict(entries))
        return self.session(
            record,
            match,
            entries,
            value=value,
            created_ms=epoch_ms(walk(meta_value, ["c"])),
            last_access_ms=epoch_ms(walk(meta_value, ["u"])),
            principal=principal,
            variant=VARIANTS.get(value.format),
        )

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        data = record.value or b""
        bounds = limits or DEFAULT_LIMITS
        skimmed = skim_php(data, bounds, _BAG)
        if skimmed is None:
            return None
        fmt, skim = skimmed
        # The entries as parse() merges them: the attribute bag's members in its place.
        merged: dict[str, PhpSpan] = {}
        outer = {name for name, _, _ in skim.spans}
        for name, start, end in skim.spans:
            if name == "_sf2_attributes" and data[start:end] != b"a:0:{}":
                inner = skim.inner.get(name) or split_array(data, start, end, bounds)
                if inner is None or any(n in outer for n, _, _ in inner):
                    return None  # not a map of names (or it shadows Symfony's): in full
                merged.update((n, (a, b, 2)) for n, a, b in inner)
            else:
                merged[name] = (start, end, 1)
        if len(outer) != len(skim.spans):
            return None
        wanted = {"_sf2_meta", *PRINCIPALS, *(n for n in merged if n.startswith("_security_"))}
        entries = skimmed_entries(
            skim, fmt, list(merged.items()), bounds, wanted, self.bookkeeping_names
        )
        if entries is None:
            return None
        meta = entries.get("_sf2_meta")
        meta_value = meta.value if meta else None
        principal = _security_user(entries, limits) or php_principal(dict(entries))
        return self.light_session(
            record,
            match,
            entries,
            fmt,
            created_ms=epoch_ms(walk(meta_value, ["c"])),
            last_access_ms=epoch_ms(walk(meta_value, ["u"])),
            principal=principal,
            variant=VARIANTS.get(fmt),
        )


def _security_user(entries: dict[str, Decoded], limits: Limits | None) -> tuple[str, str] | None:
    # _security_main holds serialize($token) as a string: read it as PHP data too.
    for name, decoded in entries.items():
        if not name.startswith("_security_") or not isinstance(decoded.value, str):
            continue
        raw = decoded.value.encode("utf-8")
        try:
            token = (
                decode_php_serialized(raw) if limits is None else decode_php_serialized(raw, limits)
            )
        except PhpError:
            continue
        entries[name] = part(token, token.value)
        user = _find_user(token.value, 0)
        if user:
            return user, name
    return None


def _find_user(value: JsonValue, depth: int) -> str | None:
    if depth > 16:
        return None
    if isinstance(value, dict):
        cls = value.get(CLASS)
        if isinstance(cls, str) and cls.endswith("User"):
            for key in _USER_FIELDS:
                for field, item in value.items():
                    if field.rpartition(":")[2].lstrip("*") == key and isinstance(item, str):
                        return item
        for key, item in value.items():
            if key != CLASS:
                found = _find_user(item, depth + 1)
                if found:
                    return found
    elif isinstance(value, list):
        for item in value:
            found = _find_user(item, depth + 1)
            if found:
                return found
    return None


ADAPTERS = (SymfonySession(),)
