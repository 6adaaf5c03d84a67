"""How the feed finds requests: reading ``notify-keyspace-events``, and saying why.

Notifications are used when every primary publishes hash events. When the
setting has no hash events the feed polls (and says how to turn them on);
when CONFIG is refused (ElastiCache) it polls *and* listens, switching as soon
as a notification arrives; when subscribing is refused (an ACL without
pub/sub) it only polls. Each case is explained in one line, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from inspector.core.changes import NotifySupport, notify_flags_support
from inspector.core.source import FeedMode, NoticeKind
from inspector.redis_io.client import round_trip
from inspector.redis_io.feed.report import Reporter

__all__ = [
    "KEYEVENT_NAMES",
    "ModeChoice",
    "acl_grants",
    "choose_mode",
    "probe_nodes",
    "read_notify_config",
    "subscriptions",
]

KEYEVENT_NAMES = (b"hset", b"hdel", b"del", b"expired")


@dataclass(frozen=True, slots=True)
class ModeChoice:
    """The mode to run in and the one line that explains it (``None``: nothing to say)."""

    mode: FeedMode
    explanation: str | None
    listen: bool = True
    """Whether to subscribe at all (not when pub/sub is refused)."""


async def read_notify_config(client: Redis) -> NotifySupport | None:
    """``notify-keyspace-events`` of one node, or ``None`` when CONFIG is refused."""
    try:
        async with round_trip():
            reply = await client.execute_command("CONFIG", "GET", "notify-keyspace-events")
    except ResponseError:  # unknown (renamed away) or NOPERM: both mean "cannot know"
        return None
    if isinstance(reply, dict):
        values = list(reply.values())
    else:
        values = list(reply)[1::2] if isinstance(reply, list) else []
    value = values[0] if values else b""
    text = value.decode() if isinstance(value, bytes) else str(value)
    return notify_flags_support(text)


async def probe_nodes(
    nodes: Sequence[tuple[str, Redis]],
    reporter: Reporter,
    *,
    enable_notifications: bool,
    strings: bool = False,
) -> list[NotifySupport | None]:
    """Read the setting on every ``(endpoint, client)`` at once; set it if the user asked.

    With ``enable_notifications`` (``watch --enable-notifications``, the only
    write the feed may do) nodes without hash events get them; nodes that
    publish them already are left alone. Each change is reported.
    ``strings``: string session stores are watched too, so ``$g`` is wanted as well.
    """
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(read_notify_config(client)) for _, client in nodes]
    supports = [task.result() for task in tasks]
    if not enable_notifications or any(s is None for s in supports):
        return supports
    for index, ((endpoint, client), support) in enumerate(zip(nodes, supports, strict=True)):
        assert support is not None
        flags = support.value
        has_strings = "A" in flags or ("$" in flags and "g" in flags)
        if support.usable and (has_strings or not strings):
            continue  # already publishes what is needed: leave its setting alone
        wanted = support.with_hash_events(strings=strings)
        try:
            await client.execute_command("CONFIG", "SET", "notify-keyspace-events", wanted)
        except ResponseError as exc:
            reporter.notice(
                NoticeKind.HOWTO, f"could not enable notifications on {endpoint}: {exc}"
            )
            break
        reporter.notice(
            NoticeKind.MODE,
            f"set notify-keyspace-events on {endpoint} to {wanted!r} "
            f"(was {support.value!r}), as --enable-notifications asked",
        )
        supports[index] = notify_flags_support(wanted)
    return supports


def choose_mode(
    supports: Sequence[NotifySupport | None],
    *,
    subscribe_refused: str | None = None,
    grants: str = "+subscribe +psubscribe and the channels",
) -> ModeChoice:
    """The mode for these nodes' settings, and why.

    Args:
        supports: Each primary's setting; ``None`` where CONFIG was refused.
        subscribe_refused: The server's refusal of SUBSCRIBE/PSUBSCRIBE, if any.
        grants: The ACL rules that would allow subscribing (:func:`acl_grants`).
    """
    if subscribe_refused is not None:
        return ModeChoice(
            FeedMode.POLLING,
            f"subscribing to keyspace notifications is refused ({subscribe_refused}), so "
            f"requests are found by polling. To see them as they happen, give the user "
            f"{grants}",
            listen=False,
        )
    known = [support for support in supports if support is not None]
    if len(known) == len(supports) and all(support.usable for support in known):
        return ModeChoice(FeedMode.NOTIFICATIONS, None)
    if len(known) == len(supports):
        value = next((s.value for s in known if not s.usable), "")
        missing = "no h" if "h" not in value and "A" not in value else "no K or E"
        return ModeChoice(
            FeedMode.POLLING,
            f"keyspace notifications for hashes are off (notify-keyspace-events="
            f"{value!r}: {missing}), so requests are found by polling. To see them as they "
            f"happen: on a self-managed server CONFIG SET notify-keyspace-events "
            f"{notify_flags_support(value).with_hash_events()!r} (or run watch "
            "--enable-notifications); on ElastiCache set notify-keyspace-events to KEA "
            "(or at least Kh) in a custom parameter group",
        )
    return ModeChoice(
        FeedMode.PROBING,
        "cannot read notify-keyspace-events (CONFIG is refused, as on ElastiCache): "
        "polling, and switching to notifications as soon as one arrives. To turn them "
        "on, set notify-keyspace-events to KEA (or at least Kh) in the cluster's "
        "ElastiCache parameter group",
    )


def subscriptions(
    support: NotifySupport | None,
    mode: FeedMode,
    *,
    db: int,
    namespace: str | None,
    patterns: Sequence[bytes] = (),
    events: Sequence[bytes] = (),
) -> tuple[list[bytes], list[bytes]]:
    """``(patterns, channels)`` to subscribe to on one node.

    ``patterns`` and ``events`` are the other frameworks' keyspace patterns and
    keyevent names (:mod:`.frameworks`), added to Spring's.
    """
    scope = f"{namespace}:sessions:*" if namespace else "*sessions:*"
    keyspace = [f"__keyspace@{db}__:{scope}".encode(), *patterns]
    keyevent = [b"__keyevent@%d__:%s" % (db, name) for name in (*KEYEVENT_NAMES, *events)]
    if mode is FeedMode.NOTIFICATIONS and support is not None:
        return (keyspace, []) if support.keyspace else ([], keyevent)
    # Polling: listen anyway (cheap), to switch the moment notifications flow.
    return keyspace, keyevent


def acl_grants(patterns: Sequence[bytes], *, db: int) -> str:
    """The ACL rules a user needs to subscribe to ``patterns`` (and the keyevent channels).

    Redis compares a PSUBSCRIBE pattern with the user's ``&`` rules literally,
    so each keyspace pattern is named exactly; SUBSCRIBE channels match by glob.
    """
    channels = " ".join(f"&{pattern.decode(errors='replace')}" for pattern in patterns)
    return f"+subscribe +psubscribe {channels} &__keyevent@{db}__:*"
