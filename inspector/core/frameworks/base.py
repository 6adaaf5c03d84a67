"""What every framework adapter is and yields: framework-neutral sessions from raw records.

An :class:`Adapter` knows one framework's Redis layout (``shared/reference/
session-formats.md`` §4): the key patterns (with overridable prefixes), the
Redis type, the value codec, which entries are the framework's own bookkeeping,
how the key's TTL relates to the session's expiry, the created / last-access
times and the principal where the format has them, and how a cookie value maps
to the key. It turns a :class:`RawRecord` (bytes read by ``redis_io``) into a
:class:`FrameworkSession`. Pure: bytes in, typed results out, no I/O.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import orjson

from inspector.core.decoders import decode_value
from inspector.core.decoders.markers import HOST_MARKERS
from inspector.core.decoders.msgpacked import MsgpackSkim
from inspector.core.values import (
    CLASS,
    ENTRIES,
    EPOCH_MILLIS,
    ITEMS,
    VALUE,
    Decoded,
    JsonValue,
    Limits,
    ValueFormat,
)

__all__ = [
    "HOST_NAMES",
    "Adapter",
    "FrameworkSession",
    "KeyKind",
    "KeyMatch",
    "RawRecord",
    "RedisType",
    "TtlKind",
    "TtlRule",
    "chosen_entries",
    "epoch_ms",
    "find_host",
    "part",
    "split_signed",
]

_S = TypeVar("_S")

HOST_NAMES = frozenset({"host", "hostname", "hostName", "container", "instance", "server"})
"""Attribute or field names taken as the container that served a request."""


class RedisType(StrEnum):
    """The Redis type a framework stores its session in."""

    STRING = "string"
    HASH = "hash"


class KeyKind(StrEnum):
    """What a recognised key is."""

    SESSION = "session"
    """A session's data."""
    HELPER = "helper"
    """The framework's bookkeeping key (a lock, an expiry key, an index): not a session."""


class TtlKind(StrEnum):
    """How the key's TTL relates to the session's expiry."""

    KEY = "key"
    """Each save (or touch) sets the key's TTL to the session's remaining life."""
    FIELDS = "fields"
    """Expiry is computed from stored times; the key outlives it by a margin."""
    NONE = "none"
    """The framework sets no expiry by default; a TTL, when present, was configured."""


@dataclass(frozen=True, slots=True)
class TtlRule:
    """The TTL rule of a framework, with the detail an operator needs to trust "expires in"."""

    kind: TtlKind
    detail: str
    margin_ms: int = 0
    """For ``FIELDS``: how long the key outlives the session (Micronaut: 300 s)."""


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """A key recognised by its name."""

    framework: str
    kind: KeyKind
    session_id: str
    prefix: str
    """The prefix the key matched with (the namespace, for display and for ``key_for``)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One key as ``redis_io`` read it, before any decoding.

    Attributes:
        key: The key (UTF-8; undecodable bytes as surrogate escapes).
        redis_type: ``string`` or ``hash``.
        value: The string's bytes (``None`` for a hash).
        fields: The hash's fields in the order Redis returned them (``None`` for a string).
        ttl_ms: PTTL: -1 no expiry, -2 gone.
        observed_at_ms: Client time when read (epoch ms).
        related_ttl_ms: PTTL of each of the adapter's :meth:`Adapter.related_keys`
            (-2 when that key is gone).
    """

    key: str
    redis_type: RedisType
    value: bytes | None
    fields: Mapping[str, bytes] | None
    ttl_ms: int
    observed_at_ms: int
    related_ttl_ms: Mapping[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Bytes of the value (or of every field name and value)."""
        if self.value is not None:
            return len(self.value)
        return sum(
            len(k.encode("utf-8", "surrogateescape")) + len(v)
            for k, v in (self.fields or {}).items()
        )


@dataclass(frozen=True, slots=True)
class FrameworkSession:
    """A session of any framework, as the inspector shows it.

    ``attributes`` are the application's; ``bookkeeping`` the framework's own
    entries (express's ``cookie``, Django's ``_auth_user_*``...), shown apart.
    Times are epoch ms; ``expires_at_ms`` follows the framework's :class:`TtlRule`.
    """

    framework: str
    """Adapter name (``express``, ``flask-session``, ``django``...)."""
    key: str
    session_id: str
    attributes: Mapping[str, Decoded]
    bookkeeping: Mapping[str, Decoded]
    created_ms: int | None
    last_access_ms: int | None
    expires_at_ms: int | None
    ttl_ms: int
    ttl_rule: TtlRule
    principal: str | None = None
    principal_source: str | None = None
    """Where the principal came from (``passport.user``, ``_auth_user_id``...)."""
    host: str | None = None
    host_source: str | None = None
    """The attribute path the host was found at (``server.hostname``)."""
    variant: str | None = None
    """Which flavour wrote it, when the format tells (``msgpack``, ``cachelib``...)."""
    value: Decoded | None = None
    """The whole stored value, decoded (string stores)."""
    size: int = 0
    notes: tuple[str, ...] = ()
    """Anything the operator should know: unreadable parts, ambiguous expiry, layers."""
    light: bool = False
    """Read by :meth:`Adapter.parse_light` (a list's reading): every field above but
    the values, which are decoded only where a time, the principal or the host is
    (the others hold :func:`unread` placeholders, and ``value`` holds no value)."""

    def state(self, now_ms: int) -> str:
        """``active``, ``expired`` (past its expiry, the key lingering) or ``never-expires``."""
        if self.expires_at_ms is None:
            return "never-expires" if self.ttl_ms == -1 else "active"
        return "expired" if self.expires_at_ms <= now_ms else "active"

    @property
    def readable(self) -> bool:
        """Whether the value could be decoded at all."""
        return self.value is None or self.value.format not in (
            ValueFormat.UNDECODABLE,
            ValueFormat.BINARY,
        )

    def to_json(self, *, attributes: bool = False) -> dict[str, JsonValue]:
        """The documented JSON form (``ls --json``; ``show --json`` adds the values)."""
        out: dict[str, JsonValue] = {
            "framework": self.framework,
            "variant": self.variant,
            "id": self.session_id,
            "key": self.key,
            "createdMs": self.created_ms,
            "lastAccessMs": self.last_access_ms,
            "expiresAtMs": self.expires_at_ms,
            "ttl": self.ttl_ms if self.ttl_ms < 0 else (self.ttl_ms + 999) // 1000,
            "ttlRule": self.ttl_rule.kind.value,
            "principal": self.principal,
            "principalSource": self.principal_source,
            "host": self.host,
            "hostSource": self.host_source,
            "attributeNames": list(self.attributes),
            "bookkeepingNames": list(self.bookkeeping),
            "size": self.size,
            "notes": list(self.notes),
        }
        if attributes:
            out["attributes"] = {name: d.to_json() for name, d in self.attributes.items()}
            out["bookkeeping"] = {name: d.to_json() for name, d in self.bookkeeping.items()}
        return out


class Adapter:
    """One framework's Redis session layout. Subclasses set the class attributes.

    Attributes:
        name: Short name (``--framework NAME``).
        title: What it is, for tables and help (``express-session + connect-redis``).
        redis_type: Where it stores a session.
        prefixes: Default key prefixes; overridable per adapter (:meth:`with_prefixes`).
        id_pattern: What the part after the prefix must look like.
        ttl_rule: How the key's TTL relates to expiry.
        bookkeeping_names: Top-level entries that are the framework's, not the app's.
        cookie_name: The cookie that carries the id, by default.
    """

    name: str = ""
    title: str = ""
    redis_type: RedisType = RedisType.STRING
    prefixes: tuple[str, ...] = ()
    id_pattern: re.Pattern[str] = re.compile(r"[A-Za-z0-9_-]{8,128}")
    ttl_rule: TtlRule = TtlRule(TtlKind.KEY, "the key's TTL is the session's remaining life")
    bookkeeping_names: frozenset[str] = frozenset()
    cookie_name: str = ""
    anywhere: tuple[str, ...] = ()
    """Substrings its keys contain when they do not start with a fixed prefix (Django's
    ``KEY_PREFIX:VERSION:`` comes first): the registry's quick test uses these instead."""

    def __init__(self, prefixes: Sequence[str] | None = None) -> None:
        if prefixes is not None:
            self.prefixes = tuple(prefixes)
        # Matched longest first, so a configured "app:sess:" wins over "sess:";
        # ``prefixes[0]`` stays the default for building keys.
        self.match_order = tuple(sorted(self.prefixes, key=len, reverse=True))

    def with_prefixes(self, prefixes: Sequence[str]) -> Adapter:
        """A copy of this adapter that recognises ``prefixes`` instead of the defaults."""
        return type(self)(prefixes)

    # -- recognition

    def match_key(self, key: str) -> KeyMatch | None:
        """The session id if ``key`` is one of this framework's keys, by name only."""
        for prefix in self.match_order:
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                if self.id_pattern.fullmatch(rest):
                    return KeyMatch(self.name, KeyKind.SESSION, rest, prefix)
        return None

    def gate(self) -> str:
        """A regular expression every key of this framework matches from its start.

        The registry joins every adapter's into one compiled test that SCANned
        keys meet first, in C: keys no framework writes (most of a keyspace,
        Spring's among them) cost one ``match`` call. It may accept more than
        :meth:`match_key` does, never less.
        """
        if self.anywhere:
            return "|".join(f".*{re.escape(marker)}" for marker in self.anywhere)
        return "|".join(re.escape(prefix) for prefix in self.match_order)

    def sniff(self, first: bytes) -> bool | None:
        """Whether a value's first bytes fit (``None``: cannot tell from them)."""
        return None

    def sniff_fields(self, names: Iterable[str]) -> bool | None:
        """Whether a hash's field names fit (hash stores)."""
        return None

    def related_keys(self, match: KeyMatch) -> tuple[str, ...]:
        """Helper keys whose TTL the adapter reads beside the session's (an expiry key)."""
        return ()

    # -- keys and cookies

    def key_for(self, session_id: str, prefix: str | None = None) -> str:
        """The Redis key of a session id (with the first prefix unless one is given)."""
        return (prefix if prefix is not None else self.prefixes[0]) + session_id

    def ids_from_cookie(self, cookie: str) -> list[str]:
        """Session ids a cookie value (as the browser holds it) may stand for, likeliest first."""
        text = urllib.parse.unquote(cookie.strip())
        return [text] if text else []

    # -- reading

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        """Decode one record into a :class:`FrameworkSession`. Never raises."""
        raise NotImplementedError

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        """What a list shows of one record, without decoding every value; ``None``: not here.

        The same framework, id, TTL, times, principal, host, attribute and
        bookkeeping names, size, notes and readability as :meth:`parse` gives,
        read by skipping over the values the list does not show. ``None`` (the
        caller then runs :meth:`parse`) whenever the value is not one this light
        reader is sure of: another encoding, a back-reference, a value near the
        limits, anything corrupt. Never raises for the data's sake.
        """
        return None

    # -- shared helpers for subclasses

    def expiry_from_ttl(self, record: RawRecord) -> int | None:
        """``observed + PTTL`` when the key has a TTL (the rule of most string stores)."""
        return record.observed_at_ms + record.ttl_ms if record.ttl_ms >= 0 else None

    def light_session(
        self,
        record: RawRecord,
        match: KeyMatch,
        entries: Mapping[str, Decoded],
        fmt: ValueFormat,
        *,
        created_ms: int | None = None,
        last_access_ms: int | None = None,
        expires_at_ms: int | None = None,
        principal: tuple[str, str] | None = None,
        variant: str | None = None,
    ) -> FrameworkSession:
        """:meth:`session` of a light reading: the value is its format and size, not read.

        What :meth:`session` gives for it, assembled in one step: a light value has
        no error and no layers, so no notes; the split is one loop.
        """
        names = self.bookkeeping_names
        attrs: dict[str, Decoded] = {}
        books: dict[str, Decoded] = {}
        for name, decoded in entries.items():
            if name in names:
                books[name] = decoded
            else:
                attrs[name] = decoded
        host = find_host(attrs)
        data = record.value
        # By position, in the fields' order (a test holds it): a list builds one of
        # these per session, and 19 keywords cost nearly as much again.
        return FrameworkSession(
            self.name,
            record.key,
            match.session_id,
            attrs,
            books,
            created_ms,
            last_access_ms,
            expires_at_ms if expires_at_ms is not None else self.expiry_from_ttl(record),
            record.ttl_ms,
            self.ttl_rule,
            principal[0] if principal else None,
            principal[1] if principal else None,
            host[0] if host else None,
            host[1] if host else None,
            variant,
            Decoded(fmt, None, len(data) if data is not None else 0),
            record.size if data is None else len(data),
            (),
            True,
        )

    def session(
        self,
        record: RawRecord,
        match: KeyMatch,
        entries: Mapping[str, Decoded],
        *,
        value: Decoded | None,
        created_ms: int | None = None,
        last_access_ms: int | None = None,
        expires_at_ms: int | None = None,
        principal: tuple[str, str] | None = None,
        variant: str | None = None,
        notes: Sequence[str] = (),
        bookkeeping: Iterable[str] | None = None,
        light: bool = False,
    ) -> FrameworkSession:
        """Assemble the result: split bookkeeping from attributes, find the host.

        ``light``: ``entries`` hold :func:`unread` placeholders except where the
        host may be (the light readers decode those), and ``value`` no value.
        """
        names = self.bookkeeping_names if bookkeeping is None else frozenset(bookkeeping)
        attrs = {k: v for k, v in entries.items() if k not in names}
        books = {k: v for k, v in entries.items() if k in names}
        host = find_host(attrs)
        all_notes = list(notes)
        if value is not None and value.error:
            all_notes.append(value.error)
        if value is not None and value.layers:
            all_notes.append("stored as " + " of ".join(reversed(value.layers)))
        return FrameworkSession(
            framework=self.name,
            key=record.key,
            session_id=match.session_id,
            attributes=attrs,
            bookkeeping=books,
            created_ms=created_ms,
            last_access_ms=last_access_ms,
            expires_at_ms=expires_at_ms
            if expires_at_ms is not None
            else self.expiry_from_ttl(record),
            ttl_ms=record.ttl_ms,
            ttl_rule=self.ttl_rule,
            principal=principal[0] if principal else None,
            principal_source=principal[1] if principal else None,
            host=host[0] if host else None,
            host_source=host[1] if host else None,
            variant=variant,
            value=value,
            size=record.size,
            notes=tuple(all_notes),
            light=light,
        )


# --------------------------------------------------------------------------- helpers


def unread(fmt: ValueFormat) -> Decoded:
    """The placeholder of an attribute a light reader did not decode (no value, size 0)."""
    found = _UNREAD.get(fmt)
    if found is None:  # once per format: not a Decoded built per call to be dropped
        found = _UNREAD[fmt] = Decoded(format=fmt, value=None, size=0)
    return found


_UNREAD: dict[ValueFormat, Decoded] = {}


def names_host(name: str) -> bool:
    """Whether an attribute's name holds a host name's marker (so its value is needed)."""
    return "host" in name or "container" in name or "instance" in name or "server" in name


def light_entries(
    spans: Sequence[tuple[str, _S]],
    fmt: ValueFormat,
    wanted: Callable[[str, _S], bool],
    decode_one: Callable[[_S], JsonValue],
) -> dict[str, Decoded] | None:
    """A light reader's entries: the ``wanted`` ones decoded, the others :func:`unread`.

    A decoded one carries its value, not its size (a list shows neither; ``show``
    reads in full). ``None`` (decode in full) when two names are the same (the
    full reading then shows pairs, not a map) or one starts with ``@`` (it may be
    read as a type).
    """
    return chosen_entries(spans, fmt, [wanted(name, span) for name, span in spans], decode_one)


def chosen_entries(
    spans: Sequence[tuple[str, _S]],
    fmt: ValueFormat,
    chosen: Sequence[bool],
    decode_one: Callable[[_S], JsonValue],
) -> dict[str, Decoded] | None:
    """:func:`light_entries` with the choice made: ``chosen[i]`` says whether entry i is read.

    One loop and no call per entry left unread (most of them): the light readers'
    commonest step, once per entry of every listed session.
    """
    placeholder = unread(fmt)
    out: dict[str, Decoded] = {}
    for (name, span), pick in zip(spans, chosen, strict=True):
        if name in out or name[:1] == "@":
            return None
        out[name] = Decoded(fmt, decode_one(span), 0) if pick else placeholder
    return out


def msgpack_entries(
    skim: MsgpackSkim, limits: Limits, names: Collection[str], bookkeeping: Collection[str]
) -> dict[str, Decoded] | None:
    """A light reading's entries of a MessagePack map: ``names`` and where a host may be.

    ``None`` (decode in full) when one of those holds a PHP reference.
    """
    hosts = skim.hosts
    refers = skim.refers
    chosen = []
    for index, (name, _) in enumerate(skim.entries):
        pick = name in names or (name not in bookkeeping and (hosts[index] or names_host(name)))
        if pick and refers[index]:
            return None
        chosen.append(pick)
    spans = [(name, index) for index, (name, _) in enumerate(skim.entries)]
    return chosen_entries(
        spans, ValueFormat.MSGPACK, chosen, lambda index: skim.decode(index, limits)
    )


def holds_host_name(value: object, depth: int = 0) -> bool:
    """Whether a parsed value (plain dicts and lists) has a key of :data:`HOST_NAMES` anywhere.

    The full reading's host search only finds a host under such a key (or as an
    attribute so named), and the JSON conversion keeps keys: a value without one
    is not decoded by a light reader.
    """
    if depth > 256:
        return True  # too deep to tell: decode it
    if isinstance(value, dict):
        if not HOST_NAMES.isdisjoint(value):
            return True
        items: Iterable[object] = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return False
    return any(holds_host_name(item, depth + 1) for item in items if isinstance(item, dict | list))


def light_value(fmt: ValueFormat, data: bytes, layers: tuple[str, ...] = ()) -> Decoded:
    """The whole value of a light reading: its format and size, no value."""
    return Decoded(format=fmt, value=None, size=len(data), layers=layers)


def mentions_host(data: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether ``data[start:end]`` holds one of :data:`HOST_MARKERS`."""
    stop = len(data) if end is None else end
    return any(data.find(marker, start, stop) >= 0 for marker in HOST_MARKERS)


def part(whole: Decoded, value: JsonValue) -> Decoded:
    """One entry of a decoded session as a ``Decoded`` of its own (size: its JSON length)."""
    java_class = value.get(CLASS) if isinstance(value, dict) else None
    try:
        size = len(orjson.dumps(value))
    except TypeError:  # pragma: no cover - the decoders emit plain JSON
        size = 0
    return Decoded(
        format=whole.format,
        value=value,
        size=size,
        java_class=java_class if isinstance(java_class, str) else None,
    )


def entries_of(decoded: Decoded) -> dict[str, Decoded]:
    """The top-level entries of a decoded map value (empty when it is not a map)."""
    value = decoded.value
    if isinstance(value, dict):
        if isinstance(value.get(ENTRIES), dict) and CLASS in value:
            value = value[ENTRIES]
            assert isinstance(value, dict)
        return {name: part(decoded, item) for name, item in value.items()}
    return {}


def decode(record: RawRecord, limits: Limits | None) -> Decoded:
    """The record's string value decoded (an empty ``Decoded`` for a hash)."""
    data = record.value or b""
    return decode_value(data) if limits is None else decode_value(data, limits)


def epoch_ms(value: JsonValue, *, unit: str = "s") -> int | None:
    """A time as epoch ms, from seconds/ms numbers, ISO text or a typed date value."""
    if isinstance(value, dict):
        millis = value.get(EPOCH_MILLIS)
        if isinstance(millis, int):
            return millis
        value = value.get(VALUE)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value * 1000) if unit == "s" else int(value)
    if isinstance(value, str):
        return iso_ms(value)
    return None


def iso_ms(text: str) -> int | None:
    """Epoch ms of an ISO-8601 instant (``2026-11-29T09:48:55.554Z``); ``None`` if naive or bad."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)


def find_host(attributes: Mapping[str, Decoded]) -> tuple[str, str] | None:
    """The first host-like string anywhere in the attributes, and the path to it.

    An attribute named like a host (``host``, ``hostname``...) wins; then, in
    attribute order, a field with such a name at any depth (depth first).
    """
    for name, decoded in attributes.items():
        if name in HOST_NAMES and isinstance(decoded.value, str) and decoded.value:
            return decoded.value, name
    for name, decoded in attributes.items():
        found = _search_host(decoded.value, name, 0)
        if found:
            return found
    return None


def _search_host(value: JsonValue, path: str, depth: int) -> tuple[str, str] | None:
    if depth > 32:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if key in HOST_NAMES and isinstance(item, str) and item:
                return item, f"{path}.{key}"
        for key, item in value.items():
            if key == CLASS:
                continue
            sub = path if key in (ENTRIES, ITEMS) else f"{path}.{key}"
            found = _search_host(item, sub, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _search_host(item, f"{path}.{index}", depth + 1)
            if found:
                return found
    return None


def split_signed(text: str) -> str:
    """``<id>.<signature>`` -> ``<id>`` (express, fastify, itsdangerous signers)."""
    head, dot, _ = text.rpartition(".")
    return head if dot and head else text


def walk(value: JsonValue, path: Sequence[str]) -> JsonValue:
    """Follow ``path`` through plain and typed maps (``@entries``) and object fields."""
    for step in path:
        if isinstance(value, dict):
            inner = value.get(ENTRIES)
            if isinstance(inner, dict) and step not in value:
                value = inner
            value = value.get(step)
        else:
            return None
    return value


def text_of(value: JsonValue) -> str | None:
    """A principal-like scalar as text (ids are often ints; typed scalars keep ``@value``)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        inner = value.get(VALUE)
        if isinstance(inner, str | int) and not isinstance(inner, bool):
            return str(inner)
        items = value.get(ITEMS)
        if isinstance(items, list) and items:
            return text_of(items[0])
    if isinstance(value, list) and value:
        return text_of(value[0])
    return None


def iter_entries(value: JsonValue) -> Iterator[tuple[str, JsonValue]]:
    """``(key, value)`` of a plain or typed map."""
    if isinstance(value, dict):
        inner = value.get(ENTRIES) if CLASS in value else None
        source = inner if isinstance(inner, dict) else value
        yield from ((k, v) for k, v in source.items() if not (source is value and k == CLASS))
