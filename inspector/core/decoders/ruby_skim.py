"""Ruby ``Marshal`` sessions skimmed, not decoded: each top-level entry's name and span.

A list of sessions shows their names, size, user and host, not every value. This
walker steps over ``Marshal.dump`` bytes as :mod:`.ruby`'s reader reads them,
numbering symbols and objects the same way (``;`` symbol links and ``@`` object
links point into those tables), but builds nothing; :meth:`MarshalSkim.decode`
then reads just the values a list needs with the full reader, its tables primed
as they would be at that point.

It accepts a subset of what :mod:`.ruby` accepts, never more: anything it is not
sure of raises :class:`_Odd` inside and gives ``None`` outside, and the caller
decodes in full. That is: a top that is not a plain ``Hash`` (or a Rails cache
``Entry`` around one), keys that are not text or symbols, a String with instance
variables beyond its encoding (the full reading notes them), a compressed cache
entry, bytes after the value, an object link that makes a cycle or repeats a
value that itself links, sizes or depths near the rendering limits, a value a
list needs that links to an object outside it, and anything malformed.
"""

from __future__ import annotations

import bisect
import math

from inspector.core.decoders.graph import Renderer
from inspector.core.decoders.markers import MARKS, mark_starts
from inspector.core.decoders.ruby import MARSHAL_MAGIC, MarshalError, _date, _float, _Reader
from inspector.core.values import DEFAULT_LIMITS, JsonValue, Limits

__all__ = ["MarshalSkim", "skim_marshal_entry", "skim_marshal_hash"]


_ENTRY = "ActiveSupport::Cache::Entry"

MarshalSpan = tuple[int, int, int, int]
"""An entry's value: ``(start, end, symbols known before it, objects known before it)``."""


class _Odd(Exception):
    """Something the walker is not sure of: the caller decodes in full."""


class _Walker:
    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.pos = 2
        self.symbols: list[str] = []
        self.objects: list[tuple[int, int]] = []
        """Per object (the reader's numbering): its span (end -1 while open)."""
        self.links: list[tuple[int, int]] = []
        """Per object link: where it is, and the index it points at."""
        self.host_at: list[int] = []
        """Where a symbol link to a host-like name, or an object link to a value
        holding one, is: the bytes there do not spell the name."""
        self.depth = 0
        self.max_depth = min(limits.max_depth - 3, 200)
        self.deepest = 0
        self.budget = min(limits.max_nodes, limits.max_string // 2) - len(data)
        if self.budget < 0:
            raise _Odd

    # -- primitives, as the reader's

    def byte(self) -> int:
        value = self.data[self.pos]  # past the end: IndexError (decoded in full)
        self.pos += 1
        return value

    def long(self) -> int:
        c = self.byte()
        if 4 < c < 128:
            return c - 5
        if c >= 128:
            c -= 256
        if c == 0:
            return 0
        if -129 < c < -4:
            return c + 5
        if c > 0:
            return int.from_bytes(self.take(c), "little")
        return int.from_bytes(self.take(-c), "little") - (1 << (8 * -c))

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise _Odd
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def count(self) -> int:
        c = self.data[self.pos]
        if 4 < c < 128:  # the one-byte form
            self.pos += 1
            size = c - 5
        else:
            size = self.long()
        if size < 0 or size > len(self.data) - self.pos:
            raise _Odd
        return size

    def skip_blob(self) -> int:
        size = self.count()
        self.pos += size
        return size

    def symbol(self) -> str:
        at = self.pos
        code = self.byte()
        if code == 0x3B:  # ';'
            index = self.long()
            if not 0 <= index < len(self.symbols):
                raise _Odd
            name = self.symbols[index]
            # The markers are ASCII: in the name's text iff in its UTF-8 bytes.
            if "host" in name or "server" in name or "container" in name or "instance" in name:
                self.host_at.append(at)
            return name
        if code == 0x3A:  # ':'
            return self._symbol_real(ivars=False)
        if code == 0x49 and self.byte() == 0x3A:
            return self._symbol_real(ivars=True)
        raise _Odd

    def _symbol_real(self, *, ivars: bool) -> str:
        index = len(self.symbols)
        self.symbols.append("")
        name = self.take(self.count()).decode("utf-8", "replace")
        self.symbols[index] = name
        if name == "@compressed":
            raise _Odd  # a compressed cache entry: inflated by the full reading
        if ivars:
            self.ivars(None)
        return name

    def ivars(self, allowed: tuple[str, ...] | None) -> None:
        for _ in range(self.count()):
            name = self.symbol()
            if allowed is not None and name not in allowed:
                raise _Odd  # the full reading notes a String's other ivars
            self.value()

    def entry(self, start: int, end: int = -1) -> int:
        self.objects.append((start, end))
        return len(self.objects) - 1

    def close(self, index: int) -> None:
        self.objects[index] = (self.objects[index][0], self.pos)

    # -- values

    def value(self, ivp: list[bool] | None = None) -> None:
        data = self.data
        at = self.pos
        code = data[at]  # past the end: IndexError, and the caller decodes in full
        # The commonest values first, in one step each: a String with only its
        # encoding flag (the reader's _plain_text shape), a small int, a symbol link.
        if code == 0x49 and ivp is None and data[at + 1] == 0x22:
            c = data[at + 2]
            if 5 < c < 128:
                start = at + 3
                end = start + c - 5
            elif c == 1:
                start = at + 4
                end = start + data[at + 3]
            else:
                end = -1
            if end >= 0:
                tail = data[end : end + 5]
                if tail == b"\x06:\x06ET" or tail == b"\x06:\x06EF":
                    self.objects.append((at + 1, end))
                    self.symbols.append("E")
                    self.pos = end + 5
                    return
                if (
                    len(tail) >= 4
                    and tail[0] == 0x06
                    and tail[1] == 0x3B
                    and (tail[2] == 0 or 4 < tail[2] < 128)
                    and tail[3] in (0x54, 0x46)
                    and self.symbols[tail[2] - 5 if tail[2] else 0] == "E"
                ):
                    self.objects.append((at + 1, end))
                    self.pos = end + 4
                    return
        elif code == 0x69 and 4 < data[at + 1] < 128:
            self.pos = at + 2
            return
        elif code in (0x30, 0x54, 0x46):  # '0' 'T' 'F'
            self.pos = at + 1
            return
        self.depth += 1
        if self.depth > self.max_depth:
            raise _Odd
        if self.depth > self.deepest:
            self.deepest = self.depth
        self._value(ivp)
        self.depth -= 1

    def _consume(self, ivp: list[bool] | None, allowed: tuple[str, ...] | None) -> None:
        if ivp is not None and ivp[0]:
            ivp[0] = False
            self.ivars(allowed)

    def _link(self, at: int) -> None:
        index = self.long()
        if not 0 <= index < len(self.objects):
            raise _Odd
        start, end = self.objects[index]
        if end < 0 or any(start <= where < end for where, _ in self.links):
            raise _Odd  # a cycle, or a repeated value that itself repeats one
        self.budget -= end - start
        if self.budget < 0:
            raise _Odd
        # Rendered here, the target nests its own depth (at most the deepest yet).
        self.deepest += self.depth
        if self.deepest > self.max_depth:
            raise _Odd
        if MARKS.search(self.data, start, end) or any(start <= h < end for h in self.host_at):
            self.host_at.append(at)
        self.links.append((at, index))

    def _value(self, ivp: list[bool] | None) -> None:
        at = self.pos
        code = self.byte()
        if code in (0x30, 0x54, 0x46):  # '0' 'T' 'F'
            return
        if code == 0x69:  # 'i'
            self.long()
        elif code in (0x3A, 0x3B):  # ':' ';'
            self.pos -= 1
            self.symbol()
        elif code == 0x40:  # '@'
            self._link(at)
        elif code == 0x49:  # 'I'
            flag = [True]
            self.value(flag)
            if flag[0]:
                self.ivars(None)
        elif code == 0x22:  # '"'
            self.skip_blob()
            index = self.entry(at, self.pos)
            self._consume(ivp, ("E", "encoding"))
            self.objects[index] = (at, self.pos)
        elif code == 0x66:  # 'f'
            _float(self.take(self.count()).split(b"\0", 1)[0].decode("ascii", "replace"))
            self.entry(at, self.pos)
        elif code == 0x6C:  # 'l'
            self.byte()
            self.take(2 * self.count())
            self.entry(at, self.pos)
        elif code == 0x5B:  # '['
            index = self.entry(at)
            for _ in range(self.count()):
                self.value()
            self.close(index)
        elif code in (0x7B, 0x7D):  # '{' '}'
            index = self.entry(at)
            for _ in range(self.count()):
                self.value()
                self.value()
            if code == 0x7D:
                self.value()
            self.close(index)
        elif code in (0x6F, 0x53):  # 'o' 'S'
            self.symbol()
            index = self.entry(at)
            for _ in range(self.count()):
                self.symbol()
                self.value()
            self.close(index)
        elif code == 0x75:  # 'u': data and its ivars first, then the entry
            self.symbol()
            self.skip_blob()
            self._consume(ivp, None)
            self.entry(at, self.pos)
        elif code in (0x55, 0x64):  # 'U' 'd': the entry, then the data
            name = self.symbol()
            index = self.entry(at)
            start, symbols, objects = self.pos, len(self.symbols), len(self.objects)
            self.value()
            self.close(index)
            # Date's reading cannot fail (the day is checked there); DateTime's
            # adds seconds and an offset, which an absurd state overflows.
            if code == 0x55 and name == "DateTime":
                self._date(name, (start, self.pos, symbols, objects))
        elif code == 0x2F:  # '/'
            self.skip_blob()
            self.byte()
            self._consume(ivp, None)
            self.entry(at, self.pos)
        elif code in (0x63, 0x6D, 0x4D):  # 'c' 'm' 'M'
            self.skip_blob()
            self.entry(at, self.pos)
        elif code == 0x65:  # 'e'
            self.symbol()
            self.value(ivp)
        elif code == 0x43:  # 'C'
            self.symbol()
            self.value()
        else:
            raise _Odd

    def _date(self, name: str, span: MarshalSpan) -> None:
        """Read a Date's state as the full reading does: an absurd one fails it there."""
        start, end, symbols, objects = span
        if any(start <= at < end for at, _ in self.links):
            raise _Odd
        reader = _Reader(self.data, DEFAULT_LIMITS, inner=0)
        reader.pos = start
        reader.symbols = self.symbols[:symbols]
        reader.objects = [None] * objects
        state = reader.value()
        items = getattr(state, "items", None)
        if isinstance(items, list) and items:
            _date(name, items)  # raises (OverflowError...) where the full reading fails

    # -- a hash's members

    def key(self) -> str:
        """A top-level key, read as text the way the full reading names it."""
        data = self.data
        code = data[self.pos] if self.pos < len(data) else -1
        if code in (0x3A, 0x3B):
            return ":" + self.symbol()
        if code != 0x49 or data[self.pos + 1 : self.pos + 2] != b'"':
            raise _Odd  # not a String with an encoding, nor a symbol
        at = self.pos
        c = data[at + 2]
        if 5 < c < 128:  # the reader's _plain_text shape, as in value()
            start = at + 3
            end = start + c - 5
            tail = data[end : end + 5]
            if tail == b"\x06:\x06ET" or tail == b"\x06:\x06EF":
                self.objects.append((at + 1, end))
                self.symbols.append("E")
                self.pos = end + 5
                return data[start:end].decode("utf-8")
            if (
                len(tail) >= 4
                and tail[0] == 0x06
                and tail[1] == 0x3B
                and (tail[2] == 0 or 4 < tail[2] < 128)
                and tail[3] in (0x54, 0x46)
                and self.symbols[tail[2] - 5 if tail[2] else 0] == "E"
            ):
                self.objects.append((at + 1, end))
                self.pos = end + 4
                return data[start:end].decode("utf-8")
        self.pos += 2
        text = self.take(self.count())
        self.entry(at + 1, self.pos)
        if self.count() != 1 or self.symbol() != "E":
            raise _Odd
        flag = self.byte()
        if flag not in (0x54, 0x46):
            raise _Odd
        return text.decode("utf-8")  # UTF-8 and US-ASCII alike; other bytes: not text

    def members(self) -> list[tuple[str, MarshalSpan]]:
        """The ``{`` at ``pos`` (no default value): each key and its value's span."""
        at = self.pos
        if self.byte() != 0x7B:
            raise _Odd
        index = self.entry(at)
        out: list[tuple[str, MarshalSpan]] = []
        self.depth += 1
        for _ in range(self.count()):
            name = self.key()
            start, symbols, objects = self.pos, len(self.symbols), len(self.objects)
            self.value()
            out.append((name, (start, self.pos, symbols, objects)))
        self.depth -= 1
        self.close(index)
        return out


class MarshalSkim:
    """A skimmed Marshal session: its entries' spans, and how to read one of them."""

    def __init__(
        self, walker: _Walker, entries: list[tuple[str, MarshalSpan]], limits: Limits
    ) -> None:
        self.entries = entries
        self.fields: dict[str, MarshalSpan] = {}
        """A cache entry's own instance variables (``@created_at``...), by name."""
        self.limits = limits
        self._walker = walker
        # Where a host-like name starts, or a link to one is: sorted, for bisects.
        self._hosts = sorted(mark_starts(walker.data) + walker.host_at)
        self._links = sorted(walker.links)

    def may_hold_host(self, span: MarshalSpan) -> bool:
        """Whether the value, or a symbol or object it links to, holds a host name's marker."""
        hosts = self._hosts
        at = bisect.bisect_left(hosts, span[0])
        return at < len(hosts) and hosts[at] < span[1]

    def stands_alone(self, span: MarshalSpan) -> bool:
        """Whether the value links to no object outside itself (:meth:`decode` can read it)."""
        start, end, _, objects = span
        links = self._links
        at = bisect.bisect_left(links, (start, -1))
        while at < len(links) and links[at][0] < end:
            if links[at][1] < objects:
                return False
            at += 1
        return True

    def decode(self, span: MarshalSpan, depth: int = 1) -> JsonValue:
        """The value as the full reading renders it at ``depth`` (for a span that stands alone).

        Raises:
            MarshalError: Not one value (never, for the walker's spans).
        """
        quick = self._scalar(span)
        if quick is not None:
            return quick
        if self._walker.data[span[0]] in (0x5B, 0x7B):  # '[' '{'
            got = self._small(span, depth)
            if got is not None:
                return got
        return self._decode_parsed(span, depth)

    def _small(self, span: MarshalSpan, depth: int) -> JsonValue:
        """A small Array or Hash of one-byte ints, nil/true/false, short ASCII Strings; or ``None``.

        Warden's ``[[id], salt]`` and a ``server`` hash of names, as the full
        reading renders them, without a reader or a renderer. Anything else
        (links, other values, long counts, repeated keys): ``None``.
        """
        limits = self.limits
        if limits.max_nodes < 4096 or limits.max_string < 256 or depth + 4 >= limits.max_depth:
            return None
        start, end, symbols, _ = span
        state = [symbols]
        try:
            got = self._small_at(start, state, 0)
        except IndexError:
            return None
        if got is None or got[1] != end:
            return None
        return got[0]

    def _small_at(self, at: int, state: list[int], level: int) -> tuple[JsonValue, int] | None:
        data = self._walker.data
        code = data[at]
        if code == 0x30:  # '0' 'T' 'F'
            return None, at + 1
        if code == 0x54:
            return True, at + 1
        if code == 0x46:
            return False, at + 1
        if code == 0x69:
            c = data[at + 1]
            if c == 0:
                return 0, at + 2
            if 4 < c < 128:
                return c - 5, at + 2
            if 128 < c < 252:
                return c - 251, at + 2
            return None
        if code == 0x49:
            if data[at + 1] != 0x22:
                return None
            c = data[at + 2]
            if 5 < c < 128:
                begin, size = at + 3, c - 5
            else:
                return None
            stop = begin + size
            tail = data[stop : stop + 5]
            if tail == b"\x06:\x06ET" or tail == b"\x06:\x06EF":
                state[0] += 1
                after = stop + 5
            elif (
                len(tail) >= 4
                and tail[0] == 0x06
                and tail[1] == 0x3B
                and (tail[2] == 0 or 4 < tail[2] < 128)
                and tail[3] in (0x54, 0x46)
            ):
                index = tail[2] - 5 if tail[2] else 0
                if index >= state[0] or self._walker.symbols[index] != "E":
                    return None
                after = stop + 4
            else:
                return None
            raw = data[begin:stop]
            if len(raw) != size or not raw.isascii():
                return None
            return raw.decode("ascii"), after
        if level >= 2 or code not in (0x5B, 0x7B):
            return None
        c = data[at + 1]
        if not 4 < c < 20:
            return None
        pos = at + 2
        if code == 0x5B:
            items: list[JsonValue] = []
            for _ in range(c - 5):
                got = self._small_at(pos, state, level + 1)
                if got is None:
                    return None
                items.append(got[0])
                pos = got[1]
            return items, pos
        entries: dict[str, JsonValue] = {}
        for _ in range(c - 5):
            key = self._small_at(pos, state, 2)
            if key is None or type(key[0]) is not str or key[0] in entries:
                return None
            got = self._small_at(key[1], state, level + 1)
            if got is None:
                return None
            entries[key[0]] = got[0]
            pos = got[1]
        return entries, pos

    def _scalar(self, span: MarshalSpan) -> JsonValue:
        """A small int, a float or a short ASCII String (only its encoding), rendered; or ``None``.

        The values a list reads most (an id, a name, a host), as :meth:`decode`
        gives them, without a reader or a renderer.
        """
        start, end, symbols, _ = span
        walker = self._walker
        data = walker.data
        code = data[start]
        if code == 0x69 and end == start + 2:  # 'i' in one byte
            c = data[start + 1]
            if c == 0:
                return 0
            if 4 < c < 128:
                return c - 5
            if 128 < c < 252:
                return c - 251
            return None
        if code == 0x66:  # 'f': a float's text (a cache entry's times), finite as it renders
            c = data[start + 1]
            text = data[start + 2 : end]
            if not 5 < c < 128 or len(text) != c - 5 or b"\0" in text or not text.isascii():
                return None
            number = _float(text.decode("ascii"))
            return number if math.isfinite(number) else None
        if code != 0x49 or data[start + 1] != 0x22:  # not I"
            return None
        c = data[start + 2]
        if 5 < c < 128:
            begin, size = start + 3, c - 5
        elif c == 1:
            begin, size = start + 4, data[start + 3]
        else:
            return None
        stop = begin + size
        tail = data[stop:end]
        if tail == b"\x06:\x06ET" or tail == b"\x06:\x06EF":
            pass
        elif (
            len(tail) == 4
            and tail[0] == 0x06
            and tail[1] == 0x3B
            and (tail[2] == 0 or 4 < tail[2] < 128)
            and tail[3] in (0x54, 0x46)
        ):
            index = tail[2] - 5 if tail[2] else 0
            if index >= symbols or walker.symbols[index] != "E":
                return None
        else:
            return None
        raw = data[begin:stop]
        if len(raw) != size or size > self.limits.max_string or not raw.isascii():
            return None
        return raw.decode("ascii")

    def _decode_parsed(self, span: MarshalSpan, depth: int) -> JsonValue:
        """:meth:`decode` by the full reader and renderer (what :meth:`_scalar` must equal)."""
        start, end, symbols, objects = span
        walker = self._walker
        reader = _Reader(walker.data, self.limits, inner=0)
        reader.pos = start
        reader.symbols = walker.symbols[:symbols]
        reader.objects = [None] * objects
        node = reader.value()
        if reader.pos != end:
            raise MarshalError("the span is not one value")
        return Renderer(self.limits, int_class="Integer", float_class="Float").render(node, depth)


def skim_marshal_hash(data: bytes, limits: Limits = DEFAULT_LIMITS) -> MarshalSkim | None:
    """``Marshal.dump`` of a plain ``Hash`` with text or symbol keys, skimmed; or ``None``."""
    if not data.startswith(MARSHAL_MAGIC):
        return None
    try:
        walker = _Walker(data, limits)
        entries = walker.members()
        if walker.pos != len(data):
            return None  # the full reading notes the bytes after the value
    except Exception:  # _Odd, or a value the full reading fails on too: decode in full
        return None
    return MarshalSkim(walker, entries, limits)


def skim_marshal_entry(data: bytes, limits: Limits = DEFAULT_LIMITS) -> MarshalSkim | None:
    """Rails 6.1's ``ActiveSupport::Cache::Entry`` around a session ``Hash``, skimmed.

    The entries are the ``@value`` hash's; :attr:`MarshalSkim.fields` the
    entry's other instance variables (``@created_at``, ``@expires_in``...).
    """
    if not data.startswith(MARSHAL_MAGIC + b"o"):
        return None
    try:
        walker = _Walker(data, limits)
        walker.pos = 3
        if walker.symbol() != _ENTRY:
            return None
        index = walker.entry(2)
        entries: list[tuple[str, MarshalSpan]] | None = None
        fields: dict[str, MarshalSpan] = {}
        walker.depth += 1
        for _ in range(walker.count()):
            name = walker.symbol()
            if name in fields or (name == "@value" and entries is not None):
                return None
            if name == "@value":
                walker.depth += 1
                entries = walker.members()
                walker.depth -= 1
                continue
            start, symbols, objects = walker.pos, len(walker.symbols), len(walker.objects)
            walker.value()
            fields[name] = (start, walker.pos, symbols, objects)
        walker.close(index)
        if entries is None or walker.pos != len(data):
            return None
    except Exception:  # _Odd, or a value the full reading fails on too: decode in full
        return None
    skim = MarshalSkim(walker, entries, limits)
    skim.fields = fields
    return skim
