"""Decode one Redis value by its leading bytes; never raises.

>>> decode_value(b'["java.util.Date",1552129074569]').value
{'@class': 'java.util.Date', '@value': '2019-03-09T10:57:54.569Z', '@epochMillis': 1552129074569}
"""

from __future__ import annotations

from inspector.core.decoders.jsonish import binary, decode_json_family
from inspector.core.values import (
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
    """Decode a value as the Java application that wrote it would see it.

    Detection by leading bytes: ``AC ED 00 05`` is Java serialization; JSON
    (Jackson-typed, fastjson or plain) and UTF-8 text come next; empty bytes are
    a tombstone or serialized null; anything else is shown as binary.

    Args:
        data: The raw bytes from Redis.
        limits: Bounds on depth, size and work.

    Returns:
        A :class:`~inspector.core.values.Decoded`; an ``UNDECODABLE`` one with a
        preview when the bytes are truncated, corrupt or too large. Never raises.
    """
    try:
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
        return decode_json_family(data, limits)
    except Exception as exc:  # the promise: callers never see an exception
        return undecodable(data, f"decoder failed: {type(exc).__name__}", limits=limits)
