"""JSON-family values: Jackson default typing, fastjson, plain JSON, text.

Jackson (Spring Data Redis's ``GenericJackson2JsonRedisSerializer``) records
Java types two ways: an ``"@class"`` property on objects and maps, and a
``["<FQCN>", value]`` wrapper around scalars, collections and arrays
(``["java.util.Date", 1552129074569]``, ``["java.lang.Long", 5]`` in 2.7.0-2.7.1).
fastjson uses ``"@type"`` and number suffixes (``1L``, ``1.0F``) that strict
JSON parsers reject. Both become the typed JSON of :mod:`inspector.core.values`.

Numbers keep what Java would see: a ``BigDecimal``/``BigInteger`` keeps its
exact text (``10.50``, not ``10.5``), and an integer past a long becomes a
``BigInteger`` rather than a rounded double.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import orjson

from inspector.core.values import (
    CLASS,
    DEFAULT_LIMITS,
    ENTRIES,
    ITEMS,
    VALUE,
    Decoded,
    JsonValue,
    Limits,
    ValueFormat,
    date_value,
    decimal_text,
    escaped_preview,
    hex_preview,
    undecodable,
)

__all__ = [
    "JsonSkim",
    "decode_json_family",
    "looks_like_java_class",
    "looks_like_json",
    "skim_json_object",
]

# Packages in lower case, then a capitalised class (nested classes with $), or
# a JVM array descriptor: what Jackson writes as a type id.
_JAVA_CLASS = re.compile(
    r"(?:[a-z_][a-z0-9_]*\.)+[A-Z_$][A-Za-z0-9_$]*|\[+(?:[BCDFIJSZ]|L[A-Za-z0-9_$.]+;)"
)
_DATE_CLASSES = frozenset({"java.util.Date", "java.sql.Timestamp", "java.sql.Date"})
_NATURAL = frozenset(
    {
        "java.lang.Long",
        "java.lang.Integer",
        "java.lang.Short",
        "java.lang.Byte",
        "java.lang.Double",
        "java.lang.Float",
        "java.lang.Boolean",
        "java.lang.String",
    }
)
# fastjson number suffixes (outside strings) and `new Date(ms)`.
_FASTJSON_TOKENS = re.compile(
    r'"(?:\\.|[^"\\])*"'
    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[LSBFD]\b"
    r"|new Date\((?P<date>-?\d+)\)"
)


def looks_like_java_class(text: str) -> bool:
    """Whether a string is shaped like a Java class name used as a type id."""
    return _JAVA_CLASS.fullmatch(text) is not None


_SCALAR = re.compile(rb"\s*(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LSBFD]?|true|false|null)\s*")


def looks_like_json(data: bytes) -> bool:
    """Whether the bytes are shaped like a JSON document (object, array, string or scalar).

    Text that merely starts with a letter or digit is not: it decodes as text.
    """
    head = data.lstrip()[:1]
    return head in (b"{", b"[", b'"') or _SCALAR.fullmatch(data) is not None


def _is_map_class(name: str) -> bool:
    return name.startswith("java.util.") and name.endswith(("Map", "Hashtable", "Properties"))


@dataclass(frozen=True, slots=True)
class _Exact:
    """A JSON number exactly as written (see :func:`_parse_exact`)."""

    text: str
    integral: bool


def _exact_int(text: str) -> _Exact:
    return _Exact(text, integral=True)


def _exact_float(text: str) -> _Exact:
    return _Exact(text, integral=False)


class _Rounded(Exception):
    """orjson gave a double where the writer may have meant an exact number."""


def _parse_exact(source: bytes) -> object | None:
    """Parse again with every number kept as its text; ``None`` if the stdlib cannot.

    Only after orjson accepted the document, so only the numbers can differ.
    """
    try:
        parsed: object = json.loads(source, parse_int=_exact_int, parse_float=_exact_float)
    except (ValueError, RecursionError):  # the stdlib nests less deeply than orjson
        return None
    return parsed


def _integer_text(text: str) -> str:
    return "0" if text == "-0" else text  # BigInteger has no negative zero


def _decimal_literal(text: str) -> str:
    """A JSON number as ``BigDecimal.toString()`` prints it (``10.50``, ``1.2E-7``)."""
    try:
        sign, digits, exponent = Decimal(text).as_tuple()
    except InvalidOperation:  # pragma: no cover - the JSON parser checked the syntax
        return text
    if not isinstance(exponent, int) or len(digits) > _MAX_EXACT_DIGITS:
        return text  # int() refuses (and is quadratic on) very long digit strings
    unscaled = int("".join(map(str, digits)))
    return decimal_text(-unscaled if sign else unscaled, -exponent)


_MAX_EXACT_DIGITS = 4000
_BIG_NUMBERS = frozenset({"java.math.BigDecimal", "java.math.BigInteger"})
_INT64 = range(-(1 << 63), 1 << 63)
# orjson reads integers past 64 bits as doubles, so a double this large may be
# a rounded integer.
_ROUNDED_INTEGER = float(1 << 63)


class _Converter:
    """Walks parsed JSON into typed JSON, bounded by the limits.

    Like the JDK decoder's renderer, loops ask :meth:`room` before each value,
    so a list or object is never half added: once the node budget is spent the
    rest is left out (not replaced by nulls), and containers nested too deeply
    are kept empty (with their class, when they have one). Each cut is noted.
    """

    def __init__(self, limits: Limits, type_key: str, *, strict: bool = True) -> None:
        self.limits = limits
        self.type_key = type_key
        self.strict = strict
        """Raise :class:`_Rounded` at a double that may have lost digits (orjson input)."""
        self.nodes = 0
        self.full = False
        self.typed = False
        """Jackson typing seen: ``@class`` objects or ``["FQCN", value]`` wrappers."""
        self.type_property = False
        """A nested object typed by fastjson's ``@type`` seen."""
        self.notes: dict[str, None] = {}  # an ordered set: each note once

    def room(self) -> bool:
        """Whether one more value fits; notes the cut once when the budget is spent."""
        if not self.full and self.nodes >= self.limits.max_nodes:
            self.full = True
            self.notes[f"cut off after {self.limits.max_nodes} values"] = None
        return not self.full

    def too_deep(self, depth: int) -> bool:
        """Whether a container at ``depth`` is past the depth limit (noted)."""
        if depth <= self.limits.max_depth:
            return False
        self.notes[f"cut off: deeper than {self.limits.max_depth} levels"] = None
        return True

    def convert(self, value: object, depth: int = 0) -> JsonValue:
        """One parsed value as typed JSON, counted as one value of the budget."""
        self.nodes += 1
        if type(value) is str:  # the commonest value: straight through when short
            assert isinstance(value, str)
            return value if len(value) <= self.limits.max_string else self._text(value)
        if isinstance(value, dict):
            return self._object(value, depth)
        if isinstance(value, list):
            if len(value) == 2 and isinstance(value[0], str) and looks_like_java_class(value[0]):
                self.typed = True
                return self._wrapper(value[0], value[1], depth)
            return [] if self.too_deep(depth) else self._items(value, depth)
        return self._scalar(value)

    def _items(self, values: list[object], depth: int) -> list[JsonValue]:
        items: list[JsonValue] = []
        max_nodes = self.limits.max_nodes
        for item in values:
            # Below the budget there is room (``full`` is only set at it).
            if self.nodes >= max_nodes and not self.room():
                break
            items.append(self.convert(item, depth + 1))
        return items

    def _fields(self, pairs: Iterable[tuple[str, object]], depth: int) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        max_nodes = self.limits.max_nodes
        for key, item in pairs:
            if self.nodes >= max_nodes and not self.room():
                break
            out[key] = self.convert(item, depth + 1)
        return out

    def _scalar(self, value: object) -> JsonValue:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            # orjson reads integers up to 2^64 exactly; past a long, Jackson
            # reads them as a BigInteger (and orjson.dumps refuses them).
            return value if value in _INT64 else self._big_integer(str(value))
        if isinstance(value, float):
            if self.strict and abs(value) >= _ROUNDED_INTEGER:
                raise _Rounded
            return value
        if isinstance(value, _Exact):
            return self._number(value)
        return str(value)  # pragma: no cover - the parsers yield only JSON types

    def _big_integer(self, text: str) -> JsonValue:
        return {CLASS: "java.math.BigInteger", VALUE: self._text(_integer_text(text))}

    def _text(self, text: str) -> str:
        if len(text) > self.limits.max_string:
            self.notes[f"string cut at {self.limits.max_string} characters"] = None
            return text[: self.limits.max_string]
        return text

    def _number(self, number: _Exact) -> JsonValue:
        if not number.integral:
            return float(number.text)  # finite: orjson accepted the document
        if len(number.text) <= 20:  # int() on short texts only: longer is past a long
            value = int(number.text)
            if value in _INT64:
                return value
        return self._big_integer(number.text)

    def _object(self, value: dict[str, object], depth: int) -> JsonValue:
        type_key = self.type_key
        java_class = value.get(type_key)
        if not isinstance(java_class, str) and type_key == "@class":
            # fastjson's @type nested in otherwise plain JSON: typed like at the top.
            nested = value.get("@type")
            if isinstance(nested, str) and looks_like_java_class(nested):
                type_key, java_class = "@type", nested
                self.type_property = True
        if not isinstance(java_class, str):
            return {} if self.too_deep(depth) else self._fields(value.items(), depth)
        if type_key == "@class":
            self.typed = True
        if self.too_deep(depth):
            return {CLASS: java_class}
        rest = ((k, v) for k, v in value.items() if k != type_key)
        if _is_map_class(java_class):
            return {CLASS: java_class, ENTRIES: self._fields(rest, depth)}
        out: dict[str, JsonValue] = {CLASS: java_class}
        out.update(self._fields(rest, depth))
        return out

    def _wrapper(self, java_class: str, inner: object, depth: int) -> JsonValue:
        if isinstance(inner, list | dict) and java_class in _NATURAL:
            return self.convert(inner, depth + 1)
        if isinstance(inner, list):
            if self.too_deep(depth):
                return {CLASS: java_class}
            return {CLASS: java_class, ITEMS: self._items(inner, depth)}
        if isinstance(inner, dict):
            converted = self.convert(inner, depth + 1)
            if isinstance(converted, dict) and CLASS not in converted:
                return {CLASS: java_class, ENTRIES: converted}
            return converted
        if java_class in _BIG_NUMBERS:
            if isinstance(inner, _Exact):
                # Jackson wrote the number's toString(): keep it exactly.
                if java_class == "java.math.BigInteger" and inner.integral:
                    text = _integer_text(inner.text)
                else:
                    text = _decimal_literal(inner.text)
                return {CLASS: java_class, VALUE: self._text(text)}
            if isinstance(inner, float) and self.strict:
                raise _Rounded  # 10.50 read as 10.5: a BigDecimal's scale is part of it
            if isinstance(inner, int | float) and not isinstance(inner, bool):
                return {CLASS: java_class, VALUE: str(inner)}
        scalar = self._scalar(inner)
        if java_class in _DATE_CLASSES and type(scalar) is int:
            return date_value(java_class, scalar)
        return scalar if java_class in _NATURAL else {CLASS: java_class, VALUE: scalar}


def _top_class(parsed: object, value: JsonValue) -> str | None:
    # ["java.lang.Long", 5] decodes to the bare 5: keep the class it was written as.
    if (
        isinstance(parsed, list)
        and len(parsed) == 2
        and isinstance(parsed[0], str)
        and looks_like_java_class(parsed[0])
    ):
        return parsed[0]
    if isinstance(value, dict):
        java_class = value.get(CLASS)
        return java_class if isinstance(java_class, str) else None
    return None


def _fastjson_to_json(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["num"] is not None:
            return match["num"]
        if match["date"] is not None:
            return f'["java.util.Date",{match["date"]}]'
        return match[0]

    return _FASTJSON_TOKENS.sub(replace, text)


def decode_json_family(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Decode Jackson-typed JSON, fastjson, plain JSON or UTF-8 text.

    Args:
        data: The raw bytes (not empty, not Java serialization).
        limits: Depth, size and node bounds.

    Returns:
        The decoded value; ``TEXT`` for text that is not JSON, ``UNDECODABLE``
        for JSON-looking bytes that do not parse, ``BINARY`` for non-text bytes.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return binary(data, limits)
    parsed: object
    fastjson = False
    source = data
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not looks_like_json(data):
            return _text(text, data, limits)
        source = _fastjson_to_json(text).encode()
        try:
            parsed = orjson.loads(source)
            fastjson = True
        except orjson.JSONDecodeError:
            if _reads_as_text(text, exc):
                return _text(text, data, limits)
            return undecodable(data, f"invalid JSON ({exc}); truncated?", limits=limits)
    if not fastjson and isinstance(parsed, dict) and "@type" in parsed:
        fastjson = True
    type_key = "@type" if fastjson else "@class"
    converter = _Converter(limits, type_key)
    try:
        value = converter.convert(parsed)
    except _Rounded:
        # Rare (BigDecimal, integers past 64 bits), so orjson stays the parser for
        # everything else and only these values are read twice.
        exact = _parse_exact(source)
        converter = _Converter(limits, type_key, strict=False)
        if exact is None:
            converter.notes["numbers shown as doubles may be rounded"] = None
        value = converter.convert(parsed if exact is None else exact)
    if fastjson:
        value_format = ValueFormat.FASTJSON
    elif converter.typed:
        value_format = ValueFormat.JACKSON
    elif converter.type_property:
        value_format = ValueFormat.FASTJSON
    else:
        value_format = ValueFormat.JSON
    return Decoded(
        format=value_format,
        value=value,
        size=len(data),
        java_class=_top_class(parsed, value) if value_format is not ValueFormat.JSON else None,
        error="; ".join(converter.notes) or None,
    )


_ALLOWED_CONTROLS = frozenset("\t\n\r")


def _reads_as_text(text: str, exc: orjson.JSONDecodeError) -> bool:
    """Whether bytes shaped like JSON that do not parse are plain text after all.

    ``[INFO] started``, ``[2024-01-01 12:00] login`` or ``{name}`` are text that
    happens to start with a bracket. Broken JSON is what ends early (a cut-off
    value: the parser ran out of data) or holds quoted strings past its first
    token: that stays "undecodable: invalid JSON".
    """
    body = text.rstrip()
    if exc.pos >= len(body) or "limit" in str(exc):
        return False  # ran out of data (truncated), or nested past orjson's depth limit
    first = len(text) - len(text.lstrip()) + 1  # just after the opening bracket
    first_token = len(text[first:]) - len(text[first:].lstrip()) + first
    return exc.pos <= first_token or '"' not in text


def _text(text: str, data: bytes, limits: Limits) -> Decoded:
    if any(ch < " " and ch not in _ALLOWED_CONTROLS for ch in text) or "\x7f" in text:
        return binary(data, limits)
    error = None
    if len(text) > limits.max_string:
        text, error = text[: limits.max_string], f"text cut at {limits.max_string} characters"
    return Decoded(format=ValueFormat.TEXT, value=text, size=len(data), error=error)


# Formats we recognise but must never load: loaders for these run code.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x80\x02", "Python pickle (protocol 2); never unpickled"),
    (b"\x80\x03", "Python pickle (protocol 3); never unpickled"),
    (b"\x80\x04", "Python pickle (protocol 4); never unpickled"),
    (b"\x80\x05", "Python pickle (protocol 5); never unpickled"),
    (b"\x04\x08", "Ruby Marshal; never loaded"),
    (b"\x1f\x8b", "gzip-compressed data"),
)


def binary(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Bytes in no format we decode: an escaped preview and hex, plus a hint if recognised."""
    hint = next((label for magic, label in _SIGNATURES if data.startswith(magic)), None)
    return Decoded(
        format=ValueFormat.BINARY,
        value=None,
        size=len(data),
        error=hint,
        preview=escaped_preview(data, limits.preview_bytes),
        hex=hex_preview(data, limits.preview_bytes),
    )


# --------------------------------------------------------------------------- light reading

_DIGITS = bytes.maketrans(b"0123456789E-", b"9999999999e+")


def _may_round(data: bytes) -> bool:
    """Whether a number may be a double past 2^63 (the full reading then parses it again).

    19 digits in a row, or an exponent (also found in strings: then decoded in full).
    """
    shape = data.translate(_DIGITS)
    return b"9999999999999999999" in shape or b"9e9" in shape or b"9e+9" in shape


class JsonSkim:
    """A plain JSON object parsed, its members converted only when asked (``ls``, ``stats``).

    :func:`skim_json_object` gives one only when :func:`decode_json_family`
    would read the bytes as that very object, untyped at its top, with no note:
    then each member converts alone (:meth:`member`) as it does in the whole.
    """

    def __init__(self, parsed: dict[str, object], limits: Limits) -> None:
        self.parsed = parsed
        self._converter = _Converter(limits, "@class")

    def member(self, name: str) -> JsonValue:
        """One top-level member as the full reading converts it (one level down)."""
        return self._converter.convert(self.parsed[name], 1)


def skim_json_object(data: bytes, limits: Limits = DEFAULT_LIMITS) -> JsonSkim | None:
    """``data`` parsed, when the full reading is the same object, untyped and unnoted.

    ``None`` (decode in full) unless the bytes are UTF-8 JSON that orjson reads
    as an object without ``@class`` / ``@type`` at its top, small enough that no
    limit can cut it (nodes, string length, depth) and without a number that may
    be a rounded double.
    """
    if data[:1] != b"{" or len(data) > min(limits.max_nodes, limits.max_string):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or "@class" in parsed or "@type" in parsed:
        return None
    if _may_round(data):
        return None
    # Brackets in strings count too: a bound, checked exactly only when it is passed.
    if data.count(b"{") + data.count(b"[") >= limits.max_depth and (
        _depth(parsed, 0) >= limits.max_depth
    ):
        return None
    return JsonSkim(parsed, limits)


def _depth(value: object, depth: int) -> int:
    """The depth of the deepest container in ``value`` (at ``depth``); -1: none."""
    if isinstance(value, dict):
        items: Iterable[object] = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return -1
    return max(depth, max((_depth(item, depth + 1) for item in items), default=-1))
