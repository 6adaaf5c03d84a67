"""Through an SSH bastion vs direct, on the same redis-server (tests/sshd.py's topology).

Redis runs in a network namespace behind a real OpenSSH sshd. "Direct" runs
the same code inside the namespace (no tunnel); "--ssh" runs it outside,
through sshd. Measured:
- connecting, in process: open_client direct, through a cold tunnel (SSH
  handshake + channel + Redis handshake) and a warm one (channel + handshake);
- `cli PING` as a process, both ways;
- `ls --json` over 10,000 article-shaped sessions, both ways: total and rate.
Needs root (ip netns); prints why and exits 0 otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import redis

from inspector.redis_io.client import open_client
from inspector.redis_io.settings import ConnectionSettings, SSHSettings
from inspector.redis_io.tunnel import close_tunnels, tunnel_for
from tests.harness import RedisServer, start_redis_server
from tests.spring_layouts import write_request
from tests.sshd import (
    SSHServer,
    create_namespace,
    netns_unavailable,
    ssh_keygen,
)

SESSIONS = 10_000
ROUNDS = 20


def load(server: RedisServer, count: int) -> None:
    now = int(time.time() * 1000)
    with redis.Redis(**server.client_kwargs()) as client:  # type: ignore[arg-type]
        pipe = client.pipeline(transaction=False)
        for i in range(count):
            write_request(pipe, str(uuid.uuid4()), f"container-{i % 2 + 1}", now - i)
            if i % 2000 == 1999:
                pipe.execute()
        pipe.execute()


def connect_times(settings: ConnectionSettings, rounds: int) -> list[float]:
    async def main() -> list[float]:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            client = await open_client(settings)
            times.append(time.perf_counter() - started)
            await client.aclose()
        return times

    return asyncio.run(main())


def timed(run: Callable[[], subprocess.CompletedProcess[bytes]]) -> tuple[float, int]:
    started = time.perf_counter()
    result = run()
    assert result.returncode == 0, result.stderr
    return time.perf_counter() - started, len(result.stdout.splitlines())


def main() -> None:
    reason = netns_unavailable()
    if reason is not None:
        print(f"skipped: {reason}")
        return
    root = Path(tempfile.mkdtemp(prefix="rsi-bench-ssh-"))
    root.chmod(0o755)
    home = root / "home"
    (home / ".ssh").mkdir(parents=True)
    namespace = create_namespace(["redis.internal"], root)
    server: RedisServer | None = None
    sshd: SSHServer | None = None
    try:
        server = namespace.run(start_redis_server, root / "redis")
        sshd_dir = root / "sshd"
        sshd_dir.mkdir(mode=0o755)
        ssh_keygen(sshd_dir / "ssh_host_ed25519_key")
        key = ssh_keygen(home / ".ssh" / "id_ed25519")
        authorized = sshd_dir / "authorized_keys"
        authorized.write_text(Path(f"{key}.pub").read_text())
        authorized.chmod(0o644)
        public = " ".join(Path(f"{sshd_dir / 'ssh_host_ed25519_key'}.pub").read_text().split()[:2])
        (home / ".ssh" / "known_hosts").write_text(f"[{namespace.ns_addr}]:2222 {public}\n")
        sshd = SSHServer(namespace, sshd_dir, 2222)
        sshd.write_config(authorized)
        sshd.start()
        os.environ["HOME"] = str(home)
        os.environ.pop("SSH_AUTH_SOCK", None)
        namespace.run(load, server, SESSIONS)

        ssh = SSHSettings(host=namespace.ns_addr, port=2222, user="inspector", keys=(key,))
        direct = ConnectionSettings(host="127.0.0.1", port=server.port)
        tunnelled = ConnectionSettings(host="redis.internal", port=server.port, ssh=ssh)

        direct_times = namespace.run(connect_times, direct, ROUNDS)
        started = time.perf_counter()
        tunnel_for(ssh).start()  # cold: TCP + SSH handshake + auth
        handshake = time.perf_counter() - started
        close_tunnels()
        cold = connect_times(tunnelled, 1)[0]  # first open_client: SSH + channel + Redis
        warm = connect_times(tunnelled, ROUNDS)
        close_tunnels()
        print(
            f"open_client direct (in the namespace): median {statistics.median(direct_times) * 1000:.2f} ms"
        )
        print(f"SSH handshake + auth (ed25519 key): {handshake * 1000:.1f} ms")
        print(f"open_client through a cold tunnel: {cold * 1000:.1f} ms")
        print(f"open_client through a warm tunnel: median {statistics.median(warm) * 1000:.2f} ms")

        python = [sys.executable, "-m", "inspector"]
        flags = ["--ssh", sshd.address, "--ssh-key", str(key)]
        env = {**os.environ, "HOME": str(home)}

        def direct_run(*args: str) -> subprocess.CompletedProcess[bytes]:
            argv = namespace.command(*python, "-h", "127.0.0.1", "-p", str(server.port), *args)
            return subprocess.run(argv, capture_output=True, env=env)

        def ssh_run(*args: str) -> subprocess.CompletedProcess[bytes]:
            argv = [*python, *flags, "-h", "redis.internal", "-p", str(server.port), *args]
            return subprocess.run(argv, capture_output=True, env=env)

        runners: list[tuple[str, Callable[..., subprocess.CompletedProcess[bytes]]]] = [
            ("direct", direct_run),
            ("--ssh", ssh_run),
        ]
        for label, run in runners:
            pings = [timed(partial(run, "cli", "PING"))[0] for _ in range(5)]
            print(
                f"cli PING as a process, {label}: median {statistics.median(pings) * 1000:.0f} ms"
            )
        for label, run in runners:
            runs = [timed(partial(run, "ls", "--json")) for _ in range(3)]
            best, lines = min(runs)
            assert lines == SESSIONS, lines
            print(
                f"ls --json, {SESSIONS:,} sessions, {label}: best of 3 {best:.2f} s "
                f"({SESSIONS / best:,.0f} sessions/s)"
            )
    finally:
        close_tunnels()
        if sshd is not None:
            sshd.kill()
        if server is not None:
            server.stop()
        namespace.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
