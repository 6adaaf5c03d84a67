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

from inspector.core.decoders.msgpacked import looks_like_msgpack_map
from inspector.core.decoders.php import (
    IGBINARY_MAGIC,
    looks_like_php_serialized,
    looks_like_php_session,
)
from inspector.core.frameworks.base import (
    Adapter,
    FrameworkSession,
    KeyKind,
    KeyMatch,
    RawRecord,
    TtlKind,
    TtlRule,
    decode,
    entries_of,
    text_of,
)
from inspector.core.values import Limits, ValueFormat

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


ADAPTERS = (PhpRedis(),)
