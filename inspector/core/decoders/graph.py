"""The object graph the non-JSON codecs read into, and its bounded rendering to typed JSON.

Pickle, Ruby Marshal, PHP ``serialize`` and igbinary all let a value refer to
one read earlier (memo, object links, ``r:``/``R:`` references), so a few bytes
can describe a graph whose tree form is exponentially large, or a cycle. The
codecs therefore parse into these nodes (linear work in the input: each node
costs at least one byte), and :class:`Renderer` turns the graph into the typed
JSON of :mod:`inspector.core.values` within :class:`~inspector.core.values.Limits`:
every rendered value counts against ``max_nodes``, nesting stops at
``max_depth``, an object met again inside itself becomes ``{"@ref": class}``,
and every cut leaves a note.

Leaves are plain Python values: ``None``, ``bool``, ``int``, ``float``, ``str``
and ``bytes``. Pure: nothing here touches I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TypeAlias

from inspector.core.values import (
    CLASS,
    DATA,
    ENTRIES,
    EPOCH_MILLIS,
    HEX,
    ITEMS,
    REF,
    VALUE,
    JsonValue,
    Limits,
    clean_text,
)

__all__ = ["Link", "Map", "Node", "Obj", "Raw", "Renderer", "Scalar", "Seq"]

_INT64 = range(-(1 << 63), 1 << 63)
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
# CPython refuses int -> str past 4300 digits (and it is quadratic): show hex beyond.
_MAX_DECIMAL_BITS = 8 * 1024


@dataclass(eq=False, slots=True)
class Obj:
    """An object of a class: named state (fields), plus what has no name."""

    cls: str
    fields: list[tuple[str, Node]] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    """Elements appended to it (a list subclass, pickle ``APPEND`` on an object)."""
    pairs: list[tuple[Node, Node]] = field(default_factory=list)
    """Entries set on it (a dict subclass)."""
    data: list[Node] = field(default_factory=list)
    """Constructor arguments or custom data we cannot name (shown as ``@data``)."""
    become: Node | None = None
    """What the object turned out to be once its state was known (a UUID, a date...)."""


@dataclass(eq=False, slots=True)
class Seq:
    """A sequence; ``cls`` ``None`` renders as a plain JSON list."""

    cls: str | None
    items: list[Node] = field(default_factory=list)
    attrs: list[tuple[str, Node]] = field(default_factory=list)
    """Instance variables or state beside the elements."""


@dataclass(eq=False, slots=True)
class Map:
    """A mapping, in order. ``plain`` maps with only string keys render as JSON objects."""

    cls: str
    pairs: list[tuple[Node, Node]] = field(default_factory=list)
    plain: bool = True
    attrs: list[tuple[str, Node]] = field(default_factory=list)
    as_list: bool = False
    """Render the values as a JSON list (a PHP array whose keys are ``0..n-1``)."""


@dataclass(frozen=True, slots=True)
class Scalar:
    """A typed scalar shown as text: a date, a decimal, a UUID, a symbol."""

    cls: str
    text: str | None
    epoch_ms: int | None = None
    key: str | None = None
    """How it reads as a map key (a Ruby symbol ``:name``); ``None``: it makes a map typed."""


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes, shown as hex (``{"@class": cls, "@hex": ...}``)."""

    cls: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Link:
    """A reference that could not be resolved (shown as ``{"@ref": what}``)."""

    what: str


Node: TypeAlias = "Obj | Seq | Map | Scalar | Raw | Link | bytes | str | int | float | bool | None"


def _class_of(node: Node) -> str | None:
    if isinstance(node, Obj):
        return node.cls
    if isinstance(node, Seq | Map | Scalar | Raw):
        return node.cls
    return None


class Renderer:
    """Renders a graph into typed JSON within the limits, collecting notes.

    Args:
        limits: Depth, node and string bounds.
        int_class: The writer's name for an integer past 64 bits (``int``, ``Integer``).
        float_class: The writer's name for a float, used for NaN and infinities.
    """

    def __init__(self, limits: Limits, *, int_class: str, float_class: str) -> None:
        self.limits = limits
        self.int_class = int_class
        self.float_class = float_class
        self.nodes = 0
        self.full = False
        self.notes: dict[str, None] = {}  # an ordered set: each note once
        self._path: set[int] = set()

    def note(self, text: str) -> None:
        """Record a note once."""
        self.notes[text] = None

    def room(self) -> bool:
        """Whether one more value fits: loops ask first, so nothing is half added."""
        if not self.full and self.nodes >= self.limits.max_nodes:
            self.full = True
            self.note(f"cut off after {self.limits.max_nodes} values")
        return not self.full

    def render(self, node: Node, depth: int = 0) -> JsonValue:
        """One node (and what it holds) as typed JSON, counted as one value of the budget."""
        self.nodes += 1
        # Exact types first: most nodes are short ASCII strings and small ints.
        kind = type(node)
        if kind is str:
            assert isinstance(node, str)
            if node.isascii() and len(node) <= self.limits.max_string:
                return node
            return self.text(node)
        if kind is int:
            assert isinstance(node, int)
            return node if _INT64_MIN <= node <= _INT64_MAX else self.big_int(node)
        if node is None or isinstance(node, bool):
            return node
        if isinstance(node, int):
            return node if node in _INT64 else self.big_int(node)
        if isinstance(node, float):
            return self.number(node)
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, bytes | bytearray):
            return self.hex(None, bytes(node))
        if isinstance(node, Raw):
            return self.hex(node.cls, node.data)
        if isinstance(node, Scalar):
            return self.scalar(node)
        if isinstance(node, Link):
            return {REF: self.text(node.what)}
        if isinstance(node, Obj) and node.become is not None:
            return self.render(node.become, depth)
        return self._compound(node, depth)

    def text(self, text: str) -> str:
        """A string, cut to ``max_string`` characters (noted), surrogates replaced."""
        if len(text) > self.limits.max_string:
            self.note(f"a string of {len(text)} characters cut at {self.limits.max_string}")
            text = text[: self.limits.max_string]
        return clean_text(text)

    def hex(self, cls: str | None, data: bytes) -> dict[str, JsonValue]:
        """``{"@class": cls, "@hex": ...}``, cut like a string when huge."""
        keep = max(self.limits.max_string // 2, 1)
        if len(data) > keep:
            self.note(f"{len(data)} bytes of raw data cut at {keep}")
            data = data[:keep]
        out: dict[str, JsonValue] = {} if cls is None else {CLASS: clean_text(cls)}
        out[HEX] = data.hex()
        return out

    def big_int(self, number: int) -> JsonValue:
        """An integer past 64 bits, as text (hex when it is too long for decimal)."""
        if number.bit_length() > _MAX_DECIMAL_BITS:
            text = ("-" if number < 0 else "") + hex(abs(number))
        else:
            text = str(number)
        return {CLASS: self.int_class, VALUE: self.text(text)}

    def number(self, number: float) -> JsonValue:
        """A float; NaN and infinities (which JSON lacks) as typed text."""
        if math.isfinite(number):
            return number
        text = "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
        return {CLASS: self.float_class, VALUE: text}

    def scalar(self, node: Scalar) -> JsonValue:
        """``{"@class", "@value"}`` (plus ``@epochMillis`` for instants)."""
        out: dict[str, JsonValue] = {
            CLASS: clean_text(node.cls),
            VALUE: None if node.text is None else self.text(node.text),
        }
        if node.epoch_ms is not None:
            out[EPOCH_MILLIS] = node.epoch_ms
        return out

    def _compound(self, node: Obj | Seq | Map, depth: int) -> JsonValue:
        # Class names come from the data (a pickle's GLOBAL, a msgpack PHP object's
        # name) and may hold lone surrogates: every name that reaches output is cleaned.
        cls = None if node.cls is None else clean_text(node.cls)
        if id(node) in self._path:
            return {REF: cls or "list"}
        if depth >= self.limits.max_depth:
            self.note(f"cut off below {self.limits.max_depth} levels of nesting")
            if isinstance(node, Map) and node.plain:
                return {}
            return [] if cls is None else {CLASS: cls}
        self._path.add(id(node))
        try:
            if isinstance(node, Seq):
                return self._seq(node, depth)
            if isinstance(node, Map):
                return self._map(node, depth)
            return self._obj(node, depth)
        finally:
            self._path.discard(id(node))

    def _items(self, items: list[Node], depth: int) -> list[JsonValue]:
        out: list[JsonValue] = []
        max_nodes = self.limits.max_nodes
        for item in items:
            if self.nodes >= max_nodes and not self.room():
                break
            out.append(self.render(item, depth + 1))
        return out

    def _fields(
        self, out: dict[str, JsonValue], fields: list[tuple[str, Node]], depth: int
    ) -> None:
        for name, item in fields:
            if not self.room():
                break
            # A field named like a reserved key would overwrite the class.
            name = clean_text(name)
            out["." + name if name == CLASS else name] = self.render(item, depth + 1)

    def _seq(self, node: Seq, depth: int) -> JsonValue:
        items = self._items(node.items, depth)
        if node.cls is None and not node.attrs:
            return items
        out: dict[str, JsonValue] = {CLASS: clean_text(node.cls or "list"), ITEMS: items}
        self._fields(out, node.attrs, depth)
        return out

    def _key(self, key: Node) -> str | None:
        if isinstance(key, str):
            return key
        if isinstance(key, Scalar):
            return key.key
        return None

    def _entries(
        self, pairs: list[tuple[Node, Node]], depth: int
    ) -> dict[str, JsonValue] | list[JsonValue]:
        """A dict when every key reads as a distinct string, else ``[[key, value], ...]``."""
        keys = [key if type(key) is str else self._key(key) for key, _ in pairs]
        # Distinct once cleaned: two keys with different lone surrogates both become U+FFFD.
        texts = [clean_text(key) for key in keys if key is not None]
        if len(texts) == len(keys) and len(set(texts)) == len(texts):
            entries: dict[str, JsonValue] = {}
            max_nodes = self.limits.max_nodes
            max_string = self.limits.max_string
            render = self.render
            for text, (_, value) in zip(texts, pairs, strict=True):
                # Below the budget there is room (``full`` is only set at it).
                if self.nodes >= max_nodes and not self.room():
                    break
                self.nodes += 1  # the key
                rendered = render(value, depth + 1)  # before the key, for the notes' order
                entries[text if len(text) <= max_string else self.text(text)] = rendered
            return entries
        listed: list[JsonValue] = []
        for key, value in pairs:
            if not self.room():
                break
            listed.append([self.render(key, depth + 1), self.render(value, depth + 1)])
        return listed

    def _map(self, node: Map, depth: int) -> JsonValue:
        if node.as_list:
            return self._items([value for _, value in node.pairs], depth)
        entries = self._entries(node.pairs, depth)
        if isinstance(entries, dict) and node.plain and not node.attrs:
            return entries
        out: dict[str, JsonValue] = {CLASS: clean_text(node.cls), ENTRIES: entries}
        self._fields(out, node.attrs, depth)
        return out

    def _obj(self, node: Obj, depth: int) -> JsonValue:
        out: dict[str, JsonValue] = {CLASS: clean_text(node.cls)}
        self._fields(out, node.fields, depth)
        if node.items:
            out[ITEMS] = self._items(node.items, depth)
        if node.pairs:
            out[ENTRIES] = self._entries(node.pairs, depth)
        if node.data:
            out[DATA] = self._items(node.data, depth)
        return out


def top_class(node: Node) -> str | None:
    """The class to report for a top-level value (``None`` for plain lists and maps)."""
    if isinstance(node, Obj) and node.become is not None:
        return top_class(node.become)
    if isinstance(node, Map) and node.plain:
        return None
    cls = _class_of(node)
    return None if cls is None else clean_text(cls)
