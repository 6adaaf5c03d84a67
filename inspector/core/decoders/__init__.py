"""Decode one Redis value by its leading bytes; never raises.

>>> decode_value(b'["java.util.Date",1552129074569]').value
{'@class': 'java.util.Date', '@value': '2019-03-09T10:57:54.569Z', '@epochMillis': 1552129074569}
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import replace

from inspector.core.decoders import php
from inspector.core.decoders.jsonish import binary, decode_json_family
from inspector.core.decoders.msgpacked import looks_like_msgpack_map
from inspector.core.decoders.php import IGBINARY_MAGIC
from inspector.core.decoders.pickles import (
    PickleError,
    looks_like_pickle,
    read_pickle,
    render_pickle,
)
from inspector.core.decoders.ruby import MARSHAL_MAGIC
from inspector.core.values import (
    CLASS,
    DEFAULT_LIMITS,
    JAVA_MAGIC,
    Decoded,
    Limits,
    ValueFormat,
    undecodable,
)

__all__ = ["JAVA_MAGIC", "binary", "decode_value", "jdk_number"]

# java.lang.Long and java.lang.Integer serialize to fixed bytes (their
# serialVersionUIDs are constants): a header, then the big-endian value.
# Spring's default serializer writes creationTime/lastAccessedTime as Long and
# maxInactiveInterval as Integer, so reading these directly spares the general
# parser on every listed session.
_NUMBER_SUPER = b"xr\x00\x10java.lang.Number\x86\xac\x95\x1d\x0b\x94\xe0\x8b\x02\x00\x00xp"
JDK_LONG_PREFIX = (
    JAVA_MAGIC
    + b"sr\x00\x0ejava.lang.Long;\x8b\xe4\x90\xcc\x8f#\xdf\x02\x00\x01J\x00\x05value"
    + _NUMBER_SUPER
)
JDK_INTEGER_PREFIX = (
    JAVA_MAGIC
    + b"sr\x00\x11java.lang.Integer\x12\xe2\xa0\xa4\xf7\x81\x878\x02\x00\x01I\x00\x05value"
    + _NUMBER_SUPER
)


def jdk_number(data: bytes) -> int | None:
    """The value of a JDK-serialized ``Long`` or ``Integer``, read without a parser.

    Returns:
        The number, or ``None`` when ``data`` is not exactly one of those two.
    """
    boxed = _jdk_boxed(data)
    return None if boxed is None else boxed[0]


def _jdk_boxed(data: bytes) -> tuple[int, str] | None:
    # Lengths first: they differ, and comparing them is cheaper than the prefixes.
    if len(data) == len(JDK_LONG_PREFIX) + 8 and data.startswith(JDK_LONG_PREFIX):
        return int.from_bytes(data[-8:], "big", signed=True), "java.lang.Long"
    if len(data) == len(JDK_INTEGER_PREFIX) + 4 and data.startswith(JDK_INTEGER_PREFIX):
        return int.from_bytes(data[-4:], "big", signed=True), "java.lang.Integer"
    return None


def decode_value(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Decode a value as the application that wrote it would see it.

    Detection by leading bytes, strongest evidence first: ``AC ED 00 05`` is Java
    serialization; ``04 08`` Ruby Marshal; ``00 00 00 02`` igbinary; ``80 02``-``80 05``
    a pickle (``!`` + pickle: cachelib); zlib, gzip and xz headers are inflated
    (bounded by ``limits.max_inflated``) and what is inside decoded again; a
    MessagePack map (``8x``/``DE``/``DF``) with string keys; PHP ``serialize()``
    (``a:``/``O:``/``s:``), the ``php`` session form (``name|...``) and ``php_binary``;
    protocol 0/1 pickles (their first opcode and the final ``.``); base64 of any of
    the binary formats. JSON (Jackson-typed, fastjson or plain) and UTF-8 text come
    last, exactly as before; empty bytes are a tombstone or serialized null;
    anything else is shown as binary. Every candidate must parse completely, so a
    text or JSON value is never misread as one of the others. Nothing is ever
    unpickled, unmarshalled or unserialized by the writer's own loader.

    Args:
        data: The raw bytes from Redis.
        limits: Bounds on depth, size and work.

    Returns:
        A :class:`~inspector.core.values.Decoded` whose ``layers`` name the wrappers
        removed (``zlib``, ``base64``, ``cachelib``...); ``UNDECODABLE`` or ``BINARY``
        with a preview when the bytes are truncated, corrupt or too large. Never raises.
    """
    try:
        return _decode(data, limits, 0)
    except Exception as exc:  # the promise: callers never see an exception
        return undecodable(data, f"decoder failed: {type(exc).__name__}", limits=limits)


_MAX_LAYERS = 4
_ZLIB_METHODS = frozenset({0x01, 0x5E, 0x9C, 0xDA})
_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_BASE64_URL = re.compile(rb"[A-Za-z0-9_-]+={0,2}")
_PHP_BINARY_VALUE = re.compile(rb"(?:[aOsCEidbr]:|N;)")
# First bytes of every format _binary_formats knows: Marshal, igbinary, pickle and
# msgpack maps, cachelib's "!", zlib, gzip, xz. Anything else skips those checks.
_BINARY_STARTS = frozenset({0x04, 0x00, 0x21, 0x78, 0x1F, 0xFD, 0xDE, 0xDF, *range(0x80, 0x90)})
# How base64 (standard or URL-safe) of each binary format's magic begins: pickle
# 2-5, zlib, Marshal, Java, gzip, xz, igbinary.
_BASE64_MAGICS = (
    b"gA",
    b"eA",
    b"eF",
    b"eJ",
    b"eN",
    b"BA",
    b"rO0",
    b"H4s",
    b"/Td6",
    b"_Td6",
    b"AAAAA",
)


def _decode(data: bytes, limits: Limits, depth: int) -> Decoded:
    if not data:
        return Decoded(format=ValueFormat.EMPTY, value=None, size=0)
    if data.startswith(JAVA_MAGIC):
        boxed = _jdk_boxed(data)
        if boxed is not None:
            return Decoded(ValueFormat.JAVA, boxed[0], len(data), java_class=boxed[1])
        from inspector.core.decoders.java import decode_java

        return decode_java(data, limits)
    if JAVA_MAGIC.startswith(data[:4]):
        return undecodable(data, "Java serialization header cut short", limits=limits)
    if data[0] in _BINARY_STARTS:
        binary_form = _binary_formats(data, limits, depth)
        if binary_form is not None:
            return binary_form
    head = data[:1]
    if head not in (b"{", b"[", b'"'):
        text_form = _text_formats(data, limits, depth)
        if text_form is not None:
            return text_form
    return decode_json_family(data, limits)


def _binary_formats(data: bytes, limits: Limits, depth: int) -> Decoded | None:
    """Formats with a magic number: their decoder's answer, or ``None`` if not one of them."""
    if data.startswith(MARSHAL_MAGIC):
        from inspector.core.decoders.ruby import MarshalError, decode_marshal

        try:
            return decode_marshal(data, limits)
        except MarshalError as exc:
            return _unreadable(data, "Ruby Marshal", exc, "never loaded", limits)
    if data[:4] in IGBINARY_MAGIC:
        from inspector.core.decoders.php import PhpError, decode_igbinary

        try:
            return decode_igbinary(data, limits)
        except PhpError as exc:
            return _unreadable(data, "PHP igbinary", exc, "never unserialized", limits)
    protocol = looks_like_pickle(data)
    if protocol is not None and protocol >= 2:
        return _pickle(data, limits, depth, protocol)
    if data[:1] == b"!" and looks_like_pickle(data[1:]) not in (None, 0):
        # cachelib's RedisCache (Flask-Session's cachelib backend) marks pickles with "!".
        return _layer(_pickle(data[1:], limits, depth, data[2]), data, "cachelib")
    if depth < _MAX_LAYERS:
        inflated = _inflate(data, limits)
        if inflated is not None:
            name, inner = inflated
            if isinstance(inner, Decoded):
                return inner
            return _layer(_decode(inner, limits, depth + 1), data, name)
    if looks_like_msgpack_map(data):
        from inspector.core.decoders.msgpacked import MsgpackError, decode_msgpack

        try:
            decoded = decode_msgpack(data, limits)
        except MsgpackError:
            return None
        # A map of string keys (a session) or a PHP object: random bytes rarely are one.
        plain = isinstance(decoded.value, dict) and CLASS not in decoded.value
        if plain or decoded.java_class is not None:
            return decoded
    return None


def _text_formats(data: bytes, limits: Limits, depth: int) -> Decoded | None:
    """Formats that look like text: only when they parse completely.

    Each is tried only after a cheap test of its first bytes, so plain text and
    numbers (the common case here) cost a few comparisons, not a parse each.
    """
    if data[1:2] == b":" and data[:1] in b"aOsCE" and php.looks_like_php_serialized(data):
        try:
            return php.decode_php_serialized(data, limits)
        except php.PhpError:
            pass
    if b"|" in data[:257] and php.looks_like_php_session(data):
        try:
            return php.decode_php_session(data, limits)
        except php.PhpError:
            pass
    if data[-1:] == b"." and looks_like_pickle(data) == 0:
        try:
            return render_pickle(read_pickle(data), len(data), limits)
        except PickleError:
            pass
    if 0 < data[0] < len(data) - 1 and _PHP_BINARY_VALUE.match(data, 1 + data[0]):
        try:
            return php.decode_php_binary_session(data, limits)
        except php.PhpError:
            pass
    if depth < _MAX_LAYERS and len(data) >= 8 and data[:16].lstrip()[:6].startswith(_BASE64_MAGICS):
        inner = _unbase64(data)
        if inner is not None and _has_binary_magic(inner):
            return _layer(_decode(inner, limits, depth + 1), data, "base64")
    return None


def _pickle(data: bytes, limits: Limits, depth: int, protocol: int) -> Decoded:
    try:
        read = read_pickle(data)
    except PickleError as exc:
        return _unreadable(
            data, f"Python pickle (protocol {protocol})", exc, "never unpickled", limits
        )
    payload = read.payload()
    if payload is not None and depth < _MAX_LAYERS:
        # Beaker pickles base64 of its (pickled, or zlib-compressed JSON) session.
        inner = _unbase64(payload)
        if inner is not None and _has_binary_magic(inner):
            return _layer(
                _layer(_decode(inner, limits, depth + 1), payload, "base64"), data, "pickle"
            )
    return render_pickle(read, len(data), limits)


def _unreadable(data: bytes, label: str, exc: Exception, promise: str, limits: Limits) -> Decoded:
    # Two-byte magics also start ordinary binary data: shown as binary, with the guess.
    decoded = binary(data, limits)
    return replace(decoded, error=f"{label}, unreadable: {exc}; {promise}")


def _layer(inner: Decoded, outer: bytes, name: str) -> Decoded:
    return replace(inner, size=len(outer), layers=(name, *inner.layers))


def _inflate(data: bytes, limits: Limits) -> tuple[str, bytes | Decoded] | None:
    """``(layer, inflated bytes)`` for zlib, gzip or xz data; a Decoded when it is refused."""
    if (
        len(data) >= 2
        and data[0] == 0x78
        and data[1] in _ZLIB_METHODS
        and int.from_bytes(data[:2], "big") % 31 == 0
    ):
        name, wbits = "zlib", zlib.MAX_WBITS
    elif data.startswith(_GZIP_MAGIC):
        name, wbits = "gzip", zlib.MAX_WBITS | 16
    elif data.startswith(_XZ_MAGIC):
        return _unxz(data, limits)
    else:
        return None
    inflater = zlib.decompressobj(wbits)
    try:
        inner = inflater.decompress(data, limits.max_inflated)
    except zlib.error:
        return None
    if inflater.unconsumed_tail:
        return name, _too_big(data, name, limits)
    if not inflater.eof:
        return name, _unreadable(
            data, f"{name} data", ValueError("truncated"), "not inflated", limits
        )
    return name, inner


def _unxz(data: bytes, limits: Limits) -> tuple[str, bytes | Decoded] | None:
    import lzma

    inflater = lzma.LZMADecompressor()
    try:
        inner = inflater.decompress(data, limits.max_inflated)
    except lzma.LZMAError:
        return None
    if not inflater.eof:
        if len(inner) >= limits.max_inflated:
            return "xz", _too_big(data, "xz", limits)
        return "xz", _unreadable(data, "xz data", ValueError("truncated"), "not inflated", limits)
    return "xz", inner


def _too_big(data: bytes, name: str, limits: Limits) -> Decoded:
    return undecodable(
        data, f"{name} data inflates past {limits.max_inflated} bytes; not inflated", limits=limits
    )


def _unbase64(data: bytes) -> bytes | None:
    text = data.strip()
    try:
        if len(text) % 4 == 0 and _BASE64.fullmatch(text):
            return base64.b64decode(text, validate=True)
        if _BASE64_URL.fullmatch(text):
            return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return None


def _has_binary_magic(data: bytes) -> bool:
    """Whether base64-decoded bytes start like one of the binary formats (else it was text)."""
    if (
        data.startswith((JAVA_MAGIC, MARSHAL_MAGIC, _GZIP_MAGIC, _XZ_MAGIC))
        or data[:4] in IGBINARY_MAGIC
    ):
        return True
    protocol = looks_like_pickle(data)
    if protocol is not None and protocol >= 2:
        return True
    return (
        len(data) >= 2
        and data[0] == 0x78
        and data[1] in _ZLIB_METHODS
        and int.from_bytes(data[:2], "big") % 31 == 0
    )
