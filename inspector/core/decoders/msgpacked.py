"""MessagePack values (Flask-Session >= 0.7, PHP's msgpack serializer), read with ``msgpack``.

The maintained ``msgpack`` package parses; its C unpacker bounds nesting and
refuses lengths past the input. Maps are read as pairs (``object_pairs_hook``),
so keys that Python could not hash (arrays, maps) are kept, and the result is
rendered through :mod:`.graph` within the limits. The timestamp extension (type
-1, what msgspec writes for ``datetime``) becomes a date; other extension types
keep their bytes (``{"@class": "msgpack.ext<N>", "@hex": ...}``). PHP's msgpack
serializer writes an object as a map whose first key is nil and whose first value
is the class name: that becomes ``{"@class": name, ...}``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgpack

from inspector.core.decoders.graph import Link, Map, Node, Obj, Raw, Renderer, Scalar, Seq
from inspector.core.decoders.graph import top_class as graph_top_class
from inspector.core.decoders.php import php_date, php_property
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["MsgpackError", "decode_msgpack", "looks_like_msgpack_map"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class MsgpackError(Exception):
    """The bytes are not one complete MessagePack value."""


def looks_like_msgpack_map(data: bytes) -> bool:
    """Whether the first byte is a MessagePack map (fixmap ``8x``, map16 ``DE``, map32 ``DF``)."""
    return bool(data) and (0x80 <= data[0] <= 0x8F or data[0] in (0xDE, 0xDF))


class _Pairs(list[tuple[Any, Any]]):
    """A map as msgpack handed it over: its pairs, in order."""


def _ext(code: int, data: bytes) -> Any:
    if code == -1:
        return _timestamp(data)
    return Raw(f"msgpack.ext{code}", data)


def _timestamp(data: bytes) -> Node:
    # The three timestamp layouts of the spec: 32-bit seconds, 34+30 bits, 96 bits.
    if len(data) == 4:
        seconds, nanos = int.from_bytes(data, "big"), 0
    elif len(data) == 8:
        packed = int.from_bytes(data, "big")
        seconds, nanos = packed & 0x3_FFFF_FFFF, packed >> 34
    elif len(data) == 12:
        nanos = int.from_bytes(data[:4], "big")
        seconds = int.from_bytes(data[4:], "big", signed=True)
    else:
        return Raw("msgpack.timestamp", data)
    epoch_ms = seconds * 1000 + nanos // 1_000_000
    try:
        moment = _EPOCH + dt.timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        return Scalar("datetime", None, epoch_ms)
    text = moment.isoformat(timespec="microseconds" if nanos else "seconds")
    return Scalar("datetime", text.replace("+00:00", "Z"), epoch_ms)


def decode_msgpack(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """One MessagePack value as typed JSON.

    Raises:
        MsgpackError: The bytes are not exactly one MessagePack value.
    """
    try:
        parsed = msgpack.unpackb(
            data,
            raw=False,
            unicode_errors="surrogateescape",
            strict_map_key=False,
            object_pairs_hook=_Pairs,
            ext_hook=_ext,
            timestamp=0,
            use_list=True,
        )
    except Exception as exc:  # ExtraData, FormatError, StackError, ValueError...
        raise MsgpackError(f"{type(exc).__name__}: {exc}"[:160]) from exc
    root = _Builder().node(parsed)
    renderer = Renderer(limits, int_class="int", float_class="float")
    value = renderer.render(root)
    return Decoded(
        format=ValueFormat.MSGPACK,
        value=value,
        size=len(data),
        java_class=graph_top_class(root),
        error="; ".join(renderer.notes) or None,
    )


class _Builder:
    """Turns msgpack's output into graph nodes, reading PHP msgpack's conventions.

    PHP's serializer marks maps with a nil key: ``{nil: "Class", ...}`` is an
    object (a second nil key holds its ``__serialize`` data), ``{nil: 1, ...}``
    an array that is a PHP reference, ``{nil: 2|4, 0: n}`` a reference to the
    n-th array or object (1-based, in reading order).
    """

    def __init__(self) -> None:
        self.slots: list[Node] = []
        self.php = False
        """PHP wrote it (the top map has a nil key): integer keys are PHP array keys."""

    def node(self, value: Any) -> Node:
        # msgpack's own stack limit (1024) bounds the depth of this walk.
        kind = type(value)
        if kind is int or kind is float or kind is bool or value is None:
            return value  # type: ignore[no-any-return]
        if kind is str and value.isascii():
            return value  # type: ignore[no-any-return]
        if isinstance(value, _Pairs):
            return self._map(value)
        if isinstance(value, list):
            seq = Seq(None)
            self.slots.append(seq)
            seq.items = [self.node(item) for item in value]
            return seq
        if isinstance(value, msgpack.Timestamp):
            return _timestamp(value.to_bytes())
        if isinstance(value, bytes):
            return Raw("bytes", value)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # not UTF-8 on the wire: PHP's byte strings
                return Raw("string", value.encode("utf-8", "surrogateescape"))
        return value  # type: ignore[no-any-return]

    def _map(self, pairs: _Pairs) -> Node:
        marker = pairs[0][1] if pairs and pairs[0][0] is None else None
        if not self.slots and marker is not None:
            self.php = True
        if isinstance(marker, int) and marker in (2, 4) and len(pairs) == 2:
            index = pairs[1][1]
            if isinstance(index, int) and 1 <= index <= len(self.slots):
                return self.slots[index - 1]
            return Link(f"value {index}")
        if isinstance(marker, str):
            obj = Obj(marker)
            self.slots.append(obj)
            for key, item in pairs[1:]:
                if key is None and isinstance(item, _Pairs):
                    for inner_key, inner in item:
                        obj.fields.append((_property(inner_key), self.node(inner)))
                elif key is None:
                    obj.data.append(self.node(item))
                else:
                    obj.fields.append((_property(key), self.node(item)))
            date = php_date(obj)
            if date is not obj:
                obj.become = date
            return obj
        target = Map("map")
        self.slots.append(target)
        body = pairs[1:] if marker == 1 else pairs
        target.pairs = [(self._key(k), self.node(v)) for k, v in body]
        return target

    def _key(self, key: Any) -> Node:
        if self.php and isinstance(key, int) and not isinstance(key, bool):
            return str(key)  # PHP makes "5" and 5 the same array key
        return self.node(key)


def _property(key: Any) -> str:
    if isinstance(key, str):
        return php_property(key.encode("utf-8", "surrogateescape"))
    return str(key)
