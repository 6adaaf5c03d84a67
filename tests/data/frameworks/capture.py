"""Regenerate the framework fixtures: real libraries write sessions, we keep the bytes.

Starts a private redis-server on a free loopback port, runs each generator
(``node/generate.mjs``, ``php/generate.php``, ``ruby/generate.rb``), which writes
sessions through its framework's real request cycle and prints one JSON line per
session (key, cookie, what the framework itself reads back), then saves every
session's exact bytes as ``<lang>/<name>.bin`` and one ``manifest.json`` with the
key, PTTL and capture time. Not a test: run it by hand (see README.md)::

    python tests/data/frameworks/capture.py --node-dir /tmp/fixture-node

Node packages are installed with npm into ``--node-dir`` (outside the repo), from
``node/package.json``. Needs redis-server, node/npm, php-cli with php-redis,
php-igbinary, php-msgpack and php-symfony-http-foundation, ruby with
ruby-redis-rack, ruby-redis-actionpack, ruby-actionpack, ruby-rack-test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def versions() -> dict[str, str]:
    def first_line(*argv: str) -> str:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]

    return {
        "redis": first_line("redis-server", "--version"),
        "node": first_line("node", "--version"),
        "php": first_line("php", "--version"),
        "phpExtensions": first_line(
            "php",
            "-r",
            'echo implode(" ", array_map(fn($e) => "$e ".phpversion($e), ["redis", "igbinary", "msgpack"]));',
        ),
        "ruby": first_line("ruby", "--version"),
        "gems": first_line(
            "ruby",
            "-e",
            'puts %w[rack redis redis-rack redis-store redis-actionpack actionpack activesupport].map { |g| "#{g} #{Gem.loaded_specs[g]&.version || Gem::Specification.find_by_name(g).version}" }.join(" ")',
        ),
    }


def _text(reply: bytes | str) -> str:
    return reply.decode() if isinstance(reply, bytes) else reply


def node_versions(node_dir: Path) -> dict[str, str]:
    """The installed version of each direct npm dependency."""
    lock = json.loads((node_dir / "package-lock.json").read_text())["packages"]
    wanted = json.loads((HERE / "node" / "package.json").read_text())["dependencies"]
    return {name: lock[f"node_modules/{name}"]["version"] for name in wanted}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--node-dir", type=Path, required=True, help="scratch dir for npm packages")
    args = parser.parse_args()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="fixture-redis-"))
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        node_dir = args.node_dir
        node_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(HERE / "node" / "package.json", node_dir / "package.json")
        shutil.copy(HERE / "node" / "generate.mjs", node_dir / "generate.mjs")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=node_dir, check=True
        )
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{port}",
            "REDIS_PORT": str(port),
            "PATH": "/usr/bin:/bin",
        }
        runs = [
            ("node", ["node", str(node_dir / "generate.mjs")]),
            ("php", ["php", str(HERE / "php" / "generate.php")]),
            ("ruby", ["ruby", str(HERE / "ruby" / "generate.rb")]),
        ]
        entries = []
        for lang, argv in runs:
            out = subprocess.run(
                argv, capture_output=True, text=True, check=True, env=env, timeout=120
            )
            for line in out.stdout.splitlines():
                entry = json.loads(line)
                key = entry["key"]
                data = client.get(key)
                assert isinstance(data, bytes), f"{key} was not written"
                path = f"{lang}/{entry['name']}.bin"
                (HERE / path).write_bytes(data)
                entry.update(
                    path=path,
                    redisType=_text(client.type(key)),
                    ttlMs=client.pttl(key),
                    capturedAtMs=int(time.time() * 1000),
                )
                entries.append(entry)
        manifest = {
            "comment": "Written by capture.py; see README.md. One entry per session a framework wrote.",
            "versions": versions(),
            "node": node_versions(node_dir),
            "fixtures": entries,
        }
        (HERE / "manifest.json").write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
        )
        print(f"{len(entries)} sessions captured")
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
