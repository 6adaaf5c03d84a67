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
UUID, Class, other text-like values
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

Nothing here imports textual, redis or aiohttp.
"""

from __future__ import annotations

import datetime as dt
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
    "REF",
    "VALUE",
    "Decoded",
    "JsonValue",
    "Limits",
    "ValueFormat",
    "date_value",
    "escaped_preview",
    "hex_preview",
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

    def to_json(self) -> dict[str, JsonValue]:
        """The ``--json`` form: format, class, value, size, error (+ preview, hex)."""
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
        return out


def escaped_preview(data: bytes, limit: int = DEFAULT_LIMITS.preview_bytes) -> str:
    """The first ``limit`` bytes escaped as redis-cli prints them, without quotes.

    ``…`` is appended when the data is longer.
    """
    out = []
    for byte in data[:limit]:
        if byte == 0x5C:
            out.append("\\\\")
        elif byte == 0x22:
            out.append('\\"')
        elif byte in _C_ESCAPES:
            out.append(_C_ESCAPES[byte])
        elif 0x20 <= byte <= 0x7E:
            out.append(chr(byte))
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out) + ("…" if len(data) > limit else "")


_C_ESCAPES = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x07: "\\a", 0x08: "\\b"}


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
