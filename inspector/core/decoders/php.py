r"""PHP session data: ``serialize()``, the ``php`` / ``php_binary`` session handlers, igbinary.

Read in full, as PHP's own unserializer (``ext/standard/var_unserializer.re``,
``ext/session/session.c``, ``igbinary.c``) reads them, but into the graph of
:mod:`.graph`, never into objects (``unserialize`` on hostile data calls
``__wakeup`` / ``__unserialize`` / ``__destruct``, the POP-chain gadgets):

* arrays whose keys are ``0..n-1`` in order are JSON lists, others JSON objects
  (PHP itself makes ``"1"`` and ``1`` the same key);
* objects are ``{"@class": "Name", property: value}``; a private property
  (``\\0Class\\0name``) shows as ``Class::name``, a protected one (``\\0*\\0name``) as
  ``*name``; ``Serializable`` data (``C:``) and igbinary's serialized objects keep
  their payload under ``@data``; enums (``E:``) are ``{"@class", "@value"}``;
* ``r:`` / ``R:`` references (and igbinary's) point at the value already read, so
  shared values and cycles are kept (rendered within the limits);
* strings are bytes in PHP: UTF-8 ones become text, others ``@hex``.

A session (``php`` handler) is ``name|value`` repeated, ``php_binary`` is a length
byte, the name, the value; both share one reference table across variables, as
PHP does. The ``php_serialize`` handler is one ``serialize()`` of ``$_SESSION``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import struct

from inspector.core.decoders.graph import Link, Map, Node, Obj, Raw, Renderer, Scalar
from inspector.core.decoders.graph import top_class as graph_top_class
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = [
    "IGBINARY_MAGIC",
    "PhpError",
    "decode_igbinary",
    "decode_php_binary_session",
    "decode_php_serialized",
    "decode_php_session",
    "looks_like_php_serialized",
    "looks_like_php_session",
    "php_date",
    "php_property",
]

IGBINARY_MAGIC = (b"\x00\x00\x00\x02", b"\x00\x00\x00\x01")
_MAX_NESTING = 256
_NUMBER = re.compile(rb"[+-]?\d+")
_QUICK = re.compile(rb's:(\d{1,9}):"|i:([+-]?\d+);')
"""A string's header or a whole int: what most of a session is made of."""
_FLOAT = re.compile(rb"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NAN")
_SERIALIZED_START = re.compile(rb"(?:a:\d+:\{|O:\d+:\"|s:\d+:\"|C:\d+:\"|E:\d+:\")")
# A php-handler session starts with a variable name and a serialized value.
_SESSION_START = re.compile(rb"[^|!]{1,256}\|(?:[aOsCEid]:|b:[01];|N;|r:|R:)")


class PhpError(Exception):
    """The bytes are not PHP serialized data we can read."""


def looks_like_php_serialized(data: bytes) -> bool:
    """Whether the bytes start like ``serialize()`` of an array, object or string."""
    return _SERIALIZED_START.match(data) is not None


def looks_like_php_session(data: bytes) -> bool:
    """Whether the bytes start like the ``php`` session handler's ``name|value``."""
    return _SESSION_START.match(data) is not None


def _decoded(
    fmt: ValueFormat, data: bytes, root: Node, notes: list[str], limits: Limits
) -> Decoded:
    renderer = Renderer(limits, int_class="int", float_class="float")
    value = renderer.render(root)
    return Decoded(
        format=fmt,
        value=value,
        size=len(data),
        java_class=graph_top_class(root),
        error="; ".join([*notes, *renderer.notes]) or None,
    )


def decode_php_serialized(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """``serialize()`` bytes (the ``php_serialize`` handler) as typed JSON.

    Raises:
        PhpError: The bytes are not one complete serialized value.
    """
    parser = _Serialized(data)
    root = parser.guarded(parser.value)
    if parser.pos != len(data):
        raise PhpError(f"{len(data) - parser.pos} byte(s) after the value")
    return _decoded(ValueFormat.PHP, data, root, list(parser.notes), limits)


def decode_php_session(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """The ``php`` session handler's ``name|value...`` as one object of variables.

    Raises:
        PhpError: The bytes are not a complete session in this encoding.
    """
    parser = _Serialized(data)

    def variables() -> Node:
        out = Map("session")
        while parser.pos < len(data):
            bar = data.find(b"|", parser.pos)
            if bar < 0:
                raise PhpError("a variable name without '|'")
            name = data[parser.pos : bar]
            parser.pos = bar + 1
            out.pairs.append((_name(name), parser.value()))
        return out

    root = parser.guarded(variables)
    return _decoded(ValueFormat.PHP_SESSION, data, root, list(parser.notes), limits)


def decode_php_binary_session(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """The ``php_binary`` handler: per variable a length byte, the name, its value.

    Raises:
        PhpError: The bytes are not a complete session in this encoding.
    """
    parser = _Serialized(data)

    def variables() -> Node:
        out = Map("session")
        while parser.pos < len(data):
            length = data[parser.pos]
            undefined = length & 0x80  # PS_BIN_UNDEF: a name without a value
            length &= 0x7F
            name = data[parser.pos + 1 : parser.pos + 1 + length]
            if len(name) != length or not name:
                raise PhpError("a variable name cut short")
            parser.pos += 1 + length
            out.pairs.append((_name(name), None if undefined else parser.value()))
        if not out.pairs:
            raise PhpError("no variables")
        return out

    root = parser.guarded(variables)
    return _decoded(ValueFormat.PHP_BINARY, data, root, list(parser.notes), limits)


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _string(raw: bytes) -> Node:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return Raw("string", raw)


def php_property(name: bytes) -> str:
    """A property name as shown: ``Class::name`` (private), ``*name`` (protected), ``name``."""
    # Private "\0Class\0prop" and protected "\0*\0prop" property names.
    if name.startswith(b"\0"):
        owner, _, prop = name[1:].partition(b"\0")
        if owner == b"*":
            return "*" + _name(prop)
        return f"{_name(owner)}::{_name(prop)}"
    return _name(name)


_PHP_DATES = frozenset(
    {"DateTime", "DateTimeImmutable", "Carbon\\Carbon", "Carbon\\CarbonImmutable"}
)


def php_date(obj: Obj) -> Node:
    """A ``DateTime``-like object as a date: ``{"@class", "@value": ISO text, "@epochMillis"}``.

    PHP writes ``date`` (local wall time) with ``timezone_type`` 1 (an offset such
    as ``+02:00``), 2 (an abbreviation) or 3 (a zone name, resolved here from the
    system's zone data when it has it). Anything else is left as the object.
    """
    fields = dict(obj.fields)
    text, zone, kind = fields.get("date"), fields.get("timezone"), fields.get("timezone_type")
    if obj.cls not in _PHP_DATES or not isinstance(text, str) or not isinstance(zone, str):
        return obj
    try:
        naive = dt.datetime.fromisoformat(text)
    except ValueError:
        return obj
    tzinfo: dt.tzinfo | None = None
    if kind == 1:
        tzinfo = _offset_zone(zone)
    elif kind == 3 and _ZONE.fullmatch(zone):
        try:
            import zoneinfo

            tzinfo = zoneinfo.ZoneInfo(zone)
        except (ValueError, OSError, LookupError):
            tzinfo = None
    if tzinfo is None:
        return Scalar(obj.cls, f"{naive.isoformat()} {zone}")
    moment = naive.replace(tzinfo=tzinfo)
    epoch = (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    shown = moment.isoformat() + (f"[{zone}]" if kind == 3 and zone != "UTC" else "")
    return Scalar(obj.cls, shown, epoch)


@functools.lru_cache(maxsize=256)
def _offset_zone(zone: str) -> dt.tzinfo | None:
    """``+02:00`` as a fixed zone (``strptime`` is slow, and a store holds few offsets)."""
    if len(zone) > 16:
        return None
    try:
        return dt.datetime.strptime(zone.replace(":", ""), "%z").tzinfo
    except ValueError:
        return None


def _became(obj: Obj) -> Node | None:
    date = php_date(obj)
    return None if date is obj else date


_ZONE = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")


def _fill(target: Map, pairs: list[tuple[Node, Node]]) -> Map:
    """Set an array's members: a list when its keys are ``0..n-1``, else string keys."""
    if all(key == index and not isinstance(key, bool) for index, (key, _) in enumerate(pairs)):
        target.pairs, target.as_list = pairs, True
    else:
        target.pairs = [(str(key) if isinstance(key, int) else key, value) for key, value in pairs]
    return target


class _Serialized:
    """A reader of ``serialize()`` text with PHP's shared reference table."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.slots: list[Node] = []
        """Values in the order PHP numbers them for ``r:`` / ``R:`` (1-based there)."""
        self.notes: dict[str, None] = {}
        self.depth = 0

    def guarded(self, read: object) -> Node:
        assert callable(read)
        try:
            result: Node = read()
        except PhpError:
            raise
        except RecursionError as exc:
            raise PhpError("nested too deeply to read") from exc
        except (ValueError, IndexError, OverflowError) as exc:
            raise PhpError(str(exc) or type(exc).__name__) from exc
        return result

    def expect(self, token: bytes) -> None:
        if not self.data.startswith(token, self.pos):
            raise PhpError(f"expected {token!r} at byte {self.pos}")
        self.pos += len(token)

    def until(self, stop: bytes, pattern: re.Pattern[bytes]) -> bytes:
        end = self.data.find(stop, self.pos)
        if end < 0:
            raise PhpError("truncated")
        chunk = self.data[self.pos : end]
        if pattern.fullmatch(chunk) is None:
            raise PhpError(f"bad number at byte {self.pos}")
        self.pos = end + len(stop)
        return chunk

    def length(self) -> int:
        size = int(self.until(b":", _NUMBER))
        if size < 0 or size > len(self.data) - self.pos:
            raise PhpError(f"a length of {size} is more than the bytes left")
        return size

    def quoted(self, size: int) -> bytes:
        self.expect(b'"')
        raw = self.data[self.pos : self.pos + size]
        if len(raw) != size:
            raise PhpError("truncated string")
        self.pos += size
        self.expect(b'"')
        return raw

    def value(self, *, slot: bool = True) -> Node:
        # The commonest values (a string, an int) in one regex match; anything
        # else, or anything odd about them, takes the general path from the same byte.
        match = _QUICK.match(self.data, self.pos) if self.depth < _MAX_NESTING else None
        if match is not None:
            size = match[1]
            if size is None:
                node: Node = int(match[2])
                self.pos = match.end()
            else:
                start = match.end()
                end = start + int(size)
                if self.data[end : end + 2] != b'";':
                    return self._deeper(slot)
                node = _string(self.data[start:end])
                self.pos = end + 2
            if slot:
                self.slots.append(node)
            return node
        return self._deeper(slot)

    def _deeper(self, slot: bool) -> Node:
        # No try/finally: an exception ends the whole read, so the depth need not unwind.
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise PhpError(f"nested deeper than {_MAX_NESTING} levels")
        node = self._value(slot)
        self.depth -= 1
        return node

    def _push(self, node: Node, slot: bool) -> int:
        if not slot:
            return -1
        self.slots.append(node)
        return len(self.slots) - 1

    def _value(self, slot: bool) -> Node:
        if self.pos + 2 > len(self.data):
            raise PhpError("truncated")
        kind = self.data[self.pos : self.pos + 2]
        self.pos += 2
        node: Node
        if kind == b"N;":
            self._push(None, slot)
            return None
        if kind == b"b:":
            flag = self.until(b";", re.compile(rb"[01]"))
            node = flag == b"1"
        elif kind == b"i:":
            node = int(self.until(b";", _NUMBER))
        elif kind == b"d:":
            text = self.until(b";", _FLOAT).decode()
            node = float(text.replace("INF", "inf").replace("NAN", "nan"))
        elif kind == b"s:":
            node = _string(self.quoted(self.length()))
            self.expect(b";")
        elif kind == b"S:":  # escaped string (\xx hex escapes)
            node = _string(self._escaped(self.length()))
            self.expect(b";")
        elif kind in (b"r:", b"R:"):
            index = int(self.until(b";", _NUMBER))
            if not 1 <= index <= len(self.slots):
                self.notes[f"a reference to value {index} that does not exist"] = None
                node = Link(f"value {index}")
            else:
                node = self.slots[index - 1]
            if kind == b"R:":
                return node  # a PHP reference takes no slot of its own
        elif kind == b"a:":
            return self._array(slot)
        elif kind == b"O:":
            return self._object(slot)
        elif kind == b"C:":
            return self._custom(slot)
        elif kind == b"E:":
            name, _, case = _name(self.quoted(self.length())).partition(":")
            self.expect(b";")
            node = Scalar(name, case)
        else:
            raise PhpError(f"unknown type {kind!r} at byte {self.pos - 2}")
        self._push(node, slot)
        return node

    def _escaped(self, size: int) -> bytes:
        self.expect(b'"')
        out = bytearray()
        while len(out) < size:
            byte = self.data[self.pos]
            if byte == 0x5C:  # backslash: two hex digits follow
                out.append(int(self.data[self.pos + 1 : self.pos + 3], 16))
                self.pos += 3
            else:
                out.append(byte)
                self.pos += 1
        self.expect(b'"')
        return bytes(out)

    def _members(self, count: int) -> list[tuple[Node, Node]]:
        pairs: list[tuple[Node, Node]] = []
        for _ in range(count):
            key = self.value(slot=False)
            if not isinstance(key, int | str) or isinstance(key, bool):
                raise PhpError("an array key that is not an int or string")
            pairs.append((key, self.value()))
        self.expect(b"}")
        return pairs

    def _array(self, slot: bool) -> Node:
        count = int(self.until(b":", _NUMBER))
        if count < 0 or count > len(self.data) - self.pos:
            raise PhpError(f"an array of {count} is more than the bytes left")
        self.expect(b"{")
        # The slot is taken before the members (PHP numbers the array first), so
        # a reference inside it to itself is a cycle.
        target = Map("array")
        self._push(target, slot)
        return _fill(target, self._members(count))

    def _object(self, slot: bool) -> Node:
        cls = _name(self.quoted(self.length()))
        self.expect(b":")
        count = int(self.until(b":", _NUMBER))
        if count < 0 or count > len(self.data) - self.pos:
            raise PhpError(f"an object of {count} properties is more than the bytes left")
        self.expect(b"{")
        obj = Obj(cls)
        self._push(obj, slot)
        for key, value in self._members(count):
            obj.fields.append(
                (php_property(key.encode() if isinstance(key, str) else str(key).encode()), value)
            )
        obj.become = _became(obj)
        return obj

    def _custom(self, slot: bool) -> Node:
        cls = _name(self.quoted(self.length()))
        self.expect(b":")
        size = self.length()
        self.expect(b"{")
        payload = self.data[self.pos : self.pos + size]
        if len(payload) != size:
            raise PhpError("truncated object data")
        self.pos += size
        self.expect(b"}")
        node = Obj(cls, data=[_string(payload)])
        self._push(node, slot)
        return node


# --------------------------------------------------------------------------- igbinary

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_F64 = struct.Struct(">d")


def decode_igbinary(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Igbinary bytes (``00 00 00 02`` header) as typed JSON.

    Raises:
        PhpError: The bytes are not one complete igbinary value.
    """
    if data[:4] not in IGBINARY_MAGIC:
        raise PhpError("not igbinary data")
    parser = _Igbinary(data)
    try:
        root = parser.value()
    except PhpError:
        raise
    except RecursionError as exc:
        raise PhpError("nested too deeply to read") from exc
    except (ValueError, IndexError, struct.error) as exc:
        raise PhpError(str(exc) or type(exc).__name__) from exc
    if parser.pos != len(data):
        raise PhpError(f"{len(data) - parser.pos} byte(s) after the value")
    return _decoded(ValueFormat.IGBINARY, data, root, list(parser.notes), limits)


# Types that take a reference slot themselves (arrays, objects, references to them).
_SLOTTED = frozenset(
    {0x01, 0x02, 0x03, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x22, 0x23, 0x24}
)


class _Igbinary:
    """igbinary's format (``igbinary.c``): typed values, a string table, a reference table."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 4
        self.strings: list[bytes] = []
        self.refs: list[Node] = []
        self.notes: dict[str, None] = {}
        self.depth = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise PhpError("truncated: a length points past the end")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def uint(self, width: int) -> int:
        return int.from_bytes(self.take(width), "big")

    def new_string(self, width: int) -> bytes:
        raw = self.take(self.uint(width))
        self.strings.append(raw)
        return raw

    def string_id(self, width: int) -> bytes:
        index = self.uint(width)
        if index >= len(self.strings):
            raise PhpError(f"string id {index} points nowhere")
        return self.strings[index]

    def value(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise PhpError(f"nested deeper than {_MAX_NESTING} levels")
        try:
            return self._value(self.byte())
        finally:
            self.depth -= 1

    def _text(self, code: int) -> bytes | None:
        if code == 0x0D:
            return b""
        if code in (0x11, 0x12, 0x13):
            return self.new_string({0x11: 1, 0x12: 2, 0x13: 4}[code])
        if code in (0x0E, 0x0F, 0x10):
            return self.string_id({0x0E: 1, 0x0F: 2, 0x10: 4}[code])
        return None

    def _long(self, code: int) -> int | None:
        widths = {0x06: 1, 0x07: 1, 0x08: 2, 0x09: 2, 0x0A: 4, 0x0B: 4, 0x20: 8, 0x21: 8}
        if code not in widths:
            return None
        number = self.uint(widths[code])
        return number if code in (0x06, 0x08, 0x0A, 0x20) else -number

    def _value(self, code: int) -> Node:
        if code == 0x00:
            return None
        if code == 0x04:
            return False
        if code == 0x05:
            return True
        number = self._long(code)
        if number is not None:
            return number
        if code == 0x0C:
            return float(_F64.unpack(self.take(8))[0])
        text = self._text(code)
        if text is not None:
            return _string(text)
        if code in (0x14, 0x15, 0x16):
            return self._array(self.uint({0x14: 1, 0x15: 2, 0x16: 4}[code]))
        if code in (0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C):
            if code <= 0x19:
                cls = self.new_string({0x17: 1, 0x18: 2, 0x19: 4}[code])
            else:
                cls = self.string_id({0x1A: 1, 0x1B: 2, 0x1C: 4}[code])
            return self._object(_name(cls))
        if code in (0x01, 0x02, 0x03, 0x22, 0x23, 0x24):
            index = self.uint({0x01: 1, 0x02: 2, 0x03: 4, 0x22: 1, 0x23: 2, 0x24: 4}[code])
            if index >= len(self.refs):
                self.notes[f"a reference to value {index} that does not exist"] = None
                return Link(f"value {index}")
            return self.refs[index]
        if code == 0x25:  # a PHP reference (&)
            if self.pos < len(self.data) and self.data[self.pos] in _SLOTTED:
                return self.value()  # the array or object it wraps has the slot
            index = len(self.refs)
            self.refs.append(Link("reference"))
            node = self.value()
            self.refs[index] = node
            return node
        raise PhpError(f"unknown igbinary type 0x{code:02x} at byte {self.pos - 1}")

    def _required_text(self) -> bytes:
        text = self._text(self.byte())
        if text is None:
            raise PhpError("expected a string")
        return text

    def _members(self, count: int) -> list[tuple[Node, Node]]:
        if count > len(self.data) - self.pos:
            raise PhpError(f"{count} members is more than the bytes left")
        pairs: list[tuple[Node, Node]] = []
        for _ in range(count):
            code = self.byte()
            key: Node = self._long(code)
            if key is None:
                text = self._text(code)
                if text is None:
                    raise PhpError(f"an array key of type 0x{code:02x}")
                key = text.decode("utf-8", "replace")
            pairs.append((key, self.value()))
        return pairs

    def _array(self, count: int) -> Node:
        target = Map("array")
        self.refs.append(target)
        return _fill(target, self._members(count))

    def _object(self, cls: str) -> Node:
        obj = Obj(cls)
        self.refs.append(obj)
        code = self.byte()
        if code == 0x27:  # a PHP 8.1 enum case: the class, then the case's name
            case = Scalar(cls, _name(self._required_text()))
            self.refs[-1] = case
            return case
        if code in (0x14, 0x15, 0x16):
            count = self.uint({0x14: 1, 0x15: 2, 0x16: 4}[code])
            for key, value in self._members(count):
                name = key.encode() if isinstance(key, str) else str(key).encode()
                obj.fields.append((php_property(name), value))
            obj.become = _became(obj)
        elif code in (0x1D, 0x1E, 0x1F):  # Serializable / __serialize payload
            obj.data.append(_string(self.take(self.uint({0x1D: 1, 0x1E: 2, 0x1F: 4}[code]))))
        else:
            raise PhpError(f"object {cls} without properties (type 0x{code:02x})")
        return obj
