"""Every framework's Redis sessions, recognised in one SCAN pass and read the same way.

Each module of this package is one framework family and exports ``ADAPTERS``
(:class:`~inspector.core.frameworks.base.Adapter` instances); the registry finds
them itself, so adding a framework is one new module (and its fixtures). Spring
Session keeps its own path (``core.spring`` / ``core.session``) for now.

:func:`recognize` follows ``session-formats.md`` §4.8: the key's name first (each
adapter's prefixes and id shape, longest prefix first), then the Redis type, then,
when given, the value's first bytes (or a hash's field names) to settle keys
that several frameworks share (``sess:`` is express or fastify; ``session:`` is
Flask-Session or redis-actionpack). It does no I/O and costs a few string
comparisons per key, so a SCAN pass can call it on every key it sees.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    RedisType,
    TtlKind,
    TtlRule,
)
from inspector.core.values import Limits, undecodable

__all__ = [
    "Adapter",
    "FrameworkSession",
    "KeyKind",
    "KeyMatch",
    "RawRecord",
    "Recognition",
    "RedisType",
    "Registry",
    "TtlKind",
    "TtlRule",
    "adapters",
    "default_registry",
    "parse",
    "recognize",
]


def _discover() -> tuple[Adapter, ...]:
    found: list[Adapter] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "base":
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        found.extend(getattr(loaded, "ADAPTERS", ()))
    return tuple(found)


_ADAPTERS = _discover()


def adapters() -> tuple[Adapter, ...]:
    """Every known adapter with its default prefixes."""
    return _ADAPTERS


@dataclass(frozen=True, slots=True)
class Recognition:
    """What a key is, as far as its name, type and first bytes tell."""

    adapter: Adapter
    match: KeyMatch
    confirmed: bool
    """The type and the first bytes (or field names), when given, fit this framework."""

    @property
    def framework(self) -> str:
        """The adapter's name."""
        return self.adapter.name

    @property
    def kind(self) -> KeyKind:
        """A session or one of the framework's helper keys."""
        return self.match.kind


class Registry:
    """The adapters in use: the known ones, restricted (``--framework``) and re-prefixed.

    Args:
        only: Adapter names to keep (all when ``None``).
        prefixes: Per adapter name, prefixes that replace its defaults.
    """

    def __init__(
        self,
        only: Collection[str] | None = None,
        prefixes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        known = {a.name for a in _ADAPTERS}
        unknown = set(only or ()) - known
        if unknown:
            raise ValueError(
                f"unknown framework(s): {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        chosen = [a for a in _ADAPTERS if only is None or a.name in only]
        self.adapters: tuple[Adapter, ...] = tuple(
            a.with_prefixes(prefixes[a.name]) if prefixes and a.name in prefixes else a
            for a in chosen
        )
        # Longest prefix first: "micronaut:session:" before "session:", "rack:session:" too.
        self._ordered = sorted(
            self.adapters, key=lambda a: max(map(len, a.prefixes), default=0), reverse=True
        )
        # What every SCANned key meets first: the adapters whose prefixes start with
        # its first character (usually none or one), then the few without a fixed
        # prefix, found by a substring. Most keys cost a dict lookup.
        self._by_first: dict[str, list[Adapter]] = {}
        for adapter in self._ordered:
            if not adapter.anywhere:
                for first in {p[:1] for p in adapter.prefixes}:
                    self._by_first.setdefault(first, []).append(adapter)
        self._anywhere = [(m, a) for a in self._ordered for m in a.anywhere]
        gates = [f"(?:{a.gate()})" for a in self._ordered if a.gate()]
        self._gate = re.compile("|".join(gates), re.DOTALL) if gates else None

    def get(self, name: str) -> Adapter:
        """The adapter called ``name``."""
        for adapter in self.adapters:
            if adapter.name == name:
                return adapter
        raise KeyError(name)

    def recognize(
        self,
        key: bytes | str,
        redis_type: str | None = None,
        first_bytes: bytes | None = None,
        field_names: Iterable[str] | None = None,
    ) -> Recognition | None:
        """See :func:`recognize`."""
        text = key if isinstance(key, str) else key.decode("utf-8", "surrogateescape")
        named = self.named(text)
        if not named:
            return None
        return self.settle(named, redis_type, first_bytes, field_names)

    def named(self, text: str) -> tuple[tuple[Adapter, KeyMatch], ...]:
        """The adapters whose key names ``text`` fits, with their matches (empty: none).

        In the order :meth:`recognize` weighs them.

        The part of :meth:`recognize` that needs only the name: a SCAN pass keeps it
        with the key, and :meth:`settle` weighs the type and first bytes once read.
        """
        if self._gate is None or self._gate.match(text) is None:
            return ()
        candidates = [a for a in self._by_first.get(text[:1], ()) if text.startswith(a.match_order)]
        candidates.extend(a for marker, a in self._anywhere if marker in text)
        out = []
        for adapter in candidates:
            match = adapter.match_key(text)
            if match is not None:
                out.append((adapter, match))
        return tuple(out)

    def settle(
        self,
        named: Sequence[tuple[Adapter, KeyMatch]],
        redis_type: str | None = None,
        first_bytes: bytes | None = None,
        field_names: Iterable[str] | None = None,
    ) -> Recognition | None:
        """:meth:`recognize` of a key whose :meth:`named` matches are ``named``."""
        fallback: Recognition | None = None
        names = list(field_names) if field_names is not None else None
        for adapter, match in named:
            if match.kind is KeyKind.HELPER:
                return Recognition(adapter, match, True)
            if redis_type is not None and redis_type != adapter.redis_type.value:
                continue
            verdict: bool | None = None
            if first_bytes is not None and adapter.redis_type is RedisType.STRING:
                verdict = adapter.sniff(first_bytes)
            elif names is not None and adapter.redis_type is RedisType.HASH:
                verdict = adapter.sniff_fields(names)
            if verdict:
                return Recognition(adapter, match, True)
            if fallback is None:
                fallback = Recognition(adapter, match, False)
        return fallback

    def candidates(self, text: str) -> list[tuple[Adapter, str]]:
        """Keys a user's input may name: a key itself, a bare id, or a cookie value.

        A cookie may come as the browser sends it, ``NAME=value`` (``PHPSESSID=...``,
        ``_session_id=...``, with ``; Path=/`` and the like after it).

        Returns ``(adapter, key)`` pairs, likeliest first, for the caller to look up.
        """
        out: list[tuple[Adapter, str]] = []
        seen: set[tuple[str, str]] = set()
        text = self.cookie_value(text)
        recognised = self.recognize(text)
        if recognised is not None:
            out.append((recognised.adapter, text))
            seen.add((recognised.adapter.name, text))
        for adapter in self.adapters:
            for session_id in adapter.ids_from_cookie(text):
                key = adapter.key_for(session_id)
                if (adapter.name, key) not in seen and adapter.match_key(key) is not None:
                    seen.add((adapter.name, key))
                    out.append((adapter, key))
        return out

    def cookie_value(self, text: str) -> str:
        """``NAME=value; Path=/`` -> ``value`` when NAME is one of the adapters' cookies."""
        text = text.strip()
        name, eq, rest = text.partition("=")
        if eq and name.strip() in {a.cookie_name for a in self.adapters if a.cookie_name}:
            return rest.split(";", 1)[0].strip()
        return text


_DEFAULT = Registry()


def default_registry() -> Registry:
    """Every adapter with its default prefixes."""
    return _DEFAULT


def recognize(
    key: bytes | str,
    redis_type: str | None = None,
    first_bytes: bytes | None = None,
    field_names: Iterable[str] | None = None,
    *,
    registry: Registry | None = None,
) -> Recognition | None:
    """Which framework's key this is, from one SCAN pass's view of it.

    Args:
        key: The key as SCAN returned it.
        redis_type: ``TYPE`` of the key (``string``, ``hash``...), when known;
            a mismatch rules a framework out.
        first_bytes: The first bytes of a string value (``GETRANGE key 0 31``), when known.
        field_names: A hash's field names (``HKEYS`` or the first ``HSCAN`` page), when known.
        registry: The adapters to consider (defaults: all, default prefixes).

    Returns:
        The best :class:`Recognition` (``confirmed`` when the type and bytes fit),
        or ``None`` when no framework's key looks like this.
    """
    return (registry or _DEFAULT).recognize(key, redis_type, first_bytes, field_names)


def parse(
    record: RawRecord,
    recognition: Recognition | None = None,
    *,
    limits: Limits | None = None,
    registry: Registry | None = None,
    light: bool = False,
) -> FrameworkSession | None:
    """Read a record as its framework's session; ``None`` when no framework claims the key.

    ``light`` (``ls``, ``stats``): the adapter's :meth:`~Adapter.parse_light` first,
    which gives what a list shows without decoding every value; where it cannot
    tell (or fails), the full :meth:`~Adapter.parse`, which is always right.

    Never raises: an adapter's failure gives a session whose value is undecodable.
    """
    if recognition is None:
        first = record.value[:64] if record.value is not None else None
        names = list(record.fields) if record.fields is not None else None
        recognition = (registry or _DEFAULT).recognize(
            record.key, record.redis_type.value, first, names
        )
    if recognition is None or recognition.kind is KeyKind.HELPER:
        return None
    adapter = recognition.adapter
    if light:
        try:
            skimmed = adapter.parse_light(record, recognition.match, limits)
        except Exception:  # a light reader's bug costs the full read, nothing more
            skimmed = None
        if skimmed is not None:
            return skimmed
    try:
        return adapter.parse(record, recognition.match, limits)
    except Exception as exc:  # an adapter bug must not take the listing down
        value = undecodable(
            record.value or b"", f"{adapter.name} adapter failed: {type(exc).__name__}"
        )
        return FrameworkSession(
            framework=adapter.name,
            key=record.key,
            session_id=recognition.match.session_id,
            attributes={},
            bookkeeping={},
            created_ms=None,
            last_access_ms=None,
            expires_at_ms=None,
            ttl_ms=record.ttl_ms,
            ttl_rule=adapter.ttl_rule,
            value=value,
            size=record.size,
            notes=(value.error or "",),
        )
