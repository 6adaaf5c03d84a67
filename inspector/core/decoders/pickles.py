"""Python pickles read as data: nothing is unpickled, no class is imported, no call is made.

``pickle.loads`` runs whatever the stream names (``REDUCE`` of ``os.system`` is
the classic gadget), so a session store's pickles (Django's cache sessions,
Flask-Session <= 0.6 and its cachelib backend, Beaker) are read by a small stack
machine over :func:`pickletools.genops`, the standard library's opcode reader.
It interprets every opcode of protocols 0-5 symbolically:

* ``GLOBAL``/``STACK_GLOBAL`` push a *name* (``module.qualname``), never an object;
* ``REDUCE``, ``NEWOBJ``, ``INST``, ``OBJ`` build an :class:`~.graph.Obj` of that
  class with its arguments (a call to a function such as ``os.system`` is shown as
  ``{"@class": "os.system", "@data": [...]}`` and noted as *not run*);
* ``BUILD`` records the state (``__dict__`` and slots) as the object's fields.

Values the standard library pickles through a constructor are recognised by name
and rebuilt as values from their own arguments: ``datetime`` / ``date`` / ``time`` /
``timedelta`` / ``timezone`` (and ``zoneinfo`` / ``pytz`` zones), ``Decimal``,
``UUID``, ``set`` / ``frozenset``, ``bytes`` / ``bytearray`` (protocol 2's
``_codecs.encode``), ``OrderedDict``, ``defaultdict``, ``complex``. Tuples become
``{"@class": "tuple", "@items": [...]}``, dicts with other than string keys
``{"@class": "dict", "@entries": [[key, value], ...]}``.
"""

from __future__ import annotations

import datetime as dt
import pickletools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from inspector.core.decoders.graph import Link, Map, Node, Obj, Raw, Renderer, Scalar, Seq
from inspector.core.decoders.graph import top_class as graph_top_class
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = [
    "PickleError",
    "PickleRead",
    "decode_pickle",
    "looks_like_pickle",
    "read_pickle",
    "render_pickle",
]


class PickleError(Exception):
    """The bytes are not a pickle we can read (corrupt, truncated, or not a pickle)."""


_RENAMES = {"__builtin__": "builtins", "copy_reg": "copyreg", "UserDict": "collections"}
_BUILTIN_NAMES = frozenset({"set", "frozenset", "bytes", "bytearray", "tuple", "dict", "list"})
_TZ_NAME = re.compile(r"[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+)*")
# Protocol 0/1 pickles have no magic: the first opcode (MARK, EMPTY_DICT/LIST,
# GLOBAL, a string or number) and the final STOP are all there is to go on.
_OLD_STARTS = frozenset(b"(}])cSVIFLNXUTKJMG\x88\x89")


def looks_like_pickle(data: bytes) -> int | None:
    """The pickle protocol the bytes claim, or ``None``.

    Protocol 2-5 pickles begin with ``PROTO``; 0 and 1 only by their first opcode
    and the final ``STOP`` (``.``), so those are a guess that a parse confirms.
    """
    if len(data) >= 3 and data[0] == 0x80 and 2 <= data[1] <= 5:
        return data[1]
    if len(data) >= 2 and data[-1] == 0x2E and data[0] in _OLD_STARTS:
        return 0
    return None


@dataclass(frozen=True, slots=True)
class PickleRead:
    """A pickle run through the symbolic machine, before rendering."""

    root: Node
    end: int
    """Offset just past ``STOP``."""
    notes: tuple[str, ...]

    def payload(self) -> bytes | None:
        """The pickled value when it is a bare ``bytes``/``str`` (Beaker wraps its data so)."""
        if isinstance(self.root, Raw) and self.root.cls == "bytes":
            return self.root.data
        if isinstance(self.root, str):
            return self.root.encode("utf-8", "surrogatepass")
        return None


def read_pickle(data: bytes) -> PickleRead:
    """Run the opcodes of a pickle symbolically (nothing is imported or called).

    Raises:
        PickleError: The bytes cannot be read as a pickle (the caller decides
            whether that means "undecodable" or "not a pickle after all").
    """
    machine = _Machine()
    try:
        root, end = machine.run(data)
    except PickleError:
        raise
    except RecursionError as exc:
        raise PickleError("nested too deeply to read") from exc
    except (ValueError, IndexError, KeyError, TypeError, EOFError, OverflowError) as exc:
        raise PickleError(_short(exc)) from exc
    notes = list(machine.notes)
    if machine.not_run:
        notes.insert(0, "calls recorded, never run: " + ", ".join(sorted(machine.not_run)))
    if end < len(data):
        notes.append(f"{len(data) - end} byte(s) after the pickle's STOP (not shown)")
    return PickleRead(root, end, tuple(notes))


def decode_pickle(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """Read a pickle as typed JSON without loading it.

    Args:
        data: The raw bytes.
        limits: Bounds on nesting, rendered values and string length.

    Returns:
        A ``PICKLE`` :class:`~inspector.core.values.Decoded`.

    Raises:
        PickleError: The bytes cannot be read as a pickle.
    """
    return render_pickle(read_pickle(data), len(data), limits)


def render_pickle(read: PickleRead, size: int, limits: Limits = DEFAULT_LIMITS) -> Decoded:
    """The typed JSON of a pickle already read."""
    renderer = Renderer(limits, int_class="int", float_class="float")
    value = renderer.render(read.root)
    return Decoded(
        format=ValueFormat.PICKLE,
        value=value,
        size=size,
        java_class=graph_top_class(read.root),
        error="; ".join([*read.notes, *renderer.notes]) or None,
    )


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


class _Mark:
    """The ``MARK`` sentinel on the stack."""


_MARK = _Mark()


@dataclass(frozen=True, slots=True)
class _Global(Scalar):
    """A name pushed by ``GLOBAL``: never resolved to an object (shows as a ``type``)."""

    @property
    def name(self) -> str:
        """The dotted name."""
        return self.text or ""


def _global(module: str, name: str) -> _Global:
    module = _RENAMES.get(module, module)
    full = name if module == "builtins" and name in _BUILTIN_NAMES else f"{module}.{name}"
    return _Global("type", full)


@dataclass(frozen=True, slots=True)
class _Tz(Scalar):
    """A timezone rebuilt from its pickled arguments (``offset`` unknown for a bare name)."""

    offset: dt.timedelta | None = None


@dataclass(frozen=True, slots=True)
class _Delta(Scalar):
    """A timedelta, kept exact for the timezone built from it."""

    delta: dt.timedelta = dt.timedelta(0)


def _pop_mark(stack: list[Any]) -> list[Any]:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] is _MARK:
            items = stack[index + 1 :]
            del stack[index:]
            return items
    raise PickleError("no MARK on the stack")


def _as_items(node: Any) -> list[Any]:
    if isinstance(node, Seq):
        return node.items
    raise PickleError("arguments are not a tuple")


class _Machine:
    """A pickle virtual machine whose values are graph nodes, never real objects."""

    def __init__(self) -> None:
        self.notes: dict[str, None] = {}
        self.not_run: set[str] = set()

    def run(self, data: bytes) -> tuple[Node, int]:
        stack: list[Any] = []
        memo: dict[int, Any] = {}
        for op, arg, pos in pickletools.genops(data):
            name = op.name
            if name == "STOP":
                if len(stack) != 1:
                    raise PickleError("STOP with a stack that is not one value")
                return self._value(stack.pop()), (pos or 0) + 1
            handler = _HANDLERS.get(name)
            if handler is not None:
                handler(self, stack, arg)
            elif name in _CONSTANT_OPS:
                stack.append(self._constant(name, arg))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg or 0)] = self._top(stack)
            elif name == "MEMOIZE":
                memo[len(memo)] = self._top(stack)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if int(arg or 0) not in memo:
                    raise PickleError(f"memo {arg} read before it was written")
                stack.append(memo[int(arg or 0)])
            elif name in ("PROTO", "FRAME"):
                continue
            else:
                raise PickleError(f"opcode {name} not understood")
        raise PickleError("truncated: no STOP")

    @staticmethod
    def _top(stack: list[Any]) -> Any:
        if not stack or stack[-1] is _MARK:
            raise PickleError("empty stack")
        return stack[-1]

    @staticmethod
    def _pop(stack: list[Any]) -> Any:
        if not stack or stack[-1] is _MARK:
            raise PickleError("empty stack")
        return stack.pop()

    def _value(self, value: Any) -> Node:
        if isinstance(value, _Mark):
            raise PickleError("MARK where a value was expected")
        return value  # type: ignore[no-any-return]

    @staticmethod
    def _constant(name: str, arg: Any) -> Node:
        if name == "NONE":
            return None
        if name == "NEWTRUE":
            return True
        if name == "NEWFALSE":
            return False
        if name == "BYTEARRAY8":
            return Raw("bytearray", bytes(arg))
        if isinstance(arg, bytes):
            return Raw("bytes", arg)
        if name in ("NEXT_BUFFER", "READONLY_BUFFER"):
            return Link("out-of-band buffer")
        return arg  # type: ignore[no-any-return]

    # -- containers

    def empty_list(self, stack: list[Any], arg: Any) -> None:
        stack.append(Seq(None))

    def empty_tuple(self, stack: list[Any], arg: Any) -> None:
        stack.append(Seq("tuple"))

    def empty_dict(self, stack: list[Any], arg: Any) -> None:
        stack.append(Map("dict"))

    def empty_set(self, stack: list[Any], arg: Any) -> None:
        stack.append(Seq("set"))

    def list_(self, stack: list[Any], arg: Any) -> None:
        stack.append(Seq(None, [self._value(v) for v in _pop_mark(stack)]))

    def tuple_(self, stack: list[Any], arg: Any) -> None:
        stack.append(Seq("tuple", [self._value(v) for v in _pop_mark(stack)]))

    def frozenset_(self, stack: list[Any], arg: Any) -> None:
        stack.append(Seq("frozenset", [self._value(v) for v in _pop_mark(stack)]))

    def dict_(self, stack: list[Any], arg: Any) -> None:
        items = _pop_mark(stack)
        if len(items) % 2:
            raise PickleError("DICT with an odd number of items")
        target = Map("dict")
        self._set_items(target, items)
        stack.append(target)

    def append(self, stack: list[Any], arg: Any) -> None:
        value = self._value(self._pop(stack))
        self._extend(self._top(stack), [value])

    def appends(self, stack: list[Any], arg: Any) -> None:
        values = [self._value(v) for v in _pop_mark(stack)]
        self._extend(self._top(stack), values)

    def additems(self, stack: list[Any], arg: Any) -> None:
        values = [self._value(v) for v in _pop_mark(stack)]
        target = self._top(stack)
        if not isinstance(target, Seq) or target.cls not in ("set", "frozenset"):
            raise PickleError("ADDITEMS on something that is not a set")
        target.items.extend(values)

    def setitem(self, stack: list[Any], arg: Any) -> None:
        value = self._pop(stack)
        key = self._pop(stack)
        self._set_items(self._top(stack), [key, value])

    def setitems(self, stack: list[Any], arg: Any) -> None:
        items = _pop_mark(stack)
        if len(items) % 2:
            raise PickleError("SETITEMS with an odd number of items")
        self._set_items(self._top(stack), items)

    def _extend(self, target: Any, values: list[Node]) -> None:
        if (isinstance(target, Seq) and target.cls is None) or isinstance(target, Obj):
            target.items.extend(values)
        else:
            raise PickleError("APPEND on something that is not a list")

    def _set_items(self, target: Any, items: list[Any]) -> None:
        pairs = [
            (self._value(items[i]), self._value(items[i + 1])) for i in range(0, len(items), 2)
        ]
        if isinstance(target, (Map, Obj)):
            target.pairs.extend(pairs)
        else:
            raise PickleError("SETITEM on something that is not a dict")

    # -- stack

    def pop(self, stack: list[Any], arg: Any) -> None:
        if not stack:
            raise PickleError("POP on an empty stack")
        stack.pop()

    def dup(self, stack: list[Any], arg: Any) -> None:
        stack.append(self._top(stack))

    def mark(self, stack: list[Any], arg: Any) -> None:
        stack.append(_MARK)

    def pop_mark(self, stack: list[Any], arg: Any) -> None:
        _pop_mark(stack)

    # -- names, objects, calls

    def global_(self, stack: list[Any], arg: Any) -> None:
        module, _, name = str(arg).partition(" ")
        stack.append(_global(module, name))

    def stack_global(self, stack: list[Any], arg: Any) -> None:
        name = self._pop(stack)
        module = self._pop(stack)
        if not isinstance(module, str) or not isinstance(name, str):
            raise PickleError("STACK_GLOBAL needs two strings")
        stack.append(_global(module, name))

    def ext(self, stack: list[Any], arg: Any) -> None:
        stack.append(_global("copyreg", f"extension_{arg}"))

    def persid(self, stack: list[Any], arg: Any) -> None:
        stack.append(Scalar("persistent_id", str(arg)))

    def binpersid(self, stack: list[Any], arg: Any) -> None:
        pid = self._value(self._pop(stack))
        stack.append(Obj("persistent_id", data=[pid]))

    def reduce(self, stack: list[Any], arg: Any) -> None:
        args = self._pop(stack)
        func = self._pop(stack)
        stack.append(self._call(func, _as_items(args)))

    def newobj(self, stack: list[Any], arg: Any) -> None:
        args = self._pop(stack)
        cls = self._pop(stack)
        stack.append(self._new(cls, _as_items(args)))

    def newobj_ex(self, stack: list[Any], arg: Any) -> None:
        kwargs = self._pop(stack)
        args = self._pop(stack)
        cls = self._pop(stack)
        obj = self._new(cls, _as_items(args))
        if isinstance(obj, Obj) and isinstance(kwargs, Map):
            obj.pairs.extend(kwargs.pairs)
        stack.append(obj)

    def inst(self, stack: list[Any], arg: Any) -> None:
        module, _, name = str(arg).partition(" ")
        args = [self._value(v) for v in _pop_mark(stack)]
        stack.append(self._call(_global(module, name), args))

    def obj(self, stack: list[Any], arg: Any) -> None:
        items = _pop_mark(stack)
        if not items:
            raise PickleError("OBJ without a class")
        stack.append(self._call(items[0], [self._value(v) for v in items[1:]]))

    def build(self, stack: list[Any], arg: Any) -> None:
        state = self._value(self._pop(stack))
        target = self._top(stack)
        if isinstance(target, Obj):
            self._set_state(target, state)
        elif isinstance(target, Map | Seq):
            target.attrs.extend(self._state_fields(state))
        else:
            self.notes["state of a value that has none was ignored"] = None

    def _state_fields(self, state: Node) -> list[tuple[str, Node]]:
        fields: list[tuple[str, Node]] = []
        parts = state.items if isinstance(state, Seq) and state.cls == "tuple" else [state]
        if len(parts) == 2 and all(p is None or isinstance(p, Map) for p in parts):
            pass  # (__dict__, slots)
        elif not isinstance(state, Map):
            return [("__state__", state)]
        else:
            parts = [state]
        for part in parts:
            if isinstance(part, Map):
                for key, value in part.pairs:
                    fields.append((key if isinstance(key, str) else repr(key), value))
        return fields

    def _set_state(self, target: Obj, state: Node) -> None:
        target.fields.extend(self._state_fields(state))
        if target.cls == "uuid.UUID":
            number = dict(target.fields).get("int")
            if isinstance(number, int) and 0 <= number < 1 << 128:
                target.become = Scalar("uuid.UUID", str(uuid.UUID(int=number)))

    def _new(self, cls: Any, args: list[Any]) -> Any:
        if not isinstance(cls, _Global):
            raise PickleError("NEWOBJ of something that is not a class")
        if cls.name in ("set", "frozenset"):
            return Seq(cls.name, list(_iter_arg(args)))
        if cls.name in ("collections.OrderedDict", "dict"):
            return Map(cls.name, plain=cls.name == "dict")
        if cls.name == "list":
            return Seq(None)
        if cls.name == "tuple":
            return Seq("tuple", list(_iter_arg(args)))
        return Obj(cls.name, data=[self._value(a) for a in args])

    def _call(self, func: Any, args: list[Any]) -> Any:
        if not isinstance(func, _Global):
            raise PickleError("REDUCE of something that is not a name")
        name = func.name
        rebuild = _REBUILDERS.get(name)
        if rebuild is not None:
            try:
                result = rebuild(args)
            except (ValueError, TypeError, OverflowError, ArithmeticError, IndexError):
                result = None
            if result is not None:
                return result
            self.notes[f"{name} with arguments it does not take; shown as given"] = None
        short = name.rpartition(".")[2]
        if short[:1].islower() and name not in _CONSTRUCTORS:
            # A function call (os.system, builtins.eval, subprocess.run...): recorded only.
            self.not_run.add(name)
        return Obj(name, data=[self._value(a) for a in args])


def _tuple_n(count: int) -> Callable[[_Machine, list[Any], Any], None]:
    def handler(machine: _Machine, stack: list[Any], arg: Any) -> None:
        items = [machine._value(machine._pop(stack)) for _ in range(count)]
        stack.append(Seq("tuple", items[::-1]))

    return handler


def _iter_arg(args: list[Any]) -> list[Node]:
    if not args:
        return []
    first = args[0]
    if isinstance(first, Seq):
        return list(first.items)
    raise TypeError("not an iterable argument")


# --------------------------------------------------------------------------- rebuilders


def _bytes_arg(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, str):  # protocol 0-2 write bytes as latin-1 text
        return value.encode("latin-1")
    raise TypeError("not bytes")


def _tz_of(args: list[Any], index: int) -> _Tz | None:
    if len(args) <= index or args[index] is None:
        return None
    tz = args[index]
    if not isinstance(tz, _Tz):
        raise TypeError("not a timezone")
    return tz


def _aware(naive: dt.datetime, tz: _Tz | None) -> tuple[str, int | None]:
    if tz is None:
        return naive.isoformat(), None
    if tz.offset is None:
        return f"{naive.isoformat()}[{tz.text}]", None
    moment = naive.replace(tzinfo=dt.timezone(tz.offset))
    text = moment.isoformat()
    if tz.text and tz.text not in ("UTC", text[-6:]):
        text += f"[{tz.text}]"
    epoch = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return text, epoch // dt.timedelta(milliseconds=1)


def _datetime(args: list[Any]) -> Node:
    raw = _bytes_arg(args[0])
    if len(raw) != 10:
        raise ValueError("datetime state is 10 bytes")
    year = raw[0] * 256 + raw[1]
    micro = (raw[7] << 16) | (raw[8] << 8) | raw[9]
    fold = raw[2] >> 7
    naive = dt.datetime(year, raw[2] & 0x7F, raw[3], raw[4], raw[5], raw[6], micro, fold=fold)
    tz = _tz_of(args, 1)
    if tz is not None and tz.offset is None and tz.text:
        tz = _zone_offset(tz, naive)
    text, epoch = _aware(naive, tz)
    return Scalar("datetime.datetime", text, epoch)


def _zone_offset(tz: _Tz, naive: dt.datetime) -> _Tz:
    """The offset of a named zone at a moment, from the system's zone data if it has it."""
    name = tz.text or ""
    if not _TZ_NAME.fullmatch(name):
        return tz
    try:
        import zoneinfo

        offset = naive.replace(tzinfo=zoneinfo.ZoneInfo(name)).utcoffset()
    except (ValueError, OSError, LookupError):
        return tz
    return _Tz("datetime.timezone", name, offset=offset)


def _date(args: list[Any]) -> Node:
    raw = _bytes_arg(args[0])
    if len(raw) != 4:
        raise ValueError("date state is 4 bytes")
    return Scalar("datetime.date", dt.date(raw[0] * 256 + raw[1], raw[2], raw[3]).isoformat())


def _time(args: list[Any]) -> Node:
    raw = _bytes_arg(args[0])
    if len(raw) != 6:
        raise ValueError("time state is 6 bytes")
    micro = (raw[3] << 16) | (raw[4] << 8) | raw[5]
    moment = dt.time(raw[0] & 0x7F, raw[1], raw[2], micro)
    text = moment.isoformat()
    tz = _tz_of(args, 1)
    if tz is not None and tz.offset is not None:
        text = moment.replace(tzinfo=dt.timezone(tz.offset)).isoformat()
    return Scalar("datetime.time", text)


def _timedelta(args: list[Any]) -> Node:
    numbers = list(args[:3])
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise TypeError("timedelta takes integers")
    delta = dt.timedelta(*numbers)
    return _Delta("datetime.timedelta", str(delta), delta=delta)


def _timezone(args: list[Any]) -> Any:
    offset = args[0]
    if not isinstance(offset, _Delta):
        raise TypeError("not a timedelta")
    name = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
    if not name:
        name = "UTC" if not offset.delta else dt.timezone(offset.delta).tzname(None)
    return _Tz("datetime.timezone", name, offset=offset.delta)


def _zoneinfo(args: list[Any]) -> Any:
    if not args or not isinstance(args[0], str):
        raise TypeError("zone key")
    return _Tz("datetime.timezone", args[0])


def _pytz_utc(args: list[Any]) -> Any:
    return _Tz("datetime.timezone", "UTC", offset=dt.timedelta(0))


def _pytz_zone(args: list[Any]) -> Any:
    if not args or not isinstance(args[0], str):
        raise TypeError("zone name")
    if len(args) >= 2 and isinstance(args[1], int) and not isinstance(args[1], bool):
        return _Tz("datetime.timezone", args[0], offset=dt.timedelta(seconds=args[1]))
    return _Tz("datetime.timezone", args[0])


def _decimal(args: list[Any]) -> Node:
    text = args[0]
    if not isinstance(text, str) or len(text) > 10_000:
        raise TypeError("decimal text")
    try:
        return Scalar("decimal.Decimal", str(Decimal(text)))
    except InvalidOperation as exc:
        raise ValueError("decimal text") from exc


def _uuid(args: list[Any]) -> Node:
    value = args[0]
    if isinstance(value, int):
        return Scalar("uuid.UUID", str(uuid.UUID(int=value)))
    return Scalar("uuid.UUID", str(uuid.UUID(str(value))))


def _set(name: str) -> Callable[[list[Any]], Node]:
    def rebuild(args: list[Any]) -> Node:
        return Seq(name, _iter_arg(args))

    return rebuild


def _bytes(name: str) -> Callable[[list[Any]], Node]:
    def rebuild(args: list[Any]) -> Node:
        if not args:
            return Raw(name, b"")
        first = args[0]
        if isinstance(first, str) and len(args) > 1:  # bytearray("text", "latin-1")
            data = first.encode("latin-1")
        elif isinstance(first, Seq):
            data = bytes(x for x in first.items if isinstance(x, int))
        else:
            data = _bytes_arg(first)
        return Raw(name, data)

    return rebuild


def _codecs_encode(args: list[Any]) -> Node:
    text = args[0]
    encoding = args[1] if len(args) > 1 else "utf-8"
    if not isinstance(text, str) or not isinstance(encoding, str):
        raise TypeError("encode takes text")
    if encoding.replace("-", "").lower() in ("latin1", "iso88591"):
        return Raw("bytes", text.encode("latin-1"))
    return Raw("bytes", text.encode("utf-8", "surrogatepass"))


def _ordered_dict(args: list[Any]) -> Node:
    target = Map("collections.OrderedDict", plain=False)
    if args and isinstance(args[0], Seq):
        for pair in args[0].items:
            if isinstance(pair, Seq) and len(pair.items) == 2:
                target.pairs.append((pair.items[0], pair.items[1]))
    return target


def _default_dict(args: list[Any]) -> Node:
    target = Map("collections.defaultdict", plain=False)
    if args and isinstance(args[0], _Global):
        target.attrs.append(("default_factory", Scalar("type", args[0].name)))
    return target


def _complex(args: list[Any]) -> Node:
    parts = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
    return Scalar("complex", str(complex(*parts[:2])))


def _reconstructor(args: list[Any]) -> Node:
    cls = args[0]
    if not isinstance(cls, _Global):
        raise TypeError("class")
    return Obj(cls.name)


def _newobj_call(args: list[Any]) -> Node:
    cls = args[0]
    if not isinstance(cls, _Global):
        raise TypeError("class")
    return Obj(cls.name)


def _getattr(args: list[Any]) -> Node:
    # getattr(SomeClass, "name"): how bound class methods (ZoneInfo._unpickle) and some
    # enums are pickled. The result is a longer name, still never resolved.
    owner, attribute = args
    if not isinstance(owner, _Global) or not isinstance(attribute, str):
        raise TypeError("getattr of a name")
    return _Global("type", f"{owner.name}.{attribute}")


_REBUILDERS: dict[str, Callable[[list[Any]], Any]] = {
    "builtins.getattr": _getattr,
    "datetime.datetime": _datetime,
    "datetime.date": _date,
    "datetime.time": _time,
    "datetime.timedelta": _timedelta,
    "datetime.timezone": _timezone,
    "zoneinfo.ZoneInfo._unpickle": _zoneinfo,
    "pytz._UTC": _pytz_utc,
    "pytz._p": _pytz_zone,
    "decimal.Decimal": _decimal,
    "uuid.UUID": _uuid,
    "set": _set("set"),
    "frozenset": _set("frozenset"),
    "bytes": _bytes("bytes"),
    "bytearray": _bytes("bytearray"),
    "_codecs.encode": _codecs_encode,
    "collections.OrderedDict": _ordered_dict,
    "collections.defaultdict": _default_dict,
    "builtins.complex": _complex,
    "copyreg._reconstructor": _reconstructor,
    "copyreg.__newobj__": _newobj_call,
    "copyreg.__newobj_ex__": _newobj_call,
}
# Lower-case names that build values rather than run code (no "not run" note).
_CONSTRUCTORS = frozenset(_REBUILDERS) | {"zoneinfo.ZoneInfo._unpickle", "pytz._p", "pytz._UTC"}

_CONSTANT_OPS = frozenset(
    {
        "INT",
        "BININT",
        "BININT1",
        "BININT2",
        "LONG",
        "LONG1",
        "LONG4",
        "STRING",
        "BINSTRING",
        "SHORT_BINSTRING",
        "BINBYTES",
        "SHORT_BINBYTES",
        "BINBYTES8",
        "BYTEARRAY8",
        "UNICODE",
        "SHORT_BINUNICODE",
        "BINUNICODE",
        "BINUNICODE8",
        "FLOAT",
        "BINFLOAT",
        "NONE",
        "NEWTRUE",
        "NEWFALSE",
        "NEXT_BUFFER",
        "READONLY_BUFFER",
    }
)

_HANDLERS: dict[str, Callable[[_Machine, list[Any], Any], None]] = {
    "EMPTY_LIST": _Machine.empty_list,
    "EMPTY_TUPLE": _Machine.empty_tuple,
    "EMPTY_DICT": _Machine.empty_dict,
    "EMPTY_SET": _Machine.empty_set,
    "LIST": _Machine.list_,
    "TUPLE": _Machine.tuple_,
    "TUPLE1": _tuple_n(1),
    "TUPLE2": _tuple_n(2),
    "TUPLE3": _tuple_n(3),
    "FROZENSET": _Machine.frozenset_,
    "DICT": _Machine.dict_,
    "APPEND": _Machine.append,
    "APPENDS": _Machine.appends,
    "ADDITEMS": _Machine.additems,
    "SETITEM": _Machine.setitem,
    "SETITEMS": _Machine.setitems,
    "POP": _Machine.pop,
    "DUP": _Machine.dup,
    "MARK": _Machine.mark,
    "POP_MARK": _Machine.pop_mark,
    "GLOBAL": _Machine.global_,
    "STACK_GLOBAL": _Machine.stack_global,
    "EXT1": _Machine.ext,
    "EXT2": _Machine.ext,
    "EXT4": _Machine.ext,
    "PERSID": _Machine.persid,
    "BINPERSID": _Machine.binpersid,
    "REDUCE": _Machine.reduce,
    "NEWOBJ": _Machine.newobj,
    "NEWOBJ_EX": _Machine.newobj_ex,
    "INST": _Machine.inst,
    "OBJ": _Machine.obj,
    "BUILD": _Machine.build,
}
