r"""Human-readable text for decoded values and sessions (``show``, ``decode``, the TUI).

Values from Redis are hostile: every string shown here goes through
:func:`safe_text`, so control characters and escape sequences print as
``\\x1b``-style escapes and cannot move the cursor or restyle a terminal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from inspector.core.frameworks.base import FrameworkSession
from inspector.core.session import Session, ceil_seconds
from inspector.core.values import (
    CLASS,
    DATA,
    ENTRIES,
    EPOCH_MILLIS,
    HEX,
    ITEMS,
    REF,
    VALUE,
    Decoded,
    JsonValue,
    ValueFormat,
    reserved_shape,
)

__all__ = [
    "describe_value",
    "format_duration",
    "format_time",
    "render_decoded",
    "render_framework_session",
    "render_session",
    "render_value",
    "safe_text",
    "session_summary",
    "simple_class_name",
]

# C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and
# bidi overrides that can reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe_text(text: str) -> str:
    """Escape everything a terminal would interpret (controls, ESC, bidi overrides)."""

    def escape(match: re.Match[str]) -> str:
        char = match[0]
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(escape, text)


def simple_class_name(java_class: str) -> str:
    """``java.util.ArrayList`` -> ``ArrayList``; ``[Ljava.lang.String;`` -> ``String[]``.

    The result is escaped for the terminal: class names come from the data too.
    """
    return safe_text(_simple_class_name(java_class))


def _simple_class_name(java_class: str) -> str:
    dims = len(java_class) - len(java_class.lstrip("["))
    if dims:
        element = java_class[dims:]
        primitive = {
            "B": "byte", "C": "char", "D": "double", "F": "float",
            "I": "int", "J": "long", "S": "short", "Z": "boolean",
        }  # fmt: skip
        if element.startswith("L") and element.endswith(";"):
            base = element[1:-1].rsplit(".", 1)[-1]
        else:
            base = primitive.get(element, element)
        return base + "[]" * dims
    return java_class.rsplit(".", 1)[-1]


LIST_WIDTH = 64
"""Characters of a host or principal shown in a line of ``ls`` or ``watch``."""
VALUE_WIDTH = 2000
"""Characters of one string shown in ``show`` and the detail screen's tree."""


def cut_scalar(text: str, width: int = LIST_WIDTH) -> str:
    """``text`` escaped, cut to ``width`` characters with its full length said.

    ``"aaaa…(52,428,800 chars)"``: a 50 MB host attribute stays one short line.
    """
    if len(text) <= width:
        return safe_text(text)
    return safe_text(text[:width]) + f"…({len(text):,} chars)"


def format_time(epoch_ms: int | None, tz: dt.tzinfo | None = None) -> str:
    """``2019-03-09 19:57:54.569 +0900`` in local time (or ``tz``); ``-`` for ``None``."""
    if epoch_ms is None:
        return "-"
    try:
        moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).astimezone(tz)
    except (OverflowError, OSError, ValueError):
        return f"(epoch ms {epoch_ms})"
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + moment.strftime(" %z")
    )


def format_duration(seconds: float) -> str:
    """``45 s``, ``29 min 48 s``, ``2 h 5 min``, ``3 d 4 h``."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _scalar(value: JsonValue) -> str:
    if isinstance(value, str):
        if len(value) > VALUE_WIDTH:
            return '"' + safe_text(value[:VALUE_WIDTH]) + f'"…({len(value):,} chars)'
        return '"' + safe_text(value) + '"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _typed_scalar(value: dict[str, JsonValue], tz: dt.tzinfo | None) -> str:
    java_class = str(value.get(CLASS))
    name = simple_class_name(java_class)
    millis = value.get(EPOCH_MILLIS)
    if isinstance(millis, int):
        return f"{format_time(millis, tz)}  ({name}, {millis})"
    inner = value.get(VALUE)
    shown = safe_text(inner) if isinstance(inner, str) else _scalar(inner)
    return f"{shown}  ({name})"


def _entry_pairs(entries: JsonValue) -> list[tuple[str, JsonValue]]:
    if isinstance(entries, dict):
        return [(safe_text(k), v) for k, v in entries.items()]
    pairs: list[tuple[str, JsonValue]] = []
    if isinstance(entries, list):
        for pair in entries:
            if isinstance(pair, list) and len(pair) == 2:
                pairs.append(
                    (_scalar(pair[0]) if not isinstance(pair[0], dict) else "(object key)", pair[1])
                )
    return pairs


def _count(n: int, one: str, many: str | None = None) -> str:
    """``1 item``, ``2 items``: the count with its noun in the right number."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def describe_value(
    value: JsonValue, tz: dt.tzinfo | None = None
) -> tuple[str, list[tuple[str, JsonValue]]]:
    """One line for the value, plus the (label, child) pairs to show under it.

    The text is already escaped; ``render_value`` and the TUI's tree build on it.
    Reserved keys are read only in the shapes :func:`~inspector.core.values.reserved_shape`
    recognises; any other dict is shown as an object with every key.
    """
    if isinstance(value, list):
        return f"list ({_count(len(value), 'item')})", [
            (f"[{i}]", item) for i, item in enumerate(value)
        ]
    if not isinstance(value, dict):
        return _scalar(value), []
    shape = reserved_shape(value)
    if shape == REF:
        target = str(value[REF])
        shared_class, hashed, number = target.rpartition(" #")
        if hashed and number.isdecimal():
            # A shared value shown in full once, where it carries "@id": number.
            return f"(the same {simple_class_name(shared_class)} as @id {number} above)", []
        return f"(cycle: back to {simple_class_name(target)})", []
    if shape == HEX:
        return f"hex {safe_text(str(value[HEX]))}", []
    if shape == VALUE:
        return _typed_scalar(value, tz), []
    java_class = value.get(CLASS)
    name = simple_class_name(java_class) if isinstance(java_class, str) else None
    # Only a class-bearing dict treats @data as writeObject data; elsewhere it is a key.
    special: tuple[str | None, ...] = (CLASS, DATA, shape) if name is not None else ()
    fields = [(safe_text(k), v) for k, v in value.items() if k not in special]
    if name is not None and DATA in value:
        fields.append(("(writeObject data)", value[DATA]))
    if shape == ITEMS:
        items = value[ITEMS]
        assert isinstance(items, list)  # reserved_shape checked it
        children = [(f"[{i}]", item) for i, item in enumerate(items)]
        return f"{name} ({_count(len(items), 'item')})", children + fields
    if shape == ENTRIES:
        pairs = _entry_pairs(value[ENTRIES])
        return f"{name} ({_count(len(pairs), 'entry', 'entries')})", pairs + fields
    if name is None:
        return f"object ({_count(len(fields), 'field')})", fields
    label = name if name == java_class else f"{name}  ({safe_text(str(java_class))})"
    return label, fields


def render_value(value: JsonValue, tz: dt.tzinfo | None = None, indent: str = "  ") -> list[str]:
    """A decoded value as indented tree lines (class names, fields, readable dates)."""
    head, children = describe_value(value, tz)
    return [head, *_children(children, tz, indent, 1)]


def _children(
    children: list[tuple[str, JsonValue]], tz: dt.tzinfo | None, indent: str, depth: int
) -> Iterator[str]:
    for label, child in children:
        head, grandchildren = describe_value(child, tz)
        yield f"{indent * depth}{label}: {head}"
        if depth < 48:
            yield from _children(grandchildren, tz, indent, depth + 1)
        elif grandchildren:
            yield f"{indent * (depth + 1)}…"


def render_decoded(decoded: Decoded, tz: dt.tzinfo | None = None) -> list[str]:
    """A decoded value with its format, class and size, then its tree."""
    about = [decoded.format.value]
    if decoded.java_class:
        about.append(safe_text(decoded.java_class))
    about.append(f"{decoded.size} B")
    lines = [" · ".join(about)]
    if decoded.format is ValueFormat.EMPTY:
        lines.append("  (empty: removed attribute, shadow key or null)")
    elif decoded.format in (ValueFormat.BINARY, ValueFormat.UNDECODABLE):
        lines.append(f'  text: "{decoded.preview}"')
        lines.append(f"  hex:  {decoded.hex}")
    else:
        lines.extend("  " + line for line in render_value(decoded.value, tz))
    if decoded.error:
        lines.append(f"  note: {safe_text(decoded.error)}")
    return lines


def render_session(session: Session, tz: dt.tzinfo | None = None) -> list[str]:
    """The ``show`` view: metadata with local and epoch-ms times, TTLs, attributes."""
    lines = session_summary(session, tz)
    for name, decoded in session.attributes():
        lines.append("")
        rendered = render_decoded(decoded, tz)
        lines.append(f"  {safe_text(name)}  —  {rendered[0]}")
        lines.extend("  " + line for line in rendered[1:])
    for name in session.removed_attributes:
        lines.append("")
        lines.append(f"  {safe_text(name)}  —  removed (empty value left by removeAttribute)")
    return lines


def session_summary(
    session: Session, tz: dt.tzinfo | None = None, *, now_ms: int | None = None
) -> list[str]:
    """The metadata block of a session: times (local and epoch ms), TTLs, host, principal."""
    raw = session.raw
    now = raw.observed_at_ms if now_ms is None else now_ms
    lines = [f"Session {safe_text(session.id)}  [{session.state.value}]"]
    # First, so neither show nor the detail screen lets a reader trust what follows.
    lines.extend(f"  warning: {safe_text(text)}" for text in session.warnings)

    def row(label: str, text: str) -> None:
        lines.append(f"  {label:<14}{text}")

    row("key", safe_text(session.key))
    row("namespace", safe_text(session.namespace))
    row("layout", session.layout.value)
    row("created", _when(session.creation_time, now, tz))
    row("last access", _when(session.last_accessed_time, now, tz))
    interval = session.max_inactive_interval
    if interval is None:
        row("max inactive", "-")
    elif interval > 0:
        row("max inactive", f"{interval} s ({format_duration(interval)})")
    else:
        row("max inactive", f"{interval} s ({'invalidated' if interval == 0 else 'never expires'})")
    if session.expires_at is not None:
        row("expires", _when(session.expires_at, now, tz))
    row("hash TTL", _ttl(raw.hash_ttl_ms))
    if raw.shadow_ttl_ms is None:
        row(
            "shadow key",
            "missing" + (" (expired or invalidated)" if session.layout.value == "indexed" else ""),
        )
    else:
        row("shadow key", f"TTL {_ttl(raw.shadow_ttl_ms)}")
    host = cut_scalar(session.host, VALUE_WIDTH) if session.host else "-"
    if session.host_source:
        host += f"  (from {safe_text(session.host_source)})"
    row("host", host)
    row("principal", cut_scalar(session.principal, VALUE_WIDTH) if session.principal else "-")
    removed = f", {len(session.removed_attributes)} removed" if session.removed_attributes else ""
    row("attributes", f"{len(session.attribute_names)}{removed}, {session.size} B in all")
    return lines


def render_framework_session(
    session: FrameworkSession, tz: dt.tzinfo | None = None, *, now_ms: int
) -> list[str]:
    """``show`` for any framework but Spring's own layout.

    Times, the key's TTL and the framework's TTL rule, host, principal, the
    application's attributes, then the framework's bookkeeping entries apart.
    """
    lines = [f"Session {safe_text(session.session_id)}  [{session.state(now_ms)}]"]

    def row(label: str, text: str) -> None:
        lines.append(f"  {label:<14}{text}")

    framework = session.framework + (f" ({session.variant})" if session.variant else "")
    row("framework", safe_text(framework))
    row("key", safe_text(session.key))
    row("created", _when(session.created_ms, now_ms, tz))
    row("last access", _when(session.last_access_ms, now_ms, tz))
    row("expires", _when(session.expires_at_ms, now_ms, tz))
    row("key TTL", _ttl(session.ttl_ms))
    row("TTL rule", safe_text(session.ttl_rule.detail))
    host = cut_scalar(session.host, VALUE_WIDTH) if session.host else "-"
    if session.host_source:
        host += f"  (from {safe_text(session.host_source)})"
    row("host", host)
    principal = safe_text(session.principal) if session.principal else "-"
    if session.principal_source:
        principal += f"  (from {safe_text(session.principal_source)})"
    row("principal", principal)
    row("attributes", f"{len(session.attributes)}, {session.size} B in all")
    for note in session.notes:
        row("note", safe_text(note))
    for name, decoded in session.attributes.items():
        lines.append("")
        rendered = render_decoded(decoded, tz)
        lines.append(f"  {safe_text(name)}  —  {rendered[0]}")
        lines.extend("  " + line for line in rendered[1:])
    if session.bookkeeping:
        lines.append("")
        lines.append(f"  {session.framework}'s own entries:")
        for name, decoded in session.bookkeeping.items():
            rendered = render_decoded(decoded, tz)
            lines.append(f"    {safe_text(name)}  —  {rendered[0]}")
            lines.extend("    " + line for line in rendered[1:])
    if (
        not session.attributes
        and not session.bookkeeping
        and session.value is not None
        and session.value.format in (ValueFormat.BINARY, ValueFormat.UNDECODABLE)
    ):
        lines.append("")
        lines.extend("  " + line for line in render_decoded(session.value, tz))
    return lines


def _when(epoch_ms: int | None, now_ms: int, tz: dt.tzinfo | None) -> str:
    if epoch_ms is None:
        return "-"
    delta = (epoch_ms - now_ms) / 1000
    relative = f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"
    return f"{format_time(epoch_ms, tz)}  ({epoch_ms}, {relative})"


def _ttl(ttl_ms: int) -> str:
    if ttl_ms == -1:
        return "none (persistent)"
    if ttl_ms < 0:
        return "missing"
    seconds = ceil_seconds(ttl_ms)
    return f"{seconds} s ({format_duration(seconds)})"
