"""`session-inspector demo`: an embedded Redis (fakeredis) and the TUI on it.

No Redis server is needed. Later work adds the two sample-app "containers" and
the traffic simulator; today the demo seeds one Spring Session so the TUI has
something to show.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from inspector.redis_io.settings import ConnectionSettings

__all__ = ["embedded_redis", "run_demo"]

SESSION_ID = "e1237df7-5a6d-4c3e-9a51-3f0d2b1c8a90"


def _seed(port: int) -> None:
    import redis

    now = int(time.time() * 1000)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        key = f"spring:session:sessions:{SESSION_ID}"
        client.hset(
            key,
            mapping={
                "creationTime": str(now),
                "lastAccessedTime": str(now),
                "maxInactiveInterval": "1800",
                "sessionAttr:scopedTarget.sampleSession": (
                    '{"@class":"org.debugroom.mynavi.sample.aws.elasticache.app.web.model.'
                    f'SampleSession","host":"container-1","lastUpdatedAt":["java.util.Date",{now}]}}'
                ),
            },
        )
        client.expire(key, 2100)
    finally:
        client.close()


@contextlib.contextmanager
def embedded_redis() -> Iterator[ConnectionSettings]:
    """Run fakeredis' TCP server on a free loopback port, seeded; stop it on exit."""
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, name="fakeredis", daemon=True)
    thread.start()
    try:
        _seed(port)
        yield ConnectionSettings(host="127.0.0.1", port=port, source="demo")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_demo() -> int:
    """Start the embedded server, run the TUI on it, stop everything."""
    from inspector.tui.app import run_tui

    with embedded_redis() as settings:
        return run_tui(settings)
