"""JSON-family values: Jackson default typing, fastjson, plain JSON, text.

Jackson (Spring Data Redis's ``GenericJackson2JsonRedisSerializer``) records
Java types two ways: an ``"@class"`` property on objects and maps, and a
``["<FQCN>", value]`` wrapper around scalars, collections and arrays
(``["java.util.Date", 1552129074569]``, ``["java.lang.Long", 5]`` in 2.7.0-2.7.1).
fastjson uses ``"@type"`` and number suffixes (``1L``, ``1.0F``) that strict
JSON parsers reject. Both become the typed JSON of :mod:`inspector.core.values`.
"""

from __future__ import annotations

import re

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
    undecodable,
)

__all__ = ["decode_json_family", "looks_like_java_class", "looks_like_json"]

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


class _Converter:
    """Walks parsed JSON into typed JSON, bounded by the limits."""

    def __init__(self, limits: Limits, type_key: str) -> None:
        self.limits = limits
        self.type_key = type_key
        self.nodes = 0
        self.typed = False
        self.error: str | None = None

    def convert(self, value: object, depth: int = 0) -> JsonValue:
        self.nodes += 1
        if depth > self.limits.max_depth or self.nodes > self.limits.max_nodes:
            self.error = self.error or (
                f"cut off: deeper than {self.limits.max_depth} levels"
                if depth > self.limits.max_depth
                else f"cut off after {self.limits.max_nodes} values"
            )
            return None
        if isinstance(value, dict):
            return self._object(value, depth)
        if isinstance(value, list):
            if len(value) == 2 and isinstance(value[0], str) and looks_like_java_class(value[0]):
                self.typed = True
                return self._wrapper(value[0], value[1], depth)
            return [self.convert(item, depth + 1) for item in value]
        if isinstance(value, str) and len(value) > self.limits.max_string:
            self.error = self.error or f"string cut at {self.limits.max_string} characters"
            return value[: self.limits.max_string]
        if isinstance(value, (bool, int, float, str)) or value is None:
            return value
        return str(value)  # pragma: no cover - orjson yields only JSON types

    def _object(self, value: dict[str, object], depth: int) -> JsonValue:
        java_class = value.get(self.type_key)
        rest = {k: v for k, v in value.items() if k != self.type_key}
        if not isinstance(java_class, str):
            return {k: self.convert(v, depth + 1) for k, v in rest.items()}
        self.typed = True
        if _is_map_class(java_class):
            entries = {k: self.convert(v, depth + 1) for k, v in rest.items()}
            return {CLASS: java_class, ENTRIES: entries}
        out: dict[str, JsonValue] = {CLASS: java_class}
        out.update((k, self.convert(v, depth + 1)) for k, v in rest.items())
        return out

    def _wrapper(self, java_class: str, inner: object, depth: int) -> JsonValue:
        if java_class in _DATE_CLASSES and isinstance(inner, int) and not isinstance(inner, bool):
            return date_value(java_class, inner)
        if java_class in _NATURAL:
            return self.convert(inner, depth + 1)
        if isinstance(inner, list):
            return {CLASS: java_class, ITEMS: [self.convert(item, depth + 1) for item in inner]}
        if isinstance(inner, dict):
            converted = self.convert(inner, depth + 1)
            if isinstance(converted, dict) and CLASS not in converted:
                return {CLASS: java_class, ENTRIES: converted}
            return converted
        scalar = self.convert(inner, depth + 1)
        if java_class in ("java.math.BigDecimal", "java.math.BigInteger"):
            scalar = str(scalar)
        return {CLASS: java_class, VALUE: scalar}


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
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not looks_like_json(data):
            return _text(text, data, limits)
        try:
            parsed = orjson.loads(_fastjson_to_json(text))
            fastjson = True
        except orjson.JSONDecodeError:
            return undecodable(data, f"invalid JSON ({exc}); truncated?", limits=limits)
    if not fastjson and isinstance(parsed, dict) and "@type" in parsed:
        fastjson = True
    converter = _Converter(limits, "@type" if fastjson else "@class")
    value = converter.convert(parsed)
    if fastjson:
        value_format = ValueFormat.FASTJSON
    elif converter.typed:
        value_format = ValueFormat.JACKSON
    else:
        value_format = ValueFormat.JSON
    return Decoded(
        format=value_format,
        value=value,
        size=len(data),
        java_class=_top_class(parsed, value) if value_format is not ValueFormat.JSON else None,
        error=converter.error,
    )


_ALLOWED_CONTROLS = frozenset("\t\n\r")


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
    shown = undecodable(data, "", limits=limits)
    return Decoded(
        format=ValueFormat.BINARY,
        value=None,
        size=len(data),
        error=hint,
        preview=shown.preview,
        hex=shown.hex,
    )
