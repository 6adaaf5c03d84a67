r"""Decoded values: what every decoder returns, and the "typed JSON" they share.

A decoded value is plain JSON (``None``, ``bool``, ``int``, ``float``, ``str``,
``list``, ``dict``) so it can be printed with ``--json`` as is. Java type
information survives in a few reserved keys, the same for JDK serialization,
Jackson and fastjson:

=========================================  ====================================================
Java value                                 JSON value
=========================================  ====================================================
String, Long, Integer, Boolean, Double…    the natural JSON scalar (``"x"``, ``5``, ``true``)
user class / unknown JDK class             ``{"@class": FQCN, "<field>": value, ...}`` with
                                           superclass fields included
java.util.Date, java.time.*                ``{"@class": FQCN, "@value": ISO-8601 text}``; a Date
                                           or Instant also has ``"@epochMillis": ms``
BigDecimal, BigInteger, enum, Character,   ``{"@class": FQCN, "@value": text}``
UUID, Class, other text-like values        (a JSON integer past 64 bits: a BigInteger)
List, Set, Queue, arrays                   ``{"@class": FQCN, "@items": [values]}``
Map                                        ``{"@class": FQCN, "@entries": {key: value}}`` when
                                           every key is a string, else ``[[key, value], ...]``
custom ``writeObject`` data we cannot      ``"@data": [values or {"@hex": "..."}]`` on the object
interpret
a cycle (an object containing itself)      ``{"@ref": FQCN}``
NaN and infinities                         ``{"@class": "java.lang.Double", "@value": "NaN"}``
                                           (JSON has no NaN)
char / Character                           one-character string, or ``@value`` form; a lone
                                           surrogate becomes U+FFFD (``\ud800`` text in a char)
TreeMap/TreeSet with a comparator          a ``"comparator"`` key beside ``@entries``/``@items``
a superclass field hidden by a subclass    ``"Animal.name"``-style qualified key
=========================================  ====================================================

``Decoded.java_class`` is the class a reader gets back, not the one on the wire:
``java.time.LocalDate`` rather than ``java.time.Ser``, ``java.util.EnumSet``
rather than its serialization proxy. ``value`` is ``None`` for EMPTY,
UNDECODABLE and BINARY values, and for a serialized Java ``null``.

A value cut by :class:`Limits` keeps its shape: lists and objects end early
(they are not padded with ``null``), containers nested too deeply are left
empty (keeping their ``@class``), long strings are shortened, and
``Decoded.error`` says what was cut. The reserved keys mean the above only in these shapes
(:func:`reserved_shape`); elsewhere they are ordinary keys.

Nothing here imports textual, redis or aiohttp.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

__all__ = [
    "CLASS",
    "DATA",
    "DEFAULT_LIMITS",
    "ENTRIES",
    "EPOCH_MILLIS",
    "HEX",
    "ITEMS",
    "JAVA_MAGIC",
    "REDIS_CLI_ESCAPES",
    "REF",
    "VALUE",
    "Decoded",
    "JsonValue",
    "Limits",
    "ValueFormat",
    "clean_text",
    "date_value",
    "decimal_text",
    "escaped_preview",
    "hex_preview",
    "reserved_shape",
    "undecodable",
]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"

CLASS = "@class"
VALUE = "@value"
ITEMS = "@items"
ENTRIES = "@entries"
EPOCH_MILLIS = "@epochMillis"
DATA = "@data"
HEX = "@hex"
REF = "@ref"

JAVA_MAGIC = b"\xac\xed\x00\x05"
"""``STREAM_MAGIC`` and ``STREAM_VERSION``: the first bytes of every Java serialization stream."""


class ValueFormat(StrEnum):
    """How a value was encoded."""

    JAVA = "java"
    """Java serialization (``AC ED 00 05``), Spring's default serializer."""
    JACKSON = "jackson"
    """JSON with Jackson default typing (``@class`` / ``["fqcn", value]``)."""
    FASTJSON = "fastjson"
    """fastjson with ``@type`` and ``1L``-style number suffixes."""
    JSON = "json"
    """Plain JSON without type information."""
    TEXT = "text"
    """UTF-8 text that is not JSON."""
    EMPTY = "empty"
    """Zero bytes: a removed attribute (tombstone), a shadow key or a serialized null."""
    BINARY = "binary"
    """Bytes in no format we know; shown escaped and as hex."""
    UNDECODABLE = "undecodable"
    """Looked like a known format but could not be read (truncated, corrupt, too deep...)."""
    PICKLE = "pickle"
    """Python pickle (Django, Flask-Session <= 0.6, cachelib, Beaker), read without loading."""
    MARSHAL = "marshal"
    """Ruby ``Marshal.dump`` (``04 08``): Rails and Rack stores, read without loading."""
    PHP = "php"
    """PHP ``serialize()`` (``a:2:{...}``): phpredis's ``php_serialize`` handler."""
    PHP_SESSION = "php-session"
    """PHP's ``php`` session handler: ``name|<serialize(value)>`` per variable."""
    PHP_BINARY = "php-binary"
    """PHP's ``php_binary`` session handler: a length byte, the name, its ``serialize()``."""
    IGBINARY = "igbinary"
    """PHP igbinary (``00 00 00 02``): phpredis's ``igbinary`` serializer or session handler."""
    MSGPACK = "msgpack"
    """MessagePack (Flask-Session >= 0.7 default, PHP's ``msgpack`` handler)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep hostile input from costing unbounded time or memory."""

    max_depth: int = 64
    """Nesting deeper than this is cut off with an error note."""
    max_nodes: int = 100_000
    """Values (objects, items, entries) rendered before stopping with an error note."""
    max_string: int = 1 << 20
    """Characters of one string kept; longer ones are truncated with a note."""
    preview_bytes: int = 64
    """Bytes shown in previews of binary or undecodable values."""
    max_inflated: int = 32 << 20
    """Bytes a compressed (zlib, gzip) layer may inflate to before it is refused."""


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded value, as the Java application that wrote it would see it."""

    format: ValueFormat
    """How it was encoded."""
    value: JsonValue
    """The value in the typed-JSON convention above (``None`` for empty/undecodable)."""
    size: int
    """Length of the raw bytes."""
    java_class: str | None = None
    """Java class of the top-level value, when the format records one."""
    error: str | None = None
    """Why the value is undecodable, or what part of it could not be read."""
    preview: str | None = None
    """redis-cli-style escaped text of the first bytes (binary and undecodable values)."""
    hex: str | None = None
    """Hex of the first bytes (binary and undecodable values)."""
    layers: tuple[str, ...] = ()
    """Wrappers removed before ``format`` could be read, outermost first (``("pickle",
    "base64", "zlib")`` for Beaker's JSON sessions); empty for a value stored as is."""

    def __post_init__(self) -> None:
        # The last guard for the texts beside the value: a class name or an error
        # message built from hostile bytes may hold lone surrogates, which no JSON
        # writer (orjson) accepts. Decoders clean the value itself as they render it.
        if self.java_class is None and self.error is None and self.preview is None:
            return  # the common case (an attribute's part): nothing to clean
        for name in ("java_class", "error", "preview"):
            text = getattr(self, name)
            if text is not None and not text.isascii():
                object.__setattr__(self, name, clean_text(text))

    def to_json(self) -> dict[str, JsonValue]:
        """The ``--json`` form: format, class, value, size, error (+ preview, hex, layers)."""
        out: dict[str, JsonValue] = {
            "format": self.format.value,
            "class": self.java_class,
            "value": self.value,
            "size": self.size,
            "error": self.error,
        }
        if self.preview is not None:
            out["preview"] = self.preview
            out["hex"] = self.hex
        if self.layers:
            out["layers"] = list(self.layers)
        return out


# redis-cli's sdscatrepr, byte by byte: backslash and double quote are escaped,
# five control characters get their C escapes, and every other byte outside C's
# isprint() (0x20-0x7e in the C locale redis-cli runs in) becomes \xNN, so UTF-8
# prints as bytes. redis_io's `quote` derives its bytes table from this one.
_C_ESCAPES = {
    0x5C: "\\\\",
    0x22: '\\"',
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x07: "\\a",
    0x08: "\\b",
}
REDIS_CLI_ESCAPES: tuple[str, ...] = tuple(
    _C_ESCAPES.get(b, chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02x}") for b in range(256)
)
"""How redis-cli prints each byte value inside a quoted string (index = byte)."""


def escaped_preview(data: bytes, limit: int = DEFAULT_LIMITS.preview_bytes) -> str:
    """The first ``limit`` bytes escaped as redis-cli prints them, without quotes.

    ``…`` is appended when the data is longer.
    """
    shown = "".join(map(REDIS_CLI_ESCAPES.__getitem__, data[:limit]))
    return shown + ("…" if len(data) > limit else "")


def hex_preview(data: bytes, limit: int = DEFAULT_LIMITS.preview_bytes) -> str:
    """Space-separated hex of the first ``limit`` bytes (``…`` when longer)."""
    return data[:limit].hex(" ") + (" …" if len(data) > limit else "")


def undecodable(
    data: bytes, error: str, *, java_class: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> Decoded:
    """A value that could not be read, with an escaped preview and hex so nothing is hidden."""
    return Decoded(
        format=ValueFormat.UNDECODABLE,
        value=None,
        size=len(data),
        java_class=java_class,
        error=error,
        preview=escaped_preview(data, limits.preview_bytes),
        hex=hex_preview(data, limits.preview_bytes),
    )


_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which no JSON writer accepts) replaced by U+FFFD.

    Decoders that read UTF-8 leniently (``surrogatepass``) or UTF-16 can produce them.
    """
    if text.isascii():  # most texts: one C test, no encoding
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", text)
    return text


def date_value(java_class: str, epoch_millis: int) -> dict[str, JsonValue]:
    """Typed JSON for a ``java.util.Date``-like instant: ISO-8601 UTC text plus epoch ms.

    Out-of-range instants (before year 1 or after 9999) keep only the epoch ms.
    """
    out: dict[str, JsonValue] = {CLASS: java_class}
    try:
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=epoch_millis)
        out[VALUE] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:
        out[VALUE] = None
    out[EPOCH_MILLIS] = epoch_millis
    return out


def decimal_text(unscaled: int, scale: int) -> str:
    """``BigDecimal.toString()`` of ``unscaled * 10**-scale``: plain unless the exponent is small.

    >>> decimal_text(1050, 2), decimal_text(12, 8), decimal_text(1, -3)
    ('10.50', '1.2E-7', '1E+3')
    """
    sign = "-" if unscaled < 0 else ""
    digits = str(abs(unscaled))
    if scale == 0:
        return sign + digits
    adjusted = len(digits) - 1 - scale
    if scale > 0 and adjusted >= -6:
        if scale >= len(digits):
            return f"{sign}0.{'0' * (scale - len(digits))}{digits}"
        return f"{sign}{digits[:-scale]}.{digits[-scale:]}"
    text = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
    if adjusted:
        text += f"E{'+' if adjusted > 0 else ''}{adjusted}"
    return sign + text


# A typed scalar is exactly these keys: anything more is an ordinary object.
_SCALAR_KEYS = frozenset({CLASS, VALUE, EPOCH_MILLIS})
_HEX_KEYS = frozenset({CLASS, HEX})


def reserved_shape(value: Mapping[str, JsonValue]) -> str | None:
    """Which reserved form of the convention a dict has, if it has one exactly.

    The decoders write the reserved keys only in these shapes; a dict that
    merely contains one (plain JSON ``{"@items": [1], "other": 2}``) is an
    ordinary object, so nothing in it is hidden.

    Returns:
        ``REF`` for exactly ``{"@ref": FQCN}``; ``HEX`` for ``{"@hex": text}``
        with at most a class; ``VALUE`` for ``{"@class", "@value"}`` (plus
        ``@epochMillis``); ``ITEMS`` or ``ENTRIES`` for a class with its elements,
        whose other keys (a sorted collection's ``comparator``, a subclass's
        fields, ``@data``) are fields shown beside the elements; else ``None``.
    """
    if REF in value:
        return REF if len(value) == 1 and isinstance(value[REF], str) else None
    if HEX in value:
        return HEX if value.keys() <= _HEX_KEYS and isinstance(value[HEX], str) else None
    if not isinstance(value.get(CLASS), str):
        return None
    if VALUE in value:
        return VALUE if value.keys() <= _SCALAR_KEYS else None
    if ITEMS in value:
        return ITEMS if ENTRIES not in value and isinstance(value[ITEMS], list) else None
    entries = value.get(ENTRIES)
    if isinstance(entries, dict) or (
        isinstance(entries, list)
        and all(isinstance(pair, list) and len(pair) == 2 for pair in entries)
    ):
        return ENTRIES
    return None
