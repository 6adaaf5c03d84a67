"""A session store that writes exactly what Spring Session writes.

Two layouts (``shared/reference/session-formats.md`` §1.3-1.5, §2.3):

* ``indexed`` — Spring Session 2.x ``RedisIndexedSessionRepository`` with
  ``GenericJackson2JsonRedisSerializer`` (the article's app): the hash
  ``<ns>:sessions:<id>`` with JSON values, ``EXPIRE`` interval+300, the empty
  shadow key ``<ns>:sessions:expires:<id>`` with TTL = interval, the minute set
  ``<ns>:expirations:<ms>`` holding the JSON-quoted member ``"expires:<id>"``,
  and the created event published on ``<ns>:event:<db>:created:<id>``.
* ``spring3`` — Spring Session 3's default ``RedisSessionRepository``: the hash
  and a ``PEXPIREAT`` at the expiry, nothing else.

Only changed fields are written per request, as Spring's delta does. Every key
is written with its own command (no multi-key commands), so a cluster works.
Sessions written by a real Spring app with the same serializer are read back.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from inspector.core.session import Session, SessionState
from inspector.core.spring import (
    ATTRIBUTE_PREFIX,
    CREATION_TIME,
    DEFAULT_NAMESPACE,
    LAST_ACCESSED_TIME,
    MAX_INACTIVE_INTERVAL,
    expiration_bucket,
    is_session_id,
    json_member,
    minute_set_key,
    normalize_namespace,
    session_key,
    shadow_key,
)
from inspector.redis_io.client import RedisClient
from inspector.redis_io.discovery import read_raw_sessions
from inspector.redis_io.pipeline import run_pipeline

__all__ = [
    "DEFAULT_INTERVAL",
    "SAMPLE_ATTRIBUTE",
    "SAMPLE_SESSION_CLASS",
    "Layout",
    "SpringSessionStore",
    "StoredSession",
    "sample_session_json",
]

DEFAULT_INTERVAL = 1800
"""Spring's default maxInactiveInterval, in seconds."""
SAMPLE_SESSION_CLASS = "org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession"
SAMPLE_ATTRIBUTE = "scopedTarget.sampleSession"
# What Spring 2.1 publishes for a new session: the delta map, already emptied
# (a bug fixed in 3.0), serialized by the same Jackson serializer.
CREATED_EVENT_BODY = b'{"@class":"java.util.HashMap"}'


class Layout(StrEnum):
    """Which Spring Session repository the store imitates."""

    INDEXED = "indexed"
    SPRING3 = "spring3"


def sample_session_json(host: str | None, updated_ms: int) -> bytes:
    """The seed app's ``SampleSession`` as Jackson's default typing writes it, byte for byte.

    ``host=None`` is the same bean without its host field: what an app that
    records nothing about the instance that served it stores
    (``sample-app --no-host-attribute``).
    """
    # Key order and compact separators as Jackson writes them; the host goes
    # through a JSON encoder so any name stays valid JSON.
    head = b'{"@class":"' + SAMPLE_SESSION_CLASS.encode() + b'"'
    if host is not None:
        head += b',"host":' + orjson.dumps(host)
    return head + b',"lastUpdatedAt":["java.util.Date",' + str(updated_ms).encode() + b"]}"


@dataclass(slots=True)
class StoredSession:
    """A session as the app sees it during one request."""

    id: str
    creation_time: int
    last_accessed_time: int
    max_inactive_interval: int
    attributes: dict[str, bytes] = field(default_factory=dict)
    """Attribute name -> serialized value (JSON bytes)."""
    is_new: bool = False
    changed: set[str] = field(default_factory=set)
    """Hash fields to write on save (Spring's delta)."""
    filed_under: int | None = None
    """The minute set (epoch ms) Redis files the session under as last loaded or
    saved (indexed layout); ``None`` when it is in none yet. Save moves it out
    when the expiry changes minute, as Spring's expiration policy does."""

    def set_attribute(self, name: str, value: bytes) -> None:
        """Set an attribute; it is written on the next save."""
        self.attributes[name] = value
        self.changed.add(ATTRIBUTE_PREFIX + name)


class SpringSessionStore:
    """Loads and saves sessions in Spring Session's Redis layout.

    Args:
        client: A connected standalone or cluster client.
        namespace: ``spring:session`` by default.
        layout: ``indexed`` (Spring Session 2.x, the default) or ``spring3``.
        db: Database number, part of the created-event channel name.
        interval: maxInactiveInterval for new sessions, in seconds.
        clock: Epoch seconds (tests pass a fixed one).
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        layout: Layout = Layout.INDEXED,
        db: int = 0,
        interval: int = DEFAULT_INTERVAL,
        clock: Any = time.time,
    ) -> None:
        self.client = client
        self.namespace = normalize_namespace(namespace)
        self.layout = layout
        self.db = db
        self.interval = interval
        self.clock = clock

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ---------------------------------------------------------------- reading

    async def load(self, session_id: str) -> StoredSession | None:
        """The live session with this id, or ``None`` (unknown, expired, invalidated).

        Reads what a real Spring app wrote too: JSON numbers or JDK-serialized
        metadata, any attributes (kept as the bytes they are).
        """
        # Ids come from a cookie: refuse, before building a key from it, any
        # id whose key would not be read back as this session's hash.
        if not is_session_id(session_id):
            return None
        key = session_key(self.namespace, session_id)
        found = await read_raw_sessions(self.client, [(key, self.namespace, session_id)])
        if not found:
            return None
        session = Session.from_raw(found[0])
        if session.state in (SessionState.EXPIRED, SessionState.INVALIDATED):
            return None
        if session.creation_time is None or session.last_accessed_time is None:
            return None  # Spring's mapper refuses such a hash too
        interval = session.max_inactive_interval or self.interval
        return StoredSession(
            id=session_id,
            creation_time=session.creation_time,
            last_accessed_time=session.last_accessed_time,
            max_inactive_interval=interval,
            attributes={
                name[len(ATTRIBUTE_PREFIX) :]: value
                for name, value in found[0].fields.items()
                if name.startswith(ATTRIBUTE_PREFIX) and value
            },
            filed_under=(
                expiration_bucket(session.last_accessed_time, interval)
                if self.layout is Layout.INDEXED
                else None
            ),
        )

    def create(self, session_id: str | None = None) -> StoredSession:
        """A new session (not stored until :meth:`save`).

        Args:
            session_id: A fixed id (the demo's seed); a random UUID, as Spring's
                default generator makes, when ``None``.
        """
        now = self._now_ms()
        return StoredSession(
            id=session_id or str(uuid.UUID(bytes=secrets.token_bytes(16), version=4)),
            creation_time=now,
            last_accessed_time=now,
            max_inactive_interval=self.interval,
            is_new=True,
            changed={CREATION_TIME, LAST_ACCESSED_TIME, MAX_INACTIVE_INTERVAL},
        )

    def touch(self, session: StoredSession) -> None:
        """Record an access now, as Spring does for every request that gets the session."""
        session.last_accessed_time = self._now_ms()
        session.changed.add(LAST_ACCESSED_TIME)

    # ---------------------------------------------------------------- writing

    async def save(self, session: StoredSession) -> None:
        """Write the delta and the layout's expiry bookkeeping, as Spring's save does."""
        key = session_key(self.namespace, session.id).encode()
        fields: list[bytes] = []
        for name in sorted(session.changed):
            fields.append(name.encode())
            fields.append(self._field_value(session, name))
        commands: list[tuple[bytes, ...]] = []
        if fields:
            commands.append((b"HSET", key, *fields))
        interval = session.max_inactive_interval
        if self.layout is Layout.SPRING3:
            expires_ms = session.last_accessed_time + interval * 1000
            commands.append((b"PEXPIREAT", key, str(expires_ms).encode()))
        else:
            commands.extend(self._indexed_expiry(session, key))
            if session.is_new:
                channel = f"{self.namespace}:event:{self.db}:created:{session.id}".encode()
                commands.append((b"PUBLISH", channel, CREATED_EVENT_BODY))
        await run_pipeline(self.client, commands)
        session.changed.clear()
        session.is_new = False
        if self.layout is Layout.INDEXED:
            session.filed_under = expiration_bucket(session.last_accessed_time, interval)

    def _field_value(self, session: StoredSession, name: str) -> bytes:
        if name == CREATION_TIME:
            return str(session.creation_time).encode()
        if name == LAST_ACCESSED_TIME:
            return str(session.last_accessed_time).encode()
        if name == MAX_INACTIVE_INTERVAL:
            return str(session.max_inactive_interval).encode()
        return session.attributes.get(name[len(ATTRIBUTE_PREFIX) :], b"")

    def _indexed_expiry(self, session: StoredSession, key: bytes) -> list[tuple[bytes, ...]]:
        interval = session.max_inactive_interval
        shadow = shadow_key(self.namespace, session.id).encode()
        # The JSON string form: Spring writes set members with the session's
        # value serializer, Jackson's here.
        member = json_member(f"expires:{session.id}")
        bucket = expiration_bucket(session.last_accessed_time, interval)
        commands: list[tuple[bytes, ...]] = []
        if session.filed_under is not None and session.filed_under != bucket:
            commands.append((b"SREM", self._bucket_key(session.filed_under), member))
        keep = str(interval + 300).encode()
        commands.append((b"SADD", self._bucket_key(bucket), member))
        commands.append((b"EXPIRE", self._bucket_key(bucket), keep))
        if interval == 0:
            commands.append((b"DEL", shadow))
        else:
            # APPEND "" creates the empty shadow key without touching an existing one.
            commands.append((b"APPEND", shadow, b""))
            commands.append((b"EXPIRE", shadow, str(interval).encode()))
        commands.append((b"EXPIRE", key, keep))
        return commands

    def _bucket_key(self, bucket: int) -> bytes:
        return minute_set_key(self.namespace, bucket).encode()

    async def invalidate(self, session: StoredSession) -> None:
        """End a session as Spring does.

        Indexed: the shadow key is deleted and ``maxInactiveInterval`` set to 0,
        so the hash lingers 300 s (Spring needs it to publish the destroyed
        event). Spring 3 default repository: the hash is deleted.
        """
        if self.layout is Layout.SPRING3:
            await run_pipeline(
                self.client, [(b"DEL", session_key(self.namespace, session.id).encode())]
            )
            return
        session.max_inactive_interval = 0
        session.changed.add(MAX_INACTIVE_INTERVAL)
        # One round trip: the expiry moves to another minute, so the save's own
        # pipeline also takes the session out of the minute set it was in.
        await self.save(session)
