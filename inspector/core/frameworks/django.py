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
from collections.abc import Collection

from inspector.core.decoders.pickle_skim import PickleSkim, skim_pickle
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
    names_host,
    text_of,
    unread,
)
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["ADAPTERS", "DjangoSession", "pickled_entries"]

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
        return self.session(
            record,
            match,
            entries,
            value=value,
            principal=_principal(entries),
            variant=_variant(match),
        )

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        # A plain pickle only: django-redis's compressors and other serializers are
        # read in full (the fallback).
        bounds = limits or DEFAULT_LIMITS
        skim = skim_pickle(record.value or b"", bounds)
        entries = (
            None
            if skim is None
            else pickled_entries(skim, bounds, ("_auth_user_id",), self.bookkeeping_names)
        )
        if entries is None:
            return None
        return self.light_session(
            record,
            match,
            entries,
            ValueFormat.PICKLE,
            principal=_principal(entries),
            variant=_variant(match),
        )


def _principal(entries: dict[str, Decoded]) -> tuple[str, str] | None:
    user = text_of(entries["_auth_user_id"].value) if "_auth_user_id" in entries else None
    return (user, "_auth_user_id") if user else None


def _variant(match: KeyMatch) -> str:
    return "cached_db" if match.prefix.endswith("cached_db") else "cache"


def pickled_entries(
    skim: PickleSkim, limits: Limits, names: Collection[str], bookkeeping: Collection[str]
) -> dict[str, Decoded] | None:
    """A light reading's entries of a skimmed pickle dict: ``names`` and where a host may be.

    Where a host may be: an application entry named like one, or whose bytes hold a
    host marker. The pickle counterpart of ``base.msgpack_entries`` (Django, Flask-Session and
    Beaker share it). ``None`` (decode in full) as :func:`light_entries` says.
    """
    # base.light_entries' rules (a repeated name or one starting with "@": None), in a
    # loop of its own: the callbacks cost as much as the rest of a small session's reading.
    hosts = skim.hosts()
    placeholder = unread(ValueFormat.PICKLE)
    out: dict[str, Decoded] = {}
    decode = None
    for index, (name, _, _) in enumerate(skim.entries):
        if name in out or name[:1] == "@":
            return None
        if name in names or (name not in bookkeeping and (hosts[index] or names_host(name))):
            if decode is None:
                decode = skim.decoder(limits)
            out[name] = Decoded(ValueFormat.PICKLE, decode(index), 0)
        else:
            out[name] = placeholder
    return out


ADAPTERS = (DjangoSession(),)
