"""The session model: one Spring session as read from Redis, decoded on demand.

``redis_io`` reads a :class:`RawSession` (the hash, its TTL and its shadow
key's TTL); :meth:`Session.from_raw` turns it into times, state, host and
principal. Attribute values are decoded lazily and cached, so listing many
sessions decodes only what the list shows.

A list may read less than the whole hash (the projection of
``redis_io/discovery.py``): the values it did not need are then absent from
``RawSession.fields`` and only their lengths are known
(``RawSession.value_sizes``). Every list field (times, state, layout, host,
principal, attribute names, tombstones, size) comes out the same either way;
only :meth:`Session.attribute` of an unread value differs (it says so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

import orjson

from inspector.core.decoders import decode_value, jdk_number
from inspector.core.spring import (
    ATTRIBUTE_PREFIX,
    CREATION_TIME,
    LAST_ACCESSED_TIME,
    MAX_INACTIVE_INTERVAL,
    PRINCIPAL_INDEX_ATTRIBUTE,
    SECURITY_CONTEXT_ATTRIBUTE,
)
from inspector.core.values import (
    CLASS,
    DEFAULT_LIMITS,
    ENTRIES,
    ITEMS,
    Decoded,
    JsonValue,
    ValueFormat,
)

__all__ = [
    "HOST_FIELD_NAMES",
    "NOT_READ",
    "SESSION_MAX_NODES",
    "HostField",
    "Layout",
    "RawSession",
    "Session",
    "SessionState",
    "ceil_seconds",
    "count_values",
    "find_host",
    "host_in_attribute",
    "json_line",
    "listing_json",
]

HOST_FIELD_NAMES = ("host", "hostname", "hostName", "container", "instance", "server")
# Byte needles for a cheap pre-check: an attribute whose bytes contain none of
# these cannot hold a host field, so it is not decoded just to look. A name
# that contains another (hostname contains host) adds nothing as a needle.
_HOST_NEEDLES = tuple(
    name.encode()
    for name in HOST_FIELD_NAMES
    if not any(other != name and other in name for other in HOST_FIELD_NAMES)
)
# The indexed layout keeps the hash 300 s past the expiry; half of that
# separates it from the default layout's EXPIREAT at the expiry itself.
_INDEXED_MARGIN_MS = 150_000
SESSION_MAX_NODES = 250_000
"""Values rendered for all the attributes of one session together (``show``, the detail screen)."""
ATTRIBUTE_MIN_NODES = 1_000
"""What each attribute may still render once the session's budget is spent."""
_DIGITS = re.compile(rb"-?\d{1,19}")
NOT_READ = "not read: the list reads only what it shows; open the session to see the value"


class SessionState(StrEnum):
    """Where a session is in its life."""

    ACTIVE = "active"
    INVALIDATED = "invalidated"
    """``maxInactiveInterval`` = 0: invalidated, the hash lingers up to 300 s (indexed)."""
    NEVER_EXPIRES = "never-expires"
    """A negative ``maxInactiveInterval``."""
    EXPIRED = "expired"
    """Past its expiry (or its shadow key gone) while the hash lingers."""
    UNKNOWN = "unknown"
    """Metadata that cannot be true (see :attr:`Session.warnings`): no state is claimed."""


class Layout(StrEnum):
    """Which repository wrote the session, as far as the keys tell."""

    INDEXED = "indexed"
    """Servlet/reactive indexed repository: shadow key, hash TTL = interval + 300 s."""
    DEFAULT = "default"
    """Spring Session 3 default repository: one hash, EXPIREAT at the expiry."""
    UNKNOWN = "unknown"


# Not frozen: one is built for every listed session, and a frozen dataclass's
# __init__ (object.__setattr__ per field) costs 2.5x; nothing mutates it.
@dataclass(slots=True)
class RawSession:
    """A session hash as read from Redis, before any decoding."""

    key: str
    namespace: str
    session_id: str
    fields: Mapping[str, bytes]
    """Hash field name (UTF-8) to raw value, in the order Redis returned them."""
    hash_ttl_ms: int
    """PTTL of the hash: -1 when it has no expiry."""
    shadow_ttl_ms: int | None
    """PTTL of ``<ns>:sessions:expires:<id>``; ``None`` when that key does not exist."""
    observed_at_ms: int
    """Client time when the values were read (epoch ms)."""
    value_sizes: Mapping[str, int] | None = None
    """Field name to value length, for the fields whose values were not read
    (a list's projection); ``None`` when every value is in ``fields``."""
    value_limit: int | None = None
    """``--max-value-bytes`` of the read: values longer were left unread (in ``value_sizes``)."""

    @property
    def complete(self) -> bool:
        """Whether every field's value was read."""
        return not self.value_sizes


@dataclass(frozen=True, slots=True)
class HostField:
    """Where to read the host from (``--host-field ATTR.PATH``).

    Attribute names contain dots (``scopedTarget.sampleSession``), so the longest
    attribute name that prefixes the path wins; the rest is a dotted path of
    field names, map keys or list indexes.
    """

    path: str

    def attributes_on_path(self, names: Iterable[str]) -> list[str]:
        """The attribute names the path can start with, longest first."""
        path = self.path
        return sorted(
            (n for n in names if path == n or path.startswith(n + ".")), key=len, reverse=True
        )

    def locate(self, attributes: Mapping[str, Decoded]) -> str | None:
        """The host at this path, or ``None`` when the path leads nowhere."""
        for name in self.attributes_on_path(attributes):
            value: JsonValue = attributes[name].value
            rest = self.path[len(name) + 1 :]
            for part in rest.split(".") if rest else []:
                value = _step(value, part)
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                return str(value)
        return None


def _step(value: JsonValue, part: str) -> JsonValue:
    if isinstance(value, dict):
        if part in value:
            return value[part]
        entries = value.get(ENTRIES)
        if isinstance(entries, dict):
            return entries.get(part)
        value = value.get(ITEMS)
    if isinstance(value, list):
        index = _index(part)
        return value[index] if index is not None and index < len(value) else None
    return None


def _index(part: str) -> int | None:
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    return int(part) if part.isdecimal() else None


def find_host(value: JsonValue, depth: int = 0) -> str | None:
    """The first string field named like a host (``host``, ``hostname``...), depth first."""
    if depth > 32:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if key in HOST_FIELD_NAMES and isinstance(item, str) and item:
                return item
        for key, item in value.items():
            if key != CLASS:
                found = find_host(item, depth + 1)
                if found:
                    return found
    elif isinstance(value, list):
        for item in value:
            found = find_host(item, depth + 1)
            if found:
                return found
    return None


def host_in_attribute(name: str, raw: bytes) -> str | None:
    """The host one attribute holds, by the rule of ``Session.host`` without ``--host-field``.

    An attribute named like a host (``session.setAttribute("host", name)``) is
    the host when it is a non-empty string; otherwise the first string field
    named like a host inside it, looked for only when the bytes contain such a
    name at all.
    """
    if not raw:
        return None
    if name in HOST_FIELD_NAMES:
        value = decode_value(raw).value
        if isinstance(value, str) and value:
            return value
    for needle in _HOST_NEEDLES:  # a loop, not any(genexpr): 3x cheaper, per listed session
        if needle in raw:
            return find_host(_searchable(raw))
    return None


def _searchable(raw: bytes) -> JsonValue:
    # Host fields are plain keys in Jackson and plain JSON alike, so parsed
    # JSON is searched as is: building the typed tree (dates, wrappers) is
    # left for when someone looks at the attribute.
    if raw[:1] in (b"{", b"["):
        try:
            parsed: JsonValue = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            return parsed
    return decode_value(raw).value


def _as_int(data: bytes | None) -> int | None:
    """A metadata field as a number, however it was serialized (text, JSON, JDK Long)."""
    if data is None or not data:
        return None
    if (data.isdigit() and len(data) < 20) or _DIGITS.fullmatch(data):
        return int(data)
    # The common case, without building a Decoded (5x the cost, on every listed
    # session); when it misses, decode_value's own check of it is one len().
    number = jdk_number(data)
    if number is not None:
        return number
    value = decode_value(data).value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.encode()):
        return int(value)
    return None


def _principal_from_context(value: JsonValue) -> str | None:
    """``SecurityContextImpl.authentication.principal`` as a name (JDK or Jackson)."""
    if not isinstance(value, dict):
        return None
    authentication = value.get("authentication")
    if not isinstance(authentication, dict):
        return None
    principal = authentication.get("principal")
    if isinstance(principal, str) and principal:
        return principal
    if isinstance(principal, dict):
        for key in ("username", "name", "login", "email"):
            candidate = principal.get(key)
            if isinstance(candidate, str) and candidate:
                return candidate
    name = authentication.get("name")
    return name if isinstance(name, str) and name else None


@dataclass(slots=True)
class Session:
    """One Spring session: metadata, state, host and principal, attributes on demand."""

    raw: RawSession
    creation_time: int | None
    last_accessed_time: int | None
    max_inactive_interval: int | None
    state: SessionState
    layout: Layout
    expires_at: int | None
    """``lastAccessedTime + maxInactiveInterval`` in epoch ms; ``None`` if it never expires."""
    attribute_names: list[str]
    """Attributes with a value, in hash order."""
    removed_attributes: list[str]
    """Tombstones: attribute fields left with an empty value by ``removeAttribute``."""
    host: str | None = None
    host_source: str | None = None
    """Attribute (and path) the host came from."""
    principal: str | None = None
    warnings: list[str] = field(default_factory=list)
    """What does not add up: absurd metadata, an invalidated session whose shadow key is back."""
    _decoded: dict[str, Decoded] = field(default_factory=dict, repr=False)
    _size: int | None = field(default=None, repr=False)
    _nodes_left: int = field(default=SESSION_MAX_NODES, repr=False)

    @property
    def id(self) -> str:
        """The session id."""
        return self.raw.session_id

    @property
    def namespace(self) -> str:
        """The namespace, without the trailing colon."""
        return self.raw.namespace

    @property
    def key(self) -> str:
        """The hash's key."""
        return self.raw.key

    @property
    def size(self) -> int:
        """Bytes of all field names and values."""
        if self._size is not None:
            return self._size
        raw = self.raw
        # Whole-string operations, not a loop: this runs for every listed session.
        names = "".join(raw.fields)
        # Names were decoded with surrogateescape: this gives their bytes back.
        total = len(names.encode("utf-8", "surrogateescape")) + sum(map(len, raw.fields.values()))
        if raw.value_sizes:
            others = "".join(raw.value_sizes).encode("utf-8", "surrogateescape")
            total += len(others) + sum(raw.value_sizes.values())
        self._size = total
        return total

    @classmethod
    def from_raw(
        cls,
        raw: RawSession,
        *,
        host_field: HostField | None = None,
        principal_hint: str | None = None,
    ) -> Session:
        """Decode what the list needs: times, state, host, principal.

        Args:
            raw: The session as read from Redis.
            host_field: Where to read the host, instead of searching for one.
            principal_hint: A principal known from a principal index set.
        """
        fields = raw.fields
        warnings: list[str] = []
        creation = _checked_time(fields, CREATION_TIME, raw.observed_at_ms, warnings)
        last_access = _checked_time(fields, LAST_ACCESSED_TIME, raw.observed_at_ms, warnings)
        interval = _as_int(fields.get(MAX_INACTIVE_INTERVAL))
        if interval is None and fields.get(MAX_INACTIVE_INTERVAL):
            warnings.append(
                f"{MAX_INACTIVE_INTERVAL} is {_shown(fields[MAX_INACTIVE_INTERVAL])}, "
                "not a whole number of seconds"
            )
        elif interval is not None and interval not in _JAVA_INT:
            # Spring keeps the interval in a Java int: a value outside it was not
            # written by Spring, and adding it to a time gives nonsense.
            warnings.append(
                f"{MAX_INACTIVE_INTERVAL} is {_shown(fields[MAX_INACTIVE_INTERVAL])}, "
                "outside the range of a Java int"
            )
            interval = None
        names: list[str] = []
        removed: list[str] = []
        for name, value in fields.items():
            if name.startswith(ATTRIBUTE_PREFIX):
                (names if value else removed).append(name[len(ATTRIBUTE_PREFIX) :])
        if raw.value_sizes:
            for name, length in raw.value_sizes.items():
                if name.startswith(ATTRIBUTE_PREFIX):
                    (names if length else removed).append(name[len(ATTRIBUTE_PREFIX) :])
        expires_at = None
        if warnings:
            pass  # no expiry is computed from a time or interval that cannot be true
        elif interval is not None and interval > 0 and last_access is not None:
            expires_at = last_access + interval * 1000
        layout = _layout(raw, expires_at)
        state = _state(raw, interval, expires_at, layout)
        if warnings:
            state = SessionState.UNKNOWN
        elif state is SessionState.INVALIDATED and raw.shadow_ttl_ms is not None:
            # Spring 2.x: a request that loaded the session before invalidate()
            # saves after it and re-creates the shadow key, whose expiry then
            # fires a second "expired" event for a session already destroyed.
            warnings.append(
                "inconsistent: invalidated (maxInactiveInterval 0) but its shadow key "
                f"exists again (TTL {_ttl_text(raw.shadow_ttl_ms)}): a request racing "
                "the invalidation re-created it"
            )
        session = cls(
            raw=raw,
            creation_time=creation,
            last_accessed_time=last_access,
            max_inactive_interval=interval,
            state=state,
            layout=layout,
            expires_at=expires_at,
            attribute_names=names,
            removed_attributes=removed,
            warnings=warnings,
        )
        session._find_host(host_field)
        session.principal = session._find_principal() or principal_hint
        return session

    def attribute(self, name: str) -> Decoded:
        """The decoded value of an attribute (cached); a tombstone decodes as ``EMPTY``.

        A value a list did not read (``raw.value_sizes``) is ``UNDECODABLE`` with
        its size and an error saying so: read the session again to see it.
        """
        decoded = self._decoded.get(name)
        if decoded is None:
            field_name = ATTRIBUTE_PREFIX + name
            data = self.raw.fields.get(field_name)
            sizes = self.raw.value_sizes
            if data is None and sizes and field_name in sizes:
                size, limit = sizes[field_name], self.raw.value_limit
                decoded = Decoded(
                    format=ValueFormat.UNDECODABLE,
                    value=None,
                    size=size,
                    error=(
                        f"not read: {size:,} bytes, more than --max-value-bytes {limit:,}"
                        if limit is not None and size > limit
                        else NOT_READ
                    ),
                )
            else:
                decoded = self._within_budget(data or b"")
            self._decoded[name] = decoded
        return decoded

    def _within_budget(self, data: bytes) -> Decoded:
        """Decode with what is left of the session's value budget, then spend it.

        The budget is per session (so per ``show`` and per detail screen), not
        per value: 30 attributes of 100,000 values each would otherwise cost 30
        times what one may. Every attribute still gets a small share.
        """
        budget = max(min(DEFAULT_LIMITS.max_nodes, self._nodes_left), ATTRIBUTE_MIN_NODES)
        if budget == DEFAULT_LIMITS.max_nodes:
            decoded = decode_value(data)
        else:
            decoded = decode_value(data, replace(DEFAULT_LIMITS, max_nodes=budget))
        used = count_values(decoded.value)
        self._nodes_left = max(self._nodes_left - used, 0)
        if budget < DEFAULT_LIMITS.max_nodes and used >= budget:
            note = f"the session's budget of {SESSION_MAX_NODES:,} values is spent"
            decoded = replace(decoded, error=f"{decoded.error}; {note}" if decoded.error else note)
        return decoded

    def attributes(self) -> Iterator[tuple[str, Decoded]]:
        """Every attribute with a value, decoded, in hash order."""
        for name in self.attribute_names:
            yield name, self.attribute(name)

    def _find_host(self, host_field: HostField | None) -> None:
        if host_field is not None:
            # Only the attributes the path can start in are decoded.
            names = host_field.attributes_on_path(self.attribute_names)
            self.host = host_field.locate({name: self.attribute(name) for name in names})
            self.host_source = host_field.path if self.host else None
            return
        fields = self.raw.fields
        for name in sorted(self.attribute_names):
            raw = fields.get(ATTRIBUTE_PREFIX + name)
            if raw is None:
                continue  # not read (a list's projection reads every value this needs)
            host = host_in_attribute(name, raw)
            if host:
                self.host, self.host_source = host, name
                return

    def _find_principal(self) -> str | None:
        if PRINCIPAL_INDEX_ATTRIBUTE in self.attribute_names:
            value = self.attribute(PRINCIPAL_INDEX_ATTRIBUTE).value
            if isinstance(value, str) and value:
                return value
        if SECURITY_CONTEXT_ATTRIBUTE in self.attribute_names:
            return _principal_from_context(self.attribute(SECURITY_CONTEXT_ATTRIBUTE).value)
        return None

    def to_json(self, *, attributes: bool = False) -> dict[str, JsonValue]:
        """The documented JSON form (``ls --json``; ``show --json`` adds ``attributes``)."""
        raw = self.raw
        out: dict[str, JsonValue] = {
            "id": self.id,
            "namespace": self.namespace,
            "key": self.key,
            "creationTime": self.creation_time,
            "lastAccessedTime": self.last_accessed_time,
            "maxInactiveInterval": self.max_inactive_interval,
            "ttl": ceil_seconds(raw.hash_ttl_ms),
            "shadowTtl": None if raw.shadow_ttl_ms is None else ceil_seconds(raw.shadow_ttl_ms),
            "expiresAt": self.expires_at,
            "state": self.state.value,
            "layout": self.layout.value,
            "host": self.host,
            "hostSource": self.host_source,
            "principal": self.principal,
            "attributeNames": list(self.attribute_names),
            "removedAttributes": list(self.removed_attributes),
            "size": self.size,
            "warnings": list(self.warnings),
        }
        if attributes:
            out["attributes"] = {name: decoded.to_json() for name, decoded in self.attributes()}
        return out


def listing_json(raw: RawSession, *, host_field: HostField | None = None) -> dict[str, JsonValue]:
    """The ``ls --json`` object of a listed Spring session, without building a :class:`Session`.

    The same keys, values and order as ``Session.from_raw(raw).to_json()``
    followed by ``"framework": "spring"``: the common case (times and interval
    stored as decimal text, no ``--host-field``, no principal attribute) is
    computed here, straight from the fields; anything else, and anything a
    warning could be said about, is left to :class:`Session` itself, so the
    rules live in one place and only their cheapest branch is repeated.
    """
    fields = raw.fields
    creation = fields.get(CREATION_TIME)
    last = fields.get(LAST_ACCESSED_TIME)
    interval_data = fields.get(MAX_INACTIVE_INTERVAL)
    if (
        host_field is None
        and creation is not None
        and last is not None
        and interval_data is not None
        and creation.isdigit()
        and last.isdigit()
        and interval_data.isdigit()
        and len(creation) < 17
        and len(last) < 17
        and len(interval_data) < 10
    ):
        names: list[str] = []
        removed: list[str] = []
        skip = len(ATTRIBUTE_PREFIX)
        for name, value in fields.items():
            if name.startswith(ATTRIBUTE_PREFIX):
                (names if value else removed).append(name[skip:])
        sizes = raw.value_sizes
        if sizes:
            for name, length in sizes.items():
                if name.startswith(ATTRIBUTE_PREFIX):
                    (names if length else removed).append(name[skip:])
        creation_time, last_access, interval = int(creation), int(last), int(interval_data)
        horizon = raw.observed_at_ms + _FUTURE_SLACK_MS
        if (
            creation_time <= horizon
            and last_access <= horizon
            and interval in _JAVA_INT
            and PRINCIPAL_INDEX_ATTRIBUTE not in names
            and SECURITY_CONTEXT_ATTRIBUTE not in names
        ):
            expires_at = last_access + interval * 1000 if interval > 0 else None
            layout = _layout(raw, expires_at)
            state = _state(raw, interval, expires_at, layout)
            if state is not SessionState.INVALIDATED or raw.shadow_ttl_ms is None:
                host = source = None
                for name in sorted(names):
                    data = fields.get(ATTRIBUTE_PREFIX + name)
                    if data is None:
                        continue
                    host = host_in_attribute(name, data)
                    if host:
                        source = name
                        break
                size = len("".join(fields).encode("utf-8", "surrogateescape")) + sum(
                    map(len, fields.values())
                )
                if sizes:
                    size += len("".join(sizes).encode("utf-8", "surrogateescape")) + sum(
                        sizes.values()
                    )
                shadow = raw.shadow_ttl_ms
                return {
                    "id": raw.session_id,
                    "namespace": raw.namespace,
                    "key": raw.key,
                    "creationTime": creation_time,
                    "lastAccessedTime": last_access,
                    "maxInactiveInterval": interval,
                    "ttl": ceil_seconds(raw.hash_ttl_ms),
                    "shadowTtl": None if shadow is None else ceil_seconds(shadow),
                    "expiresAt": expires_at,
                    "state": state.value,
                    "layout": layout.value,
                    "host": host or None,
                    "hostSource": source,
                    "principal": None,
                    "attributeNames": list(names),
                    "removedAttributes": list(removed),
                    "size": size,
                    "warnings": [],
                    "framework": "spring",
                }
    out = Session.from_raw(raw, host_field=host_field).to_json()
    out["framework"] = "spring"
    return out


def json_line(value: JsonValue) -> bytes:
    """``value`` as one JSON line; text that is not UTF-8 (surrogateescape names) as U+FFFD.

    A hash field name of invalid UTF-8 would otherwise make orjson refuse the
    whole listing; only such a value pays for the copy.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return orjson.dumps(_valid_text(value), option=orjson.OPT_APPEND_NEWLINE)


def _valid_text(value: JsonValue) -> JsonValue:
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_valid_text(item) for item in value]
    if isinstance(value, dict):
        return {str(_valid_text(key)): _valid_text(item) for key, item in value.items()}
    return value


_JAVA_INT = range(-(1 << 31), 1 << 31)
# A time more than a day ahead of this machine's clock is not clock skew.
_FUTURE_SLACK_MS = 86_400_000


def _shown(data: bytes) -> str:
    """A metadata value as stored, for a warning: short, printable."""
    value = decode_value(data).value
    if isinstance(value, dict) and CLASS in value:
        value = value.get("@value", value)
    text = str(value) if value is not None else data[:40].decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 40 else text[:39] + "…"


def _checked_time(
    fields: Mapping[str, bytes], name: str, now_ms: int, warnings: list[str]
) -> int | None:
    """An epoch-ms metadata field as stored; a warning when it cannot be a real time."""
    data = fields.get(name)
    value = _as_int(data)
    if data and value is None:
        warnings.append(f"{name} is {_shown(data)}, not a time in epoch ms")
    elif value is not None and value < 0:
        warnings.append(f"{name} is {value}, before 1970")
    elif value is not None and value > now_ms + _FUTURE_SLACK_MS:
        from_now = (value - now_ms) // 86_400_000
        warnings.append(f"{name} is {value}, {from_now} days in the future")
    return value


def _ttl_text(ttl_ms: int) -> str:
    return "none" if ttl_ms == -1 else f"{ceil_seconds(ttl_ms)} s"


def ceil_seconds(ttl_ms: int) -> int:
    """A PTTL in whole seconds, rounded up as ``TTL`` rounds it.

    Negative sentinels stay as they are: -1 (no expiry) and -2 (no such key).
    """
    return ttl_ms if ttl_ms < 0 else (ttl_ms + 999) // 1000


def _layout(raw: RawSession, expires_at: int | None) -> Layout:
    if raw.shadow_ttl_ms is not None:
        return Layout.INDEXED
    if raw.hash_ttl_ms < 0 or expires_at is None:
        return Layout.UNKNOWN
    remaining = expires_at - raw.observed_at_ms
    return Layout.INDEXED if raw.hash_ttl_ms > remaining + _INDEXED_MARGIN_MS else Layout.DEFAULT


def _state(
    raw: RawSession, interval: int | None, expires_at: int | None, layout: Layout
) -> SessionState:
    if interval == 0:
        return SessionState.INVALIDATED
    if interval is not None and interval < 0:
        return SessionState.NEVER_EXPIRES
    if expires_at is not None and raw.observed_at_ms >= expires_at:
        return SessionState.EXPIRED
    if layout is Layout.INDEXED and raw.shadow_ttl_ms is None:
        return SessionState.EXPIRED
    return SessionState.ACTIVE


def count_values(value: JsonValue) -> int:
    """Values in a typed-JSON tree, counted as the decoders count them (a key is one)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count
