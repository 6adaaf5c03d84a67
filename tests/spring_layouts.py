"""Write sessions into a real Redis exactly as each Spring Session layout does.

Used by the discovery and command tests (standalone and cluster). Byte forms
follow shared/reference/session-formats.md §1-2; JDK-serialized attributes come
from tests/data/jvm (produced by a real JVM).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis

from inspector.core.decoders import JDK_INTEGER_PREFIX, JDK_LONG_PREFIX
from inspector.core.spring import (
    DEFAULT_NAMESPACE,
    PRINCIPAL_INDEX_ATTRIBUTE,
    expiration_bucket,
    json_member,
    minute_set_key,
    session_key,
    shadow_key,
)
from inspector.sample_app.store import DEFAULT_INTERVAL, SAMPLE_ATTRIBUTE, sample_session_json

JVM = Path(__file__).parent / "data" / "jvm"
"""tests/data/jvm: bytes a real JVM wrote (``bin/``), Jackson output (``jackson/``), manifest."""


def jdk_long(value: int) -> bytes:
    return JDK_LONG_PREFIX + value.to_bytes(8, "big", signed=True)


def jdk_int(value: int) -> bytes:
    return JDK_INTEGER_PREFIX + value.to_bytes(4, "big", signed=True)


def jdk_string(text: str) -> bytes:
    data = text.encode()
    return b"\xac\xed\x00\x05t" + len(data).to_bytes(2, "big") + data


def jvm_fixture(name: str) -> bytes:
    """Bytes a real JVM wrote (tests/data/jvm/bin/<name>.bin)."""
    return (JVM / "bin" / f"{name}.bin").read_bytes()


@dataclass
class Expected:
    """What `ls --json` must report for one written session."""

    id: str
    namespace: str
    state: str
    host: str | None
    principal: str | None = None
    attributes: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    layout: str = "indexed"


def _sid() -> str:
    return str(uuid.uuid4())


def _indexed(
    client: redis.Redis | redis.RedisCluster,
    namespace: str,
    sid: str,
    fields: dict[str, bytes],
    *,
    last_access: int,
    interval: int,
    member: bytes,
) -> None:
    """What Spring's indexed repository does on save (session-formats §1.4)."""
    key = session_key(namespace, sid)
    client.hset(key, mapping=fields)  # type: ignore[arg-type]
    client.set(shadow_key(namespace, sid), b"", ex=interval)
    client.expire(key, interval + 300)
    bucket = minute_set_key(namespace, expiration_bucket(last_access, interval))
    client.sadd(bucket, member)
    client.expire(bucket, interval + 300)


def write_request(
    client: redis.Redis | redis.RedisCluster,
    sid: str,
    host: str,
    now_ms: int | None = None,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    created_ms: int | None = None,
    interval: int = DEFAULT_INTERVAL,
    sample: bytes | None = None,
) -> int:
    """What one request served by *host* writes, as the sample app's Spring Session does.

    The indexed layout with Jackson values (``inspector/sample_app/store.py``):
    the hash (metadata and the ``SampleSession`` attribute) with ``EXPIRE``
    interval + 300, the empty shadow key with TTL = interval, and the JSON-quoted
    member ``"expires:<id>"`` in the session's minute set (``EXPIRE`` interval +
    300). All fields are written, every time; the member is not taken out of an
    earlier minute set. Works on a pipeline too (a ``Redis`` subclass).

    Args:
        client: Where to write (a standalone or cluster client, or a pipeline).
        sid: The session id.
        host: The container that served the request (the attribute's ``host``).
        now_ms: When the request happened (``lastAccessedTime``); now when ``None``.
        namespace: The key namespace, ``spring:session`` by default.
        created_ms: ``creationTime``; ``now_ms`` when ``None`` (a new session).
        interval: ``maxInactiveInterval`` in seconds.
        sample: The attribute's bytes, instead of ``sample_session_json(host, now_ms)``
            (e.g. what a real Spring app wrote).

    Returns:
        The ``lastAccessedTime`` written (epoch ms).
    """
    now = int(time.time() * 1000) if now_ms is None else now_ms
    _indexed(
        client, namespace, sid,
        {
            "creationTime": str(now if created_ms is None else created_ms).encode(),
            "lastAccessedTime": str(now).encode(),
            "maxInactiveInterval": str(interval).encode(),
            f"sessionAttr:{SAMPLE_ATTRIBUTE}": (
                sample_session_json(host, now) if sample is None else sample
            ),
        },
        last_access=now, interval=interval, member=json_member(f"expires:{sid}"),
    )  # fmt: skip
    return now


def write_session_hash(client: redis.Redis | redis.RedisCluster, sid: str) -> str:
    """A session hash alone, as Spring writes one (container-1's sample attribute),
    without a TTL, a shadow key or an index; returns its key."""
    now = int(time.time() * 1000)
    key = f"{DEFAULT_NAMESPACE}:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now).encode(),
        "lastAccessedTime": str(now).encode(),
        "maxInactiveInterval": b"1800",
        f"sessionAttr:{SAMPLE_ATTRIBUTE}": sample_session_json("container-1", now),
    })  # fmt: skip
    return key


EXPRESS_ID = "Q2VvQ2VvQ2VvQ2VvQ2Vv"
EXPRESS_KEY = f"sess:{EXPRESS_ID}"


def write_layouts(client: redis.Redis | redis.RedisCluster, now_ms: int) -> list[Expected]:
    """Write one session per layout, plus decoys; return what must be listed."""
    expected: list[Expected] = []
    attr = "sessionAttr:scopedTarget.sampleSession"

    # 1. Spring Session 2.x indexed + GenericJackson2JsonRedisSerializer (the article).
    sid = _sid()
    _indexed(
        client, "spring:session", sid,
        {
            "creationTime": str(now_ms - 60_000).encode(),
            "lastAccessedTime": str(now_ms - 1_000).encode(),
            "maxInactiveInterval": b"1800",
            attr: sample_session_json("container-1", now_ms - 1_000),
        },
        last_access=now_ms - 1_000, interval=1800, member=json.dumps(f"expires:{sid}").encode(),
    )  # fmt: skip
    expected.append(Expected(sid, "spring:session", "active", "container-1",
                             attributes=["scopedTarget.sampleSession"]))  # fmt: skip

    # 2. 2.x indexed with the default JDK serializer, logged in (principal index).
    sid = _sid()
    _indexed(
        client, "spring:session", sid,
        {
            "creationTime": jdk_long(now_ms - 120_000),
            "lastAccessedTime": jdk_long(now_ms - 2_000),
            "maxInactiveInterval": jdk_int(1800),
            attr: jvm_fixture("sample_session"),
            "sessionAttr:SPRING_SECURITY_CONTEXT": jvm_fixture("security_context"),
            f"sessionAttr:{PRINCIPAL_INDEX_ATTRIBUTE}": jdk_string("alice"),
        },
        last_access=now_ms - 2_000, interval=1800, member=jdk_string(f"expires:{sid}"),
    )  # fmt: skip
    client.sadd(f"spring:session:index:{PRINCIPAL_INDEX_ATTRIBUTE}:alice", jdk_string(sid))
    expected.append(
        Expected(sid, "spring:session", "active", "c95883d5424d", principal="alice",
                 attributes=["scopedTarget.sampleSession", "SPRING_SECURITY_CONTEXT",
                             PRINCIPAL_INDEX_ATTRIBUTE])
    )  # fmt: skip

    # 3. Spring Session 3.x default repository: one hash, EXPIREAT, nothing else.
    sid = _sid()
    key = f"spring:session:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now_ms - 5_000).encode(),
        "lastAccessedTime": str(now_ms - 3_000).encode(),
        "maxInactiveInterval": b"1800",
        attr: sample_session_json("container-2", now_ms - 3_000),
    })  # fmt: skip
    client.pexpireat(key, now_ms - 3_000 + 1_800_000)
    expected.append(Expected(sid, "spring:session", "active", "container-2", layout="default",
                             attributes=["scopedTarget.sampleSession"]))  # fmt: skip

    # 4. Invalidated (indexed): interval 0, shadow deleted, hash kept 300 s.
    sid = _sid()
    key = f"spring:session:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now_ms - 50_000).encode(),
        "lastAccessedTime": str(now_ms - 4_000).encode(),
        "maxInactiveInterval": b"0",
        attr: sample_session_json("container-2", now_ms - 4_000),
    })  # fmt: skip
    client.expire(key, 300)
    expected.append(Expected(sid, "spring:session", "invalidated", "container-2",
                             attributes=["scopedTarget.sampleSession"], layout="unknown"))  # fmt: skip

    # 5. A removed attribute leaves an empty value (tombstone).
    sid = _sid()
    _indexed(
        client, "spring:session", sid,
        {
            "creationTime": str(now_ms - 9_000).encode(),
            "lastAccessedTime": str(now_ms - 5_000).encode(),
            "maxInactiveInterval": b"1800",
            attr: sample_session_json("container-1", now_ms - 5_000),
            "sessionAttr:cart": b"",
        },
        last_access=now_ms - 5_000, interval=1800, member=json.dumps(f"expires:{sid}").encode(),
    )  # fmt: skip
    expected.append(Expected(sid, "spring:session", "active", "container-1",
                             attributes=["scopedTarget.sampleSession"], removed=["cart"]))  # fmt: skip

    # 6. A custom namespace (2.x+: it replaces spring:session).
    sid = _sid()
    _indexed(
        client, "myapp", sid,
        {
            "creationTime": str(now_ms - 7_000).encode(),
            "lastAccessedTime": str(now_ms - 6_000).encode(),
            "maxInactiveInterval": b"600",
            "sessionAttr:instance": b'"node-7"',
        },
        last_access=now_ms - 6_000, interval=600, member=json.dumps(f"expires:{sid}").encode(),
    )  # fmt: skip
    expected.append(Expected(sid, "myapp", "active", "node-7", attributes=["instance"]))

    # 7. Spring Session 1.x with a namespace inserted after spring:session.
    sid = _sid()
    _indexed(
        client, "spring:session:legacy", sid,
        {
            "creationTime": jdk_long(now_ms - 8_000),
            "lastAccessedTime": jdk_long(now_ms - 7_000),
            "maxInactiveInterval": jdk_int(1800),
            attr: jvm_fixture("sample_session"),
        },
        last_access=now_ms - 7_000, interval=1800, member=jdk_string(f"expires:{sid}"),
    )  # fmt: skip
    expected.append(Expected(sid, "spring:session:legacy", "active", "c95883d5424d",
                             attributes=["scopedTarget.sampleSession"]))  # fmt: skip

    # 8. Expired: past its expiry, shadow key gone, the hash still lingering.
    sid = _sid()
    key = f"spring:session:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now_ms - 2_000_000).encode(),
        "lastAccessedTime": str(now_ms - 1_900_000).encode(),
        "maxInactiveInterval": b"1800",
    })  # fmt: skip
    client.expire(key, 200)
    expected.append(Expected(sid, "spring:session", "expired", None, layout="indexed"))

    # 9. Never expires: negative interval, persistent hash and shadow.
    sid = _sid()
    key = f"spring:session:sessions:{sid}"
    client.hset(key, mapping={
        "creationTime": str(now_ms - 10_000).encode(),
        "lastAccessedTime": str(now_ms - 9_000).encode(),
        "maxInactiveInterval": b"-1",
    })  # fmt: skip
    client.set(f"spring:session:sessions:expires:{sid}", b"")
    expected.append(Expected(sid, "spring:session", "never-expires", None))

    # An express-session (connect-redis) session: listed as express's, never as Spring's.
    client.set(EXPRESS_KEY, b'{"cookie":{"originalMaxAge":86400000},"user":"x"}')
    # Decoys: none of these is a session.
    client.hset("user:42", mapping={"creationTime": b"1552128921707", "name": b"bob"})
    client.hset("reports:sessions:dailysummary", mapping={"creationTime": b"1"})
    client.zadd("spring:session:sessions:expirations", {expected[0].id: float(now_ms + 1_800_000)})
    client.sadd(f"spring:session:sessions:{expected[0].id}:idx", b"x")
    client.set("spring:session:sessions:notahash-12345678", b"a string")
    return expected
