"""Django's cache and cached_db session engines on Django's RedisCache or django-redis.

Keys go through the cache's key function: ``<KEY_PREFIX>:<VERSION>:`` +
``django.contrib.sessions.cache`` (or ``...cached_db``) + the 32-character session
key, so ``:1:django.contrib.sessions.cache<key>`` by default. The value is the
session dict pickled (protocol 5); django-redis may compress it (zlib, gzip, xz)
or use its JSON/msgpack serializers, which the codecs detect. ``_auth_user_id``,
``_auth_user_backend``, ``_auth_user_hash`` and ``_session_expiry`` are Django's.
The TTL is ``SESSION_COOKIE_AGE`` (two weeks) or ``set_expiry``, set on each save
(django-redis writes it with ``PX``).
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
    text_of,
)
from inspector.core.values import Limits

__all__ = ["ADAPTERS", "DjangoSession"]

_KEY = re.compile(
    r"(?P<prefix>(?P<kp>.*?):(?P<version>\d+):django\.contrib\.sessions\.(?:cached_db|cache))"
    r"(?P<id>[a-z0-9]{8,64})"
)


class DjangoSession(Adapter):
    """``django.contrib.sessions.backends.cache`` / ``cached_db``."""

    name = "django"
    title = "Django cache / cached_db sessions (RedisCache, django-redis)"
    # The KEY_PREFIX part; any prefix and version are recognised by the pattern.
    prefixes = ("",)
    ttl_rule = TtlRule(
        TtlKind.KEY, "SESSION_COOKIE_AGE (1209600 s) or set_expiry, set on each save"
    )
    bookkeeping_names = frozenset(
        {"_auth_user_id", "_auth_user_backend", "_auth_user_hash", "_session_expiry"}
    )
    cookie_name = "sessionid"
    anywhere = ("django.contrib.sessions.",)

    def sniff(self, first: bytes) -> bool | None:
        # A pickle, django-redis's compressors (zlib, gzip, xz), JSON or msgpack serializers.
        return first.startswith((b"\x80", b"x", b"\x1f\x8b", b"\xfd7zXZ", b"{")) or (
            bool(first) and 0x80 <= first[0] <= 0x8F
        )

    def match_key(self, key: str) -> KeyMatch | None:
        if "django.contrib.sessions." not in key:  # cheap test before the regex
            return None
        found = _KEY.fullmatch(key)
        if found is None or not any(found["kp"].startswith(p) for p in self.prefixes):
            return None
        return KeyMatch(self.name, KeyKind.SESSION, found["id"], found["prefix"])

    def key_for(self, session_id: str, prefix: str | None = None) -> str:
        kp = prefix if prefix is not None else self.prefixes[0]
        if "django.contrib.sessions" in kp:
            return kp + session_id
        return f"{kp}:1:django.contrib.sessions.cache{session_id}"

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        entries = entries_of(value)
        user = text_of(entries["_auth_user_id"].value) if "_auth_user_id" in entries else None
        variant = "cached_db" if match.prefix.endswith("cached_db") else "cache"
        return self.session(
            record,
            match,
            entries,
            value=value,
            principal=(user, "_auth_user_id") if user else None,
            variant=variant,
        )


ADAPTERS = (DjangoSession(),)
