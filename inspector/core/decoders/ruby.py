"""Ruby ``Marshal`` (``04 08``) read as data: no class is looked up, nothing is loaded.

Rails and Rack session stores (redis-rack, redis-actionpack, redis-session-store,
Rails' cache store) keep ``Marshal.dump`` of the session hash. ``Marshal.load`` on
hostile bytes instantiates arbitrary classes and runs their ``_load`` /
``marshal_load`` (the known gadget chains), so this is a reader of the format
(``marshal.c``, format 4.8) into the graph of :mod:`.graph`:

* objects (``o``) are ``{"@class": "Name", ivar: value}`` with the ``@`` of each
  instance variable dropped; structs (``S``) likewise with their members;
* symbols are ``{"@class": "Symbol", "@value": name}`` (``:name`` as a hash key);
* strings honour their encoding (``E`` true = UTF-8, false = US-ASCII, ``encoding``
  = a named one); ASCII-8BIT strings that are not text show as ``@hex``;
* ``Time`` (``_dump`` bytes plus its ``offset``/``zone``/``nano_*`` ivars),
  ``ActiveSupport::TimeWithZone``, ``Date``, ``DateTime``, ``BigDecimal``, ``Rational``
  and ``Complex`` are rebuilt as typed scalars; ``Set`` as ``@items``;
* ``ActiveSupport::Cache::Entry`` whose value Rails compressed (``@compressed``)
  is inflated (bounded) and read again, so the session hash inside is shown;
* any other ``_dump`` / ``marshal_dump`` data is kept under ``@data``.

Why not the ``rubymarshal`` package: it reads truncated strings silently short,
looks up any codec a stream names for string decoding and falls back to
``unicode-escape`` on bad bytes, raises on hash keys that are hashes, and has no
bounds; a reader this size keeps the hostile-input rules of the other decoders.
"""

from __future__ import annotations

import codecs
import datetime as dt
import zlib
from decimal import Decimal, InvalidOperation

from inspector.core.decoders.graph import Link, Map, Node, Obj, Raw, Renderer, Scalar, Seq
from inspector.core.decoders.graph import top_class as graph_top_class
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["MARSHAL_MAGIC", "MarshalError", "decode_marshal"]

MARSHAL_MAGIC = b"\x04\x08"
_MAX_NESTING = 256
_MAX_INNER = 3
"""Compressed cache entries read inside one value (each may hold another)."""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_JULIAN_OFFSET = 1721425  # Julian day number of 0001-01-01 minus one (date.toordinal base)


class MarshalError(Exception):
    """The bytes are not Marshal data we can read."""


def decode_marshal(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Read ``Marshal.dump`` bytes as typed JSON without loading them.

    Args:
        data: The raw bytes, starting with ``04 08``.
        limits: Bounds on nesting, rendered values, string length and inflation.

    Returns:
        A ``MARSHAL`` :class:`~inspector.core.values.Decoded`.

    Raises:
        MarshalError: The bytes are truncated, corrupt or not Marshal data.
    """
    reader = _Reader(data, limits, inner=0)
    try:
        root = reader.top()
    except MarshalError:
        raise
    except RecursionError as exc:
        raise MarshalError("nested too deeply to read") from exc
    except (ValueError, IndexError, OverflowError, TypeError) as exc:
        raise MarshalError(str(exc) or type(exc).__name__) from exc
    renderer = Renderer(limits, int_class="Integer", float_class="Float")
    value = renderer.render(root)
    notes = [*reader.notes]
    if reader.pos < len(data):
        notes.append(f"{len(data) - reader.pos} byte(s) after the value (not shown)")
    notes.extend(renderer.notes)
    return Decoded(
        format=ValueFormat.MARSHAL,
        value=value,
        size=len(data),
        java_class=graph_top_class(root),
        error="; ".join(notes) or None,
    )


class _Reader:
    def __init__(self, data: bytes, limits: Limits, inner: int) -> None:
        self.data = data
        self.pos = 0
        self.limits = limits
        self.inner = inner
        self.symbols: list[str] = []
        self.symbol_nodes: dict[str, Node] = {}
        self.objects: list[Node] = []
        self.notes: dict[str, None] = {}
        self.depth = 0

    # -- primitives

    def top(self) -> Node:
        if not self.data.startswith(MARSHAL_MAGIC):
            raise MarshalError("not Marshal 4.8 data")
        self.pos = 2
        return self.value()

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise MarshalError("truncated: the data ends inside a value")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise MarshalError("truncated: a length points past the end")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def long(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise MarshalError("truncated: the data ends inside a value")
        c = self.data[pos]
        self.pos = pos + 1
        if 4 < c < 128:  # the one-byte form of 0..122, the commonest
            return c - 5
        if c >= 128:
            c -= 256
        if c == 0:
            return 0
        if 4 < c < 128:
            return c - 5
        if -129 < c < -4:
            return c + 5
        if c > 0:
            return int.from_bytes(self.take(c), "little")
        return int.from_bytes(self.take(-c), "little") - (1 << (8 * -c))

    def count(self) -> int:
        size = self.long()
        # Every element takes at least one byte: a larger count is a lie.
        if size < 0 or size > len(self.data) - self.pos:
            raise MarshalError(f"a count of {size} is more than the bytes left")
        return size

    def blob(self) -> bytes:
        return self.take(self.count())

    def symbol(self) -> str:
        code = self.byte()
        if code == 0x3B:  # ';'
            index = self.long()
            if not 0 <= index < len(self.symbols):
                raise MarshalError(f"symbol link {index} points nowhere")
            return self.symbols[index]
        if code == 0x3A:  # ':'
            return self._symbol_real(ivars=False)
        if code == 0x49 and self.byte() == 0x3A:  # 'I' ':' a symbol with an encoding
            return self._symbol_real(ivars=True)
        raise MarshalError(f"expected a symbol, found 0x{code:02x}")

    def _symbol_real(self, *, ivars: bool) -> str:
        index = len(self.symbols)
        self.symbols.append("")
        name = self.blob().decode("utf-8", "replace")
        self.symbols[index] = name
        if ivars:
            self.ivars()  # the encoding: symbols are shown as UTF-8 text anyway
        return name

    def ivars(self) -> list[tuple[str, Node]]:
        out: list[tuple[str, Node]] = []
        for _ in range(self.count()):
            name = self.symbol()
            out.append((name, self.value()))
        return out

    def entry(self, node: Node) -> int:
        self.objects.append(node)
        return len(self.objects) - 1

    # -- values

    def value(self, ivp: list[bool] | None = None) -> Node:
        # No try/finally: an exception ends the whole read, so the depth need not unwind.
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise MarshalError(f"nested deeper than {_MAX_NESTING} levels")
        node = self._value(ivp)
        self.depth -= 1
        return node

    def _value(self, ivp: list[bool] | None) -> Node:
        pos = self.pos
        if pos >= len(self.data):
            raise MarshalError("truncated: the data ends inside a value")
        code = self.data[pos]
        self.pos = pos + 1
        if code == 0x49 and ivp is None:
            # The commonest value of a Rails session: a String with only its
            # encoding flag (``I"<len><bytes>\x06`` then ``:\x06E`` or a link to
            # that symbol, then ``T``/``F``), read in one go. Anything else (or
            # anything odd) takes the general path below, from the same byte.
            text = self._plain_text()
            if text is not None:
                return text
        if code == 0x30:  # '0'
            return None
        if code == 0x54:  # 'T'
            return True
        if code == 0x46:  # 'F'
            return False
        if code == 0x69:  # 'i'
            return self.long()
        if code in (0x3A, 0x3B):  # ':' ';'
            self.pos -= 1
            name = self.symbol()
            # Immutable, so one node per name serves every use (hash keys repeat).
            symbol = self.symbol_nodes.get(name)
            if symbol is None:
                symbol = self.symbol_nodes[name] = _symbol_node(name)
            return symbol
        if code == 0x40:  # '@' object link
            index = self.long()
            if not 0 <= index < len(self.objects):
                raise MarshalError(f"object link {index} points nowhere")
            return self.objects[index]
        if code == 0x49:  # 'I': a value followed by its instance variables
            flag = [True]
            node = self.value(flag)
            if flag[0]:
                node = self._generic_ivars(node, self.ivars())
            return node
        if code == 0x22:  # '"' String: registered before its encoding ivars
            data = self.blob()
            index = self.entry(None)
            ivars = self._consume(ivp)
            node = _string(data, ivars)
            if len(ivars) > sum(1 for name, _ in ivars if name in ("E", "encoding")):
                self.notes["instance variables of a String are not shown"] = None
            self.objects[index] = node
            return node
        if code == 0x66:  # 'f'
            node = _float(self.blob().split(b"\0", 1)[0].decode("ascii", "replace"))
            self.entry(node)
            return node
        if code == 0x6C:  # 'l' bignum: sign, 16-bit word count, little-endian words
            sign = self.byte()
            number = int.from_bytes(self.take(2 * self.count()), "little")
            node = -number if sign == 0x2D else number
            self.entry(node)
            return node
        if code == 0x5B:  # '['
            seq = Seq(None)
            self.entry(seq)
            for _ in range(self.count()):
                seq.items.append(self.value())
            return seq
        if code in (0x7B, 0x7D):  # '{' '}' (a Hash with a default value)
            mapping = Map("Hash")
            self.entry(mapping)
            for _ in range(self.count()):
                key = self.value()
                mapping.pairs.append((key, self.value()))
            if code == 0x7D:
                default = self.value()
                if default is not None:
                    mapping.attrs.append(("default", default))
            return mapping
        if code == 0x6F:  # 'o'
            return self._object()
        if code == 0x53:  # 'S' struct
            obj = Obj(self.symbol())
            self.entry(obj)
            for _ in range(self.count()):
                name = self.symbol()
                obj.fields.append((name, self.value()))
            return obj
        if code == 0x75:  # 'u' _dump: data (and its ivars) first, then the entry
            name = self.symbol()
            data = self.blob()
            node = self._user_dump(name, data, self._consume(ivp))
            self.entry(node)
            return node
        if code == 0x55:  # 'U' marshal_dump: the entry first, then the data
            name = self.symbol()
            index = self.entry(Link(name))
            node = self._marshal_load(name, self.value())
            self.objects[index] = node
            return node
        if code == 0x2F:  # '/' regexp
            data = self.blob()
            options = self.byte()
            self._consume(ivp)
            node = Scalar("Regexp", _regexp_text(data, options))
            self.entry(node)
            return node
        if code in (0x63, 0x6D, 0x4D):  # 'c' 'm' 'M'
            node = Scalar(
                "Class" if code == 0x63 else "Module", self.blob().decode("utf-8", "replace")
            )
            self.entry(node)
            return node
        if code == 0x65:  # 'e' an object extended by a module
            module = self.symbol()
            node = self.value(ivp)
            if isinstance(node, Obj):
                node.fields.append(("extended", module))
            return node
        if code == 0x43:  # 'C' a user subclass of String, Array, Hash or Regexp
            name = self.symbol()
            index = len(self.objects)
            node = _renamed(self.value(), name)
            if index < len(self.objects):
                self.objects[index] = node
            return node
        if code == 0x64:  # 'd' T_DATA
            name = self.symbol()
            index = self.entry(Link(name))
            node = Obj(name, data=[self.value()])
            self.objects[index] = node
            return node
        raise MarshalError(f"unknown type byte 0x{code:02x}")

    def _plain_text(self) -> Node | None:
        """The fast path of ``I"...`` with ``E`` as its one ivar; ``None``: not that shape."""
        data = self.data
        pos = self.pos
        if self.depth >= _MAX_NESTING or data[pos : pos + 1] != b'"':
            return None
        c = data[pos + 1] if pos + 1 < len(data) else 0
        if 5 < c < 128:
            size, start = c - 5, pos + 2
        elif c == 1 and pos + 2 < len(data):
            size, start = data[pos + 2], pos + 3
        else:
            return None
        end = start + size
        tail = data[end : end + 5]
        if tail[:1] != b"\x06":  # one ivar
            return None
        if tail == b"\x06:\x06ET" or tail == b"\x06:\x06EF":
            define, flag = True, tail[4]
        elif len(tail) >= 4 and tail[1] == 0x3B and (tail[2] == 0 or 4 < tail[2] < 128):
            index = tail[2] - 5 if tail[2] else 0
            if index >= len(self.symbols) or self.symbols[index] != "E":
                return None
            define, flag = False, tail[3]
            end -= 1  # the link is one byte shorter than the definition
        else:
            return None
        if flag not in (0x54, 0x46) or end + 5 > len(data):
            return None
        node = _text(data[start : start + size], "utf-8" if flag == 0x54 else "ascii")
        self.objects.append(node)
        if define:
            self.symbols.append("E")
        self.pos = end + 5
        return node

    def _consume(self, ivp: list[bool] | None) -> list[tuple[str, Node]]:
        """The ivars that follow this value, when it is the one an ``I`` wraps."""
        if ivp is None or not ivp[0]:
            return []
        ivp[0] = False
        return self.ivars()

    def _generic_ivars(self, node: Node, ivars: list[tuple[str, Node]]) -> Node:
        attrs = [(_ivar_name(name), value) for name, value in ivars]
        if isinstance(node, Obj):
            node.fields.extend(attrs)
        elif isinstance(node, Seq | Map):
            node.attrs.extend(a for a in attrs if a[0] not in ("E", "encoding"))
        return node

    def _object(self) -> Node:
        obj = Obj(self.symbol())
        index = self.entry(obj)
        for _ in range(self.count()):
            name = self.symbol()
            obj.fields.append((_ivar_name(name), self.value()))
        node = self._special_object(obj)
        self.objects[index] = node
        return node

    # -- known classes

    def _user_dump(self, name: str, data: bytes, ivars: list[tuple[str, Node]]) -> Node:
        if name == "Time" and len(data) == 8:
            node = _time(data, dict(ivars))
            if node is not None:
                return node
        if name == "BigDecimal":
            _, _, text = data.decode("ascii", "replace").partition(":")
            try:
                return Scalar(name, str(Decimal(text)))
            except (InvalidOperation, ValueError):
                return Scalar(name, text)
        obj = Obj(name, data=[_string(data, ivars)])
        return obj

    def _marshal_load(self, name: str, state: Node) -> Node:
        items = state.items if isinstance(state, Seq) else None
        if name == "ActiveSupport::TimeWithZone" and items and len(items) >= 2:
            # marshal_dump: [utc, time_zone.name, time]
            utc, zone = items[0], items[1]
            local = items[2] if len(items) > 2 else None
            if isinstance(utc, Scalar) and utc.epoch_ms is not None:
                text = local.text if isinstance(local, Scalar) and local.text else utc.text
                shown = f"{text} {zone}" if isinstance(zone, str) and zone else text
                return Scalar(name, shown, utc.epoch_ms)
        if name in ("Date", "DateTime") and items:
            node = _date(name, items)
            if node is not None:
                return node
        if name in ("Rational", "Complex") and items and len(items) == 2:
            a, b = items
            if isinstance(a, int | float) and isinstance(b, int | float):
                return Scalar(name, f"{a}/{b}" if name == "Rational" else f"{a}+{b}i")
        return Obj(name, data=[state])

    def _special_object(self, obj: Obj) -> Node:
        if obj.cls == "Set" and len(obj.fields) == 1 and isinstance(obj.fields[0][1], Map):
            return Seq("Set", [key for key, _ in obj.fields[0][1].pairs])
        if obj.cls == "ActiveSupport::Cache::Entry":
            self._inflate_entry(obj)
        return obj

    def _inflate_entry(self, obj: Obj) -> None:
        fields = dict(obj.fields)
        value = fields.get("value")
        if fields.get("compressed") is not True or self.inner >= _MAX_INNER:
            return
        if isinstance(value, Raw):
            raw = value.data
        elif isinstance(value, str):
            raw = value.encode("latin-1", "replace")
        else:
            return
        try:
            inflater = zlib.decompressobj()
            inner = inflater.decompress(raw, self.limits.max_inflated)
        except zlib.error:
            self.notes["a compressed cache entry could not be inflated"] = None
            return
        if inflater.unconsumed_tail:
            self.notes[
                f"a compressed cache entry inflates past {self.limits.max_inflated} bytes"
            ] = None
            return
        reader = _Reader(inner, self.limits, self.inner + 1)
        try:
            node = reader.top()
        except (MarshalError, ValueError, IndexError, OverflowError, TypeError, RecursionError):
            self.notes["a compressed cache entry holds no readable Marshal data"] = None
            return
        self.notes.update(reader.notes)
        obj.fields = [(n, node if n == "value" else v) for n, v in obj.fields if n != "compressed"]
        self.notes["the cache entry's value was stored zlib-compressed"] = None


def _ivar_name(name: str) -> str:
    return name[1:] if name.startswith("@") and len(name) > 1 else name


def _string(data: bytes, ivars: list[tuple[str, Node]]) -> Node:
    encoding: str | None = None
    for name, value in ivars:
        if name == "E":
            encoding = "utf-8" if value is True else "ascii"
        elif name == "encoding":
            encoding = _encoding_name(value)
    if encoding is None:
        return _binary_string(data)
    return _text(data, encoding)


def _time(data: bytes, ivars: dict[str, Node]) -> Node | None:
    # time_mdump: two little-endian words of broken-down UTC time; the offset,
    # zone and sub-microsecond digits follow as the dumped string's ivars.
    p = int.from_bytes(data[:4], "little")
    s = int.from_bytes(data[4:], "little")
    try:
        if not p & (1 << 31):  # the pre-1.8 form: seconds and microseconds
            moment = _EPOCH + dt.timedelta(seconds=p, microseconds=s)
        else:
            moment = dt.datetime(
                ((p >> 14) & 0xFFFF) + 1900,
                ((p >> 10) & 0xF) + 1,
                (p >> 5) & 0x1F,
                p & 0x1F,
                (s >> 26) & 0x3F,
                min((s >> 20) & 0x3F, 59),
                s & 0xFFFFF,
                tzinfo=dt.UTC,
            )
    except (ValueError, OverflowError):
        return None
    epoch_ms = (moment - _EPOCH) // dt.timedelta(milliseconds=1)
    offset = ivars.get("offset")
    if isinstance(offset, int) and -86400 < offset < 86400:
        moment = moment.astimezone(dt.timezone(dt.timedelta(seconds=offset)))
    text = moment.isoformat(timespec="microseconds")
    nano_num, nano_den = ivars.get("nano_num"), ivars.get("nano_den")
    if isinstance(nano_num, int) and isinstance(nano_den, int) and nano_den > 0:
        extra = (nano_num // nano_den) % 1000  # nanoseconds past the microsecond
        if extra:
            text = text[:26] + f"{extra:03d}" + text[26:]
    zone = ivars.get("zone")
    if isinstance(zone, str) and zone:
        text += f" {zone}"
    return Scalar("Time", text, epoch_ms)


def _symbol_node(name: str) -> Node:
    return Scalar("Symbol", name, key=":" + name)


def _binary_string(data: bytes) -> Node:
    # ASCII-8BIT: text when it is printable ASCII (tokens, ids), else bytes.
    if data.isascii() and all(32 <= b < 127 or b in (9, 10, 13) for b in data):
        return data.decode("ascii")
    return Raw("String", data)


def _encoding_name(value: Node) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Raw):
        return value.data.decode("ascii", "replace")
    return None


def _text(data: bytes, encoding: str) -> Node:
    if encoding in ("utf-8", "ascii"):
        codec = "utf-8"
    else:
        try:
            info = codecs.lookup(encoding)
        except (LookupError, ValueError):
            return Raw(f"String ({encoding})", data)
        if not getattr(info, "_is_text_encoding", True):
            return Raw(f"String ({encoding})", data)
        codec = info.name
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, ValueError):
        return Raw(f"String ({encoding})", data)


def _float(text: str) -> float:
    if text == "inf":
        return float("inf")
    if text == "-inf":
        return float("-inf")
    if text == "nan":
        return float("nan")
    return float(text)


def _regexp_text(source: bytes, options: int) -> str:
    flags = "".join(flag for bit, flag in ((1, "i"), (4, "m"), (2, "x")) if options & bit)
    return f"/{source.decode('utf-8', 'replace')}/{flags}"


def _renamed(node: Node, name: str) -> Node:
    if isinstance(node, Map):
        node.cls, node.plain = name, False
        return node
    if isinstance(node, Seq):
        node.cls = name
        return node
    if isinstance(node, str):
        return Scalar(name, node)
    return node


def _date(name: str, items: list[Node]) -> Node | None:
    # Date#marshal_dump: [nth, jd, df, sf, of, sg] (older: [ajd, of, sg]).
    if len(items) < 6 or not all(isinstance(i, int) for i in items[:3]):
        return None
    jd, df = items[1], items[2]
    assert isinstance(jd, int)
    assert isinstance(df, int)
    try:
        day = dt.date.fromordinal(jd - _JULIAN_OFFSET)
    except (ValueError, OverflowError):
        return None
    if name == "Date":
        return Scalar(name, day.isoformat())
    offset = items[4] if isinstance(items[4], int) else 0
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=df)
    epoch_ms = (moment - _EPOCH) // dt.timedelta(milliseconds=1)
    if -86400 < offset < 86400:
        moment = moment.astimezone(dt.timezone(dt.timedelta(seconds=offset)))
    return Scalar(name, moment.isoformat(), epoch_ms)
