"""Ruby: Rack::Session::Redis (redis-rack), redis-actionpack, and Rails' cache-store sessions.

Rack >= 2.0.8 keys a session by its *private* id, ``"2::" + SHA256hex(public id)``;
the cookie holds the public id (32 hex digits in Rails, 64 in plain Rack), and
old data may still sit under the public id. Values are ``Marshal.dump`` of the
session hash. redis-rack's namespace is ``rack:session``, redis-actionpack's
``session``; ``ActionDispatch::Session::CacheStore`` writes ``_session_id:<id>``
into the cache, whose entry wraps the hash (Rails 6.1: a Marshal-ed
``ActiveSupport::Cache::Entry``; 7.0+: a mark byte, then Marshal of
``[value, expires_at, version]``, zlib-compressed after a ``01`` mark). The
principal is Warden's ``warden.user.<scope>.key`` (``[[id], salt]``).
"""

from __future__ import annotations

import hashlib
import re
import zlib

from inspector.core.decoders import decode_value
from inspector.core.decoders.ruby import MarshalError, decode_marshal
from inspector.core.decoders.ruby_skim import MarshalSkim, skim_marshal_entry, skim_marshal_hash
from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    chosen_entries,
    decode,
    entries_of,
    epoch_ms,
    names_host,
    part,
    text_of,
    walk,
)
from inspector.core.values import (
    CLASS,
    DEFAULT_LIMITS,
    Decoded,
    JsonValue,
    Limits,
    ValueFormat,
    undecodable,
)

__all__ = ["ADAPTERS", "RailsCacheStore", "RedisActionpack", "RedisRack", "private_id"]

_PRIVATE = re.compile(r"2::[0-9a-f]{64}")
_PUBLIC = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")
_TTL = TtlRule(TtlKind.KEY, "expire_after, set on each write; none when it is not configured")
_BOOKKEEPING = frozenset({"session_id", "_csrf_token"})


def private_id(public_id: str) -> str:
    """Rack's private session id (``Rack::Session::SessionId#private_id``)."""
    return "2::" + hashlib.sha256(public_id.encode()).hexdigest()


_PRINCIPAL_NAMES = ("user_id", "username", "user")


def marshal_entries(
    skim: MarshalSkim, bookkeeping: frozenset[str], depth: int = 1
) -> dict[str, Decoded] | None:
    """A light reading's entries: the principal's and where a host may be decoded.

    ``None`` (decode in full) when one of those links to an object outside itself.
    """
    chosen = []
    for name, span in skim.entries:
        pick = (
            name in _PRINCIPAL_NAMES
            or (name.startswith("warden.user.") and name.endswith(".key"))
            or (name not in bookkeeping and (names_host(name) or skim.may_hold_host(span)))
        )
        if pick and not skim.stands_alone(span):
            return None
        chosen.append(pick)
    return chosen_entries(
        skim.entries, ValueFormat.MARSHAL, chosen, lambda span: skim.decode(span, depth)
    )


def warden_user(entries: dict[str, Decoded]) -> tuple[str, str] | None:
    """``warden.user.<scope>.key`` = ``[[id], salt]`` -> the id."""
    for name, decoded in entries.items():
        if name.startswith("warden.user.") and name.endswith(".key"):
            found = text_of(decoded.value)
            if found:
                return found, name
    for name in ("user_id", "username", "user"):
        if name in entries:
            found = text_of(entries[name].value)
            if found:
                return found, name
    return None


class RedisRack(Adapter):
    """``Rack::Session::Redis`` (redis-rack / redis-store)."""

    name = "redis-rack"
    title = "Rack::Session::Redis (redis-rack)"
    prefixes = ("rack:session:",)
    id_pattern = re.compile(rf"{_PRIVATE.pattern}|{_PUBLIC.pattern}")
    ttl_rule = _TTL
    bookkeeping_names = _BOOKKEEPING
    cookie_name = "rack.session"

    def sniff(self, first: bytes) -> bool | None:
        return first.startswith(b"\x04\x08")

    def ids_from_cookie(self, cookie: str) -> list[str]:
        text = cookie.strip()
        if _PRIVATE.fullmatch(text):
            return [text]
        return [private_id(text), text] if text else []

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        entries = entries_of(value)
        return self.session(record, match, entries, value=value, principal=warden_user(entries))

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        data = record.value or b""
        skim = skim_marshal_hash(data, limits or DEFAULT_LIMITS)
        entries = None if skim is None else marshal_entries(skim, self.bookkeeping_names)
        if entries is None:
            return None
        return self.light_session(
            record,
            match,
            entries,
            ValueFormat.MARSHAL,
            principal=warden_user(entries),
        )


class RedisActionpack(RedisRack):
    """``ActionDispatch::Session::RedisStore`` (redis-actionpack)."""

    name = "redis-actionpack"
    title = "ActionDispatch::Session::RedisStore (redis-actionpack)"
    prefixes = ("session:",)
    # Only private ids: a bare public id under "session:" is Flask-Session's.
    id_pattern = _PRIVATE
    cookie_name = "_session_id"


class RailsCacheStore(RedisRack):
    """``config.session_store :cache_store`` on ``ActiveSupport::Cache::RedisCacheStore``."""

    name = "rails-cache"
    title = "Rails cache-store sessions (RedisCacheStore)"
    prefixes = ("_session_id:",)
    ttl_rule = TtlRule(
        TtlKind.KEY, "expire_after (the cache entry's expires_in), set on each write"
    )
    cookie_name = "_session_id"
    anywhere = ("_session_id:",)

    def match_key(self, key: str) -> KeyMatch | None:
        # The cache's namespace may come first: "myapp:_session_id:2::...".
        for prefix in self.match_order:
            at = key.find(prefix)
            if at >= 0 and (at == 0 or key[at - 1] == ":"):
                rest = key[at + len(prefix) :]
                if self.id_pattern.fullmatch(rest):
                    return KeyMatch(self.name, KeyKind.SESSION, rest, key[: at + len(prefix)])
        return None

    def sniff(self, first: bytes) -> bool | None:
        return first.startswith((b"\x04\x08", b"\x00\x04\x08", b"\x01x"))

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        return _light_cache_entry(self, record, match, limits)

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        raw = record.value or b""
        value, variant = _cache_value(raw, limits)
        notes: list[str] = []
        created = expires = None
        inner = value
        if (
            isinstance(value.value, dict)
            and value.value.get(CLASS) == "ActiveSupport::Cache::Entry"
        ):
            entry = value.value
            inner = part(value, walk(entry, ["value"]))
            created, expires = _entry_times(entry)
        elif variant == "7.0" and isinstance(value.value, list) and value.value:
            packed = value.value
            inner = part(value, packed[0])
            if (
                len(packed) > 1
                and isinstance(packed[1], int | float)
                and not isinstance(packed[1], bool)
            ):
                expires = int(packed[1] * 1000)
        else:
            notes.append("not an ActiveSupport cache entry")
        entries = entries_of(inner)
        return self.session(
            record,
            match,
            entries,
            value=value,
            created_ms=created,
            expires_at_ms=expires,
            principal=warden_user(entries),
            variant=variant,
            notes=notes,
        )


def _entry_times(entry: JsonValue) -> tuple[int | None, int | None]:
    """A cache entry's created time and expiry (epoch ms), from its rendered fields."""
    created = epoch_ms(walk(entry, ["created_at"]))
    expires_in = walk(entry, ["expires_in"])
    expires_at = walk(entry, ["expires_at"])
    expires = None
    if isinstance(expires_at, int | float) and not isinstance(expires_at, bool):
        expires = int(expires_at * 1000)
    elif (
        created is not None
        and isinstance(expires_in, int | float)
        and not isinstance(expires_in, bool)
    ):
        expires = created + int(expires_in * 1000)
    return created, expires


def _light_cache_entry(
    adapter: RailsCacheStore, record: RawRecord, match: KeyMatch, limits: Limits | None
) -> FrameworkSession | None:
    """Rails 6.1's Marshal-ed cache entry, read light (see :meth:`Adapter.parse_light`)."""
    data = record.value or b""
    skim = skim_marshal_entry(data, limits or DEFAULT_LIMITS)
    if skim is None or "@value" in skim.fields or "value" in skim.fields:
        return None
    entries = marshal_entries(skim, adapter.bookkeeping_names, depth=2)
    if entries is None:
        return None
    times = ("@created_at", "@expires_in", "@expires_at")
    spans = [(name, skim.fields[name]) for name in times if name in skim.fields]
    if not all(skim.stands_alone(span) for _, span in spans):
        return None
    entry: dict[str, JsonValue] = {name[1:]: skim.decode(span) for name, span in spans}
    created, expires = _entry_times(entry)
    return adapter.light_session(
        record,
        match,
        entries,
        ValueFormat.MARSHAL,
        created_ms=created,
        expires_at_ms=expires,
        principal=warden_user(entries),
        variant="6.1",
    )


def _cache_value(raw: bytes, limits: Limits | None) -> tuple[Decoded, str]:
    """The cache entry decoded: Rails 6.1's Marshal-ed Entry, or 7.0's marked packed form."""
    if raw[:1] in (b"\x00", b"\x01") and len(raw) > 1:
        body = raw[1:]
        if raw[:1] == b"\x01":
            inflater = zlib.decompressobj()
            try:
                body = inflater.decompress(body, (limits or Limits()).max_inflated)
            except zlib.error:
                return undecodable(raw, "Rails 7 cache entry: bad zlib data"), "7.0"
        try:
            marshal = decode_marshal(body) if limits is None else decode_marshal(body, limits)
        except MarshalError as exc:
            return undecodable(raw, f"Rails 7 cache entry: {exc}"), "7.0"
        return Decoded(
            marshal.format, marshal.value, len(raw), marshal.java_class, marshal.error
        ), "7.0"
    decoded = decode_value(raw) if limits is None else decode_value(raw, limits)
    return decoded, "6.1"


ADAPTERS = (RedisRack(), RedisActionpack(), RailsCacheStore())
