"""`cli` against real servers: TLS, mutual TLS, ACL users, clusters, and every way
connecting can fail (one line on stderr, the documented exit code, no traceback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.cli_run import ENDPOINT_VARIABLES, inspector, inspector_in_process
from tests.harness import (
    ACL_READER_PASSWORD,
    ACL_READER_USER,
    ADMIN_PASSWORD,
    RedisServer,
    TLSFiles,
    free_port,
    key_on,
)
from tests.pty_session import PtySession


def assert_one_line_failure(
    result: subprocess.CompletedProcess[bytes], code: int, *needles: str
) -> str:
    err = result.stderr.decode()
    lines = [line for line in err.splitlines() if not line.startswith("Warning: Using a password")]
    assert result.returncode == code, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("session-inspector: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert result.stdout == b""
    return lines[0]


# ---------------------------------------------------------------- bad usage: exit 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--bogus", "cli", "PING"], "unrecognized arguments: --bogus"),
        (["-p"], "argument -p: expected one argument"),
        (["-p", "abc", "cli", "PING"], "port 'abc' is not a number"),
        (["-p", "70000", "cli", "PING"], "port 70000 is out of range (1-65535)"),
        (["-u", "http://localhost:6379", "cli", "PING"], "unknown URL scheme (http://)"),
        (["--tls", "--cacert", "/nonexistent/ca.pem", "cli", "PING"], "no such file"),
        (["--cacert", "/etc/hosts", "cli", "PING"], "add --tls"),
        (["-n", "x", "cli", "PING"], "database 'x' is not a number"),
        (["-t", "soon", "cli", "PING"], "'soon' is not a number of seconds"),
        (["nosuchsubcommand"], "invalid choice: 'nosuchsubcommand'"),
        (["watch", "--poll", "0"], "'0' is not a number of seconds above 0"),
        (["watch", "--timeout", "nan"], "'nan' is not a number of seconds above 0"),
        (["tui", "--poll", "-1"], "'-1' is not a number of seconds above 0"),
        (["demo", "--rate", "inf"], "'inf' is not a rate above 0"),
        (["demo", "--users", "0"], "'0' is not a positive whole number"),
        (["demo", "--redis", "http://x"], "unknown URL scheme (http://)"),
        (["demo", "--redis", "http://x"], "--redis: "),
        (
            ["sample-app", "--port", "99999"],
            "argument --port: port 99999 is out of range (1-65535)",
        ),
        (["sample-app", "--port", "http"], "argument --port: port 'http' is not a number"),
        (["-p", "0", "cli", "PING"], "argument -p: port 0 is out of range (1-65535)"),
        (["-n", "-1", "cli", "PING"], "argument -n: database -1 must be 0 or more"),
    ],
)
def test_bad_usage_is_one_line_exit_2(args: list[str], needle: str) -> None:
    """In process (a subprocess each was ~0.3 CPU-s of imports for an argparse error); the
    real process's exit 2 in one line is checked by the two tests below."""
    assert_one_line_failure(inspector_in_process(*args), 2, needle)


def test_ca_file_that_is_not_a_certificate(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("garbage")
    assert_one_line_failure(
        inspector("--tls", "--cacert", str(bad), "cli", "PING"), 2, "cannot load CA certificates"
    )


def test_help_is_help_and_h_is_host() -> None:
    result = inspector("--help")
    assert result.returncode == 0
    assert b"-h HOST" in result.stdout
    assert b"REDISCLI_AUTH" in result.stdout
    # -h takes a value, as in redis-cli; it is never help.
    assert_one_line_failure(inspector("-h"), 2, "argument -h: expected one argument")


# ---------------------------------------------------------------- cannot connect: exit 3


def test_connection_refused() -> None:
    port = free_port()  # nothing listens on it
    assert_one_line_failure(
        inspector("-p", str(port), "cli", "PING"), 3, f"127.0.0.1:{port}", "connection refused"
    )


def test_demo_with_an_unreachable_redis_fails_before_starting_anything() -> None:
    # In a terminal (without one the demo refuses first, with exit 2).
    port = free_port()
    argv = [sys.executable, "-m", "inspector", "demo", "--redis", f"redis://127.0.0.1:{port}"]
    env = {k: v for k, v in os.environ.items() if k not in ENDPOINT_VARIABLES}
    session = PtySession(argv, env=env)
    try:
        code = session.wait(timeout=60)
        text = session.text.decode()
    finally:
        session.close()
    lines = text.splitlines()
    assert code == 3, text
    assert len(lines) == 1, text
    assert lines[0].startswith("session-inspector: ")
    assert "connection refused" in lines[0]


def test_unknown_host() -> None:
    assert_one_line_failure(
        inspector("-h", "no-such-host.invalid", "cli", "PING"), 3, "cannot resolve host"
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a black-holed endpoint)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_timeout(silent_port: int) -> None:
    line = assert_one_line_failure(
        inspector("-p", str(silent_port), "-t", "0.5", "cli", "PING"), 3, "timed out after 0.5s"
    )
    assert "-t" in line


def test_tls_to_a_plain_port(redis_standalone: RedisServer) -> None:
    # A real Redis port: the TLS ClientHello is not a command, so the server waits.
    line = assert_one_line_failure(
        inspector(
            "-p", str(redis_standalone.port), "-t", "1", "--tls", "--insecure", "cli", "PING"
        ),
        3,
    )
    assert "drop --tls" in line


def test_plain_text_to_a_tls_port(redis_tls: RedisServer) -> None:
    line = assert_one_line_failure(
        inspector("-p", str(redis_tls.tls_port), "-t", "2", "cli", "PING"), 3
    )
    assert "add --tls" in line


def test_wrong_password(redis_acl: RedisServer) -> None:
    assert_one_line_failure(
        inspector("-p", str(redis_acl.port), "cli", "PING", env={"REDISCLI_AUTH": "wrong"}),
        3,
        "authentication failed",
        "the default user",
    )
    assert_one_line_failure(
        inspector(
            "-p",
            str(redis_acl.port),
            "--user",
            ACL_READER_USER,
            "cli",
            "PING",
            env={"REDISCLI_AUTH": "wrong"},
        ),
        3,
        f"user '{ACL_READER_USER}'",
    )


def test_password_required(redis_acl: RedisServer) -> None:
    assert_one_line_failure(
        inspector("-p", str(redis_acl.port), "cli", "PING"), 3, "requires authentication"
    )


def test_password_given_on_command_line_warns_like_redis_cli(redis_acl: RedisServer) -> None:
    result = inspector("-p", str(redis_acl.port), "-a", ADMIN_PASSWORD, "cli", "PING")
    assert result.returncode == 0
    assert result.stdout == b"PONG\n"
    assert result.stderr == (
        b"Warning: Using a password with '-a' or '-u' option on the command line interface "
        b"may not be safe.\n"
    )
    quiet = inspector(
        "-p", str(redis_acl.port), "-a", ADMIN_PASSWORD, "--no-auth-warning", "cli", "PING"
    )
    assert quiet.stderr == b""


def test_no_password_warning_for_a_url_without_one(redis_acl: RedisServer) -> None:
    # redis://user@host names a user, not a password (it comes from REDISCLI_AUTH
    # here): nothing secret was typed, so redis-cli's warning does not apply.
    url = f"redis://default@127.0.0.1:{redis_acl.port}"
    result = inspector("-u", url, "cli", "PING", env={"REDISCLI_AUTH": ADMIN_PASSWORD})
    assert (result.returncode, result.stdout, result.stderr) == (0, b"PONG\n", b"")
    with_password = inspector("-u", f"redis://:{ADMIN_PASSWORD}@127.0.0.1:{redis_acl.port}",
                              "cli", "PING")  # fmt: skip
    assert with_password.stdout == b"PONG\n"
    assert with_password.stderr.startswith(b"Warning: Using a password with '-a' or '-u'")


def test_sample_app_on_a_busy_port_fails_in_one_line_and_leaves_no_marker(
    redis_standalone: RedisServer, tmp_path: Path
) -> None:
    marker = tmp_path / "sample-app.port"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = inspector(
            "-p", str(redis_standalone.port), "sample-app", "--bind", "127.0.0.1",
            "--port", str(port), env={"SAMPLE_APP_MARKER": str(marker)},
        )  # fmt: skip
    assert_one_line_failure(result, 2, f"cannot listen on 127.0.0.1:{port}", "--port")
    # The image's health check would otherwise probe a server that never started.
    assert not marker.exists()


# ---------------------------------------------------------------- TLS


def tls_args(server: RedisServer, files: TLSFiles, *extra: str) -> list[str]:
    return ["-p", str(server.tls_port), "--tls", *extra]


def test_tls_with_cacert(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    result = inspector(
        *tls_args(redis_tls, tls_files, "--cacert", str(tls_files.ca_cert)), "cli", "PING"
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, b"PONG\n", b"")


def test_tls_with_cacertdir(redis_tls: RedisServer, tls_files: TLSFiles, tmp_path: Path) -> None:
    subprocess.run(["openssl", "rehash", str(tmp_path)], check=True)  # warm up: no-op dir
    (tmp_path / "ca.pem").write_bytes(tls_files.ca_cert.read_bytes())
    subprocess.run(["openssl", "rehash", str(tmp_path)], check=True)
    result = inspector(*tls_args(redis_tls, tls_files, "--cacertdir", str(tmp_path)), "cli", "PING")
    assert (result.returncode, result.stdout) == (0, b"PONG\n")


def test_tls_url(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    result = inspector(
        "-u",
        f"rediss://127.0.0.1:{redis_tls.tls_port}",
        "--cacert",
        str(tls_files.ca_cert),
        "cli",
        "PING",
    )
    assert result.stdout == b"PONG\n"


def test_tls_without_cacert_is_rejected(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    line = assert_one_line_failure(inspector(*tls_args(redis_tls, tls_files), "cli", "PING"), 3)
    assert "certificate" in line
    assert "--cacert" in line


def test_tls_with_another_ca_is_rejected(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    assert_one_line_failure(
        inspector(
            *tls_args(redis_tls, tls_files, "--cacert", str(tls_files.other_ca_cert)), "cli", "PING"
        ),
        3,
        "TLS certificate of",
        "rejected",
    )


def test_tls_insecure_skips_verification(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    result = inspector(*tls_args(redis_tls, tls_files, "--insecure"), "cli", "PING")
    assert result.stdout == b"PONG\n"


def test_tls_hostname_is_verified(redis_tls: RedisServer, tls_files: TLSFiles) -> None:
    # The certificate names localhost and 127.0.0.1, not this SNI name.
    line = assert_one_line_failure(
        inspector(
            *tls_args(
                redis_tls, tls_files, "--cacert", str(tls_files.ca_cert), "--sni", "other.example"
            ),
            "cli",
            "PING",
        ),
        3,
    )
    assert "--sni" in line or "certificate" in line
    ok = inspector(
        *tls_args(redis_tls, tls_files, "--cacert", str(tls_files.ca_cert), "--sni", "localhost"),
        "cli",
        "PING",
    )
    assert ok.stdout == b"PONG\n"


def test_mutual_tls(redis_mtls: RedisServer, tls_files: TLSFiles) -> None:
    base = tls_args(redis_mtls, tls_files, "--cacert", str(tls_files.ca_cert))
    with_cert = inspector(
        *base,
        "--cert",
        str(tls_files.client_cert),
        "--key",
        str(tls_files.client_key),
        "cli",
        "PING",
    )
    assert with_cert.stdout == b"PONG\n"
    assert_one_line_failure(inspector(*base, "cli", "PING"), 3)


# ---------------------------------------------------------------- ACL users


def test_acl_reader_reads_and_write_is_refused_in_one_line(redis_acl: RedisServer) -> None:
    admin = redis.Redis(host=redis_acl.host, port=redis_acl.port, password=ADMIN_PASSWORD)
    admin.set("acl:key", "visible")
    admin.close()
    env = {"REDISCLI_AUTH": ACL_READER_PASSWORD}
    base = ["-p", str(redis_acl.port), "--user", ACL_READER_USER, "cli", "--no-raw"]
    read = inspector(*base, "GET", "acl:key", env=env)
    assert (read.returncode, read.stdout, read.stderr) == (0, b'"visible"\n', b"")
    write = inspector(*base, "SET", "acl:key", "changed", env=env)
    expected = subprocess.run(
        [
            "redis-cli",
            "-p",
            str(redis_acl.port),
            "--user",
            ACL_READER_USER,
            "--no-raw",
            "SET",
            "acl:key",
            "changed",
        ],
        capture_output=True,
        env={**os.environ, "REDISCLI_AUTH": ACL_READER_PASSWORD},
    )
    assert write.stdout == expected.stdout
    assert write.stdout.startswith(b"(error) NOPERM")
    assert write.stdout.count(b"\n") == 1
    assert write.returncode == 0  # an error reply is output, as in redis-cli
    strict = inspector(*base[:-1], "-e", "SET", "acl:key", "x", env=env)
    assert strict.returncode == 1
    assert strict.stderr.startswith(b"NOPERM")
    assert strict.stderr.count(b"\n") == 1


def test_acl_user_from_url(redis_acl: RedisServer) -> None:
    url = f"redis://{ACL_READER_USER}:{ACL_READER_PASSWORD}@127.0.0.1:{redis_acl.port}"
    result = inspector("-u", url, "--no-auth-warning", "cli", "PING")
    assert result.stdout == b"PONG\n"


# ---------------------------------------------------------------- cluster


def keys_on_every_primary(servers: list[RedisServer]) -> dict[int, str]:
    """One key name per primary port, found with CLUSTER SLOTS."""
    return {node.port: key_on(servers, node) for node in servers}


@pytest.mark.parametrize("force", [True, False], ids=["-c", "detected"])
def test_cluster_follows_redirects_to_every_primary(
    redis_cluster: list[RedisServer], force: bool
) -> None:
    """In process, as the two tests below: 6 commands each; the real process follows
    redirects in test_cli_vs_redis_cli's piped cluster test and through the SSH bastion."""
    keys = keys_on_every_primary(redis_cluster)
    assert len(keys) == 3
    entry = redis_cluster[0]
    flags = ["-c"] if force else []
    for port, key in keys.items():
        written = inspector_in_process(
            "-p", str(entry.port), *flags, "cli", "SET", key, f"on-{port}"
        )
        assert written.stdout == b"OK\n", written.stderr
        read = inspector_in_process("-p", str(entry.port), *flags, "cli", "--no-raw", "GET", key)
        assert read.stdout == f'"on-{port}"\n'.encode()
        assert read.stderr == b""
        direct = redis.Redis(host="127.0.0.1", port=port)
        assert direct.get(key) == f"on-{port}".encode()
        direct.close()


def test_cluster_output_matches_redis_cli_c(redis_cluster: list[RedisServer]) -> None:
    keys = keys_on_every_primary(redis_cluster)
    port = redis_cluster[0].port
    for key in keys.values():
        for mode in ("--no-raw", "--raw"):
            expected = subprocess.run(
                ["redis-cli", "-c", "-p", str(port), mode, "GET", key], capture_output=True
            )
            ours = inspector_in_process("-p", str(port), "-c", "cli", mode, "GET", key)
            assert ours.stdout == expected.stdout


def test_tls_cluster(redis_tls_cluster: list[RedisServer], tls_files: TLSFiles) -> None:
    entry = redis_tls_cluster[0]
    base = ["-p", str(entry.tls_port), "--tls", "--cacert", str(tls_files.ca_cert)]
    # One key on each primary (the entry's own and two reached by MOVED over TLS):
    # every redirect a spread of random keys would take, and surely each.
    for i, node in enumerate(redis_tls_cluster):
        key = key_on(redis_tls_cluster, node, "tls-key")
        assert inspector_in_process(*base, "-c", "cli", "SET", key, str(i)).stdout == b"OK\n"
        assert inspector_in_process(*base, "cli", "GET", key).stdout == f"{i}\n".encode()
