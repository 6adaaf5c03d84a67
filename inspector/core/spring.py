"""Spring Session's Redis layout: key names, namespaces, ids, cookies, expiry buckets.

Pure rules, from ``shared/reference/session-formats.md`` §1. Keys are classified
by name first; the caller confirms with the Redis type (``TYPE``/``HMGET``)
because several helper keys share the ``<ns>sessions:`` prefix.

Layouts covered:

* 2.x+ (namespace replaces the prefix, default ``spring:session``):
  ``spring:session:sessions:<id>`` and its helpers;
* 1.1-1.3 with a namespace inserted: ``spring:session:<ns>:sessions:<id>``,
  which is simply the namespace ``spring:session:<ns>``;
* any other namespace (``myapp:sessions:<id>``), confirmed by the hash's fields.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from inspector.core.values import JAVA_MAGIC

__all__ = [
    "ATTRIBUTE_PREFIX",
    "CREATION_TIME",
    "DEFAULT_NAMESPACE",
    "LAST_ACCESSED_TIME",
    "MAX_INACTIVE_INTERVAL",
    "METADATA_FIELDS",
    "PRINCIPAL_INDEX_ATTRIBUTE",
    "SECURITY_CONTEXT_ATTRIBUTE",
    "KeyKind",
    "SpringKey",
    "classify_key",
    "expiration_bucket",
    "expirations_zset_key",
    "idx_key",
    "is_session_id",
    "is_uuid",
    "json_member",
    "member_forms",
    "minute_set_key",
    "normalize_namespace",
    "principal_index_keys",
    "session_id_from_input",
    "session_key",
    "shadow_key",
]

DEFAULT_NAMESPACE = "spring:session"
CREATION_TIME = "creationTime"
LAST_ACCESSED_TIME = "lastAccessedTime"
MAX_INACTIVE_INTERVAL = "maxInactiveInterval"
METADATA_FIELDS = (CREATION_TIME, LAST_ACCESSED_TIME, MAX_INACTIVE_INTERVAL)
ATTRIBUTE_PREFIX = "sessionAttr:"
SECURITY_CONTEXT_ATTRIBUTE = "SPRING_SECURITY_CONTEXT"
PRINCIPAL_INDEX_ATTRIBUTE = (
    "org.springframework.session.FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME"
)
_PRINCIPAL_INDEX_SEGMENT = f"index:{PRINCIPAL_INDEX_ATTRIBUTE}:"
_REACTIVE_PRINCIPAL_SEGMENT = "sessions:index:PRINCIPAL_NAME_INDEX_NAME:"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Custom id generators exist (Spring lets apps plug one in); accept URL-safe
# tokens, confirmed later by the hash's fields.
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{8,128}")
_MINUTE = re.compile(r"\d{10,16}")


class KeyKind(StrEnum):
    """What a key is in Spring Session's layout."""

    SESSION = "session"
    """``<ns>:sessions:<id>``: the session hash."""
    SHADOW = "shadow"
    """``<ns>:sessions:expires:<id>``: empty string whose TTL is the real expiry (indexed)."""
    MINUTE_SET = "minute-set"
    """``<ns>:expirations:<epoch ms>``: sessions expiring in that minute (indexed)."""
    EXPIRATIONS_ZSET = "expirations-zset"
    """``<ns>:sessions:expirations``: id -> expiry score (reactive indexed, 3.3+)."""
    PRINCIPAL_INDEX = "principal-index"
    """``<ns>:index:...PRINCIPAL_NAME_INDEX_NAME:<principal>``: ids of a user's sessions."""
    IDX_SET = "idx-set"
    """``<ns>:sessions:<id>:idx``: index keys a session belongs to (reactive indexed)."""


@dataclass(frozen=True, slots=True)
class SpringKey:
    """A key name recognised as part of Spring Session's layout."""

    kind: KeyKind
    namespace: str
    """Without the trailing colon, e.g. ``spring:session``."""
    session_id: str | None = None
    """For sessions, shadow keys and ``:idx`` sets."""
    principal: str | None = None
    """For principal index sets."""
    minute: int | None = None
    """Epoch ms of a minute set."""


def is_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID as Spring's default id generator writes it."""
    return _UUID.fullmatch(text) is not None


def normalize_namespace(namespace: str) -> str:
    """``spring:session:`` and ``spring:session`` are the same namespace."""
    return namespace.strip().rstrip(":")


def classify_key(name: str) -> SpringKey | None:
    """Recognise a key name of Spring Session's layout, in any namespace.

    Args:
        name: The key, decoded as UTF-8.

    Returns:
        What the name says the key is, or ``None`` for keys Spring does not write.
        Session candidates still need their type and fields checked.
    """
    index = name.rfind(_PRINCIPAL_INDEX_SEGMENT)
    if index > 0 and name[index - 1] == ":":
        principal = name[index + len(_PRINCIPAL_INDEX_SEGMENT) :]
        return SpringKey(KeyKind.PRINCIPAL_INDEX, name[: index - 1], principal=principal)
    index = name.rfind(_REACTIVE_PRINCIPAL_SEGMENT)
    if index > 0 and name[index - 1] == ":":
        principal = name[index + len(_REACTIVE_PRINCIPAL_SEGMENT) :]
        return SpringKey(KeyKind.PRINCIPAL_INDEX, name[: index - 1], principal=principal)
    namespace, found, rest = name.rpartition(":sessions:")
    if found and namespace:
        return _classify_sessions_key(namespace, rest)
    namespace, found, rest = name.rpartition(":expirations:")
    if found and namespace and _MINUTE.fullmatch(rest):
        return SpringKey(KeyKind.MINUTE_SET, namespace, minute=int(rest))
    return None


def _classify_sessions_key(namespace: str, rest: str) -> SpringKey | None:
    # rpartition found the last ":sessions:", so `rest` holds no further one.
    if rest.startswith("expires:"):
        session_id = rest[len("expires:") :]
        if is_session_id(session_id):
            return SpringKey(KeyKind.SHADOW, namespace, session_id=session_id)
        return None
    if rest == "expirations":
        return SpringKey(KeyKind.EXPIRATIONS_ZSET, namespace)
    if rest.endswith(":idx") and is_session_id(rest[:-4]):
        return SpringKey(KeyKind.IDX_SET, namespace, session_id=rest[:-4])
    if is_session_id(rest):
        return SpringKey(KeyKind.SESSION, namespace, session_id=rest)
    return None


def is_session_id(text: str) -> bool:
    """Whether ``text`` can be a session id: a UUID or a plain token, never a ``:``.

    What :func:`classify_key` accepts as the id in a key name, so a key built
    from an id that passes is read back as that session's.
    """
    return ":" not in text and (is_uuid(text) or _TOKEN.fullmatch(text) is not None)


def session_key(namespace: str, session_id: str) -> str:
    """``<namespace>:sessions:<id>``."""
    return f"{normalize_namespace(namespace)}:sessions:{session_id}"


def shadow_key(namespace: str, session_id: str) -> str:
    """``<namespace>:sessions:expires:<id>``, the indexed layout's expiry key."""
    return f"{normalize_namespace(namespace)}:sessions:expires:{session_id}"


def idx_key(namespace: str, session_id: str) -> str:
    """``<namespace>:sessions:<id>:idx``: the index keys a session is in (reactive indexed)."""
    return f"{normalize_namespace(namespace)}:sessions:{session_id}:idx"


def expirations_zset_key(namespace: str) -> str:
    """``<namespace>:sessions:expirations``: id -> expiry (reactive indexed, 3.3+)."""
    return f"{normalize_namespace(namespace)}:sessions:expirations"


def minute_set_key(namespace: str, minute_ms: int) -> str:
    """``<namespace>:expirations:<ms>``: the sessions expiring in that minute (indexed)."""
    return f"{normalize_namespace(namespace)}:expirations:{minute_ms}"


def principal_index_keys(namespace: str, principal: str) -> tuple[str, str]:
    """The principal's index sets: the servlet repository's, then the reactive one's."""
    base = normalize_namespace(namespace)
    return (
        f"{base}:{_PRINCIPAL_INDEX_SEGMENT}{principal}",
        f"{base}:{_REACTIVE_PRINCIPAL_SEGMENT}{principal}",
    )


def expiration_bucket(last_accessed_ms: int, interval_s: int) -> int:
    """The minute set an indexed session is filed under (``<ns>:expirations:<ms>``).

    Spring rounds ``lastAccessedTime + interval`` up to the next whole minute.
    """
    expires = last_accessed_ms + interval_s * 1000
    return (expires // 60_000 + 1) * 60_000


def member_forms(text: str) -> list[bytes]:
    """A set member as each serializer writes it: plain, JSON string, JDK String.

    Spring serializes index and expiration members with the session's value
    serializer, so removing one means trying every form it may have.
    """
    data = text.encode()
    jdk = JAVA_MAGIC + b"t" + len(data).to_bytes(2, "big") + data  # t: TC_STRING
    return [data, json_member(text), jdk]


def json_member(text: str) -> bytes:
    """A set member as Jackson's serializer writes it (a JSON string): ``"expires:<id>"``."""
    return json.dumps(text).encode()


def session_id_from_input(text: str) -> str:
    """Turn what a user pasted into a session id.

    Accepts a session id, a ``SESSION`` cookie value (Base64 of the id, as Spring
    Session 2+ writes it, padded or not, URL-safe or not), ``SESSION=<value>``,
    or a whole key name (``spring:session:sessions:<id>``).

    Args:
        text: The id, cookie or key.

    Returns:
        The session id (the input itself when it is not recognisably encoded).
    """
    value = text.strip()
    if value.upper().startswith("SESSION="):
        value = value.split("=", 1)[1].split(";", 1)[0].strip()
    classified = classify_key(value)
    if classified is not None and classified.session_id:
        return classified.session_id
    if is_uuid(value):
        return value
    decoded = _base64_text(value)
    if decoded is not None and is_session_id(decoded):
        return decoded
    return value


def _base64_text(value: str) -> str | None:
    padded = value + "=" * (-len(value) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            continue
        if text.isprintable():
            return text
    return None
