"""JDK serialization (``AC ED 00 05``) as a Java developer would read it.

Spring's ``JdkSerializationRedisSerializer`` writes one ``ObjectOutputStream.writeObject``
per value. The stream is parsed by ``javaobj-py3``'s ``javaobj.v2`` parser, which only
reads bytes into beans (class descriptions, field values, block data): nothing from the
stream is ever loaded or run. The beans are then rendered into the typed JSON of
:mod:`inspector.core.values`:

* boxed primitives become JSON numbers and booleans, ``String`` a JSON string;
* ``Date``/``Timestamp`` and every ``java.time`` value (written through
  ``java.time.Ser``) become ISO-8601 text, formatted as their ``toString()`` does;
* ``BigDecimal``, ``BigInteger``, ``UUID``, enums, ``Character`` and ``Class`` become
  ``{"@class", "@value"}`` text;
* arrays and JDK collections become ``@items`` (``byte[]`` becomes ``@hex``), maps
  ``@entries``; their elements live in the custom ``writeObject`` data and are read
  from there;
* any other object becomes ``{"@class": FQCN, field: value, ...}`` with superclass
  fields first; custom ``writeObject`` data we cannot name is kept under ``@data``,
  raw bytes as ``{"@hex": ...}``;
* an object met again while rendering itself (a cycle) becomes ``{"@ref": FQCN}``;
  an array or object of more than 16 values that the stream refers to again (a
  back-reference) is rendered in full once, with ``"@id": n``, and as
  ``{"@ref": "FQCN #n"}`` wherever it is met again, so 515 bytes of doubling
  references stay a few hundred values, not 2^33 (smaller shared values are
  repeated: a reference would cost as much);
* reading stops at the value budget (``Limits.max_nodes`` values read): an
  ``Object[]`` claiming 5,000,000 elements is read to its cut, not past it, and
  what was read is shown with a note.

Where ``javaobj.v2`` falls short, a subclass of its parser fixes it (see
:class:`_Parser`): correct and fast modified UTF-8, arrays that contain themselves,
``Externalizable`` data, reads past the end that fail at once, and work that stays
linear in the size of a hostile stream. Decoding never raises: bytes that cannot be
read give an ``UNDECODABLE`` result with a preview.
"""

from __future__ import annotations

import io
import math
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Final, cast

from javaobj.constants import ClassDescFlags, TerminalCode
from javaobj.v2.beans import (
    BlockData,
    ClassDescType,
    ContentType,
    FieldType,
    JavaArray,
    JavaClass,
    JavaClassDesc,
    JavaEnum,
    JavaField,
    JavaInstance,
    JavaString,
    ParsedJavaContent,
)
from javaobj.v2.core import JavaStreamParser
from javaobj.v2.stream import DataStreamReader

from inspector.core.pinned import require_members
from inspector.core.values import (
    CLASS,
    DATA,
    DEFAULT_LIMITS,
    ENTRIES,
    EPOCH_MILLIS,
    HEX,
    ITEMS,
    JAVA_MAGIC,
    REF,
    VALUE,
    Decoded,
    JsonValue,
    Limits,
    ValueFormat,
    date_value,
    decimal_text,
    undecodable,
)

__all__ = ["decode_java"]

# Real class hierarchies are a handful of levels deep; a longer chain is an attack.
_MAX_HIERARCHY: Final = 64
# Longer BigInteger magnitudes are shown in hex: CPython refuses int -> str beyond
# 4300 digits, and the conversion is quadratic.
_MAX_DECIMAL_BYTES: Final = 1024
_INT64: Final = range(-(1 << 63), 1 << 63)

_INLINE_SHARED: Final = 16
"""A shared value this small (a granted authority, a date) is shown again in full: it
reads better, and repeating it costs what a reference would. Past it, a reference."""
_ID: Final = "@id"
"""Marks the one full rendering of a shared array or object (``{"@ref": "FQCN #n"}``)."""

_I8 = struct.Struct(">b")
_U8 = struct.Struct(">B")
_I16 = struct.Struct(">h")
_U16 = struct.Struct(">H")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")

# Element width and struct code of primitive arrays, by JVM type letter.
_PRIMITIVE_ARRAYS: Final = {
    "B": (1, "b"),
    "C": (2, "H"),
    "D": (8, "d"),
    "F": (4, "f"),
    "I": (4, "i"),
    "J": (8, "q"),
    "S": (2, "h"),
    "Z": (1, "B"),
}


def decode_java(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Decode a JDK-serialized value (one ``writeObject``) into typed JSON.

    Args:
        data: The raw bytes, starting with ``AC ED 00 05``.
        limits: Bounds on nesting depth, rendered values and string length.

    Returns:
        A ``JAVA`` :class:`~inspector.core.values.Decoded` whose ``java_class`` is the
        top-level class (JVM names for arrays, e.g. ``[Ljava.lang.String;``) and whose
        ``error`` notes anything cut off or skipped; ``UNDECODABLE`` with a preview when
        the stream is truncated, corrupt or too costly to read. Never raises.
    """
    try:
        return _decode(data, limits)
    except RecursionError:
        reason = "nested too deeply to read"
    except MemoryError:
        reason = "too large to read"
    except Exception as exc:  # the promise: hostile bytes never raise
        reason = f"decoder failed: {type(exc).__name__}"
    return undecodable(data, reason, java_class=_peek_class(data), limits=limits)


def _decode(data: bytes, limits: Limits) -> Decoded:
    if not data.startswith(JAVA_MAGIC):
        return undecodable(data, "not a Java serialization stream", limits=limits)
    source = _Source(data, len(JAVA_MAGIC))
    # Reading may go past what is rendered (small shared values are shown again,
    # fields are read that hold nothing shown), but not by much.
    parser = _Parser(source, 2 * limits.max_nodes + 1000)
    try:
        try:
            found, top = parser.read_top()
        except _Cut:
            found, top = parser.root is not None, parser.root
        if not found:
            return undecodable(data, "no object after the stream header", limits=limits)
        extra_notes = [] if parser.values_read >= parser.budget else _count_extra(parser, source)
    except EOFError:
        return _unreadable(data, "truncated: the data ends inside a value", limits)
    except RecursionError:
        return _unreadable(data, "nested too deeply to read", limits)
    except MemoryError:
        return _unreadable(data, "too large to read", limits)
    except Exception as exc:  # javaobj signals corrupt data with ValueError, KeyError...
        return _unreadable(data, f"corrupt stream: {_short(exc)}", limits)

    renderer = _Renderer(limits, parser.shared)
    value = renderer.value(top, 0)
    notes = [*parser.notes, *renderer.notes, *extra_notes]
    if isinstance(top, ParsedJavaContent) and top.is_exception:
        notes.insert(0, "the stream records an exception thrown while writing it")
    return Decoded(
        format=ValueFormat.JAVA,
        value=value,
        size=len(data),
        java_class=_top_class(top, value),
        error="; ".join(notes) or None,
    )


def _unreadable(data: bytes, reason: str, limits: Limits) -> Decoded:
    return undecodable(data, reason, java_class=_peek_class(data), limits=limits)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _count_extra(parser: _Parser, source: _Source) -> list[str]:
    """Notes about whatever follows the first object (Spring writes exactly one)."""
    count, good_end = 0, source.tell()
    try:
        while True:
            found, _ = parser.read_top()
            if not found:
                break
            count, good_end = count + 1, source.tell()
    except Exception:  # trailing garbage must not hide the value before it
        garbage = f"{source.size - good_end} trailing byte(s) that could not be read"
        return [f"{count} more object(s) after the value, then {garbage}" if count else garbage]
    if count:
        return [f"{count} more object{'s' if count > 1 else ''} after the value (not shown)"]
    return []


# --------------------------------------------------------------------------- parsing


class _Source:
    """The bytes as the file object javaobj reads: a read past the end fails at once.

    ``BytesIO`` would hand back a short read, which javaobj accepts for strings and block
    data (a truncated value would look complete); checking first also means a claimed
    length of 2^31 is refused before anything is allocated.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, pos: int) -> None:
        self._data = data
        self._pos = pos

    def read(self, size: int = -1) -> bytes:
        """Read exactly ``size`` bytes (all the rest if negative)."""
        start = self._pos
        end = len(self._data) if size < 0 else start + size
        if end > len(self._data):
            raise EOFError(f"{size} bytes claimed, {len(self._data) - start} left")
        self._pos = end
        return self._data[start:end]

    def tell(self) -> int:
        """Current offset."""
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move like ``io.BytesIO.seek`` (javaobj steps back one byte at times)."""
        base = (0, self._pos, len(self._data))[whence]
        self._pos = min(max(base + offset, 0), len(self._data))
        return self._pos

    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self._data) - self._pos

    @property
    def size(self) -> int:
        """Length of the whole value."""
        return len(self._data)


class _Reader(DataStreamReader):
    """javaobj's primitive reader with precompiled structs and a correct ``read_UTF``."""

    def __init__(self, source: _Source) -> None:
        super().__init__(cast("IO[bytes]", source))
        self._src = source

    def read_bool(self) -> bool:
        return bool(self._src.read(1)[0])

    def read_byte(self) -> int:
        return int(_I8.unpack(self._src.read(1))[0])

    def read_ubyte(self) -> int:
        return self._src.read(1)[0]

    def read_char(self) -> str:
        return chr(_U16.unpack(self._src.read(2))[0])

    def read_short(self) -> int:
        return int(_I16.unpack(self._src.read(2))[0])

    def read_ushort(self) -> int:
        return int(_U16.unpack(self._src.read(2))[0])

    def read_int(self) -> int:
        return int(_I32.unpack(self._src.read(4))[0])

    def read_long(self) -> int:
        return int(_I64.unpack(self._src.read(8))[0])

    def read_float(self) -> float:
        return float(_F32.unpack(self._src.read(4))[0])

    def read_double(self) -> float:
        return float(_F64.unpack(self._src.read(8))[0])

    def read_UTF(self) -> str:  # javaobj's name for DataInput.readUTF
        return _mutf8(self._src.read(self.read_ushort()))[0]


class _String(JavaString):
    """A ``JavaString`` built from text we decoded ourselves (see :func:`_mutf8`)."""

    def __init__(self, handle: int, value: str) -> None:
        ParsedJavaContent.__init__(self, ContentType.STRING)
        self.handle = handle
        self.value = value
        self.length = len(value)


class _Array(JavaArray):
    """A ``JavaArray`` whose elements are in :attr:`values`; ``byte[]`` stays ``bytes``."""

    def __init__(self, handle: int, desc: JavaClassDesc, element: FieldType) -> None:
        super().__init__(handle, desc, element, [])
        self.values: bytes | list[Any] = []


class _Cut(Exception):
    """The parser read as many values as the budget allows: stop, show what was read."""


class _Parser(JavaStreamParser):
    """``javaobj.v2``'s parser with the fixes this decoder relies on.

    * Strings use :func:`_mutf8`: javaobj's decoder takes every ``ED`` lead byte for a
      surrogate pair, so Hangul U+D000-U+D7FF fails, and it is pure Python (slow on
      a 70 KB string).
    * Arrays get their handle before their elements, as Java does: javaobj registers it
      afterwards, so an ``Object[]`` containing itself fails. Primitive arrays are read
      in one slice, after checking the claimed length against the bytes left.
    * Class data: ``Externalizable`` contents are read as the block data they are
      (javaobj needs a transformer for that and then mis-reads ``writeObject`` classes),
      hierarchies are walked without recursion with a loop and depth check, and only
      the classes that carry data are visited, so the work stays linear in the bytes.
    """

    def __init__(self, source: _Source, budget: int = DEFAULT_LIMITS.max_nodes) -> None:
        super().__init__(cast("IO[bytes]", source), [])
        self._src = source
        self.budget = budget
        """Values (array elements, fields) read before parsing stops (:class:`_Cut`)."""
        self.values_read = 0
        self.shared: set[int] = set()
        """``id`` of every bean a back-reference (``TC_REFERENCE``) pointed at."""
        self.root: Any = None
        """The first value read (the top-level one): what is shown after a cut."""
        self._in = _Reader(source)
        # javaobj reads class and field names through its private reader: swap ours in
        # so those names get the same modified UTF-8 decoding as string values
        # (_check_javaobj made sure, at import, that the reader is still there).
        self._JavaStreamParser__reader = self._in
        self._plans: dict[JavaClassDesc, tuple[JavaClassDesc, ...] | None] = {}
        self.notes: dict[str, None] = {}  # an ordered set: each note once

    def read_top(self) -> tuple[bool, Any]:
        """Read the next top-level content: ``(False, None)`` at the end of the data."""
        while True:
            if self._src.remaining() == 0:
                return False, None
            type_code = self._in.read_ubyte()
            if type_code == TerminalCode.TC_RESET:
                self._reset()  # type: ignore[no-untyped-call]
                continue
            return True, self._read_content(type_code, True)

    def _do_reference(self, type_code: int = 0) -> ParsedJavaContent:
        previous: ParsedJavaContent = super()._do_reference(type_code)
        self.shared.add(id(previous))
        return previous

    def _set_handle(self, handle: int, content: ParsedJavaContent) -> None:
        super()._set_handle(handle, content)
        if self.root is None and not isinstance(content, JavaClassDesc):
            self.root = content

    def _spend(self, values: int) -> int:
        """Take up to ``values`` from the budget; how many may be read."""
        room = max(self.budget - self.values_read, 0)
        self.values_read += min(values, room)
        return min(values, room)

    def _read_new_string(self, type_code: int) -> JavaString:
        if type_code == TerminalCode.TC_REFERENCE:
            previous = self._do_reference()
            if not isinstance(previous, JavaString):
                raise ValueError("reference to a string is not a string")
            return previous
        handle = self._new_handle()
        if type_code == TerminalCode.TC_STRING:
            length = self._in.read_ushort()
        elif type_code == TerminalCode.TC_LONGSTRING:
            length = self._in.read_long()
            if length < 0:
                raise ValueError(f"negative string length {length}")
        else:
            raise ValueError(f"expected a string, got type code 0x{type_code & 0xFF:02x}")
        text, clean = _mutf8(self._src.read(length))
        if not clean:
            self.notes["invalid modified UTF-8 in a string (shown with U+FFFD)"] = None
        string = _String(handle, text)
        self._set_handle(handle, string)
        return string

    def _do_array(self, type_code: int) -> JavaArray:
        desc = self._read_classdesc()
        if desc is None:
            raise ValueError("array without class description")
        handle = self._new_handle()
        name = desc.name
        if not name or len(name) < 2 or name[0] != "[":
            raise ValueError(f"invalid array class name {name!r}")
        element = FieldType(ord(name[1]))
        size = self._in.read_int()
        if size < 0:
            raise ValueError(f"negative array size {size}")
        primitive = _PRIMITIVE_ARRAYS.get(name[1])
        width = primitive[0] if primitive else 1  # an object element takes >= 1 byte
        if size * width > self._src.remaining():
            raise EOFError(f"array of {size} elements is longer than the data")
        array = _Array(handle, desc, element)
        self._set_handle(handle, array)  # before the elements: they may refer to it
        content: bytes | list[Any]
        if primitive is None:
            allowed = self._spend(size)
            content = [self._read_field_value(element) for _ in range(allowed)]
            if allowed < size:
                # Each element may be a whole object: reading on would cost what
                # the budget is for, and the stream cannot be skipped, so stop here.
                array.values = content
                self.notes[
                    f"stopped reading at an array of {size:,} elements, after "
                    f"{self.values_read:,} values (the budget); the rest is not shown"
                ] = None
                raise _Cut
        elif name[1] == "B":
            content = self._src.read(size)
        else:
            allowed = self._spend(size)
            raw = self._src.read(size * width)  # the stream goes on after them: skip
            content = list(struct.unpack(f">{allowed}{primitive[1]}", raw[: allowed * width]))
            if allowed < size:
                self.notes[f"an array of {size:,} elements read to its first {allowed:,}"] = None
            if name[1] == "C":
                content = [chr(code) for code in content]
            elif name[1] == "Z":
                content = [bool(flag) for flag in content]
        array.values = content
        return array

    def _read_class_data(self, instance: JavaInstance) -> None:
        desc = instance.classdesc
        if desc in self._plans:
            plan = self._plans[desc]
        else:
            plan = self._plans[desc] = _data_plan(desc)
        field_data: dict[JavaClassDesc, dict[JavaField, Any]] = {}
        annotations: dict[JavaClassDesc, list[Any]] = {}
        # Filled in place: after a cut (_Cut) the instance holds what was read.
        instance.field_data = field_data
        instance.annotations = annotations
        if plan is None:
            # writeExternal output: block data and objects up to TC_ENDBLOCKDATA.
            annotations[desc] = self._read_class_annotations(desc)
        else:
            for level in plan:
                if self._spend(len(level.fields)) < len(level.fields):
                    self.notes[
                        f"stopped reading after {self.values_read:,} values (the budget); "
                        "the rest is not shown"
                    ] = None
                    raise _Cut
                field_data[level] = {
                    field: self._read_field_value(field.type) for field in level.fields
                }
                if level.desc_flags & ClassDescFlags.SC_WRITE_METHOD:
                    annotations[level] = self._read_class_annotations(level)
        instance.field_data = field_data
        instance.annotations = annotations


def _check_javaobj() -> None:
    """Fail at import, not silently later, if javaobj moved what :class:`_Parser` relies on.

    Its overrides are called only while javaobj still dispatches to those names,
    and the swapped-in reader is used only while javaobj still reads through
    that (name-mangled) attribute.
    """
    user = "inspector/core/decoders/java.py"
    require_members(JavaStreamParser, _JAVAOBJ_METHODS, library="javaobj-py3", user=user)
    sample = JavaStreamParser(io.BytesIO(), [])
    require_members(sample, ("_JavaStreamParser__reader",), library="javaobj-py3", user=user)


_JAVAOBJ_METHODS = (
    # overridden
    "_do_reference",
    "_set_handle",
    "_read_new_string",
    "_do_array",
    "_read_class_data",
    # called
    "_reset",
    "_read_content",
    "_do_reference",
    "_new_handle",
    "_set_handle",
    "_read_classdesc",
    "_read_field_value",
    "_read_class_annotations",
)
"""Private methods of javaobj's ``JavaStreamParser`` that :class:`_Parser` overrides or calls."""

_check_javaobj()


def _data_plan(desc: JavaClassDesc) -> tuple[JavaClassDesc, ...] | None:
    """The classes of ``desc``'s hierarchy that have data in the stream, superclass first.

    A class with no serializable field and no ``writeObject`` takes no bytes, so it is
    left out: otherwise thousands of 6-byte objects sharing a 60-class hierarchy would
    cost 60 steps each, and a hostile stream could make parsing quadratic. ``None``
    means an ``Externalizable`` class: read the ``writeExternal`` data of ``desc`` itself.
    """
    chain = _hierarchy(desc)
    if desc.desc_flags & ClassDescFlags.SC_EXTERNALIZABLE:
        if not desc.desc_flags & ClassDescFlags.SC_BLOCK_DATA:
            raise ValueError("Externalizable data in the JDK 1.1 format (no block data)")
        return None
    plan = []
    for level in chain:
        if level.class_type == ClassDescType.PROXYCLASS:
            continue  # a dynamic proxy's own class has no data
        if not level.desc_flags & ClassDescFlags.SC_SERIALIZABLE:
            raise ValueError(f"class {level.name} is not serializable")
        if level.fields or level.desc_flags & ClassDescFlags.SC_WRITE_METHOD:
            plan.append(level)
    return tuple(plan)


def _hierarchy(desc: JavaClassDesc | None) -> list[JavaClassDesc]:
    """The class descriptions from the top superclass down to ``desc`` (stream order)."""
    chain: list[JavaClassDesc] = []
    seen: set[int] = set()
    while desc is not None:
        if id(desc) in seen or len(chain) >= _MAX_HIERARCHY:
            raise ValueError("class hierarchy loops or is too deep")
        seen.add(id(desc))
        chain.append(desc)
        desc = desc.super_class
    chain.reverse()
    return chain


def _mutf8(raw: bytes) -> tuple[str, bool]:
    """Decode Java's modified UTF-8; the flag is False when invalid bytes were replaced.

    Modified UTF-8 is UTF-8 with NUL as ``C0 80`` and characters above U+FFFF as two
    3-byte surrogates (CESU-8). ``C0`` never occurs otherwise, so the NUL swap is safe;
    surrogates decode with ``surrogatepass`` and are then paired through UTF-16. An
    unpaired surrogate (legal in a Java string, not in JSON) becomes U+FFFD.
    """
    if raw.isascii():
        return raw.decode("ascii"), True
    raw = raw.replace(b"\xc0\x80", b"\x00")
    try:
        text = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), False
    if b"\xed" in raw:  # ED A0..BF xx is a surrogate; ED 80..9F xx is U+D000-U+D7FF
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text, True


def _peek_class(data: bytes) -> str | None:
    """The first class named in the stream, for undecodable results (no parsing)."""
    if len(data) < 5:
        return None
    code = data[4]
    if code in (TerminalCode.TC_STRING, TerminalCode.TC_LONGSTRING):
        return "java.lang.String"
    if code in (TerminalCode.TC_OBJECT, TerminalCode.TC_ARRAY, TerminalCode.TC_ENUM) and (
        len(data) >= 8 and data[5] == TerminalCode.TC_CLASSDESC
    ):
        length = int.from_bytes(data[6:8], "big")
        if 0 < length <= len(data) - 8:
            name, clean = _mutf8(data[8 : 8 + length])
            return name if clean and name.isprintable() else None
    return None


# ------------------------------------------------------------------------- rendering

_NOT_MINE: Final = object()
"""Returned by a special-case renderer when the object does not have the expected shape."""

_NON_FINITE: Final = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a JDK collection class keeps its elements (its ``writeObject`` data)."""

    kind: str
    """``items``, ``entries``, or ``hidden`` (a class whose fields are internals)."""
    skip: int = 0
    """Objects before the elements that are not elements (``TreeSet``'s comparator)."""
    trailing: int = 0
    """``null`` terminators after the elements (``ConcurrentHashMap`` writes two)."""


_LAYOUTS: Final = {
    "java.util.ArrayList": _Layout("items"),
    "java.util.LinkedList": _Layout("items"),
    "java.util.ArrayDeque": _Layout("items"),
    "java.util.HashSet": _Layout("items"),
    "java.util.TreeSet": _Layout("items", skip=1),
    "java.util.PriorityQueue": _Layout("items"),
    "java.util.CollSer": _Layout("items"),
    "java.util.concurrent.CopyOnWriteArrayList": _Layout("items"),
    "java.util.concurrent.ConcurrentLinkedQueue": _Layout("items", trailing=1),
    "java.util.concurrent.ConcurrentLinkedDeque": _Layout("items", trailing=1),
    "java.util.concurrent.LinkedBlockingQueue": _Layout("items", trailing=1),
    "java.util.concurrent.LinkedBlockingDeque": _Layout("items", trailing=1),
    "java.util.HashMap": _Layout("entries"),
    "java.util.TreeMap": _Layout("entries"),
    "java.util.Hashtable": _Layout("entries"),
    "java.util.IdentityHashMap": _Layout("entries"),
    "java.util.EnumMap": _Layout("entries"),
    "java.util.concurrent.ConcurrentHashMap": _Layout("entries", trailing=2),
    "java.util.concurrent.ConcurrentSkipListMap": _Layout("entries", trailing=1),
    "java.util.LinkedHashMap": _Layout("hidden"),
    "java.util.Properties": _Layout("hidden"),
}

# Sorted collections: the comparator is worth showing when there is one.
_COMPARATOR: Final = "comparator"

# Collections.* wrappers: the field holding the wrapped collection or map.
_WRAPPERS: Final = {
    f"java.util.Collections${kind}{shape}": field
    for kind in ("Unmodifiable", "Synchronized", "Checked")
    for shape, field in (
        ("Collection", "c"),
        ("List", "c"),
        ("RandomAccessList", "c"),
        ("Set", "c"),
        ("SortedSet", "c"),
        ("NavigableSet", "c"),
        ("Map", "m"),
        ("SortedMap", "m"),
        ("NavigableMap", "m"),
    )
} | {"java.util.concurrent.CopyOnWriteArraySet": "al"}

# What List.of/Set.of/Map.of give back after CollSer.readResolve, by tag and size.
_IMMUTABLE_LIST: Final = 1
_IMMUTABLE_SET: Final = 2
_IMMUTABLE_MAP: Final = 3
_IMMUTABLE_LIST_NULLS: Final = 4


def _immutable_class(tag: int, size: int) -> str | None:
    prefix = "java.util.ImmutableCollections$"
    if tag in (_IMMUTABLE_LIST, _IMMUTABLE_LIST_NULLS):
        return prefix + ("List12" if tag == _IMMUTABLE_LIST and size in (1, 2) else "ListN")
    if tag == _IMMUTABLE_SET:
        return prefix + ("Set12" if size in (1, 2) else "SetN")
    if tag == _IMMUTABLE_MAP:
        return prefix + ("Map1" if size == 2 else "MapN")
    return None


class _Renderer:
    """Walks parsed beans into typed JSON within the limits, collecting notes."""

    def __init__(self, limits: Limits, shared: set[int] | frozenset[int] = frozenset()) -> None:
        self.limits = limits
        self.shared = shared
        """Beans a back-reference points at: rendered in full once, then as ``@ref``."""
        # id(bean) -> its one full rendering; given an "@id" when first pointed back to.
        self._first: dict[int, dict[str, JsonValue]] = {}
        self._ids = 0
        self.nodes = 0
        self.full = False
        self.notes: dict[str, None] = {}  # an ordered set: each note once
        self._path: set[int] = set()
        self._keys: dict[JavaClassDesc, dict[JavaClassDesc, tuple[str, ...]]] = {}
        self._enums: dict[JavaClassDesc, str] = {}

    # -- dispatch

    def value(self, obj: Any, depth: int) -> JsonValue:
        """Typed JSON of a bean or a primitive field value."""
        if not self.count(1):
            return None
        if obj is None or isinstance(obj, bool | int):
            return obj
        if isinstance(obj, float):
            return _double(obj)
        if isinstance(obj, str):
            return _char(obj)
        if isinstance(obj, JavaString):
            return self.text(obj.value)
        if isinstance(obj, JavaEnum):
            enum = self._enums.get(obj.classdesc)
            if enum is None:
                enum = self._enums[obj.classdesc] = _enum_class(obj.classdesc)
            return {CLASS: enum, VALUE: self.text(str(obj.value.value))}
        if isinstance(obj, JavaClass):
            return {CLASS: "java.lang.Class", VALUE: _class_name(obj.classdesc)}
        if isinstance(obj, BlockData):
            return self.hex(obj.data)
        if isinstance(obj, JavaClassDesc):
            return {CLASS: "java.io.ObjectStreamClass", VALUE: _class_name(obj)}
        if isinstance(obj, _Array | JavaInstance):
            return self.compound(obj, depth)
        return self.text(str(obj))  # not produced by the parser; shown rather than lost

    def compound(self, obj: _Array | JavaInstance, depth: int) -> JsonValue:
        """Arrays and objects: the ones that nest, so depth and cycles are checked here."""
        name = _class_name(obj.classdesc)
        if id(obj) in self._path:
            return {REF: name}
        first = self._first.get(id(obj))
        if first is not None:
            if _ID not in first:
                self._ids += 1
                first[_ID] = self._ids  # only objects pointed back to carry an "@id"
            return {REF: f"{name} #{first[_ID]}"}
        if depth >= self.limits.max_depth:
            self.notes[f"cut off below {self.limits.max_depth} levels of nesting"] = None
            return {CLASS: name}
        self._path.add(id(obj))
        before = self.nodes
        try:
            result = self._compound(obj, name, depth)
        finally:
            self._path.discard(id(obj))
        if (
            id(obj) in self.shared
            and self.nodes - before > _INLINE_SHARED
            and isinstance(result, dict)
            and VALUE not in result
            and HEX not in result
        ):
            # A container the stream refers to again: later mentions point here.
            self._first[id(obj)] = result
        return result

    def _compound(self, obj: _Array | JavaInstance, name: str, depth: int) -> JsonValue:
        if isinstance(obj, _Array):
            return self.array(obj, name, depth)
        special = _SPECIAL.get(name)
        if special is not None:
            result = special(self, obj, depth)
            if result is not _NOT_MINE:
                return cast(JsonValue, result)
        return self.generic(obj, name, depth)

    # -- scalars

    def text(self, text: str) -> str:
        """A string, truncated to ``limits.max_string`` characters with a note."""
        if len(text) > self.limits.max_string:
            self.notes[f"a string of {len(text)} characters cut at {self.limits.max_string}"] = None
            return text[: self.limits.max_string]
        return text

    def hex(self, raw: bytes) -> dict[str, JsonValue]:
        """``{"@hex": ...}`` of raw bytes, cut like a string when huge."""
        keep = max(self.limits.max_string // 2, 1)
        if len(raw) > keep:
            self.notes[f"{len(raw)} bytes of raw data cut at {keep}"] = None
            raw = raw[:keep]
        return {HEX: raw.hex()}

    def field(self, field: JavaField, value: Any, depth: int) -> JsonValue:
        """A field value; ``float`` fields print as Java prints a float."""
        if field.type == FieldType.FLOAT and isinstance(value, float):
            self.count(1)
            return _float32(value)
        return self.value(value, depth)

    def count(self, nodes: int) -> bool:
        """Count rendered values; False (with a note, once) when the budget is gone."""
        if self.full:
            return False
        self.nodes += nodes
        if self.nodes > self.limits.max_nodes:
            self._cut()
        return not self.full

    def room(self, nodes: int = 1) -> bool:
        """Whether ``nodes`` more values fit: loops ask first, so nothing is half added."""
        if not self.full and self.nodes + nodes > self.limits.max_nodes:
            self._cut()
        return not self.full

    def _cut(self) -> None:
        self.full = True
        self.notes[f"cut off after {self.limits.max_nodes} values"] = None

    # -- arrays

    def array(self, array: _Array, name: str, depth: int) -> JsonValue:
        """``{"@class": "[I", "@items": [...]}``; ``byte[]`` as ``@hex``."""
        content = array.values
        if isinstance(content, bytes):
            return {CLASS: name, **self.hex(content)}
        convert: Callable[[Any], JsonValue] | None = None
        if name == "[F":
            convert = _float32
        elif name == "[C":
            convert = _char_text
        elif len(name) == 2:
            convert = _plain
        if convert is not None:
            # Primitives are counted in bulk rather than one call each.
            room = max(self.limits.max_nodes - self.nodes, 0)
            items = [convert(element) for element in content[:room]]
            self.count(len(content))
        else:
            items = self.items(content, depth)
        return {CLASS: name, ITEMS: items}

    # -- objects

    def generic(
        self,
        inst: JavaInstance,
        name: str,
        depth: int,
        done: tuple[object, JsonValue] | None = None,
    ) -> dict[str, JsonValue]:
        """Fields (superclass first), JDK collection elements, and unknown custom data.

        ``done`` is a field value a special case has rendered already, with its
        rendering: it is reused rather than rendered (and counted) twice.
        """
        out: dict[str, JsonValue] = {CLASS: name}
        data: list[JsonValue] = []
        keys = self._field_keys(inst)
        # The parser filled these for the classes that carry data, superclass first.
        for desc in inst.field_data or inst.annotations:
            layout = _LAYOUTS.get(desc.name or "")
            fields = inst.field_data.get(desc, {})
            annotation = inst.annotations.get(desc)
            if layout is not None:
                if layout.kind != "hidden" and annotation is not None:
                    if self.elements(out, layout, annotation, depth):
                        annotation = None
                    else:
                        self.notes[f"unexpected {desc.name} data kept as {DATA}"] = None
                # Internals (sizes, load factors) are hidden; a comparator is not.
                for field, value in fields.items():
                    if value is not None and field.name in (_COMPARATOR, "defaults"):
                        out[field.name] = self.value(value, depth + 1)
            else:
                for (field, value), key in zip(fields.items(), keys.get(desc, ()), strict=True):
                    if key in out:  # only a corrupt stream repeats a name
                        key = f"{desc.name}.{field.name}"
                    if done is not None and value is done[0]:
                        out[key] = done[1]  # counted when it was rendered
                    elif self.room():
                        out[key] = self.field(field, value, depth + 1)
                    else:
                        break
            if annotation:
                data.extend(self.items(annotation, depth))
        if data:
            out[DATA] = data
        return out

    def _field_keys(self, inst: JavaInstance) -> dict[JavaClassDesc, tuple[str, ...]]:
        """Output keys of each class's fields: ``Simple.name`` when a subclass reuses a name.

        Computed once per class description, not per object.
        """
        keys = self._keys.get(inst.classdesc)
        if keys is None:
            keys = {}
            later: set[str] = set()
            for desc in reversed(list(inst.field_data)):
                simple = _simple_name(desc.name or "")
                keys[desc] = tuple(
                    f"{simple}.{field.name}" if field.name in later else field.name
                    for field in desc.fields
                )
                later.update(field.name for field in desc.fields)
            self._keys[inst.classdesc] = keys
        return keys

    def elements(
        self, out: dict[str, JsonValue], layout: _Layout, annotation: list[Any], depth: int
    ) -> bool:
        """Put a JDK collection's elements into ``out``; False if the data looks wrong."""
        last_block = max(
            (i for i, item in enumerate(annotation) if isinstance(item, BlockData)), default=-1
        )
        header = [item for item in annotation[: last_block + 1] if not isinstance(item, BlockData)]
        elements = annotation[last_block + 1 :]
        if len(header) != layout.skip or len(elements) < layout.trailing:
            return False
        if layout.trailing:
            if any(item is not None for item in elements[-layout.trailing :]):
                return False
            elements = elements[: -layout.trailing]
        if layout.kind == "items":
            out[ITEMS] = self.items(elements, depth)
            if header and header[0] is not None:
                out[_COMPARATOR] = self.value(header[0], depth + 1)
            return True
        if len(elements) % 2:
            return False
        out[ENTRIES] = self.entries(elements[0::2], elements[1::2], depth)
        return True

    def items(self, elements: list[Any], depth: int) -> list[JsonValue]:
        """Rendered elements, stopping when the node budget runs out."""
        items: list[JsonValue] = []
        for element in elements:
            if not self.room():
                break
            items.append(self.value(element, depth + 1))
        return items

    def entries(self, keys: list[Any], values: list[Any], depth: int) -> JsonValue:
        """Rendered map entries (see :func:`_entries`)."""
        pairs: list[tuple[JsonValue, JsonValue]] = []
        for key, value in zip(keys, values, strict=True):
            if not self.room(2):
                break
            pairs.append((self.value(key, depth + 1), self.value(value, depth + 1)))
        return _entries(pairs)


def _entries(pairs: list[tuple[JsonValue, JsonValue]]) -> JsonValue:
    """A dict when every key is a distinct string, else ``[[key, value], ...]``."""
    as_dict = {key: value for key, value in pairs if isinstance(key, str)}
    if len(as_dict) == len(pairs):
        return as_dict
    as_list: list[JsonValue] = [[key, value] for key, value in pairs]
    return as_list


# ------------------------------------------------------- special JDK classes


def _fields(inst: JavaInstance) -> dict[str, Any]:
    """Field values by name over the whole hierarchy (the subclass wins a clash)."""
    out: dict[str, Any] = {}
    for values in inst.field_data.values():
        for field, value in values.items():
            out[field.name] = value
    return out


def _block_bytes(inst: JavaInstance, class_name: str) -> bytes | None:
    """The custom-data bytes a class wrote, when it wrote nothing but bytes."""
    for desc, annotation in inst.annotations.items():
        if desc.name == class_name:
            chunks: list[bytes] = []
            for item in annotation:
                if not isinstance(item, BlockData):
                    return None
                chunks.append(item.data)
            return b"".join(chunks)
    return None


def _boxed(kind: type) -> Callable[[_Renderer, JavaInstance, int], object]:
    def render(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
        value = _fields(inst).get("value")
        if type(value) is not kind:
            return _NOT_MINE
        return value

    return render


def _boxed_float(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    value = _fields(inst).get("value")
    return _float32(value) if isinstance(value, float) else _NOT_MINE


def _boxed_double(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    value = _fields(inst).get("value")
    return _double(value) if isinstance(value, float) else _NOT_MINE


def _boxed_char(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    value = _fields(inst).get("value")
    return _char(value) if isinstance(value, str) and len(value) == 1 else _NOT_MINE


def _date(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    raw = _block_bytes(inst, "java.util.Date")
    if raw is None or len(raw) != 8:
        return _NOT_MINE
    millis = int(_I64.unpack(raw)[0])
    name = _class_name(inst.classdesc)
    if name == "java.sql.Timestamp":
        # Date keeps whole seconds; the fraction lives in Timestamp's nanos field.
        nanos = _fields(inst).get("nanos")
        if isinstance(nanos, int) and not isinstance(nanos, bool) and 0 <= nanos < 10**9:
            millis += nanos // 1_000_000
    return date_value(name, millis)


def _java_time(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    raw = _block_bytes(inst, "java.time.Ser")
    if raw is None:
        return _NOT_MINE
    try:
        return _time_value(raw)
    except (ValueError, struct.error, IndexError, UnicodeDecodeError):
        renderer.notes["unreadable java.time value kept as hex"] = None
        return {CLASS: "java.time.Ser", **renderer.hex(raw)}


def _big_integer_value(inst: Any) -> int | None:
    if not isinstance(inst, JavaInstance) or _class_name(inst.classdesc) != "java.math.BigInteger":
        return None
    fields = _fields(inst)
    signum, magnitude = fields.get("signum"), fields.get("magnitude")
    if not isinstance(magnitude, _Array) or not isinstance(magnitude.values, bytes):
        return None
    if signum not in (-1, 0, 1) or isinstance(signum, bool):
        return None
    number = int.from_bytes(magnitude.values, "big")
    if (number == 0) != (signum == 0):
        return None
    return -number if signum < 0 else number


def _big_number_text(renderer: _Renderer, number: int) -> str:
    if number.bit_length() > 8 * _MAX_DECIMAL_BYTES:
        renderer.notes["a huge BigInteger is shown in hex"] = None
        return f"{'-' if number < 0 else ''}0x{abs(number):x}"
    return str(number)


def _big_integer(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    number = _big_integer_value(inst)
    if number is None:
        return _NOT_MINE
    return {CLASS: "java.math.BigInteger", VALUE: _big_number_text(renderer, number)}


def _big_decimal(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    fields = _fields(inst)
    unscaled, scale = _big_integer_value(fields.get("intVal")), fields.get("scale")
    if unscaled is None or not isinstance(scale, int) or isinstance(scale, bool):
        return _NOT_MINE
    if unscaled.bit_length() > 8 * _MAX_DECIMAL_BYTES:
        text = f"{_big_number_text(renderer, unscaled)}E{-scale}"
    else:
        text = decimal_text(unscaled, scale)
    return {CLASS: "java.math.BigDecimal", VALUE: text}


def _uuid(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    fields = _fields(inst)
    most, least = fields.get("mostSigBits"), fields.get("leastSigBits")
    if not isinstance(most, int) or not isinstance(least, int):
        return _NOT_MINE
    mask = (1 << 64) - 1
    text = str(uuid.UUID(int=((most & mask) << 64) | (least & mask)))
    return {CLASS: "java.util.UUID", VALUE: text}


def _empty(kind: str) -> Callable[[_Renderer, JavaInstance, int], object]:
    def render(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
        empty: JsonValue = [] if kind == ITEMS else {}
        return {CLASS: _class_name(inst.classdesc), kind: empty}

    return render


def _singleton(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    fields = _fields(inst)
    if "element" not in fields:
        return _NOT_MINE
    return {
        CLASS: _class_name(inst.classdesc),
        ITEMS: [renderer.value(fields["element"], depth + 1)],
    }


def _singleton_map(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    fields = _fields(inst)
    if "k" not in fields or "v" not in fields:
        return _NOT_MINE
    entries = renderer.entries([fields["k"]], [fields["v"]], depth)
    return {CLASS: _class_name(inst.classdesc), ENTRIES: entries}


def _array_field(field: str, count: str | None = None) -> Callable[..., object]:
    """Lists backed by an array field: ``Arrays$ArrayList`` (a), ``Vector`` (elementData)."""

    def render(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
        fields = _fields(inst)
        array = fields.get(field)
        if not isinstance(array, _Array) or isinstance(array.values, bytes):
            return _NOT_MINE
        elements = list(array.values)
        if count is not None:
            size = fields.get(count)
            if not isinstance(size, int) or not 0 <= size <= len(elements):
                return _NOT_MINE
            elements = elements[:size]
        if len(array.classdesc.name or "") == 2:
            return _NOT_MINE  # a primitive array: not a list's backing store
        return {CLASS: _class_name(inst.classdesc), ITEMS: renderer.items(elements, depth)}

    return render


def _enum_set(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    elements = _fields(inst).get("elements")
    if not isinstance(elements, _Array) or isinstance(elements.values, bytes):
        return _NOT_MINE
    return {CLASS: "java.util.EnumSet", ITEMS: renderer.items(list(elements.values), depth)}


def _immutable(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    tag = _fields(inst).get("tag")
    if not isinstance(tag, int):
        return _NOT_MINE
    out = renderer.generic(inst, "java.util.CollSer", depth)
    items = out.get(ITEMS)
    if not isinstance(items, list) or set(out) != {CLASS, ITEMS}:
        return out
    name = _immutable_class(tag & 0xFF, len(items))
    if name is None:
        return out
    if tag & 0xFF == _IMMUTABLE_MAP:
        if len(items) % 2:
            return out
        return {CLASS: name, ENTRIES: _entries(list(zip(items[0::2], items[1::2], strict=True)))}
    return {CLASS: name, ITEMS: items}


def _wrapper(renderer: _Renderer, inst: JavaInstance, depth: int) -> object:
    name = _class_name(inst.classdesc)
    inner = _fields(inst).get(_WRAPPERS[name])
    rendered = renderer.value(inner, depth + 1)
    if isinstance(rendered, dict):
        for kind in (ITEMS, ENTRIES):
            if kind in rendered:
                return {CLASS: name, kind: rendered[kind]}
    # Not a collection inside: show the wrapper's fields, reusing the rendering.
    return renderer.generic(inst, name, depth, done=(inner, rendered))


_Special = Callable[[_Renderer, JavaInstance, int], object]
_SPECIAL: Final[dict[str, _Special]] = {
    "java.lang.Long": _boxed(int),
    "java.lang.Integer": _boxed(int),
    "java.lang.Short": _boxed(int),
    "java.lang.Byte": _boxed(int),
    "java.lang.Boolean": _boxed(bool),
    "java.lang.Float": _boxed_float,
    "java.lang.Double": _boxed_double,
    "java.lang.Character": _boxed_char,
    "java.util.Date": _date,
    "java.sql.Date": _date,
    "java.sql.Time": _date,
    "java.sql.Timestamp": _date,
    "java.time.Ser": _java_time,
    "java.math.BigInteger": _big_integer,
    "java.math.BigDecimal": _big_decimal,
    "java.util.UUID": _uuid,
    "java.util.Collections$EmptyList": _empty(ITEMS),
    "java.util.Collections$EmptySet": _empty(ITEMS),
    "java.util.Collections$EmptyMap": _empty(ENTRIES),
    "java.util.Collections$SingletonList": _singleton,
    "java.util.Collections$SingletonSet": _singleton,
    "java.util.Collections$SingletonMap": _singleton_map,
    "java.util.Arrays$ArrayList": _array_field("a"),
    "java.util.Vector": _array_field("elementData", "elementCount"),
    "java.util.Stack": _array_field("elementData", "elementCount"),
    "java.util.EnumSet$SerializationProxy": _enum_set,
    "java.util.CollSer": _immutable,
    **dict.fromkeys(_WRAPPERS, _wrapper),
}


# ------------------------------------------------------------------- java.time.Ser


class _Cursor:
    """Reads the ``DataOutput`` primitives of one ``java.time.Ser`` payload."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.pos = 0

    def take(self, layout: struct.Struct) -> int:
        (value,) = layout.unpack_from(self.raw, self.pos)
        self.pos += layout.size
        return int(value)

    def utf(self) -> str:
        length = self.take(_U16)
        raw = self.raw[self.pos : self.pos + length]
        if len(raw) != length:
            raise ValueError("zone id cut short")
        self.pos += length
        text, clean = _mutf8(raw)
        if not clean:
            raise ValueError("zone id is not modified UTF-8")
        return text


def _time_value(raw: bytes) -> dict[str, JsonValue]:
    """``java.time.Ser`` payload (type byte + fields) as ``{"@class", "@value"}``."""
    cursor = _Cursor(raw)
    kind = cursor.take(_I8)
    out: dict[str, JsonValue]
    if kind in (1, 2):  # Duration, Instant: long seconds, int nanos
        seconds, nanos = cursor.take(_I64), cursor.take(_I32)
        _check(0 <= nanos < 10**9, "nanos")
        if kind == 1:
            out = {CLASS: "java.time.Duration", VALUE: _duration_text(seconds, nanos)}
        else:
            _check(-31557014167219200 <= seconds <= 31556889864403199, "instant")
            out = {CLASS: "java.time.Instant", VALUE: _instant_text(seconds, nanos)}
            millis = seconds * 1000 + nanos // 1_000_000
            if millis in _INT64:  # Java's toEpochMilli overflows otherwise
                out[EPOCH_MILLIS] = millis
    elif kind == 3:
        out = {CLASS: "java.time.LocalDate", VALUE: _date_text(cursor)}
    elif kind == 4:
        out = {CLASS: "java.time.LocalTime", VALUE: _time_text(cursor)}
    elif kind == 5:
        out = {
            CLASS: "java.time.LocalDateTime",
            VALUE: f"{_date_text(cursor)}T{_time_text(cursor)}",
        }
    elif kind == 6:  # LocalDateTime, ZoneOffset, then a ZoneId with its own type byte
        local = f"{_date_text(cursor)}T{_time_text(cursor)}"
        offset = _offset_text(cursor)
        zone_kind = cursor.take(_I8)
        if zone_kind == 7:
            zone = cursor.utf()
        else:
            _check(zone_kind == 8, "zone type")
            zone = _offset_text(cursor)
        suffix = "" if zone == offset else f"[{zone}]"
        out = {CLASS: "java.time.ZonedDateTime", VALUE: f"{local}{offset}{suffix}"}
    elif kind == 7:
        out = {CLASS: "java.time.ZoneRegion", VALUE: cursor.utf()}
    elif kind == 8:
        out = {CLASS: "java.time.ZoneOffset", VALUE: _offset_text(cursor)}
    elif kind == 9:
        out = {CLASS: "java.time.OffsetTime", VALUE: _time_text(cursor) + _offset_text(cursor)}
    elif kind == 10:
        local = f"{_date_text(cursor)}T{_time_text(cursor)}"
        out = {CLASS: "java.time.OffsetDateTime", VALUE: local + _offset_text(cursor)}
    elif kind == 11:
        out = {CLASS: "java.time.Year", VALUE: str(_year(cursor.take(_I32)))}
    elif kind == 12:
        year, month = _year(cursor.take(_I32)), cursor.take(_I8)
        _check(1 <= month <= 12, "month")
        out = {CLASS: "java.time.YearMonth", VALUE: f"{_year_text(year, plus=False)}-{month:02d}"}
    elif kind == 13:
        month, day = cursor.take(_I8), cursor.take(_I8)
        _check(1 <= month <= 12 and 1 <= day <= _days_in_month(2000, month), "month-day")
        out = {CLASS: "java.time.MonthDay", VALUE: f"--{month:02d}-{day:02d}"}
    elif kind == 14:
        years, months, days = cursor.take(_I32), cursor.take(_I32), cursor.take(_I32)
        out = {CLASS: "java.time.Period", VALUE: _period_text(years, months, days)}
    else:
        raise ValueError(f"unknown java.time.Ser type {kind}")
    _check(cursor.pos == len(raw), "trailing bytes")
    return out


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise ValueError(f"invalid java.time {what}")


def _year(year: int) -> int:
    _check(-999_999_999 <= year <= 999_999_999, "year")
    return year


def _year_text(year: int, *, plus: bool = True) -> str:
    """Years as ``LocalDate.toString`` writes them: 4 digits, signed outside 0..9999."""
    if abs(year) < 1000:
        return f"-{-year:04d}" if year < 0 else f"{year:04d}"
    return f"+{year}" if plus and year > 9999 else str(year)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _date_text(cursor: _Cursor) -> str:
    year, month, day = _year(cursor.take(_I32)), cursor.take(_I8), cursor.take(_I8)
    _check(1 <= month <= 12 and 1 <= day <= _days_in_month(year, month), "date")
    return f"{_year_text(year)}-{month:02d}-{day:02d}"


def _time_text(cursor: _Cursor) -> str:
    # LocalTime.writeExternal stops early: the last non-zero part is written complemented.
    minute = second = nano = 0
    hour = cursor.take(_I8)
    if hour < 0:
        hour = ~hour
    else:
        minute = cursor.take(_I8)
        if minute < 0:
            minute = ~minute
        else:
            second = cursor.take(_I8)
            if second < 0:
                second = ~second
            else:
                nano = cursor.take(_I32)
    _check(0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60, "time")
    _check(0 <= nano < 10**9, "nanos")
    text = f"{hour:02d}:{minute:02d}"
    if second or nano:
        text += f":{second:02d}{_fraction(nano)}"
    return text


def _fraction(nano: int) -> str:
    """Nanoseconds in groups of three digits, as ``LocalTime``/``Instant`` print them."""
    if nano == 0:
        return ""
    if nano % 1_000_000 == 0:
        return f".{nano // 1_000_000:03d}"
    if nano % 1000 == 0:
        return f".{nano // 1000:06d}"
    return f".{nano:09d}"


def _offset_text(cursor: _Cursor) -> str:
    # Whole quarter hours fit in one byte; 127 means "int seconds follow".
    quarters = cursor.take(_I8)
    total = cursor.take(_I32) if quarters == 127 else quarters * 900
    _check(abs(total) <= 18 * 3600, "offset")
    if total == 0:
        return "Z"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{'-' if total < 0 else '+'}{hours:02d}:{minutes:02d}"
    return text + (f":{seconds:02d}" if seconds else "")


def _civil(days: int) -> tuple[int, int, int]:
    """Proleptic Gregorian (year, month, day) of a day count from 1970-01-01, any year."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def _instant_text(seconds: int, nanos: int) -> str:
    days, second_of_day = divmod(seconds, 86_400)
    year, month, day = _civil(days)
    hour, rest = divmod(second_of_day, 3600)
    minute, second = divmod(rest, 60)
    return (
        f"{_year_text(year)}-{month:02d}-{day:02d}"
        f"T{hour:02d}:{minute:02d}:{second:02d}{_fraction(nanos)}Z"
    )


def _java_div(a: int, b: int) -> int:
    """Java's integer division (truncates toward zero)."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b > 0) else -quotient


def _duration_text(seconds: int, nanos: int) -> str:
    """``Duration.toString()``, ported with Java's truncating arithmetic."""
    if seconds == 0 and nanos == 0:
        return "PT0S"
    effective = seconds + 1 if seconds < 0 and nanos > 0 else seconds
    hours = _java_div(effective, 3600)
    minutes = _java_div(effective - hours * 3600, 60)
    secs = effective - _java_div(effective, 60) * 60
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if secs == 0 and nanos == 0 and len(text) > 2:
        return text
    if seconds < 0 and nanos > 0:
        text += "-0" if secs == 0 else str(secs)
    else:
        text += str(secs)
    if nanos > 0:
        digits = str(2 * 10**9 - nanos if seconds < 0 else nanos + 10**9).rstrip("0")
        text += "." + digits[1:]
    return text + "S"


def _period_text(years: int, months: int, days: int) -> str:
    if not (years or months or days):
        return "P0D"
    parts = ((years, "Y"), (months, "M"), (days, "D"))
    return "P" + "".join(f"{amount}{unit}" for amount, unit in parts if amount)


# --------------------------------------------------------------------- small helpers


def _double(value: float) -> JsonValue:
    if math.isfinite(value):
        return value
    return {CLASS: "java.lang.Double", VALUE: _NON_FINITE[repr(value)]}


def _float32(value: float) -> JsonValue:
    """A float as Java prints it: the shortest decimal that reads back as the same float."""
    if not math.isfinite(value):
        return {CLASS: "java.lang.Float", VALUE: _NON_FINITE[repr(value)]}
    packed = _F32.pack(value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        try:
            if _F32.pack(candidate) == packed:
                return candidate
        except OverflowError:  # rounding went past the largest float
            continue
    return value


def _char_text(char: str) -> str:
    # A lone surrogate is a legal Java char but not JSON text: show its code instead.
    code = ord(char)
    return f"\\u{code:04x}" if 0xD800 <= code <= 0xDFFF else char


def _char(char: str) -> dict[str, JsonValue]:
    return {CLASS: "java.lang.Character", VALUE: _char_text(char)}


def _plain(value: Any) -> JsonValue:
    return _double(value) if isinstance(value, float) else value


def _class_name(desc: JavaClassDesc | None) -> str:
    if desc is None:
        return "?"
    if desc.class_type == ClassDescType.PROXYCLASS:
        return f"$Proxy({', '.join(desc.interfaces)})"
    return desc.name or "?"


def _simple_name(name: str) -> str:
    return name.rsplit(".", 1)[-1].rsplit("$", 1)[-1]


def _enum_class(desc: JavaClassDesc) -> str:
    """The enum type: a constant with a body is written as ``Color$1`` extending ``Color``."""
    chain = _hierarchy(desc)
    for child, parent in zip(chain[1:], chain, strict=False):
        if parent.name == "java.lang.Enum":
            return _class_name(child)
    return _class_name(desc)


def _top_class(top: Any, value: JsonValue) -> str | None:
    if top is None or isinstance(top, BlockData):
        return None
    if isinstance(top, JavaString):
        return "java.lang.String"
    name = value.get(CLASS) if isinstance(value, dict) else None
    if isinstance(name, str):
        return name
    if isinstance(top, _Array | JavaInstance):
        return _class_name(top.classdesc)
    return None
