"""The only writes the product makes, each behind an explicit user request.

Deleting a session (the TUI's ``d``, allowed only with ``--allow-writes`` and
after a confirmation) removes what Spring Session itself removes on
invalidation, and a little more: the hash, the shadow key, the principal index
entries, the expiration entries (minute set and sorted set) and the ``:idx``
set. Members are removed in every form a serializer may have written them.
"""

from __future__ import annotations

from inspector.core.session import Session
from inspector.core.spring import (
    expiration_bucket,
    expirations_zset_key,
    idx_key,
    member_forms,
    minute_set_key,
    principal_index_keys,
    session_key,
    shadow_key,
)
from inspector.redis_io.client import RedisClient
from inspector.redis_io.pipeline import check_replies, run_pipeline

__all__ = ["delete_session"]


async def delete_session(client: RedisClient, session: Session) -> int:
    """Delete a session and its bookkeeping entries.

    Args:
        client: A connected client.
        session: The session as read (its namespace, principal and times say
            which index and expiration entries exist).

    Returns:
        How many keys and members were removed.

    Raises:
        Failure: A command was refused, e.g. NOPERM for a read-only ACL user
            (exit 4); what ran before it in the pipeline may have been removed.
    """
    namespace, sid = session.namespace, session.id
    ids = member_forms(sid)
    expires = member_forms(f"expires:{sid}")
    idx = idx_key(namespace, sid).encode()
    # Keys may live on different cluster nodes: one command per key, never a
    # multi-key command (CROSSSLOT).
    commands: list[tuple[bytes, ...]] = [
        (b"DEL", session_key(namespace, sid).encode()),
        (b"DEL", shadow_key(namespace, sid).encode()),
        (b"ZREM", expirations_zset_key(namespace).encode(), *ids),
    ]
    if session.principal:
        for index in principal_index_keys(namespace, session.principal):
            commands.append((b"SREM", index.encode(), *ids))
    if session.last_accessed_time is not None and session.max_inactive_interval:
        bucket = expiration_bucket(session.last_accessed_time, session.max_inactive_interval)
        commands.append((b"SREM", minute_set_key(namespace, bucket).encode(), *expires, *ids))
    read = [(b"SMEMBERS", idx)]
    (index_keys,) = replies = await run_pipeline(client, read)
    check_replies(client, read, replies, wrongtype_ok=True)
    if isinstance(index_keys, list):  # not WRONGTYPE
        for index_key in index_keys:
            commands.append((b"SREM", bytes(index_key), *ids))
    commands.append((b"DEL", idx))
    replies = await run_pipeline(client, commands)
    # WRONGTYPE: an index key that is not a set was not written by Spring and
    # is left alone; any other error (NOPERM) means the session was not deleted.
    check_replies(client, commands, replies, wrongtype_ok=True)
    return sum(reply for reply in replies if isinstance(reply, int))
