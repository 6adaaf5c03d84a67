"""A light reading of a pickled session dict: its keys and value spans, few values built.

``ls`` and ``stats`` show of a pickled session (Django's cache sessions, Flask-Session's
pickle and cachelib stores, Beaker) only the attribute names, the principal, the host
and a few times. :func:`skim_pickle` steps over the opcodes of a protocol 2-5 pickle
whose top-level value is a dict (``PROTO``, ``FRAME``, ``EMPTY_DICT``, then
``MARK`` ... ``SETITEMS`` / ``SETITEM`` of keys and values) in one pass over the bytes,
without :mod:`pickletools`, and keeps each top-level key, its value's byte span and
the value as the nodes :mod:`.pickles` would have built; :meth:`PickleSkim.decode`
renders only the values a caller asks for, with the full reader's renderer, so they
read exactly as :func:`~.pickles.decode_pickle` reads them.

It is sure of plain data only: strings, bytes, numbers, booleans, ``None``, lists,
tuples, dicts, sets and memo entries. Anything else gives ``None`` (the caller decodes
in full), so the full reading's notes and errors need not be foreseen: a ``GLOBAL``,
``REDUCE``, ``BUILD`` or any object opcode (a datetime, a gadget: never imported, never
called), a memo reference (``GET``) to a container (a shared or cyclic value, whose
rendering the full reading bounds with notes), ``DUP``, protocol 0/1 text opcodes,
out-of-band buffers, a value nested or sized near the :class:`~.values.Limits`, bytes
after ``STOP``, a top-level key that is not a plain string, and anything truncated or
malformed. Never raises.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from inspector.core.decoders.graph import Map, Node, Raw, Renderer, Seq
from inspector.core.values import JsonValue, Limits

__all__ = ["PickleSkim", "skim_pickle"]

# The markers of base.HOST_MARKERS (every host-like name holds one), kept here because
# the decoders sit below the frameworks package and cannot import it.
_HOST_MARKERS = (b"host", b"container", b"instance", b"server")
_TEXT_MARKERS = tuple(m.decode() for m in _HOST_MARKERS)

_I4 = struct.Struct("<i")
_U4 = struct.Struct("<I")
_U8 = struct.Struct("<Q")
_F8 = struct.Struct(">d")
_U2 = struct.Struct("<H")


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
        nodes: The value of each entry, as the full reader builds it (not rendered).
        host_gets: Offsets of memo reads of a string that holds a host marker (a
            key written once and read again inside a later value).
    """

    data: bytes
    protocol: int
    entries: tuple[tuple[str, int, int], ...]
    nodes: tuple[Node, ...]
    host_gets: tuple[int, ...]

    def may_hold_host(self, index: int) -> bool:
        """Whether entry ``index``'s value may hold a host-like name (so it must be read)."""
        _, start, end = self.entries[index]
        data = self.data
        if any(data.find(marker, start, end) >= 0 for marker in _HOST_MARKERS):
            return True
        return any(start <= at < end for at in self.host_gets)

    def decode(self, index: int, limits: Limits) -> JsonValue:
        """Entry ``index``'s value as :func:`~.pickles.decode_pickle` shows it."""
        renderer = Renderer(limits, int_class="int", float_class="float")
        # A top-level entry's value renders one level below the session dict.
        return renderer.render(self.nodes[index], 1)


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


def _skim(data: bytes, limits: Limits) -> PickleSkim | None:  # noqa: C901, PLR0912, PLR0915
    size = len(data)
    if size < 4 or data[0] != 0x80 or not 2 <= data[1] <= 5:
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
    max_height = limits.max_depth - 1
    root = Map("dict")
    stack: list[Any] = [root]
    starts: list[int] = [2]
    heights: list[int] = [1]
    memo: dict[int, Any] = {}
    host_gets: list[int] = []
    entries: list[tuple[str, int, int]] = []
    nodes: list[Node] = []
    pushes = 0

    def text(start: int, length: int) -> str:
        if length > max_string:
            raise _Unsure
        end = start + length
        if end > size:
            raise _Unsure
        return data[start:end].decode("utf-8", "surrogatepass")

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

    def peek() -> Any:
        if stack[-1] is _MARK:
            raise _Unsure
        return stack[-1]

    def set_items(target_at: int, first: int, at: int) -> None:
        """Items ``stack[first:]`` set on ``stack[target_at]``, the opcode at ``at``."""
        items = stack[first:]
        if len(items) % 2:
            raise _Unsure
        target = stack[target_at]
        if type(target) is not Map:
            raise _Unsure
        if target_at == 0:
            for index in range(0, len(items), 2):
                key = items[index]
                if type(key) is not str or not key.isascii() and not _clean(key):
                    raise _Unsure
                value_at = first + index + 1
                if heights[value_at] > max_height:
                    raise _Unsure
                end = starts[value_at + 1] if value_at + 1 < len(stack) else at
                entries.append((key, starts[value_at], end))
                nodes.append(items[index + 1])
        else:
            target.pairs.extend(
                (items[index], items[index + 1]) for index in range(0, len(items), 2)
            )
            heights[target_at] = max(heights[target_at], 1 + max(heights[first:], default=0))
        del stack[first:], starts[first:], heights[first:]

    while pos < size:
        op = data[pos]
        here = pos
        pos += 1
        pushes += 1
        value: Any
        if op == 0x8C:  # SHORT_BINUNICODE
            length = data[pos]
            value = text(pos + 1, length)
            pos += 1 + length
        elif op == 0x94:  # MEMOIZE
            memo[len(memo)] = peek()
            pushes -= 1
            continue
        elif op == 0x71:  # BINPUT
            memo[data[pos]] = peek()
            pos += 1
            pushes -= 1
            continue
        elif op == 0x28:  # MARK
            stack.append(_MARK)
            starts.append(here)
            heights.append(0)
            pushes -= 1
            continue
        elif op == 0x75:  # SETITEMS
            first = pop_mark()
            set_items(first - 1, first + 1, here)
            del stack[first], starts[first], heights[first]
            pushes -= 1
            continue
        elif op == 0x73:  # SETITEM
            if len(stack) < 3 or stack[-1] is _MARK or stack[-2] is _MARK:
                raise _Unsure
            set_items(len(stack) - 3, len(stack) - 2, here)
            pushes -= 1
            continue
        elif op == 0x4B:  # BININT1
            value = data[pos]
            pos += 1
        elif op == 0x4A:  # BININT
            value = _I4.unpack_from(data, pos)[0]
            pos += 4
        elif op == 0x4D:  # BININT2
            value = _U2.unpack_from(data, pos)[0]
            pos += 2
        elif op == 0x88:  # NEWTRUE
            value = True
        elif op == 0x89:  # NEWFALSE
            value = False
        elif op == 0x4E:  # NONE
            value = None
        elif op == 0x47:  # BINFLOAT
            value = _F8.unpack_from(data, pos)[0]
            pos += 8
        elif op == 0x58:  # BINUNICODE
            length = _U4.unpack_from(data, pos)[0]
            value = text(pos + 4, length)
            pos += 4 + length
        elif op == 0x8A:  # LONG1
            length = data[pos]
            value = int.from_bytes(raw(pos + 1, length), "little", signed=True)
            pos += 1 + length
        elif op == 0x43:  # SHORT_BINBYTES
            length = data[pos]
            value = Raw("bytes", raw(pos + 1, length))
            pos += 1 + length
        elif op == 0x42:  # BINBYTES
            length = _U4.unpack_from(data, pos)[0]
            value = Raw("bytes", raw(pos + 4, length))
            pos += 4 + length
        elif op in (0x7D, 0x5D, 0x29, 0x8F):  # EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE, EMPTY_SET
            value = (
                Map("dict")
                if op == 0x7D
                else Seq(None)
                if op == 0x5D
                else Seq("tuple")
                if op == 0x29
                else Seq("set")
            )
            stack.append(value)
            starts.append(here)
            heights.append(1)
            continue
        elif op in (0x65, 0x90):  # APPENDS, ADDITEMS
            first = pop_mark()
            target = stack[first - 1]
            if op == 0x65:
                if type(target) is not Seq or target.cls is not None:
                    raise _Unsure
            elif type(target) is not Seq or target.cls not in ("set", "frozenset"):
                raise _Unsure
            if first - 1 == 0:
                raise _Unsure
            target.items.extend(stack[first + 1 :])
            heights[first - 1] = max(heights[first - 1], 1 + max(heights[first + 1 :], default=0))
            del stack[first:], starts[first:], heights[first:]
            pushes -= 1
            continue
        elif op == 0x61:  # APPEND
            at = top_index()
            target = stack[at - 1]
            if at - 1 == 0 or type(target) is not Seq or target.cls is not None:
                raise _Unsure
            target.items.append(stack[at])
            heights[at - 1] = max(heights[at - 1], 1 + heights[at])
            del stack[at], starts[at], heights[at]
            pushes -= 1
            continue
        elif op in (0x85, 0x86, 0x87):  # TUPLE1, TUPLE2, TUPLE3
            count = op - 0x84
            first = len(stack) - count
            if first < 1 or any(item is _MARK for item in stack[first:]):
                raise _Unsure
            value = Seq("tuple", stack[first:])
            height = 1 + max(heights[first:])
            start = starts[first]
            del stack[first:], starts[first:], heights[first:]
            stack.append(value)
            starts.append(start)
            heights.append(height)
            continue
        elif op in (0x74, 0x6C, 0x91, 0x64):  # TUPLE, LIST, FROZENSET, DICT
            first = pop_mark()
            items = stack[first + 1 :]
            if op == 0x64:
                if len(items) % 2:
                    raise _Unsure
                value = Map("dict", [(items[i], items[i + 1]) for i in range(0, len(items), 2)])
            else:
                value = Seq("tuple" if op == 0x74 else None if op == 0x6C else "frozenset", items)
            height = 1 + max(heights[first + 1 :], default=0)
            start = starts[first]
            del stack[first:], starts[first:], heights[first:]
            stack.append(value)
            starts.append(start)
            heights.append(height)
            continue
        elif op == 0x95:  # FRAME
            if pos + 8 > size:
                raise _Unsure
            pos += 8
            pushes -= 1
            continue
        elif op == 0x2E:  # STOP
            if pos != size or len(stack) != 1:
                return None  # bytes after STOP (a note) or a stack the reader refuses
            if pushes + 2 >= limits.max_nodes:
                return None  # near the budget: the full reading may cut it, with a note
            return PickleSkim(data, protocol, tuple(entries), tuple(nodes), tuple(host_gets))
        elif op in (0x68, 0x6A):  # BINGET, LONG_BINGET
            if op == 0x68:
                index = data[pos]
                pos += 1
            else:
                index = _U4.unpack_from(data, pos)[0]
                pos += 4
            value = memo[index]  # KeyError: read before written, the reader refuses it
            if isinstance(value, Map | Seq):
                return None  # a shared or cyclic container: rendered with bounds and notes
            if type(value) is str and any(m in value for m in _TEXT_MARKERS):
                host_gets.append(here)
        elif op == 0x72:  # LONG_BINPUT
            memo[_U4.unpack_from(data, pos)[0]] = peek()
            pos += 4
            pushes -= 1
            continue
        elif op == 0x30:  # POP
            top_index()
            del stack[-1], starts[-1], heights[-1]
            pushes -= 1
            continue
        elif op == 0x31:  # POP_MARK
            first = pop_mark()
            del stack[first:], starts[first:], heights[first:]
            pushes -= 1
            continue
        elif op == 0x80:  # PROTO (again): the reader ignores it
            pos += 1
            pushes -= 1
            continue
        elif op == 0x8B:  # LONG4
            length = _I4.unpack_from(data, pos)[0]
            if length < 0:
                raise _Unsure
            value = int.from_bytes(raw(pos + 4, length), "little", signed=True)
            pos += 4 + length
        elif op in (0x8D, 0x8E, 0x96):  # BINUNICODE8, BINBYTES8, BYTEARRAY8
            length = _U8.unpack_from(data, pos)[0]
            if op == 0x8D:
                value = text(pos + 8, length)
            else:
                value = Raw("bytes" if op == 0x8E else "bytearray", raw(pos + 8, length))
            pos += 8 + length
        elif op in (0x55, 0x54):  # SHORT_BINSTRING, BINSTRING: latin-1 text
            if op == 0x55:
                length = data[pos]
                pos += 1
            else:
                length = _I4.unpack_from(data, pos)[0]
                pos += 4
                if length < 0:
                    raise _Unsure
            if length > max_string:
                raise _Unsure
            value = raw(pos, length).decode("latin-1") if length <= max_bytes else None
            if value is None:
                raise _Unsure
            pos += length
        else:
            # GLOBAL, REDUCE, BUILD, NEWOBJ, DUP, PERSID, EXT, buffers, text opcodes...
            return None
        stack.append(value)
        starts.append(here)
        heights.append(0)
    return None  # no STOP: truncated


def _clean(text: str) -> bool:
    """Whether ``text`` has no lone surrogate (the full reading would replace one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
