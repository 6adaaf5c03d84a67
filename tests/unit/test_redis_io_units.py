"""redis_io rules without a server: timeouts, key classification, cluster probe, TLS cache."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from inspector.core.spring import KeyKind
from inspector.exits import ExitCode
from inspector.redis_io import client as client_module
from inspector.redis_io.client import round_trip
from inspector.redis_io.discovery import Inventory, session_candidates
from inspector.redis_io.errors import Problem, RoundTripTimeout, describe_failure
from inspector.redis_io.info import cluster_probe
from inspector.redis_io.redis_cli import ErrorReply
from inspector.redis_io.runner import CommandRunner
from inspector.redis_io.settings import ConnectionSettings, TLSSettings
from inspector.redis_io.tls import build_ssl_context

SETTINGS = ConnectionSettings(host="cache.example", port=6380)
SID = "0f0e2a4c-9d3b-4a57-8a8e-3f6f0d1c2b3a"


# ---------------------------------------------------------------- round-trip timeouts


def test_round_trip_timeout_has_its_own_message() -> None:
    failure = describe_failure(RoundTripTimeout(30.0), SETTINGS)
    assert failure.problem is Problem.TIMEOUT
    assert failure.exit_code is ExitCode.CONNECTION
    assert "cache.example:6380 did not answer within 30s" in failure.message
    assert "round trip" in failure.message
    # Neither a longer connect timeout nor TLS would help a connected server.
    assert "-t" not in failure.message
    assert "--tls" not in failure.message
    assert "\n" not in failure.message


def test_a_connect_timeout_keeps_its_advice() -> None:
    failure = describe_failure(TimeoutError(), SETTINGS)
    assert "timed out after 5s" in failure.message
    assert "wait longer with -t" in failure.message


def test_round_trip_timeout_is_found_in_a_chain() -> None:
    outer = RuntimeError("wrapped")
    outer.__cause__ = RoundTripTimeout(30.0)
    assert "did not answer within 30s" in describe_failure(outer, SETTINGS).message


async def test_round_trip_raises_round_trip_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "ROUND_TRIP_TIMEOUT", 0.01)
    never = asyncio.Event()
    with pytest.raises(RoundTripTimeout) as caught:
        async with round_trip():
            await never.wait()
    assert caught.value.seconds == 0.01


async def test_round_trip_lets_other_timeouts_through() -> None:
    # A timeout raised inside (a socket's own) is not the round trip's.
    with pytest.raises(TimeoutError) as caught:
        async with round_trip():
            raise TimeoutError("socket")
    assert not isinstance(caught.value, RoundTripTimeout)


# ---------------------------------------------------------------- key classification


def test_session_candidates() -> None:
    keys = [
        f"spring:session:sessions:{SID}".encode(),
        f"spring:session:sessions:{SID}".encode(),  # SCAN may repeat a key
        f"spring:session:sessions:expires:{SID}".encode(),
        b"spring:session:sessions:\xff\xfe",  # not UTF-8: Spring never writes it
        f"other:sessions:{SID}".encode(),
        b"unrelated",
    ]
    seen: set[str] = set()
    inventory = Inventory()
    found = session_candidates(keys, namespace=None, seen=seen, inventory=inventory)
    assert found == [
        (f"spring:session:sessions:{SID}", "spring:session", SID),
        (f"other:sessions:{SID}", "other", SID),
    ]
    assert seen == {f"spring:session:sessions:{SID}", f"other:sessions:{SID}"}
    assert inventory.kinds[("spring:session", KeyKind.SESSION)] == 2
    assert inventory.kinds[("spring:session", KeyKind.SHADOW)] == 1
    # Seen names are not returned again; a namespace filters.
    assert session_candidates(keys, namespace=None, seen=seen) == []
    only = session_candidates(keys, namespace="other", seen=set())
    assert only == [(f"other:sessions:{SID}", "other", SID)]


def test_session_candidates_without_inventory_counts_nothing() -> None:
    inventory = Inventory()
    session_candidates([f"spring:session:sessions:{SID}".encode()], namespace=None, seen=set())
    assert inventory.kinds == Counter()


# ---------------------------------------------------------------- cluster probe


@pytest.mark.parametrize(
    ("reply", "cluster"),
    [
        ({"cluster_enabled": 1}, True),  # redis-py parses INFO into a dict
        ({"cluster_enabled": 0}, False),
        ({}, False),
        (b"# Cluster\r\ncluster_enabled:1\r\n", True),  # the raw bulk reply
        (b"# Cluster\r\ncluster_enabled:0\r\n", False),
        (ErrorReply(b"NOPERM User reader has no permissions to run the 'info' command"), None),
        (ErrorReply(b"ERR unknown command 'INFO', with args beginning with: 'cluster' "), None),
        (ErrorReply(b"ERR unsupported command"), None),
    ],
)
def test_cluster_probe(reply: ErrorReply | bytes | dict[str, int], cluster: bool | None) -> None:
    assert cluster_probe(reply) is cluster


# ---------------------------------------------------------------- runner redirects


def test_runner_follows_redirects_with_c_by_default() -> None:
    assert CommandRunner(ConnectionSettings(cluster=True)).follow_redirects is True
    assert CommandRunner(ConnectionSettings()).follow_redirects is False
    # An explicit choice still wins (callers that pass it keep working).
    assert CommandRunner(ConnectionSettings(), follow_redirects=True).follow_redirects is True
    assert (
        CommandRunner(ConnectionSettings(cluster=True), follow_redirects=False).follow_redirects
        is False
    )


# ---------------------------------------------------------------- TLS context cache


def test_tls_context_is_built_once_per_settings() -> None:
    first = build_ssl_context(TLSSettings(insecure=True, sni="a.example"))
    assert build_ssl_context(TLSSettings(insecure=True, sni="a.example")) is first
    assert build_ssl_context(TLSSettings(sni="a.example")) is not first


def test_session_candidates_fast_path_names_keys_as_classify_key_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The regex that names session hashes and shadow keys without classify_key
    # must say what classify_key says, edge cases included.
    import re

    from inspector.redis_io import discovery

    names = [
        f"spring:session:sessions:{SID}",
        f"spring:session:sessions:expires:{SID}",
        f"a:sessions:b:sessions:{SID}",
        f"x:sessions:expires:sessions:{SID}",
        "spring:session:index:org.springframework.session.FindByIndexNameSessionRepository"
        f".PRINCIPAL_NAME_INDEX_NAME:x:sessions:{SID}",
        f"ns:sessions:{SID}:idx",
        f":sessions:{SID}",
        f"spring:session:sessions:{SID.upper()}",
        "spring:session:sessions:abcdefgh12",
        f"é:sessions:{SID}",
        f"a\nb:sessions:{SID}",
        "spring:session:expirations:1700000000000",
    ]
    keys = [name.encode() for name in names] + [b"\xff:sessions:" + SID.encode()]
    fast_inventory = Inventory()
    fast = session_candidates(keys, namespace=None, seen=set(), inventory=fast_inventory)
    monkeypatch.setattr(discovery, "_FAST_KEY", re.compile(rb"(?!)"))
    slow_inventory = Inventory()
    slow = session_candidates(keys, namespace=None, seen=set(), inventory=slow_inventory)
    assert fast == slow
    assert fast_inventory.kinds == slow_inventory.kinds
    assert session_candidates(keys, namespace="a:sessions:b", seen=set()) == [
        (f"a:sessions:b:sessions:{SID}", "a:sessions:b", SID)
    ]
