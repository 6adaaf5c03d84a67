"""The sessions filter: a query of terms, matched on metadata first, on decoded values last.

A query is space-separated terms, all of which must match (quotes keep spaces
in one term: ``"blue widget"``). A term is plain text, or ``field:text`` for
one field only:

=================  =========================================================
``host:TEXT``      the host attribute or the container that served the session
``principal:TEXT`` the principal
``id:TEXT``        the session id
``attr:TEXT``      an attribute name
``ns:TEXT``        the namespace (or the framework, for other frameworks)
``value:TEXT``     the decoded text of an attribute value only
plain ``TEXT``     any of the above, values included
=================  =========================================================

Matching is case-insensitive substring matching. A prefix that names no field
(``http://x``, ``203.0.113.7:8080``) leaves the term plain text.

The metadata terms are answered from a list's row alone
(:meth:`Query.metadata_verdict`); a term that may be satisfied only by a value
needs the session read in full and its values decoded (:func:`session_text`,
:func:`framework_text`), which a caller does off its UI thread.

Pure: no Redis, no Textual.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Protocol

from inspector.core.frameworks.base import FrameworkSession
from inspector.core.session import Session
from inspector.core.spring import ATTRIBUTE_PREFIX
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
)

__all__ = [
    "Field",
    "Metadata",
    "Query",
    "Term",
    "decoded_text",
    "framework_text",
    "names_text",
    "parse_query",
    "session_text",
]

MAX_TEXT_CHARS = 8 << 20
"""Characters of decoded text searched per session (the session's value budget bounds it too)."""


class Field(StrEnum):
    """What one term looks in."""

    ANY = "any"
    HOST = "host"
    PRINCIPAL = "principal"
    ID = "id"
    ATTR = "attr"
    NAMESPACE = "ns"
    VALUE = "value"


_PREFIXES = {
    "host": Field.HOST,
    "container": Field.HOST,
    "principal": Field.PRINCIPAL,
    "user": Field.PRINCIPAL,
    "id": Field.ID,
    "attr": Field.ATTR,
    "attribute": Field.ATTR,
    "ns": Field.NAMESPACE,
    "namespace": Field.NAMESPACE,
    "value": Field.VALUE,
}


@dataclass(frozen=True, slots=True)
class Term:
    """One condition: ``text`` (lower-cased) in ``field``."""

    field: Field
    text: str


class Metadata(Protocol):
    """What a list row knows of a session (the TUI's rows are these)."""

    @property
    def key(self) -> str:
        """The session's key (its id and namespace in it)."""
        ...

    @property
    def id(self) -> str:
        """The session id."""
        ...

    @property
    def namespace(self) -> str:
        """The namespace, or the framework for other frameworks' sessions."""
        ...

    @property
    def host(self) -> str | None:
        """The host attribute."""
        ...

    @property
    def served_by(self) -> str | None:
        """The container that served the session's last request, when known."""
        ...

    @property
    def principal(self) -> str | None:
        """The principal."""
        ...

    @property
    def search(self) -> str:
        """Attribute names, lower-cased, one per line (:func:`names_text`)."""
        ...


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed filter: every term must match."""

    terms: tuple[Term, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)

    @property
    def needs_values(self) -> bool:
        """Whether some term can be satisfied by a value (so sessions may need a full read)."""
        return any(term.field in (Field.ANY, Field.VALUE) for term in self.terms)

    def metadata_verdict(self, meta: Metadata) -> bool | None:
        """``True``/``False`` when the metadata decides; ``None`` when values must be searched."""
        verdict: bool | None = True
        for term in self.terms:
            found = _in_metadata(term, meta)
            if found is False:
                return False
            if found is None:
                verdict = None
        return verdict

    def matches(self, meta: Metadata, values: str) -> bool:
        """Whether every term matches the metadata or ``values`` (from :func:`session_text`)."""
        for term in self.terms:
            found = _in_metadata(term, meta)
            if found is False:
                return False
            if found is None and term.text not in values:
                return False
        return True


def _in_host(text: str, meta: Metadata) -> bool:
    host, served_by = meta.host, meta.served_by
    return (host is not None and text in host.lower()) or (
        served_by is not None and text in served_by.lower()
    )


def _in_metadata(term: Term, meta: Metadata) -> bool | None:
    """Whether the metadata satisfies ``term``; ``None``: only a value can tell."""
    text = term.text
    field = term.field
    if field is Field.ANY:
        principal = meta.principal
        if (
            text in meta.key.lower()  # the id and the namespace
            or _in_host(text, meta)
            or (principal is not None and text in principal.lower())
            or text in meta.search
        ):
            return True
        return None
    if field is Field.HOST:
        return _in_host(text, meta)
    if field is Field.PRINCIPAL:
        principal = meta.principal
        return principal is not None and text in principal.lower()
    if field is Field.ID:
        return text in meta.id.lower()
    if field is Field.ATTR:
        return text in meta.search
    if field is Field.NAMESPACE:
        return text in meta.namespace.lower()
    return None  # Field.VALUE


@lru_cache(maxsize=64)
def parse_query(text: str) -> Query:
    """Terms of a filter as typed (cached: a view computation asks once per row).

    Never raises: an unbalanced quote is taken literally.
    """
    lowered = text.strip().lower()
    if not lowered:
        return Query(())
    try:
        words = shlex.split(lowered)
    except ValueError:
        words = lowered.split()
    terms: list[Term] = []
    for word in words:
        prefix, colon, rest = word.partition(":")
        field = _PREFIXES.get(prefix) if colon else None
        if field is not None and rest:
            terms.append(Term(field, rest))
        elif word and not (field is not None and not rest):
            terms.append(Term(Field.ANY, word))
        # "host:" alone (still being typed) narrows nothing yet.
    return Query(tuple(terms))


_RESERVED = frozenset({CLASS, DATA, ENTRIES, EPOCH_MILLIS, HEX, ITEMS, REF, VALUE})
"""Typed JSON's own keys: not the application's text (``@class`` would match everything)."""


def _scalars(value: JsonValue) -> Iterator[str]:
    """Every key and scalar of a typed-JSON value, iteratively (hostile depth is fine)."""
    stack: list[JsonValue] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if key not in _RESERVED:
                    yield key
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif item is None:
            continue
        elif isinstance(item, str):
            yield item
        else:
            yield str(item).lower() if isinstance(item, bool) else str(item)


def decoded_text(decoded: Decoded, raw: bytes | None = None) -> str:
    """The searchable text of one decoded value: its class, keys and scalars, lower-cased.

    A value that did not decode (binary, undecodable) is searched in its raw
    bytes (``raw``, read as UTF-8 with replacements) or its preview.
    """
    parts: list[str] = []
    if decoded.java_class:
        parts.append(decoded.java_class)
    if decoded.format in (ValueFormat.BINARY, ValueFormat.UNDECODABLE):
        if raw is not None:
            parts.append(raw[:MAX_TEXT_CHARS].decode("utf-8", "replace"))
        elif decoded.preview:
            parts.append(decoded.preview)
    else:
        size = 0
        for text in _scalars(decoded.value):
            parts.append(text)
            size += len(text)
            if size > MAX_TEXT_CHARS:
                break
    return "\n".join(parts).lower()


def session_text(session: Session) -> str:
    """The decoded text of every attribute of a Spring session, one block per attribute."""
    fields = session.raw.fields
    return "\n".join(
        decoded_text(decoded, fields.get(ATTRIBUTE_PREFIX + name))
        for name, decoded in session.attributes()
    )


def framework_text(session: FrameworkSession) -> str:
    """The decoded text of another framework's session: its attributes and bookkeeping."""
    values: Iterable[Decoded] = (*session.attributes.values(), *session.bookkeeping.values())
    parts = [decoded_text(decoded) for decoded in values]
    if not parts and session.value is not None:
        parts.append(decoded_text(session.value))
    return "\n".join(parts)


def names_text(names: Iterable[str]) -> str:
    """Attribute names as :attr:`Metadata.search` holds them: lower-cased, one per line."""
    return "\n".join(names).lower()
