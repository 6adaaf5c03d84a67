"""PHP sessions with phpredis's ``redis`` save handler: ``PHPREDIS_SESSION:<id>``.

The value is PHP's session encoding, whichever ``session.serialize_handler`` is
set: ``php`` (``name|value``), ``php_serialize`` (``a:N:{...}``), ``php_binary``,
``igbinary`` or ``msgpack``; the codecs tell them apart. ``rediscluster`` uses
``PHPREDIS_CLUSTER_SESSION:``. With session locking a ``<key>_LOCK`` string
(``"<host>|<pid>"``) sits beside the session: a helper key. The TTL is
``session.gc_maxlifetime`` (1440 s), set on each write (and ``EXPIRE`` on touch).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from inspector.core.decoders import _BINARY_STARTS, _PHP_BINARY_VALUE
from inspector.core.decoders.msgpacked import looks_like_msgpack_map, skim_msgpack_map
from inspector.core.decoders.php import (
    IGBINARY_MAGIC,
    looks_like_php_serialized,
    looks_like_php_session,
)
from inspector.core.decoders.php_skim import (
    Skim,
    decode_part,
    skim_binary,
    skim_igbinary,
    skim_serialized,
    skim_session,
)
from inspector.core.decoders.pickles import looks_like_pickle
from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    chosen_entries,
    decode,
    entries_of,
    msgpack_entries,
    names_host,
    text_of,
)
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

__all__ = ["ADAPTERS", "PhpRedis"]

VARIANTS = {
    ValueFormat.PHP_SESSION: "php",
    ValueFormat.PHP: "php_serialize",
    ValueFormat.PHP_BINARY: "php_binary",
    ValueFormat.IGBINARY: "igbinary",
    ValueFormat.MSGPACK: "msgpack",
}
# session.sid_bits_per_character 4-6 gives [0-9a-v], [0-9a-zA-Z,-]; custom ids up to 256.
_ID = re.compile(r"[0-9A-Za-z,-]{16,256}")
_MSGPACK_MAPS = frozenset({*range(0x81, 0x90), 0xDE, 0xDF})
"""First bytes of a non-empty MessagePack map (an empty one, 0x80, may start a pickle)."""
PRINCIPALS = ("user_id", "userId", "username", "user", "login", "uid")


def php_principal(entries: dict[str, object]) -> tuple[str, str] | None:
    """The first common user entry's value, and its name."""
    for name in PRINCIPALS:
        decoded = entries.get(name)
        found = text_of(getattr(decoded, "value", None)) if decoded is not None else None
        if found:
            return found, name
    return None


def sniff_php(first: bytes) -> bool:
    """Whether the first bytes start like any of PHP's session encodings."""
    return (
        looks_like_php_session(first)
        or looks_like_php_serialized(first)
        or first[:4] in IGBINARY_MAGIC
        or looks_like_msgpack_map(first)
        or (0 < first[:1][0] < 0x80 and b":" in first[: first[0] + 4] if first else False)
    )


def skim_php(
    data: bytes, limits: Limits, split: frozenset[str] = frozenset()
) -> tuple[ValueFormat, Skim] | None:
    """The PHP session encoding ``decode_value`` would read ``data`` as, skimmed.

    The same tests in the same order as ``decode_value`` (the text handlers:
    ``php_serialize``, ``php``, ``php_binary``), so a value is skimmed as the
    format the full reading gives it, or not at all (``None``: decode in full;
    igbinary and msgpack among them). ``split``: see :func:`skim_session`.
    """
    if not data or data[0] in _BINARY_STARTS or data[0] == 0xAC or data[:1] in b'{["':
        return None
    found: Skim | None
    if data[1:2] == b":" and data[:1] in b"aOsCE" and looks_like_php_serialized(data):
        fmt, found = ValueFormat.PHP, skim_serialized(data, limits)
    elif b"|" in data[:257] and looks_like_php_session(data):
        fmt, found = ValueFormat.PHP_SESSION, skim_session(data, limits, split)
    elif data[-1:] == b"." and looks_like_pickle(data) == 0:
        return None
    elif 0 < data[0] < len(data) - 1 and _PHP_BINARY_VALUE.match(data, 1 + data[0]):
        fmt, found = ValueFormat.PHP_BINARY, skim_binary(data, limits)
    else:
        return None
    return None if found is None else (fmt, found)


PhpSpan = tuple[int, int, int]
"""A PHP variable's value: ``(start, end, depth it renders at)``."""


def skimmed_entries(
    skim: Skim,
    fmt: ValueFormat,
    spans: list[tuple[str, PhpSpan]],
    limits: Limits,
    names: Collection[str],
    bookkeeping: Collection[str] = (),
) -> dict[str, Decoded] | None:
    """:func:`light_entries` over PHP spans: ``names`` decoded, and where a host may be.

    ``None`` (decode in full) when one of those holds a back-reference.
    """
    data = skim.skimmer.data
    may_hold_host = skim.may_hold_host
    stands_alone = skim.stands_alone
    chosen = []
    for name, (start, end, _) in spans:
        pick = name in names or (
            name not in bookkeeping and (names_host(name) or may_hold_host(start, end))
        )
        if pick and not stands_alone(start, end):
            return None
        chosen.append(pick)
    return chosen_entries(
        spans,
        fmt,
        chosen,
        lambda span: decode_part(data, span[0], span[1], limits, span[2]),
    )


class PhpRedis(Adapter):
    """phpredis ``session.save_handler = redis`` (and ``rediscluster``)."""

    name = "php"
    title = "PHP phpredis sessions (php, php_serialize, php_binary, igbinary, msgpack)"
    prefixes = ("PHPREDIS_SESSION:", "PHPREDIS_CLUSTER_SESSION:")
    id_pattern = _ID
    ttl_rule = TtlRule(TtlKind.KEY, "session.gc_maxlifetime (1440 s), set on each write")
    cookie_name = "PHPSESSID"

    def sniff(self, first: bytes) -> bool | None:
        return sniff_php(first)

    def match_key(self, key: str) -> KeyMatch | None:
        for prefix in self.match_order:
            if key.startswith(prefix):
                rest = key[len(prefix) :]
                if rest.endswith("_LOCK") and _ID.fullmatch(rest[:-5]):
                    return KeyMatch(self.name, KeyKind.HELPER, rest[:-5], prefix)
                if _ID.fullmatch(rest):
                    return KeyMatch(self.name, KeyKind.SESSION, rest, prefix)
        return None

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        entries = entries_of(value)
        return self.session(
            record,
            match,
            entries,
            value=value,
            principal=php_principal(dict(entries)),
            variant=VARIANTS.get(value.format),
        )

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        data = record.value or b""
        bounds = limits or DEFAULT_LIMITS
        if data[:1] and data[0] in _MSGPACK_MAPS:
            packed = skim_msgpack_map(data, bounds)
            found = None if packed is None else msgpack_entries(packed, bounds, PRINCIPALS, ())
            if found is None:
                return None
            return self.light_session(
                record,
                match,
                found,
                ValueFormat.MSGPACK,
                principal=php_principal(dict(found)),
                variant=VARIANTS[ValueFormat.MSGPACK],
            )
        if data[:3] == b"\x00\x00\x00":
            return self._light_igbinary(record, match, data, bounds)
        skimmed = skim_php(data, bounds)
        if skimmed is None:
            return None
        fmt, skim = skimmed
        entries = skimmed_entries(
            skim,
            fmt,
            [(name, (start, end, 1)) for name, start, end in skim.spans],
            bounds,
            PRINCIPALS,
        )
        if entries is None:
            return None
        return self.light_session(
            record,
            match,
            entries,
            fmt,
            principal=php_principal(dict(entries)),
            variant=VARIANTS.get(fmt),
        )

    def _light_igbinary(
        self, record: RawRecord, match: KeyMatch, data: bytes, limits: Limits
    ) -> FrameworkSession | None:
        skim = skim_igbinary(data, limits)
        if skim is None:
            return None

        chosen = []
        for name, (start, end, _, _) in skim.entries:
            pick = name in PRINCIPALS or names_host(name) or skim.may_hold_host(start, end)
            if pick and not skim.stands_alone(start, end):
                return None
            chosen.append(pick)
        entries = chosen_entries(
            skim.entries, ValueFormat.IGBINARY, chosen, lambda span: skim.decode(span, limits)
        )
        if entries is None:
            return None
        return self.light_session(
            record,
            match,
            entries,
            ValueFormat.IGBINARY,
            principal=php_principal(dict(entries)),
            variant=VARIANTS[ValueFormat.IGBINARY],
        )


ADAPTERS = (PhpRedis(),)
