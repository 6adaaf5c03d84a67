"""The live change feed: one event per request a session sees, from notifications or polling.

How it works:

1. A *baseline* pass reads every session once (SCAN + pipelined reads) and
   remembers a small snapshot of each (:mod:`.tracker`).
2. On every primary it subscribes to ``__keyspace@<db>__:<ns>sessions:*`` (and
   the ``__keyevent@<db>__:hset|del|expired`` channels when only ``E`` is on or
   the setting cannot be read) (:mod:`.listener`). A notification on a session
   hash queues that session; a reader drains the queue in pipelined batches
   (bursts on one session coalesce into one read) (:mod:`.pending`) and turns
   each re-read into an event by comparing it with the snapshot.
3. When hash notifications are off (Spring's own ``Egx`` has no ``h``), or
   subscribing is refused, a poller runs instead (:mod:`.poller`). When
   ``CONFIG`` is refused (ElastiCache) the feed polls *and* listens, and
   switches to notifications as soon as one arrives (:mod:`.mode`).
4. The supervisor (:mod:`.supervisor`, :mod:`.recovery`) reports a dropped
   connection, retries with backoff, and follows with a catch-up poll and a
   notice naming the gap.

The server's configuration is never changed, except by ``enable_notifications``
(``watch --enable-notifications``), which the user asks for explicitly.
"""

from inspector.redis_io.feed.report import FeedStats
from inspector.redis_io.feed.supervisor import ChangeFeed, FeedItem

__all__ = ["ChangeFeed", "FeedItem", "FeedStats"]
