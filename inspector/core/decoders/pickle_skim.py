"""A light reading of a pickled session dict: its keys and value spans, few values built.

``ls`` and ``stats`` show of a pickled session (Django's cache sessions, Flask-Session's
pickle and cachelib stores, Beaker) only the attribute names, the principal, the host
and a few times. :func:`skim_pickle` steps over the opcodes of a protocol 2-5 pickle
whose top-level value is a dict (``PROTO``, ``FRAME``, ``EMPTY_DICT``, then
``MARK`` ... ``SETITEMS`` / ``SETITEM`` of keys and values) in one pass over the bytes,
without :mod:`pickletools`' generator, and keeps each top-level key, its value's byte
span and the value in a cheap form of its own (a container is a tagged list), which
:meth:`PickleSkim.decode` turns into the nodes :mod:`.pickles` builds and renders with
the full reader's renderer, only for the values a caller asks for: they read exactly
as :func:`~.pickles.decode_pickle` reads them.

Plain data (strings, bytes, numbers, booleans, ``None``, lists, tuples, dicts, sets,
memo entries) is stepped over. Names and objects (``GLOBAL``, ``STACK_GLOBAL``,
``REDUCE``, ``NEWOBJ``, ``BUILD``: a datetime, a Decimal, a UUID, protocol 2's sets and
bytes) are built by the full reader's own handlers, on nodes: never imported, never
called; the values holding one are rendered at once, and any note (a call recorded as
not run, arguments refused, a text cut) gives ``None``. ``None`` (the caller decodes
in full) too for: a memo reference (``GET``) to a container (a shared or cyclic value,
whose rendering the full reading bounds with notes), ``DUP``, ``INST``/``OBJ``,
``PERSID``, ``EXT``, protocol 0/1 text opcodes, out-of-band buffers, a value nested or
sized near the :class:`~.values.Limits`, bytes after ``STOP``, a top-level key that is
not a plain string, and anything truncated or malformed. Never raises.
"""

from __future__ import annotations

import io
import pickletools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.core.decoders.graph import Map, Node, Obj, Raw, Renderer, Seq
from inspector.core.decoders.markers import MARKS, TEXT_MARKERS
from inspector.core.decoders.pickles import _Machine
from inspector.core.values import JsonValue, Limits, clean_text

__all__ = ["PickleSkim", "skim_pickle"]


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_I4 = struct.Struct("<i")
_U4 = struct.Struct("<I")
_U8 = struct.Struct("<Q")
_F8 = struct.Struct(">d")
_U2 = struct.Struct("<H")


# GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD: how many values each takes off the stack.
_OBJECT_OPS = {0x63: 0, 0x93: 2, 0x52: 2, 0x81: 2, 0x62: 2}
_OBJECT_HANDLERS = {
    0x63: _Machine.global_,
    0x93: _Machine.stack_global,
    0x52: _Machine.reduce,
    0x81: _Machine.newobj,
    0x62: _Machine.build,
}


class _Unsure(Exception):
    """The skim cannot vouch for this pickle: the caller decodes it in full."""


class _Mark:
    """The ``MARK`` sentinel on the stack."""


_MARK = _Mark()


@dataclass(frozen=True, slots=True)
class PickleSkim:
    """A top-level dict pickle, skimmed.

    Attributes:
        data: The pickle's bytes.
        protocol: The protocol its ``PROTO`` names.
        entries: ``(name, start, end)`` of each top-level entry in order: the value's
            opcodes are ``data[start:end]``.
        values: The value of each entry in the skim's own form (a container is a list
            of its kind and items, ``["dict", k1, v1, ...]``; bytes are bytes), turned
            into the full reader's nodes only when decoded.
        host_gets: Offsets of the memo reads of a string that holds a host marker (a
            key written once and read again inside a later value).
        limits: The limits it was skimmed within.
        rendered: The values holding an object (a datetime...), already rendered within
            ``limits`` (to be sure the renderer leaves no note on them), by index.
    """

    data: bytes
    protocol: int
    entries: tuple[tuple[str, int, int], ...]
    values: tuple[Any, ...]
    host_gets: tuple[int, ...]
    limits: Limits
    rendered: dict[int, JsonValue]

    def hosts(self) -> list[bool]:
        """:meth:`may_hold_host` of every entry, in one pass over the markers."""
        marks = sorted([*(m.start() for m in MARKS.finditer(self.data)), *self.host_gets])
        if not marks:
            return [False] * len(self.entries)
        out: list[bool] = []
        at = 0
        for _, start, end in self.entries:
            while at < len(marks) and marks[at] < start:
                at += 1
            out.append(at < len(marks) and marks[at] < end)
        return out

    def may_hold_host(self, index: int) -> bool:
        """Whether entry ``index``'s value may hold a host-like name (so it must be read)."""
        _, start, end = self.entries[index]
        if MARKS.search(self.data, start, end) is not None:
            return True
        return any(start <= at < end for at in self.host_gets)

    def decode(self, index: int, limits: Limits) -> JsonValue:
        """Entry ``index``'s value as :func:`~.pickles.decode_pickle` shows it."""
        return self.decoder(limits)(index)

    def decoder(self, limits: Limits) -> Callable[[int], JsonValue]:
        """:meth:`decode` for several entries, with one renderer (as the full reading)."""
        renderers: list[Renderer] = []
        values = self.values
        rendered = self.rendered if limits == self.limits else {}

        def decode(index: int) -> JsonValue:
            if index in rendered:
                return rendered[index]
            value = values[index]
            kind = type(value)
            # The renderer's own first cases (a principal is mostly one), without one.
            if kind is str and len(value) <= limits.max_string:
                return value if value.isascii() else clean_text(value)
            if value is None or kind is bool or (kind is int and _INT64_MIN <= value <= _INT64_MAX):
                return value  # type: ignore[no-any-return]
            if not renderers:
                renderers.append(Renderer(limits, int_class="int", float_class="float"))
            # A top-level entry's value renders one level below the session dict.
            return renderers[0].render(_node(value), 1)

        return decode


def skim_pickle(data: bytes, limits: Limits) -> PickleSkim | None:
    """Skim a protocol 2-5 pickle of a dict; ``None`` when it is not one this is sure of.

    Args:
        data: The raw bytes (a pickle from its ``PROTO`` to its ``STOP``, nothing after).
        limits: The bounds the full reading renders within: a value that may reach
            them is not skimmed.

    Returns:
        The :class:`PickleSkim`, or ``None`` (decode in full). Never raises.
    """
    try:
        return _skim(data, limits)
    except Exception:  # _Unsure, truncation, bad UTF-8...: the full reader decides
        return None


def _skim(data: bytes, limits: Limits) -> PickleSkim | None:
    size = len(data)
    if size < 4 or data[0] != 0x80 or not 2 <= data[1] <= 5:
        return None
    if size + 2 >= limits.max_nodes:
        # Each value the reader builds takes a byte at least: smaller pickles stay
        # within the renderer's budget; larger ones may be cut, with a note.
        return None
    protocol = data[1]
    pos = 2
    if data[pos] == 0x95:  # FRAME: an 8-byte length the reader does not need
        pos += 9
    if data[pos] != 0x7D:  # EMPTY_DICT: the session dict
        return None
    pos += 1
    max_string = limits.max_string
    max_bytes = max(max_string // 2, 1)
    # The stack, and where each of its values' opcodes start (a top-level value's
    # span runs to the next key's start). The root dict is never popped.
    stack: list[Any] = [["dict"]]
    starts: list[int] = [2]
    push = stack.append
    push_start = starts.append
    memoized: list[Any] = []  # MEMOIZE (protocol 4+): the memo is its index
    put: dict[int, Any] = {}  # BINPUT / LONG_BINPUT (protocol 2, 3)
    memoize = memoized.append
    host_gets: list[int] = []
    entries: list[tuple[str, int, int]] = []
    values: list[Any] = []
    containers = 0
    machine: _Machine | None = None
    objects = False
    object_at: list[int] = []

    def raw(start: int, length: int) -> bytes:
        end = start + length
        if length > max_bytes or end > size:
            raise _Unsure
        return data[start:end]

    def pop_mark() -> int:
        for index in range(len(stack) - 1, 0, -1):
            if stack[index] is _MARK:
                return index
        raise _Unsure

    def top_index() -> int:
        if len(stack) < 2 or stack[-1] is _MARK:
            raise _Unsure  # the root is never popped, nor a MARK read as a value
        return len(stack) - 1

    def set_items(target_at: int, first: int, at: int) -> None:
        """Items ``stack[first:]`` set on ``stack[target_at]``, the opcode at ``at``."""
        items = stack[first:]
        count = len(items)
        if count % 2:
            raise _Unsure
        target = stack[target_at]
        if type(target) is not list or target[0] != "dict":
            raise _Unsure
        if target_at == 0:
            for index in range(0, count, 2):
                key = items[index]
                if type(key) is not str or (not key.isascii() and not _clean(key)):
                    raise _Unsure
                value_at = first + index + 1
                end = starts[value_at + 1] if index + 2 < count else at
                entries.append((key, starts[value_at], end))
                values.append(items[index + 1])
        else:
            target.extend(items)
        del stack[first:], starts[first:]

    while True:  # past the end, data[pos] raises: no STOP, which is refused
        op = data[pos]
        here = pos
        pos += 1
        value: Any
        if op == 0x8C:  # SHORT_BINUNICODE
            length = data[pos]
            pos += 1 + length
            if pos > size or length > max_string:
                raise _Unsure
            value = data[pos - length : pos].decode("utf-8", "surrogatepass")
        elif op == 0x58:  # BINUNICODE
            length = _U4.unpack_from(data, pos)[0]
            pos += 4 + length
            if pos > size or length > max_string:
                raise _Unsure
            value = data[pos - length : pos].decode("utf-8", "surrogatepass")
        elif op == 0x28:  # MARK
            push(_MARK)
            push_start(here)
            continue
        elif op == 0x75:  # SETITEMS
            first = pop_mark()
            set_items(first - 1, first + 1, here)
            del stack[first], starts[first]
            continue
        elif op == 0x73:  # SETITEM
            if len(stack) < 3 or stack[-1] is _MARK or stack[-2] is _MARK:
                raise _Unsure
            set_items(len(stack) - 3, len(stack) - 2, here)
            continue
        elif op == 0x7D or op == 0x5D:  # EMPTY_DICT, EMPTY_LIST
            value = ["dict"] if op == 0x7D else ["list"]
            containers += 1
        elif op == 0x4B:  # BININT1
            value = data[pos]
            pos += 1
        elif op == 0x88:  # NEWTRUE
            value = True
        elif op == 0x89:  # NEWFALSE
            value = False
        elif op == 0x4E:  # NONE
            value = None
        elif op == 0x4A:  # BININT
            value = _I4.unpack_from(data, pos)[0]
            pos += 4
        elif op == 0x4D:  # BININT2
            value = _U2.unpack_from(data, pos)[0]
            pos += 2
        elif op == 0x47:  # BINFLOAT
            value = _F8.unpack_from(data, pos)[0]
            pos += 8
        elif op == 0x94:  # MEMOIZE (of a value not just pushed: a container once built)
            if stack[-1] is _MARK or put:
                raise _Unsure
            memoize(stack[-1])
            continue
        elif op == 0x71:  # BINPUT (likewise)
            if stack[-1] is _MARK or memoized:
                raise _Unsure
            put[data[pos]] = stack[-1]
            pos += 1
            continue
        elif op == 0x65 or op == 0x90:  # APPENDS, ADDITEMS
            first = pop_mark()
            target = stack[first - 1]
            if first == 1 or type(target) is not list:
                raise _Unsure
            if target[0] != "list" if op == 0x65 else target[0] not in ("set", "frozenset"):
                raise _Unsure  # APPENDS on a list, ADDITEMS on a set or frozenset
            target.extend(stack[first + 1 :])
            del stack[first:], starts[first:]
            continue
        elif op == 0x61:  # APPEND
            at = top_index()
            target = stack[at - 1]
            if at == 1 or type(target) is not list or target[0] != "list":
                raise _Unsure
            target.append(stack[at])
            del stack[at], starts[at]
            continue
        elif op == 0x85 or op == 0x86 or op == 0x87:  # TUPLE1, TUPLE2, TUPLE3
            first = len(stack) - (op - 0x84)
            if first < 1 or any(item is _MARK for item in stack[first:]):
                raise _Unsure
            value = ["tuple", *stack[first:]]
            start = starts[first]
            del stack[first:], starts[first:]
            push(value)
            push_start(start)
            containers += 1
            continue
        elif op == 0x74 or op == 0x6C or op == 0x91 or op == 0x64:  # TUPLE, LIST, FROZENSET, DICT
            first = pop_mark()
            items = stack[first + 1 :]
            if op == 0x64:
                if len(items) % 2:
                    raise _Unsure
                value = ["dict", *items]
            else:
                value = ["tuple" if op == 0x74 else "list" if op == 0x6C else "frozenset", *items]
            start = starts[first]
            del stack[first:], starts[first:]
            push(value)
            push_start(start)
            containers += 1
            continue
        elif op == 0x29 or op == 0x8F:  # EMPTY_TUPLE, EMPTY_SET
            value = ["tuple" if op == 0x29 else "set"]
            containers += 1
        elif op == 0x43:  # SHORT_BINBYTES
            length = data[pos]
            value = raw(pos + 1, length)
            pos += 1 + length
        elif op == 0x42:  # BINBYTES
            length = _U4.unpack_from(data, pos)[0]
            value = raw(pos + 4, length)
            pos += 4 + length
        elif op == 0x8A:  # LONG1
            length = data[pos]
            value = int.from_bytes(raw(pos + 1, length), "little", signed=True)
            pos += 1 + length
            if 8 * length // 3 + 3 > max_string:
                raise _Unsure  # past 64 bits it is text, which may be cut (with a note)
        elif op == 0x95:  # FRAME
            if pos + 8 > size:
                raise _Unsure
            pos += 8
            continue
        elif op == 0x2E:  # STOP
            if pos != size or len(stack) != 1:
                return None  # bytes after STOP (a note) or a stack the reader refuses
            deep = containers >= limits.max_depth - 1
            if deep and (objects or not _shallow(values, limits.max_depth)):
                return None  # nested to where the full reading cuts it, with a note
            skim = PickleSkim(
                data, protocol, tuple(entries), tuple(values), tuple(host_gets), limits, {}
            )
            return skim if not object_at or _render_objects(skim, object_at) else None
        elif op == 0x68 or op == 0x6A:  # BINGET, LONG_BINGET
            if op == 0x68:
                index = data[pos]
                pos += 1
            else:
                index = _U4.unpack_from(data, pos)[0]
                pos += 4
            # IndexError / KeyError: read before it was written, which the reader refuses.
            value = memoized[index] if memoized else put[index]
            if type(value) is list or isinstance(value, Obj | Seq | Map):
                return None  # a shared or cyclic container: rendered with bounds and notes
            kind = type(value)
            if kind is str:
                if any(m in value for m in TEXT_MARKERS):
                    host_gets.append(here)
            elif kind is not bytes and kind is not bytearray:
                # A name or a rebuilt value read again: its value is rendered (and
                # checked for notes) like the objects built in place.
                objects = True
                object_at.append(here)
        elif op == 0x72:  # LONG_BINPUT
            if stack[-1] is _MARK or memoized:
                raise _Unsure
            put[_U4.unpack_from(data, pos)[0]] = stack[-1]
            pos += 4
            continue
        elif op == 0x30:  # POP
            top_index()
            del stack[-1], starts[-1]
            continue
        elif op == 0x31:  # POP_MARK
            first = pop_mark()
            del stack[first:], starts[first:]
            continue
        elif op == 0x80:  # PROTO (again): the reader ignores it
            pos += 1
            continue
        elif op == 0x8B:  # LONG4
            length = _I4.unpack_from(data, pos)[0]
            if length < 0:
                raise _Unsure
            value = int.from_bytes(raw(pos + 4, length), "little", signed=True)
            pos += 4 + length
            if 8 * length // 3 + 3 > max_string:
                raise _Unsure
        elif op == 0x8D:  # BINUNICODE8
            length = _U8.unpack_from(data, pos)[0]
            pos += 8 + length
            if pos > size or length > max_string:
                raise _Unsure
            value = data[pos - length : pos].decode("utf-8", "surrogatepass")
        elif op == 0x8E or op == 0x96:  # BINBYTES8, BYTEARRAY8
            length = _U8.unpack_from(data, pos)[0]
            value = raw(pos + 8, length)
            if op == 0x96:
                value = bytearray(value)
            pos += 8 + length
        elif op == 0x55 or op == 0x54:  # SHORT_BINSTRING, BINSTRING: latin-1 text
            if op == 0x55:
                length = data[pos]
                pos += 1
            else:
                length = _I4.unpack_from(data, pos)[0]
                pos += 4
                if length < 0:
                    raise _Unsure
            value = raw(pos, length).decode("latin-1")
            pos += length
        elif op in _OBJECT_OPS:
            # A name, or a value built from one (a datetime, a Decimal, a set in
            # protocol 2): the full reader's own handlers build it, on nodes. Any
            # note they leave (a call recorded, arguments refused) or any error
            # means the full reading shows something this does not: None.
            if machine is None:
                machine = _Machine()
            objects = True
            object_at.append(here)
            if op == 0x63:  # GLOBAL: "module\nname\n"
                reader = io.BytesIO(data)
                reader.seek(pos)
                arg = pickletools.read_stringnl_noescape_pair(reader)
                pos = reader.tell()
                count = 0
            else:
                arg = None
                count = _OBJECT_OPS[op]
            first = len(stack) - count
            if first < 1 or any(item is _MARK for item in stack[first:]):
                raise _Unsure
            if op == 0x62 and not isinstance(stack[first], Obj):  # BUILD on an object only
                raise _Unsure
            work = [_node(item) for item in stack[first:]]
            _OBJECT_HANDLERS[op](machine, work, arg)
            if machine.notes or machine.not_run or len(work) != 1:
                return None
            start = starts[first] if count else here
            del stack[first:], starts[first:]
            push(work[0])
            push_start(start)
            continue
        else:
            # DUP, PERSID, EXT, INST, OBJ, buffers, protocol 0 text opcodes...
            return None
        push(value)
        push_start(here)
        # Most values are memoized at once: read that here, not on another turn.
        follow = data[pos]
        if follow == 0x94:  # MEMOIZE
            if put:
                raise _Unsure
            memoize(value)
            pos += 1
        elif follow == 0x71:  # BINPUT
            if memoized:
                raise _Unsure
            put[data[pos + 1]] = value
            pos += 2


def _render_objects(skim: PickleSkim, object_at: list[int]) -> bool:
    """Render the values that hold an object: whether the renderer left no note on them.

    A typed scalar's text (a long ``Decimal``, a class name) may be cut, with a note,
    which only a rendering tells; the rest of the session is plain data.
    """
    renderer = Renderer(skim.limits, int_class="int", float_class="float")
    at = 0
    for index, (_, start, end) in enumerate(skim.entries):
        while at < len(object_at) and object_at[at] < start:
            at += 1
        if at < len(object_at) and object_at[at] < end:
            skim.rendered[index] = renderer.render(_node(skim.values[index]), 1)
    return not renderer.notes


def _shallow(values: list[Any], max_depth: int) -> bool:
    """Whether no value nests as deep as the renderer's cut (the root is one level)."""
    todo: list[tuple[Any, int]] = [(value, 1) for value in values]
    while todo:
        value, depth = todo.pop()
        if type(value) is list:
            if depth >= max_depth:
                return False
            todo.extend((child, depth + 1) for child in value[1:])
    return True


def _node(value: Any) -> Node:
    """A skimmed value as the node :mod:`.pickles` builds of it (what the renderer reads)."""
    kind = type(value)
    if kind is list:
        tag = value[0]
        if tag == "dict":
            return Map(
                "dict", [(_node(value[i]), _node(value[i + 1])) for i in range(1, len(value), 2)]
            )
        return Seq(None if tag == "list" else tag, [_node(item) for item in value[1:]])
    if kind is bytes:
        return Raw("bytes", value)
    if kind is bytearray:
        return Raw("bytearray", bytes(value))
    return value  # type: ignore[no-any-return]


def _clean(text: str) -> bool:
    """Whether ``text`` has no lone surrogate (the full reading would replace one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
