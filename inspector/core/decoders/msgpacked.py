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
from inspector.core.decoders.markers import TEXT_MARKERS
from inspector.core.decoders.php import php_date, php_property
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = [
    "MsgpackError",
    "MsgpackSkim",
    "decode_msgpack",
    "looks_like_msgpack_map",
    "skim_msgpack_map",
]

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


# --------------------------------------------------------------------------- light reading

_HOSTISH = TEXT_MARKERS
"""Every host-like name holds one."""


class MsgpackSkim:
    """A MessagePack session map unpacked (in C) but not built: names, and values on demand.

    :func:`skim_msgpack_map` gives one only when :func:`decode_msgpack` would
    render the bytes as that very map, without a note. The walk that checks it
    numbers the arrays and maps as :class:`_Builder` does (PHP's references
    point at them), so it knows which entries hold a reference, and which may
    hold a host-like key, directly or through one.
    """

    def __init__(self, entries: list[tuple[str, Any]], php: bool) -> None:
        self.entries = entries
        """``(name, the unpacked value)`` of each top-level entry."""
        self.php = php
        self.slots_before: list[int] = []
        self.refers: list[bool] = []
        self.hosts: list[bool] = []

    def decode(self, index: int, limits: Limits) -> Any:
        """Entry ``index``'s value as the full reading renders it (for one without references)."""
        builder = _Builder()
        builder.php = self.php
        builder.slots = [None] * self.slots_before[index]
        node = builder.node(self.entries[index][1])
        return Renderer(limits, int_class="int", float_class="float").render(node, 1)


class _Walk:
    """Numbers containers as :class:`_Builder` does; sizes, depths, references, host keys."""

    def __init__(self, php: bool, max_depth: int) -> None:
        self.php = php
        self.max_depth = max_depth
        self.slots: list[tuple[int, bool]] = []
        """Per container: how many values it renders, whether it holds a host-like key."""
        self.refs = 0
        self.hosts = False
        self.deepest = 0

    def size(self, value: Any, depth: int) -> int:
        """Values rendered for ``value`` (a reference counts its target again)."""
        if depth > self.max_depth:
            raise ValueError("too deep")
        self.deepest = max(self.deepest, depth)
        if isinstance(value, _Pairs):
            marker = value[0][1] if value and value[0][0] is None else None
            pairs: list[tuple[Any, Any]] = value
            if isinstance(marker, str):
                # An object: a nil key's map holds properties (the builder gives
                # that map no slot of its own); its other entries are data.
                pairs = []
                for key, item in value[1:]:
                    if key is None and isinstance(item, _Pairs):
                        pairs.extend(item)
                    else:
                        pairs.append((key, item))
            if isinstance(marker, int) and marker in (2, 4) and len(value) == 2:
                target = value[1][1]
                if not (isinstance(target, int) and 1 <= target <= len(self.slots)):
                    raise ValueError("a reference the full reading notes")
                self.refs += 1
                count, hosts = self.slots[target - 1]
                self.hosts = self.hosts or hosts
                return count
            at = len(self.slots)
            self.slots.append((0, False))
            total = 1
            for key, item in pairs:
                if isinstance(key, str) and any(h in key for h in _HOSTISH):
                    self.hosts = True
                total += 1 + self.size(item, depth + 1)
            self.slots[at] = (total, self.hosts)
            return total
        if isinstance(value, list):
            at = len(self.slots)
            self.slots.append((0, False))
            total = 1 + sum(self.size(item, depth + 1) for item in value)
            self.slots[at] = (total, self.hosts)
            return total
        return 1


def skim_msgpack_map(data: bytes, limits: Limits = DEFAULT_LIMITS) -> MsgpackSkim | None:
    """A MessagePack map of text keys (a session), unpacked; ``None``: decode in full."""
    if not data or not (0x81 <= data[0] <= 0x8F or data[0] in (0xDE, 0xDF)):
        return None
    if len(data) > limits.max_string // 2:
        return None
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
    except Exception:
        return None
    if not isinstance(parsed, _Pairs) or not parsed:
        return None
    marker = parsed[0][1] if parsed[0][0] is None else None
    if marker is not None and marker != 1:
        return None  # an object or a reference at the top: in full
    php = marker is not None
    body = parsed[1:] if php else parsed
    entries: list[tuple[str, Any]] = []
    for key, item in body:
        if php and isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str) or not (key.isascii() or _utf8(key)):
            return None  # rendered as pairs, not a map
        entries.append((key, item))
    skim = MsgpackSkim(entries, php)
    walk = _Walk(php, limits.max_depth - 3)
    walk.slots.append((0, False))  # the top map's own slot
    total = 1
    try:
        for _, item in entries:
            skim.slots_before.append(len(walk.slots))
            refs, walk.hosts = walk.refs, False
            total += 1 + walk.size(item, 1)
            skim.refers.append(walk.refs > refs)
            skim.hosts.append(walk.hosts)
    except (ValueError, RecursionError):
        return None
    if total >= limits.max_nodes:
        return None
    if walk.refs and 2 * walk.deepest > walk.max_depth:
        return None  # a reference renders its target's depth again where it stands
    return skim


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
