"""In cluster mode the key modes cover every primary (redis-cli 7 covers the node it is on).

Expected output is built from the real redis-cli run on each primary, in slot
order: `--scan` is their concatenation byte for byte; `--bigkeys` and
`--memkeys` sample every key once and find each type's biggest key.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
import redis

from tests.cli_run import inspector
from tests.harness import RedisServer, key_on


def _slot_order(nodes: list[RedisServer]) -> list[RedisServer]:
    client = redis.Redis(**nodes[0].client_kwargs())  # type: ignore[arg-type]
    slots = client.execute_command("CLUSTER", "SLOTS")
    client.close()
    by_port = {node.port: node for node in nodes}
    ordered: list[RedisServer] = []
    for entry in sorted(slots, key=lambda entry: entry[0]):
        node = by_port[int(entry[2][1])]
        if node not in ordered:
            ordered.append(node)
    return ordered


@pytest.fixture(scope="module")
def cluster(redis_cluster: list[RedisServer]) -> Iterator[list[RedisServer]]:
    for node in redis_cluster:
        client = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        client.flushall()
        client.close()
    for index, node in enumerate(redis_cluster):
        client = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        pipe = client.pipeline(transaction=False)
        for i in range(60):
            key = key_on(redis_cluster, node, prefix=f"cm{index}-{i}")
            if i % 3 == 0:
                pipe.set(key, "v" * (i + index))
            elif i % 3 == 1:
                pipe.rpush(key, *(["x"] * (1 + i)))
            else:
                pipe.hset(key, mapping={f"f{j}": "v" for j in range(1 + i % 7)})
        pipe.execute()
        client.close()
    yield redis_cluster
    for node in redis_cluster:
        client = redis.Redis(**node.client_kwargs())  # type: ignore[arg-type]
        client.flushall()
        client.close()


def redis_cli(node: RedisServer, *args: str) -> bytes:
    result = subprocess.run(
        ["redis-cli", "-p", str(node.port), *args], capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("flags", [["-c"], []], ids=["-c", "detected"])
def test_scan_covers_every_primary_in_slot_order(
    cluster: list[RedisServer], flags: list[str]
) -> None:
    expected = b"".join(redis_cli(node, "--scan") for node in _slot_order(cluster))
    assert expected.count(b"\n") == 180
    got = inspector("-p", str(cluster[1].port), *flags, "cli", "--scan", timeout=120)
    assert got.returncode == 0, got.stderr
    assert got.stdout == expected


def test_scan_pattern_on_every_primary(cluster: list[RedisServer]) -> None:
    ordered = _slot_order(cluster)
    expected = b"".join(redis_cli(node, "--scan", "--pattern", "cm2-*") for node in ordered)
    got = inspector("-p", str(cluster[0].port), "cli", "-c", "--scan", "--pattern", "cm2-*")
    assert got.stdout == expected
    assert expected.count(b"\n") == 60


BIGGEST = re.compile(rb"^Biggest\s+(\w+) found '(.*)' has (\d+) (\w+)$", re.M)
COUNTS = re.compile(rb"^(\d+) (\w+)s with (\d+) (\w+) ", re.M)


@pytest.mark.parametrize("mode", ["--bigkeys", "--memkeys"])
def test_sampling_modes_cover_every_primary(cluster: list[RedisServer], mode: str) -> None:
    per_node = [redis_cli(node, mode) for node in _slot_order(cluster)]
    got = inspector("-p", str(cluster[2].port), "-c", "cli", mode, timeout=120)
    assert got.returncode == 0, got.stderr
    assert b"Sampled 180 keys in the keyspace!\n" in got.stdout
    biggest: dict[bytes, int] = {}
    totals: dict[bytes, tuple[int, int]] = {}
    for text in per_node:
        for name, _, size, _ in BIGGEST.findall(text):
            biggest[name] = max(biggest.get(name, 0), int(size))
        for count, name, total, _ in COUNTS.findall(text):
            before = totals.get(name, (0, 0))
            totals[name] = (before[0] + int(count), before[1] + int(total))
    assert {name: int(size) for name, _, size, _ in BIGGEST.findall(got.stdout)} == biggest
    assert {
        name: (int(count), int(total)) for count, name, total, _ in COUNTS.findall(got.stdout)
    } == totals


def test_commands_follow_redirects_as_redis_cli_c(cluster: list[RedisServer]) -> None:
    key = key_on(cluster, cluster[2], prefix="cm2-0")
    expected = subprocess.run(
        ["redis-cli", "-c", "-p", str(cluster[0].port), "GET", key], capture_output=True
    ).stdout
    got = inspector("-p", str(cluster[0].port), "cli", "-c", "GET", key)
    assert got.stdout == expected
    # Piped commands go through redis-cli's REPL, which announces redirects.
    piped = f"GET {key}\n".encode()
    expected = subprocess.run(
        ["redis-cli", "-c", "-p", str(cluster[0].port)], input=piped, capture_output=True
    ).stdout
    got = inspector("-p", str(cluster[0].port), "cli", "-c", stdin=piped)
    assert got.stdout == expected
    assert got.stdout.startswith(b"-> Redirected to slot [")
