r"""PHP session data skimmed, not decoded: where each variable's value starts and ends.

A list of sessions (``ls``, ``stats``) shows a session's variable names, its
size, the user and the host, not every value. These readers step over the
``serialize()`` text by its length prefixes (``s:N:"..."``, ``a:N:{``) with a
few compiled patterns, build nothing, and give each top-level variable's byte
span; :func:`decode_part` then decodes just the values a list needs, with the
full reader of :mod:`.php`, as it would inside the whole.

They accept a subset of what :mod:`.php` accepts, never more: anything they are
not sure of gives ``None`` and the caller decodes in full. That is every ``r:`` /
``R:`` back-reference (a value would then depend on others read before it),
escaped ``S:`` strings, ``C:`` custom payloads, nesting or sizes near the
rendering limits (where the full reading would cut and note), and anything
malformed. Never raises.
"""

from __future__ import annotations

import bisect
import re

from inspector.core.decoders.graph import Renderer
from inspector.core.decoders.markers import MARKS, mark_starts
from inspector.core.decoders.php import PhpError, _Serialized
from inspector.core.values import DEFAULT_LIMITS, JsonValue, Limits

__all__ = [
    "Skim",
    "Span",
    "decode_part",
    "skim_binary",
    "skim_serialized",
    "skim_session",
    "split_array",
]

Span = tuple[str, int, int]
"""A variable's name and its value's ``[start, end)`` in the data (empty: no value)."""

_STRING = re.compile(rb's:([+-]?\d+):"')
_INT = re.compile(rb"i:([+-]?\d+);")
_ARRAY = re.compile(rb"a:([+-]?\d+):\{")
_COUNT = re.compile(rb'":(\d{1,9}):\{')
_TOKEN = re.compile(
    rb's:(\d{1,9}):"'
    rb"|(i:[+-]?\d+;)"
    rb"|(b:[01];|N;|d:(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NAN);)"
    rb"|a:(\d{1,9}):\{"
    rb'|O:(\d{1,9}):"'
    rb'|E:(\d{1,9}):"'
    rb"|[rR]:(\d{1,9});"
)
"""One token of ``serialize()``: its group number says which (see :meth:`_Skimmer.careful`)."""
_FAST = re.compile(
    rb's:(\d{1,9}):"([^"]*)";'  # 2 (lastindex)
    rb"|(i:[+-]?\d+;)"  # 3
    rb"|(b:[01];|N;|d:(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NAN);)"  # 4
    rb"|a:(\d{1,9}):\{"  # 5
    rb'|O:(\d{1,9}):"([^"]*)":(\d{1,9}):\{'  # 8
    rb'|E:(\d{1,9}):"([^"]*)";'  # 10
    rb"|[rR]:(\d{1,9});"  # 11
    rb"|(\})"  # 12
)
""":data:`_TOKEN` with each string read to its closing quote (then its length checked)."""


_SCALARS = (
    rb'(?:i:[+-]?\d+;|b:[01];|N;|s:\d{1,9}:"[^"]*";'
    rb"|d:(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NAN);)"
)
_FLAT = re.compile(
    rb'(?:a:\d{1,9}:|O:\d{1,9}:"[^"]*":\d{1,9}:)\{((?:(?:i:[+-]?\d+;|s:\d{1,9}:"[^"]*";)'
    + _SCALARS
    + rb")*)\}"
)
"""An array or object of scalars only, its strings read to their closing quote."""
_FLAT_STRINGS = re.compile(rb's:(\d{1,9}):"([^"]*)"')
_PLAIN = (
    rb"(i:[+-]?\d+;|b:[01];|N;|d:(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?INF|NAN);)"
)
_VAR = re.compile(rb"([^|]*)\|(?:" + _PLAIN + rb'|s:(\d{1,9}):"([^"]*)";|E:(\d{1,9}):"([^"]*)";)?')
"""A ``php``-handler variable: its name (1), and its value when a scalar.

Groups 2 (int, bool, null, float), 3-4 (a string's length and bytes), 5-6 (an
enum's); the lengths are checked by the caller (a quote inside: not this token).
"""
_MEMBER = re.compile(
    rb'(?:i:([+-]?\d+);|s:(\d{1,9}):"([^"]*)";)(?:'
    + _PLAIN
    + rb'|s:(\d{1,9}):"([^"]*)";|E:(\d{1,9}):"([^"]*)";)?'
)
"""An array member: its key (1 an int, 2-3 a string), and its value when a scalar (4-8)."""
_VALUE = re.compile(_PLAIN + rb'|s:(\d{1,9}):"([^"]*)";|E:(\d{1,9}):"([^"]*)";')
"""A scalar value: 1 (int, bool, null, float), 2-3 (a string), 4-5 (an enum)."""
_UNKNOWN = [(-1, -1)]
"""The slot of a value inside a container stepped over at once (a reference to it: in full)."""


def _flat_ok(whole: re.Match[bytes], kind: int) -> bool:
    """Whether a :data:`_FLAT` match is the container the lengths and count describe.

    Every string's length must be its prefix's (then no string held a quote, and
    the tokens are the true ones), the keys must be text (ASCII here, else the
    token walk checks them), and the members as many as the count says: each
    token ends in the one ``;`` that is not inside a string.
    """
    body: bytes = whole[1]
    if not body.isascii():
        return False
    quoted = 0  # the ";" inside strings (one loop: no generator per container)
    for size, text in _FLAT_STRINGS.findall(body):
        if len(text) != int(size):
            return False
        if text:
            quoted += text.count(b";")
    tokens: int = body.count(b";") - quoted
    count: int = (
        int(whole[0][2 : whole[0].index(b":", 2)]) if kind == 5 else _object_count(whole[0])
    )
    return tokens == 2 * count


def _object_count(head: bytes) -> int:
    # O:N:"class":M:{ -- the class name holds no quote (checked by the caller).
    name_end = head.index(b'"', head.index(b'"') + 1)
    return int(head[name_end + 2 : head.index(b":", name_end + 2)])


class _Odd(Exception):
    """Something the skimmer is not sure of: the caller decodes in full."""


class _Slow(Exception):
    """A string holds a quote: step over the value by the lengths instead."""


class _Skimmer:
    """Steps over ``serialize()`` values, numbering them as the full reader's slots do.

    ``r:`` / ``R:`` back-references are followed by slot number to the span they
    point at, so a list can tell whether a variable may hold a host through one,
    and whether the full rendering could grow past the limits by repeating shared
    values (then: ``_Odd``).
    """

    def __init__(self, data: bytes, limits: Limits, *, trusting: bool = False) -> None:
        self.data = data
        self.trusting = trusting
        self.pos = 0
        """Where the last array split by :func:`_members` ended."""
        """Splitting a value already skimmed: references need no checking again."""
        self.slots: list[tuple[int, int]] = []
        """Per slot (in the full reader's numbering): ``(start, end)`` (end -1 while open)."""
        self.refs: list[tuple[int, int, int]] = []
        """Per back-reference: where it is, and the span it points at."""
        self.max_depth = min(limits.max_depth - 3, 200)
        # A reference renders its target again: their sizes count against the budget.
        self.budget = min(limits.max_nodes, limits.max_string // 2) - len(data)
        self.deepest = 0
        if self.budget < 0:
            raise _Odd

    def flat(self, pos: int) -> int:
        """The end of the array or object of scalars only at ``pos`` (-1: not one, or unsure).

        What :meth:`fast` does with such a value at the top (its slots, its
        depth), without its token loop; anything it would check further (a
        class name's length, a depth limit that small) is left to it.
        """
        whole = _FLAT.match(self.data, pos)
        if whole is None or self.max_depth < 2:
            return -1
        head: bytes = whole[0]
        if head[0] == 0x61:  # a:N:{
            kind, count = 5, int(head[2 : head.index(b":", 2)])
        else:  # O:N:"class":M:{
            opening = head.index(b'"')
            if head.index(b'"', opening + 1) - opening - 1 != int(head[2 : opening - 1]):
                return -1
            kind, count = 8, _object_count(head)
        if not _flat_ok(whole, kind):
            return -1
        end = whole.end()
        self.slots.append((pos, end))
        self.slots.extend(_UNKNOWN * count)
        if self.deepest < 1:
            self.deepest = 1
        return end

    def _reference(self, match: re.Match[bytes], depth: int) -> int:
        if self.trusting:
            return match.end()
        data = self.data
        pos = match.start()
        index = int(match[11] if match.re is _FAST else match[7])
        if not 1 <= index <= len(self.slots):
            raise _Odd  # the full reading notes a missing value
        start, end = self.slots[index - 1]
        if end < 0 or any(start <= at < end for at, _, _ in self.refs):
            raise _Odd  # a cycle, or a shared value that itself shares: decode in full
        self.budget -= end - start
        if self.budget < 0:
            raise _Odd
        if data[start : start + 2] in (b"a:", b"O:"):
            # Rendered here, the target nests its own depth (at most the deepest yet).
            self.deepest = max(self.deepest, depth + self.deepest + 1)
        self.refs.append((pos, start, end))
        if data[pos] == 0x72:  # "r:" takes a slot (the same value); "R:" none
            self.slots.append((start, end))
        return match.end()

    def skip(self, pos: int, depth: int | None = None) -> int:
        """The end of the one value at ``pos``.

        First by :data:`_FAST`, which reads a string up to its closing quote
        and checks that its length is what the prefix says; a string holding a
        quote fails that check, and the value is stepped over again by
        :meth:`careful` (its slots and references undone first).
        """
        slots, refs, deepest = len(self.slots), len(self.refs), self.deepest
        try:
            return self.fast(pos, depth)
        except _Slow:
            del self.slots[slots:]
            del self.refs[refs:]
            self.deepest = deepest
            return self.careful(pos, depth)

    def fast(self, pos: int, depth: int | None = None) -> int:
        """:meth:`careful`'s walk, one :data:`_FAST` match a token (see :meth:`skip`)."""
        data = self.data
        size_of = len(data)
        slots = self.slots
        max_depth = self.max_depth if depth is None else depth
        left: list[int] = []  # per open array/object: keys and values still to read
        opened_slots: list[int] = []
        fast = _FAST.match
        flat = _FLAT.match
        while True:
            match = fast(data, pos)
            if match is None:
                raise _Odd  # bytes no token starts with, or the data ended inside the value
            kind = match.lastindex
            pos = match.end()
            if left and not left[-1]:
                if kind != 12:  # the members are read: "}" must follow
                    raise _Odd
                left.pop()
                at = opened_slots.pop()
                slots[at] = (slots[at][0], pos)
                if not left:
                    break
                left[-1] -= 1
                continue
            key_turn = bool(left) and left[-1] % 2 == 0
            if kind == 2:  # s:N:"...";
                if len(match[2]) != int(match[1]):
                    raise _Slow
                if key_turn:
                    match[2].decode("utf-8")  # the full reader refuses other keys
            elif kind == 3:  # i:N;
                pass
            elif key_turn or kind == 12:
                raise _Odd  # keys are ints or strings; "}" too soon
            elif kind == 5 or kind == 8:  # a:N:{  O:N:"class":N:{
                if kind == 8 and len(match[7]) != int(match[6]):
                    raise _Slow
                whole = flat(data, match.start())
                if whole is not None and len(left) < max_depth and _flat_ok(whole, kind):
                    # Only scalars inside: checked as a whole, stepped over at once.
                    pos = whole.end()
                    slots.append((match.start(), pos))
                    slots.extend(_UNKNOWN * int(match[kind]))
                    if len(left) + 1 > self.deepest:
                        self.deepest = len(left) + 1
                    if not left:
                        break
                    left[-1] -= 1
                    continue
                opened = int(match[kind])
                if opened > size_of - pos + 1 or len(left) >= max_depth:
                    raise _Odd
                opened_slots.append(len(slots))
                slots.append((match.start(), -1))
                left.append(2 * opened)
                if len(left) > self.deepest:
                    self.deepest = len(left)
                continue
            elif kind == 10:  # E:N:"...";
                if len(match[10]) != int(match[9]):
                    raise _Slow
            elif kind == 11:  # r:N; R:N;
                self._reference(match, len(left))
            if kind != 11 and not key_turn:
                slots.append((match.start(), pos))
            if not left:
                break
            left[-1] -= 1
        if self.deepest > self.max_depth:
            raise _Odd
        return pos

    def careful(self, pos: int, depth: int | None = None) -> int:
        """The end of the one value at ``pos`` (iterative: a stack of members left).

        One match of :data:`_TOKEN` per token; a string is stepped over by its
        length. Stricter than the full reader where that is cheaper (lengths
        with a sign): what this refuses is decoded in full.
        """
        data = self.data
        size_of = len(data)
        slots = self.slots
        token = _TOKEN.match
        max_depth = self.max_depth if depth is None else depth
        left: list[int] = []  # per open array/object: keys and values still to read
        opened_slots: list[int] = []
        key_turn = False
        while True:
            match = token(data, pos)
            if match is None:
                raise _Odd  # S:, C:, a sign, or not PHP at all
            kind = match.lastindex
            opened = -1
            begin = pos
            if kind == 1:  # s:N:"
                start = match.end()
                end = start + int(match[1])
                if end > size_of or data[end : end + 2] != b'";':
                    raise _Odd
                if key_turn:
                    data[start:end].decode("utf-8")  # the full reader refuses other keys
                pos = end + 2
            elif kind == 2:  # i:N;
                pos = match.end()
            elif key_turn:
                raise _Odd  # keys are ints or strings
            elif kind == 3:  # b:, N;, d:
                pos = match.end()
            elif kind == 4:  # a:N:{
                opened = int(match[4])
                pos = match.end()
                if opened > size_of - pos + 1:
                    raise _Odd
            elif kind == 5:  # O:N:"
                end = match.end() + int(match[5])
                counted = _COUNT.match(data, end)
                if end > size_of or counted is None:
                    raise _Odd
                opened = int(counted[1])
                pos = counted.end()
                if opened > size_of - pos + 1:
                    raise _Odd
            elif kind == 6:  # E:N:"
                end = match.end() + int(match[6])
                if end > size_of or data[end : end + 2] != b'";':
                    raise _Odd
                pos = end + 2
            else:  # r:N; R:N;
                pos = self._reference(match, len(left))
                begin = -1  # slotted (or not) by _reference
            if opened >= 0:
                if len(left) >= max_depth:
                    raise _Odd
                if opened:
                    opened_slots.append(len(slots))
                    slots.append((begin, -1))
                    left.append(2 * opened)
                    if len(left) > self.deepest:
                        self.deepest = len(left)
                    key_turn = True
                    continue
                if data[pos : pos + 1] != b"}":
                    raise _Odd
                pos += 1
                slots.append((begin, pos))
            elif begin >= 0 and not key_turn:
                slots.append((begin, pos))
            # One value read: count it, and close every container it completes.
            while left:
                left[-1] -= 1
                if left[-1]:
                    break
                if data[pos : pos + 1] != b"}":
                    raise _Odd
                pos += 1
                left.pop()
                at = opened_slots.pop()
                slots[at] = (slots[at][0], pos)
            if not left:
                if self.deepest > self.max_depth:
                    raise _Odd
                return pos
            key_turn = left[-1] % 2 == 0


class Skim:
    """A skimmed session: each variable's span, and what the skimmer learnt on the way."""

    def __init__(self, spans: list[Span], skimmer: _Skimmer) -> None:
        self.spans = spans
        self.skimmer = skimmer
        data = skimmer.data
        marks = mark_starts(data)
        # Back-references whose target names a host: a value holding one may too.
        held = [at for at, target, stop in skimmer.refs if any(target <= m < stop for m in marks)]
        self._hosts = sorted(marks + held)
        self._refs = sorted(at for at, _, _ in skimmer.refs)
        self.inner: dict[str, list[Span]] = {}
        """Members of the variables the skimmer was asked to split (by name)."""

    def may_hold_host(self, start: int, end: int) -> bool:
        """Whether ``[start, end)``, or a value it refers to, holds a host name's marker."""
        hosts = self._hosts
        at = bisect.bisect_left(hosts, start)
        return at < len(hosts) and hosts[at] < end

    def stands_alone(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` holds no back-reference (:func:`decode_part` can read it)."""
        refs = self._refs
        at = bisect.bisect_left(refs, start)
        return at == len(refs) or refs[at] >= end


def skim_session(
    data: bytes, limits: Limits = DEFAULT_LIMITS, split: frozenset[str] = frozenset()
) -> Skim | None:
    """The ``php`` handler's ``name|value...``: each variable's span, or ``None``.

    The variables named in ``split`` that hold a map (Symfony's attribute bag)
    have their members' spans in :attr:`Skim.inner` too, read in the same pass.
    """
    out: list[Span] = []
    inner: dict[str, list[Span]] = {}
    pos = 0
    size = len(data)
    variable = _VAR.match
    try:
        skimmer = _Skimmer(data, limits)
        slots = skimmer.slots
        while pos < size:
            # The name and, when a scalar, the value in one match; the rest by
            # the token walk (one call per container or reference).
            found = variable(data, pos)
            if found is None:
                return None  # no "|": not a name
            name = found[1].decode("utf-8", "replace")
            begin = found.end(1) + 1
            kind = found.lastindex or 1
            if kind == 2 or (kind in (4, 6) and len(found[kind]) == int(found[kind - 1])):
                end = found.end()
                slots.append((begin, end))
            elif name in split and data.startswith(b"a:", begin):
                members = _members(skimmer, begin)
                if members is None:
                    # An empty bag is an attribute like any: skimmed again without
                    # splitting. A list, or anything else: decoded in full.
                    empty = data.startswith(b"a:0:{}", begin)
                    return skim_session(data, limits) if empty else None
                inner[name] = members
                end = skimmer.pos
            else:
                end = skimmer.flat(begin)
                if end < 0:
                    end = skimmer.skip(begin)
            out.append((name, begin, end))
            pos = end
    except (_Odd, _Slow, ValueError, IndexError):
        return None
    skim = Skim(out, skimmer)
    skim.inner = inner
    return skim


def skim_binary(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Skim | None:
    """The ``php_binary`` handler: length byte, name, value; each variable's span."""
    out: list[Span] = []
    pos = 0
    try:
        skimmer = _Skimmer(data, limits)
        while pos < len(data):
            length = data[pos]
            undefined = length & 0x80
            length &= 0x7F
            name = data[pos + 1 : pos + 1 + length]
            if len(name) != length or not name:
                return None
            pos += 1 + length
            end = pos if undefined else _value_end(skimmer, pos)
            out.append((name.decode("utf-8", "replace"), pos, end))
            pos = end
    except (_Odd, ValueError):
        return None
    return Skim(out, skimmer) if out else None


def _value_end(skimmer: _Skimmer, pos: int) -> int:
    """:meth:`_Skimmer.skip`, a scalar or a container of scalars by one match first."""
    found = _VALUE.match(skimmer.data, pos)
    if found is not None:
        kind = found.lastindex or 1
        if kind == 1 or len(found[kind]) == int(found[kind - 1]):
            end = found.end()
            skimmer.slots.append((pos, end))
            return end
    end = skimmer.flat(pos)
    return skimmer.skip(pos) if end < 0 else end


def _members(skimmer: _Skimmer, start: int, end: int | None = None) -> list[Span] | None:
    """The members of the ``a:N:{...}`` at ``start`` (ending at ``end``, when given), by key.

    ``None`` unless it renders as a JSON object of distinct string keys (not as a
    list: keys ``0..n-1``, or empty) and its values skim cleanly. Sets
    ``skimmer.pos`` to the end.
    """
    data = skimmer.data
    match = _ARRAY.match(data, start)
    if match is None:
        return None
    count = int(match[1])
    if count <= 0 or count > len(data) - match.end() + 1:
        return None
    slot = len(skimmer.slots)
    skimmer.slots.append((start, -1))  # the array's slot comes before its members'
    pos = match.end()
    out: list[Span] = []
    listed = True
    slots = skimmer.slots
    member = _MEMBER.match
    for index in range(count):
        # Key and scalar value in one match; anything else (a container, a
        # reference, a quote in a string) by the tokens below.
        found = member(data, pos)
        if found is not None:
            if found[1] is not None:
                number = int(found[1])
                name = str(number)
                numbered = number == index
                value_start = found.end(1) + 1
            elif len(found[3]) == int(found[2]):
                name = found[3].decode("utf-8")  # the full reader refuses other keys
                numbered = False
                value_start = found.end(3) + 2
            else:
                value_start = -1  # a quote in the key
            kind = found.lastindex or 0
            if value_start < 0:
                value_end = -1
            elif kind == 4 or (
                (kind == 6 or kind == 8) and len(found[kind]) == int(found[kind - 1])
            ):
                value_end = found.end()
                slots.append((value_start, value_end))
            elif kind <= 3:  # no scalar: a container of scalars only is stepped over whole
                value_end = skimmer.flat(value_start)
            else:
                value_end = -1  # a quote in the value
            if value_end >= 0:
                listed = listed and numbered
                out.append((name, value_start, value_end))
                pos = value_end
                continue
        key = _INT.match(data, pos)
        if key is not None:
            name = str(int(key[1]))
            listed = listed and int(key[1]) == index
            pos = key.end()
        else:
            text = _STRING.match(data, pos)
            if text is None:
                return None
            size = int(text[1])
            begin = text.end()
            if size < 0 or data[begin + size : begin + size + 2] != b'";':
                return None
            # A key that is not UTF-8 is refused by the full reader.
            name = data[begin : begin + size].decode("utf-8")
            listed = False
            pos = begin + size + 2
        value_end = skimmer.skip(pos, skimmer.max_depth - 1)
        out.append((name, pos, value_end))
        pos = value_end
    if listed or data[pos : pos + 1] != b"}" or (end is not None and pos + 1 != end):
        return None
    skimmer.pos = pos + 1
    skimmer.slots[slot] = (start, pos + 1)
    return out


def skim_serialized(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Skim | None:
    """The ``php_serialize`` handler's one ``a:N:{...}``: each key's span, or ``None``."""
    try:
        skimmer = _Skimmer(data, limits)
        spans = _members(skimmer, 0, len(data))
    except (_Odd, ValueError):
        return None
    return None if spans is None else Skim(spans, skimmer)


def split_array(data: bytes, start: int, end: int, limits: Limits) -> list[Span] | None:
    """The members of an array a skimmer already stepped over (Symfony's attribute bag)."""
    try:
        return _members(_Skimmer(data, limits, trusting=True), start, end)
    except (_Odd, ValueError):
        return None


def decode_part(data: bytes, start: int, end: int, limits: Limits, depth: int = 1) -> JsonValue:
    """The value at ``data[start:end]`` as the full reading renders it at ``depth``.

    Only for spans a skimmer gave (no back-references: the value stands alone).

    Raises:
        PhpError: Not one value (never, for a skimmer's span).
    """
    if start == end:
        return None  # php_binary's undefined variable
    # The values a list reads most (an id, a user name, a host) are an int or a
    # short ASCII string: read here as the full reader and renderer would give
    # them (an int64, a str kept as is), without building either.
    head = data[start]
    if head == 0x69 and data[start + 1] == 0x3A and data[end - 1] == 0x3B:  # i:N;
        text = data[start + 2 : end - 1]
        digits = text[1:] if text[:1] in (b"-", b"+") else text
        if 0 < len(digits) <= 18 and digits.isdigit():
            return int(text)
    elif head == 0x73 and data[start + 1] == 0x3A and data[end - 2 : end] == b'";':  # s:N:"";
        colon = data.find(b":", start + 2, end)
        size = data[start + 2 : colon]
        raw = data[colon + 2 : end - 2]
        if (
            colon > 0
            and data[colon + 1] == 0x22
            and 0 < len(size) <= 9
            and size.isdigit()
            and int(size) == len(raw)
            and len(raw) <= limits.max_string
            and raw.isascii()
        ):
            return raw.decode("ascii")
    elif (
        head == 0x61
        and limits.max_depth > depth + 1
        and min(limits.max_nodes, limits.max_string) > 128
    ):
        # A small map of names to ints (Symfony's _sf2_meta): a dict as rendered.
        whole = _NAMED_INTS.fullmatch(data, start, end)
        if whole is not None:
            pairs = _NAMED_INT.findall(whole[2])
            out: dict[str, JsonValue] = {}
            for size, name, number in pairs:
                if len(name) != int(size):
                    break
                out[name.decode("ascii")] = int(number)
            else:
                if len(out) == len(pairs) == int(whole[1]):
                    return out
    return _decode_parsed(data, start, end, limits, depth)


_NAMED_INTS = re.compile(
    rb'a:(\d{1,2}):\{((?:s:\d{1,2}:"[A-Za-z_]\w*";i:-?\d{1,18};)+)\}', re.ASCII
)
_NAMED_INT = re.compile(rb's:(\d{1,2}):"([A-Za-z_]\w*)";i:(-?\d{1,18});', re.ASCII)
"""An array of at most 99 string keys (names) to ints, and one of its members."""


def _decode_parsed(data: bytes, start: int, end: int, limits: Limits, depth: int) -> JsonValue:
    """:func:`decode_part` by the full reader and renderer (what its quick path must equal)."""
    parser = _Serialized(data)
    parser.pos = start
    node = parser.guarded(parser.value)
    if parser.pos != end:
        raise PhpError("the span is not one value")
    return Renderer(limits, int_class="int", float_class="float").render(node, depth)


# --------------------------------------------------------------------------- igbinary

_WIDTH = {
    0x06: 1, 0x07: 1, 0x08: 2, 0x09: 2, 0x0A: 4, 0x0B: 4, 0x20: 8, 0x21: 8,  # longs
    0x11: 1, 0x12: 2, 0x13: 4, 0x0E: 1, 0x0F: 2, 0x10: 4,  # new strings, string ids
    0x14: 1, 0x15: 2, 0x16: 4,  # arrays
    0x17: 1, 0x18: 2, 0x19: 4, 0x1A: 1, 0x1B: 2, 0x1C: 4,  # objects: new class, class id
    0x01: 1, 0x02: 2, 0x03: 4, 0x22: 1, 0x23: 2, 0x24: 4,  # references
    0x1D: 1, 0x1E: 2, 0x1F: 4,  # serialized object data
}  # fmt: skip
_SLOTTED = frozenset(
    {0x01, 0x02, 0x03, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x22, 0x23, 0x24}
)


class _IgWalk:
    """Steps over igbinary as ``php._Igbinary`` reads it: its string and reference tables."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.pos = 4
        self.strings: list[bytes] = []
        self.refs: list[tuple[int, int]] = []
        """Per reference slot: the span of its value (end -1 while open)."""
        self.links: list[tuple[int, int]] = []
        """Per value reference: where it is, and the slot it names."""
        self.host_at: list[int] = []
        """Where a string id names a host-like string, or a reference a value holding one."""
        self.max_depth = min(limits.max_depth - 3, 200)
        self.deepest = 0
        self.budget = min(limits.max_nodes, limits.max_string // 2) - len(data)
        if self.budget < 0:
            raise _Odd

    def uint(self, width: int) -> int:
        pos = self.pos
        end = pos + width
        data = self.data
        if end > len(data):
            raise _Odd
        self.pos = end
        return data[pos] if width == 1 else int.from_bytes(data[pos:end], "big")

    def short(self) -> bytes:
        """A new string under 256 bytes (most of them): :meth:`text` for code 0x11."""
        data = self.data
        pos = self.pos + 1
        end = pos + data[pos - 1] if pos <= len(data) else len(data) + 1
        if end > len(data):
            raise _Odd
        raw = data[pos:end]
        self.pos = end
        self.strings.append(raw)
        return raw

    def text(self, code: int) -> bytes | None:
        """A string's bytes (a new one joins the table), ``None`` when ``code`` is no string."""
        if code == 0x11:
            return self.short()
        if code == 0x0D:
            return b""
        if 0x11 <= code <= 0x13:
            size = self.uint(_WIDTH[code])
            end = self.pos + size
            if end > len(self.data):
                raise _Odd
            raw = self.data[self.pos : end]
            self.pos = end
            self.strings.append(raw)
            return raw
        if 0x0E <= code <= 0x10:
            at = self.pos - 1
            index = self.uint(_WIDTH[code])
            if index >= len(self.strings):
                raise _Odd
            raw = self.strings[index]
            if MARKS.search(raw):
                self.host_at.append(at)
            return raw
        return None

    def value(self, depth: int) -> None:
        if depth > self.max_depth:
            raise _Odd
        if depth > self.deepest:
            self.deepest = depth
        at = self.pos
        code = self.data[at]  # past the end: IndexError, and the caller decodes in full
        self.pos = at + 1
        if code == 0x11:
            self.short()
            return
        if code in (0x00, 0x04, 0x05):
            return
        if code in (0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x20, 0x21):
            self.uint(_WIDTH[code])
        elif code == 0x0C:
            self.uint(8)
        elif self.text(code) is not None:
            return
        elif 0x14 <= code <= 0x16:
            self.array(at, self.uint(_WIDTH[code]), depth)
        elif 0x17 <= code <= 0x1C:
            if code <= 0x19:
                self.text(code - 0x17 + 0x11)
            else:
                self.text(code - 0x1A + 0x0E)
            self.object(at, depth)
        elif code in (0x01, 0x02, 0x03, 0x22, 0x23, 0x24):
            self.link(at, self.uint(_WIDTH[code]), depth)
        elif code == 0x25:
            if self.pos < len(self.data) and self.data[self.pos] in _SLOTTED:
                self.value(depth)
                return
            slot = len(self.refs)
            self.refs.append((self.pos, -1))
            self.value(depth)
            self.refs[slot] = (self.refs[slot][0], self.pos)
        else:
            raise _Odd

    def link(self, at: int, index: int, depth: int) -> None:
        if index >= len(self.refs):
            raise _Odd  # the full reading notes a missing value
        start, end = self.refs[index]
        if end < 0 or any(start <= where < end for where, _ in self.links):
            raise _Odd  # a cycle, or a shared value that itself shares
        self.budget -= end - start
        self.deepest += depth  # rendered here, the target nests its own depth again
        if self.budget < 0 or self.deepest > self.max_depth:
            raise _Odd
        if MARKS.search(self.data, start, end) or any(start <= h < end for h in self.host_at):
            self.host_at.append(at)
        self.links.append((at, index))

    def key(self) -> tuple[str, int | None]:
        """A member's key as the full reading names it, and the int it is (if one)."""
        code = self.data[self.pos]
        self.pos += 1
        if code == 0x11:
            return self.short().decode("utf-8", "replace"), None
        if code in (0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x20, 0x21):
            number = self.uint(_WIDTH[code])
            if code not in (0x06, 0x08, 0x0A, 0x20):
                number = -number
            return str(number), number
        raw = self.text(code)
        if raw is None:
            raise _Odd  # the full reader refuses other keys
        return raw.decode("utf-8", "replace"), None

    def members(self, count: int, depth: int) -> None:
        """Step over ``count`` key/value pairs."""
        if count > len(self.data) - self.pos:
            raise _Odd
        for _ in range(count):
            self.key()
            self.value(depth + 1)

    def array(self, at: int, count: int, depth: int) -> None:
        slot = len(self.refs)
        self.refs.append((at, -1))
        self.members(count, depth)
        self.refs[slot] = (at, self.pos)

    def object(self, at: int, depth: int) -> None:
        slot = len(self.refs)
        self.refs.append((at, -1))
        code = self.data[self.pos]
        self.pos += 1
        if code == 0x27:  # an enum case: the class, then the case's name
            name_code = self.data[self.pos]
            self.pos += 1
            if self.text(name_code) is None:
                raise _Odd
        elif 0x14 <= code <= 0x16:
            self.members(self.uint(_WIDTH[code]), depth)
        elif 0x1D <= code <= 0x1F:
            size = self.uint(_WIDTH[code])
            if self.pos + size > len(self.data):
                raise _Odd
            self.pos += size
        else:
            raise _Odd
        self.refs[slot] = (at, self.pos)


class IgbinarySkim:
    """A skimmed igbinary session: each variable's value, and how to read one of them."""

    def __init__(self, walk: _IgWalk, entries: list[tuple[str, tuple[int, int, int, int]]]) -> None:
        self.entries = entries
        """``(name, (start, end, strings known before, references known before))``."""
        self._walk = walk
        self._marks = mark_starts(walk.data)

    def may_hold_host(self, start: int, end: int) -> bool:
        """Whether the value's bytes, or a string id or reference in it, name a host."""
        return any(start <= m < end for m in self._marks) or any(
            start <= h < end for h in self._walk.host_at
        )

    def stands_alone(self, start: int, end: int) -> bool:
        """Whether the value holds no value reference (:meth:`decode` can read it)."""
        return not any(start <= at < end for at, _ in self._walk.links)

    def decode(self, span: tuple[int, int, int, int], limits: Limits) -> JsonValue:
        """The value as the full reading renders it one level down."""
        from inspector.core.decoders.php import _Igbinary

        start, end, strings, refs = span
        parser = _Igbinary(self._walk.data)
        parser.pos = start
        parser.strings = self._walk.strings[:strings]
        parser.refs = [None] * refs
        node = parser.value()
        if parser.pos != end:
            raise PhpError("the span is not one value")
        return Renderer(limits, int_class="int", float_class="float").render(node, 1)


def skim_igbinary(data: bytes, limits: Limits = DEFAULT_LIMITS) -> IgbinarySkim | None:
    """An igbinary session (an array of variables), skimmed; ``None``: decode in full.

    ``None`` too unless the array renders as a map of distinct names (not a
    list: keys ``0..n-1``), and for whatever the walk is not sure of.
    """
    if data[:4] not in (b"\x00\x00\x00\x02", b"\x00\x00\x00\x01") or len(data) < 6:
        return None
    try:
        walk = _IgWalk(data, limits)
        code = data[4]
        if not 0x14 <= code <= 0x16:
            return None
        walk.pos = 5
        count = walk.uint(_WIDTH[code])
        if count == 0 or count > len(data) - walk.pos:
            return None
        walk.refs.append((4, -1))  # the array's slot, before its members'
        entries: list[tuple[str, tuple[int, int, int, int]]] = []
        listed = True
        for index in range(count):
            name, number = walk.key()
            listed = listed and number == index
            start, strings, refs = walk.pos, len(walk.strings), len(walk.refs)
            walk.value(1)
            entries.append((name, (start, walk.pos, strings, refs)))
        walk.refs[0] = (4, walk.pos)
        if listed or walk.pos != len(data):
            return None
    except Exception:  # _Odd, or past the end: decode in full
        return None
    return IgbinarySkim(walk, entries)
