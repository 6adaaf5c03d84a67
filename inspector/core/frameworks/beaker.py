"""Beaker's Redis namespace manager (``beaker.ext.redisnm``): ``beaker_cache:<id>:session``.

Beaker serialises the session dict (pickle protocol 2, or zlib-compressed JSON
with ``data_serializer="json"``), base64-encodes it, and the namespace manager
pickles that again; the codecs unwrap all three layers. ``_creation_time`` and
``_accessed_time`` (unix seconds) are Beaker's. The TTL is the session
``timeout`` when one is configured.
"""

from __future__ import annotations

import re

from inspector.core.decoders import _unbase64
from inspector.core.decoders.pickle_skim import skim_pickle
from inspector.core.decoders.pickles import PickleError, looks_like_pickle, read_pickle
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
    epoch_ms,
    light_value,
    split_signed,
    text_of,
)
from inspector.core.frameworks.django import pickled_entries
from inspector.core.values import DEFAULT_LIMITS, Decoded, Limits, ValueFormat

_PRINCIPALS = ("user_id", "username", "user", "REMOTE_USER")
_TIMES = ("_creation_time", "_accessed_time")

__all__ = ["ADAPTERS", "BeakerSession"]


class BeakerSession(Adapter):
    """Beaker sessions in Redis."""

    name = "beaker"
    title = "Beaker (beaker.ext.redisnm)"
    prefixes = ("beaker_cache:",)
    ttl_rule = TtlRule(TtlKind.NONE, "the session timeout when configured, else none")
    bookkeeping_names = frozenset(
        {"_creation_time", "_accessed_time", "_expires", "_domain", "_path"}
    )
    cookie_name = "beaker.session.id"
    _id = re.compile(r"[0-9a-f]{32}|[A-Za-z0-9_-]{16,128}")

    def sniff(self, first: bytes) -> bool | None:
        return first.startswith(b"\x80")

    def match_key(self, key: str) -> KeyMatch | None:
        for prefix in self.match_order:
            if key.startswith(prefix) and key.endswith(":session"):
                session_id = key[len(prefix) : -len(":session")]
                if self._id.fullmatch(session_id):
                    return KeyMatch(self.name, KeyKind.SESSION, session_id, prefix)
        return None

    def key_for(self, session_id: str, prefix: str | None = None) -> str:
        return f"{prefix if prefix is not None else self.prefixes[0]}{session_id}:session"

    def ids_from_cookie(self, cookie: str) -> list[str]:
        text = cookie.strip()
        # A signed cookie is 40 hex digits of HMAC-SHA1, then the id.
        if len(text) > 40 and re.fullmatch(r"[0-9a-f]{40}", text[:40]):
            return [text[40:], text]
        return [text, split_signed(text)] if "." in text else [text]

    def parse(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession:
        value = decode(record, limits)
        entries = entries_of(value)
        variant = "json" if "zlib" in value.layers else "pickle"
        return self._session(record, match, entries, value, variant)

    def parse_light(
        self, record: RawRecord, match: KeyMatch, limits: Limits | None = None
    ) -> FrameworkSession | None:
        # The pickle of base64 of a pickled session: the outer pickle (one string) is
        # read in full, the session skimmed. Beaker's JSON (zlib) is read in full.
        data = record.value or b""
        bounds = limits or DEFAULT_LIMITS
        if looks_like_pickle(data) in (None, 0, 1):
            return None
        payload = _bytes_pickle(data)
        if payload is None:
            try:
                payload = read_pickle(data).payload()
            except PickleError:
                return None
        inner = None if payload is None else _unbase64(payload)
        if inner is None or looks_like_pickle(inner) in (None, 0, 1):
            return None
        skim = skim_pickle(inner, bounds)
        entries = (
            None
            if skim is None
            else pickled_entries(skim, bounds, (*_PRINCIPALS, *_TIMES), self.bookkeeping_names)
        )
        if entries is None:
            return None
        value = light_value(ValueFormat.PICKLE, data, ("pickle", "base64"))
        return self._session(record, match, entries, value, "pickle", light=True)

    def _session(
        self,
        record: RawRecord,
        match: KeyMatch,
        entries: dict[str, Decoded],
        value: Decoded,
        variant: str,
        *,
        light: bool = False,
    ) -> FrameworkSession:
        principal = None
        for name in _PRINCIPALS:
            found = text_of(entries[name].value) if name in entries else None
            if found:
                principal = (found, name)
                break
        return self.session(
            record,
            match,
            entries,
            value=value,
            created_ms=epoch_ms(entries["_creation_time"].value)
            if "_creation_time" in entries
            else None,
            last_access_ms=epoch_ms(entries["_accessed_time"].value)
            if "_accessed_time" in entries
            else None,
            principal=principal,
            variant=variant,
            light=light,
        )


def _bytes_pickle(data: bytes) -> bytes | None:
    """The bytes a protocol 3+ pickle of one ``bytes`` holds, without the opcode reader.

    redisnm's ``pickle.dumps`` of Beaker's base64; ``None``: another shape. Exactly
    ``PROTO``, an optional ``FRAME``, ``SHORT_BINBYTES`` or ``BINBYTES``, an optional
    ``MEMOIZE`` or ``BINPUT``, ``STOP``: what the full reader reads to the same payload.
    """
    pos = 2 + 9 * (data[2:3] == b"\x95")
    op = data[pos : pos + 1]
    if op == b"C":
        length, pos = data[pos + 1], pos + 2
    elif op == b"B" and len(data) >= pos + 5:
        length, pos = int.from_bytes(data[pos + 1 : pos + 5], "little"), pos + 5
    else:
        return None
    payload = data[pos : pos + length]
    pos += length
    if data[pos : pos + 1] == b"\x94":
        pos += 1
    elif data[pos : pos + 1] == b"q":
        pos += 2
    return payload if len(payload) == length and data[pos:] == b"." else None


ADAPTERS = (BeakerSession(),)
